//! A Python pickle reader that never executes anything.
//!
//! Python's unpickler is a small stack machine whose opcodes build values and
//! *call* things: `GLOBAL`/`STACK_GLOBAL` import a module attribute, `REDUCE`,
//! `NEWOBJ`, `INST`/`OBJ` call it, `BUILD` calls `__setstate__`. Loading a
//! pickle in Python therefore runs whatever the file names (`os.system`
//! included). This machine runs the same opcodes but calls nothing: a global
//! becomes an inert [`Node::Global`] naming `module.name`, and a call becomes
//! an inert [`Node::Object`] recording what would have been called with which
//! arguments, plus whatever `BUILD`, `SETITEMS` or `APPENDS` would have put
//! into it. The caller then recognises the few shapes it understands (a torch
//! tensor is `torch._utils._rebuild_tensor_v2(...)` of a persistent storage
//! id; an enum member is `SomeEnum(value)`) and ignores the rest: the
//! optimizer state, Lightning's callbacks and loops, classes of the authors'
//! own modules.
//!
//! Globals from modules that only an attack would reference (`os`,
//! `subprocess`, `builtins.eval`, ...) are refused outright, so such a file
//! gets a clear message instead of a puzzling "not a checkpoint".
//!
//! Values live in an arena ([`Pickle::nodes`]) and the stack, the memo and
//! containers refer to them by [`NodeId`], as Python's objects refer to each
//! other: a memo `GET` shares a node instead of copying it (a crafted file
//! cannot multiply its size by re-fetching a large value), and a container
//! filled after it was memoized is seen filled through every reference.
//!
//! Malformed input of any kind (truncated, unknown opcode, stack underflow,
//! a length beyond the end of the data, too many nodes) is an error, never a
//! panic; every length is checked against the bytes left before anything is
//! allocated for it.

mod machine;
mod policy;

pub use machine::parse;

/// Index of a node in [`Pickle::nodes`].
pub type NodeId = usize;

/// Nodes a pickle may create, and values it may have on its stack at once:
/// far above any checkpoint's (the reference checkpoint's data.pkl makes
/// ~20 000 nodes), far below what would exhaust memory.
const MAX_NODES: usize = 5_000_000;
const MAX_STACK: usize = 5_000_000;

/// One value of the pickle, inert.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond i64 (`LONG1`/`LONG4`), little-endian two's complement.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<NodeId>),
    List(Vec<NodeId>),
    Dict(Vec<(NodeId, NodeId)>),
    Set(Vec<NodeId>),
    /// `module.name`, as `GLOBAL` would import it.
    Global {
        module: String,
        name: String,
    },
    /// What `REDUCE`/`NEWOBJ`/`INST`/`OBJ` would have called (`callable`,
    /// with `args`), and what `BUILD`, `SETITEM(S)` and `APPEND(S)` would
    /// have done to the result.
    Object {
        callable: NodeId,
        args: NodeId,
        state: Option<NodeId>,
        items: Vec<(NodeId, NodeId)>,
        list: Vec<NodeId>,
    },
    /// A reference to data stored outside the pickle (`PERSID`/`BINPERSID`):
    /// in a torch file, a tensor storage.
    PersistentId(NodeId),
}

/// Why a pickle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    #[error("the pickle ends early (at byte {0})")]
    Truncated(usize),
    #[error("unknown pickle opcode 0x{opcode:02x} at byte {offset}")]
    UnknownOpcode { opcode: u8, offset: usize },
    #[error("malformed pickle at byte {offset}: {detail}")]
    Malformed { offset: usize, detail: String },
    #[error(
        "the pickle references {module}.{name}, which Python would run when loading it; \
         refusing the file (a checkpoint written by torch.save never does this)"
    )]
    Dangerous { module: String, name: String },
    #[error("the pickle is too large (more than {MAX_NODES} values, or {MAX_STACK} at once)")]
    TooLarge,
}

/// A parsed pickle: the value tree and its root.
#[derive(Debug, Clone, PartialEq)]
pub struct Pickle {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

impl Pickle {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The text of a `Str` node.
    pub fn str(&self, id: NodeId) -> Option<&str> {
        match self.node(id) {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of an `Int` node (a bool counts as 0/1, as in Python).
    pub fn int(&self, id: NodeId) -> Option<i64> {
        match self.node(id) {
            Node::Int(i) => Some(*i),
            Node::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The elements of a tuple or list.
    pub fn seq(&self, id: NodeId) -> Option<&[NodeId]> {
        match self.node(id) {
            Node::Tuple(v) | Node::List(v) => Some(v),
            _ => None,
        }
    }

    /// The `(key, value)` entries of a dict, or of an object built like one
    /// (`OrderedDict`, Lightning's `AttributeDict`: a call then `SETITEMS`).
    pub fn entries(&self, id: NodeId) -> Option<&[(NodeId, NodeId)]> {
        match self.node(id) {
            Node::Dict(items) => Some(items),
            Node::Object { items, .. } if !items.is_empty() || self.is_dict_like(id) => Some(items),
            _ => None,
        }
    }

    /// Whether an object is an empty dict-like one (an empty `OrderedDict()`).
    fn is_dict_like(&self, id: NodeId) -> bool {
        match self.node(id) {
            Node::Object { callable, .. } => self
                .global(*callable)
                .is_some_and(|(_, name)| name.ends_with("Dict") || name == "dict"),
            _ => false,
        }
    }

    /// The value of a dict entry whose key is the string `key`.
    pub fn get(&self, dict: NodeId, key: &str) -> Option<NodeId> {
        self.entries(dict)?
            .iter()
            .find(|(k, _)| self.str(*k) == Some(key))
            .map(|&(_, v)| v)
    }

    /// `(module, name)` of a `Global` node.
    pub fn global(&self, id: NodeId) -> Option<(&str, &str)> {
        match self.node(id) {
            Node::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }

    /// A short description of a node for messages: its kind, and for an
    /// object the class it would be an instance of.
    pub fn describe(&self, id: NodeId) -> String {
        match self.node(id) {
            Node::None => "None".into(),
            Node::Bool(b) => b.to_string(),
            Node::Int(i) => i.to_string(),
            Node::BigInt(_) => "a large integer".into(),
            Node::Float(f) => f.to_string(),
            Node::Str(s) => format!("'{}'", s.chars().take(60).collect::<String>()),
            Node::Bytes(b) => format!("{} bytes", b.len()),
            Node::Tuple(v) => format!("a tuple of {}", v.len()),
            Node::List(v) => format!("a list of {}", v.len()),
            Node::Dict(v) => format!("a dict of {}", v.len()),
            Node::Set(v) => format!("a set of {}", v.len()),
            Node::Global { module, name } => format!("{module}.{name}"),
            Node::Object { callable, .. } => match self.global(*callable) {
                Some((m, n)) => format!("{m}.{n}(...)"),
                None => "an object".into(),
            },
            Node::PersistentId(_) => "a persistent reference".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{'a': [1, -2, 3.5], 'b': ('x', None, True)}` as Python 3.11's
    /// `pickle.dumps(..., protocol=2)` writes it.
    const PROTO2_DICT: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00eX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04N\x88\x87q\x05u.";

    #[test]
    fn reads_a_protocol_2_dict() {
        let p = parse(PROTO2_DICT).unwrap();
        let a = p.get(p.root, "a").unwrap();
        let a: Vec<&Node> = p.seq(a).unwrap().iter().map(|&i| p.node(i)).collect();
        assert_eq!(a, [&Node::Int(1), &Node::Int(-2), &Node::Float(3.5)]);
        let b = p.seq(p.get(p.root, "b").unwrap()).unwrap();
        assert_eq!(p.str(b[0]), Some("x"));
        assert_eq!((p.node(b[1]), p.node(b[2])), (&Node::None, &Node::Bool(true)));
    }

    /// `pickle.dumps(collections.OrderedDict(k=1), protocol=4)`: FRAME,
    /// SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, REDUCE, SETITEMS.
    const PROTO4_ORDERED_DICT: &[u8] = b"\x80\x04\x95)\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01k\x94K\x01s.";

    #[test]
    fn reads_a_protocol_4_ordered_dict_without_calling_anything() {
        let p = parse(PROTO4_ORDERED_DICT).unwrap();
        let Node::Object { callable, .. } = p.node(p.root) else {
            panic!("{:?}", p.node(p.root))
        };
        assert_eq!(p.global(*callable), Some(("collections", "OrderedDict")));
        assert_eq!(p.int(p.get(p.root, "k").unwrap()), Some(1));
    }

    #[test]
    fn memo_shares_nodes_and_sees_later_fills() {
        // d = {}; memo 0; a list [d, d] built after d gets an item
        // EMPTY_DICT BINPUT0 MARK 'k' 1 SETITEMS(to d) ... then [GET0, GET0]
        let data = b"\x80\x02}q\x00(X\x01\x00\x00\x00kK\x01u]q\x01(h\x00h\x00e.";
        let p = parse(data).unwrap();
        let items = p.seq(p.root).unwrap();
        assert_eq!(items[0], items[1]);
        assert_eq!(p.int(p.get(items[0], "k").unwrap()), Some(1));
    }

    #[test]
    fn dangerous_globals_are_refused_in_every_spelling() {
        for data in [
            &b"cos\nsystem\n(S'echo hi'\ntR."[..],
            &b"cposix\nsystem\nX\x02\x00\x00\x00hi\x85R."[..],
            &b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93."[..],
            &b"(S'ls'\nisubprocess\ncall\n."[..],
        ] {
            let err = parse(data).unwrap_err();
            assert!(matches!(err, PickleError::Dangerous { .. }), "{err}");
        }
        // Harmless globals are kept as inert names.
        let p = parse(b"cbuiltins\nset\n)R.").unwrap();
        assert!(matches!(p.node(p.root), Node::Object { .. }));
    }

    #[test]
    fn longs_and_protocol_0_numbers() {
        let p =
            parse(b"(\x8a\x01\xff\x8a\x02\x00\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01I42\nI01\nL7L\nF0.25\nt.")
                .unwrap();
        let v: Vec<&Node> = p.seq(p.root).unwrap().iter().map(|&i| p.node(i)).collect();
        assert_eq!(v[0], &Node::Int(-1));
        assert_eq!(v[1], &Node::Int(256));
        assert!(matches!(v[2], Node::BigInt(_)));
        assert_eq!(
            &v[3..],
            [&Node::Int(42), &Node::Bool(true), &Node::Int(7), &Node::Float(0.25)]
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let cases: &[&[u8]] = &[
            b"",
            b"\x80",
            b"\x80\x02",
            b"X\xff\xff\xff\xff",
            b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff",
            b"t.",
            b"e.",
            b"(\x85.",
            b"h\x07.",
            b"K\x01b.",
            b"K\x01K\x02s.",
            b"\x80\x09.",
            b"\xff",
            b"\x82\x01",
            b"0.",
            b"d.",
            b"(K\x01d.",
            b"N\x93.",
            b"I12x\n.",
            b"S'unterminated\n.",
            b"\x8b\xff\xff\xff\x7f",
        ];
        for data in cases {
            assert!(parse(data).is_err(), "{data:?}");
        }
    }

    #[test]
    fn describe_names_what_a_node_is() {
        let p = parse(PROTO4_ORDERED_DICT).unwrap();
        assert_eq!(p.describe(p.root), "collections.OrderedDict(...)");
        let p = parse(PROTO2_DICT).unwrap();
        assert_eq!(p.describe(p.root), "a dict of 2");
    }
}

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

use std::collections::HashMap;

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

/// Modules whose attributes a legitimate checkpoint never needs and an
/// attack does: running commands, touching files, importing or evaluating
/// code.
const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "shutil",
    "socket",
    "importlib",
    "runpy",
    "pty",
    "commands",
    "webbrowser",
    "ctypes",
    "multiprocessing",
    "code",
    "pdb",
    "timeit",
    "pickle",
    "_pickle",
    "marshal",
    "shelve",
    "tempfile",
    "signal",
    "threading",
    "asyncio",
];
/// Built-ins that evaluate code, reach arbitrary attributes or files.
const DANGEROUS_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "input",
    "breakpoint",
    "exit",
    "quit",
    "help",
    "memoryview",
];

fn is_dangerous(module: &str, name: &str) -> bool {
    let top = module.split('.').next().unwrap_or(module);
    DANGEROUS_MODULES.contains(&top)
        || (matches!(module, "builtins" | "__builtin__") && DANGEROUS_BUILTINS.contains(&name))
}

/// A stack entry: a value, or a `MARK`.
#[derive(Clone, Copy)]
enum Slot {
    Value(NodeId),
    Mark,
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts, for messages.
    op_start: usize,
    nodes: Vec<Node>,
    stack: Vec<Slot>,
    memo: HashMap<u64, NodeId>,
}

/// Parses `data` (one pickle, up to its `STOP`).
pub fn parse(data: &[u8]) -> Result<Pickle, PickleError> {
    let mut m = Machine {
        data,
        pos: 0,
        op_start: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    let root = m.run()?;
    Ok(Pickle { nodes: m.nodes, root })
}

impl<'a> Machine<'a> {
    fn malformed(&self, detail: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.op_start,
            detail: detail.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(PickleError::Truncated(self.data.len()))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes taken")))
    }

    /// A length field, checked against the bytes left before it is used.
    fn len(&mut self, n: u64) -> Result<usize, PickleError> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.data.len() - self.pos)
            .ok_or(PickleError::Truncated(self.data.len()))
    }

    /// A text argument up to the next newline (protocol 0 opcodes).
    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated(self.data.len()))?;
        self.pos += end + 1;
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        std::str::from_utf8(line).map_err(|_| self.malformed("a text argument is not UTF-8"))
    }

    fn add(&mut self, node: Node) -> Result<NodeId, PickleError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(PickleError::TooLarge);
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    fn push(&mut self, node: Node) -> Result<(), PickleError> {
        let id = self.add(node)?;
        self.push_slot(Slot::Value(id))
    }

    fn push_slot(&mut self, slot: Slot) -> Result<(), PickleError> {
        if self.stack.len() >= MAX_STACK {
            return Err(PickleError::TooLarge);
        }
        self.stack.push(slot);
        Ok(())
    }

    fn pop(&mut self) -> Result<NodeId, PickleError> {
        match self.stack.pop() {
            Some(Slot::Value(id)) => Ok(id),
            Some(Slot::Mark) => Err(self.malformed("a MARK where a value was expected")),
            None => Err(self.malformed("stack underflow")),
        }
    }

    fn top(&self) -> Result<NodeId, PickleError> {
        match self.stack.last() {
            Some(Slot::Value(id)) => Ok(*id),
            Some(Slot::Mark) => Err(self.malformed("a MARK where a value was expected")),
            None => Err(self.malformed("stack underflow")),
        }
    }

    /// Pops everything above the topmost MARK, and the MARK.
    fn pop_mark(&mut self) -> Result<Vec<NodeId>, PickleError> {
        let mark = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| self.malformed("no MARK on the stack"))?;
        let items = self.stack[mark + 1..]
            .iter()
            .map(|s| match s {
                Slot::Value(id) => *id,
                Slot::Mark => unreachable!("the topmost mark is at `mark`"),
            })
            .collect();
        self.stack.truncate(mark);
        Ok(items)
    }

    fn memo_get(&self, key: u64) -> Result<NodeId, PickleError> {
        self.memo
            .get(&key)
            .copied()
            .ok_or_else(|| self.malformed(format!("memo entry {key} was never stored")))
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.insert(key, top);
        Ok(())
    }

    fn global(&mut self, module: String, name: String) -> Result<(), PickleError> {
        if is_dangerous(&module, &name) {
            return Err(PickleError::Dangerous { module, name });
        }
        self.push(Node::Global { module, name })
    }

    /// `callable(*args)`, not called.
    fn object(&mut self, callable: NodeId, args: NodeId) -> Result<(), PickleError> {
        self.push(Node::Object {
            callable,
            args,
            state: None,
            items: Vec::new(),
            list: Vec::new(),
        })
    }

    fn set_items(&mut self, target: NodeId, pairs: Vec<(NodeId, NodeId)>) -> Result<(), PickleError> {
        match &mut self.nodes[target] {
            Node::Dict(items) | Node::Object { items, .. } => {
                items.extend(pairs);
                Ok(())
            }
            _ => Err(self.malformed("SETITEM(S) on something that is not a dict")),
        }
    }

    fn append(&mut self, target: NodeId, values: Vec<NodeId>) -> Result<(), PickleError> {
        match &mut self.nodes[target] {
            Node::List(list) | Node::Object { list, .. } => {
                list.extend(values);
                Ok(())
            }
            _ => Err(self.malformed("APPEND(S) on something that is not a list")),
        }
    }

    fn pairs(&self, flat: Vec<NodeId>) -> Result<Vec<(NodeId, NodeId)>, PickleError> {
        if !flat.len().is_multiple_of(2) {
            return Err(self.malformed("an odd number of values for dict items"));
        }
        Ok(flat.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }

    fn text(&self, bytes: &[u8]) -> Result<String, PickleError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| self.malformed("a string is not valid UTF-8"))
    }

    /// `STRING`'s argument: a Python 2 `repr` of a byte string.
    fn quoted(&self, line: &str) -> Result<String, PickleError> {
        let inner = line
            .strip_prefix('\'')
            .and_then(|l| l.strip_suffix('\''))
            .or_else(|| line.strip_prefix('"').and_then(|l| l.strip_suffix('"')))
            .ok_or_else(|| self.malformed("STRING argument is not quoted"))?;
        Ok(inner.to_string())
    }

    fn int_line(&self, line: &str) -> Result<Node, PickleError> {
        let digits = line.strip_suffix('L').unwrap_or(line);
        match digits {
            "00" => Ok(Node::Bool(false)),
            "01" => Ok(Node::Bool(true)),
            _ => digits
                .parse::<i64>()
                .map(Node::Int)
                .or_else(|_| {
                    // Too large for i64: keep that it is an integer, not its value.
                    if !digits.is_empty() && digits.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) {
                        Ok(Node::BigInt(Vec::new()))
                    } else {
                        Err(())
                    }
                })
                .map_err(|_| self.malformed(format!("'{line}' is not an integer"))),
        }
    }

    fn long(&mut self, n: usize) -> Result<Node, PickleError> {
        let bytes = self.take(n)?;
        if n <= 8 {
            let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
            let mut buf = [if negative { 0xff } else { 0 }; 8];
            buf[..n].copy_from_slice(bytes);
            Ok(Node::Int(i64::from_le_bytes(buf)))
        } else {
            Ok(Node::BigInt(bytes.to_vec()))
        }
    }

    fn run(&mut self) -> Result<NodeId, PickleError> {
        loop {
            self.op_start = self.pos;
            let op = self.byte()?;
            match op {
                // Framing and protocol.
                0x80 => {
                    let proto = self.byte()?;
                    if proto > 5 {
                        return Err(self.malformed(format!("pickle protocol {proto} is newer than 5")));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint only
                }
                b'.' => return self.pop(),

                // Numbers.
                b'I' | b'L' => {
                    let line = self.line()?;
                    let node = self.int_line(line)?;
                    self.push(node)?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Node::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push(Node::Int(i64::from(v)))?;
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Node::Int(i64::from(v)))?;
                }
                0x8a => {
                    let n = self.byte()? as usize;
                    let node = self.long(n)?;
                    self.push(node)?;
                }
                0x8b => {
                    let n = self.u32()?;
                    let n = self.len(u64::from(n))?;
                    let node = self.long(n)?;
                    self.push(node)?;
                }
                b'F' => {
                    let line = self.line()?;
                    let v = line
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| self.malformed(format!("'{line}' is not a float")))?;
                    self.push(Node::Float(v))?;
                }
                b'G' => {
                    let b = self.take(8)?;
                    let v = f64::from_be_bytes(b.try_into().expect("8 bytes taken"));
                    self.push(Node::Float(v))?;
                }
                b'N' => self.push(Node::None)?,
                0x88 => self.push(Node::Bool(true))?,
                0x89 => self.push(Node::Bool(false))?,

                // Strings and bytes.
                b'S' => {
                    let line = self.line()?;
                    let s = self.quoted(line)?;
                    self.push(Node::Str(s))?;
                }
                b'T' | b'U' | b'X' | 0x8c | 0x8d | b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'U' | 0x8c | b'C' => u64::from(self.byte()?),
                        b'T' | b'X' | b'B' => u64::from(self.u32()?),
                        _ => self.u64()?,
                    };
                    let n = self.len(n)?;
                    let bytes = self.take(n)?;
                    let node = match op {
                        b'X' | 0x8c | 0x8d => Node::Str(self.text(bytes)?),
                        // Python 2 byte strings: text in every checkpoint that has them.
                        b'T' | b'U' => Node::Str(String::from_utf8_lossy(bytes).into_owned()),
                        _ => Node::Bytes(bytes.to_vec()),
                    };
                    self.push(node)?;
                }
                b'V' => {
                    let line = self.line()?;
                    self.push(Node::Str(line.to_string()))?;
                }

                // Containers.
                b')' => self.push(Node::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Node::Tuple(items))?;
                }
                b']' => self.push(Node::List(Vec::new()))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items))?;
                }
                b'a' => {
                    let value = self.pop()?;
                    let list = self.top()?;
                    self.append(list, vec![value])?;
                }
                b'e' => {
                    let values = self.pop_mark()?;
                    let list = self.top()?;
                    self.append(list, values)?;
                }
                b'}' => self.push(Node::Dict(Vec::new()))?,
                b'd' => {
                    let flat = self.pop_mark()?;
                    let pairs = self.pairs(flat)?;
                    self.push(Node::Dict(pairs))?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let dict = self.top()?;
                    self.set_items(dict, vec![(key, value)])?;
                }
                b'u' => {
                    let flat = self.pop_mark()?;
                    let pairs = self.pairs(flat)?;
                    let dict = self.top()?;
                    self.set_items(dict, pairs)?;
                }
                0x8f => self.push(Node::Set(Vec::new()))?,
                0x90 => {
                    let values = self.pop_mark()?;
                    let set = self.top()?;
                    match &mut self.nodes[set] {
                        Node::Set(items) => items.extend(values),
                        _ => return Err(self.malformed("ADDITEMS on something that is not a set")),
                    }
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Node::Set(items))?;
                }

                // Stack.
                b'(' => self.push_slot(Slot::Mark)?,
                b'0' => {
                    self.stack
                        .pop()
                        .ok_or_else(|| self.malformed("POP on an empty stack"))?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.top()?;
                    self.push_slot(Slot::Value(top))?;
                }

                // Memo.
                b'p' => {
                    let line = self.line()?;
                    let key = line.parse().map_err(|_| self.malformed("PUT needs a number"))?;
                    self.memo_put(key)?;
                }
                b'q' => {
                    let key = self.byte()?;
                    self.memo_put(u64::from(key))?;
                }
                b'r' => {
                    let key = self.u32()?;
                    self.memo_put(u64::from(key))?;
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.memo_put(key)?;
                }
                b'g' => {
                    let line = self.line()?;
                    let key = line.parse().map_err(|_| self.malformed("GET needs a number"))?;
                    let id = self.memo_get(key)?;
                    self.push_slot(Slot::Value(id))?;
                }
                b'h' => {
                    let key = self.byte()?;
                    let id = self.memo_get(u64::from(key))?;
                    self.push_slot(Slot::Value(id))?;
                }
                b'j' => {
                    let key = self.u32()?;
                    let id = self.memo_get(u64::from(key))?;
                    self.push_slot(Slot::Value(id))?;
                }

                // Globals and calls: recorded, never performed.
                b'c' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    self.global(module, name)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Node::Str(module), Node::Str(name)) = (&self.nodes[module], &self.nodes[name]) else {
                        return Err(self.malformed("STACK_GLOBAL needs two strings"));
                    };
                    let (module, name) = (module.clone(), name.clone());
                    self.global(module, name)?;
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.object(callable, args)?;
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let both = self.add(Node::Tuple(vec![args, kwargs]))?;
                    self.object(callable, both)?;
                }
                b'i' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    let args = self.pop_mark()?;
                    if is_dangerous(&module, &name) {
                        return Err(PickleError::Dangerous { module, name });
                    }
                    let callable = self.add(Node::Global { module, name })?;
                    let args = self.add(Node::Tuple(args))?;
                    self.object(callable, args)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.malformed("OBJ without a class"));
                    }
                    let callable = items.remove(0);
                    let args = self.add(Node::Tuple(items))?;
                    self.object(callable, args)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    match &mut self.nodes[target] {
                        Node::Object { state: slot, .. } => *slot = Some(state),
                        _ => return Err(self.malformed("BUILD on something that is not an object")),
                    }
                }
                b'P' => {
                    let line = self.line()?.to_string();
                    let id = self.add(Node::Str(line))?;
                    self.push(Node::PersistentId(id))?;
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.push(Node::PersistentId(id))?;
                }
                0x82..=0x84 => {
                    return Err(self.malformed("the pickle uses copyreg's extension registry (EXT opcodes)"));
                }
                0x97 | 0x98 => {
                    return Err(self.malformed("the pickle uses out-of-band buffers"));
                }
                opcode => {
                    return Err(PickleError::UnknownOpcode {
                        opcode,
                        offset: self.op_start,
                    })
                }
            }
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

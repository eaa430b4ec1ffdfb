//! The stack machine: runs the opcodes of a pickle, calling nothing (see
//! the module documentation of `pickle`).

use std::collections::HashMap;

use super::policy::is_dangerous;
use super::{Node, NodeId, Pickle, PickleError, MAX_NODES, MAX_STACK};

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

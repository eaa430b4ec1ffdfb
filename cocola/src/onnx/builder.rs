//! A small helper for building an ONNX graph node by node.

use std::collections::HashSet;

use super::proto::{
    attribute_type, AttributeProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, DATA_TYPE_FLOAT,
};

/// A node attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Floats(Vec<f32>),
    Str(String),
}

impl Attr {
    fn into_proto(self, name: &str) -> AttributeProto {
        let mut a = AttributeProto {
            name: Some(name.to_string()),
            ..Default::default()
        };
        match self {
            Attr::Int(v) => {
                a.i = Some(v);
                a.r#type = Some(attribute_type::INT);
            }
            Attr::Ints(v) => {
                a.ints = v;
                a.r#type = Some(attribute_type::INTS);
            }
            Attr::Float(v) => {
                a.f = Some(v);
                a.r#type = Some(attribute_type::FLOAT);
            }
            Attr::Floats(v) => {
                a.floats = v;
                a.r#type = Some(attribute_type::FLOATS);
            }
            Attr::Str(v) => {
                a.s = Some(v.into_bytes());
                a.r#type = Some(attribute_type::STRING);
            }
        }
        a
    }
}

/// Builds a `GraphProto`: initializers, nodes in topological order (the order
/// they are added), and graph inputs/outputs. Value names are checked for
/// uniqueness, because ONNX requires every value to be produced exactly once
/// and a clash would silently rewire the graph.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: GraphProto,
    names: HashSet<String>,
    counter: usize,
}

/// A name was defined twice while building a graph (a bug in the caller).
#[derive(Debug, thiserror::Error)]
#[error("ONNX value name '{0}' is defined twice")]
pub struct DuplicateName(pub String);

impl GraphBuilder {
    pub fn new(name: &str) -> Self {
        GraphBuilder {
            graph: GraphProto {
                name: Some(name.to_string()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn claim(&mut self, name: &str) -> Result<(), DuplicateName> {
        if self.names.insert(name.to_string()) {
            Ok(())
        } else {
            Err(DuplicateName(name.to_string()))
        }
    }

    /// A fresh value name `{prefix}/{op}_{n}` that no other value has.
    pub fn fresh(&mut self, prefix: &str, op: &str) -> String {
        loop {
            self.counter += 1;
            let name = format!("{prefix}/{op}_{}", self.counter);
            if !self.names.contains(&name) {
                return name;
            }
        }
    }

    /// Declares a graph input.
    pub fn input(&mut self, info: ValueInfoProto) -> Result<String, DuplicateName> {
        let name = info.name.clone().unwrap_or_default();
        self.claim(&name)?;
        self.graph.input.push(info);
        Ok(name)
    }

    /// Declares a graph output; `info.name` must be produced by a node.
    pub fn output(&mut self, info: ValueInfoProto) {
        self.graph.output.push(info);
    }

    /// Adds a float32 initializer (a constant, e.g. a weight) stored as raw
    /// little-endian bytes. Returns its name.
    pub fn initializer_f32(&mut self, name: &str, dims: &[usize], data: &[f32]) -> Result<String, DuplicateName> {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer_raw(name, dims, DATA_TYPE_FLOAT, raw)
    }

    /// Adds an initializer of any element type from its little-endian bytes.
    pub fn initializer_raw(
        &mut self,
        name: &str,
        dims: &[usize],
        data_type: i32,
        raw: Vec<u8>,
    ) -> Result<String, DuplicateName> {
        self.claim(name)?;
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(data_type),
            float_data: Vec::new(),
            name: Some(name.to_string()),
            raw_data: Some(raw),
        });
        Ok(name.to_string())
    }

    /// Adds a node with one output named `output`. Inputs may be empty strings
    /// for omitted optional inputs.
    pub fn node_named(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<(&str, Attr)>,
    ) -> Result<String, DuplicateName> {
        self.claim(output)?;
        self.graph.node.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: Some(format!("{output}#node")),
            op_type: Some(op_type.to_string()),
            attribute: attrs.into_iter().map(|(n, a)| a.into_proto(n)).collect(),
            doc_string: None,
            domain: None,
        });
        Ok(output.to_string())
    }

    /// Adds a node whose single output gets a fresh name under `prefix`.
    pub fn node(
        &mut self,
        prefix: &str,
        op_type: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
    ) -> Result<String, DuplicateName> {
        let out = self.fresh(prefix, &op_type.to_ascii_lowercase());
        self.node_named(op_type, inputs, &out, attrs)
    }

    pub fn finish(self) -> GraphProto {
        self.graph
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_clashes_are_refused() {
        let mut g = GraphBuilder::new("t");
        let a = g.fresh("x", "relu");
        let b = g.fresh("x", "relu");
        assert_ne!(a, b);
        g.initializer_f32("w", &[1], &[1.0]).unwrap();
        assert!(g.initializer_f32("w", &[1], &[1.0]).is_err());
        g.node_named("Relu", &["w"], "y", vec![]).unwrap();
        assert!(g.node_named("Relu", &["w"], "y", vec![]).is_err());
    }

    #[test]
    fn attributes_keep_zero_values() {
        let a = Attr::Int(0).into_proto("axis");
        assert_eq!(a.i, Some(0));
        assert_eq!(a.r#type, Some(attribute_type::INT));
    }
}

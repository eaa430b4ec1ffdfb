//! Named f32 tensors: the weights handed to the ONNX writer (by the trainer,
//! a checkpoint converter or the test-weight generator).

use std::collections::BTreeMap;

use super::ModelError;

/// A dense row-major f32 tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// Fails if `data` does not hold exactly `shape.product()` values.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, ModelError> {
        let expected: usize = shape.iter().product();
        if expected != data.len() {
            return Err(ModelError::BadTensor {
                name: String::new(),
                detail: format!("shape {shape:?} needs {expected} values, got {}", data.len()),
            });
        }
        Ok(Tensor { shape, data })
    }
}

/// Tensors by parameter name (see [`super::arch`] for the names).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamedTensors {
    map: BTreeMap<String, Tensor>,
}

impl NamedTensors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a tensor. Fails if `data` does not match `shape`.
    pub fn insert(&mut self, name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) -> Result<(), ModelError> {
        let name = name.into();
        let tensor = Tensor::new(shape, data).map_err(|e| match e {
            ModelError::BadTensor { detail, .. } => ModelError::BadTensor {
                name: name.clone(),
                detail,
            },
            other => other,
        })?;
        self.map.insert(name, tensor);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.map.get(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        self.map.remove(name)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }
}

//! Running a COCOLA model: features in, embeddings out, and the score.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::TensorRef;

use super::io::{INPUT_FEATURES, OUTPUT_EMBEDDING, OUTPUT_W_EMBEDDING};
use super::metadata::{read_metadata, ModelMetadata};
use super::runtime::{self, RuntimeHandle};
use super::ModelError;
use crate::contract::{InputKind, EMBEDDING_DIM};

/// How to find ONNX Runtime and how to run the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// The ONNX Runtime library (or a directory holding it); see
    /// [`super::runtime`] for where it is looked for otherwise.
    pub ort_library: Option<PathBuf>,
    /// A directory to look in after the executable's (the plugin passes the
    /// directory of its own shared library).
    pub library_dir_hint: Option<PathBuf>,
    /// Threads ONNX Runtime uses inside one operator. 1 (the default) runs the
    /// model on the calling thread, which suits the plugin's worker thread.
    pub intra_op_threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            ort_library: None,
            library_dir_hint: None,
            intra_op_threads: 1,
        }
    }
}

/// A loaded COCOLA model, ready to embed features.
pub struct Model {
    session: Session,
    metadata: ModelMetadata,
    runtime: RuntimeHandle,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.metadata.name)
            .field("version", &self.metadata.version)
            .field("runtime", &self.runtime.library())
            .finish()
    }
}

/// An ONNX Runtime session of the model in `bytes` (`what` names it in
/// errors), set up as every COCOLA model runs: `opts`' threads, one
/// inter-op thread, no spinning.
pub(crate) fn session(bytes: &[u8], what: &str, opts: &LoadOptions) -> Result<(Session, RuntimeHandle), ModelError> {
    let runtime = runtime::init(opts.ort_library.as_deref(), opts.library_dir_hint.as_deref())?;
    let action = format!("load {what}");
    let session = Session::builder(runtime.environment())
        .map_err(|e| ModelError::ort("create a session", e))?
        .with_intra_threads(opts.intra_op_threads.max(1))
        .map_err(|e| ModelError::ort(&action, e))?
        .with_inter_threads(1)
        .map_err(|e| ModelError::ort(&action, e))?
        // Spinning threads would burn the cores the audio host needs.
        .with_intra_op_spinning(false)
        .map_err(|e| ModelError::ort(&action, e))?
        .commit_from_memory(bytes)
        .map_err(|e| ModelError::ort(&action, e))?;
    Ok((session, runtime))
}

/// Embeddings of one batch: row i of each is for input row i.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    /// `[batch, 512]` f(x): after LayerNorm and tanh.
    pub embedding: Vec<f32>,
    /// `[batch, 512]` row i = W · f(x_i).
    pub w_embedding: Vec<f32>,
    pub batch: usize,
}

impl Embeddings {
    /// f(x) of row `row`. Panics if `row >= batch`.
    pub fn embedding(&self, row: usize) -> &[f32] {
        &self.embedding[row * EMBEDDING_DIM..(row + 1) * EMBEDDING_DIM]
    }

    /// W · f(x) of row `row`. Panics if `row >= batch`.
    pub fn w_embedding(&self, row: usize) -> &[f32] {
        &self.w_embedding[row * EMBEDDING_DIM..(row + 1) * EMBEDDING_DIM]
    }
}

/// The COCOLA score of a condition and a stem embedded in the same batch:
/// `f(c)^T W f(s)` = `dot(embedding[condition_row], w_embedding[stem_row])`,
/// the reference's `BilinearSimilarity.pairwise(x=condition, y=stem)`.
/// The only place this formula lives. Panics if a row is out of range.
pub fn score(e: &Embeddings, condition_row: usize, stem_row: usize) -> f32 {
    // f64 accumulation: the sum of 512 products should not depend on the
    // summation order of whoever calls this.
    e.embedding(condition_row)
        .iter()
        .zip(e.w_embedding(stem_row))
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum::<f64>() as f32
}

impl Model {
    /// Loads a model file. Checks, before starting ONNX Runtime, that the file
    /// is a COCOLA model made for this build's feature contract.
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Model, ModelError> {
        let bytes = super::reader::read_model_bytes(path)?;
        Self::build(&bytes, &path.display().to_string(), opts)
    }

    /// Loads a model from memory (e.g. one embedded in the binary).
    pub fn from_bytes(bytes: &[u8], opts: &LoadOptions) -> Result<Model, ModelError> {
        Self::build(bytes, "the model", opts)
    }

    fn build(bytes: &[u8], what: &str, opts: &LoadOptions) -> Result<Model, ModelError> {
        let metadata = read_metadata(bytes, what)?;
        let (session, runtime) = session(bytes, what, opts)?;
        Ok(Model {
            session,
            metadata,
            runtime,
        })
    }

    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// What the model's encoder takes (HPS or mel features).
    pub fn input(&self) -> InputKind {
        self.metadata.input
    }

    /// The ONNX Runtime library in use.
    pub fn runtime_library(&self) -> &Path {
        self.runtime.library()
    }

    /// Embeds `batch` feature tensors, `features` being `batch x` the input
    /// kind's shape (`[2, 64, 501]` or `[1, 64, 501]`), row-major.
    pub fn embed(&mut self, features: &[f32], batch: usize) -> Result<Embeddings, ModelError> {
        if batch == 0 {
            return Err(ModelError::BadInput("batch size is 0".into()));
        }
        let [channels, mels, frames] = self.input().feature_shape();
        let row_len = self.input().feature_len();
        if features.len() != batch * row_len {
            return Err(ModelError::BadInput(format!(
                "{} values given for a batch of {batch} feature tensors of {:?} ({} expected)",
                features.len(),
                self.input().feature_shape(),
                batch * row_len
            )));
        }
        if let Some(i) = features.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::BadInput(format!(
                "feature value {} at row {}, flat index {} is not finite",
                features[i],
                i / row_len,
                i % row_len
            )));
        }
        let shape = [batch, channels, mels, frames];
        let input = TensorRef::from_array_view((shape, features)).map_err(|e| ModelError::ort("take the input", e))?;
        let outputs = self
            .session
            .run(ort::inputs![INPUT_FEATURES => input])
            .map_err(|e| ModelError::ort("run the model", e))?;
        let take = |name: &str| -> Result<Vec<f32>, ModelError> {
            let value = outputs
                .get(name)
                .ok_or_else(|| ModelError::ort("run the model", format!("no output '{name}'")))?;
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| ModelError::ort(&format!("read output '{name}'"), e))?;
            if shape.len() != 2 || shape[0] != batch as i64 || shape[1] != EMBEDDING_DIM as i64 {
                return Err(ModelError::ort(
                    "run the model",
                    format!("output '{name}' has shape {shape:?}, expected [{batch}, {EMBEDDING_DIM}]"),
                ));
            }
            Ok(data.to_vec())
        };
        let embedding = take(OUTPUT_EMBEDDING)?;
        let w_embedding = take(OUTPUT_W_EMBEDDING)?;
        Ok(Embeddings {
            embedding,
            w_embedding,
            batch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_can_move_to_a_worker_thread() {
        fn send<T: Send>() {}
        send::<Model>();
        send::<Embeddings>();
    }

    #[test]
    fn score_is_condition_embedding_dot_stem_w_embedding() {
        let mut e = Embeddings {
            embedding: vec![0.0; 2 * 512],
            w_embedding: vec![0.0; 2 * 512],
            batch: 2,
        };
        e.embedding[0] = 2.0; // row 0
        e.w_embedding[512] = 3.0; // row 1
        e.w_embedding[0] = 5.0; // row 0
        assert_eq!(score(&e, 0, 1), 6.0);
        assert_eq!(score(&e, 0, 0), 10.0);
        assert_eq!(score(&e, 1, 0), 0.0);
    }
}

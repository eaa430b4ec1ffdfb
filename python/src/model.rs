//! `cocola.Model`: a loaded COCOLA model and what it computes.
//!
//! A model holds one single-threaded ONNX Runtime session per thread, in a
//! [`Scorer`] that splits each encoder run between them, and a thread pool
//! of the same size for the features: the CLI's `--threads`, so that a
//! model made with `threads=1` (one per worker process, say) uses one core.
//! Calls from several Python threads take turns on the scorer; the GIL is
//! released for the whole computation, so other Python threads run
//! meanwhile, and separate `Model` objects score in parallel.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use cocola::contract::EMBEDDING_DIM;
use cocola::mode::Mode;
use cocola::model::{LoadOptions, ModelMetadata};
use cocola::model_source::{self, ModelInfo, ModelSource};
use cocola::score::alternatives::{AlternativeOptions, AlternativesError, AlternativesReport};
use cocola::score::rank::score_and_rank;
use cocola::score::windows::window_slices;
use cocola::score::{Direction, Measure, Scorer, WindowOptions};
use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::audio::{all_to_mono_16k, extract_many, Audio};
use crate::errors::{Failure, ModelError};
use crate::fork_guard;
use crate::python_values::{parse_mode, to_python};
use crate::ranking::{named_candidates, Ranking};
use crate::runtime::{onnxruntime_capi_dir, INSTALL_HINT};
use crate::score::Score;

/// A COCOLA model, loaded and ready to score.
///
/// ``Model()`` is the default model built into the package (or
/// ``$COCOLA_MODEL``); ``Model(path)`` loads a ``.onnx`` model file made by
/// ``cocola-trainer export`` or ``cocola import``, or one of the authors'
/// PyTorch Lightning checkpoints (``.ckpt``), which is imported once into the
/// user cache as the CLI does (nothing in it is executed). ``threads`` (default: all cores) is the number
/// of ONNX Runtime sessions that share each encoder run, as the CLI's
/// ``--threads``.
///
/// Every method takes audio as numpy arrays of float32/float64 samples at any
/// sample rate ``sr``, mono ``[samples]`` or ``[channels, samples]``; audio is
/// mixed to mono and resampled to 16 kHz exactly as the CLI reads files.
/// Methods release the GIL while they compute; a model may be shared between
/// threads (calls take turns).
///
/// A model without HPS (single-channel log-mel input) has the plain score
/// only: ``modes`` lists what the model has, and asking for a mode it lacks
/// raises ``ValueError``.
///
/// Raises ``cocola.ModelError`` when the model cannot be read, imported or
/// trusted or ONNX Runtime cannot be loaded.
#[pyclass(frozen, module = "cocola")]
pub struct Model {
    scorer: Mutex<Scorer>,
    /// Where the library's parallel work (features) runs.
    pool: rayon::ThreadPool,
    source: ModelSource,
    /// What is shown about the model (the CLI's and the plugin's ModelInfo).
    info: ModelInfo,
    metadata: ModelMetadata,
    runtime_library: PathBuf,
    sessions: usize,
}

impl Model {
    /// Runs `work` on the scorer reading scores in `direction` (waiting for
    /// other threads' calls), inside the model's thread pool.
    pub fn with_scorer<T: Send>(&self, direction: Direction, work: impl FnOnce(&mut Scorer) -> T + Send) -> T {
        let mut scorer = self.scorer.lock().unwrap_or_else(PoisonError::into_inner);
        let scorer = &mut *scorer;
        scorer.set_direction(direction);
        self.pool.install(|| work(scorer))
    }

    /// Runs `work` on `condition` and `stem` as 16 kHz mono, with the GIL
    /// released: the arrays are read first (wrong shapes and types are the
    /// caller's `ValueError`), converted without the GIL, then scored.
    fn with_pair_16k<T: Send>(
        &self,
        py: Python<'_>,
        condition: &Bound<'_, PyAny>,
        stem: &Bound<'_, PyAny>,
        sr: f64,
        work: impl FnOnce(&[f32], &[f32]) -> T + Send,
    ) -> PyResult<T> {
        let condition = Audio::extract(condition, sr, "condition")?;
        let stem = Audio::extract(stem, sr, "stem")?;
        fork_guard::enter()?;
        let result = py.detach(|| -> Result<_, Failure> { Ok(work(&condition.to_mono_16k()?, &stem.to_mono_16k()?)) });
        Ok(result?)
    }

    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    pub fn is_calibrated(&self) -> bool {
        self.metadata.calibration.is_some()
    }

    /// The model as the CLI describes it (name, version, input, source,
    /// SHA-256: its identity in the embedding cache, calibrated).
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The modes the model can score: three for an HPS model, `both` alone
    /// for a model without HPS.
    pub fn modes(&self) -> &'static [Mode] {
        self.info.input.modes()
    }

    /// Fails with the library's message (a ValueError: the caller's
    /// argument) if the model has no such mode.
    pub fn check_mode(&self, mode: Mode) -> PyResult<()> {
        self.info.input.check_mode(mode).map_err(PyValueError::new_err)
    }

    /// The windowing and the mode of a scoring call, checked (the mode
    /// against the model's).
    fn scoring_options(&self, mode: &str, hop: f32, silence_db: f32) -> PyResult<(WindowOptions, Mode)> {
        let options = window_options(hop, silence_db)?;
        let mode = parse_mode(mode)?;
        self.check_mode(mode)?;
        Ok((options, mode))
    }

    /// What `rank` orders by: `mode` (a measure's name) checked against the
    /// model, or, when `None`, the combined fit where the model is
    /// calibrated and the plain score otherwise (as `cocola rank`).
    /// (From the metadata alone: no scorer lock, no thread pool, so a
    /// forked child still gets the fork guard's error.) Ranking reads the
    /// scores in the default, calibrated direction.
    fn ranking_measure(&self, mode: Option<&str>) -> PyResult<Measure> {
        let (input, calibration) = (self.info.input, self.metadata.calibration.as_ref());
        let measure = match mode {
            Some(name) => name.parse::<Measure>().map_err(PyValueError::new_err)?,
            None => Measure::default_for(input, calibration),
        };
        measure.check(input, calibration).map_err(PyValueError::new_err)?;
        Ok(measure)
    }

    /// Loads `sessions` sessions of the model at `path` (or the default),
    /// found by the library's resolver as the CLI finds it: a checkpoint is
    /// imported into the user cache first (once).
    pub fn load(py: Python<'_>, path: Option<PathBuf>, sessions: usize) -> PyResult<Self> {
        fork_guard::enter()?;
        let options = LoadOptions {
            library_dir_hint: onnxruntime_capi_dir(py),
            intra_op_threads: 1,
            ..LoadOptions::default()
        };
        let loaded = py.detach(|| {
            // Importing a checkpoint takes seconds: say so, as the CLI does.
            let source =
                model_source::resolve(path.as_deref(), &mut |message| eprintln!("{message}")).map_err(|e| (None, e))?;
            let models = (0..sessions)
                .map(|_| source.load(&options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| (Some(source.describe()), e))?;
            let info = source.info(models[0].metadata()).map_err(|e| (None, e))?;
            Ok((source, models, info))
        });
        let (source, models, info) = loaded.map_err(|(what, e): (Option<String>, cocola::model::ModelError)| {
            let mut message = match what {
                Some(what) => format!("cannot use model {what}: {e}"),
                None => e.to_string(),
            };
            if matches!(e, cocola::model::ModelError::Runtime(_)) && options.library_dir_hint.is_none() {
                message = format!("{message}\n{INSTALL_HINT}");
            }
            ModelError::new_err(message)
        })?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(sessions)
            .thread_name(|i| format!("cocola-{i}"))
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start {sessions} worker thread(s): {e}")))?;
        fork_guard::threads_started();
        let metadata = models[0].metadata().clone();
        let runtime_library = models[0].runtime_library().to_path_buf();
        Ok(Self {
            scorer: Mutex::new(Scorer::with_sessions(models)),
            pool,
            source,
            info,
            metadata,
            runtime_library,
            sessions,
        })
    }
}

/// One session per core, as the CLI's default `--threads`.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks the hop and silence options shared by the scoring methods and
/// `eval_pairs`. A `silence_db` of -inf skips no window (the published
/// protocol's windowing, with `hop=2.5`).
pub fn window_options(hop: f32, silence_db: f32) -> PyResult<WindowOptions> {
    WindowOptions::check_hop(hop).map_err(PyValueError::new_err)?;
    if silence_db.is_nan() || silence_db == f32::INFINITY {
        return Err(PyValueError::new_err(format!(
            "silence_db must be a level in dBFS (or -inf: no window is silent), not {silence_db}"
        )));
    }
    Ok(WindowOptions {
        hop_seconds: hop,
        silence_dbfs: silence_db,
    })
}

/// The direction `symmetric` asks for.
pub fn direction(symmetric: bool) -> Direction {
    if symmetric {
        Direction::Symmetric
    } else {
        Direction::ConditionStem
    }
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (path=None, *, threads=None))]
    fn new(py: Python<'_>, path: Option<PathBuf>, threads: Option<usize>) -> PyResult<Self> {
        let sessions = match threads {
            Some(0) => return Err(PyValueError::new_err("threads must be at least 1")),
            Some(n) => n,
            None => default_threads(),
        };
        Self::load(py, path, sessions)
    }

    /// What identifies the model, as a dict: name, version, description,
    /// input ("hps", "mel" or "pitch"), source, sha256 (of the model file) and
    /// calibrated; the ``model`` of ``cocola eval --json``.
    #[getter(info)]
    fn info_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.info)
    }

    /// The model file's whole metadata as a dict: name, version,
    /// description, license, training data and record, validation accuracy
    /// per mode and K, and the score calibration (``None`` for an
    /// uncalibrated model); the same as ``cocola model-info --json``.
    #[getter(metadata)]
    fn metadata_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.metadata)
    }

    /// The modes the model scores: ``["both", "harmonic", "percussive"]``
    /// for an HPS model, ``["both"]`` for a model without HPS.
    #[getter(modes)]
    fn mode_names(&self) -> Vec<&'static str> {
        self.modes().iter().map(|m| m.name()).collect()
    }

    /// Where the model came from: its path, "X.ckpt (imported)", or
    /// "default (embedded)".
    #[getter]
    fn source(&self) -> String {
        self.source.describe()
    }

    /// Cores the model computes on (ONNX Runtime sessions and feature threads).
    #[getter]
    fn threads(&self) -> usize {
        self.sessions
    }

    /// The ONNX Runtime library in use.
    #[getter]
    fn runtime_library(&self) -> String {
        self.runtime_library.display().to_string()
    }

    /// Embeddings f(x) of ``audio``'s 5 s windows, one every ``hop``
    /// seconds (shorter audio is one zero-padded window), seen under
    /// ``mode`` ("both", "harmonic" or "percussive"): float32
    /// ``[windows, 512]``, after the encoder's LayerNorm and tanh.
    #[pyo3(signature = (audio, sr, mode="both", hop=5.0))]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        audio: &Bound<'py, PyAny>,
        sr: f64,
        mode: &str,
        hop: f32,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let options = window_options(hop, WindowOptions::default().silence_dbfs)?;
        let mode = parse_mode(mode)?;
        self.check_mode(mode)?;
        let audio = Audio::extract(audio, sr, "audio")?;
        fork_guard::enter()?;
        let embeddings = py.detach(|| -> Result<_, Failure> {
            let signal = audio.to_mono_16k()?;
            let windows = window_slices(&signal, options.hop_samples());
            Ok(self.with_scorer(Direction::default(), |scorer| scorer.embed_windows(&windows, mode))?)
        })?;
        PyArray1::from_vec(py, embeddings.embedding).reshape([embeddings.batch, EMBEDDING_DIM])
    }

    /// How well ``stem`` fits ``condition``: the COCOLA score over 5 s
    /// windows every ``hop`` seconds, as ``cocola score`` computes it.
    ///
    /// Windows where either side is quieter than ``silence_db`` (RMS dBFS;
    /// ``-inf``: none) are not scored; the shorter signal counts as silent
    /// where it has ended. ``symmetric=True`` reports the mean of both
    /// directions, (f(c)ᵀ W f(s) + f(s)ᵀ W f(c)) / 2, as later work with
    /// COCOLA does, instead of f(c)ᵀ W f(s); it has no calibrated fit.
    /// ``mode`` picks the headline of the returned ``Score`` (every mode of
    /// the model is always computed, in one encoder run per window).
    #[pyo3(
        signature = (condition, stem, sr, mode="both", hop=5.0, silence_db=-60.0, symmetric=false),
        text_signature = "(self, /, condition, stem, sr, mode='both', hop=5.0, silence_db=-60.0, symmetric=False)"
    )]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn score(
        &self,
        py: Python<'_>,
        condition: &Bound<'_, PyAny>,
        stem: &Bound<'_, PyAny>,
        sr: f64,
        mode: &str,
        hop: f32,
        silence_db: f32,
        symmetric: bool,
    ) -> PyResult<Score> {
        let (options, mode) = self.scoring_options(mode, hop, silence_db)?;
        let direction = direction(symmetric);
        let report = self
            .with_pair_16k(py, condition, stem, sr, |condition, stem| {
                self.with_scorer(direction, |scorer| {
                    scorer.score_pair(condition, stem, &options, |_, _| {})
                })
            })?
            .map_err(Failure::Model)?;
        let calibrated = self.is_calibrated() && direction == Direction::ConditionStem;
        Ok(Score::new(report, mode, self.modes(), calibrated))
    }

    /// Would ``stem`` fit ``condition`` better changed? Scores the stem as
    /// it is and transposed by 1-6 semitones either way (in the features:
    /// exact, no pitch shifter) and moved earlier and later by eighths of
    /// the condition's beat, on the windows ``score`` scores, as ``cocola
    /// score --alternatives`` does. Returns a dict: ``as_is`` and every
    /// change's ``scores``, the measured ``beat_seconds``, and ``key`` /
    /// ``timing``: the best change of that kind, its ``gain`` in combined
    /// log-odds and ``better`` (True: the stem is probably out of key / off
    /// the beat). Needs a pitch-input model (the default is one); ``key``
    /// and ``timing`` are None for an uncalibrated one.
    #[pyo3(
        signature = (condition, stem, sr, hop=5.0, silence_db=-60.0),
        text_signature = "(self, /, condition, stem, sr, hop=5.0, silence_db=-60.0)"
    )]
    fn alternatives<'py>(
        &self,
        py: Python<'py>,
        condition: &Bound<'py, PyAny>,
        stem: &Bound<'py, PyAny>,
        sr: f64,
        hop: f32,
        silence_db: f32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = window_options(hop, silence_db)?;
        let result = self.with_pair_16k(py, condition, stem, sr, |condition, stem| {
            self.with_scorer(Direction::default(), |scorer| {
                let defaults = AlternativeOptions::default();
                scorer.score_alternatives(condition, stem, &options, &defaults, |_, _| {})
            })
        })?;
        let alternatives = result.map_err(|e| match e {
            AlternativesError::Model(e) => Failure::Model(e).into(),
            // A model without semitone bands, or nothing audible: the caller's inputs.
            other => PyValueError::new_err(other.to_string()),
        })?;
        to_python(py, &AlternativesReport::from(alternatives))
    }

    /// The paper's similarity matrix: entry ``[i, j]`` is the raw COCOLA
    /// score of ``stems[j]`` with ``conditions[i]`` under ``mode``, float32
    /// ``[len(conditions), len(stems)]``. Each signal is one 5 s clip (its
    /// first 5 s; shorter ones are zero-padded); the diagonal of a batch of
    /// matching pairs should stand out in its rows.
    #[pyo3(signature = (conditions, stems, sr, mode="both"))]
    fn score_matrix<'py>(
        &self,
        py: Python<'py>,
        conditions: &Bound<'py, PyAny>,
        stems: &Bound<'py, PyAny>,
        sr: f64,
        mode: &str,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let mode = parse_mode(mode)?;
        self.check_mode(mode)?;
        let conditions = extract_many(conditions, sr, "conditions")?;
        let stems = extract_many(stems, sr, "stems")?;
        let shape = [conditions.len(), stems.len()];
        fork_guard::enter()?;
        let matrix = py.detach(|| -> Result<_, Failure> {
            let conditions = all_to_mono_16k(&conditions)?;
            let stems = all_to_mono_16k(&stems)?;
            let conditions: Vec<&[f32]> = conditions.iter().map(Vec::as_slice).collect();
            let stems: Vec<&[f32]> = stems.iter().map(Vec::as_slice).collect();
            Ok(self.with_scorer(Direction::default(), |scorer| {
                scorer.score_matrix(&conditions, &stems, mode)
            })?)
        })?;
        PyArray1::from_vec(py, matrix).reshape(shape)
    }

    /// Best of N: ``candidates`` (stems generated for ``condition``, say)
    /// ranked by how well they fit it, as ``cocola rank`` ranks files.
    ///
    /// ``candidates`` is a dict ``{name: signal}`` or a list of signals
    /// (named "0", "1", ...). Each is scored like ``score`` and ranked by
    /// ``mode``: by default the combined fit (every mode's calibrated
    /// evidence together; the plain ``both`` score for an uncalibrated
    /// model), or the mean raw score of one mode ("both", "harmonic",
    /// "percussive"); equal scores share a rank. Candidates with no window
    /// audible on both sides are listed after the ranked ones. Returns a
    /// ``Ranking``: ``order`` (input positions, best first), ``records``,
    /// ``notes``.
    #[pyo3(
        signature = (condition, candidates, sr, mode=None, hop=5.0, silence_db=-60.0),
        text_signature = "(self, /, condition, candidates, sr, mode=None, hop=5.0, silence_db=-60.0)"
    )]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn rank(
        &self,
        py: Python<'_>,
        condition: &Bound<'_, PyAny>,
        candidates: &Bound<'_, PyAny>,
        sr: f64,
        mode: Option<&str>,
        hop: f32,
        silence_db: f32,
    ) -> PyResult<Ranking> {
        let options = window_options(hop, silence_db)?;
        let measure = self.ranking_measure(mode)?;
        let condition = Audio::extract(condition, sr, "condition")?;
        let (names, candidates) = named_candidates(candidates, sr)?;
        fork_guard::enter()?;
        let ranking = py.detach(|| -> Result<_, Failure> {
            let condition = condition.to_mono_16k()?;
            // One candidate at 16 kHz at a time, converted as the ranking asks.
            let lazily = names
                .iter()
                .cloned()
                .zip(candidates.iter().map(|c| c.to_mono_16k().map_err(|e| e.to_string())));
            Ok(self.with_scorer(Direction::default(), |scorer| {
                score_and_rank(scorer, &condition, lazily, &options, measure, |_| {})
            }))
        })?;
        Ok(Ranking::new(ranking, &names))
    }

    fn __repr__(&self) -> String {
        format!(
            "cocola.Model({} {}, source={:?}, threads={})",
            self.metadata.name,
            self.metadata.version,
            self.source.describe(),
            self.sessions
        )
    }
}

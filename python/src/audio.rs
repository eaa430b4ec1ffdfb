//! Audio from Python: numpy arrays (or anything `numpy.asarray` takes) of
//! float32/float64 samples at any rate, mono `[samples]` or
//! `[channels, samples]`, checked and copied while the GIL is held, then
//! turned into 16 kHz mono by the library without it. Also the two
//! array-level functions of the module: `load_audio` and `features`.

use std::path::PathBuf;

use cocola::audio::{planar_to_mono_16k, AudioError, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use cocola::contract::InputKind;
use cocola::features::Extractor;
use cocola::score::windows::window_slices;
use cocola::score::WindowOptions;
use numpy::ndarray::{ArrayViewD, Axis};
use numpy::{Element, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::audio_error;

/// One signal handed over from Python: its channels, at its own rate.
pub struct Audio {
    planes: Vec<Vec<f32>>,
    rate: u32,
}

impl Audio {
    /// Checks and copies `obj` (`what` names it in messages, e.g. "stem").
    pub fn extract(obj: &Bound<'_, PyAny>, sample_rate: f64, what: &str) -> PyResult<Self> {
        let rate = checked_rate(sample_rate)?;
        let array = as_ndarray(obj, what)?;
        let planes = if let Ok(a) = array.cast::<PyArrayDyn<f32>>() {
            copy_planes(a.try_readonly()?.as_array(), |s| s, what)?
        } else if let Ok(a) = array.cast::<PyArrayDyn<f64>>() {
            copy_planes(a.try_readonly()?.as_array(), |s| s as f32, what)?
        } else {
            return Err(PyTypeError::new_err(format!(
                "{what} must hold float32 or float64 samples in [-1, 1], not {} (integer PCM: divide by 32768 \
                 for 16-bit)",
                array.dtype()
            )));
        };
        Ok(Self { planes, rate })
    }

    /// The signal as 16 kHz mono: the library's downmix and resampler, the
    /// same as for a decoded file. Meant to run without the GIL.
    pub fn to_mono_16k(&self) -> Result<Vec<f32>, AudioError> {
        let planes: Vec<&[f32]> = self.planes.iter().map(Vec::as_slice).collect();
        planar_to_mono_16k(&planes, self.rate)
    }
}

/// Several signals (e.g. candidates) at one rate; `what` names the sequence.
pub fn extract_many(seq: &Bound<'_, PyAny>, sample_rate: f64, what: &str) -> PyResult<Vec<Audio>> {
    if seq.is_instance_of::<pyo3::types::PyString>() || seq.cast::<PyUntypedArray>().is_ok_and(|a| a.ndim() < 2) {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a sequence of signals (a list of arrays), not a single signal"
        )));
    }
    let audio: Vec<Audio> = seq
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a sequence of signals (a list of arrays)")))?
        .enumerate()
        .map(|(i, item)| Audio::extract(&item?, sample_rate, &format!("{what}[{i}]")))
        .collect::<PyResult<_>>()?;
    if audio.is_empty() {
        return Err(PyValueError::new_err(format!("{what} is empty")));
    }
    Ok(audio)
}

/// Converts several signals to 16 kHz mono (without the GIL).
pub fn all_to_mono_16k(audio: &[Audio]) -> Result<Vec<Vec<f32>>, AudioError> {
    audio.iter().map(Audio::to_mono_16k).collect()
}

/// The sample rate as a whole number of Hz the resampler accepts.
fn checked_rate(sample_rate: f64) -> PyResult<u32> {
    let range = f64::from(MIN_SAMPLE_RATE)..=f64::from(MAX_SAMPLE_RATE);
    if sample_rate.fract() != 0.0 || !range.contains(&sample_rate) {
        return Err(PyValueError::new_err(format!(
            "sample rate must be a whole number of Hz from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, not {sample_rate}"
        )));
    }
    Ok(sample_rate as u32)
}

/// `obj` as a numpy array: as it is, or through `numpy.asarray` (lists,
/// CPU torch tensors and other array-likes).
fn as_ndarray<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        return Ok(array.clone());
    }
    let converted = obj
        .py()
        .import("numpy")?
        .call_method1("asarray", (obj,))
        .map_err(|e| PyTypeError::new_err(format!("{what} must be a numpy array of samples: {e}")))?;
    Ok(converted.cast_into::<PyUntypedArray>()?)
}

/// Copies a `[samples]` or `[channels, samples]` view into one vector per
/// channel, refusing empty audio and non-finite samples.
fn copy_planes<T: Element + Copy>(
    view: ArrayViewD<'_, T>,
    to_f32: impl Fn(T) -> f32,
    what: &str,
) -> PyResult<Vec<Vec<f32>>> {
    let shape = view.shape().to_vec();
    if matches!(shape.len(), 1 | 2) && shape.contains(&0) {
        return Err(PyValueError::new_err(format!("{what} is empty (shape {shape:?})")));
    }
    let planes: Vec<Vec<f32>> = match shape.as_slice() {
        [_] => vec![view.iter().map(|&s| to_f32(s)).collect()],
        [channels, samples] if channels > samples => {
            return Err(PyValueError::new_err(format!(
                "{what} has shape {shape:?}, which reads as {channels} channels of {samples} samples: audio is \
                 [samples] or [channels, samples]; pass {what}.T if it is [samples, channels]"
            )))
        }
        [_, _] => view
            .axis_iter(Axis(0))
            .map(|channel| channel.iter().map(|&s| to_f32(s)).collect())
            .collect(),
        _ => {
            return Err(PyValueError::new_err(format!(
                "{what} must be [samples] (mono) or [channels, samples], not an array of shape {shape:?}"
            )))
        }
    };
    for (channel, plane) in planes.iter().enumerate() {
        if let Some(index) = plane.iter().position(|s| !s.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "{what} has a non-finite sample ({}) at channel {channel}, index {index}: NaN and infinity \
                 cannot be scored",
                plane[index]
            )));
        }
    }
    Ok(planes)
}

/// Decodes an audio file (WAV, FLAC, MP3, OGG, AIFF, M4A, ...) to the
/// 16 kHz mono float32 signal every model input starts from, exactly as the
/// CLI reads it.
///
/// Raises ``cocola.AudioError`` (message names the file) for a missing,
/// unreadable, corrupt or truncated file.
#[pyfunction]
pub fn load_audio<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let samples = py.detach(|| cocola::audio::load_mono_16k(&path)).map_err(audio_error)?;
    Ok(PyArray1::from_vec(py, samples))
}

/// The model's input features, float32.
///
/// ``input="hps"`` (the default; the paper's HPS models): harmonic/percussive
/// log-mel, ``[2, 64, 501]``: channel 0 harmonic, channel 1 percussive, 64
/// mel bands, 501 frames of 10 ms, in dB relative to each channel's maximum
/// (0 down to -80). ``input="mel"`` (models without HPS): one log-mel
/// channel in absolute dB, ``[1, 64, 501]``. ``input="pitch"`` (this
/// project's key-keeping input): ``[2, 64, 501]`` like hps, channel 0 the
/// harmonic part of a 128 ms STFT in 64 semitone bands from C2 (65 Hz).
/// ``Model.info["input"]`` says which one a model takes.
///
/// Without ``hop``, the features of one 5 s window (the first 5 s; shorter
/// audio is zero-padded). With ``hop`` (seconds), every 5 s window every
/// ``hop`` seconds: ``[windows, channels, 64, 501]``, as ``cocola features
/// --hop`` writes them.
#[pyfunction]
#[pyo3(signature = (audio, sr, hop=None, input="hps"))]
pub fn features<'py>(
    py: Python<'py>,
    audio: &Bound<'py, PyAny>,
    sr: f64,
    hop: Option<f32>,
    input: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    if let Some(hop) = hop {
        WindowOptions::check_hop(hop).map_err(PyValueError::new_err)?;
    }
    let kind: InputKind = input.parse().map_err(PyValueError::new_err)?;
    let audio = Audio::extract(audio, sr, "audio")?;
    let (data, windows) = py
        .detach(|| -> Result<_, AudioError> {
            let signal = audio.to_mono_16k()?;
            let windows = match hop {
                Some(hop_seconds) => {
                    let options = WindowOptions {
                        hop_seconds,
                        ..WindowOptions::default()
                    };
                    window_slices(&signal, options.hop_samples())
                }
                // One window, the first 5 s (the extractor cuts the rest).
                None => vec![&signal[..]],
            };
            Ok((Extractor::new(kind).extract_windows(&windows), windows.len()))
        })
        .map_err(audio_error)?;
    let shape: Vec<usize> = match hop {
        None => kind.feature_shape().to_vec(),
        Some(_) => std::iter::once(windows).chain(kind.feature_shape()).collect(),
    };
    PyArray1::from_vec(py, data).reshape(shape)
}

//! General signal processing that changes or describes audio, outside the
//! feature contract: the perturbations of the sensitivity test and of the
//! trainer's hard negatives ([`crate::perturb`]) and the model-free floor's
//! descriptors.
//!
//! - [`stft`]: complex STFT of any size and its inverse (weighted overlap-add).
//! - [`vocoder`]: phase-vocoder time stretch with identity phase locking.
//! - [`interpolate`]: band-limited resampling by any ratio (windowed sinc).
//! - [`chroma`]: the pitch-class profile of a window.
//! - [`onset`]: onset-strength envelopes, beat period, note-onset counts.
//!
//! The feature contract's STFT (`features/stft.rs`) is deliberately separate:
//! it reproduces librosa's magnitudes bit for bit at one fixed size, which
//! costs an f64 transform per frame that none of this needs.

pub mod chroma;
pub mod interpolate;
pub mod onset;
pub mod stft;
#[cfg(test)]
pub(crate) mod test_signals;
pub mod vocoder;

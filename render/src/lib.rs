//! `cocola-render`: COCOLA's training music, made without libtorch.
//!
//! - [`render`]: multi-track MIDI + SoundFonts (+ sampled instruments) ->
//!   time-aligned mono stems in the `generic` layout, with `render.json`
//!   describing the rendering and the music.
//!
//! See docs/CORPUS.md for how `cargo xtask corpus` uses it.

pub mod facts;
pub mod generate;
pub mod render;
pub mod rng;
pub mod sampler;

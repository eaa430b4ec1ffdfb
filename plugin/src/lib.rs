//! COCOLA as a VST3 + CLAP analyzer plugin: the stem on the main input, the
//! rest of the track (the condition) on the "Condition" sidechain, a live
//! coherence score for the producer. A thin client of the `cocola` library.
//!
//! Threads (docs/DESIGN.md, "Plugin threading"):
//! - audio thread ([`plugin`]): audio passes through untouched; a downmix of
//!   both inputs goes into lock-free rings ([`feed`]). Nothing else.
//! - worker thread ([`worker`]): loads the model ([`loader`]), resamples to
//!   16 kHz, keeps the last 5 s ([`history`]), scores a window every hop
//!   ([`analyzer`]), checks key and timing every 5 s ([`checks`]), publishes a
//!   [`snapshot::Snapshot`] lock-free.
//! - GUI thread: reads the newest snapshot.

pub mod analyzer;
pub mod checks;
pub mod editor;
pub mod feed;
pub mod history;
pub mod loader;
pub mod location;
pub mod params;
pub mod plugin;
pub mod snapshot;
pub mod worker;

pub use plugin::Cocola;

nice_plug::nice_export_clap!(Cocola);
nice_plug::nice_export_vst3!(Cocola);

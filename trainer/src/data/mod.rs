//! From stem datasets on disk to batches of feature pairs (docs/DESIGN.md,
//! "Trainer data flow"):
//!
//! ```text
//! layouts -> tracks (with their split) -> stem cache (16 kHz mono, on disk)
//!   -> sampler (K windows, overlap <= r, two disjoint stem subsets, noise)
//!   -> pipeline (feature workers, channel masks, prefetch) -> batches
//! ```
//!
//! - [`dataset`]: dataset kinds, `--data` specs, splits, tracks (types only).
//! - [`layouts`]: listing a dataset's tracks: readers for MUSDB18-HQ,
//!   MoisesDB, Slakh2100, CocoChorales and the generic `DIR/<track>/<stem>.*`.
//! - [`split`]: seeded track-level splits for datasets without official ones.
//! - [`stem_cache`]: decoded, resampled, length-checked stems on disk.
//! - [`store`]: reading stem windows (from the cache, or memory in tests).
//! - [`sampler`]: the paper's batch construction, pure and seeded.
//! - [`pipeline`]: worker threads computing features with prefetch.
//! - [`feature_cache`]: optional on-disk cache of computed window features.
//! - [`weights`]: draw weights written `NAME=W,...` (masks, hard negatives).
//! - [`prepare`]: one split of all datasets, cached and pooled by weight.

pub mod dataset;
pub mod feature_cache;
pub mod hard_negatives;
pub mod layouts;
pub mod pipeline;
pub mod prepare;
pub mod sampler;
pub mod split;
pub mod stem_cache;
pub mod store;
pub mod weights;

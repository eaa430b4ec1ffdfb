//! Offline evaluation of whole sets, as in the paper:
//!
//! - **pair sets** (Table III): condition/stem pairs from a CSV or a folder
//!   ([`pairset`]), each scored over sliding windows ([`pairs`]), with mean,
//!   spread and a Student-t 95 % confidence interval per mode ([`stats`]);
//! - **coherent sub-mix classification** (Tables I-II, Eq. 4): accuracy@K on
//!   tracks of stems ([`tracks`], [`submix`]), the protocol itself kept free
//!   of audio and model ([`protocol`]) and seeded ([`crate::seeded`]).
//!
//! Embeddings of the sub-mix protocol go through an on-disk cache
//! ([`cache`], [`embed`]) so that re-running an evaluation skips the
//! features and the encoder. Results are written as CSV ([`csv_out`]);
//! progress and warnings go through [`progress::Progress`].

pub mod cache;
pub mod comparisons;
pub mod csv_out;
pub mod embed;
pub mod pairs;
pub mod pairset;
pub mod progress;
pub mod protocol;
pub mod scan;
pub mod sensitivity;
pub mod shard;
pub mod stats;
pub mod stem_split;
pub mod submix;
pub mod track_index;
pub mod tracks;

pub use cache::{CacheStats, EmbeddingCache};
pub use embed::{EmbedStats, Encoder, WindowEmbedder};
pub use pairs::{evaluate_pairs, evaluate_pairs_with, PairOutcome, PairSetReport, PairSetSummary, PairStatus};
pub use pairset::{read_pair_set, PairSetError, PairSpec};
pub use progress::{NoProgress, Progress};
pub use protocol::{Accuracy, Plan, PlanError};
pub use stats::{student_t_quantile, Summary};
pub use submix::{evaluate_listing, evaluate_submixes, SubmixError, SubmixOptions, SubmixReport};

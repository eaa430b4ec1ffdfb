//! Which anchors the sensitivity test draws, independent of audio and model.
//!
//! An anchor is a 5 s window of a track with a *target*: one active,
//! pitched stem with enough note starts to have an audible rhythm, and a
//! *condition*: a random non-empty sub-mix of the window's other active
//! stems (drums included). The target is compared, against the condition,
//! with three negatives of its own:
//!
//! - **transposed**: the target transposed by +-1..6 semitones (uniform over
//!   the twelve values), in two passes of the shifter: by a *carrier* of
//!   +-1..6, then by the rest. The true stem it is compared with goes
//!   through the same shifter by the carrier and back, so both sides carry
//!   its artefacts and only the key tells them apart;
//! - **shifted**: the target delayed off the beat grid (the delay is chosen
//!   once the window's beat is measured from its audio, see
//!   [`off_grid_delay`](crate::perturb::off_grid_delay); the plan draws the
//!   choice as a uniform number);
//! - **foreign**: an active pitched stem with enough note starts from a window
//!   of another track.
//!
//! Rules, and why:
//! - Active = the stem's own 5 s RMS at or above `active_dbfs` (default
//!   -45 dBFS): a condition or target that is barely there tests nothing.
//! - Pitched = not named `drums*` or `percussion*` (see
//!   [`is_unpitched_stem`](crate::files::is_unpitched_stem)): drums
//!   have no key to transpose to.
//! - Enough note starts = at least `min_note_starts` (default 4) in the
//!   window ([`note_starts`](crate::dsp::onset::note_starts)): a held pad
//!   delayed by 0.3 s sounds the same.
//! - Tracks are drawn uniformly (among those with a usable window), then a
//!   usable window of it, then a target among its usable stems: long tracks do
//!   not dominate. Window starts lie on the protocol's 0.1 s grid.
//! - Every anchor has its own random stream (seed, anchor index), so anchor
//!   `i` is the same whatever the number of anchors asked for.

use rand::Rng;
use serde::Serialize;

use crate::eval::protocol::BLOCK_SAMPLES;
use crate::seeded::{below, inclusive, shuffle, unit};

/// What the plan needs to know about one stem of a track.
#[derive(Clone, Debug, PartialEq)]
pub struct StemActivity {
    pub pitched: bool,
    /// Level of the 5 s window at each block-grid start, in dBFS.
    pub window_dbfs: Vec<f32>,
    /// Note starts within the 5 s window at each block-grid start.
    pub window_note_starts: Vec<u32>,
}

/// What the plan needs to know about a track.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackActivity {
    pub stems: Vec<StemActivity>,
}

/// The thresholds of the draw rules.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DrawRules {
    pub active_dbfs: f32,
    pub min_note_starts: u32,
    /// Largest transposition, in semitones (each draw is +-1..=this).
    pub max_semitones: u32,
}

impl Default for DrawRules {
    fn default() -> Self {
        Self {
            active_dbfs: -45.0,
            min_note_starts: 4,
            max_semitones: 6,
        }
    }
}

/// A stem of a window of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StemWindow {
    pub track: usize,
    /// Start sample, on the block grid.
    pub start: usize,
    pub stem: usize,
}

/// One anchor: the condition, the target and the draws of its negatives.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anchor {
    pub track: usize,
    pub start: usize,
    /// Stem indices of the condition sub-mix, ascending.
    pub condition: Vec<usize>,
    pub target: usize,
    /// Transposition of the transposed negative: +-1..=max_semitones.
    pub semitones: i32,
    /// The first of the shifter's two passes, for the transposed negative
    /// and the in-key true stem alike: +-1..=max_semitones, never
    /// `semitones` (the second pass, `semitones - carrier`, is within the
    /// same range and never 0).
    pub carrier: i32,
    /// Which off-grid delay the shifted negative takes, in [0, 1).
    pub delay_choice: f64,
    /// The foreign negative; `None` when there is a single usable track.
    pub foreign: Option<StemWindow>,
}

/// Why no anchor can be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SensitivityPlanError {
    #[error(
        "no window has a pitched stem (not named drums*/percussion*) that is active (>= {active_dbfs} dBFS) with \
         at least {min_note_starts} note starts in 5 s beside another active stem"
    )]
    NoUsableWindow { active_dbfs: String, min_note_starts: u32 },
}

/// The usable windows of one track: start block, target candidates, and the
/// other active stems of each.
struct Usable {
    windows: Vec<UsableWindow>,
}

struct UsableWindow {
    block: usize,
    targets: Vec<usize>,
    active: Vec<usize>,
}

fn usable_windows(track: &TrackActivity, rules: &DrawRules) -> Usable {
    let blocks = track.stems.iter().map(|s| s.window_dbfs.len()).min().unwrap_or(0);
    let windows = (0..blocks)
        .filter_map(|b| {
            let active: Vec<usize> = (0..track.stems.len())
                .filter(|&s| track.stems[s].window_dbfs[b] >= rules.active_dbfs)
                .collect();
            let targets: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&s| {
                    let stem = &track.stems[s];
                    stem.pitched
                        && stem
                            .window_note_starts
                            .get(b)
                            .is_some_and(|&n| n >= rules.min_note_starts)
                })
                .collect();
            (active.len() >= 2 && !targets.is_empty()).then_some(UsableWindow {
                block: b,
                targets,
                active,
            })
        })
        .collect();
    Usable { windows }
}

/// Draws `anchors` anchors from `tracks`, reproducibly from `seed`.
pub fn plan(
    tracks: &[TrackActivity],
    anchors: usize,
    seed: u64,
    rules: &DrawRules,
) -> Result<Vec<Anchor>, SensitivityPlanError> {
    let usable: Vec<Usable> = tracks.iter().map(|t| usable_windows(t, rules)).collect();
    let eligible: Vec<usize> = (0..tracks.len()).filter(|&t| !usable[t].windows.is_empty()).collect();
    if eligible.is_empty() {
        return Err(SensitivityPlanError::NoUsableWindow {
            active_dbfs: rules.active_dbfs.to_string(),
            min_note_starts: rules.min_note_starts,
        });
    }
    Ok((0..anchors)
        .map(|i| draw_anchor(&usable, &eligible, rules, &mut anchor_stream(seed, i)))
        .collect())
}

/// The random stream of anchor `index`.
fn anchor_stream(seed: u64, index: usize) -> rand_chacha::ChaCha12Rng {
    crate::seeded::stream(
        b"cocola-eval-sensitivity-v1",
        &[&seed.to_le_bytes(), &(index as u64).to_le_bytes()],
    )
}

fn draw_anchor(usable: &[Usable], eligible: &[usize], rules: &DrawRules, rng: &mut impl Rng) -> Anchor {
    let track = eligible[below(rng, eligible.len())];
    let window = &usable[track].windows[below(rng, usable[track].windows.len())];
    let target = window.targets[below(rng, window.targets.len())];
    let mut others: Vec<usize> = window.active.iter().copied().filter(|&s| s != target).collect();
    shuffle(rng, &mut others);
    let size = inclusive(rng, 1, others.len());
    let mut condition = others[..size].to_vec();
    condition.sort_unstable();

    let semitones = crate::perturb::draw_transposition(rng, rules.max_semitones);
    let delay_choice = unit(rng);

    let foreign = (eligible.len() >= 2).then(|| {
        let others: Vec<usize> = eligible.iter().copied().filter(|&t| t != track).collect();
        let other = others[below(rng, others.len())];
        let w = &usable[other].windows[below(rng, usable[other].windows.len())];
        StemWindow {
            track: other,
            start: w.block * BLOCK_SAMPLES,
            stem: w.targets[below(rng, w.targets.len())],
        }
    });
    // Drawn last, so every other draw is what it was before carriers.
    let carrier = draw_carrier(semitones, rules.max_semitones as i32, rng);
    Anchor {
        track,
        start: window.block * BLOCK_SAMPLES,
        condition,
        target,
        semitones,
        carrier,
        delay_choice,
        foreign,
    }
}

/// A first pass for a transposition of `semitones`: uniform over the
/// non-zero amounts within +-`max` that leave a non-zero second pass within
/// +-`max` too.
fn draw_carrier(semitones: i32, max: i32, rng: &mut impl Rng) -> i32 {
    let carriers: Vec<i32> = (-max..=max)
        .filter(|&c| c != 0 && c != semitones && (semitones - c).abs() <= max)
        .collect();
    carriers[below(rng, carriers.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(pitched: bool, levels: &[f32], starts: &[u32]) -> StemActivity {
        StemActivity {
            pitched,
            window_dbfs: levels.to_vec(),
            window_note_starts: starts.to_vec(),
        }
    }

    /// Three tracks of 6 window starts: drums (always active, many starts),
    /// a bass active in windows 0-2 with note starts, a pad active everywhere
    /// without starts.
    fn tracks() -> Vec<TrackActivity> {
        let track = || TrackActivity {
            stems: vec![
                stem(false, &[-20.0; 6], &[16; 6]),
                stem(true, &[-25.0, -25.0, -25.0, -90.0, -90.0, -90.0], &[8; 6]),
                stem(true, &[-30.0; 6], &[1; 6]),
            ],
        };
        vec![track(), track(), track()]
    }

    #[test]
    fn draws_are_seeded_and_prefix_stable() {
        let rules = DrawRules::default();
        let a = plan(&tracks(), 50, 7, &rules).unwrap();
        assert_eq!(a, plan(&tracks(), 50, 7, &rules).unwrap());
        assert_eq!(a[..20], plan(&tracks(), 20, 7, &rules).unwrap()[..]);
        assert_ne!(a, plan(&tracks(), 50, 8, &rules).unwrap());
    }

    #[test]
    fn the_target_is_an_active_pitched_stem_with_note_starts_never_drums() {
        let rules = DrawRules::default();
        for anchor in plan(&tracks(), 200, 1, &rules).unwrap() {
            // only the bass qualifies, only in windows 0-2
            assert_eq!(anchor.target, 1);
            assert!(anchor.start / BLOCK_SAMPLES <= 2);
            assert!(!anchor.condition.is_empty() && !anchor.condition.contains(&anchor.target));
            assert!(anchor.condition.iter().all(|&s| s == 0 || s == 2));
            assert!((1..=6).contains(&anchor.semitones.unsigned_abs()));
            let second = anchor.semitones - anchor.carrier;
            assert!((1..=6).contains(&anchor.carrier.unsigned_abs()), "{anchor:?}");
            assert!((1..=6).contains(&second.unsigned_abs()), "{anchor:?}");
            assert!((0.0..1.0).contains(&anchor.delay_choice));
            let foreign = anchor.foreign.expect("three tracks");
            assert_ne!(foreign.track, anchor.track);
            assert_eq!(foreign.stem, 1);
            assert!(foreign.start / BLOCK_SAMPLES <= 2);
        }
    }

    #[test]
    fn every_transposition_and_condition_size_occurs() {
        let anchors = plan(&tracks(), 600, 3, &DrawRules::default()).unwrap();
        for k in (-6..=6).filter(|&k| k != 0) {
            assert!(anchors.iter().any(|a| a.semitones == k), "{k} never drawn");
        }
        for k in (-6i32..=6).filter(|&k| k != 0) {
            // carriers of both signs lead to every transposition but +-6,
            // which only a carrier of its own sign reaches in two passes
            let signs: Vec<i32> = if k == 6 || k == -6 {
                vec![k.signum()]
            } else {
                vec![1, -1]
            };
            for sign in signs {
                let drawn = anchors.iter().any(|a| a.semitones == k && a.carrier.signum() == sign);
                assert!(drawn, "{k}: no carrier of sign {sign}");
            }
        }
        assert!(anchors.iter().any(|a| a.condition.len() == 1));
        assert!(anchors.iter().any(|a| a.condition.len() == 2));
    }

    #[test]
    fn a_single_track_has_no_foreign_negative_and_silence_is_an_error() {
        let one = &tracks()[..1];
        assert!(plan(one, 10, 0, &DrawRules::default())
            .unwrap()
            .iter()
            .all(|a| a.foreign.is_none()));
        let quiet = vec![TrackActivity {
            stems: vec![stem(true, &[-80.0; 3], &[9; 3]), stem(true, &[-80.0; 3], &[9; 3])],
        }];
        assert!(matches!(
            plan(&quiet, 10, 0, &DrawRules::default()),
            Err(SensitivityPlanError::NoUsableWindow { .. })
        ));
    }
}

//! Embedding modes (paper Sec. V, docs/DESIGN.md "Mode masks"): which feature
//! channels the encoder sees. The COCOLA score is computed once per mode.

use serde::{Deserialize, Serialize};

use crate::contract::CHANNEL_LEN;

/// Which feature channels are kept when embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Both channels: the plain COCOLA score.
    Both,
    /// Harmonic channel only (percussive zeroed): do the notes fit?
    Harmonic,
    /// Percussive channel only (harmonic zeroed): does the groove fit?
    Percussive,
}

impl Mode {
    /// All modes, in the order they are batched and reported.
    pub const ALL: [Mode; 3] = [Mode::Both, Mode::Harmonic, Mode::Percussive];

    /// Position in [`Mode::ALL`]: where per-mode arrays keep this mode.
    pub fn index(self) -> usize {
        match self {
            Mode::Both => 0,
            Mode::Harmonic => 1,
            Mode::Percussive => 2,
        }
    }

    /// Lower-case name used in CLI output, JSON and metadata.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Both => "both",
            Mode::Harmonic => "harmonic",
            Mode::Percussive => "percussive",
        }
    }

    /// Zeroes the channel this mode hides, in place, in one feature tensor:
    /// `[2, 64, 501]` (HPS) for every mode; a `[1, 64, 501]` mel tensor only
    /// under [`Mode::Both`], which hides nothing (the callers check the mode
    /// against the model's input kind first: `InputKind::check_mode`).
    pub fn apply_mask(self, features: &mut [f32]) {
        debug_assert!(self == Mode::Both || features.len() == 2 * CHANNEL_LEN);
        match self {
            Mode::Both => {}
            Mode::Harmonic => features[CHANNEL_LEN..].fill(0.0),
            Mode::Percussive => features[..CHANNEL_LEN].fill(0.0),
        }
    }
}

crate::named::named_enum!(Mode, "mode");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::FEATURE_LEN;

    #[test]
    fn masks_zero_exactly_the_hidden_channel() {
        let half = FEATURE_LEN / 2;
        for mode in Mode::ALL {
            let mut x = vec![1.0f32; FEATURE_LEN];
            mode.apply_mask(&mut x);
            let (h, p) = x.split_at(half);
            let h_kept = h.iter().all(|&v| v == 1.0);
            let p_kept = p.iter().all(|&v| v == 1.0);
            assert_eq!(h_kept, mode != Mode::Percussive, "{mode}");
            assert_eq!(p_kept, mode != Mode::Harmonic, "{mode}");
            assert!(h_kept || h.iter().all(|&v| v == 0.0));
            assert!(p_kept || p.iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn names_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(mode.name().parse::<Mode>().unwrap(), mode);
        }
        assert!("drums".parse::<Mode>().is_err());
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (i, mode) in Mode::ALL.into_iter().enumerate() {
            assert_eq!(mode.index(), i, "{mode}");
        }
    }
}

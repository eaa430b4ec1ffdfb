//! A sampled instrument: recorded notes (zones) by key and velocity range.

use std::sync::Arc;

/// One recording at the renderer's sample rate.
#[derive(Clone, Debug)]
pub struct Sample {
    pub data: Vec<f32>,
    /// The MIDI key the recording sounds at; fractional where the measured
    /// tuning differs from the name the file was given.
    pub root: f64,
    /// `[start, end)`: playback jumps from `end` back to `start` while the
    /// note is held (see [`super::looping`]); `None` plays the recording once.
    pub loop_range: Option<(usize, usize)>,
}

/// Where a sample is used: keys and velocities (inclusive ranges).
#[derive(Clone, Debug)]
pub struct Zone {
    pub keys: (u8, u8),
    pub velocities: (u8, u8),
    pub sample: Arc<Sample>,
    /// Linear gain of this zone (drum kits' per-layer gains).
    pub gain: f32,
}

/// How notes end and how velocity scales level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Articulation {
    /// Seconds from note-off to -60 dB.
    pub release_seconds: f32,
    /// Notes play to the end of their sample whatever note-off says (drums).
    pub one_shot: bool,
    /// Keys are played at the sample's own pitch (drum kits map notes to
    /// different instruments, not to pitches).
    pub pitched: bool,
}

impl Zone {
    /// Gain of a note at `velocity`: (velocity / top of the zone's range) ^
    /// exponent, the exponent growing with the range's width. With real
    /// velocity layers the recordings carry the dynamics and only a mild
    /// slope is needed within a layer (8 layers: ~0.6); a single recording
    /// for all velocities needs the whole range (exponent 1.5, ~40 dB like
    /// the GM synthesizers' squared law).
    pub fn velocity_gain(&self, velocity: u8) -> f32 {
        let (lo, hi) = self.velocities;
        let width = (hi.saturating_sub(lo) as f32 + 1.0) / 127.0;
        self.gain * (velocity as f32 / hi.max(1) as f32).min(1.0).powf(0.5 + width)
    }
}

#[derive(Clone, Debug)]
pub struct Instrument {
    pub name: String,
    pub zones: Vec<Zone>,
    pub articulation: Articulation,
    /// (key, keys it silences): a closed hi-hat stops the open one.
    pub chokes: Vec<(u8, Vec<u8>)>,
    /// Per recording of a pitched set: its key and how many cents it measured
    /// off that key's pitch (None: not measurable); see `recordings::tuned_root`.
    pub tuning: Vec<(u8, Option<f64>)>,
    /// Keys this instrument sounds natural on (roots of its lowest and highest
    /// recordings, widened a little); the renderer only gives it parts that fit.
    pub range: (u8, u8),
}

impl Instrument {
    /// The zone for `key` at `velocity`: among the zones holding the key, the
    /// one whose velocity range holds `velocity`, else the nearest one.
    pub fn zone(&self, key: u8, velocity: u8) -> Option<&Zone> {
        let distance = |z: &Zone| {
            if velocity < z.velocities.0 {
                z.velocities.0 - velocity
            } else {
                velocity.saturating_sub(z.velocities.1)
            }
        };
        self.zones
            .iter()
            .filter(|z| (z.keys.0..=z.keys.1).contains(&key))
            .min_by_key(|z| distance(z))
    }

    /// Whether every key in `lo..=hi` lies in [`Instrument::range`].
    pub fn covers(&self, lo: u8, hi: u8) -> bool {
        self.range.0 <= lo && hi <= self.range.1
    }

    /// Keys silenced by `key`.
    pub fn chokes_of(&self, key: u8) -> &[u8] {
        self.chokes
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// Velocity layer `layer` of `layers` as an inclusive range of 1..=127,
/// lowest layer softest, the ranges tiling 1..=127.
pub fn velocity_range(layer: usize, layers: usize) -> (u8, u8) {
    assert!(layer < layers);
    let edge = |i: usize| 1 + (i * 127) / layers;
    (edge(layer) as u8, (edge(layer + 1) - 1) as u8)
}

/// Zones for pitched recordings of one velocity layer: each sample covers
/// the keys nearer to its root than to its neighbours' (ties go to the lower
/// sample, which is then shifted up rather than down); the lowest and
/// highest samples extend to the ends of the keyboard. `samples` need not be
/// sorted; samples with the same root keep the first.
pub fn key_zones(samples: &[Arc<Sample>], velocities: (u8, u8)) -> Vec<Zone> {
    let mut sorted: Vec<&Arc<Sample>> = samples.iter().collect();
    sorted.sort_by(|a, b| a.root.total_cmp(&b.root));
    sorted.dedup_by(|a, b| a.root.round() == b.root.round());
    let roots: Vec<i32> = sorted.iter().map(|s| s.root.round() as i32).collect();
    sorted
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let lo = if i == 0 { 0 } else { (roots[i - 1] + roots[i]) / 2 + 1 };
            let hi = if i + 1 == roots.len() {
                127
            } else {
                (roots[i] + roots[i + 1]) / 2
            };
            Zone {
                keys: (lo.clamp(0, 127) as u8, hi.clamp(0, 127) as u8),
                velocities,
                sample: Arc::clone(s),
                gain: 1.0,
            }
        })
        .collect()
}

/// Keys from a third below the lowest root to a third above the highest:
/// shifting a recording further changes its character audibly.
pub fn natural_range(zones: &[Zone]) -> (u8, u8) {
    let roots = zones.iter().map(|z| z.sample.root);
    let lo = roots.clone().fold(f64::INFINITY, f64::min);
    let hi = roots.fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0, 0);
    }
    (
        (lo.round() - 4.0).clamp(0.0, 127.0) as u8,
        (hi.round() + 4.0).clamp(0.0, 127.0) as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(root: f64) -> Arc<Sample> {
        Arc::new(Sample {
            data: vec![0.0; 10],
            root,
            loop_range: None,
        })
    }

    #[test]
    fn velocity_ranges_tile_the_scale() {
        for layers in [1, 2, 3, 8, 16] {
            let ranges: Vec<(u8, u8)> = (0..layers).map(|l| velocity_range(l, layers)).collect();
            assert_eq!(ranges[0].0, 1);
            assert_eq!(ranges[layers - 1].1, 127);
            for w in ranges.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0, "{ranges:?}");
            }
        }
    }

    #[test]
    fn zones_split_between_roots_and_pick_layers() {
        let soft = key_zones(&[sample(60.0), sample(66.0), sample(57.0)], velocity_range(0, 2));
        let loud = key_zones(&[sample(60.0), sample(66.0), sample(57.0)], velocity_range(1, 2));
        let keys: Vec<(u8, u8)> = soft.iter().map(|z| z.keys).collect();
        assert_eq!(keys, [(0, 58), (59, 63), (64, 127)]);
        let inst = Instrument {
            name: "t".into(),
            zones: soft.into_iter().chain(loud).collect(),
            articulation: Articulation {
                release_seconds: 0.2,
                one_shot: false,
                pitched: true,
            },
            chokes: vec![],
            tuning: vec![],
            range: (0, 127),
        };
        let z = inst.zone(62, 30).unwrap();
        assert_eq!((z.sample.root, z.velocities.1 < 64), (60.0, true));
        let z = inst.zone(62, 100).unwrap();
        assert_eq!((z.sample.root, z.velocities.0 >= 64), (60.0, true));
        assert_eq!(inst.zone(63, 100).unwrap().sample.root, 60.0);
        assert_eq!(inst.zone(64, 100).unwrap().sample.root, 66.0);
        assert_eq!(natural_range(&inst.zones), (53, 70));
    }
}

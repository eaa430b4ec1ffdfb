//! The trainer's vocabulary for what it reads: datasets given as
//! `--data KIND:PATH[:WEIGHT]`, the splits, and the tracks of stem files a
//! dataset holds. Listing them from disk is [`layouts`](super::layouts)' job.

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Train, validation or test. A track belongs to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "validation" | "valid" | "val" => Ok(Split::Validation),
            "test" => Ok(Split::Test),
            _ => Err(format!("unknown split '{s}' (expected train, validation or test)")),
        }
    }
}

/// The published layouts the trainer reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// `train|test/<track>/{bass,drums,other,vocals}.wav`.
    Musdb,
    /// `<track>/<stem type>/*.wav` + `<track>/data.json`; no official split.
    Moisesdb,
    /// `train|validation|test/TrackNNNNN/stems/SNN.flac` + `metadata.yaml`.
    Slakh,
    /// `train|valid|test/<ensemble>_trackNNNNNNN/stems_audio/*.wav`, optionally
    /// only one ensemble (`random`, `brass`, `string`, `woodwind`).
    CocoChorales { ensemble: Option<String> },
    /// `DIR/<track>/<stem>.*`; no official split.
    Generic,
}

impl DatasetKind {
    pub fn label(&self) -> String {
        match self {
            DatasetKind::Musdb => "musdb".into(),
            DatasetKind::Moisesdb => "moisesdb".into(),
            DatasetKind::Slakh => "slakh".into(),
            DatasetKind::CocoChorales { ensemble: None } => "cocochorales".into(),
            DatasetKind::CocoChorales { ensemble: Some(e) } => format!("cocochorales-{e}"),
            DatasetKind::Generic => "generic".into(),
        }
    }
}

impl FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.to_ascii_lowercase();
        Ok(match s.as_str() {
            "musdb" | "musdb18" | "musdb18hq" | "musdb18-hq" => DatasetKind::Musdb,
            "moisesdb" | "moises" => DatasetKind::Moisesdb,
            "slakh" | "slakh2100" => DatasetKind::Slakh,
            "cocochorales" | "coco" => DatasetKind::CocoChorales { ensemble: None },
            "generic" | "stems" => DatasetKind::Generic,
            other => match other
                .strip_prefix("cocochorales-")
                .or_else(|| other.strip_prefix("coco-"))
            {
                Some(e @ ("random" | "brass" | "string" | "woodwind")) => DatasetKind::CocoChorales {
                    ensemble: Some(e.to_string()),
                },
                _ => {
                    return Err(format!(
                        "unknown dataset kind '{s}' (expected musdb, moisesdb, slakh, cocochorales, \
                         cocochorales-<random|brass|string|woodwind> or generic)"
                    ))
                }
            },
        })
    }
}

/// One `--data` argument: a dataset, where it is, and how often the sampler
/// draws from it relative to the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    pub kind: DatasetKind,
    pub root: PathBuf,
    pub weight: f64,
}

impl FromStr for DatasetSpec {
    type Err = String;
    /// `KIND:PATH` or `KIND:PATH:WEIGHT` (the weight defaults to 1).
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("'{s}': expected KIND:PATH[:WEIGHT], e.g. slakh:/data/slakh2100:2"))?;
        let kind: DatasetKind = kind.parse()?;
        // The weight is the part after the last ':' only if it is a number,
        // so paths containing ':' still work.
        let (root, weight) = match rest.rsplit_once(':') {
            Some((root, w)) if w.parse::<f64>().is_ok() => (root, w.parse::<f64>().unwrap()),
            _ => (rest, 1.0),
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(format!("'{s}': the weight must be a positive number"));
        }
        if root.is_empty() {
            return Err(format!("'{s}': empty path"));
        }
        Ok(DatasetSpec {
            kind,
            root: PathBuf::from(root),
            weight,
        })
    }
}

/// One track: its stem files and the split it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSource {
    /// Dataset label ([`DatasetKind::label`]) for messages and metrics.
    pub dataset: String,
    /// Track name, unique within its dataset.
    pub name: String,
    pub split: Split,
    /// One file per stem, in a stable (sorted) order.
    pub stems: Vec<PathBuf>,
    /// Per stem: unpitched percussion (drums), which hard negatives never
    /// transpose. Set by the layout (names, or Slakh's metadata).
    pub unpitched: Vec<bool>,
    /// The stems' transposed twins, when the track has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twins: Option<TwinFiles>,
}

/// A track's transposed twins (`cocola-render --transposed-twins`): its
/// pitched stems rendered again `semitones` away, by the same instruments.
/// Transposed hard negatives of such a track are these files, exact and
/// free of a pitch shifter's artefacts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwinFiles {
    pub semitones: i32,
    /// Per stem (as [`TrackSource::stems`]), its twin's file, if it has one.
    pub files: Vec<Option<PathBuf>>,
}

/// The tracks a dataset holds, and what was left out and why.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub tracks: Vec<TrackSource>,
    /// One line per skipped track or stem.
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_and_without_weight() {
        let s: DatasetSpec = "slakh:/data/slakh2100:2.5".parse().unwrap();
        assert_eq!(
            (s.kind, s.root, s.weight),
            (DatasetKind::Slakh, PathBuf::from("/data/slakh2100"), 2.5)
        );
        let s: DatasetSpec = "generic:/a:b/c".parse().unwrap();
        assert_eq!((s.root, s.weight), (PathBuf::from("/a:b/c"), 1.0));
        let s: DatasetSpec = "cocochorales-random:/c".parse().unwrap();
        assert_eq!(
            s.kind,
            DatasetKind::CocoChorales {
                ensemble: Some("random".into())
            }
        );
        assert!("nope:/x".parse::<DatasetSpec>().is_err());
        assert!("musdb:/x:0".parse::<DatasetSpec>().is_err());
        assert!("musdb".parse::<DatasetSpec>().is_err());
    }
}

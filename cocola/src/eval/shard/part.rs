//! The part file of one shard, and the checks that merging parts is sound.
//!
//! A part is one JSON document: `{"header": {...}, "body": {...}}`. The
//! header says everything the parts of one evaluation must share (format,
//! tool version, kind of evaluation, model and its SHA-256, settings, the
//! set's size and fingerprint, the shard count) and which shard this is; the
//! body holds the kind's per-item records ([`super::pairs`],
//! [`super::stems`]). Any evaluation whose final numbers are computed from
//! per-item records can be sharded the same way: a new kind brings its body
//! and its merge, the header and the checks here stay.
//!
//! Part files come from other machines: reading one never trusts it beyond
//! what is checked (sizes before allocating, indices in range, every item
//! exactly once).

use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::Shard;
use crate::model_source::ModelInfo;

/// The `format` of every part file.
pub const FORMAT: &str = "cocola-eval-part";
/// Incremented whenever a part written by one version cannot be merged by another.
pub const FORMAT_VERSION: u32 = 1;
/// Version of the tool that wrote a part; parts of different versions are not merged.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The set a part belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetIdentity {
    /// The set as given on the command line (informational: shards may see
    /// it under different paths).
    pub path: PathBuf,
    /// Items the set splits into: pairs, or sub-mix slots.
    pub items: usize,
    /// SHA-256 over what identifies the set's content (pair ids and paths;
    /// track names and audio hashes).
    pub fingerprint: String,
}

/// Everything parts of one evaluation share, plus which shard this is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartHeader {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    /// Kind of evaluation: "pairs" or "stems".
    pub kind: String,
    /// The model the part was computed with.
    pub model: ModelInfo,
    /// The kind's settings (hop, silence threshold, modes, K, seed, ...).
    pub settings: serde_json::Value,
    pub set: SetIdentity,
    pub shard: Shard,
}

impl PartHeader {
    pub fn new(
        kind: &str,
        model: ModelInfo,
        settings: &impl Serialize,
        set: SetIdentity,
        shard: Shard,
    ) -> serde_json::Result<Self> {
        Ok(Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            tool_version: TOOL_VERSION.into(),
            kind: kind.into(),
            model,
            settings: serde_json::to_value(settings)?,
            set,
            shard,
        })
    }

    /// The kind's settings, typed.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, MergeError> {
        serde_json::from_value(self.settings.clone()).map_err(|e| MergeError::Invalid {
            path: PathBuf::from(format!("shard {}", self.shard)),
            reason: format!("settings of a '{}' part: {e}", self.kind),
        })
    }
}

/// One shard's part file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part<B> {
    pub header: PartHeader,
    pub body: B,
}

/// Why parts cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no part files given")]
    NoParts,
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}: not a valid cocola part file: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "the parts do not belong to one evaluation: their {what} differs\n  {}: {first}\n  {}: {other}",
        first_path.display(),
        other_path.display()
    )]
    Mismatch {
        what: &'static str,
        first_path: PathBuf,
        first: String,
        other_path: PathBuf,
        other: String,
    },
    #[error("shard {shard} is given twice: {} and {}", first.display(), second.display())]
    DuplicateShard {
        shard: Shard,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{} of {count} shard(s) missing: {} (give every part of the evaluation)", missing.len(), list(missing))]
    MissingShards { count: usize, missing: Vec<usize> },
    #[error("unknown kind of evaluation '{0}' (this version merges 'pairs' and 'stems')")]
    UnknownKind(String),
}

fn list(items: &[usize]) -> String {
    const SHOWN: usize = 20;
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(", ... ({} more)", items.len() - SHOWN));
    }
    text
}

/// Writes a part atomically (a killed shard leaves no half-written part).
pub fn write_part<B: Serialize>(path: &Path, part: &Part<B>) -> Result<(), MergeError> {
    crate::atomic_file::write_with(path, |w| serde_json::to_writer(w, part).map_err(std::io::Error::other)).map_err(
        |error| MergeError::Io {
            path: path.to_owned(),
            error,
        },
    )
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, MergeError> {
    std::fs::read(path).map_err(|error| MergeError::Io {
        path: path.to_owned(),
        error,
    })
}

fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, MergeError> {
    serde_json::from_slice(bytes).map_err(|e| MergeError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Reads a part's header only (the body is skipped, not kept), checking it
/// is a part file of a format this version reads.
pub fn read_header(path: &Path) -> Result<PartHeader, MergeError> {
    #[derive(Deserialize)]
    struct HeaderOnly {
        header: PartHeader,
        #[allow(dead_code)]
        body: IgnoredAny,
    }
    // Recognise the format before anything else, for a clear message.
    #[derive(Deserialize)]
    struct Probe {
        header: ProbeHeader,
    }
    #[derive(Deserialize)]
    struct ProbeHeader {
        format: Option<String>,
        format_version: Option<u32>,
    }
    let bytes = read_bytes(path)?;
    let probe: Probe = parse(path, &bytes).map_err(|_| MergeError::Invalid {
        path: path.to_owned(),
        reason: "not a JSON document with a part header (write parts with `cocola eval ... --shard I/N --part FILE`)"
            .into(),
    })?;
    if probe.header.format.as_deref() != Some(FORMAT) {
        return Err(MergeError::Invalid {
            path: path.to_owned(),
            reason: format!("its format is {:?}, not \"{FORMAT}\"", probe.header.format),
        });
    }
    if probe.header.format_version != Some(FORMAT_VERSION) {
        return Err(MergeError::Invalid {
            path: path.to_owned(),
            reason: format!(
                "format version {:?}; this cocola reads version {FORMAT_VERSION}",
                probe.header.format_version
            ),
        });
    }
    Ok(parse::<HeaderOnly>(path, &bytes)?.header)
}

/// Reads a whole part, whose header has been checked with [`check_headers`].
pub fn read_part<B: DeserializeOwned>(path: &Path) -> Result<Part<B>, MergeError> {
    parse(path, &read_bytes(path)?)
}

/// Checks that the parts belong to one evaluation and hold every shard
/// exactly once; returns their common header (shard = the whole set).
pub fn check_headers(parts: &[(PathBuf, PartHeader)]) -> Result<PartHeader, MergeError> {
    let Some((first_path, first)) = parts.first() else {
        return Err(MergeError::NoParts);
    };
    for (path, header) in parts {
        Shard::new(header.shard.index, header.shard.count).map_err(|reason| MergeError::Invalid {
            path: path.clone(),
            reason,
        })?;
    }
    type Field = (&'static str, fn(&PartHeader) -> String);
    let fields: [Field; 7] = [
        ("kind of evaluation", |h| h.kind.clone()),
        ("tool version", |h| h.tool_version.clone()),
        ("model (SHA-256)", |h| {
            format!("{} {} ({})", h.model.name, h.model.version, h.model.sha256)
        }),
        ("settings", |h| serde_json::to_string(&h.settings).unwrap_or_default()),
        ("set (size and fingerprint)", |h| {
            format!("{} items, fingerprint {}", h.set.items, h.set.fingerprint)
        }),
        ("shard count", |h| h.shard.count.to_string()),
        ("model calibration", |h| h.model.calibrated.to_string()),
    ];
    for (path, header) in &parts[1..] {
        for (what, value) in &fields {
            let (a, b) = (value(first), value(header));
            if a != b {
                return Err(MergeError::Mismatch {
                    what,
                    first_path: first_path.clone(),
                    first: a,
                    other_path: path.clone(),
                    other: b,
                });
            }
        }
    }
    let count = first.shard.count;
    // count <= MAX_SHARDS: checked above.
    let mut seen: Vec<Option<&PathBuf>> = vec![None; count];
    for (path, header) in parts {
        let shard = header.shard;
        if let Some(first) = seen[shard.index] {
            return Err(MergeError::DuplicateShard {
                shard,
                first: first.clone(),
                second: path.clone(),
            });
        }
        seen[shard.index] = Some(path);
    }
    let missing: Vec<usize> = (0..count).filter(|&i| seen[i].is_none()).collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards { count, missing });
    }
    Ok(PartHeader {
        shard: Shard::WHOLE,
        ..first.clone()
    })
}

/// Puts records `(item, record)` from every part into item order, checking
/// that each of the set's `items` comes exactly once and in range.
pub fn assemble<R>(
    items: usize,
    parts: impl IntoIterator<Item = (PathBuf, Vec<(usize, R)>)>,
) -> Result<Vec<R>, MergeError> {
    let parts: Vec<(PathBuf, Vec<(usize, R)>)> = parts.into_iter().collect();
    let total: usize = parts.iter().map(|(_, r)| r.len()).sum();
    if total != items {
        return Err(MergeError::Invalid {
            path: parts.first().map(|(p, _)| p.clone()).unwrap_or_default(),
            reason: format!("the parts hold {total} records for a set of {items} items"),
        });
    }
    let mut slots: Vec<Option<R>> = (0..items).map(|_| None).collect();
    for (path, records) in parts {
        for (item, record) in records {
            let invalid = |reason: String| MergeError::Invalid {
                path: path.clone(),
                reason,
            };
            let slot = slots
                .get_mut(item)
                .ok_or_else(|| invalid(format!("record {item} is out of range (the set has {items} items)")))?;
            if slot.replace(record).is_some() {
                return Err(invalid(format!("record {item} is given twice")));
            }
        }
    }
    // No duplicates and as many records as items: every item is there.
    Ok(slots.into_iter().map(|s| s.expect("counted above")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(index: usize, count: usize) -> PartHeader {
        let model = ModelInfo {
            name: "m".into(),
            version: "1".into(),
            description: String::new(),
            input: crate::contract::InputKind::Hps,
            source: "m.onnx".into(),
            sha256: "ab".repeat(32),
            calibrated: true,
        };
        let set = SetIdentity {
            path: "set.csv".into(),
            items: 10,
            fingerprint: "f".into(),
        };
        let settings = serde_json::json!({"seed": 0, "hop_seconds": 5.0});
        PartHeader::new("pairs", model, &settings, set, Shard { index, count }).unwrap()
    }

    fn named(headers: Vec<PartHeader>) -> Vec<(PathBuf, PartHeader)> {
        headers
            .into_iter()
            .enumerate()
            .map(|(i, h)| (PathBuf::from(format!("p{i}.json")), h))
            .collect()
    }

    #[test]
    fn complete_consistent_parts_are_accepted_in_any_order() {
        let merged = check_headers(&named(vec![header(2, 3), header(0, 3), header(1, 3)])).unwrap();
        assert_eq!(merged.shard, Shard::WHOLE);
        assert_eq!(merged.set.items, 10);
        assert!(matches!(check_headers(&[]), Err(MergeError::NoParts)));
    }

    #[test]
    fn mixed_missing_and_duplicated_parts_are_refused_with_names() {
        let message = |headers| check_headers(&named(headers)).unwrap_err().to_string();
        let mut other_seed = header(1, 2);
        other_seed.settings = serde_json::json!({"seed": 1, "hop_seconds": 5.0});
        let text = message(vec![header(0, 2), other_seed]);
        assert!(
            text.contains("settings differs") && text.contains("p0.json") && text.contains("\"seed\":1"),
            "{text}"
        );
        let mut other_model = header(1, 2);
        other_model.model.sha256 = "cd".repeat(32);
        assert!(message(vec![header(0, 2), other_model]).contains("model (SHA-256) differs"));
        let mut other_set = header(1, 2);
        other_set.set.fingerprint = "g".into();
        assert!(message(vec![header(0, 2), other_set]).contains("set (size and fingerprint) differs"));
        let mut other_kind = header(1, 2);
        other_kind.kind = "stems".into();
        assert!(message(vec![header(0, 2), other_kind]).contains("kind of evaluation differs"));
        let mut other_tool = header(1, 2);
        other_tool.tool_version = "0.0.0-other".into();
        assert!(message(vec![header(0, 2), other_tool]).contains("tool version differs"));
        assert!(message(vec![header(0, 2), header(1, 3)]).contains("shard count differs"));
        let text = message(vec![header(0, 4), header(2, 4)]);
        assert!(text.contains("2 of 4 shard(s) missing: 1, 3"), "{text}");
        let text = message(vec![header(0, 2), header(1, 2), header(1, 2)]);
        assert!(text.contains("shard 1/2 is given twice: p1.json and p2.json"), "{text}");
        // A header that could not come from a shard (index beyond count) is invalid.
        let mut forged = header(0, 2);
        forged.shard = Shard { index: 5, count: 2 };
        assert!(message(vec![header(0, 2), forged]).contains("does not exist"));
    }

    #[test]
    fn records_must_cover_every_item_exactly_once() {
        let p = |name: &str| PathBuf::from(name);
        let ok = assemble(3, [(p("a"), vec![(2, 'c'), (0, 'a')]), (p("b"), vec![(1, 'b')])]).unwrap();
        assert_eq!(ok, ['a', 'b', 'c']);
        let twice = assemble(3, [(p("a"), vec![(0, 'a'), (1, 'b')]), (p("b"), vec![(1, 'b')])]).unwrap_err();
        assert!(twice.to_string().contains("record 1 is given twice"), "{twice}");
        let short = assemble(3, [(p("a"), vec![(0, 'a')])]).unwrap_err();
        assert!(short.to_string().contains("1 records for a set of 3 items"), "{short}");
        let out = assemble(2, [(p("a"), vec![(0, 'a'), (7, 'x')])]).unwrap_err();
        assert!(out.to_string().contains("out of range"), "{out}");
        // A forged item count cannot make the merge allocate it.
        assert!(assemble::<char>(usize::MAX, [(p("a"), vec![])]).is_err());
    }

    #[test]
    fn files_that_are_not_parts_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, b"\xff\x00 not json").unwrap();
        assert!(read_header(&junk)
            .unwrap_err()
            .to_string()
            .contains("junk.json: not a valid cocola part file"));
        std::fs::write(&junk, br#"{"header": {"format": "something-else"}, "body": 1}"#).unwrap();
        assert!(read_header(&junk).unwrap_err().to_string().contains("something-else"));
        let newer = br#"{"header": {"format": "cocola-eval-part", "format_version": 99}, "body": 1}"#;
        std::fs::write(&junk, newer).unwrap();
        assert!(read_header(&junk)
            .unwrap_err()
            .to_string()
            .contains("format version Some(99)"));
        let part = Part {
            header: header(0, 1),
            body: vec![1, 2, 3],
        };
        let good = dir.path().join("good.json");
        write_part(&good, &part).unwrap();
        assert_eq!(read_header(&good).unwrap(), part.header);
        assert_eq!(read_part::<Vec<i32>>(&good).unwrap(), part);
        let missing = read_header(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(missing, MergeError::Io { .. }), "{missing}");
    }
}

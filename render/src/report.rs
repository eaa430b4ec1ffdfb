//! The corpus report: what a rendered corpus holds (`AUDIO/<split>/<track>/
//! render.json` and the WAV files beside it), written as `AUDIO/corpus.json`
//! and printed as Markdown: hours, pieces, stems per track, sources,
//! styles, meters, tempi, roles, sounds, disk, and which sources, styles
//! and sounds only the out-of-distribution split hears.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::sampler::catalogue::CATALOGUE;

/// The split whose families training never sees.
pub const OOD_SPLIT: &str = "test-ood";
const SPLIT_ORDER: [&str; 4] = ["train", "validation", "test", OOD_SPLIT];

#[derive(Debug, Default, Serialize)]
pub struct SplitStats {
    pub tracks: usize,
    pub pieces: usize,
    pub hours: f64,
    pub stem_hours: f64,
    pub bytes: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub tracks: usize,
    pub pieces: usize,
    pub hours: f64,
    pub stem_hours: f64,
    pub bytes: u64,
    pub splits: BTreeMap<String, SplitStats>,
    /// Tracks per source (generated, music21, mma, ...).
    pub sources: BTreeMap<String, usize>,
    pub hours_per_source: BTreeMap<String, f64>,
    /// Tracks per style (generator styles, MMA styles, ...).
    pub styles: BTreeMap<String, usize>,
    pub composers: BTreeMap<String, usize>,
    pub meters: BTreeMap<String, usize>,
    pub modes: BTreeMap<String, usize>,
    pub feels: BTreeMap<String, usize>,
    /// Tracks per tempo band (beats per minute).
    pub tempo_bpm: BTreeMap<String, usize>,
    pub tracks_with_key_changes: usize,
    pub stems_per_track: BTreeMap<usize, usize>,
    /// Stems per role.
    pub roles: BTreeMap<String, usize>,
    pub pitched_stems: usize,
    pub unpitched_stems: usize,
    /// Stems per sound source: "soundfont: FluidR3_GM.sf2", "sampled: tonejs-cello", ...
    pub sounds: BTreeMap<String, usize>,
    /// Stems with at least one production effect.
    pub produced_stems: usize,
    /// What the out-of-distribution split hears and training, validation
    /// and test never do: sources, styles, composers, sounds.
    pub only_out_of_distribution: BTreeMap<String, Vec<String>>,
    /// Catalogue entries of the sample sets the corpus uses: licence and attribution.
    pub sample_sets: Vec<SampleSetCredit>,
    /// Package versions the corpus was built from (`AUDIO/sources.json`,
    /// written by `cargo xtask corpus`), if recorded.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub packages: Value,
}

#[derive(Debug, Serialize)]
pub struct SampleSetCredit {
    pub name: String,
    pub license: String,
    pub attribution: String,
    pub held_out: bool,
}

fn tempo_band(bpm: f64) -> &'static str {
    match bpm {
        b if b < 80.0 => "<80",
        b if b < 110.0 => "80-110",
        b if b < 140.0 => "110-140",
        b if b < 170.0 => "140-170",
        _ => ">=170",
    }
}

fn sound_label(stem: &Value) -> String {
    let s = &stem["sound"];
    match s["kind"].as_str() {
        Some("soundfont") => {
            let file = s["path"]
                .as_str()
                .and_then(|p| Path::new(p).file_name())
                .map(|f| f.to_string_lossy());
            format!("soundfont: {}", file.unwrap_or_default())
        }
        Some(kind) => format!("{kind}: {}", s["set"].as_str().unwrap_or("?")),
        None => "?".into(),
    }
}

fn bump(map: &mut BTreeMap<String, usize>, key: impl Into<String>) {
    *map.entry(key.into()).or_default() += 1;
}

/// Reads every `AUDIO/<split>/<track>/render.json`.
pub fn build(audio: &Path) -> anyhow::Result<Report> {
    let mut r = Report::default();
    let mut pieces: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Feature -> splits it appears in, for the held-out check.
    let mut seen_in: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for split in cocola::files::sorted_entries(audio).with_context(|| format!("{}: cannot list", audio.display()))? {
        if !split.is_dir() {
            continue;
        }
        let split_name = split.file_name().unwrap_or_default().to_string_lossy().into_owned();
        for track in cocola::files::sorted_entries(&split)? {
            let json = track.join("render.json");
            if !json.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&json).with_context(|| format!("{}: cannot read", json.display()))?;
            let info: Value = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", json.display()))?;
            let bytes: u64 = cocola::files::sorted_entries(&track)?
                .iter()
                .filter_map(|f| f.metadata().ok().map(|m| m.len()))
                .sum();
            let seconds = info["seconds"].as_f64().unwrap_or(0.0);
            let stems = info["stems"].as_array().cloned().unwrap_or_default();
            let music = &info["music"];
            let source = music["source"].as_str().unwrap_or("?").to_string();
            let piece = music["piece"].as_str().unwrap_or("?").to_string();
            let s = r.splits.entry(split_name.clone()).or_default();
            s.tracks += 1;
            s.hours += seconds / 3600.0;
            s.stem_hours += seconds * stems.len() as f64 / 3600.0;
            s.bytes += bytes;
            pieces
                .entry(split_name.clone())
                .or_default()
                .insert(format!("{source}/{piece}"));
            bump(&mut r.sources, source.clone());
            *r.hours_per_source.entry(source.clone()).or_default() += seconds / 3600.0;
            let mut features = vec![("source".to_string(), source.clone())];
            if let Some(style) = music["style"].as_str() {
                bump(&mut r.styles, format!("{source}: {style}"));
                features.push(("style".into(), format!("{source}: {style}")));
            }
            if let Some(c) = music["composer"].as_str() {
                bump(&mut r.composers, c);
                features.push(("composer".into(), c.into()));
            }
            if let (Some(n), Some(d)) = (
                music["meter"]["numerator"].as_u64(),
                music["meter"]["denominator"].as_u64(),
            ) {
                bump(&mut r.meters, format!("{n}/{d}"));
            }
            if let Some(m) = music["key"]["mode"].as_str() {
                bump(&mut r.modes, m);
            }
            if let Some(f) = music["feel"].as_str() {
                bump(&mut r.feels, f);
            }
            if let Some(bpm) = music["tempo_bpm"].as_f64() {
                bump(&mut r.tempo_bpm, tempo_band(bpm));
            }
            if music["key_changes"].as_array().is_some_and(|k| !k.is_empty()) {
                r.tracks_with_key_changes += 1;
            }
            *r.stems_per_track.entry(stems.len()).or_default() += 1;
            for stem in &stems {
                bump(&mut r.roles, stem["role"].as_str().unwrap_or("unknown"));
                if stem["pitched"].as_bool().unwrap_or(true) {
                    r.pitched_stems += 1;
                } else {
                    r.unpitched_stems += 1;
                }
                let sound = sound_label(stem);
                bump(&mut r.sounds, sound.clone());
                features.push(("sound".into(), sound));
                let p = &stem["production"];
                if !p["tilt_db"].is_null() || !p["compressor"].is_null() || !p["reverb"].is_null() {
                    r.produced_stems += 1;
                }
            }
            for f in features {
                seen_in.entry(f).or_default().insert(split_name.clone());
            }
        }
    }
    anyhow::ensure!(
        !r.splits.is_empty(),
        "{}: no rendered tracks (<split>/<track>/render.json)",
        audio.display()
    );
    for (split, p) in &pieces {
        if let Some(s) = r.splits.get_mut(split) {
            s.pieces = p.len();
        }
    }
    for ((kind, value), splits) in seen_in {
        if splits.len() == 1 && splits.contains(OOD_SPLIT) {
            r.only_out_of_distribution.entry(kind).or_default().push(value);
        }
    }
    let used: BTreeSet<&str> = r
        .sounds
        .keys()
        .filter_map(|k| k.split_once(": ").map(|x| x.1))
        .collect();
    r.sample_sets = CATALOGUE
        .iter()
        .filter(|e| used.contains(e.name))
        .map(|e| SampleSetCredit {
            name: e.name.into(),
            license: e.license.into(),
            attribution: e.attribution.into(),
            held_out: e.held_out,
        })
        .collect();
    let sources = audio.join("sources.json");
    if sources.is_file() {
        let text = std::fs::read_to_string(&sources).with_context(|| format!("{}: cannot read", sources.display()))?;
        r.packages = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", sources.display()))?;
    }
    r.tracks = r.splits.values().map(|s| s.tracks).sum();
    r.pieces = r.splits.values().map(|s| s.pieces).sum();
    r.hours = r.splits.values().map(|s| s.hours).sum();
    r.stem_hours = r.splits.values().map(|s| s.stem_hours).sum();
    r.bytes = r.splits.values().map(|s| s.bytes).sum();
    Ok(r)
}

fn top(map: &BTreeMap<String, usize>, n: usize) -> String {
    let mut v: Vec<(&String, &usize)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut s: Vec<String> = v.iter().take(n).map(|(k, c)| format!("{k} {c}")).collect();
    if v.len() > n {
        s.push(format!("... ({} more)", v.len() - n));
    }
    s.join(", ")
}

impl Report {
    pub fn markdown(&self, audio: &Path) -> String {
        let mut m = String::new();
        let gb = |b: u64| b as f64 / 1e9;
        let _ = writeln!(m, "# Corpus ({})\n", audio.display());
        let _ = writeln!(
            m,
            "{} tracks from {} pieces, {:.2} h of music, {:.2} h of stems, {:.1} GB\n",
            self.tracks,
            self.pieces,
            self.hours,
            self.stem_hours,
            gb(self.bytes)
        );
        let _ = writeln!(
            m,
            "| split | pieces | tracks | hours | stem hours | GB |\n|---|---|---|---|---|---|"
        );
        let mut names: Vec<&String> = self.splits.keys().collect();
        names.sort_by_key(|n| SPLIT_ORDER.iter().position(|o| o == n).unwrap_or(9));
        for name in names {
            let s = &self.splits[name];
            let _ = writeln!(
                m,
                "| {name} | {} | {} | {:.2} | {:.2} | {:.1} |",
                s.pieces,
                s.tracks,
                s.hours,
                s.stem_hours,
                gb(s.bytes)
            );
        }
        let _ = writeln!(m);
        let sources: Vec<String> = self
            .sources
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k} {v} tracks / {:.2} h",
                    self.hours_per_source.get(k).copied().unwrap_or(0.0)
                )
            })
            .collect();
        let _ = writeln!(m, "- sources: {}", sources.join(", "));
        let _ = writeln!(m, "- styles (tracks): {}", top(&self.styles, 20));
        if !self.composers.is_empty() {
            let _ = writeln!(m, "- composers (tracks): {}", top(&self.composers, 12));
        }
        let _ = writeln!(m, "- meters: {}", top(&self.meters, 12));
        let _ = writeln!(m, "- modes: {}", top(&self.modes, 10));
        let _ = writeln!(m, "- feels: {}", top(&self.feels, 5));
        let _ = writeln!(m, "- tempo (bpm): {}", top(&self.tempo_bpm, 6));
        let _ = writeln!(m, "- tracks with key changes: {}", self.tracks_with_key_changes);
        let spt: Vec<String> = self.stems_per_track.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(m, "- stems per track: {}", spt.join(", "));
        let _ = writeln!(
            m,
            "- stems: {} pitched, {} unpitched (drums*, percussion*); {} with production effects",
            self.pitched_stems, self.unpitched_stems, self.produced_stems
        );
        let _ = writeln!(m, "- roles (stems): {}", top(&self.roles, 16));
        let _ = writeln!(m, "- sounds (stems): {}", top(&self.sounds, 40));
        let _ = writeln!(m, "\nOnly in {OOD_SPLIT} (never in train, validation or test):\n");
        for (kind, values) in &self.only_out_of_distribution {
            let _ = writeln!(m, "- {kind}: {}", values.join(", "));
        }
        m
    }
}

/// Builds the report of `audio`, writes `audio/corpus.json`, returns the Markdown.
pub fn write(audio: &Path) -> anyhow::Result<String> {
    let report = build(audio)?;
    let json = serde_json::to_vec_pretty(&report)?;
    let path = audio.join("corpus.json");
    cocola::atomic_file::write_bytes(&path, &json).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(report.markdown(audio))
}

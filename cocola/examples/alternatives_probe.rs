//! How often does a stem beat its own alternatives (`Scorer::score_alternatives`:
//! the stem transposed in the features, and moved by eighths of the beat),
//! and how often does a transposed or off-beat copy of it lose to one?
//! Draws anchors from a split of stems (a track, one of its stems, an excerpt
//! where the stem and the rest of the track both sound), and for
//! each scores three stems against the rest: the true one, the stem
//! transposed by +-1..6 semitones with the pitch shifter (as the
//! sensitivity test and `cocola perturb --transpose` make it), and the stem
//! delayed off the condition's beat grid (`perturb::off_beat_delay`). Writes
//! one CSV row per anchor, stem and alternative, and prints what the
//! margins (`KEY_MARGIN`, `TIMING_MARGIN`) are fitted from: the 90th
//! percentile of the true stems' gains, and how often each kind of stem is
//! flagged at the library's margins, beside the absolute verdict.
//!
//! ```text
//! cargo run --release -p cocola --example alternatives_probe -- [--plugin] MODEL.onnx STEMS_DIR ANCHORS SEED OUT.csv [WINDOWS]
//! ```
//!
//! `--plugin` reads each window as the plugin's checks do (up to six
//! windows, the plugin's 30 s): on the excerpt heard up to the moves' reach
//! after it, from the reach before the first window, the beat measured
//! there rather than on the whole track, the windows then tallied.

use std::io::Write;
use std::path::{Path, PathBuf};

use cocola::calibration::Calibration;
use cocola::contract::SAMPLE_RATE;
use cocola::dsp::onset::OnsetAnalyzer;
use cocola::eval::tracks::{discover_tracks, TrackAudio};
use cocola::model::{LoadOptions, Model};
use cocola::perturb::{draw_transposition, off_beat_delay, pitch_shift};
use cocola::score::alternatives::{
    move_reach_samples, recent_excerpt_len, AlternativeOptions, Alternatives, AlternativesReport, AlternativesTally,
    Change,
};
use cocola::score::windows::window_level_dbfs;
use cocola::score::{Measure, Scorer};
use cocola::seeded;

/// Windows per excerpt (5 s each, end to end) unless told otherwise.
const WINDOWS: usize = 2;
const HALF: usize = SAMPLE_RATE as usize * 5;
/// Every window of the excerpt must be at least this loud, stem and rest.
const ACTIVE_DBFS: f32 = -45.0;
/// Audio pitch-shifted on each side of the excerpt, so moves read shifted audio.
const MARGIN: usize = SAMPLE_RATE as usize;

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

fn main() {
    let (flags, args): (Vec<String>, Vec<String>) = std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let plugin = match &flags[..] {
        [] => false,
        [flag] if flag == "--plugin" => true,
        other => fail(format!("unknown flags: {other:?}")),
    };
    let (windows, args) = match &args[..] {
        [rest @ .., last] if rest.len() == 5 => {
            (last.parse().unwrap_or_else(|_| fail(format!("WINDOWS: {last}"))), rest)
        }
        all => (WINDOWS, all),
    };
    let [model, dir, anchors, seed, out] = args else {
        fail("usage: alternatives_probe [--plugin] MODEL.onnx STEMS_DIR ANCHORS SEED OUT.csv [WINDOWS]".into())
    };
    let excerpt = windows * HALF;
    let anchors: usize = anchors.parse().unwrap_or_else(|_| fail(format!("ANCHORS: {anchors}")));
    let seed: u64 = seed.parse().unwrap_or_else(|_| fail(format!("SEED: {seed}")));
    let model = Model::load(Path::new(model), &LoadOptions::default()).unwrap_or_else(|e| fail(e.to_string()));
    let mut scorer = Scorer::new(model);
    let tracks = discover_tracks(&PathBuf::from(dir))
        .unwrap_or_else(|e| fail(e.to_string()))
        .tracks;
    let mut csv = std::fs::File::create(out).unwrap_or_else(|e| fail(format!("{out}: {e}")));
    writeln!(
        csv,
        "anchor,track,stem,kind,made_by,change,value,both,harmonic,percussive,lo_both,lo_harmonic,lo_percussive"
    )
    .unwrap();
    let calibration = scorer
        .model()
        .metadata()
        .calibration
        .unwrap_or_else(|| fail("the model carries no calibration".into()));
    let options = AlternativeOptions::default();
    let mut rng = seeded::stream(b"alternatives-probe", &[&seed.to_le_bytes()]);
    let mut summary = Summary::default();
    let (mut drawn, mut tries) = (0, 0);
    while drawn < anchors && tries < anchors * 20 {
        tries += 1;
        let spec = &tracks[seeded::below(&mut rng, tracks.len())];
        let Ok((audio, _)) = TrackAudio::decode(spec) else {
            continue;
        };
        if audio.len() < excerpt + 2 * MARGIN {
            continue;
        }
        let target = seeded::below(&mut rng, audio.stems.len());
        let start = MARGIN + seeded::below(&mut rng, audio.len() - excerpt - 2 * MARGIN);
        let stem = &audio.stems[target];
        let mut rest = vec![0.0f32; audio.len()];
        for (_, other) in audio.stems.iter().enumerate().filter(|&(i, _)| i != target) {
            for (r, s) in rest.iter_mut().zip(other) {
                *r += s;
            }
        }
        let window_starts: Vec<usize> = (0..windows).map(|w| start + w * HALF).collect();
        let loud = |s: &[f32]| {
            window_starts
                .iter()
                .all(|&h| window_level_dbfs(&s[h..h + HALF]) > ACTIVE_DBFS)
        };
        if !loud(stem) || !loud(&rest) {
            continue;
        }
        let semitones = draw_transposition(&mut rng, 6);
        let mut transposed = stem.clone();
        let (a, b) = (start - MARGIN, start + excerpt + MARGIN);
        transposed[a..b].copy_from_slice(&pitch_shift(&stem[a..b], f64::from(semitones)));
        let (delay, _) = off_beat_delay(&mut OnsetAnalyzer::new(), &rest, seeded::unit(&mut rng));
        let delayed: Vec<f32> = std::iter::repeat_n(0.0, delay).chain(stem.iter().copied()).collect();
        let name = stem_file_name(&spec.stems[target]);
        let stems = [
            ("truth", String::new(), stem.as_slice()),
            ("transposed", format!("{semitones}"), transposed.as_slice()),
            (
                "shifted",
                format!("{:.3}", delay as f64 / f64::from(SAMPLE_RATE)),
                delayed.as_slice(),
            ),
        ];
        for (kind, made_by, signal) in stems {
            let result = if plugin {
                as_the_plugin_reads(&mut scorer, &rest, signal, &window_starts, &options)
            } else {
                (scorer.score_alternatives_at(&rest, signal, &window_starts, -60.0, &options, |_, _| {}))
                    .unwrap_or_else(|e| fail(e.to_string()))
            };
            summary.add(kind, &AlternativesReport::from(result.clone()));
            write_rows(
                &mut csv,
                &calibration,
                drawn,
                &spec.name,
                &name,
                kind,
                &made_by,
                &result,
            );
        }
        drawn += 1;
        eprint!("\r{drawn}/{anchors} anchors");
    }
    eprintln!();
    summary.print();
}

/// The windows at `starts` (end to end) read as the plugin's checks read
/// them, the plugin started the moves' reach before the first (the
/// excerpt's margin covers it): each on what was heard up to the reach
/// after it, at most the span of all the windows, then tallied.
fn as_the_plugin_reads(
    scorer: &mut Scorer,
    rest: &[f32],
    stem: &[f32],
    starts: &[usize],
    options: &AlternativeOptions,
) -> Alternatives {
    let reach = move_reach_samples(options);
    let heard_from = starts[0] - reach;
    let windows: Vec<_> = (starts.iter())
        .filter_map(|&start| {
            let end = start + HALF + reach;
            let read = end - recent_excerpt_len((end - heard_from) as u64, starts.len(), options)..end;
            (scorer.score_newest_window_alternatives(&rest[read.clone()], &stem[read], -60.0, options))
                .unwrap_or_else(|e| fail(e.to_string()))
        })
        .collect();
    let calibration = scorer.model().metadata().calibration;
    AlternativesTally::read_windows(&windows, scorer.modes(), calibration.as_ref())
        .unwrap_or_else(|| fail("no audible window".into()))
}

/// One stem's readings.
struct Row {
    kind: &'static str,
    key_gain: f32,
    timing_gain: f32,
    out_of_key: bool,
    off_the_beat: bool,
    /// The combined log-odds of the stem as it is (the absolute verdict's input).
    as_is: f32,
}

/// Each anchor's readings, per kind of stem (truth, transposed, shifted).
#[derive(Default)]
struct Summary {
    rows: Vec<Row>,
}

impl Summary {
    fn add(&mut self, kind: &'static str, report: &AlternativesReport) {
        let (Some(key), Some(timing)) = (report.key, report.timing) else {
            fail("the model carries no combined fit".into())
        };
        self.rows.push(Row {
            kind,
            key_gain: key.gain,
            timing_gain: timing.gain,
            out_of_key: key.better,
            off_the_beat: timing.better,
            as_is: Measure::Combined
                .of(&report.alternatives.as_is)
                .map_or(f32::NAN, |m| m.value),
        });
    }

    fn of(&self, kind: &str) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.kind == kind).collect()
    }

    /// The margins at 10 % false alarms on true stems, and how the library's
    /// margins and the absolute verdict read each kind.
    fn print(&self) {
        let truth = self.of("truth");
        for key in [true, false] {
            let name = if key { "key" } else { "timing" };
            let mut gains: Vec<f32> = truth
                .iter()
                .map(|r| if key { r.key_gain } else { r.timing_gain })
                .collect();
            gains.sort_by(f32::total_cmp);
            let at = ((gains.len() as f64 * 0.9).ceil() as usize).max(1) - 1;
            let p90 = gains.get(at).copied().unwrap_or(f32::NAN);
            println!("{name}: 90th percentile of the true stems' gains {p90:.3}");
        }
        // The absolute verdict's boundaries: fits 70 and 30 are log-odds +-ln(7/3).
        let bound = (7.0f32 / 3.0).ln();
        println!("kind          n  out of key  off the beat  either | absolute: fits  unsure  clashes");
        for kind in ["truth", "transposed", "shifted"] {
            let rows = self.of(kind);
            let share = |f: fn(&Row, f32) -> bool| {
                100.0 * rows.iter().filter(|r| f(r, bound)).count() as f64 / rows.len().max(1) as f64
            };
            println!(
                "{kind:<10} {:>4}  {:>9.1}%  {:>11.1}%  {:>5.1}% | {:>13.1}% {:>6.1}% {:>7.1}%",
                rows.len(),
                share(|r, _| r.out_of_key),
                share(|r, _| r.off_the_beat),
                share(|r, _| r.out_of_key || r.off_the_beat),
                share(|r, b| r.as_is >= b),
                share(|r, b| r.as_is < b && r.as_is >= -b),
                share(|r, b| r.as_is < -b),
            );
        }
    }
}

fn stem_file_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn write_rows(
    csv: &mut impl Write,
    calibration: &Calibration,
    anchor: usize,
    track: &str,
    stem: &str,
    kind: &str,
    made_by: &str,
    result: &Alternatives,
) {
    let rows = std::iter::once(("as-is".to_string(), &result.as_is)).chain(result.changes.iter().map(|a| {
        let change = match a.change {
            Change::Transpose { semitones } => format!("t{semitones}"),
            Change::Move { seconds } => format!("m{seconds:.4}"),
        };
        (change, &a.scores)
    }));
    for (change, scores) in rows {
        let value = Measure::Combined.of(scores).map_or(f32::NAN, |m| m.value);
        let raw = scores.modes().iter().map(|m| format!("{:.4}", m.raw));
        let log_odds = scores.modes().iter().map(|m| {
            let mode = calibration.mode(m.mode).expect("every mode calibrated");
            format!("{:.4}", mode.log_odds(m.raw))
        });
        let raw: Vec<String> = raw.chain(log_odds).collect();
        writeln!(
            csv,
            "{anchor},{track},{stem},{kind},{made_by},{change},{value:.4},{}",
            raw.join(",")
        )
        .unwrap();
    }
}

//! The sensitivity report's text rendering, tested on hand-made results.

use cocola::eval::sensitivity::{kind_result, FloorResult, ModeResult};

use super::*;

/// A family whose true stems win `model_wins` of `n` comparisons of
/// every kind under the model and `floor_wins` under the floor.
fn family(target: &str, n: usize, model_wins: usize, floor_wins: usize, combined: bool) -> TargetBreakdown {
    let pairs =
        |wins: usize| -> Vec<(f64, f64)> { (0..n).map(|i| if i < wins { (1.0, 0.0) } else { (0.0, 1.0) }).collect() };
    let kinds = |wins| -> Vec<KindResult> {
        (NegativeKind::ALL.iter())
            .map(|&k| kind_result(k, &pairs(wins)).unwrap())
            .collect()
    };
    TargetBreakdown {
        target: target.into(),
        anchors: n,
        model: vec![ModeResult {
            mode: Mode::Both,
            kinds: kinds(model_wins),
        }],
        combined: if combined { kinds(n) } else { Vec::new() },
        floor: (kinds(floor_wins).into_iter())
            .map(|result| FloorResult {
                measure: result.kind.floor_measure(),
                result,
            })
            .collect(),
    }
}

#[test]
fn the_interval_table_shows_each_measure_beside_the_floor() {
    use cocola::eval::sensitivity::by_interval::ModeKindResult;
    let result = |n: usize, wins: usize| {
        let pairs: Vec<(f64, f64)> = (0..n).map(|i| if i < wins { (1.0, 0.0) } else { (0.0, 1.0) }).collect();
        kind_result(NegativeKind::Transposed, &pairs).unwrap()
    };
    let results = |model_wins, combined: Option<usize>| TransposedResults {
        anchors: 40,
        modes: vec![ModeKindResult {
            mode: Mode::Harmonic,
            result: result(40, model_wins),
        }],
        combined: combined.map(|wins| result(40, wins)),
        floor: Some(result(40, 34)),
    };
    let interval = |semitones, model_wins, combined: Option<usize>| IntervalBreakdown {
        semitones,
        results: results(model_wins, combined),
    };
    let mut text = String::new();
    render_by_interval(&mut text, &[interval(1, 38, Some(39)), interval(5, 24, Some(22))]);
    assert!(text.contains("transposed, by interval (n)"), "{text}");
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_default()
            .to_string()
    };
    let cells = |label: &str| row(label).split_whitespace().skip(3).collect::<Vec<_>>().join(" ");
    assert_eq!(cells("1 semitone (40)"), "95.0 97.5 85.0", "{text}");
    assert_eq!(cells("5 semitones (40)"), "60.0 55.0 85.0", "{text}");
    let header = text.lines().find(|l| l.starts_with("transposed, by")).unwrap();
    assert!(
        header.contains("harmonic") && header.contains("combined") && header.trim_end().ends_with("floor"),
        "{text}"
    );

    let mut uncalibrated = String::new();
    render_by_interval(&mut uncalibrated, &[interval(2, 30, None)]);
    assert!(!uncalibrated.contains("combined"), "{uncalibrated}");
    let mut empty = String::new();
    render_by_interval(&mut empty, &[]);
    assert!(empty.is_empty());

    let by_condition = [
        ConditionBreakdown {
            pitched: true,
            results: results(38, None),
        },
        ConditionBreakdown {
            pitched: false,
            results: results(20, None),
        },
    ];
    let mut text = String::new();
    render_by_condition(&mut text, &by_condition);
    assert!(text.contains("transposed, by condition (n)"), "{text}");
    let cells = |label: &str| {
        let row = text.lines().find(|l| l.starts_with(label)).unwrap_or_default();
        row.split_whitespace().skip(3).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(cells("pitched stems (40)"), "95.0 85.0", "{text}");
    assert_eq!(cells("drums alone (40)"), "50.0 85.0", "{text}");
}

#[test]
fn the_table_shows_each_large_family_beside_the_floor() {
    let names = ["transposed", "shifted", "foreign"];
    let mut text = String::new();
    let breakdowns = [family("bass", 40, 30, 36, false), family("organ", 5, 5, 5, false)];
    render_by_target(&mut text, &breakdowns, &names);
    assert!(text.contains("bass (40)"), "{text}");
    assert!(text.contains("75.0 | 90.0"), "{text}");
    assert!(!text.contains("organ"), "{text}");
    assert!(
        text.contains("both | floor; 1 stem family with fewer than 20 anchors left out (5 anchors)"),
        "{text}"
    );

    let mut text = String::new();
    render_by_target(&mut text, &[family("bass", 40, 30, 36, true)], &names);
    assert!(
        text.contains("100.0 | 90.0") && text.contains("(win rates in %: combined | floor)"),
        "{text}"
    );
}

#[test]
fn the_verdict_table_gives_each_window_kind_its_shares() {
    let shares = |window: &str, fits, unsure, clashes| VerdictShares {
        window: window.into(),
        windows: 300,
        fits,
        unsure,
        clashes,
    };
    let mut text = String::new();
    render_verdicts(
        &mut text,
        &[
            shares("true stem", 0.12, 0.8, 0.08),
            shares("transposed", 0.0, 0.75, 0.25),
        ],
    );
    assert!(text.contains("combined verdict"), "{text}");
    assert!(
        text.contains("  true stem              300   12.0 %   80.0 %    8.0 %"),
        "{text}"
    );
    assert!(
        text.contains("  transposed             300    0.0 %   75.0 %   25.0 %"),
        "{text}"
    );
    let mut empty = String::new();
    render_verdicts(&mut empty, &[]);
    assert!(empty.is_empty());
}

#[test]
fn the_processing_control_lists_each_measure_with_its_interval() {
    use cocola::eval::stats::{Summary, WinRate};
    let control = |measure: &str, wins: usize| ProcessingControl {
        measure: measure.into(),
        win: WinRate::of(&(0..100).map(|i| f64::from(u8::from(i < wins))).collect::<Vec<_>>()).unwrap(),
        margin: Summary::of(&[0.5, 1.5]).unwrap(),
    };
    let mut text = String::new();
    render_processing(&mut text, &[control("both", 92), control("combined", 51)]);
    assert!(text.contains("processing control"), "{text}");
    assert!(text.contains("both                 92.0 %"), "{text}");
    assert!(text.contains("combined             51.0 %"), "{text}");
    let mut empty = String::new();
    render_processing(&mut empty, &[]);
    assert!(empty.is_empty());
}

#[test]
fn a_long_family_name_widens_the_label_column() {
    let mut text = String::new();
    let breakdowns = [
        family("chromatic-percussion", 32, 16, 32, false),
        family("bass", 40, 30, 36, false),
    ];
    render_by_target(&mut text, &breakdowns, &["transposed", "shifted", "foreign"]);
    let columns: Vec<usize> = (text.lines())
        .filter(|l| l.contains(" | ") && !l.starts_with("(win rates"))
        .map(|l| l.find(" | ").unwrap())
        .collect();
    assert_eq!(columns.len(), 2, "{text}");
    assert_eq!(columns[0], columns[1], "the cells line up: {text}");
    assert!(text.contains("chromatic-percussion (32) "), "{text}");
}

#[test]
fn the_paired_table_gives_the_difference_the_split_and_its_p_value() {
    use cocola::eval::sensitivity::PairedKind;
    use cocola::eval::stats::WinRate;
    let rate = |wins: usize| {
        let outcomes: Vec<f64> = (0..100).map(|i| if i < wins { 1.0 } else { 0.0 }).collect();
        WinRate::of(&outcomes).unwrap()
    };
    let paired = Paired {
        baseline: ModelInfo {
            name: "old".into(),
            version: "1.0".into(),
            description: String::new(),
            input: Default::default(),
            source: "old.onnx".into(),
            sha256: "0123456789abcdef".into(),
            calibrated: false,
        },
        measures: vec![PairedMeasure {
            measure: "both".into(),
            kinds: vec![PairedKind {
                kind: NegativeKind::Transposed,
                candidate: rate(83),
                baseline: rate(80),
                gained: 10,
                lost: 7,
                p_value: 0.6291,
            }],
        }],
    };
    let mut text = String::new();
    render_paired(&mut text, &paired, 100);
    assert!(
        text.contains("baseline   old 1.0 (sha256 0123456789ab), on the same 100 anchors"),
        "{text}"
    );
    assert!(text.contains(" +3.0 (10/7) p 0.63"), "{text}");
    let both = text.lines().find(|l| l.starts_with("both")).unwrap();
    assert!(
        both.ends_with(" -") || both.contains("-  "),
        "kinds without results read '-': {text}"
    );
    assert_eq!(p_value(0.0004), "<0.001");
    assert_eq!(p_value(0.0042), "0.004");
}

#[test]
fn no_large_family_no_table() {
    let mut text = String::new();
    render_by_target(&mut text, &[family("organ", 5, 5, 5, false)], &["transposed"]);
    assert!(text.is_empty(), "{text}");
}

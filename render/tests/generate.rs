//! The procedural generator: seeded determinism, parts that follow the
//! harmony and the grid, splits by style, and MIDI that says what the facts say.

use cocola_render::generate::grid::SIXTEENTH;
use cocola_render::generate::parts::melody::chord_scale;
use cocola_render::generate::perform::MAX_OFFSET_SD;
use cocola_render::generate::score::{Note, Role};
use cocola_render::generate::style::{Style, ALL_STYLES, HELD_OUT_STYLES};
use cocola_render::generate::{generate, GenerateOptions, Piece, Split};

fn options(styles: &[Style]) -> GenerateOptions {
    GenerateOptions {
        styles: styles.to_vec(),
        seconds: (30.0, 50.0),
    }
}

/// Pieces 0..n of every style (seed 11).
fn pieces(n: u64) -> Vec<Piece> {
    let o = options(&ALL_STYLES);
    (0..n).map(|i| generate(11, i, &o)).collect()
}

fn part(p: &Piece, role: Role) -> Option<(usize, &[Note])> {
    p.parts
        .iter()
        .position(|x| x.role == role)
        .map(|i| (i, p.parts[i].notes.as_slice()))
}

#[test]
fn pieces_are_a_function_of_seed_and_index() {
    let o = options(&ALL_STYLES);
    for i in 0..12 {
        let a = generate(5, i, &o);
        let b = generate(5, i, &o);
        assert_eq!(a.midi(), b.midi(), "piece {i}: MIDI differs between two runs");
        assert_eq!(a.facts(), b.facts());
        assert_ne!(a.midi(), generate(6, i, &o).midi(), "piece {i}: the seed has no effect");
        assert_ne!(a.midi(), generate(5, i + 100, &o).midi());
    }
}

#[test]
fn bass_plays_root_or_fifth_on_downbeats() {
    let mut total = (0, 0);
    for p in pieces(90) {
        let (_, bass) = part(&p, Role::Bass).expect("every piece has a bass");
        let s = &p.score;
        let mut ok = (0, 0);
        for bar in 0..s.bars() {
            let t = s.bar_start(bar);
            let first_beat = t + s.meter.beats[0];
            // The note sounding at the downbeat, else the first in the first beat.
            let n = bass
                .iter()
                .find(|n| n.start <= t && t < n.start + n.length)
                .or_else(|| bass.iter().find(|n| n.start >= t && n.start < first_beat));
            let Some(n) = n else { continue };
            let chord = s.chord_at(t.max(n.start)).chord;
            let pc = n.key % 12;
            ok.1 += 1;
            if pc == chord.root || pc == chord.fifth() {
                ok.0 += 1;
            }
        }
        assert!(
            ok.1 >= s.bars() * 3 / 4,
            "{} ({:?}): bass silent on most downbeats",
            p.id,
            p.style
        );
        let share = ok.0 as f64 / ok.1 as f64;
        assert!(
            share >= 0.9,
            "{} ({:?}): root/fifth on {:.0} % of downbeats",
            p.id,
            p.style,
            100.0 * share
        );
        total = (total.0 + ok.0, total.1 + ok.1);
    }
    eprintln!("bass root/fifth on {}/{} downbeats", total.0, total.1);
}

#[test]
fn chordal_parts_play_chord_tones_and_melodies_chord_scales() {
    for p in pieces(60) {
        let s = &p.score;
        for role in [Role::Comping, Role::Pad, Role::Arpeggio, Role::CounterMelody] {
            if let Some((_, notes)) = part(&p, role) {
                for n in notes {
                    let c = s.chord_at(n.start).chord;
                    assert!(
                        c.contains(n.key % 12),
                        "{} {role:?}: key {} over {}",
                        p.id,
                        n.key,
                        c.symbol()
                    );
                }
            }
        }
        let (_, melody) = part(&p, Role::Melody).expect("every piece has a melody");
        let mut strong = (0, 0);
        for n in melody {
            let span = s.chord_at(n.start);
            assert!(
                chord_scale(span).contains(&(n.key % 12)),
                "{}: melody key {} outside the scale of {} in {}",
                p.id,
                n.key,
                span.chord.symbol(),
                span.key.name()
            );
            if s.meter.strength(n.start % s.bar_ticks()) >= 0.6 {
                strong.1 += 1;
                strong.0 += span.chord.contains(n.key % 12) as usize;
            }
        }
        assert!(
            strong.0 * 10 >= strong.1 * 9,
            "{}: {strong:?} beat notes are chord tones",
            p.id
        );
    }
}

#[test]
fn drums_sit_on_the_grid_within_the_humanisation() {
    let mut deviations = Vec::new();
    for p in pieces(60) {
        let Some((i, grid)) = part(&p, Role::Drums) else {
            continue;
        };
        let played = &p.played[i];
        assert_eq!(grid.len(), played.len());
        let bound = MAX_OFFSET_SD * p.timing_sd * 2.0 / 3.0 + 1.0;
        for (g, q) in grid.iter().zip(played) {
            assert_eq!(g.start % SIXTEENTH, 0, "{}: drum note off the sixteenth grid", p.id);
            let swung = p.score.feel.place(g.start, &p.score.meter);
            let dev = q.start as f64 - swung;
            assert!(
                dev.abs() <= bound,
                "{}: drum note {dev:.1} ticks off (bound {bound:.1})",
                p.id
            );
            deviations.push(dev.abs() / (p.timing_sd * 2.0 / 3.0));
        }
    }
    // Humanised, not quantised: the typical deviation is a sizeable part of the spread.
    let mean = deviations.iter().sum::<f64>() / deviations.len() as f64;
    assert!(mean > 0.4 && mean < 1.5, "mean deviation {mean:.2} sd");
}

#[test]
fn splits_hold_their_styles_and_cover_meters() {
    let ood = Split::TestOod.styles();
    assert_eq!(ood, HELD_OUT_STYLES.to_vec());
    for split in [Split::Train, Split::Validation, Split::Test] {
        assert!(split.styles().iter().all(|s| !HELD_OUT_STYLES.contains(s)));
        assert_eq!(split.styles().len() + HELD_OUT_STYLES.len(), ALL_STYLES.len());
    }
    let o = options(&Split::Train.styles());
    let mut meters = std::collections::BTreeSet::new();
    let mut styles = std::collections::BTreeSet::new();
    let mut feels = std::collections::BTreeSet::new();
    let mut key_changes = 0;
    for i in 0..300 {
        let p = generate(3, i, &o);
        meters.insert(p.score.meter.name());
        styles.insert(p.style.name());
        feels.insert(p.score.feel.name());
        key_changes += !p.facts().key_changes.is_empty() as usize;
        assert!((60.0..=190.0).contains(&p.score.qpm()), "{} qpm", p.score.qpm());
    }
    for m in ["4/4", "3/4", "6/8", "12/8", "5/4", "7/8"] {
        assert!(meters.contains(m), "no {m} in 300 pieces: {meters:?}");
    }
    assert_eq!(styles.len(), Split::Train.styles().len(), "{styles:?}");
    assert_eq!(feels.len(), 3, "{feels:?}");
    assert!(
        (10..=90).contains(&key_changes),
        "{key_changes} of 300 pieces change key"
    );
}

#[test]
fn midi_and_facts_agree() {
    for p in pieces(20) {
        let song = cocola_render::render::midi::parse(&p.midi()).expect("the generator writes readable MIDI");
        let facts = p.facts();
        assert_eq!(song.parts.len(), p.parts.len(), "{}", p.id);
        for f in &facts.parts {
            let part = song
                .parts
                .iter()
                .find(|m| m.track == f.midi_track || (m.is_drums && f.role == "drums"))
                .unwrap_or_else(|| panic!("{}: no MIDI part for {f:?}", p.id));
            assert_eq!(part.channel, f.channel);
            assert_eq!(part.is_drums, f.role == "drums");
            if !part.is_drums {
                assert_eq!(part.name.as_deref(), Some(f.role.as_str()));
            }
        }
        assert_eq!(song.tempo_qpm.map(|t| t.round()), facts.tempo_qpm.map(|t| t.round()));
        assert_eq!(song.meter, facts.meter.as_ref().map(|m| (m.numerator, m.denominator)));
        // The music lasts as long as the facts' last chord.
        let end = facts.chords.last().unwrap().end_seconds;
        assert!(
            (song.duration - end).abs() < 0.6,
            "{}: MIDI {:.2} s, chords end {end:.2} s",
            p.id,
            song.duration
        );
    }
}

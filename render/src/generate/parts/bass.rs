//! The bass line: roots and fifths where the harmony is defined (chord
//! changes, downbeats), and per style what happens in between.

use rand::Rng;

use super::super::grid::{EIGHTH, PPQ, SIXTEENTH};
use super::super::random::{chance, one_of};
use super::super::score::{Note, Score};
use super::super::style::BassStyle;
use super::super::theory::Chord;
use super::{bars, in_range, note, velocity};

const LOW: i32 = 28;
const HIGH: i32 = 55;

struct Line {
    notes: Vec<Note>,
    /// Last key played, for smooth octave choices.
    last: i32,
    end: u32,
}

impl Line {
    fn key(&self, pc: u8) -> i32 {
        in_range(pc, self.last, LOW, HIGH)
    }

    fn play(&mut self, start: u32, length: u32, key: i32, velocity: u8) {
        self.notes.push(note(start, length, key, velocity, self.end));
        self.last = key;
    }
}

pub fn write(score: &Score, style: BassStyle, rng: &mut impl Rng) -> Vec<Note> {
    let mut line = Line {
        notes: Vec::new(),
        last: 40,
        end: score.end_tick(),
    };
    let meter = &score.meter;
    let starts = meter.beat_starts();
    // Pedal pulse, per piece: quarters or eighths.
    let step = if chance(rng, 0.5) { PPQ } else { EIGHTH };
    for (bar, bar_start, bar_end) in bars(score) {
        let energy = score.section_of_bar(bar).energy;
        let vel = |strength: f32| velocity(strength, energy, 78.0);
        // Chord changes in this bar.
        let mut changes: Vec<u32> = score
            .chords
            .iter()
            .filter(|c| c.start > bar_start && c.start < bar_end)
            .map(|c| c.start)
            .collect();
        changes.insert(0, bar_start);
        let chord_at = |t: u32| score.chord_at(t).chord;
        match style {
            BassStyle::RootEighths => {
                for t in (bar_start..bar_end).step_by(EIGHTH as usize) {
                    let c = chord_at(t);
                    let root = line.key(c.root);
                    let next = score.next_chord(t);
                    let key = if next.start == t + EIGHTH && chance(rng, 0.35) {
                        approach(&line, next.chord.root)
                    } else if t % PPQ == EIGHTH && chance(rng, 0.12) {
                        root + 12
                    } else {
                        root
                    };
                    line.play(t, EIGHTH * 9 / 10, key, vel(meter.strength(t - bar_start)));
                    if key == root + 12 {
                        line.last = root;
                    }
                }
            }
            BassStyle::RootFifth | BassStyle::Chorale => {
                for (i, &b) in starts.iter().enumerate() {
                    let t = bar_start + b;
                    let c = chord_at(t);
                    let at_change = changes.contains(&t);
                    let pc = if at_change || i == 0 {
                        if style == BassStyle::Chorale && t != bar_start && chance(rng, 0.2) {
                            c.third()
                        } else {
                            c.root
                        }
                    } else if meter.accents.contains(&i) || style == BassStyle::Chorale {
                        c.fifth()
                    } else if meter.beats.len() == 3 && meter.denominator == 4 {
                        continue; // waltz: the comping plays beats 2 and 3
                    } else {
                        c.fifth()
                    };
                    let len = meter.beats[i];
                    line.play(t, len * 9 / 10, line.key(pc), vel(meter.strength(b)));
                }
            }
            BassStyle::Walking => {
                for (i, &b) in starts.iter().enumerate() {
                    let t = bar_start + b;
                    let c = chord_at(t);
                    let next = score.next_chord(t);
                    let before_change = next.start == t + meter.beats[i];
                    // Roots where the harmony changes and on every downbeat.
                    let key = if changes.contains(&t) || i == 0 {
                        line.key(c.root)
                    } else if before_change {
                        approach(&line, next.chord.root)
                    } else {
                        walk_step(
                            &line,
                            &c,
                            score.chord_at(t).key.mode.scale(),
                            score.chord_at(t).key.tonic,
                            rng,
                        )
                    };
                    line.play(t, meter.beats[i] * 95 / 100, key, vel(meter.strength(b)));
                }
            }
            BassStyle::Boogie => {
                let steps: [i32; 8] = [0, 4, 7, 9, 10, 9, 7, 4];
                let mut idx = 0;
                for t in (bar_start..bar_end).step_by(EIGHTH as usize) {
                    let c = chord_at(t);
                    // The figure starts again with each chord (and bar) on its root.
                    if changes.contains(&t) {
                        idx = 0;
                    }
                    let mut interval = steps[idx % 8];
                    if interval == 4 && c.third() == (c.root + 3) % 12 {
                        interval = 3;
                    }
                    let root = line.key(c.root);
                    line.notes.push(note(
                        t,
                        EIGHTH * 9 / 10,
                        root + interval,
                        vel(meter.strength(t - bar_start)),
                        line.end,
                    ));
                    line.last = root;
                    idx += 1;
                }
            }
            BassStyle::Syncopated => {
                let patterns: [&[u32]; 5] = [
                    &[0, 3, 6, 8, 10, 14],
                    &[0, 2, 7, 8, 11, 13, 14],
                    &[0, 6, 7, 10, 12, 15],
                    &[0, 3, 4, 8, 11, 12, 14],
                    &[0, 7, 8, 10, 13],
                ];
                let pattern = one_of(rng, &patterns);
                let sixteenths = meter.bar_ticks() / SIXTEENTH;
                for &p in pattern.iter().filter(|&&p| p < sixteenths) {
                    let t = bar_start + p * SIXTEENTH;
                    let c = chord_at(t);
                    let root = line.key(c.root);
                    let key = if p == 0 || changes.contains(&t) {
                        root
                    } else {
                        let seventh = c
                            .seventh()
                            .map_or(root + 10, |s| in_range(s, root + 10, root, root + 12));
                        one_of(rng, &[root, root + 12, root + 7, seventh])
                    };
                    let ghost = p % 2 == 1 && chance(rng, 0.3);
                    let v = if ghost { 45 } else { vel(meter.strength(p * SIXTEENTH)) };
                    let len = if chance(rng, 0.5) { SIXTEENTH } else { EIGHTH };
                    line.notes.push(note(t, len, key, v, bar_end));
                    line.last = root;
                }
            }
            BassStyle::Tumbao => {
                // Anticipation: three eighths and three quarters into the bar
                // the line already plays the next bar's root and fifth, the
                // fifth tied over the barline.
                let bar_len = meter.bar_ticks();
                let anticipation = bar_start + bar_len * 3 / 8;
                if bar == 0 {
                    let c = chord_at(bar_start);
                    line.play(bar_start, anticipation - bar_start, line.key(c.root), vel(1.0));
                }
                let next = chord_at(bar_end.min(line.end.saturating_sub(1)));
                line.play(anticipation, bar_len * 3 / 8, line.key(next.root), vel(0.6));
                let fifth = line.key(next.fifth());
                line.play(bar_start + bar_len * 3 / 4, bar_len / 2 - SIXTEENTH, fifth, vel(0.7));
            }
            BassStyle::Pedal => {
                for t in (bar_start..bar_end).step_by(step as usize) {
                    let c = chord_at(t);
                    let root = line.key(c.root);
                    let key = if (t - bar_start) % (2 * step) == step && chance(rng, 0.3) {
                        root + 12
                    } else {
                        root
                    };
                    line.notes.push(note(
                        t,
                        step * 9 / 10,
                        key,
                        vel(meter.strength(t - bar_start)),
                        line.end,
                    ));
                    line.last = root;
                }
            }
            BassStyle::Offbeat => {
                for t in (bar_start + EIGHTH..bar_end).step_by(PPQ as usize) {
                    let c = chord_at(t);
                    line.play(t, EIGHTH * 8 / 10, line.key(c.root), vel(0.5));
                }
            }
        }
    }
    // A note never sounds into the next chord (only the tumbao anticipates).
    if style != BassStyle::Tumbao {
        for n in &mut line.notes {
            let next = score.next_chord(n.start).start;
            if next > n.start && n.start + n.length > next {
                n.length = next - n.start;
            }
        }
    }
    line.notes
}

/// A note leading into `target` (a pitch class) from a semitone or a tone
/// below or above, or its fifth.
fn approach(line: &Line, target: u8) -> i32 {
    let t = line.key(target);
    let from_above = line.last > t;
    match (line.notes.len() + t as usize) % 3 {
        0 => t - 1,
        1 if from_above => t + 1,
        1 => t - 2,
        _ => in_range((target + 7) % 12, t, LOW, HIGH),
    }
}

/// A walking step: a chord tone or scale tone near the last note, moving
/// on rather than repeating.
fn walk_step(line: &Line, chord: &Chord, scale: [u8; 7], tonic: u8, rng: &mut impl Rng) -> i32 {
    let candidates: Vec<i32> = (line.last - 5..=line.last + 5)
        .filter(|&k| k != line.last && (LOW..=HIGH).contains(&k))
        .filter(|&k| {
            let pc = (k % 12) as u8;
            chord.contains(pc) || scale.iter().any(|s| (tonic + s) % 12 == pc)
        })
        .collect();
    if candidates.is_empty() {
        line.key(chord.fifth())
    } else {
        let chord_tones: Vec<i32> = candidates
            .iter()
            .copied()
            .filter(|k| chord.contains((*k % 12) as u8))
            .collect();
        if !chord_tones.is_empty() && chance(rng, 0.6) {
            one_of(rng, &chord_tones)
        } else {
            one_of(rng, &candidates)
        }
    }
}

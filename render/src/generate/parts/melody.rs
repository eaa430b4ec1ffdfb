//! Melody and counter-melody.
//!
//! The melody is built in phrases (two or four bars: a motif, its varied
//! repeat, new material, a cadence on a long chord tone, then a breath).
//! Each section label has its own motif — a rhythm and a contour — so that
//! repeated sections sound repeated. Pitches follow the harmony: notes on
//! beats are chord tones; between beats, tones of the chord's scale (passing
//! and neighbour tones); a leap is followed by a step back.
//!
//! The counter-melody moves slower, on guide tones (thirds and sevenths)
//! below the melody, preferring contrary motion to it.

use std::collections::HashMap;

use rand::Rng;

use super::super::grid::{EIGHTH, PPQ};
use super::super::random::{chance, one_of};
use super::super::score::{ChordSpan, Note, Score};
use super::{note, velocity};

/// A rhythm over one bar (onset offsets and lengths in ticks) and a contour
/// (intended direction of each note: -1, 0, +1).
#[derive(Clone, Debug)]
struct Motif {
    rhythm: Vec<(u32, u32)>,
    contour: Vec<i32>,
}

/// The scale to choose passing tones from under `span`: the key's scale
/// with every tone a semitone from a chord tone replaced by that chord tone
/// (so a passing tone never rubs against an altered chord tone).
pub fn chord_scale(span: &ChordSpan) -> Vec<u8> {
    let chord = span.chord.pitch_classes();
    let mut pcs: Vec<u8> = (0..7)
        .map(|d| span.key.degree_pc(d))
        .map(|pc| {
            if chord.contains(&pc) {
                pc
            } else {
                chord
                    .iter()
                    .copied()
                    .find(|&c| (c + 1) % 12 == pc || (pc + 1) % 12 == c)
                    .unwrap_or(pc)
            }
        })
        .collect();
    pcs.extend(chord);
    pcs.sort();
    pcs.dedup();
    pcs
}

fn motif(score: &Score, slow: bool, rng: &mut impl Rng) -> Motif {
    let meter = &score.meter;
    let bar = meter.bar_ticks();
    let grid = if slow { PPQ } else { EIGHTH };
    let mut onsets: Vec<u32> = (0..bar / grid)
        .map(|i| i * grid)
        .filter(|&o| {
            let s = meter.strength(o);
            chance(rng, if s >= 0.6 { 0.85 } else { 0.45 })
        })
        .collect();
    if onsets.is_empty() {
        onsets.push(0);
    }
    let rhythm: Vec<(u32, u32)> = onsets
        .iter()
        .enumerate()
        .map(|(i, &o)| (o, onsets.get(i + 1).copied().unwrap_or(bar) - o))
        .collect();
    let contour = (0..rhythm.len()).map(|_| one_of(rng, &[-1, 0, 1, 1, -1])).collect();
    Motif { rhythm, contour }
}

/// The next pitch: the candidate (chord tones on strong positions, chord
/// scale tones elsewhere) nearest to where the contour points, within
/// `low..=high`; after a leap, a step back.
fn next_pitch(prev: i32, leap: i32, direction: i32, candidates: &[u8], low: i32, high: i32) -> i32 {
    let direction = if leap.abs() > 4 { -leap.signum() } else { direction };
    let target = (prev + 2 * direction).clamp(low, high);
    (low..=high)
        .filter(|k| candidates.contains(&((*k % 12) as u8)))
        .filter(|&k| direction == 0 || k != prev || candidates.len() == 1)
        .min_by_key(|&k| ((k - target).abs(), (k - prev).abs()))
        .unwrap_or(prev)
}

pub fn write(score: &Score, low: i32, high: i32, rng: &mut impl Rng) -> Vec<Note> {
    let slow = score.bpm > 150.0 || score.meter.numerator == 12 || chance(rng, 0.25);
    let end = score.end_tick();
    let bar_len = score.bar_ticks();
    let mut motifs: HashMap<&str, Motif> = HashMap::new();
    let mut notes = Vec::new();
    let mut prev = (low + high) / 2;
    let mut leap = 0;
    for section in &score.sections {
        if matches!(section.label, "intro" | "outro" | "break") && chance(rng, 0.7) {
            continue;
        }
        let m = motifs
            .entry(section.label)
            .or_insert_with(|| motif(score, slow, rng))
            .clone();
        let phrase = if section.bars % 4 == 0 { 4 } else { 2 };
        for bar in section.start_bar..section.start_bar + section.bars {
            let in_phrase = (bar - section.start_bar) % phrase;
            let bar_start = score.bar_start(bar);
            let cadence = in_phrase == phrase - 1;
            let rhythm: Vec<(u32, u32)> = if cadence {
                // A long note on the downbeat, then a breath.
                vec![(0, bar_len * 3 / 4)]
            } else if in_phrase == 2 {
                motif(score, slow, rng).rhythm
            } else {
                m.rhythm.clone()
            };
            for (i, &(offset, length)) in rhythm.iter().enumerate() {
                let t = bar_start + offset;
                let span = score.chord_at(t);
                let strong = score.meter.strength(offset) >= 0.6;
                let candidates = if strong || cadence {
                    span.chord.pitch_classes()
                } else {
                    chord_scale(span)
                };
                let mut direction = m.contour[i % m.contour.len()];
                if in_phrase == 1 {
                    direction = -direction; // the varied repeat answers the motif
                }
                if prev >= high - 2 {
                    direction = -1;
                } else if prev <= low + 2 {
                    direction = 1;
                }
                let key = next_pitch(prev, leap, direction, &candidates, low, high);
                leap = key - prev;
                prev = key;
                let v = velocity(score.meter.strength(offset), section.energy, 72.0);
                notes.push(note(t, length * 9 / 10, key, v, end));
            }
        }
    }
    notes
}

/// The counter-melody: half-bar notes on guide tones below `melody`'s
/// register, moving against it; it plays in the fuller sections.
pub fn counter(score: &Score, melody: &[Note], low: i32, high: i32, rng: &mut impl Rng) -> Vec<Note> {
    let end = score.end_tick();
    let meter = &score.meter;
    let starts = meter.beat_starts();
    // Hits per bar: the downbeat and the middle accent (or every beat when slow).
    let hits: Vec<u32> = if score.bpm < 80.0 {
        starts.clone()
    } else {
        meter.accents.iter().map(|&a| starts[a]).collect()
    };
    let plays: Vec<bool> = score
        .sections
        .iter()
        .map(|s| s.energy >= 0.75 || chance(rng, 0.35))
        .collect();
    let melody_at = |t: u32| melody.iter().rev().find(|n| n.start <= t).map(|n| n.key as i32);
    let mut notes = Vec::new();
    let mut prev = (low + high) / 2;
    let mut last_melody: Option<i32> = None;
    for (si, section) in score.sections.iter().enumerate() {
        if !plays[si] {
            continue;
        }
        for bar in section.start_bar..section.start_bar + section.bars {
            let bar_start = score.bar_start(bar);
            for (i, &h) in hits.iter().enumerate() {
                let t = bar_start + h;
                let next = hits.get(i + 1).copied().unwrap_or(meter.bar_ticks());
                let span = score.chord_at(t);
                let c = span.chord;
                let guides: Vec<u8> = match c.seventh() {
                    Some(s) => vec![c.third(), s],
                    None => vec![c.third(), c.fifth()],
                };
                let m = melody_at(t);
                let direction = match (m, last_melody) {
                    (Some(now), Some(before)) => -(now - before).signum(),
                    _ => 0,
                };
                last_melody = m;
                // At least an octave, so that every guide tone has a key.
                let ceiling = m.map_or(high, |k| (k - 3).min(high)).max(low + 12);
                let key = next_pitch(prev, 0, direction, &guides, low, ceiling);
                prev = key;
                let v = velocity(meter.strength(h), section.energy, 62.0);
                notes.push(note(t, (next - h) * 95 / 100, key, v, end));
            }
        }
    }
    notes
}

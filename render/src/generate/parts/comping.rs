//! Chord comping: a style's rhythm, each hit voiced from the chord sounding
//! there and led smoothly from the last voicing.

use rand::Rng;

use super::super::grid::{EIGHTH, PPQ, SIXTEENTH};
use super::super::random::{chance, one_of};
use super::super::score::{Note, Score};
use super::super::style::CompStyle;
use super::super::voicing::{Spread, Voicer};
use super::{bars, note, velocity};

/// Hits of one bar: (offset into the bar, length) in ticks.
fn rhythm(score: &Score, style: CompStyle, bar: usize, rng: &mut impl Rng) -> Vec<(u32, u32)> {
    let meter = &score.meter;
    let bar_len = meter.bar_ticks();
    let starts = meter.beat_starts();
    let energy = score.section_of_bar(bar).energy;
    let eighths = bar_len / EIGHTH;
    match style {
        CompStyle::Strum => (0..eighths)
            .map(|e| e * EIGHTH)
            .filter(|&o| meter.strength(o) >= 0.6 || chance(rng, 0.35 + 0.5 * energy as f64))
            .map(|o| (o, EIGHTH))
            .collect(),
        CompStyle::Block => {
            let mut hits = vec![(0, bar_len)];
            // Restrike where the chord changes inside the bar.
            let bar_start = score.bar_start(bar);
            for c in score
                .chords
                .iter()
                .filter(|c| c.start > bar_start && c.start < bar_start + bar_len)
            {
                hits.push((c.start - bar_start, bar_start + bar_len - c.start));
            }
            hits.sort();
            let n = hits.len();
            for i in 0..n.saturating_sub(1) {
                hits[i].1 = hits[i + 1].0 - hits[i].0;
            }
            hits
        }
        CompStyle::Offbeat => starts
            .iter()
            .zip(&meter.beats)
            .map(|(&s, &len)| (s + len / 2, len / 3))
            .collect(),
        CompStyle::Charleston => {
            let mut hits = vec![(0, EIGHTH * 3 / 2), (bar_len * 3 / 8, EIGHTH)];
            if chance(rng, 0.3) {
                hits.push((bar_len - EIGHTH, EIGHTH * 2));
            }
            hits
        }
        CompStyle::Bossa => {
            // Over two bars: 1, 2&, 4 | 1&, 3 (in eighths 0 3 6 | 9 12).
            let pattern: &[u32] = if bar.is_multiple_of(2) { &[0, 3, 6] } else { &[1, 4] };
            pattern
                .iter()
                .filter(|&&e| e < eighths)
                .map(|&e| (e * EIGHTH, EIGHTH * 3 / 2))
                .collect()
        }
        CompStyle::Montuno => {
            let pattern: &[u32] = if bar.is_multiple_of(2) {
                &[0, 1, 3, 4, 6]
            } else {
                &[1, 2, 4, 5, 7]
            };
            pattern
                .iter()
                .filter(|&&e| e < eighths)
                .map(|&e| (e * EIGHTH, EIGHTH))
                .collect()
        }
        CompStyle::FunkStabs => {
            let patterns: [&[u32]; 4] = [
                &[2, 6, 7, 10, 14],
                &[1, 4, 6, 9, 12, 14],
                &[2, 3, 6, 10, 11, 14],
                &[0, 4, 7, 10, 12],
            ];
            one_of(rng, &patterns)
                .iter()
                .filter(|&&s| s * SIXTEENTH < bar_len)
                .map(|&s| (s * SIXTEENTH, SIXTEENTH))
                .collect()
        }
        CompStyle::OomPah => {
            if meter.beats.iter().all(|&b| b == PPQ) {
                // Every beat but the downbeat (the bass plays it).
                starts.iter().skip(1).map(|&s| (s, PPQ / 2)).collect()
            } else {
                // Compound beats: the second and third eighth of each.
                starts
                    .iter()
                    .flat_map(|&s| [(s + EIGHTH, EIGHTH * 3 / 4), (s + 2 * EIGHTH, EIGHTH * 3 / 4)])
                    .filter(|&(o, _)| o < bar_len)
                    .collect()
            }
        }
    }
}

pub fn write(score: &Score, style: CompStyle, rng: &mut impl Rng) -> Vec<Note> {
    let (spread, voices, low, high) = match style {
        CompStyle::Charleston => (Spread::Shell, 3, 52, 74),
        CompStyle::FunkStabs => (Spread::Close, 3, 60, 84),
        CompStyle::Montuno => (Spread::Close, 3, 60, 84),
        CompStyle::Block if chance(rng, 0.5) => (Spread::Drop2, 4, 48, 76),
        _ => (Spread::Close, 4, 52, 76),
    };
    let mut voicer = Voicer::new(low, high, voices, spread);
    let end = score.end_tick();
    let mut notes = Vec::new();
    for (bar, bar_start, _) in bars(score) {
        let energy = score.section_of_bar(bar).energy;
        for (offset, length) in rhythm(score, style, bar, rng) {
            let t = bar_start + offset;
            let chord = score.chord_at(t).chord;
            let keys = voicer.voice(&chord);
            let v = velocity(score.meter.strength(offset), energy, 64.0);
            // A strum reaches the strings one after another.
            let stagger = if style == CompStyle::Strum { 6 } else { 0 };
            for (i, &k) in keys.iter().enumerate() {
                let s = t + stagger * i as u32;
                notes.push(note(
                    s,
                    length.saturating_sub(stagger * i as u32).max(SIXTEENTH / 2),
                    k as i32,
                    v,
                    end,
                ));
            }
        }
    }
    notes
}

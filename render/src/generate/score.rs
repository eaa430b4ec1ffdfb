//! What a generated piece is made of: the shared harmony and form (the
//! [`Score`]) and the notes of each part on the straight grid.

use serde::Serialize;

use super::grid::{Feel, Meter};
use super::theory::{Chord, Key};

/// What a part does in the arrangement; each is one stem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Bass,
    Comping,
    Arpeggio,
    Pad,
    Melody,
    CounterMelody,
    Drums,
}

impl Role {
    /// Also the stem's file name (`drums` keeps the corpus-wide rule that
    /// unpitched stems are called drums* or percussion*).
    pub fn name(self) -> &'static str {
        match self {
            Role::Bass => "bass",
            Role::Comping => "comping",
            Role::Arpeggio => "arpeggio",
            Role::Pad => "pad",
            Role::Melody => "melody",
            Role::CounterMelody => "counter-melody",
            Role::Drums => "drums",
        }
    }
}

/// A note on the straight grid (before feel and humanisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    pub start: u32,
    pub length: u32,
    pub key: u8,
    pub velocity: u8,
}

#[derive(Clone, Debug)]
pub struct Part {
    pub role: Role,
    /// GM program (ignored for drums).
    pub program: u8,
    pub notes: Vec<Note>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Section {
    /// intro, verse, chorus, bridge, head, solo, A, B, outro...
    pub label: &'static str,
    pub start_bar: usize,
    pub bars: usize,
    pub key: Key,
    /// 0 (sparse) .. 1 (full): how busy the parts play.
    pub energy: f32,
}

/// A chord over a span of ticks, in its section's key.
#[derive(Clone, Copy, Debug)]
pub struct ChordSpan {
    pub start: u32,
    pub end: u32,
    pub chord: Chord,
    pub key: Key,
}

/// The harmony, form and time that every part follows.
#[derive(Clone, Debug)]
pub struct Score {
    pub meter: Meter,
    pub feel: Feel,
    /// Beats (of the meter's beat length) per minute.
    pub bpm: f64,
    pub sections: Vec<Section>,
    /// Contiguous and sorted, covering every bar.
    pub chords: Vec<ChordSpan>,
}

impl Score {
    pub fn bars(&self) -> usize {
        self.sections.last().map_or(0, |s| s.start_bar + s.bars)
    }

    pub fn bar_ticks(&self) -> u32 {
        self.meter.bar_ticks()
    }

    pub fn bar_start(&self, bar: usize) -> u32 {
        bar as u32 * self.bar_ticks()
    }

    pub fn end_tick(&self) -> u32 {
        self.bar_start(self.bars())
    }

    /// Quarter notes per minute (the MIDI tempo).
    pub fn qpm(&self) -> f64 {
        self.meter.qpm_of_bpm(self.bpm)
    }

    /// The chord sounding at `tick` (the last one past the end).
    pub fn chord_at(&self, tick: u32) -> &ChordSpan {
        let i = self.chords.partition_point(|c| c.start <= tick).saturating_sub(1);
        &self.chords[i]
    }

    /// The chord after the one sounding at `tick` (itself at the end).
    pub fn next_chord(&self, tick: u32) -> &ChordSpan {
        let i = self.chords.partition_point(|c| c.start <= tick);
        &self.chords[i.min(self.chords.len() - 1)]
    }

    pub fn section_of_bar(&self, bar: usize) -> &Section {
        self.sections
            .iter()
            .find(|s| bar < s.start_bar + s.bars)
            .unwrap_or_else(|| self.sections.last().expect("a score has sections"))
    }

    /// Whether `bar` is the last bar of its section.
    pub fn ends_section(&self, bar: usize) -> bool {
        let s = self.section_of_bar(bar);
        bar + 1 == s.start_bar + s.bars
    }

    /// Seconds at (straight-grid) tick `tick`.
    pub fn seconds(&self, tick: f64) -> f64 {
        tick / super::grid::PPQ as f64 * 60.0 / self.qpm()
    }
}

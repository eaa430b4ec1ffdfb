//! Standard MIDI files -> instrument parts with absolute times in seconds.
//!
//! A part is the material of one (track, channel) pair, so format-0 files
//! split by channel and format-1 files by track and channel (music21 writes
//! every part on channel 0 in its own track). Everything on the GM drum
//! channel (10, index 9), from any track, is one "drums" part. Tempo changes
//! from every track form one tempo map, as the standard prescribes for
//! format 1. Parts without a sounding note are dropped.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

/// The GM percussion channel (MIDI channel 10).
pub const DRUM_CHANNEL: u8 = 9;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    NoteOn {
        key: u8,
        vel: u8,
    },
    NoteOff {
        key: u8,
    },
    KeyPressure {
        key: u8,
        value: u8,
    },
    Controller {
        cc: u8,
        value: u8,
    },
    Program(u8),
    ChannelPressure(u8),
    /// 14-bit, 8192 = centre.
    PitchBend(u16),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    /// Seconds from the start of the file.
    pub time: f64,
    pub channel: u8,
    pub msg: Msg,
}

#[derive(Clone, Debug)]
pub struct Part {
    /// The track's name (meta event), if any.
    pub name: Option<String>,
    /// Index of the MIDI track (the first one for drums).
    pub track: usize,
    pub channel: u8,
    pub is_drums: bool,
    /// Sorted by time; equal times keep file order.
    pub events: Vec<Event>,
}

impl Part {
    /// The first program change, or 0 (GM acoustic grand piano).
    pub fn program(&self) -> u8 {
        self.events
            .iter()
            .find_map(|e| if let Msg::Program(p) = e.msg { Some(p) } else { None })
            .unwrap_or(0)
    }

    pub fn note_count(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.msg, Msg::NoteOn { vel, .. } if vel > 0))
            .count()
    }

    /// Mean key of the sounding notes (the part's register).
    pub fn mean_key(&self) -> f64 {
        let keys: Vec<f64> = self
            .events
            .iter()
            .filter_map(|e| match e.msg {
                Msg::NoteOn { key, vel } if vel > 0 => Some(key as f64),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            0.0
        } else {
            keys.iter().sum::<f64>() / keys.len() as f64
        }
    }

    pub fn end_time(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.time)
    }
}

#[derive(Clone, Debug)]
pub struct Song {
    pub parts: Vec<Part>,
    /// Time of the last event of any kept part, in seconds.
    pub duration: f64,
    /// The first tempo (quarter notes per minute), if the file sets one.
    pub tempo_qpm: Option<f64>,
    /// How many different tempi the file sets.
    pub tempi: usize,
    /// The first time signature (numerator, denominator).
    pub meter: Option<(u8, u8)>,
    /// The first key signature (sharps, or flats if negative; minor).
    pub key_signature: Option<(i8, bool)>,
}

/// Reads and parses `path`; errors name the file.
pub fn read(path: &Path) -> anyhow::Result<Song> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read MIDI file", path.display()))?;
    parse(&bytes).with_context(|| format!("{}: not a readable MIDI file", path.display()))
}

/// Tick -> seconds through a tempo map.
struct Clock {
    /// (tick, seconds at that tick, seconds per tick from there on)
    segments: Vec<(u64, f64, f64)>,
}

impl Clock {
    fn seconds(&self, tick: u64) -> f64 {
        let i = self.segments.partition_point(|s| s.0 <= tick).saturating_sub(1);
        let (t0, s0, spt) = self.segments[i];
        s0 + (tick - t0) as f64 * spt
    }
}

pub fn parse(bytes: &[u8]) -> anyhow::Result<Song> {
    let smf = Smf::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(!smf.tracks.is_empty(), "no tracks");

    // Tempo map from every track (format 1 keeps it in the first one).
    let mut first_tempo = None;
    let mut tempi = 0;
    let clock = match smf.header.timing {
        Timing::Metrical(tpb) => {
            let tpb = tpb.as_int() as f64;
            anyhow::ensure!(tpb > 0.0, "zero ticks per beat");
            let mut tempos: Vec<(u64, u32)> = Vec::new();
            for track in &smf.tracks {
                let mut tick = 0u64;
                for ev in track {
                    tick += ev.delta.as_int() as u64;
                    if let TrackEventKind::Meta(MetaMessage::Tempo(t)) = ev.kind {
                        tempos.push((tick, t.as_int().max(1)));
                    }
                }
            }
            tempos.sort_by_key(|t| t.0);
            first_tempo = tempos.first().map(|t| 60e6 / t.1 as f64);
            let mut distinct: Vec<u32> = tempos.iter().map(|t| t.1).collect();
            distinct.sort();
            distinct.dedup();
            tempi = distinct.len();
            let mut segments = vec![(0u64, 0.0f64, 500_000.0 / 1e6 / tpb)];
            for (tick, us) in tempos {
                let s = Clock {
                    segments: segments.clone(),
                }
                .seconds(tick);
                let spt = us as f64 / 1e6 / tpb;
                if segments.last().is_some_and(|l| l.0 == tick) {
                    segments.last_mut().unwrap().2 = spt;
                } else {
                    segments.push((tick, s, spt));
                }
            }
            Clock { segments }
        }
        Timing::Timecode(fps, sub) => {
            let tps = fps.as_f32() as f64 * sub as f64;
            anyhow::ensure!(tps > 0.0, "zero ticks per second");
            Clock {
                segments: vec![(0, 0.0, 1.0 / tps)],
            }
        }
    };

    let mut meter = None;
    let mut key_signature = None;
    let mut first_meta_tick = (u64::MAX, u64::MAX);
    for track in &smf.tracks {
        let mut tick = 0u64;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            match ev.kind {
                TrackEventKind::Meta(MetaMessage::TimeSignature(n, d, ..)) if tick < first_meta_tick.0 => {
                    first_meta_tick.0 = tick;
                    meter = Some((n, 1u8.checked_shl(d as u32).unwrap_or(0)));
                }
                TrackEventKind::Meta(MetaMessage::KeySignature(sf, minor)) if tick < first_meta_tick.1 => {
                    first_meta_tick.1 = tick;
                    key_signature = Some((sf, minor));
                }
                _ => {}
            }
        }
    }

    // (track, channel) -> part; drums under (usize::MAX, 9) so they sort last.
    let mut parts: BTreeMap<(usize, u8), Part> = BTreeMap::new();
    for (ti, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        let mut name: Option<String> = None;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            match ev.kind {
                TrackEventKind::Meta(MetaMessage::TrackName(n)) if name.is_none() => {
                    let n = String::from_utf8_lossy(n).trim().to_string();
                    if !n.is_empty() {
                        name = Some(n);
                    }
                }
                TrackEventKind::Midi { channel, message } => {
                    let channel = channel.as_int();
                    let msg = match message {
                        MidiMessage::NoteOn { key, vel } if vel.as_int() == 0 => Msg::NoteOff { key: key.as_int() },
                        MidiMessage::NoteOn { key, vel } => Msg::NoteOn {
                            key: key.as_int(),
                            vel: vel.as_int(),
                        },
                        MidiMessage::NoteOff { key, .. } => Msg::NoteOff { key: key.as_int() },
                        MidiMessage::Aftertouch { key, vel } => Msg::KeyPressure {
                            key: key.as_int(),
                            value: vel.as_int(),
                        },
                        MidiMessage::Controller { controller, value } => Msg::Controller {
                            cc: controller.as_int(),
                            value: value.as_int(),
                        },
                        MidiMessage::ProgramChange { program } => Msg::Program(program.as_int()),
                        MidiMessage::ChannelAftertouch { vel } => Msg::ChannelPressure(vel.as_int()),
                        MidiMessage::PitchBend { bend } => Msg::PitchBend(bend.0.as_int()),
                    };
                    let is_drums = channel == DRUM_CHANNEL;
                    let key = if is_drums { (usize::MAX, channel) } else { (ti, channel) };
                    let part = parts.entry(key).or_insert_with(|| Part {
                        name: None,
                        track: ti,
                        channel,
                        is_drums,
                        events: Vec::new(),
                    });
                    part.events.push(Event {
                        time: clock.seconds(tick),
                        channel,
                        msg,
                    });
                }
                _ => {}
            }
        }
        if let Some(n) = name {
            for ((t, _), p) in parts.iter_mut() {
                if *t == ti && !p.is_drums {
                    p.name = Some(n.clone());
                }
            }
        }
    }

    let mut kept: Vec<Part> = parts.into_values().filter(|p| p.note_count() > 0).collect();
    for p in &mut kept {
        // Drums merge several tracks: order by time, keeping file order on ties.
        p.events.sort_by(|a, b| a.time.total_cmp(&b.time));
    }
    let duration = kept.iter().map(Part::end_time).fold(0.0, f64::max);
    Ok(Song {
        parts: kept,
        duration,
        tempo_qpm: first_tempo,
        tempi,
        meter,
        key_signature,
    })
}

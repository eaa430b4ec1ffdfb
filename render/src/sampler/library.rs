//! The sampled instruments a rendering may use: the catalogue's sets found on
//! disk (or instruments given directly, in tests), each loaded the first time
//! a part needs it and shared by all threads after that.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustysynth::SoundFont;

use super::catalogue::{Entry, Location, Role, CATALOGUE, HYDROGEN_DIR, SOUNDFONT_DIR};
use super::fetch::package_dir;
use super::hydrogen::load_kit;
use super::instrument::{Articulation, Instrument};
use super::pitched::{load_pitched, PitchedSpec};
use crate::render::synth::load_soundfont;

/// What to do with held-out sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HeldOut {
    /// Use every set.
    Include,
    /// Never use held-out sets (training, validation and test splits).
    Exclude,
    /// Where a part could be played by a held-out set, use one of those
    /// (the out-of-distribution test split).
    Prefer,
}

/// A loaded set, ready to play.
#[derive(Clone)]
pub enum Sound {
    Sampled(Arc<Instrument>),
    /// A SoundFont preset chosen explicitly (drum kits whose presets are not
    /// in the GM drum bank).
    SoundFontKit {
        path: PathBuf,
        font: Arc<SoundFont>,
        bank: u8,
        program: u8,
    },
}

impl Sound {
    /// Whether every key in `lo..=hi` suits this sound.
    pub fn covers(&self, lo: u8, hi: u8) -> bool {
        match self {
            Sound::Sampled(i) => i.covers(lo, hi),
            Sound::SoundFontKit { .. } => true,
        }
    }
}

enum Loader {
    Pitched(PitchedSpec),
    Hydrogen(PathBuf),
    SoundFontKit(PathBuf, u8, u8),
    Ready(Sound),
}

pub struct Set {
    pub name: String,
    pub role: Role,
    pub held_out: bool,
    loader: Loader,
    loaded: OnceLock<Result<Sound, String>>,
}

impl Set {
    /// The loaded sound; a set that fails to load reports why (once per
    /// set, the caller decides whether that is fatal).
    pub fn sound(&self) -> Result<&Sound, &str> {
        self.loaded
            .get_or_init(|| {
                let loaded = match &self.loader {
                    Loader::Pitched(spec) => load_pitched(spec).map(|i| Sound::Sampled(Arc::new(i))),
                    Loader::Hydrogen(dir) => load_kit(&self.name, dir).map(|i| Sound::Sampled(Arc::new(i))),
                    Loader::SoundFontKit(path, bank, program) => load_soundfont(path).map(|font| Sound::SoundFontKit {
                        path: path.clone(),
                        font,
                        bank: *bank,
                        program: *program,
                    }),
                    Loader::Ready(s) => Ok(s.clone()),
                };
                loaded.map_err(|e| format!("{}: {e:#}", self.name))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

#[derive(Default)]
pub struct Library {
    pub sets: Vec<Set>,
    /// Catalogue sets whose files were not found (name, where they were looked for).
    pub missing: Vec<(String, PathBuf)>,
}

impl Library {
    /// The catalogue's sets found on disk: npm packages under `samples_dir`
    /// (as `cocola-render fetch-samples` puts them), Debian's kits at their
    /// installed paths. `held_out`: `Exclude` leaves held-out sets out.
    pub fn from_catalogue(samples_dir: &Path, held_out: HeldOut) -> Library {
        let mut lib = Library::default();
        for e in CATALOGUE {
            if held_out == HeldOut::Exclude && e.held_out {
                continue;
            }
            match locate(e, samples_dir) {
                Ok(loader) => lib.sets.push(Set {
                    name: e.name.to_string(),
                    role: e.role,
                    held_out: e.held_out,
                    loader,
                    loaded: OnceLock::new(),
                }),
                Err(path) => lib.missing.push((e.name.to_string(), path)),
            }
        }
        lib
    }

    /// A library of ready instruments (tests, or sets built elsewhere).
    pub fn from_sounds(sounds: Vec<(String, Role, bool, Sound)>) -> Library {
        Library {
            sets: sounds
                .into_iter()
                .map(|(name, role, held_out, sound)| Set {
                    name,
                    role,
                    held_out,
                    loader: Loader::Ready(sound),
                    loaded: OnceLock::new(),
                })
                .collect(),
            missing: Vec::new(),
        }
    }

    /// Sets that can play GM `program` over keys `lo..=hi` (loading them to
    /// know their range), by the held-out policy. Sets that fail to load
    /// are left out.
    pub fn pitched_for(&self, program: u8, lo: u8, hi: u8, held_out: HeldOut) -> Vec<&Set> {
        let found = self.sets.iter().filter(|s| match s.role {
            Role::Pitched { programs, .. } => {
                programs.contains(&program) && s.sound().is_ok_and(|snd| snd.covers(lo, hi))
            }
            Role::DrumKit => false,
        });
        by_policy(found.collect(), held_out)
    }

    /// Sets that were tried and failed to load, with the reason.
    pub fn failures(&self) -> Vec<String> {
        self.sets
            .iter()
            .filter_map(|s| s.loaded.get().and_then(|r| r.as_ref().err().cloned()))
            .collect()
    }

    /// Drum kits, by the held-out policy.
    pub fn drum_kits(&self, held_out: HeldOut) -> Vec<&Set> {
        let found = self.sets.iter().filter(|s| s.role == Role::DrumKit);
        by_policy(found.collect(), held_out)
    }
}

fn by_policy(sets: Vec<&Set>, held_out: HeldOut) -> Vec<&Set> {
    match held_out {
        HeldOut::Include => sets,
        HeldOut::Exclude => sets.into_iter().filter(|s| !s.held_out).collect(),
        HeldOut::Prefer => {
            if sets.iter().any(|s| s.held_out) {
                sets.into_iter().filter(|s| s.held_out).collect()
            } else {
                sets
            }
        }
    }
}

/// How to load `e` from disk, or the path that is missing.
fn locate(e: &Entry, samples_dir: &Path) -> Result<Loader, PathBuf> {
    match (e.location, e.role) {
        (
            Location::Npm {
                packages,
                version,
                subdir,
            },
            Role::Pitched {
                sustaining,
                release_seconds,
                ..
            },
        ) => {
            let layers: Vec<PathBuf> = packages
                .iter()
                .map(|p| package_dir(samples_dir, p, version).join(subdir))
                .collect();
            if let Some(missing) = layers.iter().find(|d| !d.is_dir()) {
                return Err(missing.clone());
            }
            Ok(Loader::Pitched(PitchedSpec {
                name: e.name.to_string(),
                layers,
                articulation: Articulation {
                    release_seconds,
                    one_shot: false,
                    pitched: true,
                },
                sustaining,
            }))
        }
        (Location::HydrogenKit { folder, .. }, _) => {
            let dir = Path::new(HYDROGEN_DIR).join(folder);
            if dir.join("drumkit.xml").is_file() {
                Ok(Loader::Hydrogen(dir))
            } else {
                Err(dir)
            }
        }
        (
            Location::SoundFontKit {
                file, bank, program, ..
            },
            _,
        ) => {
            let path = Path::new(SOUNDFONT_DIR).join(file);
            if path.is_file() {
                Ok(Loader::SoundFontKit(path, bank, program))
            } else {
                Err(path)
            }
        }
        (Location::Npm { packages, version, .. }, Role::DrumKit) => Err(package_dir(
            samples_dir,
            packages.first().copied().unwrap_or("?"),
            version,
        )),
    }
}

/// One line about a set (loading it): recordings, zones, key range, and
/// for pitched sets the tuning measured on the recordings.
pub fn describe(set: &Set) -> String {
    match set.sound() {
        Err(e) => format!("failed to load: {e}"),
        Ok(Sound::SoundFontKit {
            path, bank, program, ..
        }) => {
            format!("SoundFont {} preset {bank}:{program}", path.display())
        }
        Ok(Sound::Sampled(i)) => {
            let recordings = {
                let mut ptrs: Vec<*const super::instrument::Sample> =
                    i.zones.iter().map(|z| Arc::as_ptr(&z.sample)).collect();
                ptrs.sort();
                ptrs.dedup();
                ptrs.len()
            };
            let mut line = format!(
                "{recordings} recordings, {} zones, keys {}..={}",
                i.zones.len(),
                i.range.0,
                i.range.1
            );
            let measured: Vec<f64> = i.tuning.iter().filter_map(|t| t.1).collect();
            if !i.tuning.is_empty() {
                let mean_abs = measured.iter().map(|c| c.abs()).sum::<f64>() / measured.len().max(1) as f64;
                let worst = measured.iter().fold(0f64, |m, c| m.max(c.abs()));
                line += &format!(
                    "; tuning measured and corrected on {}/{} recordings: mean |{mean_abs:.1}| cents, max {worst:.1}",
                    measured.len(),
                    i.tuning.len(),
                );
            }
            line
        }
    }
}

//! Finding and starting ONNX Runtime 1.31.1.
//!
//! `ort` is built with `load-dynamic`: the runtime is a shared library loaded
//! at run time, once per process. Where it is looked for, in order:
//!
//! 1. the path the caller gives (`--ort-lib`, [`super::LoadOptions::ort_library`]);
//!    a directory is searched for the library file names;
//! 2. the environment variable `COCOLA_ORT_LIB`, then `ORT_DYLIB_PATH`;
//! 3. next to the running executable, then in the caller's directory hint (the
//!    plugin passes the directory of its own `.so`, the Python package the
//!    `onnxruntime` package's `capi/` folder), each also in `../lib`;
//! 4. the user cache `${XDG_CACHE_HOME:-~/.cache}/cocola/onnxruntime/1.31.1/`,
//!    where `cargo xtask setup` puts it.
//!
//! A path named in 1 or 2 that is missing or does not load is an error (the
//! user asked for that library; silently using another would hide the
//! mistake). Places in 3 and 4 are tried in order until one loads.
//!
//! The first successful initialisation wins for the whole process (ONNX
//! Runtime and `ort` allow one library and one environment per process);
//! later calls return it, whatever they ask for. [`init`] is thread-safe and
//! idempotent. A failed attempt leaves nothing behind, so it can be retried.
//!
//! `ort` would itself panic if any of its APIs were used before a library was
//! loaded; the model code only reaches `ort` through [`init`], so that cannot
//! happen here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The ONNX Runtime version the `ort` crate in use was built for.
pub const ORT_VERSION: &str = "1.31.1";
/// Environment variable naming the library (checked first).
pub const ENV_COCOLA_ORT_LIB: &str = "COCOLA_ORT_LIB";
/// Environment variable `ort` itself uses (checked second).
pub const ENV_ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";

/// File names of the library, most specific first.
#[cfg(target_os = "linux")]
pub const LIBRARY_NAMES: &[&str] = &["libonnxruntime.so.1.31.1", "libonnxruntime.so.1", "libonnxruntime.so"];
#[cfg(target_os = "macos")]
pub const LIBRARY_NAMES: &[&str] = &["libonnxruntime.1.31.1.dylib", "libonnxruntime.dylib"];
#[cfg(target_os = "windows")]
pub const LIBRARY_NAMES: &[&str] = &["onnxruntime.dll"];
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub const LIBRARY_NAMES: &[&str] = &["libonnxruntime.so"];

/// How to get the library, for error messages.
const HOW_TO_GET: &str = "Install it with `cargo xtask setup` (run in the cocola source tree; it puts the \
library in the user cache), or take `onnxruntime/capi/libonnxruntime.so.1.31.1` from PyPI's \
`onnxruntime==1.31.1` wheel and set COCOLA_ORT_LIB to its absolute path.";

/// Where a candidate path came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Explicit,
    EnvVar(&'static str),
    NextToExecutable,
    DirectoryHint,
    UserCache,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Explicit => f.write_str("given by the caller"),
            Source::EnvVar(v) => write!(f, "from ${v}"),
            Source::NextToExecutable => f.write_str("next to the executable"),
            Source::DirectoryHint => {
                f.write_str("where the host looks: the plugin's folder, the Python onnxruntime package")
            }
            Source::UserCache => f.write_str("user cache"),
        }
    }
}

/// One place looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub source: Source,
}

impl Candidate {
    /// Places named by the caller or an environment variable must work.
    fn is_demanded(&self) -> bool {
        matches!(self.source, Source::Explicit | Source::EnvVar(_))
    }
}

/// The loaded runtime.
pub struct Runtime {
    /// Absolute path of the library that was loaded.
    pub library: PathBuf,
    pub(crate) environment: ort::environment::Environment,
}

/// Shared handle to the process's runtime.
#[derive(Clone, Debug)]
pub struct RuntimeHandle(pub(crate) Arc<Runtime>);

impl RuntimeHandle {
    pub fn library(&self) -> &Path {
        &self.0.library
    }
    /// The process-wide `ort` environment, for creating other sessions.
    pub fn environment(&self) -> &ort::environment::Environment {
        &self.0.environment
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("library", &self.library).finish()
    }
}

/// Why ONNX Runtime could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("ONNX Runtime {ORT_VERSION} was not found. Looked in:{}\n{HOW_TO_GET}", list_places(.looked))]
    NotFound { looked: Vec<Candidate> },

    #[error("the ONNX Runtime library {} ({source_kind}) does not exist.\n{HOW_TO_GET}", .path.display())]
    Missing { path: PathBuf, source_kind: Source },

    #[error(
        "cannot load ONNX Runtime from {} ({source_kind}): {reason}\nIt must be ONNX Runtime {ORT_VERSION} \
         (or newer 1.x) for this platform. {HOW_TO_GET}", .path.display()
    )]
    LoadFailed {
        path: PathBuf,
        source_kind: Source,
        reason: String,
    },

    #[error("no ONNX Runtime library could be loaded:{}\n{HOW_TO_GET}", list_failures(.failures))]
    AllFailed { failures: Vec<(Candidate, String)> },

    #[error("ONNX Runtime loaded from {} but its environment could not be created: {reason}", .path.display())]
    Environment { path: PathBuf, reason: String },
}

fn list_places(looked: &[Candidate]) -> String {
    looked
        .iter()
        .map(|c| format!("\n  - {} ({})", c.path.display(), c.source))
        .collect()
}

fn list_failures(failures: &[(Candidate, String)]) -> String {
    failures
        .iter()
        .map(|(c, e)| format!("\n  - {} ({}): {e}", c.path.display(), c.source))
        .collect()
}

/// The user-cache location `cargo xtask setup` installs to.
pub fn user_cache_library() -> Option<PathBuf> {
    Some(
        crate::user_cache::dir()?
            .join("onnxruntime")
            .join(ORT_VERSION)
            .join(LIBRARY_NAMES[0]),
    )
}

fn in_dir(dir: &Path, source: Source, out: &mut Vec<Candidate>) {
    for sub in [dir.to_path_buf(), dir.join("..").join("lib")] {
        for name in LIBRARY_NAMES {
            out.push(Candidate {
                path: sub.join(name),
                source: source.clone(),
            });
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Every place looked at, in order (see the module documentation).
pub fn candidates(explicit: Option<&Path>, dir_hint: Option<&Path>) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(Candidate {
            path: absolute(p),
            source: Source::Explicit,
        });
    }
    for var in [ENV_COCOLA_ORT_LIB, ENV_ORT_DYLIB_PATH] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            out.push(Candidate {
                path: absolute(Path::new(&v)),
                source: Source::EnvVar(var),
            });
        }
    }
    if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
        in_dir(dir, Source::NextToExecutable, &mut out);
    }
    if let Some(dir) = dir_hint {
        in_dir(&absolute(dir), Source::DirectoryHint, &mut out);
    }
    if let Some(p) = user_cache_library() {
        out.push(Candidate {
            path: p,
            source: Source::UserCache,
        });
    }
    out
}

/// A demanded path that is a directory: the first library file inside it.
fn resolve_dir(c: &Candidate) -> Candidate {
    if c.path.is_dir() {
        if let Some(p) = LIBRARY_NAMES.iter().map(|n| c.path.join(n)).find(|p| p.is_file()) {
            return Candidate {
                path: p,
                source: c.source.clone(),
            };
        }
    }
    c.clone()
}

static RUNTIME: Mutex<Option<RuntimeHandle>> = Mutex::new(None);

/// Loads ONNX Runtime (once per process) and returns the shared runtime.
/// See the module documentation for the search order.
pub fn init(explicit: Option<&Path>, dir_hint: Option<&Path>) -> Result<RuntimeHandle, RuntimeError> {
    // A panic while holding the lock cannot leave the Option half-written.
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = slot.as_ref() {
        return Ok(rt.clone());
    }
    let looked = candidates(explicit, dir_hint);
    let mut failures = Vec::new();
    for c in &looked {
        let c = if c.is_demanded() { resolve_dir(c) } else { c.clone() };
        if !c.path.is_file() {
            if c.is_demanded() {
                return Err(RuntimeError::Missing {
                    path: c.path,
                    source_kind: c.source,
                });
            }
            continue;
        }
        match load(&c.path) {
            Ok(rt) => {
                let handle = RuntimeHandle(Arc::new(rt));
                *slot = Some(handle.clone());
                return Ok(handle);
            }
            Err(LoadError::Library(reason)) if c.is_demanded() => {
                return Err(RuntimeError::LoadFailed {
                    path: c.path,
                    source_kind: c.source,
                    reason,
                });
            }
            Err(LoadError::Library(reason)) => failures.push((c, reason)),
            Err(LoadError::Environment(e)) => return Err(e),
        }
    }
    if failures.is_empty() {
        Err(RuntimeError::NotFound { looked })
    } else {
        Err(RuntimeError::AllFailed { failures })
    }
}

/// The runtime if one has been initialised.
pub fn current() -> Option<RuntimeHandle> {
    RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

enum LoadError {
    Library(String),
    Environment(RuntimeError),
}

fn load(path: &Path) -> Result<Runtime, LoadError> {
    // `init_from` opens the library, checks that it exports the ONNX Runtime
    // API and that its version is at least the one `ort` was built for; every
    // failure is an error value (no panic). Once it succeeds, the library
    // stays loaded for the rest of the process.
    let builder = ort::init_from(path).map_err(|e| LoadError::Library(e.to_string()))?;
    let environment = builder.with_name("cocola").build().map_err(|e| {
        LoadError::Environment(RuntimeError::Environment {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    })?;
    Ok(Runtime {
        library: path.to_path_buf(),
        environment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_order_starts_with_the_explicit_path_and_ends_in_the_cache() {
        let c = candidates(Some(Path::new("/x/libonnxruntime.so")), Some(Path::new("/plugin/dir")));
        assert_eq!(
            c[0],
            Candidate {
                path: "/x/libonnxruntime.so".into(),
                source: Source::Explicit
            }
        );
        let hint = c.iter().position(|c| c.source == Source::DirectoryHint).unwrap();
        let exe = c.iter().position(|c| c.source == Source::NextToExecutable).unwrap();
        assert!(exe < hint);
        assert!(c
            .iter()
            .any(|c| c.path == Path::new("/plugin/dir/../lib").join(LIBRARY_NAMES[0])));
        if user_cache_library().is_some() {
            assert_eq!(c.last().unwrap().source, Source::UserCache);
        }
    }
}

//! Finding the MIDI inputs of a run and naming the tracks they become.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// MIDI inputs: files, or directories searched recursively for .mid/.midi.
/// Returns (track base name, path); names of files found in a directory are
/// their relative path with separators turned into `_`.
pub fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut files = Vec::new();
            walk(input, &mut files)?;
            for f in files {
                let rel = f.strip_prefix(input).unwrap_or(&f).with_extension("");
                let name: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                found.push((sanitize(&name.join("_")), f));
            }
        } else if input.is_file() {
            let stem = input
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push((sanitize(&stem), input.clone()));
        } else {
            anyhow::bail!("{}: no such MIDI file or directory", input.display());
        }
    }
    let mut seen = std::collections::HashMap::new();
    for (name, path) in &found {
        if let Some(prev) = seen.insert(name.clone(), path.clone()) {
            anyhow::bail!(
                "{} and {}: both would be track {name:?}",
                prev.display(),
                path.display()
            );
        }
    }
    Ok(found)
}

/// A name safe as a directory: ASCII letters, digits, `-`, `_`, `.`, no
/// leading dot; everything else becomes `_`.
fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let t = t.trim_start_matches('.').to_string();
    if t.is_empty() {
        "track".into()
    } else {
        t
    }
}

/// Output track name of a variant.
pub fn track_name(base: &str, variant: usize, variants: usize) -> String {
    if variants <= 1 {
        base.to_string()
    } else {
        format!("{base}.v{variant}")
    }
}

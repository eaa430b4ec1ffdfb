//! `--plot FILE.png|svg` and `--report FILE.html`, shared by `score`,
//! `eval`, `merge` and `rank`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use cocola::visual::{self, Chart, Format};

#[derive(Args, Clone, Debug, Default)]
pub struct VisualArgs {
    /// Draw the command's chart to this file: .png or .svg (score: timeline of the three modes;
    /// eval/merge: score distributions, or accuracy@K; rank: bars per candidate and timelines).
    #[arg(long, value_name = "FILE.png|svg")]
    pub plot: Option<PathBuf>,
    /// Write a self-contained HTML report (summary, charts, sortable tables; reads offline).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// Fails before any work when `path` cannot be written: its folder is missing.
pub fn check_writable(path: &Path) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    anyhow::ensure!(
        dir.is_dir(),
        "cannot write {}: folder {} does not exist",
        path.display(),
        dir.display()
    );
    Ok(())
}

impl VisualArgs {
    /// Checks the file names and folders before the work starts.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(plot) = &self.plot {
            Format::of(plot)?;
            check_writable(plot)?;
        }
        if let Some(report) = &self.report {
            check_writable(report)?;
        }
        Ok(())
    }

    /// Draws the chart if `--plot` was given.
    pub fn write_plot<C: Chart>(&self, chart: impl FnOnce() -> C) -> anyhow::Result<()> {
        if let Some(path) = &self.plot {
            visual::write(&chart(), path)?;
        }
        Ok(())
    }

    /// Writes the page if `--report` was given.
    pub fn write_report(&self, page: impl FnOnce() -> Result<String, visual::ChartError>) -> anyhow::Result<()> {
        if let Some(path) = &self.report {
            let html = page()?;
            cocola::atomic_file::write_bytes(path, html.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    /// Lines naming the files written, for the terminal summary.
    pub fn written(&self) -> String {
        let mut text = String::new();
        if let Some(p) = &self.plot {
            text.push_str(&format!("chart: {}\n", p.display()));
        }
        if let Some(p) = &self.report {
            text.push_str(&format!("report: {}\n", p.display()));
        }
        text
    }
}

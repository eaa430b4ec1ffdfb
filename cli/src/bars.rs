//! Progress on the terminal: bars on stderr (hidden when stderr is not a
//! terminal), warnings printed above the bar so they do not tear it.

use std::io::IsTerminal;
use std::sync::Mutex;

use cocola::eval::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// Progress bars on stderr, hidden when stderr is not a terminal; warnings
/// printed above the bar so they do not tear it.
pub struct Bars {
    visible: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new() -> Self {
        Self {
            visible: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn current(&self) -> Option<ProgressBar> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Progress for Bars {
    fn begin(&self, stage: &str, total: u64) {
        let bar = if self.visible {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg:<20} {pos:>6}/{len:<6} {wide_bar} {elapsed_precise} eta {eta}")
                .expect("static template"),
        );
        bar.set_message(stage.to_string());
        if let Some(old) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, steps: u64) {
        if let Some(bar) = self.current() {
            bar.inc(steps);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    fn warn(&self, message: &str) {
        match self.current() {
            Some(bar) => bar.suspend(|| eprintln!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }
}

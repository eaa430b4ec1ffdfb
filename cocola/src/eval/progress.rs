//! How an evaluation reports progress and warnings while it runs. The library
//! only calls this trait; the CLI draws progress bars with it, tests ignore it.

/// Receives progress of the stages of an evaluation, and warnings as they
/// arise (they are also collected in the final report).
pub trait Progress: Sync {
    /// A stage with `total` steps starts (e.g. "decoding tracks", 50).
    fn begin(&self, stage: &str, total: u64);
    /// `steps` more steps of the current stage are done.
    fn advance(&self, steps: u64);
    /// The current stage is over.
    fn end(&self);
    /// Something the user should know that does not stop the evaluation.
    fn warn(&self, message: &str);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _stage: &str, _total: u64) {}
    fn advance(&self, _steps: u64) {}
    fn end(&self) {}
    fn warn(&self, _message: &str) {}
}

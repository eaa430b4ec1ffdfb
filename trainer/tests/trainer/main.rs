//! The trainer's integration tests, one binary (each module one area):
//! libtorch is linked once instead of once per file. `network_golden` is a
//! binary of its own: it compares two training passes seeded through
//! libtorch's global generator, which tests running beside it would draw from.

mod cli;
mod crash_resume;
mod export_parity;
mod layouts;
mod support;
mod training;

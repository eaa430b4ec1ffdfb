//! The trainer's integration tests, one binary (each module one area):
//! libtorch is linked once instead of once per file.

mod cli;
mod crash_resume;
mod export_parity;
mod layouts;
mod network_golden;
mod support;
mod training;

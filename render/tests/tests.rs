//! Integration tests of `cocola-render`, one binary with a module per area.

mod generate;
mod render;
mod render_samples;
mod sampler;
mod twins;

//! Integration tests of `cocola-render`, one binary with a module per area.

mod generate;
mod render;
mod sampler;
mod twins;

//! Charts (PNG or SVG) and self-contained HTML reports of scores,
//! evaluations and rankings, for people to read at a glance.
//!
//! - [`chart`]: rendering any chart to SVG or PNG (plotters; embedded font).
//! - [`timeline`], [`distribution`], [`rank_chart`], [`accuracy_chart`]: the charts.
//! - [`html`]: the page builder (inline CSS, SVG and a sorting script).
//! - [`pages`]: each command's report, and the chart its `--plot` draws.

pub mod accuracy_chart;
pub mod chart;
pub mod distribution;
pub mod html;
pub mod pages;
pub mod rank_chart;
pub mod timeline;

pub use chart::{to_png, to_svg, write, Chart, ChartError, Format};
pub use pages::ModelLine;

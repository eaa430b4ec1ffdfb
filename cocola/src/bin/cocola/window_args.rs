//! The windowing options shared by `score` and `eval`.

use clap::Args;
use cocola::score::WindowOptions;

#[derive(Args, Clone, Copy, Debug)]
pub struct WindowArgs {
    /// Seconds between window starts (windows are always 5 s long).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = parse_hop)]
    pub hop: f32,
    /// Windows quieter than this (RMS dBFS) are not scored: for pairs, on either side; for
    /// `eval --stems`, the full mix.
    #[arg(long = "silence-db", default_value_t = -60.0, value_name = "DBFS", allow_negative_numbers = true)]
    pub silence_db: f32,
}

impl WindowArgs {
    pub fn options(&self) -> WindowOptions {
        WindowOptions {
            hop_seconds: self.hop,
            silence_dbfs: self.silence_db,
        }
    }
}

fn parse_hop(text: &str) -> Result<f32, String> {
    let hop: f32 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    WindowOptions::check_hop(hop)?;
    Ok(hop)
}

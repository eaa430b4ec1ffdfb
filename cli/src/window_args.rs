//! The windowing and direction options shared by `score` and `eval`.

use clap::{Args, ValueEnum};
use cocola::score::{Direction, WindowOptions};

/// A named set of windowing settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// The windowing of published evaluations with COCOLA: 5 s windows every
    /// 2.5 s, every window scored (none skipped as silent), the mean over a
    /// file's windows; a set is then summarised by mean and standard deviation.
    Published,
}

#[derive(Args, Clone, Copy, Debug)]
pub struct WindowArgs {
    /// Seconds between window starts (windows are always 5 s long).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = parse_hop)]
    pub hop: f32,
    /// Windows quieter than this (RMS dBFS) are not scored: for pairs, on either side; for
    /// `eval --stems`, the full mix.
    #[arg(long = "silence-db", default_value_t = -60.0, value_name = "DBFS", allow_negative_numbers = true)]
    pub silence_db: f32,
    /// Windowing preset: `published` = --hop 2.5 and no window skipped as silent, as published
    /// evaluations with COCOLA compute it (not combined with --hop or --silence-db).
    #[arg(long, value_enum, value_name = "PRESET", conflicts_with_all = ["hop", "silence_db"])]
    pub protocol: Option<Protocol>,
}

impl WindowArgs {
    pub fn options(&self) -> WindowOptions {
        match self.protocol {
            Some(Protocol::Published) => WindowOptions {
                hop_seconds: 2.5,
                silence_dbfs: f32::NEG_INFINITY,
            },
            None => WindowOptions {
                hop_seconds: self.hop,
                silence_dbfs: self.silence_db,
            },
        }
    }
}

/// Which way the bilinear score is read.
#[derive(Args, Clone, Copy, Debug)]
pub struct DirectionArgs {
    /// Report the mean of both directions, (f(c)^T W f(s) + f(s)^T W f(c)) / 2, instead of
    /// f(c)^T W f(s): order-free, as later work with COCOLA reports it. Symmetric scores have no
    /// calibrated fit (the calibration was measured in one direction).
    #[arg(long)]
    pub symmetric: bool,
}

impl DirectionArgs {
    pub fn direction(&self) -> Direction {
        if self.symmetric {
            Direction::Symmetric
        } else {
            Direction::ConditionStem
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

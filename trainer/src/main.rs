//! `cocola-trainer`: train, evaluate and export COCOLA encoders.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cocola-trainer", version, about = "Train, evaluate and export COCOLA encoders (libtorch)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the libtorch version, CUDA availability and the training device.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Doctor => {
            print!("{}", cocola_trainer::doctor::report());
            ExitCode::SUCCESS
        }
    }
}

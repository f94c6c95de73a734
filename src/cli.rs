//! The command line: subcommands, their flags (each with an environment variable where a
//! deployment would set it), logging set-up, and exit codes.

use crate::commands::{demo, fit, simulate};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cj-assessment",
    version,
    about = "Comparative-judgement assessment: LLM pairwise verdicts → Bradley–Terry scale → grades"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one whole batch in memory with a simulated judge and print the ranking.
    Demo(demo::DemoArgs),
    /// Measure ranking and grading quality over many simulated batches.
    Simulate(simulate::SimulateArgs),
    /// Fit Bradley–Terry scores (and grades, with anchors) to your own comparison data.
    Fit(fit::FitArgs),
}

impl Cli {
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Demo(args) => demo::run(args),
            Command::Simulate(args) => simulate::run(args),
            Command::Fit(args) => fit::run(args),
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings only, so command output stays
/// readable).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// 2 for bad input the user can fix, 1 for everything else.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<fit::InputError>().is_some() {
        2
    } else {
        1
    }
}

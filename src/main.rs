//! Entry point: parse the command line, set up logging, run the subcommand.

use cj_assessment::cli::Cli;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cj_assessment::cli::init_tracing(cli.log_format);
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(cj_assessment::cli::exit_code_for(&error))
        }
    }
}

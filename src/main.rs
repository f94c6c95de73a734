//! Entry point: parse the command line, set up logging, run the subcommand.
//!
//! The process allocates through mimalloc rather than glibc's malloc: under `bench scale`
//! glibc's allocator was the largest item of `serve`'s own CPU (about a quarter of its
//! samples; ADR 0017), and the service allocates and frees many small, short-lived
//! buffers (decoded events, commands, JSON) on every tokio worker thread
//! (docs/benchmarks.md, Scale).

use cj_assessment::cli::Cli;
use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

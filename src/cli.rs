//! The command line: subcommands (the operator commands of [`crate::commands`] and the lab's
//! of [`crate::lab::commands`]), their flags (each with an environment variable where a
//! deployment would set it), logging set-up, and exit codes.

use crate::commands::{
    anchors, assess, calibrate, fit, history, inspect, instructions, migrate, replay, serve, token,
    DatabaseArgs,
};
use crate::lab::commands::{bench, demo, llm_sim, run_eng5, simulate};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cj-assessment",
    version,
    about = "Comparative-judgement assessment: LLM pairwise verdicts → Bradley–Terry scale → grades"
)]
pub struct Cli {
    /// How log lines on stderr look: `text` for people, `json` (one object a line) for a
    /// log pipeline (docs/ops/runbook.md, "Logs").
    #[arg(long = "log-format", env = "CJ_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The shape of the log lines on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; span fields in front of the message.
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, the event's fields
    /// (`message` among them) at the top level, and the innermost span's fields under `span`.
    Json,
}

impl LogFormat {
    /// The value `--log-format` / `CJ_LOG_FORMAT` takes for this format.
    pub fn as_arg(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one whole batch with a simulated judge and print the ranking (in memory, or on
    /// PostgreSQL with --database-url).
    Demo(demo::DemoArgs),
    /// Measure ranking and grading quality over many simulated batches.
    Simulate(simulate::SimulateArgs),
    /// Fit Bradley–Terry scores (and grades, with anchors) to your own comparison data.
    Fit(fit::FitArgs),
    /// Create or update the PostgreSQL schema (event store, projections, views).
    Migrate(DatabaseArgs),
    /// Rebuild projections from the event log.
    Replay(replay::ReplayArgs),
    /// Print every event of one batch, in order.
    History(history::HistoryArgs),
    /// Print what an operator needs to know about one batch.
    Inspect(inspect::InspectArgs),
    /// Run the service: consumers, dispatcher, projectors, outbox relay, monitor, HTTP.
    Serve(Box<serve::ServeArgs>),
    /// Drive one batch end to end through a running service and check its outcome.
    RunEng5(Box<run_eng5::RunArgs>),
    /// Submit a folder of essays to a running service, follow it and print the ranking.
    Assess(Box<assess::AssessArgs>),
    /// Mint tokens for the admin API (`token dev`).
    Token(token::TokenArgs),
    /// Register or list an assignment's anchor essays of known grade.
    Anchors(anchors::AnchorsArgs),
    /// Ask for a calibration round of an assignment's anchors, to settle its scale.
    Calibrate(calibrate::CalibrateArgs),
    /// Set, show or delete an assignment's grade scale and judging instructions.
    Instructions(instructions::InstructionsArgs),
    /// Serve a simulated LLM Provider Service that publishes its verdicts to Kafka.
    LlmSim(Box<llm_sim::LlmSimArgs>),
    /// Measure a promise of the service next to its physical limit (docs/benchmarks.md).
    Bench(bench::BenchArgs),
}

impl Cli {
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Demo(args) => demo::run(args),
            Command::Simulate(args) => simulate::run(args),
            Command::Fit(args) => fit::run(args),
            Command::Migrate(args) => migrate::run(args),
            Command::Replay(args) => replay::run(args),
            Command::History(args) => history::run(args),
            Command::Inspect(args) => inspect::run(args),
            Command::Serve(args) => serve::run(*args),
            Command::Token(args) => token::run(args),
            Command::Assess(args) => assess::run(*args),
            Command::RunEng5(args) => run_eng5::run(*args),
            Command::Anchors(args) => anchors::run(args),
            Command::Calibrate(args) => calibrate::run(args),
            Command::Instructions(args) => instructions::run(args),
            Command::LlmSim(args) => llm_sim::run(*args),
            Command::Bench(args) => bench::run(args),
        }
    }
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` (default: warnings only, so command
/// output stays readable).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // Event fields flattened to the top level; of the spans only the innermost, whole,
        // under `span` — each span the service opens carries `batch_id` and
        // `correlation_id` itself, so a pipeline finds them at `span.batch_id` and
        // `span.correlation_id` without walking a list.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// 2 for bad input the user can fix, 1 for everything else.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<fit::InputError>().is_some()
        || error.downcast_ref::<calibrate::RoundRefused>().is_some()
    {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_is_text_unless_asked_and_goes_before_or_after_the_subcommand() {
        let default = Cli::try_parse_from(["cj-assessment", "demo"]).expect("parses");
        assert_eq!(default.log_format, LogFormat::Text);
        for args in [
            ["cj-assessment", "--log-format", "json", "demo"],
            ["cj-assessment", "demo", "--log-format", "json"],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            assert_eq!(cli.log_format, LogFormat::Json, "{args:?}");
        }
        assert!(Cli::try_parse_from(["cj-assessment", "--log-format", "xml", "demo"]).is_err());
    }

    #[test]
    fn the_format_round_trips_through_its_argument() {
        for format in [LogFormat::Text, LogFormat::Json] {
            assert_eq!(LogFormat::from_str(format.as_arg(), false), Ok(format));
        }
    }
}

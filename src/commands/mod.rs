//! The operator commands, one module per subcommand (`serve`, `migrate`, `replay`, `history`,
//! `inspect`, `fit`, `token`, `anchors`, `calibrate`, `instructions`,
//! `assess`), plus what every command shares:
//! [`DatabaseArgs`], [`block_on`] and [`progress`] (the progress bar of `replay` and
//! `run-eng5`). The lab's commands live in `crate::lab::commands`; `crate::cli` dispatches
//! to both. The arrows point one way: the CLI names the commands, never the reverse.

pub mod anchors;
pub mod assess;
pub mod calibrate;
pub mod event_summary;
pub mod fit;
pub mod fit_input;
pub mod history;
pub mod inspect;
pub mod instructions;
pub mod migrate;
pub mod progress;
pub mod replay;
pub mod serve;
pub mod token;

use clap::Args;
use std::future::Future;

/// Where the event store and projections live.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/cj.
    #[arg(long = "database-url", env = "CJ_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

/// Runs a database command's future on a multi-threaded runtime (projectors and the
/// notification listener run beside it).
pub fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

//! Benchmarks: what the service promises, measured next to the physical limit it is held
//! against, in the same run on the same machine (`cj-assessment bench <name>`; results and
//! the commands that produced them in `docs/benchmarks.md`). Benchmarks print figures;
//! they assert only that the work they timed was done (every batch finished, every stuck
//! batch swept), never a time.
//!
//! - [`completion_latency`] — deciding callback produced → both completion events
//!   consumable, against two broker hops and a durable commit.
//! - [`callback_throughput`] — callbacks/s from the broker through the aggregate to every
//!   projection, against `pgbench` single-row durable inserts ([`anchors`]).
//! - [`monitor_sweep`] — one sweep over 10,000 batches with 1,000 stuck, against as many
//!   durable commits.
//! - [`replay`] — a million events into every projection, against reading the log.
//! - [`scale`] — 1,000 concurrent batches: the service's peak memory and callback rate.
//! - [`bt_fit`] — our Bradley–Terry fit against choix.
//! - [`reference_fit`] — the reference estimator with split halves on the largest real CJ
//!   session, against choix.
//!
//! Shared pieces: [`scratch_database`] (each run's own database), [`synthetic_log`] (logs
//! of a chosen size, decided by the real aggregate), [`pipeline`] (the service as a child
//! process with the simulated provider and a broker), [`report`] and [`machine`] (what is
//! printed).

pub mod anchors;
pub mod bt_fit;
pub mod callback_throughput;
pub mod completion_latency;
pub mod machine;
pub mod monitor_sweep;
pub mod pipeline;
pub mod reference_fit;
pub mod replay;
pub mod report;
pub mod scale;
pub mod scraped;
pub mod scratch_database;
pub mod synthetic_log;

use clap::Args;

/// Where benchmarks run: the PostgreSQL server (each run makes a database of its own next
/// to the one named) and, for the pipeline benchmarks, the Kafka brokers.
#[derive(Debug, Clone, Args)]
pub struct BenchEnvironment {
    /// A PostgreSQL database on the server to use; runs create and drop their own.
    #[arg(
        long,
        global = true,
        env = "CJ_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Kafka bootstrap servers for the pipeline benchmarks; without it they start a Tansu
    /// broker of their own (`tansu` on PATH, or CJ_TANSU).
    #[arg(long, global = true, env = "CJ_BENCH_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// Keep the run's database afterwards (its name is printed).
    #[arg(long, global = true)]
    pub keep_database: bool,
}

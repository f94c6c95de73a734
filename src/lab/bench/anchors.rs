//! The anchors benchmarks are measured against, in the same run on the same machine:
//!
//! - [`pgbench_single_row_inserts`] — PostgreSQL's own `pgbench`: durable single-row
//!   inserts, each its own transaction, from several clients. What the server commits per
//!   second when nothing else is asked of it: the rate a pipeline that ends every callback
//!   in a durable write is held against.
//! - [`durable_commits`] — the time `count` single-row durable transactions take at a given
//!   concurrency through this process's own pool: the floor of any sweep that must commit
//!   once per batch it touches.
//!
//! The completion-latency anchor (broker hops around a commit) lives with its benchmark.

use anyhow::Context;
use futures::stream::{self, StreamExt};
use sqlx::PgPool;
use std::process::Command;
use std::time::{Duration, Instant};

/// The table both anchors insert into: a key, a payload and a time, like a small event.
pub const ANCHOR_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_anchor_inserts (
    id bigserial PRIMARY KEY, payload text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())";
pub const INSERT: &str =
    "INSERT INTO bench_anchor_inserts (payload) VALUES ('a callback-sized payload')";

/// How `pgbench` is run: the 8 clients for 15 s by default.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PgbenchArgs {
    #[arg(long, default_value_t = 8)]
    pub pgbench_clients: u32,
    #[arg(long, default_value_t = 15)]
    pub pgbench_seconds: u32,
}

/// What pgbench measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pgbench {
    pub clients: u32,
    pub seconds: u32,
    pub transactions: u64,
    pub tps: f64,
    pub latency_ms: f64,
}

/// Runs `pgbench -n -c clients -j threads -T seconds` with a one-insert script against the
/// database of `database_url` (its table is created first).
pub async fn pgbench_single_row_inserts(
    pool: &PgPool,
    database_url: &str,
    args: PgbenchArgs,
) -> anyhow::Result<Pgbench> {
    let PgbenchArgs {
        pgbench_clients: clients,
        pgbench_seconds: seconds,
    } = args;
    sqlx::query(ANCHOR_TABLE).execute(pool).await?;
    let script = std::env::temp_dir().join(format!("cj-bench-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, format!("{INSERT};\n"))?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(clients as usize);
    let output = tokio::task::spawn_blocking({
        let (script, url) = (script.clone(), database_url.to_string());
        move || {
            Command::new("pgbench")
                .args(["-n", "-c", &clients.to_string(), "-j", &threads.to_string()])
                .args(["-T", &seconds.to_string(), "-f"])
                .arg(&script)
                .arg(&url)
                .output()
        }
    })
    .await?
    .context("running pgbench (not found? scripts/test.sh installs it, or apt-get install postgresql-client-15)")?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_pgbench(&stdout, clients, seconds)
}

fn parse_pgbench(stdout: &str, clients: u32, seconds: u32) -> anyhow::Result<Pgbench> {
    let number_after = |prefix: &str| {
        stdout.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(prefix)?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
    };
    Ok(Pgbench {
        clients,
        seconds,
        transactions: number_after("number of transactions actually processed:")
            .context("pgbench printed no transaction count")? as u64,
        tps: number_after("tps =").context("pgbench printed no tps")?,
        latency_ms: number_after("latency average =").unwrap_or(0.0),
    })
}

/// How long `count` durable single-row transactions take, `concurrency` at a time.
pub async fn durable_commits(
    pool: &PgPool,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    sqlx::query(ANCHOR_TABLE).execute(pool).await?;
    let started = Instant::now();
    let results: Vec<Result<_, sqlx::Error>> = stream::iter(0..count)
        .map(|_| sqlx::query(INSERT).execute(pool))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    for result in results {
        result?;
    }
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgbench_output_is_read() {
        let stdout = "transaction type: /tmp/x.sql
scaling factor: 1
number of clients: 8
number of transactions actually processed: 31270
number of failed transactions: 0 (0.000%)
latency average = 1.267 ms
initial connection time = 67.465 ms
tps = 6316.157304 (without initial connection time)";
        let parsed = parse_pgbench(stdout, 8, 5).expect("parsed");
        assert_eq!(parsed.transactions, 31_270);
        assert!((parsed.tps - 6316.157304).abs() < 1e-9);
        assert!((parsed.latency_ms - 1.267).abs() < 1e-9);
    }
}

//! The machine line every benchmark report starts with: CPU model and cores, memory,
//! kernel, and the PostgreSQL server the run used — so a figure is never read without
//! where it was measured.

use sqlx::PgPool;

/// "CPU (N cores), M GiB, Linux x.y, PostgreSQL 15.z".
pub async fn describe(pool: &PgPool) -> String {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let postgres: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|_| "?".into());
    format!(
        "Machine: {cpu} ({cores} cores), {memory_gib:.0} GiB, Linux {kernel}, PostgreSQL {postgres}"
    )
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

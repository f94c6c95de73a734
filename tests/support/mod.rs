//! The one helper every PostgreSQL integration test starts from: a fresh database per test
//! (created, migrated, and dropped again when the test ends, even when it fails), plus
//! builders for realistic batches and raw log writes.
//!
//! The server is `CJ_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432`,
//! trust authentication), as in CI.
#![allow(dead_code)]

pub mod http;
pub mod inbound_messages;
pub mod kafka;
pub mod pipeline;
pub mod prerequisites;
pub mod service;
pub mod tls;

use cj_aggregates::batch::commands::{
    CallbackOutcome, CallbackReport, CloseIntake, EssayRef, Position, RegisterBatch, SubmitPairs,
};
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::ids::CorrelationId;
use cj_aggregates::ids::{BatchId, EssayId};
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchEvent};
use cj_assessment::lab::simulation::driver::{run_batch_on, BatchRun, Delivery};
use cj_assessment::lab::simulation::judge::JudgeProfile;
use cj_assessment::lab::simulation::scenario::{Scenario, ScenarioSpec};
use cj_assessment::store::database::{connect, migrate};
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use cqrs_es::{Aggregate, DomainEvent};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// The PostgreSQL server of the tests, without a database name.
pub fn server_url() -> String {
    std::env::var("CJ_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER.to_string())
}

/// A migrated database of its own; dropped with the value.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let name = format!("cj_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
            .await
            .expect("PostgreSQL must be reachable at CJ_TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let url = format!("{}/{name}", server_url());
        let pool = connect(&url).await.expect("connect to the test database");
        migrate(&pool).await.expect("migrate the test database");
        TestDatabase { name, url, pool }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin_url = format!("{}/postgres", server_url());
        // Drop may run inside a runtime: do the async work on a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(&statement).execute(&mut admin).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// A small realistic batch: `seed` picks the essays, the judge and the planner.
pub fn small_scenario(seed: u64) -> (Scenario, BatchSettings) {
    let scenario = Scenario::generate(ScenarioSpec {
        students: 10,
        anchors: 4,
        seed,
        ..ScenarioSpec::default()
    });
    let mut settings = BatchSettings::with_budget(ComparisonBudget::new(60).expect("budget"));
    settings.seed = seed;
    (scenario, settings)
}

/// Runs one small batch with the simulated judge through the command bus.
pub async fn run_simulated_batch(bus: &BatchCommandBus, seed: u64) -> BatchRun {
    let (scenario, settings) = small_scenario(seed);
    let judge = JudgeProfile {
        error_rate: 0.05,
        ..JudgeProfile::default()
    };
    run_batch_on(
        bus,
        Uuid::new_v4(),
        &scenario,
        settings,
        judge,
        Delivery::default(),
    )
    .await
    .expect("simulated batch runs to its end")
}

/// The first events of a fresh batch of `students` essays without anchors, as the
/// aggregate decides them: BatchRegistered, AnchorsRegistered, WavePlanned, PairsSubmitted.
pub fn opening_events(batch_id: BatchId, students: usize) -> Vec<CjBatchEvent> {
    let mut batch = CjBatch::default();
    let mut events = Vec::new();
    let mut decide = |batch: &mut CjBatch, command: CjBatchCommand| {
        let decided = batch.decide(command).expect("valid opening command");
        for event in decided {
            batch.apply(event.clone());
            events.push(event);
        }
    };
    decide(
        &mut batch,
        register_command(batch_id, students, 4 * students as u32),
    );
    decide(
        &mut batch,
        CjBatchCommand::CloseIntake(CloseIntake { anchors: vec![] }),
    );
    let planned = batch.unsubmitted().map(|c| c.correlation_id).collect();
    decide(&mut batch, submit_pairs(planned));
    events
}

/// The prompt hash the tests' dispatcher submits comparisons with.
pub const TEST_PROMPT_HASH: &str = "7e57000000000000";

/// The provider accepted these comparisons, sent with [`TEST_PROMPT_HASH`].
pub fn submit_pairs(correlation_ids: Vec<CorrelationId>) -> CjBatchCommand {
    CjBatchCommand::SubmitPairs(SubmitPairs {
        correlation_ids,
        prompt_hash: TEST_PROMPT_HASH.into(),
    })
}

/// A judge's verdict for one comparison, as the callback consumer records it.
pub fn verdict(correlation_id: CorrelationId, winner: Position) -> CallbackReport {
    CallbackReport {
        correlation_id,
        outcome: CallbackOutcome::Verdict {
            winner,
            confidence: Some(3.0),
            justification: None,
            p_a_wins: None,
        },
        provider: Some("test".into()),
        model: Some("test".into()),
        prompt_hash: None,
        cost_estimate: None,
        total_tokens: None,
    }
}

/// Records `register` (a RegisterBatch) and closes the batch's intake with no anchors, so
/// its first wave is planned.
pub async fn register_without_anchors(
    bus: &BatchCommandBus,
    batch_id: BatchId,
    register: CjBatchCommand,
    metadata: &CommandMetadata,
) {
    bus.execute(batch_id, register, metadata)
        .await
        .expect("register");
    bus.execute(
        batch_id,
        CjBatchCommand::CloseIntake(CloseIntake { anchors: vec![] }),
        metadata,
    )
    .await
    .expect("anchors");
}

/// Every comparison the log planned for the batch, in planning order.
pub async fn planned_comparisons(pool: &PgPool, batch_id: BatchId) -> Vec<CorrelationId> {
    cj_projections::log::batch_events(pool, batch_id.0, 0)
        .await
        .expect("the batch's events")
        .into_iter()
        .filter_map(|e| match e.event {
            CjBatchEvent::WavePlanned(wave) => Some(wave.comparisons),
            _ => None,
        })
        .flatten()
        .map(|c| c.correlation_id)
        .collect()
}

/// Registers a batch of 8 students with `budget` comparisons through `bus` (whichever log
/// it writes to) and submits its first wave; the batch and that wave's comparisons.
pub async fn opened_batch(bus: &BatchCommandBus, budget: u32) -> (BatchId, Vec<CorrelationId>) {
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "tests-opened-batch");
    register_without_anchors(
        bus,
        batch_id,
        register_command(batch_id, 8, budget),
        &metadata,
    )
    .await;
    let wave = logged(bus, batch_id, planned).await;
    bus.execute(batch_id, submit_pairs(wave.clone()), &metadata)
        .await
        .expect("submit");
    (batch_id, wave)
}

/// What `pick` takes from each of the batch's events, read through `bus`'s log.
pub async fn logged(
    bus: &BatchCommandBus,
    batch_id: BatchId,
    pick: impl Fn(&CjBatchEvent) -> Vec<CorrelationId>,
) -> Vec<CorrelationId> {
    bus.events_after(batch_id, 0)
        .await
        .expect("events")
        .iter()
        .flat_map(|logged| pick(&logged.event))
        .collect()
}

/// The comparisons a wave planned.
pub fn planned(event: &CjBatchEvent) -> Vec<CorrelationId> {
    match event {
        CjBatchEvent::WavePlanned(wave) => {
            wave.comparisons.iter().map(|c| c.correlation_id).collect()
        }
        _ => Vec::new(),
    }
}

/// The comparison a recorded verdict answers (the log keeps repeats, so a double
/// recording shows).
pub fn recorded_verdict(event: &CjBatchEvent) -> Vec<CorrelationId> {
    match event {
        CjBatchEvent::ComparisonRecorded(r) => vec![r.correlation_id],
        _ => Vec::new(),
    }
}

/// RegisterBatch for `students` essays and `budget` comparisons.
pub fn register_command(batch_id: BatchId, students: usize, budget: u32) -> CjBatchCommand {
    let mut settings = BatchSettings::with_budget(ComparisonBudget::new(budget).expect("budget"));
    settings.seed = 11;
    let essays = (0..students)
        .map(|i| EssayRef {
            essay_id: EssayId::parse(format!("essay-{i}")).expect("valid id"),
            text_storage_id: format!("text-{i}"),
            content_sha256: format!("{i:064x}"),
        })
        .collect();
    CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
        upstream_batch_id: format!("upstream-{batch_id}"),
        user_id: "tests".into(),
        ..RegisterBatch::new(batch_id, Uuid::new_v4(), essays, settings)
    }))
}

/// Appends `events` as the batch's sequences `first_sequence..` exactly as postgres-es
/// writes them (the log columns fill from their defaults), inside the caller's transaction.
pub async fn append_raw(
    conn: &mut PgConnection,
    batch_id: BatchId,
    first_sequence: i64,
    events: &[CjBatchEvent],
) {
    for (offset, event) in events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                 event_version, payload, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(CjBatch::TYPE)
        .bind(batch_id.to_string())
        .bind(first_sequence + offset as i64)
        .bind(event.event_type())
        .bind(event.event_version())
        .bind(serde_json::to_value(event).expect("events serialise"))
        .bind(serde_json::json!({"actor": "tests"}))
        .execute(&mut *conn)
        .await
        .expect("append an event");
    }
}

/// Every projection table with the key it is ordered by for row-by-row comparison.
pub const PROJECTION_TABLES: [(&str, &str); 9] = [
    ("cj_batch_states", "batch_id"),
    ("cj_comparison_pairs", "correlation_id"),
    ("cj_essays", "batch_id, essay_id"),
    ("grade_projections", "batch_id, essay_id"),
    ("cj_dispatch_batches", "batch_id"),
    ("cj_dispatch_texts", "batch_id, essay_id"),
    ("cj_dispatch_queue", "correlation_id"),
    ("cj_outbox", "event_id"),
    ("cj_assignment_scales", "assignment_id, version"),
];

/// The rows of `table` as JSON text, in key order.
pub async fn table_rows(pool: &PgPool, table: &str, order_by: &str) -> Vec<String> {
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t)::text FROM {table} t ORDER BY {order_by}"
    ))
    .fetch_all(pool)
    .await
    .expect("read a projection table")
}

/// Every projection table's rows.
pub async fn all_projection_rows(pool: &PgPool) -> Vec<(&'static str, Vec<String>)> {
    let mut tables = Vec::new();
    for (table, order_by) in PROJECTION_TABLES {
        tables.push((table, table_rows(pool, table, order_by).await));
    }
    tables
}

/// `SELECT count(*)` of a query.
pub async fn count(pool: &PgPool, query: &str) -> i64 {
    sqlx::query_scalar(query)
        .fetch_one(pool)
        .await
        .expect("count query")
}

/// Waits until every event in the log is below the xmin horizon. The horizon is
/// cluster-wide: a transaction in another test's database holds it back too.
pub async fn wait_until_final(pool: &PgPool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let pending = count(
            pool,
            "SELECT count(*) FROM events WHERE tx >= pg_snapshot_xmin(pg_current_snapshot())",
        )
        .await;
        if pending == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events never became final"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Brings every projection up to the log head without the supervisor.
pub async fn drain_projections(pool: &PgPool) {
    drain_projections_in_chunks_of(pool, cj_projections::runner::DEFAULT_CHUNK_SIZE).await;
}

/// [`drain_projections`], applying `chunk_size` events per transaction.
pub async fn drain_projections_in_chunks_of(pool: &PgPool, chunk_size: i64) {
    wait_until_final(pool).await;
    for projection in cj_projections::catalogue::all() {
        cj_projections::Projector::new(pool.clone(), projection)
            .with_chunk_size(chunk_size)
            .catch_up()
            .await
            .expect("projector catches up");
    }
}

/// (completed, failed) comparison counters of a batch in `cj_batch_states`.
pub async fn batch_counters(pool: &PgPool, batch_id: Uuid) -> (i32, i32) {
    sqlx::query_as(
        "SELECT completed_comparisons, failed_comparisons FROM cj_batch_states
          WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_one(pool)
    .await
    .expect("the batch's state row")
}

/// The distinct uuids a one-column query returns.
pub async fn uuid_set(pool: &PgPool, query: &str) -> std::collections::BTreeSet<Uuid> {
    sqlx::query_scalar(query)
        .fetch_all(pool)
        .await
        .expect("uuid query")
        .into_iter()
        .collect()
}

/// Waits up to 30 s for `condition`, polling every 50 ms; fails naming `what`.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !condition().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

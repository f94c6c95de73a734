//! `cj-assessment run-eng5`: drives one real batch through a running service, end to end —
//! registers an assignment with anchors (ENG5 national scale by default, or the Swedish
//! scale), stores generated essays in the content store, publishes the request with a real
//! Kafka producer, follows the batch with a progress bar and prints the outcome with the
//! anchors' alignment. Exits non-zero unless the batch is COMPLETE_* / COMPLETED with
//! grade projections.

use crate::commands::progress::Progress;
use crate::config::ServiceSettings;
use crate::content::client::ContentClient;
use crate::kafka::admin::ensure_topics;
use crate::kafka::producer::Publisher;
use crate::lab::runner::assignment::register_assignment;
use crate::lab::runner::follow::{follow_batch, RunOutcome};
use crate::lab::runner::request::{publish_request, request_envelope, store_essays};
use crate::store::database::connect_and_migrate;
use cj_aggregates::stats::grade_scale::GradeScale;
use clap::Args;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub settings: ServiceSettings,
    /// Grade scale of the run's assignment.
    #[arg(long, default_value = "eng5_np_national_9_step")]
    pub scale: GradeScale,
    /// Student essays in the batch.
    #[arg(long, default_value_t = 20)]
    pub students: usize,
    /// The request's `max_comparisons`.
    #[arg(long, default_value_t = 80)]
    pub request_max_comparisons: u32,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(run_once(&args, true))?;
    println!("{}", serde_json::to_string_pretty(&outcome)?);
    anyhow::ensure!(
        outcome.succeeded(),
        "the batch ended {} / {} with {} projections",
        outcome.upload_status,
        outcome.state,
        outcome.projections
    );
    Ok(())
}

/// One run against the service described by `args.settings`.
pub async fn run_once(args: &RunArgs, show_progress: bool) -> anyhow::Result<RunOutcome> {
    let settings = &args.settings;
    let pool = connect_and_migrate(&settings.database_url).await?;
    let run_id = Uuid::new_v4().simple().to_string();
    let assignment = format!("run-{}-{}", args.scale, &run_id[..8]);
    register_assignment(&pool, &assignment, args.scale).await?;
    let content = ContentClient::for_service(settings)?;
    let essays = store_essays(&content, args.students, &run_id[..8]).await?;
    let upstream = format!("run-{run_id}");
    let request = request_envelope(&upstream, &assignment, essays, args.request_max_comparisons);
    ensure_topics(&settings.kafka, &settings.kafka.topics.all()).await?;
    let publisher = Publisher::new(&settings.kafka)?;
    publish_request(&publisher, &settings.kafka, &upstream, &request).await?;
    let mut progress = show_progress.then(|| Progress::new(upstream.as_str(), "comparisons"));
    let outcome = follow_batch(
        &pool,
        &upstream,
        args.scale,
        Duration::from_secs(args.timeout_secs),
        |resolved, planned| {
            if let Some(progress) = &mut progress {
                progress.update(resolved.max(0) as u64, planned.max(0) as u64);
            }
        },
    )
    .await?;
    if let Some(progress) = &progress {
        progress.finish();
    }
    Ok(outcome)
}

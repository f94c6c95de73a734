//! `cj-assessment serve`: the whole service in one process — migrations, topic creation,
//! projectors, the Kafka consumer, the dispatcher, the outbox relay, the batch monitor and
//! the HTTP API — until SIGTERM/SIGINT, then a graceful stop: stop taking messages, finish
//! what is in hand, store offsets, flush the producer, exit 0 within the grace period.
//! Restarted, it resumes in-flight batches from the log; several instances may run at once.
//! With `--http-only` it runs without Kafka: no consumer, no relay, a direct judge.

use crate::clock::{Clock, SystemClock};
use crate::config::ServiceSettings;
use crate::content::client::{ContentClient, ContentCredentials};
use crate::dispatcher::Dispatcher;
use crate::http::api::{api_router, ApiParts};
use crate::http::auth::Verifier;
use crate::http::checks::service_readiness;
use crate::intake::Intake;
use crate::judges::settings::JudgeKind;
use crate::kafka::admin::ensure_topics;
use crate::kafka::connectivity::verify_brokers;
use crate::kafka::producer::Publisher;
use crate::metrics::metrics;
use crate::metrics_tap::MetricsTap;
use crate::monitor::sweep::SweepSettings;
use crate::registry::RegistryPromptContext;
use crate::store::command_bus::BatchCommandBus;
use crate::store::database::connect_and_migrate;
use crate::worker::{run_in_stages, Stage, Worker};
use crate::{consumer, gauges, monitor, outbox_relay};
use anyhow::Context;
use cj_projections::supervisor::RunningProjectors;
use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long `serve` waits at start for the brokers to answer (a TLS or authentication failure
/// stops it at once): a broker restarting alongside the service is back well within it.
const BROKER_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: ServiceSettings,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async { serve(args.settings, shutdown_on_signal()).await })
}

/// A token cancelled by SIGTERM or SIGINT.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = interrupt => tracing::info!("SIGINT: shutting down"),
            _ = terminate => tracing::info!("SIGTERM: shutting down"),
        }
        cancel.cancel();
    });
    token
}

/// Runs the service until `shutdown` is cancelled.
pub async fn serve(settings: ServiceSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let verifier = Arc::new(
        Verifier::from_settings(&settings.auth)?
            .with_insecure_open_reads(settings.insecure_no_read_auth),
    );
    if verifier.reads_are_open() {
        tracing::warn!(
            "INSECURE: CJ_INSECURE_NO_READ_AUTH is on; batches, history, reports and stored \
             essays answer anyone without a token (admin routes still need one)"
        );
    }
    if !verifier.reads_are_open()
        && matches!(
            ContentCredentials::resolve(settings.content_service_token.as_deref(), &settings.auth),
            ContentCredentials::Anonymous
        )
    {
        tracing::warn!(
            "no CJ_JWT_SECRET and no CJ_CONTENT_SERVICE_TOKEN: this service cannot authenticate \
             to a content store that checks tokens, its own included; essays will not be fetched"
        );
    }
    let pool = connect_and_migrate(&settings.database_url)
        .await
        .context("connecting to PostgreSQL")?;
    let publisher = if settings.http_only {
        if settings.judge.default == JudgeKind::LlmProviderService {
            anyhow::bail!(
                "--http-only needs a direct judge (--judge openai or anthropic): the LLM \
                 Provider Service answers on Kafka"
            );
        }
        tracing::info!(
            "HTTP-only: no Kafka consumer, no outbox relay; completion events wait in the outbox"
        );
        None
    } else {
        verify_brokers(&settings.kafka, BROKER_CHECK_TIMEOUT).await?;
        ensure_topics(&settings.kafka, &settings.kafka.topics.all())
            .await
            .context("creating Kafka topics")?;
        Some(Publisher::new(&settings.kafka)?)
    };
    let mut projections = cj_projections::catalogue::all();
    projections.push(Arc::new(MetricsTap::default()));
    let projectors = cj_projections::supervisor::start(&pool, projections)
        .await
        .context("starting projectors")?;
    let bus = Arc::new(BatchCommandBus::new(pool.clone()));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    metrics().initialise_deployment_series(
        &settings.kafka.topics.inbound(),
        &cj_projections::catalogue::names(),
    );
    let content = ContentClient::for_service(&settings)?;
    let app = api_router(ApiParts {
        pool: pool.clone(),
        readiness: service_readiness(pool.clone(), publisher.clone()),
        verifier,
        intake: Some(Intake::for_service(
            &settings,
            pool.clone(),
            Arc::clone(&bus),
            publisher.clone(),
            content.clone(),
        )?),
    });
    let listener = tokio::net::TcpListener::bind(settings.http_addr)
        .await
        .with_context(|| format!("binding {}", settings.http_addr))?;
    tracing::info!(address = %settings.http_addr, "HTTP listening");
    let sweep = SweepSettings {
        stuck_after: chrono::Duration::seconds(settings.stuck_timeout_secs as i64),
        ..SweepSettings::default()
    };
    let dispatcher = Dispatcher::from_settings(&settings)?
        .with_prompt_context(Arc::new(RegistryPromptContext { pool: pool.clone() }));

    // Stopped first, given the grace period: everything that takes or sends work. The
    // projectors stop after them (what they finish may still be projected); the producer
    // is flushed last.
    let mut service = vec![
        http_worker(listener, app),
        monitor::worker(
            pool.clone(),
            Arc::clone(&bus),
            clock,
            sweep,
            Duration::from_secs(settings.monitor_interval_secs),
        ),
        gauges::worker(pool.clone()),
        dispatcher.into_worker(pool.clone(), Arc::clone(&bus)),
    ];
    if let Some(publisher) = &publisher {
        service.push(outbox_relay::worker(
            settings.kafka.clone(),
            pool.clone(),
            publisher.clone(),
        ));
        service.push(consumer::worker(
            settings.clone(),
            pool.clone(),
            Arc::clone(&bus),
            publisher.clone(),
            content,
        ));
    }
    let stages = vec![
        Stage::within(settings.shutdown_grace(), service),
        Stage::to_the_end(vec![projectors_worker(projectors)]),
    ];
    run_in_stages(stages, shutdown).await;
    if let Some(publisher) = &publisher {
        publisher.flush(Duration::from_secs(5))?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The HTTP server on `listener`, finishing the requests in hand once told to stop.
fn http_worker(listener: tokio::net::TcpListener, app: axum::Router) -> Worker {
    Worker::new("http", move |shutdown| async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .context("HTTP server")
    })
}

/// The projectors, started already (a failure to start stops `serve` before anything
/// runs), stopped when their stage's turn comes: a chunk in flight finishes or rolls back.
fn projectors_worker(projectors: RunningProjectors) -> Worker {
    Worker::new("projectors", move |shutdown| async move {
        shutdown.cancelled().await;
        projectors.stop().await;
        Ok(())
    })
}

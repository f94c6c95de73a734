//! `cj-assessment serve`: the whole service in one process — migrations, topic creation,
//! projectors, the Kafka consumer, the dispatcher, the outbox relay, the batch monitor and
//! the HTTP API — until SIGTERM/SIGINT, then a graceful stop: stop taking messages, finish
//! what is in hand, store offsets, flush the producer, exit 0 within the grace period.
//! Restarted, it resumes in-flight batches from the log; several instances may run at once.

use crate::clock::{Clock, SystemClock};
use crate::config::ServiceSettings;
use crate::consumer::run_consumer;
use crate::content::client::{ContentClient, ContentCredentials};
use crate::dispatcher::Dispatcher;
use crate::http::api::{api_router, ApiParts};
use crate::http::auth::Verifier;
use crate::http::{NotReady, Readiness, ReadinessCheck};
use crate::kafka::admin::ensure_topics;
use crate::kafka::connectivity::verify_brokers;
use crate::kafka::producer::Publisher;
use crate::metrics::metrics;
use crate::metrics_tap::MetricsTap;
use crate::monitor::run_monitor;
use crate::monitor::sweep::SweepSettings;
use crate::outbox_relay::run_outbox_relay;
use crate::registry::RegistryPromptContext;
use crate::store::command_bus::BatchCommandBus;
use crate::store::database::connect_and_migrate;
use anyhow::Context;
use clap::Args;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Readiness fails when any projector is further behind than this many events.
pub const MAX_READY_PROJECTOR_LAG: i64 = 10_000;
/// How long `serve` waits at start for the brokers to answer (a TLS or authentication failure
/// stops it at once): a broker restarting alongside the service is back well within it.
const BROKER_CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// How often gauges read from the database (projector lag, batches per state) refresh.
const GAUGE_REFRESH: Duration = Duration::from_secs(5);

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
    verify_brokers(&settings.kafka, BROKER_CHECK_TIMEOUT).await?;
    ensure_topics(&settings.kafka, &settings.kafka.topics.all())
        .await
        .context("creating Kafka topics")?;
    let publisher = Publisher::new(&settings.kafka)?;
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
    let mut tasks = JoinSet::new();
    let app = api_router(ApiParts {
        pool: pool.clone(),
        readiness: readiness(pool.clone(), publisher.clone()),
        verifier,
    });
    let listener = tokio::net::TcpListener::bind(settings.http_addr)
        .await
        .with_context(|| format!("binding {}", settings.http_addr))?;
    tracing::info!(address = %settings.http_addr, "HTTP listening");
    let http_shutdown = shutdown.clone();
    tasks.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(http_shutdown.cancelled_owned())
            .await
            .context("HTTP server")
    });
    tasks.spawn(run_monitor(
        pool.clone(),
        Arc::clone(&bus),
        clock,
        SweepSettings {
            stuck_after: chrono::Duration::seconds(settings.stuck_timeout_secs as i64),
            ..SweepSettings::default()
        },
        Duration::from_secs(settings.monitor_interval_secs),
        shutdown.clone(),
    ));
    tasks.spawn(refresh_gauges(pool.clone(), shutdown.clone()));
    let dispatcher = Dispatcher::from_settings(&settings)?
        .with_prompt_context(Arc::new(RegistryPromptContext { pool: pool.clone() }));
    tasks.spawn(dispatcher.run(pool.clone(), Arc::clone(&bus), shutdown.clone()));
    let relay_settings = settings.kafka.clone();
    let (relay_pool, relay_publisher, relay_shutdown) =
        (pool.clone(), publisher.clone(), shutdown.clone());
    tasks.spawn(async move {
        run_outbox_relay(&relay_settings, relay_pool, relay_publisher, relay_shutdown).await
    });
    let consumer_settings = settings.clone();
    let (consumer_pool, consumer_bus, consumer_publisher) =
        (pool.clone(), Arc::clone(&bus), publisher.clone());
    let content = ContentClient::for_service(&settings)?;
    let consumer_shutdown = shutdown.clone();
    tasks.spawn(async move {
        run_consumer(
            &consumer_settings,
            consumer_pool,
            consumer_bus,
            consumer_publisher,
            content,
            consumer_shutdown,
        )
        .await
    });

    shutdown.cancelled().await;
    let grace = settings.shutdown_grace();
    let drained = tokio::time::timeout(grace, async {
        while let Some(finished) = tasks.join_next().await {
            match finished {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(error = %format!("{error:#}"), "task ended with an error")
                }
                Err(error) => tracing::error!(%error, "task panicked"),
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(?grace, "grace period over; abandoning tasks still running");
        tasks.abort_all();
    }
    projectors.stop().await;
    publisher.flush(Duration::from_secs(5))?;
    tracing::info!("stopped");
    Ok(())
}

fn readiness(pool: PgPool, publisher: Publisher) -> Readiness {
    let database_pool = pool.clone();
    let database: ReadinessCheck = Arc::new(move || {
        let pool = database_pool.clone();
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(NotReady::from)
        })
    });
    let broker: ReadinessCheck = Arc::new(move || {
        let publisher = publisher.clone();
        Box::pin(async move {
            publisher
                .check_brokers(Duration::from_secs(2))
                .await
                .map_err(NotReady::Broker)
        })
    });
    let lag: ReadinessCheck = Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            for name in cj_projections::catalogue::names() {
                let lag = cj_projections::lag::projector_lag(&pool, name).await?;
                if lag > MAX_READY_PROJECTOR_LAG {
                    return Err(NotReady::ProjectorBehind { name, lag });
                }
            }
            Ok(())
        })
    });
    Readiness::default()
        .with_check("database", database)
        .with_check("broker", broker)
        .with_check("projector_lag", lag)
}

/// Keeps the database-backed gauges current: projector lag and batches per state.
async fn refresh_gauges(pool: PgPool, shutdown: CancellationToken) -> anyhow::Result<()> {
    loop {
        for name in cj_projections::catalogue::names() {
            if let Ok(lag) = cj_projections::lag::projector_lag(&pool, name).await {
                metrics().projector_lag.with_label_values(&[name]).set(lag);
            }
        }
        let states = cj_projections::batch_states::count_by_state(&pool)
            .await
            .unwrap_or_default();
        for (state, count) in states {
            metrics()
                .batch_state
                .with_label_values(&[&state])
                .set(count);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(GAUGE_REFRESH) => {}
        }
    }
}

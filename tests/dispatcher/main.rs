//! The dispatcher against real PostgreSQL, a real broker and providers served in-process:
//! every planned comparison reaches the provider once and is recorded as submitted; the
//! simulated provider's callbacks come back on the callback topic with the same correlation
//! ids and metadata; a refused comparison fails with the provider's code and is retried
//! reversed; a provider that is briefly unavailable gets the comparison again later;
//! leases held by a live dispatcher are renewed and never taken, a dead one's come back
//! ([`leases`]); the assignment's instructions in the registry reach every prompt, a change
//! every comparison claimed after it ([`instructions`]).

#[path = "../support/mod.rs"]
mod support;

mod instructions;
mod leases;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use cj_aggregates::batch::commands::{CloseIntake, Position, RecordCallbacks, RegisterBatch};
use cj_aggregates::batch::events::ComparisonFailed;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget, LlmSettings};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_assessment::config::{KafkaSettings, ServiceSettings};
use cj_assessment::dispatcher::Dispatcher;
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::lab::llm_sim::judge::TextJudge;
use cj_assessment::lab::llm_sim::kafka_sink::KafkaCallbackSink;
use cj_assessment::lab::llm_sim::server::{router, SimulatorSettings};
use cj_assessment::lab::simulation::scenario::{Scenario, ScenarioSpec};
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use cj_contracts::decode_callback;
use cj_projections::supervisor::{self, RunningProjectors};
use cj_projections::{catalogue, log};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use support::http::{content_store, recording, serve, RecordedBodies};
use support::kafka::{settings_for_test, TopicReader};
use support::service::test_auth;
use support::{eventually, TestDatabase};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A batch of six students and two anchors; its first wave has six comparisons.
fn scenario() -> Scenario {
    Scenario::generate(ScenarioSpec {
        students: 6,
        anchors: 2,
        seed: 21,
        ..ScenarioSpec::default()
    })
}

/// The database, the projectors and a running dispatcher with a provider at `provider`.
struct Running {
    db: TestDatabase,
    bus: Arc<BatchCommandBus>,
    projectors: Option<RunningProjectors>,
    shutdown: CancellationToken,
    dispatcher: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// The database and the projectors, no dispatcher yet.
    async fn projecting() -> Running {
        let db = TestDatabase::create().await;
        let bus = Arc::new(BatchCommandBus::new(db.pool.clone()));
        let projectors = supervisor::start(&db.pool, catalogue::all())
            .await
            .expect("projectors start");
        Running {
            db,
            bus,
            projectors: Some(projectors),
            shutdown: CancellationToken::new(),
            dispatcher: None,
        }
    }

    async fn start(kafka: KafkaSettings, scenario: &Scenario, provider: Router) -> Running {
        Running::start_with(kafka, scenario, provider, |dispatcher, _| dispatcher).await
    }

    /// [`Running::start`] with the dispatcher `configure` makes of the default one, given
    /// the test's database.
    async fn start_with(
        kafka: KafkaSettings,
        scenario: &Scenario,
        provider: Router,
        configure: impl FnOnce(Dispatcher, &sqlx::PgPool) -> Dispatcher,
    ) -> Running {
        let mut running = Running::projecting().await;
        let settings = running.settings(kafka, scenario, provider).await;
        let dispatcher = Dispatcher::from_settings(&settings).expect("a dispatcher");
        let dispatcher = configure(dispatcher, &running.db.pool);
        running.dispatcher = Some(running.spawn(dispatcher, running.shutdown.clone()));
        running
    }

    /// Dispatcher settings for this database: `provider` and a content store holding the
    /// scenario's texts, both served here.
    async fn settings(
        &self,
        kafka: KafkaSettings,
        scenario: &Scenario,
        provider: Router,
    ) -> ServiceSettings {
        let texts: HashMap<String, String> = scenario
            .all()
            .map(|essay| {
                let text = scenario
                    .content
                    .get(&essay.text_storage_id)
                    .expect("stored");
                (essay.text_storage_id.clone(), text.to_string())
            })
            .collect();
        ServiceSettings {
            database_url: self.db.url.clone(),
            kafka,
            llm_provider_url: serve(provider).await,
            content_service_url: serve(content_store(texts)).await,
            judge: Default::default(),
            content_service_token: None,
            insecure_no_read_auth: false,
            http_only: false,
            auth: test_auth(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            max_comparisons: 100,
            dispatch_concurrency: 4,
            monitor_interval_secs: 300,
            stuck_timeout_secs: 3600,
            shutdown_grace_secs: 5,
            dispatch_lease_secs: 15,
        }
    }

    /// Runs `dispatcher` on this database until `shutdown`.
    fn spawn(
        &self,
        dispatcher: Dispatcher,
        shutdown: CancellationToken,
    ) -> JoinHandle<anyhow::Result<()>> {
        let (pool, bus) = (self.db.pool.clone(), Arc::clone(&self.bus));
        tokio::spawn(dispatcher.run(pool, bus, shutdown))
    }

    async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher
                .await
                .expect("dispatcher task")
                .expect("dispatcher stops cleanly");
        }
        if let Some(projectors) = self.projectors.take() {
            projectors.stop().await;
        }
    }

    /// Registers the scenario as a batch (intake closed: the first wave is planned).
    async fn register(&self, scenario: &Scenario, llm: LlmSettings) -> BatchId {
        self.register_for(scenario, llm, None).await
    }

    /// [`Running::register`], the batch naming `assignment`.
    async fn register_for(
        &self,
        scenario: &Scenario,
        llm: LlmSettings,
        assignment: Option<&str>,
    ) -> BatchId {
        let request_event_id = Uuid::new_v4();
        let batch_id = BatchId::for_request(request_event_id);
        let mut settings = BatchSettings::with_budget(ComparisonBudget::new(30).expect("budget"));
        settings.seed = 3;
        let register = RegisterBatch {
            upstream_batch_id: format!("bos-{batch_id}"),
            grade_scale: scenario.spec.scale,
            llm,
            assignment_id: assignment.map(str::to_owned),
            ..RegisterBatch::new(batch_id, request_event_id, scenario.essay_refs(), settings)
        };
        self.execute(batch_id, CjBatchCommand::RegisterBatch(Box::new(register)))
            .await;
        let anchors = CloseIntake {
            anchors: scenario.anchor_refs(),
        };
        self.execute(batch_id, CjBatchCommand::CloseIntake(anchors))
            .await;
        batch_id
    }

    async fn execute(&self, batch_id: BatchId, command: CjBatchCommand) {
        self.bus
            .execute(
                batch_id,
                command,
                &CommandMetadata::new(Uuid::new_v4(), "tests"),
            )
            .await
            .expect("command accepted");
    }

    async fn events(&self, batch_id: BatchId) -> Vec<CjBatchEvent> {
        log::batch_events(&self.db.pool, batch_id.0, 0)
            .await
            .expect("the batch's events")
            .into_iter()
            .map(|logged| logged.event)
            .collect()
    }
}

/// The comparisons of the first wave, as the log planned them: id → (essay A, essay B).
async fn first_wave(running: &Running, batch_id: BatchId) -> Wave {
    let wave = running
        .events(batch_id)
        .await
        .into_iter()
        .find_map(|event| match event {
            CjBatchEvent::WavePlanned(wave) => Some(wave),
            _ => None,
        })
        .expect("registering closes intake and plans the first wave");
    assert!(
        wave.comparisons.len() >= 2,
        "the first wave plans comparisons"
    );
    wave.comparisons
        .into_iter()
        .map(|c| {
            (
                c.correlation_id.0,
                (c.essay_a.to_string(), c.essay_b.to_string()),
            )
        })
        .collect()
}

/// The first wave of a batch: id → (essay A, essay B).
type Wave = BTreeMap<Uuid, (String, String)>;

/// A dispatcher sending to `provider` (its requests recorded), and a registered batch with
/// its first wave planned.
async fn start_with_batch(
    kafka: KafkaSettings,
    provider: Router,
    llm: LlmSettings,
) -> (Running, RecordedBodies, BatchId, Wave) {
    let (provider, requests) = recording(provider);
    let scenario = scenario();
    let running = Running::start(kafka, &scenario, provider).await;
    let batch_id = running.register(&scenario, llm).await;
    let wave = first_wave(&running, batch_id).await;
    (running, requests, batch_id, wave)
}

/// Correlation ids the log records as submitted, each as often as it was submitted.
fn submitted(events: &[CjBatchEvent]) -> Vec<Uuid> {
    events
        .iter()
        .filter_map(|event| match event {
            CjBatchEvent::PairsSubmitted(submitted) => Some(submitted.correlation_ids.clone()),
            _ => None,
        })
        .flatten()
        .map(|id| id.0)
        .collect()
}

fn correlation_id_of(body: &Value) -> Uuid {
    body["correlation_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a correlation id in the request")
}

/// How often the provider was asked for each comparison.
fn requests_per_comparison(bodies: &RecordedBodies) -> BTreeMap<Uuid, usize> {
    let mut counts = BTreeMap::new();
    for body in bodies.all() {
        *counts.entry(correlation_id_of(&body)).or_default() += 1;
    }
    counts
}

/// A provider that answers each request with what `decide(body, earlier requests for the
/// same comparison)` says; 202 with the contract's queued body.
fn scripted_provider(
    decide: impl Fn(&Value, usize) -> StatusCode + Send + Sync + 'static,
) -> Router {
    let seen: Arc<Mutex<HashMap<Uuid, usize>>> = Arc::default();
    let decide = Arc::new(decide);
    Router::new().route(
        "/comparison",
        post(move |Json(body): Json<Value>| {
            let (seen, decide) = (Arc::clone(&seen), Arc::clone(&decide));
            async move {
                let earlier = {
                    let mut seen = seen.lock().expect("not poisoned");
                    let count = seen.entry(correlation_id_of(&body)).or_default();
                    *count += 1;
                    *count - 1
                };
                let status = decide(&body, earlier);
                if status == StatusCode::ACCEPTED {
                    let queued = json!({"queue_id": Uuid::new_v4(), "status": "queued"});
                    (status, Json(queued)).into_response()
                } else {
                    (status, Json(json!({"error": "scripted"}))).into_response()
                }
            }
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planned_comparison_is_sent_once_submitted_and_answered_on_the_callback_topic() {
    let kafka = settings_for_test();
    let callbacks = kafka.topics.callbacks.clone();
    ensure_topics(&kafka, std::slice::from_ref(&callbacks))
        .await
        .expect("callback topic");
    let simulator = SimulatorSettings {
        judge: TextJudge {
            error_rate: 0.0,
            ..TextJudge::default()
        },
        latency_ms: (1, 5),
        duplicate_rate: 0.0,
        seed: 4,
    };
    let sink = KafkaCallbackSink::new(Publisher::new(&kafka).expect("producer"));
    let llm = LlmSettings {
        temperature_override: Some(0.0),
        model_override: Some("judge-model".into()),
        ..LlmSettings::default()
    };
    let provider = router(simulator, Arc::new(sink));
    let (running, requests, batch_id, wave) = start_with_batch(kafka.clone(), provider, llm).await;

    eventually("the whole first wave is submitted", || async {
        submitted(&running.events(batch_id).await).len() >= wave.len()
    })
    .await;
    let log = running.events(batch_id).await;
    let submissions = submitted(&log);
    assert_eq!(
        submissions.len(),
        wave.len(),
        "each comparison submitted once"
    );
    assert_eq!(
        submissions.iter().copied().collect::<BTreeSet<_>>(),
        wave.keys().copied().collect()
    );

    let asked = requests_per_comparison(&requests);
    assert_eq!(
        asked.keys().copied().collect::<BTreeSet<_>>(),
        wave.keys().copied().collect()
    );
    assert!(
        asked.values().all(|&n| n == 1),
        "each comparison POSTed once: {asked:?}"
    );
    // Every request names its prompt template; the submissions record that hash.
    let prompt_hashes: BTreeSet<String> = requests
        .all()
        .iter()
        .map(|body| {
            let hash = body["metadata"]["cj_prompt_hash"].as_str();
            hash.expect("the request names its prompt hash").to_string()
        })
        .collect();
    assert_eq!(prompt_hashes.len(), 1, "one template: {prompt_hashes:?}");
    let submitted_hashes: BTreeSet<String> = log
        .iter()
        .filter_map(|event| match event {
            CjBatchEvent::PairsSubmitted(submitted) => Some(submitted.prompt_hash.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(submitted_hashes, prompt_hashes);
    for body in requests.all() {
        let (essay_a, essay_b) = &wave[&correlation_id_of(&body)];
        let metadata = &body["metadata"];
        assert_eq!(&metadata["essay_a_id"], essay_a);
        assert_eq!(&metadata["essay_b_id"], essay_b);
        assert_eq!(metadata["bos_batch_id"], format!("bos-{batch_id}"));
        assert_eq!(metadata["cj_batch_id"], batch_id.to_string());
        assert_eq!(metadata["cj_source"], "els");
        assert_eq!(metadata["cj_request_type"], "cj_comparison");
        assert_eq!(body["callback_topic"], callbacks.as_str());
        let overrides = &body["llm_config_overrides"];
        assert_eq!(
            overrides["temperature_override"].as_f64(),
            Some(0.0),
            "explicit 0.0 kept"
        );
        assert_eq!(overrides["model_override"], "judge-model");
    }

    let reader = TopicReader::new(&kafka, &callbacks);
    let mut answered = BTreeSet::new();
    while answered.len() < wave.len() {
        let (key, payload) = reader.next().await.expect("a callback within 30 s");
        let callback = decode_callback(&payload).expect("a callback of the contract");
        let id = callback.data.correlation_id;
        let (essay_a, essay_b) = wave.get(&id).expect("a callback for a planned comparison");
        assert_eq!(key, id.to_string());
        let echoed = &callback.data.request_metadata;
        assert_eq!(&echoed["essay_a_id"], essay_a);
        assert_eq!(&echoed["essay_b_id"], essay_b);
        assert_eq!(echoed["bos_batch_id"], format!("bos-{batch_id}"));
        assert!(prompt_hashes.contains(echoed["cj_prompt_hash"].as_str().unwrap_or_default()));
        assert!(callback.data.winner.is_some());
        answered.insert(id);
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_comparison_fails_with_the_providers_code_and_is_retried_reversed() {
    let refused: Arc<Mutex<Option<Uuid>>> = Arc::default();
    let provider = scripted_provider({
        let refused = Arc::clone(&refused);
        move |body, _| {
            let mut refused = refused.lock().expect("not poisoned");
            if refused.is_none() && body["metadata"]["cj_request_type"] == "cj_comparison" {
                *refused = Some(correlation_id_of(body));
                return StatusCode::BAD_REQUEST;
            }
            StatusCode::ACCEPTED
        }
    });
    let (running, requests, batch_id, wave) =
        start_with_batch(settings_for_test(), provider, LlmSettings::default()).await;

    eventually("the refusal is recorded and the rest submitted", || async {
        let log = running.events(batch_id).await;
        let failed = log
            .iter()
            .any(|e| matches!(e, CjBatchEvent::ComparisonFailed(_)));
        failed && submitted(&log).len() == wave.len() - 1
    })
    .await;
    let refused = refused
        .lock()
        .expect("not poisoned")
        .expect("one comparison refused");
    let log = running.events(batch_id).await;
    let failures: Vec<&ComparisonFailed> = log
        .iter()
        .filter_map(|e| match e {
            CjBatchEvent::ComparisonFailed(failed) => Some(failed),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].correlation_id, CorrelationId(refused));
    assert_eq!(failures[0].error_code, "LLM_PROVIDER_HTTP_400");

    // Answer the accepted comparisons, as the callback consumer would: the wave is then
    // resolved and the aggregate plans the next one, with the refused pair reversed.
    let verdicts = submitted(&log)
        .into_iter()
        .map(|id| support::verdict(CorrelationId(id), Position::A))
        .collect();
    running
        .execute(
            batch_id,
            CjBatchCommand::RecordCallbacks(RecordCallbacks {
                callbacks: verdicts,
            }),
        )
        .await;
    let retry = running
        .events(batch_id)
        .await
        .into_iter()
        .find_map(|e| match e {
            CjBatchEvent::ComparisonRetried(retried) if retried.retry_of.0 == refused => {
                Some(retried)
            }
            _ => None,
        })
        .expect("the refused comparison is retried in the next wave");
    let retry_id = retry.comparison.correlation_id.0;
    eventually("the retry is sent and submitted", || async {
        submitted(&running.events(batch_id).await).contains(&retry_id)
    })
    .await;
    let sent = requests
        .all()
        .into_iter()
        .find(|body| correlation_id_of(body) == retry_id)
        .expect("the retry reached the provider");
    let (essay_a, essay_b) = &wave[&refused];
    assert_eq!(&sent["metadata"]["essay_a_id"], essay_b, "reversed");
    assert_eq!(&sent["metadata"]["essay_b_id"], essay_a, "reversed");
    assert_eq!(sent["metadata"]["cj_request_type"], "cj_retry");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_briefly_unavailable_gets_each_comparison_again_and_all_are_submitted() {
    let provider = scripted_provider(|_, earlier| {
        if earlier == 0 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::ACCEPTED
        }
    });
    let (running, requests, batch_id, wave) =
        start_with_batch(settings_for_test(), provider, LlmSettings::default()).await;

    eventually("the whole first wave is submitted", || async {
        submitted(&running.events(batch_id).await).len() >= wave.len()
    })
    .await;
    let log = running.events(batch_id).await;
    assert_eq!(
        submitted(&log).len(),
        wave.len(),
        "each comparison submitted once"
    );
    assert!(
        !log.iter()
            .any(|e| matches!(e, CjBatchEvent::ComparisonFailed(_))),
        "an unavailable provider fails no comparison"
    );
    let asked = requests_per_comparison(&requests);
    assert_eq!(
        asked.keys().copied().collect::<BTreeSet<_>>(),
        wave.keys().copied().collect()
    );
    assert!(asked.values().all(|&n| n == 2), "503, then 202: {asked:?}");
    running.stop().await;
}

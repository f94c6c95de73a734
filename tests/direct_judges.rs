//! Direct judges against a fake provider that answers like the real ones
//! ([`provider_fake`]), with real PostgreSQL and no broker: a batch judged through the
//! OpenAI-compatible format completes, and through the Anthropic format; the requests per
//! window never exceed the limit, counted where they arrive; a 429's `Retry-After` is
//! waited out; 500s and timeouts are retried within the call; an off-format or malformed
//! answer fails its comparison with the provider's text as the reason. No test calls a
//! paid API.

#[path = "support/mod.rs"]
mod support;

use cj_aggregates::batch::commands::{CloseIntake, RegisterBatch};
use cj_aggregates::batch::events::{ComparisonFailed, ComparisonRecorded};
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget, LlmSettings};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_assessment::dispatcher::Dispatcher;
use cj_assessment::judges::settings::{JudgeKind, JudgeSettings, PriceTable};
use cj_assessment::lab::llm_sim::provider_fake::{FakeProvider, Reply, WireFormat};
use cj_assessment::lab::simulation::scenario::{Scenario, ScenarioSpec};
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use cj_projections::{catalogue, log, supervisor};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use support::http::{content_store, serve};
use support::kafka::settings_for_test_on;
use support::service::service_settings_on;
use support::{eventually, TestDatabase};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The model the fake is asked for, and its price (USD per million tokens).
const MODEL: &str = "fake-llama-3";
const PRICES: &str = "fake-llama-3=1.5:6";

/// Six students and two anchors, a budget of 30 comparisons.
fn scenario() -> Scenario {
    Scenario::generate(ScenarioSpec {
        students: 6,
        anchors: 2,
        seed: 33,
        ..ScenarioSpec::default()
    })
}

/// Judge settings for `kind` at the fake served at `fake_url`.
fn judge_settings(kind: JudgeKind, fake_url: &str) -> JudgeSettings {
    let mut settings = JudgeSettings {
        default: kind,
        judge_prices: PriceTable::parse(PRICES).expect("prices"),
        judge_timeout_secs: 2,
        ..JudgeSettings::default()
    };
    match kind {
        JudgeKind::Openai => {
            settings.openai_base_url = format!("{fake_url}/v1");
            settings.openai_model = Some(MODEL.into());
            settings.openai_api_key = Some("sk-test".into());
        }
        JudgeKind::Anthropic => {
            settings.anthropic_base_url = format!("{fake_url}/v1");
            settings.anthropic_model = Some(MODEL.into());
            settings.anthropic_api_key = Some("sk-ant-test".into());
        }
        JudgeKind::LlmProviderService => {}
    }
    settings
}

/// A dispatcher judging one registered batch through `fake`, with projectors running.
struct Judging {
    db: TestDatabase,
    batch_id: BatchId,
    shutdown: CancellationToken,
    running: Vec<tokio::task::JoinHandle<()>>,
}

impl Judging {
    /// `configure` adjusts the judge settings (limits, timeouts) before the start.
    async fn start(
        kind: JudgeKind,
        fake: &FakeProvider,
        configure: impl FnOnce(&mut JudgeSettings),
    ) -> Judging {
        let db = TestDatabase::create().await;
        let bus = Arc::new(BatchCommandBus::new(db.pool.clone()));
        let projectors = supervisor::start(&db.pool, catalogue::all())
            .await
            .expect("projectors start");
        let scenario = scenario();
        let texts: HashMap<String, String> = scenario
            .all()
            .map(|essay| {
                let text = scenario.content.get(&essay.text_storage_id).expect("text");
                (essay.text_storage_id.clone(), text.to_string())
            })
            .collect();
        // No broker: the dispatcher only names the callback topic, a direct judge needs none.
        let mut settings = service_settings_on(&db.url, settings_for_test_on("127.0.0.1:9".into()));
        settings.content_service_url = serve(content_store(texts)).await;
        settings.judge = judge_settings(kind, &serve(fake.router()).await);
        configure(&mut settings.judge);
        let dispatcher = Dispatcher::from_settings(&settings).expect("a dispatcher");
        let shutdown = CancellationToken::new();
        let (pool, stop) = (db.pool.clone(), shutdown.clone());
        let dispatching = tokio::spawn({
            let bus = Arc::clone(&bus);
            async move {
                dispatcher
                    .run(pool, bus, stop)
                    .await
                    .expect("dispatcher runs");
            }
        });
        let stop = shutdown.clone();
        let projecting = tokio::spawn(async move {
            stop.cancelled().await;
            projectors.stop().await;
        });
        let batch_id = register(&bus, &scenario).await;
        Judging {
            db,
            batch_id,
            shutdown,
            running: vec![dispatching, projecting],
        }
    }

    async fn events(&self) -> Vec<CjBatchEvent> {
        log::batch_events(&self.db.pool, self.batch_id.0, 0)
            .await
            .expect("the batch's events")
            .into_iter()
            .map(|logged| logged.event)
            .collect()
    }

    async fn until(&self, what: &str, done: impl Fn(&[CjBatchEvent]) -> bool) -> Vec<CjBatchEvent> {
        eventually(what, || async { done(&self.events().await) }).await;
        self.events().await
    }

    async fn completed(&self) -> Vec<CjBatchEvent> {
        self.until("the batch completes", |events| {
            events
                .iter()
                .any(|e| matches!(e, CjBatchEvent::BatchCompleted(_)))
        })
        .await
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for task in self.running {
            task.await.expect("stops cleanly");
        }
    }
}

/// Registers the scenario (intake closed: the first wave is planned).
async fn register(bus: &BatchCommandBus, scenario: &Scenario) -> BatchId {
    let request_event_id = Uuid::new_v4();
    let batch_id = BatchId::for_request(request_event_id);
    let mut settings = BatchSettings::with_budget(ComparisonBudget::new(30).expect("budget"));
    settings.seed = 5;
    let register = RegisterBatch {
        upstream_batch_id: format!("bos-{batch_id}"),
        grade_scale: scenario.spec.scale,
        llm: LlmSettings::default(),
        ..RegisterBatch::new(batch_id, request_event_id, scenario.essay_refs(), settings)
    };
    let anchors = CloseIntake {
        anchors: scenario.anchor_refs(),
    };
    for command in [
        CjBatchCommand::RegisterBatch(Box::new(register)),
        CjBatchCommand::CloseIntake(anchors),
    ] {
        bus.execute(
            batch_id,
            command,
            &CommandMetadata::new(Uuid::new_v4(), "tests"),
        )
        .await
        .expect("command accepted");
    }
    batch_id
}

fn recorded(events: &[CjBatchEvent]) -> Vec<&ComparisonRecorded> {
    events
        .iter()
        .filter_map(|e| match e {
            CjBatchEvent::ComparisonRecorded(recorded) => Some(recorded),
            _ => None,
        })
        .collect()
}

fn failed(events: &[CjBatchEvent]) -> Vec<&ComparisonFailed> {
    events
        .iter()
        .filter_map(|e| match e {
            CjBatchEvent::ComparisonFailed(failed) => Some(failed),
            _ => None,
        })
        .collect()
}

/// Each verdict was submitted first and carries its judge and its usage.
fn assert_judged_by(events: &[CjBatchEvent], provider: &str) {
    let mut submitted: BTreeSet<cj_aggregates::ids::CorrelationId> = BTreeSet::new();
    let mut verdicts = 0;
    for event in events {
        match event {
            CjBatchEvent::PairsSubmitted(pairs) => submitted.extend(pairs.correlation_ids.iter()),
            CjBatchEvent::ComparisonRecorded(verdict) => {
                verdicts += 1;
                assert!(
                    submitted.contains(&verdict.correlation_id),
                    "submitted first"
                );
                assert_eq!(verdict.judge.provider(), provider);
                assert_eq!(verdict.judge.model(), MODEL);
                assert_eq!(verdict.judge.prompt_hash().len(), 16);
                let tokens = verdict.total_tokens.expect("tokens recorded");
                assert!(tokens > 0);
                let cost = verdict.cost_estimate.expect("priced");
                assert!(cost > 0.0 && cost < tokens as f64 * 6.0 / 1e6 + 1e-12);
                assert!(verdict.justification.is_some() && verdict.confidence.is_some());
            }
            _ => {}
        }
    }
    assert!(verdicts >= 6, "a wave or more was judged: {verdicts}");
}

#[tokio::test]
async fn a_batch_judged_through_the_openai_compatible_format_completes() {
    let fake = FakeProvider::new();
    let judging = Judging::start(JudgeKind::Openai, &fake, |_| {}).await;
    let events = judging.completed().await;
    assert_judged_by(&events, "openai");
    let arrivals = fake.arrivals();
    assert_eq!(
        arrivals.len(),
        recorded(&events).len(),
        "one call per verdict"
    );
    for arrival in &arrivals {
        assert_eq!(arrival.format, WireFormat::OpenAi);
        assert_eq!(arrival.body["model"], MODEL);
        assert_eq!(arrival.body["logprobs"], true);
        let prompt = arrival.body["messages"][0]["content"].as_str().unwrap();
        assert!(prompt.contains("<<<ESSAY A>>>") && prompt.contains("Essay B"));
    }
    judging.stop().await;
}

#[tokio::test]
async fn a_batch_judged_through_the_anthropic_format_completes() {
    let fake = FakeProvider::new();
    let judging = Judging::start(JudgeKind::Anthropic, &fake, |_| {}).await;
    let events = judging.completed().await;
    assert_judged_by(&events, "anthropic");
    assert!(fake
        .arrivals()
        .iter()
        .all(|a| a.format == WireFormat::Anthropic && a.body["max_tokens"] == 400));
    judging.stop().await;
}

#[tokio::test]
async fn requests_per_window_never_exceed_the_limit_where_they_arrive() {
    const LIMIT: usize = 4;
    let window = Duration::from_millis(1000);
    let fake = FakeProvider::new();
    let judging = Judging::start(JudgeKind::Openai, &fake, |judge| {
        judge.openai_rpm = Some(LIMIT as u32);
        judge.openai_concurrency = 8;
        judge.rate_window = window;
    })
    .await;
    judging
        .until("three windows' worth of verdicts", |events| {
            recorded(events).len() >= 3 * LIMIT
        })
        .await;
    let arrivals: Vec<_> = fake.arrivals().iter().map(|a| a.at).collect();
    // A window slightly shorter than the limiter's absorbs the network's jitter.
    let measured = window.mul_f64(0.8);
    for (i, start) in arrivals.iter().enumerate() {
        let inside = arrivals[i..]
            .iter()
            .take_while(|at| at.duration_since(*start) < measured)
            .count();
        assert!(inside <= LIMIT, "{inside} requests within {measured:?}");
    }
    judging.stop().await;
}

#[tokio::test]
async fn a_429s_retry_after_is_waited_out_before_the_provider_is_called_again() {
    let fake = FakeProvider::new();
    fake.then([Reply::RateLimited {
        retry_after_secs: 1,
    }]);
    let rate_limited = || {
        cj_assessment::metrics::metrics()
            .judge_calls
            .with_label_values(&["openai", "rate_limited"])
            .get()
    };
    let before = rate_limited();
    let judging = Judging::start(JudgeKind::Openai, &fake, |judge| {
        judge.openai_concurrency = 1;
    })
    .await;
    let events = judging.completed().await;
    assert!(
        rate_limited() > before,
        "the 429 is counted in cj_judge_calls_total"
    );
    let arrivals = fake.arrivals();
    assert!(
        arrivals[1].at.duration_since(arrivals[0].at) >= Duration::from_secs(1),
        "the next call waited for Retry-After"
    );
    assert!(
        arrivals[1..].iter().any(|a| a.body == arrivals[0].body),
        "the rate-limited comparison is asked again"
    );
    assert!(failed(&events).is_empty());
    judging.stop().await;
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_within_the_call() {
    let fake = FakeProvider::new();
    fake.then([Reply::ServerError, Reply::Stall(Duration::from_secs(3))]);
    let judging = Judging::start(JudgeKind::Anthropic, &fake, |judge| {
        judge.anthropic_concurrency = 1;
        judge.judge_timeout_secs = 1;
    })
    .await;
    let events = judging.completed().await;
    let arrivals = fake.arrivals();
    // The failed and the stalled call are asked again (other comparisons may come between).
    for failed_call in &arrivals[..2] {
        let asked = arrivals
            .iter()
            .filter(|a| a.body == failed_call.body)
            .count();
        assert!(asked >= 2, "asked again after a 500 or a timeout");
    }
    assert!(failed(&events).is_empty(), "passing failures fail nothing");
    judging.stop().await;
}

#[tokio::test]
async fn an_off_format_or_malformed_answer_fails_with_the_providers_text_as_the_reason() {
    let prose = "Both essays have their merits; I would rather not choose.";
    let fake = FakeProvider::new();
    fake.then([Reply::OffFormat(prose.into()), Reply::Malformed]);
    let judging = Judging::start(JudgeKind::Openai, &fake, |judge| {
        judge.openai_concurrency = 1;
    })
    .await;
    let events = judging
        .until("two failures", |events| failed(events).len() >= 2)
        .await;
    let failures = failed(&events);
    assert!(failures
        .iter()
        .all(|f| f.error_code == "LLM_ANSWER_OFF_FORMAT"));
    assert_eq!(failures[0].message, prose);
    assert!(failures[1].message.starts_with("{\"choices\""));
    judging.stop().await;
}

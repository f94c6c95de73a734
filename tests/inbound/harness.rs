//! One running inbound side per test: a fresh database, the built-in content store served on
//! 127.0.0.1:0, the test's own topics on the broker, and the consumer as a task.

pub use crate::support::inbound_messages::request;
use crate::support::kafka::settings_for_test;
use crate::support::service::{service_credentials, test_api, test_auth};
use crate::support::TestDatabase;
use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatchEvent;
use cj_assessment::config::ServiceSettings;
use cj_assessment::consumer::run_consumer;
use cj_assessment::content::client::ContentClient;
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::store::BatchCommandBus;
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long any awaited outcome may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Inbound {
    pub db: TestDatabase,
    pub settings: ServiceSettings,
    pub publisher: Publisher,
    pub content: ContentClient,
    shutdown: CancellationToken,
    consumer: JoinHandle<anyhow::Result<()>>,
}

/// Serves the built-in content store of `db` on a free local port; returns its base URL.
pub async fn serve_content_store(db: &TestDatabase) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("bound address");
    serve_on(listener, db).await;
    content_url(address)
}

pub async fn serve_on(listener: tokio::net::TcpListener, db: &TestDatabase) {
    let app = test_api(db.pool.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
}

pub fn content_url(address: SocketAddr) -> String {
    format!("http://{address}/api/v1/content")
}

impl Inbound {
    /// Everything up, with the content store served by the test.
    pub async fn start() -> Inbound {
        let db = TestDatabase::create().await;
        let url = serve_content_store(&db).await;
        Inbound::start_with_content_at(db, url).await
    }

    /// Everything up, the consumer fetching texts from `content_url`.
    pub async fn start_with_content_at(db: TestDatabase, content_url: String) -> Inbound {
        let kafka = settings_for_test();
        ensure_topics(&kafka, &kafka.topics.all())
            .await
            .expect("topics created");
        let settings = ServiceSettings {
            database_url: db.url.clone(),
            kafka,
            llm_provider_url: "http://127.0.0.1:9/api/v1".into(),
            content_service_url: content_url.clone(),
            judge: Default::default(),
            content_service_token: None,
            insecure_no_read_auth: false,
            http_only: false,
            auth: test_auth(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            max_comparisons: 200,
            dispatch_concurrency: 4,
            monitor_interval_secs: 300,
            stuck_timeout_secs: 3600,
            shutdown_grace_secs: 5,
            dispatch_lease_secs: 15,
        };
        let publisher = Publisher::new(&settings.kafka).expect("producer");
        let content =
            ContentClient::new(&content_url, service_credentials()).expect("content client");
        let shutdown = CancellationToken::new();
        let consumer = tokio::spawn({
            let settings = settings.clone();
            let pool = db.pool.clone();
            let bus = Arc::new(BatchCommandBus::new(db.pool.clone()));
            let publisher = publisher.clone();
            let content = content.clone();
            let shutdown = shutdown.clone();
            async move { run_consumer(&settings, pool, bus, publisher, content, shutdown).await }
        });
        Inbound {
            db,
            settings,
            publisher,
            content,
            shutdown,
            consumer,
        }
    }

    pub fn consumer_is_running(&self) -> bool {
        !self.consumer.is_finished()
    }

    /// Asks the consumer to stop and waits for it.
    pub async fn stop(self) -> TestDatabase {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.consumer)
            .await
            .expect("the consumer stops within the patience")
            .expect("the consumer task did not panic")
            .expect("the consumer ends without error");
        self.db
    }

    pub async fn store_text(&self, text: &str) -> String {
        self.content.store(text).await.expect("text stored")
    }

    /// Stores `count` essay texts: `(essay id, storage id)` of essays `e0`, `e1`, ….
    pub async fn store_essays(&self, count: usize) -> Vec<(String, String)> {
        let mut essays = Vec::with_capacity(count);
        for n in 0..count {
            essays.push((format!("e{n}"), self.store_text(&essay_text(n)).await));
        }
        essays
    }

    pub async fn produce(&self, topic: &str, key: &str, payload: &[u8]) {
        self.publisher
            .send(topic, key, payload, &[])
            .await
            .expect("broker acknowledged");
    }

    pub async fn produce_request(&self, request: &Value) {
        let key = request["data"]["entity_id"].as_str().expect("entity id");
        let payload = serde_json::to_vec(request).expect("json");
        self.produce(&self.settings.kafka.topics.requests, key, &payload)
            .await;
    }

    /// The batch's events so far, in order.
    pub async fn events(&self, batch_id: BatchId) -> Vec<CjBatchEvent> {
        cj_projections::log::batch_events(&self.db.pool, batch_id.0, 0)
            .await
            .expect("read the batch's events")
            .into_iter()
            .map(|logged| logged.event)
            .collect()
    }

    /// Waits until the batch's log holds an event `matches` accepts; returns the log.
    pub async fn wait_for_event(
        &self,
        batch_id: BatchId,
        what: &str,
        matches: impl Fn(&CjBatchEvent) -> bool,
    ) -> Vec<CjBatchEvent> {
        wait_until(what, || async {
            let events = self.events(batch_id).await;
            events.iter().any(&matches).then_some(events)
        })
        .await
    }
}

/// Polls `probe` until it yields a value; fails the test after [`PATIENCE`].
pub async fn wait_until<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(essay id, storage id)` pairs as [`request`] takes them.
pub fn borrowed(essays: &[(String, String)]) -> Vec<(&str, &str)> {
    essays
        .iter()
        .map(|(e, s)| (e.as_str(), s.as_str()))
        .collect()
}

/// The batch a request becomes.
pub fn batch_of(request: &Value) -> BatchId {
    let event_id: Uuid = request["event_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("request event id");
    BatchId::for_request(event_id)
}

/// A student essay's text, different per `n`.
pub fn essay_text(n: usize) -> String {
    format!(
        "Essay number {n}. {}",
        "The argument develops with evidence and a clear structure. ".repeat(n + 2)
    )
}

pub fn is_registered(event: &CjBatchEvent) -> bool {
    matches!(event, CjBatchEvent::BatchRegistered(_))
}

pub fn is_wave_planned(event: &CjBatchEvent) -> bool {
    matches!(event, CjBatchEvent::WavePlanned(_))
}

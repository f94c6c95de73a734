//! Batches for a fault test: one assignment with anchors of known grade, essay texts stored
//! once in the built-in content store and shared by every batch (each batch's essays are its
//! own; their texts need not be), and the requests naming them, published to the request
//! topic all at once or spread evenly over a while.

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::content::store::put_text;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::lab::runner::assignment::{essay_text, register_assignment};
use cj_assessment::lab::runner::request::request_envelope;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

pub struct Workload {
    name: String,
    assignment: String,
    essays: Vec<Value>,
    max_comparisons: u32,
    requested: BTreeSet<String>,
}

/// One request, ready to publish.
#[derive(Debug, Clone)]
pub struct Request {
    pub upstream_batch_id: String,
    pub payload: Vec<u8>,
}

impl Workload {
    /// Registers the assignment and stores `students` texts.
    pub async fn prepare(
        pool: &PgPool,
        name: &str,
        students: usize,
        max_comparisons: u32,
    ) -> Workload {
        let assignment = format!("{name}-assignment");
        register_assignment(pool, &assignment, GradeScale::Swedish8Anchor)
            .await
            .expect("the assignment and its anchors");
        let mut essays = Vec::with_capacity(students);
        for i in 0..students {
            let text = essay_text((i * 7) % 17, &format!("student {i} of {name}"));
            let stored = put_text(pool, &text).await.expect("a stored text");
            essays.push(json!({
                "essay_id": format!("e{i}"),
                "text_storage_id": stored.storage_id,
                "spellcheck_metrics": null,
            }));
        }
        Workload {
            name: name.to_string(),
            assignment,
            essays,
            max_comparisons,
            requested: BTreeSet::new(),
        }
    }

    /// `count` new requests.
    pub fn requests(&mut self, count: usize) -> Vec<Request> {
        (0..count).map(|_| self.request()).collect()
    }

    /// One new request.
    pub fn request(&mut self) -> Request {
        let upstream_batch_id = format!(
            "{}-{:04}-{}",
            self.name,
            self.requested.len(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let envelope = request_envelope(
            &upstream_batch_id,
            &self.assignment,
            self.essays.clone(),
            self.max_comparisons,
        );
        self.requested.insert(upstream_batch_id.clone());
        Request {
            upstream_batch_id,
            payload: serde_json::to_vec(&envelope).expect("json"),
        }
    }

    /// The upstream batch ids of every request made so far.
    pub fn requested(&self) -> &BTreeSet<String> {
        &self.requested
    }
}

/// Publishes one request to `topic`, keyed by its upstream batch id.
pub async fn publish(publisher: &Publisher, topic: &str, request: &Request) {
    publisher
        .send(topic, &request.upstream_batch_id, &request.payload, &[])
        .await
        .expect("the broker takes the request");
}

/// Publishes `requests` one by one, evenly spread over `over`.
pub async fn publish_evenly(
    publisher: Publisher,
    topic: String,
    requests: Vec<Request>,
    over: Duration,
) {
    let started = Instant::now();
    let step = over / requests.len().max(1) as u32;
    for (n, request) in requests.iter().enumerate() {
        tokio::time::sleep_until(started + step * n as u32).await;
        publish(&publisher, &topic, request).await;
    }
}

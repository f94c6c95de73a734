//! The batch routes over a finished batch in a real database, read with a reader token:
//! state from the projections (with the batch's reliability figures), the history in order,
//! and the teacher's report with its chart.

mod support;

use cj_aggregates::batch::events::BatchScored;
use cj_assessment::store::BatchCommandBus;
use support::http::{get_json, serve};
use support::service::{reader_token, test_api};
use support::{drain_projections, run_simulated_batch, TestDatabase};

#[tokio::test]
async fn a_finished_batch_shows_its_state_history_and_report() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let run = run_simulated_batch(&bus, 3).await;
    drain_projections(&db.pool).await;
    let base = serve(test_api(db.pool.clone())).await;
    let http = reqwest::Client::new();
    let id = run.batch_id.to_string();
    let token = reader_token();
    let token = Some(token.as_str());

    let state: serde_json::Value = get_json(&format!("{base}/api/v1/batches/{id}"), token).await;
    assert!(state["upload_status"]
        .as_str()
        .unwrap()
        .starts_with("COMPLETE_"));
    assert_eq!(state["state"], "COMPLETED");
    assert_eq!(state["divergent"], false);
    assert_reliability_shown(&state, run.scored.as_ref().expect("the batch was scored"));

    let history: Vec<serde_json::Value> =
        get_json(&format!("{base}/api/v1/batches/{id}/history"), token).await;
    assert_eq!(history.first().unwrap()["event_type"], "BatchRegistered");
    assert_eq!(history.last().unwrap()["event_type"], "BatchCompleted");
    let sequences: Vec<i64> = history
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[1] == w[0] + 1));

    let report = http
        .get(format!("{base}/api/v1/batches/{id}/report"))
        .bearer_auth(reader_token())
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    assert!(report.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = report.text().await.unwrap();
    assert!(page.contains("<svg") && page.contains("id=\"scale-chart\""));
    assert!(page.contains("class=\"anchor\""), "anchors are marked");
    assert!(
        page.contains("class=\"boundary\""),
        "grade boundaries are drawn"
    );
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "no external assets"
    );

    let missing = http
        .get(format!("{base}/api/v1/batches/{}", uuid::Uuid::new_v4()))
        .bearer_auth(reader_token())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let malformed = http
        .get(format!("{base}/api/v1/batches/not-a-uuid/report"))
        .bearer_auth(reader_token())
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

/// The state carries the figures of the batch's reliability report.
fn assert_reliability_shown(state: &serde_json::Value, scored: &BatchScored) {
    let report = scored
        .reliability
        .as_ref()
        .expect("a 1.1 batch has a report");
    let close = |field: &str, expected: Option<f64>| {
        let expected = expected.unwrap_or_else(|| panic!("the report has {field}"));
        let shown = state[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{field} in {state}"));
        assert!(
            (shown - expected).abs() < 1e-12,
            "{field}: {shown} ≠ {expected}"
        );
    };
    assert_eq!(state["estimator"], report.estimator.as_str());
    close("reference_ssr", report.reference_ssr);
    close("sep_g", report.sep_g);
    close(
        "split_half_spearman_brown",
        report.split_half.as_ref().and_then(|h| h.spearman_brown),
    );
    let order = report.order_effect.as_ref().expect("an order effect");
    close("order_effect", Some(order.estimate));
    assert_eq!(state["order_effect_flagged"], order.flagged);
    let misfits = scored.essays.iter().filter(|e| e.misfit).count();
    assert_eq!(state["misfitting_essays"], misfits);
    let judges = report.judges.iter().filter(|j| j.flagged).count();
    assert_eq!(state["misfitting_judges"], judges);
}

//! The metrics tap: a projector without tables that turns the decisions in the log into the
//! metrics operators chart — comparisons succeeded/failed (by error code), workflow
//! decisions, waves per batch, batch duration, the score change between the fits two
//! waves were planned on, and a scored batch's reference SSR, flagged order effect and
//! misfitting judges. Reading the log (not the command path) counts every decision once,
//! whichever instance or component made it. It runs beside the projections in `serve`, not
//! in `replay`.

use crate::metrics::metrics;
use async_trait::async_trait;
use cj_aggregates::batch::events::BatchScored;
use cj_aggregates::batch::usage::Usage;
use cj_aggregates::CjBatchEvent;
use cj_projections::batch_states::reliability_of;
use cj_projections::log::LoggedEvent;
use cj_projections::{Projection, ProjectionError};
use sqlx::PgConnection;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Fits of the last wave per running batch, to measure how far the next wave moved them.
#[derive(Default)]
pub struct MetricsTap {
    last_fit: Mutex<HashMap<Uuid, Vec<f64>>>,
}

#[async_trait]
impl Projection for MetricsTap {
    fn name(&self) -> &'static str {
        "metrics_tap"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "ComparisonRecorded",
            "ComparisonFailed",
            "WavePlanned",
            "BatchScored",
            "BatchCompleted",
            "BatchFailed",
        ])
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        let m = metrics();
        match &logged.event {
            CjBatchEvent::ComparisonRecorded(recorded) => {
                m.comparisons.with_label_values(&["succeeded"]).inc();
                let usage = Usage::default().plus(recorded);
                m.llm_tokens.inc_by(usage.tokens);
                m.llm_cost_usd.inc_by(usage.cost_usd);
            }
            CjBatchEvent::ComparisonFailed(failed) => {
                m.comparisons.with_label_values(&["failed"]).inc();
                m.failed_comparisons
                    .with_label_values(&[&failed.error_code])
                    .inc();
            }
            CjBatchEvent::WavePlanned(wave) => {
                if wave.wave > 1 {
                    m.workflow_decisions.with_label_values(&["next_wave"]).inc();
                }
                if let Some(fit) = &wave.fit {
                    let mut last = self.last_fit.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(previous) = last.insert(logged.batch_id, fit.scores.clone()) {
                        m.score_stability_changes.observe(
                            cj_aggregates::batch::completion::max_score_change(
                                &fit.scores,
                                &previous,
                            ),
                        );
                    }
                }
            }
            CjBatchEvent::BatchScored(scored) => record_reliability(scored),
            CjBatchEvent::BatchCompleted(completed) => {
                m.workflow_decisions.with_label_values(&["finalize"]).inc();
                m.iterations_per_batch.observe(f64::from(completed.waves));
                self.batch_ended(conn, logged).await?;
            }
            CjBatchEvent::BatchFailed(_) => {
                m.workflow_decisions.with_label_values(&["fail"]).inc();
                self.batch_ended(conn, logged).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A scored batch's reliability: its reference SSR, whether its order effect is flagged,
/// its misfitting judges (nothing for a batch scored before `BatchScored` 1.1).
pub fn record_reliability(scored: &BatchScored) {
    let Some(reliability) = reliability_of(scored) else {
        return;
    };
    let m = metrics();
    if let Some(ssr) = reliability.reference_ssr {
        m.reference_ssr.observe(ssr);
    }
    if reliability.order_effect_flagged == Some(true) {
        m.order_effect_flagged.inc();
    }
    m.misfitting_judges
        .inc_by(u64::try_from(reliability.misfitting_judges).unwrap_or(0));
}

impl MetricsTap {
    async fn batch_ended(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        self.last_fit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&logged.batch_id);
        let started = cj_projections::log::first_recorded_at(&mut *conn, logged.batch_id).await?;
        if let Some(started) = started {
            let seconds = (logged.recorded_at - started).num_milliseconds() as f64 / 1000.0;
            metrics()
                .batch_processing_duration
                .observe(seconds.max(0.0));
        }
        Ok(())
    }
}

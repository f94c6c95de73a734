//! Prometheus metrics of the service. Names follow the older service's where they apply,
//! so existing dashboards keep working; the rest are this service's own (projector and
//! outbox lag, conflict retries, dead letters, callback → completion latency, the scored
//! batches' reference SSR, flagged order effects and misfitting judges).

use prometheus::{
    Counter, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::OnceLock;

/// `role` of `cj_leader` for the batch monitor.
pub const LEADER_MONITOR: &str = "monitor";
/// `role` of `cj_leader` for the outbox relay.
pub const LEADER_RELAY: &str = "relay";

/// Every metric the service declares, registered in one registry.
pub struct Metrics {
    pub registry: Registry,
    pub callbacks_processed: IntCounterVec,
    pub callback_latency: Histogram,
    pub batch_state: IntGaugeVec,
    pub batch_processing_duration: Histogram,
    pub stuck_batches_detected: IntGauge,
    pub stuck_batches_recovered: IntCounter,
    pub stuck_batches_failed: IntCounter,
    pub comparisons: IntCounterVec,
    pub iterations_per_batch: Histogram,
    pub score_stability_changes: Histogram,
    pub reference_ssr: Histogram,
    pub order_effect_flagged: IntCounter,
    pub misfitting_judges: IntCounter,
    pub llm_tokens: IntCounter,
    pub llm_cost_usd: Counter,
    pub judge_calls: IntCounterVec,
    pub workflow_decisions: IntCounterVec,
    pub failed_comparisons: IntCounterVec,
    pub projector_lag: IntGaugeVec,
    pub outbox_lag: IntGauge,
    pub aggregate_conflict_retries: IntCounter,
    pub aggregate_loads: IntCounterVec,
    pub commands_per_append: Histogram,
    pub dead_lettered: IntCounterVec,
    pub orphan_callbacks: IntCounter,
    pub consumer_rejoins: IntCounter,
    pub consumer_assigned_partitions: IntGauge,
    pub leader: IntGaugeVec,
    pub dispatch_leases_held: IntGauge,
    pub dispatch_holder: IntGaugeVec,
    pub dispatch_leases_lost: IntCounter,
    pub completion_latency: HistogramVec,
    pub completion_sweep_finalized: IntCounter,
    pub divergent_batches: IntGauge,
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("valid metric definition")
}

/// Buckets from 1 ms to about 1 h: callbacks take milliseconds, batches take minutes.
fn seconds_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.001, 3.0, 16).expect("valid buckets")
}

impl Metrics {
    fn new() -> Metrics {
        let metrics = Metrics {
            registry: Registry::new(),
            callbacks_processed: counter_vec(
                "cj_callbacks_processed_total",
                "LLM comparison callbacks handled, by status (success, error, duplicate, late, orphan)",
                &["status"],
            ),
            callback_latency: histogram(
                "cj_callback_latency_seconds",
                "Time from a comparison's request to its recorded callback",
                seconds_buckets(),
            ),
            batch_state: IntGaugeVec::new(
                Opts::new("cj_batch_state", "Batches per workflow state"),
                &["state"],
            )
            .expect("valid metric definition"),
            batch_processing_duration: histogram(
                "cj_batch_processing_duration_seconds",
                "Time from registration to completion of a batch",
                seconds_buckets(),
            ),
            stuck_batches_detected: IntGauge::new(
                "cj_stuck_batches_detected",
                "Stuck batches found by the last monitor sweep",
            )
            .expect("valid metric definition"),
            stuck_batches_recovered: IntCounter::new(
                "cj_stuck_batches_recovered_total",
                "Stuck batches force-finalized as COMPLETE_FORCED_RECOVERY",
            )
            .expect("valid metric definition"),
            stuck_batches_failed: IntCounter::new(
                "cj_stuck_batches_failed_total",
                "Stuck batches failed for insufficient progress",
            )
            .expect("valid metric definition"),
            comparisons: counter_vec(
                "cj_comparisons_total",
                "Comparisons by outcome (submitted, succeeded, failed)",
                &["status"],
            ),
            iterations_per_batch: histogram(
                "cj_iterations_per_batch",
                "Waves a batch needed",
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0],
            ),
            score_stability_changes: histogram(
                "cj_score_stability_changes",
                "Largest score change between fits a wave apart",
                vec![0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0],
            ),
            reference_ssr: histogram(
                "cj_batch_reference_ssr",
                "Scale separation reliability of a scored batch under the reference estimator (sirt::btm)",
                vec![0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0],
            ),
            order_effect_flagged: IntCounter::new(
                "cj_batches_order_effect_flagged_total",
                "Scored batches whose judge favours a position (order effect |η| > 2 SE)",
            )
            .expect("valid metric definition"),
            misfitting_judges: IntCounter::new(
                "cj_misfitting_judges_total",
                "Judges flagged as misfitting (infit above mean + 2 SD of the batch's judges), summed over scored batches",
            )
            .expect("valid metric definition"),
            llm_tokens: IntCounter::new(
                "cj_llm_tokens_total",
                "Tokens the judges reported for recorded verdicts (prompt and completion)",
            )
            .expect("valid metric definition"),
            llm_cost_usd: Counter::new(
                "cj_llm_cost_usd_total",
                "Cost in US dollars of recorded verdicts, as the judges estimated it",
            )
            .expect("valid metric definition"),
            judge_calls: counter_vec(
                "cj_judge_calls_total",
                "HTTP calls of the direct judges by provider and outcome (ok, rate_limited, transient, refused, off_format)",
                &["provider", "outcome"],
            ),
            workflow_decisions: counter_vec(
                "cj_workflow_decisions_total",
                "Decisions after callbacks (wait, next_wave, finalize, fail)",
                &["decision"],
            ),
            failed_comparisons: counter_vec(
                "cj_failed_comparisons_total",
                "Failed comparisons by error code",
                &["failure_reason"],
            ),
            projector_lag: IntGaugeVec::new(
                Opts::new("cj_projector_lag_events", "Events in the log not yet applied, per projector"),
                &["projector"],
            )
            .expect("valid metric definition"),
            outbox_lag: IntGauge::new(
                "cj_outbox_lag_messages",
                "Outbox messages derived but not yet acknowledged by the broker",
            )
            .expect("valid metric definition"),
            aggregate_conflict_retries: IntCounter::new(
                "cj_aggregate_conflict_retries_total",
                "Commands retried after an optimistic-concurrency conflict",
            )
            .expect("valid metric definition"),
            aggregate_loads: counter_vec(
                "cj_aggregate_loads_total",
                "States commands were decided on, by source (cache: kept from this process's last command on the batch; log: loaded from the event store; catch_up: the state of a conflicting attempt brought up to date with the events appended since)",
                &["source"],
            ),
            commands_per_append: histogram(
                "cj_commands_per_append",
                "Commands whose events one append of several batches wrote with one statement (a poll's callbacks, a drain of dispatch results)",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
            ),
            dead_lettered: counter_vec(
                "cj_dead_lettered_messages_total",
                "Messages sent to a dead-letter topic, by source topic",
                &["topic"],
            ),
            orphan_callbacks: IntCounter::new(
                "cj_orphan_callbacks_total",
                "Callbacks whose correlation id matches no comparison",
            )
            .expect("valid metric definition"),
            consumer_rejoins: IntCounter::new(
                "cj_consumer_rejoins_total",
                "Times the consumer, left without partitions too long, left and re-joined its group",
            )
            .expect("valid metric definition"),
            consumer_assigned_partitions: IntGauge::new(
                "cj_consumer_assigned_partitions",
                "Partitions of the inbound topics this instance's consumer holds now",
            )
            .expect("valid metric definition"),
            leader: IntGaugeVec::new(
                Opts::new(
                    "cj_leader",
                    "1 while this instance holds the advisory lock of a singleton role (monitor, relay)",
                ),
                &["role"],
            )
            .expect("valid metric definition"),
            dispatch_leases_held: IntGauge::new(
                "cj_dispatch_leases_held",
                "Comparisons this instance's dispatcher holds a lease on (being sent or recorded)",
            )
            .expect("valid metric definition"),
            dispatch_holder: IntGaugeVec::new(
                Opts::new(
                    "cj_dispatch_holder",
                    "1, labelled with the instance id this process's dispatcher writes into the leases it holds (cj_dispatch_queue.holder)",
                ),
                &["holder"],
            )
            .expect("valid metric definition"),
            dispatch_leases_lost: IntCounter::new(
                "cj_dispatch_leases_lost_total",
                "Leases another instance took over before this one renewed them",
            )
            .expect("valid metric definition"),
            completion_latency: HistogramVec::new(
                HistogramOpts::new(
                    "cj_last_callback_to_completion_seconds",
                    "Time from the deciding callback being recorded to the completion event published",
                )
                .buckets(seconds_buckets()),
                &["outcome"],
            )
            .expect("valid metric definition"),
            completion_sweep_finalized: IntCounter::new(
                "cj_completion_sweep_finalized_total",
                "Batches the completion sweep had to finalize (0 in normal operation)",
            )
            .expect("valid metric definition"),
            divergent_batches: IntGauge::new(
                "cj_divergent_batches",
                "Batches the monitoring view flags as divergent (COMPLETE_* without a terminal state, or completed without projections)",
            )
            .expect("valid metric definition"),
        };
        metrics.register_all();
        metrics.initialise_known_series();
        metrics
    }

    /// Creates every label value known in advance at zero, so dashboards and alerts see a
    /// series (and a rate of 0) before the first event of its kind.
    fn initialise_known_series(&self) {
        for status in ["success", "error", "duplicate", "late", "orphan"] {
            self.callbacks_processed.with_label_values(&[status]);
        }
        for status in ["submitted", "succeeded", "failed"] {
            self.comparisons.with_label_values(&[status]);
        }
        for decision in ["wait", "next_wave", "finalize", "fail"] {
            self.workflow_decisions.with_label_values(&[decision]);
        }
        for reason in [
            "LLM_PROVIDER_SERVICE_ERROR",
            "LLM_PROVIDER_RATE_LIMIT",
            "LLM_PROVIDER_UNAVAILABLE",
        ] {
            self.failed_comparisons.with_label_values(&[reason]);
        }
        for state in cj_aggregates::batch::status::BatchState::ALL {
            self.batch_state.with_label_values(&[state.as_str()]);
        }
        for outcome in ["completed", "failed"] {
            self.completion_latency.with_label_values(&[outcome]);
        }
        for source in ["cache", "log"] {
            self.aggregate_loads.with_label_values(&[source]);
        }
    }

    /// Creates the series of the configured topics and projectors at zero.
    pub fn initialise_deployment_series(&self, inbound_topics: &[&str], projectors: &[&str]) {
        for topic in inbound_topics {
            self.dead_lettered.with_label_values(&[topic]);
        }
        for projector in projectors {
            self.projector_lag.with_label_values(&[projector]);
        }
        for role in [LEADER_MONITOR, LEADER_RELAY] {
            self.leader.with_label_values(&[role]);
        }
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.callbacks_processed.clone()),
            Box::new(self.callback_latency.clone()),
            Box::new(self.batch_state.clone()),
            Box::new(self.batch_processing_duration.clone()),
            Box::new(self.stuck_batches_detected.clone()),
            Box::new(self.stuck_batches_recovered.clone()),
            Box::new(self.stuck_batches_failed.clone()),
            Box::new(self.comparisons.clone()),
            Box::new(self.iterations_per_batch.clone()),
            Box::new(self.score_stability_changes.clone()),
            Box::new(self.reference_ssr.clone()),
            Box::new(self.order_effect_flagged.clone()),
            Box::new(self.misfitting_judges.clone()),
            Box::new(self.llm_tokens.clone()),
            Box::new(self.llm_cost_usd.clone()),
            Box::new(self.judge_calls.clone()),
            Box::new(self.workflow_decisions.clone()),
            Box::new(self.failed_comparisons.clone()),
            Box::new(self.projector_lag.clone()),
            Box::new(self.outbox_lag.clone()),
            Box::new(self.aggregate_conflict_retries.clone()),
            Box::new(self.commands_per_append.clone()),
            Box::new(self.aggregate_loads.clone()),
            Box::new(self.dead_lettered.clone()),
            Box::new(self.orphan_callbacks.clone()),
            Box::new(self.consumer_rejoins.clone()),
            Box::new(self.consumer_assigned_partitions.clone()),
            Box::new(self.leader.clone()),
            Box::new(self.dispatch_leases_held.clone()),
            Box::new(self.dispatch_holder.clone()),
            Box::new(self.dispatch_leases_lost.clone()),
            Box::new(self.completion_latency.clone()),
            Box::new(self.completion_sweep_finalized.clone()),
            Box::new(self.divergent_batches.clone()),
        ];
        for collector in collectors {
            self.registry
                .register(collector)
                .expect("each metric is registered once");
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

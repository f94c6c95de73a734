-- Projection `cj_comparison_pairs` (written by projections/src/comparison_pairs.rs): one
-- row per comparison asked of the judge. The correlation id is unique across batches and
-- is how a callback finds its batch.

CREATE TABLE cj_comparison_pairs
(
    correlation_id  uuid        PRIMARY KEY,
    batch_id        uuid        NOT NULL,
    essay_a         text        NOT NULL,
    essay_b         text        NOT NULL,
    wave            integer     NOT NULL,
    purpose         text        NOT NULL,
    attempt         integer     NOT NULL,
    retry_of        uuid,
    planned_at      timestamptz NOT NULL,
    submitted_at    timestamptz,
    completed_at    timestamptz,
    winner          text,
    winner_position text,
    error_code      text,
    confidence      double precision,
    provider        text,
    model           text,
    -- A callback that arrived after the batch had ended (kept for audit and cost).
    late_callback   boolean     NOT NULL DEFAULT false
);

CREATE INDEX cj_comparison_pairs_batch ON cj_comparison_pairs (batch_id, wave);

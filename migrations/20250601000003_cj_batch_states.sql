-- Projection `cj_batch_states` (written by projections/src/batch_states.rs): one row per
-- batch with its status, counters and times. Every time comes from the events' recorded_at.

CREATE TABLE cj_batch_states
(
    batch_id              uuid        PRIMARY KEY,
    upstream_batch_id     text        NOT NULL,
    upload_status         text        NOT NULL,
    state                 text        NOT NULL,
    total_budget          integer     NOT NULL,
    student_essays        integer     NOT NULL,
    submitted_comparisons integer     NOT NULL DEFAULT 0,
    completed_comparisons integer     NOT NULL DEFAULT 0,
    failed_comparisons    integer     NOT NULL DEFAULT 0,
    current_wave          integer     NOT NULL DEFAULT 0,
    ssr                   double precision,
    failure_reason        text,
    created_at            timestamptz NOT NULL,
    last_activity_at      timestamptz NOT NULL,
    completed_at          timestamptz,
    -- The batch's last event applied here (its aggregate sequence).
    last_sequence         bigint      NOT NULL
);

CREATE INDEX cj_batch_states_upstream ON cj_batch_states (upstream_batch_id);
CREATE INDEX cj_batch_states_active ON cj_batch_states (upload_status, last_activity_at);

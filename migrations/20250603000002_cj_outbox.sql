-- Projection `cj_outbox` (written by projections/src/outbox/projection.rs): the messages a
-- finished batch publishes, derived from its history when BatchCompleted or BatchFailed
-- appears in the log. `event_id` is deterministic, so deriving again (a replay) yields the
-- same rows. Ordered by the terminal event's log position, then by the message's place.

CREATE TABLE cj_outbox
(
    event_id    uuid        PRIMARY KEY,
    log_tx      bigint      NOT NULL,
    log_seq     bigint      NOT NULL,
    ordinal     integer     NOT NULL,
    batch_id    uuid        NOT NULL,
    -- The contract's topic name; the relay maps it to the configured topic.
    topic       text        NOT NULL,
    kafka_key   text        NOT NULL,
    payload     jsonb       NOT NULL,
    -- When the batch ended (the terminal event's recorded_at).
    created_at  timestamptz NOT NULL
);

CREATE INDEX cj_outbox_order ON cj_outbox (log_tx, log_seq, ordinal);

-- What the outbox relay (src/outbox_relay/) has published: written only after the broker
-- acknowledged the message. Kept apart from `cj_outbox` so that rebuilding the projection
-- never re-publishes what was already delivered.
CREATE TABLE cj_outbox_published
(
    event_id     uuid        PRIMARY KEY,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- The event log written by postgres-es 0.5.0 (its db/init.sql schema for `events`, no
-- snapshot table: the 0.5.0 snapshot store applies a command's events twice), plus the
-- columns every reader needs, all filled by defaults inside postgres-es's own INSERT:
--
--   global_seq   order of insertion across all aggregates (not of commit!)
--   tx           the inserting transaction's id; readers page by (tx, global_seq) below the
--                oldest running transaction, so a late-committing writer is never skipped
--   event_id     stable id of the event, derived from (aggregate_type, aggregate_id,
--                sequence): a retried command cannot append the same event twice, and
--                outgoing messages derived from it keep their id across replays
--   recorded_at  when the event was written; projections take every time from here

CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    global_seq     bigserial                    NOT NULL UNIQUE,
    tx             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id       uuid        NOT NULL UNIQUE GENERATED ALWAYS AS (
                       md5(aggregate_type || '/' || aggregate_id || '/' || sequence::text)::uuid
                   ) STORED,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- The projectors' cursor.
CREATE INDEX events_tx_global_seq ON events (tx, global_seq);

-- Wakes projectors on commit. PostgreSQL folds identical notifications of one transaction
-- into one, so a command appending many events sends one wake-up.
CREATE FUNCTION notify_event_appended() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('cj_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify_appended
    AFTER INSERT ON events
    FOR EACH ROW
EXECUTE FUNCTION notify_event_appended();

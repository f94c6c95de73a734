-- Projection `cj_dispatch_queue` (written by projections/src/dispatch_queue.rs): every
-- comparison the batches planned, waiting to be sent to the LLM Provider Service, and what
-- the dispatcher needs to send it. The projection inserts a row per planned comparison
-- (status `pending`) and marks it `done` once the log shows it submitted, answered, or its
-- batch ended. The dispatcher (src/dispatcher/) claims due rows with FOR UPDATE SKIP LOCKED,
-- leasing them by moving `due_at` ahead, and notes `sent` (202 received, SubmitPairs being
-- recorded) or `failed` (refused, the failure being recorded), so a crash between the HTTP
-- answer and the command never sends a comparison twice.

-- One row per batch with comparisons to send: where its comparisons go and with what.
CREATE TABLE cj_dispatch_batches
(
    batch_id               uuid  PRIMARY KEY,
    upstream_batch_id      text  NOT NULL,
    request_correlation_id uuid  NOT NULL,
    assignment_id          text,
    -- The batch's LlmSettings (overrides passed to the provider), as recorded.
    llm                    jsonb NOT NULL
);

-- Where each essay's text is stored, students and anchors; removed when the batch ends.
CREATE TABLE cj_dispatch_texts
(
    batch_id        uuid NOT NULL,
    essay_id        text NOT NULL,
    text_storage_id text NOT NULL,
    PRIMARY KEY (batch_id, essay_id)
);

CREATE TABLE cj_dispatch_queue
(
    correlation_id    uuid        PRIMARY KEY,
    batch_id          uuid        NOT NULL,
    essay_a           text        NOT NULL,
    essay_b           text        NOT NULL,
    text_a            text        NOT NULL,
    text_b            text        NOT NULL,
    -- 1 for a first ask, 2.. for retries (the provider sees `cj_retry`).
    attempt           integer     NOT NULL,
    purpose           text        NOT NULL,
    planned_at        timestamptz NOT NULL,
    -- pending | sent | failed | done (see above).
    status            text        NOT NULL DEFAULT 'pending',
    -- When the dispatcher may next take the row: planned_at at first, then the lease's or
    -- the back-off's end.
    due_at            timestamptz NOT NULL,
    -- HTTP attempts so far (drives the back-off).
    dispatch_attempts integer     NOT NULL DEFAULT 0,
    -- The last refusal code or retryable failure.
    last_error        text
);

CREATE INDEX cj_dispatch_queue_due ON cj_dispatch_queue (due_at) WHERE status <> 'done';
CREATE INDEX cj_dispatch_queue_batch ON cj_dispatch_queue (batch_id) WHERE status <> 'done';

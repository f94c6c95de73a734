-- The dispatch queue holds only what is still to send: a comparison's row is deleted once
-- the log shows it submitted, answered, or its batch ended (it was kept, marked `done`,
-- before). The queue stays the size of the work in flight instead of growing with every
-- comparison ever planned, and lookups by batch no longer wade through finished rows.

DELETE FROM cj_dispatch_queue WHERE status = 'done';

DROP INDEX cj_dispatch_queue_batch;
CREATE INDEX cj_dispatch_queue_batch ON cj_dispatch_queue (batch_id);

DROP INDEX cj_dispatch_queue_due;
CREATE INDEX cj_dispatch_queue_due ON cj_dispatch_queue (due_at);

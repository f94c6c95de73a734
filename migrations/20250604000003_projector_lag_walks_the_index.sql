-- projector_lag() compared the log with its checkpoint through a join, which PostgreSQL
-- planned as a scan of the whole log with a join filter: every readiness probe and gauge
-- refresh read every event ever written. With the checkpoint as scalar subqueries (run once,
-- then index parameters) the count walks the (tx, global_seq) index from the checkpoint:
-- the cost of the lag, not of the log.

CREATE OR REPLACE FUNCTION projector_lag(p_projector text) RETURNS bigint
    LANGUAGE sql STABLE AS
$$
SELECT count(*)
  FROM events e
 WHERE (e.tx, e.global_seq) > (
           (SELECT coalesce(max(c.last_tx), '0'::xid8) FROM projector_checkpoints c
             WHERE c.projector = p_projector),
           (SELECT coalesce(max(c.last_seq), 0) FROM projector_checkpoints c
             WHERE c.projector = p_projector));
$$;

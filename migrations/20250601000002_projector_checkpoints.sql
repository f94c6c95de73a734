-- One row per projector: the last event it applied, as the (tx, global_seq) cursor. A
-- projector updates its row in the same transaction as the projection rows it writes, so
-- an event is applied exactly once even across crashes.

CREATE TABLE projector_checkpoints
(
    projector      text        PRIMARY KEY,
    last_tx        xid8        NOT NULL DEFAULT '0',
    last_seq       bigint      NOT NULL DEFAULT 0,
    events_applied bigint      NOT NULL DEFAULT 0,
    -- When the checkpoint last moved (operational only: never copied into projections).
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Events in the log a projector has not applied yet ("log head minus checkpoint", counted
-- in events). 0 for a projector that has caught up; a projector never started counts the
-- whole log.
CREATE FUNCTION projector_lag(p_projector text) RETURNS bigint
    LANGUAGE sql STABLE AS
$$
WITH checkpoint AS (
    SELECT coalesce(max(c.last_tx), '0'::xid8) AS last_tx, coalesce(max(c.last_seq), 0) AS last_seq
      FROM projector_checkpoints c
     WHERE c.projector = p_projector
)
SELECT count(*)
  FROM events e, checkpoint
 WHERE (e.tx, e.global_seq) > (checkpoint.last_tx, checkpoint.last_seq);
$$;

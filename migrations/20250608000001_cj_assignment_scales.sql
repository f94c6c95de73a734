-- Projection `cj_assignment_scales` (written by projections/src/assignment_scales.rs): each
-- assignment's anchor scale (ADR 0012), one row per version. Version v is the scale after
-- folding the assignment's v-th scored batch (with anchors), in completion order: the batch,
-- the anchors it contributed (essay id, grade index, score and SE on its own axis) and the
-- anchors' positions after folding it (essay id -> grade index, position, variance; logits).
-- The service reads the latest version before a command that can score a batch of the
-- assignment; `BatchScored.assignment_scale_version` names the version a batch used.

CREATE TABLE cj_assignment_scales
(
    assignment_id text        NOT NULL,
    version       integer     NOT NULL CHECK (version > 0),
    batch_id      uuid        NOT NULL UNIQUE,
    contributed   jsonb       NOT NULL,
    anchors       jsonb       NOT NULL,
    folded_at     timestamptz NOT NULL,
    PRIMARY KEY (assignment_id, version)
);

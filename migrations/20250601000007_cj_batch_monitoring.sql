-- The stuck-batch monitor's view over the projections: one row per batch. `divergent` flags
-- the "batch 20" defect of the older service: a COMPLETE_* upload status while the
-- workflow state is not terminal, or a completed batch with student essays and anchors
-- but no grade projection.
--
-- Each projection has its own projector, so right after a batch completes the tables can
-- disagree for a few milliseconds; act on `divergent` only when it persists (or when
-- projector_lag() is 0 for every projector).

CREATE VIEW cj_batch_monitoring AS
SELECT s.batch_id,
       s.upstream_batch_id,
       s.upload_status,
       s.state,
       s.total_budget,
       s.submitted_comparisons,
       s.completed_comparisons,
       s.failed_comparisons,
       s.current_wave,
       counts.anchor_count,
       counts.projection_count,
       s.ssr,
       s.created_at,
       s.last_activity_at,
       s.completed_at,
       now() - s.created_at       AS age,
       now() - s.last_activity_at AS idle_for,
       (s.upload_status LIKE 'COMPLETE\_%'
            AND s.state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED'))
           OR (s.upload_status LIKE 'COMPLETE\_%'
                   AND s.student_essays > 0
                   AND counts.anchor_count > 0
                   AND counts.projection_count = 0)
                                  AS divergent
  FROM cj_batch_states s
       CROSS JOIN LATERAL (
           SELECT (SELECT count(*) FROM cj_essays e
                    WHERE e.batch_id = s.batch_id AND e.is_anchor)        AS anchor_count,
                  (SELECT count(*) FROM grade_projections g
                    WHERE g.batch_id = s.batch_id)                        AS projection_count
       ) counts;

-- A scored batch's reliability in `cj_batch_states` (written by
-- projections/src/batch_states.rs from `BatchScored` 1.1, its `reliability` report and the
-- essays' misfit): the estimator that placed the essays, the reference estimator's SSR and
-- separation G, the split-half reliability (median over the splits, Spearman–Brown
-- corrected), the order effect η with its flag (|η| > 2 SE), and how many essays and judges
-- misfit. NULL until the batch is scored, and for batches scored before 1.1 (their
-- `BatchScored` has no report). A replay fills them for the whole log.

ALTER TABLE cj_batch_states
    ADD COLUMN estimator                 text,
    ADD COLUMN reference_ssr             double precision,
    ADD COLUMN sep_g                     double precision,
    ADD COLUMN split_half_spearman_brown double precision,
    ADD COLUMN order_effect              double precision,
    ADD COLUMN order_effect_flagged      boolean,
    ADD COLUMN misfitting_essays         integer,
    ADD COLUMN misfitting_judges         integer;

-- The monitoring view shows them too (appended: a replaced view keeps its columns' order).
CREATE OR REPLACE VIEW cj_batch_monitoring AS
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
                                  AS divergent,
       s.estimator,
       s.reference_ssr,
       s.sep_g,
       s.split_half_spearman_brown,
       s.order_effect,
       s.order_effect_flagged,
       s.misfitting_essays,
       s.misfitting_judges
  FROM cj_batch_states s
       CROSS JOIN LATERAL (
           SELECT (SELECT count(*) FROM cj_essays e
                    WHERE e.batch_id = s.batch_id AND e.is_anchor)        AS anchor_count,
                  (SELECT count(*) FROM grade_projections g
                    WHERE g.batch_id = s.batch_id)                        AS projection_count
       ) counts;

-- Projection `grade_projections` (written by projections/src/grade_projections.rs): the
-- projected grade of every student essay of a scored batch whose anchors calibrate the
-- scale.

CREATE TABLE grade_projections
(
    batch_id         uuid             NOT NULL,
    essay_id         text             NOT NULL,
    primary_grade    text             NOT NULL,
    base_grade       text             NOT NULL,
    grade_scale      text             NOT NULL,
    probabilities    jsonb            NOT NULL,
    confidence_score double precision NOT NULL,
    confidence_label text             NOT NULL,
    bt_mean          double precision NOT NULL,
    bt_se            double precision NOT NULL,
    -- The calibration the grade was read from: anchor count, anchored grades, spread,
    -- grade centres and boundaries.
    calibration      jsonb            NOT NULL,
    projected_at     timestamptz      NOT NULL,
    PRIMARY KEY (batch_id, essay_id)
);

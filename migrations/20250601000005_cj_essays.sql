-- Projection `cj_essays` (written by projections/src/essays.rs): every essay of every
-- batch. An essay id is scoped to its batch: the same id in two batches is two rows.

CREATE TABLE cj_essays
(
    batch_id         uuid    NOT NULL,
    essay_id         text    NOT NULL,
    is_anchor        boolean NOT NULL,
    known_grade      text,
    text_storage_id  text    NOT NULL,
    bt_score         double precision,
    standard_error   double precision,
    comparison_count integer,
    rank             integer,
    PRIMARY KEY (batch_id, essay_id)
);

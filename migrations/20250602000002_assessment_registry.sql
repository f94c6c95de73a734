-- The assessment registry (src/registry/): per assignment, the grade scale, instructions,
-- student prompt and judge rubric, and the anchor essays of known grade that intake attaches
-- to every batch of the assignment. Filled by `cj-assessment anchors add` /
-- `instructions set` (and later the admin API).

CREATE TABLE cj_assessment_instructions
(
    assignment_id     text        PRIMARY KEY,
    instructions_text text,
    grade_scale       text        NOT NULL DEFAULT 'swedish_8_anchor',
    student_prompt    text,
    judge_rubric      text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cj_anchor_essays
(
    id              bigserial   PRIMARY KEY,
    assignment_id   text        NOT NULL,
    label           text        NOT NULL,
    grade           text        NOT NULL,
    text_storage_id text        NOT NULL,
    content_sha256  text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (assignment_id, label)
);

-- The judge of each verdict in `cj_comparison_pairs` (written by
-- projections/src/comparison_pairs.rs): the prompt hash the comparison was submitted with
-- and the judge's string form `provider/model/prompt_hash` (ADR 0010). `provider` and
-- `model` stay as they were (NULL when the callback did not name them); `prompt_hash` is
-- NULL when it is unknown (verdicts recorded before judges were); `judge` is set for every
-- verdict, its unknown parts written `unknown`. A replay fills both for the whole log.

ALTER TABLE cj_comparison_pairs
    ADD COLUMN prompt_hash text,
    ADD COLUMN judge       text;

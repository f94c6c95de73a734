-- Projection rows are written once and updated in place a few times (a comparison pair when
-- it is submitted and when its verdict arrives; an essay when its batch is scored; a batch's
-- state with every chunk). With full pages every such update moved the row to another page
-- and wrote new entries into every index of the table: measured in `bench
-- callback-throughput`, 13,164 of 41,000 pair updates were in-page (HOT). Leaving room on
-- each page lets the update stay on its page and leave the indexes alone. Applies to pages
-- written from now on (and to every page after a replay, which truncates).
ALTER TABLE cj_comparison_pairs SET (fillfactor = 70);
ALTER TABLE cj_essays SET (fillfactor = 70);
ALTER TABLE cj_batch_states SET (fillfactor = 50);

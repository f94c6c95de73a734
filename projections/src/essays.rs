//! Projection `cj_essays`: every essay of every batch, students and anchors, with its place
//! on the scale once the batch is scored (table: `migrations/*_cj_essays.sql`). An essay
//! id is scoped to its batch. A chunk is folded ([`crate::fold`]): essays registered in it
//! are inserted with their scores if it scored them too; scores of earlier essays become one
//! multi-row UPDATE.

use crate::error::ProjectionError;
use crate::fold::{fold_and_write, ChunkChanges, NewRows};
use crate::log::LoggedEvent;
use crate::projection::Projection;
use cj_aggregates::batch::events::EssayScore;
use cj_aggregates::CjBatchEvent;
use sqlx::{PgConnection, PgExecutor};
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct Essays;

pub const NAME: &str = "cj_essays";

const INSERT: &str = "
INSERT INTO cj_essays
    (batch_id, essay_id, is_anchor, known_grade, text_storage_id, bt_score, standard_error,
     comparison_count, rank)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bool[], $4::text[], $5::text[],
                     $6::float8[], $7::float8[], $8::int[], $9::int[])";

const SCORE: &str = "
UPDATE cj_essays e
   SET bt_score = scored.bt_score, standard_error = scored.standard_error,
       comparison_count = scored.comparison_count, rank = scored.rank
  FROM UNNEST($1::uuid[], $2::text[], $3::float8[], $4::float8[], $5::int[], $6::int[])
       AS scored (batch_id, essay_id, bt_score, standard_error, comparison_count, rank)
 WHERE e.batch_id = scored.batch_id AND e.essay_id = scored.essay_id";

/// An essay registered in the chunk.
struct NewEssay<'a> {
    is_anchor: bool,
    known_grade: Option<&'a str>,
    text_storage_id: &'a str,
    score: Option<&'a EssayScore>,
}

type EssayKey<'a> = (Uuid, &'a str);

/// A chunk's changes, folded.
#[derive(Default)]
struct EssayChanges<'a> {
    new: NewRows<EssayKey<'a>, NewEssay<'a>>,
    scored: BTreeMap<EssayKey<'a>, &'a EssayScore>,
}

#[async_trait::async_trait]
impl<'a> ChunkChanges<'a> for EssayChanges<'a> {
    fn fold(&mut self, logged: &'a LoggedEvent) {
        let batch_id = logged.batch_id;
        match &logged.event {
            CjBatchEvent::BatchRegistered(registered) => {
                for essay in &registered.essays {
                    let row = NewEssay {
                        is_anchor: false,
                        known_grade: None,
                        text_storage_id: essay.text_storage_id.as_str(),
                        score: None,
                    };
                    self.new.insert((batch_id, essay.essay_id.as_str()), row);
                }
            }
            CjBatchEvent::AnchorsRegistered(registered) => {
                for anchor in &registered.anchors {
                    let row = NewEssay {
                        is_anchor: true,
                        known_grade: Some(anchor.grade.as_str()),
                        text_storage_id: anchor.text_storage_id.as_str(),
                        score: None,
                    };
                    self.new.insert((batch_id, anchor.essay_id.as_str()), row);
                }
            }
            CjBatchEvent::BatchScored(scored) => {
                for score in &scored.essays {
                    let key = (batch_id, score.essay_id.as_str());
                    match self.new.get_mut(&key) {
                        Some(essay) => essay.score = Some(score),
                        None => {
                            self.scored.insert(key, score);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Scores of earlier essays first: an essay scored before it is registered in the same
    /// chunk keeps no score, as it would one event at a time.
    async fn write(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if !self.scored.is_empty() {
            let keys: Vec<&EssayKey<'_>> = self.scored.keys().collect();
            let scores: Vec<&EssayScore> = self.scored.values().copied().collect();
            sqlx::query(SCORE)
                .bind(keys.iter().map(|(batch, _)| *batch).collect::<Vec<_>>())
                .bind(keys.iter().map(|(_, essay)| *essay).collect::<Vec<_>>())
                .bind(scores.iter().map(|s| s.bt_score).collect::<Vec<_>>())
                .bind(scores.iter().map(|s| s.standard_error).collect::<Vec<_>>())
                .bind(
                    scores
                        .iter()
                        .map(|s| s.comparisons as i32)
                        .collect::<Vec<_>>(),
                )
                .bind(scores.iter().map(|s| s.rank as i32).collect::<Vec<_>>())
                .execute(&mut *conn)
                .await?;
        }
        if self.new.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&EssayKey<'_>, &NewEssay<'_>)> = self.new.iter().collect();
        let score = |get: fn(&EssayScore) -> f64| {
            rows.iter()
                .map(|(_, e)| e.score.map(get))
                .collect::<Vec<_>>()
        };
        let rank = |get: fn(&EssayScore) -> i32| {
            rows.iter()
                .map(|(_, e)| e.score.map(get))
                .collect::<Vec<_>>()
        };
        sqlx::query(INSERT)
            .bind(
                rows.iter()
                    .map(|((batch, _), _)| *batch)
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.iter()
                    .map(|((_, essay), _)| *essay)
                    .collect::<Vec<_>>(),
            )
            .bind(rows.iter().map(|(_, e)| e.is_anchor).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, e)| e.known_grade).collect::<Vec<_>>())
            .bind(
                rows.iter()
                    .map(|(_, e)| e.text_storage_id)
                    .collect::<Vec<_>>(),
            )
            .bind(score(|s| s.bt_score))
            .bind(score(|s| s.standard_error))
            .bind(rank(|s| s.comparisons as i32))
            .bind(rank(|s| s.rank as i32))
            .execute(conn)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Projection for Essays {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["cj_essays"]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BatchRegistered", "AnchorsRegistered", "BatchScored"])
    }

    fn sparse(&self) -> bool {
        true
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        fold_and_write::<EssayChanges>(conn, std::slice::from_ref(logged)).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        fold_and_write::<EssayChanges>(conn, events).await
    }
}

const ANCHOR_SCORES: &str =
    "SELECT known_grade, bt_score FROM cj_essays WHERE batch_id = $1 AND is_anchor";

/// Each anchor of `batch_id` as `(known grade, BT score)`; the score is `None` until the
/// batch is scored.
pub async fn anchor_scores(
    executor: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> sqlx::Result<Vec<(Option<String>, Option<f64>)>> {
    sqlx::query_as(ANCHOR_SCORES)
        .bind(batch_id)
        .fetch_all(executor)
        .await
}

//! Projection `cj_essays`: every essay of every batch, students and anchors, with its place
//! on the scale once the batch is scored (table: `migrations/*_cj_essays.sql`). An essay
//! id is scoped to its batch.

use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use cj_aggregates::CjBatchEvent;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

pub struct Essays;

pub const NAME: &str = "cj_essays";

const INSERT: &str = "
INSERT INTO cj_essays (batch_id, essay_id, is_anchor, known_grade, text_storage_id)
SELECT $1, essay.essay_id, $2, essay.known_grade, essay.text_storage_id
  FROM UNNEST($3::text[], $4::text[], $5::text[])
       AS essay (essay_id, known_grade, text_storage_id)";

const SCORE: &str = "
UPDATE cj_essays e
   SET bt_score = scored.bt_score, standard_error = scored.standard_error,
       comparison_count = scored.comparison_count, rank = scored.rank
  FROM UNNEST($2::text[], $3::float8[], $4::float8[], $5::int[], $6::int[])
       AS scored (essay_id, bt_score, standard_error, comparison_count, rank)
 WHERE e.batch_id = $1 AND e.essay_id = scored.essay_id";

/// One essay row to insert: (essay id, known grade, text storage id).
type NewEssay<'a> = (&'a str, Option<&'a str>, &'a str);

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

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        match &logged.event {
            CjBatchEvent::BatchRegistered(registered) => {
                let students: Vec<NewEssay<'_>> = registered
                    .essays
                    .iter()
                    .map(|e| (e.essay_id.as_str(), None, e.text_storage_id.as_str()))
                    .collect();
                insert(conn, logged, false, &students).await
            }
            CjBatchEvent::AnchorsRegistered(registered) => {
                let anchors: Vec<NewEssay<'_>> = registered
                    .anchors
                    .iter()
                    .map(|a| {
                        let grade = Some(a.grade.as_str());
                        (a.essay_id.as_str(), grade, a.text_storage_id.as_str())
                    })
                    .collect();
                insert(conn, logged, true, &anchors).await
            }
            CjBatchEvent::BatchScored(scored) => {
                let essays = &scored.essays;
                sqlx::query(SCORE)
                    .bind(logged.batch_id)
                    .bind(
                        essays
                            .iter()
                            .map(|e| e.essay_id.as_str())
                            .collect::<Vec<_>>(),
                    )
                    .bind(essays.iter().map(|e| e.bt_score).collect::<Vec<_>>())
                    .bind(essays.iter().map(|e| e.standard_error).collect::<Vec<_>>())
                    .bind(
                        essays
                            .iter()
                            .map(|e| e.comparisons as i32)
                            .collect::<Vec<_>>(),
                    )
                    .bind(essays.iter().map(|e| e.rank as i32).collect::<Vec<_>>())
                    .execute(conn)
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

async fn insert(
    conn: &mut PgConnection,
    logged: &LoggedEvent,
    is_anchor: bool,
    essays: &[NewEssay<'_>],
) -> Result<(), ProjectionError> {
    sqlx::query(INSERT)
        .bind(logged.batch_id)
        .bind(is_anchor)
        .bind(essays.iter().map(|e| e.0).collect::<Vec<_>>())
        .bind(essays.iter().map(|e| e.1).collect::<Vec<_>>())
        .bind(essays.iter().map(|e| e.2).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
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

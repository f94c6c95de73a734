//! Anchor essays per assignment (`cj_anchor_essays`): a label, a grade on the assignment's
//! scale, and where the text lives. The text itself is in the content store; this table keeps
//! its storage id and SHA-256, as the event log does.

use super::instructions::grade_scale_of;
use super::RegistryError;
use crate::content::store::StoredText;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::AnchorRef;
use cj_aggregates::ids::{EssayId, InvalidEssayId};
use sqlx::PgPool;

/// Shortest anchor text accepted: a grade is only meaningful for a real essay, and the older
/// service's admin API refused shorter ones.
pub const MIN_ANCHOR_CHARS: usize = 100;

/// An anchor about to be registered.
#[derive(Debug, Clone, Copy)]
pub struct NewAnchor<'a> {
    pub assignment_id: &'a str,
    pub label: &'a str,
    pub grade: &'a str,
    pub text: &'a str,
}

/// A registered anchor.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AnchorEssay {
    pub id: i64,
    pub assignment_id: String,
    pub label: String,
    pub grade: String,
    pub text_storage_id: String,
    pub content_sha256: String,
    pub created_at: DateTime<Utc>,
}

impl AnchorEssay {
    /// The anchor's essay id inside a batch: `ANCHOR_{row id}_{first 8 hex of its hash}`, the
    /// older service's shape, so it never collides with a student's id in practice.
    pub fn essay_id(&self) -> Result<EssayId, InvalidEssayId> {
        let hash_prefix: String = self.content_sha256.chars().take(8).collect();
        EssayId::parse(format!("ANCHOR_{}_{hash_prefix}", self.id))
    }

    /// The anchor as `CloseIntake` carries it.
    pub fn to_anchor_ref(&self) -> Result<AnchorRef, InvalidEssayId> {
        Ok(AnchorRef {
            essay_id: self.essay_id()?,
            grade: self.grade.clone(),
            label: self.label.clone(),
            text_storage_id: self.text_storage_id.clone(),
            content_sha256: self.content_sha256.clone(),
        })
    }
}

/// Checks an anchor before its text is stored: label and assignment present, grade on the
/// assignment's scale, text long enough.
pub async fn validate_anchor(pool: &PgPool, anchor: &NewAnchor<'_>) -> Result<(), RegistryError> {
    if anchor.assignment_id.trim().is_empty() {
        return Err(RegistryError::Empty("assignment id"));
    }
    if anchor.label.trim().is_empty() {
        return Err(RegistryError::Empty("anchor label"));
    }
    let chars = anchor.text.trim().chars().count();
    if chars < MIN_ANCHOR_CHARS {
        return Err(RegistryError::AnchorTextTooShort {
            chars,
            min: MIN_ANCHOR_CHARS,
        });
    }
    let scale = grade_scale_of(pool, anchor.assignment_id).await?;
    if scale.index_of(anchor.grade).is_none() {
        return Err(RegistryError::GradeNotOnScale {
            grade: anchor.grade.to_string(),
            scale: scale.id().to_string(),
            grades: scale.grades().join(", "),
        });
    }
    Ok(())
}

/// Registers an anchor whose text is stored at `stored` (validating it first).
pub async fn add_anchor(
    pool: &PgPool,
    anchor: &NewAnchor<'_>,
    stored: &StoredText,
) -> Result<AnchorEssay, RegistryError> {
    validate_anchor(pool, anchor).await?;
    let inserted = sqlx::query_as(
        "INSERT INTO cj_anchor_essays
                (assignment_id, label, grade, text_storage_id, content_sha256)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (assignment_id, label) DO NOTHING
         RETURNING id, assignment_id, label, grade, text_storage_id, content_sha256, created_at",
    )
    .bind(anchor.assignment_id)
    .bind(anchor.label)
    .bind(anchor.grade)
    .bind(&stored.storage_id)
    .bind(&stored.sha256)
    .fetch_optional(pool)
    .await?;
    inserted.ok_or_else(|| RegistryError::DuplicateLabel {
        assignment_id: anchor.assignment_id.to_string(),
        label: anchor.label.to_string(),
    })
}

/// An assignment's anchors in registration order.
pub async fn list_anchors(
    pool: &PgPool,
    assignment_id: &str,
) -> Result<Vec<AnchorEssay>, RegistryError> {
    let rows = sqlx::query_as(
        "SELECT id, assignment_id, label, grade, text_storage_id, content_sha256, created_at
           FROM cj_anchor_essays WHERE assignment_id = $1 ORDER BY id",
    )
    .bind(assignment_id)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

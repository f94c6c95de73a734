//! A batch submitted over HTTP (`POST /api/v1/batches`): the body ([`BatchSubmission`]), the
//! checked [`Submission`] it parses into, and the [`RequestEnvelope`] that becomes — the very
//! envelope a Kafka request carries, so [`super::Intake::handle`] registers it with the same
//! events. The envelope's `event_id` is a UUIDv5 of the client's `request_id`
//! ([`request_event_id`]), so a repeated submission lands on the same batch and changes
//! nothing. Inline texts are stored in the configured content service first; intake then
//! fetches and hashes them exactly as it does a Kafka request's.

use crate::content::client::ContentClient;
use crate::registry::inline::InlineAssignment;
use chrono::{DateTime, Utc};
use cj_aggregates::ids::{BatchId, EssayId, InvalidEssayId};
use cj_contracts::topics::CJ_ASSESSMENT_REQUESTED;
use cj_contracts::{
    ContractViolation, CourseCode, ElsCjAssessmentRequestV1, EssayForCj, EventEnvelope,
    EventHeader, LlmConfigOverrides, ProcessingStage, RequestEnvelope, RequestHints,
    SystemMetadata, SCHEMA_VERSION, SOURCE_SERVICE,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::Map;
use utoipa::ToSchema;
use uuid::Uuid;

/// The namespace request ids are hashed in. Fixed forever: changing it would give a repeated
/// submission a new batch.
const REQUEST_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3d0c_51a7_8e24_4b9f_a6d2_c95e_10f4_7b38);
/// Longest `request_id`: it becomes the upstream batch id, the key of every Kafka event
/// of the batch, so it is held to the contract's length for ids.
pub const MAX_REQUEST_ID_LEN: usize = 100;
/// `event_name` of the request, as the Essay Lifecycle Service names it.
pub const REQUEST_EVENT_NAME: &str = "els.cj_assessment.requested";
/// Language of a submission that names none.
pub const DEFAULT_LANGUAGE: &str = "en";
/// Course of a submission that names none (the course only labels the batch; the
/// assignment selects scale and anchors).
pub const DEFAULT_COURSE: CourseCode = CourseCode::Eng5;
/// Inline texts stored at once.
const STORE_CONCURRENCY: usize = 8;

/// The body of `POST /api/v1/batches`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSubmission {
    /// Chosen by the client, one per batch (a UUID is a good choice): submitting the same
    /// id again answers with the same batch and changes nothing. 1–100 printable characters;
    /// it is the batch's upstream id in every event.
    pub request_id: String,
    /// The essays to rank, each with its text inline or the storage id of a text already in
    /// the content service.
    pub essays: Vec<SubmittedEssay>,
    /// A registered assignment: its grade scale, anchors and judging instructions.
    #[serde(default)]
    pub assignment_id: Option<String>,
    /// An assignment carried inline: registered by the first submission that brings it,
    /// held to that registration by every later one ([`InlineAssignment`]). When both are
    /// given, `assignment_id` must be its id.
    #[serde(default)]
    pub assignment: Option<InlineAssignment>,
    /// Default `en`.
    #[serde(default)]
    pub language: Option<String>,
    /// `ENG5`, `ENG6`, `ENG7`, `SV1`, `SV2` or `SV3`; default `ENG5`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub course_code: Option<CourseCode>,
    /// Lowers the service's comparison budget for this batch (never raises it).
    #[serde(default)]
    pub budget: Option<SubmittedBudget>,
    /// Judge settings, as a Kafka request's `llm_config_overrides` (`model_override`,
    /// `temperature_override`, `provider_override`, …).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub llm: Option<LlmConfigOverrides>,
}

/// One essay: `id` and exactly one of `text` and `storage_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmittedEssay {
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub storage_id: Option<String>,
}

/// Exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmittedBudget {
    /// Comparisons of the whole batch.
    #[serde(default)]
    pub max_comparisons: Option<u32>,
    /// Comparisons each essay takes part in on average: `n × c / 2` for the batch.
    #[serde(default)]
    pub comparisons_per_essay: Option<u32>,
}

/// Why a submission is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    /// Not JSON, or not the shape of [`BatchSubmission`].
    #[error("the body is not a batch submission: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("request_id must be 1..={MAX_REQUEST_ID_LEN} printable characters")]
    BadRequestId,
    #[error("the submission lists no essays")]
    NoEssays,
    #[error(transparent)]
    BadEssayId(#[from] InvalidEssayId),
    #[error("essay {0:?} must carry exactly one of text and storage_id")]
    AmbiguousText(String),
    #[error("essay {0:?} has an empty text or storage id")]
    EmptyText(String),
    #[error(
        "budget must give exactly one positive number: max_comparisons or comparisons_per_essay"
    )]
    BadBudget,
    #[error("assignment_id {assignment_id:?} is not the id of the inline assignment ({inline:?})")]
    TwoAssignments {
        assignment_id: String,
        inline: String,
    },
    #[error(transparent)]
    BadAssignment(#[from] crate::registry::inline::InlineAssignmentError),
    /// A rule of the request contract (duplicate essay ids, LLM overrides out of range, …).
    #[error(transparent)]
    Contract(#[from] ContractViolation),
}

/// The `event_id` of the request envelope of submission `request_id`.
pub fn request_event_id(request_id: &str) -> Uuid {
    Uuid::new_v5(&REQUEST_ID_NAMESPACE, request_id.as_bytes())
}

/// A checked submission: the request envelope, complete but for the storage ids of the
/// inline texts (filled in by [`Submission::into_envelope`]).
#[derive(Debug, Clone)]
pub struct Submission {
    envelope: RequestEnvelope,
    /// (position in `essays_for_cj`, text) of each inline essay.
    inline: Vec<(usize, String)>,
    /// The assignment carried inline, checked on its own terms.
    assignment: Option<InlineAssignment>,
}

impl Submission {
    /// Parses and checks `body`, submitted by `user_id` at `now`.
    pub fn parse(body: &[u8], user_id: &str, now: DateTime<Utc>) -> Result<Self, SubmissionError> {
        let submission: BatchSubmission = serde_json::from_slice(body)?;
        let request_id = submission.request_id.as_str();
        if request_id.trim().is_empty()
            || request_id.chars().count() > MAX_REQUEST_ID_LEN
            || request_id.chars().any(char::is_control)
        {
            return Err(SubmissionError::BadRequestId);
        }
        if submission.essays.is_empty() {
            return Err(SubmissionError::NoEssays);
        }
        let assignment_id = match (submission.assignment_id, &submission.assignment) {
            (Some(named), Some(inline)) if named != inline.id => {
                return Err(SubmissionError::TwoAssignments {
                    assignment_id: named,
                    inline: inline.id.clone(),
                })
            }
            (named, None) => named,
            (_, Some(inline)) => {
                inline.validate()?;
                Some(inline.id.clone())
            }
        };
        let max_comparisons = submission
            .budget
            .as_ref()
            .map(|budget| budget.total(submission.essays.len()))
            .transpose()?;
        let mut essays_for_cj = Vec::with_capacity(submission.essays.len());
        let mut inline = Vec::new();
        for (position, essay) in submission.essays.into_iter().enumerate() {
            let essay_id = EssayId::parse(essay.id.clone())?;
            let storage_id = match (essay.text, essay.storage_id) {
                (Some(text), None) if !text.trim().is_empty() => {
                    inline.push((position, text));
                    String::new()
                }
                (None, Some(storage_id)) if !storage_id.trim().is_empty() => storage_id,
                (Some(_), None) | (None, Some(_)) => {
                    return Err(SubmissionError::EmptyText(essay.id))
                }
                _ => return Err(SubmissionError::AmbiguousText(essay.id)),
            };
            essays_for_cj.push(EssayForCj {
                essay_id,
                text_storage_id: storage_id,
                spellcheck_metrics: None,
            });
        }
        let header = EventHeader::for_batch(REQUEST_EVENT_NAME, request_id, now);
        let data = ElsCjAssessmentRequestV1 {
            system_metadata: pending_metadata(&header),
            header,
            essays_for_cj,
            language: submission
                .language
                .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string()),
            course_code: submission.course_code.unwrap_or(DEFAULT_COURSE),
            student_prompt_ref: None,
            llm_config_overrides: submission.llm,
            assignment_id,
            user_id: user_id.to_string(),
            org_id: None,
        };
        data.validate()?;
        let event_id = request_event_id(request_id);
        let envelope = EventEnvelope {
            event_id,
            event_type: CJ_ASSESSMENT_REQUESTED.to_string(),
            event_timestamp: now,
            source_service: SOURCE_SERVICE.to_string(),
            schema_version: SCHEMA_VERSION,
            correlation_id: event_id,
            data_schema_uri: None,
            data,
            metadata: Some(RequestHints {
                max_comparisons,
                ..RequestHints::default()
            }),
        };
        Ok(Submission {
            envelope,
            inline,
            assignment: submission.assignment,
        })
    }

    /// The assignment the submission carries inline, if any.
    pub fn assignment(&self) -> Option<&InlineAssignment> {
        self.assignment.as_ref()
    }

    /// The batch this submission registers (or registered, when repeated).
    pub fn batch_id(&self) -> BatchId {
        BatchId::for_request(self.envelope.event_id)
    }

    /// The client's `request_id`.
    pub fn request_id(&self) -> &str {
        &self.envelope.data.header.entity_id
    }

    /// Stores the inline texts in `content` and answers the complete request envelope.
    pub async fn into_envelope(self, content: &ContentClient) -> anyhow::Result<RequestEnvelope> {
        let Submission {
            mut envelope,
            inline,
            ..
        } = self;
        let stored: Vec<(usize, String)> = stream::iter(inline)
            .map(|(position, text)| async move {
                content
                    .store(&text)
                    .await
                    .map(|storage_id| (position, storage_id))
            })
            .buffered(STORE_CONCURRENCY)
            .try_collect()
            .await?;
        for (position, storage_id) in stored {
            envelope.data.essays_for_cj[position].text_storage_id = storage_id;
        }
        Ok(envelope)
    }
}

impl SubmittedBudget {
    /// The batch's comparisons for `essays` essays.
    fn total(&self, essays: usize) -> Result<u32, SubmissionError> {
        match (self.max_comparisons, self.comparisons_per_essay) {
            (Some(total), None) if total > 0 => Ok(total),
            (None, Some(per_essay)) if per_essay > 0 => {
                let total = (essays as u64 * u64::from(per_essay)).div_ceil(2);
                Ok(u32::try_from(total).unwrap_or(u32::MAX))
            }
            _ => Err(SubmissionError::BadBudget),
        }
    }
}

/// `system_metadata` of a request that has not been worked on yet.
fn pending_metadata(header: &EventHeader) -> SystemMetadata {
    SystemMetadata {
        entity_id: header.entity_id.clone(),
        entity_type: header.entity_type.clone(),
        parent_id: None,
        timestamp: header.timestamp,
        processing_stage: Some(ProcessingStage::Pending),
        started_at: None,
        completed_at: None,
        event: Some(header.event_name.clone()),
        error_info: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: serde_json::Value) -> Result<Submission, SubmissionError> {
        Submission::parse(body.to_string().as_bytes(), "teacher-1", Utc::now())
    }

    #[test]
    fn a_submission_becomes_the_envelope_a_kafka_request_carries() {
        let submission = parse(json!({
            "request_id": "class-7b-2026",
            "essays": [{"id": "e1", "text": "An essay."}, {"id": "e2", "storage_id": "sid-2"}],
            "assignment_id": "a1",
            "budget": {"comparisons_per_essay": 5},
            "llm": {"model_override": "m", "temperature_override": 0.0}
        }))
        .expect("accepted");
        assert_eq!(submission.request_id(), "class-7b-2026");
        let envelope = &submission.envelope;
        assert_eq!(envelope.event_id, request_event_id("class-7b-2026"));
        assert_eq!(envelope.event_type, CJ_ASSESSMENT_REQUESTED);
        assert_eq!(envelope.data.header.entity_id, "class-7b-2026");
        assert_eq!(envelope.data.user_id, "teacher-1");
        assert_eq!(envelope.data.course_code, DEFAULT_COURSE);
        assert_eq!(envelope.data.essays_for_cj[1].text_storage_id, "sid-2");
        assert_eq!(submission.inline, vec![(0, "An essay.".to_string())]);
        assert_eq!(envelope.metadata.as_ref().unwrap().max_comparisons, Some(5));
        let llm = envelope.data.llm_config_overrides.as_ref().unwrap();
        assert_eq!(llm.temperature_override, Some(0.0));
        // Through the wire and back, as the consumer would decode it.
        let wire = serde_json::to_vec(envelope).unwrap();
        assert_eq!(&cj_contracts::decode_request(&wire).unwrap(), envelope);
    }

    #[test]
    fn the_same_request_id_is_the_same_batch_and_another_is_another() {
        let body = |id: &str| json!({"request_id": id, "essays": [{"id": "e1", "text": "x"}]});
        let first = parse(body("r-1")).unwrap();
        let again = parse(body("r-1")).unwrap();
        let other = parse(body("r-2")).unwrap();
        assert_eq!(first.batch_id(), again.batch_id());
        assert_ne!(first.batch_id(), other.batch_id());
    }

    #[test]
    fn each_broken_rule_is_refused_with_its_reason() {
        let essay = json!({"id": "e1", "text": "x"});
        let cases = [
            (json!({"request_id": "", "essays": [essay]}), "request_id"),
            (json!({"request_id": "r", "essays": []}), "no essays"),
            (
                json!({"request_id": "r", "essays": [{"id": "e1", "text": "x", "storage_id": "s"}]}),
                "exactly one",
            ),
            (
                json!({"request_id": "r", "essays": [{"id": "e1"}]}),
                "exactly one",
            ),
            (
                json!({"request_id": "r", "essays": [{"id": "e1", "text": "  "}]}),
                "empty",
            ),
            (
                json!({"request_id": "r", "essays": [{"id": "", "text": "x"}]}),
                "invalid essay id",
            ),
            (
                json!({"request_id": "r", "essays": [essay, essay]}),
                "more than once",
            ),
            (
                json!({"request_id": "r", "essays": [essay], "budget": {}}),
                "budget",
            ),
            (
                json!({"request_id": "r", "essays": [essay], "llm": {"temperature_override": 3.0}}),
                "temperature",
            ),
            (
                json!({"request_id": "r", "essays": [essay], "essays_for_cj": []}),
                "unknown field",
            ),
        ];
        for (body, reason) in cases {
            let error = parse(body.clone()).expect_err("refused").to_string();
            assert!(error.contains(reason), "{body}: {error}");
        }
        assert!(matches!(
            Submission::parse(b"{not json", "u", Utc::now()),
            Err(SubmissionError::Malformed(_))
        ));
    }

    #[test]
    fn a_budget_per_essay_counts_each_comparison_for_both_its_essays() {
        let per_essay = |c| SubmittedBudget {
            max_comparisons: None,
            comparisons_per_essay: Some(c),
        };
        assert_eq!(per_essay(10).total(30).unwrap(), 150);
        assert_eq!(per_essay(3).total(5).unwrap(), 8);
    }
}

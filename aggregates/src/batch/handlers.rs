//! Command handlers of `CjBatch`: validate a command against the current state and decide
//! its events. Handlers work on a `Draft` — a copy of the batch that folds each event as it
//! is decided — so later decisions in the same command see earlier ones (the deciding
//! callback and the finalization it triggers are one command).

use super::{BatchComparison, CjBatch, ComparisonResult};
use crate::batch::commands::{
    CallbackOutcome, CallbackReport, CjBatchCommand, CloseIntake, Finalize, ForceRecovery,
    RecordCallbacks, RegisterBatch, SubmitPairs,
};
use crate::batch::error::CjBatchError;
use crate::batch::events::{
    AnchorsRegistered, BatchRegistered, CjBatchEvent, ComparisonFailed, ComparisonRecorded,
    LateCallbackRecorded, PairsSubmitted, RecoveryForced,
};
use crate::batch::inputs::DecisionInputs;
use crate::batch::status::BatchState;
use crate::ids::CorrelationId;
use crate::judge::{JudgeId, UNKNOWN};
use cqrs_es::Aggregate;
use std::collections::HashSet;

/// A working copy of the batch plus the events decided so far, and what the service read
/// for the decision.
pub(super) struct Draft {
    pub batch: CjBatch,
    pub events: Vec<CjBatchEvent>,
    pub inputs: DecisionInputs,
}

impl Draft {
    pub fn emit(&mut self, event: CjBatchEvent) {
        self.batch.apply(event.clone());
        self.events.push(event);
    }
}

impl CjBatch {
    /// Decides the events of a command without changing `self`, with no inputs from outside
    /// the batch (grades from its own anchors).
    pub fn decide(&self, command: CjBatchCommand) -> Result<Vec<CjBatchEvent>, CjBatchError> {
        self.decide_with(command, &DecisionInputs::default())
    }

    /// Decides the events of a command without changing `self`, with what the service read
    /// for it (`inputs`: the assignment scale a scoring command calibrates grades from).
    pub fn decide_with(
        &self,
        command: CjBatchCommand,
        inputs: &DecisionInputs,
    ) -> Result<Vec<CjBatchEvent>, CjBatchError> {
        if let CjBatchCommand::RegisterBatch(register) = command {
            return self.register_batch(register);
        }
        if self.registration.is_none() {
            return Err(CjBatchError::NotRegistered);
        }
        let mut draft = Draft {
            batch: self.clone(),
            events: Vec::new(),
            inputs: inputs.clone(),
        };
        match command {
            CjBatchCommand::RegisterBatch(_) => unreachable!("handled above"),
            CjBatchCommand::CloseIntake(anchors) => draft.close_intake(anchors)?,
            CjBatchCommand::SubmitPairs(submitted) => draft.submit_pairs(submitted)?,
            CjBatchCommand::RecordCallbacks(callbacks) => draft.record_callbacks(callbacks)?,
            CjBatchCommand::ForceRecovery(force) => draft.force_recovery(force)?,
            CjBatchCommand::Finalize(finalize) => draft.finalize_on_request(finalize)?,
        }
        Ok(draft.events)
    }

    fn register_batch(
        &self,
        register: Box<RegisterBatch>,
    ) -> Result<Vec<CjBatchEvent>, CjBatchError> {
        if let Some(existing) = &self.registration {
            // A redelivered request is a no-op; anything else is a real conflict.
            return if existing.request_event_id == register.request_event_id {
                Ok(Vec::new())
            } else {
                Err(CjBatchError::AlreadyRegistered)
            };
        }
        if register.purpose.is_calibration_round()
            && (register.assignment_id.is_none()
                || !register.essays.is_empty()
                || !register.failed_essays.is_empty())
        {
            return Err(CjBatchError::InvalidCalibrationRound);
        }
        let mut seen = HashSet::new();
        let ids = register
            .essays
            .iter()
            .map(|e| &e.essay_id)
            .chain(register.failed_essays.iter().map(|e| &e.essay_id));
        for essay_id in ids {
            if !seen.insert(essay_id) {
                return Err(CjBatchError::DuplicateEssayId {
                    essay_id: essay_id.clone(),
                });
            }
        }
        Ok(vec![CjBatchEvent::BatchRegistered(Box::new(
            BatchRegistered {
                batch_id: register.batch_id,
                upstream_batch_id: register.upstream_batch_id,
                request_event_id: register.request_event_id,
                request_correlation_id: register.request_correlation_id,
                essays: register.essays,
                failed_essays: register.failed_essays,
                language: register.language,
                course_code: register.course_code,
                assignment_id: register.assignment_id,
                user_id: register.user_id,
                org_id: register.org_id,
                grade_scale: register.grade_scale,
                settings: register.settings,
                llm: register.llm,
                purpose: register.purpose,
            },
        ))])
    }
}

impl CjBatch {
    /// The judge of a verdict on `comparison`: the callback's provider and model with the
    /// prompt hash recorded at submission — or, when the verdict overtook its submission
    /// (or the submission predates prompt hashes), the hash the provider echoed.
    fn judge_for(&self, comparison: &BatchComparison, callback: &CallbackReport) -> JudgeId {
        JudgeId::from_parts(
            callback.provider.as_deref(),
            callback.model.as_deref(),
            self.prompt_hash_of(comparison)
                .filter(|hash| *hash != UNKNOWN)
                .or(callback.prompt_hash.as_deref()),
        )
    }
}

impl Draft {
    fn ensure_not_terminal(&self) -> Result<(), CjBatchError> {
        if self.batch.is_terminal() {
            Err(CjBatchError::BatchTerminal {
                status: self.batch.status,
            })
        } else {
            Ok(())
        }
    }

    fn close_intake(&mut self, command: CloseIntake) -> Result<(), CjBatchError> {
        self.ensure_not_terminal()?;
        if self.batch.state != BatchState::Initializing {
            return Err(CjBatchError::IntakeClosed);
        }
        let scale = self.batch.grade_scale();
        let mut seen = HashSet::new();
        for anchor in &command.anchors {
            if self.batch.essay_index.contains_key(&anchor.essay_id)
                || !seen.insert(&anchor.essay_id)
            {
                return Err(CjBatchError::DuplicateEssayId {
                    essay_id: anchor.essay_id.clone(),
                });
            }
            if scale.index_of(&anchor.grade).is_none() {
                return Err(CjBatchError::AnchorGradeNotOnScale {
                    essay_id: anchor.essay_id.clone(),
                    grade: anchor.grade.clone(),
                    scale: scale.id().to_string(),
                });
            }
        }
        self.emit(CjBatchEvent::AnchorsRegistered(AnchorsRegistered {
            anchors: command.anchors,
        }));
        self.start_comparisons();
        Ok(())
    }

    fn submit_pairs(&mut self, command: SubmitPairs) -> Result<(), CjBatchError> {
        self.ensure_known(command.correlation_ids.iter())?;
        if self.batch.is_terminal() {
            // A 202 that arrives after the batch ended changes nothing.
            return Ok(());
        }
        let mut fresh = HashSet::new();
        let correlation_ids: Vec<CorrelationId> = command
            .correlation_ids
            .into_iter()
            .filter(|id| self.batch.comparison(id).is_some_and(|c| !c.submitted))
            .filter(|id| fresh.insert(*id))
            .collect();
        if !correlation_ids.is_empty() {
            self.emit(CjBatchEvent::PairsSubmitted(PairsSubmitted {
                correlation_ids,
                prompt_hash: command.prompt_hash,
            }));
        }
        Ok(())
    }

    fn record_callbacks(&mut self, command: RecordCallbacks) -> Result<(), CjBatchError> {
        if command.callbacks.is_empty() {
            return Err(CjBatchError::EmptyCommand);
        }
        self.ensure_known(command.callbacks.iter().map(|c| &c.correlation_id))?;
        ensure_probabilities(&command.callbacks)?;
        if self.batch.is_terminal() {
            self.record_late_callbacks(&command.callbacks);
            return Ok(());
        }
        let recorded_before = self.events.len();
        for callback in command.callbacks {
            self.record_callback(callback);
        }
        if self.events.len() > recorded_before {
            // Only new verdicts can change the decision; pure duplicates change nothing.
            self.decide_next_step();
        }
        Ok(())
    }

    fn record_callback(&mut self, callback: CallbackReport) {
        let Some(comparison) = self.batch.comparison(&callback.correlation_id) else {
            return;
        };
        if comparison.result != ComparisonResult::Pending {
            return; // duplicate delivery
        }
        let judge = self.batch.judge_for(comparison, &callback);
        let event = match callback.outcome {
            CallbackOutcome::Verdict {
                winner,
                confidence,
                justification,
                p_a_wins,
            } => {
                let winner_index = match winner {
                    crate::batch::commands::Position::A => comparison.essay_a,
                    crate::batch::commands::Position::B => comparison.essay_b,
                };
                CjBatchEvent::ComparisonRecorded(ComparisonRecorded {
                    correlation_id: callback.correlation_id,
                    winner: self.batch.essays[winner_index].essay_id.clone(),
                    winner_position: winner,
                    confidence,
                    justification,
                    judge,
                    cost_estimate: callback.cost_estimate,
                    total_tokens: callback.total_tokens,
                    p_a_wins,
                })
            }
            CallbackOutcome::Error { code, message } => {
                CjBatchEvent::ComparisonFailed(ComparisonFailed {
                    correlation_id: callback.correlation_id,
                    error_code: code,
                    message,
                    attempt: comparison.attempt,
                })
            }
        };
        self.emit(event);
    }

    fn record_late_callbacks(&mut self, callbacks: &[CallbackReport]) {
        for callback in callbacks {
            let id = callback.correlation_id;
            let already_resolved = self
                .batch
                .comparison(&id)
                .is_some_and(|c| c.result != ComparisonResult::Pending);
            if already_resolved || self.batch.late_callbacks.contains(&id) {
                continue;
            }
            self.emit(CjBatchEvent::LateCallbackRecorded(LateCallbackRecorded {
                correlation_id: id,
                succeeded: matches!(callback.outcome, CallbackOutcome::Verdict { .. }),
                batch_status: self.batch.status,
            }));
        }
    }

    fn force_recovery(&mut self, command: ForceRecovery) -> Result<(), CjBatchError> {
        self.ensure_not_terminal()?;
        let state = self.batch.state;
        if !matches!(
            state,
            BatchState::GeneratingPairs | BatchState::WaitingCallbacks
        ) {
            return Err(CjBatchError::NotInProgress { state });
        }
        let progress = self.batch.progress();
        let share = progress.completion_share();
        self.emit(CjBatchEvent::RecoveryForced(RecoveryForced {
            observed_progress: command.observed_progress,
            progress: share,
            idle_seconds: command.idle_seconds,
        }));
        let threshold = self.batch.settings().recovery_progress_threshold;
        if share >= threshold && progress.successful > 0 {
            self.finalize(crate::batch::events::CompletionTrigger::ForcedRecovery);
        } else {
            self.fail_stuck(state, share, threshold, command.idle_seconds);
        }
        Ok(())
    }

    fn finalize_on_request(&mut self, command: Finalize) -> Result<(), CjBatchError> {
        self.ensure_not_terminal()?;
        if self.batch.state == BatchState::Initializing {
            return Err(CjBatchError::NotInProgress {
                state: self.batch.state,
            });
        }
        tracing::info!(requested_by = %command.requested_by, "finalize requested");
        let progress = self.batch.progress();
        let trigger = if progress.outstanding() == 0 && progress.budget_left() == 0 {
            crate::batch::events::CompletionTrigger::BudgetSpent
        } else {
            crate::batch::events::CompletionTrigger::OperatorFinalize
        };
        self.finalize(trigger);
        Ok(())
    }

    fn ensure_known<'a>(
        &self,
        ids: impl Iterator<Item = &'a CorrelationId>,
    ) -> Result<(), CjBatchError> {
        let mut unknown: Vec<CorrelationId> = ids
            .filter(|id| self.batch.comparison(id).is_none())
            .copied()
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort();
        unknown.dedup();
        Err(CjBatchError::UnknownComparisons {
            correlation_ids: unknown,
        })
    }
}

/// Every verdict's P(A wins), when given, is a finite number in [0, 1].
fn ensure_probabilities(callbacks: &[CallbackReport]) -> Result<(), CjBatchError> {
    for callback in callbacks {
        if let CallbackOutcome::Verdict {
            p_a_wins: Some(p), ..
        } = callback.outcome
        {
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return Err(CjBatchError::InvalidProbability {
                    correlation_id: callback.correlation_id,
                    p_a_wins: p,
                });
            }
        }
    }
    Ok(())
}

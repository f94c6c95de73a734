//! The comparative-judgement domain: the `CjBatch` aggregate and the pure statistics it
//! decides with. Nothing here performs I/O.
//!
//! # Layout
//!
//! - [`batch`] — the `CjBatch` aggregate: state, `apply`, and the command handlers that
//!   decide events (entered through cqrs-es `CqrsFramework::execute` or [`CjBatch::decide`]).
//! - [`commands`] / [`events`] / [`error`] — what a batch is asked, what it records, and why it
//!   refuses.
//! - [`bradley_terry`] — the regularised Bradley–Terry fit (choix's ILSR), standard errors and
//!   scale separation reliability.
//! - [`scale`] — a batch's verdicts fitted by its estimator (the reference by default, I-LSR
//!   selectable) in the one shape planning, completion and grading read.
//! - [`stats`] — the statistics CJ research reports: the reference estimator (`sirt::btm`),
//!   SSR and separation, split-half reliability, essay and judge misfit, order effect.
//! - [`pairing`] (with [`matching`]) — the wave planner: coverage, informative pairs, balanced
//!   A/B orientation. [`random_pairing`] is the baseline it is measured against.
//! - [`completion`] — the completion policy: wait, next wave, finalize or fail.
//! - [`grading`] — anchor calibration on the BT axis and grade probabilities (with
//!   [`anchor_shrinkage`] steadying noisy anchors);
//!   [`grade_scale`] — the contract's grade scales.
//! - [`judge`] — who gave a verdict (provider, model, prompt hash) and the verdict as
//!   statistics read it.
//! - [`ids`], [`status`], [`settings`] — identifiers, the contract's state enums, batch
//!   settings.
//! - [`synthetic_outcomes`] — seeded Bradley–Terry comparison data for benchmarks.
//! - [`upcasting`] — reading events stored in an older shape (every log reader decodes
//!   through it).

pub mod anchor_shrinkage;
pub mod batch;
pub mod bradley_terry;
pub mod commands;
pub mod completion;
pub mod error;
pub mod events;
pub mod grade_scale;
pub mod grading;
pub mod ids;
pub mod judge;
pub mod matching;
pub mod pairing;
pub mod random_pairing;
pub mod scale;
pub mod settings;
pub mod stats;
pub mod status;
pub mod synthetic_outcomes;
pub mod upcasting;

pub use batch::CjBatch;
pub use commands::CjBatchCommand;
pub use error::CjBatchError;
pub use events::CjBatchEvent;

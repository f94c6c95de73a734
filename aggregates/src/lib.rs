//! The comparative-judgement domain: the `CjBatch` aggregate and the pure statistics it
//! decides with. Nothing here performs I/O.
//!
//! # Layout
//!
//! - [`batch`] — the `CjBatch` aggregate: state, `apply`, the command handlers that decide
//!   events (entered through [`CjBatch::decide`]), and what it speaks: [`batch::commands`],
//!   [`batch::events`], [`batch::error`], [`batch::settings`], [`batch::status`], what the
//!   service hands a decision ([`batch::inputs`]: the assignment's scale), the
//!   completion policy ([`batch::completion`]: wait, next wave, finalize or fail) and
//!   [`batch::upcasting`] (events stored in an older shape; every log reader decodes
//!   through it).
//! - [`stats`] — the statistics it decides with, all pure: the Bradley–Terry fits
//!   ([`stats::bradley_terry`], [`stats::scale`], the reference estimator
//!   [`stats::reference`]), reliability and audit figures, the wave planner
//!   ([`stats::pairing`] with [`stats::matching`]; [`stats::random_pairing`] is its
//!   baseline), grading ([`stats::grading`], [`stats::anchor_shrinkage`],
//!   [`stats::grade_scale`]) and seeded synthetic data ([`stats::synthetic_outcomes`]).
//! - [`ids`] and [`judge`] — who and what: identifiers, and who gave a verdict (provider,
//!   model, prompt hash) with the verdict as statistics read it.

pub mod batch;
pub mod ids;
pub mod judge;
pub mod stats;

pub use batch::commands::CjBatchCommand;
pub use batch::error::CjBatchError;
pub use batch::events::CjBatchEvent;
pub use batch::CjBatch;

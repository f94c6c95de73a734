//! Read models built from the `CjBatch` event log, exactly once and in commit-safe order:
//! the read side only (the wire contracts are the `cj-contracts` crate).
//!
//! # Layout
//!
//! - [`log`] — reading the `events` table: the xmin-safe cursor every projector pages with,
//!   one batch's history, and decoding (through the aggregate's upcasters).
//! - [`projection`] — the [`Projection`] trait: a name, the tables it owns, and how one event
//!   changes them inside the projector's transaction.
//! - [`runner`] — a [`Projector`] applies chunks of the log (each folded in memory into a
//!   few set-based statements, [`fold`]) and advances its [`checkpoint`] row in the same
//!   transaction; [`supervisor`] runs one per projection,
//!   woken by [`wake`] (LISTEN) with a polling fallback, until shut down.
//! - [`replay`] — rebuilds a projection from the whole log (truncate under lock, see
//!   `docs/adr/0005-replay-truncates-under-lock.md`); [`rebuild`] — the same into shadow
//!   tables while the live ones serve, then a switch; [`lag`] — how far each projector is
//!   behind the log head, in events.
//! - The projections, one file each with the SQL that writes them: [`batch_states`],
//!   [`comparison_pairs`], [`essays`], [`grade_projections`], [`dispatch_queue`] (the
//!   comparisons still to send to the LLM provider), [`assignment_scales`] (each
//!   assignment's anchor scale, one version per scored batch), and the outbox's
//!   [`outbox::projection`]; [`monitoring`] reads the `cj_batch_monitoring` view over them.
//!   [`catalogue`] lists them all.
//!
//! - [`outbox`] — the outgoing messages of a finished batch, derived purely from its event
//!   history ([`outbox::derive_outgoing`]); a relay publishes them.
//!
//! Tables and views are created by the migrations in the workspace's `migrations/`.

pub mod assignment_scales;
pub mod batch_states;
pub mod catalogue;
pub mod checkpoint;
pub mod comparison_pairs;
pub mod dispatch_queue;
pub mod error;
pub mod essays;
pub mod fold;
pub mod grade_projections;
pub mod lag;
pub mod log;
pub mod monitoring;
pub mod outbox;
pub mod projection;
pub mod rebuild;
pub mod replay;
pub mod runner;
pub mod supervisor;
pub mod wake;

pub use error::ProjectionError;
pub use log::{LogPosition, LoggedEvent};
pub use projection::Projection;
pub use runner::Projector;

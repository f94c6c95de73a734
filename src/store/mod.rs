//! The service's write side: connecting to PostgreSQL and migrating ([`database`]), and the
//! one way commands reach a `CjBatch` aggregate ([`command_bus`]: cached state
//! ([`aggregate_cache`]), turns per batch ([`batch_locks`])) with the metadata every event
//! carries ([`metadata`]), and what a decision needs from outside its batch (an
//! assignment's scale: [`assignment_scales`]). The bus runs on an [`event_log`]: PostgreSQL's
//! ([`postgres_log`], one-statement appends in [`event_append`], the projectors woken after
//! each by [`append_wake`]) for the service, memory's ([`memory_log`]) for the demo and the
//! simulation. Read models live in the `cj-projections` crate.

pub mod aggregate_cache;
pub mod append_wake;
pub mod assignment_scales;
pub mod batch_locks;
pub mod command_bus;
pub mod database;
pub mod event_append;
pub mod event_log;
pub mod memory_log;
pub mod metadata;
pub mod postgres_log;

pub use command_bus::{BatchCommand, BatchCommandBus, CommandError, Executed, RECORD_CONCURRENCY};
pub use event_log::EventLog;
pub use metadata::CommandMetadata;

//! The service's PostgreSQL side: connecting and migrating ([`database`]), the one way
//! commands reach a `CjBatch` aggregate ([`command_bus`]: cached state
//! ([`aggregate_cache`]), one-statement appends ([`event_append`]), turns per batch
//! ([`batch_locks`])) with the metadata every event carries ([`metadata`]), and the simulation driver's view of that store
//! ([`postgres_batch_store`]). Read models live in the `cj-projections` crate.

pub mod aggregate_cache;
pub mod batch_locks;
pub mod command_bus;
pub mod database;
pub mod event_append;
pub mod metadata;
pub mod postgres_batch_store;

pub use command_bus::{BatchCommandBus, CommandError};
pub use metadata::CommandMetadata;

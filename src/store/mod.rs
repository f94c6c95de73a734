//! The service's PostgreSQL side: connecting and migrating ([`database`]), the one way
//! commands reach a `CjBatch` aggregate ([`command_bus`]: cached state
//! ([`aggregate_cache`]), one-statement appends ([`event_append`]), turns per batch
//! ([`batch_locks`])) with the metadata every event carries ([`metadata`]), and the store
//! interface the simulation driver runs a batch on ([`batch_store`]) with its PostgreSQL
//! implementation ([`postgres_batch_store`]). Read models live in the `cj-projections` crate.

pub mod aggregate_cache;
pub mod batch_locks;
pub mod batch_store;
pub mod command_bus;
pub mod database;
pub mod event_append;
pub mod metadata;
pub mod postgres_batch_store;

pub use batch_store::BatchStore;
pub use command_bus::{BatchCommandBus, CommandError, RECORD_CONCURRENCY};
pub use metadata::CommandMetadata;

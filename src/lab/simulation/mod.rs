//! Comparative judgement without servers: a simulated judge over hidden essay qualities,
//! generated batches with anchors of known grade, an in-memory content store, and a driver
//! that runs a batch through the service's command bus and the real `CjBatch` aggregate on
//! the in-memory event log.
//! The demo, `simulate` and the benchmarks stand on this; it is a product feature, not a
//! test double.

pub mod assignment;
pub mod content_store;
pub mod driver;
pub mod graded;
pub mod judge;
pub mod metrics;
pub mod scenario;

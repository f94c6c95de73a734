//! Integration tests of the event store and the projections against a real PostgreSQL
//! (one database per test, see `tests/support`). One test binary, one module per property.

#[path = "../support/mod.rs"]
mod support;

mod chunk_folding;
mod commands_together;
mod concurrent_writers;
mod crash_recovery;
mod history;
mod lag;
mod online_rebuild;
mod racing_callbacks;
mod replay;
mod sparse_spans;
mod stale_cache;
mod upcasting;
mod wake;

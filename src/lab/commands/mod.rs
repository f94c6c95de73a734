//! The lab's subcommands, one module each: `demo` (a whole batch, in memory or on
//! PostgreSQL via [`demo_on_postgres`]), `simulate` (quality across many seeds), `bench`,
//! `run-eng5` (one batch end to end through a running service) and `llm-sim`.

pub mod bench;
pub mod demo;
pub mod demo_on_postgres;
pub mod llm_sim;
pub mod run_eng5;
pub mod simulate;
pub mod simulate_assignment;

//! Fault injection against the real service binary: `cj-assessment serve` runs as a child
//! process (the harness) against PostgreSQL, a Tansu broker and the simulated provider,
//! while a fault hits it — `kill -9` at random moments, the broker stopped for 30 s,
//! PostgreSQL restarted, a long transaction holding the xmin horizon, a flood of messages
//! that can never be handled, one of two instances killed or restarted. Each test ends with
//! the same nothing-lost, nothing-doubled checks over the log and the topics, and prints its
//! figures. The faults disturb shared
//! resources (a server restart drops every connection; the xmin horizon is server-wide), so
//! the tests take turns ([`serial`]).

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod outage;
mod postgres_server;
mod rig;
mod serial;
mod settle;
mod takeover;
mod workload;

mod broker_outage;
mod database_restart;
mod kill_nine;
mod long_transaction;
mod message_flood;
mod two_instances;

//! The outbox: what the service publishes when a batch ends, derived purely from the batch's
//! event history, so the same history always yields the same messages with the same
//! `event_id`s. The [`projection`] stores them in `cj_outbox` when a batch ends; the relay
//! (`src/outbox_relay/`) publishes them and notes each only once the broker acknowledged
//! it, so a crash at worst re-sends the same ids.
//!
//! - [`history`] — the facts of a batch the messages are made from (folded from its events).
//! - [`derive`](mod@derive) — which messages a terminal event yields, their ids, topics, keys and
//!   envelopes: [`derive_outgoing`].
//! - [`completion`], [`result`], [`failure`] — the `data` of each message.
//! - [`projection`] — the `cj_outbox` projection the relay reads.

pub mod completion;
pub mod derive;
pub mod failure;
pub mod history;
pub mod projection;
pub mod result;

pub use derive::{derive_outgoing, DeriveError, MessageKind, OutgoingMessage};
pub use history::RecordedEvent;

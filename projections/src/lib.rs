//! Read models built from the `CjBatch` event log, and the wire contracts the service speaks.
//!
//! # Layout
//!
//! - [`contracts`] — serde types of every message on the wire (the request and callback the
//!   service consumes, the LLM provider's HTTP body, the events it publishes), the topic
//!   names, and the decoders the consumers call ([`contracts::decode_request`],
//!   [`contracts::decode_callback`]).
//! - [`outbox`] — the outgoing messages of a finished batch, derived purely from its event
//!   history ([`outbox::derive_outgoing`]); a relay publishes them.

pub mod contracts;
pub mod outbox;

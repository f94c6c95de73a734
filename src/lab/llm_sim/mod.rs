//! `cj-assessment llm-sim`: a simulated LLM Provider Service with the real HTTP contract.
//! `POST /comparison` answers 202 at once; after a latency drawn from the configured range
//! a judge that reads the two essays out of the prompt publishes the verdict (or an error)
//! as `LLMComparisonResultV1` to the request's callback topic. Position bias, error rate and
//! duplicate callbacks are settings. A real provider plugs in by URL instead.
//! [`provider_fake`] answers like the providers the direct judges call (OpenAI-compatible
//! and Anthropic wire formats), with scripted faults.

pub mod judge;
pub mod kafka_sink;
pub mod provider_fake;
pub mod server;

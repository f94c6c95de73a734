//! Talking to the LLM Provider Service: the comparison prompt and the HTTP client.

pub mod client;
pub mod prompt;

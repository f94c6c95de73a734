//! Fuzzes `decode_request` with arbitrary bytes (seeded with the contract samples, guided by
//! a dictionary of the contract's JSON keys). Proves: no input makes the request decoder
//! panic, and every request it accepts also gets through the intake's pure follow-ups
//! without a panic — batch id, budget resolution, essay ids, course code and LLM settings
//! (which survive the event store's JSON) — and re-encodes to JSON that decodes to itself.
//! See `cj_fuzz::check_request`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| cj_fuzz::check_request(bytes));

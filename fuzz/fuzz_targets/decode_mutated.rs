//! Structured fuzzing past the JSON syntax layer: the fuzzer's bytes, through `arbitrary`,
//! pick a valid sample (the request, the verdict callback or the error callback, in their
//! envelopes) and up to eight edits of it — a field at any depth replaced by generated JSON
//! (the contract's keys, enum values, ids, edge timestamps, boundary numbers, long and
//! multi-byte strings), removed, inserted or copied over another — see `cj_fuzz::mutate`.
//! The edited document, always valid JSON, goes to the sample's decoder. Proves: no
//! well-formed JSON near the contract makes either decoder panic, and every accepted
//! message passes the same follow-up checks as the byte-level targets.
#![no_main]

use cj_fuzz::mutate::{Mutated, Sample};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: Mutated| {
    let bytes = serde_json::to_vec(&input.document()).expect("a Value encodes");
    match input.sample {
        Sample::Request => cj_fuzz::check_request(&bytes),
        Sample::CallbackSuccess | Sample::CallbackError => cj_fuzz::check_callback(&bytes),
    }
});

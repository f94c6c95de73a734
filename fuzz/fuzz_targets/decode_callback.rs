//! Fuzzes `decode_callback` with arbitrary bytes (seeded with the callback samples in their
//! envelope, guided by a dictionary of the contract's JSON keys). Proves: no input makes
//! the callback decoder panic, and every callback it accepts converts with `to_report()`
//! (never an error after a successful decode), routes, yields a latency, and survives the
//! event store's JSON (the report) and re-encoding (the envelope) unchanged, without a
//! panic. See `cj_fuzz::check_callback`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| cj_fuzz::check_callback(bytes));

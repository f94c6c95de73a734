//! What a test says when a tool it needs is not installed: one line naming the tool and how
//! to get it (`scripts/test.sh` installs every one of them), instead of a bare "No such file".
#![allow(dead_code)]

use cj_assessment::lab::harness::HarnessError;

/// Whether starting a program failed because it is not there.
pub fn is_not_found(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::NotFound
}

/// Fails the test with `<tool> not found: run scripts/test.sh (installs it) or <otherwise>`.
pub fn missing(tool: &str, otherwise: &str) -> ! {
    panic!("{tool} not found: run scripts/test.sh (installs it) or {otherwise}")
}

/// What the harness started, or the test fails with one line: [`missing`] when the program
/// is not there, the harness's error otherwise.
pub fn started_or_missing<T>(started: Result<T, HarnessError>, tool: &str, otherwise: &str) -> T {
    started.unwrap_or_else(|error| match error {
        HarnessError::Spawn { source, .. } if is_not_found(&source) => missing(tool, otherwise),
        other => panic!("{tool} does not start: {other}"),
    })
}

//! Helpers shared by the integration tests (`mod common;`).
#![allow(dead_code)]

pub mod driver;
pub mod harness;
pub mod history;
pub mod seeds;
pub mod strategies;

use proptest::test_runner::Config;

/// Proptest configuration of the `proptest!` suites: `PROPTEST_CASES` from
/// the environment when set, otherwise `default_cases` (chosen per test to
/// keep a debug run short); the run seed of [`seeds`] (fixed unless
/// `JOB_PROPTEST_SEED` says otherwise), failures reported with their seed
/// and replay command, and proptest's regression file kept.
pub fn proptest_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    seeds::Seeds::new(None, "PROPTEST_CASES", true).config(cases)
}

/// A harness violation as a proptest case error. With `no-panic` in
/// `JOB_INVARIANTS_SKIP`, a history on which the machine panics is
/// rejected instead (the history cannot go on; the panic is a known bug
/// and the hunt is for others).
pub fn violation(e: String) -> proptest::test_runner::TestCaseError {
    let skip_panics = std::env::var("JOB_INVARIANTS_SKIP")
        .unwrap_or_default()
        .split(',')
        .any(|s| s == "no-panic");
    if skip_panics && e.contains("[no-panic]") {
        proptest::test_runner::TestCaseError::reject("the machine panicked (no-panic skipped)")
    } else {
        proptest::test_runner::TestCaseError::fail(e)
    }
}

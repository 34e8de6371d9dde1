//! Helpers shared by the integration tests (`mod common;`).
#![allow(dead_code)]

pub(crate) mod driver;
pub(crate) mod harness;
pub(crate) mod history;
pub(crate) mod seeds;
pub(crate) mod strategies;

use proptest::test_runner::Config;

/// Proptest configuration of the `proptest!` suites: `PROPTEST_CASES` from
/// the environment when set, otherwise `default_cases` (chosen per test to
/// keep a debug run short); the run seed of [`seeds`] (fixed unless
/// `JOB_PROPTEST_SEED` says otherwise), failures reported with their seed
/// and replay command, and proptest's regression file kept.
pub(crate) fn proptest_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    seeds::Seeds::new(None, "PROPTEST_CASES", true).config(cases)
}

/// The runner of a random-history suite (`invariants`,
/// `reference_agreement`): `JOB_PROPTEST_CASES` histories (default 4000) of
/// at most `JOB_PROPTEST_STEPS` steps (default 60), seeded by [`seeds`];
/// shrinking may take long, as history failures are worth it. Returns the
/// runner, the history length and the seeds (for the failure report).
pub(crate) fn history_runner(
    test: &'static str,
) -> (proptest::test_runner::TestRunner, usize, seeds::Seeds) {
    let env_or = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cases = u32::try_from(env_or("JOB_PROPTEST_CASES", 4000)).unwrap_or(u32::MAX);
    let max_steps = usize::try_from(env_or("JOB_PROPTEST_STEPS", 60)).unwrap_or(60);
    let seeds = seeds::Seeds::new(Some(test), "JOB_PROPTEST_CASES", false);
    let mut config = seeds.config(cases);
    config.max_shrink_iters = 100_000;
    config.max_global_rejects = cases.max(1024);
    (
        proptest::test_runner::TestRunner::new(config),
        max_steps,
        seeds,
    )
}

/// A harness violation as a proptest case error. With `no-panic` in
/// `JOB_INVARIANTS_SKIP`, a history on which the machine panics is
/// rejected instead (the history cannot go on; the panic is a known bug
/// and the hunt is for others).
pub(crate) fn violation(e: String) -> proptest::test_runner::TestCaseError {
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

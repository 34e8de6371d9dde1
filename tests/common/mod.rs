//! Helpers shared by the integration tests (`mod common;`).
#![allow(dead_code)]

pub mod driver;
pub mod harness;
pub mod history;
pub mod strategies;

use proptest::test_runner::Config;

/// Proptest configuration: `PROPTEST_CASES` from the environment when set,
/// otherwise `default_cases` (chosen per test to keep a debug run short).
pub fn proptest_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        ..Config::default()
    }
}

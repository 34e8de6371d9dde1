//! `kind: timeline` cases: a Job driven by events (see `replay_timeline`).

use std::path::Path;

use crate::common::Outcome;
use crate::replay_timeline;

/// Runs one timeline case.
pub(crate) fn run(case: &serde_yaml::Value, _file_dir: &Path) -> Outcome {
    match replay_timeline::run_case(case) {
        Ok(()) => Outcome::Passed,
        Err(diff) => Outcome::Failed(diff),
    }
}

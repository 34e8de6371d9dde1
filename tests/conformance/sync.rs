//! `kind: sync` cases: one reconcile over a snapshot (see `replay_sync`).

use std::path::Path;

use crate::common::Outcome;
use crate::replay_sync;

/// Runs one sync case.
pub(crate) fn run(case: &serde_yaml::Value, _file_dir: &Path) -> Outcome {
    match replay_sync::run_case(case) {
        Ok(()) => Outcome::Passed,
        Err(diff) => Outcome::Failed(diff),
    }
}

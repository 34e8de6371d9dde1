//! Defaulting as the API server does it (upstream
//! `pkg/apis/batch/v1/defaults.go: SetDefaults_Job` and the Job registry
//! strategy's `generateSelector`).

use crate::api::Job;

/// Applies `SetDefaults_Job`. Idempotent.
pub fn apply_defaults(job: &mut Job) {
    let _ = job; // filled in by the admission work
}

/// Generates the selector and template labels unless `manualSelector` is true
/// (upstream `strategy.go: generateSelector`).
pub fn generate_selector(job: &mut Job) {
    let _ = job;
}

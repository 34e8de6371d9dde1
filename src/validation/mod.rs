//! Validation of create, update and status update as the API server does it
//! (upstream `pkg/apis/batch/validation/validation.go`, with the options the
//! Job registry strategy passes in `pkg/registry/batch/job/strategy.go`).
//!
//! Every error is collected, each with upstream's field path, kind and
//! message, in upstream's order. Exact duplicates are reported once (the API
//! server's error aggregation drops them too; upstream validates the spec
//! twice on update).
//!
//! Scope: every Job-level rule, object metadata, label selectors, and the
//! parts of core pod template validation the Job rules depend on (template
//! labels and annotations, container names). Other PodSpec checks (images,
//! volumes, resources, probes) are not modelled.
//!
//! Defaulting is not applied here: callers that simulate the API server run
//! [`crate::defaults`] first, as [`crate::ValidJob`] does.

mod field;
mod indexes;
mod job;
mod meta;
mod names;
mod policies;
mod semantic;
mod status;
mod update;

use std::collections::BTreeSet;

use crate::api::Job;
use crate::error::{FieldError, ValidationErrors};

/// Validates a Job on create (`ValidateJob` with the create options:
/// prefixed `batch.kubernetes.io/` labels are required when the selector is
/// generated).
///
/// The Job is validated as given; the API server would have defaulted it
/// and generated its selector first (see [`crate::defaults`]). An empty
/// namespace is accepted: the server takes it from the request.
pub fn validate_create(job: &Job) -> Result<(), ValidationErrors> {
    let mut errs = Vec::new();
    job::validate_job(job, &job::JobOptions::create(), &mut errs);
    finish(errs)
}

/// Validates an update of a Job's metadata and spec (`ValidateJob` +
/// `ValidateJobUpdate`, with the options the server derives from `old`).
///
/// As on the server, fields a client may omit (uid, namespace,
/// resourceVersion) are taken from `old`, and the status of `new` is
/// ignored (status changes go through [`validate_status_update`]).
pub fn validate_update(new: &Job, old: &Job) -> Result<(), ValidationErrors> {
    let new = update::as_server_sees_it(new, old);
    let opts = update::options(old);
    let mut errs = Vec::new();
    job::validate_job(&new, &opts, &mut errs);
    update::validate_job_update(&new, old, &opts, &mut errs);
    finish(errs)
}

/// Validates a write through the status subresource
/// (`ValidateJobUpdateStatus`). As on the server, the spec of `new` is
/// ignored: the stored spec of `old` applies.
pub fn validate_status_update(new: &Job, old: &Job) -> Result<(), ValidationErrors> {
    let new = status::as_server_sees_it(new, old);
    let mut errs = Vec::new();
    status::validate_status_update(&new, old, &mut errs);
    finish(errs)
}

/// Drops exact duplicates (keeping the first) and wraps the rest.
fn finish(errs: Vec<FieldError>) -> Result<(), ValidationErrors> {
    let mut seen = BTreeSet::new();
    let unique: Vec<FieldError> = errs
        .into_iter()
        .filter(|e| {
            seen.insert((
                e.field.clone(),
                e.kind.as_str(),
                e.value.clone(),
                e.detail.clone(),
            ))
        })
        .collect();
    if unique.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors { errors: unique })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn minimal() -> Job {
        crate::parse_job(
            "
metadata: {name: pi, namespace: default, uid: u1}
spec:
  selector: {matchLabels: {batch.kubernetes.io/controller-uid: u1}}
  template:
    metadata:
      labels:
        batch.kubernetes.io/controller-uid: u1
        controller-uid: u1
        batch.kubernetes.io/job-name: pi
        job-name: pi
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: perl}]
",
        )
        .unwrap()
    }

    #[test]
    fn create_accepts_a_generated_job() {
        assert_eq!(validate_create(&minimal()), Ok(()));
    }

    #[test]
    fn create_collects_all_errors() {
        let mut j = minimal();
        j.spec.parallelism = Some(-1);
        j.spec.completions = Some(-1);
        j.metadata.name = "Bad_Name".to_owned();
        let errs = validate_create(&j).unwrap_err();
        assert!(errs.has("metadata.name", ErrorKind::Invalid));
        assert!(errs.has("spec.parallelism", ErrorKind::Invalid));
        assert!(errs.has("spec.completions", ErrorKind::Invalid));
    }

    #[test]
    fn update_reports_spec_errors_once() {
        let old = minimal();
        let mut new = minimal();
        new.spec.parallelism = Some(-1);
        let errs = validate_update(&new, &old).unwrap_err();
        let n = errs
            .errors
            .iter()
            .filter(|e| e.field == "spec.parallelism")
            .count();
        assert_eq!(n, 1);
    }

    #[test]
    fn status_update_uses_stored_spec() {
        let old = minimal();
        let mut new = minimal();
        // An invalid spec in a status write is ignored, as the server does.
        new.spec.parallelism = Some(-1);
        assert_eq!(validate_status_update(&new, &old), Ok(()));
    }

    #[test]
    fn never_panics_on_extreme_values() {
        let mut j = minimal();
        j.spec.completion_mode = Some(crate::api::CompletionMode::Indexed);
        j.spec.completions = Some(i32::MAX);
        j.spec.parallelism = Some(i32::MIN);
        j.spec.max_failed_indexes = Some(i32::MAX);
        j.spec.backoff_limit_per_index = Some(i32::MIN);
        j.spec.active_deadline_seconds = Some(i64::MIN);
        j.spec.success_policy = Some(crate::api::SuccessPolicy {
            extra: Default::default(),
            rules: vec![crate::api::SuccessPolicyRule {
                extra: Default::default(),
                succeeded_indexes: Some("0-2147483646,-,1--2,99999999999999999999".to_owned()),
                succeeded_count: Some(i32::MIN),
            }],
        });
        let _ = validate_create(&j);
        let mut s = j.clone();
        s.status = Some(crate::api::JobStatus {
            completed_indexes: "2147483647-0,,\u{0}".to_owned(),
            failed_indexes: Some("-1".to_owned()),
            active: i32::MIN,
            ready: Some(i32::MAX),
            ..Default::default()
        });
        let _ = validate_status_update(&s, &j);
        let _ = validate_update(&s, &j);
    }
}

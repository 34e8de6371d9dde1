//! The validated Job: the only thing a controller can be started from.
//!
//! A [`ValidJob`] has been defaulted as the API server does and passed the
//! API server's validation, so the controller may rely on every invariant
//! validation guarantees (non-negative counts, Indexed Jobs have completions,
//! podFailurePolicy implies restartPolicy Never, …) without re-checking.

use crate::api::{
    CompletionMode, Job, JobSpec, PodFailurePolicy, PodReplacementPolicy, RestartPolicy,
    SuccessPolicy, keys,
};
use crate::defaults;
use crate::error::{ErrorKind, FieldError, ValidationErrors};
use crate::validation;

/// A Job that has been defaulted and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidJob {
    job: Job,
}

impl ValidJob {
    /// Admits a new Job as the API server does on create: applies defaults,
    /// generates the selector and template labels (unless `manualSelector`),
    /// clears the status, then validates.
    ///
    /// The Job needs a `metadata.uid` for the generated selector; the API
    /// server assigns one, so callers simulating a create should set it.
    ///
    /// ```
    /// use job_controller::{parse_job, ValidJob};
    /// let mut job = parse_job("
    /// metadata: {name: pi, uid: abc-1234}
    /// spec:
    ///   template:
    ///     spec:
    ///       restartPolicy: Never
    ///       containers: [{name: pi, image: perl}]
    /// ").unwrap();
    /// let valid = ValidJob::create(job).unwrap();
    /// assert_eq!(valid.backoff_limit(), 6);
    /// assert_eq!(valid.completions(), Some(1));
    /// ```
    pub fn create(mut job: Job) -> Result<ValidJob, ValidationErrors> {
        job.status = None;
        defaults::apply_defaults(&mut job);
        defaults::generate_selector(&mut job);
        validation::validate_create(&job)?;
        Ok(ValidJob { job })
    }

    /// Accepts a Job as stored by the API server (read back from a cluster, or
    /// restored from a snapshot): defaults are applied (idempotent on a stored
    /// Job) and the Job is validated, keeping its status.
    ///
    /// A stored Job passed the validation of the API server that admitted
    /// it, which may be older than today's rules. The upstream controller
    /// copes with the values later rules forbid — it skips a pod failure
    /// policy rule with an unknown action or operator, a rule naming a
    /// container the template lacks simply never matches, and a Job with an
    /// unknown completion mode or any `spec.managedBy` other than its own
    /// name is left alone — so those errors alone do not reject a stored
    /// Job. Every other error does.
    pub fn from_stored(mut job: Job) -> Result<ValidJob, ValidationErrors> {
        defaults::apply_defaults(&mut job);
        if let Err(mut errors) = validation::validate_create(&job) {
            errors.errors.retain(|e| !tolerated_in_stored_job(e));
            if !errors.errors.is_empty() {
                return Err(errors);
            }
        }
        Ok(ValidJob { job })
    }

    /// Validates an update of this Job's spec and metadata (a `PUT` on the
    /// Job), as the API server does: the new object must be valid on its own
    /// and may change only what may change. The status is kept from `self`.
    pub fn update(&self, mut new: Job) -> Result<ValidJob, ValidationErrors> {
        new.status = self.job.status.clone();
        defaults::apply_defaults(&mut new);
        validation::validate_update(&new, &self.job)?;
        Ok(ValidJob { job: new })
    }

    /// The Job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Gives the Job back.
    pub fn into_job(self) -> Job {
        self.job
    }

    /// The Job's spec.
    pub fn spec(&self) -> &JobSpec {
        &self.job.spec
    }

    /// The Job's name.
    pub fn name(&self) -> &str {
        &self.job.metadata.name
    }

    /// The Job's namespace (`default` when unset).
    pub fn namespace(&self) -> &str {
        match self.job.metadata.namespace.as_str() {
            "" => "default",
            ns => ns,
        }
    }

    /// The Job's UID.
    pub fn uid(&self) -> &str {
        &self.job.metadata.uid
    }

    /// `spec.parallelism` (defaulted).
    pub fn parallelism(&self) -> i32 {
        self.job.spec.parallelism.unwrap_or(1).max(0)
    }

    /// `spec.completions`; `None` is a work queue.
    pub fn completions(&self) -> Option<i32> {
        self.job.spec.completions.map(|c| c.max(0))
    }

    /// `spec.backoffLimit` (defaulted).
    pub fn backoff_limit(&self) -> i32 {
        self.job.spec.backoff_limit.unwrap_or(6).max(0)
    }

    /// `spec.backoffLimitPerIndex`.
    pub fn backoff_limit_per_index(&self) -> Option<i32> {
        self.job.spec.backoff_limit_per_index
    }

    /// `spec.maxFailedIndexes`.
    pub fn max_failed_indexes(&self) -> Option<i32> {
        self.job.spec.max_failed_indexes
    }

    /// Whether `completionMode` is `Indexed`.
    pub fn is_indexed(&self) -> bool {
        self.job.spec.completion_mode == Some(CompletionMode::Indexed)
    }

    /// Whether `spec.suspend` is true.
    pub fn is_suspended(&self) -> bool {
        self.job.spec.suspend == Some(true)
    }

    /// `spec.activeDeadlineSeconds`.
    pub fn active_deadline_seconds(&self) -> Option<i64> {
        self.job.spec.active_deadline_seconds
    }

    /// `spec.ttlSecondsAfterFinished`.
    pub fn ttl_seconds_after_finished(&self) -> Option<i32> {
        self.job.spec.ttl_seconds_after_finished
    }

    /// `spec.podFailurePolicy`.
    pub fn pod_failure_policy(&self) -> Option<&PodFailurePolicy> {
        self.job.spec.pod_failure_policy.as_ref()
    }

    /// `spec.successPolicy`.
    pub fn success_policy(&self) -> Option<&SuccessPolicy> {
        self.job.spec.success_policy.as_ref()
    }

    /// Whether only pods in phase Failed are replaced (upstream
    /// `onlyReplaceFailedPods`): `podReplacementPolicy: Failed`, or any pod
    /// failure policy (which forces it).
    pub fn only_replace_failed_pods(&self) -> bool {
        self.job.spec.pod_replacement_policy == Some(PodReplacementPolicy::Failed)
            || self.job.spec.pod_failure_policy.is_some()
    }

    /// Whether pods restart in place (`restartPolicy: OnFailure`).
    pub fn restarts_on_failure(&self) -> bool {
        self.job.spec.template.spec.restart_policy == Some(RestartPolicy::OnFailure)
    }

    /// Whether another controller manages this Job (`spec.managedBy` set to
    /// something other than the built-in controller's name).
    pub fn is_managed_elsewhere(&self) -> bool {
        self.job
            .spec
            .managed_by
            .as_deref()
            .is_some_and(|m| m != keys::JOB_CONTROLLER_NAME)
    }

    /// Whether the Job has a deletion timestamp (foreground deletion under way).
    pub fn is_being_deleted(&self) -> bool {
        self.job.metadata.deletion_timestamp.is_some()
    }

    /// Whether the completion mode is one the controller knows.
    pub fn has_known_completion_mode(&self) -> bool {
        self.job
            .spec
            .completion_mode
            .as_ref()
            .is_none_or(CompletionMode::is_known)
    }
}

/// Errors of rules the controller tolerates in stored Jobs (see
/// [`ValidJob::from_stored`]).
fn tolerated_in_stored_job(e: &FieldError) -> bool {
    // Whatever `spec.managedBy` holds, the built-in controller only asks
    // whether it is its own name: any other value, even one today's API
    // server would refuse, means "leave this Job alone".
    if e.field == "spec.managedBy" {
        return true;
    }
    let in_rule = e.field.starts_with("spec.podFailurePolicy.rules[");
    match e.kind {
        ErrorKind::NotSupported => {
            e.field == "spec.completionMode"
                || (in_rule && (e.field.ends_with("].action") || e.field.ends_with(".operator")))
        }
        ErrorKind::Invalid => in_rule && e.field.ends_with(".onExitCodes.containerName"),
        _ => false,
    }
}

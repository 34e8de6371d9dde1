//! Job conditions: the exact reasons and messages upstream writes, and the
//! helpers that add or flip them (upstream `job_controller.go: newCondition`,
//! `ensureJobConditionStatus`).

use chrono::{DateTime, Utc};

use crate::api::{ConditionStatus, JobCondition, JobConditionType};

/// Reason of `FailureTarget`/`Failed` when too many pods failed.
pub(crate) const REASON_BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
/// Reason of `FailureTarget`/`Failed` after `activeDeadlineSeconds`.
pub(crate) const REASON_DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// Reason of `FailureTarget`/`Failed` after a FailJob rule matched.
pub(crate) const REASON_POD_FAILURE_POLICY: &str = "PodFailurePolicy";
/// Reason of `FailureTarget`/`Failed` when more indexes failed than allowed.
pub(crate) const REASON_MAX_FAILED_INDEXES_EXCEEDED: &str = "MaxFailedIndexesExceeded";
/// Reason of `FailureTarget`/`Failed` when every index ended and some failed.
pub(crate) const REASON_FAILED_INDEXES: &str = "FailedIndexes";
/// Reason of `SuccessCriteriaMet`/`Complete` when enough pods succeeded.
pub(crate) const REASON_COMPLETIONS_REACHED: &str = "CompletionsReached";
/// Reason of `SuccessCriteriaMet`/`Complete` when a success policy rule matched.
pub(crate) const REASON_SUCCESS_POLICY: &str = "SuccessPolicy";
/// Reason of `Suspended=True`.
pub(crate) const REASON_JOB_SUSPENDED: &str = "JobSuspended";
/// Reason of `Suspended=False`.
pub(crate) const REASON_JOB_RESUMED: &str = "JobResumed";

/// Message for [`REASON_BACKOFF_LIMIT_EXCEEDED`].
pub(crate) const MESSAGE_BACKOFF_LIMIT_EXCEEDED: &str =
    "Job has reached the specified backoff limit";
/// Message for [`REASON_DEADLINE_EXCEEDED`].
pub(crate) const MESSAGE_DEADLINE_EXCEEDED: &str = "Job was active longer than specified deadline";
/// Message for [`REASON_MAX_FAILED_INDEXES_EXCEEDED`].
pub(crate) const MESSAGE_MAX_FAILED_INDEXES_EXCEEDED: &str =
    "Job has exceeded the specified maximal number of failed indexes";
/// Message for [`REASON_FAILED_INDEXES`].
pub(crate) const MESSAGE_FAILED_INDEXES: &str = "Job has failed indexes";
/// Message for [`REASON_COMPLETIONS_REACHED`].
pub(crate) const MESSAGE_COMPLETIONS_REACHED: &str = "Reached expected number of succeeded pods";

/// A new condition stamped with `now` as probe and transition time.
pub(crate) fn new_condition(
    type_: JobConditionType,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> JobCondition {
    JobCondition {
        extra: Default::default(),
        type_,
        status,
        last_probe_time: Some(now),
        last_transition_time: Some(now),
        reason: reason.to_owned(),
        message: message.to_owned(),
    }
}

/// Sets the condition of this type to the given status, reason and message:
/// replaces it if any of those differ, appends it if absent — except that a
/// `False` condition is never appended. Returns whether the list changed.
pub(crate) fn ensure_condition(
    conditions: &mut Vec<JobCondition>,
    type_: JobConditionType,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> bool {
    if let Some(existing) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if existing.status != status || existing.reason != reason || existing.message != message {
            *existing = new_condition(type_, status, reason, message, now);
            return true;
        }
        return false;
    }
    if status == ConditionStatus::False {
        return false;
    }
    conditions.push(new_condition(type_, status, reason, message, now));
    true
}

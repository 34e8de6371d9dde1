//! Support for test suites that check their own code against Job semantics
//! (feature `testing`).
//!
//! [`sync`] answers "what would Kubernetes do with this snapshot": one
//! reconcile of a stored Job, its pods and the controller's in-memory
//! backoff record, as upstream's `syncJob` runs after an event — the
//! one-sync form of this crate's conformance cases. It is
//! [`JobController::restore_with_backoff`] drained, packaged so that the
//! backoff record is not forgotten by accident.

use chrono::{DateTime, Utc};

use crate::api::{JobStatus, Pod};
use crate::{Action, BackoffRecord, JobController, RestoreError, Timeout, ValidJob};

/// What one reconcile of a snapshot asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SyncOutcome {
    /// Every action, in the order to carry them out (creations, deletions,
    /// finalizer removals, status writes, claims, the Job's deletion).
    pub actions: Vec<Action>,
    /// The status as the reconcile left it (the last one written, or the
    /// stored one if nothing was written).
    pub status: JobStatus,
    /// The backoff record the next reconcile starts from.
    pub backoff: BackoffRecord,
    /// The earliest instant a reconcile has something to do, if any.
    pub wake_up: Option<Timeout>,
}

/// One reconcile of `job` (as stored, status included) with `pods` listed
/// and the controller's `backoff` record, at `now`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use job_controller::testing::sync;
/// use job_controller::{Action, BackoffRecord, ValidJob, parse_job};
///
/// let job = parse_job("
/// metadata: {name: pi, namespace: default, uid: u1}
/// spec:
///   completions: 3
///   parallelism: 2
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{name: pi, image: perl}]
/// ").unwrap();
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// // `create` defaults the Job as the API server does; a Job read from the
/// // API (status included) goes through `ValidJob::from_stored`.
/// let outcome = sync(ValidJob::create(job).unwrap(), &[], BackoffRecord::default(), now).unwrap();
/// let creations = outcome.actions.iter().filter(|a| matches!(a, Action::CreatePod(_))).count();
/// assert_eq!(creations, 2);
/// assert_eq!(outcome.status.active, 2);
/// ```
pub fn sync(
    job: ValidJob,
    pods: &[Pod],
    backoff: BackoffRecord,
    now: DateTime<Utc>,
) -> Result<SyncOutcome, RestoreError> {
    let mut ctl = JobController::restore_with_backoff(job, pods, backoff, now)?;
    let actions: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    Ok(SyncOutcome {
        actions,
        status: ctl.status().clone(),
        backoff: ctl.backoff_record(),
        wake_up: ctl.poll_timeout(),
    })
}

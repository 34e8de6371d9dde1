//! Support for test suites that check their own code against Job semantics
//! (feature `testing`).
//!
//! - [`sync`] answers "what would Kubernetes do with this snapshot": one
//!   reconcile of a stored Job, its pods and the controller's in-memory
//!   backoff record, as upstream's `syncJob` runs after an event — the
//!   one-sync form of this crate's conformance cases. It is
//!   [`JobController::restore_with_backoff`] drained, packaged so that the
//!   backoff record is not forgotten by accident.
//! - Proptest strategies: [`valid_job`] (small valid Jobs in every mode and
//!   policy, printed as their [`JobParams`] when a case fails) and
//!   [`steps`] (histories of pod events, clock moves, held and failed
//!   creations, spec changes and timeouts).
//! - [`Invariants`]: the rules every history keeps, checked input by input
//!   over any driver's actions; [`run_history`] runs a history on the
//!   [`Cluster`](crate::sim::Cluster) with them.
//!
//! A property test of a user's own code, here a toy estimate of how many
//! pods a Job starts with, checked against the machine:
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use job_controller::testing::{sync, valid_job};
//! use job_controller::{Action, BackoffRecord, ValidJob};
//! use proptest::prelude::*;
//!
//! /// The user's function: pods a new Job starts with.
//! fn first_wave(job: &ValidJob) -> usize {
//!     if job.is_suspended() {
//!         return 0;
//!     }
//!     let parallelism = job.parallelism().max(0);
//!     let wanted = job.completions().map_or(parallelism, |c| c.min(parallelism));
//!     usize::try_from(wanted).unwrap_or(0)
//! }
//!
//! proptest!(|(case in valid_job())| {
//!     let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
//!     let outcome = sync(case.job.clone(), &[], BackoffRecord::default(), now).unwrap();
//!     let created = outcome.actions.iter().filter(|a| matches!(a, Action::CreatePod(_))).count();
//!     prop_assert_eq!(created, first_wave(&case.job));
//! });
//! ```

mod history;
mod invariants;
mod jobs;
mod run;

pub use history::{Advance, EXIT_CODES, Input, Step, advance, input, step, steps};
pub use invariants::{Invariants, Violation, check_conditions};
pub use jobs::{
    JobParams, Rule, RuleOn, SuccessRule, TestJob, job_params, rule, success_rule, valid_job,
};
pub use run::{HistoryError, Run, run_history};

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

//! What the machine asks its caller to do.

use chrono::{DateTime, Utc};

use std::fmt;

use std::sync::Arc;

use crate::api::{JobStatus, Pod};

/// One effect for the caller to carry out, in the order given.
// The pod to create is boxed: unboxed, every action (a finalizer removal
// too) took its 640 bytes, and each creation was copied whole at every
// move from the reconcile to the caller (a tenth of an event's time).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Create this pod. The caller reports it back with
    /// [`crate::PodEvent::Observed`] once it exists, or calls
    /// [`crate::JobController::handle_create_failed`].
    CreatePod(Box<PodToCreate>),
    /// Delete (set the deletion timestamp of) this pod.
    DeletePod {
        /// Pod name.
        name: String,
        /// Why.
        reason: DeleteReason,
    },
    /// Remove the `batch.kubernetes.io/job-tracking` finalizer from this pod:
    /// its termination is recorded in the status written before, or the pod
    /// is being removed without being counted.
    RemoveFinalizer {
        /// Pod name.
        name: String,
        /// Pod UID (for a precondition on the patch).
        uid: String,
    },
    /// Adopt an orphan pod that matches the Job's selector: make this Job its
    /// controller owner and add the tracking finalizer (upstream
    /// `ClaimPods`). The machine already treats it as its own.
    AdoptPod {
        /// Pod name.
        name: String,
        /// Pod UID (for a precondition on the patch).
        uid: String,
    },
    /// Release a pod this Job controls that no longer matches its selector:
    /// remove this Job's owner reference and the tracking finalizer. The
    /// machine no longer tracks it.
    ReleasePod {
        /// Pod name.
        name: String,
        /// Pod UID (for a precondition on the patch).
        uid: String,
    },
    /// Write the Job's status (the status subresource), as a whole.
    UpdateStatus(JobStatus),
    /// Delete the Job with foreground propagation (its pods go first).
    DeleteJob {
        /// Why.
        reason: DeleteJobReason,
    },
}

/// One line for logs and timelines, e.g. `CreatePod pi-0-x7k2p (index 0)`,
/// `DeletePod pi-b9d4q (TooManyActive)`, `UpdateStatus active=2 ready=1
/// succeeded=3 failed=0 Complete=True/CompletionsReached`.
///
/// ```
/// use job_controller::{Action, DeleteReason};
///
/// let delete = Action::DeletePod { name: "pi-b9d4q".into(), reason: DeleteReason::Suspended };
/// assert_eq!(delete.to_string(), "DeletePod pi-b9d4q (Suspended)");
/// ```
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreatePod(p) => match p.index {
                Some(i) => write!(f, "CreatePod {} (index {i})", p.name),
                None => write!(f, "CreatePod {}", p.name),
            },
            Action::DeletePod { name, reason } => write!(f, "DeletePod {name} ({reason:?})"),
            Action::RemoveFinalizer { name, .. } => write!(f, "RemoveFinalizer {name}"),
            Action::AdoptPod { name, .. } => write!(f, "AdoptPod {name}"),
            Action::ReleasePod { name, .. } => write!(f, "ReleasePod {name}"),
            Action::UpdateStatus(s) => {
                write!(
                    f,
                    "UpdateStatus active={} ready={} succeeded={} failed={}",
                    s.active,
                    s.ready.unwrap_or(0),
                    s.succeeded,
                    s.failed
                )?;
                if let Some(t) = s.terminating {
                    write!(f, " terminating={t}")?;
                }
                if !s.completed_indexes.is_empty() {
                    write!(f, " completedIndexes={}", s.completed_indexes)?;
                }
                if let Some(failed) = s.failed_indexes.as_deref().filter(|x| !x.is_empty()) {
                    write!(f, " failedIndexes={failed}")?;
                }
                if let Some(u) = &s.uncounted_terminated_pods {
                    if !u.succeeded.is_empty() {
                        write!(f, " uncountedSucceeded={}", u.succeeded.len())?;
                    }
                    if !u.failed.is_empty() {
                        write!(f, " uncountedFailed={}", u.failed.len())?;
                    }
                }
                for c in &s.conditions {
                    write!(f, " {}={}/{}", c.type_, c.status, c.reason)?;
                }
                Ok(())
            }
            Action::DeleteJob { reason } => write!(f, "DeleteJob ({reason:?})"),
        }
    }
}

/// A pod the controller wants created.
///
/// The pod itself is rendered on demand ([`pod`](Self::pod),
/// [`into_pod`](Self::into_pod)) from the Job's template, which every
/// creation of one spec shares: asking for a pod costs the machine its name
/// and a reference count, not a deep copy of the template that a caller
/// translating to its own types (k8s-openapi, a simulator's model) would
/// throw away.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use job_controller::{Action, JobController, ValidJob, parse_job};
///
/// let job = parse_job("
/// metadata: {name: pi, namespace: default, uid: p1}
/// spec:
///   completionMode: Indexed
///   completions: 1
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{name: main, image: perl}]
/// ").unwrap();
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let mut ctl = JobController::new(ValidJob::create(job).unwrap(), now);
/// let Some(Action::CreatePod(create)) = ctl.poll_action() else { panic!() };
/// let pod = create.pod();
/// assert_eq!(pod.metadata.name, create.name());
/// assert_eq!(pod.metadata.generate_name, "pi-0-");
/// assert_eq!(create.index, Some(0));
/// assert_eq!(pod.spec.hostname.as_deref(), Some("pi-0"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PodToCreate {
    /// The pod's name, drawn as the API server would from its
    /// `generateName`.
    pub(crate) name: String,
    /// The completion index (Indexed Jobs).
    pub index: Option<i32>,
    /// Upstream creates pods in "slow start" batches of 1, 2, 4, …: a caller
    /// that wants the same protection against quota storms creates batch
    /// `n + 1` only after every pod of batch `n` was created, and reports
    /// the pods of skipped batches with `handle_create_failed`.
    pub slow_start_batch: u32,
    /// `backoffLimitPerIndex`: the failures (counted, ignored) of the
    /// index so far, written as annotations.
    pub(crate) index_failures: Option<(i32, i32)>,
    /// What every pod of the spec has in common.
    pub(crate) template: Arc<BasePod>,
}

/// The part of every created pod that does not depend on its name or index
/// (see `controller::create::base_pod`).
#[derive(Debug, PartialEq)]
pub(crate) struct BasePod {
    pub(crate) pod: Pod,
    pub(crate) job_name: String,
}

impl PodToCreate {
    /// The pod's name (what [`pod`](Self::pod) puts in `metadata.name`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full pod: metadata (name, generateName, labels, annotations,
    /// finalizer, owner reference) and spec.
    #[must_use]
    pub fn pod(&self) -> Pod {
        crate::controller::create::render(self, self.name.clone())
    }

    /// [`pod`](Self::pod), reusing the name.
    #[must_use]
    pub fn into_pod(mut self) -> Pod {
        let name = std::mem::take(&mut self.name);
        crate::controller::create::render(&self, name)
    }
}

/// Why a pod is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeleteReason {
    /// More pods are active than parallelism or the remaining completions allow.
    TooManyActive,
    /// Indexed: another active pod has the same index.
    DuplicateIndex,
    /// Indexed: the pod has no valid index, or one at or above completions.
    InvalidIndex,
    /// The Job is suspended.
    Suspended,
    /// The Job reached a terminal decision (failure or success criteria);
    /// the finalizer is kept so a failing Job counts the pod.
    JobFinishing,
}

/// Why the Job is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeleteJobReason {
    /// `ttlSecondsAfterFinished` expired.
    TtlAfterFinished,
}

/// Why the machine wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TimeoutReason {
    /// A pod-failure backoff expires and a replacement may be created.
    Backoff,
    /// `activeDeadlineSeconds` runs out.
    ActiveDeadline,
    /// `ttlSecondsAfterFinished` runs out.
    TtlAfterFinished,
}

/// The next wake-up the machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout {
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: TimeoutReason,
}

//! What the machine asks its caller to do.

use chrono::{DateTime, Utc};

use std::fmt;

use super::event::Event;
use super::pod_to_create::PodToCreate;
use crate::api::JobStatus;

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
    /// Record this Event on the Job (a `core/v1` or `events.k8s.io/v1`
    /// Event with the Job as its object). Nothing depends on it: a caller
    /// that does not publish events may drop it, and a failure to record
    /// one is not reported.
    RecordEvent(Event),
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
            Action::RecordEvent(e) => write!(f, "RecordEvent {e}"),
        }
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
    /// A request failed and the work queue's rate-limited requeue comes
    /// due (1 s, doubling with each failed reconcile in a row, at most
    /// 60 s): the reconcile asks again for what did not happen.
    Retry,
}

/// The next wake-up the machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout {
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: TimeoutReason,
}

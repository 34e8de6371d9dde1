//! What the machine asks its caller to do.

use chrono::{DateTime, Utc};

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

/// A pod the controller wants created.
#[derive(Debug, Clone, PartialEq)]
pub struct PodToCreate {
    /// The full pod: metadata (name, generateName, labels, annotations,
    /// finalizer, owner reference) and spec.
    pub pod: Pod,
    /// The completion index (Indexed Jobs).
    pub index: Option<i32>,
    /// Upstream creates pods in "slow start" batches of 1, 2, 4, …: a caller
    /// that wants the same protection against quota storms creates batch
    /// `n + 1` only after every pod of batch `n` was created, and reports
    /// the pods of skipped batches with `handle_create_failed`.
    pub slow_start_batch: u32,
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

//! What the machine knows of its requests in flight: the creations it
//! expects to see (upstream's expectations, with their place in the slow
//! start), the status write last handed out, and the requeue after a
//! failure.

use std::collections::BTreeSet;

use super::metrics::CreationReason;
use super::retry::Requeue;
use crate::api::JobStatus;

/// A creation in flight: the reconcile that asked for it and its place in
/// that reconcile's slow-start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    pub sync: u64,
    pub position: u32,
    /// The creation round's `reason` label of `job_pods_creation_total`.
    pub reason: CreationReason,
}

/// What the machine keeps to answer failure reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Failures {
    pub requeue: Requeue,
    /// The content of the latest status write handed out (or, before any,
    /// the status the Job came with): what the API holds if it succeeded.
    pub last_write: LastWrite,
    /// What the metrics counted of the last status write that landed.
    pub counted: Counts,
    /// What the metrics will count of the write in flight once it lands.
    pub write_counts: Option<Counts>,
    /// A status write was handed out and nothing else happened since: a
    /// failure of it may be reported now.
    pub write_in_flight: bool,
    /// The status the machine holds was not written (its write failed):
    /// the next reconcile writes it even if nothing changes.
    pub unwritten: bool,
    /// Pods of a finished or deleted Job whose finalizer removal failed:
    /// the requeue asks again (upstream's orphan queue).
    pub orphan_retry: BTreeSet<String>,
}

/// The latest status write handed out. Mostly it is the status the
/// machine holds (its latest reconcile's last write): then no copy is
/// kept, and one is taken only before that status changes.
#[derive(Debug, Clone, Default)]
pub(crate) enum LastWrite {
    /// The machine's status.
    #[default]
    Current,
    /// An earlier status.
    Stored(Box<JobStatus>),
}

/// What the metrics read of a written status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub succeeded: i32,
    pub failed: i32,
    /// `failedIndexes`, counted (`backoffLimitPerIndex` only).
    pub failed_indexes: u64,
    /// Finished: whether failed, and the condition's reason.
    pub finished: Option<(bool, &'static str)>,
}

//! Misuse of the machine's API. Odd but possible data (a late event, a pod
//! the machine does not know) is input, not an error.

use chrono::{DateTime, Utc};
use thiserror::Error;

/// The caller used the machine in a way it cannot honour. The machine's
/// state is unchanged when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MachineError {
    /// `now` is earlier than a time the machine already saw.
    #[error("time went backwards: now {now} is before {last}")]
    TimeWentBackwards {
        /// The time given.
        now: DateTime<Utc>,
        /// The latest time seen before.
        last: DateTime<Utc>,
    },
    /// A pod without a name.
    #[error("pod has no metadata.name")]
    UnnamedPod,
    /// A spec change names another Job.
    #[error(
        "spec change is for Job {got:?} (uid {got_uid:?}), this machine runs {expected:?} (uid {expected_uid:?})"
    )]
    OtherJob {
        /// This machine's Job.
        expected: String,
        /// Its UID.
        expected_uid: String,
        /// The Job in the change.
        got: String,
        /// Its UID.
        got_uid: String,
    },
    /// A status write failure was reported, but no status write is in
    /// flight: none was polled, or something else happened since (another
    /// action polled, another input given).
    #[error("no status write is in flight: report a failed write before polling the next action")]
    NoStatusWriteInFlight,
}

/// A snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A pod in the snapshot is not usable.
    #[error(transparent)]
    Pod(#[from] MachineError),
    /// Two pods in the snapshot share a name.
    #[error("two pods are named {0:?}")]
    DuplicatePod(String),
}

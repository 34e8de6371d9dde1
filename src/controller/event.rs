//! Kubernetes Events the Job controller records, all on the Job
//! (upstream `jm.recorder` and `RealPodControl.Recorder`, source component
//! `job-controller`). The machine asks for each with
//! [`Action::RecordEvent`](crate::Action::RecordEvent), queued where
//! upstream records it: a pod-control event once the caller reported the
//! request's outcome, the `Completed` or failure event right after the
//! status write that finishes the Job (and dropped with it if that write
//! fails), `Suspended` / `Resumed` with the reconcile that flips the
//! condition.

use std::borrow::Cow;
use std::fmt;

/// The component upstream's Job controller records its events as
/// (`v1.EventSource{Component: "job-controller"}`).
pub const EVENT_SOURCE_COMPONENT: &str = "job-controller";

/// One Event about the Job.
///
/// ```
/// use job_controller::{Event, EventType};
///
/// let e = Event::successful_create("pi-x7k2p");
/// assert_eq!((e.type_, e.reason.as_ref()), (EventType::Normal, "SuccessfulCreate"));
/// assert_eq!(e.message, "Created pod: pi-x7k2p");
/// assert_eq!(e.to_string(), "Normal SuccessfulCreate Created pod: pi-x7k2p");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// `Normal` or `Warning`.
    pub type_: EventType,
    /// The machine-readable reason (`SuccessfulCreate`, `Completed`,
    /// `BackoffLimitExceeded`, …).
    pub reason: Cow<'static, str>,
    /// The human-readable message, as upstream words it.
    pub message: String,
}

/// An Event's type (`v1.EventTypeNormal`, `v1.EventTypeWarning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Nothing wrong.
    Normal,
    /// Something the user may need to look at.
    Warning,
}

impl EventType {
    /// `"Normal"` or `"Warning"`, as the Event object's `type` field.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

impl Event {
    fn new(type_: EventType, reason: impl Into<Cow<'static, str>>, message: String) -> Event {
        Event {
            type_,
            reason: reason.into(),
            message,
        }
    }

    /// `SuccessfulCreate`: a pod the machine asked for exists.
    #[must_use]
    pub fn successful_create(pod: &str) -> Event {
        Event::new(
            EventType::Normal,
            "SuccessfulCreate",
            format!("Created pod: {pod}"),
        )
    }

    /// `FailedCreate`: the pod's creation failed with this error.
    #[must_use]
    pub fn failed_create(error: &impl fmt::Display) -> Event {
        Event::new(
            EventType::Warning,
            "FailedCreate",
            format!("Error creating: {error}"),
        )
    }

    /// `SuccessfulDelete`: a pod the machine asked to delete is being
    /// deleted.
    #[must_use]
    pub fn successful_delete(pod: &str) -> Event {
        Event::new(
            EventType::Normal,
            "SuccessfulDelete",
            format!("Deleted pod: {pod}"),
        )
    }

    /// `FailedDelete`: the pod's deletion failed with this error.
    #[must_use]
    pub fn failed_delete(error: &impl fmt::Display) -> Event {
        Event::new(
            EventType::Warning,
            "FailedDelete",
            format!("Error deleting: {error}"),
        )
    }

    pub(crate) fn suspended() -> Event {
        Event::new(EventType::Normal, "Suspended", "Job suspended".to_owned())
    }

    pub(crate) fn resumed() -> Event {
        Event::new(EventType::Normal, "Resumed", "Job resumed".to_owned())
    }

    pub(crate) fn completed() -> Event {
        Event::new(EventType::Normal, "Completed", "Job completed".to_owned())
    }

    pub(crate) fn too_many_succeeded_pods() -> Event {
        Event::new(
            EventType::Warning,
            "TooManySucceededPods",
            "Too many succeeded pods running after completion count reached".to_owned(),
        )
    }

    /// The Warning of a failed Job: the `Failed` condition's reason and
    /// message.
    pub(crate) fn job_failed(reason: &str, message: &str) -> Event {
        Event::new(EventType::Warning, reason.to_owned(), message.to_owned())
    }

    pub(crate) fn unknown_completion_mode() -> Event {
        Event::new(
            EventType::Warning,
            "UnknownCompletionMode",
            "Skipped Job sync because completion mode is unknown".to_owned(),
        )
    }

    /// Whether this is one of the events of a finished Job (recorded once
    /// its final status is written).
    pub(crate) fn is_finish(&self) -> bool {
        use crate::status::{
            REASON_BACKOFF_LIMIT_EXCEEDED, REASON_DEADLINE_EXCEEDED, REASON_FAILED_INDEXES,
            REASON_MAX_FAILED_INDEXES_EXCEEDED, REASON_POD_FAILURE_POLICY,
        };
        // Named, not inferred from the type: a Warning this list does not
        // know is not taken for a finished Job's.
        let reason = self.reason.as_ref();
        matches!(reason, "Completed" | "TooManySucceededPods")
            || (self.type_ == EventType::Warning
                && [
                    REASON_BACKOFF_LIMIT_EXCEEDED,
                    REASON_DEADLINE_EXCEEDED,
                    REASON_POD_FAILURE_POLICY,
                    REASON_MAX_FAILED_INDEXES_EXCEEDED,
                    REASON_FAILED_INDEXES,
                ]
                .contains(&reason))
    }
}

/// `Type Reason Message`, as `kubectl get events` lists them.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.type_.as_str(),
            self.reason,
            self.message
        )
    }
}

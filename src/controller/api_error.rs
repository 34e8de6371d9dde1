//! How a request the machine asked for failed, as far as upstream's Job
//! controller tells failures apart (`k8s.io/apimachinery/pkg/api/errors`).

use std::fmt;

/// A failed API request, reported with one of the machine's
/// `handle_*_failed` inputs.
///
/// Only the [`reason`](Self::reason) changes what the machine does
/// (upstream tests `IsNotFound` and the `NamespaceTerminating` cause,
/// nothing else; a timeout is a failure like any other); the [`message`](Self::message) goes into the
/// `FailedCreate` / `FailedDelete` event, as upstream's `Error creating:
/// %v`.
///
/// ```
/// use job_controller::{ApiError, ApiErrorReason};
///
/// // What kube-rs hands over in `kube::Error::Api(ErrorResponse { .. })`.
/// let e = ApiError::from_status(409, "Conflict", "the object has been modified");
/// assert_eq!(e.reason(), ApiErrorReason::Conflict);
/// assert_eq!(e.to_string(), "the object has been modified");
/// // Without a reason, the code tells.
/// assert_eq!(ApiError::from_status(404, "", "").reason(), ApiErrorReason::NotFound);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    reason: ApiErrorReason,
    message: String,
}

/// The kinds of failure upstream's Job controller treats differently
/// (`metav1.StatusReason`, or a status cause for `NamespaceTerminating`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorReason {
    /// `NotFound` (404): the object is gone already. A delete or finalizer
    /// removal of a pod that is gone is no failure upstream.
    NotFound,
    /// `Conflict` (409): the object changed since it was read (a status
    /// write with a stale `resourceVersion`).
    Conflict,
    /// `AlreadyExists` (409): a pod of that name exists.
    AlreadyExists,
    /// The namespace is being deleted (status cause
    /// `NamespaceTerminating`): upstream ignores such a creation failure,
    /// since every later creation fails the same way.
    NamespaceTerminating,
    /// Anything else (quota, admission, validation, a lost connection, …).
    Other,
}

impl ApiError {
    /// A failure of the given kind.
    #[must_use]
    pub fn new(reason: ApiErrorReason, message: impl Into<String>) -> ApiError {
        ApiError {
            reason,
            message: message.into(),
        }
    }

    /// A failure as the API server's `Status` object describes it: its
    /// `reason` string, or where that names nothing known, its HTTP
    /// `code` (as `apierrors.ReasonForError` and the `Is*` helpers do).
    /// For `NamespaceTerminating`, which is a status cause, use
    /// [`new`](Self::new).
    #[must_use]
    pub fn from_status(code: u16, reason: &str, message: impl Into<String>) -> ApiError {
        let reason = match (reason, code) {
            ("NotFound", _) | ("", 404) => ApiErrorReason::NotFound,
            ("Conflict", _) => ApiErrorReason::Conflict,
            ("AlreadyExists", _) => ApiErrorReason::AlreadyExists,
            // 409 without a reason: a conflict (`IsConflict` tests the
            // code when the reason is unknown).
            ("", 409) => ApiErrorReason::Conflict,
            _ => ApiErrorReason::Other,
        };
        ApiError::new(reason, message)
    }

    /// The kind of failure.
    #[must_use]
    pub fn reason(&self) -> ApiErrorReason {
        self.reason
    }

    /// The server's message (or the client's, for a transport failure).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

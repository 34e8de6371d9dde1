//! kube-rs glue (feature `kube`): a failed request as the machine's
//! [`ApiError`], for its `handle_*_failed` inputs.
//!
//! kube 5 is the kube-rs release on k8s-openapi 0.29, the version
//! [`crate::k8s`] converts to. The `kube_operator` example in the
//! repository is a whole operator around the machine.

use crate::{ApiError, ApiErrorReason};

/// The status cause upstream tests a creation failure for
/// (`v1.NamespaceTerminatingCause`).
const NAMESPACE_TERMINATING: &str = "NamespaceTerminating";

/// The API server's answer (`kube::Error::Api`, a `Status`) by its
/// `reason` and `code` ([`ApiError::from_status`]), or
/// [`ApiErrorReason::NamespaceTerminating`] when a cause says so;
/// anything else (a transport, TLS or decoding failure) is
/// [`ApiErrorReason::Other`] with the error's text.
///
/// ```
/// use job_controller::{ApiError, ApiErrorReason};
/// use kube::core::Status;
///
/// let err = kube::Error::Api(Status::failure("pods \"pi-x7k2p\" not found", "NotFound").with_code(404).boxed());
/// let api = ApiError::from(&err);
/// assert_eq!(api.reason(), ApiErrorReason::NotFound);
/// assert_eq!(api.message(), "pods \"pi-x7k2p\" not found");
/// ```
impl From<&::kube::Error> for ApiError {
    fn from(error: &::kube::Error) -> ApiError {
        match error {
            ::kube::Error::Api(status) => {
                let terminating = status
                    .details
                    .as_ref()
                    .is_some_and(|d| d.causes.iter().any(|c| c.reason == NAMESPACE_TERMINATING));
                if terminating {
                    ApiError::new(ApiErrorReason::NamespaceTerminating, status.message.clone())
                } else {
                    ApiError::from_status(status.code, &status.reason, status.message.clone())
                }
            }
            other => ApiError::new(ApiErrorReason::Other, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use ::kube::core::Status;
    use ::kube::core::response::{StatusCause, StatusDetails};

    use crate::{ApiError, ApiErrorReason};

    fn api(status: Status) -> ApiError {
        ApiError::from(&::kube::Error::Api(status.boxed()))
    }

    #[test]
    fn statuses_map_by_reason_then_code() {
        let cases = [
            (404, "NotFound", ApiErrorReason::NotFound),
            (404, "", ApiErrorReason::NotFound),
            (409, "Conflict", ApiErrorReason::Conflict),
            (409, "", ApiErrorReason::Conflict),
            (409, "AlreadyExists", ApiErrorReason::AlreadyExists),
            (403, "Forbidden", ApiErrorReason::Other),
            (422, "Invalid", ApiErrorReason::Other),
            (500, "InternalError", ApiErrorReason::Other),
        ];
        for (code, reason, want) in cases {
            let e = api(Status::failure("the message", reason).with_code(code));
            assert_eq!(e.reason(), want, "{code} {reason}");
            assert_eq!(e.message(), "the message");
        }
    }

    #[test]
    fn quota_failure_keeps_the_servers_message() {
        let msg = "pods \"pi-x7k2p\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10";
        let e = api(Status::failure(msg, "Forbidden").with_code(403));
        assert_eq!(e, ApiError::new(ApiErrorReason::Other, msg));
        // What the FailedCreate event says.
        assert_eq!(
            crate::Event::failed_create(&e).message,
            format!("Error creating: {msg}")
        );
    }

    #[test]
    fn namespace_terminating_is_a_cause() {
        let details = StatusDetails {
            name: "pi-x7k2p".into(),
            group: String::new(),
            kind: "pods".into(),
            uid: String::new(),
            causes: vec![StatusCause {
                reason: "NamespaceTerminating".into(),
                message: "namespace ns is being terminated".into(),
                field: "metadata.namespace".into(),
            }],
            retry_after_seconds: 0,
        };
        let e = api(
            Status::failure("unable to create new content in namespace ns", "Forbidden")
                .with_code(403)
                .with_details(details),
        );
        assert_eq!(e.reason(), ApiErrorReason::NamespaceTerminating);
    }

    #[test]
    fn other_errors_are_other_with_their_text() {
        let err = ::kube::Error::LinesCodecMaxLineLengthExceeded;
        let e = ApiError::from(&err);
        assert_eq!(e.reason(), ApiErrorReason::Other);
        assert_eq!(e.message(), err.to_string());
        assert!(!e.message().is_empty());
    }
}

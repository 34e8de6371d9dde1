//! Conversions to and from [k8s-openapi](https://docs.rs/k8s-openapi)'s
//! types (feature `k8s-openapi`), for controllers built on kube-rs.
//!
//! | this crate | k8s-openapi |
//! |---|---|
//! | [`Job`] | `api::batch::v1::Job` |
//! | [`JobStatus`] | `api::batch::v1::JobStatus` |
//! | [`Pod`] | `api::core::v1::Pod` |
//! | [`PodToCreate`] | `api::core::v1::Pod` (one way: the pod to create) |
//!
//! Each conversion goes through the object's JSON, the form both sides
//! mirror field for field, so nothing is lost: fields this crate does not
//! model travel in its `extra` maps, times as RFC 3339 text. It fails
//! ([`ConversionError`]) only where the two disagree on what a value may
//! be — a field k8s-openapi types that this crate kept as it came, with a
//! value of another type.
//!
//! The Kubernetes version (k8s-openapi's `v1_33` … `v1_37` features) is the
//! final binary's choice: this crate enables none.
//!
//! ```
//! use k8s_openapi::api::batch::v1::Job as K8sJob;
//!
//! let theirs: K8sJob = serde_json::from_str(r#"{
//!     "metadata": {"name": "pi", "namespace": "default", "uid": "u1"},
//!     "spec": {"completions": 2, "template": {
//!         "metadata": {"creationTimestamp": null},
//!         "spec": {
//!         "restartPolicy": "Never",
//!         "containers": [{"name": "pi", "image": "perl"}]}}}
//! }"#).unwrap();
//! let ours = job_controller::Job::try_from(&theirs).unwrap();
//! assert_eq!(ours.spec.completions, Some(2));
//! assert_eq!(K8sJob::try_from(&ours).unwrap(), theirs);
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PodToCreate;
use crate::api::{Job, JobStatus, Pod};

use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;

/// A value one side holds that the other cannot.
#[derive(Debug, thiserror::Error)]
#[error("cannot convert the {what} to {to}: {source}")]
#[non_exhaustive]
pub struct ConversionError {
    /// What was converted (`Job`, `JobStatus`, `Pod`).
    pub what: &'static str,
    /// Which side it was converted to (`k8s-openapi`, `job-controller`).
    pub to: &'static str,
    /// Why, as the JSON decoding says (with the field).
    #[source]
    pub source: serde_json::Error,
}

fn convert<A: Serialize, B: DeserializeOwned>(
    what: &'static str,
    to: &'static str,
    value: &A,
) -> Result<B, ConversionError> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|source| ConversionError { what, to, source })
}

/// `TryFrom` both ways, by reference and by value, for one pair of types.
macro_rules! both_ways {
    ($ours:ty, $theirs:ty, $what:literal) => {
        impl TryFrom<&$theirs> for $ours {
            type Error = ConversionError;
            fn try_from(theirs: &$theirs) -> Result<$ours, ConversionError> {
                convert($what, "job-controller", theirs)
            }
        }

        impl TryFrom<$theirs> for $ours {
            type Error = ConversionError;
            fn try_from(theirs: $theirs) -> Result<$ours, ConversionError> {
                <$ours>::try_from(&theirs)
            }
        }

        impl TryFrom<&$ours> for $theirs {
            type Error = ConversionError;
            fn try_from(ours: &$ours) -> Result<$theirs, ConversionError> {
                convert($what, "k8s-openapi", ours)
            }
        }

        impl TryFrom<$ours> for $theirs {
            type Error = ConversionError;
            fn try_from(ours: $ours) -> Result<$theirs, ConversionError> {
                <$theirs>::try_from(&ours)
            }
        }
    };
}

both_ways!(Job, batch::Job, "Job");
both_ways!(JobStatus, batch::JobStatus, "JobStatus");
both_ways!(Pod, core::Pod, "Pod");

/// The pod to create, rendered ([`PodToCreate::pod`]) as k8s-openapi's.
impl TryFrom<&PodToCreate> for core::Pod {
    type Error = ConversionError;
    fn try_from(create: &PodToCreate) -> Result<core::Pod, ConversionError> {
        convert("pod to create", "k8s-openapi", &create.pod())
    }
}

#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
mod backoff;
mod controller;
pub mod defaults;
#[doc = include_str!("docs/embedding.md")]
pub mod embedding {}
mod error;
mod indexes;
#[cfg(feature = "k8s-openapi")]
pub mod k8s;
#[cfg(feature = "kube")]
pub mod kube;
#[cfg(feature = "sim")]
pub mod sim;
#[doc = include_str!("docs/rules.md")]
pub mod rules {}
mod status;
mod success_policy;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod valid;
pub mod validation;
#[cfg(feature = "yaml")]
mod yaml;

pub use api::Job;
pub use backoff::BackoffRecord;
pub use controller::{
    Action, ApiError, ApiErrorReason, CompletionModeLabel, DeleteJobReason, DeleteReason,
    EVENT_SOURCE_COMPONENT, Event, EventType, JobController, MAX_POD_CREATE_DELETE_PER_SYNC,
    MAX_UNCOUNTED_PODS, MachineError, Metrics, PodEvent, PodToCreate, RestoreError,
    SYNC_DURATION_BUCKETS, Sample, SyncAction, SyncDurations, SyncLabels, Timeout, TimeoutReason,
};
pub use error::{Error, ErrorKind, FieldError, ParseError, ValidationErrors};
pub use valid::ValidJob;
#[cfg(feature = "yaml")]
pub use yaml::{
    FieldValidation, MAX_MANIFEST_BYTES, parse_job, parse_job_with, parse_jobs, parse_jobs_with,
    to_yaml, value_to_yaml,
};

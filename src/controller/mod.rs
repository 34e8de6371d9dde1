//! The controller: a sans-IO state machine for one Job.

mod action;
mod aggregates;
mod api_error;
mod counting;
mod create;
mod error;
mod event;
mod failure_policy;
mod failures;
mod in_flight;
mod machine;
mod metrics;
mod outbox;
mod pod;
mod pod_to_create;
mod pods;
mod retry;
mod status_indexes;
mod sync;

pub use action::{Action, DeleteJobReason, DeleteReason, Timeout, TimeoutReason};
pub use api_error::{ApiError, ApiErrorReason};
pub use error::{MachineError, RestoreError};
pub use event::{EVENT_SOURCE_COMPONENT, Event, EventType};
pub use machine::{JobController, PodEvent};
pub use metrics::{
    CompletionModeLabel, Metrics, SYNC_DURATION_BUCKETS, Sample, SyncAction, SyncDurations,
    SyncLabels,
};
pub use pod_to_create::PodToCreate;
#[cfg(feature = "sim")]
pub(crate) use pod_to_create::generated_name_base;
pub(crate) use pods::Fnv;
pub use sync::{MAX_POD_CREATE_DELETE_PER_SYNC, MAX_UNCOUNTED_PODS};

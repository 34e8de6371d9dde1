//! The controller: a sans-IO state machine for one Job.

mod action;
mod aggregates;
mod create;
mod error;
mod failure_policy;
mod machine;
mod pod;
mod pod_to_create;
mod pods;
mod status_indexes;
mod sync;

pub use action::{Action, DeleteJobReason, DeleteReason, Timeout, TimeoutReason};
pub use error::{MachineError, RestoreError};
pub use machine::{JobController, PodEvent};
pub use pod_to_create::PodToCreate;
pub(crate) use pods::Fnv;
pub use sync::{MAX_POD_CREATE_DELETE_PER_SYNC, MAX_UNCOUNTED_PODS};

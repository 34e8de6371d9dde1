//! # job-controller
//!
//! The Kubernetes Job (`batch/v1`) controller as a pure, sans-IO state machine.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod defaults;
pub mod error;
pub mod indexes;
mod valid;
pub mod validation;
mod yaml;

pub use api::Job;
pub use error::{Error, ErrorKind, FieldError, ParseError, ValidationErrors};
pub use valid::ValidJob;
pub use yaml::{MAX_MANIFEST_BYTES, parse_job, parse_jobs, to_yaml, value_to_yaml};

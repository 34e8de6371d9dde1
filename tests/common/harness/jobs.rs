//! The Jobs histories run on: the `testing` feature's small parameters
//! that admit a valid Job.

pub(crate) use job_controller::testing::{JobParams, Rule, RuleOn, SuccessRule};

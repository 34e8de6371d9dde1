//! Abstract histories (the `testing` feature's [`Step`]s: clock advances
//! and inputs that name pods by position), and which pods an input applies to.

#[allow(unused_imports)]
use super::*;

pub(crate) use job_controller::testing::{Advance, Input, Step};

/// Which pods an input can apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Candidates {
    /// Existing pods that are not finished.
    Unfinished,
    /// Existing pods without a deletion timestamp.
    NotTerminating,
    /// Existing pods without the finalizer.
    NoFinalizer,
    /// Every existing pod.
    Existing,
    /// Existing pods with an older delivered copy.
    WithHistory,
    /// Pods that are gone.
    Gone,
    /// Creations in flight.
    InFlight,
}

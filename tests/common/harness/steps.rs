//! Abstract histories: clock advances and inputs that name pods by position.

#[allow(unused_imports)]
use super::*;

/// How the clock moves before an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Advance {
    /// By this many seconds.
    Secs(u32),
    /// Exactly to the machine's `poll_timeout`, if that is in the future.
    ToTimeout,
}

/// One input. Pods are chosen by position (modulo the number of candidates)
/// among the pods the input applies to, in creation order; an input with no
/// candidate does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    /// A pending or running, unfinished pod runs (phase Running).
    Run(u8),
    /// An unfinished pod becomes ready.
    Ready(u8),
    /// An unfinished pod becomes unready (`Ready=False` now).
    Unready(u8),
    /// An unfinished pod succeeds.
    Succeed(u8),
    /// An unfinished pod fails with `EXIT_CODES[code % 4]`, with a
    /// `DisruptionTarget` condition if `disruption`.
    Fail {
        /// Which pod.
        pod: u8,
        /// Which exit code.
        code: u8,
        /// Whether the pod was disrupted (evicted, preempted).
        disruption: bool,
    },
    /// The container of an unfinished pod restarts in place (OnFailure only).
    Restart(u8),
    /// Someone deletes a pod that is not being deleted yet.
    Terminate(u8),
    /// A pod disappears from the API: one without the tracking finalizer,
    /// or (`force`) any pod.
    Gone {
        /// Which pod.
        pod: u8,
        /// Any pod, even one that still has the finalizer.
        force: bool,
    },
    /// The last machine input is delivered again.
    Duplicate,
    /// An older copy of an existing pod is delivered.
    Stale {
        /// Which pod.
        pod: u8,
        /// Which copy (older ones first).
        age: u8,
    },
    /// A copy of a pod that is gone is delivered.
    Late {
        /// Which pod.
        pod: u8,
        /// Which copy.
        age: u8,
    },
    /// A creation in flight fails.
    CreateFail(u8),
    /// A creation in flight succeeds.
    Ack(u8),
    /// From now on creations are held in flight (`true`) or acknowledged at
    /// once (`false`).
    Hold(bool),
    /// `spec.suspend` is set (or cleared).
    Suspend(bool),
    /// `spec.parallelism` becomes this.
    Parallelism(u8),
    /// `handle_timeout`.
    Timeout,
}

/// One step of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Step {
    /// Clock movement first.
    pub advance: Advance,
    /// Then this input.
    pub input: Input,
}

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

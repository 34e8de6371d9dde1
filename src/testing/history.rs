//! Histories: clock advances and inputs that name pods by position, so a
//! history is meaningful for any Job and shrinks well.

use proptest::collection::vec;
use proptest::prelude::*;

/// The exit codes failing pods exit with (`Input::Fail::code` picks one):
/// the values pod failure policy rules from [`super::rule`] match on.
pub const EXIT_CODES: [i32; 4] = [1, 2, 42, 137];

/// How the clock moves before an input.
// Exhaustive on purpose: a driver that runs histories (this crate's own
// harness among them) should fail to compile when an input is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Advance {
    /// By this many seconds.
    Secs(u32),
    /// Exactly to the machine's `poll_timeout`, if that is in the future.
    ToTimeout,
}

/// One input. Pods are chosen by position (modulo the number of candidates)
/// among the pods the input applies to; an input with no candidate does
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
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
pub struct Step {
    /// Clock movement first.
    pub advance: Advance,
    /// Then this input.
    pub input: Input,
}

/// How the clock moves: often not at all, sometimes a little, sometimes a
/// lot (up to ~700 s), sometimes exactly to the machine's wake-up.
pub fn advance() -> impl Strategy<Value = Advance> {
    prop_oneof![
        4 => Just(Advance::Secs(0)),
        3 => (1..=15u32).prop_map(Advance::Secs),
        2 => (15..=700u32).prop_map(Advance::Secs),
        2 => Just(Advance::ToTimeout),
    ]
}

/// One input, mostly pod events.
pub fn input() -> impl Strategy<Value = Input> {
    let sel = any::<u8>;
    prop_oneof![
        3 => sel().prop_map(Input::Run),
        2 => sel().prop_map(Input::Ready),
        1 => sel().prop_map(Input::Unready),
        5 => sel().prop_map(Input::Succeed),
        5 => (sel(), 0..4u8, prop::bool::weighted(0.25))
            .prop_map(|(pod, code, disruption)| Input::Fail { pod, code, disruption }),
        1 => sel().prop_map(Input::Restart),
        2 => sel().prop_map(Input::Terminate),
        2 => (sel(), prop::bool::weighted(0.2)).prop_map(|(pod, force)| Input::Gone { pod, force }),
        1 => Just(Input::Duplicate),
        1 => (sel(), sel()).prop_map(|(pod, age)| Input::Stale { pod, age }),
        1 => (sel(), sel()).prop_map(|(pod, age)| Input::Late { pod, age }),
        1 => sel().prop_map(Input::CreateFail),
        2 => sel().prop_map(Input::Ack),
        1 => any::<bool>().prop_map(Input::Hold),
        1 => any::<bool>().prop_map(Input::Suspend),
        1 => (0..=3u8).prop_map(Input::Parallelism),
        3 => Just(Input::Timeout),
    ]
}

/// One step.
pub fn step() -> impl Strategy<Value = Step> {
    (advance(), input()).prop_map(|(advance, input)| Step { advance, input })
}

/// A history of up to `max_len` steps.
pub fn steps(max_len: usize) -> impl Strategy<Value = Vec<Step>> {
    vec(step(), 0..=max_len)
}

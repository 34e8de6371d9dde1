//! Proptest strategies for histories to drive through [`super::harness`]:
//! the `testing` feature's small valid Jobs and histories
//! (`job_controller::testing::{job_params, steps, …}`), plus where the
//! clock starts (near either end of chrono's range for a few) and the
//! clock moves such a start needs.
#![allow(dead_code)]

use job_controller::ValidJob;
use proptest::collection::vec;
use proptest::prelude::*;

pub(crate) use super::harness::{Advance, JobParams, Start, Step};
pub(crate) use job_controller::testing::{advance, input, job_params, steps};

/// A Job `ValidJob::create` accepted (its `Debug` is short: the parameters
/// it was built from say everything).
#[derive(Clone)]
pub(crate) struct Admitted(pub ValidJob);

impl std::fmt::Debug for Admitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValidJob(..)")
    }
}

/// A small Job that `ValidJob::create` accepts, with its parameters.
pub(crate) fn valid_job() -> impl Strategy<Value = (JobParams, Admitted)> {
    job_params().prop_filter_map("ValidJob::create rejects it", |p| {
        p.admit().ok().map(|v| (p, Admitted(v)))
    })
}

/// Where the clock starts: mostly [`t0`](super::harness::t0); about one
/// history in 16 within seconds, minutes or days of either end of chrono's
/// range (year 262143 or -262143).
pub(crate) fn start() -> impl Strategy<Value = Start> {
    let offset = || prop_oneof![0..=120u32, 120..=3_600u32, 3_600..=5 * 86_400u32];
    prop_oneof![
        30 => Just(Start::T0),
        1 => offset().prop_map(Start::BeforeMax),
        1 => offset().prop_map(Start::AfterMin),
    ]
}

/// How the clock moves in a history that starts near an end of the range:
/// as usual, or by hours to days, or as far as it goes (the harness
/// saturates at `MAX_UTC`), so the clock runs up against the end.
pub(crate) fn far_advance() -> impl Strategy<Value = Advance> {
    prop_oneof![
        6 => advance(),
        2 => (3_600..=400_000u32).prop_map(Advance::Secs),
        1 => Just(Advance::Secs(u32::MAX)),
    ]
}

/// A history of up to `max_len` steps from `start`.
pub(crate) fn steps_from(start: Start, max_len: usize) -> BoxedStrategy<Vec<Step>> {
    if start.is_extreme() {
        let step = (far_advance(), input()).prop_map(|(advance, input)| Step { advance, input });
        vec(step, 0..=max_len).boxed()
    } else {
        steps(max_len).boxed()
    }
}

/// A Job, where its clock starts, a history for it and a step at which to
/// restore (for the restore-equivalence check; taken modulo the length
/// plus one, which means never).
pub(crate) fn history(
    max_len: usize,
) -> impl Strategy<Value = ((JobParams, Admitted), Start, Vec<Step>, usize)> {
    (
        valid_job(),
        start().prop_flat_map(move |s| (Just(s), steps_from(s, max_len))),
        any::<usize>(),
    )
        .prop_map(|(job, (start, steps), restore)| (job, start, steps, restore))
}

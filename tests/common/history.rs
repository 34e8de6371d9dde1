//! Proptest strategies for small valid Jobs in every mode and policy, and
//! for histories of inputs to drive them through [`super::harness`].
//!
//! Jobs are built as [`JobParams`] (then `Job` values) from small pieces —
//! NonIndexed with or without completions (0 and parallelism 0 included),
//! Indexed, backoffLimit 0..3, backoffLimitPerIndex with maxFailedIndexes,
//! pod failure policies (FailJob / Ignore / Count / FailIndex on exit codes
//! and on `DisruptionTarget`), success policies, suspend,
//! activeDeadlineSeconds, ttlSecondsAfterFinished, podReplacementPolicy,
//! restartPolicy OnFailure — and only those `ValidJob::create` accepts are
//! kept.
#![allow(dead_code)]

use job_controller::ValidJob;
use job_controller::api::{PodFailurePolicyAction, PodReplacementPolicy};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::subsequence;

pub(crate) use super::harness::{
    Advance, EXIT_CODES, Input, JobParams, Rule, RuleOn, Start, Step, SuccessRule,
};

/// A pod failure policy rule over the exit codes the histories produce.
pub(crate) fn rule(per_index: bool) -> impl Strategy<Value = Rule> {
    let action = if per_index {
        prop_oneof![
            Just(PodFailurePolicyAction::FailJob),
            Just(PodFailurePolicyAction::Ignore),
            Just(PodFailurePolicyAction::Count),
            Just(PodFailurePolicyAction::FailIndex),
        ]
        .boxed()
    } else {
        prop_oneof![
            Just(PodFailurePolicyAction::FailJob),
            Just(PodFailurePolicyAction::Ignore),
            Just(PodFailurePolicyAction::Count),
        ]
        .boxed()
    };
    let on = prop_oneof![
        2 => (any::<bool>(), subsequence(EXIT_CODES.to_vec(), 1..=2), any::<bool>())
            .prop_map(|(not_in, values, named)| RuleOn::ExitCodes { not_in, values, named }),
        1 => Just(RuleOn::DisruptionTarget),
    ];
    (action, on).prop_map(|(action, on)| Rule { action, on })
}

/// A success policy rule for `completions` indexes.
pub(crate) fn success_rule(completions: i32) -> impl Strategy<Value = SuccessRule> {
    let c = completions.max(1);
    prop_oneof![
        (0..c).prop_map(|i| SuccessRule {
            indexes: Some(i.to_string()),
            count: None
        }),
        (0..c).prop_map(|i| SuccessRule {
            indexes: Some(format!("0-{i}")),
            count: None
        }),
        (1..=c).prop_map(|n| SuccessRule {
            indexes: None,
            count: Some(n)
        }),
        (0..c).prop_map(|i| SuccessRule {
            indexes: Some(format!("0-{i}")),
            count: Some(1)
        }),
    ]
}

/// Raw parameters of a small Job; may not validate.
pub(crate) fn job_params() -> impl Strategy<Value = JobParams> {
    // 0 (legal, and trivial: nothing runs) less often than 1..=3.
    let small = || prop_oneof![1 => Just(0i32), 5 => 1..=3i32];
    let shape = prop_oneof![
        // NonIndexed, work queue or counted.
        2 => (option::of(small()), option::of(small())).prop_map(|(c, p)| (false, c, p)),
        // Indexed (needs completions).
        2 => (small(), option::of(small())).prop_map(|(c, p)| (true, Some(c), p)),
    ];
    (shape, option::of(0..=3i32), any::<u64>())
        .prop_flat_map(
            |((indexed, completions, parallelism), backoff_limit, seed)| {
                let per_index = indexed && seed % 3 == 0;
                let c = completions.unwrap_or(1);
                (
                    Just((indexed, completions, parallelism, backoff_limit)),
                    if per_index {
                        option::of(0..=2i32).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    if per_index {
                        option::of(0..=c.max(0)).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    option::weighted(0.35, vec(rule(per_index), 1..=3)),
                    if indexed {
                        option::weighted(0.25, vec(success_rule(c), 1..=2)).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    prop::bool::weighted(0.15),
                    option::weighted(0.25, prop_oneof![1..=30i64, 30..=2000i64]),
                    option::weighted(0.25, prop_oneof![Just(0), 1..=1000i32]),
                    option::weighted(
                        0.3,
                        prop_oneof![
                            Just(PodReplacementPolicy::Failed),
                            Just(PodReplacementPolicy::TerminatingOrFailed)
                        ],
                    ),
                    prop::bool::weighted(0.15),
                )
            },
        )
        .prop_map(
            |(
                (indexed, completions, parallelism, backoff_limit),
                backoff_limit_per_index,
                max_failed_indexes,
                pod_failure_policy,
                success_policy,
                suspend,
                active_deadline_seconds,
                ttl_seconds_after_finished,
                pod_replacement_policy,
                on_failure,
            )| {
                JobParams {
                    indexed,
                    completions,
                    parallelism,
                    backoff_limit,
                    // maxFailedIndexes needs backoffLimitPerIndex.
                    max_failed_indexes: backoff_limit_per_index.and(max_failed_indexes),
                    backoff_limit_per_index,
                    // A pod failure policy needs restartPolicy Never.
                    on_failure: on_failure && pod_failure_policy.is_none(),
                    pod_failure_policy,
                    success_policy,
                    suspend,
                    active_deadline_seconds,
                    ttl_seconds_after_finished,
                    pod_replacement_policy,
                }
            },
        )
}

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

/// How the clock moves: often not at all, sometimes a little, sometimes a
/// lot (up to ~700 s), sometimes exactly to the machine's wake-up.
pub(crate) fn advance() -> impl Strategy<Value = Advance> {
    prop_oneof![
        4 => Just(Advance::Secs(0)),
        3 => (1..=15u32).prop_map(Advance::Secs),
        2 => (15..=700u32).prop_map(Advance::Secs),
        2 => Just(Advance::ToTimeout),
    ]
}

/// One input, mostly pod events.
pub(crate) fn input() -> impl Strategy<Value = Input> {
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
pub(crate) fn step() -> impl Strategy<Value = Step> {
    (advance(), input()).prop_map(|(advance, input)| Step { advance, input })
}

/// A history of up to `max_len` steps.
pub(crate) fn steps(max_len: usize) -> impl Strategy<Value = Vec<Step>> {
    vec(step(), 0..=max_len)
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

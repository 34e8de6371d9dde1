//! Random histories (`tests/common/history.rs`) driven through the checked
//! harness (`tests/common/harness/`): every invariant of the harness after
//! every machine input and every step, determinism (the same history twice
//! gives the same trace) and restore-equivalence (a machine rebuilt with
//! `restore_with_backoff` at a random quiescent step acts like the original
//! from then on).
//!
//! About one history in 16 starts near either end of chrono's range (see
//! `history::start`).
//!
//! `JOB_PROPTEST_CASES` sets the number of histories (default 4000);
//! `JOB_PROPTEST_STEPS` the maximum history length (default 60);
//! `JOB_PROPTEST_SEED` the seed (default: a fixed one; `random`; or the
//! case seed a failure prints with its replay command, see
//! `common::seeds`).

mod common;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use common::harness::{Harness, Start, Stats};
use common::history::history;
use proptest::test_runner::TestCaseError;

static HISTORIES: AtomicU64 = AtomicU64::new(0);
static STEPS: AtomicU64 = AtomicU64::new(0);
static INPUTS: AtomicU64 = AtomicU64::new(0);
static RESTORES: AtomicU64 = AtomicU64::new(0);
static COMPARED: AtomicU64 = AtomicU64::new(0);
static BACKOFF_CHECKED: AtomicU64 = AtomicU64::new(0);
static BACKOFF_TIGHT: AtomicU64 = AtomicU64::new(0);
static COMPLETE: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static NEAR_MAX: AtomicU64 = AtomicU64::new(0);
static NEAR_MIN: AtomicU64 = AtomicU64::new(0);
/// Histories per Job feature: Indexed, backoffLimitPerIndex, podFailurePolicy,
/// successPolicy, suspend, activeDeadlineSeconds, TTL, podReplacementPolicy
/// Failed, restartPolicy OnFailure, work queue, completions 0, parallelism 0.
static FEATURES: [AtomicU64; 12] = [const { AtomicU64::new(0) }; 12];
const FEATURE_NAMES: [&str; 12] = [
    "Indexed",
    "backoffLimitPerIndex",
    "podFailurePolicy",
    "successPolicy",
    "suspend",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "podReplacementPolicy=Failed",
    "OnFailure",
    "work queue",
    "completions=0",
    "parallelism=0",
];

fn count_features(p: &common::harness::JobParams) {
    let has = [
        p.indexed,
        p.backoff_limit_per_index.is_some(),
        p.pod_failure_policy.is_some(),
        p.success_policy.is_some(),
        p.suspend,
        p.active_deadline_seconds.is_some(),
        p.ttl_seconds_after_finished.is_some(),
        p.pod_replacement_policy == Some(job_controller::api::PodReplacementPolicy::Failed),
        p.on_failure,
        p.completions.is_none(),
        p.completions == Some(0),
        p.parallelism == Some(0),
    ];
    for (counter, on) in FEATURES.iter().zip(has) {
        if on {
            counter.fetch_add(1, Relaxed);
        }
    }
}

fn run(
    job: &job_controller::ValidJob,
    start: Start,
    steps: &[common::harness::Step],
    restore_at: usize,
) -> Result<Harness, String> {
    let mut h = Harness::new_at(job.clone(), start.at())?;
    for (i, s) in steps.iter().enumerate() {
        if i >= restore_at && !h.has_shadow() {
            h.restore_now()?;
        }
        h.step(s)?;
    }
    Ok(h)
}

fn count(stats: Stats, h: &Harness) {
    HISTORIES.fetch_add(1, Relaxed);
    STEPS.fetch_add(stats.steps, Relaxed);
    INPUTS.fetch_add(stats.inputs, Relaxed);
    COMPARED.fetch_add(stats.compared, Relaxed);
    BACKOFF_CHECKED.fetch_add(stats.backoff_checked, Relaxed);
    BACKOFF_TIGHT.fetch_add(stats.backoff_tight, Relaxed);
    if h.has_shadow() {
        RESTORES.fetch_add(1, Relaxed);
    }
    let s = h.ctl().status();
    if s.true_condition(&job_controller::api::JobConditionType::Complete)
        .is_some()
    {
        COMPLETE.fetch_add(1, Relaxed);
    } else if s
        .true_condition(&job_controller::api::JobConditionType::Failed)
        .is_some()
    {
        FAILED.fetch_add(1, Relaxed);
    }
}

#[test]
fn random_histories_keep_every_invariant() {
    let (mut runner, max_steps, seeds) =
        common::history_runner("random_histories_keep_every_invariant");
    let result = runner.run(
        &history(max_steps),
        |((params, job), start, steps, restore_at)| {
            let restore_at = restore_at % (steps.len() + 1);
            let a = run(&job.0, start, &steps, restore_at).map_err(common::violation)?;
            let b = run(&job.0, start, &steps, restore_at).map_err(common::violation)?;
            if a.trace() != b.trace() {
                let at = a
                    .trace()
                    .iter()
                    .zip(b.trace())
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.trace().len().min(b.trace().len()));
                return Err(TestCaseError::fail(format!(
                    "not deterministic: traces differ at line {at}:\n {:?}\n {:?}",
                    a.trace().get(at),
                    b.trace().get(at)
                )));
            }
            count(a.stats(), &a);
            count_features(&params);
            match start {
                Start::T0 => {}
                Start::BeforeMax(_) => _ = NEAR_MAX.fetch_add(1, Relaxed),
                Start::AfterMin(_) => _ = NEAR_MIN.fetch_add(1, Relaxed),
            }
            Ok(())
        },
    );
    eprintln!(
        "invariants: {} histories, {} steps, {} machine inputs ({} Complete, {} Failed); \
         restore-equivalence on {} histories over {} inputs; each history run twice for determinism",
        HISTORIES.load(Relaxed),
        STEPS.load(Relaxed),
        INPUTS.load(Relaxed),
        COMPLETE.load(Relaxed),
        FAILED.load(Relaxed),
        RESTORES.load(Relaxed),
        COMPARED.load(Relaxed),
    );
    let features: Vec<String> = FEATURE_NAMES
        .iter()
        .zip(&FEATURES)
        .map(|(n, c)| format!("{n} {}", c.load(Relaxed)))
        .collect();
    eprintln!("invariants: histories per feature: {}", features.join(", "));
    eprintln!(
        "invariants: {} histories started near MAX_UTC, {} near MIN_UTC",
        NEAR_MAX.load(Relaxed),
        NEAR_MIN.load(Relaxed)
    );
    eprintln!(
        "invariants: {} creations checked against a pending backoff, {} of them within 1 s of its expiry",
        BACKOFF_CHECKED.load(Relaxed),
        BACKOFF_TIGHT.load(Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}\n{}", seeds.report().unwrap_or_default());
    }
}

// ---- minimal reproducers of machine bugs the random histories found --------

mod reproducers {
    use chrono::{DateTime, Duration, Utc};
    use job_controller::api::{
        ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodPhase, PodStatus,
    };
    use job_controller::{Action, JobController, PodEvent};

    use super::common::harness::{JobParams, t0};

    fn at(s: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(s)
    }

    /// Drains the actions; the pods asked for, as the API creates them.
    fn created(ctl: &mut JobController, now: DateTime<Utc>) -> Vec<Pod> {
        let mut pods = Vec::new();
        while let Some(a) = ctl.poll_action() {
            if let Action::CreatePod(p) = a {
                let mut pod = p.into_pod();
                pod.metadata.uid = format!("uid-{}", pod.metadata.name);
                pod.metadata.creation_timestamp = Some(now);
                pod.status = Some(PodStatus {
                    phase: Some(PodPhase::Pending),
                    ..PodStatus::default()
                });
                pods.push(pod);
            }
        }
        pods
    }

    fn finish(pod: &Pod, phase: PodPhase, code: i32, now: DateTime<Utc>) -> Pod {
        let mut pod = pod.clone();
        pod.status = Some(PodStatus {
            phase: Some(phase),
            container_statuses: vec![ContainerStatus {
                name: "main".into(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: code,
                        finished_at: Some(now),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }],
            ..PodStatus::default()
        });
        pod
    }

    fn observe(ctl: &mut JobController, now: DateTime<Utc>, pod: Pod) {
        ctl.handle_pod(now, PodEvent::Observed(&pod)).unwrap();
        while ctl.poll_action().is_some() {}
    }

    /// Was a bug (fixed in 9e6e942): the backoff wake-up of an earlier
    /// reconcile survived the reconcile that fails the Job (it does not run
    /// manageJob), so a finished Job still asked to be woken, at a time
    /// already past.
    #[test]
    fn a_failed_job_asks_for_no_stale_backoff_wake_up() {
        let job = JobParams {
            parallelism: Some(2),
            completions: Some(2),
            backoff_limit: Some(1),
            ..JobParams::default()
        }
        .admit()
        .unwrap();
        let mut ctl = JobController::new(job, at(0));
        let pods = created(&mut ctl, at(0));
        assert_eq!(pods.len(), 2);
        for p in &pods {
            observe(&mut ctl, at(0), p.clone());
        }
        // The first pod fails: a replacement waits 10 s.
        observe(
            &mut ctl,
            at(0),
            finish(&pods[0], PodPhase::Failed, 1, at(0)),
        );
        assert_eq!(ctl.poll_timeout().map(|t| t.at), Some(at(10)));
        // 30 s later (nobody called handle_timeout) the second one fails:
        // 2 failures > backoffLimit 1, the Job is Failed.
        observe(
            &mut ctl,
            at(30),
            finish(&pods[1], PodPhase::Failed, 1, at(30)),
        );
        assert!(ctl.is_finished(), "{:?}", ctl.status());
        assert_eq!(
            ctl.poll_timeout(),
            None,
            "a finished Job without TTL waits for nothing (and never for the past: now is {})",
            at(30)
        );
    }

    /// Was a bug (same root as above; fixed in 1cc94b9): the backoff
    /// wake-up survived the reconcile that decides the failure
    /// (`FailureTarget`) while a pod is still terminating, so
    /// `poll_timeout` lay in the past (check `[past-timeout]`).
    #[test]
    fn a_failing_job_asks_for_no_past_wake_up() {
        let job = JobParams {
            active_deadline_seconds: Some(30),
            ..JobParams::default()
        }
        .admit()
        .unwrap();
        let mut ctl = JobController::new(job, at(0));
        let pods = created(&mut ctl, at(0));
        observe(&mut ctl, at(0), pods[0].clone());
        // Someone deletes the pod: under TerminatingOrFailed it is a failure
        // at once, and its replacement waits 10 s.
        let mut terminating = pods[0].clone();
        terminating.metadata.deletion_timestamp = Some(at(0));
        observe(&mut ctl, at(0), terminating.clone());
        assert_eq!(ctl.poll_timeout().map(|t| t.at), Some(at(10)));
        // At the deadline (nobody called handle_timeout) the still
        // terminating pod reports in: FailureTarget/DeadlineExceeded.
        observe(&mut ctl, at(30), terminating);
        assert!(
            ctl.status()
                .true_condition(&job_controller::api::JobConditionType::FailureTarget)
                .is_some(),
            "{:?}",
            ctl.status()
        );
        let wake = ctl.poll_timeout();
        assert!(
            wake.is_none_or(|t| t.at >= at(30)),
            "poll_timeout {wake:?} is in the past (now {})",
            at(30)
        );
    }

    /// Was a bug (fixed in 9e6e942): the reconcile that completes a Job
    /// still armed the activeDeadlineSeconds wake-up (computed before the
    /// success), so a Complete Job asked to be woken for its deadline.
    #[test]
    fn a_complete_job_asks_for_no_deadline_wake_up() {
        let job = JobParams {
            active_deadline_seconds: Some(100),
            ..JobParams::default()
        }
        .admit()
        .unwrap();
        let mut ctl = JobController::new(job, at(0));
        let pods = created(&mut ctl, at(0));
        observe(&mut ctl, at(0), pods[0].clone());
        observe(
            &mut ctl,
            at(50),
            finish(&pods[0], PodPhase::Succeeded, 0, at(50)),
        );
        assert!(ctl.is_finished(), "{:?}", ctl.status());
        assert_eq!(
            ctl.poll_timeout(),
            None,
            "a finished Job without TTL waits for nothing"
        );
    }
}

// ---- findings of the rule groups added with the seeded runs ------------------
//
// Each history below is the shrunk failure of one rule group (the check's
// id in brackets), kept as a regression test: each failed on the main of
// 2026-11-29 and passes since the fix named in its doc (the issue "Exact
// under every history"). Run them with
// `cargo test --features yaml,sim,reference,testing --test invariants exact_histories`.

mod exact_histories {
    use super::common::harness::{
        Advance, Input, JobParams, Start, Step, SuccessRule, run_history,
    };

    /// Runs `steps` (seconds to advance, input) from `start`; panics with
    /// the harness's report on the first violation.
    fn expect_clean(params: JobParams, start: Start, steps: &[(u32, Input)]) {
        let steps: Vec<(Advance, Input)> = steps
            .iter()
            .map(|&(s, input)| (Advance::Secs(s), input))
            .collect();
        expect_steps_from(params, start, &steps);
    }

    /// [`expect_clean`] from `t0` with any clock movement.
    fn expect_steps(params: JobParams, steps: &[(Advance, Input)]) {
        expect_steps_from(params, Start::T0, steps);
    }

    fn expect_steps_from(params: JobParams, start: Start, steps: &[(Advance, Input)]) {
        let job = params.admit().expect("a valid Job");
        let steps: Vec<Step> = steps
            .iter()
            .map(|&(advance, input)| Step { advance, input })
            .collect();
        if let Err(e) = run_history(&job, start, &steps) {
            panic!("{params:?} from {start:?}\n{steps:?}\n{e}");
        }
    }

    /// `[own-writes-validate]` on `status.startTime`: a resumed Job gets a
    /// new startTime (upstream resets it so the deadline counts from the
    /// resume) and `validate_status_update` rejects the write ("field is
    /// immutable for unsuspended job once set"): the validation's false
    /// rejection. Fixed in `validation/status.rs` (upstream's
    /// `RejectStartTimeUpdateForUnsuspendedJob` is off on a resume).
    #[test]
    fn a_resume_writes_a_start_time_validation_accepts() {
        expect_clean(
            JobParams::default(),
            Start::T0,
            &[(1, Input::Suspend(true)), (0, Input::Suspend(false))],
        );
    }

    /// `[own-writes-validate]` on `status.ready`: while a replacement waits
    /// for the failure backoff the machine writes `active: 0` (upstream's
    /// quirk) but keeps counting the ready pod, `ready: 1 > active: 0`,
    /// which validation rejects ("cannot set more ready pods than active").
    /// Fixed: the API server refuses that write upstream, so the machine
    /// models the refusal (`sync.rs`, `rejected_by_api_server`).
    #[test]
    fn a_backoff_writes_no_more_ready_than_active_pods() {
        expect_clean(
            JobParams {
                indexed: true,
                completions: Some(3),
                parallelism: Some(2),
                ..JobParams::default()
            },
            Start::T0,
            &[
                (0, Input::Ready(1)),
                (0, Input::Succeed(0)),
                (
                    0,
                    Input::Fail {
                        pod: 1,
                        code: 0,
                        disruption: false,
                    },
                ),
            ],
        );
    }

    /// The harness's backoff tracker (found by a 40 000-history hunt, case
    /// seed `cc 248aadba…`): a terminating pod counts as failed, but the
    /// write that would record it is refused (ready > active while the
    /// backoff holds), so nothing is recorded; the pod then succeeds and is
    /// counted as a success, which clears the backoff record — upstream's
    /// `newBackoffRecord` sees it among the new succeeded pods. The tracker
    /// had taken the failure as recorded and expected a 20 s delay where
    /// the record holds one failure (10 s). The machine was right; the
    /// tracker now folds every finish no write has recorded into the next
    /// write, and drops one whose finalizer goes without a write.
    #[test]
    fn a_success_after_a_refused_write_clears_the_backoff() {
        expect_steps(
            JobParams {
                indexed: true,
                completions: Some(3),
                ..JobParams::default()
            },
            &[
                (Advance::Secs(0), Input::Succeed(0)),
                (
                    Advance::Secs(0),
                    Input::Fail {
                        pod: 0,
                        code: 0,
                        disruption: false,
                    },
                ),
                (Advance::Secs(0), Input::Suspend(true)),
                (Advance::Secs(0), Input::Terminate(0)),
                (Advance::Secs(0), Input::Parallelism(2)),
                (Advance::Secs(6), Input::Run(0)),
                (Advance::Secs(4), Input::Suspend(false)),
                (Advance::Secs(0), Input::Ready(20)),
                (Advance::Secs(0), Input::Terminate(47)),
                (Advance::Secs(0), Input::Succeed(47)),
                (
                    Advance::Secs(0),
                    Input::Fail {
                        pod: 0,
                        code: 0,
                        disruption: false,
                    },
                ),
                (Advance::ToTimeout, Input::Run(0)),
                (Advance::Secs(0), Input::Suspend(false)),
            ],
        );
    }

    /// The harness's backoff tracker again (case seed `cc d3e761e7…`): a
    /// failed pod whose write is refused is then forced away with its
    /// finalizer, so no sync ever lists it again and upstream never counts
    /// it. The tracker kept it pending and folded it into the next write
    /// (two failures, 20 s) where the record holds one (10 s). The machine
    /// was right; the tracker forgets a pending finish when its pod goes.
    #[test]
    fn a_failed_pod_forced_away_before_it_is_recorded_adds_no_backoff() {
        expect_clean(
            JobParams {
                parallelism: Some(3),
                ..JobParams::default()
            },
            Start::T0,
            &[
                (0, Input::Ready(0)),
                (
                    0,
                    Input::Fail {
                        pod: 83,
                        code: 0,
                        disruption: false,
                    },
                ),
                (
                    0,
                    Input::Gone {
                        pod: 11,
                        force: true,
                    },
                ),
                (0, Input::Terminate(0)),
                (10, Input::Run(0)),
            ],
        );
    }

    /// `[no-panic]`: a Job created at `DateTime::<Utc>::MAX_UTC` whose pod
    /// fails: the backoff wake-up `now + remaining` overflows
    /// (src/controller/sync.rs, "`DateTime + TimeDelta` overflowed").
    /// Fixed: saturating time (`src/time.rs`); no wake-up past the end.
    #[test]
    fn a_failure_at_the_end_of_time_does_not_panic() {
        expect_clean(
            JobParams::default(),
            Start::BeforeMax(0),
            &[(
                0,
                Input::Fail {
                    pod: 0,
                    code: 0,
                    disruption: false,
                },
            )],
        );
    }

    /// `[delete-once]`: a work queue whose pod succeeded is suspended: the
    /// machine deletes both running pods (Suspended) and decides success;
    /// when the first deletion is observed it asks again to delete the
    /// second pod (JobFinishing), whose deletion it has asked for but not
    /// yet observed. Fixed: a pod whose `DeletePod` is out is not asked
    /// again (`SyncInput::delete_requested`).
    #[test]
    fn each_pod_is_deleted_once() {
        expect_clean(
            JobParams {
                parallelism: Some(0),
                ..JobParams::default()
            },
            Start::T0,
            &[
                (0, Input::Parallelism(3)),
                (0, Input::Succeed(0)),
                (0, Input::Suspend(true)),
            ],
        );
    }

    /// `[own-writes-validate]` on `status.failedIndexes` (the older range
    /// check `completedIndexes … and failedIndexes … overlap` finds it
    /// too): Indexed, completions 3, parallelism 3, backoffLimitPerIndex 1,
    /// creations held in flight. Index 2's pod is deleted (a failure; its
    /// replacement is asked for after the 10 s backoff) and then succeeds
    /// while terminating: index 2 is completed. The replacement then
    /// arrives and fails, and the machine marks index 2 failed as well
    /// (FailureTarget/FailedIndexes): "failedIndexes and completedIndexes
    /// overlap at index: 2". Found by the events fuzz target
    /// (`fuzz_regressions::a_completed_index_never_fails`). Fixed: an index
    /// has one outcome, the first recorded.
    #[test]
    fn a_completed_index_never_fails() {
        let job = JobParams {
            indexed: true,
            completions: Some(3),
            parallelism: Some(3),
            backoff_limit_per_index: Some(1),
            success_policy: Some(vec![SuccessRule {
                indexes: Some("0-1".into()),
                count: None,
            }]),
            ..JobParams::default()
        };
        let fail = |pod| Input::Fail {
            pod,
            code: 0,
            disruption: false,
        };
        expect_steps(
            job,
            &[
                (Advance::Secs(0), Input::Hold(true)),
                // Someone deletes index 2's pod.
                (Advance::Secs(0), Input::Terminate(2)),
                // To the backoff's end: the replacement is asked for (held).
                (Advance::ToTimeout, Input::Hold(true)),
                (Advance::Secs(0), Input::Succeed(0)),
                // Index 2's old pod succeeds while terminating.
                (Advance::Secs(0), Input::Succeed(1)),
                (Advance::Secs(0), fail(0)),
                (Advance::Secs(0), Input::Ack(0)),
                // The replacement fails.
                (Advance::Secs(0), fail(0)),
            ],
        );
    }

    /// `[precise-wake-up]` (ActiveDeadline): a work queue with
    /// `activeDeadlineSeconds: 675` meets its success criteria
    /// (SuccessCriteriaMet) while a pod someone deleted still terminates;
    /// the machine still asks to be woken at the deadline, where it finds
    /// nothing to do (FORMAT.md `wakeAt`: "a deadline of a Job that already
    /// has SuccessCriteriaMet" is the example of a wrong wake-up). Fixed:
    /// wake-ups are planned after the reconcile (`plan_wake_ups`).
    #[test]
    fn a_decided_job_waits_for_no_deadline() {
        expect_clean(
            JobParams {
                parallelism: Some(3),
                active_deadline_seconds: Some(675),
                ..JobParams::default()
            },
            Start::T0,
            &[
                (0, Input::Succeed(0)),
                (0, Input::Terminate(2)),
                (0, Input::Succeed(0)),
            ],
        );
    }

    /// `[precise-wake-up:pending]` (ActiveDeadline): a suspended Indexed
    /// Job with `activeDeadlineSeconds: 1` is resumed while creations are
    /// held in flight; after a second (no-op) spec update the machine asks
    /// for the deadline wake-up at 1 s, but a reconcile there does nothing
    /// (it defers decisions until it has observed its own creation, as
    /// upstream's expectations do). Either the wake-up or the deferral is
    /// wrong: upstream checks `pastActiveDeadline` whatever the
    /// expectations. Fixed: the deadline wake-up is asked only when a
    /// reconcile there has work (`deadline_has_work`); the observation of
    /// the creation reconciles anyway.
    #[test]
    fn a_deadline_wake_up_with_a_creation_in_flight_acts() {
        expect_clean(
            JobParams {
                indexed: true,
                completions: Some(1),
                suspend: true,
                active_deadline_seconds: Some(1),
                ..JobParams::default()
            },
            Start::T0,
            &[
                (0, Input::Hold(true)),
                (0, Input::Suspend(false)),
                (0, Input::Suspend(false)),
            ],
        );
    }
}

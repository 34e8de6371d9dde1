//! Timelines on the seed manifests (`shared/manifests`): each test drives
//! one Job through [`common::driver::Driver`] and asserts the outcome the
//! upstream controller gives (`shared/spec/SEMANTICS.md`).

mod common;

use common::driver::{Driver, admit, at, t0};
use job_controller::api::{
    ConditionStatus, ContainerState, ContainerStateTerminated, ContainerStatus, JobCondition,
    JobConditionType, JobStatus, OwnerReference, Pod, PodPhase, PodStatus, keys,
};
use job_controller::{
    Action, ApiError, ApiErrorReason, DeleteReason, JobController, MachineError, PodEvent,
    TimeoutReason,
};

macro_rules! manifest {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/manifests/",
            $file
        ))
    };
}

const PI: &str = manifest!("pi.yaml");
const PI_WITH_TIMEOUT: &str = manifest!("pi-with-timeout.yaml");
const HELLO: &str = manifest!("hello-job.yaml");
const BACKUP: &str = manifest!("backup.yaml");
const SUSPENDED: &str = manifest!("suspended.yaml");
const PARALLEL: &str = manifest!("parallel-5-of-10.yaml");
const WORK_QUEUE: &str = manifest!("work-queue.yaml");
const INDEXED: &str = manifest!("indexed-shards.yaml");
const POD_FAILURE_POLICY: &str = manifest!("pod-failure-policy.yaml");
const SUCCESS_POLICY: &str = manifest!("success-policy.yaml");

/// Conditions as `Type=Status/Reason`, in order.
fn conds(s: &JobStatus) -> Vec<String> {
    s.conditions
        .iter()
        .map(|c| format!("{}={}/{}", c.type_, c.status, c.reason))
        .collect()
}

fn cond(s: &JobStatus, t: JobConditionType) -> &JobCondition {
    s.conditions
        .iter()
        .find(|c| c.type_ == t)
        .unwrap_or_else(|| panic!("no {t} condition in {:?}", conds(s)))
}

fn no_uncounted(s: &JobStatus) -> bool {
    s.uncounted_terminated_pods
        .as_ref()
        .is_none_or(|u| u.succeeded.is_empty() && u.failed.is_empty())
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.annotations.get(key).map(String::as_str)
}

// ---- pi.yaml ---------------------------------------------------------------

#[test]
fn pi_runs_one_pod_and_completes_when_it_succeeds() {
    let mut d = Driver::from_manifest(PI);
    assert_eq!(d.created().len(), 1);
    assert_eq!(d.status().active, 1);
    assert_eq!(d.status().start_time, Some(t0()));
    let p1 = d.p(1);
    assert!(p1.starts_with("pi-"), "generateName pi-: {p1}");

    d.run(&p1, 3);
    assert!(!d.ctl().is_finished());
    d.succeed(&p1, 42);

    let s = d.status();
    assert_eq!((s.active, s.succeeded, s.failed), (0, 1, 0));
    assert_eq!(
        conds(s),
        [
            "SuccessCriteriaMet=True/CompletionsReached",
            "Complete=True/CompletionsReached"
        ]
    );
    let complete = cond(s, JobConditionType::Complete);
    assert_eq!(
        complete.message,
        "Reached expected number of succeeded pods"
    );
    assert_eq!(complete.last_transition_time, Some(at(42)));
    assert_eq!(s.completion_time, Some(at(42)));
    assert!(no_uncounted(s));
    assert!(d.ctl().is_finished());
    assert_eq!(d.wake(), None, "no TTL, nothing to wake for");
    assert!(
        d.pod(&p1).metadata.finalizers.is_empty(),
        "finalizer removed"
    );

    d.advance_to(100_000);
    assert_eq!(d.created().len(), 1);
}

// ---- pi-with-timeout.yaml --------------------------------------------------

/// Every pod is Pending for 7 s (image pull), then Running, and fails 1 s
/// later. Upstream's backoff counts from the failed pod's finish time
/// (container `finishedAt`): creations at 0, 8+10=18, 26+20=46, 54+40=94;
/// the next would be at 102+80, past the 100 s deadline.
#[test]
fn pi_with_timeout_fails_on_the_deadline_before_the_backoff_limit() {
    let mut d = Driver::from_manifest(PI_WITH_TIMEOUT);
    for n in 1..=3usize {
        let pod = d.p(n);
        let c = d.created()[n - 1].at;
        d.run(&pod, c + 7);
        d.fail(&pod, c + 8, 1);
        assert_eq!(d.status().failed, n as i32);
        assert!(d.status().conditions.is_empty(), "{:?}", conds(d.status()));
        let delay = 10i64 << (n - 1);
        assert_eq!(d.wake(), Some((c + 8 + delay, TimeoutReason::Backoff)));
        d.advance_to(c + 8 + delay - 1);
        assert_eq!(
            d.created().len(),
            n,
            "no replacement before the backoff expires"
        );
        d.advance_to(c + 8 + delay);
        assert_eq!(d.created().len(), n + 1);
    }
    assert_eq!(d.creation_times(), [0, 18, 46, 94]);
    let p4 = d.p(4);
    assert_eq!(d.wake(), Some((100, TimeoutReason::ActiveDeadline)));

    d.advance_to(100);
    let step = d.last_step().clone();
    assert_eq!(step.at, 100);
    assert_eq!(step.deleted, [(p4.clone(), DeleteReason::JobFinishing)]);
    let s = d.status();
    assert_eq!(conds(s), ["FailureTarget=True/DeadlineExceeded"]);
    let target = cond(s, JobConditionType::FailureTarget);
    assert_eq!(target.last_transition_time, Some(at(100)));
    assert_eq!(
        target.message,
        "Job was active longer than specified deadline"
    );
    assert_eq!(
        s.failed, 4,
        "the killed pod counts as failed: still below 6"
    );
    assert_eq!(s.terminating, Some(1));
    assert!(!d.ctl().is_finished(), "Failed waits for the killed pod");

    d.gone(&p4, 100);
    let s = d.status();
    assert_eq!(
        conds(s),
        [
            "FailureTarget=True/DeadlineExceeded",
            "Failed=True/DeadlineExceeded"
        ]
    );
    let failed = cond(s, JobConditionType::Failed);
    assert_eq!(failed.last_transition_time, Some(at(100)));
    assert_eq!(
        failed.message,
        "Job was active longer than specified deadline"
    );
    assert_eq!(s.completion_time, None);
    assert_eq!((s.failed, s.active, s.terminating), (4, 0, Some(0)));
    assert!(d.written().iter().all(|w| w.failed < 6));

    d.advance_to(10_000);
    assert_eq!(d.created().len(), 4);
}

/// The same Job when every pod fails the instant it is created: creations
/// at 0, 10, 30, 70 (the next would be at 150). No pod is running at the
/// deadline, so nothing has to be killed and FailureTarget and Failed are
/// written in the same reconcile.
#[test]
fn pi_with_timeout_fails_at_once_when_no_pod_is_running_at_the_deadline() {
    let mut d = Driver::from_manifest(PI_WITH_TIMEOUT);
    for n in 1..=4usize {
        let pod = d.p(n);
        let c = d.created()[n - 1].at;
        d.run(&pod, c);
        d.fail(&pod, c, 1);
        if n < 4 {
            d.advance_to(c + (10i64 << (n - 1)));
        }
    }
    assert_eq!(d.creation_times(), [0, 10, 30, 70]);
    assert_eq!(d.wake(), Some((100, TimeoutReason::ActiveDeadline)));
    d.advance_to(100);
    let s = d.status();
    assert_eq!(
        conds(s),
        [
            "FailureTarget=True/DeadlineExceeded",
            "Failed=True/DeadlineExceeded"
        ]
    );
    assert!(
        s.conditions
            .iter()
            .all(|c| c.last_transition_time == Some(at(100)))
    );
    assert!(d.last_step().deleted.is_empty());
    assert_eq!(s.failed, 4);
    d.advance_to(1_000);
    assert_eq!(d.created().len(), 4);
}

// ---- hello-job.yaml: backoffLimit 6 ----------------------------------------

/// Pods fail the moment they start (finish time = creation time), so the
/// gaps between creations are exactly the backoff delays.
fn always_failing_hello() -> Driver {
    let mut d = Driver::from_manifest(HELLO);
    for n in 1..=7usize {
        let pod = d.p(n);
        let c = d.created()[n - 1].at;
        d.run(&pod, c);
        d.fail(&pod, c, 1);
        if n < 7 {
            let delay = 10i64 << (n - 1);
            assert_eq!(
                d.wake(),
                Some((c + delay, TimeoutReason::Backoff)),
                "after p{n}"
            );
            d.advance_to(c + delay - 1);
            assert_eq!(d.created().len(), n);
            d.advance_to(c + delay);
            assert_eq!(d.created().len(), n + 1);
        }
    }
    d
}

#[test]
fn always_failing_pods_exhaust_backoff_limit_after_seven_pods() {
    let mut d = always_failing_hello();
    assert_eq!(d.creation_times(), [0, 10, 30, 70, 150, 310, 630]);
    let s = d.status();
    assert_eq!(s.failed, 7);
    assert_eq!(
        conds(s),
        [
            "FailureTarget=True/BackoffLimitExceeded",
            "Failed=True/BackoffLimitExceeded"
        ]
    );
    let failed = cond(s, JobConditionType::Failed);
    assert_eq!(
        failed.message,
        "Job has reached the specified backoff limit"
    );
    assert_eq!(failed.last_transition_time, Some(at(630)));
    assert_eq!(s.completion_time, None);
    assert_eq!(d.wake(), None);
    d.advance_to(100_000);
    assert_eq!(d.created().len(), 7);
}

// ---- backup.yaml: backoffLimit 0, TTL one day --------------------------------

fn backup_failing_at(t: i64) -> Driver {
    let mut d = Driver::from_manifest(BACKUP);
    let p1 = d.p(1);
    d.run(&p1, 2);
    d.fail(&p1, t, 2);
    d
}

#[test]
fn backup_with_backoff_limit_zero_fails_on_the_first_failure() {
    let mut d = backup_failing_at(60);
    let s = d.status();
    assert_eq!(s.failed, 1);
    assert_eq!(
        conds(s),
        [
            "FailureTarget=True/BackoffLimitExceeded",
            "Failed=True/BackoffLimitExceeded"
        ]
    );
    assert_eq!(
        cond(s, JobConditionType::Failed).last_transition_time,
        Some(at(60))
    );
    d.advance_to(3_600);
    assert_eq!(d.created().len(), 1);
}

#[test]
fn ttl_deletes_the_job_exactly_a_day_after_it_finished() {
    let mut d = backup_failing_at(60);
    let expiry = 60 + 86_400;
    assert_eq!(d.wake(), Some((expiry, TimeoutReason::TtlAfterFinished)));
    d.advance_to(expiry - 1);
    assert_eq!(d.delete_job_at(), None, "not before the TTL");
    d.advance_to(expiry);
    assert_eq!(d.delete_job_at(), Some(expiry));
    d.advance_to(expiry + 86_400);
    let asks = d.trace().iter().filter(|a| a.contains("DeleteJob")).count();
    assert_eq!(asks, 1, "DeleteJob is asked once");
    assert_eq!(d.wake(), None);

    // The same on the success path: counted from the Complete transition.
    let mut d = Driver::from_manifest(BACKUP);
    let p1 = d.p(1);
    d.succeed(&p1, 500);
    assert_eq!(
        d.wake(),
        Some((500 + 86_400, TimeoutReason::TtlAfterFinished))
    );
    d.advance_to(500 + 86_399);
    assert_eq!(d.delete_job_at(), None);
    d.advance_to(500 + 86_400);
    assert_eq!(d.delete_job_at(), Some(500 + 86_400));
}

// ---- suspended.yaml ----------------------------------------------------------

#[test]
fn suspended_job_creates_nothing_until_resumed() {
    let mut d = Driver::from_manifest(SUSPENDED);
    assert!(d.created().is_empty());
    assert_eq!(d.status().start_time, None);
    let s = cond(d.status(), JobConditionType::Suspended);
    assert_eq!(
        (s.status.clone(), s.reason.as_str()),
        (ConditionStatus::True, "JobSuspended")
    );
    assert_eq!(d.wake(), None);

    d.advance_to(1_000_000);
    assert!(d.created().is_empty());
    assert_eq!(d.status().start_time, None);

    d.patch_spec(1_000_000, |spec| spec.suspend = Some(false));
    assert_eq!(d.created().len(), 3, "parallelism 3");
    assert!(d.created().iter().all(|c| c.at == 1_000_000));
    let s = d.status();
    assert_eq!(s.active, 3);
    assert_eq!(s.start_time, Some(at(1_000_000)));
    let resumed = cond(s, JobConditionType::Suspended);
    assert_eq!(resumed.status, ConditionStatus::False);
    assert_eq!(resumed.reason, "JobResumed");
    assert_eq!(resumed.message, "Job resumed");
    assert_eq!(resumed.last_transition_time, Some(at(1_000_000)));
}

// ---- parallel-5-of-10.yaml -------------------------------------------------

#[test]
fn parallel_runs_five_at_a_time_until_ten_succeeded() {
    let mut d = Driver::from_manifest(PARALLEL);
    assert_eq!(d.created().len(), 5);
    let mut t = 0;
    let mut succeeded = 0;
    while !d.ctl().is_finished() {
        assert!(succeeded < 10, "still running after 10 successes");
        let pod = d.active()[0].clone();
        t += 10;
        d.run(&pod, t);
        d.succeed(&pod, t + 5);
        succeeded += 1;
        let s = d.status();
        assert_eq!(s.succeeded, succeeded);
        let want = (10 - succeeded).min(5);
        assert_eq!(
            d.active().len(),
            want as usize,
            "after {succeeded} successes"
        );
        assert_eq!(s.active, want);
        assert!(d.steps().iter().all(|st| st.created.len() <= 5));
    }
    assert_eq!(succeeded, 10);
    assert_eq!(d.created().len(), 10);
    let s = d.status();
    assert_eq!(
        conds(s),
        [
            "SuccessCriteriaMet=True/CompletionsReached",
            "Complete=True/CompletionsReached"
        ]
    );
    assert_eq!(s.completion_time, Some(at(t + 5)));
}

// ---- work-queue.yaml -------------------------------------------------------

#[test]
fn work_queue_stops_creating_after_the_first_success() {
    let mut d = Driver::from_manifest(WORK_QUEUE);
    let pods = d.created_names();
    assert_eq!(pods.len(), 10);
    for p in &pods {
        d.run(p, 1);
    }
    d.succeed(&pods[0], 10);
    assert_eq!(d.status().succeeded, 1);
    assert_eq!(d.status().active, 9);
    assert!(d.status().conditions.is_empty());
    d.advance_to(1_000);
    assert_eq!(d.created().len(), 10, "no new pods after the first success");

    for (i, p) in pods[1..9].iter().enumerate() {
        d.succeed(p, 1_000 + i as i64);
        assert!(!d.ctl().is_finished());
    }
    // The last worker dies (e.g. its node went away): it finishes all the same.
    d.fail(&pods[9], 2_000, 1);
    let s = d.status();
    assert_eq!((s.succeeded, s.failed, s.active), (9, 1, 0));
    assert_eq!(
        conds(s),
        [
            "SuccessCriteriaMet=True/CompletionsReached",
            "Complete=True/CompletionsReached"
        ]
    );
    assert_eq!(s.completion_time, Some(at(2_000)));
    assert_eq!(d.created().len(), 10);
}

// ---- indexed-shards.yaml ----------------------------------------------------

fn check_indexed_pod(pod: &Pod, i: i32) {
    let index = i.to_string();
    assert_eq!(
        annotation(pod, keys::JOB_COMPLETION_INDEX),
        Some(index.as_str())
    );
    assert_eq!(
        pod.metadata
            .labels
            .get(keys::JOB_COMPLETION_INDEX)
            .map(String::as_str),
        Some(index.as_str())
    );
    assert_eq!(pod.metadata.generate_name, format!("shard-processor-{i}-"));
    assert!(pod.metadata.name.starts_with(&pod.metadata.generate_name));
    assert_eq!(
        pod.spec.hostname.as_deref(),
        Some(format!("shard-processor-{i}").as_str())
    );
    for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
        let env = c
            .env
            .iter()
            .find(|e| e.name == keys::JOB_COMPLETION_INDEX_ENV)
            .unwrap_or_else(|| panic!("container {} has no JOB_COMPLETION_INDEX", c.name));
        let text = format!("{:?}", env.value_from);
        assert!(
            text.contains("metadata.labels['batch.kubernetes.io/job-completion-index']"),
            "{text}"
        );
        assert!(
            c.env.iter().any(|e| e.name == "SHARD_INDEX"),
            "template env kept"
        );
    }
    assert!(
        pod.metadata
            .finalizers
            .iter()
            .any(|f| f == keys::JOB_TRACKING_FINALIZER)
    );
    assert_eq!(
        pod.metadata.owner_references,
        [OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: "shard-processor".into(),
            uid: "shard-processor-uid".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    );
    assert_eq!(
        pod.metadata
            .labels
            .get(keys::CONTROLLER_UID_LABEL)
            .map(String::as_str),
        Some("shard-processor-uid")
    );
}

#[test]
fn indexed_shards_run_lowest_indexes_first_five_at_a_time() {
    let mut d = Driver::from_manifest(INDEXED);
    assert_eq!(d.created_indexes(), [0, 1, 2, 3, 4]);
    assert_eq!(d.status().completed_indexes, "");

    // (index that succeeds, completedIndexes after, index created next)
    let plan = [
        (0, "0", Some(5)),
        (1, "0,1", Some(6)),
        (2, "0-2", Some(7)),
        (4, "0-2,4", Some(8)),
        (3, "0-4", Some(9)),
        (6, "0-4,6", None),
        (5, "0-6", None),
        (9, "0-6,9", None),
        (7, "0-7,9", None),
        (8, "0-9", None),
    ];
    let mut t = 0;
    for (i, completed, next) in plan {
        t += 10;
        let pod = d.latest_for_index(i);
        d.run(&pod, t - 5);
        d.succeed(&pod, t);
        assert_eq!(d.status().completed_indexes, completed);
        let made: Vec<i32> = d.last_step().created.iter().filter_map(|c| c.1).collect();
        assert_eq!(
            made,
            next.into_iter().collect::<Vec<_>>(),
            "after index {i}"
        );
        assert!(d.active().len() <= 5);
    }
    assert_eq!(d.created_indexes(), (0..10).collect::<Vec<_>>());
    for c in d.created() {
        check_indexed_pod(&c.pod, c.index.expect("indexed"));
    }
    let s = d.status();
    assert_eq!(s.succeeded, 10);
    assert_eq!(
        conds(s),
        [
            "SuccessCriteriaMet=True/CompletionsReached",
            "Complete=True/CompletionsReached"
        ]
    );
    assert_eq!(s.completion_time, Some(at(t)));
}

// ---- pod-failure-policy.yaml -----------------------------------------------

fn pod_failure_policy_run() -> Driver {
    let mut d = Driver::from_manifest(POD_FAILURE_POLICY);
    assert_eq!(d.created_indexes(), (0..8).collect::<Vec<_>>());
    for c in d.created() {
        assert_eq!(annotation(&c.pod, keys::JOB_INDEX_FAILURE_COUNT), Some("0"));
        assert_eq!(
            annotation(&c.pod, keys::JOB_INDEX_IGNORED_FAILURE_COUNT),
            None
        );
    }
    for i in 0..8 {
        let pod = d.latest_for_index(i);
        d.run(&pod, 1);
    }

    // Exit 42 of trainer: FailIndex, at once, no retry.
    d.fail(&d.latest_for_index(0), 10, 42);
    assert_eq!(d.status().failed_indexes.as_deref(), Some("0"));
    assert_eq!(d.status().failed, 1);
    assert!(d.last_step().created.is_empty());

    // A disruption: ignored, replaced after the per-index backoff (10 s).
    d.fail_with_condition(&d.latest_for_index(1), 20, 137, "DisruptionTarget");
    assert_eq!(d.status().failed, 1, "ignored failures are not counted");
    assert_eq!(d.status().failed_indexes.as_deref(), Some("0"));
    assert_eq!(d.wake(), Some((30, TimeoutReason::Backoff)));
    d.advance_to(29);
    assert_eq!(d.created().len(), 8);
    d.advance_to(30);
    assert_eq!(d.created().len(), 9);
    let r1 = d.created()[8].clone();
    assert_eq!((r1.index, r1.at), (Some(1), 30));
    assert_eq!(
        annotation(&r1.pod, keys::JOB_INDEX_FAILURE_COUNT),
        Some("0")
    );
    assert_eq!(
        annotation(&r1.pod, keys::JOB_INDEX_IGNORED_FAILURE_COUNT),
        Some("1")
    );
    assert_eq!(d.status().failed, 1);
    d.run(&r1.name, 31);

    // Exit 1 on index 2: counted, retried twice (10 s, then 20 s later).
    d.fail(&d.latest_for_index(2), 40, 1);
    assert_eq!(
        d.status().failed,
        1,
        "finalizer kept until the replacement exists"
    );
    assert_eq!(d.wake(), Some((50, TimeoutReason::Backoff)));
    d.advance_to(50);
    let r2 = d.latest_for_index(2);
    assert_eq!(d.created().last().map(|c| c.at), Some(50));
    assert_eq!(
        annotation(d.pod(&r2), keys::JOB_INDEX_FAILURE_COUNT),
        Some("1")
    );
    assert_eq!(d.status().failed, 2);
    d.run(&r2, 51);
    d.fail(&r2, 60, 1);
    assert_eq!(d.wake(), Some((80, TimeoutReason::Backoff)));
    d.advance_to(80);
    let r3 = d.latest_for_index(2);
    assert_eq!(d.created().last().map(|c| c.at), Some(80));
    assert_eq!(
        annotation(d.pod(&r3), keys::JOB_INDEX_FAILURE_COUNT),
        Some("2")
    );
    assert_eq!(d.status().failed, 3);
    d.run(&r3, 81);
    d.fail(&r3, 90, 1);
    assert_eq!(d.status().failed_indexes.as_deref(), Some("0,2"));
    assert_eq!(d.status().failed, 4);
    assert!(d.last_step().created.is_empty());
    d.advance_to(95);
    assert_eq!(d.created().len(), 11, "a failed index is never retried");

    // Two more FailIndex exits: 4 failed indexes > maxFailedIndexes 3.
    d.fail(&d.latest_for_index(3), 100, 42);
    assert_eq!(d.status().failed_indexes.as_deref(), Some("0,2,3"));
    assert!(
        d.status().conditions.is_empty(),
        "3 failed indexes are allowed"
    );
    d.fail(&d.latest_for_index(4), 110, 42);
    let s = d.status().clone();
    assert_eq!(s.failed_indexes.as_deref(), Some("0,2-4"));
    assert_eq!(conds(&s), ["FailureTarget=True/MaxFailedIndexesExceeded"]);
    assert_eq!(
        cond(&s, JobConditionType::FailureTarget).message,
        "Job has exceeded the specified maximal number of failed indexes"
    );
    let mut killed: Vec<String> = d.last_step().deleted.iter().map(|x| x.0.clone()).collect();
    killed.sort();
    let mut running: Vec<String> = [1, 5, 6, 7].map(|i| d.latest_for_index(i)).to_vec();
    running.sort();
    assert_eq!(killed, running);
    assert!(
        d.last_step()
            .deleted
            .iter()
            .all(|x| x.1 == DeleteReason::JobFinishing)
    );
    // 6 failed pods, plus the 4 it kills (counted on the failure path).
    assert_eq!(s.failed, 10);

    for (n, pod) in running.iter().enumerate() {
        assert!(!d.ctl().is_finished());
        d.gone(pod, 111 + n as i64);
    }
    d
}

#[test]
fn pod_failure_policy_fail_index_ignore_and_per_index_retries() {
    let d = pod_failure_policy_run();
    let s = d.status();
    assert_eq!(
        conds(s),
        [
            "FailureTarget=True/MaxFailedIndexesExceeded",
            "Failed=True/MaxFailedIndexesExceeded"
        ]
    );
    assert_eq!(
        cond(s, JobConditionType::Failed).last_transition_time,
        Some(at(114))
    );
    assert_eq!(s.failed, 10);
    assert_eq!(s.succeeded, 0);
    assert_eq!(d.created().len(), 11);
}

// ---- success-policy.yaml ----------------------------------------------------

#[test]
fn success_policy_leader_success_completes_the_job() {
    let mut d = Driver::from_manifest(SUCCESS_POLICY);
    assert_eq!(d.created_indexes(), [0, 1, 2, 3, 4]);
    for i in 0..5 {
        let pod = d.latest_for_index(i);
        d.run(&pod, 1);
    }
    let leader = d.latest_for_index(0);
    d.succeed(&leader, 10);
    let s = d.status().clone();
    assert_eq!(conds(&s), ["SuccessCriteriaMet=True/SuccessPolicy"]);
    assert_eq!(
        cond(&s, JobConditionType::SuccessCriteriaMet).message,
        "Matched rules at index 0"
    );
    assert_eq!(s.completed_indexes, "0");
    let workers: Vec<String> = (1..5).map(|i| d.latest_for_index(i)).collect();
    let mut deleted: Vec<String> = d.last_step().deleted.iter().map(|x| x.0.clone()).collect();
    deleted.sort();
    let mut want = workers.clone();
    want.sort();
    assert_eq!(deleted, want);
    assert!(
        d.last_step()
            .deleted
            .iter()
            .all(|x| x.1 == DeleteReason::JobFinishing)
    );
    assert!(!d.ctl().is_finished());

    for (n, w) in workers.iter().enumerate() {
        assert!(!d.ctl().is_finished(), "Complete waits for every worker");
        d.gone(w, 20 + n as i64);
    }
    let s = d.status();
    assert_eq!(
        conds(s),
        [
            "SuccessCriteriaMet=True/SuccessPolicy",
            "Complete=True/SuccessPolicy"
        ]
    );
    let complete = cond(s, JobConditionType::Complete);
    assert_eq!(complete.message, "Matched rules at index 0");
    assert_eq!(s.completion_time, Some(at(23)));
    assert_eq!(
        (s.succeeded, s.failed),
        (1, 0),
        "killed workers are not failures"
    );
    assert_eq!(d.created().len(), 5);
}

// ---- properties of the machine ----------------------------------------------

#[test]
fn same_scenario_twice_gives_identical_actions() {
    let a = pod_failure_policy_run();
    let b = pod_failure_policy_run();
    assert_eq!(a.trace(), b.trace());
    assert!(a.trace().len() > 50);
    let a = always_failing_hello();
    let b = always_failing_hello();
    assert_eq!(a.trace(), b.trace());
    assert_eq!(format!("{:?}", a.written()), format!("{:?}", b.written()));
}

fn counters(d: &Driver) -> (i32, i32, i32) {
    let s = d.status();
    (s.succeeded, s.failed, s.active)
}

#[test]
fn pod_events_are_counted_exactly_once() {
    let mut d = Driver::from_manifest(PARALLEL);
    let p1 = d.p(1);
    d.run(&p1, 1);
    d.succeed(&p1, 5);
    assert_eq!(counters(&d), (1, 0, 5));
    assert_eq!(d.created().len(), 6);

    // Duplicates, and a stale copy that still has the finalizer.
    d.resend(&p1, 6);
    d.resend(&p1, 6);
    let mut stale = d.pod(&p1).clone();
    stale
        .metadata
        .finalizers
        .push(keys::JOB_TRACKING_FINALIZER.into());
    d.observe(stale.clone(), 7);
    assert_eq!(counters(&d), (1, 0, 5));
    assert!(d.last_step().created.is_empty() && d.last_step().status_writes == 0);

    // Succeeded, then Failed (and Running) for the same pod.
    let mut flipped = stale.clone();
    flipped.status.as_mut().unwrap().phase = Some(PodPhase::Failed);
    d.observe(flipped.clone(), 8);
    let mut rerun = stale.clone();
    rerun.status.as_mut().unwrap().phase = Some(PodPhase::Running);
    d.observe(rerun, 8);
    assert_eq!(counters(&d), (1, 0, 5));
    assert_eq!(d.created().len(), 6);

    // Events after Gone.
    d.gone(&p1, 9);
    d.observe(stale, 10);
    d.observe(flipped, 10);
    assert_eq!(counters(&d), (1, 0, 5));
    assert_eq!(d.created().len(), 6);

    // The same for a failure: Failed, duplicates, then Succeeded, Gone, late.
    let p2 = d.p(2);
    d.fail(&p2, 20, 1);
    assert_eq!(counters(&d).0, 1);
    assert_eq!(counters(&d).1, 1);
    let mut stale2 = d.pod(&p2).clone();
    stale2
        .metadata
        .finalizers
        .push(keys::JOB_TRACKING_FINALIZER.into());
    d.resend(&p2, 21);
    d.observe(stale2.clone(), 21);
    let mut won = stale2.clone();
    won.status.as_mut().unwrap().phase = Some(PodPhase::Succeeded);
    d.observe(won.clone(), 22);
    d.gone(&p2, 23);
    d.observe(stale2, 24);
    d.observe(won, 24);
    let s = d.status();
    assert_eq!((s.succeeded, s.failed), (1, 1));
    assert!(no_uncounted(s));
}

#[test]
fn failed_create_frees_the_slot_and_is_asked_again_under_a_new_name() {
    // One pod: the failed creation is asked for again at the work queue's
    // requeue, 1 s later (upstream `DefaultJobApiBackOff`).
    let mut d = Driver::hold_creations(admit(PI));
    let first = d.in_flight();
    assert_eq!(first.len(), 1);
    d.advance_to(5);
    d.ctl_mut().handle_timeout(at(5)).unwrap();
    d.settle("spurious timeout");
    assert!(
        d.last_step().created.is_empty(),
        "an in-flight pod is not asked again"
    );
    d.fail_create(&first[0], 6);
    assert!(
        d.in_flight().is_empty(),
        "not asked again before the requeue"
    );
    assert_eq!(d.status().active, 0, "the failed creation is not active");
    assert_eq!(d.wake(), Some((7, TimeoutReason::Retry)));
    d.advance_to(7);
    let again = d.in_flight();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], first[0]);
    d.ack_create(&again[0], 7);
    assert_eq!(d.status().active, 1);
    assert_eq!(d.created().len(), 2);

    // Five in flight: one fails; the replacement waits until the other
    // creations are observed (upstream expectations), then comes once.
    let mut d = Driver::hold_creations(admit(PARALLEL));
    let batch = d.in_flight();
    assert_eq!(batch.len(), 5);
    d.fail_create(&batch[2], 1);
    assert!(d.last_step().created.is_empty());
    for (n, name) in [&batch[0], &batch[1], &batch[3]].into_iter().enumerate() {
        d.ack_create(name, 2 + n as i64);
        assert!(
            d.last_step().created.is_empty(),
            "creations still in flight"
        );
    }
    d.ack_create(&batch[4], 10);
    assert_eq!(d.last_step().created.len(), 1, "exactly the one slot");
    let replacement = d.in_flight();
    assert_eq!(replacement.len(), 1);
    assert!(!batch.contains(&replacement[0]), "a new name");
    d.ack_create(&replacement[0], 11);
    assert_eq!(d.status().active, 5);
    d.advance_to(100);
    assert_eq!(d.created().len(), 6, "never more than needed");
}

fn drain(ctl: &mut JobController) -> Vec<String> {
    std::iter::from_fn(|| ctl.poll_action())
        .map(|a| format!("{a:?}"))
        .collect()
}

fn some_pod(name: &str) -> Pod {
    Pod {
        metadata: job_controller::api::ObjectMeta {
            name: name.into(),
            uid: name.into(),
            ..Default::default()
        },
        status: Some(PodStatus {
            phase: Some(PodPhase::Failed),
            container_statuses: vec![ContainerStatus {
                name: "transcode".into(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 1,
                        finished_at: Some(at(0)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn time_going_backwards_is_refused_and_changes_nothing() {
    let job = admit(PARALLEL);
    let mut ctl = JobController::new(job.clone(), at(100));
    // Leave the first actions queued: they must survive the refused calls.
    let twin = ctl.clone();
    let first_pod = match twin.clone().poll_action() {
        Some(Action::CreatePod(p)) => p.name().to_owned(),
        other => panic!("expected a CreatePod, got {other:?}"),
    };
    let early = at(50);
    let backwards = |r: Result<(), MachineError>| match r {
        Err(MachineError::TimeWentBackwards { now, last }) => {
            assert_eq!((now, last), (early, at(100)));
        }
        other => panic!("expected TimeWentBackwards, got {other:?}"),
    };
    backwards(ctl.handle_timeout(early));
    backwards(ctl.handle_pod(early, PodEvent::Observed(&some_pod(&first_pod))));
    backwards(ctl.handle_pod(
        early,
        PodEvent::Gone {
            name: &first_pod.clone(),
        },
    ));
    let quota = ApiError::new(ApiErrorReason::Other, "exceeded quota");
    backwards(ctl.handle_create_failed(early, &first_pod, &quota));
    backwards(ctl.handle_delete_failed(early, &first_pod, &quota));
    backwards(ctl.handle_finalizer_removal_failed(early, &first_pod, &quota));
    backwards(ctl.handle_status_write_failed(early, &quota));
    let mut scaled = job.job().clone();
    scaled.spec.parallelism = Some(1);
    backwards(ctl.handle_spec_change(early, job.update(scaled).unwrap()));
    backwards(ctl.handle_job_deleted(early));

    assert_eq!(ctl.status(), twin.status());
    assert_eq!(ctl.poll_timeout(), twin.poll_timeout());
    assert_eq!(ctl.pod_count(), twin.pod_count());
    assert_eq!(ctl.backoff_record(), twin.backoff_record());
    assert_eq!(ctl.is_finished(), twin.is_finished());
    let mut twin = twin;
    let (got, want) = (drain(&mut ctl), drain(&mut twin));
    assert_eq!(got, want);
    assert_eq!(got.iter().filter(|a| a.starts_with("CreatePod")).count(), 5);

    // The same instant is not backwards.
    ctl.handle_timeout(at(100)).unwrap();

    // Mid-run, through the driver: a failure reported in the past is refused.
    let mut d = Driver::from_manifest(PARALLEL);
    let p1 = d.p(1);
    d.succeed(&p1, 30);
    let before = d.status().clone();
    let wake = d.wake();
    let p2 = d.pod(&d.p(2)).clone();
    let r = d.ctl_mut().handle_pod(at(10), PodEvent::Observed(&p2));
    assert!(
        matches!(r, Err(MachineError::TimeWentBackwards { .. })),
        "{r:?}"
    );
    assert!(d.ctl_mut().poll_action().is_none(), "nothing queued");
    assert_eq!(d.status(), &before);
    assert_eq!(d.wake(), wake);
}

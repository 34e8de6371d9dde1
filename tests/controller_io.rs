//! The machine's I/O with the API as upstream's Job controller does it:
//! the Events it records, how it reacts to failed requests, and the
//! `job_controller_*` metrics. Each test names the upstream behaviour and
//! cites the upstream function it comes from (`pkg/controller/job`,
//! `pkg/controller/controller_utils.go`, `client-go/util/workqueue`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::{JobConditionType, JobSpec, JobStatus, Pod};
use job_controller::sim::{Cluster, pod};
use job_controller::{
    Action, ApiError, ApiErrorReason, CompletionModeLabel, Event, EventType, JobController,
    MachineError, Metrics, PodEvent, SyncAction, SyncDurations, SyncLabels, TimeoutReason,
    ValidJob, parse_job,
};

// ---- helpers ---------------------------------------------------------------

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(s)
}

/// Job `pi` (restartPolicy Never) with these `spec` lines added.
fn job(spec: &str) -> ValidJob {
    let spec: String = spec.lines().map(|l| format!("  {l}\n")).collect();
    let manifest = format!(
        "metadata: {{name: pi, namespace: default, uid: u-pi}}
spec:
{spec}  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]"
    );
    ValidJob::create(parse_job(&manifest).expect("parses")).expect("valid")
}

/// The Job with its spec changed, validated as the API server's update.
fn changed(ctl: &JobController, change: impl FnOnce(&mut JobSpec)) -> ValidJob {
    let mut new = ctl.job().job().clone();
    change(&mut new.spec);
    ctl.job().update(new).expect("valid update")
}

/// Every queued action, in order (the contract after each input).
fn drain(ctl: &mut JobController) -> Vec<Action> {
    std::iter::from_fn(|| ctl.poll_action()).collect()
}

/// Polls up to and including the first action matching `stop`.
fn poll_until(ctl: &mut JobController, stop: impl Fn(&Action) -> bool) -> Vec<Action> {
    let mut out = Vec::new();
    while let Some(a) = ctl.poll_action() {
        let done = stop(&a);
        out.push(a);
        if done {
            return out;
        }
    }
    panic!("no matching action among {out:?}");
}

/// An event as `(type, reason, message)`.
fn ev(e: &Event) -> (EventType, &str, &str) {
    (e.type_, e.reason.as_ref(), e.message.as_str())
}

fn events(actions: &[Action]) -> Vec<(EventType, &str, &str)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RecordEvent(e) => Some(ev(e)),
            _ => None,
        })
        .collect()
}

fn with_reason<'a>(actions: &'a [Action], reason: &str) -> Vec<(EventType, &'a str, &'a str)> {
    events(actions)
        .into_iter()
        .filter(|e| e.1 == reason)
        .collect()
}

/// The pods the actions ask for, as the API stores them (a UID, Pending).
fn created(actions: &[Action]) -> Vec<Pod> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::CreatePod(p) => {
                let mut pod = p.pod();
                pod.metadata.uid = format!("uid-{}", pod.metadata.name);
                pod::pending(&mut pod);
                Some(pod)
            }
            _ => None,
        })
        .collect()
}

fn creation_names(actions: &[Action]) -> Vec<String> {
    created(actions)
        .into_iter()
        .map(|p| p.metadata.name)
        .collect()
}

fn deletions(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::DeletePod { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

fn statuses(actions: &[Action]) -> Vec<&JobStatus> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::UpdateStatus(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn position(actions: &[Action], f: impl Fn(&Action) -> bool) -> usize {
    actions
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("not found in {actions:?}"))
}

fn is_status_with(a: &Action, type_: JobConditionType) -> bool {
    matches!(a, Action::UpdateStatus(s) if s.true_condition(&type_).is_some())
}

fn uncounted_succeeded(s: &JobStatus) -> Vec<String> {
    s.uncounted_terminated_pods
        .as_ref()
        .map(|u| u.succeeded.clone())
        .unwrap_or_default()
}

/// Reports a pod, changed, and drains.
fn observe(
    ctl: &mut JobController,
    now: DateTime<Utc>,
    pod: &mut Pod,
    change: impl FnOnce(&mut Pod),
) -> Vec<Action> {
    change(pod);
    ctl.handle_pod(now, PodEvent::Observed(pod)).unwrap();
    drain(ctl)
}

/// A Job whose pods were created and observed Running at `t(1)`.
fn running(spec: &str) -> (JobController, Vec<Pod>) {
    let mut ctl = JobController::new(job(spec), t(0));
    let mut pods = created(&drain(&mut ctl));
    for p in &mut pods {
        pod::running(p);
    }
    ctl.handle_pods(t(1), pods.iter().map(PodEvent::Observed))
        .unwrap();
    drain(&mut ctl);
    (ctl, pods)
}

fn quota() -> ApiError {
    ApiError::new(ApiErrorReason::Other, "exceeded quota: pods=10")
}

fn retry_at(ctl: &JobController) -> DateTime<Utc> {
    let next = ctl.poll_timeout().expect("a wake-up");
    assert_eq!(next.reason, TimeoutReason::Retry, "{next:?}");
    next.at
}

fn no_retry(ctl: &JobController) -> bool {
    ctl.wake_ups()
        .iter()
        .all(|w| w.reason != TimeoutReason::Retry)
}

/// The machine and the API that carries out its actions.
fn cluster(spec: &str) -> (JobController, Cluster, Vec<String>) {
    let mut ctl = JobController::new(job(spec), t(0));
    let mut api = Cluster::new();
    let settled = api.settle(&mut ctl, t(0)).unwrap();
    let names = settled.created.into_iter().map(|(n, _)| n).collect();
    (ctl, api, names)
}

fn value(ctl: &JobController, name: &str, labels: &[(&str, &str)]) -> u64 {
    ctl.metrics().value(name, labels)
}

/// Lowers parallelism to `parallelism` at `now` and drains.
fn drain_after_spec_change(
    ctl: &mut JobController,
    now: DateTime<Utc>,
    parallelism: i32,
) -> Vec<Action> {
    let new = changed(ctl, |s| s.parallelism = Some(parallelism));
    ctl.handle_spec_change(now, new).unwrap();
    let actions = drain(ctl);
    assert_eq!(deletions(&actions).len(), 1, "{actions:?}");
    actions
}

/// Fails every creation the queued actions ask for, at `now`; returns how many.
fn fail_creations(ctl: &mut JobController, now: DateTime<Utc>) -> usize {
    let names = creation_names(&drain(ctl));
    for name in &names {
        ctl.handle_create_failed(now, name, &quota()).unwrap();
    }
    drain(ctl);
    names.len()
}

fn syncs(ctl: &JobController, result: &str, action: &str) -> u64 {
    value(
        ctl,
        SYNCS,
        &[
            ("completion_mode", "NonIndexed"),
            ("result", result),
            ("action", action),
        ],
    )
}

/// A `# HELP` line as the Prometheus text format escapes it.
fn help_line(name: &str, help: &str) -> String {
    let escaped = help.replace('\\', "\\\\").replace('\n', "\\n");
    // Kubernetes' metrics library puts the stability level in front.
    let level = match name {
        "job_controller_job_syncs_total"
        | "job_controller_jobs_finished_total"
        | "job_controller_job_pods_finished_total"
        | "job_controller_job_sync_duration_seconds" => "STABLE",
        "job_controller_pod_failures_handled_by_failure_policy_total"
        | "job_controller_terminated_pods_tracking_finalizer_total" => "BETA",
        _ => "ALPHA",
    };
    format!("# HELP {name} [{level}] {escaped}\n")
}

const SYNCS: &str = "job_controller_job_syncs_total";
const FINISHED: &str = "job_controller_jobs_finished_total";
const PODS_FINISHED: &str = "job_controller_job_pods_finished_total";
const CREATIONS: &str = "job_controller_job_pods_creation_total";
const TRACKING: &str = "job_controller_terminated_pods_tracking_finalizer_total";

// ---- events ----------------------------------------------------------------

// Upstream RealPodControl.createPods: SuccessfulCreate after the Create returns.
#[test]
fn successful_create_is_recorded_once_the_pod_is_observed_once_per_pod() {
    let mut ctl = JobController::new(job("parallelism: 2\ncompletions: 2"), t(0));
    let first = drain(&mut ctl);
    assert!(
        events(&first).is_empty(),
        "not with the CreatePod: {first:?}"
    );
    let mut pods = created(&first);
    assert_eq!(pods.len(), 2);
    let name_a = pods[0].metadata.name.clone();
    let seen = observe(&mut ctl, t(1), &mut pods[0], |_| {});
    assert_eq!(
        events(&seen),
        [(
            EventType::Normal,
            "SuccessfulCreate",
            format!("Created pod: {name_a}").as_str()
        )]
    );
    let again = observe(&mut ctl, t(2), &mut pods[0], pod::running);
    assert!(
        with_reason(&again, "SuccessfulCreate").is_empty(),
        "{again:?}"
    );
    let name_b = pods[1].metadata.name.clone();
    let seen_b = observe(&mut ctl, t(3), &mut pods[1], |_| {});
    assert_eq!(
        with_reason(&seen_b, "SuccessfulCreate"),
        [(
            EventType::Normal,
            "SuccessfulCreate",
            format!("Created pod: {name_b}").as_str()
        )]
    );
}

// Upstream RealPodControl.createPods: FailedCreate unless HasStatusCause(NamespaceTerminating).
#[test]
fn failed_create_is_a_warning_except_when_the_namespace_is_terminating() {
    let mut ctl = JobController::new(job(""), t(0));
    let name = creation_names(&drain(&mut ctl)).remove(0);
    ctl.handle_create_failed(t(0), &name, &quota()).unwrap();
    assert_eq!(
        events(&drain(&mut ctl)),
        [(
            EventType::Warning,
            "FailedCreate",
            "Error creating: exceeded quota: pods=10"
        )]
    );

    let mut ctl = JobController::new(job(""), t(0));
    let name = creation_names(&drain(&mut ctl)).remove(0);
    let terminating = ApiError::new(
        ApiErrorReason::NamespaceTerminating,
        "namespace default is being terminated",
    );
    ctl.handle_create_failed(t(0), &name, &terminating).unwrap();
    let rest = drain(&mut ctl);
    assert!(events(&rest).is_empty(), "{rest:?}");
}

// Upstream RealPodControl.DeletePod: SuccessfulDelete / FailedDelete, nothing on NotFound.
#[test]
fn successful_and_failed_delete_events_and_none_for_not_found() {
    let (mut ctl, mut pods) = running("parallelism: 2\ncompletions: 4");
    let down = drain_after_spec_change(&mut ctl, t(10), 1);
    assert!(
        with_reason(&down, "SuccessfulDelete").is_empty(),
        "{down:?}"
    );
    let victim = deletions(&down)[0].to_owned();
    let p = pods.iter_mut().find(|p| p.metadata.name == victim).unwrap();
    let seen = observe(&mut ctl, t(11), p, |p| pod::terminating(p, t(11)));
    assert_eq!(
        events(&seen),
        [(
            EventType::Normal,
            "SuccessfulDelete",
            format!("Deleted pod: {victim}").as_str()
        )]
    );

    let (mut ctl, _) = running("parallelism: 2\ncompletions: 4");
    let down = drain_after_spec_change(&mut ctl, t(10), 1);
    let victim = deletions(&down)[0].to_owned();
    let timeout = ApiError::new(ApiErrorReason::Other, "etcdserver: request timed out");
    ctl.handle_delete_failed(t(10), &victim, &timeout).unwrap();
    assert_eq!(
        events(&drain(&mut ctl)),
        [(
            EventType::Warning,
            "FailedDelete",
            "Error deleting: etcdserver: request timed out"
        )]
    );

    let (mut ctl, _) = running("parallelism: 2\ncompletions: 4");
    let down = drain_after_spec_change(&mut ctl, t(10), 1);
    let victim = deletions(&down)[0].to_owned();
    let gone = ApiError::new(ApiErrorReason::NotFound, "pods \"x\" not found");
    ctl.handle_delete_failed(t(10), &victim, &gone).unwrap();
    let rest = drain(&mut ctl);
    assert!(events(&rest).is_empty(), "{rest:?}");
}

// Upstream syncJob: Suspended / Resumed when ensureJobConditionStatus flips the condition.
#[test]
fn suspended_and_resumed_events() {
    let (mut ctl, mut pods) = running("parallelism: 2\ncompletions: 2");
    ctl.handle_spec_change(t(10), changed(&ctl, |s| s.suspend = Some(true)))
        .unwrap();
    let suspend = drain(&mut ctl);
    assert_eq!(deletions(&suspend).len(), 2, "{suspend:?}");
    assert_eq!(
        events(&suspend),
        [(EventType::Normal, "Suspended", "Job suspended")]
    );
    for p in &mut pods {
        pod::terminating(p, t(11));
    }
    ctl.handle_pods(t(11), pods.iter().map(PodEvent::Observed))
        .unwrap();
    drain(&mut ctl);
    ctl.handle_spec_change(t(20), changed(&ctl, |s| s.suspend = Some(false)))
        .unwrap();
    let resume = drain(&mut ctl);
    assert_eq!(
        with_reason(&resume, "Resumed"),
        [(EventType::Normal, "Resumed", "Job resumed")]
    );
}

// Upstream syncJob: no Resumed when no Suspended condition exists (absent → False is not appended).
#[test]
fn a_job_never_suspended_records_no_resumed() {
    let (mut ctl, mut api, names) = cluster("suspend: false");
    let mut all = Vec::new();
    ctl.handle_spec_change(t(1), changed(&ctl, |s| s.suspend = Some(false)))
        .unwrap();
    all.extend(api.settle(&mut ctl, t(1)).unwrap().events);
    api.update(&mut ctl, t(5), &names[0], |p| pod::succeeded(p, t(5)))
        .unwrap();
    all.extend(api.settle(&mut ctl, t(5)).unwrap().events);
    assert!(ctl.is_finished());
    assert!(all.iter().all(|e| e.reason != "Resumed"), "{all:?}");
    assert!(all.iter().all(|e| e.reason != "Suspended"), "{all:?}");
}

// Upstream recordJobFinished: Completed right after the UpdateStatus that writes Complete.
#[test]
fn completed_follows_the_status_write_carrying_complete() {
    let (mut ctl, mut pods) = running("completions: 1");
    let done = observe(&mut ctl, t(5), &mut pods[0], |p| pod::succeeded(p, t(5)));
    let write = position(&done, |a| is_status_with(a, JobConditionType::Complete));
    assert!(
        matches!(&done.get(write + 1), Some(Action::RecordEvent(e))
            if ev(e) == (EventType::Normal, "Completed", "Job completed")),
        "{done:?}"
    );
    assert_eq!(with_reason(&done, "Completed").len(), 1);
    assert!(with_reason(&done, "TooManySucceededPods").is_empty());
}

// Upstream recordJobFinished: TooManySucceededPods just before Completed when succeeded > completions.
#[test]
fn too_many_succeeded_pods_comes_just_before_completed() {
    let mut ctl = JobController::new(job("completions: 2\nparallelism: 3"), t(0));
    let mut pods = created(&drain(&mut ctl));
    // manageJob wants min(parallelism, completions - succeeded) = 2 pods; a
    // third pod of this Job (left by an earlier controller) also runs.
    assert_eq!(pods.len(), 2);
    let mut extra = pods[0].clone();
    extra.metadata.name = "pi-extra".into();
    extra.metadata.uid = "uid-pi-extra".into();
    pods.push(extra);
    for p in &mut pods {
        pod::succeeded(p, t(5));
    }
    ctl.handle_pods(t(5), pods.iter().map(PodEvent::Observed))
        .unwrap();
    let done = drain(&mut ctl);
    let write = position(&done, |a| is_status_with(a, JobConditionType::Complete));
    assert_eq!(statuses(&done).last().unwrap().succeeded, 3);
    let after: Vec<_> = events(&done[write + 1..]);
    assert_eq!(
        after,
        [
            (
                EventType::Warning,
                "TooManySucceededPods",
                "Too many succeeded pods running after completion count reached"
            ),
            (EventType::Normal, "Completed", "Job completed"),
        ],
        "{done:?}"
    );
    assert!(matches!(done[write + 1], Action::RecordEvent(_)));
}

// Upstream recordJobFinished: a failed Job's Warning carries the Failed condition's reason and message.
#[test]
fn a_failed_job_records_the_failed_conditions_reason_and_message() {
    let (mut ctl, mut pods) = running("backoffLimit: 0");
    let done = observe(&mut ctl, t(5), &mut pods[0], |p| {
        pod::failed(p, 1, None, t(5));
    });
    let write = position(&done, |a| is_status_with(a, JobConditionType::Failed));
    let Action::UpdateStatus(s) = &done[write] else {
        unreachable!()
    };
    let failed = s.true_condition(&JobConditionType::Failed).unwrap();
    assert_eq!(
        (failed.reason.as_str(), failed.message.as_str()),
        (
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit"
        )
    );
    assert!(
        matches!(&done.get(write + 1), Some(Action::RecordEvent(e))
            if ev(e) == (EventType::Warning, "BackoffLimitExceeded", "Job has reached the specified backoff limit")),
        "{done:?}"
    );
    assert!(with_reason(&done, "Completed").is_empty());
}

// Upstream trackJobStatusAndRemoveFinalizers: recordJobFinished only after the final UpdateStatus succeeded.
#[test]
fn completed_is_withdrawn_when_the_complete_write_fails_and_recorded_after_the_retry() {
    let (mut ctl, mut pods) = running("completions: 1");
    pod::succeeded(&mut pods[0], t(5));
    ctl.handle_pod(t(5), PodEvent::Observed(&pods[0])).unwrap();
    let mut all = poll_until(&mut ctl, |a| is_status_with(a, JobConditionType::Complete));
    ctl.handle_status_write_failed(
        t(5),
        &ApiError::new(ApiErrorReason::Conflict, "the object has been modified"),
    )
    .unwrap();
    let rest = drain(&mut ctl);
    assert!(with_reason(&rest, "Completed").is_empty(), "{rest:?}");
    all.extend(rest);
    let at = retry_at(&ctl);
    assert_eq!(at, t(6));
    ctl.handle_timeout(at).unwrap();
    let retry = drain(&mut ctl);
    let write = position(&retry, |a| is_status_with(a, JobConditionType::Complete));
    assert!(
        matches!(&retry.get(write + 1), Some(Action::RecordEvent(e)) if e.reason == "Completed"),
        "{retry:?}"
    );
    all.extend(retry);
    assert_eq!(with_reason(&all, "Completed").len(), 1);
}

// ---- failure inputs --------------------------------------------------------

// Upstream processNextWorkItem + ItemExponentialFailureRateLimiter(1s, 60s): AddRateLimited / Forget.
#[test]
fn a_failing_creation_is_retried_after_1_2_4_8_16_32_60_60_seconds() {
    let mut ctl = JobController::new(job("parallelism: 1\ncompletions: 3"), t(0));
    let mut now = t(0);
    let mut delays = Vec::new();
    for _ in 0..8 {
        assert_eq!(fail_creations(&mut ctl, now), 1, "asked again at {now}");
        let at = retry_at(&ctl);
        delays.push((at - now).num_seconds());
        now = at;
        ctl.handle_timeout(now).unwrap();
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    // This time the creation succeeds: the sync returns nil, Forget.
    let pods = created(&drain(&mut ctl));
    assert_eq!(pods.len(), 1);
    ctl.handle_pod(now, PodEvent::Observed(&pods[0])).unwrap();
    drain(&mut ctl);
    let later = now + Duration::seconds(100);
    ctl.handle_spec_change(later, changed(&ctl, |s| s.parallelism = Some(2)))
        .unwrap();
    assert_eq!(fail_creations(&mut ctl, later), 1);
    assert_eq!(retry_at(&ctl), later + Duration::seconds(1));
}

// Upstream manageJob: a failed create is CreationObserved and active-- before the status is written.
#[test]
fn the_status_of_the_failing_reconcile_does_not_count_the_failed_creation() {
    let mut ctl = JobController::new(job("parallelism: 2\ncompletions: 2"), t(0));
    let first = poll_until(&mut ctl, |a| matches!(a, Action::CreatePod(_)));
    let second = poll_until(&mut ctl, |a| matches!(a, Action::CreatePod(_)));
    assert_eq!(first.len() + second.len(), 2);
    let failing = creation_names(&second).remove(0);
    ctl.handle_create_failed(t(0), &failing, &quota()).unwrap();
    let rest = drain(&mut ctl);
    let written = statuses(&rest);
    assert_eq!(written.len(), 1, "{rest:?}");
    assert_eq!(written[0].active, 1);
}

// Upstream manageJob slow start: after a batch with a failure, later batches are skipped (CreationObserved, active -= skipped).
#[test]
fn slow_start_skips_the_later_batches_after_a_failure() {
    let mut ctl = JobController::new(job("parallelism: 7\ncompletions: 7"), t(0));
    let p0 = poll_until(&mut ctl, |a| matches!(a, Action::CreatePod(_)));
    let p1 = poll_until(&mut ctl, |a| matches!(a, Action::CreatePod(_)));
    let batch = |a: &Action| match a {
        Action::CreatePod(p) => p.slow_start_batch,
        _ => unreachable!(),
    };
    assert_eq!(
        (batch(p0.last().unwrap()), batch(p1.last().unwrap())),
        (0, 1)
    );
    let failing = creation_names(&p1).remove(0);
    ctl.handle_create_failed(t(0), &failing, &quota()).unwrap();
    let rest = drain(&mut ctl);
    let later: Vec<u32> = rest
        .iter()
        .filter(|a| matches!(a, Action::CreatePod(_)))
        .map(batch)
        .collect();
    assert_eq!(
        later,
        [1],
        "position 2 only, positions 3-6 withdrawn: {rest:?}"
    );
    let written = statuses(&rest);
    assert_eq!(written.len(), 1, "{rest:?}");
    assert_eq!(written[0].active, 2);
    assert_eq!(with_reason(&rest, "FailedCreate").len(), 1, "{rest:?}");
}

// Upstream manageJob + ControllerExpectations.isExpired: NamespaceTerminating keeps the expectation for 5 min (strict >).
#[test]
fn namespace_terminating_keeps_the_expectation_until_it_expires() {
    let mut ctl = JobController::new(job(""), t(0));
    let name = creation_names(&drain(&mut ctl)).remove(0);
    let terminating = ApiError::new(
        ApiErrorReason::NamespaceTerminating,
        "namespace default is being terminated",
    );
    ctl.handle_create_failed(t(0), &name, &terminating).unwrap();
    let rest = drain(&mut ctl);
    assert!(events(&rest).is_empty(), "{rest:?}");
    assert!(no_retry(&ctl), "{:?}", ctl.wake_ups());
    assert_eq!(ctl.status().active, 1, "still expected");
    assert_eq!(value(&ctl, CREATIONS, &[]), 0, "counted in neither status");
    let five_minutes = 5 * 60;
    ctl.handle_timeout(t(five_minutes)).unwrap();
    let at_expiry = drain(&mut ctl);
    assert!(creation_names(&at_expiry).is_empty(), "{at_expiry:?}");
    ctl.handle_timeout(t(five_minutes + 1)).unwrap();
    let after = drain(&mut ctl);
    assert_eq!(creation_names(&after).len(), 1, "{after:?}");
}

// Upstream deleteJobPods.failDelete + AddRateLimited: a failed delete is asked again at the requeue.
#[test]
fn a_failed_scale_down_delete_is_retried_after_one_second() {
    let (mut ctl, _) = running("parallelism: 2\ncompletions: 4");
    let down = drain_after_spec_change(&mut ctl, t(10), 1);
    let victim = deletions(&down)[0].to_owned();
    let timeout = ApiError::new(ApiErrorReason::Other, "etcdserver: request timed out");
    ctl.handle_delete_failed(t(10), &victim, &timeout).unwrap();
    let rest = drain(&mut ctl);
    assert_eq!(with_reason(&rest, "FailedDelete").len(), 1, "{rest:?}");
    assert_eq!(retry_at(&ctl), t(11));
    ctl.handle_timeout(t(11)).unwrap();
    let again = drain(&mut ctl);
    assert_eq!(deletions(&again), [victim.as_str()], "{again:?}");
}

// Upstream deleteJobPods.failDelete: NotFound is a deletion done (no error, no requeue).
#[test]
fn a_not_found_delete_is_no_failure() {
    let (mut ctl, _) = running("parallelism: 2\ncompletions: 4");
    let down = drain_after_spec_change(&mut ctl, t(10), 1);
    let victim = deletions(&down)[0].to_owned();
    let gone = ApiError::new(ApiErrorReason::NotFound, "not found");
    ctl.handle_delete_failed(t(10), &victim, &gone).unwrap();
    let rest = drain(&mut ctl);
    assert!(events(&rest).is_empty(), "{rest:?}");
    assert!(no_retry(&ctl), "{:?}", ctl.wake_ups());
}

// Upstream flushUncountedAndRemoveFinalizers: a failed finalizer patch keeps the UID uncounted, partial progress only.
#[test]
fn a_failed_finalizer_removal_keeps_the_pod_uncounted_and_is_retried() {
    let (mut ctl, mut pods) = running("completions: 1");
    let uid = pods[0].metadata.uid.clone();
    let name = pods[0].metadata.name.clone();
    pod::succeeded(&mut pods[0], t(5));
    ctl.handle_pod(t(5), PodEvent::Observed(&pods[0])).unwrap();
    let upto = poll_until(&mut ctl, |a| matches!(a, Action::RemoveFinalizer { .. }));
    let first = statuses(&upto);
    assert_eq!(first.len(), 1, "{upto:?}");
    assert_eq!(uncounted_succeeded(first[0]), [uid.as_str()]);
    let reset = ApiError::new(ApiErrorReason::Other, "connection reset by peer");
    ctl.handle_finalizer_removal_failed(t(5), &name, &reset)
        .unwrap();
    let rest = drain(&mut ctl);
    for s in statuses(&rest) {
        assert_eq!(uncounted_succeeded(s), [uid.as_str()], "{rest:?}");
        assert_eq!(s.succeeded, 0, "{rest:?}");
        assert!(s.true_condition(&JobConditionType::Complete).is_none());
    }
    assert!(with_reason(&rest, "Completed").is_empty(), "{rest:?}");
    assert!(!ctl.is_finished());
    assert_eq!(retry_at(&ctl), t(6));
    ctl.handle_timeout(t(6)).unwrap();
    let retry = drain(&mut ctl);
    let removal = position(
        &retry,
        |a| matches!(a, Action::RemoveFinalizer { name: n, .. } if *n == name),
    );
    let write = position(&retry, |a| is_status_with(a, JobConditionType::Complete));
    assert!(removal < write, "{retry:?}");
    assert_eq!(statuses(&retry).last().unwrap().succeeded, 1);
    assert_eq!(ctl.status().succeeded, 1);
    assert_eq!(with_reason(&retry, "Completed").len(), 1);
    assert_eq!(value(&ctl, PODS_FINISHED, &[("result", "succeeded")]), 1);
}

// Upstream flushUncountedAndRemoveFinalizers: the first UpdateStatus must succeed before any finalizer is removed.
#[test]
fn a_failed_status_write_withdraws_the_finalizer_removal_until_it_is_written_again() {
    let (mut ctl, mut pods) = running("completions: 1");
    let uid = pods[0].metadata.uid.clone();
    pod::succeeded(&mut pods[0], t(5));
    ctl.handle_pod(t(5), PodEvent::Observed(&pods[0])).unwrap();
    let upto = poll_until(&mut ctl, |a| matches!(a, Action::UpdateStatus(_)));
    let Some(Action::UpdateStatus(s)) = upto.last() else {
        unreachable!()
    };
    assert_eq!(uncounted_succeeded(s), [uid.as_str()]);
    let conflict = ApiError::new(ApiErrorReason::Conflict, "the object has been modified");
    ctl.handle_status_write_failed(t(5), &conflict).unwrap();
    let rest = drain(&mut ctl);
    assert!(
        !rest
            .iter()
            .any(|a| matches!(a, Action::RemoveFinalizer { .. })),
        "{rest:?}"
    );
    assert!(events(&rest).is_empty(), "{rest:?}");
    assert_eq!(retry_at(&ctl), t(6));
    ctl.handle_timeout(t(6)).unwrap();
    let retry = drain(&mut ctl);
    let write = position(
        &retry,
        |a| matches!(a, Action::UpdateStatus(s) if uncounted_succeeded(s) == [uid.as_str()]),
    );
    let removal = position(&retry, |a| matches!(a, Action::RemoveFinalizer { .. }));
    assert!(write < removal, "{retry:?}");
    assert!(ctl.is_finished());
}

// Misuse: a status write failure with no status write just polled.
#[test]
fn a_status_write_failure_without_a_write_in_flight_is_misuse() {
    let mut ctl = JobController::new(job("parallelism: 2\ncompletions: 2"), t(0));
    drain(&mut ctl);
    let (status, wake_ups, metrics) = (ctl.status().clone(), ctl.wake_ups(), ctl.metrics().clone());
    let conflict = ApiError::new(ApiErrorReason::Conflict, "conflict");
    assert_eq!(
        ctl.handle_status_write_failed(t(1), &conflict),
        Err(MachineError::NoStatusWriteInFlight)
    );
    assert_eq!(ctl.status(), &status);
    assert_eq!(ctl.wake_ups(), wake_ups);
    assert_eq!(ctl.metrics(), &metrics);
    assert!(ctl.poll_action().is_none());
}

// ---- metrics ---------------------------------------------------------------

// Upstream syncJob's deferred JobSyncNum.Inc with manageJob's action.
#[test]
fn job_syncs_total_by_action() {
    let mut ctl = JobController::new(job("parallelism: 2\ncompletions: 2"), t(0));
    let mut pods = created(&drain(&mut ctl));
    // Its creations are in flight: the sync's result is not known yet
    // (upstream's sync ends after its creations' API calls return).
    assert_eq!(value(&ctl, SYNCS, &[]), 0);
    observe(&mut ctl, t(1), &mut pods[0], |_| {});
    assert_eq!(syncs(&ctl, "success", "pods_created"), 1);
    assert_eq!(
        syncs(&ctl, "success", "reconciling"),
        1,
        "one creation still expected"
    );
    observe(&mut ctl, t(2), &mut pods[1], |_| {});
    assert_eq!(syncs(&ctl, "success", "tracking"), 1);
    ctl.handle_spec_change(t(3), changed(&ctl, |s| s.suspend = Some(true)))
        .unwrap();
    drain(&mut ctl);
    assert_eq!(
        syncs(&ctl, "success", "pods_deleted"),
        0,
        "its deletions are in flight"
    );
    // The deletions are seen: the suspending sync succeeded.
    observe(&mut ctl, t(4), &mut pods[0], |p| pod::terminating(p, t(4)));
    assert_eq!(syncs(&ctl, "success", "pods_deleted"), 1);
    // That observation's sync waits for the other deletion: `reconciling`.
    assert_eq!(syncs(&ctl, "success", "reconciling"), 2);
    assert_eq!(value(&ctl, SYNCS, &[]), 5);
    assert!(ctl.metrics().to_prometheus_text().contains(
        "job_controller_job_syncs_total{completion_mode=\"NonIndexed\",result=\"success\",action=\"pods_created\"} 1\n"
    ));
}

// Upstream syncJob: result="error" when manageJob returned a creation error,
// whether the executor reports it before the next poll or after draining.
#[test]
fn job_syncs_total_counts_a_sync_whose_creation_failed_as_an_error() {
    for reported_late in [false, true] {
        let mut ctl = JobController::new(job(""), t(0));
        let actions = if reported_late {
            drain(&mut ctl)
        } else {
            poll_until(&mut ctl, |a| matches!(a, Action::CreatePod(_)))
        };
        let name = creation_names(&actions).remove(0);
        ctl.handle_create_failed(t(0), &name, &quota()).unwrap();
        drain(&mut ctl);
        assert_eq!(
            syncs(&ctl, "error", "pods_created"),
            1,
            "late: {reported_late}"
        );
        assert_eq!(
            syncs(&ctl, "success", "pods_created"),
            0,
            "late: {reported_late}"
        );
    }
}

// Upstream recordJobFinished: JobFinishedNum(completionMode, succeeded|failed, reason).Inc.
#[test]
fn jobs_finished_total_by_result_and_reason() {
    let (mut ctl, mut api, names) = cluster("completions: 1");
    api.update(&mut ctl, t(5), &names[0], |p| pod::succeeded(p, t(5)))
        .unwrap();
    api.settle(&mut ctl, t(5)).unwrap();
    let labels = [
        ("completion_mode", "NonIndexed"),
        ("result", "succeeded"),
        ("reason", "CompletionsReached"),
    ];
    assert_eq!(value(&ctl, FINISHED, &labels), 1);
    assert_eq!(value(&ctl, FINISHED, &[]), 1);

    let (mut ctl, mut api, names) = cluster("backoffLimit: 0");
    api.update(&mut ctl, t(5), &names[0], |p| pod::failed(p, 1, None, t(5)))
        .unwrap();
    api.settle(&mut ctl, t(5)).unwrap();
    let labels = [
        ("completion_mode", "NonIndexed"),
        ("result", "failed"),
        ("reason", "BackoffLimitExceeded"),
    ];
    assert_eq!(value(&ctl, FINISHED, &labels), 1);
    assert_eq!(value(&ctl, FINISHED, &[]), 1);
}

// Upstream trackJobStatusAndRemoveFinalizers: recordJobFinished only after the final UpdateStatus succeeded.
#[test]
fn jobs_finished_total_is_not_counted_for_a_failed_complete_write() {
    let (mut ctl, mut pods) = running("completions: 1");
    pod::succeeded(&mut pods[0], t(5));
    ctl.handle_pod(t(5), PodEvent::Observed(&pods[0])).unwrap();
    poll_until(&mut ctl, |a| is_status_with(a, JobConditionType::Complete));
    let conflict = ApiError::new(ApiErrorReason::Conflict, "the object has been modified");
    ctl.handle_status_write_failed(t(5), &conflict).unwrap();
    drain(&mut ctl);
    assert_eq!(value(&ctl, FINISHED, &[]), 0, "the write failed");
    ctl.handle_timeout(retry_at(&ctl)).unwrap();
    drain(&mut ctl);
    assert_eq!(value(&ctl, FINISHED, &[]), 1, "the retried write succeeded");
}

// Upstream recordJobPodFinished: JobPodsFinished adds the growth of status.succeeded / status.failed.
#[test]
fn job_pods_finished_total_counts_each_finished_pod_once() {
    let (mut ctl, mut api, names) = cluster("parallelism: 2\ncompletions: 2");
    api.update(&mut ctl, t(5), &names[0], |p| pod::failed(p, 1, None, t(5)))
        .unwrap();
    api.settle(&mut ctl, t(5)).unwrap();
    let backoff = ctl.poll_timeout().expect("the replacement's backoff");
    assert_eq!(backoff.reason, TimeoutReason::Backoff);
    ctl.handle_timeout(backoff.at).unwrap();
    let replacement = api.settle(&mut ctl, backoff.at).unwrap().created;
    assert_eq!(replacement.len(), 1);
    let now = backoff.at + Duration::seconds(5);
    for name in [&names[1], &replacement[0].0] {
        api.update(&mut ctl, now, name, |p| pod::succeeded(p, now))
            .unwrap();
        api.settle(&mut ctl, now).unwrap();
    }
    // Reported again (finalizers gone): nothing new is counted.
    for name in [&names[0], &names[1], &replacement[0].0] {
        api.report(&mut ctl, now, name).unwrap();
        api.settle(&mut ctl, now).unwrap();
    }
    assert!(ctl.is_finished());
    let mode = ("completion_mode", "NonIndexed");
    assert_eq!(
        value(&ctl, PODS_FINISHED, &[mode, ("result", "succeeded")]),
        2
    );
    assert_eq!(value(&ctl, PODS_FINISHED, &[mode, ("result", "failed")]), 1);
}

// Upstream recordJobPodsCreationTotal: reason new / recreate_terminating_or_failed.
#[test]
fn job_pods_creation_total_by_reason() {
    let (mut ctl, mut api, names) = cluster("parallelism: 2\ncompletions: 2");
    let new_ok = [("reason", "new"), ("status", "succeeded")];
    assert_eq!(value(&ctl, CREATIONS, &new_ok), 2);
    assert_eq!(value(&ctl, CREATIONS, &[("status", "failed")]), 0);
    api.update(&mut ctl, t(5), &names[0], |p| pod::failed(p, 1, None, t(5)))
        .unwrap();
    api.settle(&mut ctl, t(5)).unwrap();
    let backoff = ctl.poll_timeout().expect("the replacement's backoff");
    ctl.handle_timeout(backoff.at).unwrap();
    assert_eq!(api.settle(&mut ctl, backoff.at).unwrap().created.len(), 1);
    let recreate = [
        ("reason", "recreate_terminating_or_failed"),
        ("status", "succeeded"),
    ];
    assert_eq!(value(&ctl, CREATIONS, &recreate), 1);
    assert_eq!(value(&ctl, CREATIONS, &new_ok), 2);
}

// Upstream manageJob quirk: creationsSucceeded++ also for a failed attempt, plus creationsFailed++.
#[test]
fn job_pods_creation_total_counts_a_failed_creation_as_succeeded_and_failed() {
    let mut ctl = JobController::new(job(""), t(0));
    let name = creation_names(&drain(&mut ctl)).remove(0);
    ctl.handle_create_failed(t(0), &name, &quota()).unwrap();
    drain(&mut ctl);
    assert_eq!(
        value(
            &ctl,
            CREATIONS,
            &[("reason", "new"), ("status", "succeeded")]
        ),
        1
    );
    assert_eq!(
        value(&ctl, CREATIONS, &[("reason", "new"), ("status", "failed")]),
        1
    );
}

// Upstream recordFinishedPodWithTrackingFinalizer (addPod / updatePod).
#[test]
fn terminated_pods_tracking_finalizer_total_add_and_delete() {
    let (mut ctl, mut api, names) = cluster("completions: 1");
    assert_eq!(value(&ctl, TRACKING, &[]), 0);
    api.update(&mut ctl, t(5), &names[0], |p| pod::succeeded(p, t(5)))
        .unwrap();
    assert_eq!(value(&ctl, TRACKING, &[("event", "add")]), 1);
    assert_eq!(value(&ctl, TRACKING, &[("event", "delete")]), 0);
    let settled = api.settle(&mut ctl, t(5)).unwrap();
    assert_eq!(settled.finalizers_removed, [names[0].clone()]);
    api.report(&mut ctl, t(6), &names[0]).unwrap();
    drain(&mut ctl);
    assert_eq!(value(&ctl, TRACKING, &[("event", "add")]), 1);
    assert_eq!(value(&ctl, TRACKING, &[("event", "delete")]), 1);
}

// Upstream recordJobPodFailurePolicyActions: PodFailuresHandledByFailurePolicy(action).
#[test]
fn pod_failures_handled_by_failure_policy_total_ignore() {
    let (mut ctl, mut api, names) = cluster(
        "backoffLimit: 0
podFailurePolicy:
  rules:
  - action: Ignore
    onExitCodes: {operator: In, values: [42]}",
    );
    api.update(&mut ctl, t(5), &names[0], |p| {
        pod::failed(p, 42, None, t(5));
    })
    .unwrap();
    api.settle(&mut ctl, t(5)).unwrap();
    let name = "job_controller_pod_failures_handled_by_failure_policy_total";
    assert_eq!(value(&ctl, name, &[("action", "Ignore")]), 1);
    assert_eq!(value(&ctl, name, &[]), 1);
    assert!(!ctl.is_finished(), "an ignored failure does not count");
    assert_eq!(ctl.status().failed, 0);
}

// Upstream recordJobPodFinished (Indexed): JobFinishedIndexesTotal(succeeded, "global").
#[test]
fn job_finished_indexes_total_for_an_indexed_job() {
    let (mut ctl, mut api, names) =
        cluster("completionMode: Indexed\ncompletions: 2\nparallelism: 2");
    for name in &names {
        api.update(&mut ctl, t(5), name, |p| pod::succeeded(p, t(5)))
            .unwrap();
        api.settle(&mut ctl, t(5)).unwrap();
    }
    assert!(ctl.is_finished());
    let name = "job_controller_job_finished_indexes_total";
    assert_eq!(
        value(
            &ctl,
            name,
            &[("status", "succeeded"), ("backoffLimit", "global")]
        ),
        2
    );
    assert_eq!(value(&ctl, name, &[("status", "failed")]), 0);
    assert_eq!(
        value(
            &ctl,
            SYNCS,
            &[("completion_mode", "Indexed"), ("action", "pods_created")]
        ),
        1
    );
}

// Upstream addJob: JobByExternalControllerTotal(controllerName).Inc; syncJob returns before the sync metrics.
#[test]
fn jobs_by_external_controller_total() {
    let mut ctl = JobController::new(job("managedBy: example.com/foo"), t(0));
    assert!(drain(&mut ctl).is_empty());
    let name = "job_controller_jobs_by_external_controller_total";
    assert_eq!(
        value(&ctl, name, &[("controller_name", "example.com/foo")]),
        1
    );
    assert_eq!(value(&ctl, SYNCS, &[]), 0);
}

// Upstream metrics.go: the counters' names, types and Help strings.
#[test]
fn prometheus_text_has_upstream_help_and_type_lines() {
    let text = Metrics::default().to_prometheus_text();
    let helps = [
        ("job_controller_job_syncs_total", "The number of job syncs"),
        (
            "job_controller_jobs_finished_total",
            "The number of finished jobs",
        ),
        (
            "job_controller_jobs_by_external_controller_total",
            "The number of Jobs managed by an external controller",
        ),
        (
            "job_controller_job_pods_finished_total",
            "The number of finished Pods that are fully tracked",
        ),
        (
            "job_controller_pod_failures_handled_by_failure_policy_total",
            "The number of failed Pods handled by failure policy with respect to the failure policy action applied based on the matched rule. Possible values of the action label correspond to the possible values for the failure policy rule action, which are: \"FailJob\", \"Ignore\" and \"Count\".",
        ),
        (
            "job_controller_terminated_pods_tracking_finalizer_total",
            "The number of terminated pods (phase=Failed|Succeeded) that have the finalizer batch.kubernetes.io/job-tracking. The event label can be \"add\" or \"delete\".",
        ),
    ];
    for (name, help) in helps {
        assert!(text.contains(&help_line(name, help)), "{name}:\n{text}");
        assert!(
            text.contains(&format!("# TYPE {name} counter\n")),
            "{name}:\n{text}"
        );
    }
    for name in [
        "job_controller_job_finished_indexes_total",
        "job_controller_job_pods_creation_total",
    ] {
        assert!(text.contains(&format!("# TYPE {name} counter\n")), "{name}");
    }
}

// Upstream metrics.go: the multi-line Help strings of job_finished_indexes_total and job_pods_creation_total.
#[test]
fn prometheus_text_keeps_the_multi_line_upstream_help_strings() {
    let text = Metrics::default().to_prometheus_text();
    let helps = [
        (
            "job_controller_job_finished_indexes_total",
            "The number of finished indexes. Possible values for the\n\t\t\tstatus label are: \"succeeded\", \"failed\". Possible values for the\n\t\t\tbackoffLimit label are: \"perIndex\" and \"global\"",
        ),
        (
            "job_controller_job_pods_creation_total",
            "The number of Pods created by the Job controller labelled with a reason for the Pod creation.\nThis metric also distinguishes between Pods created using different PodReplacementPolicy settings.\nPossible values of the \"reason\" label are:\n\"new\", \"recreate_terminating_or_failed\", \"recreate_failed\".\nPossible values of the \"status\" label are:\n\"succeeded\", \"failed\".",
        ),
    ];
    for (name, help) in helps {
        assert!(text.contains(&help_line(name, help)), "{name}:\n{text}");
    }
}

// Upstream JobSyncDurationSeconds: ExponentialBuckets(0.004, 2, 15), labels completion_mode/result/action.
#[test]
fn sync_durations_render_upstream_buckets_sum_and_count() {
    let labels = SyncLabels {
        completion_mode: CompletionModeLabel::NonIndexed,
        error: false,
        action: SyncAction::PodsCreated,
    };
    let mut h = SyncDurations::default();
    h.observe(labels, 0.25);
    h.observe(labels, 100.0);
    let text = h.to_prometheus_text();
    let name = "job_controller_job_sync_duration_seconds";
    assert!(text.contains(&format!(
        "# HELP {name} [STABLE] The time it took to sync a job\n# TYPE {name} histogram\n"
    )));
    let l = "completion_mode=\"NonIndexed\",result=\"success\",action=\"pods_created\"";
    let bounds = [
        "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048",
        "4.096", "8.192", "16.384", "32.768", "65.536", "+Inf",
    ];
    let buckets: Vec<String> = text
        .lines()
        .filter(|line| line.starts_with(&format!("{name}_bucket{{")))
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = bounds
        .iter()
        .map(|b| {
            let n = match *b {
                "+Inf" => 2,
                b if b.parse::<f64>().unwrap() >= 0.25 => 1,
                _ => 0,
            };
            format!("{name}_bucket{{{l},le=\"{b}\"}} {n}")
        })
        .collect();
    assert_eq!(buckets, expected);
    assert!(
        text.contains(&format!("{name}_sum{{{l}}} 100.25\n")),
        "{text}"
    );
    assert!(text.contains(&format!("{name}_count{{{l}}} 2\n")), "{text}");
}

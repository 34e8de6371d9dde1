//! Rules of the machine that the conformance cases do not pin, one test per
//! rule, driven through the public API.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use job_controller::api::{Pod, PodPhase, PodStatus};
use job_controller::sim::Cluster;
use job_controller::{
    Action, ApiError, ApiErrorReason, JobController, PodEvent, TimeoutReason, ValidJob, parse_job,
};

fn job(parallelism: u32, completions: u32) -> ValidJob {
    let job = parse_job(&format!(
        "metadata: {{name: burst, namespace: default, uid: u-burst}}
spec:
  parallelism: {parallelism}
  completions: {completions}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]"
    ))
    .expect("parses");
    ValidJob::create(job).expect("valid")
}

/// Regression: names drawn in one reconcile once collided with each other
/// (only pods and in-flight creations were checked), so a 10 000-pod burst
/// asked for 10 001 pods.
#[test]
fn pod_names_are_unique_across_a_large_creation_burst() {
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let n = 10_000;
    let mut ctl = World::new(job(n, n), t0);
    let drained = drain(&mut ctl, t0);
    let creations = drained.created.len();
    let names: BTreeSet<&str> = drained
        .created
        .iter()
        .map(|p| p.metadata.name.as_str())
        .collect();
    assert_eq!(creations, n as usize);
    assert_eq!(names.len(), n as usize);
    assert_eq!(ctl.status().active, n as i32);
}

/// Upstream's per-sync cap: no reconcile asks for more than 500 pods.
#[test]
fn at_most_500_creations_per_reconcile() {
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut ctl = World::new(job(2_000, 2_000), t0);
    let mut first_batch = 0;
    while let Some(action) = ctl.poll_action() {
        if let Action::CreatePod(_) = action {
            first_batch += 1;
        }
    }
    assert_eq!(first_batch, 500);
    assert_eq!(ctl.status().active, 500);
}

fn t(s: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

fn pi(extra_spec: &str) -> ValidJob {
    let job = parse_job(&format!(
        "metadata: {{name: pi, namespace: default, uid: u-pi}}
spec:
  {extra_spec}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]"
    ))
    .expect("parses");
    ValidJob::create(job).expect("valid")
}

/// The machine and the API that carries out its actions (the crate's one
/// executor, [`Cluster`]). Dereferences to the machine: tests call it
/// directly and feed it hand-made pods (stale, orphaned, relabelled) too.
#[derive(Debug, Clone)]
struct World {
    ctl: JobController,
    api: Cluster,
}

impl World {
    fn new(job: ValidJob, now: chrono::DateTime<Utc>) -> World {
        World::of(JobController::new(job, now))
    }

    fn restore<'a>(
        job: ValidJob,
        pods: impl IntoIterator<Item = &'a Pod>,
        now: chrono::DateTime<Utc>,
    ) -> Result<World, job_controller::RestoreError> {
        JobController::restore(job, pods, now).map(World::of)
    }

    fn of(ctl: JobController) -> World {
        let mut api = Cluster::new();
        api.record_actions(true);
        World { ctl, api }
    }
}

impl std::ops::Deref for World {
    type Target = JobController;
    fn deref(&self) -> &JobController {
        &self.ctl
    }
}

impl std::ops::DerefMut for World {
    fn deref_mut(&mut self) -> &mut JobController {
        &mut self.ctl
    }
}

/// What one drain asked for and created.
#[derive(Debug, PartialEq)]
struct Drained {
    /// Every action, in order.
    actions: Vec<Action>,
    /// The pods created, as the API stored them (Pending).
    created: Vec<Pod>,
}

impl std::ops::Deref for Drained {
    type Target = Vec<Action>;
    fn deref(&self) -> &Vec<Action> {
        &self.actions
    }
}

impl PartialEq<Vec<Action>> for Drained {
    fn eq(&self, other: &Vec<Action>) -> bool {
        self.actions == *other
    }
}

/// Lets the API carry out everything the machine asks at `now` (creations
/// stored and reported Pending, deletions reported terminating).
fn drain(w: &mut World, now: chrono::DateTime<Utc>) -> Drained {
    let World { ctl, api } = w;
    let settled = api.settle(ctl, now).expect("settle");
    let created = settled
        .created
        .iter()
        .filter_map(|(name, _)| api.pod(name).cloned())
        .collect();
    Drained {
        actions: settled.actions,
        created,
    }
}

/// The pods a drain created.
fn created(drained: &Drained) -> Vec<Pod> {
    drained.created.clone()
}

#[test]
fn time_going_backwards_is_an_error_and_changes_nothing() {
    let mut ctl = World::new(pi(""), t(10));
    let first = drain(&mut ctl, t(10));
    let before = ctl.status().clone();
    let err = ctl.handle_timeout(t(5)).unwrap_err();
    assert!(matches!(
        err,
        job_controller::MachineError::TimeWentBackwards { .. }
    ));
    assert_eq!(ctl.status(), &before);
    assert!(ctl.poll_action().is_none());
    assert_eq!(created(&first).len(), 1);
}

/// Upstream `ClaimPods` skips a pod whose controller is another object:
/// it is not an error, and the Job neither tracks nor touches it.
#[test]
fn a_pod_controlled_by_something_else_is_ignored() {
    let mut ctl = World::new(pi(""), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut foreign = pods[0].clone();
    foreign.metadata.name = "stranger".into();
    foreign.metadata.uid = "stranger-uid".into();
    foreign.metadata.owner_references[0].uid = "another-job".into();
    let before = ctl.status().clone();
    ctl.handle_pod(t(1), PodEvent::Observed(&foreign))
        .expect("a foreign pod is input, not misuse");
    assert!(ctl.poll_action().is_none(), "nothing to do with it");
    assert_eq!(ctl.status(), &before);
    assert_eq!(ctl.pod_count(), 1);
}

#[test]
fn a_spec_change_for_another_job_is_refused() {
    let mut ctl = World::new(pi(""), t(0));
    drain(&mut ctl, t(0));
    let other = parse_job(
        "metadata: {name: pi, namespace: default, uid: someone-else}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
    )
    .expect("parses");
    let other = ValidJob::create(other).expect("valid");
    assert!(matches!(
        ctl.handle_spec_change(t(1), other),
        Err(job_controller::MachineError::OtherJob { .. })
    ));
}

#[test]
fn a_job_managed_elsewhere_gets_no_actions_at_all() {
    let mut ctl = World::new(pi("managedBy: example.com/queue"), t(0));
    assert!(drain(&mut ctl, t(0)).is_empty());
    assert_eq!(ctl.poll_timeout(), None);
}

#[test]
fn when_the_job_is_gone_every_remaining_finalizer_is_removed_and_the_machine_stops() {
    let mut ctl = World::new(pi("parallelism: 2\n  completions: 2"), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    assert_eq!(pods.len(), 2);
    ctl.handle_job_deleted(t(5)).unwrap();
    let actions = drain(&mut ctl, t(5));
    let released: BTreeSet<String> = actions
        .iter()
        .filter_map(|a| match a {
            Action::RemoveFinalizer { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(released.len(), 2);
    assert_eq!(
        actions.len(),
        2,
        "nothing but finalizer removals: {actions:?}"
    );
    ctl.handle_timeout(t(100)).unwrap();
    assert!(ctl.poll_action().is_none());
    assert_eq!(ctl.poll_timeout(), None);
}

/// Upstream §21.1: while the Job is being deleted nothing is created and
/// every pod's finalizer is released at once — running pods uncounted — so
/// a pod that finishes afterwards no longer changes the counters.
#[test]
fn a_job_being_deleted_releases_every_finalizer_and_creates_nothing() {
    let mut ctl = World::new(pi("parallelism: 2\n  completions: 4"), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    // The API server sets the deletion timestamp; a controller sees it on
    // the Job it watches and hands the stored object over.
    let mut deleting = ctl.job().job().clone();
    deleting.metadata.deletion_timestamp = Some(t(3));
    let deleting = ValidJob::from_stored(deleting).expect("stored Job");
    ctl.handle_spec_change(t(3), deleting).unwrap();
    let actions = drain(&mut ctl, t(3));
    let released = actions
        .iter()
        .filter(|a| matches!(a, Action::RemoveFinalizer { .. }))
        .count();
    assert_eq!(released, 2, "{actions:?}");
    let mut done = pods[0].clone();
    done.metadata.finalizers.clear();
    done.status = Some(PodStatus {
        phase: Some(PodPhase::Succeeded),
        ..Default::default()
    });
    ctl.handle_pod(t(4), PodEvent::Observed(&done)).unwrap();
    let actions = drain(&mut ctl, t(4));
    assert!(created(&actions).is_empty(), "no replacement: {actions:?}");
    assert_eq!(ctl.status().succeeded, 0);
    assert_eq!(ctl.status().active, 1);
}

#[test]
fn a_late_event_for_a_gone_pod_is_ignored() {
    let mut ctl = World::new(pi(""), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut done = pods[0].clone();
    done.status = Some(PodStatus {
        phase: Some(PodPhase::Succeeded),
        ..Default::default()
    });
    ctl.handle_pod(t(5), PodEvent::Observed(&done)).unwrap();
    drain(&mut ctl, t(5));
    ctl.handle_pod(
        t(6),
        PodEvent::Gone {
            name: &done.metadata.name.clone(),
        },
    )
    .unwrap();
    drain(&mut ctl, t(6));
    let status = ctl.status().clone();
    ctl.handle_pod(t(7), PodEvent::Observed(&done)).unwrap();
    drain(&mut ctl, t(7));
    assert_eq!(ctl.status(), &status);
    assert_eq!(ctl.pod_count(), 0);
}

#[test]
fn a_failed_creation_is_asked_for_again_under_a_new_name() {
    let mut ctl = World::new(pi(""), t(0));
    let first = match ctl.poll_action() {
        Some(Action::CreatePod(p)) => p.name().to_owned(),
        other => panic!("expected a creation, got {other:?}"),
    };
    assert!(ctl.poll_action().is_some(), "status write follows");
    let quota = ApiError::new(ApiErrorReason::Other, "exceeded quota");
    ctl.handle_create_failed(t(1), &first, &quota).unwrap();
    assert!(
        created(&drain(&mut ctl, t(1))).is_empty(),
        "not before the requeue"
    );
    let retry = ctl.poll_timeout().expect("a requeue");
    assert_eq!((retry.at, retry.reason), (t(2), TimeoutReason::Retry));
    ctl.handle_timeout(t(2)).unwrap();
    let again = created(&drain(&mut ctl, t(2)));
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].metadata.name, first);
}

#[test]
fn an_unacknowledged_creation_is_never_asked_for_twice() {
    let mut ctl = World::new(pi(""), t(0));
    let mut creations = 0;
    while let Some(a) = ctl.poll_action() {
        if matches!(a, Action::CreatePod(_)) {
            creations += 1;
        }
    }
    for s in 1..50 {
        ctl.handle_timeout(t(s)).unwrap();
        while let Some(a) = ctl.poll_action() {
            if matches!(a, Action::CreatePod(_)) {
                creations += 1;
            }
        }
    }
    assert_eq!(creations, 1);
}

/// An orphan pod as someone made it by hand, labelled like the Job's pods.
fn orphan(ctl: &JobController, name: &str, matching: bool) -> job_controller::api::Pod {
    let mut pod = job_controller::api::Pod::default();
    pod.metadata.name = name.into();
    pod.metadata.uid = format!("uid-{name}");
    if matching {
        pod.metadata.labels = ctl.job().spec().template.metadata.labels.clone();
    }
    pod.spec = ctl.job().spec().template.spec.clone();
    pod.status = Some(PodStatus {
        phase: Some(PodPhase::Running),
        ..Default::default()
    });
    pod
}

/// Upstream `ClaimPods`: an orphan matching the selector is adopted (owner
/// reference and finalizer added) and counted like the Job's own pods; with
/// one pod too many, a Pending one goes first (upstream's deletion order).
#[test]
fn an_orphan_matching_the_selector_is_adopted_and_counted() {
    use job_controller::sim::{Cluster, pod};
    let mut ctl = World::new(pi("parallelism: 2\n  completions: 2"), t(0));
    let mut cluster = Cluster::new();
    let first = cluster.settle(&mut ctl, t(0)).unwrap();
    assert_eq!(first.created.len(), 2);
    let stray = orphan(&ctl, "stray", true);
    cluster.add(&mut ctl, t(1), stray).unwrap();
    let settled = cluster.settle(&mut ctl, t(1)).unwrap();
    let adopted = cluster.pod("stray").unwrap();
    assert!(
        adopted
            .metadata
            .owner_references
            .iter()
            .any(|o| o.uid == "u-pi")
    );
    assert!(
        adopted
            .metadata
            .finalizers
            .iter()
            .any(|f| f.contains("job-tracking"))
    );
    assert_eq!(settled.deleted.len(), 1, "{settled:?}");
    assert_ne!(settled.deleted[0].0, "stray", "the running orphan is kept");
    cluster
        .update(&mut ctl, t(5), "stray", |p| pod::succeeded(p, t(5)))
        .unwrap();
    cluster.settle(&mut ctl, t(5)).unwrap();
    assert_eq!(ctl.status().succeeded, 1);
}

#[test]
fn an_orphan_not_matching_the_selector_is_ignored() {
    let mut ctl = World::new(pi(""), t(0));
    drain(&mut ctl, t(0));
    let stray = orphan(&ctl, "other", false);
    ctl.handle_pod(t(1), PodEvent::Observed(&stray)).unwrap();
    assert_eq!(ctl.pod_count(), 1);
    assert!(drain(&mut ctl, t(1)).is_empty());
}

#[test]
fn an_owned_pod_that_stops_matching_is_released_and_not_counted() {
    let mut ctl = World::new(pi("parallelism: 2\n  completions: 2"), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut relabelled = pods[0].clone();
    relabelled.metadata.labels.clear();
    ctl.handle_pod(t(2), PodEvent::Observed(&relabelled))
        .unwrap();
    let actions = drain(&mut ctl, t(2));
    assert!(actions.iter().any(
        |a| matches!(a, Action::ReleasePod { name, .. } if *name == relabelled.metadata.name)
    ));
    assert_eq!(ctl.pod_count(), 2, "one released, one replacement");
    relabelled.status = Some(PodStatus {
        phase: Some(PodPhase::Failed),
        ..Default::default()
    });
    ctl.handle_pod(t(3), PodEvent::Observed(&relabelled))
        .unwrap();
    drain(&mut ctl, t(3));
    assert_eq!(ctl.status().failed, 0);
}

/// Found by fuzzing: a Job completing while `activeDeadlineSeconds` is set
/// kept asking for the deadline wake-up after it had finished.
#[test]
fn a_finished_job_asks_for_no_deadline_wake_up() {
    use job_controller::sim::{Cluster, pod};
    let mut ctl = World::new(pi("activeDeadlineSeconds: 1701"), t(0));
    let mut cluster = Cluster::new();
    let created = cluster.settle(&mut ctl, t(0)).unwrap().created;
    assert_eq!(
        ctl.poll_timeout().map(|w| w.at),
        Some(t(1701)),
        "deadline armed while running"
    );
    cluster
        .update(&mut ctl, t(294), &created[0].0, |p| {
            pod::succeeded(p, t(294));
        })
        .unwrap();
    cluster.settle(&mut ctl, t(294)).unwrap();
    assert!(ctl.is_finished());
    assert_eq!(ctl.poll_timeout(), None);
}

// ---- Claiming and the orphan path (upstream `ClaimPods`, `handleSingleOrphanPod`)

/// A pod as the API holds it after the machine created it: owned, with the
/// tracking finalizer, in `phase`.
fn owned(pod: &job_controller::api::Pod, phase: PodPhase) -> job_controller::api::Pod {
    let mut pod = pod.clone();
    pod.status = Some(PodStatus {
        phase: Some(phase),
        ..Default::default()
    });
    pod
}

fn count(actions: &[Action], pred: impl Fn(&Action) -> bool) -> usize {
    actions.iter().filter(|a| pred(a)).count()
}

/// A pod of this Job the machine never counted, still carrying the
/// finalizer (as listed from an older cluster state after a restart).
fn straggler(pod: &job_controller::api::Pod) -> job_controller::api::Pod {
    let mut straggler = owned(pod, PodPhase::Running);
    straggler.metadata.name = "straggler".into();
    straggler.metadata.uid = "uid-straggler".into();
    straggler
}

/// Runs a one-pod Job to `Complete` and returns it with its pod.
fn completed_job(extra_spec: &str) -> (World, job_controller::api::Pod) {
    let mut ctl = World::new(pi(extra_spec), t(0));
    let pod = created(&drain(&mut ctl, t(0))).remove(0);
    ctl.handle_pod(t(5), PodEvent::Observed(&owned(&pod, PodPhase::Succeeded)))
        .unwrap();
    drain(&mut ctl, t(5));
    assert!(ctl.is_finished(), "{:?}", ctl.status());
    (ctl, pod)
}

/// `syncJob` returns for a finished Job before `ClaimPods`: an orphan that
/// matches the selector is not adopted, an owned pod that stops matching is
/// not released.
#[test]
fn a_finished_job_claims_nothing() {
    let (mut ctl, pod) = completed_job("");
    let stray = orphan(&ctl, "late", true);
    ctl.handle_pod(t(6), PodEvent::Observed(&stray)).unwrap();
    let mut relabelled = owned(&pod, PodPhase::Succeeded);
    relabelled.metadata.finalizers.clear();
    relabelled.metadata.labels.clear();
    ctl.handle_pod(t(7), PodEvent::Observed(&relabelled))
        .unwrap();
    let actions = drain(&mut ctl, t(7));
    assert!(actions.is_empty(), "{actions:?}");
}

/// Upstream's orphan path: a pod of a finished Job that is being deleted
/// and still carries the tracking finalizer has it removed (`deletePod` →
/// `handleSingleOrphanPod`), once.
#[test]
fn a_pod_of_a_finished_job_loses_its_finalizer_when_deleted() {
    let (mut ctl, pod) = completed_job("");
    let mut straggler = straggler(&pod);
    ctl.handle_pod(t(6), PodEvent::Observed(&straggler))
        .unwrap();
    assert!(drain(&mut ctl, t(6)).is_empty(), "not before it is deleted");
    straggler.metadata.deletion_timestamp = Some(t(7));
    ctl.handle_pod(t(7), PodEvent::Observed(&straggler))
        .unwrap();
    let actions = drain(&mut ctl, t(7));
    assert_eq!(
        actions,
        vec![Action::RemoveFinalizer {
            name: "straggler".into(),
            uid: "uid-straggler".into()
        }]
    );
    ctl.handle_pod(t(8), PodEvent::Observed(&straggler))
        .unwrap();
    assert!(drain(&mut ctl, t(8)).is_empty(), "asked once");
    assert_eq!(ctl.status().succeeded, 1, "counts are final");
}

/// An update of a finished Job sweeps the finalizers of its pods
/// (`updateJob` → `enqueueLabelSelector`).
#[test]
fn an_update_of_a_finished_job_releases_every_remaining_finalizer() {
    let (mut ctl, pod) = completed_job("ttlSecondsAfterFinished: 100");
    let straggler = straggler(&pod);
    ctl.handle_pod(t(6), PodEvent::Observed(&straggler))
        .unwrap();
    assert!(drain(&mut ctl, t(6)).is_empty());
    let mut job = ctl.job().job().clone();
    job.spec.ttl_seconds_after_finished = Some(200);
    let updated = ctl.job().update(job).expect("ttl is mutable");
    ctl.handle_spec_change(t(9), updated).unwrap();
    let actions = drain(&mut ctl, t(9));
    assert_eq!(
        count(
            &actions,
            |a| matches!(a, Action::RemoveFinalizer { name, .. } if name == "straggler")
        ),
        1,
        "{actions:?}"
    );
}

/// A manual selector that is empty selects every pod
/// (`LabelSelectorAsSelector` of `{}` is `labels.Everything()`).
#[test]
fn an_empty_manual_selector_matches_every_pod() {
    let job = parse_job(
        "metadata: {name: all, namespace: default, uid: u-all}
spec:
  manualSelector: true
  selector: {}
  parallelism: 2
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
    )
    .expect("parses");
    let job = ValidJob::create(job).expect("valid: an empty selector is allowed");
    let mut ctl = World::new(job, t(0));
    drain(&mut ctl, t(0));
    let stray = orphan(&ctl, "bare", false);
    ctl.handle_pod(t(1), PodEvent::Observed(&stray)).unwrap();
    let actions = drain(&mut ctl, t(1));
    assert_eq!(
        count(
            &actions,
            |a| matches!(a, Action::AdoptPod { name, .. } if name == "bare")
        ),
        1,
        "{actions:?}"
    );
}

/// While the Job is being deleted, `ClaimObject` neither keeps nor releases
/// an owned pod that stops matching: it is simply not the Job's any more.
#[test]
fn a_job_being_deleted_ignores_owned_pods_that_stop_matching() {
    let mut ctl = World::new(pi("parallelism: 2\n  completions: 2"), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut deleting = ctl.job().job().clone();
    deleting.metadata.deletion_timestamp = Some(t(3));
    let deleting = ValidJob::from_stored(deleting).expect("stored Job");
    ctl.handle_spec_change(t(3), deleting).unwrap();
    drain(&mut ctl, t(3));
    assert_eq!(ctl.status().active, 2);
    let mut relabelled = owned(&pods[0], PodPhase::Running);
    relabelled.metadata.finalizers.clear();
    relabelled.metadata.labels.clear();
    ctl.handle_pod(t(4), PodEvent::Observed(&relabelled))
        .unwrap();
    let actions = drain(&mut ctl, t(4));
    assert_eq!(
        count(&actions, |a| matches!(a, Action::ReleasePod { .. })),
        0,
        "{actions:?}"
    );
    assert_eq!(ctl.pod_count(), 1);
    assert_eq!(ctl.status().active, 1);
}

/// Pods of other namespaces are never the Job's (upstream lists the Job's
/// namespace only).
#[test]
fn a_pod_of_another_namespace_is_ignored() {
    let mut ctl = World::new(pi(""), t(0));
    drain(&mut ctl, t(0));
    let mut elsewhere = orphan(&ctl, "elsewhere", true);
    elsewhere.metadata.namespace = "other".into();
    ctl.handle_pod(t(1), PodEvent::Observed(&elsewhere))
        .unwrap();
    assert!(drain(&mut ctl, t(1)).is_empty());
    assert_eq!(ctl.pod_count(), 1);
}

// ---- managedBy (upstream `managedByExternalController`)

fn managed_elsewhere(managed_by: &str, status: &str) -> ValidJob {
    // Admitted with a valid manager (as the API server would), then read
    // back with whatever the stored object says.
    let job = parse_job(
        "metadata: {name: ext, namespace: default, uid: u-ext}
spec:
  managedBy: example.com/queue
  ttlSecondsAfterFinished: 30
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
    )
    .expect("parses");
    let mut job = ValidJob::create(job).expect("valid").into_job();
    job.spec.managed_by = Some(managed_by.to_owned());
    job.status = parse_job(&format!("status: {{{status}}}"))
        .expect("parses")
        .status;
    ValidJob::from_stored(job).expect("a stored Job with any managedBy is accepted")
}

/// A stored Job may carry a `managedBy` today's API server would refuse;
/// the built-in controller only asks whether it is its own name.
#[test]
fn a_stored_job_with_any_other_manager_is_accepted_and_left_alone() {
    for managed_by in ["example.com/queue", "not a path at all", &"x".repeat(100)] {
        let job = managed_elsewhere(managed_by, "");
        assert!(job.is_managed_elsewhere());
        let mut ctl = World::new(job, t(0));
        let mut stray = orphan(&ctl, "stray", true);
        ctl.handle_pod(t(1), PodEvent::Observed(&stray)).unwrap();
        stray.metadata.name = "owned".into();
        stray.metadata.owner_references = vec![job_controller::api::OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: "ext".into(),
            uid: "u-ext".into(),
            controller: Some(true),
            ..Default::default()
        }];
        stray.metadata.labels.clear();
        ctl.handle_pod(t(2), PodEvent::Observed(&stray)).unwrap();
        let actions = drain(&mut ctl, t(2));
        assert!(actions.is_empty(), "no claim, no status: {actions:?}");
        assert_eq!(ctl.poll_timeout(), None);
    }
}

/// The TTL controller does not look at `managedBy`: a finished Job managed
/// elsewhere is deleted when its TTL runs out.
#[test]
fn the_ttl_applies_to_a_job_managed_elsewhere() {
    let finished = "startTime: 2025-01-01T00:00:00Z, completionTime: 2025-01-01T00:00:10Z,
  conditions: [{type: SuccessCriteriaMet, status: 'True', lastTransitionTime: 2025-01-01T00:00:10Z},
               {type: Complete, status: 'True', lastTransitionTime: 2025-01-01T00:00:10Z}]";
    let ctl = World::restore(managed_elsewhere("example.com/queue", finished), [], t(20));
    let mut ctl = ctl.expect("restores");
    assert!(drain(&mut ctl, t(20)).is_empty());
    assert_eq!(ctl.poll_timeout().map(|w| w.at), Some(t(40)));
    ctl.handle_timeout(t(40)).unwrap();
    assert_eq!(
        drain(&mut ctl, t(40)),
        vec![Action::DeleteJob {
            reason: job_controller::DeleteJobReason::TtlAfterFinished
        }]
    );

    // The external controller finishing the Job later arms the TTL too.
    let mut ctl = World::new(managed_elsewhere("example.com/queue", ""), t(0));
    assert_eq!(ctl.poll_timeout(), None);
    let mut job = ctl.job().job().clone();
    job.status = managed_elsewhere("example.com/queue", finished)
        .into_job()
        .status;
    ctl.handle_spec_change(t(15), ValidJob::from_stored(job).unwrap())
        .unwrap();
    assert_eq!(ctl.poll_timeout().map(|w| w.at), Some(t(40)));
}

/// While a Job managed elsewhere exists, upstream's orphan clean-up
/// (`syncOrphanPod`) skips its pods: a finished external Job's pod that is
/// being deleted, or an update of that Job, removes no finalizer.
#[test]
fn a_finished_job_managed_elsewhere_keeps_the_finalizers_of_its_pods() {
    let finished = "startTime: 2025-01-01T00:00:00Z, completionTime: 2025-01-01T00:00:10Z,
  conditions: [{type: SuccessCriteriaMet, status: 'True', lastTransitionTime: 2025-01-01T00:00:10Z},
               {type: Complete, status: 'True', lastTransitionTime: 2025-01-01T00:00:10Z}]";
    let job = managed_elsewhere("example.com/queue", finished);
    let mut pod = orphan(&World::new(job.clone(), t(20)), "ext-1", true);
    pod.metadata.owner_references = vec![job_controller::api::OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.name().into(),
        uid: job.uid().into(),
        controller: Some(true),
        ..Default::default()
    }];
    pod.metadata.finalizers = vec!["batch.kubernetes.io/job-tracking".into()];
    let mut ctl = World::restore(job, [&pod], t(20)).expect("restores");
    assert!(drain(&mut ctl, t(20)).is_empty());
    // The pod is being deleted.
    pod.metadata.deletion_timestamp = Some(t(21));
    ctl.handle_pod(t(21), PodEvent::Observed(&pod)).unwrap();
    assert!(
        drain(&mut ctl, t(21)).is_empty(),
        "not while the Job exists"
    );
    // The Job is updated (its TTL changes).
    let mut updated = ctl.job().job().clone();
    updated.spec.ttl_seconds_after_finished = Some(1000);
    ctl.handle_spec_change(t(22), ValidJob::from_stored(updated).unwrap())
        .unwrap();
    assert!(drain(&mut ctl, t(22)).is_empty(), "nor when it is updated");
    // Once the Job is gone, the clean-up finds no Job and removes it.
    ctl.handle_job_deleted(t(23)).unwrap();
    assert_eq!(drain(&mut ctl, t(23)).len(), 1);
}

/// The orphan clean-up after a Job is deleted does not look at `managedBy`
/// either: its pods lose the tracking finalizer.
#[test]
fn deleting_a_job_managed_elsewhere_releases_the_finalizers_of_its_pods() {
    let mut ctl = World::new(managed_elsewhere("example.com/queue", ""), t(0));
    let mut pod = orphan(&ctl, "ext-1", true);
    pod.metadata.owner_references = vec![job_controller::api::OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: "ext".into(),
        uid: "u-ext".into(),
        controller: Some(true),
        ..Default::default()
    }];
    pod.metadata.finalizers = vec!["batch.kubernetes.io/job-tracking".into()];
    ctl.handle_pod(t(1), PodEvent::Observed(&pod)).unwrap();
    assert!(drain(&mut ctl, t(1)).is_empty());
    ctl.handle_job_deleted(t(2)).unwrap();
    assert_eq!(
        drain(&mut ctl, t(2)),
        vec![Action::RemoveFinalizer {
            name: "ext-1".into(),
            uid: "uid-ext-1".into()
        }]
    );
}

// ---- Time at the ends of chrono's range

/// Every instant the machine derives saturates: a Job started a moment
/// before the end of time, whose pod fails (backoff) under a deadline and a
/// TTL, neither panics nor asks for a wake-up out of range.
#[test]
fn no_panic_at_the_end_of_time() {
    let end = chrono::DateTime::<Utc>::MAX_UTC;
    let start = end - chrono::Duration::seconds(3);
    let mut ctl = World::new(
        pi("activeDeadlineSeconds: 100\n  ttlSecondsAfterFinished: 100\n  backoffLimit: 2"),
        start,
    );
    let pod = created(&drain(&mut ctl, start)).remove(0);
    let mut failed = owned(&pod, PodPhase::Failed);
    // Finished now: the 10 s backoff runs past the end of time.
    failed.status = Some(PodStatus {
        phase: Some(PodPhase::Failed),
        container_statuses: vec![job_controller::api::ContainerStatus {
            name: "main".into(),
            state: Some(job_controller::api::ContainerState {
                terminated: Some(job_controller::api::ContainerStateTerminated {
                    exit_code: 1,
                    finished_at: Some(start),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    });
    ctl.handle_pod(start, PodEvent::Observed(&failed)).unwrap();
    drain(&mut ctl, start);
    let wake = ctl.poll_timeout().expect("the backoff or the deadline");
    assert!(wake.at <= end);
    ctl.handle_timeout(end).unwrap();
    drain(&mut ctl, end);
    ctl.handle_timeout(end).unwrap();
    drain(&mut ctl, end);
}

/// The same at the start of time: finish times and deletion grace periods
/// reach back before `MIN_UTC`.
#[test]
fn no_panic_at_the_start_of_time() {
    let start = chrono::DateTime::<Utc>::MIN_UTC;
    let mut ctl = World::new(pi("activeDeadlineSeconds: 5"), start);
    let pod = created(&drain(&mut ctl, start)).remove(0);
    let mut dying = owned(&pod, PodPhase::Running);
    dying.metadata.deletion_timestamp = Some(start);
    dying.metadata.deletion_grace_period_seconds = Some(i64::MAX);
    ctl.handle_pod(start, PodEvent::Observed(&dying)).unwrap();
    drain(&mut ctl, start);
    assert!(ctl.poll_timeout().is_none_or(|w| w.at >= start));
    let later = start + chrono::Duration::seconds(30);
    ctl.handle_timeout(later).unwrap();
    drain(&mut ctl, later);
}

// ---- Batched input (upstream's `syncJobBatchPeriod`)

/// `handle_pods` applies every event, then reconciles once: three pods
/// succeeding together are counted in one flush and one final write, and
/// the Job ends where three single events take it.
#[test]
fn a_batch_of_pod_events_reconciles_once() {
    let run = |batched: bool| {
        let mut ctl = World::new(pi("parallelism: 3\n  completions: 3"), t(0));
        let pods = created(&drain(&mut ctl, t(0)));
        let done: Vec<_> = pods.iter().map(|p| owned(p, PodPhase::Succeeded)).collect();
        let mut writes = 0;
        if batched {
            ctl.handle_pods(t(5), done.iter().map(PodEvent::Observed))
                .unwrap();
            writes += count(&drain(&mut ctl, t(5)), |a| {
                matches!(a, Action::UpdateStatus(_))
            });
        } else {
            for pod in &done {
                ctl.handle_pod(t(5), PodEvent::Observed(pod)).unwrap();
                writes += count(&drain(&mut ctl, t(5)), |a| {
                    matches!(a, Action::UpdateStatus(_))
                });
            }
        }
        (ctl.status().clone(), writes)
    };
    let (batched, batched_writes) = run(true);
    let (single, single_writes) = run(false);
    assert_eq!(batched, single, "the same end");
    assert!(batched.is_finished());
    assert_eq!(batched.succeeded, 3);
    assert_eq!(
        batched_writes, 2,
        "one flush before the finalizers go, one final write"
    );
    assert!(
        single_writes > batched_writes,
        "{single_writes} writes one by one"
    );
}

/// A batch is all or nothing: one unnamed pod and none is applied.
#[test]
fn a_batch_with_misuse_changes_nothing() {
    let mut ctl = World::new(pi("parallelism: 2\n  completions: 2"), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let before = ctl.status().clone();
    let done = owned(&pods[0], PodPhase::Succeeded);
    let unnamed = job_controller::api::Pod::default();
    let err = ctl
        .handle_pods(
            t(1),
            [PodEvent::Observed(&done), PodEvent::Observed(&unnamed)],
        )
        .unwrap_err();
    assert_eq!(err, job_controller::MachineError::UnnamedPod);
    assert_eq!(ctl.status(), &before);
    assert!(ctl.poll_action().is_none());
}

/// The contract on `JobController`: an input may arrive between two
/// `poll_action` calls. What was queued stays queued, in order, ahead of
/// what the new input asks for, and is not asked for again.
#[test]
fn an_input_while_draining_queues_after_what_is_queued() {
    let mut ctl = World::new(job(3, 3), t(0));
    let first = match ctl.poll_action() {
        Some(Action::CreatePod(p)) => p.into_pod(),
        other => panic!("expected a creation first, got {other:?}"),
    };
    // The first pod is reported, already finished, before the rest is drained.
    let mut pod = first.clone();
    pod.metadata.uid = "u-first".into();
    job_controller::sim::pod::succeeded(&mut pod, t(1));
    ctl.handle_pod(t(1), PodEvent::Observed(&pod)).unwrap();
    let rest: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    let queued_first = rest
        .iter()
        .take_while(|a| matches!(a, Action::CreatePod(_)))
        .count();
    assert_eq!(
        queued_first, 2,
        "the two queued creations come first: {rest:?}"
    );
    assert_eq!(
        count(&rest, |a| matches!(a, Action::CreatePod(_))),
        2,
        "no creation is asked for again: {rest:?}"
    );
    assert!(
        rest.iter().any(|a| matches!(
            a,
            Action::RemoveFinalizer { name, .. } if *name == first.metadata.name
        )),
        "the success is counted: {rest:?}"
    );
    assert_eq!(ctl.status().succeeded, 1);
}

/// A refused input changes nothing, the queue included.
#[test]
fn a_refused_input_while_draining_leaves_the_queue_as_it_was() {
    let mut ctl = World::new(job(3, 3), t(10));
    assert!(matches!(ctl.poll_action(), Some(Action::CreatePod(_))));
    let mut untouched = ctl.clone();
    assert!(ctl.handle_timeout(t(5)).is_err(), "time went backwards");
    let after: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    let before: Vec<Action> = std::iter::from_fn(|| untouched.poll_action()).collect();
    assert_eq!(after, before);
    assert_eq!(count(&after, |a| matches!(a, Action::CreatePod(_))), 2);
}

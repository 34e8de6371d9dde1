//! Rules of the machine that the conformance cases do not pin, one test per
//! rule, driven through the public API.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use job_controller::api::{PodPhase, PodStatus};
use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};

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
    let mut ctl = JobController::new(job(n, n), t0);
    let mut names = BTreeSet::new();
    let mut creations = 0;
    while let Some(action) = ctl.poll_action() {
        if let Action::CreatePod(p) = action {
            creations += 1;
            let mut pod = p.pod;
            names.insert(pod.metadata.name.clone());
            pod.metadata.uid = format!("uid-{creations}");
            pod.status = Some(PodStatus {
                phase: Some(PodPhase::Running),
                ..Default::default()
            });
            ctl.handle_pod(t0, PodEvent::Observed(pod))
                .expect("own pod");
        }
    }
    assert_eq!(creations, n as usize);
    assert_eq!(names.len(), n as usize);
    assert_eq!(ctl.status().active, n as i32);
}

/// Upstream's per-sync cap: no reconcile asks for more than 500 pods.
#[test]
fn at_most_500_creations_per_reconcile() {
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut ctl = JobController::new(job(2_000, 2_000), t0);
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

/// Drains actions, acknowledging creations as Pending pods with uid = name.
fn drain(ctl: &mut JobController, now: chrono::DateTime<Utc>) -> Vec<Action> {
    let mut seen = Vec::new();
    while let Some(action) = ctl.poll_action() {
        if let Action::CreatePod(p) = &action {
            let mut pod = p.pod.clone();
            pod.metadata.uid = pod.metadata.name.clone();
            pod.status = Some(PodStatus {
                phase: Some(PodPhase::Pending),
                ..Default::default()
            });
            ctl.handle_pod(now, PodEvent::Observed(pod))
                .expect("own pod");
        }
        seen.push(action);
    }
    seen
}

fn created(actions: &[Action]) -> Vec<job_controller::api::Pod> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::CreatePod(p) => {
                let mut pod = p.pod.clone();
                pod.metadata.uid = pod.metadata.name.clone();
                Some(pod)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn time_going_backwards_is_an_error_and_changes_nothing() {
    let mut ctl = JobController::new(pi(""), t(10));
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

#[test]
fn a_pod_controlled_by_something_else_is_refused() {
    let mut ctl = JobController::new(pi(""), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut foreign = pods[0].clone();
    foreign.metadata.name = "stranger".into();
    foreign.metadata.owner_references[0].uid = "another-job".into();
    let before = ctl.status().clone();
    let err = ctl
        .handle_pod(t(1), PodEvent::Observed(foreign))
        .unwrap_err();
    assert!(matches!(
        err,
        job_controller::MachineError::ForeignPod { .. }
    ));
    assert_eq!(ctl.status(), &before);
    assert_eq!(ctl.pod_count(), 1);
}

#[test]
fn a_spec_change_for_another_job_is_refused() {
    let mut ctl = JobController::new(pi(""), t(0));
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
    let mut ctl = JobController::new(pi("managedBy: example.com/queue"), t(0));
    assert!(drain(&mut ctl, t(0)).is_empty());
    assert_eq!(ctl.poll_timeout(), None);
}

#[test]
fn when_the_job_is_gone_every_remaining_finalizer_is_removed_and_the_machine_stops() {
    let mut ctl = JobController::new(pi("parallelism: 2\n  completions: 2"), t(0));
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
    let mut ctl = JobController::new(pi("parallelism: 2\n  completions: 4"), t(0));
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
    ctl.handle_pod(t(4), PodEvent::Observed(done)).unwrap();
    let actions = drain(&mut ctl, t(4));
    assert!(created(&actions).is_empty(), "no replacement: {actions:?}");
    assert_eq!(ctl.status().succeeded, 0);
    assert_eq!(ctl.status().active, 1);
}

#[test]
fn a_late_event_for_a_gone_pod_is_ignored() {
    let mut ctl = JobController::new(pi(""), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut done = pods[0].clone();
    done.status = Some(PodStatus {
        phase: Some(PodPhase::Succeeded),
        ..Default::default()
    });
    ctl.handle_pod(t(5), PodEvent::Observed(done.clone()))
        .unwrap();
    drain(&mut ctl, t(5));
    ctl.handle_pod(
        t(6),
        PodEvent::Gone {
            name: done.metadata.name.clone(),
        },
    )
    .unwrap();
    drain(&mut ctl, t(6));
    let status = ctl.status().clone();
    ctl.handle_pod(t(7), PodEvent::Observed(done)).unwrap();
    drain(&mut ctl, t(7));
    assert_eq!(ctl.status(), &status);
    assert_eq!(ctl.pod_count(), 0);
}

#[test]
fn a_failed_creation_is_asked_for_again_under_a_new_name() {
    let mut ctl = JobController::new(pi(""), t(0));
    let first = match ctl.poll_action() {
        Some(Action::CreatePod(p)) => p.pod.metadata.name.clone(),
        other => panic!("expected a creation, got {other:?}"),
    };
    assert!(ctl.poll_action().is_some(), "status write follows");
    ctl.handle_create_failed(t(1), &first).unwrap();
    let again = created(&drain(&mut ctl, t(1)));
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].metadata.name, first);
}

#[test]
fn an_unacknowledged_creation_is_never_asked_for_twice() {
    let mut ctl = JobController::new(pi(""), t(0));
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
    let mut ctl = JobController::new(pi("parallelism: 2\n  completions: 2"), t(0));
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
    let mut ctl = JobController::new(pi(""), t(0));
    drain(&mut ctl, t(0));
    ctl.handle_pod(t(1), PodEvent::Observed(orphan(&ctl, "other", false)))
        .unwrap();
    assert_eq!(ctl.pod_count(), 1);
    assert!(drain(&mut ctl, t(1)).is_empty());
}

#[test]
fn an_owned_pod_that_stops_matching_is_released_and_not_counted() {
    let mut ctl = JobController::new(pi("parallelism: 2\n  completions: 2"), t(0));
    let pods = created(&drain(&mut ctl, t(0)));
    let mut relabelled = pods[0].clone();
    relabelled.metadata.labels.clear();
    ctl.handle_pod(t(2), PodEvent::Observed(relabelled.clone()))
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
    ctl.handle_pod(t(3), PodEvent::Observed(relabelled))
        .unwrap();
    drain(&mut ctl, t(3));
    assert_eq!(ctl.status().failed, 0);
}

/// Found by fuzzing: a Job completing while `activeDeadlineSeconds` is set
/// kept asking for the deadline wake-up after it had finished.
#[test]
fn a_finished_job_asks_for_no_deadline_wake_up() {
    use job_controller::sim::{Cluster, pod};
    let mut ctl = JobController::new(pi("activeDeadlineSeconds: 1701"), t(0));
    let mut cluster = Cluster::new();
    let created = cluster.settle(&mut ctl, t(0)).unwrap().created;
    assert_eq!(
        ctl.poll_timeout().map(|w| w.at),
        Some(t(1701)),
        "deadline armed while running"
    );
    cluster
        .update(&mut ctl, t(294), &created[0].0, |p| {
            pod::succeeded(p, t(294))
        })
        .unwrap();
    cluster.settle(&mut ctl, t(294)).unwrap();
    assert!(ctl.is_finished());
    assert_eq!(ctl.poll_timeout(), None);
}

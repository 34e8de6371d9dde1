//! The `kube_operator` example's I/O-free half (`examples/kube_operator/plan.rs`)
//! against in-memory objects: a Job taken over by its `managedBy`, the
//! machine, and the API requests planned for its actions — with bodies and
//! patches as they would be sent — and failure reports coming back. Builds
//! without the `kube` feature: no kube-rs, no cluster.

#[path = "../examples/kube_operator/plan.rs"]
mod plan;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use job_controller::api::{Job, Pod};
use job_controller::sim::pod;
use job_controller::{ApiError, EventType, TimeoutReason};
use serde_json::{Value, json};

use plan::{JobEntry, MANAGER, Outcome, PodPatch, Request};

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

/// A Job as the API stores it (defaulted, selector generated), handed to
/// this operator by its `managedBy`.
fn stored_job(completions: i32, parallelism: i32) -> Job {
    let json = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "uid": "job-uid",
                     "resourceVersion": "100", "generation": 1,
                     "creationTimestamp": "2025-01-01T00:00:00Z"},
        "spec": {
            "managedBy": MANAGER,
            "completions": completions, "parallelism": parallelism, "backoffLimit": 6,
            "completionMode": "NonIndexed", "suspend": false,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "job-uid"}},
            "template": {
                "metadata": {"labels": {"batch.kubernetes.io/controller-uid": "job-uid",
                                        "batch.kubernetes.io/job-name": "pi",
                                        "controller-uid": "job-uid", "job-name": "pi"}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "pi", "image": "perl"}]}}}
    });
    serde_json::from_value(json).expect("a Job")
}

/// A stand-in API server: answers creations with the stored pod (a UID and
/// a resourceVersion), everything else with success.
#[derive(Default)]
struct Api {
    next: u32,
    pods: Vec<Pod>,
}

impl Api {
    fn create(&mut self, body: &Pod) -> Pod {
        self.next += 1;
        let mut pod = body.clone();
        pod.metadata.uid = format!("pod-uid-{}", self.next);
        pod.metadata.resource_version = format!("{}", 200 + self.next);
        pod::pending(&mut pod);
        self.pods.push(pod.clone());
        pod
    }
}

/// Sends every planned request to `api` (all succeed) and reports it;
/// returns the requests in order.
fn run(entry: &mut JobEntry, api: &mut Api, now: DateTime<Utc>) -> Vec<Request> {
    let mut sent = Vec::new();
    while let Some(request) = entry.next_request() {
        match &request {
            Request::CreatePod { pod } => {
                let created = api.create(pod);
                entry
                    .report(now, &request, Outcome::Done(Some(&created)))
                    .unwrap();
            }
            _ => entry.report(now, &request, Outcome::Done(None)).unwrap(),
        }
        sent.push(request);
    }
    sent
}

fn events(requests: &[Request]) -> Vec<(EventType, &str, &str)> {
    requests
        .iter()
        .filter_map(|r| match r {
            Request::Event {
                type_,
                reason,
                note,
                ..
            } => Some((*type_, reason.as_str(), note.as_str())),
            _ => None,
        })
        .collect()
}

fn status_patches(requests: &[Request]) -> Vec<&Value> {
    requests
        .iter()
        .filter_map(|r| match r {
            Request::PatchJobStatus { patch, .. } => Some(patch),
            _ => None,
        })
        .collect()
}

#[test]
fn only_jobs_managed_by_the_operator_are_taken_over_and_the_machine_sees_no_managed_by() {
    let job = stored_job(1, 1);
    assert!(plan::is_ours(&job));
    let mut builtin = job.clone();
    builtin.spec.managed_by = None;
    assert!(!plan::is_ours(&builtin));
    let mut other = job.clone();
    other.spec.managed_by = Some("kueue.x-k8s.io/multikueue".into());
    assert!(!plan::is_ours(&other));

    let copy = plan::for_machine(&job);
    assert_eq!(copy.spec.managed_by, None);
    assert_eq!(
        job.spec.managed_by.as_deref(),
        Some(MANAGER),
        "the Job keeps it"
    );
    let mut same = copy.clone();
    same.spec.managed_by = job.spec.managed_by.clone();
    assert_eq!(same, job, "nothing else changes");

    // With its managedBy, the machine would leave the Job to "another
    // controller": no pods. Without it, it runs the Job.
    let entry = JobEntry::start(&job, [], t(0)).unwrap();
    assert!(!entry.machine().job().is_managed_elsewhere());
}

#[test]
fn a_new_job_plans_its_pods_a_status_write_and_events() {
    let job = stored_job(2, 2);
    let mut entry = JobEntry::start(&job, [], t(0)).unwrap();
    let mut api = Api::default();
    let sent = run(&mut entry, &mut api, t(0));

    let bodies: Vec<&Pod> = sent
        .iter()
        .filter_map(|r| match r {
            Request::CreatePod { pod } => Some(&**pod),
            _ => None,
        })
        .collect();
    assert_eq!(bodies.len(), 2);
    for body in &bodies {
        let m = &body.metadata;
        assert!(m.name.starts_with("pi-"), "{}", m.name);
        assert_eq!(m.generate_name, "pi-");
        assert_eq!(m.namespace, "default");
        assert_eq!(m.finalizers, ["batch.kubernetes.io/job-tracking"]);
        let owner = &m.owner_references[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("Job", "pi", "job-uid")
        );
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
        assert_eq!(m.labels["batch.kubernetes.io/controller-uid"], "job-uid");
        assert_eq!(body.spec.containers[0].image.as_deref(), Some("perl"));
        // The body as sent: JSON with no managedBy anywhere, the spec as templated.
        let wire = serde_json::to_value(body).unwrap();
        assert_eq!(wire["spec"]["restartPolicy"], "Never");
    }

    let patches = status_patches(&sent);
    assert_eq!(patches.len(), 1, "{sent:#?}");
    assert_eq!(patches[0]["status"]["active"], 2);
    assert!(patches[0]["status"]["startTime"].is_string());
    assert_eq!(patches[0].as_object().unwrap().len(), 1, "only the status");

    let evs = events(&sent);
    assert_eq!(evs.len(), 2);
    for (e, body) in evs.iter().zip(&bodies) {
        assert_eq!(e.0, EventType::Normal);
        assert_eq!(e.1, "SuccessfulCreate");
        assert_eq!(e.2, format!("Created pod: {}", body.metadata.name));
    }
    assert!(sent.iter().all(|r| match r {
        Request::Event { reason, action, .. } =>
            *action == "CreatePod" && reason == "SuccessfulCreate",
        _ => true,
    }));
    // Nothing to wake for: the periodic resync.
    let requeue = entry.requeue(t(0));
    assert_eq!((requeue.after, requeue.reason), (plan::RESYNC, None));
}

#[test]
fn finished_pods_plan_finalizer_removal_and_a_status_patch_with_explicit_zeros() {
    let job = stored_job(2, 2);
    let mut entry = JobEntry::start(&job, [], t(0)).unwrap();
    let mut api = Api::default();
    run(&mut entry, &mut api, t(0));

    // The watch cache shows both pods succeeded.
    let mut done = api.pods.clone();
    for (i, p) in done.iter_mut().enumerate() {
        pod::succeeded(p, t(10));
        p.metadata.resource_version = format!("{}", 300 + i);
    }
    entry.sync_pods(t(10), &done, []).unwrap();
    let sent = run(&mut entry, &mut api, t(10));

    let removals: Vec<(&str, &Value)> = sent
        .iter()
        .filter_map(|r| match r {
            Request::PatchPod {
                name,
                purpose: PodPatch::RemoveFinalizer,
                patch,
            } => Some((name.as_str(), patch)),
            _ => None,
        })
        .collect();
    assert_eq!(removals.len(), 2, "{sent:#?}");
    for ((name, patch), pod) in removals.iter().zip(&done) {
        assert_eq!(*name, pod.metadata.name);
        assert_eq!(
            **patch,
            json!({"metadata": {
                "uid": pod.metadata.uid,
                "$deleteFromPrimitiveList/finalizers": ["batch.kubernetes.io/job-tracking"],
            }})
        );
    }

    let patches = status_patches(&sent);
    assert_eq!(patches.len(), 2, "{patches:#?}");
    // The first write: the pods' UIDs as uncounted, and active drops from
    // 2 to an explicit 0 (the status itself omits a zero counter, as Go's
    // `omitempty`: a naive diff of the two would leave `active: 2` stored).
    let first = &patches[0]["status"];
    assert_eq!(first["active"], json!(0), "{first:#}");
    assert_eq!(
        first["uncountedTerminatedPods"]["succeeded"],
        json!(["pod-uid-1", "pod-uid-2"])
    );
    // Then the finalizers go, then the final write counts them: each
    // patch is relative to the write before.
    let last = &patches[1]["status"];
    assert_eq!(last["succeeded"], json!(2), "{last:#}");
    assert!(
        last.get("active").is_none(),
        "unchanged since the first: {last:#}"
    );
    assert_eq!(last["uncountedTerminatedPods"], json!({"succeeded": null}));
    assert!(last["completionTime"].is_string());
    let conditions = last["conditions"].as_array().unwrap();
    let types: Vec<&str> = conditions
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["SuccessCriteriaMet", "Complete"]);
    // The order: the uncounted UIDs written before a finalizer goes.
    let position = |p: fn(&Request) -> bool| sent.iter().position(p).unwrap();
    assert!(
        position(|r| matches!(r, Request::PatchJobStatus { .. }))
            < position(|r| matches!(r, Request::PatchPod { .. }))
    );

    let evs = events(&sent);
    assert_eq!(evs, [(EventType::Normal, "Completed", "Job completed")]);
    assert!(entry.machine().is_finished());

    // A later reconcile with nothing new plans nothing.
    entry
        .sync_pods(t(20), &[], done.iter().map(|p| p.metadata.name.as_str()))
        .unwrap();
    assert!(entry.next_request().is_none());
}

#[test]
fn a_quota_failure_round_trip_plans_failed_create_and_a_retry_in_one_second() {
    let job = stored_job(1, 1);
    let mut entry = JobEntry::start(&job, [], t(0)).unwrap();
    let Some(request @ Request::CreatePod { .. }) = entry.next_request() else {
        panic!("a creation first");
    };
    // kube-rs: Err(kube::Error::Api(Status { code: 403, reason: "Forbidden", .. }))
    // → ApiError::from(&err), the same as:
    let quota = ApiError::from_status(
        403,
        "Forbidden",
        "pods \"pi-x\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1",
    );
    entry
        .report(t(0), &request, Outcome::Failed(&quota))
        .unwrap();
    let mut api = Api::default();
    let sent = run(&mut entry, &mut api, t(0));

    assert_eq!(
        events(&sent),
        [(
            EventType::Warning,
            "FailedCreate",
            "Error creating: pods \"pi-x\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1"
        )]
    );
    assert!(sent.iter().all(|r| !matches!(r, Request::CreatePod { .. })));
    let requeue = entry.requeue(t(0));
    assert_eq!(
        (requeue.after, requeue.reason),
        (Duration::from_secs(1), Some(TimeoutReason::Retry))
    );

    // At the retry the creation is asked for again.
    entry.wake(t(1)).unwrap();
    let again = run(&mut entry, &mut api, t(1));
    assert_eq!(
        again
            .iter()
            .filter(|r| matches!(r, Request::CreatePod { .. }))
            .count(),
        1
    );
}

#[test]
fn a_failed_status_write_is_reported_and_retried() {
    let job = stored_job(1, 1);
    let mut entry = JobEntry::start(&job, [], t(0)).unwrap();
    let mut api = Api::default();
    // Carry out the creation, fail every status write (a later write that
    // landed would end the failing streak: no retry then).
    let mut failed_write = None;
    while let Some(request) = entry.next_request() {
        match &request {
            Request::CreatePod { pod } => {
                let created = api.create(pod);
                entry
                    .report(t(0), &request, Outcome::Done(Some(&created)))
                    .unwrap();
            }
            Request::PatchJobStatus { patch, .. } => {
                failed_write = Some(patch.clone());
                let e = ApiError::from_status(500, "InternalError", "etcd timeout");
                entry.report(t(0), &request, Outcome::Failed(&e)).unwrap();
            }
            _ => entry.report(t(0), &request, Outcome::Done(None)).unwrap(),
        }
    }
    let failed_write = failed_write.expect("a status write");
    // Two reconciles failed in a row (the first, and the one the
    // creation's report brought): the work queue's delay doubled.
    let requeue = entry.requeue(t(0));
    assert_eq!(
        (requeue.after, requeue.reason),
        (Duration::from_secs(2), Some(TimeoutReason::Retry))
    );
    // The retry writes the same change again (relative to what landed:
    // nothing yet).
    entry.wake(t(2)).unwrap();
    let sent = run(&mut entry, &mut api, t(2));
    let patches = status_patches(&sent);
    assert_eq!(patches.len(), 1, "{sent:#?}");
    assert_eq!(
        patches[0]["status"]["active"],
        failed_write["status"]["active"]
    );
}

#[test]
fn the_list_diff_feeds_changes_and_disappearances_but_not_a_list_older_than_a_creation() {
    let job = stored_job(1, 1);
    let mut entry = JobEntry::start(&job, [], t(0)).unwrap();
    let mut api = Api::default();
    run(&mut entry, &mut api, t(0));
    let created = api.pods[0].clone();
    let name = created.metadata.name.clone();

    // A list taken before the creation landed does not show the new pod:
    // it is not gone.
    entry.sync_pods(t(1), &[], []).unwrap();
    assert!(entry.next_request().is_none());
    assert_eq!(entry.machine().status().active, 1);
    assert!(entry.is_current(&name, &created.metadata.resource_version));
    assert!(!entry.is_current(&name, "999"));

    // Listed (same version: nothing to tell), then missing: gone, and
    // replaced.
    entry.sync_pods(t(2), &[], [name.as_str()]).unwrap();
    assert!(entry.next_request().is_none());
    entry.sync_pods(t(3), &[], []).unwrap();
    let sent = run(&mut entry, &mut api, t(3));
    assert_eq!(
        sent.iter()
            .filter(|r| matches!(r, Request::CreatePod { .. }))
            .count(),
        1,
        "{sent:#?}"
    );
}

#[test]
fn pods_of_other_jobs_and_namespaces_do_not_concern_the_job() {
    let job = stored_job(1, 1);
    let entry = JobEntry::start(&job, [], t(0)).unwrap();
    assert_eq!(
        plan::pod_list_selector(&job),
        "batch.kubernetes.io/controller-uid=job-uid"
    );
    let mine = [(
        "batch.kubernetes.io/controller-uid".to_owned(),
        "job-uid".to_owned(),
    )]
    .into();
    let none = Default::default();
    assert!(entry.concerns("default", Some("job-uid"), &none));
    assert!(entry.concerns("default", None, &mine), "an orphan to adopt");
    assert!(!entry.concerns("other", Some("job-uid"), &mine));
    assert!(!entry.concerns("default", Some("another-job"), &none));
}

#[test]
fn deletion_after_ttl_and_restart_from_the_listed_pods() {
    // A Job that finished, with a TTL of 0: the Job is deleted, foreground,
    // with its UID as a precondition.
    let mut job = stored_job(1, 1);
    job.spec.ttl_seconds_after_finished = Some(0);
    let mut entry = JobEntry::start(&job, [], t(0)).unwrap();
    let mut api = Api::default();
    run(&mut entry, &mut api, t(0));
    let mut done = api.pods.clone();
    pod::succeeded(&mut done[0], t(5));
    done[0].metadata.resource_version = "301".into();
    entry.sync_pods(t(5), &done, []).unwrap();
    let sent = run(&mut entry, &mut api, t(5));
    assert!(
        sent.contains(&Request::DeleteJob {
            uid: "job-uid".into()
        }),
        "{sent:#?}"
    );

    // After a restart: the same Job (status as last written) and its pods as
    // listed; nothing to do but wait.
    let mut restarted_job = stored_job(2, 1);
    let mut fresh = JobEntry::start(&restarted_job, [], t(0)).unwrap();
    let mut api = Api::default();
    let first = run(&mut fresh, &mut api, t(0));
    let status = first
        .iter()
        .rev()
        .find_map(|r| match r {
            Request::PatchJobStatus { status, .. } => Some((**status).clone()),
            _ => None,
        })
        .unwrap();
    restarted_job.status = Some(status);
    let mut again = JobEntry::start(&restarted_job, &api.pods, t(30)).unwrap();
    let sent = run(&mut again, &mut api, t(30));
    assert!(sent.is_empty(), "{sent:#?}");
    assert_eq!(again.machine().status().active, 1);
}

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

//! Driving the Job controller by hand: `pi.yaml`, from creation to Complete.
//!
//! The machine never does I/O and never reads a clock. We play the API
//! server and the kubelet: after every input we drain `poll_action`, carry
//! the actions out, and report what happened back as events.
//!
//! Run with `cargo run --example by_hand`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::{
    ContainerState, ContainerStateTerminated, ContainerStatus, JobStatus, Pod, PodPhase, PodStatus,
    keys,
};
use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};

/// `pi.yaml` from the Kubernetes documentation.
const PI: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  completions: 1
  parallelism: 1
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
"#;

fn main() {
    // 1. Admit the Job as the API server does on create: it assigns a UID
    //    (the generated selector uses it), applies defaults and validates.
    let mut job = parse_job(PI).expect("pi.yaml parses");
    job.metadata.namespace = "default".into();
    job.metadata.uid = "6f1c0e2a-pi".into();
    let job = ValidJob::create(job).expect("pi.yaml is valid");
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    let at = |s: i64| t0 + Duration::seconds(s);

    // 2. Start the controller. It reconciles at once: one completion is
    //    wanted and no pod exists, so it asks for a pod and writes the
    //    status (startTime, active: 1).
    println!("t=0s   the Job is created");
    let mut ctl = JobController::new(job, t0);
    let mut pod = None;
    for action in drain(&mut ctl, t0, t0) {
        if let Action::CreatePod(p) = action {
            pod = Some(p.into_pod());
        }
    }
    let mut pod: Pod = pod.expect("the controller asked for a pod");

    // 3. The API server creates it: it gets a UID and a creation time. The
    //    informer tells the controller; the pod is Pending. This satisfies
    //    the controller's "expectation" for the creation it asked for.
    pod.metadata.uid = format!("uid-{}", pod.metadata.name);
    pod.metadata.creation_timestamp = Some(at(1));
    pod.status = Some(PodStatus {
        phase: Some(PodPhase::Pending),
        ..PodStatus::default()
    });
    println!("t=1s   pod {} exists (Pending)", pod.metadata.name);
    ctl.handle_pod(at(1), PodEvent::Observed(&pod)).unwrap();
    drain(&mut ctl, t0, at(1));

    // 4. The kubelet starts it. Nothing for the controller to do.
    pod.status.as_mut().unwrap().phase = Some(PodPhase::Running);
    println!("t=5s   the pod is Running");
    ctl.handle_pod(at(5), PodEvent::Observed(&pod)).unwrap();
    drain(&mut ctl, t0, at(5));

    // 5. perl prints 2000 digits of pi and exits 0: the pod Succeeded.
    //    The controller counts it exactly once: it first records the pod's
    //    UID in status.uncountedTerminatedPods, then removes the tracking
    //    finalizer, then moves it into status.succeeded. One completion of
    //    one is reached and no pod is left running, so SuccessCriteriaMet
    //    and Complete are added in the same reconcile.
    let status = pod.status.as_mut().unwrap();
    status.phase = Some(PodPhase::Succeeded);
    status.container_statuses = vec![ContainerStatus {
        name: "pi".into(),
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 0,
                finished_at: Some(at(40)),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    }];
    println!("t=40s  the pod Succeeded");
    ctl.handle_pod(at(40), PodEvent::Observed(&pod)).unwrap();
    drain(&mut ctl, t0, at(40));

    // 6. We carried out RemoveFinalizer; the watch reports the pod without
    //    it. Already counted: nothing happens (events are idempotent).
    pod.metadata
        .finalizers
        .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
    println!("t=41s  the finalizer removal is observed");
    ctl.handle_pod(at(41), PodEvent::Observed(&pod)).unwrap();
    drain(&mut ctl, t0, at(41));

    // 7. A finished Job wants no wake-up: no TTL is set.
    println!("\nfinished: {}", ctl.is_finished());
    println!("next wake-up: {:?}", ctl.poll_timeout());
    println!("final status: {}", summary(ctl.status()));
}

/// Drains and prints the controller's actions.
fn drain(ctl: &mut JobController, t0: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Action> {
    let actions: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    let t = (now - t0).num_seconds();
    if actions.is_empty() {
        println!("       (no actions)");
    }
    for a in &actions {
        // `Display` gives one line per action, e.g. `DeletePod pi-x7k2p (Suspended)`.
        println!("  {t:>4}s -> {a}");
    }
    actions
}

fn summary(s: &JobStatus) -> String {
    let conditions: Vec<String> = s
        .conditions
        .iter()
        .map(|c| format!("{}/{}", c.type_, c.reason))
        .collect();
    let uncounted = s
        .uncounted_terminated_pods
        .as_ref()
        .map_or(0, |u| u.succeeded.len() + u.failed.len());
    format!(
        "active={} succeeded={} failed={} uncounted={uncounted} conditions={conditions:?} completionTime={:?}",
        s.active,
        s.succeeded,
        s.failed,
        s.completion_time.map(|t| t.to_rfc3339())
    )
}

//! The hot path: pod events plus the reconciles that follow, measured at
//! growing numbers of pods. The machine keeps incremental aggregates, so the
//! time per iteration should stay flat (logarithmic) across the sizes; a
//! full recompute per event would grow linearly.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use job_controller::api::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodPhase, PodStatus,
};
use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};

/// A running Job with `n` active pods, all observed Running.
fn running_job(n: usize, completions: usize, reference: bool) -> (JobController, Vec<Pod>) {
    let mut job = parse_job(&format!(
        "metadata: {{name: bench, namespace: default, uid: b1}}
spec:
  completions: {}
  parallelism: {n}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]",
        completions
    ))
    .expect("bench manifest parses");
    job.metadata.uid = "b1".into();
    let t0 = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time");
    let valid = ValidJob::create(job).expect("valid");
    let mut ctl = if reference {
        new_reference(valid, t0)
    } else {
        JobController::new(valid, t0)
    };
    // Upstream creates at most 500 pods per sync: acknowledge until quiet.
    let mut pods = Vec::new();
    while let Some(action) = ctl.poll_action() {
        if let Action::CreatePod(p) = action {
            let mut pod = p.pod;
            pod.metadata.uid = format!("u{}", pods.len());
            pod.status = Some(PodStatus {
                phase: Some(PodPhase::Running),
                ..Default::default()
            });
            ctl.handle_pod(t0, PodEvent::Observed(pod.clone()))
                .expect("own pod");
            pods.push(pod);
        }
    }
    (ctl, pods)
}

#[cfg(feature = "reference")]
fn new_reference(job: ValidJob, now: DateTime<Utc>) -> JobController {
    JobController::new_reference(job, now)
}

#[cfg(not(feature = "reference"))]
fn new_reference(_: ValidJob, _: DateTime<Utc>) -> JobController {
    unreachable!("the reference model needs the `reference` feature")
}

fn succeeded(pod: &mut Pod, at: DateTime<Utc>) {
    pod.status = Some(PodStatus {
        phase: Some(PodPhase::Succeeded),
        container_statuses: vec![ContainerStatus {
            name: "main".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 0,
                    finished_at: Some(at),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    });
}

/// Steady state on one long-lived machine with `n` active pods: a pod
/// succeeds, the machine counts it and asks for a replacement, the
/// replacement is observed, the finished pod disappears. Per iteration that
/// is three events and three reconciles.
fn steady_state(c: &mut Criterion) {
    bench_steady_state(
        c,
        "steady_state_success_replace",
        &[100, 1_000, 10_000, 100_000],
        false,
    );
    #[cfg(feature = "reference")]
    bench_steady_state(
        c,
        "reference_model_success_replace",
        &[100, 1_000, 10_000],
        true,
    );
}

fn bench_steady_state(c: &mut Criterion, name: &str, sizes: &[usize], reference: bool) {
    let mut group = c.benchmark_group(name);
    for &n in sizes {
        let (mut ctl, pods) = running_job(n, 1_000_000_000, reference);
        let mut running: std::collections::VecDeque<Pod> = pods.into();
        let mut now = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 1, 0)
            .single()
            .expect("valid time");
        let mut uid = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                now += Duration::milliseconds(10);
                let mut pod = running.pop_front().expect("a running pod");
                succeeded(&mut pod, now);
                let name = pod.metadata.name.clone();
                ctl.handle_pod(now, PodEvent::Observed(pod))
                    .expect("own pod");
                let mut created = Vec::new();
                while let Some(action) = ctl.poll_action() {
                    if let Action::CreatePod(p) = action {
                        created.push(p.pod);
                    }
                }
                for mut new in created {
                    uid += 1;
                    new.metadata.uid = format!("n{uid}");
                    new.status = Some(PodStatus {
                        phase: Some(PodPhase::Running),
                        ..Default::default()
                    });
                    ctl.handle_pod(now, PodEvent::Observed(new.clone()))
                        .expect("own pod");
                    running.push_back(new);
                }
                ctl.handle_pod(now, PodEvent::Gone { name })
                    .expect("own pod");
                while ctl.poll_action().is_some() {}
            });
        });
    }
    group.finish();
}

criterion_group!(benches, steady_state);
criterion_main!(benches);

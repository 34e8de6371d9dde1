//! The hot path: one pod event plus the reconcile that follows, measured at
//! growing numbers of pods. An incremental machine shows flat (or
//! logarithmic) times across the sizes; a full recompute grows linearly.

use chrono::{Duration, TimeZone, Utc};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use job_controller::api::{
    ContainerState, ContainerStateTerminated, ContainerStatus, PodPhase, PodStatus,
};
use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};

/// A running Job with `n` active pods, all observed Running.
fn running_job(n: usize) -> (JobController, Vec<job_controller::api::Pod>) {
    let mut job = parse_job(&format!(
        "metadata: {{name: bench, namespace: default, uid: b1}}
spec:
  completions: {}
  parallelism: {n}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]",
        n * 2
    ))
    .expect("bench manifest parses");
    job.metadata.uid = "b1".into();
    let t0 = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time");
    let mut ctl = JobController::new(ValidJob::create(job).expect("valid"), t0);
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

fn one_success(c: &mut Criterion) {
    let mut group = c.benchmark_group("pod_succeeded_plus_reconcile");
    for n in [100usize, 1_000, 10_000] {
        let (ctl, pods) = running_job(n);
        let mut pod = pods[n / 2].clone();
        let t = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 1, 0)
            .single()
            .expect("valid time");
        pod.status = Some(PodStatus {
            phase: Some(PodPhase::Succeeded),
            container_statuses: vec![ContainerStatus {
                name: "main".into(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 0,
                        finished_at: Some(t - Duration::seconds(1)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        });
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_batched(
                || ctl.clone(),
                |mut ctl| {
                    ctl.handle_pod(t, PodEvent::Observed(pod.clone()))
                        .expect("own pod");
                    while ctl.poll_action().is_some() {}
                    ctl
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, one_success);
criterion_main!(benches);

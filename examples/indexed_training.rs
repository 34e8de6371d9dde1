//! An Indexed training Job with `backoffLimitPerIndex` and a `FailIndex`
//! rule on exit code 42: index 1 fails once and is retried, index 2 exits
//! 42 and fails for good, the others succeed, and the Job ends
//! Failed/FailedIndexes.
//!
//! Run with `cargo run --example indexed_training`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::{JobStatus, Pod, keys};
use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};

const TRAIN: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: train
spec:
  completionMode: Indexed
  completions: 4
  parallelism: 4
  backoffLimitPerIndex: 1
  podFailurePolicy:
    rules:
    - action: FailIndex
      onExitCodes: {containerName: trainer, operator: In, values: [42]}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: trainer
        image: myorg/trainer:3.0
"#;

/// A tiny cluster: creates what is asked, reports everything back.
struct Sim {
    ctl: JobController,
    t0: DateTime<Utc>,
    now: DateTime<Utc>,
    pods: BTreeMap<String, Pod>,
    by_index: BTreeMap<i32, String>,
}

impl Sim {
    /// Carries out queued actions, printing them.
    fn drain(&mut self) {
        while let Some(action) = self.ctl.poll_action() {
            let t = (self.now - self.t0).num_seconds();
            match action {
                Action::CreatePod(p) => {
                    let index = p.index.unwrap_or(-1);
                    let mut pod = p.into_pod();
                    let name = pod.metadata.name.clone();
                    let fc = &pod.metadata.annotations[keys::JOB_INDEX_FAILURE_COUNT];
                    println!("  {t:>3}s -> CreatePod {name} (index {index}, failure-count {fc})");
                    pod.metadata.uid = name.clone();
                    pod.metadata.creation_timestamp = Some(self.now);
                    pod.status = serde_yaml::from_str("phase: Running").ok();
                    self.by_index.insert(index, name.clone());
                    self.pods.insert(name, pod.clone());
                    self.ctl
                        .handle_pod(self.now, PodEvent::Observed(&pod))
                        .unwrap();
                }
                Action::RemoveFinalizer { name, .. } => {
                    println!("  {t:>3}s -> RemoveFinalizer {name}");
                    if let Some(p) = self.pods.get_mut(&name) {
                        p.metadata
                            .finalizers
                            .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                    }
                }
                Action::UpdateStatus(s) => println!("  {t:>3}s -> UpdateStatus {}", summary(&s)),
                other => println!("  {t:>3}s -> {other:?}"),
            }
        }
    }

    /// Fires every wake-up due up to `secs`.
    fn advance(&mut self, secs: i64) {
        let target = self.t0 + Duration::seconds(secs);
        while let Some(w) = self.ctl.poll_timeout().filter(|w| w.at <= target) {
            self.now = w.at;
            println!(
                "t={}s  wake-up ({:?})",
                (w.at - self.t0).num_seconds(),
                w.reason
            );
            self.ctl.handle_timeout(w.at).unwrap();
            self.drain();
        }
        self.now = target;
    }

    /// The pod of `index` exits with `code` at `secs`.
    fn finish(&mut self, index: i32, secs: i64, code: i32) {
        self.advance(secs);
        let name = self.by_index[&index].clone();
        println!("t={secs}s  index {index} ({name}) exits {code}");
        // The pod as the API serves it: phase and the trainer's exit code.
        let phase = if code == 0 { "Succeeded" } else { "Failed" };
        let status = format!(
            "phase: {phase}\ncontainerStatuses:\n- name: trainer\n  \
             state: {{terminated: {{exitCode: {code}, finishedAt: '{}'}}}}",
            self.now.to_rfc3339()
        );
        let (now, pod) = (self.now, self.pods.get_mut(&name).unwrap());
        pod.status = Some(serde_yaml::from_str(&status).expect("a pod status"));
        let pod = pod.clone();
        self.ctl.handle_pod(now, PodEvent::Observed(&pod)).unwrap();
        self.drain();
    }
}

fn summary(s: &JobStatus) -> String {
    let conditions: Vec<String> = s
        .conditions
        .iter()
        .map(|c| format!("{}/{}", c.type_, c.reason))
        .collect();
    format!(
        "active={} succeeded={} failed={} completed={:?} failedIndexes={:?} {conditions:?}",
        s.active,
        s.succeeded,
        s.failed,
        s.completed_indexes,
        s.failed_indexes.as_deref().unwrap_or("")
    )
}

fn main() {
    let mut job = parse_job(TRAIN).expect("manifest parses");
    job.metadata.namespace = "default".into();
    job.metadata.uid = "train-uid".into();
    let job = ValidJob::create(job).expect("manifest is valid");
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    println!("t=0s  the Job is created: one pod per index");
    let mut sim = Sim {
        ctl: JobController::new(job, t0),
        t0,
        now: t0,
        pods: BTreeMap::new(),
        by_index: BTreeMap::new(),
    };
    sim.drain();

    // Exit 1 is counted; backoffLimitPerIndex 1 allows one retry of index 1,
    // after the per-index backoff of 10 s. Until then upstream reports
    // `active: 0` (a quirk of its backoff path) and keeps the failed pod's
    // finalizer, so `failed` goes up only once the replacement exists.
    sim.finish(1, 30, 1);
    // Exit 42 matches the FailIndex rule: index 2 fails at once, no retry.
    sim.finish(2, 60, 42);
    sim.finish(0, 90, 0);
    sim.finish(3, 100, 0);
    // The retried index 1 succeeds: every index has now ended and one of
    // them failed, so the Job fails with reason FailedIndexes.
    sim.finish(1, 120, 0);
    println!("\nfinal status: {}", summary(sim.ctl.status()));
    assert!(sim.ctl.is_finished());
}

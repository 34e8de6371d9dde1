//! An Indexed training Job with `backoffLimitPerIndex` and a `FailIndex`
//! rule on exit code 42: index 1 fails once and is retried, index 2 exits
//! 42 and fails for good, the others succeed, and the Job ends
//! Failed/FailedIndexes.
//!
//! Run with `cargo run --example indexed_training`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::{JobStatus, keys};
use job_controller::sim::{Cluster, pod};
use job_controller::{JobController, ValidJob, parse_job};

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

/// The Job's controller and the API server ([`Cluster`], the crate's
/// executor of actions: it creates what is asked and reports every change
/// back), with a clock.
struct Sim {
    ctl: JobController,
    cluster: Cluster,
    t0: DateTime<Utc>,
    now: DateTime<Utc>,
    by_index: BTreeMap<i32, String>,
}

impl Sim {
    /// Lets the cluster carry out what the controller asks, printing it.
    fn drain(&mut self) {
        let t = (self.now - self.t0).num_seconds();
        let settled = self.cluster.settle(&mut self.ctl, self.now).unwrap();
        for action in &settled.actions {
            println!("  {t:>3}s -> {action}");
        }
        for (name, index) in settled.created {
            let pod = self.cluster.pod(&name).expect("created");
            let fc = &pod.metadata.annotations[keys::JOB_INDEX_FAILURE_COUNT];
            println!("         {name}: failure-count {fc}");
            self.by_index.insert(index.unwrap_or(-1), name);
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
        // What the kubelet reports: phase and the trainer's exit code.
        let now = self.now;
        self.cluster
            .update(&mut self.ctl, now, &name, |p| {
                if code == 0 {
                    pod::succeeded(p, now);
                } else {
                    pod::failed(p, code, Some("trainer"), now);
                }
            })
            .unwrap();
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
        cluster: Cluster::new(),
        by_index: BTreeMap::new(),
    };
    sim.cluster.record_actions(true);
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

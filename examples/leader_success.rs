//! A leader/workers Indexed Job with a success policy: the Job succeeds as
//! soon as the leader (index 0) succeeds. The controller then deletes the
//! workers, and adds `Complete` once they are gone.
//!
//! Run with `cargo run --example leader_success`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::JobStatus;
use job_controller::sim::{Cluster, pod};
use job_controller::{JobController, ValidJob, parse_job};

const LEADER_WORKERS: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: leader-workers
spec:
  completionMode: Indexed
  completions: 4
  parallelism: 4
  successPolicy:
    rules:
    - succeededIndexes: "0"
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: node
        image: myorg/node:1.0
"#;

struct Sim {
    ctl: JobController,
    t0: DateTime<Utc>,
    now: DateTime<Utc>,
    cluster: Cluster,
    by_index: BTreeMap<i32, String>,
}

impl Sim {
    /// Lets the cluster carry out what the controller asks, printing it:
    /// creations appear Pending, deletions leave the pod terminating until
    /// [`Sim::gone`].
    fn drain(&mut self) {
        let t = (self.now - self.t0).num_seconds();
        let settled = self.cluster.settle(&mut self.ctl, self.now).unwrap();
        for action in &settled.actions {
            println!("  {t:>3}s -> {action}");
        }
        for (name, index) in settled.created {
            self.by_index.insert(index.unwrap_or(-1), name);
        }
    }

    /// The pod of `index` exits 0.
    fn succeed(&mut self, index: i32, secs: i64) {
        self.now = self.t0 + Duration::seconds(secs);
        let name = self.by_index[&index].clone();
        println!("t={secs}s  index {index} ({name}) succeeds");
        let now = self.now;
        self.cluster
            .update(&mut self.ctl, now, &name, |p| pod::succeeded(p, now))
            .unwrap();
        self.drain();
    }

    /// A terminating pod finishes its grace period and disappears.
    fn gone(&mut self, index: i32, secs: i64) {
        self.now = self.t0 + Duration::seconds(secs);
        let name = self.by_index[&index].clone();
        println!("t={secs}s  worker {index} ({name}) is gone");
        self.cluster.remove(&mut self.ctl, self.now, &name).unwrap();
        self.drain();
    }
}

fn summary(s: &JobStatus) -> String {
    let conditions: Vec<String> = s
        .conditions
        .iter()
        .map(|c| format!("{}/{} {:?}", c.type_, c.reason, c.message))
        .collect();
    format!(
        "active={} terminating={} succeeded={} completed={:?} {conditions:?}",
        s.active,
        s.terminating.unwrap_or(0),
        s.succeeded,
        s.completed_indexes
    )
}

fn main() {
    let mut job = parse_job(LEADER_WORKERS).expect("manifest parses");
    job.metadata.namespace = "default".into();
    job.metadata.uid = "leader-workers-uid".into();
    let job = ValidJob::create(job).expect("manifest is valid");
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    println!("t=0s  the Job is created: a leader and three workers");
    let mut sim = Sim {
        ctl: JobController::new(job, t0),
        t0,
        now: t0,
        cluster: Cluster::new(),
        by_index: BTreeMap::new(),
    };
    sim.cluster.record_actions(true);
    sim.drain();

    // The leader succeeds: the rule `succeededIndexes: "0"` matches, the
    // interim SuccessCriteriaMet condition is written and every running
    // worker is deleted (not counted as failed).
    sim.succeed(0, 300);
    // Complete waits until no pod is terminating.
    for (n, index) in [1, 2, 3].into_iter().enumerate() {
        sim.gone(index, 305 + n as i64);
    }
    println!("\nfinal status: {}", summary(sim.ctl.status()));
    println!(
        "completionTime: {:?}",
        sim.ctl.status().completion_time.map(|t| t.to_rfc3339())
    );
    assert!(sim.ctl.is_finished());
}

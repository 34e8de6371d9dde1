//! A small discrete-event simulator: a [`Cluster`] plus kubelets whose pod
//! lifetimes and outcomes are drawn from a seeded generator, so a run is
//! reproducible from its seed.
//!
//! ```
//! use job_controller::sim::{PodBehaviour, Simulation};
//! use job_controller::{ValidJob, parse_job};
//!
//! let mut job = parse_job("
//! metadata: {name: demo, uid: d1}
//! spec:
//!   completions: 4
//!   parallelism: 2
//!   template:
//!     spec:
//!       restartPolicy: Never
//!       containers: [{name: main, image: busybox}]
//! ").unwrap();
//! let valid = ValidJob::create(job).unwrap();
//! let mut sim = Simulation::new(valid, PodBehaviour::default(), 42);
//! let outcome = sim.run_to_end(10_000);
//! assert!(outcome.finished);
//! assert_eq!(sim.controller().status().succeeded, 4);
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{Cluster, Settled, pod};
use crate::api::{ConditionStatus, PodPhase};
use crate::controller::JobController;
use crate::valid::ValidJob;

/// How simulated pods behave.
#[derive(Debug, Clone, PartialEq)]
pub struct PodBehaviour {
    /// Seconds from creation to running, drawn uniformly from this range.
    pub startup_seconds: (u32, u32),
    /// Seconds from running to finishing, drawn uniformly from this range.
    pub run_seconds: (u32, u32),
    /// Probability (0..=1) that a pod fails instead of succeeding.
    pub failure_probability: f64,
    /// Exit code of a failing container.
    pub failure_exit_code: i32,
    /// Seconds a deleted pod takes to go away.
    pub termination_seconds: u32,
}

impl Default for PodBehaviour {
    fn default() -> Self {
        PodBehaviour {
            startup_seconds: (1, 3),
            run_seconds: (5, 30),
            failure_probability: 0.2,
            failure_exit_code: 1,
            termination_seconds: 2,
        }
    }
}

/// What happened in a simulation, one line per effect.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub what: String,
}

/// The result of [`Simulation::run_to_end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the Job reached `Complete` or `Failed`.
    pub finished: bool,
    /// Events processed.
    pub steps: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scheduled {
    Running(String),
    Finish(String),
    Gone(String),
}

/// One Job, its pods and a clock.
#[derive(Debug, Clone)]
pub struct Simulation {
    ctl: JobController,
    cluster: Cluster,
    behaviour: PodBehaviour,
    rng: u64,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    queue: BTreeMap<(DateTime<Utc>, u64), Scheduled>,
    seq: u64,
    log: Vec<LogEntry>,
}

impl Simulation {
    /// Starts a simulation of `job` at 2025-01-01T00:00:00Z.
    pub fn new(job: ValidJob, behaviour: PodBehaviour, seed: u64) -> Simulation {
        let start = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let mut sim = Simulation {
            ctl: JobController::new(job, start),
            cluster: Cluster::new(),
            behaviour,
            rng: seed ^ 0x5DEE_CE66_D1CE_4E5B,
            now: start,
            start,
            queue: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
        };
        sim.settle();
        sim
    }

    /// The controller under simulation.
    pub fn controller(&self) -> &JobController {
        &self.ctl
    }

    /// The simulated API server's pods.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Everything that happened so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Seconds since the start, for display.
    pub fn elapsed(&self, at: DateTime<Utc>) -> f64 {
        (at - self.start).num_milliseconds() as f64 / 1000.0
    }

    /// Runs until the machine and the pods have nothing left to do, or
    /// `max_steps` events were processed.
    pub fn run_to_end(&mut self, max_steps: u64) -> Outcome {
        let mut steps = 0;
        while steps < max_steps {
            let next_event = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = self.ctl.poll_timeout().map(|t| t.at);
            let next = match (next_event, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            self.now = self.now.max(next);
            steps += 1;
            if next_event == Some(next) {
                if let Some((_, event)) = self.queue.pop_first() {
                    self.apply(event);
                }
            } else if self.ctl.handle_timeout(self.now).is_ok() {
                self.settle();
            }
        }
        Outcome {
            finished: self.ctl.is_finished(),
            steps,
        }
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn seconds_in(&mut self, (lo, hi): (u32, u32)) -> Duration {
        let span = u64::from(hi.saturating_sub(lo)) + 1;
        Duration::seconds(i64::from(lo) + (self.random() % span) as i64)
    }

    fn schedule(&mut self, at: DateTime<Utc>, event: Scheduled) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn note(&mut self, what: String) {
        self.log.push(LogEntry { at: self.now, what });
    }

    /// Changes a pod as its kubelet would, reports it, settles.
    fn kubelet(&mut self, name: &str, change: impl FnOnce(&mut crate::api::Pod)) {
        // The simulator only reports pods of this Job: no error is possible.
        let _ = self.cluster.update(&mut self.ctl, self.now, name, change);
        self.settle();
    }

    fn apply(&mut self, event: Scheduled) {
        let now = self.now;
        match event {
            Scheduled::Running(name) => {
                let startable = self.cluster.pod(&name).is_some_and(|p| {
                    p.metadata.deletion_timestamp.is_none() && p.phase() == PodPhase::Pending
                });
                if startable {
                    self.note(format!("pod {name} running"));
                    let run = self.seconds_in(self.behaviour.run_seconds);
                    self.schedule(
                        crate::time::after(now, run),
                        Scheduled::Finish(name.clone()),
                    );
                    self.kubelet(&name, |p| pod::ready(p, true, now));
                }
            }
            Scheduled::Finish(name) => {
                if self.cluster.pod(&name).map(|p| p.phase()) != Some(PodPhase::Running) {
                    return;
                }
                let fails = (self.random() % 1_000_000) as f64 / 1_000_000.0
                    < self.behaviour.failure_probability;
                if fails {
                    let code = self.behaviour.failure_exit_code;
                    self.note(format!("pod {name} failed (exit {code})"));
                    self.kubelet(&name, |p| pod::failed(p, code, None, now));
                } else {
                    self.note(format!("pod {name} succeeded"));
                    self.kubelet(&name, |p| pod::succeeded(p, now));
                }
            }
            Scheduled::Gone(name) => {
                if self.cluster.pod(&name).is_some() {
                    self.note(format!("pod {name} gone"));
                    let _ = self.cluster.remove(&mut self.ctl, now, &name);
                    self.settle();
                }
            }
        }
    }

    /// Lets the cluster carry out the controller's actions, logs them and
    /// schedules what follows (start-up, removal of deleted and of
    /// released finished pods).
    fn settle(&mut self) {
        let Ok(settled) = self.cluster.settle(&mut self.ctl, self.now) else {
            return;
        };
        let Settled {
            created,
            deleted,
            finalizers_removed,
            statuses,
            job_deleted,
        } = settled;
        for (name, index) in created {
            let index = index.map(|i| format!(" (index {i})")).unwrap_or_default();
            self.note(format!("create pod {name}{index}"));
            let startup = self.seconds_in(self.behaviour.startup_seconds);
            self.schedule(
                crate::time::after(self.now, startup),
                Scheduled::Running(name),
            );
        }
        for (name, reason) in deleted {
            self.note(format!("delete pod {name} ({reason:?})"));
            let grace = Duration::seconds(i64::from(self.behaviour.termination_seconds));
            self.schedule(crate::time::after(self.now, grace), Scheduled::Gone(name));
        }
        for name in finalizers_removed {
            let finished = self
                .cluster
                .pod(&name)
                .is_some_and(|p| matches!(p.phase(), PodPhase::Succeeded | PodPhase::Failed));
            if finished {
                // The garbage collector removes finished pods once nothing
                // holds them.
                self.schedule(
                    crate::time::after(self.now, Duration::seconds(1)),
                    Scheduled::Gone(name),
                );
            }
        }
        for status in statuses {
            let conditions: Vec<String> = status
                .conditions
                .iter()
                .filter(|c| c.status == ConditionStatus::True)
                .map(|c| format!("{}({})", c.type_, c.reason))
                .collect();
            self.note(format!(
                "status active={} ready={} succeeded={} failed={} terminating={}{}{}",
                status.active,
                status.ready.unwrap_or(0),
                status.succeeded,
                status.failed,
                status.terminating.unwrap_or(0),
                if status.completed_indexes.is_empty() {
                    String::new()
                } else {
                    format!(" completedIndexes={:?}", status.completed_indexes)
                },
                if conditions.is_empty() {
                    String::new()
                } else {
                    format!(" conditions={}", conditions.join(","))
                }
            ));
        }
        if job_deleted {
            self.note("delete job (TtlAfterFinished)".to_owned());
        }
    }
}

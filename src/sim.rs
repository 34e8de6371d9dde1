//! A small discrete-event simulator at the edge of the crate: it plays the
//! API server and the kubelets around one [`JobController`], so a Job can be
//! run end to end without a cluster. Pod lifetimes and outcomes are drawn
//! from a seeded generator, so a run is reproducible from its seed.
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

use crate::api::{
    ConditionStatus, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition,
    PodPhase, PodStatus, keys,
};
use crate::controller::{Action, JobController, PodEvent};
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
    behaviour: PodBehaviour,
    rng: u64,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    pods: BTreeMap<String, Pod>,
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
            behaviour,
            rng: seed ^ 0x5DEE_CE66_D1CE_4E5B,
            now: start,
            start,
            pods: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
        };
        sim.drain();
        sim
    }

    /// The controller under simulation.
    pub fn controller(&self) -> &JobController {
        &self.ctl
    }

    /// Everything that happened so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Seconds since the start, for display.
    pub fn elapsed(&self, at: DateTime<Utc>) -> f64 {
        (at - self.start).num_milliseconds() as f64 / 1000.0
    }

    /// Runs until the Job is finished and its pods are gone, the machine has
    /// nothing left to do, or `max_steps` events were processed.
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
                self.drain();
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

    fn report(&mut self, name: &str) {
        if let Some(pod) = self.pods.get(name).cloned() {
            // The simulator only reports pods of this Job: no error is possible.
            let _ = self.ctl.handle_pod(self.now, PodEvent::Observed(pod));
            self.drain();
        }
    }

    fn apply(&mut self, event: Scheduled) {
        match event {
            Scheduled::Running(name) => {
                let Some(pod) = self.pods.get_mut(&name) else {
                    return;
                };
                if pod.metadata.deletion_timestamp.is_some() || pod.phase() != PodPhase::Pending {
                    return;
                }
                let status = pod.status.get_or_insert_with(PodStatus::default);
                status.phase = Some(PodPhase::Running);
                status.conditions = vec![PodCondition {
                    type_: "Ready".into(),
                    status: ConditionStatus::True,
                    last_transition_time: Some(self.now),
                    reason: None,
                    message: None,
                }];
                self.note(format!("pod {name} running"));
                let run = self.seconds_in(self.behaviour.run_seconds);
                self.schedule(self.now + run, Scheduled::Finish(name.clone()));
                self.report(&name);
            }
            Scheduled::Finish(name) => {
                let fails = (self.random() % 1_000_000) as f64 / 1_000_000.0
                    < self.behaviour.failure_probability;
                let code = if fails {
                    self.behaviour.failure_exit_code
                } else {
                    0
                };
                let now = self.now;
                let Some(pod) = self.pods.get_mut(&name) else {
                    return;
                };
                if pod.phase() != PodPhase::Running {
                    return;
                }
                let status = pod.status.get_or_insert_with(PodStatus::default);
                status.phase = Some(if fails {
                    PodPhase::Failed
                } else {
                    PodPhase::Succeeded
                });
                status.conditions = vec![PodCondition {
                    type_: "Ready".into(),
                    status: ConditionStatus::False,
                    last_transition_time: Some(now),
                    reason: None,
                    message: None,
                }];
                status.container_statuses = pod
                    .spec
                    .containers
                    .iter()
                    .map(|c| ContainerStatus {
                        name: c.name.clone(),
                        state: Some(ContainerState {
                            terminated: Some(ContainerStateTerminated {
                                exit_code: code,
                                finished_at: Some(now),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .collect();
                let outcome = if fails {
                    format!("failed (exit {code})")
                } else {
                    "succeeded".to_owned()
                };
                self.note(format!("pod {name} {outcome}"));
                self.report(&name);
            }
            Scheduled::Gone(name) => {
                if self.pods.remove(&name).is_some() {
                    self.note(format!("pod {name} gone"));
                    let _ = self.ctl.handle_pod(self.now, PodEvent::Gone { name });
                    self.drain();
                }
            }
        }
    }

    /// Carries out the controller's actions as an API server would.
    fn drain(&mut self) {
        while let Some(action) = self.ctl.poll_action() {
            match action {
                Action::CreatePod(p) => {
                    let mut pod = p.pod;
                    let name = pod.metadata.name.clone();
                    pod.metadata.uid = format!("uid-{name}");
                    pod.metadata.creation_timestamp = Some(self.now);
                    pod.status = Some(PodStatus {
                        phase: Some(PodPhase::Pending),
                        ..Default::default()
                    });
                    let index = p.index.map(|i| format!(" (index {i})")).unwrap_or_default();
                    self.note(format!("create pod {name}{index}"));
                    self.pods.insert(name.clone(), pod);
                    let startup = self.seconds_in(self.behaviour.startup_seconds);
                    self.schedule(self.now + startup, Scheduled::Running(name.clone()));
                    self.report(&name);
                }
                Action::DeletePod { name, reason } => {
                    self.note(format!("delete pod {name} ({reason:?})"));
                    let Some(pod) = self.pods.get_mut(&name) else {
                        continue;
                    };
                    if pod.metadata.deletion_timestamp.is_none() {
                        pod.metadata.deletion_timestamp = Some(self.now);
                        let grace =
                            Duration::seconds(i64::from(self.behaviour.termination_seconds));
                        self.schedule(self.now + grace, Scheduled::Gone(name.clone()));
                    }
                    self.report(&name);
                }
                Action::RemoveFinalizer { name, .. } => {
                    if let Some(pod) = self.pods.get_mut(&name) {
                        pod.metadata
                            .finalizers
                            .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                        if pod.phase() == PodPhase::Succeeded || pod.phase() == PodPhase::Failed {
                            // The garbage collector removes finished pods
                            // once nothing holds them.
                            let at = self.now + Duration::seconds(1);
                            self.schedule(at, Scheduled::Gone(name.clone()));
                        }
                    }
                }
                Action::UpdateStatus(status) => {
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
                Action::DeleteJob { reason } => self.note(format!("delete job ({reason:?})")),
            }
        }
    }
}

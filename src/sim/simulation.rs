//! A small discrete-event simulator: a [`Cluster`] plus kubelets whose pod
//! lifetimes and outcomes are drawn from a seeded generator, so a run is
//! reproducible from its seed. One Job ([`Simulation::new`]) or several on
//! one clock, with an optional limit on the pods that hold a node slot
//! ([`Simulation::builder`]).
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

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::BuildHasherDefault;
use std::num::NonZeroUsize;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;

use super::{Cluster, Settled, pod};
use crate::api::{ConditionStatus, JobConditionType, JobStatus, Pod, PodPhase};
use crate::controller::{DeleteReason, Fnv, JobController, PodEvent};
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
    /// Probability (0..=1) that a running pod is evicted before it
    /// finishes: it gets `DisruptionTarget=True` (reason
    /// `EvictionByEvictionAPI`) and its container is killed (exit 137), as
    /// a drain or a preemption would. Checked before
    /// [`failure_probability`](Self::failure_probability).
    pub eviction_probability: f64,
}

impl Default for PodBehaviour {
    fn default() -> Self {
        PodBehaviour {
            startup_seconds: (1, 3),
            run_seconds: (5, 30),
            failure_probability: 0.2,
            failure_exit_code: 1,
            termination_seconds: 2,
            eviction_probability: 0.0,
        }
    }
}

/// The simulation's seeded generator (splitmix64), handed to a
/// [`PodModel`] at each decision so that a run repeats from its seed.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `p` (in millionths).
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() % 1_000_000) as f64 / 1_000_000.0 < p
    }

    /// Whole seconds drawn uniformly from `lo..=hi`.
    pub fn seconds_in(&mut self, (lo, hi): (u32, u32)) -> Duration {
        let span = u64::from(hi.saturating_sub(lo)) + 1;
        Duration::seconds(i64::from(lo) + (self.next_u64() % span) as i64)
    }
}

/// How a simulated pod ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// Every container exits 0.
    Succeeded,
    /// The (first) container exits with this code.
    Failed {
        /// The exit code.
        exit_code: i32,
    },
    /// Evicted: `DisruptionTarget=True` (`EvictionByEvictionAPI`), the
    /// container killed ([`EVICTION_EXIT_CODE`]).
    Evicted,
}

/// How simulated pods behave: the simulation asks at each point of a
/// pod's life, with the run's generator. [`PodBehaviour`] (seeded random
/// lifetimes and outcomes) is the default; a simulator with its own model
/// (a trace, a per-index failure plan, a slow node) implements this.
///
/// ```
/// use chrono::Duration;
/// use job_controller::api::Pod;
/// use job_controller::sim::{Ending, PodModel, SimRng, Simulation};
/// use job_controller::{ValidJob, parse_job};
///
/// /// Every pod takes 10 s, and index 1 always fails once.
/// #[derive(Debug, Clone, Default)]
/// struct Scripted { failed_once: bool }
///
/// impl PodModel for Scripted {
///     fn startup(&mut self, _: &Pod, _: &mut SimRng) -> Duration { Duration::seconds(1) }
///     fn runtime(&mut self, _: &Pod, _: &mut SimRng) -> Duration { Duration::seconds(10) }
///     fn ending(&mut self, pod: &Pod, _: &mut SimRng) -> Ending {
///         let index = pod.metadata.annotations.get("batch.kubernetes.io/job-completion-index");
///         if index.map(String::as_str) == Some("1") && !self.failed_once {
///             self.failed_once = true;
///             return Ending::Failed { exit_code: 3 };
///         }
///         Ending::Succeeded
///     }
///     fn termination(&mut self, _: &Pod, _: &mut SimRng) -> Duration { Duration::seconds(1) }
/// }
///
/// let job = parse_job("
/// metadata: {name: s, uid: s1}
/// spec:
///   completions: 3
///   parallelism: 3
///   completionMode: Indexed
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{name: main, image: busybox}]
/// ").unwrap();
/// let mut sim = Simulation::new(ValidJob::create(job).unwrap(), Scripted::default(), 1);
/// assert!(sim.run_to_end(1_000).finished);
/// assert_eq!(sim.controller().status().failed, 1);
/// assert_eq!(sim.controller().status().succeeded, 3);
/// ```
pub trait PodModel {
    /// Time from creation to running.
    fn startup(&mut self, pod: &Pod, rng: &mut SimRng) -> Duration;
    /// Time from running to the end.
    fn runtime(&mut self, pod: &Pod, rng: &mut SimRng) -> Duration;
    /// How the running pod ends.
    fn ending(&mut self, pod: &Pod, rng: &mut SimRng) -> Ending;
    /// Time a pod the controller deleted takes to go away.
    fn termination(&mut self, pod: &Pod, rng: &mut SimRng) -> Duration;
}

impl PodModel for PodBehaviour {
    fn startup(&mut self, _: &Pod, rng: &mut SimRng) -> Duration {
        rng.seconds_in(self.startup_seconds)
    }

    fn runtime(&mut self, _: &Pod, rng: &mut SimRng) -> Duration {
        rng.seconds_in(self.run_seconds)
    }

    fn ending(&mut self, _: &Pod, rng: &mut SimRng) -> Ending {
        // No draw when evictions are off: runs without them stay exactly
        // as they were before evictions existed.
        let evicted = self.eviction_probability > 0.0 && rng.chance(self.eviction_probability);
        let fails = rng.chance(self.failure_probability);
        if evicted {
            Ending::Evicted
        } else if fails {
            Ending::Failed {
                exit_code: self.failure_exit_code,
            }
        } else {
            Ending::Succeeded
        }
    }

    fn termination(&mut self, _: &Pod, _: &mut SimRng) -> Duration {
        Duration::seconds(i64::from(self.termination_seconds))
    }
}

/// The seed of the pods of the Job at `position` (0 for the first) in a
/// simulation seeded with `seed`: each Job draws its pods' lifetimes and
/// outcomes from its own generator, so that (with unlimited capacity) a
/// Job runs in a simulation of several exactly as it runs alone with this
/// seed. The first Job keeps `seed` itself: a simulation of one Job is the
/// same whichever constructor made it.
///
/// ```
/// use job_controller::sim::job_seed;
///
/// assert_eq!(job_seed(42, 0), 42);
/// assert_ne!(job_seed(42, 1), job_seed(42, 2));
/// assert_eq!(job_seed(42, 1), job_seed(42, 1));
/// ```
pub fn job_seed(seed: u64, position: usize) -> u64 {
    if position == 0 {
        return seed;
    }
    let position = u64::try_from(position).unwrap_or(u64::MAX);
    SimRng(seed ^ position.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// A pod of the simulation, by the order it was first logged; its name is
/// [`Simulation::pod_name`], its Job [`Simulation::pod_job`]. The log keeps
/// these instead of names, so a run of 100 000 pods logs each name once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodRef(u32);

impl PodRef {
    /// The position in the simulation's pod table.
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A Job of the simulation, by its position among the Jobs given (0 for
/// the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobRef(u32);

impl JobRef {
    /// The Job's position among the Jobs given (0 for the first).
    pub fn position(self) -> usize {
        self.0 as usize
    }

    fn of(position: usize) -> JobRef {
        JobRef(u32::try_from(position).unwrap_or(u32::MAX))
    }
}

/// The counters and true conditions of a status the controller wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusLine {
    /// `status.active`.
    pub active: i32,
    /// `status.ready`.
    pub ready: i32,
    /// `status.succeeded`.
    pub succeeded: i32,
    /// `status.failed`.
    pub failed: i32,
    /// `status.terminating`.
    pub terminating: i32,
    /// Conditions with status True: type and reason.
    pub conditions: Vec<(JobConditionType, String)>,
    /// Pods of the Job that were active (neither finished nor being
    /// deleted) in the cluster when the status was written. Upstream
    /// reports `active: 0` while a pod-failure backoff holds a replacement
    /// back, whatever runs; the difference shows it.
    pub running: i32,
    /// `status.startTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    /// `status.completionTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<DateTime<Utc>>,
}

impl StatusLine {
    fn of(status: &JobStatus, running: i32) -> StatusLine {
        StatusLine {
            running,
            active: status.active,
            ready: status.ready.unwrap_or(0),
            succeeded: status.succeeded,
            failed: status.failed,
            terminating: status.terminating.unwrap_or(0),
            conditions: status
                .conditions
                .iter()
                .filter(|c| c.status == ConditionStatus::True)
                .map(|c| (c.type_.clone(), c.reason.clone()))
                .collect(),
            start_time: status.start_time,
            completion_time: status.completion_time,
        }
    }
}

/// What happened, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimEvent {
    /// The controller created a pod (with its completion index).
    PodCreated {
        /// The pod.
        pod: PodRef,
        /// Its completion index (Indexed Jobs).
        index: Option<i32>,
    },
    /// The pod got a node slot (logged only when the simulation has a
    /// capacity): it holds it until it finishes or is gone.
    PodScheduled {
        /// The pod.
        pod: PodRef,
    },
    /// Every node slot is taken (logged only when the simulation has a
    /// capacity): the pod stays Pending, unscheduled, until a slot frees
    /// (first come, first served, across Jobs).
    PodWaiting {
        /// The pod.
        pod: PodRef,
    },
    /// The kubelet started the pod.
    PodRunning {
        /// The pod.
        pod: PodRef,
    },
    /// Every container exited 0.
    PodSucceeded {
        /// The pod.
        pod: PodRef,
    },
    /// A container failed.
    PodFailed {
        /// The pod.
        pod: PodRef,
        /// Its exit code.
        exit_code: i32,
    },
    /// A container failed in a pod that restarts it in place
    /// (`restartPolicy: OnFailure`): the pod stays Running, not ready,
    /// and the kubelet restarts the container after its crash-loop
    /// back-off. The Job counts the restart against `backoffLimit`.
    PodCrashed {
        /// The pod.
        pod: PodRef,
        /// The container's exit code.
        exit_code: i32,
        /// Seconds until the kubelet restarts it (10 s, doubling per
        /// restart, at most 300 s).
        restart_in: i64,
    },
    /// The kubelet restarted the pod's container in place.
    PodRestarted {
        /// The pod.
        pod: PodRef,
        /// The container's restart count now.
        restarts: i32,
    },
    /// The pod was evicted (`DisruptionTarget`) and its container killed.
    PodEvicted {
        /// The pod.
        pod: PodRef,
    },
    /// The controller asked for the pod's deletion.
    PodDeleted {
        /// The pod.
        pod: PodRef,
        /// Why.
        reason: DeleteReason,
    },
    /// The pod is gone from the API.
    PodGone {
        /// The pod.
        pod: PodRef,
    },
    /// The controller wrote the status.
    StatusWritten(StatusLine),
    /// The controller asked for the Job's deletion (TTL).
    JobDeleted,
}

/// One logged event, its Job and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The Job it concerns (the pod's, for a pod event).
    pub job: JobRef,
    /// What.
    pub event: SimEvent,
}

/// A log entry as a flat record that names its Job and pod: one JSON
/// object per event for tools (`serde_json::to_string(&sim.record(entry))`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Record<'a> {
    /// When.
    pub at: DateTime<Utc>,
    /// Seconds since the simulation started.
    pub seconds: f64,
    /// What: `podCreated`, `podScheduled`, `podWaiting`, `podRunning`,
    /// `podSucceeded`, `podFailed`, `podCrashed`, `podRestarted`,
    /// `podEvicted`, `podDeleted`, `podGone`, `statusWritten` or
    /// `jobDeleted`.
    pub event: &'static str,
    /// The Job ([`Simulation::job_label`]: its name, or
    /// `namespace/name` if Jobs of the simulation share the name).
    pub job: &'a str,
    /// The pod's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<&'a str>,
    /// Its completion index (a created pod of an Indexed Job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<i32>,
    /// A failed pod's (or crashed container's) exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A crashed container: seconds until the kubelet restarts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_in: Option<i64>,
    /// A restarted container's restart count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts: Option<i32>,
    /// Why the controller deleted the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The status written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a StatusLine>,
}

/// The result of [`Simulation::run_to_end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether every Job reached `Complete` or `Failed`.
    pub finished: bool,
    /// Events processed.
    pub steps: u64,
}

/// Why Jobs cannot be simulated together ([`SimulationBuilder::build`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No Job was given.
    #[error("a simulation needs at least one Job")]
    NoJobs,
    /// Two Jobs have the same namespace and name (the API server would
    /// refuse the second).
    #[error(
        "metadata.name: Duplicate value: \"{namespace}/{name}\": Jobs {first} and {second} of \
         the simulation have the same namespace and name"
    )]
    DuplicateJob {
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
        /// Position of the first of them.
        first: usize,
        /// Position of the second.
        second: usize,
    },
    /// Two Jobs have the same UID (each pod's owner reference names its
    /// Job by UID).
    #[error(
        "metadata.uid: Duplicate value: {uid:?}: Jobs {first} and {second} of the simulation \
         have the same UID"
    )]
    DuplicateUid {
        /// The UID.
        uid: String,
        /// Position of the first of them.
        first: usize,
        /// Position of the second.
        second: usize,
    },
    /// Two Jobs of one namespace generate pod names from the same base
    /// (e.g. Indexed `a` and NonIndexed `a-0`, or names alike in their
    /// first 57 characters), so their pods could get the same name.
    #[error(
        "metadata.name: Invalid value: \"{second_name}\": Jobs {first} ({first_name:?}) and \
         {second} of namespace {namespace} both name pods {base:?} plus 5 characters, so their \
         pod names may clash"
    )]
    PodNamesMayClash {
        /// The namespace.
        namespace: String,
        /// Position of the first Job.
        first: usize,
        /// Its name.
        first_name: String,
        /// Position of the second Job.
        second: usize,
        /// Its name.
        second_name: String,
        /// The pod name base both generate.
        base: String,
    },
}

/// Several Jobs, sharing one simulated clock and, optionally, a limited
/// number of node slots ([`Simulation::builder`]).
///
/// ```
/// use std::num::NonZeroUsize;
/// use job_controller::sim::{PodBehaviour, SimEvent, Simulation};
/// use job_controller::{ValidJob, parse_job};
///
/// let job = |name: &str| {
///     let text = format!("
/// metadata: {{name: {name}, uid: u-{name}}}
/// spec:
///   completions: 3
///   parallelism: 3
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{{name: main, image: busybox}}]");
///     ValidJob::create(parse_job(&text).unwrap()).unwrap()
/// };
/// let mut sim = Simulation::builder(7)
///     .job(job("a"), PodBehaviour::default())
///     .job(job("b"), PodBehaviour::default())
///     .capacity(NonZeroUsize::new(2).unwrap())
///     .build()
///     .unwrap();
/// assert!(sim.run_to_end(100_000).finished);
/// // Six pods at first, two node slots: four wait.
/// let waited = sim.log().iter().filter(|e| matches!(e.event, SimEvent::PodWaiting { .. }));
/// assert!(waited.count() >= 4);
/// for job in sim.jobs() {
///     assert!(sim.controller_of(job).unwrap().is_finished());
/// }
///
/// // The same namespace and name twice is refused.
/// let twice = Simulation::builder(7)
///     .job(job("a"), PodBehaviour::default())
///     .job(job("a"), PodBehaviour::default())
///     .build();
/// assert!(twice.unwrap_err().to_string().contains("default/a"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SimulationBuilder<B: PodModel = PodBehaviour> {
    seed: u64,
    jobs: Vec<(ValidJob, B)>,
    capacity: Option<NonZeroUsize>,
}

impl<B: PodModel> SimulationBuilder<B> {
    /// Adds a Job, its pods behaving as `behaviour` says; its position is
    /// the number of Jobs added before it.
    pub fn job(mut self, job: ValidJob, behaviour: B) -> Self {
        self.jobs.push((job, behaviour));
        self
    }

    /// At most `slots` pods hold a node slot at once (none: unlimited).
    pub fn capacity(mut self, slots: NonZeroUsize) -> Self {
        self.capacity = Some(slots);
        self
    }

    /// The simulation, its Jobs created at its start
    /// (2025-01-01T00:00:00Z) in the order added; or why these Jobs cannot
    /// run together.
    pub fn build(self) -> Result<Simulation<B>, SimError> {
        check_jobs(self.jobs.iter().map(|(job, _)| job))?;
        Ok(Simulation::start_with(self.jobs, self.seed, self.capacity))
    }
}

/// The refusals of [`SimulationBuilder::build`].
fn check_jobs<'a>(jobs: impl Iterator<Item = &'a ValidJob> + Clone) -> Result<(), SimError> {
    if jobs.clone().next().is_none() {
        return Err(SimError::NoJobs);
    }
    let mut names: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut uids: BTreeMap<&str, usize> = BTreeMap::new();
    for (at, job) in jobs.clone().enumerate() {
        if let Some(first) = names.insert((job.namespace(), job.name()), at) {
            return Err(SimError::DuplicateJob {
                namespace: job.namespace().to_owned(),
                name: job.name().to_owned(),
                first,
                second: at,
            });
        }
        if let Some(first) = uids.insert(job.uid(), at) {
            return Err(SimError::DuplicateUid {
                uid: job.uid().to_owned(),
                first,
                second: at,
            });
        }
    }
    if names.len() < 2 {
        return Ok(());
    }
    // Every base of every Job's pod names, by namespace: a base two Jobs
    // share is a possible clash (the 5 random characters may coincide).
    let mut bases: HashMap<(&str, String), usize, BuildHasherDefault<Fnv>> = HashMap::default();
    let jobs: Vec<&ValidJob> = jobs.collect();
    for (at, job) in jobs.iter().enumerate() {
        for base in pod_name_bases(job) {
            let key = (job.namespace(), base);
            match bases.get(&key) {
                Some(&first) if first != at => {
                    return Err(SimError::PodNamesMayClash {
                        namespace: job.namespace().to_owned(),
                        first,
                        first_name: jobs.get(first).map_or("", |j| j.name()).to_owned(),
                        second: at,
                        second_name: job.name().to_owned(),
                        base: key.1,
                    });
                }
                Some(_) => {}
                None => {
                    bases.insert(key, at);
                }
            }
        }
    }
    Ok(())
}

/// The bases the machine generates a Job's pod names from (before the 5
/// random characters): one per completion index, or one.
fn pod_name_bases(job: &ValidJob) -> Vec<String> {
    let indexes: Vec<Option<i32>> = if job.is_indexed() {
        (0..job.completions().unwrap_or(0).max(0))
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    indexes
        .into_iter()
        .map(|index| {
            let mut base = String::new();
            crate::controller::generated_name_base(job.name(), index, &mut base);
            base
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scheduled {
    Running(PodRef),
    Finish(PodRef),
    /// The kubelet restarts a crashed container in place.
    Restart(PodRef),
    Gone(PodRef),
    /// The Job's batched pod events reach its controller.
    Sync(JobRef),
}

/// Where a pod stands with the node slots (capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not counted: no capacity, or the pod finished or went away.
    Free,
    /// Pending, in the queue for a slot.
    Waiting,
    /// Holding a slot.
    Held,
}

/// A logged pod: its name, Job and slot.
#[derive(Debug, Clone)]
struct PodInfo {
    name: String,
    job: JobRef,
    slot: Slot,
}

/// One Job of a simulation: its controller, its pods in the API, its
/// kubelets' model and generator.
#[derive(Debug, Clone)]
struct SimJob<B> {
    ctl: JobController,
    cluster: Cluster,
    behaviour: B,
    rng: SimRng,
    label: String,
    refs: HashMap<String, PodRef, BuildHasherDefault<Fnv>>,
    /// Pods changed since the last sync (reported at the next one).
    dirty: BTreeSet<String>,
    sync_scheduled: bool,
    status_writes: u64,
}

/// Jobs, their pods and one clock.
///
/// Each Job has its own [`JobController`] and its own pods in the API
/// ([`Cluster`]); its pods' lifetimes come from its own generator
/// ([`job_seed`]). Events of every Job are processed in the order of their
/// time, then of their scheduling; timers due at the same instant fire in
/// the order of the Jobs.
///
/// Pod events reach a controller the way upstream's arrive at its sync:
/// batched over [`BATCH_PERIOD`] (upstream `syncJobBatchPeriod`), then one
/// reconcile for the lot ([`JobController::handle_pods`]). The controller's
/// own requests are carried out at once ([`Cluster::settle_batched`]).
///
/// With a capacity ([`SimulationBuilder::capacity`]) at most that many
/// pods hold a node slot at once: a pod takes one when it is created, if
/// one is free, and holds it until it finishes or is gone; the others
/// stay Pending, unscheduled and not started, and get slots as they free,
/// in the order they were created, across Jobs. A Pending pod is active
/// for its Job (upstream counts every pod not finished and not being
/// deleted), and `activeDeadlineSeconds` runs on while pods wait. A
/// waiting pod the controller deletes goes at once (the API server deletes
/// a pod that no node holds without a grace period) and leaves the queue.
#[derive(Debug, Clone)]
pub struct Simulation<B: PodModel = PodBehaviour> {
    jobs: Vec<SimJob<B>>,
    capacity: Option<NonZeroUsize>,
    /// Slots held.
    held: usize,
    /// Pods waiting for a slot, oldest first (a pod deleted meanwhile is
    /// skipped when its turn comes).
    waiting: VecDeque<PodRef>,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    queue: BTreeMap<(DateTime<Utc>, u64), Scheduled>,
    seq: u64,
    log: Vec<LogEntry>,
    pods: Vec<PodInfo>,
}

/// Exit code of an evicted pod's container (killed by SIGKILL).
pub const EVICTION_EXIT_CODE: i32 = 137;

/// How long pod events wait before the controller reconciles them
/// together (upstream `syncJobBatchPeriod`).
pub const BATCH_PERIOD: Duration = Duration::seconds(1);

impl<B: PodModel> Simulation<B> {
    /// Starts a simulation of `job` at 2025-01-01T00:00:00Z, its pods
    /// behaving as `behaviour` says ([`PodBehaviour`] for seeded random
    /// ones), with unlimited capacity.
    pub fn new(job: ValidJob, behaviour: B, seed: u64) -> Simulation<B> {
        // One Job can clash with nothing.
        Simulation::start_with(vec![(job, behaviour)], seed, None)
    }

    /// A simulation of several Jobs (and a capacity): add them with
    /// [`SimulationBuilder::job`], then [`build`](SimulationBuilder::build).
    pub fn builder(seed: u64) -> SimulationBuilder<B> {
        SimulationBuilder {
            seed,
            jobs: Vec::new(),
            capacity: None,
        }
    }

    fn start_with(
        jobs: Vec<(ValidJob, B)>,
        seed: u64,
        capacity: Option<NonZeroUsize>,
    ) -> Simulation<B> {
        let start = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
        for (job, _) in &jobs {
            *shared.entry(job.name()).or_default() += 1;
        }
        let labels: Vec<String> = jobs
            .iter()
            .map(|(job, _)| match shared.get(job.name()) {
                Some(n) if *n > 1 => format!("{}/{}", job.namespace(), job.name()),
                _ => job.name().to_owned(),
            })
            .collect();
        let jobs = jobs
            .into_iter()
            .zip(labels)
            .enumerate()
            .map(|(position, ((job, behaviour), label))| SimJob {
                ctl: JobController::new(job, start),
                cluster: Cluster::new(),
                behaviour,
                rng: SimRng(job_seed(seed, position) ^ 0x5DEE_CE66_D1CE_4E5B),
                label,
                refs: HashMap::default(),
                dirty: BTreeSet::new(),
                sync_scheduled: false,
                status_writes: 0,
            })
            .collect();
        let mut sim = Simulation {
            jobs,
            capacity,
            held: 0,
            waiting: VecDeque::new(),
            now: start,
            start,
            queue: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
            pods: Vec::new(),
        };
        for j in 0..sim.jobs.len() {
            sim.settle(j);
        }
        sim
    }

    /// The first Job's controller (the only one, for a simulation of one
    /// Job).
    pub fn controller(&self) -> &JobController {
        // A simulation has at least one Job (`build` refuses none).
        &self.jobs[0].ctl
    }

    /// The first Job's pods in the simulated API server.
    pub fn cluster(&self) -> &Cluster {
        &self.jobs[0].cluster
    }

    /// The Jobs, in the order given.
    pub fn jobs(&self) -> impl ExactSizeIterator<Item = JobRef> + use<B> {
        (0..self.jobs.len()).map(JobRef::of)
    }

    /// A Job's controller (`None` for a Job of another simulation).
    pub fn controller_of(&self, job: JobRef) -> Option<&JobController> {
        self.jobs.get(job.position()).map(|j| &j.ctl)
    }

    /// A Job's pods in the simulated API server.
    pub fn cluster_of(&self, job: JobRef) -> Option<&Cluster> {
        self.jobs.get(job.position()).map(|j| &j.cluster)
    }

    /// How the log, the timeline and the chart name a Job: its name, or
    /// `namespace/name` if Jobs of the simulation share the name.
    pub fn job_label(&self, job: JobRef) -> &str {
        self.jobs
            .get(job.position())
            .map_or("?", |j| j.label.as_str())
    }

    /// The node slots, if limited.
    pub fn capacity(&self) -> Option<NonZeroUsize> {
        self.capacity
    }

    /// Everything that happened so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// The name of a logged pod.
    pub fn pod_name(&self, pod: PodRef) -> &str {
        self.pods
            .get(pod.0 as usize)
            .map_or("?", |p| p.name.as_str())
    }

    /// The Job of a logged pod.
    pub fn pod_job(&self, pod: PodRef) -> Option<JobRef> {
        self.pods.get(pod.0 as usize).map(|p| p.job)
    }

    /// The pods logged so far, in the order first logged.
    pub fn pods(&self) -> impl ExactSizeIterator<Item = PodRef> + use<B> {
        (0..self.pods.len()).map(|i| PodRef(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// Status writes the controllers asked for so far, every Job's.
    pub fn status_writes(&self) -> u64 {
        self.jobs
            .iter()
            .fold(0, |n, j| n.saturating_add(j.status_writes))
    }

    /// Status writes a Job's controller asked for so far.
    pub fn status_writes_of(&self, job: JobRef) -> u64 {
        self.jobs.get(job.position()).map_or(0, |j| j.status_writes)
    }

    /// When the simulation started.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Seconds since the start, for display.
    pub fn elapsed(&self, at: DateTime<Utc>) -> f64 {
        (at - self.start).num_milliseconds() as f64 / 1000.0
    }

    /// A log entry as a flat record naming its Job and pod (for JSON
    /// lines).
    pub fn record<'a>(&'a self, entry: &'a LogEntry) -> Record<'a> {
        let mut r = Record {
            at: entry.at,
            seconds: self.elapsed(entry.at),
            event: "",
            job: self.job_label(entry.job),
            pod: None,
            index: None,
            exit_code: None,
            restart_in: None,
            restarts: None,
            reason: None,
            status: None,
        };
        let pod = |p: &PodRef| Some(self.pod_name(*p));
        match &entry.event {
            SimEvent::PodCreated { pod: p, index } => {
                (r.event, r.pod, r.index) = ("podCreated", pod(p), *index);
            }
            SimEvent::PodScheduled { pod: p } => (r.event, r.pod) = ("podScheduled", pod(p)),
            SimEvent::PodWaiting { pod: p } => (r.event, r.pod) = ("podWaiting", pod(p)),
            SimEvent::PodRunning { pod: p } => (r.event, r.pod) = ("podRunning", pod(p)),
            SimEvent::PodSucceeded { pod: p } => (r.event, r.pod) = ("podSucceeded", pod(p)),
            SimEvent::PodFailed { pod: p, exit_code } => {
                (r.event, r.pod, r.exit_code) = ("podFailed", pod(p), Some(*exit_code));
            }
            SimEvent::PodCrashed {
                pod: p,
                exit_code,
                restart_in,
            } => {
                (r.event, r.pod, r.exit_code) = ("podCrashed", pod(p), Some(*exit_code));
                r.restart_in = Some(*restart_in);
            }
            SimEvent::PodRestarted { pod: p, restarts } => {
                (r.event, r.pod, r.restarts) = ("podRestarted", pod(p), Some(*restarts));
            }
            SimEvent::PodDeleted { pod: p, reason } => {
                (r.event, r.pod) = ("podDeleted", pod(p));
                r.reason = Some(format!("{reason:?}"));
            }
            SimEvent::PodGone { pod: p } => (r.event, r.pod) = ("podGone", pod(p)),
            SimEvent::PodEvicted { pod: p } => {
                (r.event, r.pod, r.exit_code) = ("podEvicted", pod(p), Some(EVICTION_EXIT_CODE));
            }
            SimEvent::StatusWritten(s) => (r.event, r.status) = ("statusWritten", Some(s)),
            SimEvent::JobDeleted => {
                r.event = "jobDeleted";
                r.reason = Some("TtlAfterFinished".to_owned());
            }
        }
        r
    }

    /// A log entry as one line of text (without its Job: see
    /// [`timeline`](Self::timeline) for lines with every column).
    pub fn describe(&self, entry: &LogEntry) -> String {
        let name = |p: &PodRef| self.pod_name(*p);
        match &entry.event {
            SimEvent::PodCreated { pod, index } => match index {
                Some(i) => format!("create pod {} (index {i})", name(pod)),
                None => format!("create pod {}", name(pod)),
            },
            SimEvent::PodScheduled { pod } => format!("pod {} scheduled", name(pod)),
            SimEvent::PodWaiting { pod } => {
                format!("pod {} pending: every node slot is taken", name(pod))
            }
            SimEvent::PodRunning { pod } => format!("pod {} running", name(pod)),
            SimEvent::PodSucceeded { pod } => format!("pod {} succeeded", name(pod)),
            SimEvent::PodFailed { pod, exit_code } => {
                format!("pod {} failed (exit {exit_code})", name(pod))
            }
            SimEvent::PodCrashed {
                pod,
                exit_code,
                restart_in,
            } => format!(
                "pod {} container exited {exit_code}, restarted in place in {restart_in}s",
                name(pod)
            ),
            SimEvent::PodRestarted { pod, restarts } => {
                format!(
                    "pod {} container restarted (restarts {restarts})",
                    name(pod)
                )
            }
            SimEvent::PodDeleted { pod, reason } => {
                format!("delete pod {} ({reason:?})", name(pod))
            }
            SimEvent::PodGone { pod } => format!("pod {} gone", name(pod)),
            SimEvent::PodEvicted { pod } => format!(
                "pod {} evicted (DisruptionTarget, exit {EVICTION_EXIT_CODE})",
                name(pod)
            ),
            SimEvent::StatusWritten(s) => format!("status {}", status_words(s)),
            SimEvent::JobDeleted => "delete job (TtlAfterFinished)".to_owned(),
        }
    }

    /// Runs until the machines and the pods have nothing left to do, or
    /// `max_steps` events were processed.
    pub fn run_to_end(&mut self, max_steps: u64) -> Outcome {
        self.run(max_steps, None)
    }

    /// [`run_to_end`](Self::run_to_end), but stops before the first event
    /// after `until` (a later call goes on from there).
    pub fn run_until(&mut self, until: DateTime<Utc>, max_steps: u64) -> Outcome {
        self.run(max_steps, Some(until))
    }

    fn run(&mut self, max_steps: u64, until: Option<DateTime<Utc>>) -> Outcome {
        let mut steps = 0;
        while steps < max_steps {
            let next_event = self.queue.keys().next().map(|(t, _)| *t);
            // The earliest timer; of timers due together, the first Job's.
            let next_timer = self
                .jobs
                .iter()
                .enumerate()
                .filter_map(|(j, job)| job.ctl.poll_timeout().map(|t| (t.at, j)))
                .min();
            let next = match (next_event, next_timer) {
                (Some(a), Some((b, _))) => a.min(b),
                (Some(a), None) => a,
                (None, Some((b, _))) => b,
                (None, None) => break,
            };
            if until.is_some_and(|u| next > u) {
                break;
            }
            self.now = self.now.max(next);
            steps += 1;
            if next_event == Some(next) {
                if let Some((_, event)) = self.queue.pop_first() {
                    self.apply(event);
                }
            } else if let Some((_, j)) = next_timer {
                if self.jobs[j].ctl.handle_timeout(self.now).is_ok() {
                    self.settle(j);
                }
            }
        }
        Outcome {
            finished: self.jobs.iter().all(|j| j.ctl.is_finished()),
            steps,
        }
    }

    fn schedule(&mut self, at: DateTime<Utc>, event: Scheduled) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    /// The pod of Job `j` named `name` now (see [`Self::new_pod_ref`]).
    fn pod_ref(&mut self, j: usize, name: &str) -> PodRef {
        if let Some(r) = self.jobs[j].refs.get(name) {
            return *r;
        }
        self.new_pod_ref(j, name)
    }

    /// A pod just created: a reference of its own even if an earlier pod
    /// had its name. Generated names repeat once the first pod is gone
    /// (five random characters: a 10,000-pod Job sees a few repeats, as
    /// upstream's `generateName` does), and the log must not merge them.
    fn new_pod_ref(&mut self, j: usize, name: &str) -> PodRef {
        let r = PodRef(u32::try_from(self.pods.len()).unwrap_or(u32::MAX));
        self.pods.push(PodInfo {
            name: name.to_owned(),
            job: JobRef::of(j),
            slot: Slot::Free,
        });
        self.jobs[j].refs.insert(name.to_owned(), r);
        r
    }

    /// A pod's Job (position) and name.
    fn locate(&self, pod: PodRef) -> Option<(usize, String)> {
        self.pods
            .get(pod.0 as usize)
            .map(|p| (p.job.position(), p.name.clone()))
    }

    fn slot(&mut self, pod: PodRef) -> Option<&mut Slot> {
        self.pods.get_mut(pod.0 as usize).map(|p| &mut p.slot)
    }

    fn note(&mut self, j: usize, event: SimEvent) {
        self.log.push(LogEntry {
            at: self.now,
            job: JobRef::of(j),
            event,
        });
    }

    /// A pod changed or went away: its watch event reaches the controller
    /// with the next batch.
    fn touch(&mut self, j: usize, name: String) {
        let job = &mut self.jobs[j];
        job.dirty.insert(name);
        if !job.sync_scheduled {
            job.sync_scheduled = true;
            let at = crate::time::after(self.now, BATCH_PERIOD);
            self.schedule(at, Scheduled::Sync(JobRef::of(j)));
        }
    }

    /// Changes a pod as its kubelet would; the controller hears of it with
    /// the next batch.
    fn kubelet(&mut self, j: usize, name: String, change: impl FnOnce(&mut crate::api::Pod)) {
        if self.jobs[j].cluster.change(&name, change) {
            self.touch(j, name);
        }
    }

    /// A created pod takes a node slot if there is no capacity or one is
    /// free, and starts up; otherwise it waits for one.
    fn place(&mut self, pod: PodRef, j: usize, name: &str) {
        let Some(capacity) = self.capacity else {
            self.start_up(pod, j, name);
            return;
        };
        if self.held < capacity.get() {
            self.held = self.held.saturating_add(1);
            if let Some(slot) = self.slot(pod) {
                *slot = Slot::Held;
            }
            self.note(j, SimEvent::PodScheduled { pod });
            self.start_up(pod, j, name);
        } else {
            if let Some(slot) = self.slot(pod) {
                *slot = Slot::Waiting;
            }
            self.waiting.push_back(pod);
            self.note(j, SimEvent::PodWaiting { pod });
        }
    }

    /// The kubelet starts the pod after its start-up time.
    fn start_up(&mut self, pod: PodRef, j: usize, name: &str) {
        let job = &mut self.jobs[j];
        let startup = match job.cluster.pod(name) {
            Some(p) => job.behaviour.startup(p, &mut job.rng),
            None => Duration::zero(),
        };
        self.schedule(
            crate::time::after(self.now, startup),
            Scheduled::Running(pod),
        );
    }

    /// The pod finished or is gone: it no longer holds a slot, or waits
    /// for one; waiting pods take the slots free, oldest first.
    fn release(&mut self, pod: PodRef) {
        let Some(slot) = self.slot(pod) else { return };
        let was = std::mem::replace(slot, Slot::Free);
        if was == Slot::Held {
            self.held = self.held.saturating_sub(1);
        }
        let Some(capacity) = self.capacity else {
            return;
        };
        while self.held < capacity.get() {
            let Some(next) = self.waiting.pop_front() else {
                break;
            };
            let Some(slot) = self.slot(next).filter(|s| **s == Slot::Waiting) else {
                continue;
            };
            *slot = Slot::Held;
            self.held = self.held.saturating_add(1);
            if let Some((j, name)) = self.locate(next) {
                self.note(j, SimEvent::PodScheduled { pod: next });
                self.start_up(next, j, &name);
            }
        }
    }

    /// The running pod ends as its model says (and frees its slot).
    fn finish(&mut self, pod: PodRef) {
        let now = self.now;
        let Some((j, name)) = self.locate(pod) else {
            return;
        };
        let job = &mut self.jobs[j];
        if job.cluster.pod(&name).map(crate::api::Pod::phase) != Some(PodPhase::Running) {
            return;
        }
        let ending = match job.cluster.pod(&name) {
            Some(p) => job.behaviour.ending(p, &mut job.rng),
            None => return,
        };
        if let Ending::Evicted = ending {
            self.note(j, SimEvent::PodEvicted { pod });
            self.kubelet(j, name, |p| {
                pod::add_condition(
                    p,
                    "DisruptionTarget",
                    crate::api::ConditionStatus::True,
                    Some("EvictionByEvictionAPI".to_owned()),
                    now,
                );
                pod::failed(p, EVICTION_EXIT_CODE, None, now);
            });
        } else if let Ending::Failed { exit_code: code } = ending {
            if restarts_in_place(&self.jobs[j], &name) {
                self.crashed(pod, j, name, code);
                return;
            }
            self.note(
                j,
                SimEvent::PodFailed {
                    pod,
                    exit_code: code,
                },
            );
            self.kubelet(j, name, |p| pod::failed(p, code, None, now));
        } else {
            self.note(j, SimEvent::PodSucceeded { pod });
            self.kubelet(j, name, |p| pod::succeeded(p, now));
        }
        self.release(pod);
    }

    /// A container of an `OnFailure` pod failed: the pod stays Running
    /// (and keeps its node slot), not ready, until the kubelet restarts
    /// the container.
    fn crashed(&mut self, pod: PodRef, j: usize, name: String, exit_code: i32) {
        let now = self.now;
        let restarts = self.jobs[j]
            .cluster
            .pod(&name)
            .map_or(0, pod::restart_count);
        let delay = crash_loop_back_off(restarts);
        self.note(
            j,
            SimEvent::PodCrashed {
                pod,
                exit_code,
                restart_in: delay.num_seconds(),
            },
        );
        self.kubelet(j, name, |p| pod::ready(p, false, now));
        self.schedule(crate::time::after(now, delay), Scheduled::Restart(pod));
    }

    /// The kubelet restarts the crashed container (unless the pod is
    /// being deleted or already ended): restart count up, ready again, and
    /// a new run.
    fn restart(&mut self, pod: PodRef) {
        let now = self.now;
        let Some((j, name)) = self.locate(pod) else {
            return;
        };
        let job = &mut self.jobs[j];
        let Some(p) = job
            .cluster
            .pod(&name)
            .filter(|p| p.phase() == PodPhase::Running && p.metadata.deletion_timestamp.is_none())
        else {
            return;
        };
        let restarts = pod::restart_count(p).saturating_add(1);
        let run = job.behaviour.runtime(p, &mut job.rng);
        self.kubelet(j, name, |p| {
            pod::restarted(p, restarts);
            pod::ready(p, true, now);
        });
        self.note(j, SimEvent::PodRestarted { pod, restarts });
        self.schedule(crate::time::after(now, run), Scheduled::Finish(pod));
    }

    fn apply(&mut self, event: Scheduled) {
        let now = self.now;
        match event {
            Scheduled::Running(pod) => {
                let Some((j, name)) = self.locate(pod) else {
                    return;
                };
                let job = &mut self.jobs[j];
                let startable = job.cluster.pod(&name).is_some_and(|p| {
                    p.metadata.deletion_timestamp.is_none() && p.phase() == PodPhase::Pending
                });
                if !startable {
                    return;
                }
                let run = match job.cluster.pod(&name) {
                    Some(p) => job.behaviour.runtime(p, &mut job.rng),
                    None => Duration::zero(),
                };
                self.note(j, SimEvent::PodRunning { pod });
                self.schedule(crate::time::after(now, run), Scheduled::Finish(pod));
                self.kubelet(j, name, |p| pod::ready(p, true, now));
            }
            Scheduled::Finish(pod) => self.finish(pod),
            Scheduled::Restart(pod) => self.restart(pod),
            Scheduled::Gone(pod) => {
                let Some((j, name)) = self.locate(pod) else {
                    return;
                };
                if self.jobs[j].cluster.take(&name).is_some() {
                    self.note(j, SimEvent::PodGone { pod });
                    self.touch(j, name);
                    self.release(pod);
                }
            }
            Scheduled::Sync(job) => {
                let j = job.position();
                let Some(job) = self.jobs.get_mut(j) else {
                    return;
                };
                job.sync_scheduled = false;
                let dirty = std::mem::take(&mut job.dirty);
                let cluster = &job.cluster;
                let events = dirty.iter().map(|name| match cluster.pod(name) {
                    Some(pod) => PodEvent::Observed(pod),
                    None => PodEvent::Gone { name },
                });
                // The simulator only reports pods of this Job: no error.
                if job.ctl.handle_pods(now, events).is_ok() {
                    self.settle(j);
                }
            }
        }
    }

    /// Lets the Job's pods in the API carry out its controller's actions,
    /// logs them and schedules what follows (start-up or a wait for a
    /// slot, removal of deleted and of released finished pods).
    fn settle(&mut self, j: usize) {
        let now = self.now;
        let job = &mut self.jobs[j];
        let Ok(settled) = job.cluster.settle_batched(&mut job.ctl, now) else {
            return;
        };
        let Settled {
            created,
            deleted,
            finalizers_removed,
            statuses,
            job_deleted,
            ..
        } = settled;
        for (name, index) in created {
            let pod = self.new_pod_ref(j, &name);
            self.note(j, SimEvent::PodCreated { pod, index });
            self.place(pod, j, &name);
        }
        for (name, reason) in deleted {
            let pod = self.pod_ref(j, &name);
            self.note(j, SimEvent::PodDeleted { pod, reason });
            if self.slot(pod).is_some_and(|s| *s == Slot::Waiting) {
                // No node holds it: the API server deletes it at once
                // (upstream's graceful deletion has no grace for an
                // unscheduled pod), and it leaves the queue.
                self.release(pod);
                self.schedule(now, Scheduled::Gone(pod));
                continue;
            }
            let job = &mut self.jobs[j];
            let grace = match job.cluster.pod(&name) {
                Some(p) => job.behaviour.termination(p, &mut job.rng),
                None => Duration::zero(),
            };
            self.schedule(crate::time::after(now, grace), Scheduled::Gone(pod));
        }
        for name in finalizers_removed {
            let finished = self.jobs[j]
                .cluster
                .pod(&name)
                .is_some_and(|p| matches!(p.phase(), PodPhase::Succeeded | PodPhase::Failed));
            if finished {
                // The garbage collector removes finished pods once nothing
                // holds them.
                let pod = self.pod_ref(j, &name);
                self.schedule(
                    crate::time::after(now, Duration::seconds(1)),
                    Scheduled::Gone(pod),
                );
            }
        }
        let job = &mut self.jobs[j];
        job.status_writes = job.status_writes.saturating_add(statuses.len() as u64);
        if !statuses.is_empty() {
            let running = i32::try_from(job.cluster.running()).unwrap_or(i32::MAX);
            for status in statuses {
                self.note(j, SimEvent::StatusWritten(StatusLine::of(&status, running)));
            }
        }
        if job_deleted {
            self.note(j, SimEvent::JobDeleted);
        }
    }
}

/// A status's counters and true conditions in words, with upstream's
/// `active: 0` during a pod-failure backoff explained.
pub(crate) fn status_words(s: &StatusLine) -> String {
    let mut line = format!(
        "active={} ready={} succeeded={} failed={} terminating={}",
        s.active, s.ready, s.succeeded, s.failed, s.terminating
    );
    if !s.conditions.is_empty() {
        line.push_str(" conditions=");
        for (i, (type_, reason)) in s.conditions.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(line, "{sep}{type_}({reason})");
        }
    }
    if s.active < s.running {
        let _ = write!(
            line,
            "  [upstream quirk: {} pods are active, but while a pod-failure backoff \
             holds a replacement back upstream's manageJob reports active=0]",
            s.running
        );
    }
    line
}

/// Whether the kubelet restarts this pod's failed container in place
/// (`restartPolicy: OnFailure`) instead of failing the pod.
fn restarts_in_place<B>(job: &SimJob<B>, name: &str) -> bool {
    job.cluster
        .pod(name)
        .is_some_and(|p| p.spec.restart_policy == Some(crate::api::RestartPolicy::OnFailure))
}

/// The kubelet's crash-loop back-off before restart number `restarts + 1`:
/// 10 s, doubling, at most 5 minutes (kubelet `backOffPeriod`,
/// `MaxContainerBackOff`).
fn crash_loop_back_off(restarts: i32) -> Duration {
    let doublings = u32::try_from(restarts.clamp(0, 5)).unwrap_or(5);
    Duration::seconds((10_i64 << doublings).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_job;

    fn simulation(behaviour: PodBehaviour, seed: u64) -> Simulation {
        let mut sim = simulation_unrun(behaviour, seed);
        sim.run_to_end(100_000);
        sim
    }

    fn simulation_unrun(behaviour: PodBehaviour, seed: u64) -> Simulation {
        let job = parse_job(
            "
metadata: {name: t, namespace: default, uid: u-t}
spec:
  completions: 10
  parallelism: 5
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
        )
        .expect("parses");
        let valid = ValidJob::create(job).expect("valid");
        Simulation::new(valid, behaviour, seed)
    }

    fn on_failure_job(backoff_limit: u32) -> ValidJob {
        let job = parse_job(&format!(
            "
metadata: {{name: of, namespace: default, uid: u-of}}
spec:
  completions: 4
  parallelism: 2
  backoffLimit: {backoff_limit}
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{{name: main, image: busybox}}]"
        ))
        .expect("parses");
        ValidJob::create(job).expect("valid")
    }

    /// `restartPolicy: OnFailure`: a failing container is restarted in
    /// place after the kubelet's crash-loop back-off; the pod never fails.
    #[test]
    fn an_on_failure_pod_restarts_its_container_in_place() {
        let behaviour = PodBehaviour {
            failure_probability: 0.5,
            ..PodBehaviour::default()
        };
        let mut sim = Simulation::new(on_failure_job(1000), behaviour, 11);
        assert!(sim.run_to_end(100_000).finished);
        assert_eq!(sim.controller().status().succeeded, 4);
        let mut crashed: HashMap<PodRef, (DateTime<Utc>, i64)> = HashMap::new();
        let mut restarts: HashMap<PodRef, i32> = HashMap::new();
        for e in sim.log() {
            match e.event {
                SimEvent::PodFailed { .. } => panic!("an OnFailure pod failed: {e:?}"),
                SimEvent::PodCrashed {
                    pod, restart_in, ..
                } => {
                    let before = restarts.get(&pod).copied().unwrap_or(0);
                    assert_eq!(restart_in, crash_loop_back_off(before).num_seconds());
                    assert!(crashed.insert(pod, (e.at, restart_in)).is_none());
                }
                SimEvent::PodRestarted { pod, restarts: n } => {
                    let (at, after) = crashed.remove(&pod).expect("crashed first");
                    assert_eq!(e.at, at + Duration::seconds(after));
                    let before = restarts.insert(pod, n).unwrap_or(0);
                    assert_eq!(n, before + 1);
                    let p = sim.cluster().pod(sim.pod_name(pod));
                    assert!(p.is_none_or(|p| p.phase() != PodPhase::Failed));
                }
                _ => {}
            }
        }
        assert!(restarts.values().any(|n| *n >= 2), "{restarts:?}");
    }

    /// The Job counts the restarts against `backoffLimit` (upstream
    /// `pastBackoffLimitOnFailure`) and fails once they reach it.
    #[test]
    fn restarts_in_place_count_against_the_backoff_limit() {
        let behaviour = PodBehaviour {
            failure_probability: 1.0,
            ..PodBehaviour::default()
        };
        let mut sim = Simulation::new(on_failure_job(3), behaviour, 5);
        assert!(sim.run_to_end(100_000).finished);
        let failed = sim
            .controller()
            .status()
            .conditions
            .iter()
            .find(|c| c.type_ == crate::api::JobConditionType::Failed)
            .map(|c| c.reason.clone());
        assert_eq!(failed, Some("BackoffLimitExceeded".to_owned()));
        let restarted = sim
            .log()
            .iter()
            .filter(|e| matches!(e.event, SimEvent::PodRestarted { .. }))
            .count();
        assert!(restarted >= 3, "{restarted}");
    }

    #[test]
    fn the_crash_loop_back_off_doubles_from_ten_seconds_to_five_minutes() {
        let secs: Vec<i64> = (-1..8)
            .map(|n| crash_loop_back_off(n).num_seconds())
            .collect();
        assert_eq!(secs, [10, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    /// Generated names repeat in a large Job once the first pod is gone
    /// (seed 7 below gives three repeats among 12,508 pods): each
    /// creation is still a pod of its own in the log, with its own life.
    #[test]
    fn a_generated_name_that_comes_back_is_a_pod_of_its_own() {
        let job = parse_job(
            "
metadata: {name: big, namespace: default, uid: u-big}
spec:
  completions: 10000
  parallelism: 500
  backoffLimit: 100000
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
        )
        .expect("parses");
        let mut sim = Simulation::new(
            ValidJob::create(job).expect("valid"),
            PodBehaviour::default(),
            7,
        );
        assert!(sim.run_to_end(1_000_000).finished);
        let created: Vec<PodRef> = sim
            .log()
            .iter()
            .filter_map(|e| match e.event {
                SimEvent::PodCreated { pod, .. } => Some(pod),
                _ => None,
            })
            .collect();
        let names: BTreeSet<&str> = created.iter().map(|p| sim.pod_name(*p)).collect();
        assert!(names.len() < created.len(), "the run repeats a name");
        let refs: BTreeSet<PodRef> = created.iter().copied().collect();
        assert_eq!(refs.len(), created.len(), "one reference per creation");
        let status = sim.controller().status();
        let finished = status.succeeded + status.failed;
        assert_eq!(usize::try_from(finished).ok(), Some(created.len()));
    }

    #[test]
    fn every_record_names_its_pod_and_matches_the_log() {
        let sim = simulation(PodBehaviour::default(), 7);
        assert!(!sim.log().is_empty());
        for entry in sim.log() {
            let r = sim.record(entry);
            assert_eq!(r.at, entry.at);
            match &entry.event {
                SimEvent::PodFailed { pod, exit_code } => {
                    assert_eq!(r.event, "podFailed");
                    assert_eq!(r.pod, Some(sim.pod_name(*pod)));
                    assert_eq!(r.exit_code, Some(*exit_code));
                }
                SimEvent::StatusWritten(s) => {
                    assert_eq!(r.event, "statusWritten");
                    assert_eq!(r.status, Some(s));
                    assert_eq!(r.pod, None);
                }
                SimEvent::PodCreated { pod, index } => {
                    assert_eq!(r.event, "podCreated");
                    assert_eq!(r.pod, Some(sim.pod_name(*pod)));
                    assert_eq!(r.index, *index);
                }
                _ => assert!(r.pod.is_some() || r.event == "jobDeleted"),
            }
        }
    }

    #[test]
    fn evicted_pods_carry_a_disruption_target_and_exit_137() {
        let behaviour = PodBehaviour {
            eviction_probability: 0.5,
            failure_probability: 0.0,
            ..PodBehaviour::default()
        };
        let sim = simulation(behaviour, 1);
        let evicted: Vec<PodRef> = sim
            .log()
            .iter()
            .filter_map(|e| match e.event {
                SimEvent::PodEvicted { pod } => Some(pod),
                _ => None,
            })
            .collect();
        assert!(!evicted.is_empty());
        // Evictions count as failures here (no pod failure policy).
        assert!(sim.controller().status().failed >= 1);
        let line = sim.describe(
            sim.log()
                .iter()
                .find(|e| matches!(e.event, SimEvent::PodEvicted { .. }))
                .expect("an eviction"),
        );
        assert!(
            line.contains("DisruptionTarget") && line.contains("137"),
            "{line}"
        );
    }

    /// Evictions off draw no random number, so a run is exactly what it
    /// was before evictions existed: 1 014 events for this Job and seed,
    /// measured on the code before the change.
    #[test]
    fn evictions_off_draw_nothing_so_runs_stay_as_they_were() {
        let job = parse_job(
            "
metadata: {name: big, namespace: default, uid: u-big}
spec:
  completions: 300
  parallelism: 50
  completionMode: Indexed
  backoffLimit: 1000000
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
        )
        .expect("parses");
        let behaviour = PodBehaviour {
            failure_probability: 0.05,
            ..PodBehaviour::default()
        };
        let mut sim = Simulation::new(ValidJob::create(job).expect("valid"), behaviour, 0x5EED);
        let outcome = sim.run_to_end(u64::MAX);
        assert_eq!(
            (outcome.steps, sim.controller().status().succeeded),
            (1_014, 300)
        );
    }

    #[test]
    fn run_until_stops_at_the_instant_and_goes_on_later() {
        let mut whole = simulation_unrun(PodBehaviour::default(), 4);
        whole.run_to_end(100_000);
        let mut parts = simulation_unrun(PodBehaviour::default(), 4);
        let until = parts.start() + Duration::seconds(20);
        parts.run_until(until, 100_000);
        assert!(parts.log().iter().all(|e| e.at <= until));
        assert!(!parts.controller().is_finished());
        parts.run_to_end(100_000);
        assert_eq!(parts.log(), whole.log(), "stopping changes nothing");
    }

    /// Upstream's `active: 0` while a pod-failure backoff holds a
    /// replacement back is said in the line, with how many pods are active.
    #[test]
    fn a_status_below_the_active_pods_is_explained() {
        let behaviour = PodBehaviour {
            failure_probability: 0.8,
            startup_seconds: (5, 20),
            ..PodBehaviour::default()
        };
        // The first seed whose run shows the quirk (a fixed search: the
        // runs are deterministic).
        let (sim, quirks) = (0..50)
            .map(|seed| {
                let sim = simulation(behaviour.clone(), seed);
                let quirks: Vec<String> = sim
                    .log()
                    .iter()
                    .filter(
                        |e| matches!(&e.event, SimEvent::StatusWritten(s) if s.active < s.running),
                    )
                    .map(|e| sim.describe(e))
                    .collect();
                (sim, quirks)
            })
            .find(|(_, quirks)| !quirks.is_empty())
            .expect("one of 50 runs with frequent failures shows the quirk");
        for line in &quirks {
            assert!(line.contains("upstream quirk"), "{line}");
        }
        let plain = sim
            .log()
            .iter()
            .filter(|e| matches!(&e.event, SimEvent::StatusWritten(s) if s.active == s.running))
            .map(|e| sim.describe(e))
            .find(|line| line.contains("quirk"));
        assert_eq!(
            plain, None,
            "only a status below the active pods is annotated"
        );
    }
}

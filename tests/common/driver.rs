//! A small simulator that drives one [`JobController`] the way a cluster
//! would, for timeline tests.
//!
//! The driver owns the machine and a [`Cluster`] (the "API", the crate's
//! one executor of actions, as in `tests/conformance/replay_timeline.rs`
//! and the simulator). After every input the cluster carries out what the
//! machine asks, until it is quiet:
//!
//! - `CreatePod`: the pod is stored (a fresh UID, `creationTimestamp` = now,
//!   phase Pending) and reported back as observed — unless creations are
//!   held ([`Driver::hold_creations`]), in which case it stays in flight
//!   until [`Driver::ack_create`] or [`Driver::fail_create`];
//! - `DeletePod`: the pod gets a `deletionTimestamp` and is reported back
//!   (terminating); it stays until [`Driver::gone`];
//! - `RemoveFinalizer`: the finalizer is removed from the stored copy;
//! - `UpdateStatus` and `DeleteJob` are recorded.
//!
//! Times are whole seconds after [`T0`]. Every event helper first fires the
//! machine's due wake-ups up to its time ([`Driver::advance_to`]), then
//! applies the event. Each input is one [`Step`] of the log; every action is
//! also kept, in order, in [`Driver::trace`].
//!
//! The helpers panic on misuse (an unknown pod, a machine error): they are
//! for tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::{ConditionStatus, JobSpec, JobStatus, Pod, PodPhase};
use job_controller::sim::{Cluster, Settled, pod};
use job_controller::{
    ApiError, ApiErrorReason, DeleteReason, JobController, PodEvent, TimeoutReason, ValidJob,
    parse_job,
};

/// What a creation over a resource quota gets from the API server.
pub(crate) fn quota_exceeded() -> ApiError {
    ApiError::new(
        ApiErrorReason::Other,
        "pods \"p\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10",
    )
}

/// Time zero of every driven timeline.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// `secs` seconds after [`t0`].
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// Seconds from [`t0`] to `t` (whole seconds; the driver only uses those).
pub(crate) fn secs(t: DateTime<Utc>) -> i64 {
    (t - t0()).num_seconds()
}

/// Parses a manifest and admits it as the API server does on create, after
/// giving it what the API server would: a namespace and a UID.
pub(crate) fn admit(manifest: &str) -> ValidJob {
    let mut job = parse_job(manifest).expect("manifest parses");
    if job.metadata.namespace.is_empty() {
        job.metadata.namespace = "default".into();
    }
    if job.metadata.uid.is_empty() {
        job.metadata.uid = format!("{}-uid", job.metadata.name);
    }
    ValidJob::create(job).expect("manifest validates")
}

/// A pod the machine asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Created {
    /// Pod name.
    pub name: String,
    /// Completion index (Indexed Jobs).
    pub index: Option<i32>,
    /// When the machine asked for it (seconds after [`t0`]).
    pub at: i64,
    /// The pod as asked for (once stored: with its UID, creation time and
    /// phase Pending).
    pub pod: Pod,
}

/// What happened during one input (and the acknowledgements it caused).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Step {
    /// What the input was, e.g. `fail transcode-abcde (exit 1)`.
    pub label: String,
    /// When (seconds after [`t0`]).
    pub at: i64,
    /// Pods asked for, with their index.
    pub created: Vec<(String, Option<i32>)>,
    /// Pods asked to be deleted, with the reason.
    pub deleted: Vec<(String, DeleteReason)>,
    /// Pods whose finalizer the machine removed.
    pub finalizers_removed: Vec<String>,
    /// Number of `UpdateStatus` actions.
    pub status_writes: usize,
    /// Whether `DeleteJob` was asked for.
    pub delete_job: bool,
}

/// Drives one Job's controller like a tiny cluster.
pub(crate) struct Driver {
    ctl: JobController,
    now: DateTime<Utc>,
    cluster: Cluster,
    created: Vec<Created>,
    /// Names of every pod asked for (the machine never asks twice).
    names: BTreeSet<String>,
    by_index: BTreeMap<i32, String>,
    steps: Vec<Step>,
    trace: Vec<String>,
    written: Vec<JobStatus>,
    delete_job_at: Option<i64>,
}

impl Driver {
    /// Starts the controller for `job` at [`t0`] and carries out its first
    /// actions.
    pub(crate) fn new(job: ValidJob) -> Driver {
        Driver::start(job, false)
    }

    /// [`Driver::new`] from a manifest ([`admit`]).
    pub(crate) fn from_manifest(manifest: &str) -> Driver {
        Driver::new(admit(manifest))
    }

    /// Like [`Driver::new`], but creations stay in flight until
    /// [`Driver::ack_create`] or [`Driver::fail_create`].
    pub(crate) fn hold_creations(job: ValidJob) -> Driver {
        Driver::start(job, true)
    }

    fn start(job: ValidJob, hold: bool) -> Driver {
        let now = t0();
        let mut cluster = Cluster::new();
        cluster.hold_creations(hold);
        cluster.record_actions(true);
        let mut d = Driver {
            ctl: JobController::new(job, now),
            now,
            cluster,
            created: Vec::new(),
            names: BTreeSet::new(),
            by_index: BTreeMap::new(),
            steps: Vec::new(),
            trace: Vec::new(),
            written: Vec::new(),
            delete_job_at: None,
        };
        let mut step = d.step("create job");
        d.drain(&mut step);
        d.steps.push(step);
        d
    }

    // ---- inspection ----------------------------------------------------

    /// The machine.
    pub(crate) fn ctl(&self) -> &JobController {
        &self.ctl
    }

    /// The machine, for calling it directly (remember to [`Driver::settle`]).
    pub(crate) fn ctl_mut(&mut self) -> &mut JobController {
        &mut self.ctl
    }

    /// The machine's current status.
    pub(crate) fn status(&self) -> &JobStatus {
        self.ctl.status()
    }

    /// Every status written, in order.
    pub(crate) fn written(&self) -> &[JobStatus] {
        &self.written
    }

    /// The driver's clock (seconds after [`t0`]).
    pub(crate) fn now(&self) -> i64 {
        secs(self.now)
    }

    /// Every pod the machine asked for, in order.
    pub(crate) fn created(&self) -> &[Created] {
        &self.created
    }

    /// Names of every pod asked for, in order.
    pub(crate) fn created_names(&self) -> Vec<String> {
        self.created.iter().map(|c| c.name.clone()).collect()
    }

    /// When each pod was asked for, in order (seconds).
    pub(crate) fn creation_times(&self) -> Vec<i64> {
        self.created.iter().map(|c| c.at).collect()
    }

    /// Indexes of every pod asked for, in order.
    pub(crate) fn created_indexes(&self) -> Vec<i32> {
        self.created.iter().filter_map(|c| c.index).collect()
    }

    /// The `n`-th pod asked for, 1-based (`p(1)` is the first).
    pub(crate) fn p(&self, n: usize) -> String {
        self.created
            .get(n.wrapping_sub(1))
            .unwrap_or_else(|| panic!("no pod p{n}: only {} created", self.created.len()))
            .name
            .clone()
    }

    /// The latest pod asked for with completion index `i`.
    pub(crate) fn latest_for_index(&self, i: i32) -> String {
        self.by_index
            .get(&i)
            .unwrap_or_else(|| panic!("no pod for index {i}"))
            .clone()
    }

    /// The latest pod per index.
    pub(crate) fn latest_per_index(&self) -> &BTreeMap<i32, String> {
        &self.by_index
    }

    /// The pod as the API holds it.
    pub(crate) fn pod(&self, name: &str) -> &Pod {
        self.cluster
            .pod(name)
            .unwrap_or_else(|| panic!("pod {name} does not exist"))
    }

    /// Whether the pod exists in the API.
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.cluster.pod(name).is_some()
    }

    /// Pods that exist, are not finished and not being deleted, in creation
    /// order.
    pub(crate) fn active(&self) -> Vec<String> {
        self.created
            .iter()
            .filter_map(|c| self.cluster.pod(&c.name))
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && !matches!(p.phase(), PodPhase::Succeeded | PodPhase::Failed)
            })
            .map(|p| p.metadata.name.clone())
            .collect()
    }

    /// Pods that exist and are being deleted, in creation order.
    pub(crate) fn terminating(&self) -> Vec<String> {
        self.created
            .iter()
            .filter_map(|c| self.cluster.pod(&c.name))
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .map(|p| p.metadata.name.clone())
            .collect()
    }

    /// Creations asked for and not yet acknowledged (held mode).
    pub(crate) fn in_flight(&self) -> Vec<String> {
        self.cluster
            .held()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    /// The log, one entry per input.
    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The latest step.
    pub(crate) fn last_step(&self) -> &Step {
        self.steps.last().expect("at least the creation step")
    }

    /// Every action carried out, as `<seconds>s <Debug of the action>`.
    pub(crate) fn trace(&self) -> &[String] {
        &self.trace
    }

    /// When `DeleteJob` was first asked for (seconds).
    pub(crate) fn delete_job_at(&self) -> Option<i64> {
        self.delete_job_at
    }

    /// The machine's next wake-up, in seconds, and why.
    pub(crate) fn wake(&self) -> Option<(i64, TimeoutReason)> {
        self.ctl.poll_timeout().map(|t| (secs(t.at), t.reason))
    }

    // ---- time ----------------------------------------------------------

    /// Fires every wake-up the machine asks for at or before `at`, each at
    /// its own instant, then moves the clock to `at`.
    pub(crate) fn advance_to(&mut self, at_secs: i64) {
        let target = at(at_secs);
        assert!(
            target >= self.now,
            "advance_to({at_secs}): the driver is already at {}",
            self.now()
        );
        let mut guard = 0;
        while let Some(timeout) = self.ctl.poll_timeout() {
            if timeout.at > target {
                break;
            }
            guard += 1;
            assert!(guard < 10_000, "the machine keeps asking for wake-ups");
            let when = timeout.at.max(self.now);
            self.now = when;
            let mut step = self.step(&format!("timeout {:?}", timeout.reason));
            self.ctl.handle_timeout(when).expect("handle_timeout");
            self.drain(&mut step);
            self.steps.push(step);
        }
        self.now = target;
    }

    // ---- pod events ------------------------------------------------------

    /// The pod's containers start: phase Running.
    pub(crate) fn run(&mut self, pod: &str, at: i64) {
        self.pod_event(pod, at, "run", |p, _| pod::running(p));
    }

    /// The pod becomes ready (Running, `Ready=True`).
    pub(crate) fn ready(&mut self, pod: &str, at: i64) {
        self.pod_event(pod, at, "ready", |p, now| pod::ready(p, true, now));
    }

    /// Every container exits 0: phase Succeeded, finished now.
    pub(crate) fn succeed(&mut self, pod: &str, at: i64) {
        self.pod_event(pod, at, "succeed", pod::succeeded);
    }

    /// The first container exits with `exit_code` (the others with 0):
    /// phase Failed, finished now.
    pub(crate) fn fail(&mut self, pod: &str, at: i64, exit_code: i32) {
        self.fail_inner(pod, at, exit_code, None);
    }

    /// [`Driver::fail`], with a pod condition `condition=True` added (e.g.
    /// `DisruptionTarget` for an eviction or preemption).
    pub(crate) fn fail_with_condition(
        &mut self,
        pod: &str,
        at: i64,
        exit_code: i32,
        condition: &str,
    ) {
        self.fail_inner(pod, at, exit_code, Some(condition));
    }

    fn fail_inner(&mut self, pod: &str, at: i64, exit_code: i32, condition: Option<&str>) {
        let label = match condition {
            Some(c) => format!("fail (exit {exit_code}, {c})"),
            None => format!("fail (exit {exit_code})"),
        };
        self.pod_event(pod, at, &label, move |p, now| {
            pod::failed(p, exit_code, None, now);
            if let Some(c) = condition {
                pod::add_condition(p, c, ConditionStatus::True, Some("Test".to_owned()), now);
            }
        });
    }

    /// Someone deletes the pod: it gets a deletion timestamp (terminating).
    pub(crate) fn terminate(&mut self, pod: &str, at: i64) {
        self.pod_event(pod, at, "terminate", pod::terminating);
    }

    /// The pod disappears from the API.
    pub(crate) fn gone(&mut self, pod: &str, at: i64) {
        self.advance_to(at);
        let mut step = self.step(&format!("gone {pod}"));
        let removed = self
            .cluster
            .remove(&mut self.ctl, self.now, pod)
            .expect("handle_pod(Gone)");
        assert!(removed.is_some(), "pod {pod} does not exist");
        self.drain(&mut step);
        self.steps.push(step);
    }

    /// Re-sends the API's current copy of the pod (a duplicate event).
    pub(crate) fn resend(&mut self, pod: &str, at: i64) {
        self.pod_event(pod, at, "resend", |_, _| {});
    }

    /// Sends an arbitrary pod as observed at `at` (stale or late events);
    /// the driver's own copy is not changed.
    pub(crate) fn observe(&mut self, pod: Pod, at: i64) {
        self.advance_to(at);
        let mut step = self.step(&format!("observe {}", pod.metadata.name));
        self.ctl
            .handle_pod(self.now, PodEvent::Observed(&pod))
            .expect("handle_pod");
        self.drain(&mut step);
        self.steps.push(step);
    }

    /// Changes the Job's spec (validated as an update) at `at`.
    pub(crate) fn patch_spec(&mut self, at: i64, f: impl FnOnce(&mut JobSpec)) {
        self.advance_to(at);
        let mut job = self.ctl.job().job().clone();
        f(&mut job.spec);
        let valid = self.ctl.job().update(job).expect("spec change validates");
        let mut step = self.step("spec change");
        self.ctl
            .handle_spec_change(self.now, valid)
            .expect("handle_spec_change");
        self.drain(&mut step);
        self.steps.push(step);
    }

    // ---- held creations --------------------------------------------------

    /// The held creation of `name` succeeds: the pod exists, Pending.
    pub(crate) fn ack_create(&mut self, name: &str, at: i64) {
        self.advance_to(at);
        let mut step = self.step(&format!("created {name}"));
        let held = self
            .cluster
            .ack_create(&mut self.ctl, self.now, name)
            .expect("handle_pod(created)");
        assert!(held, "{name} is not in flight");
        assert!(
            self.cluster.pod(name).is_some(),
            "the machine asked for a pod whose name is taken: {name}"
        );
        self.drain(&mut step);
        self.steps.push(step);
    }

    /// The held creation of `name` fails.
    pub(crate) fn fail_create(&mut self, name: &str, at: i64) {
        self.advance_to(at);
        let mut step = self.step(&format!("create failed {name}"));
        let held = self
            .cluster
            .fail_create(&mut self.ctl, self.now, name, &quota_exceeded())
            .expect("handle_create_failed");
        assert!(held, "{name} is not in flight");
        self.drain(&mut step);
        self.steps.push(step);
    }

    /// Carries out whatever the machine has queued (after a direct call
    /// through [`Driver::ctl_mut`]) at the driver's clock.
    pub(crate) fn settle(&mut self, label: &str) {
        let mut step = self.step(label);
        self.drain(&mut step);
        self.steps.push(step);
    }

    // ---- internals -------------------------------------------------------

    fn step(&self, label: &str) -> Step {
        Step {
            label: label.to_owned(),
            at: self.now(),
            ..Step::default()
        }
    }

    fn pod_event(
        &mut self,
        name: &str,
        at: i64,
        label: &str,
        f: impl FnOnce(&mut Pod, DateTime<Utc>),
    ) {
        self.advance_to(at);
        let now = self.now;
        let mut step = self.step(&format!("{label} {name}"));
        let exists = self
            .cluster
            .update(&mut self.ctl, now, name, |pod| f(pod, now))
            .expect("handle_pod");
        assert!(exists, "pod {name} does not exist");
        self.drain(&mut step);
        self.steps.push(step);
    }

    /// Lets the cluster carry out everything the machine asks, and logs it.
    fn drain(&mut self, step: &mut Step) {
        let now = self.now;
        let Settled {
            created,
            deleted,
            finalizers_removed,
            statuses,
            job_deleted,
            refused,
            actions,
            ..
        } = self.cluster.settle(&mut self.ctl, now).expect("settle");
        assert!(
            refused.is_empty(),
            "the machine asked for pods whose names are taken: {refused:?}"
        );
        let secs_now = self.now();
        self.trace
            .extend(actions.iter().map(|a| format!("{secs_now}s {a:?}")));
        for (name, index) in created {
            assert!(
                self.names.insert(name.clone()),
                "the machine asked for {name} twice"
            );
            let pod = match self.cluster.pod(&name) {
                Some(pod) => pod.clone(),
                None => self
                    .cluster
                    .held()
                    .iter()
                    .find(|p| p.name() == name)
                    .map(job_controller::PodToCreate::pod)
                    .unwrap_or_else(|| panic!("{name} is neither stored nor held")),
            };
            step.created.push((name.clone(), index));
            self.created.push(Created {
                name: name.clone(),
                index,
                at: secs_now,
                pod,
            });
            if let Some(i) = index {
                self.by_index.insert(i, name);
            }
        }
        step.deleted.extend(deleted);
        step.finalizers_removed.extend(finalizers_removed);
        step.status_writes += statuses.len();
        self.written.extend(statuses);
        if job_deleted {
            step.delete_job = true;
            self.delete_job_at.get_or_insert(secs_now);
        }
    }
}

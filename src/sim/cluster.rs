//! The API server's part: pods as the API holds them, and the controller's
//! actions carried out on them.
//!
//! This is the crate's one executor of [`Action`]s: the simulator, the
//! examples and every test driver carry actions out through it, so a
//! created pod gets the same UID scheme, a deletion the same timestamp and
//! an adoption the same patch wherever the machine is driven.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use chrono::{DateTime, Utc};

use crate::api::{JobStatus, OwnerReference, Pod, PodPhase, keys};
use crate::controller::{
    Action, ApiError, ApiErrorReason, DeleteReason, Event, Fnv, JobController, MachineError,
    PodEvent, PodToCreate,
};

/// What one [`Cluster::settle`] carried out.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Settled {
    /// Pods created, in the order asked, with their completion index.
    pub created: Vec<(String, Option<i32>)>,
    /// Pods whose deletion was asked (each now terminating), and why.
    pub deleted: Vec<(String, DeleteReason)>,
    /// Pods whose tracking finalizer was removed.
    pub finalizers_removed: Vec<String>,
    /// Status writes, oldest first.
    pub statuses: Vec<JobStatus>,
    /// Whether the controller asked for the Job to be deleted.
    pub job_deleted: bool,
    /// Creations the API refused because a pod of that name exists (the
    /// API server's `AlreadyExists`); each was reported with
    /// [`JobController::handle_create_failed`].
    pub refused: Vec<String>,
    /// Every action carried out, in order, if the cluster keeps a record
    /// ([`Cluster::record_actions`]); empty otherwise.
    pub actions: Vec<Action>,
    /// Events the controller recorded on the Job, in order.
    pub events: Vec<Event>,
}

/// Pods as the API server holds them.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// By name. Hashed (with a fixed hasher) rather than ordered: the
    /// simulator looks a pod up on every event, and never lists them on
    /// its hot path ([`Cluster::pods`] sorts when asked).
    pods: HashMap<String, Pod, BuildHasherDefault<Fnv>>,
    /// How many pods are running in the API's sense (neither finished nor
    /// being deleted), kept as pods change.
    running: usize,
    uids_issued: u64,
    /// Creations asked for and not carried out yet, oldest first, while
    /// creations are held ([`Cluster::hold_creations`]).
    held: Vec<PodToCreate>,
    hold: bool,
    record: bool,
}

/// Whether a pod counts in [`Cluster::running`].
fn runs(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && !matches!(pod.phase(), PodPhase::Succeeded | PodPhase::Failed)
}

impl Cluster {
    /// An empty cluster.
    pub fn new() -> Cluster {
        Cluster::default()
    }

    /// A pod by name.
    pub fn pod(&self, name: &str) -> Option<&Pod> {
        self.pods.get(name)
    }

    /// Every pod, in name order (sorted on each call: O(n log n)).
    pub fn pods(&self) -> Vec<&Pod> {
        let mut pods: Vec<&Pod> = self.pods.values().collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        pods
    }

    /// How many pods are neither finished nor being deleted.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Holds every creation asked for from now on (`true`) instead of
    /// carrying it out at once, until [`ack_create`](Self::ack_create) or
    /// [`fail_create`](Self::fail_create): the API call in flight, for
    /// tests of what the machine does meanwhile. `false` carries out later
    /// creations at once; those already held stay held.
    pub fn hold_creations(&mut self, hold: bool) {
        self.hold = hold;
    }

    /// The creations held ([`hold_creations`](Self::hold_creations)),
    /// oldest first.
    pub fn held(&self) -> &[PodToCreate] {
        &self.held
    }

    /// Keeps (`true`) every action carried out in [`Settled::actions`],
    /// for tests that look at the machine's exact requests.
    pub fn record_actions(&mut self, record: bool) {
        self.record = record;
    }

    /// The held creation of `name` succeeds: the pod is stored (Pending)
    /// and reported. Returns `Ok(false)` if no creation of that name is
    /// held; a held creation whose name was taken meanwhile is refused
    /// and reported with [`JobController::handle_create_failed`].
    pub fn ack_create(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        name: &str,
    ) -> Result<bool, MachineError> {
        match self.store_held(name, now) {
            None => Ok(false),
            Some(carried) => self.tell(ctl, now, carried).map(|()| true),
        }
    }

    /// The API's half of [`ack_create`](Self::ack_create): the held
    /// creation of `name` is stored (or refused, the name being taken)
    /// without telling the controller; returns what to report, or `None`
    /// if no creation of that name is held. For drivers that deliver
    /// reports themselves.
    pub fn store_held(&mut self, name: &str, now: DateTime<Utc>) -> Option<Carried> {
        let at = self.held.iter().position(|p| p.name() == name)?;
        let create = self.held.remove(at);
        Some(self.create(create, now))
    }

    /// The API's half of [`fail_create`](Self::fail_create): the held
    /// creation of `name` is dropped without telling the controller.
    /// Returns whether one was held.
    pub fn drop_held(&mut self, name: &str) -> bool {
        let Some(at) = self.held.iter().position(|p| p.name() == name) else {
            return false;
        };
        self.held.remove(at);
        true
    }

    /// The held creation of `name` fails with `error`: nothing is
    /// stored, and the machine hears of it
    /// ([`JobController::handle_create_failed`]). Returns `Ok(false)` if no
    /// creation of that name is held.
    pub fn fail_create(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        name: &str,
        error: &ApiError,
    ) -> Result<bool, MachineError> {
        if !self.drop_held(name) {
            return Ok(false);
        }
        ctl.handle_create_failed(now, name, error)?;
        Ok(true)
    }

    /// A creation as the API server carries it out: refused if a pod of
    /// that name exists (`AlreadyExists`), otherwise stored.
    fn create(&mut self, create: PodToCreate, now: DateTime<Utc>) -> Carried {
        let name = create.name().to_owned();
        if self.pods.contains_key(&name) {
            return Carried::Refused(name);
        }
        self.store_created(create, now);
        Carried::Report(name)
    }

    /// Tells the controller what carrying out an action changed.
    fn tell(
        &self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        carried: Carried,
    ) -> Result<(), MachineError> {
        match carried {
            Carried::Report(name) => self.report(ctl, now, &name),
            Carried::Refused(name) => ctl.handle_create_failed(now, &name, &already_exists(&name)),
            Carried::Nothing => Ok(()),
        }
    }

    /// Stores a created pod as the API server does: a fresh UID, the
    /// creation time, phase Pending.
    fn store_created(&mut self, create: PodToCreate, now: DateTime<Utc>) {
        let mut pod = create.into_pod();
        let name = pod.metadata.name.clone();
        self.uids_issued += 1;
        pod.metadata.uid = format!("{name}-{}", self.uids_issued);
        pod.metadata.creation_timestamp = Some(now);
        super::pod::pending(&mut pod);
        self.put(name, pod);
    }

    /// Stores a pod, replacing one of the same name.
    fn put(&mut self, name: String, pod: Pod) {
        self.running = self.running.saturating_add(usize::from(runs(&pod)));
        if let Some(old) = self.pods.insert(name, pod) {
            self.running = self.running.saturating_sub(usize::from(runs(&old)));
        }
    }

    /// Takes a pod out.
    fn pull(&mut self, name: &str) -> Option<Pod> {
        let pod = self.pods.remove(name)?;
        self.running = self.running.saturating_sub(usize::from(runs(&pod)));
        Some(pod)
    }

    /// Changes a pod in place; returns it, changed, if it exists.
    fn modify(&mut self, name: &str, change: impl FnOnce(&mut Pod)) -> Option<&Pod> {
        let pod = self.pods.get_mut(name)?;
        let before = runs(pod);
        change(pod);
        self.running = self
            .running
            .saturating_sub(usize::from(before))
            .saturating_add(usize::from(runs(pod)));
        Some(pod)
    }

    /// Adds a pod that the controller did not create (an orphan, or one
    /// made by hand) and reports it; the controller may adopt it.
    pub fn add(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        mut pod: Pod,
    ) -> Result<(), MachineError> {
        let name = pod.metadata.name.clone();
        if pod.metadata.uid.is_empty() {
            self.uids_issued += 1;
            pod.metadata.uid = format!("{name}-{}", self.uids_issued);
        }
        self.put(name.clone(), pod);
        self.report(ctl, now, &name)
    }

    /// Changes a pod (see [`super::pod`]) and reports it to the controller.
    /// Returns `Ok(false)` if there is no such pod.
    pub fn update(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        name: &str,
        change: impl FnOnce(&mut Pod),
    ) -> Result<bool, MachineError> {
        let Some(pod) = self.modify(name, change) else {
            return Ok(false);
        };
        ctl.handle_pod(now, PodEvent::Observed(pod))?;
        Ok(true)
    }

    /// Changes a pod without telling the controller (the watch event is on
    /// its way); report it later, e.g. in a batch. Returns whether the pod
    /// exists.
    pub fn change(&mut self, name: &str, change: impl FnOnce(&mut Pod)) -> bool {
        self.modify(name, change).is_some()
    }

    /// Removes a pod without telling the controller.
    pub fn take(&mut self, name: &str) -> Option<Pod> {
        self.pull(name)
    }

    /// Reports a pod's current state to the controller again.
    pub fn report(
        &self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        name: &str,
    ) -> Result<(), MachineError> {
        match self.pods.get(name) {
            Some(pod) => ctl.handle_pod(now, PodEvent::Observed(pod)),
            None => Ok(()),
        }
    }

    /// Removes a pod from the API and tells the controller.
    pub fn remove(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
        name: &str,
    ) -> Result<Option<Pod>, MachineError> {
        let removed = self.pull(name);
        ctl.handle_pod(now, PodEvent::Gone { name })?;
        Ok(removed)
    }

    /// Carries out every action the controller has queued, as the API server
    /// would, until it is quiet: a created pod is stored (with a fresh UID
    /// and creation time) and reported back as Pending at once, a deleted
    /// pod gets its deletion timestamp and is reported terminating at once,
    /// a finalizer removal is applied. Each report is its own input (and
    /// reconcile); reports feed new actions, which are carried out too.
    pub fn settle(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
    ) -> Result<Settled, MachineError> {
        let mut settled = Settled::default();
        while let Some(action) = ctl.poll_action() {
            let carried = self.carry_out(ctl, now, action, &mut settled);
            self.tell(ctl, now, carried)?;
        }
        Ok(settled)
    }

    /// [`settle`](Self::settle), but the reports of everything carried out
    /// in one round are delivered together ([`JobController::handle_pods`]):
    /// one reconcile per round, as upstream batches the watch events of a
    /// second into one sync.
    pub fn settle_batched(
        &mut self,
        ctl: &mut JobController,
        now: DateTime<Utc>,
    ) -> Result<Settled, MachineError> {
        let mut settled = Settled::default();
        loop {
            let mut reports = Vec::new();
            let mut refused = Vec::new();
            while let Some(action) = ctl.poll_action() {
                match self.carry_out(ctl, now, action, &mut settled) {
                    Carried::Report(name) => reports.push(name),
                    Carried::Refused(name) => refused.push(name),
                    Carried::Nothing => {}
                }
            }
            if reports.is_empty() && refused.is_empty() {
                return Ok(settled);
            }
            for name in &refused {
                ctl.handle_create_failed(now, name, &already_exists(name))?;
            }
            let events = reports
                .iter()
                .filter_map(|name| self.pods.get(name))
                .map(PodEvent::Observed);
            ctl.handle_pods(now, events)?;
        }
    }

    /// Carries out one action as the API server would, without telling
    /// the controller; returns what to report ([`settle`](Self::settle)
    /// reports it at once). `settled` records what was done. For drivers
    /// that deliver reports themselves, and check each action first.
    pub fn carry_out(
        &mut self,
        ctl: &JobController,
        now: DateTime<Utc>,
        action: Action,
        settled: &mut Settled,
    ) -> Carried {
        if self.record {
            settled.actions.push(action.clone());
        }
        match action {
            Action::CreatePod(p) => {
                settled.created.push((p.name().to_owned(), p.index));
                if self.hold {
                    self.held.push(*p);
                    return Carried::Nothing;
                }
                let carried = self.create(*p, now);
                if let Carried::Refused(name) = &carried {
                    settled.refused.push(name.clone());
                }
                carried
            }
            Action::DeletePod { name, reason } => {
                settled.deleted.push((name.clone(), reason));
                // A second delete of a terminating pod changes nothing, and
                // a watch reports nothing.
                let mut marked = false;
                self.modify(&name, |pod| {
                    if pod.metadata.deletion_timestamp.is_none() {
                        pod.metadata.deletion_timestamp = Some(now);
                        marked = true;
                    }
                });
                if marked {
                    Carried::Report(name)
                } else {
                    Carried::Nothing
                }
            }
            Action::RemoveFinalizer { name, .. } => {
                if let Some(pod) = self.pods.get_mut(&name) {
                    pod.metadata
                        .finalizers
                        .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                }
                settled.finalizers_removed.push(name);
                Carried::Nothing
            }
            Action::AdoptPod { name, .. } => match self.modify(&name, |pod| adopt(pod, ctl)) {
                Some(_) => Carried::Report(name),
                None => Carried::Nothing,
            },
            Action::ReleasePod { name, .. } => {
                if let Some(pod) = self.pods.get_mut(&name) {
                    let job_uid = ctl.job().uid().to_owned();
                    pod.metadata.owner_references.retain(|o| o.uid != job_uid);
                    pod.metadata
                        .finalizers
                        .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                }
                Carried::Nothing
            }
            Action::UpdateStatus(status) => {
                settled.statuses.push(status);
                Carried::Nothing
            }
            Action::DeleteJob { .. } => {
                settled.job_deleted = true;
                Carried::Nothing
            }
            Action::RecordEvent(event) => {
                settled.events.push(event);
                Carried::Nothing
            }
        }
    }
}

/// What the controller is to hear after one action is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Carried {
    /// The pod changed (or now exists): report it
    /// ([`Cluster::report`]).
    Report(String),
    /// The creation was refused (a pod of that name exists): report it
    /// with [`JobController::handle_create_failed`].
    Refused(String),
    /// Nothing changed that a watch would report.
    Nothing,
}

/// The API server's answer to a creation whose name is taken.
fn already_exists(name: &str) -> ApiError {
    ApiError::new(
        ApiErrorReason::AlreadyExists,
        format!("pods \"{name}\" already exists"),
    )
}

/// What an adoption patch does: this Job becomes the controller owner and
/// the tracking finalizer is added.
fn adopt(pod: &mut Pod, ctl: &JobController) {
    let job = ctl.job();
    if !pod
        .metadata
        .owner_references
        .iter()
        .any(|o| o.uid == job.uid())
    {
        pod.metadata.owner_references.push(OwnerReference {
            api_version: "batch/v1".to_owned(),
            kind: "Job".to_owned(),
            name: job.name().to_owned(),
            uid: job.uid().to_owned(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        });
    }
    if !pod
        .metadata
        .finalizers
        .iter()
        .any(|f| f == keys::JOB_TRACKING_FINALIZER)
    {
        pod.metadata
            .finalizers
            .push(keys::JOB_TRACKING_FINALIZER.to_owned());
    }
}

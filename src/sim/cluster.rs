//! The API server's part: pods as the API holds them, and the controller's
//! actions carried out on them.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use chrono::{DateTime, Utc};

use crate::api::{JobStatus, OwnerReference, Pod, PodPhase, keys};
use crate::controller::{Action, DeleteReason, Fnv, JobController, MachineError, PodEvent};

/// What one [`Cluster::settle`] carried out.
#[derive(Debug, Clone, Default, PartialEq)]
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
            if let Some(name) = self.carry_out(ctl, now, action, &mut settled) {
                self.report(ctl, now, &name)?;
            }
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
            while let Some(action) = ctl.poll_action() {
                if let Some(name) = self.carry_out(ctl, now, action, &mut settled) {
                    reports.push(name);
                }
            }
            if reports.is_empty() {
                return Ok(settled);
            }
            let events = reports
                .iter()
                .filter_map(|name| self.pods.get(name))
                .map(PodEvent::Observed);
            ctl.handle_pods(now, events)?;
        }
    }

    /// Carries out one action; returns the pod to report, if any.
    fn carry_out(
        &mut self,
        ctl: &JobController,
        now: DateTime<Utc>,
        action: Action,
        settled: &mut Settled,
    ) -> Option<String> {
        match action {
            Action::CreatePod(p) => {
                let index = p.index;
                let mut pod = p.into_pod();
                let name = pod.metadata.name.clone();
                self.uids_issued += 1;
                pod.metadata.uid = format!("{name}-{}", self.uids_issued);
                pod.metadata.creation_timestamp = Some(now);
                super::pod::pending(&mut pod);
                settled.created.push((name.clone(), index));
                self.put(name.clone(), pod);
                Some(name)
            }
            Action::DeletePod { name, reason } => {
                settled.deleted.push((name.clone(), reason));
                self.modify(&name, |pod| {
                    if pod.metadata.deletion_timestamp.is_none() {
                        pod.metadata.deletion_timestamp = Some(now);
                    }
                })?;
                Some(name)
            }
            Action::RemoveFinalizer { name, .. } => {
                if let Some(pod) = self.pods.get_mut(&name) {
                    pod.metadata
                        .finalizers
                        .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                }
                settled.finalizers_removed.push(name);
                None
            }
            Action::AdoptPod { name, .. } => {
                self.modify(&name, |pod| adopt(pod, ctl))?;
                Some(name)
            }
            Action::ReleasePod { name, .. } => {
                if let Some(pod) = self.pods.get_mut(&name) {
                    let job_uid = ctl.job().uid().to_owned();
                    pod.metadata.owner_references.retain(|o| o.uid != job_uid);
                    pod.metadata
                        .finalizers
                        .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                }
                None
            }
            Action::UpdateStatus(status) => {
                settled.statuses.push(status);
                None
            }
            Action::DeleteJob { .. } => {
                settled.job_deleted = true;
                None
            }
        }
    }
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

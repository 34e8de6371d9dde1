//! The I/O-free half of the `kube_operator` example: which Jobs are ours,
//! the per-Job bookkeeping around a [`JobController`], and the mapping of
//! each [`Action`] to the API request that carries it out ([`Request`]).
//!
//! No kube, no tokio, no k8s-openapi: only `job_controller`, its `chrono`
//! times and `serde_json` for request bodies, so that
//! `tests/kube_operator_plan.rs` tests it without building kube-rs.
//! `main.rs` turns each [`Request`] into one kube-rs call and reports its
//! outcome back with [`JobEntry::report`].

// Shared with tests/kube_operator_plan.rs, which uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use job_controller::api::{Job, JobStatus, Pod};
use job_controller::{
    Action, ApiError, EventType, JobController, Metrics, PodEvent, TimeoutReason, ValidJob,
};
use serde_json::{Value, json};

/// The `spec.managedBy` of the Jobs this operator takes over.
pub(crate) const MANAGER: &str = "example.com/job-controller-rs";

/// The finalizer the Job controller puts on its pods (exactly-once
/// counting): `batch.kubernetes.io/job-tracking`.
pub(crate) const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

/// A Job with no wake-up is still looked at this often: the machine's
/// expectations of lost creations expire after 5 minutes, and upstream's
/// informer resync is what brings the reconcile that sees it.
pub(crate) const RESYNC: Duration = Duration::from_secs(300);

/// Errors of the bookkeeping (a Job the machine rejects, misuse).
pub(crate) type PlanError = Box<dyn std::error::Error + Send + Sync>;

/// Whether this operator manages the Job: its `spec.managedBy` names us.
/// (The built-in controller leaves such a Job alone; Kubernetes 1.32+.)
pub(crate) fn is_ours(job: &Job) -> bool {
    job.spec.managed_by.as_deref() == Some(MANAGER)
}

/// The Job as the machine must see it: `spec.managedBy` cleared.
///
/// The machine follows upstream's rule that a Job whose `managedBy` is not
/// `kubernetes.io/job-controller` (or unset) is managed elsewhere, and then
/// does not sync it — which is exactly what the built-in controller does
/// with *our* Jobs. Here we are that "elsewhere": the machine has to run the
/// Job as the built-in controller runs its own, so it gets a copy without
/// the field. Only the machine's copy changes: the Job in the API keeps its
/// `managedBy` (the field is immutable, and it is what keeps the built-in
/// controller away), and nothing the machine asks for writes the spec.
pub(crate) fn for_machine(job: &Job) -> Job {
    let mut job = job.clone();
    job.spec.managed_by = None;
    job
}

/// One API request: what `main.rs` sends, with its body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// `POST /api/v1/namespaces/{ns}/pods` with this pod (its name chosen
    /// by the machine, its owner reference and tracking finalizer set).
    CreatePod {
        /// The body.
        pod: Box<Pod>,
    },
    /// `DELETE /api/v1/namespaces/{ns}/pods/{name}`, background
    /// propagation, with a UID precondition when the pod's UID is known (a
    /// pod re-created under the same name is not deleted by mistake).
    DeletePod {
        /// The pod.
        name: String,
        /// `preconditions.uid`.
        uid: Option<String>,
    },
    /// `PATCH /api/v1/namespaces/{ns}/pods/{name}`,
    /// `application/strategic-merge-patch+json` (as upstream's).
    PatchPod {
        /// The pod.
        name: String,
        /// Why (which failure input a failure is reported with).
        purpose: PodPatch,
        /// The patch. It carries the pod's `metadata.uid`: the API server
        /// refuses to change a UID, so a patch meant for a pod that was
        /// replaced under the same name fails instead of landing.
        patch: Value,
    },
    /// `PATCH /apis/batch/v1/namespaces/{ns}/jobs/{name}/status`,
    /// `application/merge-patch+json`: `{"status": …}` with what changed
    /// since the last write (`JobStatus::merge_patch_from`).
    PatchJobStatus {
        /// The patch.
        patch: Value,
        /// The whole status it writes (the bookkeeping's "last written"
        /// once it lands).
        status: Box<JobStatus>,
    },
    /// `DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}`, foreground
    /// propagation (pods first), UID precondition: the TTL ran out.
    DeleteJob {
        /// `preconditions.uid`.
        uid: String,
    },
    /// An Event about the Job (events.k8s.io/v1 through kube-rs's
    /// `Recorder`).
    Event {
        /// `Normal` or `Warning`.
        type_: EventType,
        /// Upstream's reason (`SuccessfulCreate`, `Completed`, …).
        reason: String,
        /// Upstream's message.
        note: String,
        /// events.k8s.io's `action`: what the controller did.
        action: &'static str,
    },
}

/// What a pod patch is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PodPatch {
    /// Remove the tracking finalizer.
    RemoveFinalizer,
    /// Make the Job the pod's controller and add the finalizer.
    Adopt,
    /// Drop the Job's owner reference and the finalizer.
    Release,
}

/// What became of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome<'a> {
    /// It succeeded (for a creation: with the pod the API returned).
    Done(Option<&'a Pod>),
    /// It failed with the API's answer.
    Failed(&'a ApiError),
}

/// The next reconcile of a Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Requeue {
    /// How long from now.
    pub(crate) after: Duration,
    /// The machine's reason, or `None` for the periodic [`RESYNC`].
    pub(crate) reason: Option<TimeoutReason>,
}

/// What the bookkeeping remembers of a pod.
#[derive(Debug, Clone)]
struct Seen {
    uid: String,
    resource_version: String,
    /// Whether a list (or a watch cache) has shown it since it was
    /// created. A pod known only from its creation's answer is not taken
    /// for gone when a list lacks it: the list may have been taken before
    /// the creation (or a cache may lag behind).
    listed: bool,
}

/// One managed Job: its machine, and what the operator tracks around it.
#[derive(Debug)]
pub(crate) struct JobEntry {
    ctl: JobController,
    namespace: String,
    name: String,
    uid: String,
    /// The pods handed to the machine, by name.
    seen: BTreeMap<String, Seen>,
    /// The Job's `generation` and whether it had a deletion timestamp, as
    /// last handed to the machine: a change of either is a spec change
    /// (the status writes change only the `resourceVersion`).
    spec_key: (i64, bool),
    /// The status as last written (or read at the start): the base of the
    /// next merge patch.
    last_written: JobStatus,
    /// The latest instant handed to the machine: a wall clock that steps
    /// back is held at it (the machine refuses time going backwards).
    last_now: DateTime<Utc>,
    /// Pods created since the machine's queue was last empty, not yet
    /// reported: reported together once it is (see `next_request`).
    created: Vec<Pod>,
}

impl JobEntry {
    /// The machine for a Job seen for the first time — after a restart
    /// too: rebuilt from the Job as read (status included) and its pods as
    /// listed (`JobController::restore`).
    pub(crate) fn start<'a>(
        job: &Job,
        pods: impl IntoIterator<Item = &'a Pod>,
        now: DateTime<Utc>,
    ) -> Result<JobEntry, PlanError> {
        let pods: Vec<&Pod> = pods.into_iter().collect();
        let valid = ValidJob::from_stored(for_machine(job))?;
        let ctl = JobController::restore(valid, pods.iter().copied(), now)?;
        let seen = pods
            .iter()
            .map(|p| {
                let seen = Seen {
                    uid: p.metadata.uid.clone(),
                    resource_version: p.metadata.resource_version.clone(),
                    listed: true,
                };
                (p.metadata.name.clone(), seen)
            })
            .collect();
        Ok(JobEntry {
            ctl,
            namespace: job.metadata.namespace.clone(),
            name: job.metadata.name.clone(),
            uid: job.metadata.uid.clone(),
            seen,
            spec_key: spec_key(job),
            last_written: job.status.clone().unwrap_or_default(),
            last_now: now,
            created: Vec::new(),
        })
    }

    /// The machine.
    pub(crate) fn machine(&self) -> &JobController {
        &self.ctl
    }

    /// Its counters.
    pub(crate) fn metrics(&self) -> &Metrics {
        self.ctl.metrics()
    }

    /// `now`, or the last instant handed to the machine if the clock
    /// stepped back.
    pub(crate) fn clock(&mut self, wall: DateTime<Utc>) -> DateTime<Utc> {
        self.last_now = self.last_now.max(wall);
        self.last_now
    }

    /// The Job's namespace.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Job's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// [`concerns`] for this Job (its spec as the machine runs it).
    pub(crate) fn concerns(
        &self,
        namespace: &str,
        controller_uid: Option<&str>,
        labels: &BTreeMap<String, String>,
    ) -> bool {
        concerns(self.ctl.job().job(), namespace, controller_uid, labels)
    }

    /// Whether the machine already has this version of the pod (so the
    /// caller need not convert it).
    pub(crate) fn is_current(&self, name: &str, resource_version: &str) -> bool {
        self.seen
            .get(name)
            .is_some_and(|s| s.resource_version == resource_version)
    }

    /// Hands the machine what a list (or a watch cache) shows of the Job's
    /// pods: `changed` (new, or another `resourceVersion` than last handed
    /// over) are `Observed`, the names in `unchanged` are still there, and
    /// every pod listed before and missing now is `Gone`. One reconcile for
    /// the lot (`handle_pods`), none if nothing happened.
    pub(crate) fn sync_pods<'a>(
        &mut self,
        now: DateTime<Utc>,
        changed: &[Pod],
        unchanged: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PlanError> {
        let now = self.clock(now);
        let mut present: BTreeSet<&str> = unchanged.into_iter().collect();
        present.extend(changed.iter().map(|p| p.metadata.name.as_str()));
        let gone: Vec<String> = self
            .seen
            .iter()
            .filter(|(name, s)| s.listed && !present.contains(name.as_str()))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &present {
            if let Some(s) = self.seen.get_mut(*name) {
                s.listed = true;
            }
        }
        for pod in changed {
            self.seen.insert(
                pod.metadata.name.clone(),
                Seen {
                    uid: pod.metadata.uid.clone(),
                    resource_version: pod.metadata.resource_version.clone(),
                    listed: true,
                },
            );
        }
        for name in &gone {
            self.seen.remove(name);
        }
        if changed.is_empty() && gone.is_empty() {
            return Ok(());
        }
        let events = changed
            .iter()
            .map(PodEvent::Observed)
            .chain(gone.iter().map(|name| PodEvent::Gone { name }));
        self.ctl.handle_pods(now, events)?;
        Ok(())
    }

    /// The Job as the watch delivers it: a spec change (a new
    /// `generation`, or a deletion timestamp) goes to the machine; a status
    /// write of ours (only the `resourceVersion` moved) does not.
    pub(crate) fn sync_job(&mut self, now: DateTime<Utc>, job: &Job) -> Result<(), PlanError> {
        let key = spec_key(job);
        if key == self.spec_key {
            return Ok(());
        }
        let now = self.clock(now);
        self.spec_key = key;
        self.ctl
            .handle_spec_change(now, ValidJob::from_stored(for_machine(job))?)?;
        Ok(())
    }

    /// The wake-up the machine asked for, if it is due.
    pub(crate) fn wake(&mut self, now: DateTime<Utc>) -> Result<(), PlanError> {
        let now = self.clock(now);
        if self.ctl.poll_timeout().is_some_and(|t| t.at <= now) {
            self.ctl.handle_timeout(now)?;
        }
        Ok(())
    }

    /// The Job is gone from the API: the machine removes the tracking
    /// finalizer of every pod still carrying it (drain the requests, then
    /// drop the entry).
    pub(crate) fn job_deleted(&mut self, now: DateTime<Utc>) -> Result<(), PlanError> {
        let now = self.clock(now);
        self.ctl.handle_job_deleted(now)?;
        Ok(())
    }

    /// The next request to send, in order; `None` when the machine has
    /// nothing more to ask. Send each, then [`report`](Self::report) it
    /// before asking for the next (a failed status write must be reported
    /// before the machine's next action).
    ///
    /// The pods created by one round of requests are reported to the
    /// machine together, when it has nothing else queued: one reconcile
    /// for the lot (`handle_pods`), as upstream batches a second of pod
    /// events. Reported one by one, each creation would be a reconcile of
    /// its own that sees only the pods reported so far and writes the
    /// status with fewer active pods than the one before (2, then 1, then 2).
    pub(crate) fn next_request(&mut self) -> Option<Request> {
        loop {
            if let Some(action) = self.ctl.poll_action() {
                return Some(self.request_for(action));
            }
            if self.created.is_empty() {
                return None;
            }
            let created = std::mem::take(&mut self.created);
            // Only misuse fails here (an unnamed pod, time going back),
            // and neither can happen: the API named them, `last_now` is
            // the latest instant given.
            if let Err(e) = self
                .ctl
                .handle_pods(self.last_now, created.iter().map(PodEvent::Observed))
            {
                debug_assert!(false, "{e}");
                return None;
            }
        }
    }

    /// The request that carries out one action.
    pub(crate) fn request_for(&self, action: Action) -> Request {
        match action {
            Action::CreatePod(p) => Request::CreatePod {
                pod: Box::new(p.into_pod()),
            },
            Action::DeletePod { name, .. } => {
                let uid = self.seen.get(&name).map(|s| s.uid.clone());
                Request::DeletePod { name, uid }
            }
            Action::RemoveFinalizer { name, uid } => Request::PatchPod {
                patch: json!({"metadata": {
                    "uid": uid,
                    "$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER],
                }}),
                name,
                purpose: PodPatch::RemoveFinalizer,
            },
            // Upstream's `ownerRefControllerPatch` (PodControllerRefManager
            // with the Job's finalizer).
            Action::AdoptPod { name, uid } => Request::PatchPod {
                patch: json!({"metadata": {
                    "uid": uid,
                    "ownerReferences": [{
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": self.name,
                        "uid": self.uid,
                        "controller": true,
                        "blockOwnerDeletion": true,
                    }],
                    "finalizers": [TRACKING_FINALIZER],
                }}),
                name,
                purpose: PodPatch::Adopt,
            },
            // Upstream's `deleteOwnerRefStrategicMergePatch`, with the
            // finalizer removal.
            Action::ReleasePod { name, uid } => Request::PatchPod {
                patch: json!({"metadata": {
                    "uid": uid,
                    "ownerReferences": [{"$patch": "delete", "uid": self.uid}],
                    "$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER],
                }}),
                name,
                purpose: PodPatch::Release,
            },
            Action::UpdateStatus(status) => {
                let diff = status.merge_patch_from(&self.last_written);
                let diff = serde_json::to_value(&diff).unwrap_or(Value::Null);
                Request::PatchJobStatus {
                    patch: json!({ "status": diff }),
                    status: Box::new(status),
                }
            }
            Action::DeleteJob { .. } => Request::DeleteJob {
                uid: self.uid.clone(),
            },
            Action::RecordEvent(e) => Request::Event {
                type_: e.type_,
                action: event_action(&e.reason),
                reason: e.reason.into_owned(),
                note: e.message,
            },
            // `Action` is non-exhaustive: a newer crate's action is logged
            // by the caller and not carried out.
            other => Request::Event {
                type_: EventType::Warning,
                reason: "UnsupportedAction".into(),
                note: other.to_string(),
                action: "Sync",
            },
        }
    }

    /// What became of a request from [`next_request`](Self::next_request):
    /// a created pod goes to the machine (`Observed`), a landed status
    /// write becomes the base of the next patch, a failure is the
    /// machine's matching `handle_*_failed` input.
    pub(crate) fn report(
        &mut self,
        now: DateTime<Utc>,
        request: &Request,
        outcome: Outcome<'_>,
    ) -> Result<(), PlanError> {
        let now = self.clock(now);
        match (request, outcome) {
            (Request::CreatePod { .. }, Outcome::Done(Some(created))) => {
                self.seen.insert(
                    created.metadata.name.clone(),
                    Seen {
                        uid: created.metadata.uid.clone(),
                        resource_version: created.metadata.resource_version.clone(),
                        listed: false,
                    },
                );
                self.created.push(created.clone());
            }
            (Request::CreatePod { pod }, Outcome::Failed(e)) => {
                self.ctl.handle_create_failed(now, &pod.metadata.name, e)?;
            }
            (Request::DeletePod { name, .. }, Outcome::Failed(e)) => {
                self.ctl.handle_delete_failed(now, name, e)?;
            }
            (
                Request::PatchPod {
                    name,
                    purpose: PodPatch::RemoveFinalizer,
                    ..
                },
                Outcome::Failed(e),
            ) => {
                self.ctl.handle_finalizer_removal_failed(now, name, e)?;
            }
            (Request::PatchJobStatus { status, .. }, Outcome::Done(_)) => {
                self.last_written = (**status).clone();
            }
            (Request::PatchJobStatus { .. }, Outcome::Failed(e)) => {
                self.ctl.handle_status_write_failed(now, e)?;
            }
            // Adoption, release and the Job's deletion have no failure
            // input: the machine treats an adopted pod as its own and a
            // released one as gone either way, and the periodic resync
            // brings the next attempt. Events are best effort.
            _ => {}
        }
        Ok(())
    }

    /// When to reconcile this Job next: the machine's wake-up, at the
    /// latest [`RESYNC`] from now.
    pub(crate) fn requeue(&self, now: DateTime<Utc>) -> Requeue {
        match self.ctl.poll_timeout() {
            Some(t) => {
                let after = (t.at - now).to_std().unwrap_or(Duration::ZERO);
                if after <= RESYNC {
                    Requeue {
                        after,
                        reason: Some(t.reason),
                    }
                } else {
                    Requeue {
                        after: RESYNC,
                        reason: None,
                    }
                }
            }
            None => Requeue {
                after: RESYNC,
                reason: None,
            },
        }
    }
}

/// Whether a pod (by its namespace, controller's UID and labels) may be
/// the Job's: in its namespace, and controlled by it or matching its
/// selector (an orphan to adopt). The machine makes the final call
/// (upstream's `ClaimPods`); this only keeps unrelated pods from it.
pub(crate) fn concerns(
    job: &Job,
    namespace: &str,
    controller_uid: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> bool {
    namespace == job.metadata.namespace
        && (controller_uid == Some(job.metadata.uid.as_str())
            || job
                .spec
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(labels)))
}

/// The label selector to list the Job's pods with: its selector's
/// `matchLabels` (`batch.kubernetes.io/controller-uid=<uid>` for a Job
/// with a generated selector). `matchExpressions` are left to
/// [`concerns`] (the list is then wider than needed, never narrower).
pub(crate) fn pod_list_selector(job: &Job) -> String {
    job.spec
        .selector
        .iter()
        .flat_map(|s| &s.match_labels)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What changes the Job's spec as the machine sees it.
fn spec_key(job: &Job) -> (i64, bool) {
    (
        job.metadata.generation,
        job.metadata.deletion_timestamp.is_some(),
    )
}

/// events.k8s.io's `action` for one of upstream's reasons.
fn event_action(reason: &str) -> &'static str {
    match reason {
        "SuccessfulCreate" | "FailedCreate" => "CreatePod",
        "SuccessfulDelete" | "FailedDelete" => "DeletePod",
        _ => "Sync",
    }
}

/// The machines' counters summed, with those of machines already dropped
/// (`retired`), as Prometheus text.
pub(crate) fn metrics_text<'a>(
    retired: &Metrics,
    entries: impl IntoIterator<Item = &'a JobEntry>,
) -> String {
    let mut total = retired.clone();
    for e in entries {
        total.add(e.metrics());
    }
    total.to_prometheus_text()
}

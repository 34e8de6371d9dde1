//! The Job controller state machine.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::action::{Action, DeleteJobReason, Timeout, TimeoutReason};
use super::aggregates::Aggregates;
use super::create;
use super::error::{MachineError, RestoreError};
use super::event::Event;
use super::in_flight::{Failures, LastWrite, Pending};
use super::metrics::{Metrics, SyncLabels};
use super::outbox::Outbox;
use super::pod::PodRecord;
use super::pod_to_create::BasePod;
use super::pods::{Fnv, GoneGuard, PodId, PodStore};
use super::retry::EXPECTATIONS_TIMEOUT;
use super::status_indexes::StatusIndexes;
use super::sync::{self, SyncInput, SyncOutput};
use crate::api::{JobConditionType, JobStatus, Pod};
use crate::backoff::BackoffRecord;
use crate::valid::ValidJob;

/// An observation of one pod, as a watch or a simulator reports it.
///
/// Borrowed: the machine reads what it needs and keeps none of the pod, so
/// a caller hands over the object it already holds (a watch event, an entry
/// of a reflector store, a simulator's pod) without copying it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum PodEvent<'a> {
    /// The pod exists in this state (added or updated). The whole pod is
    /// given, as an informer delivers it; the machine works out what changed.
    Observed(&'a Pod),
    /// The pod no longer exists in the API.
    Gone {
        /// Pod name.
        name: &'a str,
    },
}

/// What the Job does with an observed pod (upstream `ClaimPods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Keep,
    Adopt,
    Release,
    Ignore,
}

/// Pending wake-ups, one per kind: each sync recomputes the kinds it
/// evaluates and leaves the others alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    pub backoff: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub ttl: Option<DateTime<Utc>>,
    /// The work queue's rate-limited requeue after a failed request.
    pub retry: Option<DateTime<Utc>>,
}

impl Timers {
    /// Forgets the wake-ups due by `now`: a reconcile at `now` serves them,
    /// whatever input brought it about.
    fn expire(&mut self, now: DateTime<Utc>) {
        for timer in self.each_mut() {
            if timer.is_some_and(|t| t <= now) {
                *timer = None;
            }
        }
    }

    /// Wake-ups already past `now` are due at `now`.
    pub(crate) fn due_by(&mut self, now: DateTime<Utc>) {
        for timer in self.each_mut() {
            if let Some(t) = timer.as_mut() {
                *t = (*t).max(now);
            }
        }
    }

    fn each_mut(&mut self) -> [&mut Option<DateTime<Utc>>; 4] {
        [
            &mut self.backoff,
            &mut self.deadline,
            &mut self.ttl,
            &mut self.retry,
        ]
    }

    fn all(&self) -> impl Iterator<Item = Timeout> {
        [
            (self.backoff, TimeoutReason::Backoff),
            (self.deadline, TimeoutReason::ActiveDeadline),
            (self.ttl, TimeoutReason::TtlAfterFinished),
            (self.retry, TimeoutReason::Retry),
        ]
        .into_iter()
        .filter_map(|(at, reason)| at.map(|at| Timeout { at, reason }))
    }

    fn earliest(&self) -> Option<Timeout> {
        self.all().min_by_key(|t| (t.at, t.reason))
    }
}

/// One Job's controller: a pure state machine.
///
/// Methods come in four groups, after quinn-proto's `Connection`:
/// - getters on `&self`: [`status`](Self::status), [`job`](Self::job),
///   [`is_finished`](Self::is_finished), [`backoff_record`](Self::backoff_record),
///   [`metrics`](Self::metrics);
/// - `handle_*` for what happened: [`handle_pod`](Self::handle_pod),
///   [`handle_pods`](Self::handle_pods),
///   [`handle_spec_change`](Self::handle_spec_change),
///   [`handle_job_deleted`](Self::handle_job_deleted),
///   [`handle_timeout`](Self::handle_timeout), and the failure reports
///   [`handle_create_failed`](Self::handle_create_failed),
///   [`handle_delete_failed`](Self::handle_delete_failed),
///   [`handle_finalizer_removal_failed`](Self::handle_finalizer_removal_failed),
///   [`handle_status_write_failed`](Self::handle_status_write_failed);
/// - construction: [`new`](Self::new), [`restore`](Self::restore);
/// - `poll_*` for what to do: [`poll_action`](Self::poll_action) and
///   [`poll_timeout`](Self::poll_timeout).
///
/// Contract: after construction and after every `handle_*` call, drain
/// `poll_action` until it returns `None` and carry the actions out in
/// order; then ask `poll_timeout` when to call `handle_timeout`. Every call
/// takes `now`; the machine never reads a clock. Each `handle_*` call but
/// the failure reports reconciles once, as upstream's `syncJob` does after
/// an event; a failure report corrects what the failing reconcile queued
/// and plans its requeue ([`TimeoutReason::Retry`](crate::TimeoutReason::Retry)).
/// The guide to all of it is [`crate::embedding`].
///
/// Calling `handle_*` while actions are still queued is allowed: the new
/// input's actions are queued after the old ones, and the reconcile counts
/// the queued creations and deletions as asked for (it does not ask for
/// them again). An executor that reports each action's outcome as soon as
/// it has one — the pod it created, a failed creation — may do so between
/// two `poll_action` calls; the order of the queue stays the order to
/// carry actions out in. Two reports must come before the next
/// `poll_action`, since what is queued after them assumed they succeeded:
/// a failed status write and a failed finalizer removal. A `handle_*` call
/// that returns an error (time running backwards, a pod of another Job, a
/// spec change no API server would admit, a status-write failure with no
/// write in flight) changes nothing, queued actions included.
///
/// Cost: each event and the reconcile after it cost O(log n) in the number
/// of pods (plus the size of what is written: the status, the pods acted
/// on). The machine keeps incremental aggregates — active, ready and
/// terminating counts, the pods in upstream's deletion order, per-index
/// occupancy, the finished pods not yet counted — updated as each pod
/// changes, and the reconcile reads only those.
///
/// Where upstream behaves oddly the machine follows it:
/// - while a replacement waits for the pod-failure backoff, the status
///   reports `active: 0` even if pods are running (`manageJob` returns 0 on
///   that path). If some of those pods are ready, the API server refuses
///   that status (`ready` above `active`), so the reconcile writes nothing,
///   removes no finalizer and keeps its backoff record, as upstream's fails
///   at the flush; the status stays as last written until the backoff ends
///   or no pod is ready. (Upstream reports the real active count since
///   kubernetes#139457; the conformance cases this crate follows predate
///   it.)
/// - a Job resumed after its deadline window ran out while suspended fails
///   at once with `DeadlineExceeded`, and its `Suspended=True` condition
///   stays (the deadline is checked before the resume is processed);
/// - pods someone else deletes count as failed as soon as they are
///   terminating (default `podReplacementPolicy: TerminatingOrFailed`),
///   even if they would have succeeded;
/// - pods killed because the Job met its success criteria are not counted
///   as failed in that reconcile, pods killed on the failure path are;
/// - once the Job is being deleted every pod's finalizer is released at
///   once, running pods uncounted, so later outcomes change no counter;
/// - the re-creation backoff lives in memory only: [`restore`](Self::restore)
///   forgets it unless given back with
///   [`restore_with_backoff`](Self::restore_with_backoff); and it is
///   stored only when the status is flushed (`needsFlush`), so a reconcile
///   that writes nothing (say, its only new failure is ignored by the pod
///   failure policy) leaves the next one to start from the old record;
/// - a finished Job claims nothing (`syncJob` returns before `ClaimPods`);
///   a pod of it that still carries the tracking finalizer loses it when
///   the pod is being deleted or the Job is updated (upstream's orphan
///   clean-up), and every pod of a deleted Job loses it;
/// - a Job with any other `spec.managedBy` is never synced — no pods, no
///   status, no claiming, no orphan clean-up while it exists
///   (`syncOrphanPod` skips its pods) — yet its TTL applies and its pods'
///   finalizers are released once it is deleted (neither the TTL
///   controller nor the clean-up of a Job that is gone looks at
///   `managedBy`).
///
/// Where upstream would loop or does not decide, the machine chooses:
/// - an index has one outcome. Upstream counts a success for an index that
///   already failed (`backoffLimitPerIndex`) — and a failure for one that
///   already completed — and writes `completedIndexes` and `failedIndexes`
///   that overlap, which the API server rejects
///   (`validateFailedIndexesNotOverlapCompleted`), so upstream retries that
///   write forever. Here the outcome recorded first stands (the later pod's
///   finalizer is removed without moving the index), and within one
///   reconcile a success wins over a failure;
/// - a pod is asked to be deleted once: while a `DeletePod` is out and the
///   pod is not yet seen terminating, later reconciles count it as deleted
///   without asking again (upstream re-sends the DELETE, which is
///   harmless there) — unless the deletion is reported failed, or, on
///   scale-down and suspension, its expectation expired (5 minutes);
/// - a failed deletion on the finishing path: upstream holds the outcome
///   back for that reconcile (`deleted != active`); the machine, whose
///   status write with the outcome may be out already, keeps it, puts the
///   pod back among the active ones and deletes it again at the requeue;
/// - `terminated_pods_tracking_finalizer_total` counts the pods this Job
///   tracks (upstream counts every pod its informer sees);
/// - a wake-up is asked for only when a reconcile at that instant has
///   something to do (upstream's work queue also holds requeues that find
///   nothing: the deadline of a Job whose outcome is known, a deadline
///   measured from a `startTime` a resume is about to replace).
#[derive(Debug, Clone)]
pub struct JobController {
    pub(crate) job: ValidJob,
    /// The status as the machine last computed it (written or restored).
    pub(crate) status: JobStatus,
    /// Its completed and failed indexes, parsed (unused by the reference
    /// model, which parses the status on every reconcile).
    pub(crate) status_indexes: StatusIndexes,
    /// What every pod this Job creates starts from, rendered once per spec.
    pub(crate) base_pod: Arc<BasePod>,
    pub(crate) pods: PodStore,
    /// Incremental aggregates over `pods` (unused by the reference model).
    pub(crate) aggregates: Aggregates,
    pub(crate) next_seq: u64,
    pub(crate) backoff: BackoffRecord,
    /// Creations asked for and not yet observed (name → index).
    pub(crate) creating: BTreeMap<String, Pending>,
    /// Deletions asked for by scale-down or suspension, not yet observed.
    pub(crate) deleting: BTreeMap<String, u64>,
    /// Deletions asked for on the terminal path (not expectations upstream,
    /// but never asked twice).
    pub(crate) finishing_deletes: BTreeMap<String, u64>,
    /// UIDs of the pods gone most recently: a late event for one is ignored.
    pub(crate) gone: GoneGuard,
    pub(crate) outbox: Outbox,
    /// When the latest reconcile that created or deleted pods set its
    /// expectations (upstream `SetExpectations`): they expire
    /// [`EXPECTATIONS_TIMEOUT`] later.
    pub(crate) expectations_at: Option<DateTime<Utc>>,
    pub(crate) failures: Failures,
    pub(crate) metrics: Metrics,
    /// The labels of the latest sync, counted once its result is known
    /// (when the next sync starts).
    pub(crate) last_sync: Option<SyncLabels>,
    pub(crate) timers: Timers,
    pub(crate) last_now: DateTime<Utc>,
    pub(crate) names_issued: u64,
    /// A snapshot is being loaded: aggregates are built after it.
    pub(crate) loading: bool,
    pub(crate) job_gone: bool,
    pub(crate) delete_job_requested: bool,
    /// Recompute everything from every pod on each reconcile (the
    /// reference model) instead of using the incremental bookkeeping.
    pub(crate) reference: bool,
}

impl JobController {
    /// Starts the controller for a newly created Job and reconciles once.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use job_controller::{Action, JobController, ValidJob, parse_job};
    ///
    /// let job = parse_job("
    /// metadata: {name: pi, namespace: default, uid: 0f1e}
    /// spec:
    ///   completions: 2
    ///   parallelism: 2
    ///   template:
    ///     spec:
    ///       restartPolicy: Never
    ///       containers: [{name: pi, image: perl}]
    /// ").unwrap();
    /// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    /// let mut ctl = JobController::new(ValidJob::create(job).unwrap(), now);
    /// let mut created = 0;
    /// while let Some(action) = ctl.poll_action() {
    ///     if let Action::CreatePod(_) = action { created += 1; }
    /// }
    /// assert_eq!(created, 2);
    /// assert_eq!(ctl.status().active, 2);
    /// ```
    pub fn new(job: ValidJob, now: DateTime<Utc>) -> JobController {
        JobController::start(job, now, false)
    }

    /// Rebuilds the controller from a Job (spec and the status it last
    /// wrote) and its pods as listed from the API — as a controller does
    /// after a restart — and reconciles once at `now`.
    ///
    /// The pod-failure backoff lives only in upstream's memory, so a restart
    /// forgets it; use [`restore_with_backoff`](Self::restore_with_backoff)
    /// to hand back a record saved with [`backoff_record`](Self::backoff_record).
    pub fn restore<'a>(
        job: ValidJob,
        pods: impl IntoIterator<Item = &'a Pod>,
        now: DateTime<Utc>,
    ) -> Result<JobController, RestoreError> {
        JobController::restore_with_backoff(job, pods, BackoffRecord::default(), now)
    }

    /// [`restore`](Self::restore) with a remembered backoff record.
    pub fn restore_with_backoff<'a>(
        job: ValidJob,
        pods: impl IntoIterator<Item = &'a Pod>,
        backoff: BackoffRecord,
        now: DateTime<Utc>,
    ) -> Result<JobController, RestoreError> {
        JobController::start_with_pods(job, pods, backoff, now, false)
    }

    /// [`new`](Self::new), but running the reference model: every
    /// reconcile recomputes from every pod, with no incremental state.
    /// Slow by design; an oracle for tests.
    #[cfg(feature = "reference")]
    pub fn new_reference(job: ValidJob, now: DateTime<Utc>) -> JobController {
        JobController::start(job, now, true)
    }

    /// [`restore_with_backoff`](Self::restore_with_backoff), but running the
    /// reference model (see [`new_reference`](Self::new_reference)).
    #[cfg(feature = "reference")]
    pub fn restore_reference<'a>(
        job: ValidJob,
        pods: impl IntoIterator<Item = &'a Pod>,
        backoff: BackoffRecord,
        now: DateTime<Utc>,
    ) -> Result<JobController, RestoreError> {
        JobController::start_with_pods(job, pods, backoff, now, true)
    }

    /// A machine for a new Job, reconciled once.
    fn start(job: ValidJob, now: DateTime<Utc>, reference: bool) -> JobController {
        let status = job.job().status.clone().unwrap_or_default();
        let mut ctl = JobController::empty(job, status, now);
        ctl.reference = reference;
        ctl.sync(now);
        ctl
    }

    /// A machine rebuilt from a snapshot, reconciled once.
    fn start_with_pods<'a>(
        job: ValidJob,
        pods: impl IntoIterator<Item = &'a Pod>,
        backoff: BackoffRecord,
        now: DateTime<Utc>,
        reference: bool,
    ) -> Result<JobController, RestoreError> {
        let status = job.job().status.clone().unwrap_or_default();
        let mut ctl = JobController::empty(job, status, now);
        ctl.reference = reference;
        ctl.backoff = backoff;
        ctl.load_pods(pods)?;
        ctl.sync(now);
        Ok(ctl)
    }

    fn load_pods<'a>(
        &mut self,
        pods: impl IntoIterator<Item = &'a Pod>,
    ) -> Result<(), RestoreError> {
        let mut pods = pods.into_iter();
        self.pods.reserve(pods.size_hint().0);
        // The aggregates are built once from every record at the end: one
        // bulk build of each ordered set instead of n rebalancing inserts.
        self.loading = true;
        let mut names = Fnv::default();
        let loaded = pods.try_for_each(|pod| {
            self.check_pod(pod)?;
            if self.pods.contains_name(&pod.metadata.name) {
                return Err(RestoreError::DuplicatePod(pod.metadata.name.clone()));
            }
            names.write(pod.metadata.name.as_bytes());
            names.write_u8(0xff);
            self.observe(pod);
            Ok(())
        });
        self.loading = false;
        loaded?;
        self.aggregates = Aggregates::build(&self.job, self.pods.iter());
        // Names are drawn from a sequence seeded by the Job; a restored
        // machine does not know how far the one before it got, and drawing
        // the same sequence again would meet every listed pod's name, one
        // lookup each, before the first free one (O(n) for the first
        // creation). The listed names choose where this machine's sequence
        // starts instead: the same snapshot gives the same names.
        if !self.pods.is_empty() {
            self.names_issued = names.finish();
        }
        Ok(())
    }

    fn empty(job: ValidJob, status: JobStatus, now: DateTime<Utc>) -> JobController {
        let mut metrics = Metrics::default();
        if job.is_managed_elsewhere() {
            // Upstream's `addJob` counts each such Job it learns of (on
            // creation, and every Job again when it starts).
            if let Some(name) = job.spec().managed_by.as_deref() {
                metrics.external_controller(name);
            }
        }
        let mut ctl = JobController {
            aggregates: Aggregates::build(&job, []),
            status_indexes: StatusIndexes::of(&job, &status),
            base_pod: create::base_pod(&job),
            job,
            status,
            pods: PodStore::default(),
            next_seq: 0,
            backoff: BackoffRecord::default(),
            creating: BTreeMap::new(),
            deleting: BTreeMap::new(),
            finishing_deletes: BTreeMap::new(),
            gone: GoneGuard::default(),
            outbox: Outbox::default(),
            expectations_at: None,
            failures: Failures::default(),
            metrics,
            last_sync: None,
            timers: Timers::default(),
            last_now: now,
            names_issued: 0,
            loading: false,
            job_gone: false,
            delete_job_requested: false,
            reference: false,
        };
        ctl.failures.counted = ctl.counts_of(&ctl.status);
        ctl
    }

    // ---- getters -------------------------------------------------------

    /// The Job as the machine runs it (spec and metadata of the latest
    /// accepted change; the status is [`status`](Self::status)).
    pub fn job(&self) -> &ValidJob {
        &self.job
    }

    /// The latest status the machine computed (and asked to write).
    pub fn status(&self) -> &JobStatus {
        &self.status
    }

    /// Whether the Job has its final `Complete` or `Failed` condition.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }

    /// The in-memory pod-failure backoff record (upstream keeps it only in
    /// memory; save it to survive a restart exactly).
    pub fn backoff_record(&self) -> BackoffRecord {
        self.backoff
    }

    /// Number of pods the machine currently tracks.
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    // ---- outputs -------------------------------------------------------

    /// The next action to carry out, oldest first.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        // The action polled before this one landed.
        self.commit_write();
        let action = self.outbox.pop();
        self.count_action(action.as_ref());
        self.failures.write_in_flight = false;
        if let Some(Action::UpdateStatus(s)) = &action {
            // The latest write queued is the machine's status; an earlier
            // one (a flush before finalizer removals) is kept as it is.
            self.failures.last_write = if self.outbox.queued_writes() == 0 {
                LastWrite::Current
            } else {
                LastWrite::Stored(Box::new(s.clone()))
            };
            self.failures.write_in_flight = true;
        }
        action
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, and why.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timeout> {
        if self.job_gone {
            // Only finalizer removals that failed are left to retry.
            return self.timers.retry.map(|at| Timeout {
                at,
                reason: TimeoutReason::Retry,
            });
        }
        self.timers.earliest()
    }

    /// Every wake-up the machine holds, earliest first — one per reason;
    /// [`poll_timeout`](Self::poll_timeout) is the first of them. For
    /// display and tests (is a backoff holding a replacement back while the
    /// deadline comes first?); a driver needs only `poll_timeout`.
    pub fn wake_ups(&self) -> Vec<Timeout> {
        if self.job_gone {
            return self.poll_timeout().into_iter().collect();
        }
        let mut all: Vec<Timeout> = self.timers.all().collect();
        all.sort_by_key(|t| (t.at, t.reason));
        all
    }

    // ---- inputs --------------------------------------------------------

    /// A pod was added, changed or removed. Reconciles.
    pub fn handle_pod(
        &mut self,
        now: DateTime<Utc>,
        event: PodEvent<'_>,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        if let PodEvent::Observed(pod) = &event {
            self.check_pod(pod)?;
        }
        self.note_input(now);
        if self.job_gone {
            return Ok(());
        }
        self.apply_event(event);
        self.sync(now);
        Ok(())
    }

    /// Several pod events delivered together, then one reconcile — as
    /// upstream, which batches the pod events of one second
    /// (`syncJobBatchPeriod`) into one sync. The events are applied in
    /// order; the result is the same as [`handle_pod`](Self::handle_pod)
    /// for each but with the intermediate reconciles left out, so a batch
    /// writes the status once where single events would write it per event.
    ///
    /// All or nothing: if any event is misuse (a pod without a name), none
    /// is applied.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};
    ///
    /// let job = parse_job("
    /// metadata: {name: wide, namespace: default, uid: w1}
    /// spec:
    ///   completions: 3
    ///   parallelism: 3
    ///   template:
    ///     spec:
    ///       restartPolicy: Never
    ///       containers: [{name: main, image: busybox}]
    /// ").unwrap();
    /// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    /// let mut ctl = JobController::new(ValidJob::create(job).unwrap(), now);
    /// let mut created = Vec::new();
    /// while let Some(action) = ctl.poll_action() {
    ///     if let Action::CreatePod(p) = action {
    ///         let mut pod = p.into_pod();
    ///         pod.metadata.uid = format!("uid-{}", created.len());
    ///         created.push(pod);
    ///     }
    /// }
    /// // The three creations are acknowledged together: one reconcile.
    /// ctl.handle_pods(now, created.iter().map(PodEvent::Observed)).unwrap();
    /// let writes = std::iter::from_fn(|| ctl.poll_action())
    ///     .filter(|a| matches!(a, Action::UpdateStatus(_)))
    ///     .count();
    /// assert_eq!(writes, 0, "the status written with the creations still holds");
    /// assert_eq!(ctl.status().active, 3);
    /// ```
    pub fn handle_pods<'a>(
        &mut self,
        now: DateTime<Utc>,
        events: impl IntoIterator<Item = PodEvent<'a>>,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        let events: Vec<PodEvent<'a>> = events.into_iter().collect();
        for event in &events {
            if let PodEvent::Observed(pod) = event {
                self.check_pod(pod)?;
            }
        }
        self.note_input(now);
        if self.job_gone {
            return Ok(());
        }
        for event in events {
            self.apply_event(event);
        }
        self.sync(now);
        Ok(())
    }

    fn apply_event(&mut self, event: PodEvent<'_>) {
        match event {
            PodEvent::Observed(pod) => self.observe(pod),
            PodEvent::Gone { name } => self.forget(name),
        }
    }

    /// The Job's spec or metadata changed (suspend/resume, parallelism,
    /// completions of an elastic Indexed Job, activeDeadlineSeconds, a
    /// deletion timestamp, …). Pass a user's change validated as an update
    /// ([`ValidJob::update`]), or the Job as a watch delivers it
    /// ([`ValidJob::from_stored`]; that is how a deletion timestamp, which
    /// only the API server sets, arrives). Reconciles.
    pub fn handle_spec_change(
        &mut self,
        now: DateTime<Utc>,
        job: ValidJob,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        if job.uid() != self.job.uid() || job.name() != self.job.name() {
            return Err(MachineError::OtherJob {
                expected: self.job.name().to_owned(),
                expected_uid: self.job.uid().to_owned(),
                got: job.name().to_owned(),
                got_uid: job.uid().to_owned(),
            });
        }
        self.note_input(now);
        self.job = job;
        if self.job.is_managed_elsewhere() {
            // Another controller writes this status; the TTL and the orphan
            // clean-up read it.
            self.set_status(self.job.job().status.clone().unwrap_or_default());
        }
        // Completions may have changed (elastic Indexed Jobs): the sets are
        // clipped to them.
        self.status_indexes = StatusIndexes::of(&self.job, &self.status);
        self.base_pod = create::base_pod(&self.job);
        // Classification depends on the spec (replacement policy, pod
        // failure policy): rebuild. A spec change is not the hot path.
        self.aggregates = Aggregates::build(&self.job, self.pods.iter());
        if self.status.is_finished() && !self.job_gone && self.cleans_up_orphans() {
            self.release_all_finalizers();
        }
        self.sync(now);
        Ok(())
    }

    /// The Job object is gone from the API. Every pod still carrying the
    /// tracking finalizer has it removed (upstream's orphan clean-up), and
    /// the machine stops.
    pub fn handle_job_deleted(&mut self, now: DateTime<Utc>) -> Result<(), MachineError> {
        self.check_time(now)?;
        self.note_input(now);
        if self.job_gone {
            return Ok(());
        }
        self.job_gone = true;
        self.backoff = BackoffRecord::default();
        self.timers = Timers::default();
        self.creating.clear();
        self.deleting.clear();
        // The orphan clean-up (`deleteJob` → `enqueueLabelSelector`) does not
        // look at `managedBy`: the pods of any deleted Job lose the finalizer.
        self.release_all_finalizers();
        Ok(())
    }

    /// The time the machine asked for (or any time) has come. Spurious
    /// calls are harmless. Reconciles.
    pub fn handle_timeout(&mut self, now: DateTime<Utc>) -> Result<(), MachineError> {
        self.check_time(now)?;
        self.note_input(now);
        self.sync(now);
        Ok(())
    }

    // ---- internals -----------------------------------------------------

    pub(crate) fn check_time(&self, now: DateTime<Utc>) -> Result<(), MachineError> {
        if now < self.last_now {
            return Err(MachineError::TimeWentBackwards {
                now,
                last: self.last_now,
            });
        }
        Ok(())
    }

    fn check_pod(&self, pod: &Pod) -> Result<(), MachineError> {
        if pod.metadata.name.is_empty() {
            return Err(MachineError::UnnamedPod);
        }
        Ok(())
    }

    /// Upstream `getPodsForJob` / `ClaimPods`: whether the Job keeps,
    /// adopts, releases or ignores a pod.
    fn claim(&self, pod: &Pod) -> Claim {
        // Upstream lists the pods of the Job's namespace only.
        if !pod.metadata.namespace.is_empty() && pod.metadata.namespace != self.job.namespace() {
            return Claim::Ignore;
        }
        let controller = pod
            .metadata
            .owner_references
            .iter()
            .find(|o| o.controller == Some(true));
        // A Job that no sync claims for (finished: `syncJob` returns before
        // `ClaimPods`; managed by another controller: no sync at all) keeps
        // the pods it controls, for the orphan clean-up of their
        // finalizers, and takes no others.
        let claims = !self.status.is_finished() && !self.job.is_managed_elsewhere();
        // An empty selector matches every pod (`LabelSelectorAsSelector`);
        // validation makes sure the Job has one.
        let matches = self
            .job
            .spec()
            .selector
            .as_ref()
            .is_some_and(|s| s.matches(&pod.metadata.labels));
        match controller {
            // Controlled by something else (`ClaimObject` compares UIDs only).
            Some(owner) if owner.uid != self.job.uid() => Claim::Ignore,
            Some(_) if !claims || matches => Claim::Keep,
            // Owned but no longer matching: released, unless the Job is
            // being deleted, which leaves the pod unclaimed.
            Some(_) if self.job.is_being_deleted() => Claim::Ignore,
            Some(_) => Claim::Release,
            None if claims
                && matches
                && pod.metadata.deletion_timestamp.is_none()
                && !self.job.is_being_deleted() =>
            {
                Claim::Adopt
            }
            None => Claim::Ignore,
        }
    }

    fn observe(&mut self, pod: &Pod) {
        let name = &pod.metadata.name;
        if let Some(pending) = self.creating.remove(name) {
            // Upstream records these once the API call returns.
            self.metrics.creation_attempted(pending.reason, false);
            self.outbox
                .push(Action::RecordEvent(Event::successful_create(name)));
        }
        if !pod.metadata.uid.is_empty() && self.gone.contains(&pod.metadata.uid) {
            return; // a late event for a pod that is gone
        }
        let claim = self.claim(pod);
        let id = self.pods.id(name);
        let old = id
            .and_then(|id| self.pods.get(id))
            .filter(|p| p.uid == pod.metadata.uid);
        let known = old.is_some();
        let was_deleted = old.is_some_and(|p| p.deletion_timestamp.is_some());
        let was_tracked_finished = old.is_some_and(|p| p.seen_finished_with_finalizer);
        if !self.answer_claim(claim, pod, known) {
            return;
        }
        let mut record = self.merge_observation(pod, id, known, claim == Claim::Adopt);
        if record.seen_finished_with_finalizer != was_tracked_finished {
            self.metrics
                .tracking_finalizer(record.seen_finished_with_finalizer);
        }
        let asked = self.deleting.contains_key(name) || self.finishing_deletes.contains_key(name);
        if asked && record.deletion_timestamp.is_some() && !was_deleted {
            self.outbox
                .push(Action::RecordEvent(Event::successful_delete(name)));
        }
        if record.deletion_timestamp.is_some() || record.is_finished() {
            self.deleting.remove(name);
        }
        self.release_if_orphaned(&mut record);
        // By the slot found above: the slot's record lent its name and UID
        // to `record`, so a lookup by name would not find it now.
        match id {
            Some(id) if known => self.update_record(id, |p| *p = record),
            Some(_) => {
                // Same name, new UID: the old record goes.
                self.remove_record(name);
                self.insert_record(record);
            }
            None => self.insert_record(record),
        }
    }

    /// Acts on the claim (upstream `ClaimPods`): asks to adopt an orphan
    /// (once), or to release a pod that no longer matches and forgets it.
    /// Returns whether the pod is this Job's to track.
    fn answer_claim(&mut self, claim: Claim, pod: &Pod, known: bool) -> bool {
        let (name, uid) = (&pod.metadata.name, &pod.metadata.uid);
        match claim {
            Claim::Keep => true,
            Claim::Adopt if known => true, // adopted before; the patch is on its way
            Claim::Adopt => {
                self.outbox.push(Action::AdoptPod {
                    name: name.clone(),
                    uid: uid.clone(),
                });
                true
            }
            Claim::Release | Claim::Ignore => {
                if claim == Claim::Release {
                    self.outbox.push(Action::ReleasePod {
                        name: name.clone(),
                        uid: uid.clone(),
                    });
                }
                self.deleting.remove(name);
                self.finishing_deletes.remove(name);
                if known {
                    self.remove_record(name);
                }
                false
            }
        }
    }

    /// The record of an observed pod, merged with what the machine knew of
    /// it (the record in slot `id`; `known`: the same pod, by UID): its list
    /// position, name and UID are kept; a terminal phase is final; a
    /// finalizer removal or a deletion the machine saw holds even if this
    /// event predates it. A new pod takes the next list position.
    fn merge_observation(
        &mut self,
        pod: &Pod,
        id: Option<PodId>,
        known: bool,
        adopted: bool,
    ) -> PodRecord {
        // A pod seen before keeps its name and UID: nothing to copy.
        let mut record = PodRecord::from_pod(pod, self.next_seq, !known);
        if adopted {
            // Upstream adds the finalizer while adopting and treats the pod
            // as carrying it at once; until the patch shows, events without
            // it are older than the adoption.
            record.finalizer = true;
        }
        match id.and_then(|id| self.pods.get_mut(id)) {
            Some(old) if known => {
                record.seq = old.seq;
                record.name = std::mem::take(&mut old.name);
                record.uid = std::mem::take(&mut old.uid);
                if old.is_finished() && record.phase != old.phase {
                    record.keep_terminal_state(old);
                }
                record.finalizer &= old.finalizer;
                if record.deletion_timestamp.is_none() {
                    record.deletion_timestamp = old.deletion_timestamp;
                    record.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
                }
            }
            Some(old) => {
                // Same name, new UID: the old pod is gone.
                self.gone.insert(old.uid.clone());
                self.next_seq = self.next_seq.saturating_add(1);
            }
            None => self.next_seq = self.next_seq.saturating_add(1),
        }
        record
    }

    /// Upstream's orphan path (`deletePod` → `handleSingleOrphanPod`): a
    /// pod of a finished Job that is being deleted loses the finalizer that
    /// no sync of that Job will remove any more.
    fn release_if_orphaned(&mut self, record: &mut PodRecord) {
        if self.status.is_finished()
            && self.cleans_up_orphans()
            && record.finalizer
            && record.deletion_timestamp.is_some()
        {
            record.finalizer = false;
            self.outbox.push(Action::RemoveFinalizer {
                name: record.name.clone(),
                uid: record.uid.clone(),
            });
        }
    }

    /// Whether upstream's orphan clean-up removes finalizers from this
    /// existing Job's pods: `syncOrphanPod` skips the pods of a Job managed
    /// by another controller for as long as the Job exists (once it is
    /// gone, `resolveControllerRef` finds nothing and every pod is
    /// cleaned, [`handle_job_deleted`](Self::handle_job_deleted)).
    fn cleans_up_orphans(&self) -> bool {
        !self.job.is_managed_elsewhere()
    }

    /// Upstream's orphan clean-up of a whole Job (`enqueueLabelSelector` →
    /// `handleSingleOrphanPod`, run when a finished Job is updated and when
    /// a Job is deleted): every pod it controls that still carries the
    /// finalizer has it removed.
    fn release_all_finalizers(&mut self) {
        let held = self.pods.in_list_order(|p| p.finalizer);
        for (_, id) in held {
            self.update_record(id, |p| p.finalizer = false);
            if let Some(p) = self.pods.get(id) {
                self.outbox.push(Action::RemoveFinalizer {
                    name: p.name.clone(),
                    uid: p.uid.clone(),
                });
            }
        }
    }

    // While a snapshot is loaded (`loading`) the aggregates are left alone:
    // `load_pods` builds them from every record at the end.

    fn insert_record(&mut self, record: PodRecord) {
        let id = self.pods.insert(record);
        if let Some(p) = self.pods.get(id).filter(|_| !self.loading) {
            self.aggregates.insert(&self.job, id, p);
        }
    }

    fn remove_record(&mut self, name: &str) -> Option<PodRecord> {
        let id = self.pods.id(name)?;
        let old = self.pods.remove(id)?;
        if !self.loading {
            self.aggregates.remove(&self.job, id, &old);
        }
        Some(old)
    }

    /// Changes one record in place, keeping the aggregates in step.
    pub(crate) fn update_record(&mut self, id: PodId, change: impl FnOnce(&mut PodRecord)) {
        if self.loading {
            if let Some(record) = self.pods.get_mut(id) {
                change(record);
            }
            return;
        }
        let Some(old) = self.pods.get(id) else { return };
        let before = self.aggregates.parts_of(id, old);
        if let Some(record) = self.pods.get_mut(id) {
            change(record);
            self.aggregates.replace(&self.job, id, &before, record);
        }
    }

    fn forget(&mut self, name: &str) {
        self.creating.remove(name);
        let asked =
            self.deleting.remove(name).is_some() | self.finishing_deletes.remove(name).is_some();
        if let Some(old) = self.remove_record(name) {
            if asked && old.deletion_timestamp.is_none() {
                // Gone before it was seen terminating: the DELETE did it.
                self.outbox
                    .push(Action::RecordEvent(Event::successful_delete(name)));
            }
            if old.seen_finished_with_finalizer {
                self.metrics.tracking_finalizer(false);
            }
            self.gone.insert(old.uid);
        }
    }

    /// One reconcile at `now`, as upstream's `syncJob`.
    fn sync(&mut self, now: DateTime<Utc>) {
        if self.job_gone {
            if self.timers.retry.is_some_and(|t| t <= now) {
                self.timers.retry = None;
                self.failures.requeue.sync_started();
                self.retry_orphans();
            }
            return;
        }
        self.start_sync();
        if self.job.is_managed_elsewhere() {
            // No sync at all; the TTL controller does not look at managedBy.
            self.timers = Timers::default();
            self.check_ttl(now);
            return;
        }
        self.timers.expire(now);
        if self.status.is_finished() {
            self.sync_finished(now);
            return;
        }
        if !self.job.has_known_completion_mode() {
            self.outbox
                .push(Action::RecordEvent(Event::unknown_completion_mode()));
            return;
        }
        self.expire_expectations(now);
        let out = self.sync_job(now, false);
        self.last_sync = Some(SyncLabels {
            completion_mode: self.completion_mode_label(),
            error: false,
            action: out.sync_action,
        });
        self.apply(out, now);
        if self.status.is_finished() {
            // Nothing about a finished Job changes again: no deadline or
            // backoff wake-up is wanted, only the TTL's.
            self.timers.deadline = None;
            self.timers.backoff = None;
        } else if self
            .status
            .true_condition(&JobConditionType::FailureTarget)
            .or_else(|| {
                self.status
                    .true_condition(&JobConditionType::SuccessCriteriaMet)
            })
            .is_some()
        {
            // The outcome is decided: no pod will be created again.
            self.timers.backoff = None;
        }
        self.check_ttl(now);
    }

    /// The latest status write handed out (see [`LastWrite`]).
    pub(crate) fn last_write(&self) -> &JobStatus {
        match &self.failures.last_write {
            LastWrite::Current => &self.status,
            LastWrite::Stored(s) => s,
        }
    }

    /// Replaces the machine's status, keeping the last write as it was.
    pub(crate) fn set_status(&mut self, status: JobStatus) {
        let old = std::mem::replace(&mut self.status, status);
        if matches!(self.failures.last_write, LastWrite::Current) {
            self.failures.last_write = LastWrite::Stored(Box::new(old));
        }
    }

    /// Before changing the machine's status in place: the last write keeps
    /// its content.
    pub(crate) fn detach_last_write(&mut self) {
        if matches!(self.failures.last_write, LastWrite::Current) {
            self.failures.last_write = LastWrite::Stored(Box::new(self.status.clone()));
        }
    }

    /// Upstream's `syncJob` on the machine's state at `now`, a pure
    /// function of it; with `expired`, as if the expectations had expired.
    pub(crate) fn sync_job(&self, now: DateTime<Utc>, expired: bool) -> SyncOutput {
        let rebuilt;
        let parsed;
        let (aggregates, indexes) = if self.reference {
            // The reference model: no incremental state, everything
            // recomputed from every pod and the status.
            rebuilt = Aggregates::build(&self.job, self.pods.iter());
            parsed = StatusIndexes::of(&self.job, &self.status);
            (&rebuilt, &parsed)
        } else {
            (&self.aggregates, &self.status_indexes)
        };
        let none = BTreeMap::new();
        let (creating, deleting) = if expired {
            (&BTreeMap::new(), &none)
        } else {
            (&self.creating, &self.deleting)
        };
        let input = SyncInput {
            job: &self.job,
            status: &self.status,
            pods: &self.pods,
            aggregates,
            indexes,
            base_pod: &self.base_pod,
            backoff: self.backoff,
            expectations_satisfied: creating.is_empty() && deleting.is_empty(),
            deleting,
            finishing: &self.finishing_deletes,
            names_issued: self.names_issued,
            taken_names: creating,
            unwritten: self.failures.unwritten,
            now,
        };
        sync::sync_job(&input)
    }

    /// Whether the expectations set at `expectations_at` have expired by
    /// `now` (upstream `isExpired`: strictly past the timeout).
    pub(crate) fn expectations_expired(&self, now: DateTime<Utc>) -> bool {
        self.expectations_at
            .is_some_and(|t| now.signed_duration_since(t) > EXPECTATIONS_TIMEOUT)
    }

    /// A finished Job's sync: upstream's returns at once, but for what
    /// failed before: the write that finished the Job (again, with the
    /// events that follow it), finalizer removals of its pods.
    fn sync_finished(&mut self, now: DateTime<Utc>) {
        self.backoff = BackoffRecord::default();
        self.timers.backoff = None;
        self.timers.deadline = None;
        self.retry_orphans();
        if self.failures.unwritten {
            self.failures.unwritten = false;
            self.outbox.push(Action::UpdateStatus(self.status.clone()));
            let events = sync::finish_events(&self.job, &self.status);
            self.outbox
                .extend(events.into_iter().map(Action::RecordEvent));
        }
        self.check_ttl(now);
    }

    /// A work-queue pass begins: it serves a pending requeue, and the
    /// previous pass's result is known (upstream `Forget` after a pass
    /// without error).
    fn start_sync(&mut self) {
        self.commit_sync_metrics();
        self.failures.requeue.sync_started();
        self.timers.retry = None;
        self.outbox.sync = self.outbox.sync.saturating_add(1);
    }

    /// Expectations older than [`EXPECTATIONS_TIMEOUT`] count as met
    /// (upstream `SatisfiedExpectations`: `isExpired`, strictly past): the
    /// creations and deletions they waited for are forgotten, and this
    /// reconcile asks again for what is still missing.
    fn expire_expectations(&mut self, now: DateTime<Utc>) {
        let pending = !self.creating.is_empty() || !self.deleting.is_empty();
        if pending && self.expectations_expired(now) {
            self.creating.clear();
            self.deleting.clear();
        }
    }

    /// Pods of a finished or deleted Job whose finalizer removal failed:
    /// asked again at the requeue (upstream's orphan queue).
    fn retry_orphans(&mut self) {
        for name in std::mem::take(&mut self.failures.orphan_retry) {
            let Some(id) = self.pods.id(&name) else {
                continue;
            };
            let Some(p) = self.pods.get(id).filter(|p| p.finalizer) else {
                continue;
            };
            let uid = p.uid.clone();
            self.update_record(id, |p| p.finalizer = false);
            self.outbox.push(Action::RemoveFinalizer { name, uid });
        }
    }

    fn apply(&mut self, out: SyncOutput, now: DateTime<Utc>) {
        let SyncOutput {
            actions,
            status,
            backoff,
            finalizers_removed,
            created,
            creation_reason,
            expected_deletions,
            finishing_deletes,
            names_issued,
            backoff_wake,
            deadline_wake,
            indexes,
            sync_action: _,
        } = out;
        if let Some(indexes) = indexes {
            self.status_indexes = indexes;
        }
        for id in finalizers_removed {
            self.update_record(id, |p| p.finalizer = false);
        }
        let sync = self.outbox.sync;
        if !created.is_empty() || !expected_deletions.is_empty() {
            self.expectations_at = Some(now);
        }
        for (position, (name, _)) in created.into_iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            let pending = Pending {
                sync,
                position,
                reason: creation_reason,
            };
            self.creating.insert(name, pending);
        }
        let writes = actions.iter().any(|a| matches!(a, Action::UpdateStatus(_)));
        if writes {
            self.failures.unwritten = false;
        }
        self.deleting
            .extend(expected_deletions.into_iter().map(|n| (n, sync)));
        self.finishing_deletes
            .extend(finishing_deletes.into_iter().map(|n| (n, sync)));
        self.names_issued = names_issued;
        if writes {
            self.set_status(status);
        } else {
            // A reconcile that writes nothing leaves the status as it was.
            self.status = status;
        }
        if let Some(b) = backoff {
            self.backoff = b;
        }
        // Each reconcile plans both wake-ups afresh: one it did not plan would
        // find nothing to do (a backoff wake-up needs `manageJob` to run,
        // which needs what this reconcile had).
        self.timers.backoff = backoff_wake.filter(|t| *t > now);
        self.timers.deadline = deadline_wake.filter(|t| *t > now);
        self.outbox.extend(actions);
    }

    /// `ttlSecondsAfterFinished`: the TTL controller's `processJob`.
    pub(crate) fn check_ttl(&mut self, now: DateTime<Utc>) {
        self.timers.ttl = None;
        let Some(ttl) = self.job.ttl_seconds_after_finished() else {
            return;
        };
        if self.delete_job_requested || self.job.is_being_deleted() {
            return;
        }
        let Some(finish) = self.status.finish_time() else {
            return;
        };
        let expiry = finish
            .checked_add_signed(Duration::seconds(i64::from(ttl)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if now >= expiry {
            self.delete_job_requested = true;
            self.outbox.push(Action::DeleteJob {
                reason: DeleteJobReason::TtlAfterFinished,
            });
        } else {
            self.timers.ttl = Some(expiry);
        }
    }
}

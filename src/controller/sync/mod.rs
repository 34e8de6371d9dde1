//! One reconcile, as upstream's `syncJob` (job_controller.go), written as a
//! pure function from the machine's state to a plan: the actions to take and
//! the state to adopt. Computing the whole plan before changing anything is
//! what makes a reconcile all-or-nothing.
//!
//! [`sync_job`] is upstream's outline, step by step; each step lives where
//! its upstream counterpart does:
//!
//! | step | here | upstream |
//! |---|---|---|
//! | count the pods finished since the last sync | [`count_finished_pods`] | `getNewFinishedPods`, `newBackoffRecord` |
//! | decide an outcome | [`terminal`] | the finished-condition checks of `syncJob`, `getFailJobMessage`, `pastActiveDeadline`, `getSuccessPolicy…` |
//! | delete the active pods of a decided Job | [`delete_active_pods`] | `deleteActivePods` |
//! | create or delete pods | [`manage`] | `manageJob` |
//! | record finished pods, remove finalizers, finish | [`track`] | `trackJobStatusAndRemoveFinalizers`, `enactJobFinished` |
//! | plan the wake-ups | [`wake`] | the requeues (`AddAfter`) |

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::action::{Action, DeleteReason};
use super::aggregates::{Aggregates, ListKey};
use super::event::Event;
use super::failure_policy::match_policy;
use super::in_flight::Pending;
use super::metrics::{CreationReason, SyncAction};
use super::pod::PodRecord;
use super::pod_to_create::BasePod;
use super::pods::{PodId, PodStore};
use super::status_indexes::StatusIndexes;
use crate::api::{
    ConditionStatus, JobCondition, JobConditionType, JobStatus, PodPhase, UncountedTerminatedPods,
};
use crate::backoff::BackoffRecord;
use crate::indexes::IndexSet;
use crate::status::{self as cond, new_condition};
use crate::valid::ValidJob;

mod manage;
mod terminal;
mod track;
mod wake;

use manage::{manage_job, update_suspended_condition};
use terminal::decide_terminal;
use track::track_and_finish;
use wake::plan_wake_ups;

/// Upstream `MaxPodCreateDeletePerSync`.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// Upstream `MaxUncountedPods`.
pub const MAX_UNCOUNTED_PODS: usize = 500;

pub(crate) struct SyncInput<'a> {
    pub job: &'a ValidJob,
    pub status: &'a JobStatus,
    pub pods: &'a PodStore,
    pub aggregates: &'a Aggregates,
    pub backoff: BackoffRecord,
    pub expectations_satisfied: bool,
    /// Pods whose deletion the machine asked for and has not seen begin:
    /// scale-down and suspension (expectations) ...
    pub deleting: &'a BTreeMap<String, u64>,
    /// ... and the terminal path (not expectations upstream). Either way
    /// the pod is never asked to be deleted again.
    pub finishing: &'a BTreeMap<String, u64>,
    /// `status.completedIndexes` / `failedIndexes`, parsed.
    pub indexes: &'a StatusIndexes,
    /// What every created pod starts from (`create::base_pod`).
    pub base_pod: &'a Arc<BasePod>,
    pub names_issued: u64,
    pub taken_names: &'a BTreeMap<String, Pending>,
    /// The status held was not written (its write failed): write it.
    pub unwritten: bool,
    pub now: DateTime<Utc>,
}

impl SyncInput<'_> {
    /// Whether a `DeletePod` for this pod is already out.
    fn delete_requested(&self, name: &str) -> bool {
        self.deleting.contains_key(name) || self.finishing.contains_key(name)
    }
}

#[derive(Default)]
pub(crate) struct SyncOutput {
    pub actions: Vec<Action>,
    pub status: JobStatus,
    /// The new backoff record, when upstream would store it.
    pub backoff: Option<BackoffRecord>,
    pub finalizers_removed: Vec<PodId>,
    pub created: Vec<(String, Option<i32>)>,
    /// The `reason` label of this round's creations.
    pub creation_reason: CreationReason,
    /// What `manageJob` did (the `action` label of the sync's metrics).
    pub sync_action: SyncAction,
    pub expected_deletions: Vec<String>,
    pub finishing_deletes: Vec<String>,
    pub names_issued: u64,
    /// When the pod-failure backoff lets the next reconcile create pods
    /// (set only by a reconcile that ran `manageJob` and was held back).
    pub backoff_wake: Option<DateTime<Utc>>,
    /// When `activeDeadlineSeconds` runs out, if a reconcile then has
    /// something to do.
    pub deadline_wake: Option<DateTime<Utc>>,
    /// The index sets of the new status, when this sync formatted them.
    pub indexes: Option<StatusIndexes>,
}

/// A tracked pod and its slot.
type Entry<'a> = (PodId, &'a PodRecord);

/// Everything one sync derives from the pods (upstream `syncJobCtx`).
struct Ctx<'a> {
    input: &'a SyncInput<'a>,
    /// Pods with the finalizer that are finished or considered failed
    /// (`Aggregates::fresh`), in list order.
    fresh: Vec<Entry<'a>>,
    active_count: i32,
    ready: i32,
    terminating: i32,
    succeeded: i32,
    failed: i64,
    uncounted_succeeded: BTreeSet<&'a str>,
    uncounted_failed: BTreeSet<&'a str>,
    new_backoff: BackoffRecord,
    finished: Option<JobCondition>,
    prev_succeeded_indexes: &'a IndexSet,
    /// `status.failedIndexes` before this sync (backoffLimitPerIndex).
    prev_failed_indexes: &'a IndexSet,
    /// Borrowed from the parsed status until an index is added.
    succeeded_indexes: Cow<'a, IndexSet>,
    failed_indexes: Option<Cow<'a, IndexSet>>,
    /// Per index, the failed pod whose finalizer is kept (backoffLimitPerIndex).
    delayed: BTreeMap<i32, &'a PodRecord>,
    /// A terminal decision was found in this sync, even if it had to be
    /// dropped for unsatisfied expectations.
    decided: bool,
    /// `manageJob` wanted pods but the Job-wide backoff held them back.
    backoff_held: bool,
    /// Upstream `suspendCondChanged`: the Suspended condition changed.
    suspend_changed: bool,
    /// The API server refused this sync's status write (see
    /// `rejected_by_api_server`): nothing after it happened.
    write_rejected: bool,
    out: SyncOutput,
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl<'a> Ctx<'a> {
    fn job(&self) -> &'a ValidJob {
        self.input.job
    }

    fn only_replace_failed(&self) -> bool {
        self.input.job.only_replace_failed_pods()
    }

    fn completions(&self) -> i32 {
        self.input.job.completions().unwrap_or(0)
    }

    /// Upstream `getValidPodsWithFilter`'s validity: not counted yet and,
    /// for Indexed Jobs, an index below completions.
    fn countable(&self, p: &PodRecord) -> bool {
        p.finalizer && (!self.job().is_indexed() || self.valid_index(p).is_some())
    }

    fn valid_index(&self, p: &PodRecord) -> Option<i32> {
        p.index.filter(|i| *i < self.completions())
    }

    /// Whether the index was failed before this sync.
    fn prev_failed_index(&self, i: i32) -> bool {
        self.prev_failed_indexes.contains(i)
    }

    fn entry(&self, id: PodId) -> Option<Entry<'a>> {
        self.input.pods.get(id).map(|p| (id, p))
    }

    fn records(&self, keys: impl IntoIterator<Item = ListKey>) -> Vec<Entry<'a>> {
        keys.into_iter()
            .filter_map(|(_, id)| self.entry(id))
            .collect()
    }

    /// Active pods in list order (only for paths that act on all of them).
    fn active_pods(&self) -> Vec<Entry<'a>> {
        self.records(self.input.aggregates.active_in_list_order())
    }

    fn policy_counts(&self, p: &PodRecord) -> bool {
        match_policy(
            self.job().pod_failure_policy(),
            p,
            self.input.job.namespace(),
        )
        .counts
    }
}

/// One reconcile (upstream `syncJob` from its step 4 on: the Job is known,
/// not finished and ours; the machine checked the rest).
pub(crate) fn sync_job(input: &SyncInput<'_>) -> SyncOutput {
    let mut status = input.status.clone();
    let mut ctx = Ctx::new(input);
    count_finished_pods(&mut ctx, &mut status);
    if status.start_time.is_none() && !input.job.is_suspended() {
        status.start_time = Some(input.now);
    }
    decide_terminal(&mut ctx, &status);
    let active = if ctx.finished.is_some() {
        delete_active_pods(&mut ctx)
    } else {
        manage_and_check_completion(&mut ctx, &mut status)
    };
    status.active = active;
    status.ready = Some(ctx.ready);
    status.terminating = Some(ctx.terminating);
    track_and_finish(&mut ctx, status);
    plan_wake_ups(&mut ctx);
    ctx.out
}

impl<'a> Ctx<'a> {
    fn new(input: &'a SyncInput<'a>) -> Ctx<'a> {
        let aggregates = input.aggregates;
        let uncounted = |pick: fn(&'a UncountedTerminatedPods) -> &'a Vec<String>| {
            input
                .status
                .uncounted_terminated_pods
                .iter()
                .flat_map(move |u| pick(u).iter().map(String::as_str))
                .collect()
        };
        let mut ctx = Ctx {
            input,
            fresh: Vec::new(),
            active_count: to_i32(aggregates.active),
            ready: to_i32(aggregates.ready),
            terminating: to_i32(aggregates.terminating),
            succeeded: 0,
            failed: 0,
            uncounted_succeeded: uncounted(|u| &u.succeeded),
            uncounted_failed: uncounted(|u| &u.failed),
            new_backoff: input.backoff,
            finished: None,
            prev_succeeded_indexes: &input.indexes.completed,
            prev_failed_indexes: &input.indexes.failed,
            succeeded_indexes: Cow::Borrowed(&input.indexes.completed),
            failed_indexes: None,
            delayed: BTreeMap::new(),
            decided: false,
            backoff_held: false,
            suspend_changed: false,
            write_rejected: false,
            out: SyncOutput {
                names_issued: input.names_issued,
                ..SyncOutput::default()
            },
        };
        ctx.fresh = ctx.records(aggregates.fresh.iter().copied());
        ctx
    }
}

/// Steps 5–8 of `syncJob`: the pods finished since the last count
/// (upstream `getNewFinishedPods`), the succeeded and failed totals with
/// them and the uncounted ones, and the backoff record they make
/// (`newBackoffRecord`).
fn count_finished_pods(ctx: &mut Ctx<'_>, status: &mut JobStatus) {
    let only_failed = ctx.only_replace_failed();
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(UncountedTerminatedPods::default);
    let (uncounted_succeeded, uncounted_failed) =
        (uncounted.succeeded.len(), uncounted.failed.len());
    let new_succeeded: Vec<&PodRecord> = ctx
        .fresh
        .iter()
        .map(|e| e.1)
        .filter(|p| ctx.countable(p) && !ctx.uncounted_succeeded.contains(p.uid.as_str()))
        .filter(|p| p.phase == PodPhase::Succeeded)
        .collect();
    let new_failed: Vec<&PodRecord> = ctx
        .fresh
        .iter()
        .map(|e| e.1)
        .filter(|p| ctx.countable(p) && !ctx.uncounted_failed.contains(p.uid.as_str()))
        .filter(|p| p.considered_failed(only_failed))
        .collect();
    ctx.succeeded = status
        .succeeded
        .saturating_add(to_i32(new_succeeded.len()))
        .saturating_add(to_i32(uncounted_succeeded));
    let counted_new_failed = new_failed.iter().filter(|p| ctx.policy_counts(p)).count();
    ctx.failed = i64::from(status.failed)
        .saturating_add(i64::try_from(counted_new_failed).unwrap_or(i64::MAX))
        .saturating_add(i64::try_from(uncounted_failed).unwrap_or(i64::MAX));
    ctx.new_backoff = ctx.input.backoff.next(
        new_succeeded.iter().map(|p| p.finish_time()).collect(),
        new_failed.iter().map(|p| p.finish_time()).collect(),
    );
}

/// Step 12 with an outcome (upstream `deleteActivePods`): every active pod
/// is deleted, finalizers kept. A pod whose deletion is already asked for
/// counts as deleted (a second DELETE would succeed upstream) but is not
/// asked again. With creations or deletions in flight the outcome is not
/// recorded yet. Returns the active count to report: none.
fn delete_active_pods(ctx: &mut Ctx<'_>) -> i32 {
    let input = ctx.input;
    ctx.decided = true;
    let mut deleted_ready = 0;
    for (_, p) in ctx.active_pods() {
        if p.is_ready() {
            deleted_ready += 1;
        }
        if !input.delete_requested(&p.name) {
            ctx.out.actions.push(Action::DeletePod {
                name: p.name.clone(),
                reason: DeleteReason::JobFinishing,
            });
            ctx.out.finishing_deletes.push(p.name.clone());
        }
    }
    ctx.terminating = ctx.terminating.saturating_add(ctx.active_count);
    ctx.ready = ctx.ready.saturating_sub(deleted_ready);
    if !input.expectations_satisfied {
        ctx.finished = None;
    }
    0
}

/// Step 12 without an outcome: `manageJob` (when the expectations are
/// satisfied), then whether the completions are reached; otherwise the
/// Suspended condition that a sync running `manageJob` writes. Returns the
/// active count to report.
fn manage_and_check_completion(ctx: &mut Ctx<'_>, status: &mut JobStatus) -> i32 {
    let job = ctx.job();
    let now = ctx.input.now;
    let mut active = ctx.active_count;
    let manage_ran = ctx.input.expectations_satisfied && !job.is_being_deleted();
    if manage_ran {
        active = manage_job(ctx);
    }
    let complete = active == 0
        && match job.completions() {
            None => ctx.succeeded > 0,
            Some(c) => ctx.succeeded >= c,
        };
    if complete {
        ctx.decided = true;
        ctx.finished = Some(new_condition(
            JobConditionType::SuccessCriteriaMet,
            ConditionStatus::True,
            cond::REASON_COMPLETIONS_REACHED,
            cond::MESSAGE_COMPLETIONS_REACHED,
            now,
        ));
    } else if manage_ran {
        ctx.suspend_changed = update_suspended_condition(status, job.is_suspended(), now);
        if ctx.suspend_changed {
            // Recorded before the status write, whatever its outcome.
            let event = if job.is_suspended() {
                Event::suspended()
            } else {
                Event::resumed()
            };
            ctx.out.actions.push(Action::RecordEvent(event));
        }
    }
    active
}

/// The events upstream's `recordJobFinished` records once the status that
/// finishes the Job is written: `Completed` (after `TooManySucceededPods`
/// if more pods succeeded than `completions`), or a Warning with the
/// `Failed` condition's reason and message.
pub(crate) fn finish_events(job: &ValidJob, status: &JobStatus) -> Vec<Event> {
    if let Some(c) = status.true_condition(&JobConditionType::Failed) {
        return vec![Event::job_failed(&c.reason, &c.message)];
    }
    if status.true_condition(&JobConditionType::Complete).is_none() {
        return Vec::new();
    }
    let mut events = Vec::new();
    if job.completions().is_some_and(|c| status.succeeded > c) {
        events.push(Event::too_many_succeeded_pods());
    }
    events.push(Event::completed());
    events
}

//! One reconcile, as upstream's `syncJob` (job_controller.go), written as a
//! pure function from the machine's state to a plan: the actions to take and
//! the state to adopt. Computing the whole plan before changing anything is
//! what makes a reconcile all-or-nothing.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::action::{Action, BasePod, DeleteReason};
use super::aggregates::{self, Aggregates, ListKey};
use super::create;
use super::pod::PodRecord;
use super::pods::{PodId, PodStore};
use super::status_indexes::StatusIndexes;
use crate::api::{
    ConditionStatus, JobCondition, JobConditionType, JobStatus, PodFailurePolicyAction, PodPhase,
    UncountedTerminatedPods,
};
use crate::backoff::{self, BackoffRecord};
use crate::failure_policy::match_policy;
use crate::indexes::IndexSet;
use crate::status::{self as cond, ensure_condition, new_condition};
use crate::success_policy::match_success_policy;
use crate::time;
use crate::valid::ValidJob;

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
    pub deleting: &'a BTreeSet<String>,
    /// ... and the terminal path (not expectations upstream). Either way
    /// the pod is never asked to be deleted again.
    pub finishing: &'a BTreeSet<String>,
    /// `status.completedIndexes` / `failedIndexes`, parsed.
    pub indexes: &'a StatusIndexes,
    /// What every created pod starts from (`create::base_pod`).
    pub base_pod: &'a Arc<BasePod>,
    pub names_issued: u64,
    pub taken_names: &'a BTreeMap<String, Option<i32>>,
    pub now: DateTime<Utc>,
}

impl SyncInput<'_> {
    /// Whether a `DeletePod` for this pod is already out.
    fn delete_requested(&self, name: &str) -> bool {
        self.deleting.contains(name) || self.finishing.contains(name)
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

pub(crate) fn sync_job(input: &SyncInput<'_>) -> SyncOutput {
    let job = input.job;
    let now = input.now;
    let mut status = input.status.clone();
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(UncountedTerminatedPods::default);
    let (uncounted_succeeded, uncounted_failed) =
        (uncounted.succeeded.len(), uncounted.failed.len());

    let aggregates = input.aggregates;
    let mut ctx = Ctx {
        input,
        fresh: Vec::new(),
        active_count: to_i32(aggregates.active),
        ready: to_i32(aggregates.ready),
        terminating: to_i32(aggregates.terminating),
        succeeded: 0,
        failed: 0,
        uncounted_succeeded: input
            .status
            .uncounted_terminated_pods
            .iter()
            .flat_map(|u| u.succeeded.iter().map(String::as_str))
            .collect(),
        uncounted_failed: input
            .status
            .uncounted_terminated_pods
            .iter()
            .flat_map(|u| u.failed.iter().map(String::as_str))
            .collect(),
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
    let only_failed = ctx.only_replace_failed();

    // New finished pods (upstream getNewFinishedPods).
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
    ctx.failed = i64::from(status.failed) + counted_new_failed as i64 + uncounted_failed as i64;

    if status.start_time.is_none() && !job.is_suspended() {
        status.start_time = Some(now);
    }

    ctx.new_backoff = input.backoff.next(
        new_succeeded.iter().map(|p| p.finish_time()).collect(),
        new_failed.iter().map(|p| p.finish_time()).collect(),
    );

    decide_terminal(&mut ctx, &status);

    let mut active_count = ctx.active_count;
    if ctx.finished.is_some() {
        ctx.decided = true;
        // Upstream deleteActivePods: every active pod, finalizers kept. A
        // pod whose deletion is already asked for counts as deleted (a
        // second DELETE would succeed upstream) but is not asked again.
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
        ctx.terminating = ctx.terminating.saturating_add(active_count);
        ctx.ready = ctx.ready.saturating_sub(deleted_ready);
        active_count = 0;
        if !input.expectations_satisfied {
            ctx.finished = None;
        }
    } else {
        let mut manage_ran = false;
        if input.expectations_satisfied && !job.is_being_deleted() {
            active_count = manage_job(&mut ctx);
            manage_ran = true;
        }
        let complete = match job.completions() {
            None => ctx.succeeded > 0 && active_count == 0,
            Some(c) => ctx.succeeded >= c && active_count == 0,
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
            ctx.suspend_changed = update_suspended_condition(&mut status, job.is_suspended(), now);
        }
    }

    status.active = active_count;
    status.ready = Some(ctx.ready);
    status.terminating = Some(ctx.terminating);
    track_and_finish(&mut ctx, status);
    plan_wake_ups(&mut ctx);
    ctx.out
}

/// The wake-ups this reconcile leaves behind, each set only where a
/// reconcile at that instant, with no other input before it, has something
/// to do (upstream also requeues where it would find nothing; those
/// requeues change nothing observable).
fn plan_wake_ups(ctx: &mut Ctx<'_>) {
    let input = ctx.input;
    let now = input.now;
    if ctx.backoff_held {
        // The hold was decided with this sync's record, but the next sync
        // starts from the stored one, which is this sync's record only if
        // the status was flushed (upstream `flushUncountedAndRemoveFinalizers`)
        // — or if the write was refused, when the same pods count as new
        // again and make the same record.
        let next = if ctx.write_rejected {
            ctx.new_backoff
        } else {
            ctx.out.backoff.unwrap_or(input.backoff)
        };
        let wait = next.remaining(now).max(backoff::MIN_REQUEUE);
        // A backoff that runs out past the end of time never does: no
        // wake-up (one at the end of time would find it still running).
        ctx.out.backoff_wake = now.checked_add_signed(wait);
    }
    let status = &ctx.out.status;
    let outcome_known = [
        JobConditionType::SuccessCriteriaMet,
        JobConditionType::FailureTarget,
        JobConditionType::Complete,
        JobConditionType::Failed,
    ]
    .iter()
    .any(|t| status.true_condition(t).is_some());
    // Measured from the startTime after this sync (a resume resets it).
    ctx.out.deadline_wake = deadline(ctx.job(), status)
        .filter(|d| *d > now && !ctx.decided && !outcome_known && deadline_has_work(ctx));
}

/// Whether a reconcile at the deadline, with no input before it, would do
/// something. With expectations satisfied it writes `FailureTarget`. With
/// creations or deletions in flight it must drop the decision (step 12 of
/// `syncJob`) and only deletes the active pods not yet asked to go and
/// writes the counters that follows — which may be what this sync wrote
/// already; the observation that settles the expectations reconciles
/// anyway.
fn deadline_has_work(ctx: &Ctx<'_>) -> bool {
    let input = ctx.input;
    let out = &ctx.out;
    // The expectations as this sync leaves them.
    if input.expectations_satisfied && out.created.is_empty() && out.expected_deletions.is_empty() {
        return true;
    }
    let aggregates = input.aggregates;
    let requested: BTreeSet<&str> = input
        .deleting
        .iter()
        .chain(input.finishing.iter())
        .chain(out.expected_deletions.iter())
        .chain(out.finishing_deletes.iter())
        .map(String::as_str)
        .filter(|name| input.pods.by_name(name).is_some_and(PodRecord::is_active))
        .collect();
    if aggregates.active > requested.len() {
        return true;
    }
    let terminating = aggregates.terminating.saturating_add(aggregates.active);
    let status = &out.status;
    status.active != 0 || status.ready != Some(0) || status.terminating != Some(to_i32(terminating))
}

/// Step 11 of `syncJob`: the first terminal decision that applies.
fn decide_terminal(ctx: &mut Ctx<'_>, status: &JobStatus) {
    let job = ctx.job();
    let now = ctx.input.now;
    ctx.finished = status
        .true_condition(&JobConditionType::SuccessCriteriaMet)
        .cloned();
    if ctx.finished.is_none() {
        if let Some(target) = status.true_condition(&JobConditionType::FailureTarget) {
            ctx.finished = Some(new_condition(
                JobConditionType::Failed,
                ConditionStatus::True,
                &target.reason,
                &target.message,
                now,
            ));
        } else if let Some(message) = fail_job_message(ctx) {
            ctx.finished = Some(failure_target(
                cond::REASON_POD_FAILURE_POLICY,
                &message,
                now,
            ));
        }
    }
    if ctx.finished.is_none() {
        let exceeds = ctx.failed > i64::from(job.backoff_limit());
        if exceeds || past_backoff_limit_on_failure(ctx) {
            ctx.finished = Some(failure_target(
                cond::REASON_BACKOFF_LIMIT_EXCEEDED,
                cond::MESSAGE_BACKOFF_LIMIT_EXCEEDED,
                now,
            ));
        } else if deadline(job, status).is_some_and(|d| now >= d) {
            ctx.finished = Some(failure_target(
                cond::REASON_DEADLINE_EXCEEDED,
                cond::MESSAGE_DEADLINE_EXCEEDED,
                now,
            ));
        }
    }
    if job.is_indexed() {
        let completions = ctx.completions();
        // An index has one outcome: the API server rejects a status whose
        // completed and failed indexes overlap. Upstream would count both
        // and retry the rejected write forever; here the outcome recorded
        // first stands, and within one sync a success wins over a failure.
        let mut succeeded = Cow::Borrowed(ctx.prev_succeeded_indexes);
        for &(_, p) in &ctx.fresh {
            if p.phase == PodPhase::Succeeded && p.finalizer {
                if let Some(i) = ctx.valid_index(p) {
                    if !ctx.prev_failed_index(i) && !succeeded.contains(i) {
                        succeeded.to_mut().insert(i);
                    }
                }
            }
        }
        ctx.succeeded = i32::try_from(succeeded.len()).unwrap_or(i32::MAX);
        ctx.succeeded_indexes = succeeded;
        if let Some(limit) = job.backoff_limit_per_index() {
            let mut failed = Cow::Borrowed(ctx.prev_failed_indexes);
            for &(_, p) in &ctx.fresh {
                if let Some(i) = ctx.valid_index(p) {
                    if p.finalizer
                        && !ctx.succeeded_indexes.contains(i)
                        && !failed.contains(i)
                        && is_index_failed(ctx, p, limit)
                    {
                        failed.to_mut().insert(i);
                    }
                }
            }
            if ctx.finished.is_none() {
                let total = failed.len();
                if job
                    .max_failed_indexes()
                    .is_some_and(|max| total > u64::try_from(max.max(0)).unwrap_or(0))
                {
                    ctx.finished = Some(failure_target(
                        cond::REASON_MAX_FAILED_INDEXES_EXCEEDED,
                        cond::MESSAGE_MAX_FAILED_INDEXES_EXCEEDED,
                        now,
                    ));
                } else if total > 0
                    && total + ctx.succeeded_indexes.len()
                        >= u64::try_from(completions.max(0)).unwrap_or(0)
                {
                    ctx.finished = Some(failure_target(
                        cond::REASON_FAILED_INDEXES,
                        cond::MESSAGE_FAILED_INDEXES,
                        now,
                    ));
                }
            }
            ctx.failed_indexes = Some(failed);
            ctx.delayed = pods_with_delayed_deletion(ctx);
        }
        if ctx.finished.is_none() {
            if let Some(message) =
                match_success_policy(job.success_policy(), completions, &ctx.succeeded_indexes)
            {
                ctx.finished = Some(new_condition(
                    JobConditionType::SuccessCriteriaMet,
                    ConditionStatus::True,
                    cond::REASON_SUCCESS_POLICY,
                    &message,
                    now,
                ));
            }
        }
    }
}

fn failure_target(reason: &str, message: &str, now: DateTime<Utc>) -> JobCondition {
    new_condition(
        JobConditionType::FailureTarget,
        ConditionStatus::True,
        reason,
        message,
        now,
    )
}

/// `startTime + activeDeadlineSeconds` while the deadline runs (set, started,
/// not suspended).
fn deadline(job: &ValidJob, status: &JobStatus) -> Option<DateTime<Utc>> {
    let seconds = job.active_deadline_seconds()?;
    let start = status.start_time?;
    if job.is_suspended() {
        return None;
    }
    Some(time::after(
        start,
        Duration::try_seconds(seconds).unwrap_or(Duration::MAX),
    ))
}

/// Upstream `getFailJobMessage`: the first owned failed pod (counted or not)
/// matching a FailJob rule; the index keeps those matches in list order.
fn fail_job_message(ctx: &Ctx<'_>) -> Option<String> {
    ctx.job().pod_failure_policy()?;
    ctx.input.aggregates.fail_job.values().next().cloned()
}

/// Upstream `pastBackoffLimitOnFailure`: container restarts of Running and
/// Pending pods, against backoffLimit, under restartPolicy OnFailure.
fn past_backoff_limit_on_failure(ctx: &Ctx<'_>) -> bool {
    let job = ctx.job();
    if !job.restarts_on_failure() {
        return false;
    }
    let restarts = ctx.input.aggregates.restart_sum;
    let limit = i64::from(job.backoff_limit());
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// Upstream `isIndexFailed`.
fn is_index_failed(ctx: &Ctx<'_>, p: &PodRecord, limit: i32) -> bool {
    if !p.considered_failed(ctx.only_replace_failed()) {
        return false;
    }
    let counted = match ctx.job().pod_failure_policy() {
        Some(policy) => {
            let m = match_policy(Some(policy), p, ctx.job().namespace());
            if m.action == Some(PodFailurePolicyAction::FailIndex) {
                return true;
            }
            m.counts
        }
        None => true,
    };
    counted && p.failure_count >= limit
}

/// Upstream `getPodsWithDelayedDeletionPerIndex`: per pending index, the
/// latest failed pod keeps its finalizer until its replacement exists.
fn pods_with_delayed_deletion<'a>(ctx: &Ctx<'a>) -> BTreeMap<i32, &'a PodRecord> {
    let active_indexes = &ctx.input.aggregates.active_indexes;
    let empty = IndexSet::new();
    let failed = ctx.failed_indexes.as_deref().unwrap_or(&empty);
    let mut result: BTreeMap<i32, &'a PodRecord> = BTreeMap::new();
    for &(_, p) in &ctx.fresh {
        if !ctx.countable(p) || !p.considered_failed(ctx.only_replace_failed()) {
            continue;
        }
        let Some(i) = ctx.valid_index(p) else {
            continue;
        };
        if ctx.succeeded_indexes.contains(i) || failed.contains(i) || active_indexes.contains(i) {
            continue;
        }
        match result.get(&i) {
            Some(last)
                if !(last.absolute_failure_count() <= p.absolute_failure_count()
                    && p.finish_time() >= last.finish_time()) => {}
            _ => {
                result.insert(i, p);
            }
        }
    }
    result
}

/// Suspended condition after a sync that ran manageJob: True while
/// suspended; flipped to False on resume, which restarts `startTime`.
/// Returns whether the condition changed (upstream `suspendCondChanged`).
fn update_suspended_condition(status: &mut JobStatus, suspended: bool, now: DateTime<Utc>) -> bool {
    if suspended {
        ensure_condition(
            &mut status.conditions,
            JobConditionType::Suspended,
            ConditionStatus::True,
            cond::REASON_JOB_SUSPENDED,
            "Job suspended",
            now,
        )
    } else if ensure_condition(
        &mut status.conditions,
        JobConditionType::Suspended,
        ConditionStatus::False,
        cond::REASON_JOB_RESUMED,
        "Job resumed",
        now,
    ) {
        status.start_time = Some(now);
        true
    } else {
        false
    }
}

/// Upstream `manageJob`: returns the active count to report.
fn manage_job(ctx: &mut Ctx<'_>) -> i32 {
    let job = ctx.job();
    let now = ctx.input.now;
    let active = ctx.active_count;
    if job.is_suspended() {
        let all = ctx.input.aggregates.active;
        let doomed = active_pods_for_removal(ctx, all);
        return active.saturating_sub(delete_job_pods(ctx, doomed, DeleteReason::Suspended));
    }
    let want = match job.completions() {
        None => {
            if ctx.succeeded > 0 {
                active
            } else {
                job.parallelism()
            }
        }
        Some(c) => c.saturating_sub(ctx.succeeded).clamp(0, job.parallelism()),
    };
    let rm_at_least = usize::try_from(active.saturating_sub(want).max(0)).unwrap_or(0);
    let mut doomed = active_pods_for_removal(ctx, rm_at_least);
    doomed.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
    if !doomed.is_empty() {
        return active.saturating_sub(delete_job_pods(ctx, doomed, DeleteReason::TooManyActive));
    }
    let terminating = if ctx.only_replace_failed() {
        ctx.terminating
    } else {
        0
    };
    let diff = want.saturating_sub(terminating).saturating_sub(active);
    if diff <= 0 {
        return active;
    }
    if job.backoff_limit_per_index().is_none() && ctx.new_backoff.remaining(now) > Duration::zero()
    {
        // The wake-up is planned once the stored record is known.
        ctx.backoff_held = true;
        // Upstream quirk: this path reports `active: 0`.
        return 0;
    }
    let mut diff = usize::try_from(diff)
        .unwrap_or(0)
        .min(MAX_POD_CREATE_DELETE_PER_SYNC);
    let mut indexes: Vec<Option<i32>> = vec![None; diff];
    if job.is_indexed() {
        let mut chosen = first_pending_indexes(ctx, diff);
        if job.backoff_limit_per_index().is_some() {
            let mut ready_now = Vec::new();
            let mut min_wait: Option<Duration> = None;
            for i in chosen {
                let wait = ctx.delayed.get(&i).map_or(Duration::zero(), |p| {
                    let n = u32::try_from(p.absolute_failure_count().saturating_add(1))
                        .unwrap_or(u32::MAX);
                    backoff::remaining_for_failures(n, p.finish_time(), now)
                });
                if wait == Duration::zero() {
                    ready_now.push(i);
                } else {
                    min_wait = Some(min_wait.map_or(wait, |m| m.min(wait)));
                }
            }
            if ready_now.is_empty() {
                if let Some(wait) = min_wait {
                    // Past the end of time: no wake-up (as above).
                    ctx.out.backoff_wake = now.checked_add_signed(wait.max(backoff::MIN_REQUEUE));
                    return 0;
                }
            }
            chosen = ready_now;
        }
        diff = chosen.len();
        indexes = chosen.into_iter().map(Some).collect();
    }
    let mut issued = create::IssuedNames::default();
    for (n, index) in indexes.into_iter().enumerate() {
        let predecessor = index.and_then(|i| ctx.delayed.get(&i).copied());
        let rendered = create::render_pod(
            ctx.input,
            index,
            predecessor,
            &mut ctx.out.names_issued,
            &mut issued,
            slow_start_batch(n),
        );
        ctx.out.created.push((rendered.name.clone(), index));
        ctx.out.actions.push(Action::CreatePod(Box::new(rendered)));
    }
    active.saturating_add(to_i32(diff))
}

/// Upstream creates in batches of 1, 2, 4, …: pod `n` (0-based) is in
/// batch ⌊log2(n + 1)⌋.
fn slow_start_batch(n: usize) -> u32 {
    (n + 1).ilog2()
}

/// Deletes pods for scale-down, suspension or bad indexes: finalizer first,
/// so they are never counted as failures (upstream `deleteJobPods`).
/// Returns how many were deleted.
fn delete_job_pods(
    ctx: &mut Ctx<'_>,
    doomed: Vec<(Entry<'_>, DeleteReason)>,
    default: DeleteReason,
) -> i32 {
    let mut deleted = 0;
    for ((id, p), reason) in doomed {
        let reason = if reason == DeleteReason::TooManyActive {
            default
        } else {
            reason
        };
        if p.finalizer {
            ctx.out.actions.push(Action::RemoveFinalizer {
                name: p.name.clone(),
                uid: p.uid.clone(),
            });
            ctx.out.finalizers_removed.push(id);
        }
        // A pod already on its way out (asked on the terminal path of an
        // earlier sync, not yet seen terminating) counts as deleted, as a
        // second DELETE would upstream, but is not asked again.
        if !ctx.input.delete_requested(&p.name) {
            ctx.out.actions.push(Action::DeletePod {
                name: p.name.clone(),
                reason,
            });
            ctx.out.expected_deletions.push(p.name.clone());
        }
        if p.is_ready() {
            ctx.ready = ctx.ready.saturating_sub(1);
        }
        deleted += 1;
    }
    ctx.terminating = ctx.terminating.saturating_add(deleted);
    deleted
}

/// Upstream `activePodsForRemoval`: for Indexed Jobs every pod with a
/// missing, out-of-range or duplicated index first, then the least valuable
/// pods until `rm_at_least` are chosen. Reads the index's ordered sets, so
/// the cost is proportional to the pods chosen, not to all pods.
fn active_pods_for_removal<'a>(
    ctx: &Ctx<'a>,
    rm_at_least: usize,
) -> Vec<(Entry<'a>, DeleteReason)> {
    let aggregates = ctx.input.aggregates;
    let mut rm: Vec<(Entry<'a>, DeleteReason)> = Vec::new();
    if ctx.job().is_indexed() {
        let completions = ctx.completions();
        for e in ctx.records(aggregates.active_without_index.iter().copied()) {
            rm.push((e, DeleteReason::InvalidIndex));
        }
        for &i in aggregates.duplicate_indexes.range(..completions) {
            let mut group: Vec<Entry<'a>> = aggregates
                .active_of_index(i)
                .filter_map(|(_, id)| ctx.entry(id))
                .collect();
            // Least valuable first (as `Aggregates::removal`); the most
            // valuable pod of the index (the last) stays.
            group.sort_by_key(|&(id, p)| aggregates::removal_order(id, p));
            let extra = group.len().saturating_sub(1);
            for e in group.into_iter().take(extra) {
                rm.push((e, DeleteReason::DuplicateIndex));
            }
        }
        for (_, id) in aggregates.active_from_index(completions) {
            rm.extend(ctx.entry(id).map(|e| (e, DeleteReason::InvalidIndex)));
        }
    }
    if rm.len() < rm_at_least {
        let chosen: BTreeSet<PodId> = rm.iter().map(|((id, _), _)| *id).collect();
        let more = rm_at_least - rm.len();
        let extra: Vec<_> = aggregates
            .removal
            .iter()
            .filter(|(_, _, id)| !chosen.contains(id))
            .take(more)
            .filter_map(|&(_, _, id)| ctx.entry(id))
            .map(|e| (e, DeleteReason::TooManyActive))
            .collect();
        rm.extend(extra);
    }
    rm
}

/// Upstream `firstPendingIndexes`: the lowest `count` indexes below
/// completions that are not succeeded, active, failed, or (when only failed
/// pods are replaced) terminating. Each candidate is found by skipping whole
/// runs of the interval sets rather than walking indexes one by one.
fn first_pending_indexes(ctx: &Ctx<'_>, count: usize) -> Vec<i32> {
    let completions = ctx.completions();
    let index = ctx.input.aggregates;
    let empty = IndexSet::new();
    let sets: [&IndexSet; 4] = [
        &ctx.succeeded_indexes,
        &index.active_indexes,
        if ctx.only_replace_failed() {
            &index.terminating_indexes
        } else {
            &empty
        },
        ctx.failed_indexes.as_deref().unwrap_or(&empty),
    ];
    let mut result = Vec::with_capacity(count);
    let mut candidate = 0;
    while result.len() < count && candidate < completions {
        let next = sets
            .iter()
            .fold(candidate, |c, set| set.first_absent_from(c));
        if next != candidate {
            candidate = next;
            continue;
        }
        result.push(candidate);
        candidate = candidate.saturating_add(1);
    }
    result
}

/// Upstream `trackJobStatusAndRemoveFinalizers` (with the pure model's
/// assumption that every finalizer removal succeeds) and `enactJobFinished`.
fn track_and_finish(ctx: &mut Ctx<'_>, mut status: JobStatus) {
    let job = ctx.job();
    let now = ctx.input.now;
    let indexed = job.is_indexed();
    let old = ctx.input.status;
    let removed_now: BTreeSet<PodId> = ctx.out.finalizers_removed.iter().copied().collect();
    let pods = ctx.input.pods;
    // Whether a UID's pod still carries the finalizer after this sync's
    // earlier removals (upstream `uidsWithFinalizer`, asked per UID).
    let mut removed_uids: BTreeSet<&str> = removed_now
        .iter()
        .filter_map(|id| pods.get(*id).map(|p| p.uid.as_str()))
        .collect();
    let has_finalizer = |uid: &str, removed: &BTreeSet<&str>| {
        !removed.contains(uid) && pods.by_uid(uid).is_some_and(|p| p.finalizer)
    };
    // Upstream `needsFlush`: whether the status must be written before any
    // finalizer is removed. It decides, too, whether this sync's backoff
    // record is stored (the flush stores it; nothing else does).
    let mut needs_flush = ctx.suspend_changed
        || status.active != old.active
        || status.ready != old.ready
        || status.terminating != old.terminating;
    needs_flush |= clean_uncounted(&mut status, |uid| has_finalizer(uid, &removed_uids));

    // Only pods that may lose their finalizer matter: normally the fresh
    // ones; every pod with the finalizer when the Job is being deleted or
    // finishing (a one-time pass: they are all released in it).
    let mut order = if job.is_being_deleted() || ctx.finished.is_some() {
        ctx.records(pods.in_list_order(|p| p.finalizer))
    } else {
        std::mem::take(&mut ctx.fresh)
    };
    if indexed {
        order.sort_by_key(|(_, p)| (p.index.map_or(-1, i64::from), p.seq));
    }
    let finished_is_failure = ctx
        .finished
        .as_ref()
        .is_some_and(|c| c.type_ != JobConditionType::SuccessCriteriaMet);
    let mut to_remove: Vec<Entry<'_>> = Vec::new();
    let mut new_succeeded_indexes: Vec<i32> = Vec::new();
    // Put back below, after the loop (which reads only this copy).
    let mut uncounted = status.uncounted_terminated_pods.take().unwrap_or_default();
    let mut reached_max = false;
    for (id, p) in order {
        if !p.finalizer || removed_now.contains(&id) {
            continue;
        }
        let failed = p.considered_failed(ctx.only_replace_failed());
        if !can_remove_finalizer(ctx, p, failed) {
            continue;
        }
        to_remove.push((id, p));
        if p.phase == PodPhase::Succeeded && !ctx.uncounted_failed.contains(p.uid.as_str()) {
            if indexed {
                // A success for an index already failed is not counted
                // (see `succeeded_indexes`); its finalizer goes all the same.
                if let Some(i) = ctx.valid_index(p) {
                    if !ctx.prev_succeeded_indexes.contains(i) && !ctx.prev_failed_index(i) {
                        new_succeeded_indexes.push(i);
                        needs_flush = true;
                    }
                }
            } else if !ctx.uncounted_succeeded.contains(p.uid.as_str()) {
                uncounted.succeeded.push(p.uid.clone());
                needs_flush = true;
            }
        } else if (failed || finished_is_failure)
            && !ctx.uncounted_failed.contains(p.uid.as_str())
            && (!indexed || ctx.valid_index(p).is_some())
            && ctx.policy_counts(p)
        {
            uncounted.failed.push(p.uid.clone());
            needs_flush = true;
        }
        if new_succeeded_indexes.len() + uncounted.succeeded.len() + uncounted.failed.len()
            >= MAX_UNCOUNTED_PODS
        {
            reached_max = true;
            break;
        }
    }
    status.uncounted_terminated_pods = Some(uncounted);
    if indexed {
        // `new_succeeded_indexes` are in the set already (counted when it
        // was built); format only what changed.
        status.succeeded = i32::try_from(ctx.succeeded_indexes.len()).unwrap_or(i32::MAX);
        let canonical = ctx.input.indexes.canonical;
        let completed_changed = matches!(ctx.succeeded_indexes, Cow::Owned(_));
        let failed_changed = matches!(ctx.failed_indexes, Some(Cow::Owned(_)));
        if completed_changed || !canonical {
            status.completed_indexes = ctx.succeeded_indexes.to_string();
        }
        if failed_changed || !canonical {
            status.failed_indexes = ctx.failed_indexes.as_deref().map(ToString::to_string);
        }
        if completed_changed || failed_changed || !canonical {
            // The sets are not read again in this sync: hand them over.
            let completed = std::mem::take(&mut ctx.succeeded_indexes).into_owned();
            let failed = ctx
                .failed_indexes
                .take()
                .map(Cow::into_owned)
                .unwrap_or_default();
            ctx.out.indexes = Some(StatusIndexes {
                completed,
                failed,
                canonical: true,
            });
        }
        needs_flush |= status.completed_indexes != old.completed_indexes
            || status.failed_indexes != old.failed_indexes;
    }
    let mut finished = ctx.finished.take();
    if let Some(c) = &finished {
        if c.type_ == JobConditionType::FailureTarget {
            status.conditions.push(c.clone());
            needs_flush = true;
            finished = Some(new_condition(
                JobConditionType::Failed,
                ConditionStatus::True,
                &c.reason,
                &c.message,
                now,
            ));
        } else if c.type_ == JobConditionType::SuccessCriteriaMet {
            if status
                .true_condition(&JobConditionType::SuccessCriteriaMet)
                .is_none()
            {
                status.conditions.push(c.clone());
                needs_flush = true;
            }
            finished = Some(new_condition(
                JobConditionType::Complete,
                ConditionStatus::True,
                &c.reason,
                &c.message,
                now,
            ));
        }
    }

    // Flush: the status with the new uncounted UIDs goes out before any
    // finalizer is removed, so a crash in between cannot lose a count.
    // Without removals the flush and the final write below are one write.
    if needs_flush && rejected_by_api_server(old, &status) {
        // Upstream's write fails here and its sync ends with the error: no
        // finalizer is removed, no record stored, the status stays as it
        // was; the same pods are new again next time.
        ctx.write_rejected = true;
        ctx.out.status = old.clone();
        ctx.out.indexes = None;
        return;
    }
    if needs_flush {
        ctx.out.backoff = Some(ctx.new_backoff);
        if !to_remove.is_empty() {
            ctx.out.actions.push(Action::UpdateStatus(status.clone()));
        }
    }
    for &(id, p) in &to_remove {
        removed_uids.insert(p.uid.as_str());
        ctx.out.actions.push(Action::RemoveFinalizer {
            name: p.name.clone(),
            uid: p.uid.clone(),
        });
        ctx.out.finalizers_removed.push(id);
    }
    clean_uncounted(&mut status, |uid| has_finalizer(uid, &removed_uids));

    if !reached_max {
        if let Some(c) = finished {
            let uncounted_left = status
                .uncounted_terminated_pods
                .as_ref()
                .is_some_and(|u| !u.succeeded.is_empty() || !u.failed.is_empty());
            if !uncounted_left && ctx.terminating == 0 {
                ensure_condition(
                    &mut status.conditions,
                    c.type_.clone(),
                    c.status.clone(),
                    &c.reason,
                    &c.message,
                    now,
                );
                if c.type_ == JobConditionType::Complete {
                    status.completion_time = Some(now);
                }
            }
        }
    }
    let last_written = ctx.out.actions.iter().rev().find_map(|a| match a {
        Action::UpdateStatus(s) => Some(s),
        _ => None,
    });
    if status != *last_written.unwrap_or(old) {
        ctx.out.actions.push(Action::UpdateStatus(status.clone()));
    }
    ctx.out.status = status;
}

/// Whether the API server refuses this status write — the one refusal a
/// write of this controller can meet. Upstream's `manageJob` reports
/// `active: 0` while the pod-failure backoff holds a replacement back (the
/// conformance cases pin it), even with ready pods running; the API server
/// refuses `ready > active` once either changed
/// (`RejectMoreReadyThanActivePods`), so such a sync writes nothing and
/// counts nothing until the backoff runs out or no pod is ready.
/// (kubernetes#139457 fixed this in 1.33-1.36 by reporting the active
/// pods; the cases follow the controller before it.)
fn rejected_by_api_server(old: &JobStatus, new: &JobStatus) -> bool {
    let changed = new.ready != old.ready || new.active != old.active;
    changed && new.ready.is_some_and(|r| r > new.active)
}

/// Upstream `canRemoveFinalizer`.
fn can_remove_finalizer(ctx: &Ctx<'_>, p: &PodRecord, considered_failed: bool) -> bool {
    if ctx.job().is_being_deleted() || ctx.finished.is_some() || p.phase == PodPhase::Succeeded {
        return true;
    }
    if !considered_failed {
        return false;
    }
    if ctx.job().backoff_limit_per_index().is_some() {
        if let Some(i) = p.index {
            if ctx.delayed.get(&i).is_some_and(|d| d.uid == p.uid) {
                return false;
            }
        }
    }
    true
}

/// Upstream `cleanUncountedPodsWithoutFinalizers`: UIDs whose pod no longer
/// carries the finalizer (or is gone) move into the counters. Returns
/// whether any moved.
fn clean_uncounted(status: &mut JobStatus, has_finalizer: impl Fn(&str) -> bool) -> bool {
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(UncountedTerminatedPods::default);
    let before_s = uncounted.succeeded.len();
    uncounted.succeeded.retain(|uid| has_finalizer(uid));
    let moved_s = before_s - uncounted.succeeded.len();
    let before_f = uncounted.failed.len();
    uncounted.failed.retain(|uid| has_finalizer(uid));
    let moved_f = before_f - uncounted.failed.len();
    status.succeeded = status.succeeded.saturating_add(to_i32(moved_s));
    status.failed = status.failed.saturating_add(to_i32(moved_f));
    moved_s + moved_f > 0
}

//! Upstream `manageJob`: the pods to create or delete so that the active
//! pods match parallelism and the remaining completions; and the Suspended
//! condition a sync that ran it writes.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::{Ctx, Entry, MAX_POD_CREATE_DELETE_PER_SYNC, to_i32};
use crate::api::{ConditionStatus, JobConditionType, JobStatus};
use crate::backoff;
use crate::controller::action::{Action, DeleteReason};
use crate::controller::metrics::{CreationReason, SyncAction};
use crate::controller::pods::PodId;
use crate::controller::{aggregates, create};
use crate::indexes::IndexSet;
use crate::status::{self as cond, ensure_condition};

/// Suspended condition after a sync that ran manageJob: True while
/// suspended; flipped to False on resume, which restarts `startTime`.
/// Returns whether the condition changed (upstream `suspendCondChanged`).
pub(super) fn update_suspended_condition(
    status: &mut JobStatus,
    suspended: bool,
    now: DateTime<Utc>,
) -> bool {
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
pub(super) fn manage_job(ctx: &mut Ctx<'_>) -> i32 {
    let job = ctx.job();
    let now = ctx.input.now;
    let active = ctx.active_count;
    ctx.out.sync_action = SyncAction::Tracking;
    if job.is_suspended() {
        ctx.out.sync_action = SyncAction::PodsDeleted;
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
        ctx.out.sync_action = SyncAction::PodsDeleted;
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
    ctx.out.sync_action = SyncAction::PodsCreated;
    ctx.out.creation_reason = creation_reason(ctx);
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
            match out_of_backoff(ctx, chosen) {
                Ok(ready) => chosen = ready,
                Err(wait) => {
                    // Past the end of time: no wake-up (as above).
                    ctx.out.backoff_wake = now.checked_add_signed(wait.max(backoff::MIN_REQUEUE));
                    return 0;
                }
            }
        }
        diff = chosen.len();
        indexes = chosen.into_iter().map(Some).collect();
    }
    create_pods(ctx, indexes);
    active.saturating_add(to_i32(diff))
}

/// The `reason` label of this round's creations (upstream
/// `recordJobPodsCreationTotal`): re-creations after failures (only
/// those, when only failed pods are replaced) or terminating pods.
fn creation_reason(ctx: &Ctx<'_>) -> CreationReason {
    if ctx.only_replace_failed() && ctx.failed > 0 {
        CreationReason::RecreateFailed
    } else if ctx.failed > 0 || ctx.terminating > 0 {
        CreationReason::RecreateTerminatingOrFailed
    } else {
        CreationReason::New
    }
}

/// Asks for one pod per entry of `indexes` (`None`: a NonIndexed pod), in
/// slow-start batches.
fn create_pods(ctx: &mut Ctx<'_>, indexes: Vec<Option<i32>>) {
    let creation = create::Creation {
        job: ctx.job(),
        base_pod: ctx.input.base_pod,
        pods: ctx.input.pods,
        taken_names: ctx.input.taken_names,
    };
    let mut issued = create::IssuedNames::default();
    for (n, index) in indexes.into_iter().enumerate() {
        let predecessor = index.and_then(|i| ctx.delayed.get(&i).copied());
        let rendered = create::render_pod(
            &creation,
            index,
            predecessor,
            &mut ctx.out.names_issued,
            &mut issued,
            slow_start_batch(n),
        );
        ctx.out.created.push((rendered.name.clone(), index));
        ctx.out.actions.push(Action::CreatePod(Box::new(rendered)));
    }
}

/// `backoffLimitPerIndex`: of the `chosen` indexes, those whose last
/// failed pod's backoff has run out (upstream
/// `getPodCreationInfoForIndependentIndexes`); if none, `Err` with the
/// shortest wait.
fn out_of_backoff(ctx: &Ctx<'_>, chosen: Vec<i32>) -> Result<Vec<i32>, Duration> {
    let now = ctx.input.now;
    let mut ready_now = Vec::new();
    let mut min_wait: Option<Duration> = None;
    for i in chosen {
        let wait = ctx.delayed.get(&i).map_or(Duration::zero(), |p| {
            let n = u32::try_from(p.absolute_failure_count().saturating_add(1)).unwrap_or(u32::MAX);
            backoff::remaining_for_failures(n, p.finish_time(), now)
        });
        if wait == Duration::zero() {
            ready_now.push(i);
        } else {
            min_wait = Some(min_wait.map_or(wait, |m| m.min(wait)));
        }
    }
    match min_wait {
        Some(wait) if ready_now.is_empty() => Err(wait),
        _ => Ok(ready_now),
    }
}

/// Upstream creates in batches of 1, 2, 4, …: pod `n` (0-based) is in
/// batch ⌊log2(n + 1)⌋.
pub(super) fn slow_start_batch(n: usize) -> u32 {
    (n + 1).ilog2()
}

/// Deletes pods for scale-down, suspension or bad indexes: finalizer first,
/// so they are never counted as failures (upstream `deleteJobPods`).
/// Returns how many were deleted.
pub(super) fn delete_job_pods(
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
pub(super) fn active_pods_for_removal<'a>(
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
pub(super) fn first_pending_indexes(ctx: &Ctx<'_>, count: usize) -> Vec<i32> {
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

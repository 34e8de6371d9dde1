//! Upstream `trackJobStatusAndRemoveFinalizers` and `enactJobFinished`:
//! finished pods are recorded in the status (the flush) before their
//! finalizers go, and the final condition is written once nothing is left
//! uncounted.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::{Ctx, Entry, MAX_UNCOUNTED_PODS, to_i32};
use crate::api::{
    ConditionStatus, JobCondition, JobConditionType, JobStatus, PodPhase, UncountedTerminatedPods,
};
use crate::controller::action::Action;
use crate::controller::pod::PodRecord;
use crate::controller::pods::PodId;
use crate::controller::status_indexes::StatusIndexes;
use crate::indexes::IndexSet;
use crate::status::{ensure_condition, new_condition};

/// Upstream `trackJobStatusAndRemoveFinalizers` (with the pure model's
/// assumption that every finalizer removal succeeds) and `enactJobFinished`.
pub(super) fn track_and_finish(ctx: &mut Ctx<'_>, mut status: JobStatus) {
    let old = ctx.input.status;
    let pods = ctx.input.pods;
    let removed_now: BTreeSet<PodId> = ctx.out.finalizers_removed.iter().copied().collect();
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
        || ctx.input.unwritten
        || status.active != old.active
        || status.ready != old.ready
        || status.terminating != old.terminating;
    needs_flush |= clean_uncounted(&mut status, |uid| has_finalizer(uid, &removed_uids));
    let picked = pick_finalizer_removals(ctx, &mut status, &removed_now);
    needs_flush |= picked.recorded;
    if ctx.job().is_indexed() {
        needs_flush |= write_indexes(ctx, &mut status);
    }
    let (finished, interim) = interim_condition(ctx, &mut status);
    needs_flush |= interim;

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
        if !picked.to_remove.is_empty() {
            ctx.out.actions.push(Action::UpdateStatus(status.clone()));
        }
    }
    for &(id, p) in &picked.to_remove {
        removed_uids.insert(p.uid.as_str());
        ctx.out.actions.push(Action::RemoveFinalizer {
            name: p.name.clone(),
            uid: p.uid.clone(),
        });
        ctx.out.finalizers_removed.push(id);
    }
    clean_uncounted(&mut status, |uid| has_finalizer(uid, &removed_uids));
    if !picked.reached_max {
        if let Some(c) = finished {
            enact_finished(ctx, &mut status, &c);
        }
    }
    let last_written = ctx.out.actions.iter().rev().find_map(|a| match a {
        Action::UpdateStatus(s) => Some(s),
        _ => None,
    });
    let rewrite = ctx.input.unwritten && last_written.is_none();
    if rewrite || status != *last_written.unwrap_or(old) {
        ctx.out.actions.push(Action::UpdateStatus(status.clone()));
        if status.is_finished() {
            // Recorded once the write that finishes the Job succeeded: a
            // failure of it withdraws them.
            let events = super::finish_events(ctx.job(), &status);
            ctx.out
                .actions
                .extend(events.into_iter().map(Action::RecordEvent));
        }
    }
    ctx.out.status = status;
}

/// What [`pick_finalizer_removals`] chose.
struct Picked<'a> {
    /// Pods whose finalizer goes once the status is flushed.
    to_remove: Vec<Entry<'a>>,
    /// Whether it recorded a pod (an uncounted UID or a completed index),
    /// which needs a flush.
    recorded: bool,
    /// Whether it stopped at `MAX_UNCOUNTED_PODS`.
    reached_max: bool,
}

/// The loop of `trackJobStatusAndRemoveFinalizers`: the pods whose
/// finalizer may go, each finished one recorded in `uncountedTerminatedPods`
/// (or, Indexed, as a completed index) first; at most
/// `MAX_UNCOUNTED_PODS` recorded per sync.
fn pick_finalizer_removals<'a>(
    ctx: &mut Ctx<'a>,
    status: &mut JobStatus,
    removed_now: &BTreeSet<PodId>,
) -> Picked<'a> {
    let indexed = ctx.job().is_indexed();
    // Only pods that may lose their finalizer matter: normally the fresh
    // ones; every pod with the finalizer when the Job is being deleted or
    // finishing (a one-time pass: they are all released in it).
    let mut order = if ctx.job().is_being_deleted() || ctx.finished.is_some() {
        ctx.records(ctx.input.pods.in_list_order(|p| p.finalizer))
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
    let mut picked = Picked {
        to_remove: Vec::new(),
        recorded: false,
        reached_max: false,
    };
    let mut new_succeeded_indexes = 0usize;
    // Put back below, after the loop (which reads only this copy).
    let mut uncounted = status.uncounted_terminated_pods.take().unwrap_or_default();
    for (id, p) in order {
        if !p.finalizer || removed_now.contains(&id) {
            continue;
        }
        let failed = p.considered_failed(ctx.only_replace_failed());
        if !can_remove_finalizer(ctx, p, failed) {
            continue;
        }
        picked.to_remove.push((id, p));
        if p.phase == PodPhase::Succeeded && !ctx.uncounted_failed.contains(p.uid.as_str()) {
            if indexed {
                // A success for an index already failed is not counted
                // (see `succeeded_indexes`); its finalizer goes all the same.
                if let Some(i) = ctx.valid_index(p) {
                    if !ctx.prev_succeeded_indexes.contains(i) && !ctx.prev_failed_index(i) {
                        new_succeeded_indexes += 1;
                        picked.recorded = true;
                    }
                }
            } else if !ctx.uncounted_succeeded.contains(p.uid.as_str()) {
                uncounted.succeeded.push(p.uid.clone());
                picked.recorded = true;
            }
        } else if (failed || finished_is_failure)
            && !ctx.uncounted_failed.contains(p.uid.as_str())
            && (!indexed || ctx.valid_index(p).is_some())
            && ctx.policy_counts(p)
        {
            uncounted.failed.push(p.uid.clone());
            picked.recorded = true;
        }
        if new_succeeded_indexes + uncounted.succeeded.len() + uncounted.failed.len()
            >= MAX_UNCOUNTED_PODS
        {
            picked.reached_max = true;
            break;
        }
    }
    status.uncounted_terminated_pods = Some(uncounted);
    picked
}

/// Indexed Jobs: `succeeded` and the index strings of the new status,
/// formatted only where they changed (the new succeeded indexes are in
/// the set already: counted when it was built). Returns whether the
/// strings differ from the old status (a flush is needed).
fn write_indexes(ctx: &mut Ctx<'_>, status: &mut JobStatus) -> bool {
    let old = ctx.input.status;
    status.succeeded = i32::try_from(ctx.succeeded_indexes.len()).unwrap_or(i32::MAX);
    let canonical = ctx.input.indexes.canonical;
    let completed_changed = matches!(ctx.succeeded_indexes, Cow::Owned(_));
    let failed_changed = matches!(ctx.failed_indexes, Some(Cow::Owned(_)));
    if completed_changed || !canonical {
        status.completed_indexes = ctx.succeeded_indexes.to_text();
    }
    if failed_changed || !canonical {
        status.failed_indexes = ctx.failed_indexes.as_deref().map(IndexSet::to_text);
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
    status.completed_indexes != old.completed_indexes || status.failed_indexes != old.failed_indexes
}

/// The interim condition of an outcome (`FailureTarget`,
/// `SuccessCriteriaMet`) goes into the status with the flush; returns the
/// final condition it leads to (`Failed`, `Complete`) and whether the
/// interim one was added.
fn interim_condition(ctx: &mut Ctx<'_>, status: &mut JobStatus) -> (Option<JobCondition>, bool) {
    let now = ctx.input.now;
    let Some(c) = ctx.finished.take() else {
        return (None, false);
    };
    let final_type = match c.type_ {
        JobConditionType::FailureTarget => JobConditionType::Failed,
        JobConditionType::SuccessCriteriaMet => JobConditionType::Complete,
        // Already final (a `Failed` decided from a stored FailureTarget).
        _ => return (Some(c), false),
    };
    let added = c.type_ == JobConditionType::FailureTarget
        || status
            .true_condition(&JobConditionType::SuccessCriteriaMet)
            .is_none();
    let finished = new_condition(
        final_type,
        ConditionStatus::True,
        &c.reason,
        &c.message,
        now,
    );
    if added {
        status.conditions.push(c);
    }
    (Some(finished), added)
}

/// Upstream `enactJobFinished`: the final condition (and, for `Complete`,
/// the completion time) once no finished pod is left uncounted and none is
/// terminating.
fn enact_finished(ctx: &Ctx<'_>, status: &mut JobStatus, c: &JobCondition) {
    let now = ctx.input.now;
    let uncounted_left = status
        .uncounted_terminated_pods
        .as_ref()
        .is_some_and(|u| !u.succeeded.is_empty() || !u.failed.is_empty());
    if uncounted_left || ctx.terminating != 0 {
        return;
    }
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

/// Whether the API server refuses this status write — the one refusal a
/// write of this controller can meet. Upstream's `manageJob` reports
/// `active: 0` while the pod-failure backoff holds a replacement back (the
/// conformance cases pin it), even with ready pods running; the API server
/// refuses `ready > active` once either changed
/// (`RejectMoreReadyThanActivePods`), so such a sync writes nothing and
/// counts nothing until the backoff runs out or no pod is ready.
/// (kubernetes#139457 fixed this in 1.33-1.36 by reporting the active
/// pods; the cases follow the controller before it.)
pub(super) fn rejected_by_api_server(old: &JobStatus, new: &JobStatus) -> bool {
    let changed = new.ready != old.ready || new.active != old.active;
    changed && new.ready.is_some_and(|r| r > new.active)
}

/// Upstream `canRemoveFinalizer`.
pub(super) fn can_remove_finalizer(ctx: &Ctx<'_>, p: &PodRecord, considered_failed: bool) -> bool {
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
pub(super) fn clean_uncounted(
    status: &mut JobStatus,
    has_finalizer: impl Fn(&str) -> bool,
) -> bool {
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

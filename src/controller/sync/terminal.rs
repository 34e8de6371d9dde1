//! Step 11 of `syncJob`: whether the Job has reached an outcome
//! (`FailureTarget`, `SuccessCriteriaMet`), and for Indexed Jobs the
//! completed and failed indexes it would record.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::Ctx;
use crate::api::{
    ConditionStatus, JobCondition, JobConditionType, JobStatus, PodFailurePolicyAction, PodPhase,
};
use crate::controller::failure_policy::match_policy;
use crate::controller::pod::PodRecord;
use crate::indexes::IndexSet;
use crate::status::{self as cond, new_condition};
use crate::success_policy::match_success_policy;
use crate::time;
use crate::valid::ValidJob;

/// Step 11 of `syncJob`: the first terminal decision that applies.
pub(super) fn decide_terminal(ctx: &mut Ctx<'_>, status: &JobStatus) {
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
        decide_indexes(ctx);
    }
}

/// Indexed Jobs, in step 11: the completed indexes with this sync's
/// successes; under `backoffLimitPerIndex` the failed indexes and their
/// limits (`maxFailedIndexes`), and the failed pods whose finalizer waits
/// for a replacement; then the success policy.
fn decide_indexes(ctx: &mut Ctx<'_>) {
    let job = ctx.job();
    let now = ctx.input.now;
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

pub(super) fn failure_target(reason: &str, message: &str, now: DateTime<Utc>) -> JobCondition {
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
pub(super) fn deadline(job: &ValidJob, status: &JobStatus) -> Option<DateTime<Utc>> {
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
pub(super) fn fail_job_message(ctx: &Ctx<'_>) -> Option<String> {
    ctx.job().pod_failure_policy()?;
    ctx.input.aggregates.fail_job.values().next().cloned()
}

/// Upstream `pastBackoffLimitOnFailure`: container restarts of Running and
/// Pending pods, against backoffLimit, under restartPolicy OnFailure.
pub(super) fn past_backoff_limit_on_failure(ctx: &Ctx<'_>) -> bool {
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
pub(super) fn is_index_failed(ctx: &Ctx<'_>, p: &PodRecord, limit: i32) -> bool {
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
pub(super) fn pods_with_delayed_deletion<'a>(ctx: &Ctx<'a>) -> BTreeMap<i32, &'a PodRecord> {
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

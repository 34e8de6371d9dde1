//! The wake-ups a reconcile leaves behind (upstream's requeues), kept to
//! those that find something to do.

use std::collections::BTreeSet;

use super::terminal::deadline;
use super::{Ctx, to_i32};
use crate::api::JobConditionType;
use crate::backoff;
use crate::controller::pod::PodRecord;

/// The wake-ups this reconcile leaves behind, each set only where a
/// reconcile at that instant, with no other input before it, has something
/// to do (upstream also requeues where it would find nothing; those
/// requeues change nothing observable).
pub(super) fn plan_wake_ups(ctx: &mut Ctx<'_>) {
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
pub(super) fn deadline_has_work(ctx: &Ctx<'_>) -> bool {
    let input = ctx.input;
    let out = &ctx.out;
    // The expectations as this sync leaves them.
    if input.expectations_satisfied && out.created.is_empty() && out.expected_deletions.is_empty() {
        return true;
    }
    let aggregates = input.aggregates;
    let requested: BTreeSet<&str> = input
        .deleting
        .keys()
        .chain(input.finishing.keys())
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

//! Reports of requests that failed, and what upstream's Job controller
//! does about each (`manageJob`, `deleteJobPods`, `deleteActivePods`,
//! `removeTrackingFinalizerFromPods`, `updateJobStatus`, `RealPodControl`):
//! expectations lowered, the counts of the reconcile that made the request
//! corrected, the event recorded, and the Job requeued with the work
//! queue's exponential delay.
//!
//! Contract (documented on [`JobController`]): a failed status write or
//! finalizer removal is reported before the next `poll_action`, since the
//! actions queued after it assumed it succeeded; a failed creation or
//! deletion may be reported at any time.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::api_error::{ApiError, ApiErrorReason};
use super::error::MachineError;
use super::event::Event;
use super::machine::JobController;
use super::status_indexes::StatusIndexes;
use crate::api::{JobConditionType, JobStatus};

/// The last position of the slow-start batch holding `position`: batches
/// of 1, 2, 4, … hold positions 0, 1–2, 3–6, 7–14, …
fn batch_end(position: u32) -> u32 {
    let batch = (position.saturating_add(1)).ilog2();
    // 2^(batch+1) - 2; batch < 32, so the shift fits in u64.
    u32::try_from((1u64 << (batch + 1)) - 2).unwrap_or(u32::MAX)
}

impl JobController {
    /// A pod creation the machine asked for failed. As upstream's
    /// `manageJob`:
    /// - a `FailedCreate` Warning (`Error creating: <error>`) is recorded,
    ///   except when the namespace is being deleted;
    /// - the creation's expectation is lowered, and the creations of later
    ///   slow-start batches of the same reconcile that are still queued are
    ///   withdrawn (skipped, as upstream skips them after a failed batch);
    /// - the status that reconcile queued counts neither as active;
    /// - the Job is requeued: [`poll_timeout`](Self::poll_timeout) gives a
    ///   [`TimeoutReason::Retry`](crate::TimeoutReason::Retry) 1 s after the
    ///   first failed reconcile, doubling with each failed reconcile in a
    ///   row up to 60 s; the reconcile then asks for the pods again.
    ///
    /// `NamespaceTerminating` is no failure upstream: no event, and the
    /// expectation stays until the pod appears or the expectations expire
    /// (5 minutes). Reporting a name the machine does not expect (reported
    /// twice, or after the expectations expired) only records the event.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use job_controller::{Action, ApiError, ApiErrorReason, JobController, TimeoutReason, ValidJob, parse_job};
    ///
    /// let job = parse_job("
    /// metadata: {name: pi, namespace: default, uid: 0f1e}
    /// spec:
    ///   template:
    ///     spec:
    ///       restartPolicy: Never
    ///       containers: [{name: pi, image: perl}]
    /// ").unwrap();
    /// let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    /// let mut ctl = JobController::new(ValidJob::create(job).unwrap(), t0);
    /// let Some(Action::CreatePod(pod)) = ctl.poll_action() else { panic!() };
    /// let quota = ApiError::new(ApiErrorReason::Other, "exceeded quota: pods=10");
    /// ctl.handle_create_failed(t0, pod.name(), &quota).unwrap();
    /// let rest: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    /// assert!(matches!(&rest[0], Action::UpdateStatus(s) if s.active == 0));
    /// assert!(matches!(&rest[1], Action::RecordEvent(e) if e.message == "Error creating: exceeded quota: pods=10"));
    /// let retry = ctl.poll_timeout().unwrap();
    /// assert_eq!((retry.reason, retry.at), (TimeoutReason::Retry, t0 + chrono::Duration::seconds(1)));
    /// ```
    pub fn handle_create_failed(
        &mut self,
        now: DateTime<Utc>,
        name: &str,
        error: &ApiError,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        self.note_input(now);
        if self.job_gone {
            return Ok(());
        }
        if error.reason() == ApiErrorReason::NamespaceTerminating {
            return Ok(());
        }
        self.outbox
            .push(Action::RecordEvent(Event::failed_create(error)));
        let Some(pending) = self.creating.remove(name) else {
            return Ok(());
        };
        self.metrics.creation_attempted(pending.reason, true);
        let end = batch_end(pending.position);
        let creating = &mut self.creating;
        let skipped = self.outbox.take_if(|q| match &q.action {
            Action::CreatePod(p) if q.sync == pending.sync => creating
                .get(p.name())
                .is_some_and(|later| later.sync == pending.sync && later.position > end),
            _ => false,
        });
        for action in &skipped {
            if let Action::CreatePod(p) = action {
                self.creating.remove(p.name());
            }
        }
        let not_active = i32::try_from(skipped.len())
            .unwrap_or(i32::MAX)
            .saturating_add(1);
        self.correct_status(pending.sync, |s| {
            s.active = s.active.saturating_sub(not_active);
        });
        self.requeue_failed(now);
        Ok(())
    }

    /// A pod deletion the machine asked for failed. As upstream's
    /// `deleteJobPods` / `deleteActivePods`: `NotFound` is a deletion done
    /// (the pod is gone; report it with [`PodEvent::Gone`](crate::PodEvent::Gone));
    /// any other error records a `FailedDelete` Warning (`Error deleting:
    /// <error>`), lowers the expectation, puts the pod back among the
    /// active ones in the status its reconcile queued, and requeues the Job
    /// (as [`handle_create_failed`](Self::handle_create_failed)); the
    /// reconcile then asks again.
    pub fn handle_delete_failed(
        &mut self,
        now: DateTime<Utc>,
        name: &str,
        error: &ApiError,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        self.note_input(now);
        if self.job_gone || error.reason() == ApiErrorReason::NotFound {
            self.deleting.remove(name);
            return Ok(());
        }
        self.outbox
            .push(Action::RecordEvent(Event::failed_delete(error)));
        let sync = self
            .deleting
            .remove(name)
            .or_else(|| self.finishing_deletes.remove(name));
        if let Some(sync) = sync {
            self.undo_delete_counts(sync);
        }
        self.requeue_failed(now);
        Ok(())
    }

    /// Removing the tracking finalizer from this pod failed. Report it
    /// before the next [`poll_action`](Self::poll_action): what follows
    /// assumed it. As upstream's `removeTrackingFinalizerFromPods`:
    /// `NotFound` is a removal done; otherwise the pod keeps its finalizer
    /// and stays in `uncountedTerminatedPods` (the queued status write is
    /// corrected to the partial progress, without a final condition that
    /// needed it), a deletion that was to follow it is withdrawn (the
    /// pod stays active), and the Job is requeued; the reconcile then
    /// removes it again.
    pub fn handle_finalizer_removal_failed(
        &mut self,
        now: DateTime<Utc>,
        name: &str,
        error: &ApiError,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        self.note_input(now);
        if error.reason() == ApiErrorReason::NotFound {
            return Ok(());
        }
        let Some(id) = self.pods.id(name) else {
            return Ok(());
        };
        self.update_record(id, |p| p.finalizer = true);
        if self.job_gone || self.last_write().is_finished() {
            self.failures.orphan_retry.insert(name.to_owned());
            self.requeue_failed(now);
            return Ok(());
        }
        let latest = self.outbox.sync;
        let withdrawn = self
            .outbox
            .take_if(|q| matches!(&q.action, Action::DeletePod { name: n, .. } if n == name));
        if !withdrawn.is_empty() {
            let ready = self
                .pods
                .get(id)
                .is_some_and(super::pod::PodRecord::is_ready);
            let sync = self.deleting.remove(name).unwrap_or(latest);
            self.undo_delete_counts(sync);
            if ready {
                self.correct_status(sync, |s| s.ready = s.ready.map(|r| r.saturating_add(1)));
            }
        } else if let Some(uid) = self.pods.get(id).map(|p| p.uid.clone()) {
            self.keep_uncounted(&uid, now);
        }
        self.requeue_failed(now);
        Ok(())
    }

    /// The latest status write (the last [`Action::UpdateStatus`] polled)
    /// failed — any error, a `Conflict` included. Report it before the next
    /// [`poll_action`](Self::poll_action) or any other input: everything
    /// queued after it assumed it landed. As upstream, whose sync ends at a
    /// failed write: the finalizer removals, later status writes, the TTL
    /// deletion and the events of a finished Job still queued are
    /// withdrawn; the machine keeps the status it meant to write and
    /// writes it again at the requeue (or at the next input). On a
    /// `Conflict`, give the machine the Job as the API now holds it
    /// ([`handle_spec_change`](Self::handle_spec_change)) if its spec
    /// changed.
    ///
    /// Misuse (no status write is in flight) is
    /// [`MachineError::NoStatusWriteInFlight`].
    pub fn handle_status_write_failed(
        &mut self,
        now: DateTime<Utc>,
        error: &ApiError,
    ) -> Result<(), MachineError> {
        self.check_time(now)?;
        if !self.failures.write_in_flight {
            return Err(MachineError::NoStatusWriteInFlight);
        }
        let _ = error;
        // It never landed: not counted.
        self.failures.write_counts = None;
        self.note_input(now);
        // A finalizer removal that comes with a deletion (scale-down,
        // suspension: the pod is not counted) does not depend on the write.
        let deleting = self.outbox.deletions();
        let dropped = self.outbox.take_if(|q| match &q.action {
            Action::RemoveFinalizer { name, .. } => !deleting.contains(name),
            Action::UpdateStatus(_) | Action::DeleteJob { .. } => true,
            Action::RecordEvent(e) => e.is_finish(),
            _ => false,
        });
        self.reinstate(&dropped);
        // The machine's status is what it meant to write.
        let failed = self.last_write().clone();
        self.set_status(failed);
        self.status_indexes = StatusIndexes::of(&self.job, &self.status);
        self.failures.unwritten = true;
        self.requeue_failed(now);
        self.check_ttl(now);
        Ok(())
    }

    /// Every input but a status-write failure: the write in flight, if
    /// any, landed.
    pub(crate) fn note_input(&mut self, now: DateTime<Utc>) {
        self.last_now = now;
        self.commit_write();
        self.failures.write_in_flight = false;
        // A wake-up that came due while the caller was away is due now
        // (an input that reconciles serves it; a failure report does not).
        self.timers.due_by(now);
    }

    /// A request of the latest reconcile failed: requeue with the rate
    /// limiter's delay.
    fn requeue_failed(&mut self, now: DateTime<Utc>) {
        self.failures.requeue.failed(now);
        self.plan_retry(now);
        // The sync's result is known now: an error.
        self.commit_sync_metrics();
    }

    /// The requeue's wake-up, asked for only where the reconcile then has
    /// something to do (upstream requeues regardless; a requeue that finds
    /// nothing changes nothing observable): a status to write again, a
    /// finalizer to remove again, or pods to create or delete again — which
    /// needs the expectations met (with creations still in flight, their
    /// outcome reconciles first). A requeue already due by the time the
    /// last expectation falls is due now.
    pub(crate) fn plan_retry(&mut self, now: DateTime<Utc>) {
        let Some(at) = self.failures.requeue.at.map(|t| t.max(now)) else {
            self.timers.retry = None;
            return;
        };
        let f = &self.failures;
        let work = if !f.orphan_retry.is_empty() {
            true
        } else if self.job_gone || self.job.is_managed_elsewhere() {
            false
        } else if self.status.is_finished() {
            f.unwritten
        } else {
            // What a reconcile then would do, computed without doing it.
            let out = self.sync_job(at, self.expectations_expired(at));
            !out.actions.is_empty() || out.status != self.status
        };
        self.timers.retry = work.then_some(at);
    }

    /// Corrects the status queued by reconcile `sync` (and the machine's,
    /// if that reconcile is the latest). If that reconcile's status write
    /// is out already (the caller reported the failure late), the corrected
    /// status is written again: upstream writes the status after its
    /// requests' outcomes, so its write never counts a failed one.
    fn correct_status(&mut self, sync: u64, fix: impl Fn(&mut JobStatus)) {
        let mut queued = false;
        for action in self.outbox.of_sync_mut(sync) {
            if let Action::UpdateStatus(s) = action {
                fix(s);
                queued = true;
            }
        }
        // The machine's status is the latest write's: corrected only if
        // that write is this reconcile's (a later reconcile counted the
        // pods it saw, not this one's requests).
        if self.outbox.last_write_sync != sync {
            return;
        }
        self.fix_own_status(queued, fix);
    }

    /// Corrects every queued status write and the machine's status: all of
    /// them assumed what failed (a finalizer removal reported before the
    /// next poll: what is queued came after it).
    fn correct_all_statuses(&mut self, fix: impl Fn(&mut JobStatus)) {
        let mut queued = false;
        for action in self.outbox.all_mut() {
            if let Action::UpdateStatus(s) = action {
                fix(s);
                queued = true;
            }
        }
        self.fix_own_status(queued, fix);
    }

    /// Corrects the machine's status; if no write of it is queued, the
    /// corrected status is written again.
    fn fix_own_status(&mut self, queued: bool, fix: impl Fn(&mut JobStatus)) {
        let before = self.status.clone();
        self.detach_last_write();
        fix(&mut self.status);
        if !queued && self.status != before {
            self.outbox.push(Action::UpdateStatus(self.status.clone()));
        }
    }

    /// A deletion counted in reconcile `sync` did not happen: the pod is
    /// active, not terminating.
    fn undo_delete_counts(&mut self, sync: u64) {
        self.correct_status(sync, |s| {
            s.active = s.active.saturating_add(1);
            s.terminating = s.terminating.map(|t| t.saturating_sub(1).max(0));
        });
    }

    /// Withdrawn finalizer removals: the pods keep their finalizers.
    fn reinstate(&mut self, dropped: &[Action]) {
        for action in dropped {
            match action {
                Action::RemoveFinalizer { name, .. } => {
                    if let Some(id) = self.pods.id(name) {
                        self.update_record(id, |p| p.finalizer = true);
                    }
                }
                Action::DeleteJob { .. } => self.delete_job_requested = false,
                _ => {}
            }
        }
    }

    /// The pod with this UID keeps its finalizer: it stays in
    /// `uncountedTerminatedPods` as the last write left it, and the status
    /// writes queued after its removal (which counted it) are corrected to
    /// upstream's partial-progress write — without a final condition,
    /// which needs nothing left uncounted.
    fn keep_uncounted(&mut self, uid: &str, now: DateTime<Utc>) {
        let last = self.last_write();
        let in_last = |pick: fn(&crate::api::UncountedTerminatedPods) -> &Vec<String>| {
            last.uncounted_terminated_pods
                .as_ref()
                .is_some_and(|u| pick(u).iter().any(|x| x == uid))
        };
        let (succeeded, failed) = (in_last(|u| &u.succeeded), in_last(|u| &u.failed));
        let was_finished = last.is_finished();
        let uid = uid.to_owned();
        let fix = |s: &mut JobStatus| {
            let u = s
                .uncounted_terminated_pods
                .get_or_insert_with(Default::default);
            if succeeded && !u.succeeded.contains(&uid) {
                u.succeeded.push(uid.clone());
                s.succeeded = s.succeeded.saturating_sub(1);
            }
            if failed && !u.failed.contains(&uid) {
                u.failed.push(uid.clone());
                s.failed = s.failed.saturating_sub(1);
            }
            // Upstream's sync ends at the failed removal: no final
            // condition in it, whatever the pod was.
            if !was_finished {
                s.conditions.retain(|c| {
                    !matches!(
                        c.type_,
                        JobConditionType::Complete | JobConditionType::Failed
                    )
                });
                s.completion_time = None;
            }
        };
        self.correct_all_statuses(fix);
        // Upstream writes the partial progress only if something changed
        // since its flush (`needsFlush`): a corrected write equal to the
        // last one goes.
        let last = self.last_write().clone();
        let dropped = self
            .outbox
            .take_if(|q| matches!(&q.action, Action::UpdateStatus(s) if *s == last));
        if !dropped.is_empty() {
            self.set_status(last);
        }
        if !was_finished {
            let dropped = self.outbox.take_if(|q| {
                matches!(&q.action, Action::DeleteJob { .. })
                    || matches!(&q.action, Action::RecordEvent(e) if e.is_finish())
            });
            self.reinstate(&dropped);
            self.check_ttl(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::batch_end;

    #[test]
    fn slow_start_batches_end_where_the_next_begins() {
        let ends: Vec<u32> = [0, 1, 2, 3, 6, 7, 14, 15]
            .iter()
            .map(|&p| batch_end(p))
            .collect();
        assert_eq!(ends, [0, 2, 2, 6, 6, 14, 14, 30]);
        assert_eq!(batch_end(u32::MAX), u32::MAX - 1);
    }
}

//! What the machine counts for upstream's metrics as the caller takes the
//! requests: a status write's newly finished pods, indexes and Job
//! outcome when the write is handed out (each counted once: a write that
//! fails and is retried adds nothing the second time), the pod failure
//! policy's action when a failed pod's finalizer goes, a sync once its
//! result is known.

use super::action::Action;
use super::failure_policy::match_policy;
use super::in_flight::Counts;
use super::machine::JobController;
use super::metrics::{CompletionModeLabel, Metrics, static_reason};
use crate::api::{JobConditionType, JobStatus, PodFailurePolicyAction};
use crate::indexes::IndexSet;

impl JobController {
    /// The counters of this Job's controller so far (upstream's
    /// `job_controller_*` metrics; sum them over Jobs with
    /// [`Metrics::add`]). A sync is counted once its result is known: when
    /// its actions are drained, when a failure of it is reported, or when
    /// the next sync begins.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The labels of the latest sync that ran `syncJob` through (not a
    /// finished Job's, nor one managed elsewhere): what the caller times
    /// for `job_sync_duration_seconds` ([`crate::SyncDurations`]).
    /// `error` is whether a failure of it was reported so far.
    #[must_use]
    pub fn last_sync(&self) -> Option<crate::SyncLabels> {
        self.last_sync.map(|mut l| {
            l.error = self.failures.requeue.current_failed();
            l
        })
    }

    pub(crate) fn completion_mode_label(&self) -> CompletionModeLabel {
        if self.job.is_indexed() {
            CompletionModeLabel::Indexed
        } else {
            CompletionModeLabel::NonIndexed
        }
    }

    /// Counts the pending sync with its result, if it is still pending.
    pub(crate) fn commit_sync_metrics(&mut self) {
        if let Some(labels) = self.last_sync() {
            self.metrics.sync(labels);
            self.last_sync = None;
        }
    }

    /// A status write handed out: counted once it is known to have
    /// landed (the caller moved on without reporting it failed), against
    /// the last write that did (upstream `recordJobPodFinished` and
    /// `recordJobFinished` run after a successful `UpdateStatus`).
    pub(crate) fn count_write(&mut self, new: &JobStatus) {
        self.commit_write();
        self.failures.write_counts = Some(self.counts_of(new));
    }

    /// The write in flight landed: count what it added.
    pub(crate) fn commit_write(&mut self) {
        let Some(new) = self.failures.write_counts.take() else {
            return;
        };
        let old = std::mem::replace(&mut self.failures.counted, new);
        let mode = self.completion_mode_label();
        let grown = |a: i32, b: i32| u64::try_from(a.saturating_sub(b)).unwrap_or(0);
        let succeeded = grown(new.succeeded, old.succeeded);
        let failed = grown(new.failed, old.failed);
        if self.job.is_indexed() {
            let per_index = self.job.backoff_limit_per_index().is_some();
            let failed_indexes = new.failed_indexes.saturating_sub(old.failed_indexes);
            // `succeeded` of an Indexed Job is its completed indexes.
            self.metrics
                .finished_indexes(per_index, succeeded, failed_indexes);
        }
        self.metrics.pods_finished(mode, succeeded, failed);
        if let (None, Some((failed, reason))) = (old.finished, new.finished) {
            self.metrics.job_finished(mode, failed, reason);
        }
    }

    /// What the metrics read of a status.
    pub(crate) fn counts_of(&self, status: &JobStatus) -> Counts {
        let failed_indexes = match status.failed_indexes.as_deref() {
            Some(text) if self.job.backoff_limit_per_index().is_some() && !text.is_empty() => {
                IndexSet::parse(text, self.job.completions().unwrap_or(0)).len()
            }
            _ => 0,
        };
        let finished = if let Some(c) = status.true_condition(&JobConditionType::Complete) {
            Some((false, static_reason(&c.reason)))
        } else {
            status
                .true_condition(&JobConditionType::Failed)
                .map(|c| (true, static_reason(&c.reason)))
        };
        Counts {
            succeeded: status.succeeded,
            failed: status.failed,
            failed_indexes,
            finished,
        }
    }

    /// A finalizer removal handed out: a failed pod of a running Job
    /// matched by a pod failure policy rule counts under the rule's action
    /// (`pod_failures_handled_by_failure_policy_total`).
    pub(crate) fn count_policy_action(&mut self, name: &str) {
        if self.job_gone || self.failures.counted.finished.is_some() {
            return;
        }
        let Some(policy) = self.job.pod_failure_policy() else {
            return;
        };
        let Some(p) = self.pods.by_name(name) else {
            return;
        };
        let action = match match_policy(Some(policy), p, self.job.namespace()).action {
            Some(PodFailurePolicyAction::FailJob) => "FailJob",
            Some(PodFailurePolicyAction::FailIndex) => "FailIndex",
            Some(PodFailurePolicyAction::Ignore) => "Ignore",
            Some(PodFailurePolicyAction::Count) => "Count",
            _ => return,
        };
        self.metrics.policy_action(action);
    }

    /// Counts what the action handed out adds (see the module).
    pub(crate) fn count_action(&mut self, action: Option<&Action>) {
        match action {
            Some(Action::UpdateStatus(s)) => self.count_write(s),
            Some(Action::RemoveFinalizer { name, .. }) => self.count_policy_action(name),
            Some(_) => {}
            None => {
                // A sync's result is known once none of its requests is in
                // flight (a creation may still be reported failed).
                let sync = self.outbox.sync;
                let pending = self.creating.values().any(|p| p.sync == sync)
                    || self.deleting.values().any(|s| *s == sync);
                if !pending {
                    self.commit_sync_metrics();
                }
            }
        }
    }
}

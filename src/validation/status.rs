//! `ValidateJobUpdateStatus`: the rules a status written through the status
//! subresource must follow, with the options the registry derives from the
//! old and new Job (`getStatusValidationOptions`; JobManagedBy is GA, so the
//! strict set applies). Most rules fire only when the fields they read
//! changed, so a Job whose stored status already breaks a rule can still be
//! updated in other respects.
//!
//! The options do not depend on `spec.managedBy`: a Job managed by another
//! controller gets the same strict checks (they exist to hold external
//! controllers to the transitions clients rely on).

use std::collections::BTreeSet;

use crate::api::{ConditionStatus, Job, JobCondition, JobConditionType, JobStatus, Time};
use crate::error::FieldError;

use super::field::{self, Path};
use super::{indexes, meta, update};

/// `JobStatusValidationOptions`. `AllowForSuccessCriteriaMetInExtendedScope`
/// is always true on the API server, so the two rules it disables are not
/// modelled.
#[derive(Debug, Default, Clone, Copy)]
struct Options {
    reject_decreasing_succeeded: bool,
    reject_decreasing_failed: bool,
    reject_disabling_terminal_condition: bool,
    reject_invalid_completed_indexes: bool,
    reject_invalid_failed_indexes: bool,
    reject_failed_indexes_overlapping_completed: bool,
    reject_completed_indexes_for_non_indexed: bool,
    reject_failed_indexes_without_backoff_limit_per_index: bool,
    reject_failed_without_failure_target: bool,
    reject_complete_without_success_criteria_met: bool,
    reject_finished_with_active_pods: bool,
    reject_finished_without_start_time: bool,
    reject_finished_with_uncounted_pods: bool,
    reject_start_time_update_unsuspended: bool,
    reject_completion_time_before_start_time: bool,
    reject_mutating_completion_time: bool,
    reject_complete_without_completion_time: bool,
    reject_not_complete_with_completion_time: bool,
    reject_complete_with_failed: bool,
    reject_complete_with_failure_target: bool,
    reject_more_ready_than_active: bool,
    reject_finished_with_terminating_pods: bool,
}

fn is_true(conditions: &[JobCondition], t: &JobConditionType) -> bool {
    has_status(conditions, t, &ConditionStatus::True)
}

/// Upstream `IsConditionFalse`: a condition of this type is present with
/// status False (an absent condition is not False).
fn is_false(conditions: &[JobCondition], t: &JobConditionType) -> bool {
    has_status(conditions, t, &ConditionStatus::False)
}

fn has_status(conditions: &[JobCondition], t: &JobConditionType, s: &ConditionStatus) -> bool {
    conditions.iter().any(|c| &c.type_ == t && &c.status == s)
}

/// The condition facts the rules read.
struct Facts {
    complete: bool,
    failed: bool,
    failure_target: bool,
    success_criteria_met: bool,
}

impl Facts {
    fn of(status: &JobStatus) -> Facts {
        let c = &status.conditions;
        Facts {
            complete: is_true(c, &JobConditionType::Complete),
            failed: is_true(c, &JobConditionType::Failed),
            failure_target: is_true(c, &JobConditionType::FailureTarget),
            success_criteria_met: is_true(c, &JobConditionType::SuccessCriteriaMet),
        }
    }

    fn finished(&self) -> bool {
        self.complete || self.failed
    }
}

/// `getStatusValidationOptions(new, old)`.
fn options(new: &Job, new_s: &JobStatus, old_s: &JobStatus) -> Options {
    let (n, o) = (Facts::of(new_s), Facts::of(old_s));
    let finished_changed = n.finished() != o.finished();
    let complete_changed = n.complete != o.complete;
    let failed_changed = n.failed != o.failed;
    let failure_target_changed = n.failure_target != o.failure_target;
    let scm_changed = n.success_criteria_met != o.success_criteria_met;
    let completed_changed = new_s.completed_indexes != old_s.completed_indexes;
    let failed_idx_changed = new_s.failed_indexes != old_s.failed_indexes;
    let active_changed = new_s.active != old_s.active;
    let ready_changed = new_s.ready != old_s.ready;
    let terminating_changed = new_s.terminating != old_s.terminating;
    let start_changed = new_s.start_time != old_s.start_time;
    let completion_changed = new_s.completion_time != old_s.completion_time;
    let uncounted_changed = !uncounted_equal(new_s, old_s);
    // Elastic Indexed Jobs may scale down, which lowers `succeeded`.
    let scalable = new.is_indexed() && new.spec.completions == new.spec.parallelism;
    // A suspended Job with completions=0 completes at once, without ever
    // starting, so it may finish without a startTime
    // (`isSuspendedWithZeroCompletions`).
    let suspended_with_zero_completions =
        new.spec.suspend == Some(true) && new.spec.completions == Some(0);
    // The controller resets startTime in the same status write that flips
    // the Suspended condition from True to False; by then spec.suspend is
    // already false, so `ValidateJobStatusUpdate` alone would reject it
    // (`isJobResuming`, kubernetes#134521). Only an explicit Suspended=False
    // counts: dropping the condition is not a resume.
    let resuming = is_true(&old_s.conditions, &JobConditionType::Suspended)
        && is_false(&new_s.conditions, &JobConditionType::Suspended);
    Options {
        reject_decreasing_succeeded: !scalable,
        reject_decreasing_failed: true,
        reject_disabling_terminal_condition: true,
        reject_invalid_completed_indexes: completed_changed,
        reject_invalid_failed_indexes: failed_idx_changed,
        reject_failed_indexes_overlapping_completed: failed_idx_changed || completed_changed,
        reject_completed_indexes_for_non_indexed: completed_changed,
        reject_failed_indexes_without_backoff_limit_per_index: failed_idx_changed,
        reject_failed_without_failure_target: failed_changed || failed_idx_changed,
        reject_complete_without_success_criteria_met: complete_changed || scm_changed,
        reject_finished_with_active_pods: finished_changed || active_changed,
        reject_finished_without_start_time: (finished_changed || start_changed)
            && !suspended_with_zero_completions,
        reject_finished_with_uncounted_pods: finished_changed || uncounted_changed,
        reject_start_time_update_unsuspended: start_changed && !resuming,
        reject_completion_time_before_start_time: start_changed || completion_changed,
        reject_mutating_completion_time: true,
        reject_complete_without_completion_time: complete_changed || completion_changed,
        reject_not_complete_with_completion_time: complete_changed || completion_changed,
        reject_complete_with_failed: complete_changed || failed_changed,
        reject_complete_with_failure_target: complete_changed || failure_target_changed,
        reject_more_ready_than_active: ready_changed || active_changed,
        reject_finished_with_terminating_pods: finished_changed || terminating_changed,
    }
}

/// `Semantic.DeepEqual` of `uncountedTerminatedPods`: a pointer, so absent
/// and `{}` differ; inside, empty and absent lists are the same (as here).
fn uncounted_equal(a: &JobStatus, b: &JobStatus) -> bool {
    a.uncounted_terminated_pods == b.uncounted_terminated_pods
}

/// The new object as the status subresource validates it: identity filled
/// from the stored Job as for any update, and the spec taken from the
/// stored Job (the status strategy ignores spec changes).
pub(crate) fn as_server_sees_it(new: &Job, old: &Job) -> Job {
    let status = new.status.clone();
    let mut j = update::as_server_sees_it(new, old);
    j.status = status;
    j.spec.clone_from(&old.spec);
    j
}

/// `ValidateJobUpdateStatus`.
pub(crate) fn validate_status_update(new: &Job, old: &Job, errs: &mut Vec<FieldError>) {
    meta::validate_object_meta_update(&new.metadata, &old.metadata, &Path::new("metadata"), errs);
    let new_s = new.status_or_default();
    let old_s = old.status_or_default();
    let opts = options(new, &new_s, &old_s);
    validate_status(new, &new_s, &opts, errs);
    validate_transitions(new, &new_s, &old_s, &opts, errs);
}

/// `validateJobStatus`.
fn validate_status(job: &Job, s: &JobStatus, opts: &Options, errs: &mut Vec<FieldError>) {
    let path = Path::new("status");
    // The checks run in `validateJobStatus`'s order, so errors are reported
    // in the order the API server lists them.
    validate_counts(s, &path, errs);
    validate_uncounted(s, &path.child("uncountedTerminatedPods"), errs);
    validate_complete_exclusions(s, opts, &path, errs);
    validate_times(s, opts, &path, errs);
    validate_condition_prerequisites(s, opts, &path, errs);
    validate_finished(s, opts, &path, errs);
    validate_indexes(job, s, opts, &path, errs);
    let finished = Facts::of(s).finished();
    if opts.reject_finished_with_terminating_pods
        && finished
        && s.terminating.is_some_and(|t| t > 0)
    {
        errs.push(field::invalid(
            &path.child("terminating"),
            field::render_opt(s.terminating),
            "terminating>0 is invalid for finished job",
        ));
    }
    if opts.reject_more_ready_than_active && s.ready.is_some_and(|r| r > s.active) {
        errs.push(field::invalid(
            &path.child("ready"),
            field::render_opt(s.ready),
            "cannot set more ready pods than active",
        ));
    }
    validate_success_criteria(job, s, &path, errs);
}

fn validate_counts(s: &JobStatus, path: &Path, errs: &mut Vec<FieldError>) {
    field::non_negative(i64::from(s.active), &path.child("active"), errs);
    field::non_negative(i64::from(s.succeeded), &path.child("succeeded"), errs);
    field::non_negative(i64::from(s.failed), &path.child("failed"), errs);
    if let Some(r) = s.ready {
        field::non_negative(i64::from(r), &path.child("ready"), errs);
    }
    if let Some(t) = s.terminating {
        field::non_negative(i64::from(t), &path.child("terminating"), errs);
    }
}

/// Uncounted pod UIDs are non-empty and appear once across both lists.
fn validate_uncounted(s: &JobStatus, path: &Path, errs: &mut Vec<FieldError>) {
    let Some(u) = &s.uncounted_terminated_pods else {
        return;
    };
    let mut seen = BTreeSet::new();
    for (list, name) in [(&u.succeeded, "succeeded"), (&u.failed, "failed")] {
        for (i, uid) in list.iter().enumerate() {
            let p = path.child(name).index(i);
            if uid.is_empty() {
                errs.push(field::invalid(&p, "", "must not be empty"));
            } else if !seen.insert(uid.as_str()) {
                errs.push(field::duplicate(&p, uid.as_str()));
            }
        }
    }
}

fn condition_error(path: &Path, detail: &str) -> FieldError {
    field::invalid(&path.child("conditions"), "", detail)
}

/// Complete excludes Failed and FailureTarget.
fn validate_complete_exclusions(
    s: &JobStatus,
    opts: &Options,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let f = Facts::of(s);
    if opts.reject_complete_with_failed && f.complete && f.failed {
        errs.push(condition_error(
            path,
            "cannot set Complete=True and Failed=true conditions",
        ));
    }
    if opts.reject_complete_with_failure_target && f.complete && f.failure_target {
        errs.push(condition_error(
            path,
            "cannot set Complete=True and FailureTarget=true conditions",
        ));
    }
}

/// Failed follows FailureTarget; Complete follows SuccessCriteriaMet.
fn validate_condition_prerequisites(
    s: &JobStatus,
    opts: &Options,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let f = Facts::of(s);
    if opts.reject_failed_without_failure_target && f.failed && !f.failure_target {
        errs.push(condition_error(
            path,
            "cannot set Failed=True condition without the FailureTarget=true condition",
        ));
    }
    if opts.reject_complete_without_success_criteria_met && f.complete && !f.success_criteria_met {
        errs.push(condition_error(
            path,
            "cannot set Complete=True condition without the SuccessCriteriaMet=true condition",
        ));
    }
}

fn render_time(t: Option<Time>) -> String {
    field::render_opt(t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
}

/// completionTime only with Complete, always with Complete, never before
/// startTime.
fn validate_times(s: &JobStatus, opts: &Options, path: &Path, errs: &mut Vec<FieldError>) {
    let f = Facts::of(s);
    let cp = path.child("completionTime");
    if opts.reject_not_complete_with_completion_time && s.completion_time.is_some() && !f.complete {
        errs.push(field::invalid(
            &cp,
            render_time(s.completion_time),
            "cannot set completionTime when there is no Complete=True condition",
        ));
    }
    if opts.reject_complete_without_completion_time && s.completion_time.is_none() && f.complete {
        errs.push(field::required(
            &cp,
            "completionTime is required for Complete jobs",
        ));
    }
    let before_start = matches!((s.start_time, s.completion_time), (Some(st), Some(ct)) if ct < st);
    if opts.reject_completion_time_before_start_time && before_start {
        errs.push(field::invalid(
            &cp,
            render_time(s.completion_time),
            "completionTime cannot be set before startTime",
        ));
    }
}

/// A finished Job has a start time and no active or uncounted pods (the
/// terminating check comes later, after the index checks, as upstream).
fn validate_finished(s: &JobStatus, opts: &Options, path: &Path, errs: &mut Vec<FieldError>) {
    if !Facts::of(s).finished() {
        return;
    }
    if opts.reject_finished_with_active_pods && s.active > 0 {
        errs.push(field::invalid(
            &path.child("active"),
            s.active.to_string(),
            "active>0 is invalid for finished job",
        ));
    }
    if opts.reject_finished_without_start_time && s.start_time.is_none() {
        errs.push(field::required(
            &path.child("startTime"),
            "startTime is required for finished job",
        ));
    }
    let uncounted = s
        .uncounted_terminated_pods
        .as_ref()
        .is_some_and(|u| !u.succeeded.is_empty() || !u.failed.is_empty());
    if opts.reject_finished_with_uncounted_pods && uncounted {
        errs.push(field::invalid(
            &path.child("uncountedTerminatedPods"),
            "",
            "uncountedTerminatedPods needs to be empty for finished job",
        ));
    }
}

/// completedIndexes and failedIndexes: well-formed below completions,
/// disjoint, and only where they mean something.
fn validate_indexes(
    job: &Job,
    s: &JobStatus,
    opts: &Options,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let completions = job.spec.completions.map(i64::from);
    let cp = path.child("completedIndexes");
    let fp = path.child("failedIndexes");
    let blpi = job.spec.backoff_limit_per_index.is_some();
    let failed = s.failed_indexes.as_deref();
    if let Some(c) = completions.filter(|_| opts.reject_invalid_completed_indexes) {
        if let Err(e) = indexes::validate_format(&s.completed_indexes, c) {
            let detail = format!("error parsing completedIndexes: {e}");
            errs.push(field::invalid(&cp, s.completed_indexes.as_str(), detail));
        }
    }
    if let (Some(c), Some(f)) = (
        completions.filter(|_| opts.reject_invalid_failed_indexes && blpi),
        failed,
    ) {
        if let Err(e) = indexes::validate_format(f, c) {
            errs.push(field::invalid(
                &fp,
                f,
                format!("error parsing failedIndexes: {e}"),
            ));
        }
    }
    if opts.reject_completed_indexes_for_non_indexed
        && !s.completed_indexes.is_empty()
        && !job.is_indexed()
    {
        errs.push(field::invalid(
            &cp,
            s.completed_indexes.as_str(),
            "cannot set non-empty completedIndexes when non-indexed completion mode",
        ));
    }
    // Non-indexed Jobs never have backoffLimitPerIndex, so this also keeps
    // failedIndexes off them.
    if let Some(f) =
        failed.filter(|_| opts.reject_failed_indexes_without_backoff_limit_per_index && !blpi)
    {
        errs.push(field::invalid(
            &fp,
            f,
            "cannot set non-null failedIndexes when backoffLimitPerIndex is null",
        ));
    }
    if let (Some(c), Some(f)) = (
        completions.filter(|_| opts.reject_failed_indexes_overlapping_completed),
        failed,
    ) {
        if let Err(e) = indexes::failed_overlaps_completed(&s.completed_indexes, f, c) {
            errs.push(field::invalid(&fp, f, e));
        }
    }
}

/// A SuccessCriteriaMet Job cannot also be failing; a Job with a success
/// policy completes only through SuccessCriteriaMet.
fn validate_success_criteria(job: &Job, s: &JobStatus, path: &Path, errs: &mut Vec<FieldError>) {
    let f = Facts::of(s);
    if f.success_criteria_met && f.failed {
        errs.push(condition_error(
            path,
            "cannot set SuccessCriteriaMet=True and Failed=true conditions",
        ));
    }
    if f.success_criteria_met && f.failure_target {
        errs.push(condition_error(
            path,
            "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions",
        ));
    }
    if job.spec.success_policy.is_some() && !f.success_criteria_met && f.complete {
        errs.push(condition_error(
            path,
            "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True",
        ));
    }
}

/// `ValidateJobStatusUpdate`'s rules comparing old and new status.
fn validate_transitions(
    job: &Job,
    new: &JobStatus,
    old: &JobStatus,
    opts: &Options,
    errs: &mut Vec<FieldError>,
) {
    let path = Path::new("status");
    let (n, o) = (Facts::of(new), Facts::of(old));
    if opts.reject_disabling_terminal_condition {
        let pairs = [
            ("Failed", o.failed, n.failed),
            ("Complete", o.complete, n.complete),
            ("FailureTarget", o.failure_target, n.failure_target),
        ];
        for (name, was, is) in pairs {
            if was && !is {
                errs.push(condition_error(
                    &path,
                    &format!("cannot disable the terminal {name}=True condition"),
                ));
            }
        }
    }
    if opts.reject_decreasing_failed && new.failed < old.failed {
        errs.push(field::invalid(
            &path.child("failed"),
            new.failed.to_string(),
            "cannot decrease the failed counter",
        ));
    }
    if opts.reject_decreasing_succeeded && new.succeeded < old.succeeded {
        errs.push(field::invalid(
            &path.child("succeeded"),
            new.succeeded.to_string(),
            "cannot decrease the succeeded counter",
        ));
    }
    validate_time_transitions(job, new, old, opts, &path, errs);
    if o.success_criteria_met && !n.success_criteria_met {
        errs.push(condition_error(
            &path,
            "cannot disable the SuccessCriteriaMet=True condition",
        ));
    }
    if o.complete && !o.success_criteria_met && n.success_criteria_met {
        errs.push(condition_error(
            &path,
            "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions",
        ));
    }
}

/// completionTime never changes once set; startTime never changes once set
/// unless the Job is suspended, or the write is the resume itself (the
/// option is off then, see [`options`]). Clearing completionTime is left to
/// the Complete rules.
fn validate_time_transitions(
    job: &Job,
    new: &JobStatus,
    old: &JobStatus,
    opts: &Options,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let mutated =
        matches!((new.completion_time, old.completion_time), (Some(a), Some(b)) if a != b);
    if opts.reject_mutating_completion_time && mutated {
        errs.push(field::invalid(
            &path.child("completionTime"),
            render_time(new.completion_time),
            "completionTime cannot be mutated",
        ));
    }
    let suspended = job.spec.suspend == Some(true);
    let start_changed = old.start_time.is_some() && old.start_time != new.start_time;
    if opts.reject_start_time_update_unsuspended && start_changed && !suspended {
        errs.push(field::invalid(
            &path.child("startTime"),
            render_time(new.start_time),
            "field is immutable for unsuspended job once set",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::api::{CompletionMode, UncountedTerminatedPods};

    fn t(s: i64) -> Time {
        chrono::DateTime::from_timestamp(1_735_689_600 + s, 0).unwrap_or_default()
    }

    fn cond(type_: JobConditionType) -> JobCondition {
        JobCondition {
            extra: Default::default(),
            type_,
            status: ConditionStatus::True,
            last_probe_time: None,
            last_transition_time: None,
            reason: String::new(),
            message: String::new(),
        }
    }

    fn job(status: JobStatus) -> Job {
        let mut j = Job::default();
        j.metadata.name = "abc".to_owned();
        j.metadata.namespace = "default".to_owned();
        j.metadata.resource_version = "1".to_owned();
        j.status = Some(status);
        j
    }

    fn errors(new: &Job, old: &Job) -> Vec<FieldError> {
        let new = as_server_sees_it(new, old);
        let mut errs = Vec::new();
        validate_status_update(&new, old, &mut errs);
        errs
    }

    fn has(errs: &[FieldError], field: &str, kind: ErrorKind, detail: &str) -> bool {
        errs.iter()
            .any(|e| e.field == field && e.kind == kind && e.detail.contains(detail))
    }

    fn running() -> JobStatus {
        JobStatus {
            start_time: Some(t(0)),
            active: 1,
            ..JobStatus::default()
        }
    }

    #[test]
    fn valid_progress_passes() {
        let old = job(running());
        let mut s = running();
        s.active = 2;
        s.ready = Some(1);
        s.succeeded = 1;
        assert!(errors(&job(s), &old).is_empty());
    }

    #[test]
    fn counts_must_be_non_negative() {
        let old = job(JobStatus::default());
        let s = JobStatus {
            active: -1,
            succeeded: -1,
            failed: -1,
            ready: Some(-1),
            terminating: Some(-1),
            ..JobStatus::default()
        };
        let errs = errors(&job(s), &old);
        for f in ["active", "succeeded", "failed", "ready", "terminating"] {
            assert!(
                has(
                    &errs,
                    &format!("status.{f}"),
                    ErrorKind::Invalid,
                    "must be greater than or equal to 0"
                ),
                "{f}"
            );
        }
    }

    #[test]
    fn uncounted_uids_nonempty_and_unique() {
        let old = job(JobStatus::default());
        let s = JobStatus {
            uncounted_terminated_pods: Some(UncountedTerminatedPods {
                extra: Default::default(),
                succeeded: vec!["a".into(), String::new()],
                failed: vec!["a".into()],
            }),
            ..JobStatus::default()
        };
        let errs = errors(&job(s), &old);
        assert!(has(
            &errs,
            "status.uncountedTerminatedPods.succeeded[1]",
            ErrorKind::Invalid,
            "must not be empty"
        ));
        assert!(has(
            &errs,
            "status.uncountedTerminatedPods.failed[0]",
            ErrorKind::Duplicate,
            ""
        ));
    }

    #[test]
    fn counters_never_decrease() {
        let mut o = running();
        o.failed = 2;
        o.succeeded = 2;
        let errs = errors(&job(running()), &job(o));
        assert!(has(
            &errs,
            "status.failed",
            ErrorKind::Invalid,
            "cannot decrease the failed counter"
        ));
        assert!(has(
            &errs,
            "status.succeeded",
            ErrorKind::Invalid,
            "cannot decrease the succeeded counter"
        ));
    }

    #[test]
    fn elastic_indexed_job_may_decrease_succeeded() {
        let mut o = job(JobStatus {
            succeeded: 3,
            ..running()
        });
        o.spec.completion_mode = Some(CompletionMode::Indexed);
        o.spec.completions = Some(2);
        o.spec.parallelism = Some(2);
        let errs = errors(&job(running()), &o);
        assert!(!has(
            &errs,
            "status.succeeded",
            ErrorKind::Invalid,
            "cannot decrease"
        ));
    }

    #[test]
    fn terminal_conditions_cannot_be_disabled() {
        let mut o = running();
        o.active = 0;
        o.conditions = vec![
            cond(JobConditionType::FailureTarget),
            cond(JobConditionType::Failed),
        ];
        let mut n = o.clone();
        n.conditions.clear();
        let errs = errors(&job(n), &job(o));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot disable the terminal Failed=True condition"
        ));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot disable the terminal FailureTarget=True condition"
        ));
    }

    #[test]
    fn failed_needs_failure_target() {
        let old = job(running());
        let mut n = running();
        n.active = 0;
        n.conditions = vec![cond(JobConditionType::Failed)];
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "without the FailureTarget=true condition"
        ));
    }

    #[test]
    fn complete_needs_success_criteria_met_and_completion_time() {
        let old = job(running());
        let mut n = running();
        n.active = 0;
        n.conditions = vec![cond(JobConditionType::Complete)];
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "without the SuccessCriteriaMet=true condition"
        ));
        assert!(has(
            &errs,
            "status.completionTime",
            ErrorKind::Required,
            "completionTime is required for Complete jobs"
        ));
    }

    #[test]
    fn complete_excludes_failed_and_failure_target() {
        let old = job(running());
        let mut n = running();
        n.active = 0;
        n.completion_time = Some(t(5));
        n.conditions = vec![
            cond(JobConditionType::SuccessCriteriaMet),
            cond(JobConditionType::Complete),
            cond(JobConditionType::FailureTarget),
            cond(JobConditionType::Failed),
        ];
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot set Complete=True and Failed=true conditions"
        ));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot set Complete=True and FailureTarget=true conditions"
        ));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot set SuccessCriteriaMet=True and Failed=true conditions"
        ));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"
        ));
    }

    #[test]
    fn completion_time_only_when_complete_and_after_start() {
        let old = job(running());
        let mut n = running();
        n.completion_time = Some(t(-5));
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.completionTime",
            ErrorKind::Invalid,
            "cannot set completionTime when there is no Complete=True condition"
        ));
        assert!(has(
            &errs,
            "status.completionTime",
            ErrorKind::Invalid,
            "completionTime cannot be set before startTime"
        ));
    }

    #[test]
    fn completion_time_cannot_be_mutated() {
        let mut o = running();
        o.completion_time = Some(t(5));
        let mut n = o.clone();
        n.completion_time = Some(t(6));
        assert!(has(
            &errors(&job(n), &job(o)),
            "status.completionTime",
            ErrorKind::Invalid,
            "completionTime cannot be mutated"
        ));
    }

    #[test]
    fn finished_job_has_start_time_and_no_pods() {
        let old = job(JobStatus::default());
        let n = JobStatus {
            active: 1,
            terminating: Some(1),
            uncounted_terminated_pods: Some(UncountedTerminatedPods {
                extra: Default::default(),
                succeeded: vec!["a".into()],
                failed: vec![],
            }),
            conditions: vec![
                cond(JobConditionType::FailureTarget),
                cond(JobConditionType::Failed),
            ],
            ..JobStatus::default()
        };
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.active",
            ErrorKind::Invalid,
            "active>0 is invalid for finished job"
        ));
        assert!(has(
            &errs,
            "status.startTime",
            ErrorKind::Required,
            "startTime is required for finished job"
        ));
        assert!(has(
            &errs,
            "status.uncountedTerminatedPods",
            ErrorKind::Invalid,
            "needs to be empty for finished job"
        ));
        assert!(has(
            &errs,
            "status.terminating",
            ErrorKind::Invalid,
            "terminating>0 is invalid for finished job"
        ));
    }

    #[test]
    fn start_time_immutable_unless_suspended() {
        let old = job(running());
        let mut n = running();
        n.start_time = Some(t(1));
        assert!(has(
            &errors(&job(n.clone()), &old),
            "status.startTime",
            ErrorKind::Invalid,
            "field is immutable for unsuspended job once set"
        ));
        n.start_time = None;
        assert!(has(
            &errors(&job(n.clone()), &old),
            "status.startTime",
            ErrorKind::Invalid,
            "field is immutable for unsuspended job once set"
        ));
        let mut suspended = old.clone();
        suspended.spec.suspend = Some(true);
        assert!(!has(
            &errors(&job(n), &suspended),
            "status.startTime",
            ErrorKind::Invalid,
            ""
        ));
    }

    fn suspended_cond(status: ConditionStatus) -> JobCondition {
        JobCondition {
            status,
            ..cond(JobConditionType::Suspended)
        }
    }

    #[test]
    fn start_time_may_be_reset_by_the_resume_write() {
        // The job controller's resume: Suspended True -> False and a new
        // startTime in one write, spec.suspend already false.
        let mut o = running();
        o.active = 0;
        o.conditions = vec![suspended_cond(ConditionStatus::True)];
        let mut n = o.clone();
        n.start_time = Some(t(60));
        n.conditions = vec![suspended_cond(ConditionStatus::False)];
        assert_eq!(errors(&job(n.clone()), &job(o.clone())), vec![]);
        // Dropping the condition is not a resume.
        n.conditions.clear();
        assert!(has(
            &errors(&job(n.clone()), &job(o.clone())),
            "status.startTime",
            ErrorKind::Invalid,
            "field is immutable for unsuspended job once set"
        ));
        // Nor is a write that finds the Job already resumed.
        let mut resumed = o;
        resumed.conditions = vec![suspended_cond(ConditionStatus::False)];
        n.conditions = vec![suspended_cond(ConditionStatus::False)];
        assert!(has(
            &errors(&job(n), &job(resumed)),
            "status.startTime",
            ErrorKind::Invalid,
            "field is immutable for unsuspended job once set"
        ));
    }

    #[test]
    fn suspended_job_with_zero_completions_completes_without_start_time() {
        let mut old = job(JobStatus::default());
        old.spec.suspend = Some(true);
        old.spec.completions = Some(0);
        let done = JobStatus {
            completion_time: Some(t(0)),
            conditions: vec![
                cond(JobConditionType::SuccessCriteriaMet),
                cond(JobConditionType::Complete),
            ],
            ..JobStatus::default()
        };
        assert_eq!(errors(&job(done.clone()), &old), vec![]);
        // Either alone is not enough.
        for (suspend, completions) in [(Some(false), Some(0)), (Some(true), Some(1))] {
            let mut o = old.clone();
            o.spec.suspend = suspend;
            o.spec.completions = completions;
            assert!(has(
                &errors(&job(done.clone()), &o),
                "status.startTime",
                ErrorKind::Required,
                "startTime is required for finished job"
            ));
        }
    }

    #[test]
    fn a_job_managed_elsewhere_gets_the_same_checks() {
        // getStatusValidationOptions never reads spec.managedBy.
        let mut old = job(running());
        old.spec.managed_by = Some("example.com/queue".to_owned());
        let mut n = running();
        n.active = 0;
        n.conditions = vec![cond(JobConditionType::Failed)];
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "without the FailureTarget=true condition"
        ));
    }

    #[test]
    fn errors_are_reported_in_upstream_order() {
        // `validateJobStatus` checks the Complete exclusions, then the times,
        // then the condition prerequisites, then the finished-Job rules, the
        // indexes, terminating, ready and the success-policy rules.
        let mut old = job(JobStatus::default());
        old.spec.completion_mode = Some(CompletionMode::Indexed);
        old.spec.completions = Some(5);
        old.spec.success_policy = Some(Default::default());
        let n = JobStatus {
            conditions: vec![cond(JobConditionType::Complete)],
            completed_indexes: "9".to_owned(),
            terminating: Some(1),
            ..JobStatus::default()
        };
        let got: Vec<(String, ErrorKind)> = errors(&job(n), &old)
            .into_iter()
            .map(|e| (e.field, e.kind))
            .collect();
        let want = [
            ("status.completionTime", ErrorKind::Required),
            ("status.conditions", ErrorKind::Invalid),
            ("status.startTime", ErrorKind::Required),
            ("status.completedIndexes", ErrorKind::Invalid),
            ("status.terminating", ErrorKind::Invalid),
            ("status.conditions", ErrorKind::Invalid),
        ]
        .map(|(f, k)| (f.to_owned(), k));
        assert_eq!(got, want);
    }

    #[test]
    fn ready_at_most_active() {
        let old = job(running());
        let mut n = running();
        n.ready = Some(2);
        assert!(has(
            &errors(&job(n), &old),
            "status.ready",
            ErrorKind::Invalid,
            "cannot set more ready pods than active"
        ));
    }

    fn indexed_job(status: JobStatus, blpi: bool) -> Job {
        let mut j = job(status);
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        j.spec.completions = Some(5);
        j.spec.parallelism = Some(2);
        j.spec.backoff_limit_per_index = blpi.then_some(1);
        j
    }

    #[test]
    fn completed_indexes_well_formed() {
        let old = indexed_job(running(), false);
        let n = JobStatus {
            completed_indexes: "0,5".to_owned(),
            ..running()
        };
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.completedIndexes",
            ErrorKind::Invalid,
            "error parsing completedIndexes: too large index: \"5\""
        ));
    }

    #[test]
    fn completed_indexes_only_for_indexed() {
        let old = job(running());
        let n = JobStatus {
            completed_indexes: "0".to_owned(),
            ..running()
        };
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.completedIndexes",
            ErrorKind::Invalid,
            "cannot set non-empty completedIndexes when non-indexed completion mode"
        ));
    }

    #[test]
    fn failed_indexes_need_backoff_limit_per_index() {
        let old = indexed_job(running(), false);
        let n = JobStatus {
            failed_indexes: Some(String::new()),
            ..running()
        };
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.failedIndexes",
            ErrorKind::Invalid,
            "cannot set non-null failedIndexes when backoffLimitPerIndex is null"
        ));
    }

    #[test]
    fn failed_indexes_well_formed_and_disjoint_from_completed() {
        let old = indexed_job(running(), true);
        let n = JobStatus {
            completed_indexes: "0-2".to_owned(),
            failed_indexes: Some("2,x".to_owned()),
            ..running()
        };
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.failedIndexes",
            ErrorKind::Invalid,
            "error parsing failedIndexes: cannot convert string to integer for index: \"x\""
        ));
        assert!(has(
            &errs,
            "status.failedIndexes",
            ErrorKind::Invalid,
            "failedIndexes and completedIndexes overlap at index: 2"
        ));
    }

    #[test]
    fn success_criteria_met_cannot_be_disabled_or_set_after_complete() {
        let mut o = running();
        o.conditions = vec![cond(JobConditionType::SuccessCriteriaMet)];
        let errs = errors(&job(running()), &job(o));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot disable the SuccessCriteriaMet=True condition"
        ));
        let mut done = running();
        done.active = 0;
        done.completion_time = Some(t(5));
        done.conditions = vec![cond(JobConditionType::Complete)];
        let mut n = done.clone();
        n.conditions
            .push(cond(JobConditionType::SuccessCriteriaMet));
        let errs = errors(&job(n), &job(done));
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"
        ));
    }

    #[test]
    fn success_policy_completes_through_success_criteria_met() {
        let mut old = job(running());
        old.spec.success_policy = Some(Default::default());
        let mut n = running();
        n.active = 0;
        n.completion_time = Some(t(5));
        n.conditions = vec![cond(JobConditionType::Complete)];
        let errs = errors(&job(n), &old);
        assert!(has(
            &errs,
            "status.conditions",
            ErrorKind::Invalid,
            "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"
        ));
    }

    #[test]
    fn unchanged_broken_fields_are_not_rejected_again() {
        // A stored status that already breaks a change-gated rule can still
        // get unrelated updates.
        let mut o = running();
        o.ready = Some(5);
        let mut n = o.clone();
        n.succeeded = 1;
        assert!(errors(&job(n), &job(o)).is_empty());
    }
}

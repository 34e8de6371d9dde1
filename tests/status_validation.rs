//! Port of upstream `TestStatusStrategy_ValidateUpdate`
//! (kubernetes/kubernetes `pkg/registry/batch/job/strategy_test.go` at
//! commit 008b3652959ca58af8be3fb5b6ecfe9ae7638282, the newest stored
//! version; the file already emulates v1.35): every one of its 58 cases,
//! under its upstream name, run through [`validate_status_update`]. The
//! options they exercise are those of `getStatusValidationOptions` after
//! kubernetes#134769 (resume may reset startTime).
//!
//! Like upstream (`cmp.Diff(tc.wantErrs, errs, ignoreErrValueDetail)`), a case
//! compares the ordered list of errors by field path and type; values and
//! details are not compared.
//!
//! The crate models every Job feature gate at its GA default, so upstream
//! cases that run with JobManagedBy switched off (upstream's table leaves
//! `enableJobManagedBy` false for them) are ported with the errors the
//! registry reports with the gate on, i.e. the strict options of
//! `getStatusValidationOptions`. Each such case says so beside it, with
//! upstream's gate-off expectation for reference.
//!
//! What upstream's table also checks that cannot be expressed here: its
//! first case additionally asserts that `ValidateUpdate` leaves the incoming
//! object (its resourceVersion) untouched; our function takes `&Job`, so the
//! borrow checker already guarantees it and no runtime check could fail.

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::ErrorKind;
use job_controller::api::{
    CompletionMode, ConditionStatus, Job, JobCondition, JobConditionType, JobSpec, JobStatus,
    ObjectMeta, SuccessPolicy, SuccessPolicyRule, UncountedTerminatedPods,
};
use job_controller::validation::validate_status_update;

/// One upstream case: the stored Job, the Job written through the status
/// subresource, and the errors expected (field path, type), in order.
struct Case {
    name: &'static str,
    old: Job,
    new: Job,
    want: Vec<(&'static str, ErrorKind)>,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

fn now_plus_minute() -> DateTime<Utc> {
    now() + Duration::minutes(1)
}

/// Upstream's `validObjectMeta`.
fn meta() -> ObjectMeta {
    ObjectMeta {
        name: "myjob".to_owned(),
        namespace: "default".to_owned(),
        resource_version: "10".to_owned(),
        ..ObjectMeta::default()
    }
}

fn job(spec: JobSpec, status: JobStatus) -> Job {
    Job {
        metadata: meta(),
        spec,
        status: Some(status),
        ..Job::default()
    }
}

fn cond(type_: JobConditionType, status: ConditionStatus) -> JobCondition {
    JobCondition {
        extra: Default::default(),
        type_,
        status,
        last_probe_time: None,
        last_transition_time: None,
        reason: String::new(),
        message: String::new(),
    }
}

/// Conditions of these types, all with status True.
fn trues(types: &[JobConditionType]) -> Vec<JobCondition> {
    types
        .iter()
        .map(|t| cond(t.clone(), ConditionStatus::True))
        .collect()
}

fn no_spec() -> JobSpec {
    JobSpec::default()
}

fn completions(n: i32) -> JobSpec {
    JobSpec {
        completions: Some(n),
        ..JobSpec::default()
    }
}

fn with_mode(n: i32, mode: CompletionMode) -> JobSpec {
    JobSpec {
        completion_mode: Some(mode),
        ..completions(n)
    }
}

fn indexed_with_backoff_limit_per_index(n: i32) -> JobSpec {
    JobSpec {
        backoff_limit_per_index: Some(1),
        ..with_mode(n, CompletionMode::Indexed)
    }
}

/// Upstream's `validSuccessPolicy`.
fn success_policy() -> Option<SuccessPolicy> {
    Some(SuccessPolicy {
        extra: Default::default(),
        rules: vec![SuccessPolicyRule {
            extra: Default::default(),
            succeeded_indexes: Some("0-2".to_owned()),
            succeeded_count: None,
        }],
    })
}

/// Indexed, completions 10, with `validSuccessPolicy`.
fn indexed_with_success_policy() -> JobSpec {
    JobSpec {
        success_policy: success_policy(),
        ..with_mode(10, CompletionMode::Indexed)
    }
}

fn uncounted(succeeded: &[&str], failed: &[&str]) -> Option<UncountedTerminatedPods> {
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    Some(UncountedTerminatedPods {
        extra: Default::default(),
        succeeded: ids(succeeded),
        failed: ids(failed),
    })
}

fn invalid(field: &'static str) -> (&'static str, ErrorKind) {
    (field, ErrorKind::Invalid)
}

fn required(field: &'static str) -> (&'static str, ErrorKind) {
    (field, ErrorKind::Required)
}

fn cases() -> Vec<Case> {
    use JobConditionType::{Complete, Failed, FailureTarget, SuccessCriteriaMet, Suspended};
    vec![
        // Upstream runs this case with JobManagedBy off; with nothing in the
        // status changing, the GA options reject nothing either.
        Case {
            name: "incoming resource version on update should not be mutated",
            old: job(
                JobSpec {
                    parallelism: Some(4),
                    ..no_spec()
                },
                JobStatus::default(),
            ),
            new: Job {
                metadata: ObjectMeta {
                    resource_version: "9".to_owned(),
                    ..meta()
                },
                ..job(
                    JobSpec {
                        parallelism: Some(4),
                        ..no_spec()
                    },
                    JobStatus::default(),
                )
            },
            want: vec![],
        },
        // Gate-dependent: upstream switches JobManagedBy off and expects no
        // error. With the gate GA the strict options apply, so this is the
        // same write as the next case and gets the same three errors.
        Case {
            name: "invalid addition of both Failed=True and Complete=True; allowed because feature gate disabled",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    conditions: trues(&[Complete, Failed]),
                    ..JobStatus::default()
                },
            ),
            want: vec![
                invalid("status.conditions"),
                invalid("status.conditions"),
                invalid("status.conditions"),
            ],
        },
        Case {
            name: "invalid addition of both Failed=True and Complete=True",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    conditions: trues(&[Complete, Failed]),
                    ..JobStatus::default()
                },
            ),
            want: vec![
                invalid("status.conditions"),
                invalid("status.conditions"),
                invalid("status.conditions"),
            ],
        },
        Case {
            name: "invalid addition of Complete=True without SuccessCriteriaMet=True",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "invalid addition of Failed=True without FailureTarget=True",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[Failed]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "completionTime can be removed to fix still running job",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt to transition to Failed=True without startTime",
            old: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[FailureTarget, Failed]),
                    ..JobStatus::default()
                },
            ),
            want: vec![required("status.startTime")],
        },
        Case {
            name: "invalid attempt to transition to Complete=True without startTime",
            old: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now()),
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![required("status.startTime")],
        },
        Case {
            name: "invalid attempt to transition to Complete=True with active > 0",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    active: 1,
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    active: 1,
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.active")],
        },
        Case {
            name: "invalid attempt to transition to Failed=True with terminating > 0",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[FailureTarget]),
                    terminating: Some(1),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[FailureTarget, Failed]),
                    terminating: Some(1),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.terminating")],
        },
        Case {
            name: "invalid attempt to transition to Failed=True with active > 0",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[FailureTarget]),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[FailureTarget, Failed]),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.active")],
        },
        Case {
            name: "invalid attempt to transition to Failed=True with uncountedTerminatedPods.Failed>0",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&[], &["a"]),
                    conditions: trues(&[FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&[], &["a"]),
                    conditions: trues(&[FailureTarget, Failed]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.uncountedTerminatedPods")],
        },
        Case {
            name: "invalid attempt to update uncountedTerminatedPods.Succeeded for Complete job",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&[], &["a"]),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&[], &["b"]),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.uncountedTerminatedPods")],
        },
        Case {
            name: "non-empty uncountedTerminatedPods for complete job, unrelated update",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&[], &["a"]),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&[], &["a"]),
                    conditions: trues(&[Complete, "CustomJobCondition".into()]),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt to transition to Complete=True with uncountedTerminatedPods.Succeeded>0",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&["a"], &[]),
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    uncounted_terminated_pods: uncounted(&["a"], &[]),
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.uncountedTerminatedPods")],
        },
        Case {
            name: "invalid addition Complete=True without setting CompletionTime",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![required("status.completionTime")],
        },
        Case {
            name: "invalid attempt to remove completionTime",
            old: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now()),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    completion_time: None,
                    start_time: Some(now()),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![required("status.completionTime")],
        },
        Case {
            name: "verify startTime can be cleared for suspended job",
            old: job(
                JobSpec {
                    suspend: Some(true),
                    ..no_spec()
                },
                JobStatus {
                    start_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            new: job(
                JobSpec {
                    suspend: Some(true),
                    ..no_spec()
                },
                JobStatus {
                    start_time: None,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "verify startTime cannot be removed for unsuspended job",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: None,
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.startTime")],
        },
        Case {
            name: "verify startTime cannot be updated for unsuspended job",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now_plus_minute()),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.startTime")],
        },
        Case {
            name: "verify startTime can be updated when resuming job (JobSuspended: True -> False)",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    conditions: vec![cond(Suspended, ConditionStatus::True)],
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now_plus_minute()),
                    conditions: vec![cond(Suspended, ConditionStatus::False)],
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt to set completionTime before startTime",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now_plus_minute()),
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now_plus_minute()),
                    completion_time: Some(now()),
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.completionTime")],
        },
        Case {
            name: "invalid attempt to modify completionTime",
            old: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now()),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now_plus_minute()),
                    start_time: Some(now()),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.completionTime")],
        },
        Case {
            name: "invalid removal of terminal condition Failed=True",
            old: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[Failed]),
                    ..JobStatus::default()
                },
            ),
            new: job(no_spec(), JobStatus::default()),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "invalid removal of terminal condition Complete=True",
            old: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(no_spec(), JobStatus::default()),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "invalid removal of terminal condition FailureTarget=True",
            old: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            new: job(no_spec(), JobStatus::default()),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "invalid addition of FailureTarget=True when Complete=True",
            old: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    conditions: trues(&[Complete, FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "invalid attempt setting of CompletionTime when there is no Complete condition",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.completionTime")],
        },
        Case {
            name: "invalid CompletionTime when there is no Complete condition, but allowed",
            old: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now()),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    completion_time: Some(now()),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt setting CompletedIndexes when non-indexed completion mode is used",
            old: job(
                with_mode(5, CompletionMode::NonIndexed),
                JobStatus::default(),
            ),
            new: job(
                with_mode(5, CompletionMode::NonIndexed),
                JobStatus {
                    start_time: Some(now()),
                    completed_indexes: "0".to_owned(),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.completedIndexes")],
        },
        Case {
            name: "invalid because CompletedIndexes set when non-indexed completion mode is used; but allowed",
            old: job(
                with_mode(5, CompletionMode::NonIndexed),
                JobStatus {
                    completed_indexes: "0".to_owned(),
                    ..JobStatus::default()
                },
            ),
            new: job(
                with_mode(5, CompletionMode::NonIndexed),
                JobStatus {
                    completed_indexes: "0".to_owned(),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt setting FailedIndexes when not backoffLimitPerIndex",
            old: job(with_mode(5, CompletionMode::Indexed), JobStatus::default()),
            new: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    failed_indexes: Some("0".to_owned()),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.failedIndexes")],
        },
        Case {
            name: "invalid attempt to decrease the failed counter",
            old: job(
                completions(5),
                JobStatus {
                    failed: 3,
                    ..JobStatus::default()
                },
            ),
            new: job(
                completions(5),
                JobStatus {
                    failed: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.failed")],
        },
        Case {
            name: "invalid attempt to decrease the succeeded counter",
            old: job(
                completions(5),
                JobStatus {
                    succeeded: 3,
                    ..JobStatus::default()
                },
            ),
            new: job(
                completions(5),
                JobStatus {
                    succeeded: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.succeeded")],
        },
        Case {
            name: "invalid attempt to set bad format for CompletedIndexes",
            old: job(with_mode(5, CompletionMode::Indexed), JobStatus::default()),
            new: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    completed_indexes: "invalid format".to_owned(),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.completedIndexes")],
        },
        Case {
            name: "invalid format for CompletedIndexes, but allowed",
            old: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    completed_indexes: "invalid format".to_owned(),
                    ..JobStatus::default()
                },
            ),
            new: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    completed_indexes: "invalid format".to_owned(),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt to set bad format for FailedIndexes",
            old: job(
                indexed_with_backoff_limit_per_index(5),
                JobStatus::default(),
            ),
            new: job(
                indexed_with_backoff_limit_per_index(5),
                JobStatus {
                    failed_indexes: Some("invalid format".to_owned()),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.failedIndexes")],
        },
        Case {
            name: "invalid format for FailedIndexes, but allowed",
            old: job(
                indexed_with_backoff_limit_per_index(5),
                JobStatus {
                    failed_indexes: Some("invalid format".to_owned()),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_backoff_limit_per_index(5),
                JobStatus {
                    failed_indexes: Some("invalid format".to_owned()),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "more ready pods than active, but allowed",
            old: job(
                completions(5),
                JobStatus {
                    active: 1,
                    ready: Some(2),
                    ..JobStatus::default()
                },
            ),
            new: job(
                completions(5),
                JobStatus {
                    active: 1,
                    ready: Some(2),
                    succeeded: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid addition of both FailureTarget=True and Complete=True",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    start_time: Some(now()),
                    completion_time: Some(now()),
                    conditions: trues(&[Complete, FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions"), invalid("status.conditions")],
        },
        Case {
            name: "invalid failedIndexes, which overlap with completedIndexes",
            old: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    failed_indexes: Some("0,2".to_owned()),
                    completed_indexes: "3-4".to_owned(),
                    ..JobStatus::default()
                },
            ),
            new: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    failed_indexes: Some("0,2".to_owned()),
                    completed_indexes: "2-4".to_owned(),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.failedIndexes")],
        },
        Case {
            name: "failedIndexes overlap with completedIndexes, unrelated field change",
            old: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    failed_indexes: Some("0,2".to_owned()),
                    completed_indexes: "2-4".to_owned(),
                    ..JobStatus::default()
                },
            ),
            new: job(
                with_mode(5, CompletionMode::Indexed),
                JobStatus {
                    failed_indexes: Some("0,2".to_owned()),
                    completed_indexes: "2-4".to_owned(),
                    active: 1,
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        // Gate-dependent: upstream runs this with JobManagedBy off, where
        // `AllowForSuccessCriteriaMetInExtendedScope` is false and
        // SuccessCriteriaMet on a NonIndexed Job is rejected (one
        // status.conditions error). With the gate GA the registry allows it
        // (newer upstream dropped the option and this case), so: no error.
        Case {
            name: "invalid addition of SuccessCriteriaMet for NonIndexed Job",
            old: job(
                JobSpec {
                    success_policy: success_policy(),
                    ..no_spec()
                },
                JobStatus::default(),
            ),
            new: job(
                JobSpec {
                    success_policy: success_policy(),
                    ..no_spec()
                },
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        // Gate-dependent: upstream runs this with JobManagedBy off and
        // expects no error. With the gate GA, adding Complete=True checks
        // `RejectCompleteJobWithoutCompletionTime` and
        // `RejectFinishedJobWithoutStartTime`, and this write has neither
        // time.
        Case {
            name: "valid update of Job if SuccessCriteriaMet already present for NonIndexed Jobs; JobSuccessPolicy enabled, while JobManagedBy and JobPodReplacementPolicy disabled",
            old: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![
                required("status.completionTime"),
                required("status.startTime"),
            ],
        },
        // Upstream runs this with JobManagedBy off; the GA options add no
        // error (nothing but SuccessCriteriaMet changed).
        Case {
            name: "invalid addition of SuccessCriteriaMet for Job with Failed",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[Failed]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[Failed, SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        // Gate-dependent: upstream runs this with JobManagedBy off and
        // expects only the SuccessCriteriaMet+Failed error. With the gate
        // GA, adding Failed=True also checks
        // `RejectFailedJobWithoutFailureTarget` and
        // `RejectFinishedJobWithoutStartTime`, both broken here.
        Case {
            name: "invalid addition of Failed for Job with SuccessCriteriaMet",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet, Failed]),
                    ..JobStatus::default()
                },
            ),
            want: vec![
                invalid("status.conditions"),
                required("status.startTime"),
                invalid("status.conditions"),
            ],
        },
        // Upstream runs this with JobManagedBy off; the GA options add no
        // error.
        Case {
            name: "invalid addition of SuccessCriteriaMet for Job with FailureTarget",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[FailureTarget, SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        // Upstream runs this with JobManagedBy off; the GA options add no
        // error (FailureTarget is not a finished state).
        Case {
            name: "invalid addition of FailureTarget for Job with SuccessCriteriaMet",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet, FailureTarget]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        // Upstream runs this with JobManagedBy off; the GA options add no
        // error (Complete=True and its times are unchanged).
        Case {
            name: "invalid addition of SuccessCriteriaMet for Job with Complete",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[Complete, SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        // Gate-dependent: upstream runs this with JobManagedBy off and
        // expects no error. With the gate GA, adding Complete=True needs
        // completionTime and startTime, which this write lacks.
        Case {
            name: "valid addition of Complete for Job with SuccessCriteriaMet",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![
                required("status.completionTime"),
                required("status.startTime"),
            ],
        },
        // Gate-dependent: upstream runs this with JobManagedBy off, where
        // `AllowForSuccessCriteriaMetInExtendedScope` is false and
        // SuccessCriteriaMet without a success policy is rejected (one
        // status.conditions error). With the gate GA the registry allows it
        // (newer upstream dropped the option and this case): no error.
        Case {
            name: "invalid addition of SuccessCriteriaMet for Job without SuccessPolicy",
            old: job(with_mode(10, CompletionMode::Indexed), JobStatus::default()),
            new: job(
                with_mode(10, CompletionMode::Indexed),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        // Gate-dependent: upstream runs this with JobManagedBy off and
        // expects only the success-policy error. With the gate GA, adding
        // Complete=True also needs completionTime, SuccessCriteriaMet and
        // startTime; upstream's `validateJobStatus` reports them in this
        // order.
        Case {
            name: "invalid addition of Complete for Job with SuccessPolicy unless SuccessCriteriaMet",
            old: job(indexed_with_success_policy(), JobStatus::default()),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![
                required("status.completionTime"),
                invalid("status.conditions"),
                required("status.startTime"),
                invalid("status.conditions"),
            ],
        },
        // Upstream runs this with JobManagedBy off; the GA options add no
        // error (Complete=False is not Complete).
        Case {
            name: "invalid disabling of SuccessCriteriaMet for Job",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: vec![cond(Complete, ConditionStatus::False)],
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.conditions")],
        },
        // Upstream runs this with JobManagedBy off; the GA options add no
        // error.
        Case {
            name: "invalid removing of SuccessCriteriaMet for Job",
            old: job(
                indexed_with_success_policy(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            new: job(indexed_with_success_policy(), JobStatus::default()),
            want: vec![invalid("status.conditions")],
        },
        Case {
            name: "valid addition of SuccessCriteriaMet when JobManagedBy is enabled",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        // Upstream runs this with JobManagedBy off (JobPodReplacementPolicy
        // on); with the gate GA it is the case above, with the same result.
        Case {
            name: "valid addition of SuccessCriteriaMet when JobPodReplacementPolicy is enabled",
            old: job(no_spec(), JobStatus::default()),
            new: job(
                no_spec(),
                JobStatus {
                    conditions: trues(&[SuccessCriteriaMet]),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
        Case {
            name: "invalid attempt to set more ready pods than active",
            old: job(completions(5), JobStatus::default()),
            new: job(
                completions(5),
                JobStatus {
                    active: 1,
                    ready: Some(2),
                    ..JobStatus::default()
                },
            ),
            want: vec![invalid("status.ready")],
        },
        Case {
            name: "valid transition to Complete for suspended Job with completions=0; without startTime",
            old: job(
                JobSpec {
                    suspend: Some(true),
                    ..completions(0)
                },
                JobStatus::default(),
            ),
            new: job(
                JobSpec {
                    suspend: Some(true),
                    ..completions(0)
                },
                JobStatus {
                    completion_time: Some(now()),
                    conditions: trues(&[SuccessCriteriaMet, Complete]),
                    ..JobStatus::default()
                },
            ),
            want: vec![],
        },
    ]
}

/// The errors of a status write as (field, type), in reported order.
fn errors_of(case: &Case) -> Vec<(String, ErrorKind)> {
    match validate_status_update(&case.new, &case.old) {
        Ok(()) => Vec::new(),
        Err(errs) => errs
            .errors
            .iter()
            .map(|e| (e.field.clone(), e.kind))
            .collect(),
    }
}

/// `TestStatusStrategy_ValidateUpdate`: every case, each failure reported
/// under its upstream name.
#[test]
fn status_strategy_validate_update() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = errors_of(&case);
        let want: Vec<(String, ErrorKind)> = case
            .want
            .iter()
            .map(|(f, k)| ((*f).to_owned(), *k))
            .collect();
        if got != want {
            let details = validate_status_update(&case.new, &case.old)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            failures.push(format!(
                "{:?}:\n    want {want:?}\n    got  {got:?}\n    {details}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from upstream:\n{}",
        failures.len(),
        cases().len(),
        failures.join("\n")
    );
}

/// Upstream's table has 58 cases, each with its own name; none was dropped
/// or duplicated in the port.
#[test]
fn every_upstream_case_is_ported_once() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(cases.len(), 58);
    assert_eq!(names.len(), cases.len(), "duplicate case names");
}

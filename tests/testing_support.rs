//! The `testing` feature as a user's suite meets it: the strategies, the
//! history runner and the invariant checker, which must pass every history
//! of the machine and catch histories that break its rules.

mod common;

use chrono::{TimeZone, Utc};
use job_controller::api::{ConditionStatus, JobCondition, JobConditionType, JobStatus};
use job_controller::testing::{Invariants, run_history, steps, valid_job};
use job_controller::{Action, DeleteJobReason, DeleteReason, JobController};
use proptest::prelude::*;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

proptest! {
    #![proptest_config(common::proptest_config(512))]

    /// Every random history of every small valid Job keeps every rule.
    #[test]
    fn every_history_keeps_the_invariants(case in valid_job(), history in steps(60)) {
        if let Err(e) = run_history(case.job.clone(), t0(), &history) {
            return Err(TestCaseError::fail(format!("{case:?}\n{e}")));
        }
    }
}

/// A checker for a fresh 2-completion Job, with its first actions checked.
fn checked_job() -> (JobController, Invariants) {
    let (case, _) = {
        let job = job_controller::testing::JobParams {
            completions: Some(2),
            ttl_seconds_after_finished: Some(10),
            ..Default::default()
        };
        (job.admit().expect("valid"), ())
    };
    let mut ctl = JobController::new(case, t0());
    let mut rules = Invariants::new(&ctl);
    let actions: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    rules
        .check(&ctl, t0(), &actions, true)
        .expect("the machine's own actions");
    (ctl, rules)
}

fn rule_of(ctl: &JobController, rules: &mut Invariants, actions: &[Action]) -> &'static str {
    rules
        .check(ctl, t0(), actions, true)
        .expect_err("a broken rule")
        .rule
}

#[test]
fn the_checker_catches_a_second_delete_of_a_pod() {
    let (ctl, mut rules) = checked_job();
    let delete = Action::DeletePod {
        name: "j-abcde".into(),
        reason: DeleteReason::TooManyActive,
    };
    rules
        .check(&ctl, t0(), std::slice::from_ref(&delete), true)
        .expect("once is fine");
    assert_eq!(rule_of(&ctl, &mut rules, &[delete]), "delete-once");
}

#[test]
fn the_checker_catches_a_counter_going_down() {
    let (ctl, mut rules) = checked_job();
    let up = JobStatus {
        succeeded: 1,
        ..ctl.status().clone()
    };
    rules
        .check(&ctl, t0(), &[Action::UpdateStatus(up.clone())], true)
        .expect("going up is fine");
    let down = JobStatus { succeeded: 0, ..up };
    assert_eq!(
        rule_of(&ctl, &mut rules, &[Action::UpdateStatus(down)]),
        "counters-only-grow"
    );
}

#[test]
fn the_checker_catches_a_final_condition_without_its_interim_one() {
    let (ctl, mut rules) = checked_job();
    let complete = JobStatus {
        succeeded: 2,
        completion_time: Some(t0()),
        conditions: vec![JobCondition {
            extra: Default::default(),
            type_: JobConditionType::Complete,
            status: ConditionStatus::True,
            last_probe_time: Some(t0()),
            last_transition_time: Some(t0()),
            reason: "CompletionsReached".into(),
            message: "Reached expected number of succeeded pods".into(),
        }],
        ..ctl.status().clone()
    };
    assert_eq!(
        rule_of(&ctl, &mut rules, &[Action::UpdateStatus(complete)]),
        "conditions"
    );
}

#[test]
fn the_checker_catches_deleting_an_unfinished_job() {
    let (ctl, mut rules) = checked_job();
    let delete = Action::DeleteJob {
        reason: DeleteJobReason::TtlAfterFinished,
    };
    assert_eq!(rule_of(&ctl, &mut rules, &[delete]), "delete-job");
}

#[test]
fn the_checker_catches_a_wake_up_in_the_past() {
    // The machine's own deadline wake-up is precise; seen from an input
    // long after it, it is in the past.
    let later = t0() + chrono::Duration::days(365 * 100);
    let deadline = job_controller::testing::JobParams {
        completions: Some(1),
        active_deadline_seconds: Some(30),
        ..Default::default()
    };
    let mut ctl = JobController::new(deadline.admit().expect("valid"), t0());
    let mut rules = Invariants::new(&ctl);
    let actions: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
    rules
        .check(&ctl, t0(), &actions, false)
        .expect("a precise deadline");
    assert_eq!(
        rules.check(&ctl, later, &[], false).expect_err("past").rule,
        "wake-up-not-in-past"
    );
}

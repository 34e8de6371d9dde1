//! `kind: sync` cases: restore the controller from the snapshot, reconcile
//! once at `now`, compare what it did.

use job_controller::{Action, BackoffRecord, JobController};
use serde_yaml::Value as Y;

use super::fixtures::{self, get, str_of};

/// Runs one case; `Err` carries the differences.
pub(crate) fn run_case(case: &Y) -> Result<(), String> {
    let now = fixtures::time(
        &get(case, "now")
            .map(str_of)
            .unwrap_or_else(|| fixtures::DEFAULT_NOW.into()),
    )?;
    let job_node = get(case, "job").ok_or("case has no job")?;
    let job = fixtures::stored_job(job_node)?;
    let pods = fixtures::case_pods(get(case, "pods"), &job, now)?;
    let backoff = match get(case, "backoff") {
        Some(b) => BackoffRecord {
            failures_after_last_success: get(b, "failuresAfterLastSuccess")
                .and_then(Y::as_u64)
                .unwrap_or(0) as u32,
            last_failure_time: get(b, "lastFailureTime")
                .map(|t| fixtures::time(&str_of(t)))
                .transpose()?,
        },
        None => BackoffRecord::default(),
    };
    #[cfg(feature = "testing")]
    let one_sync = job_controller::testing::sync(job.clone(), &pods, backoff, now)
        .map_err(|e| format!("testing::sync failed: {e}"))?;
    let mut ctl = JobController::restore_with_backoff(job, &pods, backoff, now)
        .map_err(|e| format!("restore failed: {e}"))?;
    let mut creations = 0;
    let mut deletions = 0;
    let mut indexes = Vec::new();
    let mut actions = Vec::new();
    while let Some(action) = ctl.poll_action() {
        actions.push(action.clone());
        match action {
            Action::CreatePod(p) => {
                creations += 1;
                indexes.extend(p.index);
            }
            Action::DeletePod { .. } => deletions += 1,
            _ => {}
        }
    }
    let expect = get(case, "expect").ok_or("case has no expect")?;
    let mut diffs = Vec::new();
    if let Some(w) = get(expect, "creations").and_then(Y::as_u64) {
        if w != creations {
            diffs.push(format!("creations: want {w}, got {creations}"));
        }
    }
    if let Some(w) = get(expect, "deletions").and_then(Y::as_u64) {
        if w != deletions {
            diffs.push(format!("deletions: want {w}, got {deletions}"));
        }
    }
    if let Some(Y::Sequence(w)) = get(expect, "createdIndexes") {
        let mut want: Vec<i64> = w.iter().filter_map(Y::as_i64).collect();
        want.sort();
        let mut got: Vec<i64> = indexes.iter().map(|i| i64::from(*i)).collect();
        got.sort();
        if want != got {
            diffs.push(format!("createdIndexes: want {want:?}, got {got:?}"));
        }
    }
    if let Some(s) = get(expect, "status") {
        fixtures::compare_status(s, ctl.status(), &mut diffs);
    }
    if let Some(w) = get(expect, "wakeAfter") {
        let want = fixtures::duration(&str_of(w))?;
        let got = ctl.poll_timeout().map(|t| t.at - now);
        if got != Some(want) {
            diffs.push(format!("wakeAfter: want {want}, got {got:?}"));
        }
    }
    // The public one-sync function answers exactly what the machine did.
    #[cfg(feature = "testing")]
    if (
        &one_sync.actions,
        &one_sync.status,
        one_sync.wake_up,
        one_sync.backoff,
    ) != (
        &actions,
        ctl.status(),
        ctl.poll_timeout(),
        ctl.backoff_record(),
    ) {
        diffs.push("testing::sync disagrees with restore_with_backoff and a drain".into());
    }
    #[cfg(not(feature = "testing"))]
    let _ = actions;
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

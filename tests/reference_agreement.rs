//! The machine against its reference model (feature `reference`): the same
//! random histories applied to `JobController::new` and
//! `JobController::new_reference` must give identical actions (as `Debug`
//! strings), statuses, wake-ups, backoff records and pod counts after every
//! machine input; and every conformance `sync` case, restored through both
//! `restore_with_backoff` and `restore_reference`, must give identical
//! actions, status and wake-up.
//!
//! `JOB_PROPTEST_CASES` sets the number of histories (default 4000);
//! `JOB_PROPTEST_STEPS` the maximum history length (default 60).
#![cfg(feature = "reference")]

mod common;
#[path = "conformance/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use common::harness::Harness;
use common::history::history;
use job_controller::{BackoffRecord, JobController};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_yaml::Value as Y;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

static HISTORIES: AtomicU64 = AtomicU64::new(0);
static STEPS: AtomicU64 = AtomicU64::new(0);
static COMPARED: AtomicU64 = AtomicU64::new(0);

#[test]
fn random_histories_agree_with_the_reference_model() {
    let cases = u32::try_from(env_or("JOB_PROPTEST_CASES", 4000)).unwrap_or(u32::MAX);
    let max_steps = usize::try_from(env_or("JOB_PROPTEST_STEPS", 60)).unwrap_or(60);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 100_000,
        ..Config::default()
    });
    let result = runner.run(&history(max_steps), |((_params, job), steps, _)| {
        let mut h = Harness::with_reference(job.0.clone()).map_err(TestCaseError::fail)?;
        for s in &steps {
            h.step(s).map_err(TestCaseError::fail)?;
        }
        HISTORIES.fetch_add(1, Relaxed);
        STEPS.fetch_add(h.stats().steps, Relaxed);
        COMPARED.fetch_add(h.stats().compared, Relaxed);
        Ok(())
    });
    eprintln!(
        "reference agreement: {} histories, {} steps, {} machine inputs compared",
        HISTORIES.load(Relaxed),
        STEPS.load(Relaxed),
        COMPARED.load(Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Every `sync` case of the conformance folder (or `$JOB_CONFORMANCE_DIR`).
fn sync_cases() -> Vec<(String, Y)> {
    let dir = match std::env::var_os("JOB_CONFORMANCE_DIR") {
        Some(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"),
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable case file");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let doc: Y = serde::Deserialize::deserialize(doc).expect("valid YAML");
            let file_kind = doc.get("kind").and_then(Y::as_str).map(str::to_owned);
            let Some(cases) = doc.get("cases").and_then(Y::as_sequence) else {
                continue;
            };
            for (i, case) in cases.iter().enumerate() {
                let kind = case
                    .get("kind")
                    .and_then(Y::as_str)
                    .map(str::to_owned)
                    .or_else(|| file_kind.clone());
                if kind.as_deref() == Some("sync") {
                    let case_name = case
                        .get("name")
                        .and_then(Y::as_str)
                        .map_or_else(|| format!("case #{}", i + 1), str::to_owned);
                    out.push((format!("{name}: {case_name}"), case.clone()));
                }
            }
        }
    }
    out
}

/// One reconcile of a sync case's snapshot, through the machine and through
/// the reference model; `Ok(None)` if the case cannot be set up (the
/// conformance runner reports those).
fn compare_case(case: &Y) -> Result<Option<()>, String> {
    use fixtures::{get, str_of};
    let now = fixtures::time(
        &get(case, "now")
            .map(str_of)
            .unwrap_or_else(|| fixtures::DEFAULT_NOW.into()),
    )?;
    let Some(job_node) = get(case, "job") else {
        return Ok(None);
    };
    let Ok(job) = fixtures::stored_job(job_node) else {
        return Ok(None);
    };
    let Ok(pods) = fixtures::case_pods(get(case, "pods"), &job, now) else {
        return Ok(None);
    };
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
    let a = JobController::restore_with_backoff(job.clone(), &pods, backoff, now);
    let b = JobController::restore_reference(job, &pods, backoff, now);
    let (mut a, mut b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(x), Err(y)) if x == y => return Ok(Some(())),
        (x, y) => {
            return Err(format!(
                "restore differs: machine {:?}, reference {:?}",
                x.err(),
                y.err()
            ));
        }
    };
    let drain = |c: &mut JobController| {
        let mut v = Vec::new();
        while let Some(x) = c.poll_action() {
            v.push(format!("{x:?}"));
        }
        v
    };
    let (xa, xb) = (drain(&mut a), drain(&mut b));
    if xa != xb {
        return Err(format!(
            "actions differ:\n machine   {xa:?}\n reference {xb:?}"
        ));
    }
    if a.status() != b.status() {
        return Err(format!(
            "status differs:\n machine   {:?}\n reference {:?}",
            a.status(),
            b.status()
        ));
    }
    if a.poll_timeout() != b.poll_timeout() {
        return Err(format!(
            "poll_timeout differs: machine {:?}, reference {:?}",
            a.poll_timeout(),
            b.poll_timeout()
        ));
    }
    if a.backoff_record() != b.backoff_record() {
        return Err(format!(
            "backoff record differs: machine {:?}, reference {:?}",
            a.backoff_record(),
            b.backoff_record()
        ));
    }
    // One more reconcile an hour later (wake-ups due, backoffs expired).
    let later = now + chrono::Duration::hours(1);
    a.handle_timeout(later).map_err(|e| e.to_string())?;
    b.handle_timeout(later).map_err(|e| e.to_string())?;
    let (xa, xb) = (drain(&mut a), drain(&mut b));
    if xa != xb || a.status() != b.status() || a.poll_timeout() != b.poll_timeout() {
        return Err(format!(
            "an hour later they differ:\n machine   {xa:?} {:?}\n reference {xb:?} {:?}",
            a.status(),
            b.status()
        ));
    }
    Ok(Some(()))
}

#[test]
fn conformance_sync_cases_agree_with_the_reference_model() {
    let cases = sync_cases();
    assert!(!cases.is_empty(), "no sync cases found");
    let mut compared = 0;
    let mut skipped = 0;
    let mut failures = Vec::new();
    for (name, case) in &cases {
        match compare_case(case) {
            Ok(Some(())) => compared += 1,
            Ok(None) => skipped += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    eprintln!(
        "reference agreement: {} conformance sync cases, {compared} compared, {skipped} not set up, {} differ",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

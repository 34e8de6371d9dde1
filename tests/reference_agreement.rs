//! The machine against its reference model (feature `reference`): the same
//! random histories applied to `JobController::new` and
//! `JobController::new_reference` must give identical actions (as `Debug`
//! strings), statuses, wake-ups, backoff records and pod counts after every
//! machine input; and every conformance `sync` case, restored through both
//! `restore_with_backoff` and `restore_reference`, must give identical
//! actions, status and wake-up.
//!
//! The histories are those of `tests/invariants.rs` (a few start near
//! either end of chrono's range), so every invariant of the harness is
//! checked on the way too (precise wake-ups, each pod deleted at most once,
//! the machine's writes pass its validation, no panic). The conformance
//! cases check the same per-reconcile rules for both machines (see
//! [`OwnRules`]).
//!
//! `JOB_PROPTEST_CASES` sets the number of histories (default 4000);
//! `JOB_PROPTEST_STEPS` the maximum history length (default 60);
//! `JOB_PROPTEST_SEED` the seed (see `common::seeds`).
#![cfg(feature = "reference")]

mod common;
#[path = "conformance/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use common::harness::{self, Harness};
use common::history::history;
use job_controller::api::JobStatus;
use job_controller::{Action, BackoffRecord, JobController};
use serde_yaml::Value as Y;

static HISTORIES: AtomicU64 = AtomicU64::new(0);
static STEPS: AtomicU64 = AtomicU64::new(0);
static COMPARED: AtomicU64 = AtomicU64::new(0);

#[test]
fn random_histories_agree_with_the_reference_model() {
    let (mut runner, max_steps, seeds) =
        common::history_runner("random_histories_agree_with_the_reference_model");
    let result = runner.run(&history(max_steps), |((_params, job), start, steps, _)| {
        let mut h =
            Harness::with_reference_at(job.0.clone(), start.at()).map_err(common::violation)?;
        for s in &steps {
            h.step(s).map_err(common::violation)?;
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
        panic!("{e}\n{}", seeds.report().unwrap_or_default());
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

/// The harness's per-input rule groups, for a machine restored from a
/// case: no pod is asked to be deleted twice, its wake-up is neither in the
/// past nor idle. `JOB_INVARIANTS_SKIP` switches them off as in the harness.
///
/// Not `[own-writes-validate]`: that rule is about the states a Job reaches,
/// and upstream's table tests start from states no cluster holds (a
/// suspended Job whose four pods all succeeded and that has no `startTime`:
/// upstream completes it — as the case expects — with a status the API
/// server would refuse). The random histories check it.
struct OwnRules<'a> {
    written: JobStatus,
    uids: &'a BTreeMap<String, String>,
    deleted: BTreeSet<(String, String)>,
    skip: Vec<String>,
}

impl<'a> OwnRules<'a> {
    fn new(stored: JobStatus, uids: &'a BTreeMap<String, String>) -> OwnRules<'a> {
        OwnRules {
            written: stored,
            uids,
            deleted: BTreeSet::new(),
            skip: std::env::var("JOB_INVARIANTS_SKIP")
                .unwrap_or_default()
                .split(',')
                .map(str::to_owned)
                .collect(),
        }
    }

    fn on(&self, id: &str) -> bool {
        !self.skip.iter().any(|s| s == id)
    }

    fn check(
        &mut self,
        ctl: &JobController,
        actions: &[Action],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), String> {
        for action in actions {
            match action {
                Action::UpdateStatus(s) => {
                    self.written = s.clone();
                }
                Action::DeletePod { name, .. } if self.on("delete-once") => {
                    let uid = self.uids.get(name).map_or("?", String::as_str);
                    harness::check_pod_deleted_at_most_once(&mut self.deleted, name, uid)?;
                }
                _ => {}
            }
        }
        if self.on("wake-up-not-in-past") {
            harness::check_wake_up_not_in_past(ctl, now)?;
        }
        // The machine's own creations and deletions are not observed here.
        let pending = actions
            .iter()
            .any(|a| matches!(a, Action::CreatePod(_) | Action::DeletePod { .. }));
        harness::check_precise_wake_up(ctl, now, pending, &self.skip)?;
        Ok(())
    }
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
    let uids: BTreeMap<String, String> = pods
        .iter()
        .map(|p| (p.metadata.name.clone(), p.metadata.uid.clone()))
        .collect();
    let stored = job.job().status.clone().unwrap_or_default();
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
    let mut rules_a = OwnRules::new(stored.clone(), &uids);
    let mut rules_b = OwnRules::new(stored, &uids);
    let drain = |c: &mut JobController, rules: &mut OwnRules<'_>, now, who: &str| {
        let mut v = Vec::new();
        while let Some(x) = c.poll_action() {
            v.push(x);
        }
        rules
            .check(c, &v, now)
            .map_err(|e| format!("{who} at {now}: {e}"))?;
        Ok::<_, String>(v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>())
    };
    let xa = drain(&mut a, &mut rules_a, now, "machine")?;
    let xb = drain(&mut b, &mut rules_b, now, "reference")?;
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
    // The deletions asked for above were never observed: their
    // expectations have expired, and a pod still there is asked again (as
    // upstream's `SatisfiedExpectations` lets the sync go on).
    let later = now + chrono::Duration::hours(1);
    rules_a.deleted.clear();
    rules_b.deleted.clear();
    a.handle_timeout(later).map_err(|e| e.to_string())?;
    b.handle_timeout(later).map_err(|e| e.to_string())?;
    let xa = drain(&mut a, &mut rules_a, later, "machine")?;
    let xb = drain(&mut b, &mut rules_b, later, "reference")?;
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

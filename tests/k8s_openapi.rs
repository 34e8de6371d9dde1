//! Feature `k8s-openapi`: k8s-openapi → job-controller → k8s-openapi gives
//! back the input, for every manifest in `../shared/manifests` and for
//! generated Jobs; pods and statuses the machine produces convert both ways.
#![cfg(feature = "k8s-openapi")]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use chrono::{TimeZone, Utc};
use job_controller::api::{Job, JobStatus, Pod};
use job_controller::sim::{Cluster, pod};
use job_controller::{FieldValidation, JobController, ValidJob, parse_job_with};
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use proptest::prelude::*;

/// Every manifest's text, by file name.
fn manifests() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/manifests");
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("../shared/manifests") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            out.insert(name, fs::read_to_string(&path).expect("readable"));
        }
    }
    out
}

/// k8s-openapi's Job from a manifest, as a client would decode it once
/// the API server has stored and served it: `active`, `succeeded` and
/// `failed` are Go `omitempty` integers, so a zero is never on the wire
/// (this crate, like Go, holds no difference between 0 and absent).
fn theirs_from_yaml(text: &str) -> Result<batch::Job, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let job: batch::Job = serde_json::to_value(yaml)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())?;
    Ok(as_served(job))
}

/// A Job as the API serves it: through JSON (k8s-openapi's times in
/// memory may hold fractions of a second that the wire does not), with
/// `omitempty` zeros left out and the template's metadata present (Go's
/// `omitempty` never omits a struct: the API always serves
/// `template.metadata`, at least `{creationTimestamp: null}`).
fn as_served(job: batch::Job) -> batch::Job {
    let mut job: batch::Job = serde_json::to_value(job)
        .and_then(serde_json::from_value)
        .expect("k8s-openapi reads its own JSON");
    if let Some(spec) = &mut job.spec {
        spec.template.metadata.get_or_insert_with(Default::default);
    }
    if let Some(s) = &mut job.status {
        for counter in [&mut s.active, &mut s.succeeded, &mut s.failed] {
            if *counter == Some(0) {
                *counter = None;
            }
        }
    }
    job
}

#[test]
fn every_manifest_round_trips_through_k8s_openapi() {
    let manifests = manifests();
    assert!(manifests.len() >= 10, "found {} manifests", manifests.len());
    let mut converted = 0;
    for (name, text) in &manifests {
        // Some invalid manifests are invalid to k8s-openapi too (a wrong
        // type); those it cannot hold are not round trips.
        let Ok(theirs) = theirs_from_yaml(text) else {
            continue;
        };
        let ours = Job::try_from(&theirs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = batch::Job::try_from(&ours).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            back, theirs,
            "{name}: k8s-openapi -> job-controller -> k8s-openapi"
        );
        // And the crate's own reading of the text agrees with k8s-openapi's.
        if let Ok(parsed) = parse_job_with(text, FieldValidation::Ignore) {
            assert_eq!(
                batch::Job::try_from(&parsed).unwrap_or_else(|e| panic!("{name}: {e}")),
                theirs,
                "{name}: parse_job and k8s-openapi read the manifest alike"
            );
        }
        converted += 1;
    }
    assert!(converted >= 10, "only {converted} manifests converted");
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

#[test]
fn the_machines_pods_and_statuses_convert_both_ways() {
    let manifest = &manifests()["indexed-shards.yaml"];
    let mut job = parse_job_with(manifest, FieldValidation::Strict).expect("parses");
    job.metadata.namespace = "default".into();
    job.metadata.uid = "u-shards".into();
    let mut ctl = JobController::new(ValidJob::create(job).expect("valid"), t0());
    let mut api = Cluster::new();
    api.record_actions(true);
    let first = api.settle(&mut ctl, t0()).expect("settle");
    // The pods to create, as k8s-openapi's, are the rendered pods.
    for action in &first.actions {
        if let job_controller::Action::CreatePod(create) = action {
            let theirs = core::Pod::try_from(&**create).expect("converts");
            assert_eq!(Pod::try_from(&theirs).expect("back"), create.pod());
        }
    }
    let name = first.created[0].0.clone();
    let at = t0() + chrono::Duration::seconds(30);
    api.update(&mut ctl, at, &name, |p| pod::failed(p, 42, None, at))
        .expect("update");
    let settled = api.settle(&mut ctl, at).expect("settle");
    for p in api.pods() {
        // (k8s-openapi adds the container status fields it requires, such
        // as `image`: the k8s-openapi side is the one to come back intact.)
        let theirs = core::Pod::try_from(p).expect("to k8s-openapi");
        let ours = Pod::try_from(&theirs).expect("back");
        assert_eq!(ours.phase(), p.phase());
        assert_eq!(core::Pod::try_from(&ours).expect("again"), theirs);
    }
    let written: Vec<&JobStatus> = first.statuses.iter().chain(&settled.statuses).collect();
    assert!(!written.is_empty());
    for status in written {
        let theirs = batch::JobStatus::try_from(status).expect("to k8s-openapi");
        assert_eq!(&JobStatus::try_from(&theirs).expect("back"), status);
    }
}

#[test]
fn a_value_k8s_openapi_cannot_hold_is_an_error_naming_it() {
    // `hostNetwork` is typed by k8s-openapi (a bool); this crate keeps the
    // pod spec's fields as they come.
    let mut job = Job::default();
    job.spec.template.spec.extra.insert(
        "hostNetwork".into(),
        job_controller::api::Value::String("yes".into()),
    );
    let err = batch::Job::try_from(&job).expect_err("not a bool");
    assert_eq!(err.what, "Job");
    assert!(err.to_string().contains("k8s-openapi"), "{err}");
}

proptest! {
    #![proptest_config(common::proptest_config(256))]

    /// Generated Jobs that k8s-openapi can hold come back from a round trip
    /// through this crate exactly as they were.
    #[test]
    fn generated_jobs_round_trip(job in common::strategies::job()) {
        let Ok(theirs) = batch::Job::try_from(&job) else {
            // A generated free-form field that k8s-openapi types otherwise.
            return Ok(());
        };
        let theirs = as_served(theirs);
        let ours = Job::try_from(&theirs).expect("back to job-controller");
        prop_assert_eq!(batch::Job::try_from(&ours).expect("and again"), theirs);
    }
}

//! Any text: parse every document as a Job, then admit each one as the API
//! server would on create. Neither step may panic, whatever the input.
//!
//! Run (seeded with the example manifests, with a dictionary of YAML syntax
//! and Job field names):
//!
//! ```sh
//! cd fuzz && mkdir -p corpus/parse_manifest && cp ../../shared/manifests/*.yaml corpus/parse_manifest/
//! cargo fuzz run -s none parse_manifest -- -dict=dict/parse_manifest.dict -max_total_time=600
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    lenient(text);
    let Ok(jobs) = job_controller::parse_jobs(text) else {
        return;
    };
    for mut job in jobs {
        // Only a batch/v1 Job is ever accepted (a tagged key once smuggled
        // `apiVersion: a8` past the kind check).
        assert!(
            (job.api_version.is_empty() || job.api_version == "batch/v1")
                && (job.kind.is_empty() || job.kind == "Job"),
            "accepted apiVersion {:?} kind {:?}",
            job.api_version,
            job.kind
        );
        // What parses also serializes and parses back to the same Job.
        let yaml = job_controller::to_yaml(&job);
        match job_controller::parse_job(&yaml) {
            Ok(back) => assert_eq!(back, job, "round trip changed the Job:\n{yaml}"),
            Err(err) => panic!("to_yaml wrote what parse_job rejects ({err}):\n{yaml}"),
        }
        // The API server assigns the uid before the Job is validated.
        job.metadata.uid = "7a8b3c4d-0000-4000-8000-000000000000".to_owned();
        let _ = job_controller::ValidJob::create(job);
    }
});

/// Lenient parsing (objects from the API): whatever it accepts keeps its
/// unknown fields through `to_yaml` and back, and strict parsing of that
/// text accepts it exactly when there is no unknown field.
fn lenient(text: &str) {
    use job_controller::{FieldValidation, parse_job_with};
    let Ok(jobs) = job_controller::parse_jobs_with(text, FieldValidation::Ignore) else {
        return;
    };
    for job in jobs {
        let yaml = job_controller::to_yaml(&job);
        match parse_job_with(&yaml, FieldValidation::Ignore) {
            Ok(back) => assert_eq!(back, job, "lenient round trip changed the Job:\n{yaml}"),
            Err(err) => panic!("to_yaml wrote what lenient parsing rejects ({err}):\n{yaml}"),
        }
        let strict = job_controller::parse_job(&yaml);
        assert_eq!(
            strict.is_ok(),
            job.unknown_fields().is_empty(),
            "strict parsing and unknown_fields disagree ({strict:?}, {:?}):\n{yaml}",
            job.unknown_fields()
        );
    }
}

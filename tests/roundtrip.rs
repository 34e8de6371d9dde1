//! Round trip of the YAML edge: `parse_job(to_yaml(job)) == job` for every
//! Job a manifest can express, and the shape of what `to_yaml` writes
//! (camelCase names, unset fields omitted).
//!
//! Case count: `PROPTEST_CASES` when set, otherwise [`DEFAULT_CASES`].

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use job_controller::api::{
    CompletionMode, ConditionStatus, Container, EnvVar, Job, JobCondition, JobConditionType,
    JobSpec, JobStatus, LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
    PodFailurePolicy, PodFailurePolicyAction, PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule, PodReplacementPolicy, PodSpec, PodTemplateSpec, RestartPolicy,
    SuccessPolicy, SuccessPolicyRule, UncountedTerminatedPods, Value,
};
use job_controller::{parse_job, parse_jobs, to_yaml};
use proptest::prelude::*;

use common::strategies;

/// Cases per property when `PROPTEST_CASES` is unset; keeps this file under
/// a few seconds in a debug build.
const DEFAULT_CASES: u32 = 256;

fn roundtrip(job: &Job) -> Result<(), TestCaseError> {
    let yaml = to_yaml(job);
    let back = parse_job(&yaml)
        .map_err(|e| TestCaseError::fail(format!("{e:?}\n--- yaml ---\n{yaml}")))?;
    prop_assert_eq!(&back, job, "yaml:\n{}", yaml);
    // Serializing again gives the same text (output is deterministic).
    prop_assert_eq!(to_yaml(&back), yaml);
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(DEFAULT_CASES))]

    #[test]
    fn job_roundtrips(job in strategies::job()) {
        roundtrip(&job)?;
    }

    #[test]
    fn values_roundtrip_in_extra(value in strategies::value(), key in "[a-z][a-zA-Z]{0,10}") {
        prop_assume!(!strategies::POD_SPEC_FIELDS.contains(&key.as_str()));
        let mut job = Job::default();
        job.spec.template.spec.extra.insert(key, value);
        roundtrip(&job)?;
    }

    #[test]
    fn strings_roundtrip_everywhere(s in strategies::any_string()) {
        let mut job = Job::default();
        job.metadata.name = s.clone();
        job.metadata.labels.insert(s.clone(), s.clone());
        job.metadata.extra.insert("selfLink".into(), Value::String(s.clone()));
        job.spec.managed_by = Some(s.clone());
        job.spec.template.spec.containers.push(Container {
            name: s.clone(),
            env: vec![EnvVar { name: s.clone(), value: Some(s.clone()), value_from: None }],
            ..Container::default()
        });
        roundtrip(&job)?;
    }

    #[test]
    fn times_roundtrip(t in strategies::time()) {
        let mut job = Job::default();
        job.metadata.creation_timestamp = Some(t);
        job.status = Some(JobStatus { start_time: Some(t), ..JobStatus::default() });
        roundtrip(&job)?;
    }

    #[test]
    fn several_jobs_roundtrip_as_a_stream(jobs in proptest::collection::vec(strategies::job(), 1..4)) {
        let stream = jobs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n");
        let back = parse_jobs(&stream).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(back, jobs);
    }
}

/// Hand-picked values that a random search may miss.
#[test]
fn edge_values_roundtrip() {
    let floats = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e15,
        1e16,
        1e20,
        1e300,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
    ];
    let mut values: Vec<Value> = floats.iter().copied().map(Value::Float).collect();
    values.extend([
        Value::Null,
        Value::Bool(true),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::UInt(i64::MAX as u64 + 1),
        Value::UInt(u64::MAX),
        Value::Seq(vec![]),
        Value::Map(BTreeMap::new()),
        Value::Seq(vec![Value::Seq(vec![Value::Null])]),
    ]);
    values.extend(
        strategies::TRICKY_STRINGS
            .iter()
            .map(|s| Value::String((*s).to_owned())),
    );
    for value in values {
        let mut job = Job::default();
        job.spec
            .template
            .spec
            .extra
            .insert("volumes".into(), value.clone());
        let yaml = to_yaml(&job);
        let back = parse_job(&yaml).unwrap_or_else(|e| panic!("{value:?}: {e:?}\n{yaml}"));
        assert_eq!(back, job, "{value:?}\n{yaml}");
        if let Value::Float(f) = value {
            // A float stays a float, even when it has no fractional part.
            assert!(
                matches!(back.spec.template.spec.extra["volumes"], Value::Float(g) if g == f),
                "{yaml}"
            );
        }
    }
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A Job with every field set (extra maps empty), for the shape checks.
fn full_job() -> Job {
    let container = Container {
        name: "main".into(),
        image: Some("busybox".into()),
        restart_policy: Some("Always".into()),
        env: vec![EnvVar {
            name: "A".into(),
            value: Some("1".into()),
            value_from: Some(Value::Map(BTreeMap::new())),
        }],
        extra: BTreeMap::new(),
    };
    let meta = ObjectMeta {
        name: "n".into(),
        generate_name: "g".into(),
        namespace: "ns".into(),
        uid: "u".into(),
        resource_version: "1".into(),
        generation: 2,
        creation_timestamp: Some(t("2024-01-01T00:00:00Z")),
        deletion_timestamp: Some(t("2024-01-02T00:00:00Z")),
        deletion_grace_period_seconds: Some(30),
        labels: [("l".to_owned(), "v".to_owned())].into(),
        annotations: [("a".to_owned(), "v".to_owned())].into(),
        owner_references: vec![OwnerReference {
            api_version: "v1".into(),
            kind: "K".into(),
            name: "o".into(),
            uid: "ou".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }],
        finalizers: vec!["f".into()],
        extra: BTreeMap::new(),
    };
    Job {
        extra: Default::default(),
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        metadata: meta.clone(),
        spec: JobSpec {
            extra: Default::default(),
            parallelism: Some(1),
            completions: Some(2),
            active_deadline_seconds: Some(3),
            pod_failure_policy: Some(PodFailurePolicy {
                extra: Default::default(),
                rules: vec![PodFailurePolicyRule {
                    extra: Default::default(),
                    action: PodFailurePolicyAction::FailJob,
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                        extra: Default::default(),
                        container_name: Some("main".into()),
                        operator: PodFailurePolicyOnExitCodesOperator::In,
                        values: vec![1],
                    }),
                    on_pod_conditions: vec![PodFailurePolicyOnPodConditionsPattern {
                        extra: Default::default(),
                        type_: "DisruptionTarget".into(),
                        status: Some(ConditionStatus::True),
                    }],
                }],
            }),
            success_policy: Some(SuccessPolicy {
                extra: Default::default(),
                rules: vec![SuccessPolicyRule {
                    extra: Default::default(),
                    succeeded_indexes: Some("0".into()),
                    succeeded_count: Some(1),
                }],
            }),
            backoff_limit: Some(4),
            backoff_limit_per_index: Some(5),
            max_failed_indexes: Some(6),
            selector: Some(LabelSelector {
                extra: Default::default(),
                match_labels: [("l".to_owned(), "v".to_owned())].into(),
                match_expressions: vec![LabelSelectorRequirement {
                    extra: Default::default(),
                    key: "k".into(),
                    operator: "In".into(),
                    values: vec!["v".into()],
                }],
            }),
            manual_selector: Some(true),
            template: PodTemplateSpec {
                metadata: meta,
                spec: PodSpec {
                    restart_policy: Some(RestartPolicy::Never),
                    init_containers: vec![container.clone()],
                    containers: vec![container],
                    hostname: Some("h".into()),
                    node_name: Some("node".into()),
                    subdomain: Some("s".into()),
                    extra: BTreeMap::new(),
                },
            },
            ttl_seconds_after_finished: Some(7),
            completion_mode: Some(CompletionMode::Indexed),
            suspend: Some(false),
            pod_replacement_policy: Some(PodReplacementPolicy::Failed),
            managed_by: Some("m".into()),
        },
        status: Some(JobStatus {
            extra: Default::default(),
            conditions: vec![JobCondition {
                extra: Default::default(),
                type_: JobConditionType::Complete,
                status: ConditionStatus::True,
                last_probe_time: Some(t("2024-01-01T00:00:01Z")),
                last_transition_time: Some(t("2024-01-01T00:00:02.5Z")),
                reason: "r".into(),
                message: "m".into(),
            }],
            start_time: Some(t("2024-01-01T00:00:00Z")),
            completion_time: Some(t("2024-01-01T00:01:00Z")),
            active: 1,
            succeeded: 2,
            failed: 3,
            terminating: Some(4),
            completed_indexes: "0-1".into(),
            failed_indexes: Some("2".into()),
            uncounted_terminated_pods: Some(UncountedTerminatedPods {
                extra: Default::default(),
                succeeded: vec!["a".into()],
                failed: vec!["b".into()],
            }),
            ready: Some(5),
        }),
    }
}

/// The mapping keys of a block-style YAML text, in order.
fn keys(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|line| {
            let line = line.trim_start().trim_start_matches("- ");
            let (key, _) = line.split_once(':')?;
            (!key.is_empty() && !key.contains(' ') && !key.starts_with(['\'', '"']))
                .then(|| key.to_owned())
        })
        .collect()
}

#[test]
fn full_job_uses_camel_case_names() {
    let job = full_job();
    let yaml = to_yaml(&job);
    assert_eq!(parse_job(&yaml).unwrap(), job, "{yaml}");
    let keys = keys(&yaml);
    for expected in [
        "apiVersion",
        "kind",
        "metadata",
        "generateName",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "blockOwnerDeletion",
        "activeDeadlineSeconds",
        "podFailurePolicy",
        "onExitCodes",
        "containerName",
        "onPodConditions",
        "type",
        "successPolicy",
        "succeededIndexes",
        "succeededCount",
        "backoffLimit",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "matchLabels",
        "matchExpressions",
        "manualSelector",
        "restartPolicy",
        "initContainers",
        "nodeName",
        "valueFrom",
        "ttlSecondsAfterFinished",
        "completionMode",
        "podReplacementPolicy",
        "managedBy",
        "lastProbeTime",
        "lastTransitionTime",
        "startTime",
        "completionTime",
        "completedIndexes",
        "failedIndexes",
        "uncountedTerminatedPods",
        "terminating",
        "ready",
    ] {
        assert!(keys.iter().any(|k| k == expected), "{expected} in\n{yaml}");
    }
    for key in &keys {
        assert!(!key.contains('_'), "{key} is not camelCase in\n{yaml}");
    }
    // Times are RFC 3339 in UTC, whole seconds without a fraction, quoted
    // as kubectl prints them (a YAML 1.1 reader would take a bare one for a
    // timestamp, not a string).
    assert!(
        yaml.contains("creationTimestamp: '2024-01-01T00:00:00Z'\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("lastTransitionTime: '2024-01-01T00:00:02.500Z'\n"),
        "{yaml}"
    );
}

#[test]
fn unset_fields_are_omitted() {
    let yaml = to_yaml(&Job::default());
    let keys = keys(&yaml);
    // Only the non-optional structure remains (the template's metadata is
    // written even empty, as the API server writes it).
    assert_eq!(
        keys,
        [
            "metadata",
            "spec",
            "template",
            "metadata",
            "spec",
            "containers"
        ],
        "{yaml}"
    );
    for absent in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "selector",
        "status",
        "apiVersion",
        "kind",
        "name",
        "generation",
        "creationTimestamp",
        "restartPolicy",
        "initContainers",
    ] {
        assert!(!yaml.contains(absent), "{absent} in\n{yaml}");
    }
    assert_eq!(parse_job(&yaml).unwrap(), Job::default());

    // A default spec: no parallelism; the template's metadata empty.
    let spec_yaml = job_controller::value_to_yaml(&JobSpec::default());
    assert_eq!(
        spec_yaml,
        "template:\n  metadata: {}\n  spec:\n    containers: []\n"
    );

    // An empty status is still written (present-but-empty is not unset),
    // but its zero counters are not.
    let job = Job {
        status: Some(JobStatus::default()),
        ..Job::default()
    };
    let yaml = to_yaml(&job);
    assert!(yaml.contains("status: {}\n"), "{yaml}");
    assert_eq!(parse_job(&yaml).unwrap(), job);
}

#[test]
fn unknown_enum_values_are_written_verbatim() {
    let mut job = Job::default();
    job.spec.completion_mode = Some(CompletionMode::Other("Sharded".into()));
    job.spec.template.spec.restart_policy = Some(RestartPolicy::Other("true".into()));
    let yaml = to_yaml(&job);
    assert!(yaml.contains("completionMode: Sharded\n"), "{yaml}");
    // A value that YAML would read as a boolean is quoted.
    assert!(yaml.contains("restartPolicy: 'true'\n"), "{yaml}");
    assert_eq!(parse_job(&yaml).unwrap(), job);
}

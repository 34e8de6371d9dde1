//! Objects from newer clusters: fields this crate does not model are kept
//! and written back unchanged (JSON and YAML, `FieldValidation::Ignore`),
//! and strict parsing of a manifest names the first of them with its line.

mod common;

use job_controller::{FieldValidation, Job, ParseError, parse_job, parse_job_with, to_yaml};
use proptest::prelude::*;

/// A Job as a v1.37 API server might serve it: new fields in the Job, its
/// spec, a pod failure policy rule, its exit-code requirement, the success
/// policy, the selector, the template, a container, the status, a
/// condition and the uncounted pods.
const NEWER: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: trainer
  namespace: default
  uid: 0b6f-trainer
  futureMetadata: kept
spec:
  completions: 4
  parallelism: 2
  completionMode: Indexed
  backoffLimitPerIndex: 1
  scheduling:
    gang: {minMember: 2}
  selector:
    matchLabels: {batch.kubernetes.io/controller-uid: 0b6f-trainer}
    selectorVersion: 2
  podFailurePolicy:
    rules:
    - action: FailIndex
      onExitCodes: {operator: In, values: [42], exitCodeSource: main}
      priority: 1
  successPolicy:
    rules:
    - succeededIndexes: "0"
      weight: 3
  template:
    metadata:
      labels: {batch.kubernetes.io/controller-uid: 0b6f-trainer}
    spec:
      restartPolicy: Never
      futurePodField: [1, 2]
      containers:
      - name: main
        image: trainer:3
        futureContainerField: {a: b}
status:
  active: 2
  startTime: "2025-01-01T00:00:00Z"
  observedSchedulingGeneration: 7
  conditions:
  - type: Suspended
    status: "False"
    reason: JobResumed
    message: resumed
    lastTransitionTime: "2025-01-01T00:00:00Z"
    observedGeneration: 3
  uncountedTerminatedPods:
    succeeded: [uid-1]
    futureList: []
"#;

/// The unknown fields of `NEWER`, in structure order (metadata and the pod
/// template, modelled in part, keep theirs without listing them).
const NEWER_UNKNOWN: [&str; 8] = [
    "spec.scheduling",
    "spec.selector.selectorVersion",
    "spec.podFailurePolicy.rules[0].priority",
    "spec.podFailurePolicy.rules[0].onExitCodes.exitCodeSource",
    "spec.successPolicy.rules[0].weight",
    "status.observedSchedulingGeneration",
    "status.conditions[0].observedGeneration",
    "status.uncountedTerminatedPods.futureList",
];

fn json_of(job: &Job) -> serde_json::Value {
    serde_json::to_value(job).expect("a Job serializes")
}

#[test]
fn a_job_from_a_newer_cluster_parses_and_keeps_every_field() {
    let job = parse_job_with(NEWER, FieldValidation::Ignore).expect("lenient parse");
    assert_eq!(job.unknown_fields(), NEWER_UNKNOWN);
    let json = json_of(&job);
    assert_eq!(json["spec"]["scheduling"]["gang"]["minMember"], 2);
    assert_eq!(json["spec"]["template"]["spec"]["futurePodField"][1], 2);
    assert_eq!(
        json["spec"]["template"]["spec"]["containers"][0]["futureContainerField"]["a"],
        "b"
    );
    assert_eq!(json["metadata"]["futureMetadata"], "kept");
    assert_eq!(json["status"]["conditions"][0]["observedGeneration"], 3);
    // YAML round trip: written and read back, the same Job.
    let again = parse_job_with(&to_yaml(&job), FieldValidation::Ignore).expect("reparse");
    assert_eq!(again, job);
    // JSON round trip, as a kube-rs client reads and writes it: the same
    // JSON, field for field.
    let text = serde_json::to_string(&job).expect("serializes");
    let from_json: Job = serde_json::from_str(&text).expect("serde_json reads it");
    assert_eq!(from_json, job);
    assert_eq!(json_of(&from_json), json);
}

#[test]
fn the_json_an_api_server_sends_round_trips_unchanged() {
    // The YAML above as JSON (the form the API serves), read with
    // serde_json only: not a field lost or added.
    let yaml: serde_yaml::Value = serde_yaml::from_str(NEWER).expect("yaml");
    let sent: serde_json::Value = serde_json::to_value(&yaml).expect("as json");
    let job: Job = serde_json::from_value(sent.clone()).expect("a newer Job is accepted");
    assert_eq!(json_of(&job), sent);
}

#[test]
fn strict_parsing_names_the_first_unknown_field_with_its_line() {
    let err = parse_job(NEWER).expect_err("strict");
    match err {
        ParseError::UnknownField { path, line, .. } => {
            assert_eq!(path, "spec.scheduling");
            assert_eq!(line, Some(14));
        }
        other => panic!("expected an unknown field, got {other:?}"),
    }
    // Each location on its own, named with its line.
    let alone = [
        ("specc: {}\n", "specc", 1),
        ("spec:\n  paralelism: 2\n", "spec.paralelism", 2),
        (
            "spec:\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onPodConditions:\n      - {type: DisruptionTarget, statuss: 'True'}\n",
            "spec.podFailurePolicy.rules[0].onPodConditions[0].statuss",
            6,
        ),
        (
            "status:\n  conditions:\n  - {type: Complete, status: 'True', typo: 1}\n",
            "status.conditions[0].typo",
            3,
        ),
        (
            "spec:\n  selector:\n    matchExpressions:\n    - {key: a, operator: Exists, valuez: []}\n",
            "spec.selector.matchExpressions[0].valuez",
            4,
        ),
    ];
    for (text, want, want_line) in alone {
        match parse_job(text) {
            Err(ParseError::UnknownField { path, line, .. }) => {
                assert_eq!((path.as_str(), line), (want, Some(want_line)), "{text}");
            }
            other => panic!("{text}: expected an unknown field, got {other:?}"),
        }
        let lenient = parse_job_with(text, FieldValidation::Ignore).expect("lenient");
        assert_eq!(lenient.unknown_fields(), [want], "{text}");
    }
}

/// Where an unknown field can go, as a path into a Job's JSON, and the
/// field's path as `unknown_fields` names it.
fn locations() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        (vec![], ""),
        (vec!["spec"], "spec."),
        (vec!["spec", "podFailurePolicy"], "spec.podFailurePolicy."),
        (vec!["spec", "successPolicy"], "spec.successPolicy."),
        (vec!["status"], "status."),
    ]
}

proptest! {
    #![proptest_config(common::proptest_config(256))]

    /// Any Job with a new field at any fully modelled object: the field is
    /// listed, kept through a JSON and a YAML round trip, and strict
    /// parsing names it.
    #[test]
    fn a_new_field_anywhere_is_kept_and_named(
        job in common::strategies::job(),
        at in 0usize..5,
        name in "[a-z][a-zA-Z]{2,12}Future",
        value in common::strategies::non_null_value(),
    ) {
        let mut json = json_of(&job);
        let (path, prefix) = locations()[at].clone();
        let mut target = &mut json;
        for key in &path {
            target = &mut target[*key];
        }
        if !target.is_object() {
            // The object is absent in this Job: nothing to extend.
            return Ok(());
        }
        let value_json = serde_json::to_value(&value).expect("a value serializes");
        target[name.as_str()] = value_json;
        let extended: Job = serde_json::from_value(json.clone()).expect("accepted");
        let field = format!("{prefix}{name}");
        prop_assert!(extended.unknown_fields().contains(&field), "{:?}", extended.unknown_fields());
        prop_assert_eq!(&json_of(&extended), &json);
        let yaml = to_yaml(&extended);
        let back = parse_job_with(&yaml, FieldValidation::Ignore).expect("lenient reparse");
        prop_assert_eq!(&back, &extended);
        match parse_job(&yaml) {
            Err(ParseError::UnknownField { path, line, .. }) => {
                prop_assert_eq!(path, field);
                prop_assert!(line.is_some());
            }
            other => prop_assert!(false, "strict: expected {field}, got {other:?}"),
        }
    }
}

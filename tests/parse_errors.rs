//! Bad input gives a typed [`ParseError`], never a panic, a hang or a
//! runaway allocation: malformed YAML, wrong types, out-of-range numbers,
//! unknown fields and enum values, documents that are not Jobs, empty and
//! multi-document streams, huge manifests, deep nesting, alias bombs, and
//! the byte-level oddities of real files (tabs, BOM, CRLF).

mod common;

use std::time::{Duration, Instant};

use job_controller::api::{
    CompletionMode, ConditionStatus, JobConditionType, PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator, PodReplacementPolicy, RestartPolicy, Value,
};
use job_controller::{Job, MAX_MANIFEST_BYTES, ParseError, parse_job, parse_jobs, to_yaml};
use proptest::prelude::*;

/// A minimal valid Job, to which test cases append.
const BASE: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl
";

/// The start of a (possibly huge) test input, for failure messages.
fn short(text: &str) -> &str {
    match text.char_indices().nth(300) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[track_caller]
fn syntax(text: &str) -> (Option<String>, String, Option<usize>, Option<usize>) {
    match parse_job(text) {
        Err(ParseError::Syntax {
            path,
            message,
            line,
            column,
        }) => (path, message, line, column),
        other => panic!(
            "expected a syntax error for\n{}\ngot {other:?}",
            short(text)
        ),
    }
}

/// Asserts a type error at `path`, on `line` (1-based).
#[track_caller]
fn wrong_type(text: &str, want_path: &str, want_line: usize) -> String {
    let (path, message, line, column) = syntax(text);
    assert_eq!(path.as_deref(), Some(want_path), "{message}\n{text}");
    assert_eq!(line, Some(want_line), "{message}\n{text}");
    assert!(column.is_some(), "{message}");
    message
}

#[track_caller]
fn unknown_field(text: &str) -> (String, Option<usize>, Option<usize>) {
    match parse_job(text) {
        Err(ParseError::UnknownField { path, line, column }) => (path, line, column),
        other => panic!("expected an unknown field for\n{text}\ngot {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Malformed YAML

#[test]
fn malformed_yaml_reports_line_and_column() {
    let (path, message, line, column) = syntax("spec:\n  parallelism: 1\n   completions: 2\n");
    assert_eq!(path, None);
    assert_eq!((line, column), (Some(3), Some(15)), "{message}");
    assert!(
        message.contains("mapping values are not allowed"),
        "{message}"
    );

    // An unclosed flow mapping is noticed where the text ends.
    let (_, message, line, column) = syntax("spec: {parallelism: 1\n");
    assert_eq!((line, column), (Some(2), Some(1)), "{message}");

    // An unclosed quote.
    let (_, message, line, _) = syntax("metadata:\n  name: \"pi\n");
    assert_eq!(line, Some(3), "{message}");

    // The location is part of the message shown to people.
    let err = parse_job("spec:\n  parallelism: 1\n   completions: 2\n").unwrap_err();
    assert!(err.to_string().ends_with(" at line 3 column 15"), "{err}");
}

#[test]
fn duplicate_keys_and_undefined_aliases_are_errors() {
    let (_, message, line, _) = syntax("metadata: {name: a}\nmetadata: {name: b}\n");
    assert!(message.contains("duplicate"), "{message}");
    assert_eq!(line, Some(1));

    let (_, message, line, column) = syntax("metadata: *nowhere\n");
    assert!(message.contains("unknown anchor"), "{message}");
    assert_eq!((line, column), (Some(1), Some(11)));
}

// ---------------------------------------------------------------------------
// Wrong types

#[test]
fn wrong_types_name_the_field() {
    let msg = wrong_type("spec:\n  parallelism: many\n", "spec.parallelism", 2);
    assert!(msg.contains("expected i32"), "{msg}");
    wrong_type("spec:\n  parallelism: [1]\n", "spec.parallelism", 2);
    wrong_type("spec:\n  parallelism: {a: 1}\n", "spec.parallelism", 2);
    // The offending value is quoted in full, even when it looks like a location.
    let msg = wrong_type(
        "spec:\n  parallelism: ten at line 9 column 9\n",
        "spec.parallelism",
        2,
    );
    assert!(msg.contains("\"ten at line 9 column 9\""), "{msg}");
    // A quoted number is a string, as in JSON.
    wrong_type("spec:\n  parallelism: \"3\"\n", "spec.parallelism", 2);
    wrong_type("spec:\n  parallelism: !!str 3\n", "spec.parallelism", 2);
    // A float is not an integer, even a whole one.
    wrong_type("spec:\n  parallelism: 1.0\n", "spec.parallelism", 2);
    wrong_type("spec:\n  parallelism: 1.5\n", "spec.parallelism", 2);
    wrong_type("spec:\n  suspend: yes\n", "spec.suspend", 2);
    wrong_type("spec:\n  suspend: 1\n", "spec.suspend", 2);
    wrong_type("spec:\n  completionMode: 5\n", "spec.completionMode", 2);
    wrong_type("spec:\n  selector: []\n", "spec.selector", 2);
    wrong_type(
        "spec:\n  selector:\n    matchLabels:\n      app: true\n",
        "spec.selector.matchLabels.app",
        4,
    );
    wrong_type(
        "spec:\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onExitCodes: {operator: In, values: [1, x]}\n",
        "spec.podFailurePolicy.rules[0].onExitCodes.values[1]",
        5,
    );
    wrong_type(
        "spec:\n  template:\n    spec:\n      containers: 5\n",
        "spec.template.spec.containers",
        4,
    );
    wrong_type(
        "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - {name: 1}\n",
        "spec.template.spec.containers[0].env[0].name",
        7,
    );
    wrong_type(
        "spec:\n  template:\n    spec:\n      hostname: [a]\n",
        "spec.template.spec.hostname",
        4,
    );
    wrong_type("metadata: [a]\n", "metadata", 1);
    wrong_type("metadata:\n  name: 5\n", "metadata.name", 2);
    // kubectl rejects an unquoted boolean label value; so does the parser.
    wrong_type(
        "metadata:\n  labels:\n    a: true\n",
        "metadata.labels.a",
        3,
    );
    wrong_type("metadata:\n  generation: x\n", "metadata.generation", 2);
    wrong_type(
        "metadata:\n  creationTimestamp: yesterday\n",
        "metadata.creationTimestamp",
        2,
    );
    wrong_type(
        "metadata:\n  ownerReferences:\n  - {apiVersion: v1, kind: K, name: n, uid: u, controller: maybe}\n",
        "metadata.ownerReferences[0].controller",
        3,
    );
    wrong_type("status:\n  active: many\n", "status.active", 2);
    wrong_type(
        "status:\n  conditions:\n  - {type: Complete, status: 'True', lastProbeTime: 5}\n",
        "status.conditions[0].lastProbeTime",
        3,
    );
}

#[test]
fn missing_required_fields_name_the_object() {
    // An env var needs a name; a condition needs a type and a status.
    let (path, message, line, _) = syntax(
        "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - {value: x}\n",
    );
    assert_eq!(
        path.as_deref(),
        Some("spec.template.spec.containers[0].env[0]")
    );
    assert!(message.contains("missing field `name`"), "{message}");
    assert_eq!(line, Some(7));

    let (path, message, _, _) = syntax("status:\n  conditions:\n  - {type: Complete}\n");
    assert_eq!(path.as_deref(), Some("status.conditions[0]"));
    assert!(message.contains("missing field `status`"), "{message}");
}

#[test]
fn a_document_that_is_not_a_mapping_is_a_syntax_error() {
    for text in ["hello\n", "- a\n- b\n", "42\n", "true\n", "'quoted'\n"] {
        let (path, message, line, _) = syntax(text);
        assert_eq!(path, None, "{text}");
        assert!(message.contains("expected struct Job"), "{message}");
        assert_eq!(line, Some(1));
    }
}

// ---------------------------------------------------------------------------
// Numbers

#[test]
fn negative_numbers_parse_validation_rejects_them() {
    let job = parse_job(
        "spec:\n  parallelism: -1\n  completions: -5\n  backoffLimit: -1\n  activeDeadlineSeconds: -10\n  ttlSecondsAfterFinished: -3\nstatus:\n  active: -2\n",
    )
    .unwrap();
    assert_eq!(job.spec.parallelism, Some(-1));
    assert_eq!(job.spec.completions, Some(-5));
    assert_eq!(job.spec.backoff_limit, Some(-1));
    assert_eq!(job.spec.active_deadline_seconds, Some(-10));
    assert_eq!(job.spec.ttl_seconds_after_finished, Some(-3));
    assert_eq!(job.status.unwrap().active, -2);
}

#[test]
fn numbers_at_the_limits_parse() {
    let job = parse_job(&format!(
        "spec:\n  parallelism: {}\n  completions: {}\n  activeDeadlineSeconds: {}\nmetadata:\n  deletionGracePeriodSeconds: {}\n",
        i32::MAX,
        i32::MIN,
        i64::MAX,
        i64::MIN
    ))
    .unwrap();
    assert_eq!(job.spec.parallelism, Some(i32::MAX));
    assert_eq!(job.spec.completions, Some(i32::MIN));
    assert_eq!(job.spec.active_deadline_seconds, Some(i64::MAX));
    assert_eq!(job.metadata.deletion_grace_period_seconds, Some(i64::MIN));
    // Other notations of integers are integers.
    let job = parse_job("spec:\n  parallelism: 0x10\n  completions: 0o10\n").unwrap();
    assert_eq!(job.spec.parallelism, Some(16));
    assert_eq!(job.spec.completions, Some(8));
}

#[test]
fn overflowing_numbers_name_the_field() {
    let msg = wrong_type("spec:\n  parallelism: 2147483648\n", "spec.parallelism", 2);
    assert!(msg.contains("2147483648"), "{msg}");
    wrong_type("spec:\n  parallelism: -2147483649\n", "spec.parallelism", 2);
    wrong_type(
        "spec:\n  backoffLimit: 4294967296\n",
        "spec.backoffLimit",
        2,
    );
    wrong_type("status:\n  failed: 99999999999\n", "status.failed", 2);
    let msg = wrong_type(
        "spec:\n  activeDeadlineSeconds: 9223372036854775808\n",
        "spec.activeDeadlineSeconds",
        2,
    );
    assert!(msg.contains("9223372036854775808"), "{msg}");
    wrong_type(
        "spec:\n  activeDeadlineSeconds: -9223372036854775809\n",
        "spec.activeDeadlineSeconds",
        2,
    );
    // Beyond u64: YAML reads it as a float, still not an integer.
    wrong_type(
        "spec:\n  activeDeadlineSeconds: 99999999999999999999999\n",
        "spec.activeDeadlineSeconds",
        2,
    );
    wrong_type(
        "metadata:\n  generation: 18446744073709551616\n",
        "metadata.generation",
        2,
    );
    // Free-form values keep big integers exactly.
    let job = parse_job(
        "spec:\n  template:\n    spec:\n      big: 18446744073709551615\n      neg: -9223372036854775808\n",
    )
    .unwrap();
    let extra = &job.spec.template.spec.extra;
    assert_eq!(extra["big"], Value::UInt(u64::MAX));
    assert_eq!(extra["neg"], Value::Int(i64::MIN));
}

#[test]
fn non_finite_floats_are_refused() {
    // JSON has no NaN or infinity; a NaN would make a Job unequal to itself.
    for (value, path) in [
        (".nan", "spec.template.spec.volumes"),
        (".NaN", "spec.template.spec.volumes"),
        (".inf", "spec.template.spec.volumes"),
        ("-.Inf", "spec.template.spec.volumes"),
        ("[1, .nan]", "spec.template.spec.volumes[1]"),
        ("{a: .inf}", "spec.template.spec.volumes.a"),
    ] {
        let text = format!("spec:\n  template:\n    spec:\n      volumes: {value}\n");
        let message = wrong_type(&text, path, 4);
        assert!(message.contains("not a JSON number"), "{message}");
    }
    wrong_type(
        "metadata:\n  managedFields: [.nan]\n",
        "metadata.managedFields[0]",
        2,
    );
    // Too big for a float is not a float at all to YAML: a string.
    let job = parse_job("spec:\n  template:\n    spec:\n      volumes: 1e400\n").unwrap();
    assert_eq!(
        job.spec.template.spec.extra["volumes"],
        Value::String("1e400".into())
    );
    assert_eq!(parse_job(&to_yaml(&job)).unwrap(), job);
}

// ---------------------------------------------------------------------------
// Unknown names

#[test]
fn unknown_enum_values_parse_as_other() {
    let job = parse_job(
        "spec:
  completionMode: Sharded
  podReplacementPolicy: Sometimes
  podFailurePolicy:
    rules:
    - action: Retry
      onExitCodes: {operator: Between, values: [1]}
      onPodConditions: [{type: DisruptionTarget, status: Maybe}]
  template:
    spec:
      restartPolicy: Sometimes
status:
  conditions:
  - {type: Exploded, status: Perhaps}
",
    )
    .unwrap();
    let spec = &job.spec;
    assert_eq!(
        spec.completion_mode,
        Some(CompletionMode::Other("Sharded".into()))
    );
    assert!(!spec.completion_mode.as_ref().unwrap().is_known());
    assert_eq!(
        spec.pod_replacement_policy,
        Some(PodReplacementPolicy::Other("Sometimes".into()))
    );
    let rule = &spec.pod_failure_policy.as_ref().unwrap().rules[0];
    assert_eq!(rule.action, PodFailurePolicyAction::Other("Retry".into()));
    assert_eq!(
        rule.on_exit_codes.as_ref().unwrap().operator,
        PodFailurePolicyOnExitCodesOperator::Other("Between".into())
    );
    assert_eq!(
        rule.on_pod_conditions[0].status,
        Some(ConditionStatus::Other("Maybe".into()))
    );
    assert_eq!(
        spec.template.spec.restart_policy,
        Some(RestartPolicy::Other("Sometimes".into()))
    );
    let condition = &job.status.as_ref().unwrap().conditions[0];
    assert_eq!(condition.type_, JobConditionType::Other("Exploded".into()));
    assert_eq!(condition.status, ConditionStatus::Other("Perhaps".into()));
    // Case matters, as upstream: `never` is not `Never`.
    let job = parse_job("spec:\n  template:\n    spec:\n      restartPolicy: never\n").unwrap();
    assert_eq!(
        job.spec.template.spec.restart_policy,
        Some(RestartPolicy::Other("never".into()))
    );
    // And the unknown value is written back verbatim.
    assert!(to_yaml(&job).contains("restartPolicy: never\n"));
}

#[test]
fn unknown_fields_of_job_spec_and_status_are_rejected() {
    assert_eq!(
        unknown_field(&format!("{BASE}foo: 1\n")),
        ("foo".into(), Some(12), Some(1))
    );
    assert_eq!(
        unknown_field("spec:\n  foo: 1\n"),
        ("spec.foo".into(), Some(2), Some(3))
    );
    assert_eq!(
        unknown_field("status:\n  succeded: 1\n"),
        ("status.succeded".into(), Some(2), Some(3))
    );
    assert_eq!(
        unknown_field(
            "spec:\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onExitCode: {}\n"
        ),
        (
            "spec.podFailurePolicy.rules[0].onExitCode".into(),
            Some(5),
            Some(7)
        )
    );
    assert_eq!(
        unknown_field("spec:\n  selector:\n    matchLabel: {a: b}\n").0,
        "spec.selector.matchLabel"
    );
    assert_eq!(
        unknown_field("spec:\n  successPolicy:\n    rules: [{succeededIndex: '0'}]\n").0,
        "spec.successPolicy.rules[0].succeededIndex"
    );
    assert_eq!(
        unknown_field("status:\n  uncountedTerminatedPods: {running: []}\n").0,
        "status.uncountedTerminatedPods.running"
    );
    // A misspelt field of a flow mapping.
    assert_eq!(
        unknown_field("spec: {parallelism: 1, paralelism: 2}\n"),
        ("spec.paralelism".into(), Some(1), Some(24))
    );
    let err = parse_job("spec:\n  foo: 1\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown field \"spec.foo\" at line 2 column 3"
    );
}

#[test]
fn unknown_fields_of_metadata_and_pod_template_are_kept() {
    let job = parse_job(
        "metadata:\n  selfLink: /x\n  managedFields: [{manager: kubectl}]\nspec:\n  template:\n    metadata:\n      foo: bar\n    spec:\n      volumes: []\n      containers:\n      - name: a\n        resources: {limits: {cpu: 1}}\n",
    )
    .unwrap();
    assert_eq!(job.metadata.extra["selfLink"], Value::String("/x".into()));
    assert!(job.metadata.extra.contains_key("managedFields"));
    assert!(job.spec.template.metadata.extra.contains_key("foo"));
    assert_eq!(job.spec.template.spec.extra["volumes"], Value::Seq(vec![]));
    assert!(
        job.spec.template.spec.containers[0]
            .extra
            .contains_key("resources")
    );
}

// ---------------------------------------------------------------------------
// Documents that are not Jobs, empty input, streams

#[test]
fn other_kinds_are_not_jobs() {
    for (api_version, kind) in [
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"),
        ("batch/v2", "Job"),
        ("", "Pod"),
        ("v1", ""),
    ] {
        let text = format!("apiVersion: {api_version:?}\nkind: {kind:?}\nmetadata: {{name: x}}\n");
        assert_eq!(
            parse_job(&text),
            Err(ParseError::NotAJob {
                api_version: api_version.into(),
                kind: kind.into()
            }),
            "{text}"
        );
    }
    // A Pod in the middle of a stream of Jobs.
    let stream = format!("{BASE}---\napiVersion: v1\nkind: Pod\n---\n{BASE}");
    assert!(matches!(
        parse_jobs(&stream),
        Err(ParseError::NotAJob { kind, .. }) if kind == "Pod"
    ));
}

#[test]
fn empty_input_is_empty() {
    for text in [
        "",
        " ",
        "\n\n",
        "# only a comment\n",
        "---\n",
        "---\n---\n...\n",
        "null\n",
        "~\n",
    ] {
        assert_eq!(parse_job(text), Err(ParseError::Empty), "{text:?}");
        assert_eq!(parse_jobs(text), Ok(vec![]), "{text:?}");
    }
    assert_eq!(
        ParseError::Empty.to_string(),
        "the input holds no YAML document"
    );
}

#[test]
fn multi_document_streams_give_every_job() {
    let stream = "\
---
metadata: {name: a}
---
---
# a comment-only document
---
metadata: {name: b}
...
---
metadata:
  name: c
";
    let names: Vec<_> = parse_jobs(stream)
        .unwrap()
        .into_iter()
        .map(|j| j.metadata.name)
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    // parse_job takes the first.
    assert_eq!(parse_job(stream).unwrap().metadata.name, "a");

    // An error in a later document is located in the stream.
    let stream = "metadata: {name: a}\n---\nspec:\n  parallelism: x\n";
    let (path, _, line, _) = syntax(stream);
    assert_eq!(path.as_deref(), Some("spec.parallelism"));
    assert_eq!(line, Some(4));
    assert!(matches!(
        parse_jobs(stream),
        Err(ParseError::Syntax { line: Some(4), .. })
    ));
    let (path, _, line, _) = unknown_field_in_stream("metadata: {name: a}\n---\nspec:\n  foo: 1\n");
    assert_eq!((path.as_str(), line), ("spec.foo", Some(4)));
}

fn unknown_field_in_stream(text: &str) -> (String, (), Option<usize>, Option<usize>) {
    match parse_jobs(text) {
        Err(ParseError::UnknownField { path, line, column }) => (path, (), line, column),
        other => panic!("{other:?}"),
    }
}

#[test]
fn null_timestamps_and_empty_objects_parse() {
    let job = parse_job(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  creationTimestamp: null\n  name: abc\nspec:\n  template:\n    metadata:\n      creationTimestamp: null\n    spec:\n      containers:\n      - image: nginx\n        name: abc\n        resources: {}\n      restartPolicy: Never\nstatus: {}\n",
    )
    .unwrap();
    assert_eq!(job.metadata.creation_timestamp, None);
    assert_eq!(job.spec.template.metadata.creation_timestamp, None);
    assert_eq!(job.status, Some(Default::default()));
    // `null` for an object or a list is the same as leaving it out.
    let job = parse_job(
        "metadata:\n  labels: null\n  creationTimestamp: ~\nspec:\n  selector: null\n  template:\n    spec:\n      containers: null\nstatus: null\n",
    )
    .unwrap();
    assert_eq!(job, Job::default());
    // Timestamps keep sub-second precision and any offset, in UTC.
    let job = parse_job("metadata:\n  creationTimestamp: 2024-01-01T01:00:00.5+01:00\n").unwrap();
    assert_eq!(
        job.metadata.creation_timestamp.unwrap().to_rfc3339(),
        "2024-01-01T00:00:00.500+00:00"
    );
}

#[test]
fn mapping_keys_are_text() {
    // sigs.k8s.io/yaml turns non-string keys into strings; so does the parser.
    let job = parse_job("metadata:\n  labels: {1: a, true: b, null: c, 1.5: d}\n").unwrap();
    let keys: Vec<_> = job.metadata.labels.keys().cloned().collect();
    assert_eq!(keys, ["1", "1.5", "null", "true"]);
    // A compound key cannot be.
    let (path, _, _, _) = syntax("metadata:\n  labels: {[a]: b}\n");
    assert_eq!(path.as_deref(), Some("metadata.labels"));
}

/// Asserts a [`ParseError::Unsupported`] at `want_path` (`None`: the
/// document) on `want_line`; returns the message.
#[track_caller]
fn unsupported(text: &str, want_path: Option<&str>, want_line: usize) -> String {
    match parse_jobs(text) {
        Err(ParseError::Unsupported {
            path,
            message,
            line,
            column,
        }) => {
            assert_eq!(path.as_deref(), want_path, "{message}\n{text}");
            assert_eq!(line, Some(want_line), "{message}\n{text}");
            assert!(column.is_some(), "{message}");
            message
        }
        other => panic!("expected an unsupported feature in\n{text}\ngot {other:?}"),
    }
}

#[test]
fn custom_tags_are_refused_with_their_path() {
    // Kubernetes' YAML reader takes a scalar under an unknown tag for its
    // bare text (`!count 3` is the string "3"); serde_yaml has parsed the
    // number by then. Neither guessing nor ignoring the tag is safe.
    let msg = unsupported(
        "spec:\n  parallelism: !count 3\n",
        Some("spec.parallelism"),
        2,
    );
    assert!(msg.contains("`!count`"), "{msg}");
    unsupported(
        "spec:\n  template:\n    spec:\n      volumes: !list [a]\n",
        Some("spec.template.spec.volumes"),
        4,
    );
    unsupported(
        "metadata:\n  name: x\n  labels: {a: b, c: !x d}\n",
        Some("metadata.labels.c"),
        3,
    );
    // The non-specific tag `!` too (serde_yaml would still read `! 3` as a number).
    let msg = unsupported("metadata:\n  name: ! x\n", Some("metadata.name"), 2);
    assert!(msg.contains("`!`"), "{msg}");
    // A tag defined by a %TAG directive as a local tag.
    unsupported("%TAG !e! !x-\n---\nkind: !e!y Job\n", Some("kind"), 3);
    // On a whole document, even an empty one (not skipped as empty).
    unsupported("--- !e {apiVersion: a8}\n", None, 1);
    unsupported("--- !e\n", None, 1);
    unsupported(&format!("{BASE}---\n--- !e\n"), None, 13);
    // The message names the path.
    let err = parse_job("spec:\n  parallelism: !count 3\n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("spec.parallelism: the YAML tag `!count`"),
        "{err}"
    );
}

#[test]
fn tagged_keys_are_refused_with_their_path() {
    // The fuzz finding (`tests/fuzz_regressions/parse_manifest-crash-a4706bf2.yaml`):
    // the kind check missed the tagged key, the decoding read `apiVersion: a8`.
    let msg = unsupported("!e apiVersion :\r a8", Some("apiVersion"), 1);
    assert!(msg.contains("`!e`") && msg.contains("key"), "{msg}");
    unsupported("!e apiVersion: batch/v1\n", Some("apiVersion"), 1);
    unsupported("kind: Job\n!e kind: Job\n", Some("kind"), 2);
    // Next to the same key untagged: the error points at the tagged one.
    match parse_job("apiVersion: batch/v1\n!e apiVersion: a8\n") {
        Err(ParseError::Unsupported {
            path: Some(path),
            line: Some(2),
            column: Some(1),
            ..
        }) if path == "apiVersion" => {}
        other => panic!("{other:?}"),
    }
    unsupported(
        "metadata:\n  labels:\n    !e app: x\n",
        Some("metadata.labels.app"),
        3,
    );
    // A tagged compound key: at its mapping.
    unsupported(
        "metadata:\n  labels:\n    ? !e [a]\n    : b\n",
        Some("metadata.labels"),
        3,
    );
}

/// Whatever tags stand on `apiVersion: a8` and `kind`, no Job comes out.
#[test]
fn a_foreign_api_version_is_never_a_job_whatever_its_tags() {
    for text in [
        "!e apiVersion: a8\n",
        "!e apiVersion: a8\nkind: Job\n",
        "apiVersion: !e a8\n",
        "!e apiVersion: !e a8\n",
        "! apiVersion: a8\n",
        "apiVersion: batch/v1\n!e apiVersion: a8\n",
        "!e apiVersion: a8\napiVersion: batch/v1\n",
        "!!str apiVersion: a8\n",
        "apiVersion: !!str a8\n",
        "apiVersion: !<tag:yaml.org,2002:str> a8\n",
        "!e kind: Pod\n",
        "kind: !e Pod\n",
        "--- !e {apiVersion: a8}\n",
        "{!e apiVersion: a8}\n",
        "? !e apiVersion\n: a8\n",
        "<<: {apiVersion: a8}\n",
        "apiVersion: batch/v1\n'apiVersion': a8\n",
    ] {
        match parse_jobs(text) {
            Ok(jobs) => panic!("{text:?} was accepted: {jobs:?}"),
            Err(
                ParseError::Unsupported { .. }
                | ParseError::NotAJob { .. }
                | ParseError::Syntax { .. }
                | ParseError::UnknownField { .. },
            ) => {}
            Err(other) => panic!("{text:?}: {other:?}"),
        }
    }
    // YAML's own `!!str` is resolved by the parser: the kind check sees a8.
    for text in [
        "!!str apiVersion: a8\n",
        "apiVersion: !!str a8\n",
        "apiVersion: !<tag:yaml.org,2002:str> a8\n",
    ] {
        assert_eq!(
            parse_job(text),
            Err(ParseError::NotAJob {
                api_version: "a8".into(),
                kind: String::new()
            }),
            "{text:?}"
        );
    }
}

/// `!!str` (and YAML's other own tags) mean what they mean to kubectl: a
/// string is a string.
#[test]
fn yaml_core_tags_are_understood() {
    let text = BASE
        .replace("apiVersion: batch/v1", "!!str apiVersion: !!str batch/v1")
        .replace("kind: Job", "kind: !<tag:yaml.org,2002:str> Job")
        .replacen(
            "name: pi\n",
            "name: !!str pi\n  labels: {!!str 1: !!str 2}\n",
            1,
        );
    let job = parse_job(&text).unwrap();
    assert_eq!(
        (job.api_version.as_str(), job.kind.as_str()),
        ("batch/v1", "Job")
    );
    assert_eq!(job.metadata.labels["1"], "2");
    assert_eq!(job, parse_job(&to_yaml(&job)).unwrap());
    // `!!int` reads its text as an integer, as kubectl does.
    let job = parse_job("spec:\n  parallelism: !!int \"3\"\n").unwrap();
    assert_eq!(job.spec.parallelism, Some(3));
}

#[test]
fn keys_equal_as_text_are_duplicates() {
    // serde_yaml refuses equal keys; `1` and "1" are equal once made text,
    // and the later value silently replaced the earlier one.
    let (path, message, line, column) =
        syntax("metadata:\n  labels:\n    a: x\n    1: y\n    '1': z\n");
    assert_eq!(path.as_deref(), Some("metadata.labels.1"), "{message}");
    assert_eq!((line, column), (Some(5), Some(5)), "{message}");
    assert!(message.contains("duplicate key \"1\""), "{message}");
    let (path, ..) = syntax("metadata:\n  labels: {true: a, 'true': b}\n");
    assert_eq!(path.as_deref(), Some("metadata.labels.true"));
    let (path, ..) = syntax("metadata:\n  labels: {null: a, 'null': b}\n");
    assert_eq!(path.as_deref(), Some("metadata.labels.null"));
    // Equal keys are still refused by serde_yaml itself.
    syntax("apiVersion: batch/v1\n'apiVersion': a8\n");
}

#[test]
fn merge_keys_are_not_applied() {
    // serde_yaml does not merge, and `to_yaml` writes a field named `<<`
    // as '<<', which cannot be told from a merge key: `<<` is a key like
    // any other. It cannot smuggle an apiVersion in...
    let (path, line, _) = unknown_field("<<: {apiVersion: a8}\n");
    assert_eq!((path.as_str(), line), ("<<", Some(1)));
    // ...and where unknown fields are kept, it is kept, not merged.
    let job = parse_job("metadata:\n  <<: {name: x}\n").unwrap();
    assert_eq!(job.metadata.name, "");
    assert!(job.metadata.extra.contains_key("<<"));
    assert_eq!(parse_job(&to_yaml(&job)).unwrap(), job);
}

#[test]
fn json_is_yaml() {
    let job = parse_job(
        r#"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi","labels":{"a":"1"}},"spec":{"parallelism":2,"template":{"spec":{"containers":[{"name":"pi","env":[{"name":"X","value":"1"}]}]}}}}"#,
    )
    .unwrap();
    assert_eq!(job.spec.parallelism, Some(2));
    assert_eq!(job.metadata.labels["a"], "1");
    let (path, _, line, column) = syntax(r#"{"spec": {"parallelism": "2"}}"#);
    assert_eq!(path.as_deref(), Some("spec.parallelism"));
    assert_eq!((line, column), (Some(1), Some(26)));
}

// ---------------------------------------------------------------------------
// Size

/// Generous: a debug build parses a 10 MB manifest in a few seconds.
const SLOW: Duration = Duration::from_secs(60);

#[test]
fn a_ten_megabyte_env_list_parses() {
    let mut text = String::from(BASE);
    text.push_str("        env:\n");
    let mut i = 0;
    while text.len() < 10_000_000 {
        text.push_str(&format!(
            "        - {{name: VAR_{i}, value: \"value {i}\"}}\n"
        ));
        i += 1;
    }
    let start = Instant::now();
    let job = parse_job(&text).unwrap();
    let took = start.elapsed();
    assert_eq!(job.spec.template.spec.containers[0].env.len(), i);
    assert!(took < SLOW, "{took:?}");
}

#[test]
fn a_ten_megabyte_annotation_parses() {
    let text = format!(
        "metadata:\n  annotations:\n    big: \"{}\"\n",
        "x".repeat(10_000_000)
    );
    let start = Instant::now();
    let job = parse_job(&text).unwrap();
    assert!(start.elapsed() < SLOW, "{:?}", start.elapsed());
    assert_eq!(job.metadata.annotations["big"].len(), 10_000_000);
}

#[test]
fn a_ten_megabyte_error_is_typed() {
    // The error is at the very end of a huge document.
    let mut text = String::from("metadata:\n  annotations:\n");
    let mut i = 0;
    while text.len() < 10_000_000 {
        text.push_str(&format!("    key-{i}: v\n"));
        i += 1;
    }
    text.push_str("spec:\n  parallelism: x\n");
    let start = Instant::now();
    let (path, _, line, _) = syntax(&text);
    assert!(start.elapsed() < SLOW, "{:?}", start.elapsed());
    assert_eq!(path.as_deref(), Some("spec.parallelism"));
    assert_eq!(line, Some(i + 4));
}

#[test]
fn input_over_the_limit_is_too_large() {
    let text = " ".repeat(MAX_MANIFEST_BYTES + 1);
    let start = Instant::now();
    assert_eq!(
        parse_jobs(&text),
        Err(ParseError::TooLarge {
            size: MAX_MANIFEST_BYTES + 1,
            limit: MAX_MANIFEST_BYTES
        })
    );
    assert_eq!(
        parse_job(&text),
        Err(ParseError::TooLarge {
            size: MAX_MANIFEST_BYTES + 1,
            limit: MAX_MANIFEST_BYTES
        })
    );
    // Refused before any parsing.
    assert!(start.elapsed() < Duration::from_secs(1));
    // The limit itself is accepted.
    let mut text = String::from("# ");
    text.push_str(&"x".repeat(MAX_MANIFEST_BYTES - 3));
    text.push('\n');
    assert_eq!(text.len(), MAX_MANIFEST_BYTES);
    assert_eq!(parse_jobs(&text), Ok(vec![]));
}

// ---------------------------------------------------------------------------
// Nesting

#[test]
fn deep_flow_nesting_is_an_error_not_a_stack_overflow() {
    for text in [
        "[".repeat(10_000),
        "{".repeat(10_000),
        "{a: ".repeat(10_000),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
    ] {
        let (_, message, line, column) = syntax(&text);
        assert!(message.contains("recursion limit exceeded"), "{message}");
        assert_eq!(line, Some(1));
        assert!(column.is_some());
    }
}

/// Nested mappings (block style) under `spec.template.spec.volumes`.
fn nested_maps(depth: usize) -> String {
    let mut text = String::from("spec:\n  template:\n    spec:\n      volumes:\n");
    for level in 0..depth {
        text.push_str(&" ".repeat(8 + 2 * level));
        text.push_str("a:\n");
    }
    text.push_str(&" ".repeat(8 + 2 * depth));
    text.push_str("leaf\n");
    text
}

#[test]
fn deep_nesting_inside_the_template_is_an_error_not_a_stack_overflow() {
    // Block style needs 2 bytes of indentation a level: 1000 levels is 1 MB.
    let (_, message, _, _) = syntax(&nested_maps(1000));
    assert!(message.contains("recursion limit exceeded"), "{message}");
    let flow = format!(
        "spec:\n  template:\n    spec:\n      volumes: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    let (_, message, line, _) = syntax(&flow);
    assert!(message.contains("recursion limit exceeded"), "{message}");
    assert_eq!(line, Some(4));
}

#[test]
fn nesting_just_under_the_limit_parses_on_a_test_thread() {
    // serde_yaml allows 128 levels; the Job itself takes 4 of them.
    let depth = 123;
    let job = parse_job(&nested_maps(depth)).unwrap();
    let mut value = &job.spec.template.spec.extra["volumes"];
    let mut levels = 0;
    while let Value::Map(m) = value {
        value = &m["a"];
        levels += 1;
    }
    assert_eq!(levels, depth);
    assert_eq!(*value, Value::String("leaf".into()));
    // And it serializes and parses back.
    assert_eq!(parse_job(&to_yaml(&job)).unwrap(), job);
    // One more level is too many.
    let (_, message, _, _) = syntax(&nested_maps(depth + 2));
    assert!(message.contains("recursion limit exceeded"), "{message}");
}

// ---------------------------------------------------------------------------
// Aliases

#[test]
fn aliases_expand() {
    let job = parse_job(
        "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: &env\n        - {name: X, value: '1'}\n      - name: b\n        env: *env\n",
    )
    .unwrap();
    let containers = &job.spec.template.spec.containers;
    assert_eq!(containers[0].env, containers[1].env);
    assert_eq!(containers[1].env[0].name, "X");
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut text = String::from(
        "spec:\n  template:\n    spec:\n      a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for c in 'b'..='z' {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("      {c}: &{c} [{refs}]\n"));
        prev = c;
    }
    let start = Instant::now();
    let (_, message, _, _) = syntax(&text);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        message.contains("repetition limit") || message.contains("through aliases"),
        "{message}"
    );
}

#[test]
fn quadratic_alias_blowup_is_refused_quickly() {
    // One anchor of 100k items, referenced 100k times: few alias jumps (which
    // serde_yaml counts) but 10^10 nodes (which it does not).
    let n = 100_000;
    let mut text = String::from("spec:\n  template:\n    spec:\n      a: &a [");
    text.push_str(&vec!["1"; n].join(","));
    text.push_str("]\n      b: [");
    text.push_str(&vec!["*a"; n].join(","));
    text.push_str("]\n");
    let start = Instant::now();
    let (path, message, _, _) = syntax(&text);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(path, None);
    assert!(message.contains("through aliases"), "{message}");
}

#[test]
fn modest_alias_expansion_is_allowed() {
    // 1000 references to a 100-item anchor: 100k nodes.
    let mut text = String::from("spec:\n  template:\n    spec:\n      a: &a [");
    text.push_str(&vec!["1"; 100].join(","));
    text.push_str("]\n      b: [");
    text.push_str(&vec!["*a"; 1000].join(","));
    text.push_str("]\n");
    let job = parse_job(&text).unwrap();
    match &job.spec.template.spec.extra["b"] {
        Value::Seq(items) => assert_eq!(items.len(), 1000),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Byte-level oddities (invalid UTF-8 cannot reach a &str)

#[test]
fn a_byte_order_mark_is_skipped() {
    // As editors on Windows save files; it used to shift the first line by
    // one column and fail the parse.
    let job = parse_job(&format!("\u{feff}{BASE}")).unwrap();
    assert_eq!(job.metadata.name, "pi");
    assert_eq!(job, parse_job(BASE).unwrap());
    let (path, _, line, column) = syntax("\u{feff}spec:\n  parallelism: x\n");
    assert_eq!(path.as_deref(), Some("spec.parallelism"));
    assert_eq!((line, column), (Some(2), Some(16)));
    // A byte order mark elsewhere is a character like any other: a typed
    // result either way.
    let _ = parse_jobs(&format!("{BASE}---\n\u{feff}{BASE}"));
    let job = parse_job("metadata:\n  name: \"\u{feff}x\"\n").unwrap();
    assert_eq!(job.metadata.name, "\u{feff}x");
}

#[test]
fn crlf_line_endings_parse_like_lf() {
    let lf = format!("{BASE}        command: |\n          echo a\n          echo b\n");
    let crlf = lf.replace('\n', "\r\n");
    let a = parse_job(&lf).unwrap();
    let b = parse_job(&crlf).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        b.spec.template.spec.containers[0].extra["command"],
        Value::String("echo a\necho b\n".into())
    );
    // Errors are located the same way.
    let bad = "spec:\r\n  parallelism: x\r\n";
    let (path, _, line, column) = syntax(bad);
    assert_eq!(path.as_deref(), Some("spec.parallelism"));
    assert_eq!((line, column), (Some(2), Some(16)));
    // Old Mac line endings are line breaks too.
    let cr = parse_job("metadata:\r  name: pi\r").unwrap();
    assert_eq!(cr.metadata.name, "pi");
}

#[test]
fn tabs_indent_nothing() {
    // A tab may not indent a block...
    let (_, message, line, column) = syntax("spec:\n\tparallelism: 1\n");
    assert!(message.contains("cannot start any token"), "{message}");
    assert_eq!((line, column), (Some(2), Some(1)));
    // ...but may separate tokens and sit inside values.
    let job = parse_job(
        "metadata:\n  name:\tpi\n  labels: {a:\tb}\n  annotations:\n    note: \"x\ty\"\n",
    )
    .unwrap();
    assert_eq!(job.metadata.name, "pi");
    assert_eq!(job.metadata.labels["a"], "b");
    assert_eq!(job.metadata.annotations["note"], "x\ty");
}

#[test]
fn control_characters_are_refused_by_the_yaml_reader() {
    let (_, message, line, _) = syntax("metadata:\n  name: a\u{1}b\n");
    assert!(message.contains("control characters"), "{message}");
    // libyaml checks the input before it tokenizes it, so the position is
    // not that of the character.
    assert!(line.is_some());
    // Escaped in a double-quoted string they are fine.
    let job = parse_job("metadata:\n  name: \"a\\x01b\\0\"\n").unwrap();
    assert_eq!(job.metadata.name, "a\u{1}b\0");
}

// ---------------------------------------------------------------------------
// Never a panic

/// What the fuzz target (`fuzz/fuzz_targets/parse_manifest.rs`) checks of
/// any input: parsing gives a typed result; whatever parses serializes and
/// parses back unchanged; admitting it as a create does not panic.
fn fuzz_property(text: &str) -> Result<(), String> {
    let Ok(jobs) = parse_jobs(text) else {
        return Ok(());
    };
    for mut job in jobs {
        if !(job.api_version.is_empty() || job.api_version == "batch/v1")
            || !(job.kind.is_empty() || job.kind == "Job")
        {
            return Err(format!(
                "accepted apiVersion {:?} kind {:?}",
                job.api_version, job.kind
            ));
        }
        let yaml = to_yaml(&job);
        match parse_job(&yaml) {
            Ok(back) if back == job => {}
            Ok(back) => return Err(format!("round trip changed {job:?}\ninto {back:?}\n{yaml}")),
            Err(err) => {
                return Err(format!(
                    "to_yaml wrote what parse_job rejects ({err}):\n{yaml}"
                ));
            }
        }
        job.metadata.uid = "7a8b3c4d-0000-4000-8000-000000000000".to_owned();
        let _ = job_controller::ValidJob::create(job);
    }
    Ok(())
}

/// Inputs that once broke [`fuzz_property`], and fuzzer crash inputs (add
/// them here, with what they broke).
const REGRESSIONS: &[&str] = &[
    // `.nan` parsed into Value::Float(NaN): the Job was unequal to itself.
    "spec:\n  template:\n    spec:\n      volumes: [.nan]\n",
    "metadata:\n  x: {a: .NaN}\n",
    // A byte order mark shifted the first line by a column: parse error.
    "\u{feff}apiVersion: batch/v1\nkind: Job\n",
    // A non-string key in a label map was an error; it is text, as upstream.
    "metadata:\n  labels: {1: a, true: b}\n",
    // A custom tag on a free-form value was an error ("enum input").
    "spec:\n  template:\n    spec:\n      volumes: !x {a: 1}\n",
    // Quadratic alias expansion (hung): see quadratic_alias_blowup_is_refused_quickly.
    "a: &a [1, 1, 1]\nb: [*a, *a, *a]\n",
];

#[test]
fn regressions_hold_the_fuzz_property() {
    for text in REGRESSIONS {
        if let Err(e) = fuzz_property(text) {
            panic!("{text:?}: {e}");
        }
    }
}

/// Corrupts a valid manifest with YAML's special characters.
fn mutated_manifest() -> impl Strategy<Value = String> {
    let base: Vec<char> = format!("{BASE}  parallelism: 2\n  completions: 4\nstatus:\n  conditions:\n  - {{type: Complete, status: 'True'}}\n---\n{BASE}").chars().collect();
    let len = base.len();
    let edit = (
        0..len,
        0..4usize,
        prop::sample::select(vec![
            ":",
            "-",
            "[",
            "]",
            "{",
            "}",
            "&a",
            "*a",
            "!",
            "|",
            ">",
            "'",
            "\"",
            "#",
            "\n",
            "\t",
            "  ",
            "---",
            "?",
            ",",
            "%",
            "@",
            "\u{feff}",
            "\r",
            "null",
            "~",
            "1e999",
            "99999999999999999999",
        ]),
    );
    proptest::collection::vec(edit, 1..6).prop_map(move |edits| {
        let mut chars = base.clone();
        for (at, kind, text) in edits {
            let at = at.min(chars.len());
            match kind {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => {
                    chars.splice(at..at + 1, text.chars());
                }
                _ => {
                    chars.splice(at..at, text.chars());
                }
            }
        }
        chars.into_iter().collect()
    })
}

proptest! {
    #![proptest_config(common::proptest_config(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_jobs(&text);
    }

    #[test]
    fn yamlish_text_never_panics(text in "[a-z:\\-\\[\\]{}&*!|>'\"#, \\n\\t0-9.~?%@]{0,200}") {
        let _ = parse_jobs(&text);
    }

    #[test]
    fn mutated_manifests_never_panic(text in mutated_manifest()) {
        if let Err(err) = parse_jobs(&text) {
            // Every error renders.
            prop_assert!(!err.to_string().is_empty());
        }
        fuzz_property(&text).map_err(TestCaseError::fail)?;
    }
}

/// Every example manifest of the project parses and round-trips.
#[test]
fn shared_manifests_parse_and_roundtrip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/manifests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("{} not found; skipped", dir.display());
        return;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        parse_job(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(e) = fuzz_property(&text) {
            panic!("{}: {e}", path.display());
        }
        count += 1;
    }
    assert!(count > 0);
}

/// Keys over YAML's 1024-character implicit-key limit are written in the
/// explicit `? key` form, whatever their value holds.
#[test]
fn keys_longer_than_1024_characters_round_trip_with_nested_values() {
    use job_controller::api::Value;
    use std::collections::BTreeMap;
    let long = "k".repeat(1500);
    let mut job = job_controller::parse_job("metadata: {name: x}").expect("parses");
    let nested = Value::Map(BTreeMap::from([(
        "inner".to_owned(),
        Value::Seq(vec![
            Value::Int(1),
            Value::Map(BTreeMap::from([(
                "a".to_owned(),
                Value::String("b".into()),
            )])),
        ]),
    )]));
    let list = Value::Seq(vec![
        Value::String("x".into()),
        Value::Seq(vec![Value::String("y".into())]),
    ]);
    let extra = &mut job.spec.template.spec.extra;
    extra.insert(long.clone(), nested);
    extra.insert(format!("{long}x"), list);
    extra.insert(format!("{long}y"), Value::String("plain".into()));
    let yaml = job_controller::to_yaml(&job);
    assert!(yaml.contains("? "), "{yaml}");
    assert_eq!(
        job_controller::parse_job(&yaml).expect("reparses"),
        job,
        "{yaml}"
    );
}

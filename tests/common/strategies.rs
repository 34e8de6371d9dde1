//! Proptest strategies for arbitrary `batch/v1` Jobs, field for field.
//!
//! Every field of `Job`, `ObjectMeta`, `JobSpec`, `JobStatus`,
//! `PodFailurePolicy`, `SuccessPolicy`, `LabelSelector`, `PodTemplateSpec`,
//! `PodSpec`, `Container` and `EnvVar` is generated, including unknown enum
//! values (`Other`), whole-second and sub-second times and the free-form
//! `extra` maps with nested [`Value`]s.
//!
//! The generated values are exactly the ones a manifest can express, so that
//! `parse_job(to_yaml(job)) == job` is a fair property:
//!
//! - an enum's `Other` never holds a known value's text (that text parses as
//!   the known variant);
//! - `Value::UInt` only holds values above `i64::MAX` (smaller ones parse as
//!   `Value::Int`), and floats are finite;
//! - an `extra` map never holds a key its struct types (`name`, `containers`,
//!   …): on parse the typed field would take it;
//! - `EnvVar::value_from` is never `Some(Value::Null)`: `valueFrom: null` is
//!   the same manifest as no `valueFrom` at all.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use job_controller::api::{
    CompletionMode, ConditionStatus, Container, EnvVar, Job, JobCondition, JobConditionType,
    JobSpec, JobStatus, LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
    PodFailurePolicy, PodFailurePolicyAction, PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule, PodReplacementPolicy, PodSpec, PodTemplateSpec, RestartPolicy,
    SuccessPolicy, SuccessPolicyRule, Time, UncountedTerminatedPods, Value,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// Strings that YAML could mistake for something else, or that stress
/// quoting and escaping: booleans and nulls of YAML 1.1 and 1.2, numbers in
/// every notation, indicators, line breaks, control and non-ASCII characters.
pub(crate) const TRICKY_STRINGS: &[&str] = &[
    "",
    " ",
    "true",
    "false",
    "True",
    "FALSE",
    "null",
    "Null",
    "NULL",
    "~",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "N",
    "0",
    "-0",
    "00",
    "007",
    "1",
    "-1",
    "+1",
    "1.0",
    "-1.5",
    ".5",
    "1.",
    "1e3",
    "1E-3",
    "1_000",
    "0x1F",
    "0o17",
    "0b101",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    "inf",
    "NaN",
    "12:30",
    "12:30:00",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "a: b",
    "a:b",
    "a #b",
    "#comment",
    "- item",
    "-",
    "?",
    "? x",
    ":",
    "&anchor",
    "*alias",
    "!tag",
    "!!str",
    "%YAML 1.2",
    "@at",
    "`tick",
    "|",
    ">",
    "|-",
    "'",
    "\"",
    "''",
    "\"\"",
    "{",
    "}",
    "[",
    "]",
    "{a: 1}",
    "[1, 2]",
    ",",
    "---",
    "...",
    "<<",
    "=",
    " leading space",
    "trailing space ",
    "\ttab",
    "tab\t",
    "line\nbreak",
    "\n",
    "\n\n",
    "trailing newline\n",
    "\nleading newline",
    "  indented\n  lines\n",
    "crlf\r\nline",
    "\r",
    "nul\0byte",
    "bell\u{7}",
    "del\u{7f}",
    "\u{85}next line",
    "line\u{2028}separator",
    "para\u{2029}separator",
    "\u{feff}bom",
    "nbsp\u{a0}",
    "é",
    "日本語",
    "emoji 😀",
    "\u{10ffff}",
    "\u{e000}private",
    "\u{fffe}",
];

/// Any string, biased towards the tricky ones and towards plain names.
pub(crate) fn any_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(TRICKY_STRINGS).prop_map(str::to_owned),
        3 => "[a-z0-9]([-a-z0-9.]{0,14}[a-z0-9])?",
        2 => "\\PC{0,12}",
        2 => ".{0,12}",
        1 => "[ \\t\\r\\n:#'\"\\-?{}\\[\\],&*!|>%@`]{0,8}",
    ]
    .boxed()
}

/// A short DNS-label-like string (names, keys).
pub(crate) fn name() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?"
}

/// A label or annotation map.
pub(crate) fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(any_string(), any_string(), 0..4)
}

/// A list of strings.
pub(crate) fn string_list() -> impl Strategy<Value = Vec<String>> {
    vec(any_string(), 0..4)
}

/// A point in time between 0000-01-01 and 9999-12-31 (the years RFC 3339
/// can write), whole seconds (as the API server writes them) or with
/// nanoseconds.
pub(crate) fn time() -> BoxedStrategy<Time> {
    const MIN: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    const NOW: i64 = 1_700_000_000;
    let secs = prop_oneof![
        2 => MIN..=MAX,
        2 => (NOW - 100_000_000)..(NOW + 100_000_000),
        1 => select(vec![MIN, -1, 0, 1, MAX]),
    ];
    let nanos = prop_oneof![
        3 => Just(0u32),
        1 => (1u32..1000).prop_map(|ms| ms * 1_000_000),
        1 => (1u32..1_000_000).prop_map(|us| us * 1000),
        1 => 1u32..1_000_000_000,
        1 => select(vec![1u32, 999_999_999]),
    ];
    (secs, nanos)
        .prop_map(|(s, n)| DateTime::<Utc>::from_timestamp(s, n).expect("in chrono's range"))
        .boxed()
}

/// A finite float, biased towards values that look like integers (`1.0`,
/// `-0.0`, `1e20`), which must still come back as floats.
pub(crate) fn finite_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    prop_oneof![
        3 => f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
        2 => (-1000i32..1000).prop_map(f64::from),
        1 => select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1e15,
            1e16,
            1e17,
            1e20,
            1e300,
            -1e300,
            9_007_199_254_740_993.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
        ]),
    ]
}

/// A scalar [`Value`].
pub(crate) fn scalar_value() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => any::<i64>().prop_map(Value::Int),
        1 => select(vec![i64::MIN, -1, 0, 1, i64::MAX]).prop_map(Value::Int),
        1 => ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        2 => finite_f64().prop_map(Value::Float),
        3 => any_string().prop_map(Value::String),
    ]
    .boxed()
}

/// Any [`Value`], nested up to a few levels.
pub(crate) fn value() -> BoxedStrategy<Value> {
    scalar_value()
        .prop_recursive(4, 24, 5, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..5).prop_map(Value::Seq),
                btree_map(any_string(), inner, 0..5).prop_map(Value::Map),
            ]
        })
        .boxed()
}

/// A non-null [`Value`] (for `Option<Value>` fields: `null` means unset).
pub(crate) fn non_null_value() -> impl Strategy<Value = Value> {
    value().prop_filter("null is unset", |v| *v != Value::Null)
}

/// An `extra` map for a struct whose typed fields are named `reserved`.
pub(crate) fn extra(
    reserved: &'static [&'static str],
) -> impl Strategy<Value = BTreeMap<String, Value>> {
    btree_map(
        any_string().prop_filter("typed field", move |k| !reserved.contains(&k.as_str())),
        value(),
        0..4,
    )
}

/// Typed fields of `ObjectMeta`, as written on the wire.
pub(crate) const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
];

/// Typed fields of `PodSpec`, as written on the wire.
pub(crate) const POD_SPEC_FIELDS: &[&str] = &[
    "restartPolicy",
    "initContainers",
    "containers",
    "hostname",
    "nodeName",
    "subdomain",
];

/// Typed fields of `Container`, as written on the wire.
pub(crate) const CONTAINER_FIELDS: &[&str] = &["name", "image", "restartPolicy", "env"];

/// A string that is not the wire text of any of `known`.
fn other_text(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    any_string().prop_filter("known value", move |s| !known.contains(&s.as_str()))
}

macro_rules! enum_strategy {
    ($fn_name:ident, $ty:ident, [$($variant:ident),+ $(,)?]) => {
        #[doc = concat!("Any `", stringify!($ty), "`, known or `Other`.")]
        pub(crate) fn $fn_name() -> impl Strategy<Value = $ty> {
            prop_oneof![
                3 => select(vec![$($ty::$variant),+]),
                1 => other_text($ty::KNOWN).prop_map($ty::Other),
            ]
        }
    };
}

enum_strategy!(completion_mode, CompletionMode, [NonIndexed, Indexed]);
enum_strategy!(
    pod_replacement_policy,
    PodReplacementPolicy,
    [TerminatingOrFailed, Failed]
);
enum_strategy!(
    pod_failure_policy_action,
    PodFailurePolicyAction,
    [FailJob, FailIndex, Ignore, Count]
);
enum_strategy!(
    on_exit_codes_operator,
    PodFailurePolicyOnExitCodesOperator,
    [In, NotIn]
);
enum_strategy!(condition_status, ConditionStatus, [True, False, Unknown]);
enum_strategy!(
    job_condition_type,
    JobConditionType,
    [
        Suspended,
        Complete,
        Failed,
        FailureTarget,
        SuccessCriteriaMet
    ]
);
enum_strategy!(restart_policy, RestartPolicy, [Always, OnFailure, Never]);

/// An owner reference.
pub(crate) fn owner_reference() -> BoxedStrategy<OwnerReference> {
    (
        any_string(),
        any_string(),
        any_string(),
        any_string(),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(api_version, kind, name, uid, controller, block_owner_deletion)| OwnerReference {
                api_version,
                kind,
                name,
                uid,
                controller,
                block_owner_deletion,
            },
        )
        .boxed()
}

/// Object metadata, every field.
pub(crate) fn object_meta() -> BoxedStrategy<ObjectMeta> {
    (
        (
            any_string(),
            any_string(),
            any_string(),
            any_string(),
            any_string(),
            any::<i64>(),
        ),
        (
            option::of(time()),
            option::of(time()),
            option::of(any::<i64>()),
        ),
        (
            string_map(),
            string_map(),
            vec(owner_reference(), 0..3),
            string_list(),
            extra(OBJECT_META_FIELDS),
        ),
    )
        .prop_map(
            |(
                (name, generate_name, namespace, uid, resource_version, generation),
                (creation_timestamp, deletion_timestamp, deletion_grace_period_seconds),
                (labels, annotations, owner_references, finalizers, extra),
            )| ObjectMeta {
                name,
                generate_name,
                namespace,
                uid,
                resource_version,
                generation,
                creation_timestamp,
                deletion_timestamp,
                deletion_grace_period_seconds,
                labels,
                annotations,
                owner_references,
                finalizers,
                extra,
            },
        )
        .boxed()
}

/// A label selector requirement.
pub(crate) fn label_selector_requirement() -> BoxedStrategy<LabelSelectorRequirement> {
    (
        any_string(),
        prop_oneof![
            select(vec!["In", "NotIn", "Exists", "DoesNotExist"]).prop_map(str::to_owned),
            any_string(),
        ],
        string_list(),
    )
        .prop_map(|(key, operator, values)| LabelSelectorRequirement {
            extra: Default::default(),
            key,
            operator,
            values,
        })
        .boxed()
}

/// A label selector.
pub(crate) fn label_selector() -> BoxedStrategy<LabelSelector> {
    (string_map(), vec(label_selector_requirement(), 0..3))
        .prop_map(|(match_labels, match_expressions)| LabelSelector {
            extra: Default::default(),
            match_labels,
            match_expressions,
        })
        .boxed()
}

/// An environment variable.
pub(crate) fn env_var() -> BoxedStrategy<EnvVar> {
    (
        any_string(),
        option::of(any_string()),
        option::of(non_null_value()),
    )
        .prop_map(|(name, value, value_from)| EnvVar {
            name,
            value,
            value_from,
        })
        .boxed()
}

/// A container.
pub(crate) fn container() -> BoxedStrategy<Container> {
    (
        any_string(),
        option::of(any_string()),
        option::of(prop_oneof![Just("Always".to_owned()), any_string()]),
        vec(env_var(), 0..3),
        extra(CONTAINER_FIELDS),
    )
        .prop_map(|(name, image, restart_policy, env, extra)| Container {
            name,
            image,
            restart_policy,
            env,
            extra,
        })
        .boxed()
}

/// A pod spec.
pub(crate) fn pod_spec() -> BoxedStrategy<PodSpec> {
    (
        option::of(restart_policy()),
        vec(container(), 0..2),
        vec(container(), 0..3),
        option::of(any_string()),
        option::of(any_string()),
        option::of(any_string()),
        extra(POD_SPEC_FIELDS),
    )
        .prop_map(
            |(
                restart_policy,
                init_containers,
                containers,
                hostname,
                node_name,
                subdomain,
                extra,
            )| {
                PodSpec {
                    restart_policy,
                    init_containers,
                    containers,
                    hostname,
                    node_name,
                    subdomain,
                    extra,
                }
            },
        )
        .boxed()
}

/// A pod template.
pub(crate) fn pod_template_spec() -> BoxedStrategy<PodTemplateSpec> {
    (object_meta(), pod_spec())
        .prop_map(|(metadata, spec)| PodTemplateSpec { metadata, spec })
        .boxed()
}

/// A pod failure policy rule.
pub(crate) fn pod_failure_policy_rule() -> BoxedStrategy<PodFailurePolicyRule> {
    let on_exit_codes = (
        option::of(any_string()),
        on_exit_codes_operator(),
        vec(any::<i32>(), 0..4),
    )
        .prop_map(|(container_name, operator, values)| {
            PodFailurePolicyOnExitCodesRequirement {
                extra: Default::default(),
                container_name,
                operator,
                values,
            }
        });
    let on_pod_conditions =
        (any_string(), option::of(condition_status())).prop_map(|(type_, status)| {
            PodFailurePolicyOnPodConditionsPattern {
                extra: Default::default(),
                type_,
                status,
            }
        });
    (
        pod_failure_policy_action(),
        option::of(on_exit_codes),
        vec(on_pod_conditions, 0..3),
    )
        .prop_map(
            |(action, on_exit_codes, on_pod_conditions)| PodFailurePolicyRule {
                extra: Default::default(),
                action,
                on_exit_codes,
                on_pod_conditions,
            },
        )
        .boxed()
}

/// A pod failure policy.
pub(crate) fn pod_failure_policy() -> BoxedStrategy<PodFailurePolicy> {
    vec(pod_failure_policy_rule(), 0..4)
        .prop_map(|rules| PodFailurePolicy {
            extra: Default::default(),
            rules,
        })
        .boxed()
}

/// A success policy.
pub(crate) fn success_policy() -> BoxedStrategy<SuccessPolicy> {
    let rule = (option::of(any_string()), option::of(any::<i32>())).prop_map(
        |(succeeded_indexes, succeeded_count)| SuccessPolicyRule {
            extra: Default::default(),
            succeeded_indexes,
            succeeded_count,
        },
    );
    vec(rule, 0..4)
        .prop_map(|rules| SuccessPolicy {
            extra: Default::default(),
            rules,
        })
        .boxed()
}

/// A Job spec, every field.
pub(crate) fn job_spec() -> BoxedStrategy<JobSpec> {
    (
        (
            option::of(any::<i32>()),
            option::of(any::<i32>()),
            option::of(any::<i64>()),
            option::of(pod_failure_policy()),
            option::of(success_policy()),
            option::of(any::<i32>()),
            option::of(any::<i32>()),
            option::of(any::<i32>()),
        ),
        (
            option::of(label_selector()),
            option::of(any::<bool>()),
            pod_template_spec(),
            option::of(any::<i32>()),
            option::of(completion_mode()),
            option::of(any::<bool>()),
            option::of(pod_replacement_policy()),
            option::of(any_string()),
        ),
    )
        .prop_map(
            |(
                (
                    parallelism,
                    completions,
                    active_deadline_seconds,
                    pod_failure_policy,
                    success_policy,
                    backoff_limit,
                    backoff_limit_per_index,
                    max_failed_indexes,
                ),
                (
                    selector,
                    manual_selector,
                    template,
                    ttl_seconds_after_finished,
                    completion_mode,
                    suspend,
                    pod_replacement_policy,
                    managed_by,
                ),
            )| JobSpec {
                extra: Default::default(),
                parallelism,
                completions,
                active_deadline_seconds,
                pod_failure_policy,
                success_policy,
                backoff_limit,
                backoff_limit_per_index,
                max_failed_indexes,
                selector,
                manual_selector,
                template,
                ttl_seconds_after_finished,
                completion_mode,
                suspend,
                pod_replacement_policy,
                managed_by,
            },
        )
        .boxed()
}

/// A Job condition.
pub(crate) fn job_condition() -> BoxedStrategy<JobCondition> {
    (
        job_condition_type(),
        condition_status(),
        option::of(time()),
        option::of(time()),
        any_string(),
        any_string(),
    )
        .prop_map(
            |(type_, status, last_probe_time, last_transition_time, reason, message)| {
                JobCondition {
                    extra: Default::default(),
                    type_,
                    status,
                    last_probe_time,
                    last_transition_time,
                    reason,
                    message,
                }
            },
        )
        .boxed()
}

/// A Job status, every field.
pub(crate) fn job_status() -> BoxedStrategy<JobStatus> {
    let uncounted =
        (string_list(), string_list()).prop_map(|(succeeded, failed)| UncountedTerminatedPods {
            extra: Default::default(),
            succeeded,
            failed,
        });
    (
        (
            vec(job_condition(), 0..4),
            option::of(time()),
            option::of(time()),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
        ),
        (
            option::of(any::<i32>()),
            any_string(),
            option::of(any_string()),
            option::of(uncounted),
            option::of(any::<i32>()),
        ),
    )
        .prop_map(
            |(
                (conditions, start_time, completion_time, active, succeeded, failed),
                (terminating, completed_indexes, failed_indexes, uncounted_terminated_pods, ready),
            )| JobStatus {
                extra: Default::default(),
                conditions,
                start_time,
                completion_time,
                active,
                succeeded,
                failed,
                terminating,
                completed_indexes,
                failed_indexes,
                uncounted_terminated_pods,
                ready,
            },
        )
        .boxed()
}

/// A Job, every field.
pub(crate) fn job() -> BoxedStrategy<Job> {
    (
        prop_oneof![Just(String::new()), Just("batch/v1".to_owned())],
        prop_oneof![Just(String::new()), Just("Job".to_owned())],
        object_meta(),
        job_spec(),
        option::of(job_status()),
    )
        .prop_map(|(api_version, kind, metadata, spec, status)| Job {
            extra: Default::default(),
            api_version,
            kind,
            metadata,
            spec,
            status,
        })
        .boxed()
}

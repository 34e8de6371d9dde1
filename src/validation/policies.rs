//! `podFailurePolicy`, `successPolicy` and `podReplacementPolicy` rules
//! (upstream `validatePodFailurePolicy*`, `validateSuccessPolicy*`,
//! `validatePodReplacementPolicy`).

use std::collections::BTreeSet;

use crate::api::{
    ConditionStatus, JobSpec, PodFailurePolicy, PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule, PodReplacementPolicy,
    SuccessPolicy, SuccessPolicyRule,
};
use crate::error::FieldError;

use super::field::{self, Path};
use super::{indexes, names};

const MAX_RULES: usize = 20;
const MAX_EXIT_CODE_VALUES: usize = 255;
const MAX_CONDITION_PATTERNS: usize = 20;
const MAX_SUCCESS_RULES: usize = 20;
const MAX_SUCCEEDED_INDEXES_LEN: usize = 64 * 1024;

/// Supported values, sorted as upstream's `sets.List` sorts them.
const ACTIONS: &[&str] = &["Count", "FailIndex", "FailJob", "Ignore"];
const OPERATORS: &[&str] = &["In", "NotIn"];
const STATUSES: &[&str] = &["False", "True", "Unknown"];
const REPLACEMENT_POLICIES: &[&str] = &["Failed", "TerminatingOrFailed"];

/// `validatePodFailurePolicy`.
pub(crate) fn validate_pod_failure_policy(
    spec: &JobSpec,
    policy: &PodFailurePolicy,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let rules = path.child("rules");
    if policy.rules.len() > MAX_RULES {
        errs.push(field::too_many(&rules, policy.rules.len(), MAX_RULES));
    }
    let pod = &spec.template.spec;
    let containers: BTreeSet<&str> = pod
        .containers
        .iter()
        .chain(&pod.init_containers)
        .map(|c| c.name.as_str())
        .collect();
    for (i, rule) in policy.rules.iter().enumerate() {
        validate_rule(spec, rule, &rules.index(i), &containers, errs);
    }
}

fn validate_rule(
    spec: &JobSpec,
    rule: &PodFailurePolicyRule,
    path: &Path,
    containers: &BTreeSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    validate_action(spec, &rule.action, &path.child("action"), errs);
    if let Some(on_exit) = &rule.on_exit_codes {
        validate_on_exit_codes(on_exit, &path.child("onExitCodes"), containers, errs);
    }
    if !rule.on_pod_conditions.is_empty() {
        validate_on_pod_conditions(
            &rule.on_pod_conditions,
            &path.child("onPodConditions"),
            errs,
        );
    }
    match (
        rule.on_exit_codes.is_some(),
        rule.on_pod_conditions.is_empty(),
    ) {
        (true, false) => errs.push(field::invalid(
            path,
            "",
            "specifying both OnExitCodes and OnPodConditions is not supported",
        )),
        (false, true) => errs.push(field::invalid(
            path,
            "",
            "specifying one of OnExitCodes and OnPodConditions is required",
        )),
        _ => {}
    }
}

fn validate_action(
    spec: &JobSpec,
    action: &PodFailurePolicyAction,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    match action {
        PodFailurePolicyAction::Other(s) if s.is_empty() => errs.push(field::required(
            path,
            format!("valid values: {}", field::go_quote_list(ACTIONS)),
        )),
        // FailIndex only makes sense when indexes can fail on their own.
        PodFailurePolicyAction::FailIndex if spec.backoff_limit_per_index.is_none() => {
            errs.push(field::invalid(
                path,
                action.as_str(),
                "requires the backoffLimitPerIndex to be set",
            ));
        }
        PodFailurePolicyAction::Other(s) => errs.push(field::not_supported(path, s, ACTIONS)),
        _ => {}
    }
}

fn validate_on_exit_codes(
    req: &PodFailurePolicyOnExitCodesRequirement,
    path: &Path,
    containers: &BTreeSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    let op = path.child("operator");
    match &req.operator {
        PodFailurePolicyOnExitCodesOperator::Other(s) if s.is_empty() => {
            errs.push(field::required(
                &op,
                format!("valid values: {}", field::go_quote_list(OPERATORS)),
            ));
        }
        PodFailurePolicyOnExitCodesOperator::Other(s) => {
            errs.push(field::not_supported(&op, s, OPERATORS));
        }
        _ => {}
    }
    if let Some(name) = req
        .container_name
        .as_ref()
        .filter(|n| !containers.contains(n.as_str()))
    {
        errs.push(field::invalid(
            &path.child("containerName"),
            name,
            "must be one of the container or initContainer names in the pod template",
        ));
    }
    validate_exit_code_values(req, &path.child("values"), errs);
}

/// Values: 1 to 255 of them, unique, ascending, and no 0 with `In` (a
/// container that exited 0 did not fail).
fn validate_exit_code_values(
    req: &PodFailurePolicyOnExitCodesRequirement,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let values = &req.values;
    if values.is_empty() {
        errs.push(field::invalid(path, "[]", "at least one value is required"));
    } else if values.len() > MAX_EXIT_CODE_VALUES {
        errs.push(field::too_many(path, values.len(), MAX_EXIT_CODE_VALUES));
    }
    let is_in = req.operator == PodFailurePolicyOnExitCodesOperator::In;
    let mut seen = BTreeSet::new();
    for (j, &v) in values.iter().enumerate() {
        let vp = path.index(j);
        if is_in && v == 0 {
            errs.push(field::invalid(
                &vp,
                "0",
                "must not be 0 for the In operator",
            ));
        }
        if !seen.insert(v) {
            errs.push(field::duplicate(&vp, v.to_string()));
        }
    }
    if values.windows(2).any(|w| w[0] > w[1]) {
        errs.push(field::invalid(
            path,
            field::render_ints(values),
            "must be ordered",
        ));
    }
}

fn validate_on_pod_conditions(
    patterns: &[PodFailurePolicyOnPodConditionsPattern],
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    if patterns.len() > MAX_CONDITION_PATTERNS {
        errs.push(field::too_many(
            path,
            patterns.len(),
            MAX_CONDITION_PATTERNS,
        ));
    }
    for (j, pattern) in patterns.iter().enumerate() {
        let pp = path.index(j);
        let type_path = pp.child("type");
        for msg in names::qualified_name(&pattern.type_) {
            errs.push(field::invalid(&type_path, &pattern.type_, msg));
        }
        validate_condition_status(pattern.status.as_ref(), &pp.child("status"), errs);
    }
}

/// An unset status is the empty string upstream (defaulting sets `True`,
/// but validation run without defaulting sees it empty).
fn validate_condition_status(
    status: Option<&ConditionStatus>,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    match status.map(ConditionStatus::as_str).unwrap_or_default() {
        "" => errs.push(field::required(
            path,
            format!("valid values: {}", field::go_quote_list(STATUSES)),
        )),
        s if !STATUSES.contains(&s) => errs.push(field::not_supported(path, s, STATUSES)),
        _ => {}
    }
}

/// `validatePodReplacementPolicy`: with a pod failure policy only `Failed`
/// is allowed, since the policy needs the final pod status.
pub(crate) fn validate_pod_replacement_policy(
    spec: &JobSpec,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let Some(policy) = &spec.pod_replacement_policy else {
        return;
    };
    if spec.pod_failure_policy.is_some() {
        if *policy != PodReplacementPolicy::Failed {
            errs.push(field::not_supported(path, policy.as_str(), &["Failed"]));
        }
    } else if !policy.is_known() {
        errs.push(field::not_supported(
            path,
            policy.as_str(),
            REPLACEMENT_POLICIES,
        ));
    }
}

/// `validateSuccessPolicy` (called for Indexed Jobs only).
pub(crate) fn validate_success_policy(
    spec: &JobSpec,
    policy: &SuccessPolicy,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let rules = path.child("rules");
    if policy.rules.is_empty() {
        errs.push(field::required(
            &rules,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if policy.rules.len() > MAX_SUCCESS_RULES {
        errs.push(field::too_many(
            &rules,
            policy.rules.len(),
            MAX_SUCCESS_RULES,
        ));
    }
    for (i, rule) in policy.rules.iter().enumerate() {
        validate_success_rule(spec.completions, rule, &rules.index(i), errs);
    }
}

/// Upstream dereferences `completions` here; an Indexed Job without
/// completions already has a Required error, so instead of failing we check
/// the indexes against no upper bound and skip the comparison with
/// completions.
fn validate_success_rule(
    completions: Option<i32>,
    rule: &SuccessPolicyRule,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
        errs.push(field::required(
            path,
            "at least one of succeededCount or succeededIndexes must be specified",
        ));
    }
    let limit = completions.map_or(i64::MAX, i64::from);
    let mut total: i64 = 0;
    if let Some(text) = &rule.succeeded_indexes {
        let ip = path.child("succeededIndexes");
        if text.len() > MAX_SUCCEEDED_INDEXES_LEN {
            errs.push(field::too_long(
                &ip,
                text.as_str(),
                MAX_SUCCEEDED_INDEXES_LEN,
            ));
        }
        match indexes::validate_format(text, limit) {
            Ok(n) => total = n,
            Err(e) => errs.push(field::invalid(
                &ip,
                text.as_str(),
                format!("error parsing succeededIndexes: {e}"),
            )),
        }
    }
    let Some(count) = rule.succeeded_count else {
        return;
    };
    let cp = path.child("succeededCount");
    field::non_negative(i64::from(count), &cp, errs);
    if let Some(c) = completions.filter(|&c| count > c) {
        errs.push(field::invalid(
            &cp,
            count.to_string(),
            format!("must be less than or equal to {c} (the number of specified completions)"),
        ));
    }
    if rule.succeeded_indexes.is_some() && i64::from(count) > total {
        errs.push(field::invalid(
            &cp,
            count.to_string(),
            format!(
                "must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::api::{CompletionMode, Container};

    fn spec() -> JobSpec {
        let mut s = JobSpec::default();
        s.template.spec.containers.push(Container {
            name: "ctr".to_owned(),
            ..Container::default()
        });
        s.template.spec.init_containers.push(Container {
            name: "def".to_owned(),
            ..Container::default()
        });
        s
    }

    fn exit_rule(action: &str, op: &str, values: Vec<i32>) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            extra: Default::default(),
            action: action.into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                extra: Default::default(),
                container_name: None,
                operator: op.into(),
                values,
            }),
            on_pod_conditions: vec![],
        }
    }

    fn cond_rule(type_: &str, status: Option<&str>) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            extra: Default::default(),
            action: "Ignore".into(),
            on_exit_codes: None,
            on_pod_conditions: vec![PodFailurePolicyOnPodConditionsPattern {
                extra: Default::default(),
                type_: type_.to_owned(),
                status: status.map(Into::into),
            }],
        }
    }

    fn pfp(spec: &JobSpec, rules: Vec<PodFailurePolicyRule>) -> Vec<(String, ErrorKind, String)> {
        let mut errs = Vec::new();
        let policy = PodFailurePolicy {
            extra: Default::default(),
            rules,
        };
        validate_pod_failure_policy(
            spec,
            &policy,
            &Path::new("spec").child("podFailurePolicy"),
            &mut errs,
        );
        errs.into_iter()
            .map(|e| (e.field, e.kind, e.detail))
            .collect()
    }

    fn has(errs: &[(String, ErrorKind, String)], field: &str, kind: ErrorKind) -> bool {
        errs.iter().any(|(f, k, _)| f == field && *k == kind)
    }

    #[test]
    fn valid_pod_failure_policy_passes() {
        let rules = vec![
            exit_rule("FailJob", "NotIn", vec![-1073741819, 5, 6]),
            exit_rule("Count", "In", vec![1, 2, 3]),
            cond_rule("DisruptionTarget", Some("True")),
        ];
        assert!(pfp(&spec(), rules).is_empty());
    }

    #[test]
    fn at_most_20_rules() {
        let rules = (1..=21)
            .map(|i| exit_rule("FailJob", "In", vec![i]))
            .collect();
        assert!(has(
            &pfp(&spec(), rules),
            "spec.podFailurePolicy.rules",
            ErrorKind::TooMany
        ));
    }

    #[test]
    fn rule_needs_exactly_one_requirement() {
        let mut neither = exit_rule("FailJob", "In", vec![1]);
        neither.on_exit_codes = None;
        let errs = pfp(&spec(), vec![neither]);
        assert!(
            errs[0]
                .2
                .contains("specifying one of OnExitCodes and OnPodConditions is required")
        );
        let mut both = exit_rule("FailJob", "In", vec![1]);
        both.on_pod_conditions = cond_rule("X", Some("True")).on_pod_conditions;
        let errs = pfp(&spec(), vec![both]);
        assert!(
            errs[0]
                .2
                .contains("specifying both OnExitCodes and OnPodConditions is not supported")
        );
    }

    #[test]
    fn action_required_and_supported() {
        let errs = pfp(&spec(), vec![exit_rule("", "In", vec![1])]);
        assert_eq!(errs[0].1, ErrorKind::Required);
        assert_eq!(
            errs[0].2,
            r#"valid values: ["Count" "FailIndex" "FailJob" "Ignore"]"#
        );
        let errs = pfp(&spec(), vec![exit_rule("UnknownAction", "In", vec![1])]);
        assert_eq!(errs[0].1, ErrorKind::NotSupported);
        assert_eq!(
            errs[0].2,
            r#"supported values: "Count", "FailIndex", "FailJob", "Ignore""#
        );
    }

    #[test]
    fn fail_index_requires_backoff_limit_per_index() {
        let errs = pfp(&spec(), vec![exit_rule("FailIndex", "In", vec![1])]);
        assert_eq!(errs[0].2, "requires the backoffLimitPerIndex to be set");
        let mut s = spec();
        s.backoff_limit_per_index = Some(1);
        assert!(pfp(&s, vec![exit_rule("FailIndex", "In", vec![1])]).is_empty());
    }

    #[test]
    fn operator_required_and_supported() {
        let errs = pfp(&spec(), vec![exit_rule("Count", "", vec![1])]);
        assert!(has(
            &errs,
            "spec.podFailurePolicy.rules[0].onExitCodes.operator",
            ErrorKind::Required
        ));
        let errs = pfp(&spec(), vec![exit_rule("Count", "Between", vec![1])]);
        assert!(has(
            &errs,
            "spec.podFailurePolicy.rules[0].onExitCodes.operator",
            ErrorKind::NotSupported
        ));
    }

    #[test]
    fn container_name_must_exist_in_template() {
        let mut rule = exit_rule("Count", "In", vec![1]);
        rule.on_exit_codes.as_mut().unwrap().container_name = Some("def".to_owned());
        assert!(pfp(&spec(), vec![rule.clone()]).is_empty());
        rule.on_exit_codes.as_mut().unwrap().container_name = Some("xyz".to_owned());
        let errs = pfp(&spec(), vec![rule]);
        assert!(has(
            &errs,
            "spec.podFailurePolicy.rules[0].onExitCodes.containerName",
            ErrorKind::Invalid
        ));
    }

    #[test]
    fn exit_code_values_nonempty_at_most_255() {
        let errs = pfp(&spec(), vec![exit_rule("Count", "In", vec![])]);
        assert_eq!(errs[0].2, "at least one value is required");
        let errs = pfp(
            &spec(),
            vec![exit_rule("Count", "NotIn", (0..256).collect())],
        );
        assert!(has(
            &errs,
            "spec.podFailurePolicy.rules[0].onExitCodes.values",
            ErrorKind::TooMany
        ));
    }

    #[test]
    fn exit_code_values_unique_and_ordered() {
        let errs = pfp(&spec(), vec![exit_rule("Count", "In", vec![11, 11])]);
        assert!(has(
            &errs,
            "spec.podFailurePolicy.rules[0].onExitCodes.values[1]",
            ErrorKind::Duplicate
        ));
        let errs = pfp(&spec(), vec![exit_rule("Count", "In", vec![19, 11])]);
        assert_eq!(errs[0].2, "must be ordered");
    }

    #[test]
    fn exit_code_zero_not_allowed_with_in() {
        let errs = pfp(&spec(), vec![exit_rule("Count", "In", vec![0, 1])]);
        assert_eq!(
            errs[0].0,
            "spec.podFailurePolicy.rules[0].onExitCodes.values[0]"
        );
        assert!(pfp(&spec(), vec![exit_rule("Count", "NotIn", vec![0, 1])]).is_empty());
    }

    #[test]
    fn condition_patterns_at_most_20() {
        let mut rule = cond_rule("A", Some("True"));
        rule.on_pod_conditions = (0..21)
            .map(|i| PodFailurePolicyOnPodConditionsPattern {
                extra: Default::default(),
                type_: format!("T{i}"),
                status: Some("True".into()),
            })
            .collect();
        let errs = pfp(&spec(), vec![rule]);
        assert!(has(
            &errs,
            "spec.podFailurePolicy.rules[0].onPodConditions",
            ErrorKind::TooMany
        ));
    }

    #[test]
    fn condition_type_is_qualified_name() {
        let errs = pfp(&spec(), vec![cond_rule("", Some("True"))]);
        assert!(errs.iter().any(|e| e.2 == "name part must be non-empty"));
    }

    #[test]
    fn condition_status_required_and_supported() {
        let errs = pfp(&spec(), vec![cond_rule("X", None)]);
        assert_eq!(errs[0].1, ErrorKind::Required);
        assert_eq!(errs[0].2, r#"valid values: ["False" "True" "Unknown"]"#);
        let errs = pfp(&spec(), vec![cond_rule("X", Some("Maybe"))]);
        assert_eq!(errs[0].2, r#"supported values: "False", "True", "Unknown""#);
    }

    #[test]
    fn replacement_policy_failed_only_with_pod_failure_policy() {
        let path = Path::new("spec").child("podReplacementPolicy");
        let mut s = spec();
        s.pod_replacement_policy = Some(PodReplacementPolicy::TerminatingOrFailed);
        let mut errs = Vec::new();
        validate_pod_replacement_policy(&s, &path, &mut errs);
        assert!(errs.is_empty());
        s.pod_failure_policy = Some(PodFailurePolicy::default());
        validate_pod_replacement_policy(&s, &path, &mut errs);
        assert_eq!(errs[0].detail, r#"supported values: "Failed""#);
    }

    #[test]
    fn replacement_policy_must_be_known() {
        let mut s = spec();
        s.pod_replacement_policy = Some("".into());
        let mut errs = Vec::new();
        validate_pod_replacement_policy(&s, &Path::new("p"), &mut errs);
        assert_eq!(errs[0].kind, ErrorKind::NotSupported);
        assert_eq!(
            errs[0].detail,
            r#"supported values: "Failed", "TerminatingOrFailed""#
        );
    }

    fn success(completions: Option<i32>, rules: Vec<SuccessPolicyRule>) -> Vec<FieldError> {
        let mut s = spec();
        s.completion_mode = Some(CompletionMode::Indexed);
        s.completions = completions;
        let mut errs = Vec::new();
        validate_success_policy(
            &s,
            &SuccessPolicy {
                extra: Default::default(),
                rules,
            },
            &Path::new("spec").child("successPolicy"),
            &mut errs,
        );
        errs
    }

    fn srule(indexes: Option<&str>, count: Option<i32>) -> SuccessPolicyRule {
        SuccessPolicyRule {
            extra: Default::default(),
            succeeded_indexes: indexes.map(str::to_owned),
            succeeded_count: count,
        }
    }

    #[test]
    fn success_policy_needs_1_to_20_rules() {
        assert_eq!(success(Some(5), vec![])[0].kind, ErrorKind::Required);
        let errs = success(Some(5), (0..21).map(|_| srule(None, Some(1))).collect());
        assert_eq!(errs[0].kind, ErrorKind::TooMany);
    }

    #[test]
    fn success_rule_needs_count_or_indexes() {
        let errs = success(Some(5), vec![srule(None, None)]);
        assert_eq!(errs[0].field, "spec.successPolicy.rules[0]");
        assert_eq!(errs[0].kind, ErrorKind::Required);
    }

    #[test]
    fn succeeded_indexes_format_and_length() {
        let errs = success(Some(5), vec![srule(Some("invalid-format"), None)]);
        assert_eq!(
            errs[0].detail,
            "error parsing succeededIndexes: cannot convert string to integer for index: \"invalid\""
        );
        let long = "1".repeat(65537);
        let errs = success(Some(5), vec![srule(Some(&long), None)]);
        assert_eq!(errs[0].kind, ErrorKind::TooLong);
        assert_eq!(errs[0].detail, "may not be more than 65536 bytes");
    }

    #[test]
    fn succeeded_count_bounds() {
        let errs = success(Some(5), vec![srule(None, Some(-1))]);
        assert_eq!(errs[0].detail, "must be greater than or equal to 0");
        let errs = success(Some(5), vec![srule(None, Some(6))]);
        assert!(
            errs[0]
                .detail
                .contains("(the number of specified completions)")
        );
        let errs = success(Some(5), vec![srule(Some("0-2"), Some(4))]);
        assert_eq!(
            errs[0].detail,
            "must be less than or equal to 3 (the number of indexes in the specified succeededIndexes field)"
        );
    }

    #[test]
    fn success_policy_without_completions_does_not_panic() {
        assert!(success(None, vec![srule(Some("0-9999"), Some(3))]).is_empty());
    }
}

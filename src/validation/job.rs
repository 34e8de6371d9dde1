//! `ValidateJob`: metadata, the generated selector and the Job spec
//! (upstream `ValidateJob`, `validateGeneratedSelector`, `ValidateJobSpec`,
//! `validateJobSpec`).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{CompletionMode, Container, Job, JobSpec, PodTemplateSpec, RestartPolicy, keys};
use crate::error::FieldError;

use super::field::{self, Path};
use super::{meta, names, policies};

/// Indexed Jobs may run at most this many pods at once (it bounds the length
/// of `status.completedIndexes`).
const MAX_PARALLELISM_INDEXED: i32 = 100_000;
/// Upper bound on `maxFailedIndexes` (it bounds `status.failedIndexes`).
const MAX_FAILED_INDEXES: i32 = 100_000;
/// Above this many completions, `backoffLimitPerIndex` needs tighter limits.
const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
const PARALLELISM_LIMIT_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_FAILED_INDEXES_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_MANAGED_BY_LEN: usize = 63;

/// The options the API server passes to Job validation
/// (`JobValidationOptions`, minus the pod-level ones, which are out of
/// scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JobOptions {
    /// Require the `batch.kubernetes.io/` generated labels besides the legacy ones.
    pub require_prefixed_labels: bool,
    /// Accept selector expression values that are not valid label values.
    pub allow_invalid_label_value_in_selector: bool,
    /// Allow changing node affinity, node selector, tolerations, scheduling
    /// gates and template labels/annotations (suspended, never-started Jobs).
    pub allow_mutable_scheduling_directives: bool,
    /// Allow changing completions of Indexed Jobs (together with parallelism).
    pub allow_elastic_indexed_jobs: bool,
}

impl JobOptions {
    /// What `validationOptionsForJob(job, nil)` gives on create.
    pub(crate) fn create() -> JobOptions {
        JobOptions {
            require_prefixed_labels: true,
            allow_invalid_label_value_in_selector: false,
            allow_mutable_scheduling_directives: false,
            // ElasticIndexedJob is GA.
            allow_elastic_indexed_jobs: true,
        }
    }
}

/// `ValidateJob`.
pub(crate) fn validate_job(job: &Job, opts: &JobOptions, errs: &mut Vec<FieldError>) {
    meta::validate_object_meta(&job.metadata, &Path::new("metadata"), errs);
    validate_generated_selector(job, opts.require_prefixed_labels, errs);
    validate_job_spec(&job.spec, &Path::new("spec"), opts, errs);
    validate_indexed_hostname(job, errs);
}

/// Indexed pods are named `<job>-<index>` as hostname, so the largest one
/// must be a DNS label, or pod creation would fail later.
fn validate_indexed_hostname(job: &Job, errs: &mut Vec<FieldError>) {
    let Some(completions) = job.spec.completions.filter(|&c| c > 0) else {
        return;
    };
    if !job.is_indexed() {
        return;
    }
    let hostname = format!("{}-{}", job.metadata.name, i64::from(completions) - 1);
    if !names::dns1123_label(&hostname).is_empty() {
        errs.push(field::invalid(
            &Path::new("metadata").child("name"),
            &job.metadata.name,
            format!("will not able to create pod with invalid DNS label: {hostname}"),
        ));
    }
}

/// `validateGeneratedSelector`: unless the selector is manual, the template
/// must carry the generated labels with the Job's uid and name, and the
/// selector must select them (so it cannot overlap another Job's pods).
fn validate_generated_selector(job: &Job, batch_labels: bool, errs: &mut Vec<FieldError>) {
    if job.spec.manual_selector == Some(true) {
        return;
    }
    // A missing selector is reported by the spec checks.
    let Some(selector) = &job.spec.selector else {
        return;
    };
    let (uid, name) = (job.metadata.uid.as_str(), job.metadata.name.as_str());
    if uid.is_empty() {
        errs.push(field::required(&Path::new("metadata").child("uid"), ""));
    }
    let labels = &job.spec.template.metadata.labels;
    let mut expected = BTreeMap::new();
    let mut want = vec![
        (keys::LEGACY_CONTROLLER_UID_LABEL, uid),
        (keys::LEGACY_JOB_NAME_LABEL, name),
    ];
    if batch_labels {
        want.push((keys::CONTROLLER_UID_LABEL, uid));
        want.push((keys::JOB_NAME_LABEL, name));
    }
    for (key, value) in want {
        validate_has_label(labels, key, value, errs);
        expected.insert(key.to_owned(), value.to_owned());
    }
    if meta::selector_converts(selector) && !selector.matches(&expected) {
        errs.push(field::invalid(
            &Path::new("spec").child("selector"),
            render_selector(selector),
            "`selector` not auto-generated",
        ));
    }
}

/// `ValidateHasLabel` on the pod template's labels.
fn validate_has_label(
    labels: &BTreeMap<String, String>,
    key: &str,
    expected: &str,
    errs: &mut Vec<FieldError>,
) {
    let path = Path::new("spec")
        .child("template")
        .child("metadata")
        .child("labels")
        .key(key);
    match labels.get(key) {
        None => errs.push(field::required(&path, format!("must be '{expected}'"))),
        Some(v) if v != expected => errs.push(field::invalid(
            &path,
            field::render_map(labels),
            format!("must be '{expected}'"),
        )),
        Some(_) => {}
    }
}

/// A selector rendered for error values.
pub(crate) fn render_selector(selector: &crate::api::LabelSelector) -> String {
    let mut out = format!(
        "{{\"matchLabels\":{}",
        field::render_map(&selector.match_labels)
    );
    if !selector.match_expressions.is_empty() {
        let exprs: Vec<String> = selector
            .match_expressions
            .iter()
            .map(|r| format!("{} {} {:?}", r.key, r.operator, r.values))
            .collect();
        out.push_str(&format!(",\"matchExpressions\":{exprs:?}"));
    }
    out.push('}');
    out
}

/// `ValidateJobSpec`: the spec rules, a valid selector, and a selector that
/// selects the template's labels.
pub(crate) fn validate_job_spec(
    spec: &JobSpec,
    path: &Path,
    opts: &JobOptions,
    errs: &mut Vec<FieldError>,
) {
    validate_spec_fields(spec, path, errs);
    let sel_path = path.child("selector");
    match &spec.selector {
        None => errs.push(field::required(&sel_path, "")),
        Some(s) => meta::validate_label_selector(
            s,
            opts.allow_invalid_label_value_in_selector,
            &sel_path,
            errs,
        ),
    }
    // Upstream converts first; a malformed selector is not matched (a nil
    // one converts to "nothing", which matches no labels).
    let converts = spec.selector.as_ref().is_none_or(meta::selector_converts);
    let labels = &spec.template.metadata.labels;
    if converts && !meta::selector_matches(spec.selector.as_ref(), labels) {
        errs.push(field::invalid(
            &path.child("template").child("metadata").child("labels"),
            field::render_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
}

/// `validateJobSpec`, in upstream's order.
fn validate_spec_fields(spec: &JobSpec, path: &Path, errs: &mut Vec<FieldError>) {
    validate_counts(spec, path, errs);
    if let Some(managed_by) = &spec.managed_by {
        let p = path.child("managedBy");
        errs.extend(names::domain_prefixed_path(&p, managed_by));
        if managed_by.len() > MAX_MANAGED_BY_LEN {
            errs.push(field::too_long(&p, managed_by.as_str(), MAX_MANAGED_BY_LEN));
        }
    }
    validate_completion_mode(spec, path, errs);
    if let Some(policy) = &spec.pod_failure_policy {
        policies::validate_pod_failure_policy(spec, policy, &path.child("podFailurePolicy"), errs);
    }
    if let Some(policy) = &spec.success_policy {
        let p = path.child("successPolicy");
        if spec.completion_mode == Some(CompletionMode::Indexed) {
            policies::validate_success_policy(spec, policy, &p, errs);
        } else {
            errs.push(field::invalid(&p, "", "requires indexed completion mode"));
        }
    }
    policies::validate_pod_replacement_policy(spec, &path.child("podReplacementPolicy"), errs);
    validate_pod_template(&spec.template, &path.child("template"), errs);
    validate_restart_policy(
        spec,
        &path.child("template").child("spec").child("restartPolicy"),
        errs,
    );
}

/// Every count and duration is non-negative; `maxFailedIndexes` needs
/// `backoffLimitPerIndex`.
fn validate_counts(spec: &JobSpec, path: &Path, errs: &mut Vec<FieldError>) {
    let fields: [(&str, Option<i64>); 6] = [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        (
            "ttlSecondsAfterFinished",
            spec.ttl_seconds_after_finished.map(i64::from),
        ),
        (
            "backoffLimitPerIndex",
            spec.backoff_limit_per_index.map(i64::from),
        ),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            field::non_negative(v, &path.child(name), errs);
        }
    }
    if let Some(mfi) = spec.max_failed_indexes {
        field::non_negative(i64::from(mfi), &path.child("maxFailedIndexes"), errs);
        if spec.backoff_limit_per_index.is_none() {
            errs.push(field::required(
                &path.child("backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
    }
}

/// Completion mode: known value; Indexed limits; per-index fields only for
/// Indexed Jobs.
fn validate_completion_mode(spec: &JobSpec, path: &Path, errs: &mut Vec<FieldError>) {
    match &spec.completion_mode {
        Some(CompletionMode::Indexed) => validate_indexed_limits(spec, path, errs),
        Some(CompletionMode::NonIndexed) | None => {
            if let Some(v) = spec.backoff_limit_per_index {
                errs.push(field::invalid(
                    &path.child("backoffLimitPerIndex"),
                    v.to_string(),
                    "requires indexed completion mode",
                ));
            }
            if let Some(v) = spec.max_failed_indexes {
                errs.push(field::invalid(
                    &path.child("maxFailedIndexes"),
                    v.to_string(),
                    "requires indexed completion mode",
                ));
            }
        }
        Some(other) => errs.push(field::not_supported(
            &path.child("completionMode"),
            other.as_str(),
            &["NonIndexed", "Indexed"],
        )),
    }
}

fn validate_indexed_limits(spec: &JobSpec, path: &Path, errs: &mut Vec<FieldError>) {
    let (completions, parallelism, mfi) =
        (spec.completions, spec.parallelism, spec.max_failed_indexes);
    let par_path = path.child("parallelism");
    let mfi_path = path.child("maxFailedIndexes");
    if completions.is_none() {
        errs.push(field::required(
            &path.child("completions"),
            "when completion mode is Indexed",
        ));
    }
    if let Some(p) = parallelism.filter(|&p| p > MAX_PARALLELISM_INDEXED) {
        errs.push(field::invalid(
            &par_path,
            p.to_string(),
            format!("must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed"),
        ));
    }
    if let Some(m) = mfi.filter(|&m| completions.is_some_and(|c| m > c)) {
        errs.push(field::invalid(
            &mfi_path,
            m.to_string(),
            "must be less than or equal to completions",
        ));
    }
    if let Some(m) = mfi.filter(|&m| m > MAX_FAILED_INDEXES) {
        errs.push(field::invalid(
            &mfi_path,
            m.to_string(),
            format!("must be less than or equal to {MAX_FAILED_INDEXES}"),
        ));
    }
    let high = completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT);
    if high && spec.backoff_limit_per_index.is_some() {
        validate_high_completions(parallelism, mfi, &par_path, &mfi_path, errs);
    }
}

/// With more than 100000 completions and per-index backoff, the number of
/// failed indexes and of running pods is capped lower, to bound the status.
fn validate_high_completions(
    parallelism: Option<i32>,
    mfi: Option<i32>,
    par_path: &Path,
    mfi_path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let suffix = format!(
        "when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
    );
    if mfi.is_none() {
        errs.push(field::required(
            mfi_path,
            format!("must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"),
        ));
    }
    if let Some(p) = parallelism.filter(|&p| p > PARALLELISM_LIMIT_HIGH_COMPLETIONS) {
        errs.push(field::invalid(
            par_path,
            p.to_string(),
            format!("must be less than or equal to {PARALLELISM_LIMIT_HIGH_COMPLETIONS} {suffix}"),
        ));
    }
    if let Some(m) = mfi.filter(|&m| m > MAX_FAILED_INDEXES_HIGH_COMPLETIONS) {
        errs.push(field::invalid(
            mfi_path,
            m.to_string(),
            format!("must be less than or equal to {MAX_FAILED_INDEXES_HIGH_COMPLETIONS} {suffix}"),
        ));
    }
}

/// The parts of core `ValidatePodTemplateSpec` the Job rules rely on:
/// template labels and annotations (upstream reports them at
/// `spec.template.labels` / `.annotations`, without `metadata`), container
/// names, and no ephemeral containers. Other PodSpec checks are out of scope.
fn validate_pod_template(template: &PodTemplateSpec, path: &Path, errs: &mut Vec<FieldError>) {
    meta::validate_labels(&template.metadata.labels, &path.child("labels"), errs);
    meta::validate_annotations(
        &template.metadata.annotations,
        &path.child("annotations"),
        errs,
    );
    let spec_path = path.child("spec");
    let pod = &template.spec;
    let names = validate_containers(&pod.containers, &spec_path.child("containers"), errs);
    validate_init_containers(
        &pod.init_containers,
        &names,
        &spec_path.child("initContainers"),
        errs,
    );
    let has_ephemeral = pod
        .extra
        .get("ephemeralContainers")
        .is_some_and(|v| matches!(v, crate::api::Value::Seq(items) if !items.is_empty()));
    if has_ephemeral {
        errs.push(field::forbidden(
            &spec_path.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
}

/// A container name is required and must be a DNS label.
fn validate_container_name(name: &str, path: &Path, errs: &mut Vec<FieldError>) {
    if name.is_empty() {
        errs.push(field::required(path, ""));
        return;
    }
    for msg in names::dns1123_label(name) {
        errs.push(field::invalid(path, name, msg));
    }
}

/// At least one container; names unique. Returns the names seen.
fn validate_containers<'a>(
    containers: &'a [Container],
    path: &Path,
    errs: &mut Vec<FieldError>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    if containers.is_empty() {
        errs.push(field::required(path, ""));
        return seen;
    }
    for (i, c) in containers.iter().enumerate() {
        let np = path.index(i).child("name");
        validate_container_name(&c.name, &np, errs);
        if !seen.insert(c.name.as_str()) {
            errs.push(field::duplicate(&np, c.name.as_str()));
        }
    }
    seen
}

/// Init container names are unique among themselves and the containers.
fn validate_init_containers(
    inits: &[Container],
    others: &BTreeSet<&str>,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let mut seen = BTreeSet::new();
    for (i, c) in inits.iter().enumerate() {
        let np = path.index(i).child("name");
        validate_container_name(&c.name, &np, errs);
        if seen.contains(c.name.as_str()) || others.contains(c.name.as_str()) {
            errs.push(field::duplicate(&np, c.name.as_str()));
        } else if !c.name.is_empty() {
            seen.insert(c.name.as_str());
        }
    }
}

/// A Job's pods must be allowed to finish: `Never` or `OnFailure`, and only
/// `Never` with a pod failure policy (which needs the failed pod's status).
/// An unset policy is reported like `Always`, which it defaults to.
fn validate_restart_policy(spec: &JobSpec, path: &Path, errs: &mut Vec<FieldError>) {
    let policy = spec.template.spec.restart_policy.as_ref();
    let text = policy.map(RestartPolicy::as_str).unwrap_or_default();
    match text {
        "" | "Always" => errs.push(field::required(
            path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" | "Never" => {
            if spec.pod_failure_policy.is_some() && text != "Never" {
                errs.push(field::invalid(
                    path,
                    text,
                    "only \"Never\" is supported when podFailurePolicy is specified",
                ));
            }
        }
        other => errs.push(field::not_supported(path, other, &["OnFailure", "Never"])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::api::{LabelSelector, PodFailurePolicy, PodReplacementPolicy};

    /// A valid Job as the API server stores it after create.
    fn job() -> Job {
        let mut j = Job::default();
        j.metadata.name = "myjob".to_owned();
        j.metadata.namespace = "default".to_owned();
        j.metadata.uid = "1a2b3c".to_owned();
        let labels: BTreeMap<String, String> = [
            (keys::CONTROLLER_UID_LABEL, "1a2b3c"),
            (keys::LEGACY_CONTROLLER_UID_LABEL, "1a2b3c"),
            (keys::JOB_NAME_LABEL, "myjob"),
            (keys::LEGACY_JOB_NAME_LABEL, "myjob"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        j.spec.selector = Some(LabelSelector {
            extra: Default::default(),
            match_labels: labels.clone(),
            match_expressions: vec![],
        });
        j.spec.template.metadata.labels = labels;
        j.spec.template.spec.restart_policy = Some(RestartPolicy::OnFailure);
        j.spec.template.spec.containers.push(Container {
            name: "ctr".to_owned(),
            ..Container::default()
        });
        j
    }

    fn errors(j: &Job) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_job(j, &JobOptions::create(), &mut errs);
        errs
    }

    fn has(j: &Job, field: &str, kind: ErrorKind, detail: &str) -> bool {
        errors(j)
            .iter()
            .any(|e| e.field == field && e.kind == kind && e.detail.contains(detail))
    }

    #[test]
    fn valid_job_passes() {
        assert_eq!(errors(&job()), vec![]);
    }

    #[test]
    fn indexed_hostname_must_be_dns_label() {
        let mut j = job();
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        j.spec.completions = Some(10);
        assert!(errors(&j).is_empty());
        let long = "a".repeat(62);
        j.metadata.name = long.clone();
        for k in [keys::JOB_NAME_LABEL, keys::LEGACY_JOB_NAME_LABEL] {
            j.spec
                .template
                .metadata
                .labels
                .insert(k.to_owned(), long.clone());
        }
        j.spec.selector = Some(LabelSelector::default());
        assert!(has(
            &j,
            "metadata.name",
            ErrorKind::Invalid,
            "will not able to create pod with invalid DNS label"
        ));
    }

    #[test]
    fn generated_selector_needs_uid() {
        let mut j = job();
        j.metadata.uid.clear();
        assert!(has(&j, "metadata.uid", ErrorKind::Required, ""));
    }

    #[test]
    fn generated_selector_needs_template_labels() {
        let mut j = job();
        j.spec
            .template
            .metadata
            .labels
            .remove(keys::CONTROLLER_UID_LABEL);
        j.spec.selector = Some(LabelSelector::default());
        let field = "spec.template.metadata.labels[batch.kubernetes.io/controller-uid]";
        assert!(has(&j, field, ErrorKind::Required, "must be '1a2b3c'"));
        j.spec
            .template
            .metadata
            .labels
            .insert(keys::CONTROLLER_UID_LABEL.to_owned(), "other".to_owned());
        assert!(has(&j, field, ErrorKind::Invalid, "must be '1a2b3c'"));
    }

    #[test]
    fn generated_selector_must_select_generated_labels() {
        let mut j = job();
        j.spec
            .selector
            .as_mut()
            .unwrap()
            .match_labels
            .insert("foo".to_owned(), "bar".to_owned());
        j.spec
            .template
            .metadata
            .labels
            .insert("foo".to_owned(), "bar".to_owned());
        assert!(has(
            &j,
            "spec.selector",
            ErrorKind::Invalid,
            "`selector` not auto-generated"
        ));
    }

    #[test]
    fn manual_selector_skips_generated_checks() {
        let mut j = job();
        j.metadata.uid.clear();
        j.spec.manual_selector = Some(true);
        j.spec.selector = Some(LabelSelector {
            extra: Default::default(),
            match_labels: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
            match_expressions: vec![],
        });
        j.spec.template.metadata.labels = BTreeMap::from([("a".to_owned(), "b".to_owned())]);
        assert!(errors(&j).is_empty());
    }

    #[test]
    fn selector_is_required() {
        let mut j = job();
        j.spec.selector = None;
        assert!(has(&j, "spec.selector", ErrorKind::Required, ""));
        // A nil selector selects nothing, so it does not match the template.
        assert!(has(
            &j,
            "spec.template.metadata.labels",
            ErrorKind::Invalid,
            "does not match"
        ));
    }

    #[test]
    fn selector_must_match_template_labels() {
        let mut j = job();
        j.spec.manual_selector = Some(true);
        j.spec.template.metadata.labels = BTreeMap::from([("y".to_owned(), "z".to_owned())]);
        assert!(has(
            &j,
            "spec.template.metadata.labels",
            ErrorKind::Invalid,
            "`selector` does not match template `labels`"
        ));
    }

    #[test]
    fn malformed_selector_is_not_matched() {
        let mut j = job();
        j.spec.manual_selector = Some(true);
        j.spec.selector = Some(LabelSelector {
            extra: Default::default(),
            match_labels: BTreeMap::from([("controller-uid".to_owned(), "<uid>".to_owned())]),
            match_expressions: vec![],
        });
        let errs = errors(&j);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.selector.matchLabels");
    }

    #[test]
    fn counts_must_be_non_negative() {
        let mut j = job();
        j.spec.parallelism = Some(-1);
        j.spec.completions = Some(-1);
        j.spec.active_deadline_seconds = Some(-1);
        j.spec.backoff_limit = Some(-1);
        j.spec.ttl_seconds_after_finished = Some(-1);
        for f in [
            "parallelism",
            "completions",
            "activeDeadlineSeconds",
            "backoffLimit",
            "ttlSecondsAfterFinished",
        ] {
            assert!(
                has(
                    &j,
                    &format!("spec.{f}"),
                    ErrorKind::Invalid,
                    "must be greater than or equal to 0"
                ),
                "{f}"
            );
        }
    }

    #[test]
    fn max_failed_indexes_needs_backoff_limit_per_index() {
        let mut j = job();
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        j.spec.completions = Some(3);
        j.spec.max_failed_indexes = Some(1);
        assert!(has(
            &j,
            "spec.backoffLimitPerIndex",
            ErrorKind::Required,
            "when maxFailedIndexes is specified"
        ));
    }

    #[test]
    fn managed_by_domain_prefixed_and_short() {
        let mut j = job();
        j.spec.managed_by = Some(keys::JOB_CONTROLLER_NAME.to_owned());
        assert!(errors(&j).is_empty());
        j.spec.managed_by = Some(format!("example.com/{}", "x".repeat(60)));
        assert!(has(
            &j,
            "spec.managedBy",
            ErrorKind::TooLong,
            "may not be more than 63 bytes"
        ));
        j.spec.managed_by = Some("no-slash".to_owned());
        assert!(has(
            &j,
            "spec.managedBy",
            ErrorKind::Invalid,
            "must be a domain-prefixed path"
        ));
    }

    #[test]
    fn completion_mode_must_be_known() {
        let mut j = job();
        j.spec.completion_mode = Some("Sometimes".into());
        assert!(has(
            &j,
            "spec.completionMode",
            ErrorKind::NotSupported,
            r#""NonIndexed", "Indexed""#
        ));
    }

    #[test]
    fn indexed_needs_completions() {
        let mut j = job();
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        assert!(has(
            &j,
            "spec.completions",
            ErrorKind::Required,
            "when completion mode is Indexed"
        ));
    }

    #[test]
    fn indexed_parallelism_at_most_100000() {
        let mut j = job();
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        j.spec.completions = Some(2);
        j.spec.parallelism = Some(100_001);
        assert!(has(
            &j,
            "spec.parallelism",
            ErrorKind::Invalid,
            "must be less than or equal to 100000 when completion mode is Indexed"
        ));
    }

    #[test]
    fn max_failed_indexes_limits() {
        let mut j = job();
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        j.spec.backoff_limit_per_index = Some(1);
        j.spec.completions = Some(10);
        j.spec.max_failed_indexes = Some(11);
        assert!(has(
            &j,
            "spec.maxFailedIndexes",
            ErrorKind::Invalid,
            "must be less than or equal to completions"
        ));
        j.spec.completions = Some(200_000);
        j.spec.max_failed_indexes = Some(100_001);
        assert!(has(
            &j,
            "spec.maxFailedIndexes",
            ErrorKind::Invalid,
            "must be less than or equal to 100000"
        ));
    }

    #[test]
    fn high_completions_with_backoff_limit_per_index() {
        let mut j = job();
        j.metadata.name = "a".to_owned();
        for k in [keys::JOB_NAME_LABEL, keys::LEGACY_JOB_NAME_LABEL] {
            j.spec
                .template
                .metadata
                .labels
                .insert(k.to_owned(), "a".to_owned());
        }
        j.spec.selector = Some(LabelSelector::default());
        j.spec.completion_mode = Some(CompletionMode::Indexed);
        j.spec.backoff_limit_per_index = Some(1);
        j.spec.completions = Some(100_001);
        assert!(has(
            &j,
            "spec.maxFailedIndexes",
            ErrorKind::Required,
            "must be specified when completions is above 100000"
        ));
        j.spec.parallelism = Some(10_001);
        j.spec.max_failed_indexes = Some(50_000);
        let suffix = "when completions are above 100000 and used with backoff limit per index";
        assert!(has(
            &j,
            "spec.parallelism",
            ErrorKind::Invalid,
            &format!("must be less than or equal to 10000 {suffix}")
        ));
        assert!(has(
            &j,
            "spec.maxFailedIndexes",
            ErrorKind::Invalid,
            &format!("must be less than or equal to 10000 {suffix}")
        ));
    }

    #[test]
    fn per_index_fields_require_indexed() {
        let mut j = job();
        j.spec.backoff_limit_per_index = Some(1);
        j.spec.max_failed_indexes = Some(1);
        assert!(has(
            &j,
            "spec.backoffLimitPerIndex",
            ErrorKind::Invalid,
            "requires indexed completion mode"
        ));
        assert!(has(
            &j,
            "spec.maxFailedIndexes",
            ErrorKind::Invalid,
            "requires indexed completion mode"
        ));
    }

    #[test]
    fn success_policy_requires_indexed() {
        let mut j = job();
        j.spec.success_policy = Some(Default::default());
        assert!(has(
            &j,
            "spec.successPolicy",
            ErrorKind::Invalid,
            "requires indexed completion mode"
        ));
    }

    #[test]
    fn restart_policy_never_or_on_failure() {
        let mut j = job();
        j.spec.template.spec.restart_policy = Some(RestartPolicy::Always);
        assert!(has(
            &j,
            "spec.template.spec.restartPolicy",
            ErrorKind::Required,
            r#"valid values: "OnFailure", "Never""#
        ));
        j.spec.template.spec.restart_policy = None;
        assert!(has(
            &j,
            "spec.template.spec.restartPolicy",
            ErrorKind::Required,
            ""
        ));
        j.spec.template.spec.restart_policy = Some("Invalid".into());
        assert!(has(
            &j,
            "spec.template.spec.restartPolicy",
            ErrorKind::NotSupported,
            r#""OnFailure", "Never""#
        ));
    }

    #[test]
    fn restart_policy_never_with_pod_failure_policy() {
        let mut j = job();
        j.spec.pod_failure_policy = Some(PodFailurePolicy::default());
        j.spec.pod_replacement_policy = Some(PodReplacementPolicy::Failed);
        assert!(has(
            &j,
            "spec.template.spec.restartPolicy",
            ErrorKind::Invalid,
            r#"only "Never" is supported when podFailurePolicy is specified"#
        ));
    }

    #[test]
    fn containers_required_with_unique_dns_names() {
        let mut j = job();
        j.spec.template.spec.containers.clear();
        assert!(has(
            &j,
            "spec.template.spec.containers",
            ErrorKind::Required,
            ""
        ));
        let c = |n: &str| Container {
            name: n.to_owned(),
            ..Container::default()
        };
        j.spec.template.spec.containers = vec![c("a"), c("a"), c("Bad")];
        j.spec.template.spec.init_containers = vec![c("a"), c("")];
        assert!(has(
            &j,
            "spec.template.spec.containers[1].name",
            ErrorKind::Duplicate,
            ""
        ));
        assert!(has(
            &j,
            "spec.template.spec.containers[2].name",
            ErrorKind::Invalid,
            "RFC 1123 label"
        ));
        assert!(has(
            &j,
            "spec.template.spec.initContainers[0].name",
            ErrorKind::Duplicate,
            ""
        ));
        assert!(has(
            &j,
            "spec.template.spec.initContainers[1].name",
            ErrorKind::Required,
            ""
        ));
    }

    #[test]
    fn template_labels_reported_without_metadata() {
        let mut j = job();
        j.spec
            .template
            .metadata
            .labels
            .insert("bad key".to_owned(), "v".to_owned());
        assert!(has(
            &j,
            "spec.template.labels",
            ErrorKind::Invalid,
            "name part must consist of"
        ));
    }

    #[test]
    fn ephemeral_containers_forbidden_in_template() {
        let mut j = job();
        j.spec.template.spec.extra.insert(
            "ephemeralContainers".to_owned(),
            crate::api::Value::Seq(vec![crate::api::Value::Null]),
        );
        assert!(has(
            &j,
            "spec.template.spec.ephemeralContainers",
            ErrorKind::Forbidden,
            ""
        ));
    }
}

//! `ValidateJobUpdate`: what may change in a Job's spec once it exists
//! (upstream `ValidateJobSpecUpdate`, `validateCompletions`,
//! `validatePodTemplateUpdate`, and the registry's `validationOptionsForJob`).

use crate::api::{Job, JobSpec, PodTemplateSpec, Value, keys};
use crate::error::FieldError;

use super::field::{self, Path};
use super::job::{self, JobOptions};
use super::{meta, semantic};

/// The new object as the API server validates it: `BeforeUpdate` and the
/// strategy's `PrepareForUpdate` have run. The server fills in what a client
/// may omit from the stored object (uid, namespace, resourceVersion on an
/// unconditional update), keeps the stored creation and deletion
/// timestamps, resets the generation, and keeps the stored status (status
/// changes go through the status subresource).
pub(crate) fn as_server_sees_it(new: &Job, old: &Job) -> Job {
    let mut j = new.clone();
    let (m, o) = (&mut j.metadata, &old.metadata);
    if m.uid.is_empty() {
        m.uid.clone_from(&o.uid);
    }
    if m.namespace.is_empty() {
        m.namespace.clone_from(&o.namespace);
    }
    if m.resource_version.is_empty() {
        m.resource_version.clone_from(&o.resource_version);
    }
    m.generation = o.generation;
    if o.creation_timestamp.is_some() {
        m.creation_timestamp = o.creation_timestamp;
    }
    if o.deletion_timestamp.is_some() {
        m.deletion_timestamp = o.deletion_timestamp;
    }
    if o.deletion_grace_period_seconds.is_some() && m.deletion_grace_period_seconds.is_none() {
        m.deletion_grace_period_seconds = o.deletion_grace_period_seconds;
    }
    j.status.clone_from(&old.status);
    j
}

/// `validationOptionsForJob(new, old)`.
pub(crate) fn options(old: &Job) -> JobOptions {
    let old_labels = &old.spec.template.metadata.labels;
    let suspended = old.spec.suspend == Some(true);
    let never_started = old.status.as_ref().is_none_or(|s| s.start_time.is_none());
    JobOptions {
        // Jobs created before the prefixed labels existed keep validating.
        require_prefixed_labels: old_labels.contains_key(keys::JOB_NAME_LABEL)
            && old_labels.contains_key(keys::CONTROLLER_UID_LABEL),
        allow_invalid_label_value_in_selector: meta::selector_has_invalid_value(
            old.spec.selector.as_ref(),
        ),
        // Scheduling directives may change only before any pod could run.
        allow_mutable_scheduling_directives: suspended && never_started,
        allow_elastic_indexed_jobs: true,
    }
}

/// `ValidateJobUpdate`: metadata identity and the spec's immutable parts.
pub(crate) fn validate_job_update(
    new: &Job,
    old: &Job,
    opts: &JobOptions,
    errs: &mut Vec<FieldError>,
) {
    meta::validate_object_meta_update(&new.metadata, &old.metadata, &Path::new("metadata"), errs);
    validate_spec_update(&new.spec, &old.spec, &Path::new("spec"), opts, errs);
}

fn immutable(path: &Path, value: String) -> FieldError {
    field::invalid(path, value, field::IMMUTABLE)
}

/// `ValidateJobSpecUpdate`.
fn validate_spec_update(
    spec: &JobSpec,
    old: &JobSpec,
    path: &Path,
    opts: &JobOptions,
    errs: &mut Vec<FieldError>,
) {
    job::validate_job_spec(spec, path, opts, errs);
    validate_completions(spec, old, path, opts, errs);
    if spec.selector != old.selector {
        let value = spec
            .selector
            .as_ref()
            .map_or_else(|| "null".to_owned(), job::render_selector);
        errs.push(immutable(&path.child("selector"), value));
    }
    validate_template_update(spec, old, path, opts, errs);
    if spec.completion_mode != old.completion_mode {
        let value = field::render_opt(spec.completion_mode.as_ref());
        errs.push(immutable(&path.child("completionMode"), value));
    }
    if !semantic::pod_failure_policies_equal(
        spec.pod_failure_policy.as_ref(),
        old.pod_failure_policy.as_ref(),
    ) {
        errs.push(immutable(&path.child("podFailurePolicy"), String::new()));
    }
    if spec.backoff_limit_per_index != old.backoff_limit_per_index {
        let value = field::render_opt(spec.backoff_limit_per_index);
        errs.push(immutable(&path.child("backoffLimitPerIndex"), value));
    }
    if spec.managed_by != old.managed_by {
        let value = field::render_opt(spec.managed_by.as_ref());
        errs.push(immutable(&path.child("managedBy"), value));
    }
    if spec.success_policy != old.success_policy {
        errs.push(immutable(&path.child("successPolicy"), String::new()));
    }
}

/// `validateCompletions`: immutable, except that an Indexed Job may be
/// scaled by changing completions and parallelism to the same value.
fn validate_completions(
    spec: &JobSpec,
    old: &JobSpec,
    path: &Path,
    opts: &JobOptions,
    errs: &mut Vec<FieldError>,
) {
    let p = path.child("completions");
    let indexed = spec.completion_mode == Some(crate::api::CompletionMode::Indexed);
    if !opts.allow_elastic_indexed_jobs || !indexed {
        if spec.completions != old.completions {
            errs.push(immutable(&p, field::render_opt(spec.completions)));
        }
        return;
    }
    // Unchanged is fine; unset is already Required for Indexed Jobs.
    let Some(c) = spec
        .completions
        .filter(|_| spec.completions != old.completions)
    else {
        return;
    };
    // Upstream dereferences parallelism here; defaulting always sets it.
    // An unset parallelism cannot equal completions, so it is reported.
    if spec.parallelism != Some(c) {
        errs.push(field::invalid(
            &p,
            c.to_string(),
            format!(
                "can only be modified in tandem with {}",
                path.child("parallelism").as_str()
            ),
        ));
    }
}

/// `validatePodTemplateUpdate`: the template is immutable, except for the
/// scheduling directives of a suspended Job that never started.
fn validate_template_update(
    spec: &JobSpec,
    old: &JobSpec,
    path: &Path,
    opts: &JobOptions,
    errs: &mut Vec<FieldError>,
) {
    let mut old_template = old.template.clone();
    if opts.allow_mutable_scheduling_directives {
        accept_scheduling_directives(&mut old_template, &spec.template);
    }
    if !semantic::templates_equal(&spec.template, &old_template) {
        errs.push(immutable(&path.child("template"), String::new()));
    }
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !matches!(v, Value::Null))
}

/// Copies the mutable directives of `new` into (a copy of) the old template
/// so that only the other fields are compared: node affinity (the rest of
/// `affinity` stays immutable), node selector, tolerations, scheduling
/// gates, and the template's labels and annotations.
fn accept_scheduling_directives(old: &mut PodTemplateSpec, new: &PodTemplateSpec) {
    let new_affinity = present(new.spec.extra.get("affinity")).cloned();
    let old_affinity = present(old.spec.extra.get("affinity")).cloned();
    let new_node = new_affinity
        .as_ref()
        .and_then(|a| a.as_map()?.get("nodeAffinity").cloned());
    let merged = match (new_affinity, old_affinity) {
        (None, None) => None,
        // Clearing affinity is allowed if node affinity was all it held.
        (None, Some(old_a)) => {
            let rest = with_node_affinity(old_a, None);
            rest.filter(|v| v.as_map().is_none_or(|m| !m.is_empty()))
        }
        (Some(_), None) => with_node_affinity(Value::Map(Default::default()), new_node),
        (Some(_), Some(old_a)) => with_node_affinity(old_a, new_node),
    };
    set_extra(old, "affinity", merged);
    for key in ["nodeSelector", "tolerations", "schedulingGates"] {
        set_extra(old, key, new.spec.extra.get(key).cloned());
    }
    old.metadata
        .annotations
        .clone_from(&new.metadata.annotations);
    old.metadata.labels.clone_from(&new.metadata.labels);
}

/// `affinity` with its `nodeAffinity` replaced (or removed when `None`).
/// A non-object affinity is left as is.
fn with_node_affinity(affinity: Value, node: Option<Value>) -> Option<Value> {
    let Value::Map(mut m) = affinity else {
        return Some(affinity);
    };
    match node {
        Some(n) => m.insert("nodeAffinity".to_owned(), n),
        None => m.remove("nodeAffinity"),
    };
    Some(Value::Map(m))
}

fn set_extra(t: &mut PodTemplateSpec, key: &str, value: Option<Value>) {
    match value {
        Some(v) => t.spec.extra.insert(key.to_owned(), v),
        None => t.spec.extra.remove(key),
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ErrorKind;
    use crate::api::{CompletionMode, Container, JobStatus, RestartPolicy};

    fn job() -> Job {
        let mut j = Job::default();
        j.metadata.name = "myjob".to_owned();
        j.metadata.namespace = "default".to_owned();
        j.metadata.uid = "1a2b3c".to_owned();
        j.metadata.resource_version = "1".to_owned();
        j.spec.manual_selector = Some(true);
        j.spec.selector = Some(crate::api::LabelSelector {
            extra: Default::default(),
            match_labels: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
            match_expressions: vec![],
        });
        j.spec.template.metadata.labels = BTreeMap::from([("a".to_owned(), "b".to_owned())]);
        j.spec.template.spec.restart_policy = Some(RestartPolicy::Never);
        j.spec.template.spec.containers.push(Container {
            name: "c".to_owned(),
            ..Container::default()
        });
        j
    }

    fn update_errors(new: &Job, old: &Job) -> Vec<FieldError> {
        let new = as_server_sees_it(new, old);
        let opts = options(old);
        let mut errs = Vec::new();
        validate_job_update(&new, old, &opts, &mut errs);
        errs
    }

    fn has(errs: &[FieldError], field: &str, detail: &str) -> bool {
        errs.iter()
            .any(|e| e.field == field && e.detail.contains(detail))
    }

    #[test]
    fn mutable_fields_may_change() {
        let old = job();
        let mut new = job();
        new.spec.parallelism = Some(5);
        new.spec.active_deadline_seconds = Some(3);
        new.spec.ttl_seconds_after_finished = Some(2);
        new.spec.suspend = Some(true);
        new.spec.max_failed_indexes = None;
        assert!(update_errors(&new, &old).is_empty());
    }

    #[test]
    fn identity_filled_from_stored_object() {
        let old = job();
        let mut new = job();
        new.metadata.uid.clear();
        new.metadata.resource_version.clear();
        new.metadata.namespace.clear();
        assert!(update_errors(&new, &old).is_empty());
    }

    #[test]
    fn completions_immutable_for_non_indexed() {
        let old = job();
        let mut new = job();
        new.spec.completions = Some(2);
        assert!(has(
            &update_errors(&new, &old),
            "spec.completions",
            "field is immutable"
        ));
    }

    #[test]
    fn indexed_completions_change_with_parallelism() {
        let mut old = job();
        old.spec.completion_mode = Some(CompletionMode::Indexed);
        old.spec.completions = Some(2);
        old.spec.parallelism = Some(2);
        let mut new = old.clone();
        new.spec.completions = Some(3);
        new.spec.parallelism = Some(3);
        assert!(update_errors(&new, &old).is_empty());
        new.spec.parallelism = Some(1);
        assert!(has(
            &update_errors(&new, &old),
            "spec.completions",
            "can only be modified in tandem with spec.parallelism"
        ));
        new.spec.parallelism = None;
        assert!(has(
            &update_errors(&new, &old),
            "spec.completions",
            "in tandem"
        ));
    }

    #[test]
    fn indexed_completions_unset_reported_once_as_required() {
        let mut old = job();
        old.spec.completion_mode = Some(CompletionMode::Indexed);
        old.spec.completions = Some(1);
        let mut new = old.clone();
        new.spec.completions = None;
        let errs = update_errors(&new, &old);
        assert!(
            errs.iter()
                .any(|e| e.field == "spec.completions" && e.kind == ErrorKind::Required)
        );
        assert!(!has(&errs, "spec.completions", "in tandem"));
    }

    #[test]
    fn selector_immutable() {
        let old = job();
        let mut new = job();
        new.spec.selector.as_mut().unwrap().match_labels.clear();
        assert!(has(
            &update_errors(&new, &old),
            "spec.selector",
            "field is immutable"
        ));
    }

    #[test]
    fn policies_and_modes_immutable() {
        let old = job();
        let mut new = job();
        new.spec.completion_mode = Some(CompletionMode::NonIndexed);
        new.spec.pod_failure_policy = Some(Default::default());
        new.spec.backoff_limit_per_index = Some(1);
        new.spec.managed_by = Some("example.com/x".to_owned());
        new.spec.success_policy = Some(Default::default());
        let errs = update_errors(&new, &old);
        for f in [
            "completionMode",
            "podFailurePolicy",
            "backoffLimitPerIndex",
            "managedBy",
            "successPolicy",
        ] {
            assert!(
                has(&errs, &format!("spec.{f}"), "field is immutable"),
                "{f}"
            );
        }
    }

    fn node_affinity(value: &str) -> Value {
        let v = |s: &str| Value::String(s.to_owned());
        let map = |e: Vec<(&str, Value)>| {
            Value::Map(e.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        };
        map(vec![("nodeAffinity", map(vec![("key", v(value))]))])
    }

    #[test]
    fn template_immutable_when_running() {
        let old = job();
        let mut new = job();
        new.spec
            .template
            .spec
            .extra
            .insert("affinity".to_owned(), node_affinity("x"));
        assert!(has(
            &update_errors(&new, &old),
            "spec.template",
            "field is immutable"
        ));
    }

    #[test]
    fn scheduling_directives_mutable_while_suspended_and_never_started() {
        let mut old = job();
        old.spec.suspend = Some(true);
        old.spec
            .template
            .spec
            .extra
            .insert("affinity".to_owned(), node_affinity("x"));
        let mut new = old.clone();
        new.spec
            .template
            .spec
            .extra
            .insert("affinity".to_owned(), node_affinity("y"));
        new.spec.template.spec.extra.insert(
            "nodeSelector".to_owned(),
            Value::Map(BTreeMap::from([(
                "k".to_owned(),
                Value::String("v".to_owned()),
            )])),
        );
        new.spec
            .template
            .metadata
            .annotations
            .insert("foo".to_owned(), "baz".to_owned());
        assert!(update_errors(&new, &old).is_empty());
        // Removing affinity entirely is fine when it held only node affinity.
        new.spec.template.spec.extra.remove("affinity");
        assert!(update_errors(&new, &old).is_empty());
        // Once started, they are frozen again.
        old.status = Some(JobStatus {
            start_time: Some(chrono::DateTime::UNIX_EPOCH),
            ..JobStatus::default()
        });
        assert!(has(
            &update_errors(&new, &old),
            "spec.template",
            "field is immutable"
        ));
    }

    #[test]
    fn other_affinity_stays_immutable_while_suspended() {
        let mut old = job();
        old.spec.suspend = Some(true);
        let mut new = old.clone();
        let pod_affinity = Value::Map(BTreeMap::from([(
            "podAffinity".to_owned(),
            Value::Map(BTreeMap::new()),
        )]));
        new.spec
            .template
            .spec
            .extra
            .insert("affinity".to_owned(), pod_affinity);
        assert!(has(
            &update_errors(&new, &old),
            "spec.template",
            "field is immutable"
        ));
    }

    #[test]
    fn container_changes_immutable_even_while_suspended() {
        let mut old = job();
        old.spec.suspend = Some(true);
        let mut new = old.clone();
        new.spec.template.spec.containers[0].image = Some("other".to_owned());
        assert!(has(
            &update_errors(&new, &old),
            "spec.template",
            "field is immutable"
        ));
    }

    #[test]
    fn legacy_jobs_do_not_need_prefixed_labels() {
        let old = job();
        assert!(!options(&old).require_prefixed_labels);
        let mut prefixed = job();
        for k in [keys::JOB_NAME_LABEL, keys::CONTROLLER_UID_LABEL] {
            prefixed
                .spec
                .template
                .metadata
                .labels
                .insert(k.to_owned(), "x".to_owned());
        }
        assert!(options(&prefixed).require_prefixed_labels);
    }
}

//! Defaulting as the API server does it (upstream
//! `pkg/apis/batch/v1/defaults.go: SetDefaults_Job` and the Job registry
//! strategy's `generateSelector`).
//!
//! On create the server defaults first (when decoding the request) and
//! generates the selector afterwards (`PrepareForCreate`), so the Job's own
//! labels are copied from the template before the generated labels are
//! added to it. [`crate::ValidJob::create`] follows that order.

use crate::api::{CompletionMode, ConditionStatus, Job, LabelSelector, PodReplacementPolicy, keys};

/// Applies `SetDefaults_Job`. Idempotent: a defaulted Job is unchanged by a
/// second call.
///
/// * `completions` and `parallelism` become 1 only when both are unset (a
///   single-pod Job); otherwise an unset `parallelism` becomes 1 and an
///   unset `completions` stays unset (a work queue).
/// * `backoffLimit` becomes 2147483647 when `backoffLimitPerIndex` is set
///   (the per-index limit governs), else 6.
/// * The Job's labels are copied from the template when the Job has none.
/// * `completionMode` NonIndexed, `suspend` false, `manualSelector` false.
/// * `podReplacementPolicy` is `Failed` with a pod failure policy (which
///   needs the final pod status), else `TerminatingOrFailed`.
/// * Every pod failure policy `onPodConditions[].status` defaults to `True`.
pub fn apply_defaults(job: &mut Job) {
    let spec = &mut job.spec;
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
        spec.parallelism = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    if spec.backoff_limit.is_none() {
        let limit = if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        };
        spec.backoff_limit = Some(limit);
    }
    if job.metadata.labels.is_empty() && !spec.template.metadata.labels.is_empty() {
        job.metadata.labels = spec.template.metadata.labels.clone();
    }
    spec.completion_mode
        .get_or_insert(CompletionMode::NonIndexed);
    spec.suspend.get_or_insert(false);
    if spec.pod_replacement_policy.is_none() {
        spec.pod_replacement_policy = Some(if spec.pod_failure_policy.is_some() {
            PodReplacementPolicy::Failed
        } else {
            PodReplacementPolicy::TerminatingOrFailed
        });
    }
    spec.manual_selector.get_or_insert(false);
    default_pod_condition_statuses(job);
}

/// `SetDefaults_PodFailurePolicyOnPodConditionsPattern`: an empty status
/// (unset, or `""` on the wire) means `True`.
fn default_pod_condition_statuses(job: &mut Job) {
    let Some(policy) = &mut job.spec.pod_failure_policy else {
        return;
    };
    let patterns = policy
        .rules
        .iter_mut()
        .flat_map(|r| r.on_pod_conditions.iter_mut());
    for pattern in patterns {
        if pattern
            .status
            .as_ref()
            .is_none_or(|s| s.as_str().is_empty())
        {
            pattern.status = Some(ConditionStatus::True);
        }
    }
}

/// Generates the selector and template labels unless `manualSelector` is true
/// (upstream `strategy.go: generateSelector`).
///
/// Adds the template labels `batch.kubernetes.io/controller-uid` and legacy
/// `controller-uid` (the Job's uid), `batch.kubernetes.io/job-name` and
/// legacy `job-name` (its name), and the selector's
/// `matchLabels[batch.kubernetes.io/controller-uid]` (the uid) — each only
/// when absent. Values the user set are kept; if they conflict, validation
/// rejects the Job. The uid makes the selector unique to this Job.
pub fn generate_selector(job: &mut Job) {
    if job.spec.manual_selector == Some(true) {
        return;
    }
    let name = job.metadata.name.clone();
    let uid = job.metadata.uid.clone();
    let labels = &mut job.spec.template.metadata.labels;
    for key in [keys::LEGACY_JOB_NAME_LABEL, keys::JOB_NAME_LABEL] {
        labels.entry(key.to_owned()).or_insert_with(|| name.clone());
    }
    for key in [
        keys::LEGACY_CONTROLLER_UID_LABEL,
        keys::CONTROLLER_UID_LABEL,
    ] {
        labels.entry(key.to_owned()).or_insert_with(|| uid.clone());
    }
    job.spec
        .selector
        .get_or_insert_with(LabelSelector::default)
        .match_labels
        .entry(keys::CONTROLLER_UID_LABEL.to_owned())
        .or_insert(uid);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::{
        PodFailurePolicy, PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
    };

    fn job() -> Job {
        let mut j = Job::default();
        j.metadata.name = "pi".to_owned();
        j.metadata.uid = "u1".to_owned();
        j
    }

    fn defaulted(mut j: Job) -> Job {
        apply_defaults(&mut j);
        j
    }

    #[test]
    fn completions_and_parallelism_default_to_one_when_both_unset() {
        let j = defaulted(job());
        assert_eq!((j.spec.completions, j.spec.parallelism), (Some(1), Some(1)));
    }

    #[test]
    fn work_queue_keeps_completions_unset() {
        let mut j = job();
        j.spec.parallelism = Some(3);
        let j = defaulted(j);
        assert_eq!((j.spec.completions, j.spec.parallelism), (None, Some(3)));
    }

    #[test]
    fn parallelism_defaults_to_one() {
        let mut j = job();
        j.spec.completions = Some(5);
        assert_eq!(defaulted(j).spec.parallelism, Some(1));
    }

    #[test]
    fn backoff_limit_defaults_to_six() {
        assert_eq!(defaulted(job()).spec.backoff_limit, Some(6));
    }

    #[test]
    fn backoff_limit_unbounded_with_backoff_limit_per_index() {
        let mut j = job();
        j.spec.backoff_limit_per_index = Some(1);
        assert_eq!(defaulted(j).spec.backoff_limit, Some(i32::MAX));
        let mut j = job();
        j.spec.backoff_limit_per_index = Some(1);
        j.spec.backoff_limit = Some(3);
        assert_eq!(defaulted(j).spec.backoff_limit, Some(3));
    }

    #[test]
    fn job_labels_copied_from_template_when_absent() {
        let mut j = job();
        j.spec.template.metadata.labels = BTreeMap::from([("app".to_owned(), "pi".to_owned())]);
        assert_eq!(
            defaulted(j.clone()).metadata.labels,
            j.spec.template.metadata.labels
        );
        j.metadata.labels = BTreeMap::from([("own".to_owned(), "x".to_owned())]);
        assert_eq!(defaulted(j.clone()).metadata.labels, j.metadata.labels);
    }

    #[test]
    fn mode_suspend_and_manual_selector_defaults() {
        let j = defaulted(job());
        assert_eq!(j.spec.completion_mode, Some(CompletionMode::NonIndexed));
        assert_eq!(j.spec.suspend, Some(false));
        assert_eq!(j.spec.manual_selector, Some(false));
    }

    #[test]
    fn pod_replacement_policy_depends_on_pod_failure_policy() {
        assert_eq!(
            defaulted(job()).spec.pod_replacement_policy,
            Some(PodReplacementPolicy::TerminatingOrFailed)
        );
        let mut j = job();
        j.spec.pod_failure_policy = Some(PodFailurePolicy::default());
        assert_eq!(
            defaulted(j).spec.pod_replacement_policy,
            Some(PodReplacementPolicy::Failed)
        );
    }

    #[test]
    fn pod_condition_status_defaults_to_true() {
        let mut j = job();
        let pattern = |status: Option<ConditionStatus>| PodFailurePolicyOnPodConditionsPattern {
            extra: Default::default(),
            type_: "DisruptionTarget".to_owned(),
            status,
        };
        j.spec.pod_failure_policy = Some(PodFailurePolicy {
            extra: Default::default(),
            rules: vec![PodFailurePolicyRule {
                extra: Default::default(),
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: vec![
                    pattern(None),
                    pattern(Some("".into())),
                    pattern(Some(ConditionStatus::False)),
                ],
            }],
        });
        let j = defaulted(j);
        let statuses: Vec<_> = j.spec.pod_failure_policy.unwrap().rules[0]
            .on_pod_conditions
            .iter()
            .map(|p| p.status.clone())
            .collect();
        assert_eq!(
            statuses,
            vec![
                Some(ConditionStatus::True),
                Some(ConditionStatus::True),
                Some(ConditionStatus::False)
            ]
        );
    }

    #[test]
    fn defaulting_is_idempotent() {
        let mut j = job();
        j.spec.backoff_limit_per_index = Some(2);
        j.spec.template.metadata.labels = BTreeMap::from([("a".to_owned(), "b".to_owned())]);
        let once = defaulted(j);
        assert_eq!(defaulted(once.clone()), once);
    }

    #[test]
    fn selector_generated_from_uid_and_name() {
        let mut j = defaulted(job());
        generate_selector(&mut j);
        let labels = &j.spec.template.metadata.labels;
        assert_eq!(labels[keys::CONTROLLER_UID_LABEL], "u1");
        assert_eq!(labels[keys::LEGACY_CONTROLLER_UID_LABEL], "u1");
        assert_eq!(labels[keys::JOB_NAME_LABEL], "pi");
        assert_eq!(labels[keys::LEGACY_JOB_NAME_LABEL], "pi");
        let selector = j.spec.selector.unwrap();
        assert_eq!(
            selector.match_labels,
            BTreeMap::from([(keys::CONTROLLER_UID_LABEL.to_owned(), "u1".to_owned())])
        );
    }

    #[test]
    fn generated_labels_keep_user_values() {
        let mut j = job();
        j.spec.template.metadata.labels =
            BTreeMap::from([(keys::LEGACY_JOB_NAME_LABEL.to_owned(), "mine".to_owned())]);
        j.spec.selector = Some(LabelSelector {
            extra: Default::default(),
            match_labels: BTreeMap::from([(
                keys::CONTROLLER_UID_LABEL.to_owned(),
                "other".to_owned(),
            )]),
            match_expressions: vec![],
        });
        generate_selector(&mut j);
        assert_eq!(
            j.spec.template.metadata.labels[keys::LEGACY_JOB_NAME_LABEL],
            "mine"
        );
        assert_eq!(
            j.spec.selector.unwrap().match_labels[keys::CONTROLLER_UID_LABEL],
            "other"
        );
    }

    #[test]
    fn manual_selector_is_left_alone() {
        let mut j = job();
        j.spec.manual_selector = Some(true);
        generate_selector(&mut j);
        assert!(j.spec.selector.is_none());
        assert!(j.spec.template.metadata.labels.is_empty());
    }

    #[test]
    fn defaulted_generated_job_validates() {
        let mut j = job();
        j.spec.template.spec.restart_policy = Some(crate::api::RestartPolicy::Never);
        j.spec.template.spec.containers.push(crate::api::Container {
            name: "pi".to_owned(),
            ..Default::default()
        });
        apply_defaults(&mut j);
        generate_selector(&mut j);
        assert_eq!(crate::validation::validate_create(&j), Ok(()));
    }
}

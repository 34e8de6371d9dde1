//! The Jobs histories run on: small parameters that admit a valid Job.

#[allow(unused_imports)]
use super::*;

/// What a pod failure policy rule matches on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RuleOn {
    /// `onExitCodes` (`In` or `NotIn`) over values from [`EXIT_CODES`], with
    /// or without `containerName: main`.
    ExitCodes {
        /// `NotIn` instead of `In`.
        not_in: bool,
        /// The values (kept as given: the validation sorts nothing).
        values: Vec<i32>,
        /// Whether the rule names the container.
        named: bool,
    },
    /// `onPodConditions: [{type: DisruptionTarget, status: True}]`.
    DisruptionTarget,
}

/// One pod failure policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Rule {
    /// The action.
    pub action: PodFailurePolicyAction,
    /// What it matches.
    pub on: RuleOn,
}

/// One success policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SuccessRule {
    /// `succeededIndexes`.
    pub indexes: Option<String>,
    /// `succeededCount`.
    pub count: Option<i32>,
}

/// A small Job, field by field; [`JobParams::admit`] builds and validates it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct JobParams {
    /// `completionMode: Indexed`.
    pub indexed: bool,
    /// `completions`.
    pub completions: Option<i32>,
    /// `parallelism`.
    pub parallelism: Option<i32>,
    /// `backoffLimit`.
    pub backoff_limit: Option<i32>,
    /// `backoffLimitPerIndex`.
    pub backoff_limit_per_index: Option<i32>,
    /// `maxFailedIndexes`.
    pub max_failed_indexes: Option<i32>,
    /// `podFailurePolicy.rules` (`None`: no policy).
    pub pod_failure_policy: Option<Vec<Rule>>,
    /// `successPolicy.rules` (`None`: no policy).
    pub success_policy: Option<Vec<SuccessRule>>,
    /// `suspend`.
    pub suspend: bool,
    /// `activeDeadlineSeconds`.
    pub active_deadline_seconds: Option<i64>,
    /// `ttlSecondsAfterFinished`.
    pub ttl_seconds_after_finished: Option<i32>,
    /// `podReplacementPolicy`.
    pub pod_replacement_policy: Option<PodReplacementPolicy>,
    /// `restartPolicy: OnFailure` instead of `Never`.
    pub on_failure: bool,
}

impl JobParams {
    /// The Job as a user would submit it (name `j`, uid `j-uid`).
    pub(crate) fn to_job(&self) -> Job {
        let mut job = Job {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            ..Job::default()
        };
        job.metadata.name = "j".into();
        job.metadata.namespace = "default".into();
        job.metadata.uid = "j-uid".into();
        let spec = &mut job.spec;
        spec.completion_mode = self.indexed.then_some(CompletionMode::Indexed);
        spec.completions = self.completions;
        spec.parallelism = self.parallelism;
        spec.backoff_limit = self.backoff_limit;
        spec.backoff_limit_per_index = self.backoff_limit_per_index;
        spec.max_failed_indexes = self.max_failed_indexes;
        spec.suspend = self.suspend.then_some(true);
        spec.active_deadline_seconds = self.active_deadline_seconds;
        spec.ttl_seconds_after_finished = self.ttl_seconds_after_finished;
        spec.pod_replacement_policy = self.pod_replacement_policy.clone();
        spec.pod_failure_policy = self
            .pod_failure_policy
            .as_ref()
            .map(|rules| PodFailurePolicy {
                rules: rules
                    .iter()
                    .map(|r| PodFailurePolicyRule {
                        action: r.action.clone(),
                        on_exit_codes: match &r.on {
                            RuleOn::ExitCodes {
                                not_in,
                                values,
                                named,
                            } => Some(PodFailurePolicyOnExitCodesRequirement {
                                container_name: named.then(|| "main".to_owned()),
                                operator: if *not_in {
                                    PodFailurePolicyOnExitCodesOperator::NotIn
                                } else {
                                    PodFailurePolicyOnExitCodesOperator::In
                                },
                                values: values.clone(),
                            }),
                            RuleOn::DisruptionTarget => None,
                        },
                        on_pod_conditions: match &r.on {
                            RuleOn::DisruptionTarget => {
                                vec![PodFailurePolicyOnPodConditionsPattern {
                                    type_: "DisruptionTarget".into(),
                                    status: Some(ConditionStatus::True),
                                }]
                            }
                            RuleOn::ExitCodes { .. } => Vec::new(),
                        },
                    })
                    .collect(),
            });
        spec.success_policy = self.success_policy.as_ref().map(|rules| SuccessPolicy {
            rules: rules
                .iter()
                .map(|r| SuccessPolicyRule {
                    succeeded_indexes: r.indexes.clone(),
                    succeeded_count: r.count,
                })
                .collect(),
        });
        spec.template.spec.restart_policy = Some(if self.on_failure {
            RestartPolicy::OnFailure
        } else {
            RestartPolicy::Never
        });
        spec.template.spec.containers = vec![job_controller::api::Container {
            name: "main".into(),
            image: Some("busybox".into()),
            ..Default::default()
        }];
        job
    }

    /// Admits the Job as the API server does on create.
    pub(crate) fn admit(&self) -> Result<ValidJob, String> {
        ValidJob::create(self.to_job()).map_err(|e| format!("{e:?}"))
    }
}

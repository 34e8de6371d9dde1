//! Small valid Jobs in every completion mode and policy, as parameters a
//! shrunk failure prints in a few lines.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::subsequence;

use crate::ValidJob;
use crate::ValidationErrors;
use crate::api::{
    CompletionMode, ConditionStatus, Container, Job, PodFailurePolicy, PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule, PodReplacementPolicy,
    RestartPolicy, SuccessPolicy, SuccessPolicyRule,
};

use super::history::EXIT_CODES;

/// What a pod failure policy rule matches on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuleOn {
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
pub struct Rule {
    /// The action.
    pub action: PodFailurePolicyAction,
    /// What it matches.
    pub on: RuleOn,
}

/// One success policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SuccessRule {
    /// `succeededIndexes`.
    pub indexes: Option<String>,
    /// `succeededCount`.
    pub count: Option<i32>,
}

/// A small Job, field by field: one container `main` (image `busybox`),
/// name `j`, namespace `default`, UID `j-uid`. [`JobParams::admit`] builds
/// and validates it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct JobParams {
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
    /// The Job as a user would submit it.
    #[must_use]
    pub fn to_job(&self) -> Job {
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
                extra: Default::default(),
                rules: rules.iter().map(Rule::to_api).collect(),
            });
        spec.success_policy = self.success_policy.as_ref().map(|rules| SuccessPolicy {
            extra: Default::default(),
            rules: rules
                .iter()
                .map(|r| SuccessPolicyRule {
                    extra: Default::default(),
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
        spec.template.spec.containers = vec![Container {
            name: "main".into(),
            image: Some("busybox".into()),
            ..Container::default()
        }];
        job
    }

    /// Admits the Job as the API server does on create
    /// ([`ValidJob::create`]).
    ///
    /// # Errors
    /// The validation errors, if the parameters do not make a valid Job.
    pub fn admit(&self) -> Result<ValidJob, ValidationErrors> {
        ValidJob::create(self.to_job())
    }
}

impl Rule {
    fn to_api(&self) -> PodFailurePolicyRule {
        let (on_exit_codes, on_pod_conditions) = match &self.on {
            RuleOn::ExitCodes {
                not_in,
                values,
                named,
            } => (
                Some(PodFailurePolicyOnExitCodesRequirement {
                    extra: Default::default(),
                    container_name: named.then(|| "main".to_owned()),
                    operator: if *not_in {
                        PodFailurePolicyOnExitCodesOperator::NotIn
                    } else {
                        PodFailurePolicyOnExitCodesOperator::In
                    },
                    values: values.clone(),
                }),
                Vec::new(),
            ),
            RuleOn::DisruptionTarget => (
                None,
                vec![PodFailurePolicyOnPodConditionsPattern {
                    extra: Default::default(),
                    type_: "DisruptionTarget".into(),
                    status: Some(ConditionStatus::True),
                }],
            ),
        };
        PodFailurePolicyRule {
            extra: Default::default(),
            action: self.action.clone(),
            on_exit_codes,
            on_pod_conditions,
        }
    }
}

/// A Job [`ValidJob::create`] accepted, with the parameters it was built
/// from. Its `Debug` shows the parameters only (they say everything, and a
/// shrunk failure stays readable).
#[derive(Clone)]
pub struct TestJob {
    /// What the Job was built from.
    pub params: JobParams,
    /// The admitted Job.
    pub job: ValidJob,
}

impl std::fmt::Debug for TestJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.params.fmt(f)
    }
}

/// A pod failure policy rule over the exit codes the histories produce
/// (`FailIndex` only with `per_index`, as the API requires).
pub fn rule(per_index: bool) -> impl Strategy<Value = Rule> {
    let action = if per_index {
        prop_oneof![
            Just(PodFailurePolicyAction::FailJob),
            Just(PodFailurePolicyAction::Ignore),
            Just(PodFailurePolicyAction::Count),
            Just(PodFailurePolicyAction::FailIndex),
        ]
        .boxed()
    } else {
        prop_oneof![
            Just(PodFailurePolicyAction::FailJob),
            Just(PodFailurePolicyAction::Ignore),
            Just(PodFailurePolicyAction::Count),
        ]
        .boxed()
    };
    let on = prop_oneof![
        2 => (any::<bool>(), subsequence(EXIT_CODES.to_vec(), 1..=2), any::<bool>())
            .prop_map(|(not_in, values, named)| RuleOn::ExitCodes { not_in, values, named }),
        1 => Just(RuleOn::DisruptionTarget),
    ];
    (action, on).prop_map(|(action, on)| Rule { action, on })
}

/// A success policy rule for `completions` indexes.
pub fn success_rule(completions: i32) -> impl Strategy<Value = SuccessRule> {
    let c = completions.max(1);
    prop_oneof![
        (0..c).prop_map(|i| SuccessRule {
            indexes: Some(i.to_string()),
            count: None
        }),
        (0..c).prop_map(|i| SuccessRule {
            indexes: Some(format!("0-{i}")),
            count: None
        }),
        (1..=c).prop_map(|n| SuccessRule {
            indexes: None,
            count: Some(n)
        }),
        (0..c).prop_map(|i| SuccessRule {
            indexes: Some(format!("0-{i}")),
            count: Some(1)
        }),
    ]
}

/// Parameters of a small Job (completions and parallelism 0..=3): NonIndexed
/// with or without completions, Indexed, `backoffLimit` 0..=3,
/// `backoffLimitPerIndex` with `maxFailedIndexes`, pod failure policies
/// (`FailJob` / `Ignore` / `Count` / `FailIndex` on exit codes and on
/// `DisruptionTarget`), success policies, `suspend`,
/// `activeDeadlineSeconds`, `ttlSecondsAfterFinished`,
/// `podReplacementPolicy`, `restartPolicy: OnFailure`. Not every
/// combination validates: [`valid_job`] keeps those that do.
pub fn job_params() -> impl Strategy<Value = JobParams> {
    // 0 (legal, and trivial: nothing runs) less often than 1..=3.
    let small = || prop_oneof![1 => Just(0i32), 5 => 1..=3i32];
    let shape = prop_oneof![
        // NonIndexed, work queue or counted.
        2 => (option::of(small()), option::of(small())).prop_map(|(c, p)| (false, c, p)),
        // Indexed (needs completions).
        2 => (small(), option::of(small())).prop_map(|(c, p)| (true, Some(c), p)),
    ];
    (shape, option::of(0..=3i32), any::<u64>())
        .prop_flat_map(
            |((indexed, completions, parallelism), backoff_limit, seed)| {
                let per_index = indexed && seed % 3 == 0;
                let c = completions.unwrap_or(1);
                (
                    Just((indexed, completions, parallelism, backoff_limit)),
                    if per_index {
                        option::of(0..=2i32).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    if per_index {
                        option::of(0..=c.max(0)).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    option::weighted(0.35, vec(rule(per_index), 1..=3)),
                    if indexed {
                        option::weighted(0.25, vec(success_rule(c), 1..=2)).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    prop::bool::weighted(0.15),
                    option::weighted(0.25, prop_oneof![1..=30i64, 30..=2000i64]),
                    option::weighted(0.25, prop_oneof![Just(0), 1..=1000i32]),
                    option::weighted(
                        0.3,
                        prop_oneof![
                            Just(PodReplacementPolicy::Failed),
                            Just(PodReplacementPolicy::TerminatingOrFailed)
                        ],
                    ),
                    prop::bool::weighted(0.15),
                )
            },
        )
        .prop_map(
            |(
                (indexed, completions, parallelism, backoff_limit),
                backoff_limit_per_index,
                max_failed_indexes,
                pod_failure_policy,
                success_policy,
                suspend,
                active_deadline_seconds,
                ttl_seconds_after_finished,
                pod_replacement_policy,
                on_failure,
            )| {
                JobParams {
                    indexed,
                    completions,
                    parallelism,
                    backoff_limit,
                    // maxFailedIndexes needs backoffLimitPerIndex.
                    max_failed_indexes: backoff_limit_per_index.and(max_failed_indexes),
                    backoff_limit_per_index,
                    // A pod failure policy needs restartPolicy Never.
                    on_failure: on_failure && pod_failure_policy.is_none(),
                    pod_failure_policy,
                    success_policy,
                    suspend,
                    active_deadline_seconds,
                    ttl_seconds_after_finished,
                    pod_replacement_policy,
                }
            },
        )
}

/// A small Job that [`ValidJob::create`] accepts ([`job_params`] filtered).
pub fn valid_job() -> impl Strategy<Value = TestJob> {
    job_params().prop_filter_map("ValidJob::create rejects it", |params| {
        let job = params.admit().ok()?;
        Some(TestJob { params, job })
    })
}

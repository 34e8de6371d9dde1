//! `batch/v1` Job, JobSpec and JobStatus, field for field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::{LabelSelector, ObjectMeta, Time};
use super::pod_template::PodTemplateSpec;
use super::string_enum::string_enum;
use super::value::Value;

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

/// A `batch/v1` Job, as written in a manifest or read from the API.
///
/// Fields this crate does not model — of the Job, its spec, its status or
/// any object in them, as a newer API server may send — are kept in the
/// `extra` maps and written back unchanged, so an object read from the API
/// is never rejected for them ([`Job::unknown_fields`] lists them). Strict
/// parsing of a manifest a person wrote (`FieldValidation::Strict`, the
/// default of `parse_job`) rejects them, naming the field, as kubectl's
/// strict field validation does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// `batch/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `Job`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired behaviour.
    #[serde(default)]
    pub spec: JobSpec,
    /// Observed state, written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

string_enum! {
    /// `spec.completionMode`.
    pub enum CompletionMode {
        /// Pods are interchangeable; the Job completes after `completions` successes.
        NonIndexed => "NonIndexed",
        /// Each pod gets an index in `0..completions`; each index must succeed once.
        Indexed => "Indexed",
    }
}

string_enum! {
    /// `spec.podReplacementPolicy`: when a replacement pod may be created.
    pub enum PodReplacementPolicy {
        /// As soon as the old pod is terminating or failed.
        TerminatingOrFailed => "TerminatingOrFailed",
        /// Only once the old pod has reached phase Failed.
        Failed => "Failed",
    }
}

string_enum! {
    /// `spec.podFailurePolicy.rules[].action`.
    pub enum PodFailurePolicyAction {
        /// Fail the whole Job.
        FailJob => "FailJob",
        /// Fail the pod's index (needs `backoffLimitPerIndex`).
        FailIndex => "FailIndex",
        /// Do not count the failure; replace the pod.
        Ignore => "Ignore",
        /// Count the failure as usual.
        Count => "Count",
    }
}

string_enum! {
    /// `onExitCodes.operator`.
    pub enum PodFailurePolicyOnExitCodesOperator {
        /// The exit code is one of the values.
        In => "In",
        /// The exit code is none of the values.
        NotIn => "NotIn",
    }
}

string_enum! {
    /// Status of a condition.
    pub enum ConditionStatus {
        /// The condition holds.
        True => "True",
        /// The condition does not hold.
        False => "False",
        /// Unknown.
        Unknown => "Unknown",
    }
}

string_enum! {
    /// Type of a Job condition.
    pub enum JobConditionType {
        /// The Job is suspended (`True`) or was resumed (`False`).
        Suspended => "Suspended",
        /// The Job completed successfully.
        Complete => "Complete",
        /// The Job failed.
        Failed => "Failed",
        /// The Job will fail once its remaining pods have terminated.
        FailureTarget => "FailureTarget",
        /// The Job will complete once its remaining pods have terminated.
        SuccessCriteriaMet => "SuccessCriteriaMet",
    }
}

/// `spec` of a Job. Every field is optional on the wire; see
/// [`crate::defaults`] for what the API server fills in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// Maximum number of pods running at once (0 runs nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// Successful pods (or indexes) needed; unset means a work queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
    /// Seconds the Job may be active (since `status.startTime`) before it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// How pod failures are treated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_failure_policy: Option<PodFailurePolicy>,
    /// When an Indexed Job may be declared successful early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_policy: Option<SuccessPolicy>,
    /// Counted failures tolerated before the Job fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    /// Counted failures tolerated per index (Indexed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit_per_index: Option<i32>,
    /// Failed indexes tolerated before the Job fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failed_indexes: Option<i32>,
    /// Which pods belong to the Job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Whether the user manages the selector (otherwise it is generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_selector: Option<bool>,
    /// The pods to run.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Seconds after finishing before the Job is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    /// `NonIndexed` (default) or `Indexed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_mode: Option<CompletionMode>,
    /// Whether the Job is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// When replacement pods may be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_replacement_policy: Option<PodReplacementPolicy>,
    /// The controller that manages this Job; unset means the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `spec.podFailurePolicy`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodFailurePolicy {
    /// Rules, evaluated in order; the first match decides.
    #[serde(default)]
    pub rules: Vec<PodFailurePolicyRule>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One rule of a [`PodFailurePolicy`]: exactly one of `onExitCodes` and
/// `onPodConditions` is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodFailurePolicyRule {
    /// What a match does.
    pub action: PodFailurePolicyAction,
    /// Match on container exit codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exit_codes: Option<PodFailurePolicyOnExitCodesRequirement>,
    /// Match on pod conditions (any pattern).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_pod_conditions: Vec<PodFailurePolicyOnPodConditionsPattern>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for PodFailurePolicyAction {
    fn default() -> Self {
        PodFailurePolicyAction::Other(String::new())
    }
}

/// Exit-code requirement of a pod failure policy rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodFailurePolicyOnExitCodesRequirement {
    /// Restrict the match to this container (or init container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// `In` or `NotIn`.
    pub operator: PodFailurePolicyOnExitCodesOperator,
    /// The exit codes (sorted, unique).
    #[serde(default)]
    pub values: Vec<i32>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Pod-condition pattern of a pod failure policy rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodFailurePolicyOnPodConditionsPattern {
    /// Condition type, e.g. `DisruptionTarget`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Required status; defaults to `True`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConditionStatus>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `spec.successPolicy` (Indexed Jobs only).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuccessPolicy {
    /// Rules; the first satisfied one declares success.
    #[serde(default)]
    pub rules: Vec<SuccessPolicyRule>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One success policy rule: at least one field is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuccessPolicyRule {
    /// Indexes in interval syntax (`0,2-4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_indexes: Option<String>,
    /// How many (of the listed) indexes must succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_count: Option<i32>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `status` of a Job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// Conditions, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<JobCondition>,
    /// When the Job started (or was last resumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the Job completed (successful Jobs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Active pods.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub active: i32,
    /// Succeeded pods (Indexed: succeeded indexes).
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub succeeded: i32,
    /// Counted failed pods.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub failed: i32,
    /// Pods terminating (deletion requested, not yet terminal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating: Option<i32>,
    /// Completed indexes in interval syntax (Indexed only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completed_indexes: String,
    /// Failed indexes in interval syntax (with `backoffLimitPerIndex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_indexes: Option<String>,
    /// Finished pods whose termination is recorded but not yet in the counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncounted_terminated_pods: Option<UncountedTerminatedPods>,
    /// Active pods with a `Ready` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<i32>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// UIDs of finished pods not yet folded into the status counters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UncountedTerminatedPods {
    /// UIDs of succeeded pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub succeeded: Vec<String>,
    /// UIDs of failed pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One condition of a Job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCondition {
    /// Condition type.
    #[serde(rename = "type")]
    pub type_: JobConditionType,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// Last time the condition was probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    /// Last time the condition changed status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl JobStatus {
    /// The condition of this type with status `True`, if any.
    pub fn true_condition(&self, type_: &JobConditionType) -> Option<&JobCondition> {
        self.conditions
            .iter()
            .find(|c| &c.type_ == type_ && c.status == ConditionStatus::True)
    }

    /// Whether the Job has `Complete=True` or `Failed=True`
    /// (upstream `util.IsJobFinished`).
    pub fn is_finished(&self) -> bool {
        self.true_condition(&JobConditionType::Complete).is_some()
            || self.true_condition(&JobConditionType::Failed).is_some()
    }

    /// When the Job finished: the `lastTransitionTime` of its first
    /// `Complete=True` or `Failed=True` condition (upstream's
    /// `jobFinishTime`, what `ttlSecondsAfterFinished` counts from — not
    /// `completionTime`).
    pub fn finish_time(&self) -> Option<Time> {
        self.conditions
            .iter()
            .find(|c| {
                (c.type_ == JobConditionType::Complete || c.type_ == JobConditionType::Failed)
                    && c.status == ConditionStatus::True
            })
            .and_then(|c| c.last_transition_time)
    }
}

impl Job {
    /// The Job's status, or an empty one.
    pub fn status_or_default(&self) -> JobStatus {
        self.status.clone().unwrap_or_default()
    }

    /// Whether `completionMode` is `Indexed`.
    pub fn is_indexed(&self) -> bool {
        self.spec.completion_mode == Some(CompletionMode::Indexed)
    }
}

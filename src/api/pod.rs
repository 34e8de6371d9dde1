//! The parts of a `core/v1` Pod the Job controller reads and writes, shaped
//! as the API server serves them, so a pod from a watch can be handed to the
//! machine as is. Unmodelled fields are kept in `extra` maps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::job::ConditionStatus;
use super::meta::{ObjectMeta, Time};
use super::pod_template::PodSpec;
use super::string_enum::string_enum;
use super::value::Value;

/// A pod (`core/v1`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    /// `v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `Pod`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Metadata: name, uid, labels, annotations, finalizers, owner references.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The pod spec.
    #[serde(default)]
    pub spec: PodSpec,
    /// Observed status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

string_enum! {
    /// `status.phase` of a pod.
    pub enum PodPhase {
        /// Accepted, not all containers running yet.
        Pending => "Pending",
        /// Bound to a node, at least one container running.
        Running => "Running",
        /// All containers terminated successfully.
        Succeeded => "Succeeded",
        /// All containers terminated, at least one in failure.
        Failed => "Failed",
        /// The state could not be obtained.
        Unknown => "Unknown",
    }
}

/// `status` of a pod.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// Lifecycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PodPhase>,
    /// Conditions (`Ready`, `DisruptionTarget`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PodCondition>,
    /// Statuses of the init containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_container_statuses: Vec<ContainerStatus>,
    /// Statuses of the regular containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_statuses: Vec<ContainerStatus>,
    /// Every other status field, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One pod condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    /// Condition type.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// When the condition was last probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    /// When the condition last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Status of one container.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// Times the container restarted in place.
    #[serde(default)]
    pub restart_count: i32,
    /// Current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ContainerState>,
    /// Every other field, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The state of a container: at most one member is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// Waiting to start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Value>,
    /// Running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Value>,
    /// Terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<ContainerStateTerminated>,
}

/// A terminated container.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateTerminated {
    /// Exit code.
    pub exit_code: i32,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every other field, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Pod {
    /// The pod's phase (`Pending` when no status was observed yet).
    pub fn phase(&self) -> PodPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or(PodPhase::Pending)
    }
}

#[cfg(all(test, feature = "yaml"))]
mod condition_tests {
    use super::*;

    /// A condition read from the API keeps `lastProbeTime` on its way
    /// through (it was dropped).
    #[test]
    fn a_condition_keeps_its_last_probe_time() {
        let text = "type: Ready\nstatus: \"True\"\nlastProbeTime: 2025-01-01T00:00:05Z\nlastTransitionTime: 2025-01-01T00:00:07Z\n";
        let c: PodCondition = serde_yaml::from_str(text).expect("parses");
        assert_eq!(
            c.last_probe_time.map(|t| t.to_rfc3339()),
            Some("2025-01-01T00:00:05+00:00".to_owned())
        );
        let back = serde_yaml::to_string(&c).expect("writes");
        assert!(
            back.contains("lastProbeTime: 2025-01-01T00:00:05Z"),
            "{back}"
        );
        let again: PodCondition = serde_yaml::from_str(&back).expect("parses again");
        assert_eq!(again, c);
    }
}

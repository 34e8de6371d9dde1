//! The pod template of a Job. Only the fields the Job controller and its
//! validation read are typed; everything else is kept verbatim so that a pod
//! can be rendered in full and a manifest round-trips without loss.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;
use super::string_enum::string_enum;
use super::value::Value;

/// `spec.template`: metadata and spec of the pods a Job creates.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// Labels, annotations and finalizers copied onto every pod. Always
    /// written, even empty, as the API server writes it (Go's `omitempty`
    /// never omits a struct): a template read from the API comes back the
    /// same.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The pod spec.
    #[serde(default)]
    pub spec: PodSpec,
}

string_enum! {
    /// `spec.template.spec.restartPolicy`. A Job accepts only `Never` and `OnFailure`.
    pub enum RestartPolicy {
        /// Containers are restarted whatever their exit (rejected for Jobs).
        Always => "Always",
        /// Containers are restarted in place when they fail.
        OnFailure => "OnFailure",
        /// A failed container fails the pod.
        Never => "Never",
    }
}

/// The typed part of a pod spec; every other field is in [`PodSpec::extra`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// Restart policy of the pod's containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Init containers (a sidecar is one with `restartPolicy: Always`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Regular containers.
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Hostname; the controller sets it to `<job>-<index>` for Indexed Jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The node the pod is bound to (set by the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Subdomain (headless service) for Indexed pods' DNS names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    /// Every other pod spec field, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A container. Only `name`, `env` and (for init containers) `restartPolicy`
/// are read; the rest is kept verbatim.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Container name, unique within the pod.
    #[serde(default)]
    pub name: String,
    /// Container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// For init containers: `Always` makes it a sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Every other container field, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// An environment variable of a container.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Value taken from a field, secret, config map or resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<Value>,
}

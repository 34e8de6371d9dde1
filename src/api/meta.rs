//! Object metadata, owner references and label selectors (`meta/v1`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::value::Value;

/// A point in time as Kubernetes writes it: RFC 3339, UTC.
pub type Time = DateTime<Utc>;

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// `metadata` of an object. Fields the crate reads are typed; every other
/// field (`managedFields`, `selfLink`, …) is kept in [`ObjectMeta::extra`] so
/// nothing is lost in a round trip.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name, unique within the namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Prefix from which the API server generates a name when `name` is empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Unique id assigned by the API server.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Opaque version for optimistic concurrency.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Sequence number of the desired state (spec changes).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub generation: i64,
    /// When the object was created. `null` is accepted, as kubectl writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// When deletion was requested; set means the object is terminating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Time>,
    /// Grace period granted with the deletion request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Owners of this object; at most one is the controller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    /// Finalizers that hold the object until they are removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Every other metadata field, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ObjectMeta {
    /// Whether nothing is set (so an empty `metadata: {}` can be omitted).
    pub fn is_empty(&self) -> bool {
        *self == ObjectMeta::default()
    }
}

/// A reference from an object to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner, e.g. `batch/v1`.
    pub api_version: String,
    /// Kind of the owner, e.g. `Job`.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner cannot be deleted before this object (foreground deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// A label query (`matchLabels` AND `matchExpressions`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements that must all hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One set-based requirement of a [`LabelSelector`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` / `NotIn`; empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Fields this crate does not model (a newer API version's, say):
    /// kept as read and written back unchanged. Strict parsing
    /// (`FieldValidation::Strict`, the default of `parse_job`) rejects them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl LabelSelector {
    /// Whether the selector selects nothing-in-particular, i.e. is empty.
    /// (Upstream: an empty selector matches everything, which a Job forbids.)
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether a set of labels satisfies this selector. Unknown operators
    /// match nothing (validation rejects them before this is asked).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|req| {
                let value = labels.get(&req.key);
                match req.operator.as_str() {
                    "In" => value.is_some_and(|v| req.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !req.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

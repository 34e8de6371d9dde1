//! A JSON merge patch (RFC 7386) from one Job status to another, for
//! callers that write the status with `PATCH` rather than `PUT`.

use std::collections::BTreeMap;

use super::to_value::to_value;
use super::{JobStatus, Value};

impl JobStatus {
    /// The JSON merge patch (RFC 7386, `application/merge-patch+json`)
    /// that turns `last_written` into this status, for the `status`
    /// subresource: `{"status": <this>}`.
    ///
    /// Only what changed is in it. A counter that drops to zero is written
    /// as an explicit `0` (and an emptied `completedIndexes` as `""`): the
    /// status omits zero counters, as Go's `omitempty` does, so a patch
    /// built by comparing the two serialized statuses naïvely would leave a
    /// stored `active: 5` in place. A field that went away (a pointer field
    /// in Go: `startTime`, `ready`, `failedIndexes`, …) is `null`, which
    /// removes it. Lists (`conditions`, the uncounted UIDs) are replaced
    /// whole, as merge patches do.
    ///
    /// The other ways to write the status:
    /// - `PUT` of the status subresource (kube-rs `Api::replace_status`):
    ///   send the Job with this status whole, with the `resourceVersion`
    ///   last read; on a conflict, read the Job again and
    ///   [`restore`](crate::JobController::restore) the machine from it.
    /// - server-side apply (kube-rs `Patch::Apply`, one field manager,
    ///   forced): send the status whole; a field the manager set before and
    ///   leaves out now (a zero counter) is removed, which is zero.
    ///
    /// ```
    /// use job_controller::api::{JobStatus, Value};
    ///
    /// let last = JobStatus { active: 5, ready: Some(5), ..Default::default() };
    /// let now = JobStatus { active: 0, ready: Some(0), succeeded: 5, ..Default::default() };
    /// let patch = now.merge_patch_from(&last);
    /// let fields = patch.as_map().unwrap();
    /// assert_eq!(fields["active"], Value::Int(0));
    /// assert_eq!(fields["ready"], Value::Int(0));
    /// assert_eq!(fields["succeeded"], Value::Int(5));
    /// assert_eq!(fields.len(), 3, "nothing else changed");
    /// ```
    #[must_use]
    pub fn merge_patch_from(&self, last_written: &JobStatus) -> Value {
        // A status always serializes (strings, integers, times, lists and
        // string-keyed maps); were it ever not to, `Null` stands for "no
        // patch" rather than a panic.
        let (Ok(Value::Map(old)), Ok(Value::Map(new))) = (to_value(last_written), to_value(self))
        else {
            return Value::Null;
        };
        Value::Map(diff(&old, &new, absent_status_field))
    }
}

/// What a top-level status field that is absent from the new status is set
/// to: its zero for the fields Go declares without a pointer (omitted when
/// zero), `null` (removed) for the others.
fn absent_status_field(key: &str) -> Value {
    match key {
        "active" | "succeeded" | "failed" => Value::Int(0),
        "completedIndexes" => Value::String(String::new()),
        _ => Value::Null,
    }
}

/// RFC 7386's patch from `old` to `new`: changed or added fields, maps
/// patched field by field, fields gone set to `absent(key)`.
fn diff(
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    absent: fn(&str) -> Value,
) -> BTreeMap<String, Value> {
    let mut patch = BTreeMap::new();
    for (key, value) in new {
        match (old.get(key), value) {
            (Some(before), _) if before == value => {}
            (Some(Value::Map(before)), Value::Map(after)) => {
                let inner = diff(before, after, |_| Value::Null);
                if !inner.is_empty() {
                    patch.insert(key.clone(), Value::Map(inner));
                }
            }
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        patch.insert(key.clone(), absent(key));
    }
    patch
}

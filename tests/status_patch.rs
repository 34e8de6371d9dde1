//! `JobStatus::merge_patch_from`: applied as the API server applies a JSON
//! merge patch (RFC 7386) to the stored status, the patch gives exactly the
//! new status; and it carries only what changed.

mod common;

use job_controller::api::{JobStatus, Value};
use proptest::prelude::*;
use serde_json::{Map, Value as Json};

use common::strategies;

const DEFAULT_CASES: u32 = 512;

/// RFC 7386 `MergePatch(target, patch)`, as the API server applies
/// `application/merge-patch+json`.
fn apply(target: &mut Json, patch: &Json) {
    let Json::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    if let Json::Object(doc) = target {
        for (key, value) in fields {
            if value.is_null() {
                doc.remove(key);
            } else {
                apply(doc.entry(key.clone()).or_insert(Json::Null), value);
            }
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<Json, TestCaseError> {
    serde_json::to_value(value).map_err(|e| TestCaseError::fail(e.to_string()))
}

proptest! {
    #![proptest_config(common::proptest_config(DEFAULT_CASES))]

    #[test]
    fn the_patch_turns_the_last_written_status_into_the_new_one(
        last in strategies::job_status(),
        new in strategies::job_status(),
    ) {
        let patch = new.merge_patch_from(&last);
        let mut stored = json(&last)?;
        apply(&mut stored, &json(&patch)?);
        let back: JobStatus = serde_json::from_value(stored.clone())
            .map_err(|e| TestCaseError::fail(format!("{e}: {stored}")))?;
        prop_assert_eq!(back, new, "patch {}", json(&patch)?);
    }

    #[test]
    fn an_unchanged_status_needs_an_empty_patch(status in strategies::job_status()) {
        prop_assert_eq!(status.merge_patch_from(&status), Value::Map(Default::default()));
    }

    #[test]
    fn a_changed_counter_is_the_whole_patch_and_zero_is_written(
        last in strategies::job_status(),
        active in 0i32..3,
    ) {
        let new = JobStatus { active, ..last.clone() };
        let patch = new.merge_patch_from(&last);
        let fields = patch.as_map().cloned().unwrap_or_default();
        if active == last.active {
            prop_assert!(fields.is_empty(), "{:?}", fields);
        } else {
            prop_assert_eq!(fields.len(), 1, "{:?}", fields);
            prop_assert_eq!(&fields["active"], &Value::Int(active.into()));
        }
    }
}

#[test]
fn fields_that_go_away_are_removed_and_emptied_indexes_written_empty() {
    let last: JobStatus = serde_json::from_str(
        r#"{"startTime":"2025-01-01T00:00:00Z","active":2,"ready":1,"completedIndexes":"0-3",
            "uncountedTerminatedPods":{"succeeded":["a"],"failed":["b"]}}"#,
    )
    .expect("a status");
    let new: JobStatus = serde_json::from_str(
        r#"{"startTime":"2025-01-01T00:00:00Z","uncountedTerminatedPods":{"failed":["b"]}}"#,
    )
    .expect("a status");
    let patch = serde_json::to_value(new.merge_patch_from(&last)).expect("JSON");
    assert_eq!(
        patch,
        serde_json::json!({
            "active": 0,
            "ready": null,
            "completedIndexes": "",
            "uncountedTerminatedPods": {"succeeded": null},
        })
    );
}

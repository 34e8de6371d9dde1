//! Pod helpers: what a pod is (active, finished, its index) and how the world changes it.

#[allow(unused_imports)]
use super::*;

/// Whether the pod carries the tracking finalizer.
pub(crate) fn has_finalizer(p: &Pod) -> bool {
    p.metadata
        .finalizers
        .iter()
        .any(|f| f == keys::JOB_TRACKING_FINALIZER)
}

pub(super) fn finished(p: &Pod) -> bool {
    matches!(p.phase(), PodPhase::Succeeded | PodPhase::Failed)
}

pub(super) fn is_active(p: &Pod) -> bool {
    !finished(p) && p.metadata.deletion_timestamp.is_none()
}

pub(super) fn is_ready(p: &Pod) -> bool {
    p.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
    })
}

pub(super) fn is_terminating(p: &Pod) -> bool {
    !finished(p) && p.metadata.deletion_timestamp.is_some()
}

/// Upstream `isPodFailed` with `onlyReplaceFailedPods`.
pub(super) fn considered_failed(p: &Pod, only_failed: bool) -> bool {
    p.phase() == PodPhase::Failed
        || (!only_failed
            && p.metadata.deletion_timestamp.is_some()
            && p.phase() != PodPhase::Succeeded)
}

pub(super) fn pod_index(p: &Pod) -> Option<i32> {
    p.metadata
        .annotations
        .get(keys::JOB_COMPLETION_INDEX)
        .and_then(|v| v.parse().ok())
}

pub(super) fn annotation_count(p: &Pod, key: &str) -> i64 {
    p.metadata
        .annotations
        .get(key)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| *v >= 0)
        .map_or(0, i64::from)
}

pub(super) fn absolute_failures(p: &Pod) -> i64 {
    annotation_count(p, keys::JOB_INDEX_FAILURE_COUNT)
        + annotation_count(p, keys::JOB_INDEX_IGNORED_FAILURE_COUNT)
}

/// Upstream `getFinishedTime` (no sidecars here).
pub(super) fn finish_time(p: &Pod) -> DateTime<Utc> {
    let status = p.status.clone().unwrap_or_default();
    let mut latest: Option<DateTime<Utc>> = None;
    let mut all = !status.container_statuses.is_empty();
    for c in &status.container_statuses {
        match c
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.finished_at)
        {
            Some(t) => latest = Some(latest.map_or(t, |l: DateTime<Utc>| l.max(t))),
            None => all = false,
        }
    }
    if all {
        if let Some(t) = latest {
            return t;
        }
    }
    if let Some(t) = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .filter(|c| c.status == ConditionStatus::False)
        .and_then(|c| c.last_transition_time)
    {
        return t;
    }
    if let Some(d) = p.metadata.deletion_timestamp {
        return sat_sub(
            d,
            secs(p.metadata.deletion_grace_period_seconds.unwrap_or(0)),
        );
    }
    p.metadata
        .creation_timestamp
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The machine's merge of a new copy into what it saw (same UID).
pub(super) fn merge_view(old: Option<Pod>, new: &Pod) -> Pod {
    let mut v = new.clone();
    if let Some(old) = old {
        if finished(&old) && old.phase() != new.phase() {
            v.status = old.status.clone();
        }
        if !has_finalizer(&old) {
            v.metadata
                .finalizers
                .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
        }
        if v.metadata.deletion_timestamp.is_none() {
            v.metadata.deletion_timestamp = old.metadata.deletion_timestamp;
        }
    }
    v
}

pub(super) fn same_modulo_finalizers(a: &Pod, b: &Pod) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.metadata.finalizers.clear();
    b.metadata.finalizers.clear();
    a == b
}

/// Parses an interval string (`0,2-4`) leniently.
pub(crate) fn indexes(text: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    out.insert(a);
                }
            }
        }
    }
    out
}

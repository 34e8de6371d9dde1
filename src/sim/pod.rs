//! Changing a pod's status as a kubelet would. Each function edits the pod
//! in place; report it to the controller afterwards
//! ([`Cluster::report`](super::Cluster::report)).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::api::{
    ConditionStatus, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition,
    PodPhase, PodStatus, Value,
};

fn status(pod: &mut Pod) -> &mut PodStatus {
    pod.status.get_or_insert_with(PodStatus::default)
}

fn container_names(pod: &Pod) -> Vec<String> {
    pod.spec.containers.iter().map(|c| c.name.clone()).collect()
}

/// Sets (replacing any of the same type) a pod condition. As the kubelet
/// does, a condition that already has this status is left alone: its
/// `lastTransitionTime` stays the time it last changed.
pub fn set_condition(pod: &mut Pod, type_: &str, value: ConditionStatus, at: DateTime<Utc>) {
    let s = status(pod);
    if s.conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == value)
    {
        return;
    }
    s.conditions.retain(|c| c.type_ != type_);
    s.conditions.push(PodCondition {
        type_: type_.to_owned(),
        status: value,
        last_probe_time: None,
        last_transition_time: Some(at),
        reason: None,
        message: None,
    });
}

/// Adds a condition with a reason, such as
/// `DisruptionTarget=True (PreemptionByScheduler)`.
pub fn add_condition(
    pod: &mut Pod,
    type_: &str,
    value: ConditionStatus,
    reason: Option<String>,
    at: DateTime<Utc>,
) {
    status(pod).conditions.push(PodCondition {
        type_: type_.to_owned(),
        status: value,
        last_probe_time: None,
        last_transition_time: Some(at),
        reason,
        message: None,
    });
}

fn running_state() -> ContainerState {
    ContainerState {
        running: Some(Value::Map(BTreeMap::new())),
        ..Default::default()
    }
}

fn terminated_state(code: i32, at: DateTime<Utc>) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            finished_at: Some(at),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Every container of the pod's spec in `state(name)`, keeping the restart
/// count the kubelet reported for it so far.
fn set_containers(pod: &mut Pod, state: impl Fn(&str) -> ContainerState) {
    let names = container_names(pod);
    let s = status(pod);
    let restarts = |name: &str| {
        s.container_statuses
            .iter()
            .find(|c| c.name == name)
            .map_or(0, |c| c.restart_count)
    };
    let containers = names
        .iter()
        .map(|n| ContainerStatus {
            name: n.clone(),
            restart_count: restarts(n),
            state: Some(state(n)),
            ..Default::default()
        })
        .collect();
    s.container_statuses = containers;
}

/// Phase Pending.
pub fn pending(pod: &mut Pod) {
    status(pod).phase = Some(PodPhase::Pending);
}

/// Phase Running, every container running (restart counts kept).
pub fn running(pod: &mut Pod) {
    status(pod).phase = Some(PodPhase::Running);
    set_containers(pod, |_| running_state());
}

/// Running with `Ready=True` (or `Ready=False` when `ready` is false).
pub fn ready(pod: &mut Pod, ready: bool, at: DateTime<Utc>) {
    if ready {
        running(pod);
    }
    let value = if ready {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    set_condition(pod, "Ready", value, at);
}

/// The first container restarted in place (`restartPolicy: OnFailure`):
/// its restart count becomes `count`; the pod stays Running.
pub fn restarted(pod: &mut Pod, count: i32) {
    running(pod);
    if let Some(first) = status(pod).container_statuses.first_mut() {
        first.restart_count = count;
    }
}

/// The first container's restart count as the kubelet reported it (0
/// before any report).
pub fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.first())
        .map_or(0, |c| c.restart_count)
}

/// The first container restarted in place once more (`restartPolicy:
/// OnFailure`): its restart count goes up by one; the pod stays Running.
pub fn restarted_once_more(pod: &mut Pod) {
    restarted(pod, restart_count(pod).saturating_add(1));
}

/// Every container exited 0 at `at`: phase Succeeded, `Ready=False`
/// (restart counts kept).
pub fn succeeded(pod: &mut Pod, at: DateTime<Utc>) {
    status(pod).phase = Some(PodPhase::Succeeded);
    set_containers(pod, |_| terminated_state(0, at));
    set_condition(pod, "Ready", ConditionStatus::False, at);
}

/// Container `container` (default: the first) exited with `exit_code` at
/// `at`, the others with 0: phase Failed, `Ready=False`.
pub fn failed(pod: &mut Pod, exit_code: i32, container: Option<&str>, at: DateTime<Utc>) {
    let target = container
        .map(str::to_owned)
        .or_else(|| pod.spec.containers.first().map(|c| c.name.clone()))
        .unwrap_or_default();
    status(pod).phase = Some(PodPhase::Failed);
    set_containers(pod, |n| {
        terminated_state(if n == target { exit_code } else { 0 }, at)
    });
    set_condition(pod, "Ready", ConditionStatus::False, at);
}

/// Deletion requested at `at` (kept if already set).
pub fn terminating(pod: &mut Pod, at: DateTime<Utc>) {
    pod.metadata.deletion_timestamp.get_or_insert(at);
}

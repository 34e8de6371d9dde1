//! The machine's compact record of one pod, and the classifications upstream
//! applies to it (`controller_utils.go: IsPodActive`, `IsPodTerminating`,
//! `ActivePods`; `job_controller.go: isPodFailed`; `backoff_utils.go:
//! getFinishedTime`).

#[cfg(test)]
use std::cmp::Ordering;
use std::cmp::Reverse;

use chrono::{DateTime, Duration, Utc};

use crate::api::{ConditionStatus, Pod, PodPhase, keys};

/// A container's observed state, reduced to what the controller reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerRecord {
    pub name: String,
    /// Exit code, when the container is terminated.
    pub exit_code: Option<i32>,
    /// When it terminated (if it did and the time is known).
    pub finished_at: Option<DateTime<Utc>>,
    pub restart_count: i32,
    /// An init container with `restartPolicy: Always`.
    pub sidecar: bool,
}

/// A pod condition, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConditionRecord {
    pub type_: String,
    pub status: ConditionStatus,
    pub last_transition_time: Option<DateTime<Utc>>,
}

/// What the machine remembers of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodRecord {
    pub name: String,
    pub uid: String,
    /// Order in which the machine first saw the pod: upstream's list order.
    pub seq: u64,
    pub phase: PodPhase,
    pub deletion_timestamp: Option<DateTime<Utc>>,
    pub deletion_grace_period_seconds: Option<i64>,
    pub creation_timestamp: Option<DateTime<Utc>>,
    pub scheduled: bool,
    /// Carries the tracking finalizer and the machine has not asked for its
    /// removal: the pod is not counted yet.
    pub finalizer: bool,
    /// Valid completion index from the annotation (non-negative integer).
    pub index: Option<i32>,
    pub failure_count: i32,
    pub ignored_failure_count: i32,
    pub containers: Vec<ContainerRecord>,
    pub init_containers: Vec<ContainerRecord>,
    pub conditions: Vec<ConditionRecord>,
}

/// Parses an index-failure-count annotation as upstream's `parseInt32`:
/// anything unparsable, negative or above i32::MAX reads as 0.
pub(crate) fn parse_count(value: Option<&String>) -> i32 {
    value
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|v| i32::try_from(v).ok())
        .filter(|v| *v >= 0)
        .unwrap_or(0)
}

/// Parses the completion-index annotation as upstream's `getCompletionIndex`.
pub(crate) fn parse_index(value: Option<&String>) -> Option<i32> {
    value
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .and_then(|v| i32::try_from(v).ok())
}

impl PodRecord {
    /// Reduces an observed pod. `seq` is the list position to use if the
    /// pod is new.
    pub fn from_pod(pod: &Pod, seq: u64) -> PodRecord {
        let status = pod.status.clone().unwrap_or_default();
        let sidecars: Vec<&str> = pod
            .spec
            .init_containers
            .iter()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"))
            .map(|c| c.name.as_str())
            .collect();
        let container = |c: &crate::api::ContainerStatus, init: bool| {
            let terminated = c.state.as_ref().and_then(|s| s.terminated.as_ref());
            ContainerRecord {
                name: c.name.clone(),
                exit_code: terminated.map(|t| t.exit_code),
                finished_at: terminated.and_then(|t| t.finished_at),
                restart_count: c.restart_count,
                sidecar: init && sidecars.contains(&c.name.as_str()),
            }
        };
        let annotations = &pod.metadata.annotations;
        PodRecord {
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            seq,
            phase: pod.phase(),
            deletion_timestamp: pod.metadata.deletion_timestamp,
            deletion_grace_period_seconds: pod.metadata.deletion_grace_period_seconds,
            creation_timestamp: pod.metadata.creation_timestamp,
            scheduled: pod.spec.node_name.as_ref().is_some_and(|n| !n.is_empty()),
            finalizer: pod
                .metadata
                .finalizers
                .iter()
                .any(|f| f == keys::JOB_TRACKING_FINALIZER),
            index: parse_index(annotations.get(keys::JOB_COMPLETION_INDEX)),
            failure_count: parse_count(annotations.get(keys::JOB_INDEX_FAILURE_COUNT)),
            ignored_failure_count: parse_count(
                annotations.get(keys::JOB_INDEX_IGNORED_FAILURE_COUNT),
            ),
            containers: status
                .container_statuses
                .iter()
                .map(|c| container(c, false))
                .collect(),
            init_containers: status
                .init_container_statuses
                .iter()
                .map(|c| container(c, true))
                .collect(),
            conditions: status
                .conditions
                .iter()
                .map(|c| ConditionRecord {
                    type_: c.type_.clone(),
                    status: c.status.clone(),
                    last_transition_time: c.last_transition_time,
                })
                .collect(),
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed)
    }

    /// Upstream `IsPodActive`: not finished and not being deleted.
    pub fn is_active(&self) -> bool {
        !self.is_finished() && self.deletion_timestamp.is_none()
    }

    /// Upstream `IsPodTerminating`: being deleted and not finished.
    pub fn is_terminating(&self) -> bool {
        !self.is_finished() && self.deletion_timestamp.is_some()
    }

    fn ready_condition(&self) -> Option<&ConditionRecord> {
        self.conditions.iter().find(|c| c.type_ == "Ready")
    }

    /// Upstream `podutil.IsPodReady`.
    pub fn is_ready(&self) -> bool {
        self.ready_condition()
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// Upstream `isPodFailed`: phase Failed, or — unless only failed pods are
    /// replaced — being deleted without having succeeded.
    pub fn considered_failed(&self, only_replace_failed: bool) -> bool {
        if self.phase == PodPhase::Failed {
            return true;
        }
        !only_replace_failed
            && self.deletion_timestamp.is_some()
            && self.phase != PodPhase::Succeeded
    }

    /// `job-index-failure-count + job-index-ignored-failure-count`.
    pub fn absolute_failure_count(&self) -> i64 {
        i64::from(self.failure_count) + i64::from(self.ignored_failure_count)
    }

    /// Upstream `getFinishedTime` (sidecar-aware): the containers' latest
    /// finish when all regular containers and sidecars have one; else the
    /// `Ready=False` transition; else deletion minus grace; else creation.
    pub fn finish_time(&self) -> DateTime<Utc> {
        if let Some(t) = self.finish_time_from_containers() {
            return t;
        }
        if let Some(t) = self
            .ready_condition()
            .filter(|c| c.status == ConditionStatus::False)
            .and_then(|c| c.last_transition_time)
        {
            return t;
        }
        if let Some(d) = self.deletion_timestamp {
            let grace = self.deletion_grace_period_seconds.unwrap_or(0);
            return crate::time::before(d, Duration::try_seconds(grace).unwrap_or_default());
        }
        self.creation_timestamp.unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn finish_time_from_containers(&self) -> Option<DateTime<Utc>> {
        let relevant = self
            .containers
            .iter()
            .chain(self.init_containers.iter().filter(|c| c.sidecar));
        let mut latest: Option<DateTime<Utc>> = None;
        let mut any = false;
        for c in relevant {
            any = true;
            let t = c.finished_at.filter(|_| c.exit_code.is_some())?;
            latest = Some(latest.map_or(t, |l| l.max(t)));
        }
        if any { latest } else { None }
    }

    /// Sum of restart counts of all containers and init containers.
    pub fn restart_sum(&self) -> i64 {
        self.containers
            .iter()
            .chain(self.init_containers.iter())
            .map(|c| i64::from(c.restart_count))
            .sum()
    }

    fn ready_since(&self) -> Option<DateTime<Utc>> {
        self.ready_condition()
            .filter(|c| c.status == ConditionStatus::True)
            .and_then(|c| c.last_transition_time)
    }

    fn max_restarts(&self, sidecars: bool) -> i32 {
        let list: Box<dyn Iterator<Item = &ContainerRecord>> = if sidecars {
            Box::new(self.init_containers.iter().filter(|c| c.sidecar))
        } else {
            Box::new(self.containers.iter())
        };
        list.map(|c| c.restart_count).max().unwrap_or(0)
    }

    /// The sort key of upstream's `controller.ActivePods` order: the pod to
    /// delete first sorts first (unscheduled, then earlier phase, not ready,
    /// ready more recently, more restarts, newer). Callers break ties on the
    /// name, for determinism.
    pub fn removal_key(&self) -> RemovalKey {
        let phase_rank = match self.phase {
            PodPhase::Pending => 0,
            PodPhase::Unknown => 1,
            PodPhase::Running => 2,
            _ => 3,
        };
        let ready = self.is_ready();
        let since = if ready { self.ready_since() } else { None };
        RemovalKey(
            self.scheduled,
            phase_rank,
            ready,
            since.is_some(),
            Reverse(since),
            Reverse(self.max_restarts(false)),
            Reverse(self.max_restarts(true)),
            self.creation_timestamp.is_some(),
            Reverse(self.creation_timestamp),
        )
    }

    /// Compares two pods in removal order (see [`PodRecord::removal_key`]).
    #[cfg(test)]
    pub fn removal_order(a: &PodRecord, b: &PodRecord) -> Ordering {
        (a.removal_key(), &a.name).cmp(&(b.removal_key(), &b.name))
    }
}

/// See [`PodRecord::removal_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RemovalKey(
    bool,
    u8,
    bool,
    bool,
    Reverse<Option<DateTime<Utc>>>,
    Reverse<i32>,
    Reverse<i32>,
    bool,
    Reverse<Option<DateTime<Utc>>>,
);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn pod(name: &str) -> PodRecord {
        PodRecord {
            name: name.into(),
            uid: name.into(),
            seq: 0,
            phase: PodPhase::Running,
            deletion_timestamp: None,
            deletion_grace_period_seconds: None,
            creation_timestamp: None,
            scheduled: true,
            finalizer: true,
            index: None,
            failure_count: 0,
            ignored_failure_count: 0,
            containers: Vec::new(),
            init_containers: Vec::new(),
            conditions: Vec::new(),
        }
    }

    fn first(a: &PodRecord, b: &PodRecord) -> String {
        match PodRecord::removal_order(a, b) {
            Ordering::Greater => b.name.clone(),
            _ => a.name.clone(),
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn unscheduled_pods_are_removed_before_scheduled_ones() {
        let (mut a, b) = (pod("a"), pod("b"));
        a.scheduled = false;
        assert_eq!(first(&b, &a), "a");
    }

    #[test]
    fn pending_before_unknown_before_running() {
        let (mut p, mut u, r) = (pod("p"), pod("u"), pod("r"));
        p.phase = PodPhase::Pending;
        u.phase = PodPhase::Unknown;
        assert_eq!(first(&r, &u), "u");
        assert_eq!(first(&u, &p), "p");
    }

    #[test]
    fn not_ready_before_ready_and_recently_ready_first() {
        let ready = |name: &str, since: Option<i64>| {
            let mut p = pod(name);
            p.conditions.push(ConditionRecord {
                type_: "Ready".into(),
                status: ConditionStatus::True,
                last_transition_time: since.map(t),
            });
            p
        };
        assert_eq!(first(&ready("r", Some(0)), &pod("n")), "n");
        assert_eq!(first(&ready("old", Some(0)), &ready("new", Some(9))), "new");
        assert_eq!(
            first(&ready("dated", Some(0)), &ready("undated", None)),
            "undated"
        );
    }

    #[test]
    fn more_restarts_first_then_newer_first() {
        let restarts = |name: &str, n: i32| {
            let mut p = pod(name);
            p.containers.push(ContainerRecord {
                name: "main".into(),
                exit_code: None,
                finished_at: None,
                restart_count: n,
                sidecar: false,
            });
            p
        };
        assert_eq!(first(&restarts("calm", 0), &restarts("flaky", 3)), "flaky");
        let (mut old, mut new) = (pod("old"), pod("new"));
        old.creation_timestamp = Some(t(0));
        new.creation_timestamp = Some(t(5));
        assert_eq!(first(&old, &new), "new");
    }

    #[test]
    fn finish_time_prefers_containers_then_ready_false_then_deletion() {
        let mut p = pod("p");
        p.phase = PodPhase::Failed;
        p.creation_timestamp = Some(t(0));
        assert_eq!(p.finish_time(), t(0));
        p.deletion_timestamp = Some(t(30));
        p.deletion_grace_period_seconds = Some(10);
        assert_eq!(p.finish_time(), t(20));
        p.conditions.push(ConditionRecord {
            type_: "Ready".into(),
            status: ConditionStatus::False,
            last_transition_time: Some(t(15)),
        });
        assert_eq!(p.finish_time(), t(15));
        p.containers.push(ContainerRecord {
            name: "main".into(),
            exit_code: Some(1),
            finished_at: Some(t(12)),
            restart_count: 0,
            sidecar: false,
        });
        assert_eq!(p.finish_time(), t(12));
    }

    #[test]
    fn terminating_pods_count_as_failed_only_without_replace_failed_policy() {
        let mut p = pod("p");
        p.deletion_timestamp = Some(t(1));
        assert!(p.considered_failed(false));
        assert!(!p.considered_failed(true));
        p.phase = PodPhase::Succeeded;
        assert!(!p.considered_failed(false));
    }
}

//! Turning conformance-case YAML into API objects, and comparing results.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use job_controller::api::{
    ConditionStatus, ContainerState, ContainerStateTerminated, ContainerStatus, Job, JobStatus,
    ObjectMeta, OwnerReference, Pod, PodCondition, PodPhase, PodStatus, Value, keys,
};
use job_controller::{ValidJob, defaults, parse_job};
use serde_yaml::Value as Y;

pub(crate) const DEFAULT_NOW: &str = "2025-01-01T00:00:00Z";
/// FORMAT.md: finished pods without `finishedAt` finished long ago.
pub(crate) const LONG_AGO: &str = "0001-01-01T00:00:01Z";

pub(crate) fn time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad time {text:?}: {e}"))
}

pub(crate) fn get<'a>(node: &'a Y, key: &str) -> Option<&'a Y> {
    node.get(key).filter(|v| !v.is_null())
}

pub(crate) fn str_of(node: &Y) -> String {
    match node {
        Y::String(s) => s.clone(),
        Y::Number(n) => n.to_string(),
        Y::Bool(b) => b.to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// `10s`, `1.5s`, `2m`, `1h`, `500ms`.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (num, unit) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        return Err(format!("bad duration {text:?}"));
    };
    let value: f64 = num.parse().map_err(|_| format!("bad duration {text:?}"))?;
    Ok(Duration::milliseconds(
        (value * unit * 1000.0).round() as i64
    ))
}

/// The case's Job as the API server would hold it: name and namespace
/// defaulted, a UID assigned, the selector generated, defaults applied.
pub(crate) fn stored_job(node: &Y) -> Result<ValidJob, String> {
    let mut job = parse_node_as_job(node)?;
    if job.metadata.name.is_empty() {
        job.metadata.name = "foobar".into();
    }
    if job.metadata.namespace.is_empty() {
        job.metadata.namespace = "default".into();
    }
    if job.metadata.uid.is_empty() {
        job.metadata.uid = format!("{}-uid", job.metadata.name);
    }
    if job.spec.template.spec.containers.is_empty() {
        let default: Job = parse_job(
            "spec: {template: {spec: {restartPolicy: Never, containers: [{name: main, image: foo/bar}]}}}",
        )
        .map_err(|e| e.to_string())?;
        if job.spec.template.spec.restart_policy.is_none() {
            job.spec.template.spec.restart_policy = default.spec.template.spec.restart_policy;
        }
        job.spec.template.spec.containers = default.spec.template.spec.containers;
    }
    defaults::generate_selector(&mut job);
    ValidJob::from_stored(job).map_err(|e| format!("case job does not validate: {e}"))
}

pub(crate) fn parse_node_as_job(node: &Y) -> Result<Job, String> {
    let text = serde_yaml::to_string(node).map_err(|e| e.to_string())?;
    parse_job(&text).map_err(|e| format!("case job does not parse: {e}"))
}

/// Expands the case's `pods:` list into API pods.
pub(crate) fn case_pods(
    node: Option<&Y>,
    job: &ValidJob,
    now: DateTime<Utc>,
) -> Result<Vec<Pod>, String> {
    let Some(Y::Sequence(items)) = node else {
        return Ok(Vec::new());
    };
    let mut pods = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let count = get(item, "count").and_then(Y::as_u64).unwrap_or(1);
        for k in 0..count {
            let name = match get(item, "name") {
                Some(v) if count == 1 => str_of(v),
                Some(v) => format!("{}-{k}", str_of(v)),
                None => format!("{}-pod-{n}-{k}", job.name()),
            };
            pods.push(case_pod(item, &name, job, now)?);
        }
    }
    Ok(pods)
}

fn containers(
    node: Option<&Y>,
    finished_at: DateTime<Utc>,
) -> Result<Vec<ContainerStatus>, String> {
    let Some(Y::Sequence(items)) = node else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|c| {
            let exit = get(c, "exitCode").and_then(Y::as_i64);
            let state = get(c, "state").and_then(Y::as_str);
            let terminated = exit.is_some() || state == Some("terminated");
            let state = if terminated {
                ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: exit.unwrap_or(0) as i32,
                        finished_at: Some(finished_at),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            } else if state == Some("waiting") {
                ContainerState {
                    waiting: Some(Value::Map(BTreeMap::new())),
                    ..Default::default()
                }
            } else {
                ContainerState {
                    running: Some(Value::Map(BTreeMap::new())),
                    ..Default::default()
                }
            };
            Ok(ContainerStatus {
                name: get(c, "name").map(str_of).unwrap_or_else(|| "main".into()),
                restart_count: get(c, "restartCount").and_then(Y::as_i64).unwrap_or(0) as i32,
                state: Some(state),
                ..Default::default()
            })
        })
        .collect()
}

fn case_pod(item: &Y, name: &str, job: &ValidJob, now: DateTime<Utc>) -> Result<Pod, String> {
    let phase: PodPhase = get(item, "phase")
        .and_then(Y::as_str)
        .unwrap_or("Pending")
        .into();
    let finished = matches!(phase, PodPhase::Succeeded | PodPhase::Failed);
    let finished_at = match get(item, "finishedAt") {
        Some(v) => time(&str_of(v))?,
        None => time(LONG_AGO)?,
    };
    let mut status = PodStatus {
        phase: Some(phase.clone()),
        container_statuses: containers(get(item, "containers"), finished_at)?,
        init_container_statuses: containers(get(item, "initContainers"), finished_at)?,
        ..Default::default()
    };
    if finished && status.container_statuses.is_empty() {
        // A finished pod's container terminated; exit code 0 never matches a
        // pod failure policy, so this adds only the finish time.
        status.container_statuses.push(ContainerStatus {
            name: "main".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 0,
                    finished_at: Some(finished_at),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    if get(item, "ready").and_then(Y::as_bool) == Some(true) {
        status.conditions.push(PodCondition {
            type_: "Ready".into(),
            status: ConditionStatus::True,
            last_probe_time: None,
            last_transition_time: None,
            reason: None,
            message: None,
        });
    }
    if let Some(Y::Sequence(conds)) = get(item, "conditions") {
        for c in conds {
            status.conditions.push(PodCondition {
                type_: get(c, "type").map(str_of).unwrap_or_default(),
                status: get(c, "status")
                    .map(str_of)
                    .as_deref()
                    .unwrap_or("True")
                    .into(),
                last_probe_time: None,
                last_transition_time: None,
                reason: get(c, "reason").map(str_of),
                message: None,
            });
        }
    }
    let mut annotations = BTreeMap::new();
    if let Some(ix) = get(item, "index") {
        annotations.insert(keys::JOB_COMPLETION_INDEX.to_owned(), str_of(ix));
    }
    if let Some(v) = get(item, "failureCount") {
        annotations.insert(keys::JOB_INDEX_FAILURE_COUNT.to_owned(), str_of(v));
    }
    if let Some(v) = get(item, "ignoredFailureCount") {
        annotations.insert(keys::JOB_INDEX_IGNORED_FAILURE_COUNT.to_owned(), str_of(v));
    }
    let finalizer = get(item, "finalizer").and_then(Y::as_bool).unwrap_or(true);
    let uid = get(item, "uid")
        .map(str_of)
        .unwrap_or_else(|| name.to_owned());
    Ok(Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: ObjectMeta {
            name: name.to_owned(),
            namespace: job.namespace().to_owned(),
            uid,
            annotations,
            labels: job.spec().template.metadata.labels.clone(),
            // FORMAT.md: the pods are the ones the Job owns.
            owner_references: vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
                name: job.name().to_owned(),
                uid: job.uid().to_owned(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }],
            finalizers: if finalizer {
                vec![keys::JOB_TRACKING_FINALIZER.to_owned()]
            } else {
                Vec::new()
            },
            creation_timestamp: match get(item, "creationTimestamp") {
                Some(v) => Some(time(&str_of(v))?),
                None => None,
            },
            deletion_timestamp: if get(item, "terminating").and_then(Y::as_bool) == Some(true) {
                Some(now)
            } else {
                None
            },
            ..Default::default()
        },
        spec: job.spec().template.spec.clone(),
        status: Some(status),
    })
}

/// Compares the expected status fields (only those given) with `status`.
pub(crate) fn compare_status(expect: &Y, status: &JobStatus, diffs: &mut Vec<String>) {
    let Some(map) = expect.as_mapping() else {
        return;
    };
    for (k, want) in map {
        let key = str_of(k);
        let got: Option<String> = match key.as_str() {
            "active" => Some(status.active.to_string()),
            "succeeded" => Some(status.succeeded.to_string()),
            "failed" => Some(status.failed.to_string()),
            "ready" => Some(status.ready.unwrap_or(0).to_string()),
            "terminating" => Some(status.terminating.unwrap_or(0).to_string()),
            "completedIndexes" => Some(status.completed_indexes.clone()),
            "failedIndexes" => Some(status.failed_indexes.clone().unwrap_or_default()),
            "startTime" | "completionTime" => {
                let t = if key == "startTime" {
                    status.start_time
                } else {
                    status.completion_time
                };
                let want_s = str_of(want);
                let ok = match want_s.as_str() {
                    "present" => t.is_some(),
                    "absent" => t.is_none(),
                    exact => time(exact).ok() == t,
                };
                if !ok {
                    diffs.push(format!("status.{key}: want {want_s}, got {t:?}"));
                }
                None
            }
            "conditions" => {
                compare_conditions(want, status, diffs);
                None
            }
            other => {
                diffs.push(format!("status.{other}: not a comparable field"));
                None
            }
        };
        if let Some(got) = got {
            let want_s = str_of(want);
            if got != want_s {
                diffs.push(format!("status.{key}: want {want_s:?}, got {got:?}"));
            }
        }
    }
}

fn compare_conditions(want: &Y, status: &JobStatus, diffs: &mut Vec<String>) {
    let wanted: Vec<&Y> = want
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let render =
        |c: &job_controller::api::JobCondition| format!("{}={}({})", c.type_, c.status, c.reason);
    let ok = wanted.len() == status.conditions.len()
        && wanted.iter().zip(&status.conditions).all(|(w, c)| {
            get(w, "type").map(str_of).as_deref() == Some(c.type_.as_str())
                && get(w, "status").map(str_of).as_deref() == Some(c.status.as_str())
                && get(w, "reason").is_none_or(|r| str_of(r) == c.reason)
                && get(w, "message").is_none_or(|m| str_of(m) == c.message)
        });
    if !ok {
        let want_s: Vec<String> = wanted
            .iter()
            .map(|w| {
                format!(
                    "{}={}({}){}",
                    get(w, "type").map(str_of).unwrap_or_default(),
                    get(w, "status").map(str_of).unwrap_or_default(),
                    get(w, "reason").map(str_of).unwrap_or_default(),
                    get(w, "message")
                        .map(|m| format!(" {:?}", str_of(m)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let got_msgs: Vec<String> = status
            .conditions
            .iter()
            .map(|c| format!("{} {:?}", render(c), c.message))
            .collect();
        diffs.push(format!(
            "status.conditions: want {want_s:?}, got {got_msgs:?}"
        ));
    }
}

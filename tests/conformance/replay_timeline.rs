//! `kind: timeline` cases: a Job driven through the machine's event API, as
//! a simulator drives it (FORMAT.md, "kind: timeline").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use job_controller::api::{
    ConditionStatus, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition,
    PodPhase, PodStatus, Value, keys,
};
use job_controller::{Action, JobController, PodEvent, ValidJob};
use serde_yaml::Value as Y;

use super::fixtures::{self, get, str_of};

/// What the runner saw the controller do during one step.
#[derive(Default)]
struct StepLog {
    created: Vec<(String, Option<i32>)>,
    deleted: Vec<String>,
    delete_job: bool,
}

struct World {
    ctl: JobController,
    start: DateTime<Utc>,
    /// Pods as the API holds them, by name.
    pods: BTreeMap<String, Pod>,
    /// p1, p2, … in creation order.
    created_order: Vec<String>,
    /// Latest pod per index.
    by_index: BTreeMap<i32, String>,
}

impl World {
    /// Carries out every queued action, acknowledging creations (pending)
    /// and deletions (terminating) at once, until the machine is quiet.
    fn drain(&mut self, now: DateTime<Utc>, log: &mut StepLog) -> Result<(), String> {
        let mut guard = 0;
        while let Some(action) = self.ctl.poll_action() {
            guard += 1;
            if guard > 100_000 {
                return Err("the controller never went quiet".into());
            }
            match action {
                Action::CreatePod(p) => {
                    let mut pod = p.pod;
                    let name = pod.metadata.name.clone();
                    pod.metadata.uid = name.clone();
                    pod.metadata.creation_timestamp = Some(now);
                    pod.status = Some(PodStatus {
                        phase: Some(PodPhase::Pending),
                        ..Default::default()
                    });
                    self.created_order.push(name.clone());
                    if let Some(i) = p.index {
                        self.by_index.insert(i, name.clone());
                    }
                    log.created.push((name.clone(), p.index));
                    self.pods.insert(name, pod.clone());
                    self.ctl
                        .handle_pod(now, PodEvent::Observed(pod))
                        .map_err(|e| e.to_string())?;
                }
                Action::DeletePod { name, .. } => {
                    log.deleted.push(name.clone());
                    if let Some(pod) = self.pods.get_mut(&name) {
                        pod.metadata.deletion_timestamp.get_or_insert(now);
                        let pod = pod.clone();
                        self.ctl
                            .handle_pod(now, PodEvent::Observed(pod))
                            .map_err(|e| e.to_string())?;
                    }
                }
                Action::RemoveFinalizer { name, .. } => {
                    if let Some(pod) = self.pods.get_mut(&name) {
                        pod.metadata
                            .finalizers
                            .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                    }
                }
                Action::DeleteJob { .. } => log.delete_job = true,
                _ => {}
            }
        }
        Ok(())
    }

    fn resolve(&self, label: &str) -> Result<String, String> {
        let (kind, n) = label.split_at(1);
        let n: usize = n.parse().map_err(|_| format!("bad pod label {label:?}"))?;
        match kind {
            "p" => self
                .created_order
                .get(n.wrapping_sub(1))
                .cloned()
                .ok_or_else(|| format!("no pod {label}")),
            "i" => i32::try_from(n)
                .ok()
                .and_then(|i| self.by_index.get(&i).cloned())
                .ok_or_else(|| format!("no pod for index {n}")),
            _ => Err(format!("bad pod label {label:?}")),
        }
    }

    fn label_of(&self, name: &str) -> String {
        self.created_order
            .iter()
            .position(|n| n == name)
            .map_or_else(|| name.to_owned(), |i| format!("p{}", i + 1))
    }
}

fn set_condition(status: &mut PodStatus, type_: &str, value: ConditionStatus, at: DateTime<Utc>) {
    status.conditions.retain(|c| c.type_ != type_);
    status.conditions.push(PodCondition {
        type_: type_.into(),
        status: value,
        last_transition_time: Some(at),
        reason: None,
        message: None,
    });
}

fn terminated(name: &str, code: i32, at: DateTime<Utc>) -> ContainerStatus {
    ContainerStatus {
        name: name.into(),
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                finished_at: Some(at),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Applies a pod event to the runner's copy of the pod; returns the event
/// for the machine.
fn pod_event(world: &mut World, step: &Y, at: DateTime<Utc>) -> Result<PodEvent, String> {
    let label = get(step, "pod").map(str_of).unwrap_or_default();
    let name = world.resolve(&label)?;
    let event = get(step, "event").map(str_of).unwrap_or_default();
    if event == "deleted" {
        world.pods.remove(&name);
        return Ok(PodEvent::Gone { name });
    }
    let pod = world
        .pods
        .get_mut(&name)
        .ok_or_else(|| format!("pod {label} is gone"))?;
    let containers: Vec<String> = pod.spec.containers.iter().map(|c| c.name.clone()).collect();
    let status = pod.status.get_or_insert_with(PodStatus::default);
    let running = |n: &String| ContainerStatus {
        name: n.clone(),
        state: Some(ContainerState {
            running: Some(Value::Map(BTreeMap::new())),
            ..Default::default()
        }),
        ..Default::default()
    };
    match event.as_str() {
        "pending" => status.phase = Some(PodPhase::Pending),
        "running" => {
            status.phase = Some(PodPhase::Running);
            if status.container_statuses.is_empty() {
                status.container_statuses = containers.iter().map(running).collect();
            }
        }
        "ready" => {
            status.phase = Some(PodPhase::Running);
            set_condition(status, "Ready", ConditionStatus::True, at);
        }
        "unready" => set_condition(status, "Ready", ConditionStatus::False, at),
        "succeeded" => {
            status.phase = Some(PodPhase::Succeeded);
            status.container_statuses = containers.iter().map(|c| terminated(c, 0, at)).collect();
            set_condition(status, "Ready", ConditionStatus::False, at);
        }
        "failed" => {
            status.phase = Some(PodPhase::Failed);
            let code = get(step, "exitCode").and_then(Y::as_i64).unwrap_or(1) as i32;
            let target = get(step, "container")
                .map(str_of)
                .unwrap_or_else(|| containers.first().cloned().unwrap_or_default());
            status.container_statuses = containers
                .iter()
                .map(|c| terminated(c, if *c == target { code } else { 0 }, at))
                .collect();
            if let Some(Y::Sequence(conds)) = get(step, "conditions") {
                for c in conds {
                    let value: ConditionStatus = get(c, "status")
                        .map(str_of)
                        .as_deref()
                        .unwrap_or("True")
                        .into();
                    status.conditions.push(PodCondition {
                        type_: get(c, "type").map(str_of).unwrap_or_default(),
                        status: value,
                        last_transition_time: Some(at),
                        reason: get(c, "reason").map(str_of),
                        message: None,
                    });
                }
            }
            set_condition(status, "Ready", ConditionStatus::False, at);
        }
        "restarted" => {
            status.phase = Some(PodPhase::Running);
            let n = get(step, "restartCount").and_then(Y::as_i64).unwrap_or(1) as i32;
            if status.container_statuses.is_empty() {
                status.container_statuses = containers.iter().map(running).collect();
            }
            if let Some(first) = status.container_statuses.first_mut() {
                first.restart_count = n;
            }
        }
        "terminating" => {
            pod.metadata.deletion_timestamp.get_or_insert(at);
        }
        other => return Err(format!("unknown pod event {other:?}")),
    }
    Ok(PodEvent::Observed(pod.clone()))
}

fn merge_patch(target: &mut Y, patch: &Y) {
    match (target, patch) {
        (Y::Mapping(t), Y::Mapping(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if let Some(existing) = t.get_mut(k) {
                    merge_patch(existing, v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn spec_change(world: &World, patch: &Y) -> Result<ValidJob, String> {
    let current = world.ctl.job().job().clone();
    let mut node = serde_yaml::to_value(&current).map_err(|e| e.to_string())?;
    if let Some(spec) = node.get_mut("spec") {
        merge_patch(spec, patch);
    }
    let job = fixtures::parse_node_as_job(&node)?;
    world
        .ctl
        .job()
        .update(job)
        .map_err(|e| format!("spec change rejected: {e}"))
}

fn check_step(world: &World, expect: &Y, log: &StepLog) -> Vec<String> {
    let mut diffs = Vec::new();
    if let Some(w) = get(expect, "creations").and_then(Y::as_u64) {
        if w != log.created.len() as u64 {
            diffs.push(format!("creations: want {w}, got {}", log.created.len()));
        }
    }
    if let Some(Y::Sequence(w)) = get(expect, "createdIndexes") {
        let mut want: Vec<i64> = w.iter().filter_map(Y::as_i64).collect();
        want.sort();
        let mut got: Vec<i64> = log
            .created
            .iter()
            .filter_map(|(_, i)| i.map(i64::from))
            .collect();
        got.sort();
        if want != got {
            diffs.push(format!("createdIndexes: want {want:?}, got {got:?}"));
        }
    }
    if let Some(w) = get(expect, "deletions").and_then(Y::as_u64) {
        if w != log.deleted.len() as u64 {
            diffs.push(format!("deletions: want {w}, got {}", log.deleted.len()));
        }
    }
    if let Some(Y::Sequence(w)) = get(expect, "deleted") {
        let mut want: Vec<String> = Vec::new();
        for label in w {
            want.push(world.resolve(&str_of(label)).unwrap_or_else(|e| e));
        }
        want.sort();
        let mut got = log.deleted.clone();
        got.sort();
        if want != got {
            let show = |v: &[String]| v.iter().map(|n| world.label_of(n)).collect::<Vec<_>>();
            diffs.push(format!(
                "deleted: want {:?}, got {:?}",
                show(&want),
                show(&got)
            ));
        }
    }
    if let Some(s) = get(expect, "status") {
        fixtures::compare_status(s, world.ctl.status(), &mut diffs);
    }
    if let Some(w) = get(expect, "wakeAt") {
        let want_s = str_of(w);
        let got = world.ctl.poll_timeout().map(|t| t.at);
        let ok = if want_s == "none" {
            got.is_none()
        } else {
            match fixtures::duration(&want_s) {
                Ok(d) => got == Some(world.start + d),
                Err(e) => {
                    diffs.push(e);
                    true
                }
            }
        };
        if !ok {
            diffs.push(format!(
                "wakeAt: want {want_s}, got {:?}",
                got.map(|t| (t - world.start).num_milliseconds() as f64 / 1000.0)
            ));
        }
    }
    if let Some(w) = get(expect, "deleteJob").and_then(Y::as_bool) {
        if w != log.delete_job {
            diffs.push(format!("deleteJob: want {w}, got {}", log.delete_job));
        }
    }
    diffs
}

/// Runs one case; `Err` carries the differences of the first failing step.
pub fn run_case(case: &Y) -> Result<(), String> {
    let start = fixtures::time(
        &get(case, "start")
            .map(str_of)
            .unwrap_or_else(|| fixtures::DEFAULT_NOW.into()),
    )?;
    let mut job = fixtures::parse_node_as_job(get(case, "job").ok_or("case has no job")?)?;
    if job.metadata.namespace.is_empty() {
        job.metadata.namespace = "default".into();
    }
    if job.metadata.uid.is_empty() {
        job.metadata.uid = format!("{}-uid", job.metadata.name);
    }
    let valid = ValidJob::create(job).map_err(|e| format!("case job is invalid: {e}"))?;
    let steps = get(case, "steps")
        .and_then(Y::as_sequence)
        .ok_or("case has no steps")?;
    let mut world = World {
        ctl: JobController::new(valid, start),
        start,
        pods: BTreeMap::new(),
        created_order: Vec::new(),
        by_index: BTreeMap::new(),
    };
    for (n, step) in steps.iter().enumerate() {
        let at_text = get(step, "at").map(str_of).unwrap_or_else(|| "0s".into());
        let now = start + fixtures::duration(&at_text)?;
        let mut log = StepLog::default();
        let fail = |e: String| format!("step {n} (at {at_text}): {e}");
        if n > 0 {
            world
                .ctl
                .handle_timeout(now)
                .map_err(|e| fail(e.to_string()))?;
            world.drain(now, &mut log).map_err(fail)?;
            if get(step, "pod").is_some() {
                let event = pod_event(&mut world, step, now).map_err(fail)?;
                world
                    .ctl
                    .handle_pod(now, event)
                    .map_err(|e| fail(e.to_string()))?;
            } else if let Some(patch) = get(step, "spec") {
                let job = spec_change(&world, patch).map_err(fail)?;
                world
                    .ctl
                    .handle_spec_change(now, job)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
        world.drain(now, &mut log).map_err(fail)?;
        if let Some(expect) = get(step, "expect") {
            let diffs = check_step(&world, expect, &log);
            if !diffs.is_empty() {
                return Err(fail(diffs.join("; ")));
            }
        }
    }
    Ok(())
}

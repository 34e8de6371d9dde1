//! `kind: timeline` cases: a Job driven through the machine's event API, as
//! a simulator drives it (FORMAT.md, "kind: timeline").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use job_controller::api::ConditionStatus;
use job_controller::sim::{Cluster, pod};
use job_controller::{JobController, ValidJob};
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
    /// The API server: pods as the API holds them.
    cluster: Cluster,
    start: DateTime<Utc>,
    /// p1, p2, … in creation order.
    created_order: Vec<String>,
    /// Latest pod per index.
    by_index: BTreeMap<i32, String>,
}

impl World {
    /// Lets the cluster carry out every queued action (creations reported
    /// Pending, deletions terminating, at once) until the machine is quiet.
    fn drain(&mut self, now: DateTime<Utc>, log: &mut StepLog) -> Result<(), String> {
        let settled = self
            .cluster
            .settle(&mut self.ctl, now)
            .map_err(|e| e.to_string())?;
        for (name, index) in settled.created {
            self.created_order.push(name.clone());
            if let Some(i) = index {
                self.by_index.insert(i, name.clone());
            }
            log.created.push((name, index));
        }
        log.deleted
            .extend(settled.deleted.into_iter().map(|(name, _)| name));
        log.delete_job |= settled.job_deleted;
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

/// Applies a step's pod event through the cluster (FORMAT.md's events).
fn pod_event(world: &mut World, step: &Y, at: DateTime<Utc>) -> Result<(), String> {
    let label = get(step, "pod").map(str_of).unwrap_or_default();
    let name = world.resolve(&label)?;
    let event = get(step, "event").map(str_of).unwrap_or_default();
    let World { ctl, cluster, .. } = world;
    let known = match event.as_str() {
        "deleted" => cluster.remove(ctl, at, &name).map(|_| true),
        "pending" => cluster.update(ctl, at, &name, pod::pending),
        "running" => cluster.update(ctl, at, &name, pod::running),
        "ready" => cluster.update(ctl, at, &name, |p| pod::ready(p, true, at)),
        "unready" => cluster.update(ctl, at, &name, |p| pod::ready(p, false, at)),
        "succeeded" => cluster.update(ctl, at, &name, |p| pod::succeeded(p, at)),
        "failed" => {
            let code = get(step, "exitCode").and_then(Y::as_i64).unwrap_or(1) as i32;
            let container = get(step, "container").map(str_of);
            let conditions: Vec<(String, ConditionStatus, Option<String>)> =
                match get(step, "conditions") {
                    Some(Y::Sequence(conds)) => conds
                        .iter()
                        .map(|c| {
                            (
                                get(c, "type").map(str_of).unwrap_or_default(),
                                get(c, "status")
                                    .map(str_of)
                                    .as_deref()
                                    .unwrap_or("True")
                                    .into(),
                                get(c, "reason").map(str_of),
                            )
                        })
                        .collect(),
                    _ => Vec::new(),
                };
            cluster.update(ctl, at, &name, |p| {
                pod::failed(p, code, container.as_deref(), at);
                for (type_, status, reason) in conditions {
                    pod::add_condition(p, &type_, status, reason, at);
                }
            })
        }
        "restarted" => {
            let n = get(step, "restartCount").and_then(Y::as_i64).unwrap_or(1) as i32;
            cluster.update(ctl, at, &name, |p| pod::restarted(p, n))
        }
        "terminating" => cluster.update(ctl, at, &name, |p| pod::terminating(p, at)),
        other => return Err(format!("unknown pod event {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    if known {
        Ok(())
    } else {
        Err(format!("pod {label} is gone"))
    }
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
pub(crate) fn run_case(case: &Y) -> Result<(), String> {
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
        cluster: Cluster::new(),
        start,
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
                pod_event(&mut world, step, now).map_err(fail)?;
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

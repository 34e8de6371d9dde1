//! Running a history: the machine, the [`Cluster`] carrying out its
//! actions, a clock, and the [`Invariants`] checked after every input.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::api::{ConditionStatus, Pod, PodPhase, keys};
use crate::sim::{Cluster, pod};
use crate::{ApiError, ApiErrorReason, JobController, MachineError, PodEvent, ValidJob};

use super::history::{Advance, EXIT_CODES, Input, Step};
use super::invariants::{Invariants, Violation};

/// A history that broke a rule (or that the machine refused), with where
/// and the trace that led there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HistoryError {
    /// The step (index into the history) at which it happened; `None`: at
    /// the Job's creation.
    pub step: Option<usize>,
    /// The rule broken; `machine-error` if the machine refused an input.
    pub violation: Violation,
    /// Every input and action so far, one per line.
    pub trace: Vec<String>,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(step) => writeln!(f, "step {step}: {}", self.violation)?,
            None => writeln!(f, "at the Job's creation: {}", self.violation)?,
        }
        writeln!(f, "--- trace (last 40 lines):")?;
        let from = self.trace.len().saturating_sub(40);
        for line in &self.trace[from..] {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HistoryError {}

/// A history run to its end: the machine and the cluster as they were left.
#[derive(Debug)]
#[non_exhaustive]
pub struct Run {
    /// The machine.
    pub controller: JobController,
    /// The pods.
    pub cluster: Cluster,
    /// The clock at the end.
    pub now: DateTime<Utc>,
    /// Every input and action, one per line.
    pub trace: Vec<String>,
}

/// Runs `steps` on a controller for `job` started at `start`, the actions
/// carried out by a [`Cluster`] (every report delivered at once), the
/// [`Invariants`] checked after every input. Moving the clock fires each
/// wake-up due on the way, at its own instant, as a requeue would.
///
/// Inputs pick pods by position among the candidates, in name order
/// (see [`Input`]); an input without a candidate does nothing.
///
/// # Errors
/// The first rule broken, with the trace.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use job_controller::testing::{Advance, Input, Step, run_history};
/// use job_controller::{ValidJob, parse_job};
///
/// let job = parse_job("
/// metadata: {name: pi, namespace: default, uid: u1}
/// spec:
///   completions: 2
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{name: pi, image: perl}]
/// ").unwrap();
/// let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let succeed = |pod| Step { advance: Advance::Secs(5), input: Input::Succeed(pod) };
/// let run = run_history(ValidJob::create(job).unwrap(), start, &[succeed(0), succeed(0)]).unwrap();
/// assert!(run.controller.is_finished());
/// assert_eq!(run.controller.status().succeeded, 2);
/// ```
pub fn run_history(
    job: ValidJob,
    start: DateTime<Utc>,
    steps: &[Step],
) -> Result<Run, HistoryError> {
    let mut r = Runner::new(job, start);
    r.settle().map_err(|v| r.error(None, v))?;
    for (i, step) in steps.iter().enumerate() {
        r.step(step).map_err(|v| r.error(Some(i), v))?;
    }
    Ok(Run {
        controller: r.ctl,
        cluster: r.cluster,
        now: r.now,
        trace: r.trace,
    })
}

/// The last input that reported a pod, for [`Input::Duplicate`].
#[derive(Debug, Clone)]
enum Last {
    Pod(Box<Pod>),
    Gone(String),
}

struct Runner {
    ctl: JobController,
    cluster: Cluster,
    now: DateTime<Utc>,
    rules: Invariants,
    /// Every copy of each pod the runner reported, oldest first.
    copies: BTreeMap<String, Vec<Pod>>,
    /// The copies of pods that are gone.
    gone: Vec<Vec<Pod>>,
    last: Option<Last>,
    trace: Vec<String>,
}

fn machine_error(e: &MachineError) -> Violation {
    Violation {
        rule: "machine-error",
        message: e.to_string(),
    }
}

/// Which pods an input can apply to.
#[derive(Clone, Copy)]
enum Candidates {
    Unfinished,
    NotTerminating,
    NoFinalizer,
    Existing,
}

impl Runner {
    fn new(job: ValidJob, start: DateTime<Utc>) -> Runner {
        let ctl = JobController::new(job, start);
        let rules = Invariants::new(&ctl);
        let mut cluster = Cluster::new();
        cluster.record_actions(true);
        Runner {
            ctl,
            cluster,
            now: start,
            rules,
            copies: BTreeMap::new(),
            gone: Vec::new(),
            last: None,
            trace: Vec::new(),
        }
    }

    fn error(&self, step: Option<usize>, violation: Violation) -> HistoryError {
        HistoryError {
            step,
            violation,
            trace: self.trace.clone(),
        }
    }

    fn secs(&self) -> String {
        format!("{}", self.now.timestamp())
    }

    /// Carries out what the machine asks and checks the rules.
    fn settle(&mut self) -> Result<(), Violation> {
        let settled = self
            .cluster
            .settle(&mut self.ctl, self.now)
            .map_err(|e| machine_error(&e))?;
        let at = self.secs();
        self.trace
            .extend(settled.actions.iter().map(|a| format!("{at}s   {a}")));
        let pending = !self.cluster.held().is_empty();
        self.rules
            .check(&self.ctl, self.now, &settled.actions, pending)
    }

    fn step(&mut self, step: &Step) -> Result<(), Violation> {
        let target = match step.advance {
            Advance::Secs(s) => self
                .now
                .checked_add_signed(TimeDelta::seconds(i64::from(s)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Advance::ToTimeout => self.ctl.poll_timeout().map_or(self.now, |t| t.at),
        };
        // Wake-ups due on the way, each at its own instant.
        while let Some(t) = self.ctl.poll_timeout().filter(|t| t.at <= target) {
            self.now = t.at.max(self.now);
            self.trace
                .push(format!("{}s wake-up ({:?})", self.secs(), t.reason));
            self.ctl
                .handle_timeout(self.now)
                .map_err(|e| machine_error(&e))?;
            self.settle()?;
            if self.ctl.poll_timeout() == Some(t) {
                break;
            }
        }
        self.now = target.max(self.now);
        self.trace
            .push(format!("{}s {:?}", self.secs(), step.input));
        if self.input(step.input)? {
            self.settle()?;
        } else {
            self.trace.pop();
        }
        Ok(())
    }

    /// The pods an input can apply to, in name order.
    fn candidates(&self, c: Candidates) -> Vec<String> {
        self.cluster
            .pods()
            .into_iter()
            .filter(|p| match c {
                Candidates::Unfinished => {
                    !matches!(p.phase(), PodPhase::Succeeded | PodPhase::Failed)
                }
                Candidates::NotTerminating => p.metadata.deletion_timestamp.is_none(),
                Candidates::NoFinalizer => !p
                    .metadata
                    .finalizers
                    .iter()
                    .any(|f| f == keys::JOB_TRACKING_FINALIZER),
                Candidates::Existing => true,
            })
            .map(|p| p.metadata.name.clone())
            .collect()
    }

    fn pick(&self, c: Candidates, sel: u8) -> Option<String> {
        let names = self.candidates(c);
        if names.is_empty() {
            return None;
        }
        names.get(usize::from(sel) % names.len()).cloned()
    }

    /// Changes a pod as a kubelet would and reports it.
    fn edit(
        &mut self,
        c: Candidates,
        sel: u8,
        change: impl FnOnce(&mut Pod),
    ) -> Result<bool, Violation> {
        let Some(name) = self.pick(c, sel) else {
            return Ok(false);
        };
        if let Some(before) = self.cluster.pod(&name) {
            let copies = self.copies.entry(name.clone()).or_default();
            if copies.is_empty() {
                copies.push(before.clone());
            }
        }
        self.cluster
            .update(&mut self.ctl, self.now, &name, change)
            .map_err(|e| machine_error(&e))?;
        if let Some(after) = self.cluster.pod(&name) {
            self.copies.entry(name).or_default().push(after.clone());
            self.last = Some(Last::Pod(Box::new(after.clone())));
        }
        Ok(true)
    }

    /// Delivers a copy of a pod as observed (stale or late).
    fn deliver(&mut self, pod: &Pod) -> Result<bool, Violation> {
        self.ctl
            .handle_pod(self.now, PodEvent::Observed(pod))
            .map_err(|e| machine_error(&e))?;
        self.last = Some(Last::Pod(Box::new(pod.clone())));
        Ok(true)
    }

    /// Applies an input; returns whether it was one (it had a candidate).
    fn input(&mut self, input: Input) -> Result<bool, Violation> {
        match input {
            Input::Run(_)
            | Input::Ready(_)
            | Input::Unready(_)
            | Input::Succeed(_)
            | Input::Fail { .. }
            | Input::Restart(_)
            | Input::Terminate(_) => self.kubelet(input),
            Input::Gone { pod, force } => self.gone(pod, force),
            Input::Duplicate | Input::Stale { .. } | Input::Late { .. } => self.redeliver(input),
            Input::CreateFail(sel) => self.creation(sel, false),
            Input::Ack(sel) => self.creation(sel, true),
            Input::Hold(hold) => {
                self.cluster.hold_creations(hold);
                Ok(false)
            }
            Input::Suspend(_) | Input::Parallelism(_) => self.spec_change(input),
            Input::Timeout => {
                self.ctl
                    .handle_timeout(self.now)
                    .map_err(|e| machine_error(&e))?;
                Ok(true)
            }
        }
    }

    /// A pod changes as a kubelet (or someone deleting it) would change it.
    fn kubelet(&mut self, input: Input) -> Result<bool, Violation> {
        let now = self.now;
        match input {
            Input::Run(sel) => self.edit(Candidates::Unfinished, sel, pod::running),
            Input::Ready(sel) => {
                self.edit(Candidates::Unfinished, sel, |p| pod::ready(p, true, now))
            }
            Input::Unready(sel) => {
                self.edit(Candidates::Unfinished, sel, |p| pod::ready(p, false, now))
            }
            Input::Succeed(sel) => {
                self.edit(Candidates::Unfinished, sel, |p| pod::succeeded(p, now))
            }
            Input::Fail {
                pod: sel,
                code,
                disruption,
            } => {
                let code = EXIT_CODES[usize::from(code) % EXIT_CODES.len()];
                self.edit(Candidates::Unfinished, sel, |p| {
                    pod::failed(p, code, None, now);
                    if disruption {
                        pod::add_condition(
                            p,
                            "DisruptionTarget",
                            ConditionStatus::True,
                            Some("EvictionByEvictionAPI".to_owned()),
                            now,
                        );
                    }
                })
            }
            Input::Restart(sel) if self.ctl.job().restarts_on_failure() => {
                self.edit(Candidates::Unfinished, sel, pod::restarted_once_more)
            }
            Input::Terminate(sel) => self.edit(Candidates::NotTerminating, sel, |p| {
                pod::terminating(p, now);
            }),
            _ => Ok(false),
        }
    }

    /// A pod disappears: one without the finalizer, or (`force`) any.
    fn gone(&mut self, sel: u8, force: bool) -> Result<bool, Violation> {
        let c = if force {
            Candidates::Existing
        } else {
            Candidates::NoFinalizer
        };
        let Some(name) = self.pick(c, sel) else {
            return Ok(false);
        };
        let removed = self
            .cluster
            .remove(&mut self.ctl, self.now, &name)
            .map_err(|e| machine_error(&e))?;
        let mut copies = self.copies.remove(&name).unwrap_or_default();
        copies.extend(removed);
        self.gone.push(copies);
        self.last = Some(Last::Gone(name));
        Ok(true)
    }

    /// An event delivered again, late or out of date.
    fn redeliver(&mut self, input: Input) -> Result<bool, Violation> {
        match input {
            Input::Duplicate => match self.last.clone() {
                Some(Last::Pod(p)) => self.deliver(&p),
                Some(Last::Gone(name)) => {
                    self.ctl
                        .handle_pod(self.now, PodEvent::Gone { name: &name })
                        .map_err(|e| machine_error(&e))?;
                    Ok(true)
                }
                None => Ok(false),
            },
            Input::Stale { pod: sel, age } => {
                let with_history: Vec<&Vec<Pod>> =
                    self.copies.values().filter(|c| c.len() >= 2).collect();
                if with_history.is_empty() {
                    return Ok(false);
                }
                let copies = with_history[usize::from(sel) % with_history.len()];
                let older = &copies[..copies.len() - 1];
                let copy = older[usize::from(age) % older.len()].clone();
                self.deliver(&copy)
            }
            Input::Late { pod: sel, age } => {
                let gone: Vec<&Vec<Pod>> = self.gone.iter().filter(|c| !c.is_empty()).collect();
                if gone.is_empty() {
                    return Ok(false);
                }
                let copies = gone[usize::from(sel) % gone.len()];
                let copy = copies[usize::from(age) % copies.len()].clone();
                self.deliver(&copy)
            }
            _ => Ok(false),
        }
    }

    /// A held creation succeeds (`ack`) or fails.
    fn creation(&mut self, sel: u8, ack: bool) -> Result<bool, Violation> {
        let held = self.cluster.held();
        if held.is_empty() {
            return Ok(false);
        }
        let name = held[usize::from(sel) % held.len()].name().to_owned();
        let r = if ack {
            self.cluster.ack_create(&mut self.ctl, self.now, &name)
        } else {
            let quota = ApiError::new(ApiErrorReason::Other, "exceeded quota: pods");
            self.cluster
                .fail_create(&mut self.ctl, self.now, &name, &quota)
        };
        r.map_err(|e| machine_error(&e))
    }

    /// `spec.suspend` or `spec.parallelism` changes.
    fn spec_change(&mut self, input: Input) -> Result<bool, Violation> {
        let mut job = self.ctl.job().job().clone();
        match input {
            Input::Suspend(s) => job.spec.suspend = Some(s),
            Input::Parallelism(p) => job.spec.parallelism = Some(i32::from(p)),
            _ => return Ok(false),
        }
        // A change the API server would refuse never reaches the
        // controller.
        let Ok(valid) = self.ctl.job().update(job) else {
            return Ok(false);
        };
        self.ctl
            .handle_spec_change(self.now, valid)
            .map_err(|e| machine_error(&e))?;
        Ok(true)
    }
}

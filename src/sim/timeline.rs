//! The log as lines of text whose columns are those of
//! `kubectl get pods,jobs -w`: a pod's line has kubectl's pod columns
//! (`NAME READY STATUS RESTARTS AGE`), a Job's line its Job columns
//! (`NAME STATUS COMPLETIONS DURATION AGE`, kubectl 1.28 and later). Before
//! them the time of the line and the Job; after them what happened (the
//! completion index, the exit code, the controller's action and why).
//!
//! The cells are kubectl's: a pod's STATUS is what kubectl's `printPod`
//! shows for the pod as the kubelet reports it (`Pending`,
//! `ContainerCreating` once a node holds it, `Running`, `Completed` for a
//! container that exited 0, `Error` for one that did not, `Terminating`
//! once deleted); a Job's STATUS and COMPLETIONS are `printJob`'s; ages
//! and durations are in apimachinery's `HumanDuration` format (`45s`,
//! `3m20s`, `15m`, `2h5m`). RESTARTS counts the in-place restarts of a pod
//! whose `restartPolicy` is `OnFailure`; between a crash and its restart
//! the pod shows kubectl's `CrashLoopBackOff`.

use chrono::{DateTime, Utc};

use super::simulation::{
    EVICTION_EXIT_CODE, LogEntry, PodModel, PodRef, SimEvent, Simulation, StatusLine, status_words,
};

impl<B: PodModel> Simulation<B> {
    /// The log as text, a line per entry after two header lines, in the
    /// columns of `kubectl get pods,jobs -w` (see [`super::timeline`]).
    pub fn timeline(&self) -> Timeline<'_, B> {
        Timeline::new(self)
    }
}
use crate::api::JobConditionType;

/// Widths of the kubectl columns that do not depend on the names.
const READY: usize = 5;
const POD_STATUS: usize = 17;
const RESTARTS: usize = 8;
const JOB_STATUS: usize = 13;
const COMPLETIONS: usize = 11;
const DURATION: usize = 8;
const AGE: usize = 6;
/// kubectl's column padding (its tab writer's).
const PAD: &str = "   ";

/// What a pod's line shows, as of the last event logged for it.
#[derive(Debug, Clone, Copy)]
struct PodView {
    created: DateTime<Utc>,
    restarts: i32,
    ready: bool,
    status: &'static str,
    terminal: bool,
}

/// The lines of a simulation's log ([`Simulation::timeline`]): two header
/// lines (pods, Jobs), then one line per log entry.
#[derive(Debug)]
pub struct Timeline<'a, B: PodModel> {
    sim: &'a Simulation<B>,
    entries: std::slice::Iter<'a, LogEntry>,
    headers: u8,
    pods: Vec<Option<PodView>>,
    /// Each Job's last status written so far.
    statuses: Vec<Option<&'a StatusLine>>,
    job_width: usize,
    name_width: usize,
}

impl<'a, B: PodModel> Timeline<'a, B> {
    pub(crate) fn new(sim: &'a Simulation<B>) -> Timeline<'a, B> {
        let job_width = sim
            .jobs()
            .map(|j| sim.job_label(j).chars().count())
            .chain(Some("JOB".len()))
            .max()
            .unwrap_or(3);
        let job_names = sim.jobs().filter_map(|j| sim.controller_of(j)).map(|c| {
            "job.batch/"
                .len()
                .saturating_add(c.job().name().chars().count())
        });
        let pod_names = sim
            .pods()
            .map(|p| "pod/".len().saturating_add(sim.pod_name(p).chars().count()));
        let name_width = job_names.chain(pod_names).max().unwrap_or(4).max(4);
        Timeline {
            sim,
            entries: sim.log().iter(),
            headers: 2,
            pods: vec![None; sim.pods().len()],
            statuses: vec![None; sim.jobs().len()],
            job_width,
            name_width,
        }
    }

    fn lead(&self, time: &str, job: &str, name: &str) -> String {
        format!(
            "{time:>9}{PAD}{job:<jw$}{PAD}{name:<nw$}{PAD}",
            jw = self.job_width,
            nw = self.name_width
        )
    }

    fn pod_line(&self, entry: &LogEntry, pod: PodRef, view: PodView, what: &str) -> String {
        let containers = self
            .sim
            .controller_of(entry.job)
            .map_or(1, |c| c.job().spec().template.spec.containers.len());
        let ready = format!("{}/{containers}", if view.ready { containers } else { 0 });
        let mut line = self.lead(
            &format!("{:.1}s", self.sim.elapsed(entry.at)),
            self.sim.job_label(entry.job),
            &format!("pod/{}", self.sim.pod_name(pod)),
        );
        line.push_str(&format!(
            "{ready:<READY$}{PAD}{:<POD_STATUS$}{PAD}{:<RESTARTS$}{PAD}{:<AGE$}{PAD}{what}",
            view.status,
            view.restarts,
            human_duration(entry.at.signed_duration_since(view.created).num_seconds()),
        ));
        line
    }

    fn job_line(&self, entry: &LogEntry, status: Option<&StatusLine>, what: &str) -> String {
        let ctl = self.sim.controller_of(entry.job);
        let name = ctl.map_or("?", |c| c.job().name());
        let mut line = self.lead(
            &format!("{:.1}s", self.sim.elapsed(entry.at)),
            self.sim.job_label(entry.job),
            &format!("job.batch/{name}"),
        );
        let has = |type_: JobConditionType| {
            status.is_some_and(|s| s.conditions.iter().any(|(t, _)| *t == type_))
        };
        // printJob's order: Complete, Failed, (deleting: Terminating),
        // Suspended, FailureTarget, else Running.
        let state = if has(JobConditionType::Complete) {
            "Complete"
        } else if has(JobConditionType::Failed) {
            "Failed"
        } else if has(JobConditionType::Suspended) {
            "Suspended"
        } else if has(JobConditionType::FailureTarget) {
            "FailureTarget"
        } else {
            "Running"
        };
        let succeeded = status.map_or(0, |s| s.succeeded);
        let completions = match ctl.map(|c| (c.job().completions(), c.job().parallelism())) {
            Some((Some(n), _)) => format!("{succeeded}/{n}"),
            Some((None, p)) if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        };
        let duration = match status.and_then(|s| s.start_time.map(|t| (t, s.completion_time))) {
            None => String::new(),
            Some((start, end)) => human_duration(
                end.unwrap_or(entry.at)
                    .signed_duration_since(start)
                    .num_seconds(),
            ),
        };
        line.push_str(&format!(
            "{state:<JOB_STATUS$}{PAD}{completions:<COMPLETIONS$}{PAD}{duration:<DURATION$}{PAD}\
             {:<AGE$}{PAD}{what}",
            human_duration(
                entry
                    .at
                    .signed_duration_since(self.sim.start())
                    .num_seconds()
            ),
        ));
        line
    }

    fn view(&self, pod: PodRef) -> Option<PodView> {
        self.pods.get(pod_index(pod)).copied().flatten()
    }

    fn set(&mut self, pod: PodRef, view: PodView) -> PodView {
        if let Some(v) = self.pods.get_mut(pod_index(pod)) {
            *v = Some(view);
        }
        view
    }

    fn line(&mut self, entry: &'a LogEntry) -> String {
        match &entry.event {
            SimEvent::StatusWritten(s) => {
                if let Some(last) = self.statuses.get_mut(entry.job.position()) {
                    *last = Some(s);
                }
                self.job_line(entry, Some(s), &format!("status {}", status_words(s)))
            }
            SimEvent::JobDeleted => {
                let last = self.statuses.get(entry.job.position()).copied().flatten();
                self.job_line(entry, last, "delete job (TtlAfterFinished)")
            }
            event => match self.pod_event(entry.at, event) {
                Some((pod, view, what)) => self.pod_line(entry, pod, view, &what),
                None => String::new(),
            },
        }
    }

    /// A pod event: the pod, what its line shows from now on, and the
    /// event in words.
    fn pod_event(
        &mut self,
        now: DateTime<Utc>,
        event: &SimEvent,
    ) -> Option<(PodRef, PodView, String)> {
        let fresh = PodView {
            created: now,
            restarts: 0,
            ready: false,
            status: "Pending",
            terminal: false,
        };
        let (pod, view, what) = match event {
            SimEvent::PodCreated { pod, index } => {
                let what = match index {
                    Some(i) => format!("created by the controller (index {i})"),
                    None => "created by the controller".to_owned(),
                };
                (*pod, fresh, what)
            }
            SimEvent::PodWaiting { pod } => {
                let view = self.view(*pod).unwrap_or(fresh);
                (*pod, view, "waiting: every node slot is taken".to_owned())
            }
            SimEvent::PodScheduled { pod } => {
                let view = PodView {
                    status: "ContainerCreating",
                    ..self.view(*pod).unwrap_or(fresh)
                };
                (*pod, view, "scheduled: holds a node slot".to_owned())
            }
            SimEvent::PodRunning { pod } => {
                let view = PodView {
                    status: "Running",
                    ready: true,
                    ..self.view(*pod).unwrap_or(fresh)
                };
                (*pod, view, "started".to_owned())
            }
            SimEvent::PodSucceeded { pod }
            | SimEvent::PodFailed { pod, .. }
            | SimEvent::PodCrashed { pod, .. }
            | SimEvent::PodRestarted { pod, .. }
            | SimEvent::PodEvicted { pod } => {
                let (view, what) = container_event(self.view(*pod).unwrap_or(fresh), event)?;
                (*pod, view, what)
            }
            SimEvent::PodDeleted { pod, reason } => {
                let before = self.view(*pod).unwrap_or(fresh);
                // kubectl shows a finished pod's end even once deleted.
                let view = if before.terminal {
                    before
                } else {
                    PodView {
                        status: "Terminating",
                        ..before
                    }
                };
                (
                    *pod,
                    view,
                    format!("deleted by the controller ({reason:?})"),
                )
            }
            SimEvent::PodGone { pod } => {
                let view = self.view(*pod).unwrap_or(fresh);
                (*pod, view, "gone from the API".to_owned())
            }
            SimEvent::StatusWritten(_) | SimEvent::JobDeleted => return None,
        };
        Some((pod, self.set(pod, view), what))
    }
}

/// What the kubelet reports of the pod's container (it ended, crashed or
/// was restarted): the pod's line from now on, and the event in words.
fn container_event(before: PodView, event: &SimEvent) -> Option<(PodView, String)> {
    Some(match event {
        SimEvent::PodSucceeded { .. } => (ended(before, "Completed"), "exit 0".to_owned()),
        SimEvent::PodFailed { exit_code, .. } => {
            (ended(before, "Error"), format!("exit {exit_code}"))
        }
        SimEvent::PodEvicted { .. } => (
            ended(before, "Error"),
            format!("evicted: DisruptionTarget (EvictionByEvictionAPI), exit {EVICTION_EXIT_CODE}"),
        ),
        SimEvent::PodCrashed {
            exit_code,
            restart_in,
            ..
        } => (
            PodView {
                status: "CrashLoopBackOff",
                ready: false,
                ..before
            },
            format!(
                "exit {exit_code}: restartPolicy OnFailure, the kubelet restarts it in {restart_in}s"
            ),
        ),
        SimEvent::PodRestarted { restarts, .. } => (
            PodView {
                status: "Running",
                ready: true,
                restarts: *restarts,
                ..before
            },
            "container restarted in place".to_owned(),
        ),
        _ => return None,
    })
}

fn ended(before: PodView, status: &'static str) -> PodView {
    PodView {
        ready: false,
        status,
        terminal: true,
        ..before
    }
}

fn pod_index(pod: PodRef) -> usize {
    pod.index()
}

impl<B: PodModel> Iterator for Timeline<'_, B> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        match self.headers {
            2 => {
                self.headers = 1;
                let mut line = self.lead("TIME", "JOB", "NAME");
                line.push_str(&format!(
                    "{:<READY$}{PAD}{:<POD_STATUS$}{PAD}{:<RESTARTS$}{PAD}{:<AGE$}{PAD}EVENT",
                    "READY", "STATUS", "RESTARTS", "AGE"
                ));
                return Some(line);
            }
            1 => {
                self.headers = 0;
                let mut line = self.lead("TIME", "JOB", "NAME");
                line.push_str(&format!(
                    "{:<JOB_STATUS$}{PAD}{:<COMPLETIONS$}{PAD}{:<DURATION$}{PAD}{:<AGE$}{PAD}EVENT",
                    "STATUS", "COMPLETIONS", "DURATION", "AGE"
                ));
                return Some(line);
            }
            _ => {}
        }
        let entry = self.entries.next()?;
        Some(self.line(entry))
    }
}

/// apimachinery's `duration.HumanDuration` (what kubectl's AGE and
/// DURATION columns show) of `seconds`.
///
/// ```
/// use job_controller::sim::timeline::human_duration;
///
/// assert_eq!(human_duration(45), "45s");
/// assert_eq!(human_duration(119), "119s");
/// assert_eq!(human_duration(200), "3m20s");
/// assert_eq!(human_duration(600), "10m");
/// assert_eq!(human_duration(3 * 3600 + 5 * 60), "3h5m");
/// assert_eq!(human_duration(50 * 3600), "2d2h");
/// ```
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 120 {
        return format!("{}s", seconds.max(0));
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

//! A picture of a simulation: an SVG Gantt chart drawn from the typed log.
//!
//! Up to [`MAX_ROWS`] rows, grouped by Job (a label row per Job, then one
//! row per completion index of an Indexed Job, or per pod): each pod a
//! group (`<g class="pod">`, its name and end as the tooltip) of a pale bar
//! while it waits for a node slot (a simulation with a capacity), a grey
//! bar while it is pending, then a bar coloured by how it ended (green
//! succeeded, red failed, purple evicted, orange deleted, blue still
//! running). The gaps between the pods of one index are the pod-failure
//! backoff. Beyond that many rows a row per pod is unreadable, so the chart
//! shows counts over time instead: pods pending and running, and how many
//! succeeded and failed so far. Both have a time axis and mark the
//! `activeDeadlineSeconds` deadline.
//!
//! The SVG is written by hand: it is a few rectangles, lines and labels,
//! and a drawing crate would be a dependency for the library's users for
//! no gain.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::simulation::{JobRef, LogEntry, PodModel, PodRef, SimEvent, Simulation};

/// Most rows drawn one per index or pod.
pub const MAX_ROWS: usize = 200;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const ROW: f64 = 14.0;
const AXIS: f64 = 36.0;
const CHART_HEIGHT: f64 = 320.0;
/// A pod waiting for a node slot: paler than the grey of pending.
const WAITING: &str = "#e2e5e9";

/// How a pod ended, as far as the log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Succeeded,
    Failed,
    Deleted,
    Evicted,
    Running,
}

/// One pod's life in seconds since the start.
#[derive(Debug, Clone, Copy)]
struct Life {
    created: f64,
    /// When it got a node slot, if it had to wait for one (a simulation
    /// with a capacity).
    scheduled: Option<f64>,
    waited: bool,
    /// In-place restarts of its container (`restartPolicy: OnFailure`).
    restarts: i32,
    running: Option<f64>,
    ended: Option<f64>,
    end: End,
    index: Option<i32>,
    pod: PodRef,
}

fn lives<B: PodModel>(sim: &Simulation<B>, log: &[LogEntry]) -> BTreeMap<PodRef, Life> {
    let mut lives: BTreeMap<PodRef, Life> = BTreeMap::new();
    for entry in log {
        let t = sim.elapsed(entry.at);
        match &entry.event {
            SimEvent::PodCreated { pod, index } => {
                lives.insert(
                    *pod,
                    Life {
                        created: t,
                        scheduled: None,
                        waited: false,
                        restarts: 0,
                        running: None,
                        ended: None,
                        end: End::Running,
                        index: *index,
                        pod: *pod,
                    },
                );
            }
            SimEvent::PodRestarted { pod, restarts } => {
                if let Some(l) = lives.get_mut(pod) {
                    l.restarts = *restarts;
                }
            }
            SimEvent::PodWaiting { pod } => {
                if let Some(l) = lives.get_mut(pod) {
                    l.waited = true;
                }
            }
            SimEvent::PodScheduled { pod } => {
                if let Some(l) = lives.get_mut(pod).filter(|l| l.waited) {
                    l.scheduled = Some(t);
                }
            }
            SimEvent::PodRunning { pod } => {
                if let Some(l) = lives.get_mut(pod) {
                    l.running = Some(t);
                }
            }
            SimEvent::PodSucceeded { pod }
            | SimEvent::PodFailed { pod, .. }
            | SimEvent::PodEvicted { pod } => {
                if let Some(l) = lives.get_mut(pod).filter(|l| l.ended.is_none()) {
                    l.ended = Some(t);
                    l.end = match entry.event {
                        SimEvent::PodSucceeded { .. } => End::Succeeded,
                        SimEvent::PodEvicted { .. } => End::Evicted,
                        _ => End::Failed,
                    };
                }
            }
            SimEvent::PodDeleted { pod, .. } => {
                if let Some(l) = lives.get_mut(pod).filter(|l| l.ended.is_none()) {
                    l.ended = Some(t);
                    l.end = End::Deleted;
                }
            }
            _ => {}
        }
    }
    lives
}

fn words(end: End) -> &'static str {
    match end {
        End::Succeeded => "succeeded",
        End::Failed => "failed",
        End::Deleted => "deleted",
        End::Evicted => "evicted",
        End::Running => "running",
    }
}

fn colour(end: End) -> &'static str {
    match end {
        End::Succeeded => "#2e9d48",
        End::Failed => "#d33a2c",
        End::Deleted => "#e8912d",
        End::Evicted => "#8e5bd1",
        End::Running => "#3b73c4",
    }
}

/// Where second `t` falls on the chart.
struct Scale {
    span: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        LEFT + (t / self.span).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }
}

/// The rows of one Job: a label row, then its rows by label.
struct Group {
    job: JobRef,
    rows: BTreeMap<String, Vec<Life>>,
}

impl Group {
    /// Rows drawn: the label row and the Job's rows.
    fn height(&self) -> usize {
        self.rows.len().saturating_add(1)
    }
}

/// Where a Job's `activeDeadlineSeconds` falls, if the chart can hold it
/// without squashing the run (the deadline counts from the start here:
/// the simulation does not suspend).
fn deadline<B: PodModel>(sim: &Simulation<B>, job: JobRef, end: f64) -> Option<f64> {
    sim.controller_of(job)?
        .job()
        .active_deadline_seconds()
        .map(|d| d as f64)
        .filter(|d| *d <= 1.5 * end.max(1.0))
}

/// The simulation so far as an SVG document.
pub fn svg<B: PodModel>(sim: &Simulation<B>) -> String {
    let log = sim.log();
    let lives = lives(sim, log);
    let end = log.last().map_or(0.0, |e| sim.elapsed(e.at));
    let jobs: Vec<JobRef> = sim.jobs().collect();
    let latest_deadline = jobs
        .iter()
        .filter_map(|j| deadline(sim, *j, end))
        .fold(0.0, f64::max);
    let scale = Scale {
        span: end.max(latest_deadline).max(1.0),
    };
    let groups = groups(sim, &lives);
    let row_count = groups
        .iter()
        .fold(0usize, |n, g| n.saturating_add(g.height()));
    let by_rows = row_count <= MAX_ROWS;
    let height = if by_rows {
        TOP + row_count as f64 * ROW + AXIS
    } else {
        // Room for the legend above the chart.
        TOP + 24.0 + CHART_HEIGHT + AXIS
    };
    let indexed = jobs
        .iter()
        .filter_map(|j| sim.controller_of(*j))
        .filter(|c| c.job().is_indexed())
        .count();
    let what = match (by_rows, indexed) {
        (false, _) => "pods over time",
        (true, 0) => "a row per pod",
        (true, n) if n == jobs.len() => "a row per completion index",
        (true, _) => "a row per completion index (Indexed) or pod",
    };
    let names: Vec<&str> = jobs.iter().map(|j| sim.job_label(*j)).collect();
    let title = match names.as_slice() {
        [one] => format!("Job {one}"),
        many => format!("{} Jobs: {}", many.len(), many.join(", ")),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"10\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"16\" font-size=\"13\">{} — {} pods, {what}</text>\n",
        escape(&title),
        lives.len(),
    );
    let bottom = height - AXIS;
    if by_rows {
        row_chart(&mut out, sim, &scale, &groups, end);
    } else {
        counts(&mut out, &scale, &lives, end, bottom);
        for job in &jobs {
            if let Some(d) = deadline(sim, *job, end) {
                let label = if jobs.len() == 1 {
                    "deadline".to_owned()
                } else {
                    format!("deadline {}", escape(sim.job_label(*job)))
                };
                deadline_line(&mut out, scale.x(d), TOP, bottom, &label);
            }
        }
    }
    axis(&mut out, &scale, bottom);
    out.push_str("</svg>\n");
    out
}

fn deadline_line(out: &mut String, x: f64, top: f64, bottom: f64, label: &str) {
    let _ = writeln!(
        out,
        "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#d33a2c\" \
         stroke-dasharray=\"4 3\"/>\n<text x=\"{x:.1}\" y=\"{}\" fill=\"#d33a2c\">{label}</text>",
        top - 4.0
    );
}

/// Each Job's rows by label: one per completion index (Indexed Jobs) or
/// per pod. Labels are padded to one width, so that name order sorts
/// indexes as numbers.
fn groups<B: PodModel>(sim: &Simulation<B>, lives: &BTreeMap<PodRef, Life>) -> Vec<Group> {
    sim.jobs()
        .map(|job| {
            let of_job = lives.values().filter(|l| sim.pod_job(l.pod) == Some(job));
            let indexed = sim.controller_of(job).is_some_and(|c| c.job().is_indexed());
            let rows = if indexed {
                let mut rows: BTreeMap<i32, Vec<Life>> = BTreeMap::new();
                for l in of_job {
                    rows.entry(l.index.unwrap_or(-1)).or_default().push(*l);
                }
                rows.into_iter()
                    .map(|(i, v)| (format!("{i:>8}"), v))
                    .collect()
            } else {
                of_job
                    .map(|l| (format!("{:>8}", sim.pod_name(l.pod)), vec![*l]))
                    .collect()
            };
            Group { job, rows }
        })
        .collect()
}

/// Each Job a label row (`<text class="job">`) and a row per index or pod:
/// each pod a pale bar while it waits for a node slot, a grey pending bar,
/// then a bar coloured by how it ended.
fn row_chart<B: PodModel>(
    out: &mut String,
    sim: &Simulation<B>,
    scale: &Scale,
    groups: &[Group],
    end: f64,
) {
    let waiting = if sim.capacity().is_some() {
        "pale: waiting for a node slot; "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<text x=\"{LEFT}\" y=\"31\" fill=\"#555\">{waiting}grey pending; then green succeeded, \
         red failed, purple evicted, orange deleted, blue running; \
         a gap in a row is the pod-failure backoff</text>"
    );
    let mut r = 0usize;
    for group in groups {
        let top = TOP + r as f64 * ROW;
        let _ = writeln!(
            out,
            "<text class=\"job\" x=\"6\" y=\"{}\" font-weight=\"bold\">Job {}</text>\n\
             <line x1=\"6\" y1=\"{top:.1}\" x2=\"{}\" y2=\"{top:.1}\" stroke=\"#ccc\"/>",
            top + ROW - 4.0,
            escape(sim.job_label(group.job)),
            WIDTH - RIGHT
        );
        r = r.saturating_add(1);
        for (label, pods) in &group.rows {
            let y = TOP + r as f64 * ROW;
            r = r.saturating_add(1);
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                LEFT - 6.0,
                y + ROW - 4.0,
                escape(label.trim())
            );
            for l in pods {
                // One group per pod, its name and end as the tooltip.
                let restarts = match l.restarts {
                    0 => String::new(),
                    1 => ", 1 restart".to_owned(),
                    n => format!(", {n} restarts"),
                };
                let _ = writeln!(
                    out,
                    "<g class=\"pod\"><title>{} ({}{restarts})</title>",
                    escape(sim.pod_name(l.pod)),
                    words(l.end)
                );
                let started = l.running.unwrap_or(l.ended.unwrap_or(end));
                let mut pending = l.created;
                if l.waited {
                    pending = l.scheduled.unwrap_or(started);
                    bar(out, scale, l.created, pending, y, WAITING);
                }
                bar(out, scale, pending, started, y, "#b9bec6");
                if l.running.is_some() {
                    bar(
                        out,
                        scale,
                        started,
                        l.ended.unwrap_or(end),
                        y,
                        colour(l.end),
                    );
                }
                out.push_str("</g>\n");
            }
        }
        if let Some(d) = deadline(sim, group.job, end) {
            let bottom = TOP + r as f64 * ROW;
            deadline_line(out, scale.x(d), top + 4.0, bottom, "deadline");
        }
    }
}

fn bar(out: &mut String, scale: &Scale, from: f64, to: f64, y: f64, fill: &str) {
    let (x0, x1) = (scale.x(from), scale.x(to));
    let _ = writeln!(
        out,
        "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/>",
        y + 1.0,
        (x1 - x0).max(1.0),
        ROW - 3.0
    );
}

fn axis(out: &mut String, scale: &Scale, y: f64) {
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"black\"/>",
        WIDTH - RIGHT
    );
    // About ten ticks at a round step.
    let raw = scale.span / 10.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw)
        .max(1.0);
    let mut t = 0.0;
    while t <= scale.span {
        let x = scale.x(t);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{y}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"black\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{t}s</text>",
            y + 4.0,
            y + 16.0
        );
        t += step;
    }
}

/// Pods pending and running per time bin, and pods finished (succeeded,
/// failed) by the end of each bin.
struct Bins {
    width: f64,
    pending: Vec<u32>,
    running: Vec<u32>,
    succeeded: Vec<u32>,
    failed: Vec<u32>,
}

impl Bins {
    const COUNT: usize = 400;

    fn of(scale: &Scale, lives: &BTreeMap<PodRef, Life>, end: f64) -> Bins {
        let n = Bins::COUNT;
        let width = scale.span / n as f64;
        let mut bins = Bins {
            width,
            pending: vec![0; n],
            running: vec![0; n],
            succeeded: vec![0; n],
            failed: vec![0; n],
        };
        let at = |t: f64| ((t / width) as usize).min(n - 1);
        for l in lives.values() {
            let started = l.running.unwrap_or(l.ended.unwrap_or(end));
            for b in bins
                .pending
                .iter_mut()
                .take(at(started))
                .skip(at(l.created))
            {
                *b += 1;
            }
            if let Some(r) = l.running {
                let ended = at(l.ended.unwrap_or(end));
                for b in bins.running.iter_mut().take(ended).skip(at(r)) {
                    *b += 1;
                }
            }
            if let Some(e) = l.ended {
                let series = match l.end {
                    End::Succeeded => &mut bins.succeeded,
                    End::Failed => &mut bins.failed,
                    _ => continue,
                };
                for b in series.iter_mut().skip(at(e)) {
                    *b += 1;
                }
            }
        }
        bins
    }
}

/// Pods pending and running per time bin (stacked), and cumulative
/// successes and failures as lines: the chart for Jobs too large for a row
/// per pod.
fn counts(out: &mut String, scale: &Scale, lives: &BTreeMap<PodRef, Life>, end: f64, bottom: f64) {
    let bins = Bins::of(scale, lives, end);
    let bin = bins.width;
    // Two scales: pods at a time (left), finished so far (right).
    let top = bins
        .pending
        .iter()
        .zip(&bins.running)
        .map(|(p, r)| p + r)
        .max()
        .unwrap_or(1)
        .max(1);
    let total = bins
        .succeeded
        .iter()
        .chain(&bins.failed)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let y = |n: u32| bottom - f64::from(n) / f64::from(top) * CHART_HEIGHT;
    let y_total = |n: u32| bottom - f64::from(n) / f64::from(total) * CHART_HEIGHT;
    for (i, (r, p)) in bins.running.iter().zip(&bins.pending).enumerate() {
        let (x0, x1) = (scale.x(i as f64 * bin), scale.x((i + 1) as f64 * bin));
        let _ = writeln!(
            out,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#3b73c4\"/>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#b9bec6\"/>",
            y(*r),
            x1 - x0,
            bottom - y(*r),
            y(r + p),
            x1 - x0,
            y(*r) - y(r + p)
        );
    }
    for (series, colour) in [(&bins.succeeded, "#2e9d48"), (&bins.failed, "#d33a2c")] {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{:.1},{:.1}", scale.x((i as f64 + 0.5) * bin), y_total(*n)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            points.join(" ")
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{top} pods</text>\
         <text x=\"{}\" y=\"{bottom}\" text-anchor=\"end\">0</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{total} finished</text>\
         <text x=\"{LEFT}\" y=\"{}\">grey pending, blue running (stacked, left scale); \
         green succeeded, red failed so far (right scale)</text>",
        LEFT - 6.0,
        bottom - CHART_HEIGHT + 4.0,
        LEFT - 6.0,
        WIDTH - RIGHT,
        bottom - CHART_HEIGHT - 8.0,
        bottom - CHART_HEIGHT - 20.0
    );
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::PodBehaviour;
    use crate::{ValidJob, parse_job};

    fn run(completions: u32, parallelism: u32, indexed: bool, deadline: u32) -> Simulation {
        let mode = if indexed {
            "completionMode: Indexed"
        } else {
            "completionMode: NonIndexed"
        };
        let job = parse_job(&format!(
            "
metadata: {{name: g, namespace: default, uid: u-g}}
spec:
  completions: {completions}
  parallelism: {parallelism}
  {mode}
  backoffLimit: 100000
  activeDeadlineSeconds: {deadline}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]"
        ))
        .expect("parses");
        let mut sim = Simulation::new(
            ValidJob::create(job).expect("valid"),
            PodBehaviour::default(),
            3,
        );
        sim.run_to_end(1_000_000);
        sim
    }

    #[test]
    fn a_small_indexed_job_gets_a_row_per_index() {
        // A deadline near the end of the run (or the run ends at it) is drawn.
        let sim = run(12, 4, true, 100);
        let svg = svg(&sim);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        // A label per index, a green bar per completed index at least.
        for i in 0..12 {
            assert!(
                svg.contains(&format!("text-anchor=\"end\">{i}</text>")),
                "{i}"
            );
        }
        assert!(svg.matches("#2e9d48").count() >= 12);
        assert!(svg.contains("deadline"));
    }

    /// With one node slot, every pod but the first waits: each waiting
    /// pod's group starts with a pale bar, and the legend says what it is;
    /// without a capacity there is none.
    #[test]
    fn time_spent_waiting_for_a_node_slot_is_a_pale_bar() {
        let job = |name: &str| {
            let job = parse_job(&format!(
                "
metadata: {{name: {name}, namespace: default, uid: u-{name}}}
spec:
  completions: 3
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]"
            ))
            .expect("parses");
            ValidJob::create(job).expect("valid")
        };
        let mut sim = Simulation::builder(3)
            .job(job("a"), PodBehaviour::default())
            .job(job("b"), PodBehaviour::default())
            .capacity(std::num::NonZeroUsize::MIN)
            .build()
            .expect("two Jobs");
        assert!(sim.run_to_end(100_000).finished);
        let svg = svg(&sim);
        assert!(svg.contains("pale: waiting for a node slot"));
        let waited = sim
            .log()
            .iter()
            .filter(|e| matches!(e.event, SimEvent::PodWaiting { .. }))
            .count();
        assert!(waited >= 5, "{waited}");
        assert_eq!(svg.matches(WAITING).count(), waited);
        for group in svg.split("<g class=\"pod\">").skip(1) {
            let group = &group[..group.find("</g>").expect("closed")];
            assert!(group.matches("<rect").count() >= 2, "{group}");
        }
        let alone = run(6, 6, false, 1_000_000);
        let svg = super::svg(&alone);
        assert!(!svg.contains(WAITING) && !svg.contains("pale:"));
    }

    #[test]
    fn a_large_job_is_drawn_as_counts_over_time() {
        let sim = run(2_000, 100, false, 1_000_000);
        let svg = svg(&sim);
        assert!(svg.contains("<polyline"), "cumulative lines");
        assert!(svg.contains("pending, blue running"));
        assert!(svg.contains("2000 finished"), "the right scale");
        assert!(
            !svg.contains("deadline"),
            "a deadline far beyond the run is not drawn"
        );
        // Not a row per pod: the document stays small.
        assert!(svg.len() < 400_000, "{} bytes", svg.len());
    }
}

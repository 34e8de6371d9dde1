//! Upstream's Job controller metrics (`pkg/controller/job/metrics`,
//! subsystem `job_controller`) as plain counters: no metrics framework in
//! the core. Each machine counts what its Job did; a controller sums the
//! machines' [`Metrics`] ([`Metrics::add`]) and exports them (the
//! Prometheus text format is [`Metrics::to_prometheus_text`]).
//!
//! `job_sync_duration_seconds` measures wall-clock time, which a sans-IO
//! machine never reads: [`SyncDurations`] is its histogram (upstream's
//! buckets and labels) for the caller to fill, timing each `handle_*` call
//! and the requests it leads to, with the labels of
//! [`JobController::last_sync`](crate::JobController::last_sync).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `completion_mode` label: `NonIndexed` or `Indexed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CompletionModeLabel {
    /// `NonIndexed`.
    NonIndexed,
    /// `Indexed`.
    Indexed,
}

/// `action` label of a sync (upstream `JobSyncAction*`): what `manageJob`
/// did, or `reconciling` when it did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SyncAction {
    /// `reconciling`: `manageJob` did not run (expectations pending, the
    /// Job finishing or being deleted).
    #[default]
    Reconciling,
    /// `tracking`: `manageJob` ran and had nothing to create or delete.
    Tracking,
    /// `pods_created`: it wanted pods (even if a backoff held them back).
    PodsCreated,
    /// `pods_deleted`: it deleted pods (scale-down, suspension).
    PodsDeleted,
}

/// The labels of one sync: `job_syncs_total` and
/// `job_sync_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncLabels {
    /// `completion_mode`.
    pub completion_mode: CompletionModeLabel,
    /// `result`: whether any request of the sync failed (`error`) or not
    /// (`success`).
    pub error: bool,
    /// `action`.
    pub action: SyncAction,
}

/// `reason` label of `job_pods_creation_total` (one per creation round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub(crate) enum CreationReason {
    #[default]
    New,
    RecreateTerminatingOrFailed,
    RecreateFailed,
}

impl CreationReason {
    fn as_str(self) -> &'static str {
        match self {
            CreationReason::New => "new",
            CreationReason::RecreateTerminatingOrFailed => "recreate_terminating_or_failed",
            CreationReason::RecreateFailed => "recreate_failed",
        }
    }
}

impl CompletionModeLabel {
    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CompletionModeLabel::NonIndexed => "NonIndexed",
            CompletionModeLabel::Indexed => "Indexed",
        }
    }
}

impl SyncAction {
    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SyncAction::Reconciling => "reconciling",
            SyncAction::Tracking => "tracking",
            SyncAction::PodsCreated => "pods_created",
            SyncAction::PodsDeleted => "pods_deleted",
        }
    }
}

fn result(error: bool) -> &'static str {
    if error { "error" } else { "success" }
}

fn outcome(failed: bool) -> &'static str {
    if failed { "failed" } else { "succeeded" }
}

/// One sample: a metric's full name, its labels and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sample {
    /// Full name, e.g. `job_controller_job_syncs_total`.
    pub name: &'static str,
    /// Label names and values, in upstream's order.
    pub labels: Vec<(&'static str, String)>,
    /// The counter's value.
    pub value: u64,
}

/// The counters of upstream's Job controller metrics, for one Job or
/// summed over many.
///
/// ```
/// use job_controller::Metrics;
///
/// let m = Metrics::default();
/// assert_eq!(m.value("job_controller_job_syncs_total", &[]), 0);
/// assert!(m.to_prometheus_text().contains("# HELP job_controller_job_syncs_total [STABLE] The number of job syncs"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    // The counters bumped on every sync and write are arrays indexed by
    // their labels; the two with open-ended labels are maps.
    /// [mode][error][action]
    syncs: [[[u64; 4]; 2]; 2],
    /// (mode, failed, reason)
    finished: BTreeMap<(CompletionModeLabel, bool, &'static str), u64>,
    /// [mode][failed]
    pods_finished: [[u64; 2]; 2],
    /// [FailJob, FailIndex, Ignore, Count]
    policy: [u64; 4],
    /// [add, delete]
    tracking_finalizer: [u64; 2],
    /// [failed][per index]
    finished_indexes: [[u64; 2]; 2],
    /// [reason][failed]
    creations: [[u64; 2]; 3],
    external: BTreeMap<String, u64>,
}

const MODES: [CompletionModeLabel; 2] = [
    CompletionModeLabel::NonIndexed,
    CompletionModeLabel::Indexed,
];
const ACTIONS: [SyncAction; 4] = [
    SyncAction::Reconciling,
    SyncAction::Tracking,
    SyncAction::PodsCreated,
    SyncAction::PodsDeleted,
];
const POLICY_ACTIONS: [&str; 4] = ["FailJob", "FailIndex", "Ignore", "Count"];
const REASONS: [CreationReason; 3] = [
    CreationReason::New,
    CreationReason::RecreateTerminatingOrFailed,
    CreationReason::RecreateFailed,
];

/// Adds a sample, if it has a value.
fn push(
    out: &mut Vec<Sample>,
    name: &'static str,
    labels: Vec<(&'static str, String)>,
    value: u64,
) {
    if value > 0 {
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
}

fn add(counter: &mut u64, by: u64) {
    *counter = counter.saturating_add(by);
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, by: u64) {
    let v = map.entry(key).or_insert(0);
    *v = v.saturating_add(by);
}

/// Each counter's name and help text as upstream registers it (the text
/// verbatim, line breaks and tabs included), with the stability level
/// Kubernetes' metrics library puts in front of it.
const HELP: &[(&str, &str)] = &[
    (
        "job_controller_job_syncs_total",
        "[STABLE] The number of job syncs",
    ),
    (
        "job_controller_jobs_finished_total",
        "[STABLE] The number of finished jobs",
    ),
    (
        "job_controller_job_pods_finished_total",
        "[STABLE] The number of finished Pods that are fully tracked",
    ),
    (
        "job_controller_pod_failures_handled_by_failure_policy_total",
        "[BETA] The number of failed Pods handled by failure policy with respect to the failure policy action applied based on the matched rule. Possible values of the action label correspond to the possible values for the failure policy rule action, which are: \"FailJob\", \"Ignore\" and \"Count\".",
    ),
    (
        "job_controller_terminated_pods_tracking_finalizer_total",
        "[BETA] The number of terminated pods (phase=Failed|Succeeded) that have the finalizer batch.kubernetes.io/job-tracking. The event label can be \"add\" or \"delete\".",
    ),
    (
        "job_controller_job_finished_indexes_total",
        "[ALPHA] The number of finished indexes. Possible values for the\n\t\t\tstatus label are: \"succeeded\", \"failed\". Possible values for the\n\t\t\tbackoffLimit label are: \"perIndex\" and \"global\"",
    ),
    (
        "job_controller_job_pods_creation_total",
        "[ALPHA] The number of Pods created by the Job controller labelled with a reason for the Pod creation.\nThis metric also distinguishes between Pods created using different PodReplacementPolicy settings.\nPossible values of the \"reason\" label are:\n\"new\", \"recreate_terminating_or_failed\", \"recreate_failed\".\nPossible values of the \"status\" label are:\n\"succeeded\", \"failed\".",
    ),
    (
        "job_controller_jobs_by_external_controller_total",
        "[ALPHA] The number of Jobs managed by an external controller",
    ),
];

impl Metrics {
    // ---- counting (the machine) ----------------------------------------

    pub(crate) fn sync(&mut self, l: SyncLabels) {
        add(
            &mut self.syncs[l.completion_mode as usize][usize::from(l.error)][l.action as usize],
            1,
        );
    }

    pub(crate) fn job_finished(
        &mut self,
        mode: CompletionModeLabel,
        failed: bool,
        reason: &'static str,
    ) {
        bump(&mut self.finished, (mode, failed, reason), 1);
    }

    pub(crate) fn pods_finished(&mut self, mode: CompletionModeLabel, succeeded: u64, failed: u64) {
        let counts = &mut self.pods_finished[mode as usize];
        add(&mut counts[0], succeeded);
        add(&mut counts[1], failed);
    }

    pub(crate) fn finished_indexes(&mut self, per_index: bool, succeeded: u64, failed: u64) {
        add(
            &mut self.finished_indexes[0][usize::from(per_index)],
            succeeded,
        );
        add(
            &mut self.finished_indexes[1][usize::from(per_index)],
            failed,
        );
    }

    pub(crate) fn policy_action(&mut self, action: &str) {
        if let Some(i) = POLICY_ACTIONS.iter().position(|a| *a == action) {
            add(&mut self.policy[i], 1);
        }
    }

    pub(crate) fn tracking_finalizer(&mut self, added: bool) {
        add(&mut self.tracking_finalizer[usize::from(!added)], 1);
    }

    /// One creation attempt's outcome. Upstream counts every attempt
    /// (failed ones too) as `succeeded`, and failed ones also as `failed`.
    pub(crate) fn creation_attempted(&mut self, reason: CreationReason, failed: bool) {
        add(&mut self.creations[reason as usize][0], 1);
        if failed {
            add(&mut self.creations[reason as usize][1], 1);
        }
    }

    pub(crate) fn external_controller(&mut self, name: &str) {
        bump(&mut self.external, name.to_owned(), 1);
    }

    // ---- reading (the caller) ------------------------------------------

    /// Adds another machine's counters to these (a controller's total).
    pub fn add(&mut self, other: &Metrics) {
        fn merge<K: Ord + Clone>(a: &mut BTreeMap<K, u64>, b: &BTreeMap<K, u64>) {
            for (k, v) in b {
                bump(a, k.clone(), *v);
            }
        }
        fn sum<'a>(a: impl IntoIterator<Item = &'a mut u64>, b: impl IntoIterator<Item = &'a u64>) {
            for (x, y) in a.into_iter().zip(b) {
                add(x, *y);
            }
        }
        sum(
            self.syncs.iter_mut().flatten().flatten(),
            other.syncs.iter().flatten().flatten(),
        );
        merge(&mut self.finished, &other.finished);
        sum(
            self.pods_finished.iter_mut().flatten(),
            other.pods_finished.iter().flatten(),
        );
        sum(&mut self.policy, &other.policy);
        sum(&mut self.tracking_finalizer, &other.tracking_finalizer);
        sum(
            self.finished_indexes.iter_mut().flatten(),
            other.finished_indexes.iter().flatten(),
        );
        sum(
            self.creations.iter_mut().flatten(),
            other.creations.iter().flatten(),
        );
        merge(&mut self.external, &other.external);
    }

    /// Every sample with a value above zero, grouped by metric in
    /// upstream's order, labels in upstream's order.
    #[must_use]
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::new();
        self.job_samples(&mut out);
        self.pod_samples(&mut out);
        out
    }

    /// The samples of the metrics about syncs and Jobs.
    fn job_samples(&self, out: &mut Vec<Sample>) {
        let s = String::from;
        for (m, mode) in MODES.iter().enumerate() {
            for error in [false, true] {
                for (a, action) in ACTIONS.iter().enumerate() {
                    let labels = vec![
                        ("completion_mode", s(mode.as_str())),
                        ("result", s(result(error))),
                        ("action", s(action.as_str())),
                    ];
                    let value = self.syncs[m][usize::from(error)][a];
                    push(out, "job_controller_job_syncs_total", labels, value);
                }
            }
        }
        for ((mode, failed, reason), v) in &self.finished {
            let labels = vec![
                ("completion_mode", s(mode.as_str())),
                ("result", s(outcome(*failed))),
                ("reason", s(reason)),
            ];
            push(out, "job_controller_jobs_finished_total", labels, *v);
        }
        for (name, v) in &self.external {
            let labels = vec![("controller_name", name.clone())];
            push(
                out,
                "job_controller_jobs_by_external_controller_total",
                labels,
                *v,
            );
        }
    }

    /// The samples of the metrics about pods and indexes.
    fn pod_samples(&self, out: &mut Vec<Sample>) {
        let s = String::from;
        for (m, mode) in MODES.iter().enumerate() {
            for failed in [false, true] {
                let labels = vec![
                    ("completion_mode", s(mode.as_str())),
                    ("result", s(outcome(failed))),
                ];
                let value = self.pods_finished[m][usize::from(failed)];
                push(out, "job_controller_job_pods_finished_total", labels, value);
            }
        }
        for (action, v) in POLICY_ACTIONS.iter().zip(self.policy) {
            let labels = vec![("action", s(action))];
            push(
                out,
                "job_controller_pod_failures_handled_by_failure_policy_total",
                labels,
                v,
            );
        }
        for (event, v) in ["add", "delete"].iter().zip(self.tracking_finalizer) {
            let labels = vec![("event", s(event))];
            push(
                out,
                "job_controller_terminated_pods_tracking_finalizer_total",
                labels,
                v,
            );
        }
        for failed in [false, true] {
            for per_index in [false, true] {
                let limit = if per_index { "perIndex" } else { "global" };
                let labels = vec![("status", s(outcome(failed))), ("backoffLimit", s(limit))];
                let value = self.finished_indexes[usize::from(failed)][usize::from(per_index)];
                push(
                    out,
                    "job_controller_job_finished_indexes_total",
                    labels,
                    value,
                );
            }
        }
        for (r, reason) in REASONS.iter().enumerate() {
            for failed in [false, true] {
                let labels = vec![
                    ("reason", s(reason.as_str())),
                    ("status", s(outcome(failed))),
                ];
                let value = self.creations[r][usize::from(failed)];
                push(out, "job_controller_job_pods_creation_total", labels, value);
            }
        }
    }

    /// The sum of a metric's samples whose labels include all of `labels`
    /// (all samples for `&[]`).
    ///
    /// ```
    /// # use job_controller::Metrics;
    /// # let m = Metrics::default();
    /// let errors = m.value("job_controller_job_syncs_total", &[("result", "error")]);
    /// # assert_eq!(errors, 0);
    /// ```
    #[must_use]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.samples()
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .fold(0u64, |sum, s| sum.saturating_add(s.value))
    }

    /// The counters in the Prometheus text exposition format, with
    /// upstream's `HELP` texts.
    #[must_use]
    pub fn to_prometheus_text(&self) -> String {
        let samples = self.samples();
        let mut out = String::new();
        for (name, help) in HELP {
            // The exposition format escapes a help text's backslashes and
            // line breaks.
            let help = help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for s in samples.iter().filter(|s| s.name == *name) {
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), s.value);
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `reason` label of `jobs_finished_total`: the finished condition's
/// reason, one of upstream's (this crate writes no other).
pub(crate) fn static_reason(reason: &str) -> &'static str {
    use crate::status::*;
    [
        REASON_BACKOFF_LIMIT_EXCEEDED,
        REASON_DEADLINE_EXCEEDED,
        REASON_POD_FAILURE_POLICY,
        REASON_MAX_FAILED_INDEXES_EXCEEDED,
        REASON_FAILED_INDEXES,
        REASON_COMPLETIONS_REACHED,
        REASON_SUCCESS_POLICY,
    ]
    .into_iter()
    .find(|r| *r == reason)
    .unwrap_or("")
}

/// Upstream's buckets of `job_sync_duration_seconds`:
/// `ExponentialBuckets(0.004, 2, 15)`, 4 ms to 65.536 s.
pub const SYNC_DURATION_BUCKETS: [f64; 15] = [
    0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
    32.768, 65.536,
];

/// `job_controller_job_sync_duration_seconds` ("The time it took to sync
/// a job"): a histogram per [`SyncLabels`], filled by the caller, who
/// measures the time.
///
/// ```
/// use job_controller::{SyncDurations, SyncAction, SyncLabels, CompletionModeLabel};
///
/// let mut h = SyncDurations::default();
/// let labels = SyncLabels { completion_mode: CompletionModeLabel::NonIndexed, error: false, action: SyncAction::PodsCreated };
/// h.observe(labels, 0.010);
/// let text = h.to_prometheus_text();
/// assert!(text.contains(r#"job_controller_job_sync_duration_seconds_bucket{completion_mode="NonIndexed",result="success",action="pods_created",le="0.016"} 1"#));
/// assert!(text.contains(r#"job_controller_job_sync_duration_seconds_bucket{completion_mode="NonIndexed",result="success",action="pods_created",le="0.008"} 0"#));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncDurations {
    /// Per labels: the count in each bucket (not cumulative), the count
    /// above the last bucket, the sum.
    series: BTreeMap<SyncLabels, ([u64; 15], u64, f64)>,
}

impl SyncDurations {
    /// Records one sync that took `seconds`.
    pub fn observe(&mut self, labels: SyncLabels, seconds: f64) {
        let (buckets, above, sum) = self.series.entry(labels).or_insert(([0; 15], 0, 0.0));
        match SYNC_DURATION_BUCKETS.iter().position(|b| seconds <= *b) {
            Some(i) => buckets[i] = buckets[i].saturating_add(1),
            None => *above = above.saturating_add(1),
        }
        *sum += seconds;
    }

    /// The histogram in the Prometheus text exposition format (cumulative
    /// buckets, `+Inf`, `_sum`, `_count`).
    #[must_use]
    pub fn to_prometheus_text(&self) -> String {
        let name = "job_controller_job_sync_duration_seconds";
        let mut out = format!(
            "# HELP {name} [STABLE] The time it took to sync a job\n# TYPE {name} histogram\n"
        );
        for (l, (buckets, above, sum)) in &self.series {
            let labels = format!(
                "completion_mode=\"{}\",result=\"{}\",action=\"{}\"",
                l.completion_mode.as_str(),
                result(l.error),
                l.action.as_str()
            );
            let mut cumulative = 0u64;
            for (b, n) in SYNC_DURATION_BUCKETS.iter().zip(buckets) {
                cumulative = cumulative.saturating_add(*n);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
            }
            cumulative = cumulative.saturating_add(*above);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
        }
        out
    }
}

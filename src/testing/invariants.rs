//! Rules every history of the machine keeps, checked input by input: the
//! checker a user runs over their own driver's histories.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::api::{ConditionStatus, JobCondition, JobConditionType, JobStatus};
use crate::validation::validate_status_update;
use crate::{Action, JobController};

/// A broken rule: which ([`Violation::rule`], a short stable id such as
/// `delete-once`) and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The rule's id.
    pub rule: &'static str,
    /// What broke it.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.rule, self.message)
    }
}

impl std::error::Error for Violation {}

fn violation(rule: &'static str, message: String) -> Violation {
    Violation { rule, message }
}

/// `Err(violation)` unless `cond` holds.
macro_rules! require {
    ($cond:expr, $rule:literal, $($fmt:tt)+) => {
        if !$cond {
            return Err(violation($rule, format!($($fmt)+)));
        }
    };
}

const FAILURE_REASONS: [&str; 5] = [
    "BackoffLimitExceeded",
    "DeadlineExceeded",
    "PodFailurePolicy",
    "MaxFailedIndexesExceeded",
    "FailedIndexes",
];
const SUCCESS_REASONS: [&str; 2] = ["CompletionsReached", "SuccessPolicy"];

fn condition<'a>(s: &'a JobStatus, t: &JobConditionType) -> Option<(usize, &'a JobCondition)> {
    s.conditions
        .iter()
        .enumerate()
        .find(|(_, c)| c.type_ == *t && c.status == ConditionStatus::True)
}

/// The rules of one status's conditions (`conditions`): no type twice; the
/// final conditions follow their interim ones (`Failed` after
/// `FailureTarget`, `Complete` after `SuccessCriteriaMet`) with the same
/// reason and message; reasons are upstream's; success and failure exclude
/// each other; `completionTime` is set exactly when `Complete` is, to its
/// transition time.
///
/// # Errors
/// The first rule broken.
pub fn check_conditions(s: &JobStatus) -> Result<(), Violation> {
    let mut types = BTreeSet::new();
    for c in &s.conditions {
        require!(
            types.insert(c.type_.to_string()),
            "conditions",
            "condition {} twice in {:?}",
            c.type_,
            s.conditions
        );
    }
    let ft = condition(s, &JobConditionType::FailureTarget);
    let failed = condition(s, &JobConditionType::Failed);
    let scm = condition(s, &JobConditionType::SuccessCriteriaMet);
    let complete = condition(s, &JobConditionType::Complete);
    for (c, reasons) in [(ft, &FAILURE_REASONS[..]), (failed, &FAILURE_REASONS[..])]
        .into_iter()
        .chain([
            (scm, &SUCCESS_REASONS[..]),
            (complete, &SUCCESS_REASONS[..]),
        ])
    {
        if let Some((_, c)) = c {
            require!(
                reasons.contains(&c.reason.as_str()),
                "conditions",
                "{} with reason {:?}",
                c.type_,
                c.reason
            );
        }
    }
    for (interim, last) in [(ft, failed), (scm, complete)] {
        check_interim_first(s, interim, last)?;
    }
    match complete {
        Some((_, c)) => require!(
            s.completion_time == c.last_transition_time,
            "conditions",
            "completionTime {:?} is not Complete's time {:?}",
            s.completion_time,
            c.last_transition_time
        ),
        None => require!(
            s.completion_time.is_none(),
            "conditions",
            "completionTime without Complete"
        ),
    }
    require!(
        !(ft.is_some() && scm.is_some()),
        "conditions",
        "both FailureTarget and SuccessCriteriaMet: {:?}",
        s.conditions
    );
    Ok(())
}

/// A final condition (`last`) comes after its interim one, with the same
/// reason and message.
fn check_interim_first(
    s: &JobStatus,
    interim: Option<(usize, &JobCondition)>,
    last: Option<(usize, &JobCondition)>,
) -> Result<(), Violation> {
    let Some((i, c)) = last else {
        return Ok(());
    };
    let Some((j, t)) = interim else {
        return Err(violation(
            "conditions",
            format!(
                "{} without its interim condition: {:?}",
                c.type_, s.conditions
            ),
        ));
    };
    require!(
        j < i,
        "conditions",
        "{} before {}: {:?}",
        c.type_,
        t.type_,
        s.conditions
    );
    require!(
        t.reason == c.reason && t.message == c.message,
        "conditions",
        "{} ({:?}) differs from {} ({:?})",
        c.type_,
        c.reason,
        t.type_,
        t.reason
    );
    Ok(())
}

/// Whether a terminal outcome is decided (an interim or final condition).
fn decided(s: &JobStatus) -> bool {
    [
        JobConditionType::FailureTarget,
        JobConditionType::SuccessCriteriaMet,
        JobConditionType::Complete,
        JobConditionType::Failed,
    ]
    .iter()
    .any(|t| condition(s, t).is_some())
}

/// The checker: feed it every input's actions, in order, and it checks the
/// rules that hold across a whole history, whatever the driver.
///
/// | rule | what holds |
/// |---|---|
/// | `wake-up-not-in-past` | `poll_timeout()` is never before the last input |
/// | `precise-wake-up` | a wake-up has something to do: `handle_timeout` there (on a clone) asks for an action or changes the status (not checked while the machine's own creations are unobserved: pass `pending`) |
/// | `own-writes-validate` | every status written passes the API server's status-update validation against the one written before |
/// | `conditions` | [`check_conditions`] on every status written |
/// | `counters-only-grow` | `succeeded` and `failed` never go down |
/// | `finished-is-final` | after `Complete` or `Failed` is written, no status write, creation or deletion |
/// | `no-create-when-decided` | no creation once an outcome is decided or while suspended |
/// | `delete-once` | no pod is asked to be deleted twice |
/// | `finalizer-once` | no pod's finalizer is asked to be removed twice |
/// | `delete-job` | the Job is deleted once, only when finished and `ttlSecondsAfterFinished` after it finished |
/// | `finish-event-after-write` | `Completed`, `TooManySucceededPods` and a failed Job's Warning come only after the write that finished the Job |
///
/// The histories it follows are free of failed requests: a status write,
/// deletion or finalizer removal reported failed is asked again, which the
/// `*-once` and `finished-is-final` rules would flag.
///
/// Pods are told apart by name: the machine never reuses a name while the
/// pod exists, and a history long enough to draw one name twice (names
/// carry five random characters) is not one a test runs.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use job_controller::testing::Invariants;
/// use job_controller::{Action, JobController, ValidJob, parse_job};
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
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let mut ctl = JobController::new(ValidJob::create(job).unwrap(), now);
/// let mut rules = Invariants::new(&ctl);
/// let actions: Vec<Action> = std::iter::from_fn(|| ctl.poll_action()).collect();
/// // ... carry them out, then:
/// rules.check(&ctl, now, &actions, false).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Invariants {
    last_written: JobStatus,
    deleted: BTreeSet<String>,
    finalizers_removed: BTreeSet<String>,
    job_deleted: bool,
}

impl Invariants {
    /// A checker for `ctl`, before its first actions are drained.
    #[must_use]
    pub fn new(ctl: &JobController) -> Invariants {
        Invariants {
            last_written: ctl.job().job().status.clone().unwrap_or_default(),
            deleted: BTreeSet::new(),
            finalizers_removed: BTreeSet::new(),
            job_deleted: false,
        }
    }

    /// Checks one input: `actions` are everything the machine asked for
    /// since the last check (drained after the input at `now`, and the
    /// inputs the driver's reports of them caused at the same instant),
    /// `ctl` the machine after them. `pending`: creations the machine
    /// asked for are not observed yet (held in flight), so a wake-up may
    /// be due before the machine can act on it.
    ///
    /// # Errors
    /// The first rule broken (the checker's memory then stops at that
    /// input).
    pub fn check(
        &mut self,
        ctl: &JobController,
        now: DateTime<Utc>,
        actions: &[Action],
        pending: bool,
    ) -> Result<(), Violation> {
        for action in actions {
            self.check_action(ctl, now, action)?;
        }
        check_wake_up(ctl, now, pending)
    }

    fn check_action(
        &mut self,
        ctl: &JobController,
        now: DateTime<Utc>,
        action: &Action,
    ) -> Result<(), Violation> {
        let before = &self.last_written;
        let finished = before.finish_time().is_some();
        match action {
            Action::CreatePod(p) => {
                require!(
                    !finished,
                    "finished-is-final",
                    "CreatePod {} after the Job finished",
                    p.name()
                );
                require!(
                    !decided(before) && !ctl.job().is_suspended(),
                    "no-create-when-decided",
                    "CreatePod {} after an outcome was decided or while suspended",
                    p.name()
                );
            }
            Action::DeletePod { name, .. } => {
                require!(
                    !finished,
                    "finished-is-final",
                    "DeletePod {name} after the Job finished"
                );
                require!(
                    self.deleted.insert(name.clone()),
                    "delete-once",
                    "DeletePod {name} asked for a second time"
                );
            }
            Action::RemoveFinalizer { name, .. } => require!(
                self.finalizers_removed.insert(name.clone()),
                "finalizer-once",
                "RemoveFinalizer {name} asked for a second time"
            ),
            Action::UpdateStatus(new) => self.check_write(ctl, new)?,
            Action::DeleteJob { .. } => {
                let ttl = ctl.job().ttl_seconds_after_finished();
                let due = before.finish_time().zip(ttl).map(|(at, ttl)| {
                    at.checked_add_signed(TimeDelta::seconds(i64::from(ttl)))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                });
                require!(!self.job_deleted, "delete-job", "DeleteJob asked for twice");
                require!(
                    due.is_some_and(|due| now >= due),
                    "delete-job",
                    "DeleteJob at {now}: finished at {:?}, ttlSecondsAfterFinished {ttl:?}",
                    before.finish_time()
                );
                self.job_deleted = true;
            }
            Action::RecordEvent(e) => require!(
                !e.is_finish() || finished,
                "finish-event-after-write",
                "event {e} before a status write finished the Job"
            ),
            Action::AdoptPod { .. } | Action::ReleasePod { .. } => {}
        }
        Ok(())
    }

    fn check_write(&mut self, ctl: &JobController, new: &JobStatus) -> Result<(), Violation> {
        let old = &self.last_written;
        require!(
            old.finish_time().is_none(),
            "finished-is-final",
            "UpdateStatus after the Job finished"
        );
        require!(
            new.succeeded >= old.succeeded && new.failed >= old.failed,
            "counters-only-grow",
            "succeeded {} -> {}, failed {} -> {}",
            old.succeeded,
            new.succeeded,
            old.failed,
            new.failed
        );
        check_conditions(new)?;
        let mut old_job = ctl.job().job().clone();
        old_job.status = Some(old.clone());
        let mut new_job = old_job.clone();
        new_job.status = Some(new.clone());
        if let Err(errs) = validate_status_update(&new_job, &old_job) {
            return Err(violation(
                "own-writes-validate",
                format!("{errs}\n old {old:?}\n new {new:?}"),
            ));
        }
        self.last_written = new.clone();
        Ok(())
    }
}

/// `wake-up-not-in-past` and `precise-wake-up`.
fn check_wake_up(ctl: &JobController, now: DateTime<Utc>, pending: bool) -> Result<(), Violation> {
    let Some(t) = ctl.poll_timeout() else {
        return Ok(());
    };
    require!(
        t.at >= now,
        "wake-up-not-in-past",
        "poll_timeout {} ({:?}) is before the last input at {now}",
        t.at,
        t.reason
    );
    if pending {
        return Ok(());
    }
    let mut probe = ctl.clone();
    let woken = probe.handle_timeout(t.at);
    let mut actions = 0usize;
    while probe.poll_action().is_some() {
        actions += 1;
    }
    require!(
        woken.is_ok() && (actions > 0 || probe.status() != ctl.status()),
        "precise-wake-up",
        "the wake-up at {} ({:?}) finds nothing to do ({woken:?})",
        t.at,
        t.reason
    );
    Ok(())
}

//! Rule groups checked after every machine input, each a function.

#[allow(unused_imports)]
use super::*;

/// Wake-ups are never in the past: `poll_timeout().at` is not before the
/// time of the last input (check `[wake-up-not-in-past]`; unlike
/// `[past-timeout]` it covers finished Jobs and inputs without a reconcile).
pub(crate) fn check_wake_up_not_in_past(ctl: &JobController, now: DateTime<Utc>) -> Check {
    if let Some(t) = ctl.poll_timeout() {
        ensure!(
            t.at >= now,
            "[wake-up-not-in-past] poll_timeout {} ({:?}) is before the last input at {now}",
            t.at,
            t.reason
        );
    }
    Ok(())
}

/// Precise wake-ups (FORMAT.md `wakeAt`: "the earliest instant at which a
/// reconcile has something to do … a wake-up that would find nothing to do
/// is wrong"): `handle_timeout(poll_timeout().at)`, on a clone of the
/// machine, asks for at least one action or changes the status (check
/// `[precise-wake-up]`). A wake-up in the past is left to
/// [`check_wake_up_not_in_past`].
///
/// `pending`: the machine's own creations or deletions are not all observed
/// yet (held in flight, or observations still queued at this instant): a
/// violation then reads `[precise-wake-up:pending]`, a class of its own
/// (the machine defers decisions until it has seen its own writes, as
/// upstream's expectations do, so a wake-up due before that finds nothing
/// to do).
///
/// In `skip` (`JOB_INVARIANTS_SKIP`), `precise-wake-up` switches the check
/// off, `precise-wake-up:pending` that class, `precise-wake-up:<reason>`
/// the wake-ups of one reason (`Backoff`, `ActiveDeadline`,
/// `TtlAfterFinished`).
pub(crate) fn check_precise_wake_up(
    ctl: &JobController,
    now: DateTime<Utc>,
    pending: bool,
    skip: &[String],
) -> Check {
    let id = if pending {
        "precise-wake-up:pending"
    } else {
        "precise-wake-up"
    };
    let Some(t) = ctl.poll_timeout() else {
        return Ok(());
    };
    if t.at < now || skip.iter().any(|s| s == "precise-wake-up") {
        return Ok(());
    }
    // (A class switched off still costs its probe: run times stay
    // comparable.)
    let reason = format!("precise-wake-up:{:?}", t.reason);
    let skipped = skip.iter().any(|s| s == id || *s == reason);
    let mut probe = ctl.clone();
    let r = guarded("handle_timeout at the machine's own wake-up", || {
        probe.handle_timeout(t.at)
    })?;
    if let Err(e) = r {
        ensure!(
            skipped,
            "[{id}] handle_timeout at the machine's own wake-up {} ({:?}) fails: {e}",
            t.at,
            t.reason
        );
        return Ok(());
    }
    let mut actions = 0usize;
    while probe.poll_action().is_some() {
        actions += 1;
    }
    ensure!(
        skipped || actions > 0 || probe.status() != ctl.status(),
        "[{id}] the wake-up at {} ({:?}, {}s after the last input at {now}) finds nothing to do: \
         handle_timeout there asks for no action and changes no status; it then asks for {:?}",
        t.at,
        t.reason,
        t.at.signed_duration_since(now).num_seconds(),
        probe.poll_timeout()
    );
    Ok(())
}

/// Each pod is asked to be deleted at most once: a `DeletePod` for the same
/// pod (same name and UID: a pod re-created under a name is another pod)
/// never comes twice in a history (check `[delete-once]`).
pub(crate) fn check_pod_deleted_at_most_once(
    deleted: &mut BTreeSet<(String, String)>,
    name: &str,
    uid: &str,
) -> Check {
    ensure!(
        deleted.insert((name.to_owned(), uid.to_owned())),
        "[delete-once] DeletePod {name} (uid {uid}) asked for a second time"
    );
    Ok(())
}

/// The machine's own writes pass its own validation: each `UpdateStatus`,
/// as the status subresource would receive it (the Job with the new
/// status, against the stored Job carrying the status written before),
/// passes `validation::validate_status_update` (check
/// `[own-writes-validate]`; in `skip`, `own-writes-validate` switches it
/// off, `own-writes-validate:<field>` ignores the errors on that field,
/// e.g. `own-writes-validate:status.startTime`).
pub(crate) fn check_own_write_validates(
    job: &ValidJob,
    old: &JobStatus,
    new: &JobStatus,
    skip: &[String],
) -> Check {
    validated::check(validated::job_hash(job.job()), job, old, new, skip)
}

/// [`check_own_write_validates`] with the hash of the Job
/// ([`validated::job_hash`]) at hand.
pub(super) fn check_own_write_validates_keyed(
    job_key: u64,
    job: &ValidJob,
    old: &JobStatus,
    new: &JobStatus,
    skip: &[String],
) -> Check {
    const ID: &str = "own-writes-validate";
    if skip.iter().any(|s| s == ID) {
        return Ok(());
    }
    // The same writes recur across histories (and, in the exhaustive
    // search, across paths): a write that passed once for this Job passes
    // again (validation costs several times the key in a debug build).
    let key = validated::key(job_key, old, new);
    if validated::passed(key) {
        return Ok(());
    }
    let mut old_job = job.job().clone();
    old_job.status = Some(old.clone());
    let mut new_job = job.job().clone();
    new_job.status = Some(new.clone());
    let r = guarded("validation::validate_status_update", || {
        job_controller::validation::validate_status_update(&new_job, &old_job)
    })?;
    if let Err(errs) = r {
        let skipped = |field: &str| {
            skip.iter()
                .any(|s| s.strip_prefix(ID).and_then(|f| f.strip_prefix(':')) == Some(field))
        };
        if errs.errors.iter().all(|e| skipped(&e.field)) {
            return Ok(());
        }
        return Err(format!(
            "[{ID}] the status the machine writes fails validate_status_update: {errs}\n old {old:?}\n new {new:?}"
        ));
    }
    validated::remember(key);
    Ok(())
}

/// Status writes that passed validation, by a 64-bit hash of the Job (as
/// stored, status aside) and both statuses; per thread.
pub(super) mod validated {
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::hash::{DefaultHasher, Hash, Hasher};

    use job_controller::ValidJob;
    use job_controller::api::{Job, JobCondition, JobStatus, UncountedTerminatedPods};

    use super::Check;

    thread_local! {
        static PASSED: RefCell<HashSet<u64>> = RefCell::new(HashSet::new());
    }

    /// The check, with the Job's hash.
    pub(crate) fn check(
        job_key: u64,
        job: &ValidJob,
        old: &JobStatus,
        new: &JobStatus,
        skip: &[String],
    ) -> Check {
        super::check_own_write_validates_keyed(job_key, job, old, new, skip)
    }

    /// A hash of everything in the Job (its `Debug` text).
    pub(crate) fn job_hash(job: &Job) -> u64 {
        let mut h = DefaultHasher::new();
        format!("{job:?}").hash(&mut h);
        h.finish()
    }

    /// Every field, so that a field added to the status changes the key
    /// (the destructuring stops compiling).
    fn status_hash(s: &JobStatus, h: &mut DefaultHasher) {
        let JobStatus {
            conditions,
            start_time,
            completion_time,
            active,
            succeeded,
            failed,
            terminating,
            completed_indexes,
            failed_indexes,
            uncounted_terminated_pods,
            ready,
            extra,
        } = s;
        extra_hash(extra, h);
        conditions.len().hash(h);
        for c in conditions {
            let JobCondition {
                type_,
                status,
                last_probe_time,
                last_transition_time,
                reason,
                message,
                extra,
            } = c;
            extra_hash(extra, h);
            (
                type_,
                status,
                last_probe_time,
                last_transition_time,
                reason,
                message,
            )
                .hash(h);
        }
        (
            start_time,
            completion_time,
            active,
            succeeded,
            failed,
            terminating,
        )
            .hash(h);
        (completed_indexes, failed_indexes, ready).hash(h);
        match uncounted_terminated_pods {
            None => 0u8.hash(h),
            Some(UncountedTerminatedPods {
                succeeded,
                failed,
                extra,
            }) => {
                extra_hash(extra, h);
                (1u8, succeeded, failed).hash(h);
            }
        }
    }

    /// Unmodelled fields (values are not `Hash`: their text is).
    fn extra_hash(
        extra: &std::collections::BTreeMap<String, job_controller::api::Value>,
        h: &mut DefaultHasher,
    ) {
        extra.len().hash(h);
        if !extra.is_empty() {
            format!("{extra:?}").hash(h);
        }
    }

    pub(crate) fn key(job_key: u64, old: &JobStatus, new: &JobStatus) -> u64 {
        let mut h = DefaultHasher::new();
        job_key.hash(&mut h);
        status_hash(old, &mut h);
        status_hash(new, &mut h);
        h.finish()
    }

    pub(crate) fn passed(key: u64) -> bool {
        PASSED.with(|p| p.borrow().contains(&key))
    }

    pub(crate) fn remember(key: u64) {
        PASSED.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() >= 1 << 20 {
                p.clear();
            }
            p.insert(key);
        });
    }
}

pub(super) fn compare_actions(
    a: &Machine,
    b: &Machine,
    ours: &[Action],
    theirs: &[Action],
    label: &str,
) -> Check {
    let ours: Vec<String> = ours
        .iter()
        .map(|x| a.normalize(&format!("{x:?}")))
        .collect();
    let theirs: Vec<String> = theirs
        .iter()
        .map(|x| b.normalize(&format!("{x:?}")))
        .collect();
    if ours != theirs {
        let mut text = format!("the shadow machine acted differently on {label}:\n");
        for i in 0..ours.len().max(theirs.len()) {
            let x = ours.get(i).map_or("-", String::as_str);
            let y = theirs.get(i).map_or("-", String::as_str);
            let mark = if x == y { "  " } else { "!!" };
            text.push_str(&format!("{mark} primary {x}\n{mark} shadow  {y}\n"));
        }
        return Err(text);
    }
    Ok(())
}

pub(super) fn compare_state(a: &Machine, b: &Machine, kind: ShadowKind) -> Check {
    let sa = a.normalize(&format!("{:?}", a.ctl.status()));
    let sb = b.normalize(&format!("{:?}", b.ctl.status()));
    ensure!(sa == sb, "statuses differ:\n primary {sa}\n shadow  {sb}");
    ensure!(
        a.ctl.is_finished() == b.ctl.is_finished(),
        "is_finished differs"
    );
    ensure!(
        a.ctl.backoff_record() == b.ctl.backoff_record(),
        "backoff record differs: primary {:?}, shadow {:?}",
        a.ctl.backoff_record(),
        b.ctl.backoff_record()
    );
    if kind == ShadowKind::Reference {
        ensure!(
            a.ctl.poll_timeout() == b.ctl.poll_timeout(),
            "poll_timeout differs: primary {:?}, reference {:?}",
            a.ctl.poll_timeout(),
            b.ctl.poll_timeout()
        );
        ensure!(
            a.ctl.pod_count() == b.ctl.pod_count(),
            "pod_count differs: primary {}, reference {}",
            a.ctl.pod_count(),
            b.ctl.pod_count()
        );
    }
    Ok(())
}

/// Condition rules: final conditions follow their interim ones with the
/// same reason and message, reasons are upstream's, success and failure
/// exclude each other, `completionTime` goes with `Complete` (the
/// `testing` feature's rule, shared with users' suites).
pub(super) fn check_conditions(s: &JobStatus) -> Check {
    job_controller::testing::check_conditions(s).map_err(|v| v.to_string())
}

pub(super) fn finish_condition_time(s: &JobStatus) -> Option<DateTime<Utc>> {
    s.finish_time()
}

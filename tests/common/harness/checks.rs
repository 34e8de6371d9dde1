//! The checks of each action the machine asks for, and of the state after
//! an input and after a step: one function per rule group.

#[allow(unused_imports)]
use super::*;
use job_controller::{DeleteReason, PodToCreate};

/// What the checks of one input's actions need to know.
pub(super) struct InputContext<'a> {
    /// The status before the input.
    pub pre: &'a JobStatus,
    /// Whether the Job had finished before the input.
    pub pre_finished: bool,
    /// Whether nothing was outstanding when the machine reconciled.
    pub satisfied: bool,
    /// The backoff record as upstream stores it, tracked independently.
    pub backoff: Backoff,
    /// The Job after the input.
    pub job: ValidJob,
    /// The status after the input.
    pub post: JobStatus,
    /// Whether the status after the input holds a decided outcome.
    pub decided: bool,
}

impl Harness {
    /// Checks and carries out the actions of one input.
    pub(super) fn carry_out(
        &mut self,
        pre_status: &JobStatus,
        pre_finished: bool,
        satisfied: bool,
        backoff: Backoff,
        actions: Vec<Action>,
        queue: &mut VecDeque<Event>,
    ) -> Check {
        let now = self.now;
        let post = self.primary.ctl.status().clone();
        let cx = InputContext {
            pre: pre_status,
            pre_finished,
            satisfied,
            backoff,
            job: self.primary.ctl.job().clone(),
            decided: outcome_decided(&post),
            post,
        };
        let mut created_any = false;
        let mut removed_here: Vec<String> = Vec::new();
        // What the API carried out (the harness checks each action first).
        let mut carried = Settled::default();
        for action in actions {
            if self.keep_trace {
                let line = format!("{}s   {action:?}", self.now_secs());
                self.trace.push(line);
            }
            match action {
                Action::CreatePod(p) => {
                    created_any = true;
                    self.check_create(&cx, &p)?;
                    self.held_at.insert(p.name().to_owned(), now);
                    let create = Action::CreatePod(p);
                    match self
                        .api
                        .carry_out(&self.primary.ctl, now, create, &mut carried)
                    {
                        Carried::Report(name) => {
                            self.materialize(&name);
                            queue.push_back(Event::Notify(name));
                        }
                        Carried::Refused(name) => {
                            return Err(format!("CreatePod {name}: the API refused the name"));
                        }
                        Carried::Nothing => {} // held in flight
                    }
                }
                Action::DeletePod { name, reason } => {
                    self.check_delete(&cx, &name, reason)?;
                    let delete = Action::DeletePod { name, reason };
                    if let Carried::Report(name) =
                        self.api
                            .carry_out(&self.primary.ctl, now, delete, &mut carried)
                    {
                        if let Some(pod) = self.api.pod(&name).cloned() {
                            self.note_world(&pod);
                        }
                        queue.push_back(Event::Notify(name));
                    }
                }
                Action::RemoveFinalizer { name, uid } => {
                    if self.check_finalizer_removal(&cx, &name, &uid)? {
                        if let Some(v) = self.pods.get_mut(&name).and_then(|e| e.view.as_mut()) {
                            v.metadata
                                .finalizers
                                .retain(|f| f != keys::JOB_TRACKING_FINALIZER);
                        }
                        let remove = Action::RemoveFinalizer {
                            name: name.clone(),
                            uid,
                        };
                        let _ = self
                            .api
                            .carry_out(&self.primary.ctl, now, remove, &mut carried);
                        removed_here.push(name);
                    }
                }
                Action::UpdateStatus(s) => self.check_status_write(&cx, s)?,
                Action::DeleteJob { .. } => self.check_delete_job(&cx)?,
                Action::RecordEvent(e) => self.check_event(&cx, &e)?,
                other => return Err(format!("unexpected action {other:?}")),
            }
        }
        // Finalizers come off finished or deleted pods, or on the terminal path.
        for name in removed_here {
            if let Some(pod) = self.api.pod(&name) {
                ensure!(
                    finished(pod) || pod.metadata.deletion_timestamp.is_some() || cx.decided,
                    "RemoveFinalizer {name} of a running pod that is not being deleted"
                );
            }
        }
        if created_any {
            self.check_slots_after_creating(&cx)?;
        }
        Ok(())
    }

    /// A creation is allowed: the Job neither finished nor decided nor
    /// suspended, a fresh name, the finalizer and the controller reference,
    /// the deadline not passed, the index pending and free, every backoff
    /// expired, a work queue without success.
    fn check_create(&mut self, cx: &InputContext<'_>, p: &PodToCreate) -> Check {
        let now = self.now;
        let (job, post, pre_status) = (&cx.job, &cx.post, cx.pre);
        let (pre_finished, decided) = (cx.pre_finished, cx.decided);
        let name = p.name().to_owned();
        let pod = p.pod();
        ensure!(!pre_finished, "CreatePod {name} after the Job finished");
        ensure!(!decided, "CreatePod {name} after a terminal decision");
        ensure!(!job.is_suspended(), "CreatePod {name} while suspended");
        ensure!(!name.is_empty(), "CreatePod without a name");
        ensure!(
            self.api.pod(&name).is_none() && !self.api.held().iter().any(|h| h.name() == name),
            "CreatePod {name}: the name is in use"
        );
        ensure!(
            has_finalizer(&pod),
            "CreatePod {name} without the tracking finalizer"
        );
        ensure!(
            pod.metadata
                .owner_references
                .iter()
                .any(|o| o.kind == "Job" && o.uid == job.uid() && o.controller == Some(true)),
            "CreatePod {name} without the controller reference"
        );
        if job.completions().is_none() {
            ensure!(
                post.succeeded == 0,
                "work queue: CreatePod {name} after a pod succeeded"
            );
        }
        // Deadline.
        if let Some(ads) = job.active_deadline_seconds() {
            let start = pre_status.start_time.unwrap_or(now);
            ensure!(
                now < sat_add(start, secs(ads)),
                "CreatePod {name} after the deadline (start {start}, {ads}s)"
            );
        }
        if job.is_indexed() {
            self.check_create_index(cx, p, &pod)?;
        } else {
            ensure!(
                p.index.is_none(),
                "NonIndexed CreatePod {name} with an index"
            );
        }
        // Global backoff.
        if job.backoff_limit_per_index().is_none() {
            if let Some(last) = cx.backoff.last {
                let until = sat_add(last, delay(cx.backoff.failures));
                self.stats.backoff_check(now, until);
                ensure!(
                    now >= until,
                    "CreatePod {name} before the backoff expires at {until} ({} failures, last at {last})",
                    cx.backoff.failures
                );
            }
        }
        Ok(())
    }

    /// An Indexed creation: its index in range, neither completed nor
    /// failed nor taken, annotated, and past the index's backoff.
    fn check_create_index(&mut self, cx: &InputContext<'_>, p: &PodToCreate, pod: &Pod) -> Check {
        let now = self.now;
        let (job, post) = (&cx.job, &cx.post);
        let name = p.name();
        let Some(i) = p.index else {
            return Err(format!("Indexed CreatePod {name} without an index"));
        };
        let c = job.completions().unwrap_or(0);
        ensure!(i >= 0 && i < c, "CreatePod {name}: index {i} out of range");
        ensure!(
            !indexes(&post.completed_indexes).contains(&i),
            "CreatePod {name}: index {i} already completed"
        );
        ensure!(
            !indexes(post.failed_indexes.as_deref().unwrap_or("")).contains(&i),
            "CreatePod {name}: index {i} already failed"
        );
        let dup = self.world().any(|(q, _)| {
            pod_index(q) == Some(i)
                && (is_active(q) || (job.only_replace_failed_pods() && is_terminating(q)))
        }) || self.expected_held().any(|h| h.index == Some(i));
        ensure!(!dup, "CreatePod {name}: index {i} is taken");
        ensure!(
            pod_index(pod) == Some(i),
            "CreatePod {name}: annotation and index disagree"
        );
        // Per-index backoff, from the pods as the machine saw
        // them (a stale copy may have moved a finish time).
        if job.backoff_limit_per_index().is_some() {
            let latest = self
                .pods
                .values()
                .filter_map(|e| e.view.as_ref())
                .filter(|q| {
                    pod_index(q) == Some(i)
                        && has_finalizer(q)
                        && considered_failed(q, job.only_replace_failed_pods())
                })
                .max_by_key(|q| (absolute_failures(q), finish_time(q)));
            if let Some(q) = latest {
                let n = u32::try_from(absolute_failures(q) + 1).unwrap_or(u32::MAX);
                let until = sat_add(finish_time(q), delay(n));
                self.stats.backoff_check(now, until);
                ensure!(
                    now >= until,
                    "CreatePod {name} for index {i} before its backoff expires at {until} (after {})",
                    q.metadata.name
                );
            }
        }
        Ok(())
    }

    /// A deletion is of an active pod, once, for a reason that holds.
    fn check_delete(&mut self, cx: &InputContext<'_>, name: &str, reason: DeleteReason) -> Check {
        let (job, pre_finished) = (&cx.job, cx.pre_finished);
        let (decided, satisfied) = (cx.decided, cx.satisfied);
        ensure!(!pre_finished, "DeletePod {name} after the Job finished");
        let (Some(e), Some(pod)) = (self.pods.get(name), self.api.pod(name)) else {
            return Err(format!("DeletePod {name}: no such pod"));
        };
        if !self.skip.iter().any(|x| x == "delete-once") {
            check_pod_deleted_at_most_once(&mut self.checker.deleted, name, &pod.metadata.uid)?;
        }
        ensure!(
            e.view.as_ref().is_some_and(is_active),
            "DeletePod {name} ({reason:?}) of a pod that is not active as the machine saw it"
        );
        if reason == job_controller::DeleteReason::Suspended {
            ensure!(
                job.is_suspended(),
                "DeletePod {name} (Suspended) while running"
            );
        }
        if reason == job_controller::DeleteReason::JobFinishing {
            // Upstream deletes first, then drops the decision while
            // expectations are not satisfied.
            ensure!(
                decided || !satisfied,
                "DeletePod {name} (JobFinishing) without a decision"
            );
        }
        Ok(())
    }

    /// A finalizer removal: after the Job finished only on upstream's orphan
    /// paths, once per UID, of the pod of that UID that still has it.
    /// Returns whether the pod exists (and the removal is carried out).
    fn check_finalizer_removal(
        &mut self,
        cx: &InputContext<'_>,
        name: &str,
        uid: &str,
    ) -> Result<bool, String> {
        // A finished Job's sync removes no finalizer; upstream's orphan
        // clean-up does, for a pod being deleted (`deletePod`) or when the
        // Job is updated (`updateJob` → `enqueueLabelSelector`).
        let being_deleted = self
            .pods
            .get(name)
            .and_then(|e| e.view.as_ref())
            .is_some_and(|v| v.metadata.deletion_timestamp.is_some());
        ensure!(
            !cx.pre_finished || being_deleted || self.job_updated,
            "RemoveFinalizer {name} after the Job finished (neither the pod being \
             deleted nor the Job updated)"
        );
        ensure!(
            self.checker.finalizer_removed.insert(uid.to_owned()),
            "RemoveFinalizer {name} ({uid}) twice"
        );
        let Some(pod) = self.api.pod(name) else {
            return Ok(false);
        };
        ensure!(
            pod.metadata.uid == uid,
            "RemoveFinalizer {name}: uid {uid} is not the pod's"
        );
        ensure!(
            has_finalizer(pod),
            "RemoveFinalizer {name}: the pod has no finalizer"
        );
        Ok(true)
    }

    /// A status write: not after the Job finished, and valid as the API
    /// server validates a status update.
    fn check_status_write(&mut self, cx: &InputContext<'_>, s: JobStatus) -> Check {
        ensure!(!cx.pre_finished, "UpdateStatus after the Job finished");
        let job = &cx.job;
        let job_key = *self
            .checker
            .job_key
            .get_or_insert_with(|| validated::job_hash(job.job()));
        validated::check(job_key, job, &self.checker.last_written, &s, &self.skip)?;
        self.checker.last_written = s;
        Ok(())
    }

    /// The Job's deletion: once, finished, after its TTL.
    fn check_delete_job(&mut self, cx: &InputContext<'_>) -> Check {
        let now = self.now;
        ensure!(
            self.checker.delete_job.is_none(),
            "DeleteJob asked for twice"
        );
        ensure!(cx.post.is_finished(), "DeleteJob before the Job finished");
        let ttl = cx.job.ttl_seconds_after_finished();
        ensure!(ttl.is_some(), "DeleteJob without ttlSecondsAfterFinished");
        let finish = finish_condition_time(&cx.post).unwrap_or(now);
        ensure!(
            now >= sat_add(finish, secs(i64::from(ttl.unwrap_or(0)))),
            "DeleteJob before the TTL expired"
        );
        self.checker.delete_job = Some(now);
        Ok(())
    }

    /// An event is upstream's, where upstream records it: a pod-control
    /// event names a pod the machine asked for (once per pod and kind),
    /// `Suspended` / `Resumed` follow the spec, a finished Job's event
    /// follows the write that finished it, once.
    fn check_event(&mut self, cx: &InputContext<'_>, e: &job_controller::Event) -> Check {
        let key = format!("{} {}", e.reason, e.message);
        match e.reason.as_ref() {
            "SuccessfulCreate" => {
                let name = e.message.trim_start_matches("Created pod: ");
                ensure!(
                    self.pods.contains_key(name) || self.gone.iter().any(|(n, _)| n == name),
                    "{key}: no such pod was created"
                );
                ensure!(
                    self.checker.events.insert(key.clone()),
                    "{key} recorded twice"
                );
            }
            "SuccessfulDelete" => {
                let name = e.message.trim_start_matches("Deleted pod: ");
                ensure!(
                    self.checker.deleted.iter().any(|(n, _)| n == name),
                    "{key}: the machine did not ask to delete it"
                );
            }
            "Suspended" => ensure!(cx.job.is_suspended(), "{key} while not suspended"),
            "Resumed" => ensure!(!cx.job.is_suspended(), "{key} while suspended"),
            "FailedCreate" | "FailedDelete" | "UnknownCompletionMode" => {}
            _ => {
                let last = &self.checker.last_written;
                ensure!(
                    last.is_finished(),
                    "{key} before the write that finished the Job"
                );
                let complete = last
                    .conditions
                    .iter()
                    .any(|c| c.type_ == job_controller::api::JobConditionType::Complete);
                match e.reason.as_ref() {
                    "Completed" | "TooManySucceededPods" => {
                        ensure!(complete, "{key} for a failed Job");
                    }
                    reason => ensure!(
                        !complete
                            && last
                                .conditions
                                .iter()
                                .any(|c| c.reason == reason && c.message == e.message),
                        "{key}: not the Failed condition's reason and message"
                    ),
                }
                ensure!(
                    self.checker.events.insert(key.clone()),
                    "{key} recorded twice"
                );
            }
        }
        Ok(())
    }

    /// Slots: what is active after a creation fits parallelism and the
    /// remaining completions.
    fn check_slots_after_creating(&self, cx: &InputContext<'_>) -> Check {
        let job = &cx.job;
        let active = self.world_active() + self.expected_held().count();
        let terminating = if job.only_replace_failed_pods() {
            self.world_terminating()
        } else {
            0
        };
        let p = usize::try_from(job.parallelism()).unwrap_or(0);
        ensure!(
            active + terminating <= p,
            "after creating: {active} active (+{terminating} terminating) > parallelism {p}"
        );
        if let Some(c) = job.completions() {
            let left = usize::try_from((c - cx.post.succeeded).max(0)).unwrap_or(0);
            ensure!(
                active <= left,
                "after creating: {active} active > {left} completions left"
            );
        }
        Ok(())
    }

    /// The state after a machine input, by group. `satisfied`: the
    /// machine had no creation or deletion outstanding when it reconciled
    /// (upstream's expectations), so it could decide; `settled`: nothing is
    /// outstanding after it.
    pub(super) fn after_input(
        &mut self,
        pre: &JobStatus,
        pre_finished: bool,
        satisfied: bool,
        settled: bool,
    ) -> Check {
        let post = self.primary.ctl.status().clone();
        self.check_status_progress(pre, &post, pre_finished)?;
        self.check_ranges(&post)?;
        self.check_deadline_and_wake_up(pre, &post, satisfied, settled)?;
        if post.is_finished() && !pre_finished {
            self.check_finished_with_no_pods(&post)?;
        }
        Ok(())
    }

    /// The status is the last one written; counters only grow; a finished
    /// Job's status stays; decisions are never withdrawn; conditions well
    /// formed; no negative counter; the uncounted lists flushed.
    fn check_status_progress(
        &self,
        pre: &JobStatus,
        post: &JobStatus,
        pre_finished: bool,
    ) -> Check {
        ensure!(
            *post == self.checker.last_written,
            "the machine's status is not the last one it wrote:\n machine {post:?}\n written {:?}",
            self.checker.last_written
        );
        ensure!(
            post.succeeded >= pre.succeeded,
            "succeeded decreased {} -> {}",
            pre.succeeded,
            post.succeeded
        );
        ensure!(
            post.failed >= pre.failed,
            "failed decreased {} -> {}",
            pre.failed,
            post.failed
        );
        if pre_finished {
            ensure!(
                *post == *pre,
                "a finished Job's status changed:\n before {pre:?}\n after {post:?}"
            );
        }
        // Decisions are never withdrawn.
        for t in [
            JobConditionType::FailureTarget,
            JobConditionType::SuccessCriteriaMet,
            JobConditionType::Failed,
            JobConditionType::Complete,
        ] {
            if pre.true_condition(&t).is_some() {
                ensure!(
                    post.true_condition(&t).is_some(),
                    "condition {t:?} disappeared"
                );
            }
        }
        check_conditions(post)?;
        ensure!(
            post.active >= 0 && post.ready.unwrap_or(0) >= 0 && post.terminating.unwrap_or(0) >= 0,
            "negative counters {post:?}"
        );
        if let Some(u) = &post.uncounted_terminated_pods {
            ensure!(
                u.succeeded.is_empty() && u.failed.is_empty(),
                "uncountedTerminatedPods not flushed: {u:?}"
            );
        }
        Ok(())
    }

    /// Counts and indexes in range for the completion mode.
    fn check_ranges(&self, post: &JobStatus) -> Check {
        let job = self.primary.ctl.job();
        if job.is_indexed() {
            let c = job.completions().unwrap_or(0);
            let done = indexes(&post.completed_indexes);
            ensure!(
                done.iter().all(|i| (0..c).contains(i)),
                "completedIndexes {:?} out of 0..{c}",
                post.completed_indexes
            );
            ensure!(
                post.succeeded == i32::try_from(done.len()).unwrap_or(i32::MAX),
                "succeeded {} but completedIndexes {:?}",
                post.succeeded,
                post.completed_indexes
            );
            let failed = indexes(post.failed_indexes.as_deref().unwrap_or(""));
            ensure!(
                failed.iter().all(|i| (0..c).contains(i)),
                "failedIndexes {:?} out of 0..{c}",
                post.failed_indexes
            );
            ensure!(
                done.is_disjoint(&failed) || self.skip("index-overlap"),
                "[index-overlap] completedIndexes {:?} and failedIndexes {:?} overlap",
                post.completed_indexes,
                post.failed_indexes
            );
            if job.backoff_limit_per_index().is_none() {
                ensure!(
                    post.failed_indexes.is_none(),
                    "failedIndexes without backoffLimitPerIndex"
                );
            }
        } else {
            ensure!(
                post.completed_indexes.is_empty(),
                "completedIndexes on a NonIndexed Job"
            );
            if let Some(c) = job.completions() {
                ensure!(
                    post.succeeded <= c,
                    "succeeded {} > completions {c}",
                    post.succeeded
                );
            }
        }
        Ok(())
    }

    /// The wake-up is not in the past, the deadline is enforced and woken
    /// for, and a finished Job waits for nothing but its TTL.
    fn check_deadline_and_wake_up(
        &self,
        pre: &JobStatus,
        post: &JobStatus,
        satisfied: bool,
        settled: bool,
    ) -> Check {
        let now = self.now;
        let job = self.primary.ctl.job();
        let wake = self.primary.ctl.poll_timeout();
        if let Some(t) = wake {
            // (A finished Job's wake-up is checked below.)
            if !post.is_finished() && !self.skip("past-timeout") {
                ensure!(
                    t.at >= now,
                    "[past-timeout] poll_timeout {} ({:?}) is in the past (now {now})",
                    t.at,
                    t.reason
                );
            }
        }
        let decided = outcome_decided(post);
        if let Some(ads) = job.active_deadline_seconds() {
            if !job.is_suspended() && !decided && !post.is_finished() {
                if let Some(start) = post.start_time {
                    let pre_start = pre.start_time.unwrap_or(start);
                    ensure!(
                        !satisfied || now < sat_add(pre_start, secs(ads)),
                        "deadline passed (start {pre_start}, {ads}s) and the Job goes on"
                    );
                    // A deadline wake-up is owed only when nothing is in
                    // flight after the input: an observation still to come
                    // reconciles anyway (FORMAT.md `wakeAt`: precise).
                    let deadline = sat_add(start, secs(ads));
                    ensure!(
                        !settled || wake.is_some_and(|t| t.at <= deadline),
                        "no wake-up by the deadline {deadline}: {wake:?}"
                    );
                }
            }
        }
        if post.is_finished() && !self.skip("finished-timeout") {
            // A finished Job waits for nothing but its TTL (SEMANTICS §24).
            let want = match job.ttl_seconds_after_finished() {
                Some(ttl) if self.checker.delete_job.is_none() => {
                    let finish = finish_condition_time(post).unwrap_or(now);
                    Some((
                        sat_add(finish, secs(i64::from(ttl))),
                        TimeoutReason::TtlAfterFinished,
                    ))
                }
                _ => None,
            };
            ensure!(
                wake.map(|t| (t.at, t.reason)) == want,
                "[finished-timeout] the finished Job's wake-up is {wake:?}, want {want:?}"
            );
        }
        Ok(())
    }

    /// A Job that just finished has no pod left.
    fn check_finished_with_no_pods(&self, post: &JobStatus) -> Check {
        ensure!(
            self.world_active() == 0 && self.world_terminating() == 0,
            "finished with {} active and {} terminating pods",
            self.world_active(),
            self.world_terminating()
        );
        ensure!(
            post.active == 0,
            "finished with status.active {}",
            post.active
        );
        Ok(())
    }

    /// Checks after a whole step (every observation delivered), by group.
    pub(super) fn end_of_step(&mut self) -> Check {
        let post = self.primary.ctl.status().clone();
        let held = self.backoff_holds();
        self.check_counters_match_pods(&post, held)?;
        self.check_counted_at_most_once(&post)?;
        self.check_slots(&post, held)
    }

    /// Whether a request failed and the reconcile that answers it is still
    /// owed (the work queue's requeue): until then the pods and the status
    /// may disagree, as upstream's do until its requeue.
    fn retry_pending(&self) -> bool {
        self.primary
            .ctl
            .wake_ups()
            .iter()
            .any(|t| t.reason == job_controller::TimeoutReason::Retry)
    }

    /// Whether the pod-failure backoff holds a replacement back (or could,
    /// near the end of time): upstream's `manageJob` reports `active: 0`
    /// then, and with a ready pod the API server refuses that write, so
    /// the status stays as it was until the backoff runs out (see
    /// `rejected_by_api_server`). A backoff that would run out past the end
    /// of time asks for no wake-up: within the longest delay of it, assume
    /// one holds.
    fn backoff_holds(&self) -> bool {
        let now = self.now;
        self.primary
            .ctl
            .wake_ups()
            .iter()
            .any(|t| t.reason == job_controller::TimeoutReason::Backoff)
            || self.primary.ctl.backoff_record().remaining(now) > Duration::zero()
            || now.checked_add_signed(Duration::seconds(600)).is_none()
    }

    /// The last reconcile saw every pod as it is (nothing in flight, every
    /// observation delivered): its counters are the pods' (SEMANTICS §4),
    /// unless the backoff holds.
    fn check_counters_match_pods(&self, post: &JobStatus, held: bool) -> Check {
        if self.api.held().is_empty()
            && !post.is_finished()
            && self.stats.inputs > 0
            && !held
            && !self.retry_pending()
        {
            let views: Vec<&Pod> = self.pods.values().filter_map(|e| e.view.as_ref()).collect();
            let active = views.iter().filter(|p| is_active(p)).count();
            let ready = views.iter().filter(|p| is_active(p) && is_ready(p)).count();
            let terminating = views.iter().filter(|p| is_terminating(p)).count();
            let n = |x: usize| i32::try_from(x).unwrap_or(i32::MAX);
            ensure!(
                post.active == n(active),
                "status.active {} but {active} pods are active",
                post.active
            );
            ensure!(
                post.ready == Some(n(ready)),
                "status.ready {:?} but {ready} active pods are ready",
                post.ready
            );
            ensure!(
                post.terminating == Some(n(terminating)),
                "status.terminating {:?} but {terminating} pods are terminating",
                post.terminating
            );
        }
        Ok(())
    }

    /// Each pod counted at most once: no more successes or failures than
    /// pods ever seen to succeed, fail or be deleted.
    fn check_counted_at_most_once(&self, post: &JobStatus) -> Check {
        let job = self.primary.ctl.job();
        let succeeded = if job.is_indexed() { 0 } else { post.succeeded };
        let s_seen = self.checker.seen_succeeded.len();
        let f_seen = self.checker.seen_failed_or_deleted.len();
        let ended: BTreeSet<&String> = self
            .checker
            .seen_succeeded
            .iter()
            .chain(self.checker.seen_failed_or_deleted.iter())
            .collect();
        ensure!(
            usize::try_from(succeeded).unwrap_or(0) <= s_seen,
            "succeeded {succeeded} > {s_seen} pods ever succeeded"
        );
        ensure!(
            usize::try_from(post.failed).unwrap_or(0) <= f_seen,
            "failed {} > {f_seen} pods ever failed or deleted",
            post.failed
        );
        ensure!(
            usize::try_from(succeeded + post.failed).unwrap_or(0) <= ended.len(),
            "succeeded + failed = {} > {} pods ever finished or deleted",
            succeeded + post.failed,
            ended.len()
        );
        Ok(())
    }

    /// Slots, once nothing is in flight (the last input ran manageJob): no
    /// more active pods than parallelism and the remaining completions
    /// allow, none while suspended.
    fn check_slots(&self, post: &JobStatus, held: bool) -> Check {
        let job = self.primary.ctl.job();
        // A work queue that saw a success leaves running what runs
        // (upstream `manageJob`: wantActive = active), whatever parallelism.
        let work_queue_done = job.completions().is_none() && post.succeeded > 0;
        if self.api.held().is_empty()
            && !post.is_finished()
            && !work_queue_done
            && !self.retry_pending()
        {
            let active = self.world_active();
            let p = usize::try_from(job.parallelism()).unwrap_or(0);
            ensure!(active <= p, "{active} active pods > parallelism {p}");
            // (A status the API server refused stays as it was: see `held`.)
            ensure!(
                held || post.active <= job.parallelism(),
                "status.active {} > parallelism {p}",
                post.active
            );
            if job.is_suspended() && !job.is_being_deleted() {
                ensure!(active == 0, "suspended with {active} active pods");
            }
            if let Some(c) = job.completions() {
                let left = usize::try_from((c - post.succeeded).max(0)).unwrap_or(0);
                ensure!(
                    active <= left,
                    "{active} active pods > {left} completions left"
                );
            }
        }
        Ok(())
    }
}

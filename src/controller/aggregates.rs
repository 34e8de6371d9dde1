//! Incremental aggregates over the pods, so that one pod event and the
//! reconcile after it cost O(log n) in the number of pods instead of a scan.
//!
//! Every pod change is applied as "remove the old record, insert the new
//! one", each touching a constant number of ordered sets. The reconcile
//! (`sync.rs`) reads only these aggregates and iterates only pods it acts on
//! or that changed since the last reconcile (the `fresh` set: finished pods
//! not counted yet). The reference model rebuilds the aggregates from every
//! pod on every reconcile, which is what upstream's `syncJob` does; tests
//! check that both agree.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::failure_policy::match_policy;
use super::pod::{PodRecord, RemovalKey};
use super::pods::PodId;
use crate::api::PodPhase;
use crate::indexes::IndexSet;
use crate::valid::ValidJob;

/// What classification depends on besides the pod itself: fixed for a spec,
/// so a spec change rebuilds the aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    only_replace_failed: bool,
    has_failure_policy: bool,
    indexed: bool,
}

impl Params {
    pub(super) fn of(job: &ValidJob) -> Params {
        Params {
            only_replace_failed: job.only_replace_failed_pods(),
            has_failure_policy: job.pod_failure_policy().is_some(),
            indexed: job.is_indexed(),
        }
    }
}

/// A pod's place in list order: the order in which the machine first saw
/// the pods (upstream's informer list order).
pub(crate) type ListKey = (u64, PodId);
/// A pod's place in upstream's `ActivePods` deletion order; among pods
/// equal under it (upstream's sort is unstable there) the pod seen last
/// goes first.
pub(crate) type RemovalOrder = (RemovalKey, Reverse<u64>, PodId);
type ByList = BTreeSet<ListKey>;
type ByRemoval = BTreeSet<RemovalOrder>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Aggregates {
    params: Params,
    /// How many pods are active. Only counts are kept where nothing on
    /// the hot path iterates: the paths that act on every active pod or
    /// every pod with the finalizer (the terminal path, the orphan
    /// clean-up) cost O(n) anyway and collect them from `removal` or the
    /// pod store (see [`Aggregates::active_in_list_order`],
    /// `PodStore::in_list_order`). An ordered set costs two tree updates
    /// per pod lifetime that a count does not.
    pub active: usize,
    /// Active pods, least valuable first (upstream `ActivePods`).
    pub removal: ByRemoval,
    pub ready: usize,
    /// How many pods are terminating.
    pub terminating: usize,
    /// Pods carrying the finalizer that are finished or considered failed:
    /// what the next reconcile has to count.
    pub fresh: ByList,
    /// Considered-failed pods matching a FailJob rule, in list order.
    pub fail_job: BTreeMap<u64, String>,
    /// Sum of container restarts of Running and Pending pods.
    pub restart_sum: i64,
    /// Active pods with an index, by index then list order. One ordered set
    /// for all indexes (a set per index would cost a tree node per index);
    /// the rare index with several pods is put in removal order when asked.
    pub active_by_index: BTreeSet<(i32, u64, PodId)>,
    /// Number of active pods per index.
    active_per_index: BTreeMap<i32, u32>,
    /// Indexes with more than one active pod.
    pub duplicate_indexes: BTreeSet<i32>,
    /// Indexed Jobs: active pods without a valid index annotation, in list
    /// order (empty for other Jobs, which have no use for it).
    pub active_without_index: ByList,
    /// Indexes of active pods.
    pub active_indexes: IndexSet,
    /// Number of terminating pods per index.
    terminating_per_index: BTreeMap<i32, u32>,
    /// Indexes of terminating pods.
    pub terminating_indexes: IndexSet,
}

impl Aggregates {
    /// The active pods in list order, from `removal`: O(a log a) for a
    /// active pods, only for the paths that act on all of them.
    pub(crate) fn active_in_list_order(&self) -> Vec<ListKey> {
        let mut keys: Vec<ListKey> = self
            .removal
            .iter()
            .map(|&(_, Reverse(seq), id)| (seq, id))
            .collect();
        keys.sort_unstable();
        keys
    }

    /// The active pods of one index, in list order.
    pub(crate) fn active_of_index(&self, i: i32) -> impl Iterator<Item = (u64, PodId)> + '_ {
        self.active_by_index
            .range((i, 0, PodId::MIN)..=(i, u64::MAX, PodId::MAX))
            .map(|&(_, seq, id)| (seq, id))
    }

    /// The active pods at index `from` or above, by index then list order.
    pub(crate) fn active_from_index(&self, from: i32) -> impl Iterator<Item = (u64, PodId)> + '_ {
        self.active_by_index
            .range((from, 0, PodId::MIN)..)
            .map(|&(_, seq, id)| (seq, id))
    }

    /// Builds the aggregates from every pod (restore, spec change,
    /// reference model): each ordered set is collected and built in bulk
    /// (sorted once, nodes filled in order), a fraction of the cost of
    /// inserting pod by pod.
    pub(crate) fn build<'a>(
        job: &ValidJob,
        pods: impl IntoIterator<Item = (PodId, &'a PodRecord)>,
    ) -> Aggregates {
        let params = Params::of(job);
        let (mut active, mut removal, mut terminating) = (0usize, Vec::new(), 0usize);
        let (mut fresh, mut without_index) = (Vec::new(), Vec::new());
        let (mut by_index, mut terminating_at, mut fail_job) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ready, mut restart_sum) = (0usize, 0i64);
        for (id, p) in pods {
            parts(params, id, p, |part| match part {
                Part::Active => active = active.saturating_add(1),
                Part::Removal(k) => removal.push(k),
                Part::Ready => ready = ready.saturating_add(1),
                Part::ActiveAtIndex(k) => by_index.push(k),
                Part::ActiveWithoutIndex(k) => without_index.push(k),
                Part::Terminating => terminating = terminating.saturating_add(1),
                Part::TerminatingAtIndex(i) => terminating_at.push(i),
                Part::Fresh(k) => fresh.push(k),
                Part::FailJob(seq) => fail_job.extend(fail_job_message(job, p).map(|m| (seq, m))),
                Part::Restarts(r) => restart_sum = restart_sum.saturating_add(r),
            });
        }
        by_index.sort_unstable();
        let active_per_index = count_runs(by_index.iter().map(|k| k.0));
        terminating_at.sort_unstable();
        let terminating_per_index = count_runs(terminating_at.iter().copied());
        Aggregates {
            params,
            active,
            removal: removal.into_iter().collect(),
            ready,
            terminating,
            fresh: fresh.into_iter().collect(),
            fail_job: fail_job.into_iter().collect(),
            restart_sum,
            active_by_index: by_index.into_iter().collect(),
            duplicate_indexes: active_per_index
                .iter()
                .filter(|&(_, &n)| n > 1)
                .map(|(&i, _)| i)
                .collect(),
            active_indexes: active_per_index.keys().copied().collect(),
            active_per_index,
            active_without_index: without_index.into_iter().collect(),
            terminating_indexes: terminating_per_index.keys().copied().collect(),
            terminating_per_index,
        }
    }

    pub(crate) fn insert(&mut self, job: &ValidJob, id: PodId, p: &PodRecord) {
        self.apply(job, id, p, true);
    }

    pub(crate) fn remove(&mut self, job: &ValidJob, id: PodId, p: &PodRecord) {
        self.apply(job, id, p, false);
    }

    /// Adds (`add`) or takes away one pod's contribution to every aggregate.
    fn apply(&mut self, job: &ValidJob, id: PodId, p: &PodRecord, add: bool) {
        parts(self.params, id, p, |part| {
            self.apply_part(job, p, part, add);
        });
    }

    /// What pod `p` (in slot `id`) contributes now: kept by the caller
    /// across a change of the record and handed to [`Aggregates::replace`].
    pub(crate) fn parts_of(&self, id: PodId, p: &PodRecord) -> Parts {
        let mut all = Parts::default();
        parts(self.params, id, p, |part| all.push(part));
        all
    }

    /// Replaces a pod's contribution `before` with what its changed record
    /// `p` contributes, touching only the parts that differ: most events
    /// move a pod in one or two orders (a pod that becomes ready changes
    /// its removal rank and the ready count, nothing else).
    pub(crate) fn replace(&mut self, job: &ValidJob, id: PodId, before: &Parts, p: &PodRecord) {
        let after = self.parts_of(id, p);
        for &part in before.iter().filter(|&part| !after.keeps(part)) {
            self.apply_part(job, p, part, false);
        }
        for &part in after.iter().filter(|&part| !before.keeps(part)) {
            self.apply_part(job, p, part, true);
        }
    }

    /// Adds (`add`) or takes away one part of pod `p`'s contribution.
    fn apply_part(&mut self, job: &ValidJob, p: &PodRecord, part: Part, add: bool) {
        fn set<K: Ord>(s: &mut BTreeSet<K>, k: K, add: bool) {
            if add {
                s.insert(k);
            } else {
                s.remove(&k);
            }
        }
        fn count(n: usize, add: bool) -> usize {
            if add {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            }
        }
        match part {
            Part::Active => self.active = count(self.active, add),
            Part::Removal(k) => set(&mut self.removal, k, add),
            Part::Ready => self.ready = count(self.ready, add),
            Part::ActiveAtIndex(k) => self.apply_active_index(k, add),
            Part::ActiveWithoutIndex(k) => set(&mut self.active_without_index, k, add),
            Part::Terminating => self.terminating = count(self.terminating, add),
            Part::TerminatingAtIndex(i) => self.apply_terminating_index(i, add),
            Part::Fresh(k) => set(&mut self.fresh, k, add),
            Part::FailJob(seq) if add => {
                if let Some(message) = fail_job_message(job, p) {
                    self.fail_job.insert(seq, message);
                }
            }
            Part::FailJob(seq) => {
                self.fail_job.remove(&seq);
            }
            Part::Restarts(r) => {
                self.restart_sum = if add {
                    self.restart_sum.saturating_add(r)
                } else {
                    self.restart_sum.saturating_sub(r)
                };
            }
        }
    }

    fn apply_terminating_index(&mut self, i: i32, add: bool) {
        let n = self.terminating_per_index.entry(i).or_insert(0);
        if add {
            *n = n.saturating_add(1);
            self.terminating_indexes.insert(i);
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.terminating_per_index.remove(&i);
                self.terminating_indexes.remove(i);
            }
        }
    }

    fn apply_active_index(&mut self, key: (i32, u64, PodId), add: bool) {
        let i = key.0;
        let n = self.active_per_index.entry(i).or_insert(0);
        if add {
            self.active_by_index.insert(key);
            *n = n.saturating_add(1);
        } else {
            self.active_by_index.remove(&key);
            *n = n.saturating_sub(1);
        }
        match *n {
            0 => {
                self.active_per_index.remove(&i);
                self.duplicate_indexes.remove(&i);
                self.active_indexes.remove(i);
            }
            1 => {
                self.duplicate_indexes.remove(&i);
                self.active_indexes.insert(i);
            }
            _ => {
                self.duplicate_indexes.insert(i);
                self.active_indexes.insert(i);
            }
        }
    }
}

/// One pod's contribution to one aggregate. [`parts`] is the single
/// classification of a pod; [`Aggregates::apply`] and
/// [`Aggregates::replace`] (one pod changes) and [`Aggregates::build`]
/// (every pod at once) only consume it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Active,
    Removal(RemovalOrder),
    Ready,
    ActiveAtIndex((i32, u64, PodId)),
    ActiveWithoutIndex(ListKey),
    Terminating,
    TerminatingAtIndex(i32),
    /// Finished or considered failed, not counted yet.
    Fresh(ListKey),
    /// Considered failed under a pod failure policy: a FailJob rule may
    /// match (by list position).
    FailJob(u64),
    /// Container restarts of a Running or Pending pod.
    Restarts(i64),
}

/// How many kinds of part there are.
const PART_KINDS: usize = 10;

impl Part {
    /// Its kind, as an index: a pod has at most one part of each kind.
    fn kind(&self) -> usize {
        match self {
            Part::Active => 0,
            Part::Removal(_) => 1,
            Part::Ready => 2,
            Part::ActiveAtIndex(_) => 3,
            Part::ActiveWithoutIndex(_) => 4,
            Part::Terminating => 5,
            Part::TerminatingAtIndex(_) => 6,
            Part::Fresh(_) => 7,
            Part::FailJob(_) => 8,
            Part::Restarts(_) => 9,
        }
    }
}

/// A pod's parts by kind, without an allocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts([Option<Part>; PART_KINDS]);

impl Parts {
    fn push(&mut self, part: Part) {
        if let Some(slot) = self.0.get_mut(part.kind()) {
            *slot = Some(part);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Part> {
        self.0.iter().flatten()
    }

    /// Whether `part` stays as it is. A FailJob match never does: the rule
    /// it matches is read from the pod again (its failure may be known
    /// only now).
    fn keeps(&self, part: &Part) -> bool {
        !matches!(part, Part::FailJob(_)) && self.0.get(part.kind()) == Some(&Some(*part))
    }
}

/// Every aggregate pod `p` (in slot `id`) belongs to.
fn parts(params: Params, id: PodId, p: &PodRecord, mut part: impl FnMut(Part)) {
    let list_key = (p.seq, id);
    let considered_failed = p.considered_failed(params.only_replace_failed);
    if p.is_active() {
        part(Part::Active);
        part(Part::Removal(removal_order(id, p)));
        if p.is_ready() {
            part(Part::Ready);
        }
        match p.index {
            Some(i) => part(Part::ActiveAtIndex((i, p.seq, id))),
            None if params.indexed => part(Part::ActiveWithoutIndex(list_key)),
            None => {}
        }
    }
    if p.is_terminating() {
        part(Part::Terminating);
        if let Some(i) = p.index {
            part(Part::TerminatingAtIndex(i));
        }
    }
    if p.finalizer && (p.is_finished() || considered_failed) {
        part(Part::Fresh(list_key));
    }
    if params.has_failure_policy && considered_failed {
        part(Part::FailJob(p.seq));
    }
    if matches!(p.phase, PodPhase::Running | PodPhase::Pending) {
        part(Part::Restarts(p.restart_sum));
    }
}

/// Pod `p`'s place in upstream's `ActivePods` deletion order (see
/// [`RemovalOrder`]).
pub(crate) fn removal_order(id: PodId, p: &PodRecord) -> RemovalOrder {
    (p.removal_key(), Reverse(p.seq), id)
}

/// The message of the FailJob rule a considered-failed pod matches, if any.
fn fail_job_message(job: &ValidJob, p: &PodRecord) -> Option<String> {
    match_policy(job.pod_failure_policy(), p, job.namespace()).fail_job_message
}

/// Sorted indexes → how many times each occurs.
fn count_runs(sorted: impl Iterator<Item = i32>) -> BTreeMap<i32, u32> {
    let mut runs: Vec<(i32, u32)> = Vec::new();
    for i in sorted {
        match runs.last_mut() {
            Some((last, n)) if *last == i => *n = n.saturating_add(1),
            _ => runs.push((i, 1)),
        }
    }
    runs.into_iter().collect()
}

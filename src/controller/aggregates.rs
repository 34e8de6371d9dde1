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

use super::pod::{PodRecord, RemovalKey};
use super::pods::PodId;
use crate::api::PodPhase;
use crate::failure_policy::match_policy;
use crate::indexes::IndexSet;
use crate::valid::ValidJob;

/// What classification depends on besides the pod itself: fixed for a spec,
/// so a spec change rebuilds the aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    only_replace_failed: bool,
    has_failure_policy: bool,
}

impl Params {
    pub fn of(job: &ValidJob) -> Params {
        Params {
            only_replace_failed: job.only_replace_failed_pods(),
            has_failure_policy: job.pod_failure_policy().is_some(),
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
    /// Active pods in list order.
    pub active: ByList,
    /// Active pods, least valuable first (upstream `ActivePods`).
    pub removal: ByRemoval,
    pub ready: usize,
    /// Terminating pods in list order.
    pub terminating: ByList,
    /// Pods carrying the finalizer (not counted yet), in list order.
    pub with_finalizer: ByList,
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
    /// Active pods without a valid index annotation, in list order.
    pub active_without_index: ByList,
    /// Indexes of active pods.
    pub active_indexes: IndexSet,
    /// Number of terminating pods per index.
    terminating_per_index: BTreeMap<i32, u32>,
    /// Indexes of terminating pods.
    pub terminating_indexes: IndexSet,
}

impl Aggregates {
    /// The active pods of one index, in list order.
    pub fn active_of_index(&self, i: i32) -> impl Iterator<Item = (u64, PodId)> + '_ {
        self.active_by_index
            .range((i, 0, PodId::MIN)..=(i, u64::MAX, PodId::MAX))
            .map(|&(_, seq, id)| (seq, id))
    }

    /// The active pods at index `from` or above, by index then list order.
    pub fn active_from_index(&self, from: i32) -> impl Iterator<Item = (u64, PodId)> + '_ {
        self.active_by_index
            .range((from, 0, PodId::MIN)..)
            .map(|&(_, seq, id)| (seq, id))
    }

    pub fn new(params: Params) -> Aggregates {
        Aggregates {
            params,
            active: BTreeSet::new(),
            removal: BTreeSet::new(),
            ready: 0,
            terminating: BTreeSet::new(),
            with_finalizer: BTreeSet::new(),
            fresh: BTreeSet::new(),
            fail_job: BTreeMap::new(),
            restart_sum: 0,
            active_by_index: BTreeSet::new(),
            active_per_index: BTreeMap::new(),
            duplicate_indexes: BTreeSet::new(),
            active_without_index: BTreeSet::new(),
            active_indexes: IndexSet::new(),
            terminating_per_index: BTreeMap::new(),
            terminating_indexes: IndexSet::new(),
        }
    }

    /// Builds the aggregates from every pod (restore, spec change,
    /// reference model).
    pub fn build<'a>(
        job: &ValidJob,
        pods: impl IntoIterator<Item = (PodId, &'a PodRecord)>,
    ) -> Aggregates {
        let mut aggregates = Aggregates::new(Params::of(job));
        for (id, p) in pods {
            aggregates.insert(job, id, p);
        }
        aggregates
    }

    pub fn insert(&mut self, job: &ValidJob, id: PodId, p: &PodRecord) {
        self.apply(job, id, p, true);
    }

    pub fn remove(&mut self, job: &ValidJob, id: PodId, p: &PodRecord) {
        self.apply(job, id, p, false);
    }

    /// Adds (`add`) or takes away one pod's contribution to every aggregate.
    fn apply(&mut self, job: &ValidJob, id: PodId, p: &PodRecord, add: bool) {
        fn set<K: Ord>(s: &mut BTreeSet<K>, k: K, add: bool) {
            if add {
                s.insert(k);
            } else {
                s.remove(&k);
            }
        }
        let list_key = (p.seq, id);
        if p.is_active() {
            set(&mut self.active, list_key, add);
            let rkey = (p.removal_key(), Reverse(p.seq), id);
            set(&mut self.removal, rkey, add);
            if p.is_ready() {
                if add {
                    self.ready += 1;
                } else {
                    self.ready = self.ready.saturating_sub(1);
                }
            }
            match p.index {
                Some(i) => self.apply_active_index(i, (i, p.seq, id), add),
                None => set(&mut self.active_without_index, list_key, add),
            }
        }
        if p.is_terminating() {
            set(&mut self.terminating, list_key, add);
            if let Some(i) = p.index {
                let n = self.terminating_per_index.entry(i).or_insert(0);
                if add {
                    *n += 1;
                    self.terminating_indexes.insert(i);
                } else {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.terminating_per_index.remove(&i);
                        self.terminating_indexes.remove(i);
                    }
                }
            }
        }
        if p.finalizer {
            set(&mut self.with_finalizer, list_key, add);
            if p.is_finished() || p.considered_failed(self.params.only_replace_failed) {
                set(&mut self.fresh, list_key, add);
            }
        }
        if self.params.has_failure_policy && p.considered_failed(self.params.only_replace_failed) {
            if add {
                let m = match_policy(job.pod_failure_policy(), p, job.namespace());
                if let Some(message) = m.fail_job_message {
                    self.fail_job.insert(p.seq, message);
                }
            } else {
                self.fail_job.remove(&p.seq);
            }
        }
        if matches!(p.phase, PodPhase::Running | PodPhase::Pending) {
            let r = p.restart_sum;
            self.restart_sum = if add {
                self.restart_sum.saturating_add(r)
            } else {
                self.restart_sum.saturating_sub(r)
            };
        }
    }

    fn apply_active_index(&mut self, i: i32, key: (i32, u64, PodId), add: bool) {
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

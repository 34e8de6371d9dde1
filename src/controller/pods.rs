//! The pods a Job tracks, each in a slot named by a small copyable id.
//!
//! Every ordered aggregate (`aggregates.rs`) refers to pods by `(seq, id)`
//! pairs: comparing and copying them costs nothing, where string keys cost
//! a comparison of names (which share the Job's prefix) and an allocation
//! per entry. Names and UIDs are looked up once per event, by hash; the
//! hash maps are only ever asked, never iterated, so their order cannot
//! leak into the machine's output.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::pod::PodRecord;

/// FNV-1a: pod names and UIDs are short, and hashing them is a fair share
/// of an event's cost; SipHash's protection against chosen collisions buys
/// nothing for names the API server generated. Fixed, so runs repeat.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a of `bytes` continuing from `hash`.
fn fnv_step(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// FNV-1a of `bytes` (what [`Fnv`] computes for one `write`): also the
/// seed and the in-reconcile duplicate check of generated pod names.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv_step(FNV_OFFSET, bytes)
}

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(FNV_OFFSET)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv_step(self.0, bytes);
    }
}

type FnvBuild = BuildHasherDefault<Fnv>;

/// A tracked pod's slot. Stable while the pod is tracked; reused after it
/// is removed, so it never outlives the record it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PodId(u32);

impl PodId {
    pub(crate) const MIN: PodId = PodId(0);
    pub(crate) const MAX: PodId = PodId(u32::MAX);
}

/// Pods by slot, with lookups by name and by UID.
///
/// Names and UIDs are stored once, in the records: the lookup tables map
/// their hash to slots and a lookup confirms the key in the record. Keeping
/// the strings in the tables too cost two allocations and two copies per
/// pod, and twice the memory the tables walk through.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodStore {
    slots: Vec<Option<PodRecord>>,
    free: Vec<u32>,
    by_name: HashIndex,
    by_uid: HashIndex,
}

/// Slots by the hash of a key their record holds (name or UID).
#[derive(Debug, Clone, Default)]
struct HashIndex {
    buckets: HashMap<u64, Bucket, FnvBuild>,
    len: usize,
}

/// The slots whose keys share one hash: almost always one.
#[derive(Debug, Clone)]
enum Bucket {
    One(PodId),
    Many(Vec<PodId>),
}

impl Bucket {
    fn ids(&self) -> &[PodId] {
        match self {
            Bucket::One(id) => std::slice::from_ref(id),
            Bucket::Many(ids) => ids,
        }
    }
}

impl HashIndex {
    /// The slot whose record's key (`key_of`) is `key`.
    fn get(&self, slots: &[Option<PodRecord>], key: &str, key_of: KeyOf) -> Option<PodId> {
        self.find(slots, fnv1a(key.as_bytes()), key, key_of)
    }

    /// [`HashIndex::get`] with the key's hash at hand.
    fn find(
        &self,
        slots: &[Option<PodRecord>],
        hash: u64,
        key: &str,
        key_of: KeyOf,
    ) -> Option<PodId> {
        let bucket = self.buckets.get(&hash)?;
        bucket.ids().iter().copied().find(|id| {
            slots
                .get(id.0 as usize)
                .and_then(Option::as_ref)
                .is_some_and(|p| key_of(p) == key)
        })
    }

    /// Points `key` at `id`, replacing a slot the key pointed at before.
    fn insert(&mut self, slots: &[Option<PodRecord>], key: &str, id: PodId, key_of: KeyOf) {
        let hash = fnv1a(key.as_bytes());
        let old = self.find(slots, hash, key, key_of);
        match (self.buckets.get_mut(&hash), old) {
            (None, _) => {
                self.buckets.insert(hash, Bucket::One(id));
                self.len += 1;
            }
            (Some(Bucket::One(slot)), Some(_)) => *slot = id,
            (Some(Bucket::Many(ids)), Some(old)) => {
                if let Some(slot) = ids.iter_mut().find(|s| **s == old) {
                    *slot = id;
                }
            }
            (Some(bucket), None) => {
                let mut ids = bucket.ids().to_vec();
                ids.push(id);
                *bucket = Bucket::Many(ids);
                self.len += 1;
            }
        }
    }

    /// Forgets `key` if it points at `id`.
    fn remove(&mut self, key: &str, id: PodId) {
        let hash = fnv1a(key.as_bytes());
        let Some(bucket) = self.buckets.get_mut(&hash) else {
            return;
        };
        match bucket {
            Bucket::One(slot) if *slot == id => {
                self.buckets.remove(&hash);
                self.len -= 1;
            }
            Bucket::One(_) => {}
            Bucket::Many(ids) => {
                let before = ids.len();
                ids.retain(|s| *s != id);
                self.len -= before - ids.len();
                if let [only] = ids[..] {
                    *bucket = Bucket::One(only);
                }
            }
        }
    }
}

type KeyOf = fn(&PodRecord) -> &str;

fn name_of(p: &PodRecord) -> &str {
    &p.name
}

fn uid_of(p: &PodRecord) -> &str {
    &p.uid
}

impl PodStore {
    pub(crate) fn len(&self) -> usize {
        self.by_name.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.len == 0
    }

    pub(crate) fn get(&self, id: PodId) -> Option<&PodRecord> {
        self.slots.get(id.0 as usize).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, id: PodId) -> Option<&mut PodRecord> {
        self.slots.get_mut(id.0 as usize).and_then(Option::as_mut)
    }

    pub(crate) fn id(&self, name: &str) -> Option<PodId> {
        self.by_name.get(&self.slots, name, name_of)
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&PodRecord> {
        self.id(name).and_then(|id| self.get(id))
    }

    pub(crate) fn contains_name(&self, name: &str) -> bool {
        self.id(name).is_some()
    }

    /// The pod with this UID, if tracked (the one stored last, should two
    /// records claim one UID).
    pub(crate) fn by_uid(&self, uid: &str) -> Option<&PodRecord> {
        self.by_uid
            .get(&self.slots, uid, uid_of)
            .and_then(|id| self.get(id))
    }

    /// Makes room for `n` more pods (a restore lists them all at once).
    pub(crate) fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.by_name.buckets.reserve(n);
        self.by_uid.buckets.reserve(n);
    }

    /// Stores a record whose name is not tracked yet and returns its slot.
    pub(crate) fn insert(&mut self, record: PodRecord) -> PodId {
        let id = match self.free.pop() {
            Some(slot) => PodId(slot),
            None => {
                // More than 2^32 pods tracked at once cannot happen (the
                // API allows 100 000 per Job); saturate rather than wrap.
                let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(None);
                PodId(slot)
            }
        };
        // The record goes in first: the tables confirm keys in it.
        if let Some(slot) = self.slots.get_mut(id.0 as usize) {
            *slot = Some(record);
        }
        if let Some(record) = self.slots.get(id.0 as usize).and_then(Option::as_ref) {
            self.by_name.insert(&self.slots, &record.name, id, name_of);
            if !record.uid.is_empty() {
                self.by_uid.insert(&self.slots, &record.uid, id, uid_of);
            }
        }
        id
    }

    /// Takes a record out; its slot becomes free.
    pub(crate) fn remove(&mut self, id: PodId) -> Option<PodRecord> {
        let record = self.slots.get_mut(id.0 as usize)?.take()?;
        self.by_name.remove(&record.name, id);
        self.by_uid.remove(&record.uid, id);
        self.free.push(id.0);
        Some(record)
    }

    /// The pods `keep` selects, in list order (by `seq`): O(n log n), for
    /// the paths that act on every such pod.
    pub(crate) fn in_list_order(&self, keep: impl Fn(&PodRecord) -> bool) -> Vec<(u64, PodId)> {
        let mut keys: Vec<(u64, PodId)> = self
            .iter()
            .filter(|(_, p)| keep(p))
            .map(|(id, p)| (p.seq, id))
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Every record with its id, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (PodId, &PodRecord)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            let id = PodId(u32::try_from(i).unwrap_or(u32::MAX));
            s.as_ref().map(|p| (id, p))
        })
    }
}

/// How many recently gone pods [`GoneGuard`] remembers.
pub(crate) const GONE_GUARD_CAPACITY: usize = 4096;

/// The UIDs of the pods that went away most recently, so that a late event
/// for one of them (an older copy delivered after the pod is gone) is not
/// taken for a new pod — which, carrying the finalizer in that older copy,
/// would be counted twice. An informer never delivers such an event after
/// the deletion; the guard is for callers that can (simulators with delays,
/// replays). It holds at most [`GONE_GUARD_CAPACITY`] UIDs, oldest forgotten
/// first, so it does not grow with the Job's history.
#[derive(Debug, Clone, Default)]
pub(crate) struct GoneGuard {
    order: VecDeque<String>,
    uids: HashSet<String, FnvBuild>,
}

impl GoneGuard {
    pub(crate) fn contains(&self, uid: &str) -> bool {
        self.uids.contains(uid)
    }

    pub(crate) fn insert(&mut self, uid: String) {
        if uid.is_empty() || self.uids.contains(&uid) {
            return;
        }
        if self.order.len() >= GONE_GUARD_CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.uids.remove(&oldest);
            }
        }
        self.uids.insert(uid.clone());
        self.order.push_back(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gone_guard_forgets_the_oldest_uid_beyond_its_capacity() {
        let mut guard = GoneGuard::default();
        for i in 0..=GONE_GUARD_CAPACITY {
            guard.insert(format!("uid-{i}"));
        }
        assert!(!guard.contains("uid-0"), "the oldest is forgotten");
        assert!(guard.contains("uid-1"));
        assert!(guard.contains(&format!("uid-{GONE_GUARD_CAPACITY}")));
        assert_eq!(guard.order.len(), GONE_GUARD_CAPACITY);
        assert_eq!(guard.uids.len(), GONE_GUARD_CAPACITY);
        guard.insert("uid-1".into());
        assert_eq!(guard.order.len(), GONE_GUARD_CAPACITY, "no duplicates");
    }
}

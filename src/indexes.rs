//! Sets of completion indexes kept as ordered, disjoint intervals, and their
//! text form (`"0,2-4,7"`) used by `status.completedIndexes`,
//! `status.failedIndexes` and `successPolicy.rules[].succeededIndexes`
//! (upstream `indexed_job_utils.go: orderedIntervals`).
//!
//! Intervals keep every operation logarithmic in the number of runs, which is
//! what lets the controller find the lowest pending index without walking
//! every completed one.

use std::collections::BTreeMap;
use std::fmt;

/// A set of non-negative indexes stored as maximal disjoint runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct IndexSet {
    /// first index of a run → last index of the run (inclusive).
    runs: BTreeMap<i32, i32>,
    len: u64,
}

impl IndexSet {
    /// An empty set.
    pub(crate) fn new() -> IndexSet {
        IndexSet::default()
    }

    /// Parses the interval syntax as upstream's `parseIndexesFromString`
    /// does: leniently. A malformed interval is skipped, parsing stops at the
    /// first interval that starts at or beyond `completions`, and an interval
    /// end beyond it is clipped to `completions - 1`.
    pub(crate) fn parse(text: &str, completions: i32) -> IndexSet {
        let mut set = IndexSet::new();
        if text.is_empty() {
            return set;
        }
        for part in text.split(',') {
            let mut limits = part.split('-');
            let Some(Ok(first)) = limits.next().map(str::parse::<i32>) else {
                continue;
            };
            if first >= completions {
                break;
            }
            let last = match limits.next() {
                None => first,
                Some(t) => match t.parse::<i32>() {
                    Ok(last) => last.min(completions.saturating_sub(1)),
                    Err(_) => continue,
                },
            };
            set.insert_range(first, last);
        }
        set
    }

    /// Number of indexes in the set.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `index` is in the set.
    pub(crate) fn contains(&self, index: i32) -> bool {
        self.run_containing(index).is_some()
    }

    fn run_containing(&self, index: i32) -> Option<(i32, i32)> {
        self.runs
            .range(..=index)
            .next_back()
            .filter(|(_, last)| **last >= index)
            .map(|(f, l)| (*f, *l))
    }

    /// Adds one index. Returns whether it was new.
    pub(crate) fn insert(&mut self, index: i32) -> bool {
        if self.contains(index) {
            return false;
        }
        self.insert_range(index, index);
        true
    }

    /// Adds every index in `first..=last` (nothing if `last < first`).
    pub(crate) fn insert_range(&mut self, first: i32, last: i32) {
        if last < first {
            return;
        }
        let (mut lo, mut hi) = (first, last);
        // Absorb a run that overlaps or touches on the left.
        if let Some((f, l)) = self.runs.range(..=lo).next_back().map(|(f, l)| (*f, *l)) {
            if i64::from(l) + 1 >= i64::from(lo) {
                lo = f;
                hi = hi.max(l);
                self.remove_run(f);
            }
        }
        // Absorb runs that start inside or right after the new one.
        while let Some((f, l)) = self.runs.range(lo..).next().map(|(f, l)| (*f, *l)) {
            if i64::from(f) > i64::from(hi) + 1 {
                break;
            }
            hi = hi.max(l);
            self.remove_run(f);
        }
        self.runs.insert(lo, hi);
        self.len += run_len(lo, hi);
    }

    fn remove_run(&mut self, first: i32) {
        if let Some(last) = self.runs.remove(&first) {
            self.len -= run_len(first, last);
        }
    }

    /// Removes one index. Returns whether it was present.
    pub(crate) fn remove(&mut self, index: i32) -> bool {
        let Some((f, l)) = self.run_containing(index) else {
            return false;
        };
        self.remove_run(f);
        if f < index {
            self.runs.insert(f, index - 1);
            self.len += run_len(f, index - 1);
        }
        if index < l {
            self.runs.insert(index + 1, l);
            self.len += run_len(index + 1, l);
        }
        true
    }

    /// The smallest index `>= from` that is not in the set.
    pub(crate) fn first_absent_from(&self, from: i32) -> i32 {
        match self.run_containing(from) {
            Some((_, last)) => last.saturating_add(1),
            None => from,
        }
    }

    /// The maximal runs, ascending, as inclusive `(first, last)` pairs.
    pub(crate) fn runs(&self) -> impl Iterator<Item = (i32, i32)> + '_ {
        self.runs.iter().map(|(f, l)| (*f, *l))
    }

    /// Number of indexes of this set that are in `first..=last`.
    pub(crate) fn count_in(&self, first: i32, last: i32) -> u64 {
        let mut n = 0;
        if let Some(l) = self.runs.range(..first).next_back().map(|(_, l)| *l) {
            if l >= first {
                n += run_len(first, l.min(last));
            }
        }
        for (f, l) in self.runs.range(first..=last.max(first)) {
            n += run_len(*f, (*l).min(last));
        }
        n
    }
}

fn run_len(first: i32, last: i32) -> u64 {
    (i64::from(last) - i64::from(first) + 1) as u64
}

impl FromIterator<i32> for IndexSet {
    /// Sorts the indexes and builds the runs in one pass (the tree is then
    /// built in bulk): a restore collects every active index at once, and
    /// inserting them one by one was an eighth of it.
    fn from_iter<T: IntoIterator<Item = i32>>(iter: T) -> IndexSet {
        let mut indexes: Vec<i32> = iter.into_iter().collect();
        indexes.sort_unstable();
        indexes.dedup();
        let mut runs: Vec<(i32, i32)> = Vec::new();
        for i in indexes {
            match runs.last_mut() {
                Some((_, last)) if last.checked_add(1) == Some(i) => *last = i,
                _ => runs.push((i, i)),
            }
        }
        let len = runs.iter().map(|&(f, l)| run_len(f, l)).sum();
        IndexSet {
            runs: runs.into_iter().collect(),
            len,
        }
    }
}

impl IndexSet {
    /// Upstream's text (see the `Display` impl), written with a
    /// hand-rolled decimal writer: the status holds this text and a write
    /// formats it whole, so for a fragmented set (every other index
    /// complete) it was most of an event, going through `fmt` per number.
    pub(crate) fn to_text(&self) -> String {
        // Each run is at most "2147483647-2147483647," (22 bytes); most are
        // far shorter.
        let mut out = String::with_capacity(self.runs.len().saturating_mul(8));
        let mut digits = [0u8; 12];
        for (n, (first, last)) in self.runs().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(decimal(first, &mut digits));
            if first.checked_add(1) == Some(last) {
                out.push(',');
                out.push_str(decimal(last, &mut digits));
            } else if last > first {
                out.push('-');
                out.push_str(decimal(last, &mut digits));
            }
        }
        out
    }
}

/// `n` in decimal, written at the end of `buf`.
pub(crate) fn decimal(n: i32, buf: &mut [u8; 12]) -> &str {
    let mut at = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        // `rest % 10` is a digit: the cast cannot truncate.
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

impl fmt::Display for IndexSet {
    /// Upstream's format: runs of three or more as `a-b`, a run of two as
    /// `a,b`, singles as `a` ([`IndexSet::to_text`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // proptest prints the minimal failing input and persists its seed
        // under `proptest-regressions/`.
        #[test]
        fn collecting_is_inserting_one_by_one(
            indexes in proptest::collection::vec(
                prop_oneof![0i32..40, Just(i32::MAX), Just(i32::MAX - 1), any::<i32>()],
                0..60,
            )
        ) {
            let mut one_by_one = IndexSet::new();
            for &i in &indexes {
                one_by_one.insert(i);
            }
            let collected: IndexSet = indexes.iter().copied().collect();
            prop_assert_eq!(&collected, &one_by_one);
            prop_assert_eq!(collected.to_string(), one_by_one.to_string());
        }

        #[test]
        fn the_text_is_upstreams_format(
            indexes in proptest::collection::vec(
                prop_oneof![0i32..40, Just(i32::MAX), Just(i32::MAX - 1), any::<i32>()],
                0..60,
            )
        ) {
            let set: IndexSet = indexes.iter().copied().collect();
            // The format written out with `format!`, run by run.
            let expected: Vec<String> = set
                .runs()
                .map(|(first, last)| match i64::from(last) - i64::from(first) {
                    0 => format!("{first}"),
                    1 => format!("{first},{last}"),
                    _ => format!("{first}-{last}"),
                })
                .collect();
            prop_assert_eq!(set.to_text(), expected.join(","));
        }
    }

    #[test]
    fn parse_count_and_format() {
        let set = IndexSet::parse("0,2-4,7", 10);
        assert_eq!(set.len(), 5);
        assert!(set.contains(3));
        assert_eq!(set.to_string(), "0,2-4,7");
        let pair: IndexSet = [1, 2].into_iter().collect();
        assert_eq!(
            pair.to_string(),
            "1,2",
            "a run of two is written as two singles"
        );
    }

    #[test]
    fn format_uses_ranges_only_for_three_or_more() {
        let s: IndexSet = [0, 2, 3, 4, 7, 9, 10].into_iter().collect();
        assert_eq!(s.to_string(), "0,2-4,7,9,10");
        assert_eq!(IndexSet::new().to_string(), "");
    }

    #[test]
    fn parse_is_lenient_like_upstream() {
        assert_eq!(IndexSet::parse("0,x,2-4,5-a,9", 100).to_string(), "0,2-4,9");
        assert_eq!(IndexSet::parse("1,3-8,12", 6).to_string(), "1,3-5");
        assert_eq!(IndexSet::parse("1-2,3", 10).to_string(), "1-3");
        assert_eq!(IndexSet::parse("-1,2", 10).to_string(), "2");
    }

    #[test]
    fn insert_merges_neighbours_and_remove_splits() {
        let mut s = IndexSet::new();
        for i in [5, 3, 4, 10, 6] {
            s.insert(i);
        }
        assert_eq!(s.to_string(), "3-6,10");
        assert_eq!(s.len(), 5);
        assert!(s.remove(4));
        assert_eq!(s.to_string(), "3,5,6,10");
        assert_eq!(s.len(), 4);
        assert!(!s.remove(4));
    }

    #[test]
    fn first_absent_skips_whole_runs() {
        let s = IndexSet::parse("0-99,101", 1000);
        assert_eq!(s.first_absent_from(0), 100);
        assert_eq!(s.first_absent_from(101), 102);
        assert_eq!(s.first_absent_from(200), 200);
    }

    #[test]
    fn count_in_counts_overlap() {
        let s = IndexSet::parse("0-5,8,10-12", 100);
        assert_eq!(s.count_in(3, 10), 5);
        assert_eq!(s.count_in(6, 7), 0);
    }
}

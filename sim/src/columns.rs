//! Two sets over the page indices of one object, kept as runs so that a
//! window of a million pages costs one or two tree entries, not a million:
//!
//! - [`Coverage`]: how many map entries' windows cover each index (which
//!   indices of an object some entry maps directly);
//! - [`Columns`]: a set of indices (which indices of an object some map
//!   entry can reach, directly or through the objects above it).
//!
//! Both are used by the bookkeeping in `reach.rs`. An index of an object is
//! called a *column* there: the same column runs down a shadow chain,
//! shifted by each link's offset.

use std::collections::BTreeMap;
use std::ops::Range;

/// How many windows cover each index, as runs of equal counts.
///
/// `runs[k]` is the count of every index from `k` up to the next key; the
/// indices before the first key count 0. Invariant: neighbouring runs have
/// different counts, the first run's count is not 0 and the last run's is,
/// so one set of counts has exactly one representation and an object no
/// entry maps costs an empty map. For example, a window over `2..6` and
/// another over `4..8`:
///
/// ```text
/// index:  0 1 2 3 4 5 6 7 8 ...
/// count:  0 0 1 1 2 2 1 1 0 ...
/// runs:   {2: 1, 4: 2, 6: 1, 8: 0}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    runs: BTreeMap<u64, u32>,
}

impl Coverage {
    /// Windows covering `index`.
    #[inline]
    pub fn count(&self, index: u64) -> u32 {
        self.runs.range(..=index).next_back().map_or(0, |(_, count)| *count)
    }

    /// True when no window covers anything.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Adds one window over `range`.
    pub fn add(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        self.split_at(range.start);
        self.split_at(range.end);
        for count in self.runs.range_mut(range.clone()).map(|(_, count)| count) {
            *count += 1;
        }
        self.merge_around(range);
    }

    /// Removes one window over `range` and returns the parts of it no window
    /// covers any more, in order. Panics if some index of `range` had no
    /// window: the caller removed a window it never added.
    pub fn remove(&mut self, range: Range<u64>) -> Vec<Range<u64>> {
        let mut uncovered: Vec<Range<u64>> = Vec::new();
        if range.is_empty() {
            return uncovered;
        }
        self.split_at(range.start);
        self.split_at(range.end);
        let mut runs = self.runs.range_mut(range.clone()).peekable();
        while let Some((&start, count)) = runs.next() {
            assert!(*count > 0, "coverage: index {start} released by a window that did not cover it");
            *count -= 1;
            if *count == 0 {
                let end = runs.peek().map_or(range.end, |(next, _)| **next);
                match uncovered.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => uncovered.push(start..end),
                }
            }
        }
        self.merge_around(range);
        uncovered
    }

    /// The parts of `range` that some window covers, in order (a part
    /// ends wherever the count changes).
    pub fn covered_within(&self, range: Range<u64>) -> impl Iterator<Item = Range<u64>> + '_ {
        let begin = self.runs.range(..=range.start).next_back().map_or(range.start, |(start, _)| *start);
        let mut runs = self.runs.range(begin..).peekable();
        std::iter::from_fn(move || {
            loop {
                let (&start, &count) = runs.next()?;
                if start >= range.end {
                    return None;
                }
                // The last run counts 0, so a covered run always has a next.
                let stop = runs.peek().map_or(u64::MAX, |(next, _)| **next);
                let part = start.max(range.start)..stop.min(range.end);
                if count > 0 && !part.is_empty() {
                    return Some(part);
                }
            }
        })
    }

    /// Asks "is this index covered?" for indices in increasing order, one
    /// run at a time instead of one tree search per index.
    pub fn ascending(&self) -> CoverageCursor<'_> {
        CoverageCursor { runs: self.runs.iter().peekable(), count: 0 }
    }

    /// Every run with its count, in order (for the invariant checker).
    pub fn runs(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.runs.iter().map(|(k, c)| (*k, *c))
    }

    /// Makes `at` the start of a run (keeping every count).
    fn split_at(&mut self, at: u64) {
        let count = self.count(at);
        self.runs.entry(at).or_insert(count);
    }

    /// Drops the run starts in `[range.start, range.end]` whose count equals
    /// the run before them (0 before the first run).
    fn merge_around(&mut self, range: Range<u64>) {
        let mut previous = self.runs.range(..range.start).next_back().map_or(0, |(_, c)| *c);
        let mut redundant: Vec<u64> = Vec::new();
        for (&start, &count) in self.runs.range(range.start..=range.end) {
            if count == previous {
                redundant.push(start);
            }
            previous = count;
        }
        for start in redundant {
            self.runs.remove(&start);
        }
    }
}

/// A set of indices, as disjoint runs `start → end` (half-open). Invariant:
/// runs neither overlap nor touch, so a set has one representation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    runs: BTreeMap<u64, u64>,
}

impl Columns {
    /// Is `index` in the set?
    #[inline]
    pub fn contains(&self, index: u64) -> bool {
        self.runs.range(..=index).next_back().is_some_and(|(_, end)| index < *end)
    }

    /// True for the empty set.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Adds every index of `range`.
    pub fn insert(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        let (mut start, mut end) = (range.start, range.end);
        // A run that starts before `start` and reaches it absorbs the range.
        if let Some((&s, &e)) = self.runs.range(..start).next_back()
            && e >= start
        {
            start = s;
            end = end.max(e);
        }
        // Runs starting inside (or right at the end of) the range merge in,
        // one at a time (no list is built: usually there are none).
        while let Some((&s, &e)) = self.runs.range(start..=end).next() {
            self.runs.remove(&s);
            end = end.max(e);
        }
        self.runs.insert(start, end);
    }

    /// Removes every index of `range`.
    pub fn remove(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        if let Some((&s, &e)) = self.runs.range(..range.start).next_back()
            && e > range.start
        {
            self.runs.insert(s, range.start);
            if e > range.end {
                self.runs.insert(range.end, e);
                return;
            }
        }
        while let Some((&s, &e)) = self.runs.range(range.clone()).next() {
            self.runs.remove(&s);
            if e > range.end {
                self.runs.insert(range.end, e);
            }
        }
    }

    /// Adds one index: [`Columns::insert`] for the commonest case, a column
    /// followed down a chain, in one or two tree operations.
    pub fn insert_one(&mut self, index: u64) {
        let before = self.runs.range(..=index).next_back().map(|(s, e)| (*s, *e));
        if before.is_some_and(|(_, e)| index < e) {
            return;
        }
        let after = index.checked_add(1).and_then(|next| self.runs.get(&next).map(|e| (next, *e)));
        match (before.filter(|(_, e)| *e == index), after) {
            (Some((s, _)), Some((next, e))) => {
                self.runs.remove(&next);
                self.runs.insert(s, e);
            }
            (Some((s, _)), None) => {
                self.runs.insert(s, index + 1);
            }
            (None, Some((next, e))) => {
                self.runs.remove(&next);
                self.runs.insert(index, e);
            }
            (None, None) => {
                self.runs.insert(index, index + 1);
            }
        }
    }

    /// Removes one index: [`Columns::remove`] for the commonest case, in
    /// one or two tree operations.
    pub fn remove_one(&mut self, index: u64) {
        let Some((s, e)) = self.runs.range(..=index).next_back().map(|(s, e)| (*s, *e)) else { return };
        if index >= e {
            return;
        }
        if s == index {
            self.runs.remove(&s);
        } else {
            self.runs.insert(s, index);
        }
        if index + 1 < e {
            self.runs.insert(index + 1, e);
        }
    }

    /// The run holding `index`, if `index` is in the set.
    pub fn run_containing(&self, index: u64) -> Option<Range<u64>> {
        let (&start, &end) = self.runs.range(..=index).next_back()?;
        (index < end).then_some(start..end)
    }

    /// Is every index of `range` in the set? True for an empty range.
    pub fn contains_all(&self, range: Range<u64>) -> bool {
        range.is_empty() || self.run_containing(range.start).is_some_and(|run| range.end <= run.end)
    }

    /// The parts of `range` in the set, in order.
    pub fn within(&self, range: Range<u64>) -> impl Iterator<Item = Range<u64>> + '_ {
        let first = self.runs.range(..range.start).next_back().map(|(s, e)| (*s, *e));
        let rest = self.runs.range(range.clone()).map(|(s, e)| (*s, *e));
        first.into_iter().chain(rest).filter_map(move |(s, e)| {
            let clipped = s.max(range.start)..e.min(range.end);
            (!clipped.is_empty()).then_some(clipped)
        })
    }

    /// Every run, in order.
    pub fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.runs.iter().map(|(s, e)| *s..*e)
    }

    /// Asks "is this index in the set?" for indices in increasing order,
    /// one run at a time instead of one tree search per index.
    pub fn ascending(&self) -> ColumnsCursor<'_> {
        ColumnsCursor { runs: self.runs.iter().peekable() }
    }
}

/// See [`Coverage::ascending`].
pub struct CoverageCursor<'a> {
    runs: std::iter::Peekable<std::collections::btree_map::Iter<'a, u64, u32>>,
    /// The count of the run the last index asked fell in.
    count: u32,
}

impl CoverageCursor<'_> {
    /// Is `index` covered? `index` must not be below the last one asked.
    pub fn covers(&mut self, index: u64) -> bool {
        while let Some((start, count)) = self.runs.peek()
            && **start <= index
        {
            self.count = **count;
            self.runs.next();
        }
        self.count > 0
    }
}

/// See [`Columns::ascending`].
pub struct ColumnsCursor<'a> {
    runs: std::iter::Peekable<std::collections::btree_map::Iter<'a, u64, u64>>,
}

impl ColumnsCursor<'_> {
    /// Is `index` in the set? `index` must not be below the last one asked.
    pub fn contains(&mut self, index: u64) -> bool {
        while let Some((_, end)) = self.runs.peek()
            && **end <= index
        {
            self.runs.next();
        }
        self.runs.peek().is_some_and(|(start, _)| **start <= index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &Coverage, upto: u64) -> Vec<u32> {
        (0..upto).map(|i| c.count(i)).collect()
    }

    /// Do windows add up per index, come off again, and say which parts
    /// they leave uncovered, with one representation whatever the order?
    #[test]
    fn coverage_adds_removes_and_reports_uncovered() {
        let mut c = Coverage::default();
        c.add(2..6);
        c.add(4..8);
        assert_eq!(counts(&c, 9), vec![0, 0, 1, 1, 2, 2, 1, 1, 0]);
        assert_eq!(c.runs().collect::<Vec<_>>(), vec![(2, 1), (4, 2), (6, 1), (8, 0)]);
        assert_eq!(c.covered_within(0..5).collect::<Vec<_>>(), vec![2..4, 4..5]);
        assert_eq!(c.covered_within(7..20).collect::<Vec<_>>(), vec![7..8]);
        let mut ascending = c.ascending();
        let covered: Vec<bool> = (0..10).map(|i| ascending.covers(i)).collect();
        assert_eq!(covered, (0..10).map(|i| c.count(i) > 0).collect::<Vec<_>>());
        assert_eq!(c.remove(2..6), vec![2..4]);
        assert_eq!(counts(&c, 9), vec![0, 0, 0, 0, 1, 1, 1, 1, 0]);
        assert_eq!(c.remove(4..8), vec![4..8]);
        assert!(c.is_empty(), "every run merged away: {c:?}");
        let mut a = Coverage::default();
        a.add(0..4);
        a.add(4..8);
        let mut b = Coverage::default();
        b.add(0..8);
        assert_eq!(a, b, "touching windows merge into one run");
    }

    /// Do runs merge when they touch and split when a hole is cut?
    #[test]
    fn columns_insert_and_remove() {
        let mut s = Columns::default();
        s.insert(5..7);
        s.insert(1..3);
        s.insert(3..5);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1..7]);
        s.remove(2..4);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1..2, 4..7]);
        assert!(s.contains(1) && !s.contains(2) && !s.contains(3) && s.contains(6) && !s.contains(7));
        s.insert(10..12);
        assert_eq!(s.within(0..11).collect::<Vec<_>>(), vec![1..2, 4..7, 10..11]);
        let mut ascending = s.ascending();
        let inside: Vec<bool> = (0..14).map(|i| ascending.contains(i)).collect();
        assert_eq!(inside, (0..14).map(|i| s.contains(i)).collect::<Vec<_>>());
        s.remove(0..100);
        assert!(s.is_empty());
        s.insert(0..10);
        s.remove(3..4);
        s.insert(3..4);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0..10]);
        for i in [3, 0, 9, 5] {
            s.remove_one(i);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1..3, 4..5, 6..9]);
        for i in [5, 3, 0, 9, 20] {
            s.insert_one(i);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0..10, 20..21]);
    }
}

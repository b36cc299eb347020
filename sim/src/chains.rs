//! Chain lengths, kept up to date as the world changes, so that the longest
//! and the mean chain over every map entry cost nothing to read.
//!
//! The *chain length* of a map entry is the number of objects from its
//! object down to the end of the chain (docs/report.md). Walking every
//! entry's chain after every operation that made a shadow costs the number
//! of entries times the depth: with many live children under the Mach
//! family, both grow with the number of children, and a run became cubic.
//! Instead:
//!
//! - every object keeps its own `chain_length` (1, plus its shadow's);
//! - every object keeps `mappers`, the map entries that point at it;
//! - the world keeps [`ChainLengths`], how many entries have each length,
//!   counting each entry at its object's kept `chain_length`.
//!
//! A new shadow pointer changes the length of the object that got it and of
//! every object above it (its shadowers, theirs, and so on). A shadow made
//! at a fault has nothing above it, but a collapse deep in a chain (XNU
//! collapses the whole chain; FreeBSD collapses at every exit) moves
//! everything stacked on that level. So lengths are *settled* lazily: a new
//! shadow pointer only marks its object `length_unsettled` and lists it;
//! [`World::settle_chain_lengths`] recomputes, from each listed object's
//! lowest unsettled object up, every length that changed, once, however
//! many collapses happened in between. The simulator settles before it
//! reads the longest chain (at the end of an operation that made a shadow
//! or copy object) or takes a sample; a run of exits pays for the objects
//! above the deepest collapse once per sample, not once per exit.
//!
//! Invariants, checked after every operation by the invariant checker
//! against a fresh count: each object's `mappers` are the entries
//! pointing at it; [`ChainLengths`] counts every entry of every
//! live task once, at its object's kept length; every object marked
//! unsettled is listed; and the kept length of every object with no
//! unsettled object on its chain (itself included) is one more than its
//! shadow's, or 1.

use crate::ids::{ObjectId, TaskId, Vpn};
use crate::world::World;

/// How many map entries have each chain length. `by_length[n]` counts the
/// entries whose chain is `n` objects long; `entries` and `total_length`
/// are their count and the sum of their lengths; `longest` is the largest
/// `n` with a non-zero count (0 when there is no entry).
#[derive(Clone, Debug, Default)]
pub struct ChainLengths {
    by_length: Vec<u64>,
    entries: u64,
    total_length: u64,
    longest: usize,
}

impl ChainLengths {
    /// Counts `entries` more entries of chain length `length`.
    fn add(&mut self, length: u32, entries: u32) {
        if entries == 0 {
            return;
        }
        let length = length as usize;
        if self.by_length.len() <= length {
            self.by_length.resize(length + 1, 0);
        }
        self.by_length[length] += u64::from(entries);
        self.entries += u64::from(entries);
        self.total_length += u64::from(entries) * length as u64;
        self.longest = self.longest.max(length);
    }

    /// Counts `entries` fewer entries of chain length `length`.
    fn remove(&mut self, length: u32, entries: u32) {
        if entries == 0 {
            return;
        }
        let length = length as usize;
        self.by_length[length] -= u64::from(entries);
        self.entries -= u64::from(entries);
        self.total_length -= u64::from(entries) * length as u64;
        while self.longest > 0 && self.by_length[self.longest] == 0 {
            self.longest -= 1;
        }
    }

    /// Moves `entries` entries from length `old` to length `new`. Adding
    /// first means that when the longest chain shrinks, the search for the
    /// new longest stops at `new` at the latest.
    fn shift(&mut self, old: u32, new: u32, entries: u32) {
        self.add(new, entries);
        self.remove(old, entries);
    }

    /// The longest chain of any entry (0 when no task maps anything).
    pub fn longest(&self) -> u64 {
        self.longest as u64
    }

    /// The mean chain length over every entry (0 when there is none),
    /// computed as the walk did: the integer sum over the integer count.
    pub fn mean(&self) -> f64 {
        if self.entries == 0 { 0.0 } else { self.total_length as f64 / self.entries as f64 }
    }

    /// Counts afresh, once each, entries of the given `lengths` (for the
    /// invariant checker, which keeps one histogram to recount into).
    pub(crate) fn recount(&mut self, lengths: impl Iterator<Item = u32>) {
        self.by_length.iter_mut().for_each(|count| *count = 0);
        (self.entries, self.total_length, self.longest) = (0, 0, 0);
        for length in lengths {
            self.add(length, 1);
        }
    }

    /// The same number of entries at every length as `other`? (Lengths
    /// past the longest may be kept as zeros in either.)
    pub(crate) fn same_counts_as(&self, other: &ChainLengths) -> bool {
        let (mine, theirs) = (&self.by_length, &other.by_length);
        let common = mine.len().min(theirs.len());
        mine[..common] == theirs[..common]
            && mine[common..].iter().all(|n| *n == 0)
            && theirs[common..].iter().all(|n| *n == 0)
            && (self.entries, self.total_length, self.longest) == (other.entries, other.total_length, other.longest)
    }
}

impl World {
    /// Number of objects from `id` down to the end of its chain (1 for an
    /// object with no shadow), settling lengths first.
    pub(crate) fn chain_length(&mut self, id: ObjectId) -> u32 {
        self.settle_chain_lengths();
        self.object(id).chain_length
    }

    /// The entries' chain lengths, settled.
    pub(crate) fn chain_lengths(&mut self) -> &ChainLengths {
        self.settle_chain_lengths();
        &self.chains
    }

    /// The entries' chain lengths as kept, settled or not (for the
    /// invariant checker, which cannot settle them).
    pub(crate) fn kept_chain_lengths(&self) -> &ChainLengths {
        &self.chains
    }

    /// The entry of `task` starting at `start` now points (`+1`) or no
    /// longer points (`-1`) at `object`.
    pub(crate) fn count_mapping(&mut self, object: ObjectId, task: TaskId, start: Vpn, change: i32) {
        let o = self.objects.get_mut(object);
        let length = o.chain_length;
        if change > 0 {
            let new = o.mappers.insert((task, start));
            debug_assert!(new, "chains: {task:?} {start:?} already maps {object:?}");
            self.chains.add(length, 1);
        } else {
            let was = o.mappers.remove(&(task, start));
            debug_assert!(was, "chains: {task:?} {start:?} did not map {object:?}");
            self.chains.remove(length, 1);
        }
    }

    /// `id`'s shadow pointer changed: its length, and those of the objects
    /// above it, are to be recomputed at the next settling.
    pub(crate) fn unsettle_length(&mut self, id: ObjectId) {
        let o = self.objects.get_mut(id);
        if !o.length_unsettled {
            o.length_unsettled = true;
            self.unsettled_count += 1;
            self.unsettled_lengths.push(id);
        }
    }

    /// Recomputes every chain length a shadow pointer changed since the
    /// last settling, and moves the entries in [`ChainLengths`] with them.
    pub(crate) fn settle_chain_lengths(&mut self) {
        while let Some(&listed) = self.unsettled_lengths.last() {
            let unsettled = self.objects.find(listed).is_some_and(|o| o.length_unsettled);
            if !unsettled {
                self.unsettled_lengths.pop();
                continue;
            }
            // Lengths are set from below, so start at the lowest unsettled
            // object of its chain (looking no further down once every
            // unsettled object has been seen); `listed` stays listed until
            // settled.
            let mut lowest = listed;
            let mut seen = 1;
            let mut next = self.object(listed).shadow;
            while let Some((below, _)) = next
                && seen < self.unsettled_count
            {
                let b = self.object(below);
                if b.length_unsettled {
                    lowest = below;
                    seen += 1;
                }
                next = b.shadow;
            }
            self.relength_from(lowest);
        }
    }

    /// Sets `lowest`'s length from its (settled) shadow's, and those of the
    /// objects above it, top-down. An object whose length did not change
    /// leaves those above it as they are: any of them that is unsettled
    /// itself is listed and settled in its turn.
    fn relength_from(&mut self, lowest: ObjectId) {
        let World { objects, chains, relength_stack: above, unsettled_count, .. } = self;
        above.push(lowest);
        while let Some(next) = above.pop() {
            let wanted = objects.get(next).shadow.map_or(1, |(below, _)| objects.get(below).chain_length + 1);
            let o = objects.get_mut(next);
            if o.length_unsettled {
                o.length_unsettled = false;
                *unsettled_count -= 1;
            }
            let old = o.chain_length;
            if wanted == old {
                continue;
            }
            o.chain_length = wanted;
            chains.shift(old, wanted, o.mapped_by());
            for &shadower in &o.shadowers {
                above.push(shadower);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Do the longest and the mean follow entries in and out, the longest
    /// falling back when its last entry goes?
    #[test]
    fn the_longest_falls_back() {
        let mut c = ChainLengths::default();
        c.add(1, 2);
        c.add(5, 1);
        assert_eq!((c.longest(), c.mean()), (5, 7.0 / 3.0));
        c.remove(5, 1);
        assert_eq!((c.longest(), c.mean()), (1, 1.0));
        c.remove(1, 2);
        assert_eq!((c.longest(), c.mean()), (0, 0.0));
        let mut fresh = ChainLengths::default();
        fresh.recount(std::iter::empty());
        assert!(c.same_counts_as(&fresh), "emptied buckets left behind compare equal");
        fresh.recount([3, 1, 3].into_iter());
        assert_eq!((fresh.longest(), fresh.mean()), (3, 7.0 / 3.0));
    }
}

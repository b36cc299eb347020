//! Address maps: a task's sorted, non-overlapping map entries.
//!
//! An entry maps a page range onto an object from some page index on
//! (its *backing*). Operations that cover part of an entry first *clip* it
//! into pieces, so every operation acts on whole entries.

use std::collections::BTreeMap;

use crate::ids::{ObjectId, Pindex, Vpn};
use crate::sim::Config;
use crate::types::{Inheritance, Prot};

/// The pages a map may use: `[min, max)`. `min` is `Config::map_min`
/// rounded up to a page and `max` is `Config::map_max` rounded down, so a
/// page range lies inside exactly when its bytes do. Held in pages so that
/// no check ever multiplies a page number back into bytes, which could wrap
/// past 2^64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapBounds {
    pub min: Vpn,
    pub max: Vpn,
}

impl MapBounds {
    /// The bounds of `[map_min, map_max)` bytes in pages of `page_size`.
    pub fn new(map_min: u64, map_max: u64, page_size: u64) -> MapBounds {
        MapBounds { min: Vpn::round_up(map_min, page_size), max: Vpn::of_addr(map_max, page_size) }
    }

    /// The bounds every map of a run with `config` lives in.
    pub fn of(config: &Config) -> MapBounds {
        MapBounds::new(config.map_min, config.map_max, config.page_size)
    }

    /// Is `[start, end)` a well-formed range inside the bounds?
    pub fn contains(&self, start: Vpn, end: Vpn) -> bool {
        self.min <= start && start <= end && end <= self.max
    }
}

/// One map entry (`struct vm_map_entry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// First page of the range.
    pub start: Vpn,
    /// One past the last page. Invariant: `start < end`.
    pub end: Vpn,
    /// Current protection. Invariant: within `max_prot`.
    pub prot: Prot,
    pub max_prot: Prot,
    pub inheritance: Inheritance,
    /// The entry is copy-on-write and has not yet got an object of its own:
    /// the next write must first give it one. Invariant: never set on a
    /// shared entry.
    pub needs_copy: bool,
    /// Writes must be seen by every other mapping of the same memory: set by
    /// `VM_INHERIT_SHARE` at fork and on shared file mappings
    /// (Mach `is_shared`).
    pub shared: bool,
    /// Where the pages come from: page `start + i` is index `offset + i` of
    /// `object`.
    pub object: ObjectId,
    pub offset: Pindex,
}

impl MapEntry {
    /// Number of pages mapped.
    pub fn pages(&self) -> u64 {
        self.end.since(self.start)
    }
    /// Does the entry map `vpn`?
    pub fn contains(&self, vpn: Vpn) -> bool {
        self.start <= vpn && vpn < self.end
    }
    /// The object index that backs `vpn`. The caller guarantees `contains(vpn)`.
    #[inline]
    pub fn pindex(&self, vpn: Vpn) -> Pindex {
        self.offset.plus(vpn.since(self.start))
    }
}

/// A task's address map.
#[derive(Clone, Debug, Default)]
pub struct VmMap {
    /// Entries by start page. Invariant: sorted and non-overlapping.
    entries: BTreeMap<Vpn, MapEntry>,
}

impl VmMap {
    /// The entry that maps `vpn`.
    #[inline]
    pub fn lookup(&self, vpn: Vpn) -> Option<&MapEntry> {
        let (_, e) = self.entries.range(..=vpn).next_back()?;
        e.contains(vpn).then_some(e)
    }

    pub(crate) fn lookup_mut(&mut self, vpn: Vpn) -> Option<&mut MapEntry> {
        let (_, e) = self.entries.range_mut(..=vpn).next_back()?;
        e.contains(vpn).then_some(e)
    }

    /// The entry starting exactly at `start`.
    pub(crate) fn get_mut(&mut self, start: Vpn) -> Option<&mut MapEntry> {
        self.entries.get_mut(&start)
    }

    /// All entries in address order.
    pub fn entries(&self) -> impl Iterator<Item = &MapEntry> {
        self.entries.values()
    }

    /// Entries that overlap `[start, end)`, in address order (copied out, so
    /// the caller may change the map while walking them).
    pub fn overlapping(&self, start: Vpn, end: Vpn) -> Vec<MapEntry> {
        let first = self.lookup(start).map_or(start, |e| e.start);
        self.entries.range(first..end).map(|(_, e)| *e).collect()
    }

    /// Inserts an entry. The caller guarantees the range is free.
    pub(crate) fn insert(&mut self, entry: MapEntry) {
        debug_assert!(self.is_free(entry.start, entry.end), "map insert: {entry:?} overlaps");
        self.entries.insert(entry.start, entry);
    }

    /// Removes the entry starting at `start`.
    pub(crate) fn remove(&mut self, start: Vpn) -> Option<MapEntry> {
        self.entries.remove(&start)
    }

    /// Takes every entry out, in address order.
    pub(crate) fn take_all(&mut self) -> Vec<MapEntry> {
        std::mem::take(&mut self.entries).into_values().collect()
    }

    /// Is no page of `[start, end)` mapped?
    pub fn is_free(&self, start: Vpn, end: Vpn) -> bool {
        self.lookup(start).is_none() && self.entries.range(start..end).next().is_none()
    }

    /// The first hole of at least `pages` pages at or above `from` that ends
    /// at or below `limit`: first fit, so the answer depends only on the map.
    /// `None` when there is none, including when the hole would have to end
    /// past the last `u64` page.
    pub fn find_space(&self, from: Vpn, pages: u64, limit: Vpn) -> Option<Vpn> {
        let mut candidate = self.lookup(from).map_or(from, |e| e.end);
        for e in self.entries.range(candidate..).map(|(_, e)| e) {
            if e.start.since(candidate) >= pages || e.start >= limit {
                break;
            }
            candidate = e.end;
        }
        let end = candidate.checked_plus(pages)?;
        (end <= limit).then_some(candidate)
    }

    /// Splits the entry containing `at` into `[start, at)` and `[at, end)`
    /// when `at` falls strictly inside it. Returns the new upper piece, whose
    /// object needs one more reference (the caller takes it).
    pub(crate) fn split(&mut self, at: Vpn) -> Option<MapEntry> {
        let entry = self.lookup_mut(at)?;
        if entry.start == at {
            return None;
        }
        let mut upper = *entry;
        upper.offset = entry.pindex(at);
        upper.start = at;
        entry.end = at;
        self.entries.insert(at, upper);
        Some(upper)
    }
}

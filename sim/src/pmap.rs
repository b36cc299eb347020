//! The simulated hardware page table of one task: `vpn → (page, prot)`.
//!
//! An access that finds an entry with enough permission is a *hit* and never
//! reaches a policy. For every policy in this crate the pmap is a cache: it
//! may be emptied at any time and the next access refaults and finds the same
//! page through the map. Each entry carries the stamp of the moment it was
//! made, so a page's mappings can be taken away everywhere at once by
//! stamping the page (see `page.rs`): the stand-in for a reverse map.

use rustc_hash::FxHashMap;

use crate::ids::{PageId, Vpn};
use crate::page::Stamp;
use crate::types::Prot;

/// One page table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmapEntry {
    pub page: PageId,
    /// What the hardware allows without a fault; never more than the map
    /// entry's current protection.
    pub prot: Prot,
    /// When the entry was made (see `Pages::mapping_valid`).
    pub made: Stamp,
}

/// Pages one leaf of the table covers: 512, as one x86-64 page-table page
/// (2 MiB of address space at 4 KiB pages).
const LEAF_PAGES: u64 = 512;

/// A leaf slot no page is mapped in (no frame has this index: the page
/// arena would need four billion frames first).
const EMPTY: PageId = PageId(u32::MAX);

/// One leaf: 512 slots, and how many of them are in use.
#[derive(Clone, Debug)]
struct Leaf {
    slots: Box<[PmapEntry; LEAF_PAGES as usize]>,
    used: u16,
}

impl Leaf {
    fn new() -> Leaf {
        let empty = PmapEntry { page: EMPTY, prot: Prot::NONE, made: 0 };
        Leaf { slots: Box::new([empty; LEAF_PAGES as usize]), used: 0 }
    }
}

/// A task's page table, laid out as hardware lays one out: leaves of 512
/// entries, found by the upper bits of the vpn. A lookup is one hash (of the
/// leaf number) and an index; an entry costs 12 bytes where memory is
/// dense (a test pins it), instead of the 40 or so of a hash map entry.
/// Like a real page table it spends a whole leaf (6 KiB) on a lone page in
/// a 2 MiB region.
#[derive(Clone, Debug, Default)]
pub struct Pmap {
    leaves: FxHashMap<u64, Leaf>,
    /// Entries in use, over all leaves.
    len: usize,
}

/// The leaf number and slot of a vpn.
#[inline]
fn split(vpn: Vpn) -> (u64, usize) {
    (vpn.0 / LEAF_PAGES, (vpn.0 % LEAF_PAGES) as usize)
}

/// What one change to a page table cost, for the work counters
/// (`Event::Work`): entries touched and leaves allocated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PmapWork {
    /// Entries written, removed or lowered (by the operation's meaning).
    pub entries: u64,
    /// Leaves (page-table pages) allocated.
    pub new_leaves: u64,
    /// For [`Pmap::enter`]: a valid translation to another page was
    /// replaced, which a real kernel must flush from the TLB.
    pub replaced_other_page: bool,
    /// For [`Pmap::enter`]: the entry now maps a page it did not map
    /// before (a new mapping, for a reverse map that lists mappings).
    pub maps_new_page: bool,
}

impl Pmap {
    /// The entry for `vpn`, stale or not.
    #[inline]
    pub fn get(&self, vpn: Vpn) -> Option<&PmapEntry> {
        let (leaf, slot) = split(vpn);
        let entry = &self.leaves.get(&leaf)?.slots[slot];
        (entry.page != EMPTY).then_some(entry)
    }

    /// Sets the entry for `vpn`. Reports one entry written, whether a
    /// leaf was allocated for it, and whether it replaced a translation to
    /// another page.
    pub(crate) fn enter(&mut self, vpn: Vpn, entry: PmapEntry) -> PmapWork {
        debug_assert_ne!(entry.page, EMPTY, "pmap enter: {vpn:?} with the empty marker");
        let (number, slot) = split(vpn);
        let mut work = PmapWork { entries: 1, ..PmapWork::default() };
        let leaf = self.leaves.entry(number).or_insert_with(|| {
            work.new_leaves = 1;
            Leaf::new()
        });
        let old = leaf.slots[slot].page;
        if old == EMPTY {
            leaf.used += 1;
            self.len += 1;
        }
        work.replaced_other_page = old != EMPTY && old != entry.page;
        work.maps_new_page = old != entry.page;
        leaf.slots[slot] = entry;
        work
    }

    /// Removes every entry in `[start, end)`; reports how many there were.
    pub(crate) fn remove_range(&mut self, start: Vpn, end: Vpn) -> PmapWork {
        let mut removed = 0;
        self.for_range(start, end, |_| {
            removed += 1;
            false
        });
        PmapWork { entries: removed, ..PmapWork::default() }
    }

    /// Lowers every entry in `[start, end)` to at most `prot`; reports how
    /// many entries lost a permission.
    pub(crate) fn protect_range(&mut self, start: Vpn, end: Vpn, prot: Prot) -> PmapWork {
        let mut lowered = 0;
        self.for_range(start, end, |e| {
            let kept = e.prot.intersect(prot);
            lowered += u64::from(kept != e.prot);
            e.prot = kept;
            true
        });
        PmapWork { entries: lowered, ..PmapWork::default() }
    }

    /// Linux `copy_present_pte` for a whole range: enters in this table a
    /// read-only copy of every entry of `from` in `[start, end)` that
    /// `present` accepts, stamped `made`. Works leaf by leaf, as
    /// `copy_pte_range` copies a page-table page at a time, without sorting
    /// or looking each page up.
    pub(crate) fn copy_read_only_from(
        &mut self,
        from: &Pmap,
        start: Vpn,
        end: Vpn,
        made: Stamp,
        mut present: impl FnMut(&PmapEntry) -> bool,
    ) -> PmapWork {
        let mut work = PmapWork::default();
        for number in from.leaves_within(start, end) {
            let source = &from.leaves[&number];
            let (first, last) = slots_within(number * LEAF_PAGES, start, end);
            let existed = self.leaves.contains_key(&number);
            let leaf = self.leaves.entry(number).or_insert_with(Leaf::new);
            for (slot, entry) in source.slots[first..last].iter().enumerate() {
                if entry.page == EMPTY || !present(entry) {
                    continue;
                }
                let target = &mut leaf.slots[first + slot];
                if target.page == EMPTY {
                    leaf.used += 1;
                    self.len += 1;
                }
                *target = PmapEntry { page: entry.page, prot: entry.prot.without(Prot::WRITE), made };
                work.entries += 1;
            }
            if leaf.used == 0 {
                self.leaves.remove(&number);
            } else if !existed {
                work.new_leaves += 1;
            }
        }
        work
    }

    /// Removes every entry; reports how many there were.
    pub(crate) fn clear(&mut self) -> PmapWork {
        let removed = self.len as u64;
        self.leaves.clear();
        self.len = 0;
        PmapWork { entries: removed, ..PmapWork::default() }
    }

    /// Number of entries (stale ones included).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, stale ones included, leaf by leaf in no particular
    /// order and without allocating: for the checker and the measures,
    /// which look at all of them (and pick the lowest vpn themselves where
    /// order matters).
    pub fn entries_unordered(&self) -> impl Iterator<Item = (Vpn, PmapEntry)> + '_ {
        self.leaves.iter().flat_map(|(number, leaf)| {
            let base = number * LEAF_PAGES;
            leaf.slots
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.page != EMPTY)
                .take(usize::from(leaf.used))
                .map(move |(slot, entry)| (Vpn(base + slot as u64), *entry))
        })
    }

    /// All entries sorted by vpn (for tests; it allocates and sorts).
    #[cfg(test)]
    pub fn sorted(&self) -> Vec<(Vpn, PmapEntry)> {
        let mut leaves: Vec<(&u64, &Leaf)> = self.leaves.iter().collect();
        leaves.sort_by_key(|(number, _)| **number);
        let mut all = Vec::with_capacity(self.len);
        for (number, leaf) in leaves {
            for (slot, entry) in leaf.slots.iter().enumerate() {
                if entry.page != EMPTY {
                    all.push((Vpn(number * LEAF_PAGES + slot as u64), *entry));
                }
            }
        }
        all
    }

    /// The entries in `[start, end)`, stale ones included, in vpn order
    /// (for viewers; not a hot path). Like [`Pmap::protect_range`] it
    /// visits only the leaves that exist, so a huge range over a small
    /// table costs little.
    pub fn range(&self, start: Vpn, end: Vpn) -> impl Iterator<Item = (Vpn, PmapEntry)> + '_ {
        self.leaves_within(start, end).into_iter().flat_map(move |number| {
            let base = number * LEAF_PAGES;
            let leaf = &self.leaves[&number];
            let (from, to) = slots_within(base, start, end);
            leaf.slots[from..to]
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.page != EMPTY)
                .map(move |(i, entry)| (Vpn(base + (from + i) as u64), *entry))
        })
    }

    /// The numbers of the leaves that exist and cover some page of
    /// `[start, end)`, in order. Probes the range's leaf numbers or scans
    /// the table, whichever is shorter.
    pub(crate) fn leaves_within(&self, start: Vpn, end: Vpn) -> Vec<u64> {
        if start >= end {
            return Vec::new();
        }
        let (first, _) = split(start);
        let (last, _) = split(Vpn(end.0 - 1));
        if last - first < self.leaves.len() as u64 {
            (first..=last).filter(|n| self.leaves.contains_key(n)).collect()
        } else {
            let mut numbers: Vec<u64> = self.leaves.keys().copied().filter(|n| (first..=last).contains(n)).collect();
            numbers.sort_unstable();
            numbers
        }
    }

    /// Applies `keep` to each entry in `[start, end)`; entries for which it
    /// returns false are removed, and leaves left empty are freed. Visits
    /// only the leaves the range covers that exist, so a huge range over a
    /// small table costs little.
    fn for_range(&mut self, start: Vpn, end: Vpn, mut keep: impl FnMut(&mut PmapEntry) -> bool) {
        for number in self.leaves_within(start, end) {
            let Some(leaf) = self.leaves.get_mut(&number) else { continue };
            let (from, to) = slots_within(number * LEAF_PAGES, start, end);
            for entry in &mut leaf.slots[from..to] {
                if entry.page != EMPTY && !keep(entry) {
                    entry.page = EMPTY;
                    leaf.used -= 1;
                    self.len -= 1;
                }
            }
            if leaf.used == 0 {
                self.leaves.remove(&number);
            }
        }
    }
}

/// The slots of the leaf starting at page `base` that fall in
/// `[start, end)`, as a slice range. The leaf must overlap the range.
fn slots_within(base: u64, start: Vpn, end: Vpn) -> (usize, usize) {
    let from = start.0.saturating_sub(base).min(LEAF_PAGES) as usize;
    let to = (end.0 - base).min(LEAF_PAGES) as usize;
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(page: u32) -> PmapEntry {
        PmapEntry { page: PageId(page), prot: Prot::DEFAULT, made: 1 }
    }

    /// Do ranges that cross leaf boundaries remove and protect exactly
    /// their pages, and free the leaves they empty?
    #[test]
    fn ranges_across_leaves() {
        let mut pmap = Pmap::default();
        for v in [0, 1, 511, 512, 513, 1024, 5000] {
            pmap.enter(Vpn(v), entry(v as u32));
        }
        assert_eq!((pmap.len(), pmap.leaves.len()), (7, 4));
        pmap.protect_range(Vpn(511), Vpn(513), Prot::READ);
        assert_eq!(pmap.get(Vpn(511)).unwrap().prot, Prot::READ);
        assert_eq!(pmap.get(Vpn(512)).unwrap().prot, Prot::READ);
        assert_eq!(pmap.get(Vpn(513)).unwrap().prot, Prot::DEFAULT);
        pmap.remove_range(Vpn(1), Vpn(1025));
        assert_eq!(pmap.sorted().iter().map(|(v, _)| v.0).collect::<Vec<_>>(), vec![0, 5000]);
        assert_eq!((pmap.len(), pmap.leaves.len()), (2, 2), "the emptied leaves are freed");
        assert!(pmap.get(Vpn(512)).is_none());
        pmap.enter(Vpn(0), entry(9));
        assert_eq!((pmap.len(), pmap.get(Vpn(0)).unwrap().page), (2, PageId(9)), "re-entering replaces");
        pmap.remove_range(Vpn(0), Vpn(u64::MAX));
        assert!(pmap.is_empty() && pmap.leaves.is_empty());
    }

    /// Does a range read see exactly its entries, in vpn order, whether it
    /// probes the range's leaves or scans the table?
    #[test]
    fn range_reads_in_order() {
        let mut pmap = Pmap::default();
        for v in [5000, 0, 511, 512, 1024, 1u64 << 40] {
            pmap.enter(Vpn(v), entry(v as u32));
        }
        let vpns = |start: u64, end: u64| pmap.range(Vpn(start), Vpn(end)).map(|(v, _)| v.0).collect::<Vec<_>>();
        assert_eq!(vpns(1, 1025), vec![511, 512, 1024], "probing three leaves");
        assert_eq!(vpns(0, u64::MAX), vec![0, 511, 512, 1024, 5000, 1 << 40], "scanning the table");
        assert_eq!(vpns(512, 512), Vec::<u64>::new());
        assert_eq!(pmap.range(Vpn(5000), Vpn(5001)).next(), Some((Vpn(5000), entry(5000))));
    }

    /// What an entry costs, as the type's comment claims: a page id, a
    /// stamp and a protection byte, padded to 12 bytes; a leaf of 512 is
    /// 6 KiB.
    #[test]
    fn an_entry_is_twelve_bytes() {
        assert_eq!(std::mem::size_of::<PmapEntry>(), 12);
        assert_eq!(std::mem::size_of::<[PmapEntry; LEAF_PAGES as usize]>(), 6 * 1024);
    }
}

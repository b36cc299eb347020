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

/// A task's page table.
#[derive(Clone, Debug, Default)]
pub struct Pmap {
    entries: FxHashMap<Vpn, PmapEntry>,
}

impl Pmap {
    /// The entry for `vpn`, stale or not.
    #[inline]
    pub fn get(&self, vpn: Vpn) -> Option<&PmapEntry> {
        self.entries.get(&vpn)
    }

    pub(crate) fn enter(&mut self, vpn: Vpn, entry: PmapEntry) {
        self.entries.insert(vpn, entry);
    }

    /// Removes every entry in `[start, end)`.
    pub(crate) fn remove_range(&mut self, start: Vpn, end: Vpn) {
        self.for_range(start, end, |_, _| false);
    }

    /// Lowers every entry in `[start, end)` to at most `prot`.
    pub(crate) fn protect_range(&mut self, start: Vpn, end: Vpn, prot: Prot) {
        self.for_range(start, end, |_, e| {
            e.prot = e.prot.intersect(prot);
            true
        });
    }

    /// Removes every entry.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of entries (stale ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries sorted by vpn (for checks and pictures; not a hot path).
    pub fn sorted(&self) -> Vec<(Vpn, PmapEntry)> {
        let mut all: Vec<_> = self.entries.iter().map(|(v, e)| (*v, *e)).collect();
        all.sort_by_key(|(v, _)| *v);
        all
    }

    /// Applies `keep` to each entry in `[start, end)`; entries for which it
    /// returns false are removed. Walks the range or the whole table,
    /// whichever is smaller, so a huge range costs no more than the table.
    fn for_range(&mut self, start: Vpn, end: Vpn, mut keep: impl FnMut(Vpn, &mut PmapEntry) -> bool) {
        let span = end.0.saturating_sub(start.0);
        if span <= self.entries.len() as u64 {
            for v in start.0..end.0 {
                let vpn = Vpn(v);
                if let Some(e) = self.entries.get_mut(&vpn)
                    && !keep(vpn, e)
                {
                    self.entries.remove(&vpn);
                }
            }
        } else {
            self.entries.retain(|vpn, e| !(start <= *vpn && *vpn < end) || keep(*vpn, e));
        }
    }
}

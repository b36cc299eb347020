//! Transparent huge pages for the anonymous memory of `linux` and
//! `linux-odf` (the `thp` run setting).
//!
//! In plain words: with THP on, the first write to an untouched 2 MiB of
//! anonymous memory (aligned, and wholly inside one mapping) does not
//! zero-fill one 4 KiB page but a whole 2 MiB huge page — 512 base pages at
//! once — and maps it with a single middle-level entry (a PMD), so the
//! other 511 pages never fault (`do_huge_pmd_anonymous_page`). A fork
//! copies that one entry and write-protects it (`copy_huge_pmd`). What a
//! later write to the shared huge page does depends on the kernel:
//!
//! - **`copy`**, Linux before 5.8 (`do_huge_pmd_wp_page` then
//!   `do_huge_pmd_wp_page_fallback` / a new huge page): the writer gets a
//!   copy of the whole 2 MiB. This is the behaviour Redis's documentation
//!   warns about: during a BGSAVE a few thousand scattered writes copy
//!   almost the whole heap.
//! - **`split`**, Linux 5.8 and later (commit 3917c80280c9, "thp: change
//!   CoW semantics for anon-THP"): the writer's PMD is split into 512 PTEs
//!   (a page-table page) and the write copies one 4 KiB page as any
//!   copy-on-write fault does; the huge page stays whole for the other
//!   side.
//!
//! In both, a write to a huge page nobody else holds reuses it whole.
//!
//! Here a huge page is 512 consecutive slots of an entry's page table
//! that the table maps as one block ([`HugeBlocks`]), their pages made,
//! copied or reused together, and entered in the task's page table all at
//! once. The model's page table has no PMD level, so the work counters
//! make up for it: a fork counts one entry copied and one write-protected
//! per huge page, and no page-table page (`pagetable.rs`), as
//! `copy_huge_pmd` does; removing a huge page (unmap, exit) still counts
//! its 512 base entries. Reads of untouched
//! memory still map the 4 KiB zero page (Linux maps the huge zero page),
//! so a block first read and then written is not made huge. Only with
//! 4 KiB base pages; shared (shmem) memory and file mappings get no huge
//! pages (Linux's file THP is `largest_folio` in `readahead.rs`).
//!
//! Follows: Linux `mm/huge_memory.c` (`do_huge_pmd_anonymous_page`,
//! `copy_huge_pmd`, `do_huge_pmd_wp_page`, `__split_huge_pmd`), commit
//! 3917c80280c9 (Linux 5.8) for the change from copy to split.

use std::collections::BTreeSet;

use crate::event::WorkKind;
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Vpn};
use crate::map::MapEntry;
use crate::pmap::PmapEntry;
use crate::world::World;

/// Base pages in a huge page: one PMD's worth, 2 MiB of 4 KiB pages.
pub const HUGE_PAGES: u64 = 512;

/// Whether anonymous memory gets huge pages, and what copy-on-write does
/// to a shared one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Thp {
    /// No huge pages (`transparent_hugepage/enabled` = never).
    #[default]
    Never,
    /// Huge pages; a write to a shared one splits the writer's mapping and
    /// copies 4 KiB (Linux 5.8 and later).
    Split,
    /// Huge pages; a write to a shared one copies all 2 MiB (Linux before
    /// 5.8).
    Copy,
}

impl Thp {
    /// Every setting.
    pub const ALL: [Thp; 3] = [Thp::Never, Thp::Split, Thp::Copy];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Thp::Never => "never",
            Thp::Split => "split",
            Thp::Copy => "copy",
        }
    }

    /// The setting named `name`.
    pub fn parse(name: &str) -> Option<Thp> {
        Thp::ALL.into_iter().find(|thp| thp.name() == name)
    }
}

/// The blocks of page-table slots mapped as huge pages: (table, first
/// slot). A block whose slots no longer all hold pages is not huge,
/// whatever the set says (its table may have been unmapped in part).
#[derive(Clone, Debug, Default)]
pub struct HugeBlocks {
    blocks: BTreeSet<(ObjectId, u64)>,
}

/// Where a huge page for a fault at `vpn` through `entry` would lie: the
/// first address of the aligned 2 MiB around `vpn` and the entry's slot
/// for it, if those 2 MiB are wholly inside the entry. (Alignment is of
/// addresses: a table's slots count from wherever its entry began.)
pub fn block_around(entry: &MapEntry, vpn: Vpn) -> Option<(Vpn, Pindex)> {
    let first = Vpn(vpn.0 - vpn.0 % HUGE_PAGES);
    let end = first.checked_plus(HUGE_PAGES)?;
    if first < entry.start || end > entry.end {
        return None;
    }
    Some((first, entry.pindex(first)))
}

impl HugeBlocks {
    /// Marks `table`'s block from `slot` as a huge page.
    pub fn insert(&mut self, table: ObjectId, slot: Pindex) {
        self.blocks.insert((table, slot.0));
    }

    /// The block is mapped by 512 base entries from now on (a split).
    pub fn remove(&mut self, table: ObjectId, slot: Pindex) {
        self.blocks.remove(&(table, slot.0));
    }

    /// The pages of `table`'s huge page from `slot`, in slot order, if the
    /// block is one: marked, and every slot holding a page.
    pub fn pages(&self, w: &World, table: ObjectId, slot: Pindex) -> Option<Vec<PageId>> {
        if !self.blocks.contains(&(table, slot.0)) {
            return None;
        }
        let pages: Vec<PageId> = w.object(table).pages.range(slot..slot.plus(HUGE_PAGES)).map(|(_, p)| p).collect();
        (pages.len() as u64 == HUGE_PAGES).then_some(pages)
    }

    /// A fork copied the slots `window` of `parent_table` into
    /// `child_table` from slot 0: the child's table maps the same huge
    /// pages with PMDs of its own (`copy_huge_pmd`).
    pub fn fork(&mut self, parent_table: ObjectId, window: std::ops::Range<u64>, child_table: ObjectId) {
        let inherited: Vec<u64> = self
            .blocks
            .range((parent_table, window.start)..(parent_table, window.end))
            .filter(|&&(_, slot)| slot + HUGE_PAGES <= window.end)
            .map(|&(_, slot)| slot - window.start)
            .collect();
        for slot in inherited {
            self.blocks.insert((child_table, slot));
        }
    }
}

/// Enters all of a huge page's base pages writable in `task`'s page table,
/// from `first` (one PMD in the kernel: no page-table page, one flush if it
/// replaced a mapping).
pub fn map_huge_writable(w: &mut World, task: TaskId, entry: &MapEntry, first: Vpn, pages: &[PageId]) {
    let made = w.pages.now();
    let mut replaced = false;
    for (i, &page) in pages.iter().enumerate() {
        let done = w.task_mut(task).pmap.enter(first.plus(i as u64), PmapEntry { page, prot: entry.prot, made });
        replaced |= done.replaced_other_page;
    }
    w.work(WorkKind::TlbFlush, u64::from(replaced));
}

//! The machinery `linux` and `plan9` share: one page table per map entry,
//! whose slots hold reference-counted pages. `linux.rs` and `plan9.rs` are
//! this machinery plus a [`PageTableRules`] that says which of the two
//! kernels' choices to make.
//!
//! # The model in plain words
//!
//! There are no shadow chains. Each map entry of each task points at a
//! *page table* of its own (an object of role `PageTable`), and slot `i` of
//! that table holds the page that entry maps at its `i`-th page, if any. A
//! page's `refs` counts the slots that hold it: it is the page's reference
//! count (Linux `folio_ref_count` / mapcount, Plan 9 `Page.ref`).
//! Copy-on-write is decided page by page from that count:
//!
//! - a fork (or `vm_copy`, `vm_read`) of private memory copies the *slots*
//!   into a new page table, so every page gains a reference and nothing is
//!   copied (Linux `copy_page_range`, Plan 9 `ptecpy`);
//! - a write to a page held by more than one slot copies it into the
//!   writer's slot, and the old page loses that slot's reference;
//! - a write to a page held by one slot only is done in place (*reuse*):
//!   the last writer keeps the original, so a page written by both sides of
//!   a fork ends as two physical pages, not three.
//!
//! ```text
//!   parent table          child table
//!   [0] -> page A (refs 2) <- [0]        a write by either side copies A;
//!   [1] -> page B (refs 2) <- [1]        the other side then holds A alone
//!   [2] -> (empty)            [2]        (refs 1) and writes it in place
//! ```
//!
//! Files are objects too (role `File`, never freed), and a file object's
//! slots are the page cache:
//!
//! - a **private** file mapping's page table *shadows* the file: an empty
//!   slot reads through to the file, a read fault puts the file's page itself
//!   in the slot (one more reference, so the mapping keeps seeing what
//!   writers of the file write: MAP_PRIVATE semantics), and a write copies
//!   it, since a page the file holds is never exclusive. Its chain is two
//!   objects long (table and file);
//! - a **shared** file mapping maps the file object itself: every sharer
//!   writes the page cache in place and nothing is ever copied. Its
//!   per-task state is only the hardware page table (the pmap), which
//!   faults refill from the page cache.
//!
//! The pmap is a cache for these policies too: the page table object holds
//! which page each slot maps, the pmap what the hardware allows, and the
//! invariant checker requires every valid pmap entry to agree with
//! [`Policy::resolve`].
//!
//! # Fault-around (Linux)
//!
//! A read fault on a file mapping does not map one page only. Linux
//! (`do_read_fault` → `do_fault_around` → `filemap_map_pages`) first maps
//! every *neighbour* that is already in the page cache, read-only, in an
//! aligned window of [`FAULT_AROUND_PAGES`] around the fault, so that a
//! program walking a file's pages takes one fault per window instead of one
//! per page. The rules (rule `fault_around`, [`FaultAround`]):
//!
//! - only a read (or instruction fetch) of a file mapping whose PTE is empty
//!   does it; a write fault never does (`do_cow_fault`, `do_shared_fault`),
//!   nor a fault on anonymous memory (`do_anonymous_page`);
//! - the window starts at the fault's address rounded down to a multiple
//!   of [`FAULT_AROUND_PAGES`] pages, or at the entry's start if that is
//!   later, and spans [`FAULT_AROUND_PAGES`] pages from there, cut at the
//!   entry's end and at the end of the last-level page table
//!   ([`PTES_PER_TABLE`]);
//! - a neighbour is mapped only if its PTE is empty (for a private file
//!   mapping an empty page table slot, for a shared one no valid pmap
//!   entry) and its page is ready in the page cache. For a file a capture
//!   described (`page_cache` ops), `readahead.rs` says which pages are:
//!   cached, inside the file, not marked for readahead, as Linux's
//!   readahead left them. For any other file the file object's slots are
//!   the page cache: `linux` maps the pages they hold (`ResidentPages`:
//!   what the run has brought in, so nothing is read and no frame made);
//!   `WarmPageCache` counts every file page as cached, as on the machine
//!   that recorded a capture, and brings a missing one into the file object;
//! - the kernel's special mappings (files named in brackets, `[vdso]`)
//!   have no page cache and never fault around;
//! - a large folio (of a described file) is mapped whole when one of its
//!   pages is in the window and the folio fits the entry and one page
//!   table, as Linux maps it since 6.18 (`filemap_map_folio_range`);
//! - a fault whose own page readahead had to read is retried, as Linux
//!   retries it after dropping the mmap lock for the I/O, so fault-around
//!   runs a second time over the pages just read.
//!
//! A neighbour is mapped exactly as a read fault would map it — a private
//! mapping's slot takes the file's page (one more reference), the pmap
//! entry is read-only and stamped now — so a later write to it is a
//! `present` fault (copy-on-write, or dirty tracking of a shared page), as
//! on Linux; without fault-around it would find no entry at all. One
//! `FaultAround` event says how many pages were mapped; the `fault_around`
//! work counter sums them.
//!
//! # Sharing, snapshots and partial unmaps
//!
//! - **Share inheritance**: both tasks' entries point at the same page
//!   table (one more reference) and are marked `shared`. Writes go in
//!   place; a page of it that another table also holds (from an earlier
//!   private fork) is still copied on write, into the shared table's slot,
//!   and the sharers' mappings of that slot are taken away.
//! - **A copy of shared memory** (fork copy-inheritance, `vm_copy` or
//!   `vm_read` of an entry marked `shared`) must be a true snapshot, but the
//!   sharers keep writing in place and there are no copy objects to push
//!   into. So the pages the sharers may write in place (held by the shared
//!   table alone, or the page cache of a shared file mapping) are copied
//!   physically at copy time, as Linux copies pinned pages at fork
//!   (`copy_present_page`). Pages already held by several tables are
//!   write-protected everywhere, so they are shared with the snapshot.
//! - **Clipping** (the generic `clip` in `api.rs`) gives the new piece of an
//!   entry another reference to the same page table at another offset, so a
//!   table may be mapped by several entries. When an entry is released, the
//!   slots of its window are freed unless another entry still maps them:
//!   the pieces of one entry cover disjoint windows, so for a table that
//!   only such pieces map the window is freed at once; a table that may be
//!   mapped by overlapping windows (a shared one, or a snapshot, which the
//!   destination entries of `vm_copy` map while the snapshot's own reference
//!   is still held) is checked against every entry that maps it first.
//!   Linux and Plan 9 need no such rule: their page tables are indexed by
//!   address, so unmapping a range frees exactly that range's PTEs.
//!
//! Simplified: files are never evicted, so a file page held in a slot stays
//! the file's page for the whole run; there is no swap, no pinning (GUP) and
//! no KSM; anonymous huge pages (`thp.rs`) and the `anon_vma` reverse map
//! (`anon_vma.rs`) are the linux rules' own; a page table's size
//! is the entry's, not a fixed-size radix level (fault-around alone uses the
//! real table's boundaries). Fault-around knows no locked or
//! not-yet-uptodate pages, and for files no capture described, no
//! readahead marks, no large folios and no end of file.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::event::{Event, FaultKind, WorkKind};
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::object::{Fill, ObjectRole};
use crate::pmap::PmapEntry;
use crate::policy::anon_vma::AnonVmas;
use crate::policy::linux_odf::SharedTables;
use crate::policy::readahead::{FileShape, PageCacheModel, ReadAhead};
use crate::policy::thp::{self, HUGE_PAGES, HugeBlocks, Thp};
use crate::policy::{Backing, FaultCtx, Policy, Resolution, Resolved};
use crate::types::Prot;
use crate::violation::Violation;
use crate::world::{World, file_token};

/// How many pages a fault-around window spans: Linux's `fault_around_bytes`
/// default of 64 KiB (`fault_around_pages = 65536 >> PAGE_SHIFT` in
/// `mm/memory.c`, tunable in debugfs) at 4 KiB pages. A power of two, so
/// windows are aligned blocks of addresses.
pub const FAULT_AROUND_PAGES: u64 = 16;

/// How many pages one last-level page table maps (x86-64 `PTRS_PER_PTE`).
/// Fault-around never crosses a page table, so that Linux takes one PTE
/// lock (`do_fault_around` clamps its window to it).
pub const PTES_PER_TABLE: u64 = 512;

/// What a fork does to the hardware page tables (the pmaps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkMmu {
    /// Linux `copy_present_pte`: the parent's writable PTEs of the copied
    /// entries become read-only, and the child gets read-only copies of the
    /// parent's present PTEs, so its first reads do not fault.
    CopyReadOnly,
    /// Plan 9 `sysrfork`: `flushmmu` throws away every hardware mapping of
    /// the parent, and the child starts with none, so both fault on their
    /// next touch of every page.
    FlushParent,
    /// On-demand-fork (`linux_odf.rs`): the child shares the parent's
    /// last-level tables, write-protected at the level above; the hardware
    /// sees what it sees under `CopyReadOnly`, but no entry is copied until
    /// a fault changes a shared table.
    ShareTables,
}

/// The choices that separate Linux from Plan 9.
#[derive(Clone, Copy, Debug)]
pub struct PageTableRules {
    /// A read of never-touched private anonymous memory maps the shared
    /// zero page instead of zero-filling a page (Linux `do_anonymous_page`).
    pub zero_page: bool,
    pub fork_mmu: ForkMmu,
    /// Fork copies an entry's page table only when it holds anonymous
    /// pages; any other entry's child table starts empty and refaults
    /// (Linux `vma_needs_copy`: no `anon_vma`, no copy).
    pub copy_only_anonymous_tables: bool,
    /// A read fault on a page held by this slot alone maps it writable
    /// (Linux re-entering the PTE of an exclusive anonymous page). Without
    /// it reads always map read-only and the first write after a read
    /// faults again (Plan 9 `fixfault`).
    pub read_maps_exclusive_writable: bool,
    /// In shared memory every fault, a read too, takes the write path:
    /// copy if the page is shared with another table, then map writable
    /// (Plan 9 `fixfault` when `s->ref > 1`).
    pub shared_fault_takes_write_path: bool,
    /// Whether a read fault on a file mapping also maps its neighbours,
    /// and which of them count as being in the page cache (Linux
    /// `do_fault_around`; see the module docs).
    pub fault_around: FaultAround,
    /// `vm_move` (a moving `mremap`) carries the page-table entries to the
    /// new address (Linux `move_page_tables`); without it the moved range
    /// refaults page by page.
    pub move_moves_page_table_entries: bool,
    /// Transparent huge pages for private anonymous memory (`thp.rs`).
    pub thp: Thp,
    /// Linux's reverse map of anonymous memory (`anon_vma.rs`), counted
    /// as reverse-map work; `Some(reuse)` says whether a fork reuses idle
    /// `anon_vma`s (Linux 3.19 and later).
    pub anon_vma: Option<bool>,
}

/// Fault-around, and what the page cache holds when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAround {
    /// A read fault maps the faulting page only (Plan 9).
    Off,
    /// Neighbours are mapped if the file object holds their page: the page
    /// cache is what the run itself has brought in, empty at its start.
    /// Nothing is read in and no frame is made.
    ResidentPages,
    /// Every page of every file counts as being in the page cache, as on a
    /// machine that has run the program before (where real captures are
    /// recorded): a neighbour the run has not brought in yet is brought
    /// into the file object (counted in `paged_in`, with no fault) and
    /// mapped.
    WarmPageCache,
}

/// The world's zero page and the object that holds it.
#[derive(Clone, Copy, Debug)]
struct ZeroPage {
    holder: ObjectId,
    page: PageId,
}

/// A per-page-refcount policy: the machinery driven by its rules.
#[derive(Clone, Debug)]
pub struct PageTables {
    pub rules: PageTableRules,
    /// Made at the first zero-page fault and kept for the rest of the run.
    /// Its holder is a one-slot page table that no entry refers to
    /// (`ref_count` 0), so the page always has a holder; every slot that
    /// maps the zero page adds a reference.
    zero: Option<ZeroPage>,
    /// The child ranges whose page tables the fork under way copied, for
    /// `after_fork` to give the child read-only PTEs. Empty between forks.
    copied_at_fork: Vec<(Vpn, Vpn)>,
    /// The tables (leaf numbers) of those ranges that a huge page maps
    /// whole: one PMD each, copied as one entry (`thp.rs`).
    huge_at_fork: Vec<u64>,
    /// The fork under way write-protected some of the parent's entries:
    /// one TLB flush when it is done.
    flush_after_fork: bool,
    /// Page tables made by `snapshot`, which overlapping windows may map
    /// (see the module docs). Forgotten when they are freed.
    snapshots: BTreeSet<ObjectId>,
    /// The page cache of the files a capture described, with readahead
    /// (`readahead.rs`); fault-around consults it before `rules.fault_around`.
    page_cache: PageCacheModel,
    /// The tables tasks still share since a fork (`ShareTables` only).
    shared_tables: SharedTables,
    /// The page-table blocks mapped as huge pages (`rules.thp` only).
    huge: HugeBlocks,
    /// The `anon_vma`s and their chains (`rules.anon_vma` only).
    anon_vmas: AnonVmas,
}

impl PageTables {
    /// A policy following `rules`.
    pub fn new(rules: PageTableRules) -> PageTables {
        PageTables {
            rules,
            zero: None,
            copied_at_fork: Vec::new(),
            huge_at_fork: Vec::new(),
            flush_after_fork: false,
            snapshots: BTreeSet::new(),
            page_cache: PageCacheModel::default(),
            shared_tables: SharedTables::default(),
            huge: HugeBlocks::default(),
            anon_vmas: AnonVmas::new(rules.anon_vma.unwrap_or(true)),
        }
    }

    fn is_zero_page(&self, page: PageId) -> bool {
        self.zero.is_some_and(|z| z.page == page)
    }

    /// The zero page, made on first use: a zero-filled frame held by a
    /// dedicated one-slot object that nothing references.
    fn zero_page(&mut self, w: &mut World) -> PageId {
        if let Some(zero) = self.zero {
            return zero.page;
        }
        let holder = w.create_object(ObjectRole::PageTable, 1, Fill::Zero);
        w.object_mut(holder).ref_count = 0;
        let page = w.install_new_page(holder, Pindex(0), Token::ZERO);
        w.emit(Event::PageZeroFilled { object: holder, pindex: Pindex(0), page });
        self.zero = Some(ZeroPage { holder, page });
        page
    }

    /// Does `table[index]` hold `page` only because the table's file holds
    /// it (a private file mapping that has not written this page)?
    fn is_file_page(w: &World, table: ObjectId, index: Pindex, page: PageId) -> bool {
        w.object(table).shadow.is_some_and(|(file, at)| w.object(file).page(at.plus(index.0)) == Some(page))
    }

    /// Does the entry's window hold an anonymous page: one that is neither
    /// the zero page nor a file's page? (Linux: does the VMA have an
    /// `anon_vma`? Approximated by what the table holds now.)
    fn holds_anonymous(&self, w: &World, entry: &MapEntry) -> bool {
        w.object(entry.object)
            .pages
            .range(window(entry))
            .any(|(index, page)| !self.is_zero_page(page) && !Self::is_file_page(w, entry.object, index, page))
    }

    /// After the entry's pages gained references, no hardware mapping of
    /// `task` may let a write reach them in place: Linux write-protects the
    /// PTEs, Plan 9 throws them away.
    /// At a fork under `ShareTables` the PTEs are left alone and the
    /// level above is write-protected instead: the same effect on what the
    /// hardware allows, none of the per-entry work (`after_fork` counts the
    /// flush).
    ///
    /// A huge page is mapped by one PMD, so its 512 base entries here
    /// count as one entry write-protected (`huge` are their tables).
    ///
    /// At a fork Linux flushes the parent's TLB once, when it has copied
    /// every entry (`dup_mmap` → `flush_tlb_mm`), not once per mapping:
    /// `after_fork` counts that flush if any entry was write-protected.
    fn protect_source(&mut self, w: &mut World, task: TaskId, entry: &MapEntry, at_fork: bool, huge: &[u64]) {
        let prot = entry.prot.without(Prot::WRITE);
        match self.rules.fork_mmu {
            ForkMmu::ShareTables if at_fork => {
                let _ = w.task_mut(task).pmap.protect_range(entry.start, entry.end, prot);
            }
            ForkMmu::CopyReadOnly | ForkMmu::ShareTables if !at_fork => w.write_protect_range(task, entry),
            ForkMmu::CopyReadOnly | ForkMmu::ShareTables => {
                let pmap = &mut w.task_mut(task).pmap;
                let mut lowered = 0;
                for &table in huge {
                    let first = Vpn(table * PTES_PER_TABLE);
                    lowered += pmap.protect_range(first, first.plus(PTES_PER_TABLE), prot).entries.min(1);
                }
                lowered += pmap.protect_range(entry.start, entry.end, prot).entries;
                w.work(WorkKind::PteWriteProtected, lowered);
                self.flush_after_fork |= lowered > 0;
            }
            ForkMmu::FlushParent => w.pmap_remove(task, entry.start, entry.end),
        }
    }

    /// The tables (leaf numbers) of `entry` that a huge page of its table
    /// maps whole.
    fn huge_tables(&self, w: &World, entry: &MapEntry) -> Vec<u64> {
        if self.rules.thp == Thp::Never {
            return Vec::new();
        }
        (entry.start.0.div_ceil(HUGE_PAGES)..entry.end.0 / HUGE_PAGES)
            .filter(|&table| {
                let first = Vpn(table * HUGE_PAGES);
                self.huge.pages(w, entry.object, entry.pindex(first)).is_some()
            })
            .collect()
    }

    /// The fault proper: `unshare` a table shared since an on-demand
    /// fork, fault around and read ahead for a read of a file, then find or
    /// make the page (see the module docs for each case).
    fn resolve_fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        if self.rules.fork_mmu == ForkMmu::ShareTables {
            self.shared_tables.unshare_for_fault(w, ctx.task, ctx.vpn);
        }
        let write_path = ctx.access.is_write() || (ctx.entry.shared && self.rules.shared_fault_takes_write_path);
        let behind = file_behind(w, &ctx.entry, ctx.vpn);
        if behind.is_some() && !write_path {
            fault_around(w, ctx, self.rules.fault_around, &self.page_cache);
        }
        // `filemap_fault` after fault-around: the page's own lookup, and the
        // readahead it starts. Readahead drops the mmap lock for its I/O
        // (`maybe_unlock_mmap_for_io`), so the fault returns
        // `VM_FAULT_RETRY` and is taken again from the top, where
        // fault-around now finds the pages just read. (One hardware fault,
        // one recorded fault: the retry is inside the kernel.)
        if let Some((file, index)) = behind {
            let executable = executable_file_pages(w, &ctx.entry);
            let looked_up = self.page_cache.fault(file, index, executable, Some(ctx.task));
            if let Some(read) = looked_up.read {
                emit_read_ahead(w, read);
            }
            if looked_up.retried && !write_path {
                fault_around(w, ctx, self.rules.fault_around, &self.page_cache);
            }
        }
        if w.object(ctx.entry.object).is_file() {
            return self.file_fault(w, ctx, write_path);
        }
        if self.rules.thp != Thp::Never
            && write_path
            && !ctx.entry.shared
            && w.object(ctx.entry.object).shadow.is_none()
            && let Some(resolution) = self.huge_fault(w, ctx)
        {
            return resolution;
        }
        let index = ctx.entry.pindex(ctx.vpn);
        match w.object(ctx.entry.object).page(index) {
            Some(page) => self.present(w, ctx, index, page, write_path),
            None => self.missing(w, ctx, index, write_path),
        }
    }

    /// A write to private anonymous memory with huge pages on (`thp.rs`):
    /// an untouched aligned 2 MiB is zero-filled as one huge page; a huge
    /// page nobody else holds is reused whole; a shared one is copied whole
    /// (`Thp::Copy`) or split for the writer (`Thp::Split`, after which the
    /// ordinary 4 KiB path goes on: `None`). `None` too where no huge page
    /// fits.
    fn huge_fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Option<Resolution> {
        let (first, slot) = thp::block_around(&ctx.entry, ctx.vpn)?;
        let table = ctx.entry.object;
        let at = (ctx.vpn.0 - first.0) as usize;
        let block = slot..slot.plus(HUGE_PAGES);
        if w.object(table).pages.range(block.clone()).next().is_none() {
            let pages: Vec<PageId> = (0..HUGE_PAGES).map(|i| zero_fill(w, table, slot.plus(i))).collect();
            self.huge.insert(table, slot);
            w.work(WorkKind::HugePageMade, 1);
            thp::map_huge_writable(w, ctx.task, &ctx.entry, first, &pages);
            return Some(Resolution { kind: FaultKind::ZeroFill, page: pages[at], writable: true, depth: 0 });
        }
        let pages = self.huge.pages(w, table, slot)?;
        if pages.iter().any(|&page| self.is_zero_page(page)) {
            self.huge.remove(table, slot);
            return None;
        }
        if pages.iter().all(|&page| w.pages.get(page).refs == 1) {
            thp::map_huge_writable(w, ctx.task, &ctx.entry, first, &pages);
            return Some(Resolution { kind: FaultKind::Reuse, page: pages[at], writable: true, depth: 0 });
        }
        if self.rules.thp == Thp::Split {
            self.huge.remove(table, slot);
            w.work(WorkKind::HugePageSplit, 1);
            w.work(WorkKind::PageTablePage, 1);
            return None;
        }
        let copies: Vec<PageId> = pages
            .iter()
            .enumerate()
            .map(|(i, &old)| match w.pages.get(old).refs {
                1 => old,
                _ => copy_into_slot(w, table, slot.plus(i as u64), old),
            })
            .collect();
        w.work(WorkKind::HugePageCopied, 1);
        thp::map_huge_writable(w, ctx.task, &ctx.entry, first, &copies);
        Some(Resolution { kind: FaultKind::CowCopy, page: copies[at], writable: true, depth: 0 })
    }

    /// Case "the slot holds a page". A read maps it (read-only unless the
    /// rules map exclusive pages writable). The write path: the zero page
    /// is replaced by a fresh zero-filled page; a page this slot alone holds
    /// is written in place (reuse); any other page is copied into the slot.
    fn present(&mut self, w: &mut World, ctx: &FaultCtx, index: Pindex, page: PageId, write_path: bool) -> Resolution {
        let table = ctx.entry.object;
        let exclusive = w.pages.get(page).refs == 1;
        if !write_path {
            let kind = if self.is_zero_page(page) { FaultKind::ZeroPage } else { FaultKind::Map };
            let writable = exclusive && self.rules.read_maps_exclusive_writable;
            return Resolution { kind, page, writable, depth: 0 };
        }
        let (kind, page) = if self.is_zero_page(page) {
            w.drop_slot(table, index);
            (FaultKind::ZeroFill, zero_fill(w, table, index))
        } else if exclusive {
            let kind = if ctx.access.is_write() { FaultKind::Reuse } else { FaultKind::Map };
            return Resolution { kind, page, writable: true, depth: 0 };
        } else {
            (FaultKind::CowCopy, copy_into_slot(w, table, index, page))
        };
        if ctx.entry.shared {
            forget_slot_mappings(w, table, index);
        }
        Resolution { kind, page, writable: true, depth: 0 }
    }

    /// Case "the slot is empty". Over a file (private file mapping): a read
    /// puts the file's page in the slot, paging it in first if needed; the
    /// write path copies it into the slot. Anonymous memory: the zero page
    /// for a read when the rules say so, a zero-filled page otherwise. A
    /// snapshot of a shared file mapping brings the file's original content
    /// into a private page.
    fn missing(&mut self, w: &mut World, ctx: &FaultCtx, index: Pindex, write_path: bool) -> Resolution {
        let table = ctx.entry.object;
        let (shadow, fill) = {
            let t = w.object(table);
            (t.shadow, t.fill)
        };
        let own_page_writable = write_path || self.rules.read_maps_exclusive_writable;
        if let Some((file, at)) = shadow {
            let (file_page, paged_in) = file_page(w, file, at.plus(index.0));
            if write_path {
                let page = copy_new(w, file_page, table, index);
                return Resolution { kind: FaultKind::CowCopy, page, writable: true, depth: 1 };
            }
            w.put_page(table, index, file_page);
            let kind = if paged_in { FaultKind::PageIn } else { FaultKind::Map };
            return Resolution { kind, page: file_page, writable: false, depth: 1 };
        }
        match fill {
            Fill::Zero if !write_path && self.rules.zero_page && !ctx.entry.shared => {
                let page = self.zero_page(w);
                w.put_page(table, index, page);
                Resolution { kind: FaultKind::ZeroPage, page, writable: false, depth: 0 }
            }
            Fill::Zero => {
                let page = zero_fill(w, table, index);
                Resolution { kind: FaultKind::ZeroFill, page, writable: own_page_writable, depth: 0 }
            }
            Fill::File { file, offset } => {
                let page = w.install_new_page(table, index, file_token(file, offset.plus(index.0)));
                w.emit(Event::PagePagedIn { object: table, pindex: index, page });
                Resolution { kind: FaultKind::PageIn, page, writable: own_page_writable, depth: 0 }
            }
        }
    }

    /// A fault through a shared file mapping: the page cache page, paged in
    /// if needed, written in place. A read maps it writable only on the
    /// write path (Plan 9's shared segments); Linux maps it read-only so the
    /// first write faults (dirty tracking of a shared file mapping).
    fn file_fault(&mut self, w: &mut World, ctx: &FaultCtx, write_path: bool) -> Resolution {
        let (page, paged_in) = file_page(w, ctx.entry.object, ctx.entry.pindex(ctx.vpn));
        let kind = if paged_in { FaultKind::PageIn } else { FaultKind::Map };
        Resolution { kind, page, writable: write_path, depth: 0 }
    }

    /// Linux `copy_present_pte` for the child: every valid PTE the parent
    /// has in a copied range is entered read-only in the child, which holds
    /// the same page in its table (its table is a copy of the parent's, and
    /// the checker holds every valid PTE to what the table holds). Copied a
    /// leaf at a time, as `copy_pte_range` copies a page-table page.
    /// Counts the entries and leaves as work when `counted` says which
    /// tables huge pages map whole (one PMD copied each, no table page);
    /// with `None`, returns the numbers of the child's tables that received
    /// entries, in order.
    fn copy_ptes_read_only(
        w: &mut World,
        parent: TaskId,
        child: TaskId,
        ranges: &[(Vpn, Vpn)],
        counted: Option<&[u64]>,
    ) -> Vec<u64> {
        let now = w.pages.now();
        let mut child_pmap = std::mem::take(&mut w.task_mut(child).pmap);
        let World { tasks, pages, .. } = &*w;
        let parent_pmap = &tasks[&parent].pmap;
        let (mut copied, mut new_leaves) = (0, 0);
        for &(start, end) in ranges {
            let valid = |pte: &PmapEntry| pages.mapping_valid(pte.page, pte.made, false).is_some();
            let done = child_pmap.copy_read_only_from(parent_pmap, start, end, now, valid);
            copied += done.entries;
            new_leaves += done.new_leaves;
        }
        if let Some(huge) = counted {
            for &table in huge {
                let first = Vpn(table * PTES_PER_TABLE);
                let entries = child_pmap.range(first, first.plus(PTES_PER_TABLE)).count() as u64;
                copied -= entries.saturating_sub(1);
                new_leaves -= u64::from(entries > 0);
            }
        }
        w.task_mut(child).pmap = child_pmap;
        if counted.is_some() {
            w.work(WorkKind::PteCopied, copied);
            w.work(WorkKind::PageTablePage, new_leaves);
        }
        // The tables an on-demand fork shares: the child's leaves the
        // ranges reach (a leaf is one table: `PTES_PER_TABLE` entries).
        let mut tables: Vec<u64> = Vec::new();
        if counted.is_none() {
            let pmap = &w.task(child).pmap;
            tables = ranges.iter().flat_map(|&(start, end)| pmap.leaves_within(start, end)).collect();
            tables.sort_unstable();
            tables.dedup();
        }
        #[cfg(debug_assertions)]
        for &(start, end) in ranges {
            for (vpn, pte) in w.task(child).pmap.range(start, end) {
                let entry = w.entry(child, vpn).copied().expect("fork: a copied PTE outside the child's entry");
                let held = w.object(entry.object).page(entry.pindex(vpn));
                debug_assert_eq!(held, Some(pte.page), "fork: {child:?} {vpn:?} table and parent PTE disagree");
            }
        }
        tables
    }
}

/// The pages a read fault at `vpn` through `entry` maps around itself
/// (Linux `do_fault_around`): the [`FAULT_AROUND_PAGES`]-aligned block
/// holding `vpn`, started no earlier than the entry, then as many pages as a
/// window holds from that start, cut at the entry's end and at the end of
/// the page table holding `vpn`. (When the entry starts inside the block,
/// the window is shifted, not shortened: Linux counts the pages from the
/// clamped start.)
pub fn fault_around_window(entry_start: Vpn, entry_end: Vpn, vpn: Vpn) -> Range<Vpn> {
    let block = vpn.0 - vpn.0 % FAULT_AROUND_PAGES;
    let table_end = vpn.0 - vpn.0 % PTES_PER_TABLE + PTES_PER_TABLE;
    let start = block.max(entry_start.0);
    let end = (start + FAULT_AROUND_PAGES).min(table_end).min(entry_end.0);
    Vpn(start)..Vpn(end)
}

/// Linux `do_fault_around` and `filemap_map_pages`, before a read fault on
/// a file mapping (`entry` a file, or a page table over one): every page of
/// the window but the faulting one whose PTE is empty and whose file page is
/// in the page cache (as `mode` says) is mapped read-only, as a read fault
/// would map it. A private mapping's empty slot takes the file's page (one
/// more reference); a shared mapping maps the file's page where the task
/// has no valid pmap entry. Emits one `FaultAround` when it mapped any.
fn fault_around(w: &mut World, ctx: &FaultCtx, mode: FaultAround, cache: &PageCacheModel) {
    if mode == FaultAround::Off {
        return;
    }
    let entry = &ctx.entry;
    if file_behind(w, entry, ctx.vpn).is_some_and(|(file, _)| w.is_special_file(file)) {
        return; // the kernel's own pages: no page cache, no `map_pages`
    }
    let window = fault_around_window(entry.start, entry.end, ctx.vpn);
    let pages = with_large_folios(w, entry, window.clone(), cache);
    let reach = Vpn(pages.first().map_or(window.start.0, |v| v.0.min(window.start.0)))
        ..Vpn(pages.last().map_or(window.end.0, |v| (v.0 + 1).max(window.end.0)));
    let table = entry.object;
    let prot = entry.prot.without(Prot::WRITE);
    let mut mapped = 0;
    for vpn in pages.into_iter().filter(|v| *v != ctx.vpn) {
        let Some((file, index)) = empty_pte_over_file(w, ctx.task, entry, vpn) else { continue };
        let page = match (cache.ready_to_map(file, index), w.object(file).page(index), mode) {
            (Some(false), _, _) => continue,
            (Some(true), _, _) | (None, _, FaultAround::WarmPageCache) => file_page(w, file, index).0,
            (None, Some(page), _) => page,
            (None, None, _) => continue,
        };
        if !w.object(table).is_file() {
            w.put_page(table, entry.pindex(vpn), page);
        }
        let made = w.pages.now();
        w.pmap_enter(ctx.task, vpn, PmapEntry { page, prot, made });
        mapped += 1;
    }
    if mapped > 0 {
        w.emit(Event::FaultAround { task: ctx.task, start: reach.start, end: reach.end, mapped });
    }
}

/// The pages of `window` and, for a file a capture described, every page
/// of each large folio a ready page of the window belongs to, when the
/// folio lies inside the entry and inside one page table: Linux maps such
/// a folio whole (`filemap_map_folio_range`, since 6.18), and a folio of a
/// PMD's size by one PMD entry (`filemap_map_pmd`). In order.
fn with_large_folios(w: &World, entry: &MapEntry, window: Range<Vpn>, cache: &PageCacheModel) -> Vec<Vpn> {
    let mut pages: BTreeSet<u64> = (window.start.0..window.end.0).collect();
    if let Some((file, first)) = file_behind_slot(w, entry, entry.pindex(entry.start)) {
        let mapped_file_pages = first.0..first.0 + entry.pages();
        for vpn in window.start.0..window.end.0 {
            let index = Pindex(first.0 + (vpn - entry.start.0));
            if cache.ready_to_map(file, index) != Some(true) {
                continue;
            }
            let Some(folio) = cache.large_folio(file, index) else { continue };
            if folio.start < mapped_file_pages.start || folio.end > mapped_file_pages.end {
                continue;
            }
            let start = entry.start.0 + (folio.start - first.0);
            let end = start + (folio.end - folio.start);
            if start / PTES_PER_TABLE == (end - 1) / PTES_PER_TABLE {
                pages.extend(start..end);
            }
        }
    }
    pages.into_iter().map(Vpn).collect()
}

/// The file page a fault at `vpn` of `entry` would read, if it would read
/// one: the entry maps the file itself, or its page table slot is empty
/// over a file.
fn file_behind(w: &World, entry: &MapEntry, vpn: Vpn) -> Option<(ObjectId, Pindex)> {
    let table = w.object(entry.object);
    let index = entry.pindex(vpn);
    if !table.is_file() && table.page(index).is_some() {
        return None;
    }
    file_behind_slot(w, entry, index)
}

/// The file pages an executable file mapping maps (for readahead, which
/// treats them apart); `None` for any other entry.
fn executable_file_pages(w: &World, entry: &MapEntry) -> Option<Range<u64>> {
    if !entry.prot.allows(Prot::EXECUTE) {
        return None;
    }
    let (_, first) = file_behind_slot(w, entry, entry.pindex(entry.start))?;
    Some(first.0..first.0 + entry.pages())
}

/// The file and file page behind slot `index` of `entry`'s object, page or
/// not: the object is the file, or a page table over it.
fn file_behind_slot(w: &World, entry: &MapEntry, index: Pindex) -> Option<(ObjectId, Pindex)> {
    let table = w.object(entry.object);
    if table.is_file() {
        return Some((entry.object, index));
    }
    let (file, at) = table.shadow?;
    w.object(file).is_file().then(|| (file, at.plus(index.0)))
}

/// Records readahead the page cache model did.
fn emit_read_ahead(w: &mut World, read: ReadAhead) {
    w.emit(Event::ReadAhead { file: read.file, start: read.start, pages: read.pages, marked: read.marked });
}

/// Is the PTE of `task` at `vpn` of `entry` empty (Linux `pte_none`)? If
/// so, the file and page index behind it. Through a shared file mapping the
/// PTE is the pmap entry; through a private one, the page table's slot (a
/// slot holding a page is a PTE, mapped in the pmap or not).
fn empty_pte_over_file(w: &World, task: TaskId, entry: &MapEntry, vpn: Vpn) -> Option<(ObjectId, Pindex)> {
    let table = w.object(entry.object);
    let index = entry.pindex(vpn);
    if table.is_file() {
        let pte = w.task(task).pmap.get(vpn);
        let present = pte.is_some_and(|pte| w.pages.mapping_valid(pte.page, pte.made, false).is_some());
        return (!present).then_some((entry.object, index));
    }
    if table.page(index).is_some() {
        return None;
    }
    let (file, at) = table.shadow?;
    Some((file, at.plus(index.0)))
}

/// The object indices an entry maps.
fn window(entry: &MapEntry) -> Range<Pindex> {
    entry.offset..entry.offset.plus(entry.pages())
}

/// The fill `fill` gives a window that starts `by` pages into it.
fn shifted(fill: Fill, by: Pindex) -> Fill {
    match fill {
        Fill::Zero => Fill::Zero,
        Fill::File { file, offset } => Fill::File { file, offset: offset.plus(by.0) },
    }
}

/// The content a missing page starts with under `fill`.
fn fill_token(fill: Fill, index: Pindex) -> Token {
    match fill {
        Fill::Zero => Token::ZERO,
        Fill::File { file, offset } => file_token(file, offset.plus(index.0)),
    }
}

/// A new, empty page table for the window of `entry`, which sees what the
/// entry sees where it has no page: the same file behind a private file
/// mapping's table (one more reference to it); the original content of the
/// file for a window of a shared file mapping (a snapshot of it, which later
/// writes to the file must not reach); zero otherwise.
fn empty_table_like(w: &mut World, entry: &MapEntry) -> ObjectId {
    let source = w.object(entry.object);
    let (shadow, fill) = match source.shadow {
        Some((file, at)) if !source.is_file() => (Some((file, at.plus(entry.offset.0))), Fill::Zero),
        _ => (None, shifted(source.fill, entry.offset)),
    };
    let table = w.create_object(ObjectRole::PageTable, entry.pages(), fill);
    if let Some((file, at)) = shadow {
        w.reference(file);
        w.set_shadow(table, Some((file, at)));
    }
    table
}

/// Fork of private memory (`copy_page_range`, `ptecpy`): a new page table
/// whose slots hold the same pages as the entry's window, each page one
/// reference more. Nothing is copied.
fn copy_table(w: &mut World, entry: &MapEntry) -> ObjectId {
    let table = empty_table_like(w, entry);
    let slots = w.share_slots_into_new(entry.object, window(entry), table);
    w.emit(Event::PageTableCopied { from: entry.object, to: table, slots });
    table
}

/// A true snapshot of shared memory: a new page table in which every page
/// the sharers may write in place (one the shared table alone holds, or any
/// page of a shared file mapping) is copied now, and every other page,
/// which a write anywhere would copy first, is shared.
fn snapshot_shared(w: &mut World, entry: &MapEntry) -> ObjectId {
    let table = empty_table_like(w, entry);
    let source_is_file = w.object(entry.object).is_file();
    let slots: Vec<(Pindex, PageId)> = w.object(entry.object).pages.range(window(entry)).collect();
    let mut shared = 0;
    for (index, page) in slots {
        let at = Pindex(index.0 - entry.offset.0);
        if source_is_file || w.pages.get(page).refs == 1 {
            copy_new(w, page, table, at);
        } else {
            w.put_page(table, at, page);
            shared += 1;
        }
    }
    w.emit(Event::PageTableCopied { from: entry.object, to: table, slots: shared });
    table
}

/// The page of `file` at `index`, paged in if it is not resident. Returns
/// it and whether it was paged in now.
fn file_page(w: &mut World, file: ObjectId, index: Pindex) -> (PageId, bool) {
    if let Some(page) = w.object(file).page(index) {
        return (page, false);
    }
    let token = fill_token(w.object(file).fill, index);
    let page = w.install_new_page(file, index, token);
    w.emit(Event::PagePagedIn { object: file, pindex: index, page });
    (page, true)
}

/// A zero-filled page in the empty slot `table[index]`.
fn zero_fill(w: &mut World, table: ObjectId, index: Pindex) -> PageId {
    let page = w.install_new_page(table, index, Token::ZERO);
    w.emit(Event::PageZeroFilled { object: table, pindex: index, page });
    page
}

/// A copy of `from` in the empty slot `table[index]`.
fn copy_new(w: &mut World, from: PageId, table: ObjectId, index: Pindex) -> PageId {
    let token = w.token(from);
    let page = w.install_new_page(table, index, token);
    w.emit(Event::PageCopied { from, to: page, object: table, pindex: index });
    page
}

/// Copy-on-write of `table[index]`, which holds `old` shared with other
/// slots: the slot lets go of `old` and gets a copy of it.
fn copy_into_slot(w: &mut World, table: ObjectId, index: Pindex, old: PageId) -> PageId {
    debug_assert!(w.pages.get(old).refs > 1, "copy_into_slot: {old:?} is exclusive");
    w.drop_slot(table, index);
    copy_new(w, old, table, index)
}

/// `table[index]` changed its page: every task mapping that slot through
/// a shared entry loses its hardware mapping of it (the faulting task's is
/// replaced right after). The entries mapping the table are the world's to
/// list (`chains.rs`), so this costs the table's mappings, not the world's.
fn forget_slot_mappings(w: &mut World, table: ObjectId, index: Pindex) {
    let mut mapped: Vec<(TaskId, Vpn)> = Vec::new();
    for &(task, start) in &w.object(table).mappers {
        let e = w.task(task).map.lookup(start).expect("pagetable: a listed mapping is in its map");
        if window(e).contains(&index) {
            mapped.push((task, e.start.plus(index.0 - e.offset.0)));
        }
    }
    for (task, vpn) in mapped {
        w.pmap_remove(task, vpn, vpn.plus(1));
    }
}

impl Policy for PageTables {
    fn moves_pmap_entries(&self) -> bool {
        self.rules.move_moves_page_table_entries
    }

    fn new_anonymous(&mut self, w: &mut World, pages: u64) -> Backing {
        let table = w.create_object(ObjectRole::PageTable, pages, Fill::Zero);
        Backing { object: table, offset: Pindex(0), needs_copy: false }
    }

    /// Private: a page table over the file. Shared: the file itself.
    fn map_file(&mut self, w: &mut World, file: ObjectId, offset: Pindex, pages: u64, private: bool) -> Backing {
        w.reference(file);
        if !private {
            return Backing { object: file, offset, needs_copy: false };
        }
        let table = w.create_object(ObjectRole::PageTable, pages, Fill::Zero);
        w.set_shadow(table, Some((file, offset)));
        Backing { object: table, offset: Pindex(0), needs_copy: false }
    }

    /// Shared memory gets a true snapshot; private memory a copy of its
    /// page table, or (`copy_only_anonymous_tables`) an empty one when it
    /// holds no anonymous page.
    fn fork_copy(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        let table = if entry.shared || w.object(entry.object).is_file() {
            snapshot_shared(w, entry)
        } else if self.rules.copy_only_anonymous_tables && !self.holds_anonymous(w, entry) {
            empty_table_like(w, entry)
        } else {
            let huge = self.huge_tables(w, entry);
            let table = copy_table(w, entry);
            self.huge.fork(entry.object, entry.offset.0..entry.offset.0 + entry.pages(), table);
            self.protect_source(w, parent, entry, true, &huge);
            self.copied_at_fork.push((entry.start, entry.end));
            self.huge_at_fork.extend(huge);
            table
        };
        if self.rules.anon_vma.is_some() && !entry.shared {
            self.anon_vmas.fork(w, entry.object, table);
        }
        Backing { object: table, offset: Pindex(0), needs_copy: false }.child_entry(entry)
    }

    /// Both entries point at the same page table (or file).
    fn fork_share(&mut self, w: &mut World, _parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        w.reference(entry.object);
        entry.shared = true;
        *entry
    }

    fn forget_task(&mut self, w: &mut World, task: TaskId) {
        self.page_cache.forget(task);
        self.shared_tables.forget(w, task);
    }

    fn after_fork(&mut self, w: &mut World, parent: TaskId, child: TaskId) {
        self.page_cache.fork(parent, child);
        let copied = std::mem::take(&mut self.copied_at_fork);
        let huge = std::mem::take(&mut self.huge_at_fork);
        if std::mem::take(&mut self.flush_after_fork) {
            w.work(WorkKind::TlbFlush, 1);
        }
        match self.rules.fork_mmu {
            ForkMmu::CopyReadOnly => {
                Self::copy_ptes_read_only(w, parent, child, &copied, Some(&huge));
            }
            ForkMmu::ShareTables => {
                let tables = Self::copy_ptes_read_only(w, parent, child, &copied, None);
                self.shared_tables.share(w, parent, child, &tables);
                w.work(WorkKind::TlbFlush, u64::from(!tables.is_empty()));
            }
            ForkMmu::FlushParent => w.pmap_clear(parent),
        }
    }

    /// Like a fork of the entry, without the child: shared memory is copied
    /// where its sharers write in place; private memory gets a copy of its
    /// page table and the source loses write access to the pages.
    fn snapshot(&mut self, w: &mut World, task: TaskId, entry: &mut MapEntry) -> Backing {
        let table = if entry.shared || w.object(entry.object).is_file() {
            snapshot_shared(w, entry)
        } else {
            let table = copy_table(w, entry);
            self.protect_source(w, task, entry, false, &[]);
            table
        };
        self.snapshots.insert(table);
        Backing { object: table, offset: Pindex(0), needs_copy: false }
    }

    /// Drops the entry's reference; a table that survives frees the slots
    /// of the entry's window that no other entry maps (see the module docs).
    fn release(&mut self, w: &mut World, _task: TaskId, entry: &MapEntry) {
        let table = entry.object;
        if w.deallocate(table) == 0 {
            self.snapshots.remove(&table);
            self.anon_vmas.unlink(table);
            return;
        }
        if w.object(table).is_file() {
            return;
        }
        // Another entry may map these slots only if the table is shared or
        // a snapshot. The entry has left its map already (or, for a
        // snapshot's own reference, never was in one), so the table's
        // coverage by entries (`reach.rs`) is the others' coverage.
        let others_may_map = entry.shared || self.snapshots.contains(&table);
        let t = w.object(table);
        let unmapped: Vec<Pindex> = t
            .pages
            .range(window(entry))
            .map(|(index, _)| index)
            .filter(|index| !(others_may_map && t.reach.direct.count(index.0) > 0))
            .collect();
        for index in unmapped {
            w.drop_slot(table, index);
        }
    }

    /// A fault, and for one that puts an anonymous page in a private
    /// table, the `anon_vma` its VMA needs first (`anon_vma.rs`).
    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        let resolution = self.resolve_fault(w, ctx);
        let anonymous = matches!(resolution.kind, FaultKind::ZeroFill | FaultKind::CowCopy);
        if anonymous && self.rules.anon_vma.is_some() && !ctx.entry.shared && !w.object(ctx.entry.object).is_file() {
            self.anon_vmas.prepare(w, ctx.entry.object);
        }
        resolution
    }

    fn learn_page_cache(&mut self, w: &mut World, file: ObjectId, shape: FileShape, cached: &[(u64, u64)]) {
        if self.rules.fault_around == FaultAround::Off {
            return;
        }
        let already: Vec<Pindex> = w.object(file).pages.iter().map(|(index, _)| index).collect();
        self.page_cache.learn(file, shape, cached, &already);
    }

    fn file_read(&mut self, w: &mut World, task: Option<TaskId>, file: ObjectId, pages: Range<u64>) {
        for read in self.page_cache.read(file, pages, task) {
            emit_read_ahead(w, read);
        }
    }

    /// A slot's page is what an access finds, writable in place when the
    /// slot alone holds it; a shared file mapping's page is always writable
    /// in place. An empty slot has no page yet: its token is the file's
    /// (through a private file mapping) or the table's fill.
    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
        let table = w.object(entry.object);
        let index = entry.pindex(vpn);
        if let Some(page) = table.page(index) {
            let writable_in_place = table.is_file() || w.pages.get(page).refs == 1;
            return Resolved { page: Some(page), token: w.token(page), writable_in_place };
        }
        let token = match table.shadow {
            Some((file, at)) if !table.is_file() => {
                let f = w.object(file);
                let file_index = at.plus(index.0);
                f.page(file_index).map_or_else(|| fill_token(f.fill, file_index), |page| w.token(page))
            }
            _ => fill_token(table.fill, index),
        };
        Resolved { page: None, token, writable_in_place: false }
    }

    /// The zero page is intact; every entry maps a page table or a file;
    /// a page table reads through to a file only; and no slot is left that
    /// no entry maps (release frees them).
    fn check(&self, w: &World) -> Result<(), Violation> {
        let fail = |message: String| Err(Violation::Policy(message));
        if let Some(zero) = self.zero {
            let holder = w.object(zero.holder);
            let intact = holder.ref_count == 0
                && holder.pages.len() == 1
                && holder.page(Pindex(0)) == Some(zero.page)
                && w.token(zero.page) == Token::ZERO;
            if !intact {
                return fail(format!("the zero page {:?} held by {:?} was changed", zero.page, zero.holder));
            }
        }
        for task in w.tasks.values() {
            for e in task.map.entries() {
                let object = w.object(e.object);
                if object.role != ObjectRole::PageTable && !object.is_file() {
                    return fail(format!(
                        "{:?} entry at {:?} maps {:?}, a {}",
                        task.id,
                        e.start,
                        e.object,
                        object.role.name()
                    ));
                }
            }
        }
        // Which entries map a table, and where, is the world's bookkeeping
        // (`chains.rs`, `reach.rs`), checked before this.
        for object in w.objects.iter().filter(|o| o.role == ObjectRole::PageTable) {
            if self.zero.is_some_and(|z| z.holder == object.id) {
                continue;
            }
            if object.shadow.is_some_and(|(below, _)| !w.object(below).is_file()) {
                return fail(format!("page table {:?} shadows {:?}, which is not a file", object.id, object.shadow));
            }
            if object.mappers.is_empty() {
                return fail(format!("page table {:?} is alive but no entry maps it", object.id));
            }
            let mut covered = object.reach.direct.ascending();
            if let Some(index) = object.pages.keys().find(|i| !covered.covers(i.0)) {
                return fail(format!("page table {:?} keeps {index:?}, which no entry maps", object.id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which pages does fault-around cover? The 16-page block of addresses
    /// holding the fault (`fault_around_bytes` = 64 KiB); when the entry
    /// starts inside the block, 16 pages from the entry's start instead
    /// (Linux counts from the clamped start); never past the entry's end,
    /// nor past the end of the 512-entry page table holding the fault.
    #[test]
    fn fault_around_window_is_aligned_and_clipped() {
        let window = |start: u64, end: u64, vpn: u64| {
            let w = fault_around_window(Vpn(start), Vpn(end), Vpn(vpn));
            (w.start.0, w.end.0)
        };
        assert_eq!(FAULT_AROUND_PAGES, 16);
        assert_eq!(window(0x2000, 0x2100, 0x2035), (0x2030, 0x2040), "the aligned block");
        assert_eq!(window(0x2003, 0x202b, 0x2005), (0x2003, 0x2013), "shifted to the entry's start");
        assert_eq!(window(0x2003, 0x202b, 0x2029), (0x2020, 0x202b), "cut at the entry's end");
        assert_eq!(window(0x21f8, 0x2208, 0x21fa), (0x21f8, 0x2200), "cut at the page table's end");
        assert_eq!(window(0x21f8, 0x2208, 0x2203), (0x2200, 0x2208), "the next page table");
    }
}

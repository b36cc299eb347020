//! `linux`: Linux mm, copy-on-write decided page by page from the page's
//! reference count.
//!
//! Copy-on-write in plain words: Linux has no VM objects for private
//! anonymous memory and no shadow chains. A PTE points straight at a page,
//! and the page counts its references. Fork walks the parent's page tables
//! and copies every PTE of a private writable mapping into the child,
//! making it read-only on *both* sides and taking one more reference to the
//! page (`copy_present_pte`). Nothing is copied, and the child's reads do
//! not even fault: its PTEs are present. The first write on either side
//! faults (`do_wp_page`). If the page is exclusive — nobody else holds it
//! any more, e.g. because the child exited — the PTE is simply made
//! writable again (`wp_can_reuse_anon_folio`: *reuse*); otherwise the page
//! is copied and the writer lets go of the original. So the first writer
//! copies and the last one keeps the original.
//!
//! A read of anonymous memory that was never touched maps the shared *zero
//! page* read-only (`do_anonymous_page`); the first write faults again and
//! allocates a real zeroed page. Fork copies page tables only for mappings
//! that have anonymous pages (`vma_needs_copy`: a VMA without an `anon_vma`
//! is refilled by faults), so a child faults on its first touch of a file
//! mapping it has not written. A write to a shared mapping never copies
//! (`wp_page_shared`); a shared file page is mapped read-only by a read
//! fault, so that the first write faults and the page is marked dirty.
//!
//! A read fault on a file mapping maps more than the faulting page:
//! *fault-around* (`do_read_fault` → `do_fault_around` →
//! `filemap_map_pages`) first maps, read-only, every neighbour in an
//! aligned 16-page window (64 KiB, `fault_around_bytes`) whose page is
//! already in the page cache and whose PTE is empty. So a program reading
//! a library's data takes one fault per window, and its first write to a
//! neighbour finds a read-only PTE: a copy-on-write (or, shared, a
//! dirty-tracking) fault on a *present* page. Write faults (`do_cow_fault`,
//! `do_shared_fault`) and anonymous memory never fault around. Here the page
//! cache is what a capture recorded of it (`page_cache` ops), kept up by
//! Linux's readahead (`readahead.rs`), or for files nobody described, what
//! the run has brought into the file objects (`pagetable.rs` has the rules
//! and the other choice, a warm page cache).
//!
//! An `mremap` that moves a mapping (`vm_move`) moves its page-table
//! entries with it (`move_vma` → `move_page_tables`): the moved pages are
//! used at their new address without a fault.
//!
//! Here each map entry has a page table object of its own whose slots hold
//! reference-counted pages (`pagetable.rs` has the model, shared with Plan
//! 9). The pmap plays the hardware PTEs: the child's read-only PTEs are
//! entered at fork. The page table object holds which page each slot maps,
//! so the pmap can still be emptied at any time; a refault then maps an
//! exclusive page writable even on a read, as `do_swap_page` does when it
//! re-establishes the PTE of an exclusive anonymous page.
//!
//! Follows: Linux `mm/memory.c` (`copy_page_range`, `vma_needs_copy`,
//! `copy_present_pte`, `do_anonymous_page`, `do_wp_page`,
//! `wp_can_reuse_anon_folio`, `wp_page_copy`, `wp_page_shared`,
//! `do_read_fault`, `should_fault_around`, `do_fault_around`,
//! `do_cow_fault`, `do_shared_fault`), `mm/filemap.c`
//! (`filemap_map_pages`, `next_uptodate_folio`), `mm/rmap.c`
//! (`folio_try_dup_anon_rmap_pte`, the mapcount), `mm/mremap.c`
//! (`move_vma`, `move_page_tables`).
//!
//! Simplified: `PageAnonExclusive` and the refcount are one count (`refs`:
//! the slots holding the page); `vma_needs_copy` asks whether the entry
//! holds an anonymous page now rather than whether it ever had an
//! `anon_vma`; pinned pages (which fork copies at once), KSM, swap and
//! userfaultfd are not modelled; huge pages are a run setting (`thp.rs`)
//! and the `anon_vma` reverse map is kept for its cost only
//! (`anon_vma.rs`); files a capture did not describe have no readahead;
//! the page cache starts empty, so fault-around maps only pages
//! the run has brought in (on the machine that recorded a capture it was
//! warm: `workloads/tests/import.rs` measures what that changes); a shared
//! *anonymous* mapping (Mach share inheritance) behaves like shmem: its
//! pages are written in place, and a read maps a page writable when no
//! other table holds it.

use crate::policy::PageCache;
use crate::policy::pagetable::{FaultAround, ForkMmu, PageTableRules, PageTables};
use crate::policy::thp::Thp;
use crate::sim::Config;

/// Linux's rules.
pub const LINUX: PageTableRules = PageTableRules {
    zero_page: true,
    fork_mmu: ForkMmu::CopyReadOnly,
    copy_only_anonymous_tables: true,
    read_maps_exclusive_writable: true,
    shared_fault_takes_write_path: false,
    fault_around: FaultAround::ResidentPages,
    move_moves_page_table_entries: true,
    thp: Thp::Never,
    anon_vma: Some(true),
};

/// A fresh `linux` policy under a run's settings: what its page cache
/// starts with, huge pages (`thp.rs`), and whether forks reuse idle
/// `anon_vma`s (`anon_vma.rs`).
pub fn linux(config: &Config) -> PageTables {
    PageTables::new(with_settings(LINUX, config))
}

/// `rules` under a run's settings. On a machine whose page cache already
/// holds every file page (as when a program has run before: `cowsim
/// compare` runs imported captures this way, and `cowsim run --page-cache
/// warm` asks for it), fault-around maps every neighbour with an empty
/// PTE, bringing into the file object the pages the run has not touched
/// yet.
pub fn with_settings(rules: PageTableRules, config: &Config) -> PageTableRules {
    let fault_around = match config.page_cache {
        PageCache::Warm => FaultAround::WarmPageCache,
        PageCache::Cold => rules.fault_around,
    };
    let anon_vma = rules.anon_vma.map(|_| config.anon_vma_reuse);
    PageTableRules { fault_around, thp: config.thp, anon_vma, ..rules }
}

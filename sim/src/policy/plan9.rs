//! `plan9`: Plan 9 port/, software page tables of reference-counted pages.
//!
//! Copy-on-write in plain words: a Plan 9 process has a few segments
//! (text, data, bss, stack, shared). Each segment keeps its own software
//! page table, an array of `Pte`s whose slots point at `Page`s, and a page
//! counts how many slots point at it (`Page.ref`). Fork (`sysrfork` →
//! `dupseg`) gives the child new data, bss and stack segments whose page
//! tables are copies of the parent's (`ptecpy`), every page one reference
//! more; text and shared segments are simply shared. Then `flushmmu`
//! throws away *all* of the parent's hardware mappings, because they may
//! let it write pages that are now shared. The child starts with none. So
//! after a fork both sides fault on their next touch of every page, reads
//! included.
//!
//! The fault handler (`fixfault`) has no chain to search: the slot is the
//! page. A page never touched is zero-filled (or read from the image) on the
//! first touch, read or write. A read maps the page read-only. A write
//! copies the page if another slot holds it (or, in 9front, if it belongs
//! to a file image) and otherwise maps it writable in place. So the first
//! write after a read always takes a second fault, which copies only if the
//! page is shared. In a segment shared with another process (`s->ref > 1`),
//! even a read takes the copy-or-map-writable path: copy-on-write happens on
//! the first *reference* there.
//!
//! Here each map entry has a page table object of its own whose slots hold
//! reference-counted pages (`pagetable.rs` has the model, shared with
//! Linux); the pmap plays the MMU. An entry marked `shared` (Mach share
//! inheritance, a shared file mapping) stands for a segment with
//! `s->ref > 1`; any other entry for one with `s->ref == 1`. The global
//! `conf.copymode` is taken to be 0, its default.
//!
//! Follows: Plan 9 `port/fault.c` (`fixfault`, `pio`), `port/segment.c`
//! (`dupseg`, `ptecpy`), `port/sysproc.c` (`sysrfork` and its `flushmmu`),
//! `port/page.c` (`Page.ref`); read in 9front and 9legacy.
//!
//! Simplified: Plan 9 has no `vm_copy`, `vm_read` or `vm_protect`; they act
//! like a fork of the entry without a child (the source loses its hardware
//! mappings of the range instead of the whole MMU). Swap (`dupswap`,
//! swap references in `Page.ref`), segment types and image caching beyond
//! "a file page is never written in place by a private mapping" are not
//! modelled.

use crate::policy::pagetable::{FaultAround, ForkMmu, PageTableRules, PageTables};
use crate::policy::thp::Thp;

/// Plan 9's rules.
pub const PLAN9: PageTableRules = PageTableRules {
    zero_page: false,
    fork_mmu: ForkMmu::FlushParent,
    copy_only_anonymous_tables: false,
    read_maps_exclusive_writable: false,
    shared_fault_takes_write_path: true,
    fault_around: FaultAround::Off,
    move_moves_page_table_entries: false,
    thp: Thp::Never,
    anon_vma: None,
};

/// A fresh `plan9` policy.
pub fn plan9() -> PageTables {
    PageTables::new(PLAN9)
}

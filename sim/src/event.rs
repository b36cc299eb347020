//! Events: every change the model makes, in one vocabulary.
//!
//! Counters are a fold over these events (`stats.rs`) and nothing else
//! writes them, so a narration, a report and a chart drawn from one run can
//! never disagree.

use serde::Serialize;

use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::object::ObjectRole;
use crate::op::Recorded;
use crate::types::{Access, KernReturn};

/// How a fault was resolved. The names are used alike in code, events,
/// reports and charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A new zero-filled page was made.
    ZeroFill,
    /// A read mapped the shared zero page (Linux); a later write faults again.
    ZeroPage,
    /// A file page was brought in.
    PageIn,
    /// An existing page was mapped, read-only or writable, found at some
    /// chain depth.
    Map,
    /// A copy-on-write fault copied the page.
    CowCopy,
    /// A copy-on-write fault moved the page up instead of copying it.
    CowMove,
    /// A write was allowed in place because the page is exclusive.
    Reuse,
    /// No map entry: the task would get SIGSEGV.
    Segv,
    /// The map entry forbids the access.
    Protection,
}

impl FaultKind {
    /// Every kind, in report order.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::ZeroFill,
        FaultKind::ZeroPage,
        FaultKind::PageIn,
        FaultKind::Map,
        FaultKind::CowCopy,
        FaultKind::CowMove,
        FaultKind::Reuse,
        FaultKind::Segv,
        FaultKind::Protection,
    ];

    /// The report name (`"cow_copy"`).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ZeroFill => "zero_fill",
            FaultKind::ZeroPage => "zero_page",
            FaultKind::PageIn => "page_in",
            FaultKind::Map => "map",
            FaultKind::CowCopy => "cow_copy",
            FaultKind::CowMove => "cow_move",
            FaultKind::Reuse => "reuse",
            FaultKind::Segv => "segv",
            FaultKind::Protection => "protection",
        }
    }

    /// Index into per-kind counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Kernel work the counters add up (the report's `work`): what a real
/// kernel spends time on besides faults, counted where the design's
/// kernel does it. A cost profile (`cowsim calibrate`) prices each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// A page-table entry copied into a child's table at fork (Linux
    /// `copy_pte_range`, Plan 9 `ptecpy`), or into a task's own table when
    /// a shared one is copied on its first write (on-demand fork).
    PteCopied,
    /// A present page-table entry that lost a permission (write-protected
    /// for copy-on-write, or lowered by `vm_protect`).
    PteWriteProtected,
    /// A page-table entry removed (unmap, exit, exec, a flushed range).
    PteRemoved,
    /// A page-table page (a leaf of 512 entries) allocated.
    PageTablePage,
    /// A page-table page shared with a child at fork instead of copied
    /// (on-demand fork).
    PageTableShared,
    /// A map entry (VMA) copied into a child at fork.
    MapEntryCopied,
    /// A TLB flush: of a range whose valid entries were removed or
    /// lowered, of one page whose translation a fault replaced, or of every
    /// mapping of a page taken away through the reverse map.
    TlbFlush,
    /// A reverse-map entry made: a pv entry per mapping (BSD and Mach
    /// pmaps), an `anon_vma_chain` (Linux).
    RmapEntry,
    /// A transparent huge page made: 2 MiB zero-filled by one fault.
    HugePageMade,
    /// A shared huge page copied whole by a write (THP `copy`).
    HugePageCopied,
    /// A task's mapping of a shared huge page split into 512 entries by a
    /// write (THP `split`).
    HugePageSplit,
}

impl WorkKind {
    /// Every kind, in report order.
    pub const ALL: [WorkKind; 11] = [
        WorkKind::PteCopied,
        WorkKind::PteWriteProtected,
        WorkKind::PteRemoved,
        WorkKind::PageTablePage,
        WorkKind::PageTableShared,
        WorkKind::MapEntryCopied,
        WorkKind::TlbFlush,
        WorkKind::RmapEntry,
        WorkKind::HugePageMade,
        WorkKind::HugePageCopied,
        WorkKind::HugePageSplit,
    ];

    /// The report name (`"ptes_copied"`).
    pub fn name(self) -> &'static str {
        match self {
            WorkKind::PteCopied => "ptes_copied",
            WorkKind::PteWriteProtected => "ptes_write_protected",
            WorkKind::PteRemoved => "ptes_removed",
            WorkKind::PageTablePage => "page_table_pages",
            WorkKind::PageTableShared => "page_tables_shared",
            WorkKind::MapEntryCopied => "map_entries_copied",
            WorkKind::TlbFlush => "tlb_flushes",
            WorkKind::RmapEntry => "rmap_entries",
            WorkKind::HugePageMade => "huge_pages_made",
            WorkKind::HugePageCopied => "huge_pages_copied",
            WorkKind::HugePageSplit => "huge_pages_split",
        }
    }

    /// Index into per-kind counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One state change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A task touched a page (a pmap hit or after its fault was resolved).
    Access {
        task: TaskId,
        vpn: Vpn,
        access: Access,
        token: Token,
    },
    /// A fault, how it was resolved, and how many objects were searched.
    Fault {
        task: TaskId,
        vpn: Vpn,
        access: Access,
        kind: FaultKind,
        depth: u32,
    },
    /// An operation finished with this code.
    OpFinished {
        kern_return: KernReturn,
    },
    /// Kernel work of one kind, `count` times (never 0).
    Work {
        kind: WorkKind,
        count: u64,
    },
    TaskCreated {
        task: TaskId,
    },
    TaskExited {
        task: TaskId,
    },
    ObjectCreated {
        object: ObjectId,
        role: ObjectRole,
    },
    /// A shadow object was put in front of `backing`; the entry that got it
    /// now has a chain of `chain` objects.
    ShadowCreated {
        shadow: ObjectId,
        backing: ObjectId,
        chain: u32,
    },
    /// A copy object now receives `source`'s pages before they change.
    CopyObjectCreated {
        copy: ObjectId,
        source: ObjectId,
    },
    /// An unmodified copy object was reused for another copy.
    CopyObjectReused {
        copy: ObjectId,
        source: ObjectId,
    },
    ObjectFreed {
        object: ObjectId,
    },
    PageZeroFilled {
        object: ObjectId,
        pindex: Pindex,
        page: PageId,
    },
    PagePagedIn {
        object: ObjectId,
        pindex: Pindex,
        page: PageId,
    },
    /// `from`'s content was copied into a new page `to` at `object[pindex]`.
    PageCopied {
        from: PageId,
        to: PageId,
        object: ObjectId,
        pindex: Pindex,
    },
    /// A page moved from one object to another instead of being copied.
    PageMoved {
        page: PageId,
        from: ObjectId,
        to: ObjectId,
        pindex: Pindex,
    },
    /// The original of a page was pushed into a copy object before the source
    /// changed it (XNU / Mach delayed copy).
    PagePushed {
        from: PageId,
        to: PageId,
        copy: ObjectId,
        pindex: Pindex,
    },
    PageFreed {
        page: PageId,
    },
    /// `backing` was merged into `object` and freed.
    Collapsed {
        object: ObjectId,
        backing: ObjectId,
        pages_moved: u32,
        pages_freed: u32,
    },
    /// `object` now points past `backing`, whose pages it all shadows.
    Bypassed {
        object: ObjectId,
        backing: ObjectId,
    },
    /// A write to a copy-on-write entry took `object` over instead of
    /// shadowing it: the entry held its only reference (FreeBSD
    /// `vm_object_shadow`).
    ShadowSkipped {
        object: ObjectId,
    },
    /// At fork, an entry's pages moved from `from` into the new object `to`
    /// of its own (FreeBSD `vm_object_split`).
    ObjectSplit {
        from: ObjectId,
        to: ObjectId,
        pages_moved: u32,
    },
    /// The unmapped range `[start, end)` of a one-mapping object was freed at
    /// once, and the object shrunk when the range was its tail (FreeBSD
    /// `vm_map_entry_delete`).
    RangeFreed {
        object: ObjectId,
        start: Pindex,
        end: Pindex,
        pages_freed: u32,
    },
    /// `object` now shadows `shadow` (or nothing). Every change of a shadow
    /// pointer says so, whatever the policy, so a viewer can follow chains
    /// from events alone.
    ShadowSet {
        object: ObjectId,
        shadow: Option<ObjectId>,
    },
    /// During a fault, the faulting entry (of `task`, starting at `start`)
    /// was pointed at another object: a new shadow, an amap, a takeover.
    EntryRetargeted {
        task: TaskId,
        start: Vpn,
        object: ObjectId,
    },
    /// A UVM amap was copied (its anon pointers), `slots` of them.
    AmapCopied {
        from: ObjectId,
        to: ObjectId,
        slots: u32,
    },
    /// A page table's slots were copied into a new page table (Linux
    /// `copy_page_range`, Plan 9 `ptecpy`): each of the `slots` pages gained
    /// a reference instead of being copied.
    PageTableCopied {
        from: ObjectId,
        to: ObjectId,
        slots: u32,
    },
    /// Before a read fault on a file mapping, `mapped` pages of the window
    /// `[start, end)` around it, pages in the page cache with no PTE yet,
    /// were mapped read-only into `task` (Linux fault-around,
    /// `do_fault_around`): a later read of them hits, and a first write is
    /// a `present` fault.
    FaultAround {
        task: TaskId,
        start: Vpn,
        end: Vpn,
        mapped: u32,
    },
    /// A `page_cache` op described what a real capture saw of `file`'s page
    /// cache (under every design; only `linux` uses it).
    PageCacheDescribed {
        file: ObjectId,
    },
    /// Readahead (the `linux` page cache model, for files a `page_cache` op
    /// described) read the pages of `file` from `start` that were not
    /// cached, `pages` at most, and put the readahead mark on `marked`.
    /// Nothing is mapped or made resident: the page cache is known, not
    /// simulated page by page.
    ReadAhead {
        file: ObjectId,
        start: Pindex,
        pages: u64,
        marked: Option<Pindex>,
    },
    /// An access imported from a real capture reached `vpn`, where the real
    /// kernel faulted and found `recorded`; `found` is what this simulator's
    /// page table held just before the access: `None` for a hit (no fault),
    /// otherwise the same classes (see docs/fidelity.md).
    Fidelity {
        task: TaskId,
        vpn: Vpn,
        recorded: Recorded,
        found: Option<Recorded>,
    },
    /// A `resident` op compared the pages a real process had present at
    /// its exit with this simulator's page table, over one range of
    /// `task`: pages present in both, in the real kernel only, and in the
    /// simulator only.
    ResidencyCompared {
        task: TaskId,
        both: u64,
        kernel_only: u64,
        simulator_only: u64,
    },
}

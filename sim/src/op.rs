//! The operations a trace can ask of the model: the Mach memory API plus
//! Unix process events and memory accesses.
//!
//! Addresses and sizes here are **bytes**, exactly as a trace gives them; the
//! model converts them to pages and decides what is misaligned or illegal.
//! The JSON Lines form lives in the `workloads` crate.

use crate::ids::TaskId;
use crate::types::{Access, Inheritance, KernReturn, Prot};

/// One operation. docs/trace-format.md says what each one means and which
/// `kern_return_t` codes it can give; `api.rs` is how the model does it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A new task with an empty map.
    TaskCreate { task: TaskId },
    /// `task_create(parent, inherit_memory = TRUE)`: the child's map is built
    /// from the parent's entries by their inheritance.
    Fork { parent: TaskId, child: TaskId },
    /// The task's map is replaced by an empty one.
    Exec { task: TaskId },
    /// The task terminates and its map is released.
    Exit { task: TaskId },
    /// Zero-fill memory at `addr`, or anywhere (first fit, searching upward
    /// from `addr` when it is given).
    VmAllocate { task: TaskId, addr: Option<u64>, size: u64, anywhere: bool },
    /// Unmap `[addr, addr + size)`.
    VmDeallocate { task: TaskId, addr: u64, size: u64 },
    /// Set the current (or, with `set_max`, the maximum) protection.
    VmProtect { task: TaskId, addr: u64, size: u64, prot: Prot, set_max: bool },
    /// Set the inheritance of a range.
    VmInherit { task: TaskId, addr: u64, size: u64, inherit: Inheritance },
    /// Map a copy-on-write copy of `task`'s range into `caller`, at `dst` or
    /// anywhere.
    VmRead { task: TaskId, addr: u64, size: u64, caller: TaskId, dst: Option<u64> },
    /// Overwrite `task`'s range with the caller's memory at `src`.
    VmWrite { task: TaskId, addr: u64, size: u64, caller: TaskId, src: u64 },
    /// Copy `size` bytes from `src` to `dst` inside one task, lazily.
    VmCopy { task: TaskId, src: u64, size: u64, dst: u64 },
    /// Move the mappings of `[src, src + size)` to the free range at `dst`,
    /// with their memory (Linux `mremap` that moves).
    VmMove { task: TaskId, src: u64, size: u64, dst: u64 },
    /// Map `size` bytes of a file, from byte `offset`, privately
    /// (copy-on-write) or shared (writes reach the file).
    VmMap {
        task: TaskId,
        addr: Option<u64>,
        size: u64,
        anywhere: bool,
        file: String,
        offset: u64,
        private: bool,
        prot: Prot,
    },
    /// `read`, `write` or `exec_fetch` of every page in `[addr, addr + len)`.
    Access(AccessOp),
    /// A label in the trace (a phase boundary); changes nothing.
    Mark { label: String },
    /// What a real capture saw at a process's exit: of the pages of
    /// `[addr, addr + size)`, the real kernel had those of `present` in
    /// memory and mapped (page offsets into the range and counts, in
    /// order). Changes nothing; the simulator compares its own page table
    /// with it (see docs/fidelity.md).
    Resident { task: TaskId, addr: u64, size: u64, present: Vec<(u64, u64)> },
    /// What a real capture saw of a file's page cache before the program
    /// first touched it: the file is `size` bytes long, those of its pages
    /// listed in `cached` were in memory (runs of first page and count,
    /// from the file's first page), the device reads ahead at most
    /// `read_ahead` bytes at once, and the page cache holds it in folios of
    /// at most `largest_folio` bytes. Maps nothing; `linux`'s fault-around
    /// and readahead follow it from here on, and the other designs ignore
    /// it.
    PageCache { file: String, size: u64, cached: Vec<(u64, u64)>, read_ahead: u64, largest_folio: u64 },
    /// A `read(2)` of `len` bytes of a file from byte `offset`, by `task`
    /// (whose open file's readahead state it moves on) if it says: maps
    /// nothing; under `linux` it fills the page cache of a file a
    /// `page_cache` op described, as Linux's readahead would.
    FileRead { task: Option<TaskId>, file: String, offset: u64, len: u64 },
}

/// A memory access over a byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessOp {
    pub task: TaskId,
    pub access: Access,
    pub addr: u64,
    pub len: u64,
    /// For writes: the token stored in every page written. Without it each
    /// page gets a fresh token derived from the op's position in the trace.
    pub value: Option<u64>,
    /// For reads: every page read must hold this token, or the run fails.
    pub expect_value: Option<u64>,
    /// For accesses imported from a real capture: what the real kernel's
    /// page fault said (see docs/fidelity.md).
    pub recorded: Option<Recorded>,
}

/// What a recorded page fault found in the real page table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recorded {
    /// No page table entry (x86 error code bit 0 clear).
    NotPresent,
    /// An entry without the needed permission (bit 0 set), e.g. a COW break.
    Present,
}

impl Recorded {
    /// The trace name: `not_present` or `present`.
    pub fn name(self) -> &'static str {
        match self {
            Recorded::NotPresent => "not_present",
            Recorded::Present => "present",
        }
    }

    /// Parses the trace name.
    pub fn parse(text: &str) -> Option<Recorded> {
        [Recorded::NotPresent, Recorded::Present].into_iter().find(|r| r.name() == text)
    }
}

/// An operation as it stands in a trace: the op and, optionally, the code
/// the trace's author expects it to return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceOp {
    pub op: Op,
    pub expect: Option<KernReturn>,
}

impl Op {
    /// The trace name of this op (`"vm_copy"`, `"read"`...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::TaskCreate { .. } => "task_create",
            Op::Fork { .. } => "fork",
            Op::Exec { .. } => "exec",
            Op::Exit { .. } => "exit",
            Op::VmAllocate { .. } => "vm_allocate",
            Op::VmDeallocate { .. } => "vm_deallocate",
            Op::VmProtect { .. } => "vm_protect",
            Op::VmInherit { .. } => "vm_inherit",
            Op::VmRead { .. } => "vm_read",
            Op::VmWrite { .. } => "vm_write",
            Op::VmCopy { .. } => "vm_copy",
            Op::VmMove { .. } => "vm_move",
            Op::Resident { .. } => "resident",
            Op::PageCache { .. } => "page_cache",
            Op::FileRead { .. } => "file_read",
            Op::VmMap { .. } => "vm_map",
            Op::Access(a) => match a.access {
                Access::Read => "read",
                Access::Write => "write",
                Access::ExecFetch => "exec_fetch",
            },
            Op::Mark { .. } => "mark",
        }
    }
}

/// Do `runs` (first page, count), as a `resident` op gives them, lie in
/// order, apart, each of at least one page, inside a range of `pages`
/// pages? The simulator refuses other runs; importers check with this
/// before they write them.
pub fn page_runs_fit(runs: &[(u64, u64)], pages: u64) -> bool {
    let mut next_free = 0;
    for &(first, count) in runs {
        let Some(end) = first.checked_add(count) else { return false };
        if count == 0 || first < next_free || end > pages {
            return false;
        }
        next_free = end;
    }
    true
}

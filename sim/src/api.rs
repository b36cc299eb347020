//! The Mach memory API and the Unix process events, over any policy.
//!
//! This layer owns what the operations *mean*: page rounding, the checks
//! and their order, the `kern_return_t` codes, clipping, inheritance. It
//! calls the policy only for what differs between kernels (see
//! `policy/mod.rs`). Each function's comment gives its contract and the
//! codes it returns, following the Mach 3 Kernel Interfaces manual; where
//! GNU Mach or XNU disagree with the manual the comment says so.

use std::ops::ControlFlow;

use crate::event::{Event, WorkKind};
use crate::fault::{AccessStop, access_range, pmap_finding};
use crate::ids::{Pindex, TaskId, Token, Vpn, page_span};
use crate::map::{MapBounds, MapEntry, VmMap};
use crate::op::AccessOp;
use crate::pmap::{Pmap, PmapEntry};
use crate::policy::Backing;
use crate::policy::readahead::FileShape;
use crate::sim::{Sim, SimError};
use crate::stats::mix;
use crate::types::{Access, Inheritance, KernReturn, Prot};
use crate::world::Task;

/// A snapshot of a source range, piece by piece: each piece covers `pages`
/// pages and holds one reference to its object.
struct Snapshot {
    pieces: Vec<(u64, Backing)>,
}

/// The largest folio a `page_cache` op may name, in pages: a PMD's worth
/// (2 MiB of 4 KiB pages), Linux's `MAX_PAGECACHE_ORDER` on x86-64.
pub const LARGEST_FOLIO_PAGES: u64 = 512;

/// The largest readahead window a `page_cache` op may name, in bytes.
/// Linux takes any `read_ahead_kb`, but memory bounds what one window can
/// read; a gigabyte is far past any device's setting and keeps a hostile
/// trace from asking for a window of petabytes.
pub const LARGEST_READ_AHEAD: u64 = 1 << 30;

/// The most one `read(2)` reads: Linux's `MAX_RW_COUNT`
/// (`INT_MAX & PAGE_MASK`), to which `rw_verify_area` cuts every count.
pub const LARGEST_READ: u64 = 0x7fff_f000;

impl Sim {
    /// The page size in bytes.
    fn page(&self) -> u64 {
        self.config.page_size
    }

    fn aligned(&self, value: u64) -> bool {
        value.is_multiple_of(self.page())
    }

    /// The pages every map may use.
    fn bounds(&self) -> MapBounds {
        MapBounds::of(&self.config)
    }

    /// `[trunc(addr), round(addr + size))` in pages, for `size > 0`, or
    /// `None` when the bytes wrap past 2^64.
    fn page_range(&self, addr: u64, size: u64) -> Option<(Vpn, Vpn)> {
        page_span(addr, size, self.page())
    }

    /// The pages of a byte range an operation names by address, for
    /// `size > 0`: `None` when the bytes wrap past 2^64 or do not lie inside
    /// `[map_min, map_max)`. Every caller answers `None` with
    /// `KERN_INVALID_ADDRESS`, as Mach's `vm_map_enter` (vm/vm_map.c) does
    /// for a fixed range with `start < min_offset`, `end > max_offset` or
    /// `start >= end` (its test for a wrap).
    fn legal_range(&self, addr: u64, size: u64) -> Option<(Vpn, Vpn)> {
        self.page_range(addr, size).filter(|(start, end)| self.bounds().contains(*start, *end))
    }

    pub(crate) fn require_task(&self, task: TaskId) -> Result<(), SimError> {
        if self.world.tasks.contains_key(&task) { Ok(()) } else { Err(SimError::UnknownTask(task)) }
    }

    /// Walks `[start, end)` in address order and returns the first problem:
    /// a hole (`KERN_INVALID_ADDRESS`) or an entry lacking `need`
    /// (`KERN_PROTECTION_FAILURE`).
    fn check_range(map: &VmMap, start: Vpn, end: Vpn, need: Prot) -> KernReturn {
        Self::walk_range(map, start, end, |e| e.prot.allows(need))
    }

    /// Walks `[start, end)` in address order and returns the first problem:
    /// a hole (`KERN_INVALID_ADDRESS`) or an entry `allowed` refuses
    /// (`KERN_PROTECTION_FAILURE`).
    fn walk_range(map: &VmMap, start: Vpn, end: Vpn, allowed: impl Fn(&MapEntry) -> bool) -> KernReturn {
        let mut cursor = start;
        for e in map.overlapping(start, end) {
            if e.start > cursor {
                return KernReturn::InvalidAddress;
            }
            if !allowed(&e) {
                return KernReturn::ProtectionFailure;
            }
            cursor = e.end;
        }
        if cursor < end { KernReturn::InvalidAddress } else { KernReturn::Success }
    }

    /// The preamble the range operations share (`vm_deallocate`,
    /// `vm_protect`, `vm_inherit`): a zero size succeeds at once; a range that
    /// wraps or leaves the map, or has a hole, is `KERN_INVALID_ADDRESS`; an
    /// entry `allowed` refuses is `KERN_PROTECTION_FAILURE`. `Continue`
    /// carries the page range to act on.
    fn mapped_range(
        &self,
        task: TaskId,
        addr: u64,
        size: u64,
        allowed: impl Fn(&MapEntry) -> bool,
    ) -> ControlFlow<KernReturn, (Vpn, Vpn)> {
        if size == 0 {
            return ControlFlow::Break(KernReturn::Success);
        }
        let Some((start, end)) = self.legal_range(addr, size) else {
            return ControlFlow::Break(KernReturn::InvalidAddress);
        };
        match Self::walk_range(&self.world.task(task).map, start, end, allowed) {
            KernReturn::Success => ControlFlow::Continue((start, end)),
            code => ControlFlow::Break(code),
        }
    }

    /// Splits entries so that `at` is an entry boundary. The new piece takes
    /// one more reference to the object it shares.
    fn clip(&mut self, task: TaskId, at: Vpn) {
        if let Some(upper) = self.world.split_entry(task, at) {
            self.world.reference(upper.object);
        }
    }

    fn clip_range(&mut self, task: TaskId, start: Vpn, end: Vpn) {
        self.clip(task, start);
        self.clip(task, end);
    }

    // ----- tasks -----

    /// `task_create` with an empty map. Bad input if the id is taken.
    pub(crate) fn task_create(&mut self, task: TaskId, parent: Option<TaskId>) -> Result<KernReturn, SimError> {
        if self.world.tasks.contains_key(&task) {
            return Err(SimError::TaskExists(task));
        }
        let t = Task { id: task, parent, map: VmMap::default(), pmap: Pmap::default() };
        self.world.tasks.insert(task, t);
        self.world.emit(Event::TaskCreated { task });
        Ok(KernReturn::Success)
    }

    /// `task_create(parent, inherit_memory = TRUE)`: each parent entry is
    /// shared, copied or left out by its inheritance.
    pub(crate) fn fork(&mut self, parent: TaskId, child: TaskId) -> Result<KernReturn, SimError> {
        self.require_task(parent)?;
        self.task_create(child, Some(parent))?;
        let entries: Vec<MapEntry> = self.world.task(parent).map.entries().copied().collect();
        for mut entry in entries {
            let child_entry = match entry.inheritance {
                Inheritance::None => continue,
                Inheritance::Share => self.policy.fork_share(&mut self.world, parent, &mut entry),
                Inheritance::Copy => self.policy.fork_copy(&mut self.world, parent, &mut entry),
            };
            self.world.store_entry(parent, entry);
            self.world.insert_entry(child, child_entry);
            self.world.work(WorkKind::MapEntryCopied, 1);
        }
        self.policy.after_fork(&mut self.world, parent, child);
        Ok(KernReturn::Success)
    }

    /// Releases every entry of the task's map and empties its pmap.
    fn release_map(&mut self, task: TaskId) {
        self.policy.forget_task(&mut self.world, task);
        self.world.pmap_clear(task);
        for entry in self.world.remove_all_entries(task) {
            self.policy.release(&mut self.world, task, &entry);
        }
    }

    /// `exec`: the map is replaced by an empty one.
    pub(crate) fn exec(&mut self, task: TaskId) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        self.release_map(task);
        Ok(KernReturn::Success)
    }

    /// `exit`: the map is released and the task is gone.
    pub(crate) fn exit(&mut self, task: TaskId) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        self.release_map(task);
        self.world.tasks.remove(&task);
        self.world.emit(Event::TaskExited { task });
        Ok(KernReturn::Success)
    }

    // ----- making and unmapping memory -----

    /// Finds room for `pages` pages: at `start` exactly, or first fit from
    /// `start` (or the bottom of the map) when `anywhere`.
    /// Fixed: `KERN_INVALID_ADDRESS` for no address or a range that wraps or
    /// leaves the map, `KERN_NO_SPACE` for an overlap. Anywhere:
    /// `KERN_NO_SPACE` when no hole of `pages` pages ends at or below the
    /// maximum (a hint at or past it leaves no room, as Mach's
    /// `vm_map_enter` says when its `start` passes `max_offset`).
    fn place(&self, task: TaskId, start: Option<Vpn>, pages: u64, anywhere: bool) -> Result<Vpn, KernReturn> {
        let map = &self.world.task(task).map;
        let bounds = self.bounds();
        if anywhere {
            let from = start.map_or(bounds.min, |s| s.max(bounds.min));
            return map.find_space(from, pages, bounds.max).ok_or(KernReturn::NoSpace);
        }
        let start = start.ok_or(KernReturn::InvalidAddress)?;
        let end = start.checked_plus(pages).ok_or(KernReturn::InvalidAddress)?;
        if !bounds.contains(start, end) {
            return Err(KernReturn::InvalidAddress);
        }
        if !map.is_free(start, end) {
            return Err(KernReturn::NoSpace);
        }
        Ok(start)
    }

    /// `vm_allocate`: zero-fill memory. A fixed range is truncated at its
    /// start and rounded at its end (`KERN_INVALID_ADDRESS` if those bytes
    /// wrap past 2^64); anywhere, only the size is rounded and `addr` is
    /// where the search starts. `size == 0` succeeds and maps nothing (GNU
    /// Mach). Other codes: see [`Sim::place`].
    pub(crate) fn vm_allocate(
        &mut self,
        task: TaskId,
        addr: Option<u64>,
        size: u64,
        anywhere: bool,
    ) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        if size == 0 {
            return Ok(KernReturn::Success);
        }
        // Anywhere only the size is rounded; a fixed range at both ends.
        let (hint, pages) = if anywhere {
            (addr.map(|a| Vpn::of_addr(a, self.page())), size.div_ceil(self.page()))
        } else {
            match addr.and_then(|a| self.page_range(a, size)) {
                Some((start, end)) => (Some(start), end.since(start)),
                None => return Ok(KernReturn::InvalidAddress),
            }
        };
        let start = match self.place(task, hint, pages, anywhere) {
            Ok(s) => s,
            Err(code) => return Ok(code),
        };
        let backing = self.policy.new_anonymous(&mut self.world, pages);
        self.insert_entry(task, start, pages, Prot::DEFAULT, backing, false);
        Ok(KernReturn::Success)
    }

    fn insert_entry(&mut self, task: TaskId, start: Vpn, pages: u64, prot: Prot, backing: Backing, shared: bool) {
        let entry = MapEntry {
            start,
            end: start.plus(pages),
            prot,
            max_prot: Prot::ALL,
            inheritance: Inheritance::Copy,
            needs_copy: backing.needs_copy,
            shared,
            object: backing.object,
            offset: backing.offset,
        };
        self.world.insert_entry(task, entry);
    }

    /// `vm_map` of a file: private (copy-on-write) or shared. The start is
    /// rounded up (as the manual says, unlike `vm_allocate`); a start that
    /// rounds up to 2^64 is past the map like any other. Checks, in order:
    /// a file offset that is not page-aligned (`KERN_INVALID_ARGUMENT`),
    /// `size == 0` (success), a file range `[offset, offset + size)` that
    /// wraps past 2^64 (`KERN_INVALID_ARGUMENT` too: it names no bytes of
    /// any file, so the argument is wrong, not an address), then the
    /// placement (see [`Sim::place`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn vm_map(
        &mut self,
        task: TaskId,
        addr: Option<u64>,
        size: u64,
        anywhere: bool,
        file: &str,
        offset: u64,
        private: bool,
        prot: Prot,
    ) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        if !self.aligned(offset) {
            return Ok(KernReturn::InvalidArgument);
        }
        if size == 0 {
            return Ok(KernReturn::Success);
        }
        let Some((first, _)) = self.page_range(offset, size) else {
            return Ok(KernReturn::InvalidArgument);
        };
        let start = addr.map(|a| Vpn::round_up(a, self.page()));
        let pages = size.div_ceil(self.page());
        let start = match self.place(task, start, pages, anywhere || addr.is_none()) {
            Ok(s) => s,
            Err(code) => return Ok(code),
        };
        let object = self.world.file_object(file);
        let backing = self.policy.map_file(&mut self.world, object, Pindex(first.0), pages, private);
        self.insert_entry(task, start, pages, prot, backing, !private);
        Ok(KernReturn::Success)
    }

    /// `vm_deallocate`. Follows the manual: any unallocated page in the range
    /// gives `KERN_INVALID_ADDRESS` and nothing changes (GNU Mach and XNU
    /// skip holes and succeed: `vm_map_delete` in vm/vm_map.c and
    /// osfmk/vm/vm_map.c).
    pub(crate) fn vm_deallocate(&mut self, task: TaskId, addr: u64, size: u64) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        let (start, end) = match self.mapped_range(task, addr, size, |_| true) {
            ControlFlow::Continue(range) => range,
            ControlFlow::Break(code) => return Ok(code),
        };
        self.unmap(task, start, end);
        Ok(KernReturn::Success)
    }

    /// Removes every entry in `[start, end)` (clipping the ends first).
    fn unmap(&mut self, task: TaskId, start: Vpn, end: Vpn) {
        self.clip_range(task, start, end);
        let doomed = self.world.task(task).map.overlapping(start, end);
        self.world.pmap_remove(task, start, end);
        for e in &doomed {
            self.world.remove_entry(task, e.start);
        }
        for e in doomed {
            self.policy.release(&mut self.world, task, &e);
        }
    }

    // ----- attributes -----

    /// `vm_protect`: set the current protection (`KERN_PROTECTION_FAILURE`
    /// if it exceeds an entry's maximum) or, with `set_max`, the maximum
    /// (the current one is lowered with it, as GNU Mach does). Holes give
    /// `KERN_INVALID_ADDRESS`, checked in address order with the maximum.
    pub(crate) fn vm_protect(
        &mut self,
        task: TaskId,
        addr: u64,
        size: u64,
        prot: Prot,
        set_max: bool,
    ) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        let (start, end) = match self.mapped_range(task, addr, size, |e| set_max || e.max_prot.allows(prot)) {
            ControlFlow::Continue(range) => range,
            ControlFlow::Break(code) => return Ok(code),
        };
        self.clip_range(task, start, end);
        for e in self.world.task(task).map.overlapping(start, end) {
            let entry = self.world.task_mut(task).map.get_mut(e.start).expect("vm_protect: entry vanished");
            if set_max {
                entry.max_prot = prot;
                entry.prot = entry.prot.intersect(prot);
            } else {
                entry.prot = prot;
            }
            let lowered = entry.prot;
            self.world.pmap_protect(task, e.start, e.end, lowered);
        }
        Ok(KernReturn::Success)
    }

    /// `vm_inherit`: set the inheritance of a range. Holes give
    /// `KERN_INVALID_ADDRESS` (the manual; GNU Mach skips them).
    pub(crate) fn vm_inherit(
        &mut self,
        task: TaskId,
        addr: u64,
        size: u64,
        inherit: Inheritance,
    ) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        let (start, end) = match self.mapped_range(task, addr, size, |_| true) {
            ControlFlow::Continue(range) => range,
            ControlFlow::Break(code) => return Ok(code),
        };
        self.clip_range(task, start, end);
        let map = &mut self.world.task_mut(task).map;
        for e in map.overlapping(start, end) {
            map.get_mut(e.start).expect("vm_inherit: entry vanished").inheritance = inherit;
        }
        Ok(KernReturn::Success)
    }

    // ----- copies -----

    /// The source half of every copy (GNU Mach `vm_map_copyin`): the range
    /// must lie inside the map, with no hole (`KERN_INVALID_ADDRESS`), and be
    /// readable (`KERN_PROTECTION_FAILURE`), checked in address order.
    fn check_source(&self, task: TaskId, addr: u64, size: u64) -> Result<(Vpn, Vpn), KernReturn> {
        let Some((start, end)) = self.legal_range(addr, size) else {
            return Err(KernReturn::InvalidAddress);
        };
        match Self::check_range(&self.world.task(task).map, start, end, Prot::READ) {
            KernReturn::Success => Ok((start, end)),
            code => Err(code),
        }
    }

    /// Takes the snapshot of `[start, end)` in `task`: each source entry is
    /// clipped to the range and asked for its snapshot.
    fn snapshot(&mut self, task: TaskId, start: Vpn, end: Vpn) -> Snapshot {
        self.clip_range(task, start, end);
        let mut pieces = Vec::new();
        for mut entry in self.world.task(task).map.overlapping(start, end) {
            let backing = self.policy.snapshot(&mut self.world, task, &mut entry);
            self.world.store_entry(task, entry);
            pieces.push((entry.pages(), backing));
        }
        Snapshot { pieces }
    }

    /// Lets go of a snapshot's references.
    fn discard(&mut self, task: TaskId, snapshot: Snapshot) {
        for (pages, backing) in snapshot.pieces {
            let entry = snapshot_entry(Vpn(0), pages, backing);
            self.policy.release(&mut self.world, task, &entry);
        }
    }

    /// `vm_move(task, src, size, dst)`: the entries of `[src, src + size)`
    /// move to `dst` with their objects and offsets, so the memory goes with
    /// them and nothing is copied (Linux `mremap` with `MREMAP_MAYMOVE`,
    /// `move_vma`). Whether the hardware entries move too is the policy's
    /// choice ([`Policy::moves_pmap_entries`]): Linux moves its page-table
    /// entries (`move_page_tables`); a design without such a call would
    /// remap and unmap (Mach `vm_remap`, NetBSD's `uvm_mremap`), and the
    /// next access is a soft fault that maps the same page again.
    ///
    /// The checks, in `vm_copy`'s order: `size == 0` succeeds; the source
    /// must be mapped throughout (`KERN_INVALID_ADDRESS`; its protection
    /// does not matter, nothing is read); alignment of `src`, `size` and
    /// `dst` (`KERN_INVALID_ARGUMENT`); overlapping ranges
    /// (`KERN_INVALID_ARGUMENT`, as Linux refuses them); the destination
    /// must be legal (`KERN_INVALID_ADDRESS`) and free (`KERN_NO_SPACE`).
    pub(crate) fn vm_move(&mut self, task: TaskId, src: u64, size: u64, dst: u64) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        let (src_start, src_end) = match self.mapped_range(task, src, size, |_| true) {
            ControlFlow::Continue(range) => range,
            ControlFlow::Break(code) => return Ok(code),
        };
        if !(self.aligned(src) && self.aligned(size) && self.aligned(dst)) {
            return Ok(KernReturn::InvalidArgument);
        }
        let Some((dst_start, dst_end)) = self.legal_range(dst, size) else {
            return Ok(KernReturn::InvalidAddress);
        };
        if dst_start < src_end && src_start < dst_end {
            return Ok(KernReturn::InvalidArgument);
        }
        if !self.world.task(task).map.overlapping(dst_start, dst_end).is_empty() {
            return Ok(KernReturn::NoSpace);
        }
        self.move_entries(task, src_start, src_end, dst_start);
        Ok(KernReturn::Success)
    }

    /// Moves the entries of `[start, end)` (clipped first) to begin at
    /// `to`, which the caller has found free.
    fn move_entries(&mut self, task: TaskId, start: Vpn, end: Vpn, to: Vpn) {
        self.clip_range(task, start, end);
        let moving = self.world.task(task).map.overlapping(start, end);
        let shift = |vpn: Vpn| Vpn(vpn.0 - start.0 + to.0);
        let pmap = &self.world.task(task).pmap;
        let hardware: Vec<(Vpn, PmapEntry)> =
            if self.policy.moves_pmap_entries() { pmap.range(start, end).collect() } else { Vec::new() };
        self.world.pmap_remove(task, start, end);
        for (vpn, entry) in hardware {
            self.world.pmap_enter(task, shift(vpn), entry);
        }
        for entry in &moving {
            self.world.remove_entry(task, entry.start);
        }
        for entry in moving {
            let moved = MapEntry { start: shift(entry.start), end: shift(entry.end), ..entry };
            self.world.insert_entry(task, moved);
        }
    }

    /// `resident`: compares which pages of `[addr, addr + size)` the real
    /// kernel had present at the process's exit (`present`: runs of page
    /// offsets into the range) with this simulator's pmap, and counts the
    /// pages present in both, in one only (`Event::ResidencyCompared`).
    /// Changes nothing. A zero size succeeds; a range that wraps or leaves
    /// the map is `KERN_INVALID_ADDRESS`; a misaligned range, or runs out
    /// of order or past the range, `KERN_INVALID_ARGUMENT`.
    pub(crate) fn resident(
        &mut self,
        task: TaskId,
        addr: u64,
        size: u64,
        present: &[(u64, u64)],
    ) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        if size == 0 {
            return Ok(KernReturn::Success);
        }
        let Some((start, end)) = self.legal_range(addr, size) else {
            return Ok(KernReturn::InvalidAddress);
        };
        if !(self.aligned(addr) && self.aligned(size) && crate::op::page_runs_fit(present, end.0 - start.0)) {
            return Ok(KernReturn::InvalidArgument);
        }
        let (mut both, mut kernel_only, mut simulator_only) = (0, 0, 0);
        let mut runs = present.iter().peekable();
        for offset in 0..end.0 - start.0 {
            while runs.next_if(|(first, count)| first + count <= offset).is_some() {}
            let in_kernel = runs.peek().is_some_and(|(first, _)| *first <= offset);
            let in_simulator = pmap_finding(&self.world, task, Vpn(start.0 + offset), Access::Read)
                != Some(crate::op::Recorded::NotPresent);
            match (in_kernel, in_simulator) {
                (true, true) => both += 1,
                (true, false) => kernel_only += 1,
                (false, true) => simulator_only += 1,
                (false, false) => {}
            }
        }
        self.world.emit(Event::ResidencyCompared { task, both, kernel_only, simulator_only });
        Ok(KernReturn::Success)
    }

    /// The `page_cache` op: what a capture saw of `file`'s page cache.
    /// `KERN_INVALID_ARGUMENT` when the runs do not fit the file's pages,
    /// `read_ahead` is not a whole number of pages or is past
    /// [`LARGEST_READ_AHEAD`], or `largest_folio` is not a power-of-two
    /// number of pages up to [`LARGEST_FOLIO_PAGES`].
    pub(crate) fn page_cache(
        &mut self,
        file: &str,
        size: u64,
        cached: &[(u64, u64)],
        read_ahead: u64,
        largest_folio: u64,
    ) -> KernReturn {
        let pages = size.div_ceil(self.page());
        let folio_pages = largest_folio / self.page();
        let folio_fits =
            self.aligned(largest_folio) && folio_pages.is_power_of_two() && folio_pages <= LARGEST_FOLIO_PAGES;
        let read_ahead_fits = self.aligned(read_ahead) && read_ahead <= LARGEST_READ_AHEAD;
        if !(read_ahead_fits && folio_fits && crate::op::page_runs_fit(cached, pages)) {
            return KernReturn::InvalidArgument;
        }
        let object = self.world.file_object(file);
        let shape = FileShape { end: pages, max_pages: read_ahead / self.page(), largest_folio: folio_pages };
        self.world.emit(Event::PageCacheDescribed { file: object });
        self.policy.learn_page_cache(&mut self.world, object, shape, cached);
        KernReturn::Success
    }

    /// The `file_read` op: a `read(2)` of `len` bytes of `file` from byte
    /// `offset`, by `task` if it says. `KERN_INVALID_ARGUMENT` when the
    /// range passes 2^64; a `len` past [`LARGEST_READ`] reads that much,
    /// as Linux does.
    pub(crate) fn file_read(
        &mut self,
        task: Option<TaskId>,
        file: &str,
        offset: u64,
        len: u64,
    ) -> Result<KernReturn, SimError> {
        if let Some(task) = task {
            self.require_task(task)?;
        }
        let Some(end) = offset.checked_add(len) else { return Ok(KernReturn::InvalidArgument) };
        if len == 0 {
            return Ok(KernReturn::Success);
        }
        // A file no op has named yet has no page cache to model.
        let Some(&(_, object)) = self.world.files.get(file) else { return Ok(KernReturn::Success) };
        let end = end.min(offset.saturating_add(LARGEST_READ));
        let pages = offset / self.page()..end.div_ceil(self.page());
        self.policy.file_read(&mut self.world, task, object, pages);
        Ok(KernReturn::Success)
    }

    /// `vm_copy(task, src, size, dst)`: `vm_write` within one task.
    pub(crate) fn vm_copy(&mut self, task: TaskId, src: u64, size: u64, dst: u64) -> Result<KernReturn, SimError> {
        self.copy_between(task, src, size, task, dst)
    }

    /// Copies `size` bytes from `from:src` over `to:dst`, lazily where the
    /// policy can. The checks, in GNU Mach's order: `size == 0` succeeds;
    /// the source (address, then protection); alignment of `src`, `size`
    /// and `dst` (`KERN_INVALID_ARGUMENT`); the destination (address, then
    /// write permission). The source is snapshotted before the destination
    /// is touched, so the ranges may overlap.
    pub(crate) fn copy_between(
        &mut self,
        from: TaskId,
        src: u64,
        size: u64,
        to: TaskId,
        dst: u64,
    ) -> Result<KernReturn, SimError> {
        self.require_task(from)?;
        self.require_task(to)?;
        if size == 0 {
            return Ok(KernReturn::Success);
        }
        let (src_start, src_end) = match self.check_source(from, src, size) {
            Ok(range) => range,
            Err(code) => return Ok(code),
        };
        if !(self.aligned(src) && self.aligned(size) && self.aligned(dst)) {
            return Ok(KernReturn::InvalidArgument);
        }
        let Some((dst_start, dst_end)) = self.legal_range(dst, size) else {
            return Ok(KernReturn::InvalidAddress);
        };
        let code = Self::check_range(&self.world.task(to).map, dst_start, dst_end, Prot::WRITE);
        if code != KernReturn::Success {
            return Ok(code);
        }
        let snapshot = self.snapshot(from, src_start, src_end);
        self.overwrite(to, dst_start, &snapshot);
        self.discard(from, snapshot);
        Ok(KernReturn::Success)
    }

    /// The destination half (`vm_map_copy_overwrite`). A private destination
    /// entry simply takes the snapshot's backing (a virtual copy). A shared
    /// one must keep its object, which others see, so the data is written
    /// into it page by page (a physical copy, as GNU Mach does for shared
    /// destinations).
    fn overwrite(&mut self, task: TaskId, start: Vpn, snapshot: &Snapshot) {
        let mut piece_start = start;
        for &(pages, backing) in &snapshot.pieces {
            let piece_end = piece_start.plus(pages);
            self.clip_range(task, piece_start, piece_end);
            let source = snapshot_entry(piece_start, pages, backing);
            for dest in self.world.task(task).map.overlapping(piece_start, piece_end) {
                if dest.shared {
                    self.write_through(task, &dest, &source);
                } else {
                    self.replace_backing(task, dest, &source);
                }
            }
            piece_start = piece_end;
        }
    }

    /// Gives a private destination entry the snapshot's backing.
    fn replace_backing(&mut self, task: TaskId, old: MapEntry, source: &MapEntry) {
        let mut entry = old;
        entry.object = source.object;
        entry.offset = source.pindex(old.start);
        entry.needs_copy = source.needs_copy;
        self.policy.reference_backing(&mut self.world, &entry);
        self.world.store_entry(task, entry);
        self.world.pmap_remove(task, old.start, old.end);
        self.policy.release(&mut self.world, task, &old);
    }

    /// Writes the snapshot's content into a shared destination entry.
    fn write_through(&mut self, task: TaskId, dest: &MapEntry, source: &MapEntry) {
        for vpn in dest.start.0..dest.end.0 {
            let token = self.policy.resolve(&self.world, source, Vpn(vpn)).token;
            let written =
                access_range(&mut self.world, self.policy.as_mut(), task, vpn..vpn + 1, Access::Write, |_| token, None);
            debug_assert!(written.is_ok(), "write_through: {task:?} vpn {vpn:#x} not writable after checks");
        }
    }

    /// `vm_read(task, addr, size)` into `caller`: a new copy-on-write region
    /// at `dst` or anywhere. Checks: source, then alignment of `addr`,
    /// `size` (and `dst`), then the placement in the caller: at `dst`,
    /// `KERN_INVALID_ADDRESS` for a range that wraps or leaves the map and
    /// `KERN_NO_SPACE` for an overlap; anywhere, `KERN_NO_SPACE` for no room.
    pub(crate) fn vm_read(
        &mut self,
        task: TaskId,
        addr: u64,
        size: u64,
        caller: TaskId,
        dst: Option<u64>,
    ) -> Result<KernReturn, SimError> {
        self.require_task(task)?;
        self.require_task(caller)?;
        if size == 0 {
            return Ok(KernReturn::Success);
        }
        let (start, end) = match self.check_source(task, addr, size) {
            Ok(range) => range,
            Err(code) => return Ok(code),
        };
        if !(self.aligned(addr) && self.aligned(size) && dst.is_none_or(|d| self.aligned(d))) {
            return Ok(KernReturn::InvalidArgument);
        }
        let at = dst.map(|d| Vpn::of_addr(d, self.page()));
        let place = match self.place(caller, at, end.since(start), dst.is_none()) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let snapshot = self.snapshot(task, start, end);
        let mut cursor = place;
        for (pages, backing) in snapshot.pieces {
            self.insert_entry(caller, cursor, pages, Prot::DEFAULT, backing, false);
            cursor = cursor.plus(pages);
        }
        Ok(KernReturn::Success)
    }

    /// `vm_write(task, addr, size)` from `caller`'s memory at `src`.
    pub(crate) fn vm_write(
        &mut self,
        task: TaskId,
        addr: u64,
        size: u64,
        caller: TaskId,
        src: u64,
    ) -> Result<KernReturn, SimError> {
        self.copy_between(caller, src, size, task, addr)
    }

    // ----- accesses -----

    /// `read`, `write` or `exec_fetch` of every page of a byte range. Stops
    /// at the first page the task cannot access: `KERN_INVALID_ADDRESS` for
    /// no mapping (SIGSEGV), `KERN_PROTECTION_FAILURE` for a forbidden
    /// access. Pages before it were accessed. A range that runs past the
    /// map's maximum (or ends exactly at 2^64) stops there at the latest,
    /// since no entry lies past it; one that wraps past 2^64 names no range
    /// of bytes and is `KERN_INVALID_ADDRESS` before any page is touched.
    pub(crate) fn access(&mut self, op: &AccessOp) -> Result<KernReturn, SimError> {
        self.require_task(op.task)?;
        if op.len == 0 {
            return Ok(KernReturn::Success);
        }
        let Some((start, end)) = self.page_range(op.addr, op.len) else {
            return Ok(KernReturn::InvalidAddress);
        };
        if let Some(recorded) = op.recorded {
            // A recorded fault names one page: the first of the range.
            let found = pmap_finding(&self.world, op.task, start, op.access);
            self.world.emit(Event::Fidelity { task: op.task, vpn: start, recorded, found });
        }
        let position = self.op_index;
        let value = op.value;
        let write_token = move |vpn: u64| match value {
            Some(v) => Token(v),
            None => Token(mix(mix(position) ^ vpn) | 1),
        };
        let expect = op.expect_value.map(Token);
        let result = access_range(
            &mut self.world,
            self.policy.as_mut(),
            op.task,
            start.0..end.0,
            op.access,
            write_token,
            expect,
        );
        match result {
            Ok(()) => Ok(KernReturn::Success),
            Err(AccessStop::Segv(_)) => Ok(KernReturn::InvalidAddress),
            Err(AccessStop::Protection(_)) => Ok(KernReturn::ProtectionFailure),
            Err(AccessStop::UnexpectedValue { vpn, found, expected }) => Err(SimError::UnexpectedValue {
                task: op.task,
                // The page was just read, so it is mapped, below the maximum.
                addr: vpn.addr(self.page()).expect("a mapped page has an address"),
                found: found.0,
                expected: expected.0,
            }),
        }
    }
}

/// A stand-in map entry for a snapshot piece, so policies can read and
/// release it like any entry.
fn snapshot_entry(start: Vpn, pages: u64, backing: Backing) -> MapEntry {
    MapEntry {
        start,
        end: start.plus(pages),
        prot: Prot::READ,
        max_prot: Prot::ALL,
        inheritance: Inheritance::Copy,
        needs_copy: backing.needs_copy,
        shared: false,
        object: backing.object,
        offset: backing.offset,
    }
}

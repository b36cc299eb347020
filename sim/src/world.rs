//! The world: tasks, objects, pages and files, plus the primitives every
//! policy builds on (make and free objects and pages, reference counting,
//! map entries, taking mappings away). Every primitive that changes
//! something emits the event that says so, and keeps the bookkeeping of
//! `chains.rs`, `reach.rs` and `shows_through.rs` in step: map entries,
//! page slots and shadow pointers change only through these primitives.

use std::collections::{BTreeMap, BTreeSet};

use crate::chains::ChainLengths;
use crate::event::{Event, WorkKind};
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::{MapEntry, VmMap};
use crate::object::{FileId, Fill, ObjectRole, Objects, VmObject};
use crate::page::Pages;
use crate::pmap::{Pmap, PmapEntry, PmapWork};
use crate::stats::{Stats, mix};

/// A task: its map and its page table.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: TaskId,
    /// The task it was forked from, if any.
    pub parent: Option<TaskId>,
    pub map: VmMap,
    pub pmap: Pmap,
}

/// Where events go: the counters always, a log when someone listens.
#[derive(Debug, Default)]
pub struct Recorder {
    pub stats: Stats,
    log: Option<Vec<Event>>,
}

impl Recorder {
    /// Records one event.
    #[inline]
    pub fn emit(&mut self, event: Event) {
        self.stats.apply(&event);
        if let Some(log) = &mut self.log {
            log.push(event);
        }
    }

    /// Starts keeping events for [`Recorder::drain`].
    pub fn keep_log(&mut self, keep: bool) {
        self.log = keep.then(Vec::new);
    }

    /// Takes the events kept since the last drain.
    pub fn drain(&mut self) -> Vec<Event> {
        self.log.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// What [`World::release_reference`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Released {
    /// The object lives on with this many references.
    Left(u32),
    /// The object was freed; the caller now owns its reference to `shadow`.
    Freed { shadow: Option<ObjectId> },
}

/// Everything the model holds.
#[derive(Debug, Default)]
pub struct World {
    pub tasks: BTreeMap<TaskId, Task>,
    pub objects: Objects,
    pub pages: Pages,
    /// Files by name, in name order. Each holds one reference to its object.
    pub files: BTreeMap<String, (FileId, ObjectId)>,
    /// The objects of files named in square brackets (`[vdso]`, `[vvar]`):
    /// kernel special mappings, whose pages no page cache holds.
    pub(crate) special_files: BTreeSet<ObjectId>,
    pub recorder: Recorder,
    /// How many map entries have each chain length (`chains.rs`).
    pub(crate) chains: ChainLengths,
    /// Resident pages no map entry can reach (`reach.rs`).
    pub(crate) hidden_pages: u64,
    /// Objects whose chain length is to be settled (`chains.rs`), and how
    /// many live objects are marked unsettled.
    pub(crate) unsettled_lengths: Vec<ObjectId>,
    pub(crate) unsettled_count: usize,
    /// Scratch space for settling chain lengths, kept to spare allocations.
    pub(crate) relength_stack: Vec<ObjectId>,
    /// Whether each new mapping of a page costs a pv entry (the pmaps of
    /// the Mach family and the BSDs keep one per mapping; Linux's reverse
    /// map is per VMA, counted by its policy).
    pub(crate) pv_entries: bool,
}

/// The object indices an entry maps.
fn window_of(entry: &MapEntry) -> std::ops::Range<u64> {
    entry.offset.0..entry.offset.0 + entry.pages()
}

/// How many pages a file object spans: files have no end in this model, so
/// every page a 64-bit file offset can name (2^64 bytes). A smaller span
/// left the last pages outside a copy object's window, and a write there
/// skipped the push that keeps the copy's original (found by fuzzing:
/// `fuzz/regressions/policies/shared-file-write-at-the-last-page`).
const FILE_PAGES: u64 = 1 << 52;

/// The original content of page `index` of a file: derived from the file's
/// number and the index, never zero.
pub fn file_token(file: FileId, index: Pindex) -> Token {
    Token(mix(u64::from(file.0) << 44 ^ index.0) | 1)
}

impl World {
    #[inline]
    pub(crate) fn emit(&mut self, event: Event) {
        self.recorder.emit(event);
    }

    /// The task with this id. Panics if absent: callers check first.
    pub fn task(&self, id: TaskId) -> &Task {
        match self.tasks.get(&id) {
            Some(t) => t,
            None => panic!("world: {id:?} does not exist"),
        }
    }

    pub(crate) fn task_mut(&mut self, id: TaskId) -> &mut Task {
        match self.tasks.get_mut(&id) {
            Some(t) => t,
            None => panic!("world: {id:?} does not exist"),
        }
    }

    /// The object behind an id.
    #[inline]
    pub fn object(&self, id: ObjectId) -> &VmObject {
        self.objects.get(id)
    }

    #[inline]
    pub(crate) fn object_mut(&mut self, id: ObjectId) -> &mut VmObject {
        self.objects.get_mut(id)
    }

    /// The map entry of `task` that maps `vpn`.
    pub fn entry(&self, task: TaskId, vpn: Vpn) -> Option<&MapEntry> {
        self.tasks.get(&task)?.map.lookup(vpn)
    }

    /// Stores a changed copy of one of `task`'s entries (found by its
    /// start) during a fault, saying so when it now points elsewhere.
    pub(crate) fn update_entry(&mut self, task: TaskId, entry: MapEntry) {
        let old = self.store_entry(task, entry);
        if old.object != entry.object {
            self.emit(Event::EntryRetargeted { task, start: entry.start, object: entry.object });
        }
    }

    // ----- map entries -----

    /// Inserts an entry into `task`'s map. The caller guarantees the range
    /// is free and has taken the entry's reference to its object.
    pub(crate) fn insert_entry(&mut self, task: TaskId, entry: MapEntry) {
        self.task_mut(task).map.insert(entry);
        self.entry_added(task, &entry);
    }

    /// Takes the entry starting at `start` out of `task`'s map (its
    /// reference is the caller's to drop).
    pub(crate) fn remove_entry(&mut self, task: TaskId, start: Vpn) -> MapEntry {
        let Some(entry) = self.task_mut(task).map.remove(start) else {
            panic!("world: {task:?} has no entry starting at {start:?}");
        };
        self.entry_removed(task, &entry);
        entry
    }

    /// Takes every entry out of `task`'s map, in address order.
    pub(crate) fn remove_all_entries(&mut self, task: TaskId) -> Vec<MapEntry> {
        let entries = self.task_mut(task).map.take_all();
        for entry in &entries {
            self.entry_removed(task, entry);
        }
        entries
    }

    /// Replaces the entry of `task` starting at `entry.start` with `entry`
    /// (same start; its object, offset or attributes may differ). Returns
    /// the entry it replaced.
    pub(crate) fn store_entry(&mut self, task: TaskId, entry: MapEntry) -> MapEntry {
        let old = match self.task_mut(task).map.get_mut(entry.start) {
            Some(slot) => std::mem::replace(slot, entry),
            None => panic!("world: {task:?} has no entry starting at {:?}", entry.start),
        };
        if old.object != entry.object {
            // The new window first, so columns both reach never drop out.
            self.entry_added(task, &entry);
            self.entry_removed(task, &old);
        } else if (old.offset, old.end) != (entry.offset, entry.end) {
            self.reach_window_added(entry.object, window_of(&entry));
            self.reach_window_removed(old.object, window_of(&old));
        }
        old
    }

    /// Splits `task`'s entry containing `at` into `[start, at)` and
    /// `[at, end)` when `at` falls strictly inside it, and returns the upper
    /// piece, whose object needs one more reference (the caller takes it).
    /// The two pieces cover what the entry covered, so only the count of
    /// entries changes.
    pub(crate) fn split_entry(&mut self, task: TaskId, at: Vpn) -> Option<MapEntry> {
        let upper = self.task_mut(task).map.split(at)?;
        self.count_mapping(upper.object, task, upper.start, 1);
        Some(upper)
    }

    /// An entry of `task` now maps its window of its object.
    fn entry_added(&mut self, task: TaskId, entry: &MapEntry) {
        self.count_mapping(entry.object, task, entry.start, 1);
        self.reach_window_added(entry.object, window_of(entry));
    }

    /// An entry of `task` no longer maps its window of its object.
    fn entry_removed(&mut self, task: TaskId, entry: &MapEntry) {
        self.reach_window_removed(entry.object, window_of(entry));
        self.count_mapping(entry.object, task, entry.start, -1);
    }

    // ----- objects -----

    /// Makes an object with one reference and no pages.
    pub(crate) fn create_object(&mut self, role: ObjectRole, size: u64, fill: Fill) -> ObjectId {
        let id = self.objects.create(role, size, fill);
        self.emit(Event::ObjectCreated { object: id, role });
        id
    }

    /// The object of a named file, made on first use. The file table holds
    /// one reference, so file objects live for the whole run.
    pub(crate) fn file_object(&mut self, name: &str) -> ObjectId {
        if let Some((_, id)) = self.files.get(name) {
            return *id;
        }
        let file = FileId(self.files.len() as u32);
        let fill = Fill::File { file, offset: Pindex(0) };
        let id = self.create_object(ObjectRole::File, FILE_PAGES, fill);
        self.files.insert(name.to_string(), (file, id));
        if name.starts_with('[') {
            self.special_files.insert(id);
        }
        id
    }

    /// Is `object` the object of a kernel special mapping (a file named in
    /// square brackets, as perf names `[vdso]` and `[vvar]`)? Linux fills
    /// those from the kernel's own pages, with no page cache to map
    /// around a fault.
    pub(crate) fn is_special_file(&self, object: ObjectId) -> bool {
        self.special_files.contains(&object)
    }

    /// Takes one more reference to `id`.
    pub(crate) fn reference(&mut self, id: ObjectId) {
        self.object_mut(id).ref_count += 1;
    }

    /// Takes one more reference to `id` for another way to reach pages that
    /// are already reachable (a copy, a share, a shadow that bypasses): the
    /// object is no longer one-mapping.
    pub(crate) fn reference_shared(&mut self, id: ObjectId) {
        self.reference(id);
        self.object_mut(id).one_mapping = false;
    }

    /// Drops exactly one reference to `id`, without following the chain, so
    /// a policy can apply its own rule at each level (XNU and FreeBSD
    /// collapse while they deallocate). An object left with none is
    /// terminated, and the reference it held on its shadow passes to the
    /// caller.
    pub(crate) fn release_reference(&mut self, id: ObjectId) -> Released {
        let object = self.object_mut(id);
        assert!(object.ref_count > 0, "release_reference: {id:?} has no references");
        object.ref_count -= 1;
        match object.ref_count {
            0 => Released::Freed { shadow: self.terminate(id) },
            left => Released::Left(left),
        }
    }

    /// Drops one reference to `id`; an object left with none is terminated:
    /// its pages are freed and its reference to its shadow is dropped in
    /// turn (a loop, so a long chain cannot overflow the stack). Returns the
    /// references left on `id` (0 when it was freed).
    pub(crate) fn deallocate(&mut self, id: ObjectId) -> u32 {
        let mut next = Some(id);
        let mut first_left = None;
        while let Some(current) = next {
            let object = self.object_mut(current);
            assert!(object.ref_count > 0, "deallocate: {current:?} has no references");
            object.ref_count -= 1;
            let left = object.ref_count;
            first_left.get_or_insert(left);
            if left > 0 {
                break;
            }
            next = self.terminate(current);
        }
        first_left.unwrap_or(0)
    }

    /// Frees an object with no references left; returns its shadow, whose
    /// reference the caller must drop. Nothing maps or shadows it, so no
    /// entry reaches its pages.
    fn terminate(&mut self, id: ObjectId) -> Option<ObjectId> {
        let shadow = self.object(id).shadow;
        self.set_shadow(id, None);
        let object = self.objects.remove(id);
        debug_assert!(
            object.mappers.is_empty() && object.reach.reached.is_empty(),
            "terminate: {id:?} is still reached"
        );
        if object.length_unsettled {
            self.unsettled_count -= 1;
        }
        for page in object.pages.values() {
            self.release_slot(page, object.is_file());
        }
        // A copy object going away stops receiving pushes.
        if object.is_copy() {
            self.clear_copy_link(id, shadow.map(|(s, _)| s));
        }
        self.emit(Event::ObjectFreed { object: id });
        shadow.map(|(s, _)| s)
    }

    /// Removes `copy` as the copy object of whichever object names it. The
    /// source is found by walking down from the copy's old shadow.
    fn clear_copy_link(&mut self, copy: ObjectId, mut below: Option<ObjectId>) {
        while let Some(id) = below {
            let object = self.object_mut(id);
            if object.copy == Some(copy) {
                object.copy = None;
                return;
            }
            below = object.shadow.map(|(s, _)| s);
        }
    }

    /// Points `id` at a new backing object (or none). The caller handles
    /// the reference counts; this keeps the back-pointers, the chain
    /// lengths, the bypass count and the reach bookkeeping exact.
    pub(crate) fn set_shadow(&mut self, id: ObjectId, shadow: Option<(ObjectId, Pindex)>) {
        let old = self.relink(id, shadow);
        self.unsettle_length(id);
        self.recount_shows_through(id);
        self.reach_relinked(id, old, shadow);
    }

    /// The pointer part of [`World::set_shadow`]: the shadow, the
    /// shadower lists and the event. Returns the old shadow.
    fn relink(&mut self, id: ObjectId, shadow: Option<(ObjectId, Pindex)>) -> Option<(ObjectId, Pindex)> {
        let old = std::mem::replace(&mut self.object_mut(id).shadow, shadow);
        if old.map(|(o, _)| o) != shadow.map(|(o, _)| o) {
            self.emit(Event::ShadowSet { object: id, shadow: shadow.map(|(o, _)| o) });
        }
        if let Some((below, _)) = old {
            self.object_mut(below).shadowers.retain(|s| *s != id);
        }
        if let Some((below, _)) = shadow {
            self.object_mut(below).shadowers.push(id);
        }
        old
    }

    /// The object below `id` in its chain.
    #[inline]
    pub fn shadow_of(&self, id: ObjectId) -> Option<(ObjectId, Pindex)> {
        self.object(id).shadow
    }

    /// Shrinks `id` to its first `size` pages (FreeBSD trims an object whose
    /// tail was unmapped). The caller has freed the pages past it.
    pub(crate) fn shrink(&mut self, id: ObjectId, size: u64) {
        self.object_mut(id).size = size;
        self.recount_shows_through(id);
    }

    /// Merges `top`'s backing object into `top` (case 1 of a Mach
    /// collapse): every backing page `top` can see and lacks moves up, the
    /// others are freed, and `top` takes over the backing's shadow. The
    /// backing object must be referenced by `top` alone; it is left with no
    /// pages, no shadow and that one reference, for the caller to release.
    /// Returns the pages moved and freed.
    ///
    /// Nothing any entry reaches changes: the backing object was reached
    /// only through `top`'s holes, so each moved page is reached in `top`
    /// exactly where it was reached below, the freed pages were hidden, and
    /// `top` now passes down exactly what the backing object passed down.
    /// So the reach bookkeeping is carried over, not recomputed.
    pub(crate) fn merge_backing_into(&mut self, top: ObjectId) -> (u32, u32) {
        let (backing, offset) = self.object(top).shadow.expect("merge: no backing");
        debug_assert!(self.object(backing).ref_count == 1, "merge: {backing:?} is shared");
        let size = self.object(top).size;
        let indices: Vec<Pindex> = self.object(backing).pages.keys().collect();
        let (mut moved, mut freed) = (0, 0);
        for index in indices {
            let target = index.0.checked_sub(offset.0).filter(|q| *q < size).map(Pindex);
            let page = self.object_mut(backing).pages.remove(&index).expect("merge: page vanished");
            let reached = self.slot_reached(backing, index);
            self.note_shows_through(backing, index, -1);
            match target {
                Some(q) if self.object(top).page(q).is_none() => {
                    debug_assert_eq!(reached, self.slot_reached(top, q), "merge: {page:?} changes reach");
                    self.object_mut(top).pages.insert(q, page);
                    self.note_shows_through(top, q, 1);
                    moved += 1;
                }
                _ => {
                    debug_assert!(!reached, "merge: {backing:?}[{index:?}] is reached");
                    self.release_slot(page, reached);
                    freed += 1;
                }
            }
        }
        let below = self.object(backing).shadow;
        self.relink(backing, None);
        self.relink(top, below.map(|(o, off)| (o, Pindex(off.0 + offset.0))));
        self.object_mut(backing).reach.reached = Default::default();
        self.unsettle_length(backing);
        self.unsettle_length(top);
        self.recount_shows_through(top);
        self.recount_shows_through(backing);
        (moved, freed)
    }

    // ----- pages -----

    /// Makes a page and puts it at `object[pindex]`, which must be empty.
    pub(crate) fn install_new_page(&mut self, object: ObjectId, pindex: Pindex, token: Token) -> PageId {
        let page = self.pages.alloc(token);
        self.put_page(object, pindex, page);
        page
    }

    /// Puts an existing page in a slot (one more slot holds it).
    pub(crate) fn put_page(&mut self, object: ObjectId, pindex: Pindex, page: PageId) {
        let old = self.object_mut(object).pages.insert(pindex, page);
        assert!(old.is_none(), "put_page: {object:?}[{pindex:?}] already holds {old:?}");
        let reached = self.slot_reached(object, pindex);
        self.count_slot_added(page, reached);
        self.slot_filled(object, pindex, reached);
    }

    /// Puts every page `from` holds in `range` into the same-relative slot
    /// of `to`, a new object (no pages, nothing mapping or shadowing it,
    /// its backing a file or nothing): each page gains a slot, no page is
    /// copied (Linux `copy_page_range`, Plan 9 `ptecpy`). Returns how many.
    /// Such a `to` reaches nothing and has no bypass count, so the slots
    /// are added in bulk: the chunks copied whole, one count per page.
    pub(crate) fn share_slots_into_new(&mut self, from: ObjectId, range: std::ops::Range<Pindex>, to: ObjectId) -> u32 {
        let t = self.object(to);
        debug_assert!(
            t.pages.is_empty()
                && t.reach.reached.is_empty()
                && t.shadowers.is_empty()
                && t.shadow.is_none_or(|(b, _)| self.object(b).is_file()),
            "share_slots_into_new: {to:?} is not a new object"
        );
        let mut pages = std::mem::take(&mut self.object_mut(to).pages);
        let shift = range.start.0;
        let copied = pages.copy_from(&self.object(from).pages, range.clone(), shift);
        self.object_mut(to).pages = pages;
        let World { objects, pages, .. } = self;
        for (_, page) in objects.get(from).pages.range(range) {
            pages.get_mut(page).refs += 1;
        }
        copied as u32
    }

    /// Takes the page out of a slot; the slot's hold on it is dropped and the
    /// page freed if no slot holds it any more.
    pub(crate) fn drop_slot(&mut self, object: ObjectId, pindex: Pindex) {
        if let Some(page) = self.object_mut(object).pages.remove(&pindex) {
            let reached = self.slot_reached(object, pindex);
            self.slot_emptied(object, pindex, reached);
            self.release_slot(page, reached);
        }
    }

    /// Drops one slot's hold on a page (a reached slot or not), freeing the
    /// page when none is left.
    fn release_slot(&mut self, page: PageId, reached: bool) {
        if self.count_slot_removed(page, reached) {
            self.pages.free(page);
            self.emit(Event::PageFreed { page });
        }
    }

    /// Moves the page at `from[from_index]` to the empty slot `to[to_index]`.
    pub(crate) fn move_page(&mut self, from: ObjectId, from_index: Pindex, to: ObjectId, to_index: Pindex) -> PageId {
        let page = match self.object_mut(from).pages.remove(&from_index) {
            Some(p) => p,
            None => panic!("move_page: {from:?}[{from_index:?}] is empty"),
        };
        let was_reached = self.slot_reached(from, from_index);
        self.slot_emptied(from, from_index, was_reached);
        let old = self.object_mut(to).pages.insert(to_index, page);
        assert!(old.is_none(), "move_page: {to:?}[{to_index:?}] already holds {old:?}");
        let reached = self.slot_reached(to, to_index);
        // One slot more, then one fewer: the page never looks unheld.
        self.count_slot_added(page, reached);
        self.count_slot_removed(page, was_reached);
        self.slot_filled(to, to_index, reached);
        page
    }

    /// A page was put in `object[index]` (a reached slot or not): the bypass
    /// counts see it, and a reached column stops passing down.
    fn slot_filled(&mut self, object: ObjectId, index: Pindex, reached: bool) {
        self.note_shows_through(object, index, 1);
        if reached {
            self.close_column(object, index);
        }
    }

    /// A page was taken out of `object[index]`: the bypass counts see it,
    /// and a reached column passes down again.
    fn slot_emptied(&mut self, object: ObjectId, index: Pindex, reached: bool) {
        self.note_shows_through(object, index, -1);
        if reached {
            self.open_column(object, index);
        }
    }

    /// The token of a page.
    #[inline]
    pub fn token(&self, page: PageId) -> Token {
        self.pages.get(page).token
    }

    /// Restarts the pages' clock before it wraps (see `page::Stamp`): every
    /// pmap is emptied first, which costs the tasks some refaults and
    /// changes nothing they read.
    pub(crate) fn restamp(&mut self) {
        for task in self.tasks.values_mut() {
            // Not kernel work: the clock is this model's own.
            let _ = task.pmap.clear();
        }
        self.pages.restamp();
    }

    /// Takes every mapping of `page` away, in every task: a walk of the
    /// page's reverse map and a TLB shootdown in a real kernel
    /// (`pmap_page_protect`, `try_to_unmap`).
    pub(crate) fn revoke_mappings(&mut self, page: PageId) {
        self.pages.revoke(page);
        self.work(WorkKind::TlbFlush, 1);
    }

    /// Takes write permission away from every mapping of `page`. Not
    /// counted as work here: where a kernel does it as a walk of its own
    /// (XNU's copy objects) the policy counts it; elsewhere it keeps this
    /// model safe where the kernel had already write-protected the range.
    pub(crate) fn write_protect_everywhere(&mut self, page: PageId) {
        self.pages.write_protect(page);
    }

    /// Lowers `task`'s page table over `entry`'s range to read-only.
    pub(crate) fn write_protect_range(&mut self, task: TaskId, entry: &MapEntry) {
        let prot = entry.prot.without(crate::types::Prot::WRITE);
        self.pmap_protect(task, entry.start, entry.end, prot);
    }

    /// Counts `count` units of kernel work of `kind` (nothing for 0).
    #[inline]
    pub(crate) fn work(&mut self, kind: WorkKind, count: u64) {
        if count > 0 {
            self.emit(Event::Work { kind, count });
        }
    }

    /// Sets `task`'s page-table entry for `vpn`, counting the page-table
    /// page it may need, the TLB flush of a replaced translation, and the
    /// pv entry of a new mapping.
    pub(crate) fn pmap_enter(&mut self, task: TaskId, vpn: Vpn, entry: PmapEntry) {
        let done = self.task_mut(task).pmap.enter(vpn, entry);
        self.work(WorkKind::PageTablePage, done.new_leaves);
        self.work(WorkKind::TlbFlush, u64::from(done.replaced_other_page));
        if self.pv_entries && done.maps_new_page {
            self.work(WorkKind::RmapEntry, 1);
        }
    }

    /// Removes `task`'s page-table entries in `[start, end)`, with one TLB
    /// flush of the range if any was there.
    pub(crate) fn pmap_remove(&mut self, task: TaskId, start: Vpn, end: Vpn) {
        let done = self.task_mut(task).pmap.remove_range(start, end);
        self.count_removed(done);
    }

    /// Lowers `task`'s page-table entries in `[start, end)` to `prot` at
    /// most, with one TLB flush of the range if any entry lost a right.
    pub(crate) fn pmap_protect(&mut self, task: TaskId, start: Vpn, end: Vpn, prot: crate::types::Prot) {
        let done = self.task_mut(task).pmap.protect_range(start, end, prot);
        self.work(WorkKind::PteWriteProtected, done.entries);
        self.work(WorkKind::TlbFlush, u64::from(done.entries > 0));
    }

    /// Empties `task`'s page table (exec, exit, a flushed MMU), with one
    /// TLB flush if it held anything.
    pub(crate) fn pmap_clear(&mut self, task: TaskId) {
        let done = self.task_mut(task).pmap.clear();
        self.count_removed(done);
    }

    fn count_removed(&mut self, done: PmapWork) {
        self.work(WorkKind::PteRemoved, done.entries);
        self.work(WorkKind::TlbFlush, u64::from(done.entries > 0));
    }
}

//! The world: tasks, objects, pages and files, plus the primitives every
//! policy builds on (make and free objects and pages, reference counting,
//! taking mappings away). Every primitive that changes something emits the
//! event that says so.

use std::collections::BTreeMap;

use crate::event::Event;
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::{MapEntry, VmMap};
use crate::object::{FileId, Fill, ObjectRole, Objects, VmObject};
use crate::page::Pages;
use crate::pmap::Pmap;
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
    pub recorder: Recorder,
}

/// How many pages a file object spans: files have no end in this model.
const FILE_PAGES: u64 = 1 << 40;

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
        let slot = match self.task_mut(task).map.lookup_mut(entry.start) {
            Some(e) if e.start == entry.start => e,
            _ => panic!("world: {task:?} has no entry starting at {:?}", entry.start),
        };
        let retargeted = slot.object != entry.object;
        *slot = entry;
        if retargeted {
            self.emit(Event::EntryRetargeted { task, start: entry.start, object: entry.object });
        }
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
        id
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
    /// reference the caller must drop.
    fn terminate(&mut self, id: ObjectId) -> Option<ObjectId> {
        let shadow = self.object(id).shadow;
        self.set_shadow(id, None);
        let object = self.objects.remove(id);
        for page in object.pages.values() {
            self.release_page(page);
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
    /// the reference counts; this keeps the back-pointers exact.
    pub(crate) fn set_shadow(&mut self, id: ObjectId, shadow: Option<(ObjectId, Pindex)>) {
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
    }

    /// The object below `id` in its chain.
    #[inline]
    pub fn shadow_of(&self, id: ObjectId) -> Option<(ObjectId, Pindex)> {
        self.object(id).shadow
    }

    /// Number of objects from `id` down to the end of its chain (1 for an
    /// object with no shadow).
    pub fn chain_length(&self, id: ObjectId) -> u32 {
        let mut length = 1;
        let mut current = id;
        while let Some((below, _)) = self.object(current).shadow {
            length += 1;
            current = below;
        }
        length
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
        self.pages.get_mut(page).refs += 1;
        let old = self.object_mut(object).pages.insert(pindex, page);
        assert!(old.is_none(), "put_page: {object:?}[{pindex:?}] already holds {old:?}");
    }

    /// Takes the page out of a slot; the slot's hold on it is dropped and the
    /// page freed if no slot holds it any more.
    pub(crate) fn drop_slot(&mut self, object: ObjectId, pindex: Pindex) {
        if let Some(page) = self.object_mut(object).pages.remove(&pindex) {
            self.release_page(page);
        }
    }

    /// Drops one slot's hold on a page, freeing it when none is left.
    pub(crate) fn release_page(&mut self, page: PageId) {
        let p = self.pages.get_mut(page);
        p.refs -= 1;
        if p.refs == 0 {
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
        let old = self.object_mut(to).pages.insert(to_index, page);
        assert!(old.is_none(), "move_page: {to:?}[{to_index:?}] already holds {old:?}");
        page
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
            task.pmap.clear();
        }
        self.pages.restamp();
    }

    /// Takes every mapping of `page` away, in every task.
    pub(crate) fn revoke_mappings(&mut self, page: PageId) {
        self.pages.revoke(page);
    }

    /// Takes write permission away from every mapping of `page`.
    pub(crate) fn write_protect_everywhere(&mut self, page: PageId) {
        self.pages.write_protect(page);
    }

    /// Lowers `task`'s page table over `entry`'s range to read-only.
    pub(crate) fn write_protect_range(&mut self, task: TaskId, entry: &MapEntry) {
        let prot = entry.prot.without(crate::types::Prot::WRITE);
        self.task_mut(task).pmap.protect_range(entry.start, entry.end, prot);
    }
}

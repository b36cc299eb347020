//! # Reading the world
//!
//! Graphs, narrations and tests need to see what a run has built: which
//! task maps what, which object shadows which, where the pages are. They
//! must never change it, and they should not depend on how the simulator
//! stores it (arenas, page slots in chunks, page tables in leaves), which
//! changes whenever the simulator is made faster. This module is their
//! window: [`Sim::view`](crate::Sim::view) gives a [`WorldView`], and
//! everything a view hands out is an id, a plain value, a small `Copy`
//! struct or an iterator. A view borrows the simulator, so no operation can
//! run while one is alive, and nothing here can change the world.
//!
//! | here | Mach |
//! |---|---|
//! | [`TaskView`] | a task and its address map (`vm_map`) |
//! | [`MapEntryView`] | one `vm_map_entry` |
//! | [`ObjectView`] | a `vm_object`, or what a design uses one as ([`ObjectRole`]) |
//! | [`WorldView::chain`] | a shadow chain: `object->shadow`, followed down |
//! | [`PageView`] | a physical page (`vm_page`) |
//! | [`PmapEntryView`] | one entry of a task's `pmap` (its page table) |
//!
//! ```
//! use sim::{Access, AccessOp, Config, Op, PolicyKind, Sim, TaskId, Vpn};
//!
//! let mut sim = Sim::new(PolicyKind::GnuMach, Config::default());
//! let (parent, child) = (TaskId(1), TaskId(2));
//! sim.apply(&Op::TaskCreate { task: parent }).unwrap();
//! sim.apply(&Op::VmAllocate { task: parent, addr: Some(0x10000), size: 0x4000, anywhere: false }).unwrap();
//! sim.apply(&Op::Fork { parent, child }).unwrap();
//! let write = AccessOp { task: child, access: Access::Write, addr: 0x10000, len: 0x1000,
//!                        value: None, expect_value: None, recorded: None };
//! sim.apply(&Op::Access(write)).unwrap();
//!
//! let view = sim.view();
//! let entry = view.entry(child, Vpn(0x10)).unwrap();
//! // The child's write gave its entry a shadow in front of the object it shared.
//! let chain: Vec<&str> = view.chain(entry.object).map(|o| o.role().name()).collect();
//! assert_eq!(chain, ["shadow", "anonymous"]);
//! ```

use std::fmt;
use std::ops::Range;

use crate::fault::pmap_finding;
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::measure;
use crate::object::{ObjectRole, VmObject};
use crate::op::Recorded;
use crate::pmap::PmapEntry;
use crate::types::{Access, Inheritance, Prot};
use crate::world::{Task, World, file_token};

/// The whole world, read-only. Cheap to copy: it is one reference.
#[derive(Clone, Copy)]
pub struct WorldView<'w> {
    world: &'w World,
}

impl<'w> WorldView<'w> {
    pub(crate) fn of(world: &'w World) -> WorldView<'w> {
        WorldView { world }
    }

    // ----- tasks and their maps -----

    /// Every live task, in id order.
    pub fn tasks(self) -> impl Iterator<Item = TaskView<'w>> {
        self.world.tasks.values().map(|task| TaskView { task })
    }

    /// The task with this id, if it is alive.
    pub fn task(self, id: TaskId) -> Option<TaskView<'w>> {
        self.world.tasks.get(&id).map(|task| TaskView { task })
    }

    /// The entry of `task`'s map that maps page `vpn`, if any.
    pub fn entry(self, task: TaskId, vpn: Vpn) -> Option<MapEntryView> {
        self.task(task)?.entry_at(vpn)
    }

    // ----- objects and chains -----

    /// Every live object, in the order they were made (by serial).
    pub fn objects(self) -> impl Iterator<Item = ObjectView<'w>> {
        self.world.objects.iter().map(|object| ObjectView { object })
    }

    /// The object with this id, or `None` once it has been freed.
    pub fn object(self, id: ObjectId) -> Option<ObjectView<'w>> {
        self.world.objects.find(id).map(|object| ObjectView { object })
    }

    /// The shadow chain from `top` down: `top` itself, the object it
    /// shadows, and so on to the bottom (empty if `top` was freed). Walked
    /// as it is read, so a long chain costs only what a caller reads of it.
    pub fn chain(self, top: ObjectId) -> Chain<'w> {
        Chain { world: self.world, next: Some(top), steps_left: self.world.objects.len() }
    }

    // ----- pages and files -----

    /// The physical page with this id, or `None` once it has been freed.
    pub fn page(self, id: PageId) -> Option<PageView> {
        let pages = &self.world.pages;
        pages.contains(id).then(|| {
            let page = pages.get(id);
            PageView { token: page.token, holders: page.refs }
        })
    }

    /// The files the run has opened, in name order.
    pub fn files(self) -> impl Iterator<Item = FileView<'w>> {
        self.world.files.iter().map(|(name, (_, object))| FileView { name: name.as_str(), object: *object })
    }

    /// The name of the file whose object this is (`None` for any other
    /// object, freed ones included).
    pub fn file_name(self, object: ObjectId) -> Option<&'w str> {
        self.files().find(|file| file.object == object).map(|file| file.name)
    }

    /// What page `index` of the file `name` held when the run started,
    /// before anyone wrote it; `None` if the run never opened that file.
    pub fn file_original_token(self, name: &str, index: Pindex) -> Option<Token> {
        self.world.files.get(name).map(|(file, _)| file_token(*file, index))
    }

    // ----- measures -----

    /// Resident anonymous pages that no mapping can reach: the memory a
    /// shadow chain wastes until a collapse frees it (the report's
    /// `hidden`).
    pub fn hidden_pages(self) -> u64 {
        self.world.hidden_pages()
    }

    /// Where the [`hidden_pages`](WorldView::hidden_pages) sit: for every
    /// object that has some, their indices, in object serial order. A page
    /// that several slots hold (UVM anons, Linux and Plan 9 pages) is
    /// listed under each, so the lengths may add up to more than
    /// `hidden_pages`.
    pub fn hidden_pages_by_object(self) -> Vec<(ObjectId, Vec<Pindex>)> {
        measure::hidden_pages_by_object(self.world)
    }

    /// How many pages each live task's pmap maps now (stale entries not
    /// counted): its resident set, in task id order.
    pub fn resident_pages_by_task(self) -> Vec<(TaskId, u64)> {
        measure::task_resident(self.world)
    }

    /// What `task`'s pmap holds for `access` at `vpn` right now, in the
    /// words of a recorded x86 page fault: `None` for a hit (the access
    /// would not fault), [`Recorded::NotPresent`] for no valid entry,
    /// [`Recorded::Present`] for a valid entry that lacks the permission.
    /// The same test the fidelity counters make (docs/fidelity.md).
    pub fn pmap_finding(self, task: TaskId, vpn: Vpn, access: Access) -> Option<Recorded> {
        pmap_finding(self.world, task, vpn, access)
    }
}

impl fmt::Debug for WorldView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorldView")
            .field("tasks", &self.world.tasks.len())
            .field("objects", &self.world.objects.len())
            .field("pages", &self.world.pages.len())
            .finish()
    }
}

/// One task: its map and its pmap.
#[derive(Clone, Copy)]
pub struct TaskView<'w> {
    task: &'w Task,
}

impl<'w> TaskView<'w> {
    pub fn id(self) -> TaskId {
        self.task.id
    }

    /// The task it was forked from, if any.
    pub fn parent(self) -> Option<TaskId> {
        self.task.parent
    }

    /// Its map entries, in address order.
    pub fn entries(self) -> impl Iterator<Item = MapEntryView> + 'w {
        self.task.map.entries().map(MapEntryView::from)
    }

    /// The entry that maps page `vpn`, if any.
    pub fn entry_at(self, vpn: Vpn) -> Option<MapEntryView> {
        self.task.map.lookup(vpn).map(MapEntryView::from)
    }

    /// The pmap entry for page `vpn`, if there is one. It may be stale (its
    /// page's mappings taken away since it was made), in which case the
    /// next access faults whatever it allows: see
    /// [`WorldView::pmap_finding`].
    pub fn pmap_entry(self, vpn: Vpn) -> Option<PmapEntryView> {
        self.task.pmap.get(vpn).map(PmapEntryView::from)
    }

    /// The pmap entries for the pages of `pages`, stale ones included, in
    /// page order.
    pub fn pmap_entries(self, pages: Range<Vpn>) -> impl Iterator<Item = (Vpn, PmapEntryView)> + 'w {
        self.task.pmap.range(pages.start, pages.end).map(|(vpn, entry)| (vpn, PmapEntryView::from(&entry)))
    }
}

impl fmt::Debug for TaskView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskView").field("id", &self.id()).field("parent", &self.parent()).finish()
    }
}

/// One map entry (`vm_map_entry`): pages `[start, end)` of a task map
/// pages `[offset, offset + (end - start))` of `object`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapEntryView {
    /// The first page mapped.
    pub start: Vpn,
    /// One past the last page mapped.
    pub end: Vpn,
    /// What the task may do now.
    pub protection: Prot,
    /// The most `vm_protect` may ever grant.
    pub max_protection: Prot,
    /// What a fork does with the entry: copy, share, or leave it out.
    pub inheritance: Inheritance,
    /// Copy-on-write, and no object of its own yet: the next write first
    /// gives it one (a shadow, in the Mach family).
    pub needs_copy: bool,
    /// Other mappings see this entry's writes (`VM_INHERIT_SHARE`, or a
    /// shared file mapping).
    pub shared: bool,
    /// The object the pages come from.
    pub object: ObjectId,
    /// The object page that backs `start`.
    pub offset: Pindex,
}

impl MapEntryView {
    /// How many pages it maps.
    pub fn pages(&self) -> u64 {
        self.end.since(self.start)
    }

    /// Does it map page `vpn`?
    pub fn contains(&self, vpn: Vpn) -> bool {
        self.start <= vpn && vpn < self.end
    }

    /// The page of `object` that backs `vpn`, which the entry must map.
    pub fn object_page(&self, vpn: Vpn) -> Pindex {
        self.offset.plus(vpn.since(self.start))
    }
}

impl From<&MapEntry> for MapEntryView {
    fn from(e: &MapEntry) -> MapEntryView {
        MapEntryView {
            start: e.start,
            end: e.end,
            protection: e.prot,
            max_protection: e.max_prot,
            inheritance: e.inheritance,
            needs_copy: e.needs_copy,
            shared: e.shared,
            object: e.object,
            offset: e.offset,
        }
    }
}

/// One entry of a task's pmap: the page the hardware maps and what it
/// allows without a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmapEntryView {
    pub page: PageId,
    pub protection: Prot,
}

impl From<&PmapEntry> for PmapEntryView {
    fn from(e: &PmapEntry) -> PmapEntryView {
        PmapEntryView { page: e.page, protection: e.prot }
    }
}

/// One VM object (`vm_object`), or what a design uses one as: an amap, a
/// page table (see [`ObjectRole`]).
#[derive(Clone, Copy)]
pub struct ObjectView<'w> {
    object: &'w VmObject,
}

impl<'w> ObjectView<'w> {
    pub fn id(self) -> ObjectId {
        self.object.id
    }

    /// What the object is: anonymous memory, a shadow, a copy object, a
    /// file, an amap or a page table.
    pub fn role(self) -> ObjectRole {
        self.object.role
    }

    /// Size in pages: the window of the object below that this one can
    /// see. (A file's is effectively endless.)
    pub fn size(self) -> u64 {
        self.object.size
    }

    /// References held on it: map entries, objects that shadow it, and the
    /// file table for a file.
    pub fn ref_count(self) -> u32 {
        self.object.ref_count
    }

    /// Its resident pages as `(index, page)`, in index order.
    pub fn resident_pages(self) -> impl Iterator<Item = (Pindex, PageId)> + 'w {
        self.object.pages.iter()
    }

    /// How many pages are resident in it.
    pub fn resident_count(self) -> usize {
        self.object.pages.len()
    }

    /// The page resident at `index`, if any.
    pub fn page_at(self, index: Pindex) -> Option<PageId> {
        self.object.page(index)
    }

    /// The object behind this one, where pages it lacks are looked up.
    pub fn shadow(self) -> Option<ShadowLink> {
        self.object.shadow.map(|(object, offset)| ShadowLink { object, offset })
    }

    /// The copy object that receives a page before this object changes it
    /// (Mach's delayed copy, `object->copy`). Not a reference.
    pub fn copy_object(self) -> Option<ObjectId> {
        self.object.copy
    }

    /// Copies of it are delayed copies because another task shares it
    /// (Mach `use_shared_copy`, XNU `COPY_DELAY`).
    pub fn shared(self) -> bool {
        self.object.shared
    }

    /// FreeBSD's `OBJ_ONEMAPPING`: each of its pages is reached through at
    /// most one map entry. Only `freebsd` relies on it.
    pub fn one_mapping(self) -> bool {
        self.object.one_mapping
    }
}

impl fmt::Debug for ObjectView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectView").field("id", &self.id()).field("role", &self.role()).finish()
    }
}

/// An object's shadow: page `i` of the shadowing object is page
/// `offset + i` of `object`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShadowLink {
    pub object: ObjectId,
    pub offset: Pindex,
}

/// The objects of a shadow chain, from the top down (see
/// [`WorldView::chain`]).
///
/// Chains never loop in a sound world (the invariant checker sees to it);
/// the walk stops after as many steps as there are objects all the same,
/// so a viewer of a broken world cannot hang.
#[derive(Clone)]
pub struct Chain<'w> {
    world: &'w World,
    next: Option<ObjectId>,
    steps_left: usize,
}

impl<'w> Iterator for Chain<'w> {
    type Item = ObjectView<'w>;

    fn next(&mut self) -> Option<ObjectView<'w>> {
        self.steps_left = self.steps_left.checked_sub(1)?;
        let object = self.world.objects.find(self.next?)?;
        self.next = object.shadow.map(|(below, _)| below);
        Some(ObjectView { object })
    }
}

/// One physical page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageView {
    /// What it holds (a content token stands in for 4 KiB of data).
    pub token: Token,
    /// How many object slots hold it: always 1 in the Mach family; UVM
    /// anons (`an_ref`) and Linux and Plan 9 pages are shared by several.
    pub holders: u32,
}

/// A file the run has opened, and the object that holds its pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileView<'w> {
    pub name: &'w str,
    pub object: ObjectId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{AccessOp, Op};
    use crate::policy::PolicyKind;
    use crate::sim::{Config, Sim};

    fn write(task: u32, addr: u64, len: u64) -> Op {
        let access = Access::Write;
        Op::Access(AccessOp { task: TaskId(task), access, addr, len, value: None, expect_value: None, recorded: None })
    }

    /// A parent that forks and writes again and again while its children
    /// live: under `mach-nocollapse` its chain grows by one a fork.
    fn deep_chain(forks: u32) -> Sim {
        let mut sim = Sim::new(PolicyKind::MachNoCollapse, Config::default().check_invariants(false));
        sim.apply(&Op::TaskCreate { task: TaskId(1) }).unwrap();
        sim.apply(&Op::VmAllocate { task: TaskId(1), addr: Some(0x10000), size: 0x1000, anywhere: false }).unwrap();
        sim.apply(&write(1, 0x10000, 0x1000)).unwrap();
        for child in 2..forks + 2 {
            sim.apply(&Op::Fork { parent: TaskId(1), child: TaskId(child) }).unwrap();
            sim.apply(&write(1, 0x10000, 0x1000)).unwrap();
        }
        sim
    }

    /// Does the view show what the world holds: tasks in id order with
    /// their parents, entries, the chain top first, each level's pages?
    #[test]
    fn the_view_shows_the_world() {
        let mut sim = deep_chain(3);
        let view = sim.view();
        let tasks: Vec<(u32, Option<TaskId>)> = view.tasks().map(|t| (t.id().0, t.parent())).collect();
        assert_eq!(tasks, [(1, None), (2, Some(TaskId(1))), (3, Some(TaskId(1))), (4, Some(TaskId(1)))]);
        let entry = view.entry(TaskId(1), Vpn(0x10)).unwrap();
        assert_eq!((entry.start, entry.end, entry.needs_copy), (Vpn(0x10), Vpn(0x11), false));
        let chain: Vec<(u32, u32, usize)> =
            view.chain(entry.object).map(|o| (o.id().serial(), o.ref_count(), o.resident_count())).collect();
        assert_eq!(chain, [(4, 1, 1), (3, 2, 1), (2, 2, 1), (1, 2, 1)]);
        let serials: Vec<u32> = view.objects().map(|o| o.id().serial()).collect();
        assert_eq!(serials, [1, 2, 3, 4]);
        let (_, page) = view.object(entry.object).unwrap().resident_pages().next().unwrap();
        assert_eq!(view.page(page).map(|p| p.holders), Some(1));
        let pmap: Vec<Vpn> =
            view.task(TaskId(1)).unwrap().pmap_entries(Vpn(0)..Vpn(u64::MAX)).map(|(v, _)| v).collect();
        assert_eq!(pmap, [Vpn(0x10)]);
        assert_eq!(view.pmap_finding(TaskId(1), Vpn(0x10), Access::Write), None, "a hit");
        assert_eq!(view.hidden_pages(), 0, "each child still reads its own copy of the page");
        for child in 2..5 {
            sim.apply(&Op::Exit { task: TaskId(child) }).unwrap();
        }
        let view = sim.view();
        assert_eq!(view.hidden_pages(), 3, "the children's copies, behind the parent's own");
        let hidden: Vec<u32> = view.hidden_pages_by_object().iter().map(|(o, _)| o.serial()).collect();
        assert_eq!(hidden, [1, 2, 3]);
        assert_eq!(view.resident_pages_by_task(), [(TaskId(1), 1)]);
    }

    /// Is the chain walked lazily: reading the top of a deep chain visits
    /// one object, and a freed top gives an empty chain?
    #[test]
    fn chains_are_walked_as_read() {
        let sim = deep_chain(300);
        let view = sim.view();
        let top = view.entry(TaskId(1), Vpn(0x10)).unwrap().object;
        let mut chain = view.chain(top);
        assert_eq!(chain.next().map(|o| o.id()), Some(top));
        assert_eq!(chain.steps_left, view.objects().count() - 1, "one step taken");
        assert_eq!(view.chain(top).count(), 301);
        let freed = ObjectId { slot: u32::MAX, serial: u32::MAX };
        assert_eq!(view.chain(freed).count(), 0);
        assert!(view.object(freed).is_none());
    }

    /// Does a file keep its name and its original content in the view?
    #[test]
    fn files_are_named() {
        let mut sim = Sim::new(PolicyKind::GnuMach, Config::default());
        sim.apply(&Op::TaskCreate { task: TaskId(1) }).unwrap();
        let map = Op::VmMap {
            task: TaskId(1),
            addr: Some(0x10000),
            size: 0x2000,
            anywhere: false,
            file: "libc.so.6".into(),
            offset: 0,
            private: true,
            prot: Prot::DEFAULT,
        };
        sim.apply(&map).unwrap();
        let view = sim.view();
        let file = view.files().next().unwrap();
        assert_eq!(file.name, "libc.so.6");
        assert_eq!(view.file_name(file.object), Some("libc.so.6"));
        assert_eq!(view.object(file.object).map(|o| o.role()), Some(ObjectRole::File));
        assert_eq!(
            view.file_original_token("libc.so.6", Pindex(1)),
            Some(file_token(crate::object::FileId(0), Pindex(1)))
        );
        assert_eq!(view.file_original_token("ld.so", Pindex(1)), None);
    }
}

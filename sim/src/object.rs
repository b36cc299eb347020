//! VM objects: the containers of pages that map entries point at.
//!
//! In the Mach family an object holds the pages one copy-on-write side has
//! changed, and its `shadow` points at the object behind it, where every page
//! it lacks is looked up: a *shadow chain*. The other designs reuse the same
//! container with a different meaning (docs/policies.md): a UVM amap is an
//! object whose slots hold shared anons, and a Linux or Plan 9 page table is
//! an object whose slots hold reference-counted pages. The invariants that
//! hold for every design:
//!
//! - `ref_count` equals the number of map entries whose backing is this
//!   object, plus the objects whose `shadow` is this object, plus one for the
//!   world's file table when the object is a file.
//! - Following `shadow` never returns to where it started.
//! - A page slot holds a live page, and a page's `refs` equals the number of
//!   slots holding it.
//!
//! Besides what the kernels keep, an object carries the bookkeeping that
//! lets the simulator report chain lengths and hidden pages without walking
//! the world (`chains.rs`, `reach.rs`) and lets the Mach family test for a
//! bypass without scanning the backing object (`shows_through.rs`). Each of
//! those files states its invariant, and the invariant checker compares
//! every kept number with a fresh walk after every operation.

use std::collections::{BTreeMap, BTreeSet};

use slab::Slab;

use crate::ids::{ObjectId, PageId, Pindex, TaskId, Vpn};
use crate::reach::Reach;

/// What the model knows an object to be; shown in graphs and narrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectRole {
    /// Zero-fill memory made by `vm_allocate` (or an eager snapshot).
    Anonymous,
    /// A named file: the bottom of chains, never freed during a run.
    File,
    /// A shadow object made at a copy-on-write fault (or at a share).
    Shadow,
    /// A copy object of the delayed-copy strategy (Mach `copy`).
    Copy,
    /// A UVM amap: its slots hold anons (pages whose `refs` is `an_ref`),
    /// and its `shadow`, if any, is the lower object (a file).
    Amap,
    /// A page table of one map entry (Linux, Plan 9): its slots hold
    /// reference-counted pages, and its shadow, if any, is the file a
    /// private file mapping reads through.
    PageTable,
}

impl ObjectRole {
    /// Short lower-case name (`"shadow"`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectRole::Anonymous => "anonymous",
            ObjectRole::File => "file",
            ObjectRole::Shadow => "shadow",
            ObjectRole::Copy => "copy",
            ObjectRole::Amap => "amap",
            ObjectRole::PageTable => "page_table",
        }
    }
}

/// What a page holds when it is found nowhere in a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fill {
    /// Zero: the page is zero-filled in the chain's top object.
    Zero,
    /// The file's original content: the page is brought in (paged in) into
    /// the object with this fill, with the token of `file_token(file, i)`.
    File { file: FileId, offset: Pindex },
}

/// A file of the run, numbered in order of first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// One VM object.
///
/// Laid out by hand (`repr(C)`, one object per 64-byte line boundary) so
/// that what a chain walk and a collapse read of every level (the id the
/// arena checks, the shadow, the reference count, the role, the copy link,
/// the fill's kind and the bypass count) sits in the object's first cache
/// line: walking a chain ten thousand objects deep costs one line a level.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct VmObject {
    pub id: ObjectId,
    /// See the module invariants.
    pub ref_count: u32,
    /// Pages of the backing object, inside this object's window, that this
    /// object has no page of its own in front of; kept only while the
    /// backing object is anonymous memory, 0 otherwise (`shows_through.rs`).
    pub shows_through: u32,
    /// The object behind this one and where this object's index 0 falls in
    /// it. Invariant: the chain it starts never loops. Changed only through
    /// `World::set_shadow`, which keeps `shadowers` in step.
    pub shadow: Option<(ObjectId, Pindex)>,
    /// The copy object that must receive a page before this object changes
    /// it (Mach `object->copy`, the delayed-copy strategy). Not a reference.
    pub copy: Option<ObjectId>,
    pub role: ObjectRole,
    /// Copies of this object are made with a copy object (Mach
    /// `use_shared_copy` / XNU `COPY_DELAY`) because another task shares it.
    pub shared: bool,
    /// FreeBSD's `OBJ_ONEMAPPING`: each page of this object is reached
    /// through at most one map entry, so a page outside that entry's range
    /// is garbage. Set for anonymous and shadow objects at creation (never
    /// for files or copy objects); cleared whenever the shared machinery
    /// gives the pages a second way in (a copy, a share, a bypass, a copy
    /// object), but not by clipping, whose pieces cover disjoint ranges.
    /// Only policies that follow FreeBSD may rely on it.
    pub one_mapping: bool,
    pub fill: Fill,
    /// The map entries that point at this object, by task and first page,
    /// in that order (`chains.rs`): how many (for chain lengths) and which
    /// (for a design that must reach every mapping of a slot).
    pub mappers: BTreeSet<(TaskId, Vpn)>,
    /// The objects from this one to the end of its chain: 1, plus its
    /// shadow's `chain_length` if it has a shadow, once settled
    /// (`chains.rs`).
    pub chain_length: u32,
    /// The shadow pointer changed since `chain_length` was last set
    /// (`chains.rs`).
    pub length_unsettled: bool,
    /// The objects whose `shadow` is this one, in the order they started
    /// shadowing it (FreeBSD's `shadow_head` list; Mach has no such list, and
    /// only policies that follow FreeBSD may read it).
    pub shadowers: Vec<ObjectId>,
    /// Size in pages: the window of a backing object this object can see.
    pub size: u64,
    /// Resident pages by index, walked in index order (so everything built
    /// from them is deterministic).
    pub pages: PageSlots,
    /// Which indices map entries reach, directly or through the objects
    /// above (`reach.rs`); empty for files.
    pub reach: Reach,
}

impl VmObject {
    /// The page at `pindex`, if resident here.
    #[inline]
    pub fn page(&self, pindex: Pindex) -> Option<PageId> {
        self.pages.get(pindex)
    }
    /// How many map entries point at this object.
    pub fn mapped_by(&self) -> u32 {
        u32::try_from(self.mappers.len()).expect("objects: fewer than 2^32 entries map one object")
    }
    /// Is this object a copy object?
    pub fn is_copy(&self) -> bool {
        self.role == ObjectRole::Copy
    }
    /// Is this a named file (persistent, never freed)?
    pub fn is_file(&self) -> bool {
        self.role == ObjectRole::File
    }
    /// Is this anonymous memory in FreeBSD's sense (`OBJ_ANON`): zero-fill
    /// memory or a shadow, neither a file, a copy object, an amap nor a page
    /// table? Only such an object may be collapsed or bypassed.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.role, ObjectRole::Anonymous | ObjectRole::Shadow)
    }
}

/// The arena of objects. Slots are reused; serials are not.
#[derive(Debug, Default)]
pub struct Objects {
    slab: Slab<VmObject>,
    /// The slot of every live object, by serial: the order graphs,
    /// narrations and the checker walk objects in (creation order), kept
    /// as objects come and go so that walking it needs no sort. A new
    /// object always has the largest serial, so it goes at the end.
    slots_by_serial: BTreeMap<u32, u32>,
    next_serial: u32,
}

impl Objects {
    /// Inserts a new object with one reference and no pages.
    pub(crate) fn create(&mut self, role: ObjectRole, size: u64, fill: Fill) -> ObjectId {
        self.next_serial += 1;
        let entry = self.slab.vacant_entry();
        let id = ObjectId { slot: entry.key() as u32, serial: self.next_serial };
        self.slots_by_serial.insert(id.serial, id.slot);
        entry.insert(VmObject {
            id,
            role,
            size,
            pages: PageSlots::default(),
            shadow: None,
            shadowers: Vec::new(),
            ref_count: 1,
            fill,
            copy: None,
            shared: false,
            one_mapping: matches!(role, ObjectRole::Anonymous | ObjectRole::Shadow),
            mappers: BTreeSet::new(),
            chain_length: 1,
            length_unsettled: false,
            shows_through: 0,
            reach: Reach::default(),
        });
        id
    }

    pub(crate) fn remove(&mut self, id: ObjectId) -> VmObject {
        let object = self.slab.remove(id.slot as usize);
        assert_eq!(object.id, id, "objects: stale handle {id:?}");
        self.slots_by_serial.remove(&id.serial);
        object
    }

    /// The object behind an id. Panics on a stale id: a model bug.
    #[inline]
    pub fn get(&self, id: ObjectId) -> &VmObject {
        match self.slab.get(id.slot as usize) {
            Some(o) if o.id == id => o,
            _ => panic!("objects: {id:?} is not alive"),
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: ObjectId) -> &mut VmObject {
        match self.slab.get_mut(id.slot as usize) {
            Some(o) if o.id == id => o,
            _ => panic!("objects: {id:?} is not alive"),
        }
    }

    /// The object behind an id, or `None` once it has been freed.
    pub fn find(&self, id: ObjectId) -> Option<&VmObject> {
        self.slab.get(id.slot as usize).filter(|o| o.id == id)
    }

    /// Is this object alive?
    pub fn contains(&self, id: ObjectId) -> bool {
        self.find(id).is_some()
    }

    /// Objects alive.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// An upper bound on the arena slots in use: every live object's
    /// `slot` is below it (for scratch tables indexed by slot).
    pub fn slots(&self) -> usize {
        self.slab.capacity()
    }

    /// Every live object, ordered by serial (creation order), without
    /// allocating or sorting: the invariant checker walks it several times
    /// after every op.
    pub fn iter(&self) -> impl Iterator<Item = &VmObject> + '_ {
        self.slots_by_serial.values().map(|slot| &self.slab[*slot as usize])
    }
}

/// Slots per chunk of a [`PageSlots`].
const CHUNK_SLOTS: u64 = 32;

/// A chunk slot that holds no page.
const NO_PAGE: PageId = PageId(u32::MAX);

/// One chunk: 32 consecutive slots and how many hold a page.
#[derive(Clone, Debug)]
struct Chunk {
    slots: [PageId; CHUNK_SLOTS as usize],
    used: u8,
}

/// An object's page slots, `Pindex → PageId`, in chunks of 32 consecutive
/// slots kept in index order. Dense memory costs about 5 bytes a page
/// (against about 25 for one map entry per page) and a lookup is one short
/// tree search plus an index. Iteration is always in index order.
#[derive(Clone, Debug, Default)]
pub struct PageSlots {
    chunks: BTreeMap<u64, Box<Chunk>>,
    /// Slots holding a page, over all chunks.
    len: usize,
}

#[inline]
fn chunk_of(index: Pindex) -> (u64, usize) {
    (index.0 / CHUNK_SLOTS, (index.0 % CHUNK_SLOTS) as usize)
}

impl PageSlots {
    /// The page at `index`, if any.
    #[inline]
    pub fn get(&self, index: Pindex) -> Option<PageId> {
        let (chunk, slot) = chunk_of(index);
        let page = self.chunks.get(&chunk)?.slots[slot];
        (page != NO_PAGE).then_some(page)
    }

    /// Puts `page` at `index`; returns the page it replaces.
    pub fn insert(&mut self, index: Pindex, page: PageId) -> Option<PageId> {
        debug_assert_ne!(page, NO_PAGE, "page slots: {index:?} given the empty marker");
        let (chunk, slot) = chunk_of(index);
        let chunk = self
            .chunks
            .entry(chunk)
            .or_insert_with(|| Box::new(Chunk { slots: [NO_PAGE; CHUNK_SLOTS as usize], used: 0 }));
        let old = std::mem::replace(&mut chunk.slots[slot], page);
        if old == NO_PAGE {
            chunk.used += 1;
            self.len += 1;
            None
        } else {
            Some(old)
        }
    }

    /// Empties the slot at `index`; returns the page it held.
    pub fn remove(&mut self, index: &Pindex) -> Option<PageId> {
        let (number, slot) = chunk_of(*index);
        let chunk = self.chunks.get_mut(&number)?;
        let old = std::mem::replace(&mut chunk.slots[slot], NO_PAGE);
        if old == NO_PAGE {
            return None;
        }
        chunk.used -= 1;
        self.len -= 1;
        if chunk.used == 0 {
            self.chunks.remove(&number);
        }
        Some(old)
    }

    /// Puts every page of `from` in `range` into this (empty) set, `shift`
    /// indices lower, and returns how many. Whole chunks at once when the
    /// shift keeps chunk boundaries (a fork copies a page table from index 0
    /// to index 0), so a copy costs one tree insertion per 32 slots, not
    /// one per page.
    pub fn copy_from(&mut self, from: &PageSlots, range: std::ops::Range<Pindex>, shift: u64) -> usize {
        assert!(self.is_empty(), "page slots: copying into slots that hold pages");
        if !shift.is_multiple_of(CHUNK_SLOTS) {
            let mut copied = 0;
            for (index, page) in from.range(range) {
                self.insert(Pindex(index.0 - shift), page);
                copied += 1;
            }
            return copied;
        }
        let (start, end) = (range.start.0, range.end.0);
        let first = start / CHUNK_SLOTS;
        let last = end.div_ceil(CHUNK_SLOTS);
        for (number, chunk) in from.chunks.range(first..last.max(first)) {
            let base = number * CHUNK_SLOTS;
            let mut copy = chunk.clone();
            if base < start || base + CHUNK_SLOTS > end {
                for (slot, page) in copy.slots.iter_mut().enumerate() {
                    let index = base + slot as u64;
                    if !(start <= index && index < end) && *page != NO_PAGE {
                        *page = NO_PAGE;
                        copy.used -= 1;
                    }
                }
            }
            if copy.used > 0 {
                self.len += usize::from(copy.used);
                self.chunks.insert(number - shift / CHUNK_SLOTS, copy);
            }
        }
        self.len
    }

    /// Number of slots holding a page.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no slot holds a page.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every (index, page), in index order.
    pub fn iter(&self) -> impl Iterator<Item = (Pindex, PageId)> + '_ {
        self.range(Pindex(0)..Pindex(u64::MAX))
    }

    /// The (index, page) pairs with `range.start <= index < range.end`, in
    /// index order.
    pub fn range(&self, range: std::ops::Range<Pindex>) -> impl Iterator<Item = (Pindex, PageId)> + '_ {
        let (start, end) = (range.start.0, range.end.0);
        let first = start / CHUNK_SLOTS;
        let last = end.div_ceil(CHUNK_SLOTS);
        self.chunks.range(first..last.max(first)).flat_map(move |(number, chunk)| {
            let base = number * CHUNK_SLOTS;
            chunk.slots.iter().enumerate().filter_map(move |(slot, page)| {
                let index = base + slot as u64;
                (*page != NO_PAGE && start <= index && index < end).then_some((Pindex(index), *page))
            })
        })
    }

    /// How many slots with `range.start <= index < range.end` hold a page:
    /// whole chunks by their count, so a long range costs its chunks, not
    /// its slots.
    pub fn count_within(&self, range: std::ops::Range<Pindex>) -> usize {
        let (start, end) = (range.start.0, range.end.0);
        if start >= end {
            return 0;
        }
        let first = start / CHUNK_SLOTS;
        let last = end.div_ceil(CHUNK_SLOTS);
        self.chunks
            .range(first..last)
            .map(|(number, chunk)| {
                let base = number * CHUNK_SLOTS;
                if start <= base && base + CHUNK_SLOTS <= end {
                    usize::from(chunk.used)
                } else {
                    let from = start.saturating_sub(base).min(CHUNK_SLOTS) as usize;
                    let to = (end - base).min(CHUNK_SLOTS) as usize;
                    chunk.slots[from..to].iter().filter(|page| **page != NO_PAGE).count()
                }
            })
            .sum()
    }

    /// Every index holding a page, in order.
    pub fn keys(&self) -> impl Iterator<Item = Pindex> + '_ {
        self.iter().map(|(index, _)| index)
    }

    /// Every page, in index order.
    pub fn values(&self) -> impl Iterator<Item = PageId> + '_ {
        self.iter().map(|(_, page)| page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Are objects walked in creation order even when a freed object's
    /// slot is reused by a newer one?
    #[test]
    fn objects_iterate_in_creation_order() {
        let mut objects = Objects::default();
        let made: Vec<ObjectId> = (0..4).map(|_| objects.create(ObjectRole::Anonymous, 1, Fill::Zero)).collect();
        objects.remove(made[1]);
        let newest = objects.create(ObjectRole::Shadow, 1, Fill::Zero);
        assert_eq!(newest.slot, made[1].slot, "the freed slot is reused");
        let order: Vec<u32> = objects.iter().map(|o| o.id.serial).collect();
        assert_eq!(order, vec![1, 3, 4, 5]);
        assert_eq!(objects.len(), 4);
    }

    /// Do ranges across chunk boundaries see exactly their pages, in order,
    /// and does emptying a chunk free it?
    #[test]
    fn page_slots_in_chunks() {
        let mut slots = PageSlots::default();
        for i in [0u64, 31, 32, 33, 95, 1000] {
            assert_eq!(slots.insert(Pindex(i), PageId(i as u32)), None);
        }
        assert_eq!(slots.insert(Pindex(31), PageId(7)), Some(PageId(31)), "replacing returns the old page");
        assert_eq!(slots.len(), 6);
        let got: Vec<u64> = slots.range(Pindex(31)..Pindex(96)).map(|(i, _)| i.0).collect();
        assert_eq!(got, vec![31, 32, 33, 95]);
        assert_eq!(slots.range(Pindex(34)..Pindex(95)).count(), 0);
        assert_eq!(slots.range(Pindex(5)..Pindex(5)).count(), 0);
        assert_eq!(slots.count_within(Pindex(31)..Pindex(96)), 4);
        assert_eq!(slots.count_within(Pindex(0)..Pindex(2000)), 6);
        assert_eq!(slots.count_within(Pindex(34)..Pindex(95)), 0);
        for (range, shift) in [(0..2000, 0), (31..96, 0), (33..1001, 32), (31..96, 31)] {
            let mut copy = PageSlots::default();
            let copied = copy.copy_from(&slots, Pindex(range.start)..Pindex(range.end), shift);
            let want: Vec<(u64, PageId)> =
                slots.range(Pindex(range.start)..Pindex(range.end)).map(|(i, p)| (i.0 - shift, p)).collect();
            assert_eq!(copy.iter().map(|(i, p)| (i.0, p)).collect::<Vec<_>>(), want, "{range:?} by {shift}");
            assert_eq!((copied, copy.len()), (want.len(), want.len()));
        }
        assert_eq!(slots.keys().map(|i| i.0).collect::<Vec<_>>(), vec![0, 31, 32, 33, 95, 1000]);
        assert_eq!(slots.get(Pindex(31)), Some(PageId(7)));
        assert_eq!(slots.get(Pindex(30)), None);
        assert_eq!(slots.remove(&Pindex(1000)), Some(PageId(1000)));
        assert_eq!(slots.remove(&Pindex(1000)), None);
        assert_eq!(slots.chunks.len(), 3, "the chunk of 1000 is freed");
        for i in [0u64, 31, 32, 33, 95] {
            slots.remove(&Pindex(i));
        }
        assert!(slots.is_empty() && slots.chunks.is_empty());
    }
}

//! VM objects: the containers of pages that map entries point at.
//!
//! In the Mach family an object holds the pages one copy-on-write side has
//! changed, and its `shadow` points at the object behind it, where every page
//! it lacks is looked up: a *shadow chain*. The other designs reuse the same
//! container with a different meaning (DESIGN.md §2): a UVM amap is an object
//! whose slots hold shared anons, and a Linux or Plan 9 page table is an
//! object whose slots hold reference-counted pages. The invariants that hold
//! for every design:
//!
//! - `ref_count` equals the number of map entries whose backing is this
//!   object, plus the objects whose `shadow` is this object, plus one for the
//!   world's file table when the object is a file.
//! - Following `shadow` never returns to where it started.
//! - A page slot holds a live page, and a page's `refs` equals the number of
//!   slots holding it.

use std::collections::BTreeMap;

use slab::Slab;

use crate::ids::{ObjectId, PageId, Pindex};

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
#[derive(Clone, Debug)]
pub struct VmObject {
    pub id: ObjectId,
    pub role: ObjectRole,
    /// Size in pages: the window of a backing object this object can see.
    pub size: u64,
    /// Resident pages by index. A BTreeMap, so walks are in index order and
    /// everything built from them is deterministic.
    pub pages: BTreeMap<Pindex, PageId>,
    /// The object behind this one and where this object's index 0 falls in
    /// it. Invariant: the chain it starts never loops. Changed only through
    /// `World::set_shadow`, which keeps `shadowers` in step.
    pub shadow: Option<(ObjectId, Pindex)>,
    /// The objects whose `shadow` is this one, in the order they started
    /// shadowing it (FreeBSD's `shadow_head` list; Mach has no such list, and
    /// only policies that follow FreeBSD may read it).
    pub shadowers: Vec<ObjectId>,
    /// See the module invariants.
    pub ref_count: u32,
    pub fill: Fill,
    /// The copy object that must receive a page before this object changes
    /// it (Mach `object->copy`, the delayed-copy strategy). Not a reference.
    pub copy: Option<ObjectId>,
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
}

impl VmObject {
    /// The page at `pindex`, if resident here.
    #[inline]
    pub fn page(&self, pindex: Pindex) -> Option<PageId> {
        self.pages.get(&pindex).copied()
    }
    /// Is this object a copy object?
    pub fn is_copy(&self) -> bool {
        self.role == ObjectRole::Copy
    }
    /// Is this a named file (persistent, never freed)?
    pub fn is_file(&self) -> bool {
        self.role == ObjectRole::File
    }
}

/// The arena of objects. Slots are reused; serials are not.
#[derive(Debug, Default)]
pub struct Objects {
    slab: Slab<VmObject>,
    next_serial: u32,
}

impl Objects {
    /// Inserts a new object with one reference and no pages.
    pub(crate) fn create(&mut self, role: ObjectRole, size: u64, fill: Fill) -> ObjectId {
        self.next_serial += 1;
        let entry = self.slab.vacant_entry();
        let id = ObjectId { slot: entry.key() as u32, serial: self.next_serial };
        entry.insert(VmObject {
            id,
            role,
            size,
            pages: BTreeMap::new(),
            shadow: None,
            shadowers: Vec::new(),
            ref_count: 1,
            fill,
            copy: None,
            shared: false,
            one_mapping: matches!(role, ObjectRole::Anonymous | ObjectRole::Shadow),
        });
        id
    }

    pub(crate) fn remove(&mut self, id: ObjectId) -> VmObject {
        let object = self.slab.remove(id.slot as usize);
        assert_eq!(object.id, id, "objects: stale handle {id:?}");
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

    /// Is this object alive?
    pub fn contains(&self, id: ObjectId) -> bool {
        matches!(self.slab.get(id.slot as usize), Some(o) if o.id == id)
    }

    /// Objects alive.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// True when no object is alive.
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Every live object, ordered by serial (creation order).
    pub fn iter(&self) -> Vec<&VmObject> {
        let mut all: Vec<&VmObject> = self.slab.iter().map(|(_, o)| o).collect();
        all.sort_by_key(|o| o.id.serial);
        all
    }
}

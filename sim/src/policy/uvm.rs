//! `uvm`: NetBSD and OpenBSD UVM, the two-level design.
//!
//! # The design in plain words
//!
//! UVM has no shadow chains. A map entry has at most two layers: an *amap*
//! on top, and below it an optional *lower object* (`uobj`: a file, for a
//! file mapping; nothing, for anonymous memory). An amap is an array of
//! slots, one per page of the entry; a slot holds an *anon*, one anonymous
//! page with a reference count `an_ref` (how many amap slots hold it). The
//! amap has its own count `am_ref` (how many map entries use it).
//!
//! Copy-on-write works on both counts in turn:
//!
//! - A fork (copy inheritance) makes nothing: the child's entry points at
//!   the parent's amap (`am_ref++`), both entries are marked *needs copy*
//!   and the parent is write-protected. No anon count changes.
//! - The first fault that needs an amap of its own (any write, or even a
//!   read of pure anonymous memory) runs `amap_copy`. If nobody else uses
//!   the amap any more (`am_ref == 1`, say the child exited) the entry just
//!   takes it over. Otherwise it gets a new amap holding the same anon
//!   pointers, each anon's `an_ref` going up: the cost is one pointer per
//!   slot, not one copy per page.
//! - A write then looks at the anon: `an_ref == 1` means nobody else can see
//!   it, so the write goes in place; otherwise the data is copied into a new
//!   anon in this slot and the old anon loses one reference. So after a
//!   fork the first writer of a page copies it and the last one reuses the
//!   original: 2 pages, never 3.
//!
//! # How the shared containers hold it
//!
//! | UVM | here |
//! |---|---|
//! | amap | an object of role [`ObjectRole::Amap`] |
//! | `am_ref` | the amap's `ref_count` |
//! | `am_anon[slot]` | the amap's page slots |
//! | anon, `an_ref` | a page, its `refs` |
//! | `entry->object.uvm_obj` | the amap's `shadow` (a file), or, while an entry has no amap yet, the entry's own object |
//! | `aref.ar_pageoff` | the entry's `offset` into its amap |
//! | `UVM_ET_NEEDSCOPY` | the entry's `needs_copy` |
//! | `am_ppref` | [`SlotRefs`], kept by the policy per amap |
//!
//! An entry maps either an amap (anonymous memory, or a private file
//! mapping once it has written a page) or a file directly (a shared file
//! mapping, whose writes go to the file in place; or a private file mapping
//! that has not needed an amap yet, which `uvm_map` leaves `COPYONWRITE |
//! NEEDSCOPY` with no amap). An entry's chain is therefore at most two long
//! (amap, then file).
//!
//! The pmap is a cache. A mapping is writable only for an anon no other
//! slot holds (`an_ref == 1`) in an entry that is not needs-copy, or for a
//! file page of a shared mapping that is not on loan (see below). When a
//! slot that another reference also sees gets a new anon, every mapping of
//! the old page is taken away, so the other sharers refault and find the
//! new one.
//!
//! # The fault cases (`uvm_fault.c`'s "a word on page faults")
//!
//! ```text
//!  needs copy, and a write or no uobj?  --> amap_copy: no amap: a fresh one over the uobj
//!                                                      am_ref == 1: take it over
//!                                                      else: copy anon pointers (amap_copy)
//!   1A  anon, read                      --> map        (writable if an_ref == 1)
//!   1A  anon, write, an_ref == 1        --> reuse      (in place)
//!   1B  anon, write, an_ref > 1         --> cow_copy   (new anon in this slot)
//!   2A  no anon, uobj, read             --> page_in / map, read-only (depth 1)
//!   2B  no anon, uobj, write            --> cow_copy   (promote the uobj page to an anon)
//!   2B  no anon, no uobj                --> zero_fill  (a new anon)
//!   file mapped directly                --> page_in / map (the file's page, in place)
//! ```
//!
//! Vocabulary: `map` is a fault that maps a page that already exists
//! (an anon read, or a file page); `reuse` is a write fault that goes to an
//! existing anon in place because its `an_ref` is 1 — in UVM every write
//! that lands on an existing anon passes that exclusivity test, so every
//! such fault is a `reuse`, whether the page was write-protected by a fork
//! or simply not mapped yet. `cow_copy` is any fault that copies data into
//! a new anon (1B, and 2B over a file). A write in place to a file page
//! (case 2A on a shared mapping) is `map`, as in the Mach policies. Work
//! counters: `amap_copy` counts amaps made by copying anon pointers (the
//! O(slots) case: at a fault, or at once for a copy of shared memory, see
//! below); taking an amap over and giving an entry its first amap copy
//! nothing and are not counted (UVM's own `fltamcopy` counts every call).
//! `chain_steps` counts lookups that went down to the uobj.
//!
//! # Copies of shared memory
//!
//! An amap shared through `VM_INHERIT_SHARE` (UVM's `AMAP_SHARED`) must keep
//! showing each sharer's writes, so it can never be `needs_copy`. A copy of
//! it (fork copy inheritance, `vm_copy`, `vm_read`) is made at once, as
//! `uvm_mapent_forkcopy` does for `AMAP_SHARED`: a new amap with the same
//! anon pointers. Each copied anon is write-protected everywhere (as
//! `uvm_loananon` does when `an_ref` leaves 1), so the sharers' next write
//! faults, finds `an_ref > 1` and copies (case 1B) into the shared amap.
//!
//! A shared file mapping has no amap. UVM would give a copy of it MAP_PRIVATE
//! semantics (`uvm_mapent_forkcopy` marks the child `COPYONWRITE |
//! NEEDSCOPY` over the same file), so the file's later changes would show
//! through; cowsim's contract wants a true snapshot. We use UVM's page
//! loaning instead (`uvm_loan.c`, the object-to-anon loan): the copy is a new
//! amap whose slots hold the file's resident pages themselves, write-
//! protected everywhere (counted as one `amap_copy`); a later write through
//! the shared mapping finds the page held twice and breaks the loan by
//! copying it for the file (counted `cow_copy`). File pages that were not
//! resident are the file's original content, which the amap keeps as its
//! fill (a read of one there is a `page_in`).
//!
//! # Freeing what nobody can reach
//!
//! Every reference to an amap covers a window of its slots. The policy keeps
//! per-slot counts of those windows ([`SlotRefs`], UVM's `am_ppref`), so when
//! an entry lets go of its window (unmap, exit, `amap_copy`), the anons of
//! slots no reference covers any more are freed at once (`amap_wiperange`).
//! Clipping splits one window in two and changes no count. The invariant
//! checker holds the policy to it: no anon sits in a slot nobody covers.
//!
//! Follows: NetBSD `sys/uvm/uvm_amap.c` (`amap_copy`, `amap_ref`,
//! `amap_unref`, `amap_pp_adjref`, `amap_wiperange`), `sys/uvm/uvm_fault.c`
//! (`uvm_fault_check`, `uvm_fault_upper`, `uvm_fault_lower`, `uvmfault_promote`),
//! `sys/uvm/uvm_map.c` (`uvm_map` with `UVM_FLAG_COPYONW`), `sys/uvm/uvm_loan.c`
//! (object-to-anon loans); OpenBSD `sys/uvm/uvm_map.c`
//! (`uvm_mapent_forkcopy`, `uvm_mapent_forkshared`).
//!
//! Simplified: `vm_allocate` makes the amap at once (UVM makes it at the
//! first fault); an entry's first amap covers the whole entry (when a large
//! entry has no amap yet, UVM's `amap_copy` clips it to a 16-slot chunk
//! around the fault first); there is no swap, no wiring (so
//! no `amap_cow_now`), no `MAP_INHERIT_ZERO`, and no `pmap_copy` at fork
//! (the child faults its pages in); `am_ppref` is kept for every amap (UVM
//! starts one only when an amap is first split); `vm_copy` and `vm_read`,
//! which UVM does not have, copy like a fork.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::columns::Coverage;

use crate::event::{Event, FaultKind};
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::object::{Fill, ObjectRole};
use crate::policy::{Backing, FaultCtx, Policy, Resolution, Resolved};
use crate::violation::Violation;
use crate::world::{World, file_token};

/// The UVM policy: the shared containers plus the per-slot reference
/// counts of every amap.
#[derive(Clone, Debug, Default)]
pub struct Uvm {
    /// `am_ppref` of every live amap. Invariant: the keys are exactly the
    /// live amaps, and each amap's counts equal the coverage of its slots by
    /// the references that hold it (map entries and snapshot pieces).
    slot_refs: BTreeMap<ObjectId, SlotRefs>,
    /// Scratch space the invariant check reuses: the edges of the windows
    /// entries map amaps with, by kind of entry.
    check_edges: RefCell<Vec<WindowEdge>>,
}

/// One end of an entry's window on an amap: `(amap, slot, +1 or -1, kind)`,
/// the kind 0 for a private entry, 1 for a needs-copy one, 2 for a shared
/// one.
type WindowEdge = (ObjectId, u64, i32, usize);

/// Per-slot reference counts of one amap (UVM's `am_ppref`): how many
/// references cover each slot. Stored as runs, like `am_ppref`'s encoding of
/// a count and a length: `runs[k]` is the count of every slot from `k` up to
/// the next key. For example, an 8-slot amap mapped by a parent entry
/// and, for slots 2..6, by a child:
///
/// ```text
/// slot:   0 1 2 3 4 5 6 7 8 ...
/// count:  1 1 2 2 2 2 1 1 0 ...
/// runs:   {0: 1, 2: 2, 6: 1, 8: 0}
/// ```
///
/// Invariant: key 0 is present and neighbouring runs differ, so a set of
/// counts has exactly one representation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotRefs {
    runs: BTreeMap<u64, u32>,
}

impl Default for SlotRefs {
    fn default() -> Self {
        SlotRefs { runs: BTreeMap::from([(0, 0)]) }
    }
}

impl SlotRefs {
    /// Counts of one reference covering `range`.
    pub fn covering(range: Range<u64>) -> SlotRefs {
        let mut refs = SlotRefs::default();
        refs.add(range);
        refs
    }

    /// References covering `slot`.
    pub fn count(&self, slot: u64) -> u32 {
        self.runs.range(..=slot).next_back().map_or(0, |(_, c)| *c)
    }

    /// Adds one reference over `range`.
    pub fn add(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        self.split_at(range.start);
        self.split_at(range.end);
        for count in self.runs.range_mut(range.clone()).map(|(_, c)| c) {
            *count += 1;
        }
        self.merge(range);
    }

    /// Removes one reference over `range`; returns the parts of it that no
    /// reference covers any more. Panics if some slot had no reference: the
    /// caller let go of a window it did not hold.
    pub fn remove(&mut self, range: Range<u64>) -> Vec<Range<u64>> {
        if range.is_empty() {
            return Vec::new();
        }
        self.split_at(range.start);
        self.split_at(range.end);
        let starts: Vec<u64> = self.runs.range(range.clone()).map(|(k, _)| *k).collect();
        let mut unreached = Vec::new();
        for (i, start) in starts.iter().enumerate() {
            let count = self.runs.get_mut(start).expect("slot refs: run vanished");
            assert!(*count > 0, "uvm: slot {start} released by a reference that did not cover it");
            *count -= 1;
            if *count == 0 {
                unreached.push(*start..starts.get(i + 1).copied().unwrap_or(range.end));
            }
        }
        self.merge(range);
        unreached
    }

    /// Are these the same counts as `coverage`'s, slot for slot?
    fn same_counts_as(&self, coverage: &Coverage) -> bool {
        // Both are canonical runs; this one starts with a run at 0, which
        // counts 0 when the first covered slot is further on.
        let mut mine = self.runs.iter().map(|(k, c)| (*k, *c)).skip_while(|(k, c)| *k == 0 && *c == 0);
        let mut theirs = coverage.runs();
        loop {
            match (mine.next(), theirs.next()) {
                (None, None) => return true,
                (a, b) if a == b => {}
                _ => return false,
            }
        }
    }

    fn split_at(&mut self, at: u64) {
        let count = self.count(at);
        self.runs.entry(at).or_insert(count);
    }

    /// Drops the boundaries in `[range.start, range.end]` that separate
    /// equal counts.
    fn merge(&mut self, range: Range<u64>) {
        let starts: Vec<u64> = self.runs.range(range.start.max(1)..=range.end).map(|(k, _)| *k).collect();
        for start in starts {
            let previous = self.runs.range(..start).next_back().map(|(_, c)| *c);
            if previous == self.runs.get(&start).copied() {
                self.runs.remove(&start);
            }
        }
    }
}

/// The layers an entry maps, in UVM's terms.
#[derive(Clone, Copy, Debug)]
enum Layers {
    /// No amap: the entry maps its object (a file) directly.
    ObjectOnly { object: ObjectId },
    /// An amap, over the lower object and the index its slot 0 falls on.
    Amap { amap: ObjectId, uobj: Option<(ObjectId, Pindex)> },
}

fn layers(w: &World, entry: &MapEntry) -> Layers {
    let object = w.object(entry.object);
    if object.role == ObjectRole::Amap {
        Layers::Amap { amap: entry.object, uobj: object.shadow }
    } else {
        Layers::ObjectOnly { object: entry.object }
    }
}

/// Does the entry have a lower object? (Without one it is pure anonymous
/// memory, and even a read fault copies its amap.)
fn has_uobj(w: &World, entry: &MapEntry) -> bool {
    match layers(w, entry) {
        Layers::ObjectOnly { .. } => true,
        Layers::Amap { uobj, .. } => uobj.is_some(),
    }
}

/// The slots of its backing an entry covers.
fn window(entry: &MapEntry) -> Range<u64> {
    entry.offset.0..entry.offset.0 + entry.pages()
}

/// The content of a page found nowhere, by the fill of the object that
/// lacks it.
fn missing_token(fill: Fill, index: Pindex) -> Token {
    match fill {
        Fill::Zero => Token::ZERO,
        Fill::File { file, offset } => file_token(file, offset.plus(index.0)),
    }
}

/// The fill of a window of an object that starts at `offset`.
fn shifted(fill: Fill, offset: Pindex) -> Fill {
    match fill {
        Fill::Zero => Fill::Zero,
        Fill::File { file, offset: base } => Fill::File { file, offset: base.plus(offset.0) },
    }
}

/// The page at `object[index]`, brought in from the file if absent.
/// Returns it and whether it was brought in now.
fn resident_or_page_in(w: &mut World, object: ObjectId, index: Pindex) -> (PageId, bool) {
    if let Some(page) = w.object(object).page(index) {
        return (page, false);
    }
    let token = missing_token(w.object(object).fill, index);
    let page = w.install_new_page(object, index, token);
    w.emit(Event::PagePagedIn { object, pindex: index, page });
    (page, true)
}

/// Puts the pages of `from[offset .. offset + pages]` into the empty amap
/// `to` from slot 0, each one slot-reference more. A page that was held
/// once loses its write permission everywhere, since a write may no longer
/// go to it in place (`uvm_loananon` does the same).
fn share_pages(w: &mut World, from: ObjectId, offset: Pindex, pages: u64, to: ObjectId) {
    let held: Vec<(Pindex, PageId)> = w.object(from).pages.range(offset..offset.plus(pages)).collect();
    for (index, page) in held {
        if w.pages.get(page).refs == 1 {
            w.write_protect_everywhere(page);
        }
        w.put_page(to, Pindex(index.0 - offset.0), page);
    }
}

/// Frees the anons in `range` of `amap` (`amap_wiperange`): each loses the
/// slot's reference and goes when it has no other.
fn wipe(w: &mut World, amap: ObjectId, range: Range<u64>) {
    let slots: Vec<Pindex> =
        w.object(amap).pages.range(Pindex(range.start)..Pindex(range.end)).map(|(s, _)| s).collect();
    for slot in slots {
        w.drop_slot(amap, slot);
    }
}

impl Uvm {
    /// Makes an amap of `pages` empty slots over `uobj` (whose reference
    /// the caller provides), with one reference covering every slot.
    fn create_amap(&mut self, w: &mut World, pages: u64, uobj: Option<(ObjectId, Pindex)>, fill: Fill) -> ObjectId {
        let amap = w.create_object(ObjectRole::Amap, pages, fill);
        if uobj.is_some() {
            w.set_shadow(amap, uobj);
        }
        self.slot_refs.insert(amap, SlotRefs::covering(0..pages));
        amap
    }

    /// One more reference to `object`, covering `window` of it.
    fn take_reference(&mut self, w: &mut World, object: ObjectId, window: Range<u64>) {
        w.reference(object);
        if let Some(refs) = self.slot_refs.get_mut(&object) {
            refs.add(window);
        }
    }

    /// Drops a reference to `object` that covered `window`. An amap frees
    /// the anons of slots nobody covers any more (`amap_unref` with
    /// `am_ppref`), and goes entirely with its last reference
    /// (`amap_wipeout`), which also lets go of its lower object.
    fn drop_reference(&mut self, w: &mut World, object: ObjectId, window: Range<u64>) {
        let last = w.object(object).ref_count == 1;
        match self.slot_refs.get_mut(&object) {
            Some(_) if last => {
                self.slot_refs.remove(&object);
            }
            Some(refs) => {
                for range in refs.remove(window) {
                    wipe(w, object, range);
                }
            }
            None => {}
        }
        w.deallocate(object);
    }

    /// A new amap with the anon pointers of `from[offset .. offset + pages]`
    /// (`an_ref++` on each), seeing the same lower layer. `from` is an amap
    /// (`amap_copy`) or a file mapped directly (a loan of its resident
    /// pages; the file's absent pages are its original content, which the
    /// amap keeps as its fill so that later writes to the file do not show).
    fn copy_slots(&mut self, w: &mut World, from: ObjectId, offset: Pindex, pages: u64) -> ObjectId {
        let (role, shadow, fill) = {
            let f = w.object(from);
            (f.role, f.shadow, f.fill)
        };
        let uobj = if role == ObjectRole::Amap { shadow.map(|(o, base)| (o, base.plus(offset.0))) } else { None };
        if let Some((lower, _)) = uobj {
            w.reference(lower);
        }
        let copy = self.create_amap(w, pages, uobj, shifted(fill, offset));
        share_pages(w, from, offset, pages, copy);
        w.emit(Event::AmapCopied { from, to: copy, slots: u32::try_from(pages).unwrap_or(u32::MAX) });
        copy
    }

    /// `amap_copy` as the fault path (and a share of a needs-copy entry)
    /// runs it: gives the entry an amap of its own and clears needs_copy.
    ///
    /// Case 1: no amap yet (a private file mapping): a fresh, empty one over
    /// the file; the entry's reference to the file becomes the amap's.
    /// Case 2: the amap has no other reference (`am_ref == 1`): take it
    /// over; nothing is copied.
    /// Case 3: copy the anon pointers of the entry's window into a new amap
    /// and let go of the old one.
    fn clear_needs_copy(&mut self, w: &mut World, task: TaskId, entry: &mut MapEntry) {
        match layers(w, entry) {
            Layers::ObjectOnly { object } => {
                entry.object = self.create_amap(w, entry.pages(), Some((object, entry.offset)), Fill::Zero);
                entry.offset = Pindex(0);
            }
            Layers::Amap { amap, .. } if w.object(amap).ref_count == 1 => {}
            Layers::Amap { amap, .. } => {
                let copy = self.copy_slots(w, amap, entry.offset, entry.pages());
                self.drop_reference(w, amap, window(entry));
                entry.object = copy;
                entry.offset = Pindex(0);
            }
        }
        entry.needs_copy = false;
        w.update_entry(task, *entry);
    }

    /// A copy of the entry's current content holding one reference of its
    /// own (fork copy inheritance, `vm_copy`, `vm_read`). Private memory is
    /// copied symmetrically: one more reference, both sides needs-copy, the
    /// source write-protected in its own pmap. Shared memory (an
    /// `AMAP_SHARED` amap, or a shared file mapping) is copied at once into
    /// a new amap, since its sharers must keep writing in place.
    fn snapshot_backing(&mut self, w: &mut World, task: TaskId, entry: &mut MapEntry) -> Backing {
        if entry.shared {
            let copy = self.copy_slots(w, entry.object, entry.offset, entry.pages());
            return Backing { object: copy, offset: Pindex(0), needs_copy: false };
        }
        self.take_reference(w, entry.object, window(entry));
        if !entry.needs_copy {
            entry.needs_copy = true;
            w.write_protect_range(task, entry);
        }
        Backing { object: entry.object, offset: entry.offset, needs_copy: true }
    }

    /// Does a reference other than the faulting entry's see `amap[slot]`?
    /// Then its mappings of the slot's old page must go when the slot
    /// changes.
    fn seen_by_others(&self, amap: ObjectId, slot: Pindex) -> bool {
        self.slot_refs.get(&amap).is_some_and(|refs| refs.count(slot.0) > 1)
    }

    /// `uvmfault_promote`: copies `source`'s data into a new anon at
    /// `amap[slot]` (dropping the anon there, if any). Used by 1B and 2B.
    fn promote(&self, w: &mut World, amap: ObjectId, slot: Pindex, source: PageId) -> PageId {
        let token = w.token(source);
        if w.object(amap).page(slot).is_some() {
            w.drop_slot(amap, slot);
        }
        let page = w.install_new_page(amap, slot, token);
        w.emit(Event::PageCopied { from: source, to: page, object: amap, pindex: slot });
        if self.seen_by_others(amap, slot) {
            w.revoke_mappings(source);
        }
        page
    }

    /// Case 1: the slot holds an anon.
    /// 1A: a read, or a write to an anon no other slot holds: use it in
    /// place. 1B: a write to an anon another slot holds: copy it.
    fn fault_upper(
        &self,
        w: &mut World,
        entry: &MapEntry,
        amap: ObjectId,
        slot: Pindex,
        anon: PageId,
        write: bool,
    ) -> Resolution {
        let exclusive = w.pages.get(anon).refs == 1;
        let (kind, page) = match (write, exclusive) {
            (false, _) => (FaultKind::Map, anon),
            (true, true) => (FaultKind::Reuse, anon),
            (true, false) => (FaultKind::CowCopy, self.promote(w, amap, slot, anon)),
        };
        let writable = write || (exclusive && !entry.needs_copy);
        Resolution { kind, page, writable, depth: 0 }
    }

    /// Case 2: the slot is empty.
    /// 2A: a read with a lower object maps its page, read-only (this is a
    /// copy-on-write area). 2B: a write with a lower object promotes its
    /// page into a new anon; without one, a new anon is zero-filled (or, for
    /// a loaned snapshot of a file, filled with the file's original page).
    fn fault_lower(
        &self,
        w: &mut World,
        entry: &MapEntry,
        amap: ObjectId,
        uobj: Option<(ObjectId, Pindex)>,
        slot: Pindex,
        write: bool,
    ) -> Resolution {
        if let Some((lower, base)) = uobj {
            let (page, paged_in) = resident_or_page_in(w, lower, base.plus(slot.0));
            if write {
                let anon = self.promote(w, amap, slot, page);
                return Resolution { kind: FaultKind::CowCopy, page: anon, writable: true, depth: 1 };
            }
            let kind = if paged_in { FaultKind::PageIn } else { FaultKind::Map };
            return Resolution { kind, page, writable: false, depth: 1 };
        }
        let fill = w.object(amap).fill;
        let page = w.install_new_page(amap, slot, missing_token(fill, slot));
        let kind = match fill {
            Fill::Zero => {
                w.emit(Event::PageZeroFilled { object: amap, pindex: slot, page });
                FaultKind::ZeroFill
            }
            Fill::File { .. } => {
                w.emit(Event::PagePagedIn { object: amap, pindex: slot, page });
                FaultKind::PageIn
            }
        };
        Resolution { kind, page, writable: !entry.needs_copy, depth: 0 }
    }
}

/// A fault on an entry that maps a file directly (case 2A without an amap):
/// the file's page, brought in if absent. Only a shared mapping can write
/// here (a private one gets an amap first); if the page is on loan to a
/// snapshot amap, the write breaks the loan: the file gets a copy and every
/// mapping of the loaned page goes.
fn fault_object(w: &mut World, entry: &MapEntry, object: ObjectId, index: Pindex, write: bool) -> Resolution {
    let (page, paged_in) = resident_or_page_in(w, object, index);
    let fetched = if paged_in { FaultKind::PageIn } else { FaultKind::Map };
    let exclusive = w.pages.get(page).refs == 1;
    if !write {
        return Resolution { kind: fetched, page, writable: exclusive && !entry.needs_copy, depth: 0 };
    }
    debug_assert!(!entry.needs_copy, "uvm: write to a needs-copy entry without an amap");
    if exclusive {
        return Resolution { kind: fetched, page, writable: true, depth: 0 };
    }
    let token = w.token(page);
    w.drop_slot(object, index);
    let copy = w.install_new_page(object, index, token);
    w.emit(Event::PageCopied { from: page, to: copy, object, pindex: index });
    w.revoke_mappings(page);
    Resolution { kind: FaultKind::CowCopy, page: copy, writable: true, depth: 0 }
}

impl Policy for Uvm {
    /// An empty amap, no lower object.
    fn new_anonymous(&mut self, w: &mut World, pages: u64) -> Backing {
        let amap = self.create_amap(w, pages, None, Fill::Zero);
        Backing { object: amap, offset: Pindex(0), needs_copy: false }
    }

    /// No amap (as `uvm_map` does): a shared mapping writes the file in
    /// place; a private one is copy-on-write and needs-copy, and gets an
    /// amap over the file at its first write.
    fn map_file(&mut self, w: &mut World, file: ObjectId, offset: Pindex, _pages: u64, private: bool) -> Backing {
        w.reference(file);
        Backing { object: file, offset, needs_copy: private }
    }

    /// `uvm_mapent_forkcopy`.
    fn fork_copy(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        self.snapshot_backing(w, parent, entry).child_entry(entry)
    }

    /// `uvm_mapent_forkshared`: a needs-copy entry gets an amap of its own
    /// first, so there is one amap to share.
    fn fork_share(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        if entry.needs_copy {
            self.clear_needs_copy(w, parent, entry);
        }
        self.take_reference(w, entry.object, window(entry));
        entry.shared = true;
        *entry
    }

    fn snapshot(&mut self, w: &mut World, task: TaskId, entry: &mut MapEntry) -> Backing {
        self.snapshot_backing(w, task, entry)
    }

    fn reference_backing(&mut self, w: &mut World, entry: &MapEntry) {
        self.take_reference(w, entry.object, window(entry));
    }

    fn release(&mut self, w: &mut World, _task: TaskId, entry: &MapEntry) {
        self.drop_reference(w, entry.object, window(entry));
    }

    /// `uvm_fault_check`, then the upper or lower case.
    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        let write = ctx.access.is_write();
        let mut entry = ctx.entry;
        if entry.needs_copy && (write || !has_uobj(w, &entry)) {
            self.clear_needs_copy(w, ctx.task, &mut entry);
        }
        let slot = entry.pindex(ctx.vpn);
        match layers(w, &entry) {
            Layers::ObjectOnly { object } => fault_object(w, &entry, object, slot, write),
            Layers::Amap { amap, uobj } => match w.object(amap).page(slot) {
                Some(anon) => self.fault_upper(w, &entry, amap, slot, anon, write),
                None => self.fault_lower(w, &entry, amap, uobj, slot, write),
            },
        }
    }

    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
        let slot = entry.pindex(vpn);
        let in_place = |page: PageId| !entry.needs_copy && w.pages.get(page).refs == 1;
        let found = |page: PageId, writable: bool| Resolved {
            page: Some(page),
            token: w.token(page),
            writable_in_place: writable,
        };
        let (object, index) = match layers(w, entry) {
            Layers::ObjectOnly { object } => {
                if let Some(page) = w.object(object).page(slot) {
                    return found(page, in_place(page));
                }
                (object, slot)
            }
            Layers::Amap { amap, uobj } => {
                if let Some(anon) = w.object(amap).page(slot) {
                    return found(anon, in_place(anon));
                }
                match uobj {
                    Some((lower, base)) => (lower, base.plus(slot.0)),
                    None => (amap, slot),
                }
            }
        };
        match w.object(object).page(index) {
            Some(page) => found(page, false),
            None => {
                Resolved { page: None, token: missing_token(w.object(object).fill, index), writable_in_place: false }
            }
        }
    }

    /// UVM's own invariants: see `check_layers` and `Uvm::check_slot_refs`.
    fn check(&self, w: &World) -> Result<(), Violation> {
        check_layers(w)?;
        self.check_slot_refs(w)
    }
}

/// The two-level shape:
/// - every object is a file or an amap;
/// - an amap's lower object, if any, is a file (so no chain is longer than
///   two), and nothing shadows an amap;
/// - an entry maps an amap or a file, and one that maps a file directly is
///   a shared mapping or still needs copy (private, before its first write).
fn check_layers(w: &World) -> Result<(), Violation> {
    for object in w.objects.iter() {
        let bad = |problem: &str| Err(Violation::Policy(format!("{:?} {problem}", object.id)));
        match object.role {
            ObjectRole::File => {}
            ObjectRole::Amap => {
                if let Some((lower, _)) = object.shadow
                    && (!w.object(lower).is_file() || object.fill != Fill::Zero)
                {
                    return bad("is an amap whose lower object is not a file (or that has a fill besides it)");
                }
                if !object.shadowers.is_empty() {
                    return bad("is an amap that another object shadows");
                }
            }
            _ => return bad("is neither an amap nor a file"),
        }
    }
    for task in w.tasks.values() {
        for e in task.map.entries() {
            if w.object(e.object).is_file() && !e.shared && !e.needs_copy {
                return Err(Violation::Policy(format!(
                    "{:?} entry at {:?} maps a file privately but is not needs-copy",
                    task.id, e.start
                )));
            }
        }
    }
    Ok(())
}

impl Uvm {
    /// The per-slot counts against the map entries (at an operation
    /// boundary no snapshot piece is outstanding):
    /// - the tracked counts are exactly the entries' coverage (the world
    ///   keeps it, `reach.rs`, and checks it before this), for exactly the
    ///   live amaps;
    /// - no anon sits in a slot no entry covers (partial unmaps free them);
    /// - a slot two entries see is seen only by needs-copy entries or only
    ///   by shared ones: a private writer never shares a slot.
    fn check_slot_refs(&self, w: &World) -> Result<(), Violation> {
        let bad = |message: String| Err(Violation::Policy(message));
        let amaps = || w.objects.iter().filter(|o| o.role == ObjectRole::Amap);
        if amaps().count() != self.slot_refs.len() || amaps().any(|o| !self.slot_refs.contains_key(&o.id)) {
            let live: BTreeSet<ObjectId> = amaps().map(|o| o.id).collect();
            let tracked: BTreeSet<ObjectId> = self.slot_refs.keys().copied().collect();
            return bad(format!("slot refs are kept for {tracked:?} but the live amaps are {live:?}"));
        }
        let mut edges = self.check_edges.borrow_mut();
        edges.clear();
        for task in w.tasks.values() {
            for e in task.map.entries().filter(|e| w.object(e.object).role == ObjectRole::Amap) {
                let kind = if e.shared { 2 } else { usize::from(e.needs_copy) };
                edges.push((e.object, window(e).start, 1, kind));
                edges.push((e.object, window(e).end, -1, kind));
            }
        }
        edges.sort_unstable();
        let mut at = 0;
        for (&amap, refs) in &self.slot_refs {
            let o = w.object(amap);
            if !refs.same_counts_as(&o.reach.direct) {
                return bad(format!("{amap:?} slot refs {refs:?} but its entries cover {:?}", o.reach.direct));
            }
            let mut covered = o.reach.direct.ascending();
            if let Some(slot) = o.pages.keys().find(|s| !covered.covers(s.0)) {
                return bad(format!("{amap:?} keeps an anon in {slot:?}, which no entry covers"));
            }
            // Sweep this amap's window edges in slot order, counting the
            // entries of each kind that cover the slots from each edge on.
            while at < edges.len() && edges[at].0 < amap {
                at += 1;
            }
            let mut by_kind = [0i64; 3];
            while at < edges.len() && edges[at].0 == amap {
                let slot = edges[at].1;
                while at < edges.len() && edges[at].0 == amap && edges[at].1 == slot {
                    by_kind[edges[at].3] += i64::from(edges[at].2);
                    at += 1;
                }
                let all: i64 = by_kind.iter().sum();
                if all >= 2 && by_kind[1] != all && by_kind[2] != all {
                    return bad(format!("{amap:?} slot {slot} is seen by a private writer and {} others", all - 1));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SlotRefs;

    /// Do the runs split, count, merge back and report freed ranges?
    #[test]
    fn slot_refs_runs() {
        let mut refs = SlotRefs::covering(0..8);
        refs.add(2..6);
        assert_eq!((refs.count(0), refs.count(2), refs.count(5), refs.count(6), refs.count(8)), (1, 2, 2, 1, 0));
        assert_eq!(refs.remove(0..4), vec![0..2]);
        assert_eq!((refs.count(1), refs.count(3), refs.count(4)), (0, 1, 2));
        assert_eq!(refs.remove(2..8), vec![2..4, 6..8]);
        assert_eq!(refs.remove(4..6), vec![4..6]);
        assert_eq!(refs, SlotRefs::default(), "every run merged back into one");
    }

    /// Is the representation canonical, whatever the order of the adds?
    #[test]
    fn slot_refs_canonical() {
        let mut a = SlotRefs::default();
        a.add(0..4);
        a.add(4..8);
        assert_eq!(a, SlotRefs::covering(0..8));
    }
}

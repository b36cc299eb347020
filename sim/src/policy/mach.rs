//! The machinery the Mach family shares: shadow chains, the chain walk,
//! shadow creation, copy-up, copy objects with their push, collapse and
//! bypass. `gnumach.rs` and `nocollapse.rs` (and later `xnu.rs` and
//! `freebsd.rs`) are this machinery plus a [`MachRules`] that says which of
//! the kernels' choices to make (kernels.md §10 lists the knobs).
//!
//! Terms, as in Mach: the *first object* is the object the faulting entry
//! points at; the objects below it, reached by `shadow`, are its *backing*
//! objects. A page found below the first object belongs to someone else's
//! snapshot too, so a write must copy it up into the first object.
//!
//! Copy strategies:
//! - **symmetric** (memory nobody shares): both sides point at the same
//!   object and are marked `needs_copy`; whichever writes first gets a shadow
//!   at fault time (`vm_object_copy_quickly`);
//! - **delayed** (memory shared through `VM_INHERIT_SHARE` or a shared file
//!   mapping, which its sharers must keep writing in place): the copy side
//!   gets a *copy object* shadowing the source, and the source pushes the
//!   original of a page into it before changing that page
//!   (`vm_object_copy_delayed`).

use crate::event::{Event, FaultKind};
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::object::{Fill, ObjectRole};
use crate::policy::{Backing, FaultCtx, Policy, Resolution, Resolved};
use crate::world::{World, file_token};

/// Where a collapse pass stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollapseScope {
    /// Return at the first backing object that can be neither collapsed nor
    /// bypassed (GNU Mach `vm_object_collapse`).
    StopAtFirstBlocked,
    /// Step over it and keep trying further down (XNU).
    WholeChain,
}

/// The choices that separate one Mach-family kernel from another.
#[derive(Clone, Copy, Debug)]
pub struct MachRules {
    /// The policy's stable name.
    pub name: &'static str,
    /// Run `collapse` on the first object after a copy-up fault.
    pub collapse_after_copy_up: bool,
    /// May collapse skip a backing object whose pages are all shadowed?
    pub bypass: bool,
    pub collapse_scope: CollapseScope,
}

/// A Mach-family policy: the shared machinery driven by its rules.
#[derive(Clone, Debug)]
pub struct Mach {
    pub rules: MachRules,
}

/// Where a chain walk ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Walk {
    /// The page is resident in `object` at `pindex`, `depth` objects below
    /// the first. (`object` and `pindex` are for policies that move the
    /// page up instead of copying it; none in this file reads them yet.)
    #[allow(dead_code)]
    Found { object: ObjectId, pindex: Pindex, page: PageId, depth: u32 },
    /// No object has the page; `bottom` is the last object of the chain.
    Missing { bottom: ObjectId, pindex: Pindex, depth: u32 },
}

/// Follows the chain from `first[pindex]` down to the first object that has
/// the page (`vm_fault_page`'s search loop).
pub(crate) fn walk(w: &World, first: ObjectId, pindex: Pindex) -> Walk {
    let mut object = first;
    let mut index = pindex;
    let mut depth = 0;
    loop {
        let o = w.object(object);
        if let Some(page) = o.page(index) {
            return Walk::Found { object, pindex: index, page, depth };
        }
        match o.shadow {
            Some((below, offset)) => {
                object = below;
                index = Pindex(index.0 + offset.0);
                depth += 1;
            }
            None => return Walk::Missing { bottom: object, pindex: index, depth },
        }
    }
}

/// The content a missing page starts with, by the fill of the chain's last
/// object.
fn fill_token(fill: Fill, pindex: Pindex) -> Token {
    match fill {
        Fill::Zero => Token::ZERO,
        Fill::File { file, offset } => file_token(file, offset.plus(pindex.0)),
    }
}

/// Does a write to `object[pindex]` first need to push the page into the
/// object's copy object?
pub(crate) fn push_needed(w: &World, object: ObjectId, pindex: Pindex) -> bool {
    let Some(copy) = w.object(object).copy else { return false };
    let c = w.object(copy);
    match copy_index(c.shadow, object, pindex, c.size) {
        Some(q) => c.page(q).is_none(),
        None => false,
    }
}

/// The copy object's index for `source[pindex]`, if its window covers it.
fn copy_index(shadow: Option<(ObjectId, Pindex)>, source: ObjectId, pindex: Pindex, size: u64) -> Option<Pindex> {
    let (below, offset) = shadow?;
    debug_assert_eq!(below, source, "copy object does not shadow its source");
    let q = pindex.0.checked_sub(offset.0)?;
    (q < size).then_some(Pindex(q))
}

/// Before `object[pindex]` (holding `page`) changes, gives the object's copy
/// object the original, unless it has its own already. Every mapping of the
/// page is taken away, because readers on the copy side must now find the
/// pushed page instead.
pub(crate) fn push_to_copy(w: &mut World, object: ObjectId, pindex: Pindex, page: PageId) {
    if !push_needed(w, object, pindex) {
        return;
    }
    let Some(copy) = w.object(object).copy else { return };
    let c = w.object(copy);
    let Some(q) = copy_index(c.shadow, object, pindex, c.size) else { return };
    let token = w.token(page);
    let pushed = w.install_new_page(copy, q, token);
    w.emit(Event::PagePushed { from: page, to: pushed, copy, pindex: q });
    w.revoke_mappings(page);
}

/// Gives the faulting entry a shadow object of its own in front of the
/// object it shares (`vm_object_shadow`), and clears `needs_copy`. The
/// entry's reference to the old object passes to the shadow.
pub(crate) fn shadow_entry(w: &mut World, task: TaskId, entry: &mut MapEntry) {
    let backing = entry.object;
    let shadow = w.create_object(ObjectRole::Shadow, entry.pages(), Fill::Zero);
    w.set_shadow(shadow, Some((backing, entry.offset)));
    let chain = w.chain_length(shadow);
    w.emit(Event::ShadowCreated { shadow, backing, chain });
    entry.object = shadow;
    entry.offset = Pindex(0);
    entry.needs_copy = false;
    *w.entry_mut(task, entry.start) = *entry;
}

/// Makes (or reuses) a copy object for `source`: the delayed copy. Returns
/// it holding one reference for the caller.
///
/// Case 1: the source's current copy object is unmodified (no pages yet), so
/// it is still an exact snapshot: reuse it.
/// Case 2: otherwise make a new copy object shadowing the source and put it
/// between the source and the old copy object, which now shadows the new
/// one. Every resident source page is write-protected everywhere, so the
/// next write to it faults and pushes.
pub(crate) fn copy_delayed(w: &mut World, source: ObjectId) -> ObjectId {
    let (old_copy, size) = {
        let s = w.object(source);
        (s.copy, s.size)
    };
    if let Some(old) = old_copy
        && w.object(old).pages.is_empty()
    {
        w.reference(old);
        w.emit(Event::CopyObjectReused { copy: old, source });
        return old;
    }
    let copy = w.create_object(ObjectRole::Copy, size, Fill::Zero);
    w.set_shadow(copy, Some((source, Pindex(0))));
    w.reference(source);
    if let Some(old) = old_copy {
        w.set_shadow(old, Some((copy, Pindex(0))));
        w.reference(copy);
        w.deallocate(source);
    }
    w.object_mut(source).copy = Some(copy);
    let pages: Vec<PageId> = w.object(source).pages.values().copied().collect();
    for page in pages {
        w.write_protect_everywhere(page);
    }
    w.emit(Event::CopyObjectCreated { copy, source });
    copy
}

/// The Mach fault path proper, shared by the whole family and by `eager`
/// (whose entries are never `needs_copy`). See `fault.rs` for the essay.
pub(crate) fn chain_fault(
    w: &mut World,
    ctx: &FaultCtx,
    after_copy_up: impl FnOnce(&mut World, ObjectId),
) -> Resolution {
    let write = ctx.access.is_write();
    let mut entry = ctx.entry;
    // Step 1 (vm_map_lookup): a write to a needs-copy entry first gets the
    // entry a shadow of its own. A read leaves the entry as it is and maps
    // read-only.
    if write && entry.needs_copy {
        shadow_entry(w, ctx.task, &mut entry);
    }
    let first = entry.object;
    let pindex = entry.pindex(ctx.vpn);
    // Step 2 (vm_fault_page): search the chain.
    let walk = walk(w, first, pindex);
    let (mut page, mut depth, mut kind) = match walk {
        Walk::Found { page, depth, .. } => (page, depth, FaultKind::Map),
        Walk::Missing { bottom, pindex: bottom_index, depth } => {
            let fill = w.object(bottom).fill;
            let token = fill_token(fill, bottom_index);
            match fill {
                // Nothing anywhere: zero-fill a page in the first object.
                Fill::Zero => {
                    let page = w.install_new_page(first, pindex, token);
                    w.emit(Event::PageZeroFilled { object: first, pindex, page });
                    (page, 0, FaultKind::ZeroFill)
                }
                // A file at the bottom: bring the page into the file's object.
                Fill::File { .. } => {
                    let page = w.install_new_page(bottom, bottom_index, token);
                    w.emit(Event::PagePagedIn { object: bottom, pindex: bottom_index, page });
                    (page, depth, FaultKind::PageIn)
                }
            }
        }
    };
    let searched = match walk {
        Walk::Found { depth, .. } | Walk::Missing { depth, .. } => depth,
    };
    // Step 3: a page below the first object is someone's snapshot too. A
    // read maps it read-only; a write always copies it up ("that's the
    // breaks"), and every old mapping of it goes.
    if depth > 0 && write {
        let token = w.token(page);
        let copy = w.install_new_page(first, pindex, token);
        w.emit(Event::PageCopied { from: page, to: copy, object: first, pindex });
        w.revoke_mappings(page);
        page = copy;
        depth = 0;
        kind = FaultKind::CowCopy;
        if write {
            push_to_copy(w, first, pindex, page);
        }
        after_copy_up(w, first);
    } else if depth == 0 && write {
        // Step 4: the first object changes a page it owns: its copy object
        // must get the original first.
        push_to_copy(w, first, pindex, page);
    }
    let writable = depth == 0 && !entry.needs_copy && !push_needed(w, first, pindex);
    Resolution { kind, page, writable, depth: searched }
}

/// What an access through `entry` would find now (no side effects).
pub(crate) fn chain_resolve(w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
    let pindex = entry.pindex(vpn);
    match walk(w, entry.object, pindex) {
        Walk::Found { page, depth, .. } => Resolved {
            page: Some(page),
            token: w.token(page),
            writable_in_place: depth == 0 && !entry.needs_copy && !push_needed(w, entry.object, pindex),
        },
        Walk::Missing { bottom, pindex, .. } => {
            Resolved { page: None, token: fill_token(w.object(bottom).fill, pindex), writable_in_place: false }
        }
    }
}

impl Mach {
    /// Can `backing` be merged into or skipped by the object above it?
    /// Files have pagers, and copy objects and objects with a copy object
    /// take part in a delayed copy: none of those may go.
    fn collapsible(w: &World, backing: ObjectId) -> bool {
        let b = w.object(backing);
        !b.is_file() && !b.is_copy() && b.copy.is_none() && b.fill == Fill::Zero
    }

    /// `vm_object_collapse`: shortens the chain below `object`.
    ///
    /// Case 1 (collapse): the backing object has no other reference, so its
    /// pages move up (those the object lacks and can see) and it is freed.
    /// Case 2 (bypass): every backing page the object can see is shadowed by
    /// the object's own page, so the object points past it.
    /// Case 3: neither; stop, or under `WholeChain` try the next level down.
    pub(crate) fn collapse(&self, w: &mut World, object: ObjectId) {
        let mut top = object;
        loop {
            if w.object(top).is_file() {
                return;
            }
            let Some((backing, _)) = w.object(top).shadow else { return };
            if Self::collapsible(w, backing) {
                if w.object(backing).ref_count == 1 {
                    merge_backing(w, top);
                    continue;
                }
                if self.rules.bypass && all_shadowed(w, top) {
                    bypass_backing(w, top);
                    continue;
                }
            }
            match self.rules.collapse_scope {
                CollapseScope::StopAtFirstBlocked => return,
                CollapseScope::WholeChain => top = backing,
            }
        }
    }
}

/// Case 1 of collapse: moves the backing object's visible pages the top
/// lacks into the top, frees the rest, and takes over the backing's shadow.
fn merge_backing(w: &mut World, top: ObjectId) {
    let (backing, offset) = w.object(top).shadow.expect("merge_backing: no backing");
    let size = w.object(top).size;
    let indices: Vec<Pindex> = w.object(backing).pages.keys().copied().collect();
    let (mut moved, mut freed) = (0, 0);
    for index in indices {
        let target = index.0.checked_sub(offset.0).filter(|q| *q < size).map(Pindex);
        match target {
            Some(q) if w.object(top).page(q).is_none() => {
                w.move_page(backing, index, top, q);
                moved += 1;
            }
            _ => {
                w.drop_slot(backing, index);
                freed += 1;
            }
        }
    }
    let (below, fill) = {
        let b = w.object(backing);
        (b.shadow, b.fill)
    };
    // The backing's reference to its own shadow passes to the top; the
    // top's reference to the backing was the last one.
    w.set_shadow(backing, None);
    w.set_shadow(top, below.map(|(o, off)| (o, Pindex(off.0 + offset.0))));
    w.object_mut(top).fill = fill;
    let left = w.deallocate(backing);
    debug_assert_eq!(left, 0, "collapse: {backing:?} was re-referenced");
    w.emit(Event::Collapsed { object: top, backing, pages_moved: moved, pages_freed: freed });
}

/// Does `top` hold its own page for every page of its backing object that
/// it can see?
fn all_shadowed(w: &World, top: ObjectId) -> bool {
    let t = w.object(top);
    let Some((backing, offset)) = t.shadow else { return false };
    w.object(backing).pages.keys().all(|index| match index.0.checked_sub(offset.0) {
        Some(q) if q < t.size => t.page(Pindex(q)).is_some(),
        _ => true,
    })
}

/// Case 2 of collapse: `top` shadows its backing's backing directly.
fn bypass_backing(w: &mut World, top: ObjectId) {
    let (backing, offset) = w.object(top).shadow.expect("bypass_backing: no backing");
    let (below, fill) = {
        let b = w.object(backing);
        (b.shadow, b.fill)
    };
    if let Some((next, _)) = below {
        w.reference(next);
    }
    w.set_shadow(top, below.map(|(o, off)| (o, Pindex(off.0 + offset.0))));
    w.object_mut(top).fill = fill;
    let left = w.deallocate(backing);
    debug_assert!(left >= 1, "bypass: {backing:?} lost its last reference");
    w.emit(Event::Bypassed { object: top, backing });
}

impl Policy for Mach {
    fn name(&self) -> &'static str {
        self.rules.name
    }

    fn new_anonymous(&mut self, w: &mut World, pages: u64) -> Backing {
        let object = w.create_object(ObjectRole::Anonymous, pages, Fill::Zero);
        Backing { object, offset: Pindex(0), needs_copy: false }
    }

    /// A private mapping points at the file itself, copy-on-write
    /// (`needs_copy`); the first write gives it a shadow. A shared one
    /// writes the file's pages in place.
    fn map_file(&mut self, w: &mut World, file: ObjectId, offset: Pindex, _pages: u64, private: bool) -> Backing {
        w.reference(file);
        Backing { object: file, offset, needs_copy: private }
    }

    fn fork_copy(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        let backing = self.snapshot(w, parent, entry);
        MapEntry {
            shared: false,
            object: backing.object,
            offset: backing.offset,
            needs_copy: backing.needs_copy,
            ..*entry
        }
    }

    /// `vm_map_fork` share case: an entry still waiting for its copy gets
    /// its shadow now, so both tasks share an object of their own.
    fn fork_share(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        if entry.needs_copy {
            shadow_entry(w, parent, entry);
        }
        w.reference(entry.object);
        w.object_mut(entry.object).shared = true;
        entry.shared = true;
        *entry
    }

    /// Symmetric copy for private memory: one more reference, and both sides
    /// `needs_copy` (the source is write-protected in its own pmap). Delayed
    /// copy for shared memory.
    fn snapshot(&mut self, w: &mut World, task: TaskId, entry: &mut MapEntry) -> Backing {
        if entry.shared {
            let copy = copy_delayed(w, entry.object);
            return Backing { object: copy, offset: entry.offset, needs_copy: true };
        }
        w.reference(entry.object);
        if !entry.needs_copy {
            entry.needs_copy = true;
            w.write_protect_range(task, entry);
        }
        Backing { object: entry.object, offset: entry.offset, needs_copy: true }
    }

    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        let collapse = self.rules.collapse_after_copy_up;
        chain_fault(w, ctx, |w, first| {
            if collapse {
                self.collapse(w, first);
            }
        })
    }

    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
        chain_resolve(w, entry, vpn)
    }
}

//! The machinery the Mach family shares: shadow chains, the chain walk,
//! shadow creation, copy-up, copy objects with their push, collapse and
//! bypass, and the chain maintenance some kernels add at deallocate, fork
//! and unmap. `gnumach.rs`, `nocollapse.rs`, `xnu.rs` and `freebsd.rs` are
//! this machinery plus a [`MachRules`] that says which of the kernels'
//! choices to make ([`MachRules`] lists the knobs, numbered 1 to 7).
//!
//! Cost: a fault searches the chain, so it costs the depth of the page it
//! finds, and a collapse pass costs the levels it walks; everything else a
//! fault does is O(1) per level (the bypass test is a kept count,
//! `shows_through.rs`). Deep chains are superlinear by nature: with N live
//! children (the `live-children` workload) every child's chain is up to N
//! objects deep, and the reads that search them cost O(N^2) in all.
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

use crate::event::{Event, FaultKind, WorkKind};
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::object::{Fill, ObjectRole, VmObject};
use crate::policy::{Backing, FaultCtx, Policy, Resolution, Resolved};
use crate::world::{Released, World, file_token};

/// Where a collapse pass stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollapseScope {
    /// Return at the first backing object that can be neither collapsed nor
    /// bypassed (GNU Mach `vm_object_collapse`).
    StopAtFirstBlocked,
    /// Step over it and keep trying further down (XNU).
    WholeChain,
}

/// What releasing a reference does to the chain (knob 3 of [`MachRules`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeallocateCollapse {
    /// Nothing: deallocate only drops the reference (GNU Mach).
    Never,
    /// An object left with exactly one reference and a shadow collapses its
    /// own backing chain, without bypass: it cannot tell whether that last
    /// reference is a live mapping or a stale link (XNU
    /// `vm_object_deallocate` → `vm_object_collapse(object, 0, FALSE)`).
    OwnChain,
    /// An anonymous object left with exactly one reference, held by its
    /// single shadow, has that shadow collapse onto it; one left with one
    /// reference and no shadow is one-mapping again (FreeBSD
    /// `vm_object_deallocate` → `vm_object_deallocate_anon`).
    SingleShadow,
}

/// The choices that separate one Mach-family kernel from another, knob by
/// knob, numbered 1 to 7. Two knobs need no field: no object
/// has a pager in this model (knob 6: files are never collapsed, and
/// nothing is swapped), and every policy here copies shared memory with the
/// delayed strategy (knob 7: GNU Mach `use_shared_copy`, XNU `COPY_DELAY`,
/// and FreeBSD for the reason `freebsd.rs` gives).
#[derive(Clone, Copy, Debug)]
pub struct MachRules {
    /// Knob 1: a write to a copy-on-write entry that holds the only
    /// reference to an anonymous object takes the object over instead of
    /// shadowing it (FreeBSD `vm_object_shadow`; GNU Mach and XNU always
    /// shadow).
    pub shadow_shortcut: bool,
    /// Knob 2: a write that finds its page one level down, in an anonymous
    /// object nothing but the first object references, moves the page up
    /// instead of copying it (FreeBSD `vm_fault_cow`).
    pub cow_move: bool,
    /// Knob 3, at fault: run `collapse` on the first object after a copy-up.
    pub collapse_after_copy_up: bool,
    /// Knob 3, at deallocate.
    pub deallocate_collapse: DeallocateCollapse,
    /// Knob 3, at fork: collapse an entry's object before it is copied
    /// (FreeBSD `vm_map_copy_entry`).
    pub collapse_at_fork: bool,
    /// Knob 3, at unmap, with FreeBSD's `OBJ_ONEMAPPING`: at fork an entry
    /// whose one-mapping object also serves other entries is split into an
    /// object of its own (`vm_object_split`); at unmap the entry's range of
    /// a one-mapping object is collapsed and freed at once
    /// (`vm_map_entry_delete`).
    pub one_mapping: bool,
    /// Knob 5: may collapse skip a backing object whose pages are all
    /// shadowed?
    pub bypass: bool,
    /// Knob 4.
    pub collapse_scope: CollapseScope,
}

impl MachRules {
    /// The fault-time knobs.
    fn fault_rules(&self) -> FaultRules {
        FaultRules { shadow_shortcut: self.shadow_shortcut, cow_move: self.cow_move }
    }
}

/// The knobs the fault path reads (1 and 2). `eager` and GNU Mach take
/// neither (the default).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FaultRules {
    pub shadow_shortcut: bool,
    pub cow_move: bool,
}

/// Is the object anonymous memory in FreeBSD's sense (`OBJ_ANON`): zero-fill
/// memory or a shadow, neither a file nor a copy object?
pub(crate) fn anonymous(o: &VmObject) -> bool {
    o.is_anonymous()
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
    /// the first (`cow_move` takes it from there).
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
    w.update_entry(task, *entry);
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
    w.reference_shared(source);
    if let Some(old) = old_copy {
        w.set_shadow(old, Some((copy, Pindex(0))));
        w.reference(copy);
        w.deallocate(source);
    }
    w.object_mut(source).copy = Some(copy);
    let pages: Vec<PageId> = w.object(source).pages.values().collect();
    // `vm_object_pmap_protect` over the source: one flush for the object.
    w.work(WorkKind::TlbFlush, u64::from(!pages.is_empty()));
    for page in pages {
        w.write_protect_everywhere(page);
    }
    w.emit(Event::CopyObjectCreated { copy, source });
    copy
}

/// Does the entry hold the only reference to an anonymous object, so a
/// write may take the object over (knob 1)? Such an object has no shadow
/// and no copy object either: each would hold a reference.
fn sole_reference(w: &World, object: ObjectId) -> bool {
    let o = w.object(object);
    o.ref_count == 1 && anonymous(o)
}

/// FreeBSD's shortcut in `vm_object_shadow`: the entry keeps its object and
/// simply stops being copy-on-write.
fn take_over(w: &mut World, task: TaskId, entry: &mut MapEntry) {
    entry.needs_copy = false;
    w.update_entry(task, *entry);
    w.emit(Event::ShadowSkipped { object: entry.object });
}

/// May the page at `holder`, found one level below `first`, move up instead
/// of being copied (knob 2)? Only if `holder` is anonymous and nothing but
/// `first` references it (`ref_count == 1`, `shadow_count == 1`): then no
/// one else can see the page, before or after.
fn exclusively_below(w: &World, first: ObjectId, holder: ObjectId) -> bool {
    let h = w.object(holder);
    w.shadow_of(first).map(|(b, _)| b) == Some(holder) && h.ref_count == 1 && h.shadowers.len() == 1 && anonymous(h)
}

/// FreeBSD's `cow_move`: the page leaves `holder[from]` for `first[pindex]`.
///
/// No mapping has to be taken away. The page keeps its identity, and every
/// mapping of it reached it through `first` (the holder has no other
/// referrer), so each still resolves to it; and none was writable, because
/// the page sat below the first object of every entry that can see it. The
/// faulting task's entry is replaced by the engine; a copy object of
/// `first` gets the original pushed (and its readers' mappings revoked) by
/// the caller.
fn move_up(w: &mut World, holder: ObjectId, from: Pindex, first: ObjectId, pindex: Pindex) -> PageId {
    let page = w.move_page(holder, from, first, pindex);
    w.emit(Event::PageMoved { page, from: holder, to: first, pindex });
    page
}

/// The Mach fault path proper, shared by the whole family, with the
/// fault-time knobs of `rules` (GNU Mach's choices by default). See
/// `fault.rs` for the essay.
pub(crate) fn chain_fault_with(
    w: &mut World,
    ctx: &FaultCtx,
    rules: FaultRules,
    after_copy_up: impl FnOnce(&mut World, ObjectId),
) -> Resolution {
    let write = ctx.access.is_write();
    let mut entry = ctx.entry;
    // Step 1 (vm_map_lookup): a write to a needs-copy entry first gets the
    // entry a shadow of its own, or (knob 1) takes its object over when the
    // entry holds the only reference. A read leaves the entry as it is and
    // maps read-only.
    let mut took_over = false;
    if write && entry.needs_copy {
        if rules.shadow_shortcut && sole_reference(w, entry.object) {
            take_over(w, ctx.task, &mut entry);
            took_over = true;
        } else {
            shadow_entry(w, ctx.task, &mut entry);
        }
    }
    let first = entry.object;
    let pindex = entry.pindex(ctx.vpn);
    // Step 2 (vm_fault_page): search the chain. A page found in an object
    // the entry just took over is written in place: a `reuse`.
    let walk = walk(w, first, pindex);
    let (mut page, mut depth, mut kind) = match walk {
        Walk::Found { page, depth: 0, .. } if took_over => (page, 0, FaultKind::Reuse),
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
    // read maps it read-only; a write copies it up ("that's the breaks"),
    // and every old mapping of it goes, unless (knob 2) nobody else can see
    // it, and then it moves up.
    if depth > 0 && write {
        let holder = match walk {
            Walk::Found { object, pindex: from, .. } => Some((object, from)),
            Walk::Missing { .. } => None,
        };
        match holder {
            Some((holder, from)) if rules.cow_move && depth == 1 && exclusively_below(w, first, holder) => {
                page = move_up(w, holder, from, first, pindex);
                kind = FaultKind::CowMove;
            }
            _ => {
                let token = w.token(page);
                let copy = w.install_new_page(first, pindex, token);
                w.emit(Event::PageCopied { from: page, to: copy, object: first, pindex });
                w.revoke_mappings(page);
                page = copy;
                kind = FaultKind::CowCopy;
            }
        }
        depth = 0;
        push_to_copy(w, first, pindex, page);
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
    fn collapsible(b: &VmObject) -> bool {
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
        self.collapse_chain(w, object, self.rules.bypass);
    }

    /// `collapse`, with bypass allowed or not for this pass (XNU's
    /// `can_bypass` argument). Each level costs O(1) (the bypass test is a
    /// count, `shows_through.rs`), so a pass costs the depth it walks.
    fn collapse_chain(&self, w: &mut World, object: ObjectId, bypass: bool) {
        let mut top = object;
        loop {
            let t = w.object(top);
            if t.is_file() {
                return;
            }
            let Some((backing, _)) = t.shadow else { return };
            let b = w.object(backing);
            if Self::collapsible(b) {
                if b.ref_count == 1 {
                    merge_backing(w, top);
                    continue;
                }
                if bypass && all_shadowed(w, top) {
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

/// Chain maintenance outside the fault path: at deallocate, fork and unmap.
impl Mach {
    /// Lets go of one reference to `object`, with the rule of knob 3.
    fn deallocate(&self, w: &mut World, object: ObjectId) {
        match self.rules.deallocate_collapse {
            DeallocateCollapse::Never => {
                w.deallocate(object);
            }
            DeallocateCollapse::OwnChain => self.deallocate_own_chain(w, object),
            DeallocateCollapse::SingleShadow => self.deallocate_single_shadow(w, object),
        }
    }

    /// XNU `vm_object_deallocate`: drops the reference. An object left with
    /// one reference and a shadow collapses its own chain (whole chain, no
    /// bypass); it has no pointer up to whoever holds that reference. An
    /// object left with none is freed and its shadow loses a reference in
    /// turn, under the same rule.
    fn deallocate_own_chain(&self, w: &mut World, object: ObjectId) {
        let mut next = Some(object);
        while let Some(id) = next {
            match w.release_reference(id) {
                Released::Freed { shadow } => next = shadow,
                Released::Left(1) if w.shadow_of(id).is_some() => {
                    self.collapse_chain(w, id, false);
                    return;
                }
                Released::Left(_) => return,
            }
        }
    }

    /// FreeBSD `vm_object_deallocate`: drops the reference. An anonymous
    /// object left with one reference and no shadow is one-mapping again;
    /// one whose single remaining reference is its one shadow (a sibling
    /// went away) has that shadow collapse onto it at once
    /// (`vm_object_deallocate_anon`). The shadow, held for the collapse and
    /// then let go, gets the same test in turn. An object left with none is
    /// freed and its shadow loses a reference in turn.
    fn deallocate_single_shadow(&self, w: &mut World, object: ObjectId) {
        let mut next = Some(object);
        // Whether `next` must lose a reference, or (a shadow just collapsed
        // onto a sibling's last reference) only be looked at again.
        let mut drop_one = true;
        while let Some(id) = next {
            if drop_one {
                match w.release_reference(id) {
                    Released::Freed { shadow } => {
                        next = shadow;
                        continue;
                    }
                    Released::Left(1) => {}
                    Released::Left(_) => return,
                }
            } else if w.object(id).ref_count != 1 {
                return;
            }
            let o = w.object(id);
            if !anonymous(o) {
                return;
            }
            match o.shadowers[..] {
                [] => {
                    w.object_mut(id).one_mapping = true;
                    return;
                }
                [shadow] => {
                    self.collapse(w, shadow);
                    next = Some(shadow);
                    drop_one = false;
                }
                _ => unreachable!("deallocate: {id:?} has one reference but several shadows"),
            }
        }
    }

    /// Can this entry's object be split off at fork (FreeBSD
    /// `vm_object_split`)? Only an anonymous one-mapping object that other
    /// entries (clipped pieces, or the shadows of such pieces) also hold.
    fn splittable(w: &World, entry: &MapEntry) -> bool {
        let o = w.object(entry.object);
        !entry.shared && anonymous(o) && o.one_mapping && o.ref_count > 1
    }

    /// FreeBSD `vm_object_split`: gives the entry a new object holding just
    /// its own pages and shadowing what the old one shadowed, so the copy
    /// the child is about to share does not keep the other entries' pages
    /// alive. Nobody else can see those pages (one-mapping), and they keep
    /// their identity, so no mapping changes.
    fn split(&self, w: &mut World, task: TaskId, entry: &mut MapEntry) {
        let old = entry.object;
        let (role, below) = {
            let o = w.object(old);
            (o.role, o.shadow)
        };
        let new = w.create_object(role, entry.pages(), Fill::Zero);
        if let Some((next, offset)) = below {
            w.reference_shared(next);
            w.set_shadow(new, Some((next, offset.plus(entry.offset.0))));
        }
        let window = entry.offset..entry.offset.plus(entry.pages());
        let indices: Vec<Pindex> = w.object(old).pages.range(window).map(|(i, _)| i).collect();
        for index in &indices {
            w.move_page(old, *index, new, Pindex(index.0 - entry.offset.0));
        }
        w.emit(Event::ObjectSplit { from: old, to: new, pages_moved: indices.len() as u32 });
        entry.object = new;
        entry.offset = Pindex(0);
        w.update_entry(task, *entry);
        self.deallocate(w, old);
    }

    /// FreeBSD `vm_map_entry_delete`: the entry being unmapped was the only
    /// one to reach its range of a one-mapping object, so once the chain
    /// below is collapsed those pages are freed now rather than when the
    /// object dies, and the object shrinks when the range was its tail.
    /// (An object with one reference dies with the entry anyway.)
    fn free_unmapped(&self, w: &mut World, entry: &MapEntry) {
        let object = entry.object;
        let o = w.object(object);
        if !(anonymous(o) && o.one_mapping && o.ref_count != 1) {
            return;
        }
        self.collapse(w, object);
        let (start, end) = (entry.offset, entry.offset.plus(entry.pages()));
        let doomed: Vec<Pindex> = w.object(object).pages.range(start..end).map(|(i, _)| i).collect();
        for index in &doomed {
            w.drop_slot(object, *index);
        }
        let size = w.object(object).size;
        if start.0 < size && end.0 >= size {
            w.shrink(object, start.0);
        }
        w.emit(Event::RangeFreed { object, start, end, pages_freed: doomed.len() as u32 });
    }
}

/// Case 1 of collapse: moves the backing object's visible pages the top
/// lacks into the top, frees the rest, and takes over the backing's shadow.
fn merge_backing(w: &mut World, top: ObjectId) {
    let (backing, _) = w.object(top).shadow.expect("merge_backing: no backing");
    let fill = w.object(backing).fill;
    // The backing's reference to its own shadow passes to the top; the
    // top's reference to the backing was the last one.
    let (moved, freed) = w.merge_backing_into(top);
    w.object_mut(top).fill = fill;
    let left = w.deallocate(backing);
    debug_assert_eq!(left, 0, "collapse: {backing:?} was re-referenced");
    w.emit(Event::Collapsed { object: top, backing, pages_moved: moved, pages_freed: freed });
}

/// Does `top` hold its own page for every page of its backing object that
/// it can see? O(1): the world counts the backing pages that show through
/// (`shows_through.rs`), where GNU Mach scans the backing object's pages
/// and XNU compares resident counts before it scans.
fn all_shadowed(w: &World, top: ObjectId) -> bool {
    w.hides_all_backing_pages(top)
}

/// Case 2 of collapse: `top` shadows its backing's backing directly.
fn bypass_backing(w: &mut World, top: ObjectId) {
    let (backing, offset) = w.object(top).shadow.expect("bypass_backing: no backing");
    let (below, fill) = {
        let b = w.object(backing);
        (b.shadow, b.fill)
    };
    if let Some((next, _)) = below {
        // A second way down to `next`: FreeBSD's
        // `vm_object_backing_insert_ref` clears its one-mapping flag.
        w.reference_shared(next);
    }
    w.set_shadow(top, below.map(|(o, off)| (o, Pindex(off.0 + offset.0))));
    w.object_mut(top).fill = fill;
    let left = w.deallocate(backing);
    debug_assert!(left >= 1, "bypass: {backing:?} lost its last reference");
    w.emit(Event::Bypassed { object: top, backing });
}

impl Policy for Mach {
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

    /// `vm_map_fork` copy case: a snapshot for the child. FreeBSD first
    /// collapses the entry's object and splits it off if it is one-mapping
    /// (`vm_map_copy_entry`).
    fn fork_copy(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        if self.rules.collapse_at_fork && anonymous(w.object(entry.object)) {
            self.collapse(w, entry.object);
        }
        if self.rules.one_mapping && Self::splittable(w, entry) {
            self.split(w, parent, entry);
        }
        self.snapshot(w, parent, entry).child_entry(entry)
    }

    /// `vm_map_fork` share case: an entry still waiting for its copy gets
    /// its shadow now, so both tasks share an object of their own.
    fn fork_share(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        if entry.needs_copy {
            shadow_entry(w, parent, entry);
        }
        w.reference_shared(entry.object);
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
        w.reference_shared(entry.object);
        if !entry.needs_copy {
            entry.needs_copy = true;
            w.write_protect_range(task, entry);
        }
        Backing { object: entry.object, offset: entry.offset, needs_copy: true }
    }

    /// The destination of a virtual copy takes the snapshot's object: its
    /// pages now have one more mapping, so it is no longer one-mapping.
    fn reference_backing(&mut self, w: &mut World, entry: &MapEntry) {
        w.reference_shared(entry.object);
    }

    /// The entry lets go of its object. With one-mapping, its range of the
    /// object is freed first (FreeBSD `vm_map_entry_delete`).
    fn release(&mut self, w: &mut World, _task: TaskId, entry: &MapEntry) {
        if self.rules.one_mapping {
            self.free_unmapped(w, entry);
        }
        self.deallocate(w, entry.object);
    }

    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        let collapse = self.rules.collapse_after_copy_up;
        chain_fault_with(w, ctx, self.rules.fault_rules(), |w, first| {
            if collapse {
                self.collapse(w, first);
            }
        })
    }

    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
        chain_resolve(w, entry, vpn)
    }
}

//! `eager`: copy everything at copy time. The oracle.
//!
//! Fork and `vm_copy` copy every resident page of the source physically,
//! the way xv6's `uvmcopy` copies a whole address space at fork. Nothing is
//! ever shared copy-on-write between two tasks, so there is no shadow chain
//! to get wrong: whatever a read returns under `eager` is, by definition,
//! what it must return under every other policy. The differential tests run
//! each trace under `eager` and a lazy policy and require the same
//! `kern_return_t` codes and the same read digest.
//!
//! Two kinds of sharing remain, because the semantics demand them, not as an
//! optimisation:
//! - memory inherited with `VM_INHERIT_SHARE` and shared file mappings are
//!   one object mapped twice;
//! - a private file mapping is a private object in front of the file, so
//!   pages it has not written still show the file's current content (the
//!   MAP_PRIVATE semantics of Linux and FreeBSD, which every policy follows).
//!
//! A copy of a file's pages that were never brought in records where they
//! come from (its fill is the file's original content), which is exact
//! because a file page never leaves memory once touched.
//!
//! # Its own fault path
//!
//! The oracle shares no fault code with the designs it checks: a bug in the
//! Mach family's chain walk or copy-up could otherwise hide in both sides of
//! the comparison. An entry's object is one of three shapes, never deeper:
//!
//! ```text
//!   anonymous object            (vm_allocate, or a copy of one)
//!   private object -> file      (a private file mapping, or a copy of one)
//!   file object                 (a shared file mapping)
//! ```
//!
//! so a fault looks in the entry's own object, then in the file below it if
//! there is one, and that is all:
//!
//! | the page is                      | read          | write                |
//! |----------------------------------|---------------|----------------------|
//! | in the entry's own object        | map           | map, writable        |
//! | in the file below                | map read-only | cow_copy into own    |
//! | nowhere, own fill is zero        | zero_fill     | zero_fill            |
//! | nowhere, a file holds it         | page_in       | page_in + cow_copy   |
//!
//! Follows: xv6 `kernel/vm.c` (`uvmcopy`), `kernel/proc.c` (`fork`).

use crate::event::{Event, FaultKind};
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::object::{Fill, ObjectRole};
use crate::policy::{Backing, FaultCtx, Policy, Resolution, Resolved};
use crate::world::{World, file_token};

/// The eager-copy policy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Eager;

/// Copies the pages `entry` can see in its own object into a new object,
/// which keeps seeing the same file pages (if any) for the rest.
fn physical_copy(w: &mut World, entry: &MapEntry) -> ObjectId {
    let source = entry.object;
    let (shadow, fill) = {
        let s = w.object(source);
        (s.shadow, s.fill)
    };
    let window = Pindex(entry.offset.0 + entry.pages());
    let copy_fill = match fill {
        Fill::Zero => Fill::Zero,
        Fill::File { file, offset } => Fill::File { file, offset: offset.plus(entry.offset.0) },
    };
    let copy =
        w.create_object(ObjectRole::Anonymous, entry.pages(), if shadow.is_some() { Fill::Zero } else { copy_fill });
    if let Some((below, offset)) = shadow {
        w.reference(below);
        w.set_shadow(copy, Some((below, offset.plus(entry.offset.0))));
    }
    let pages: Vec<(Pindex, _)> = w.object(source).pages.range(entry.offset..window).collect();
    for (index, page) in pages {
        let pindex = Pindex(index.0 - entry.offset.0);
        let token = w.token(page);
        let new = w.install_new_page(copy, pindex, token);
        w.emit(Event::PageCopied { from: page, to: new, object: copy, pindex });
    }
    copy
}

impl Policy for Eager {
    fn new_anonymous(&mut self, w: &mut World, pages: u64) -> Backing {
        let object = w.create_object(ObjectRole::Anonymous, pages, Fill::Zero);
        Backing { object, offset: Pindex(0), needs_copy: false }
    }

    /// Private: a private object in front of the file. Shared: the file.
    fn map_file(&mut self, w: &mut World, file: ObjectId, offset: Pindex, pages: u64, private: bool) -> Backing {
        w.reference(file);
        if !private {
            return Backing { object: file, offset, needs_copy: false };
        }
        let object = w.create_object(ObjectRole::Anonymous, pages, Fill::Zero);
        w.set_shadow(object, Some((file, offset)));
        Backing { object, offset: Pindex(0), needs_copy: false }
    }

    fn fork_copy(&mut self, w: &mut World, _parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        let object = physical_copy(w, entry);
        Backing { object, offset: Pindex(0), needs_copy: false }.child_entry(entry)
    }

    fn fork_share(&mut self, w: &mut World, _parent: TaskId, entry: &mut MapEntry) -> MapEntry {
        w.reference(entry.object);
        entry.shared = true;
        *entry
    }

    fn snapshot(&mut self, w: &mut World, _task: TaskId, entry: &mut MapEntry) -> Backing {
        let object = physical_copy(w, entry);
        Backing { object, offset: Pindex(0), needs_copy: false }
    }

    /// The table in the module doc, top to bottom.
    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        let own = ctx.entry.object;
        let index = ctx.entry.pindex(ctx.vpn);
        let (page, kind, depth) = match find(w, own, index) {
            Found::Own(page) => return Resolution { kind: FaultKind::Map, page, writable: true, depth: 0 },
            Found::InFile(page) => (page, FaultKind::Map, 1),
            Found::Zero => {
                let page = w.install_new_page(own, index, Token::ZERO);
                w.emit(Event::PageZeroFilled { object: own, pindex: index, page });
                return Resolution { kind: FaultKind::ZeroFill, page, writable: true, depth: 0 };
            }
            Found::InNoMemory { holder, token } => {
                let (object, at, depth) = match holder {
                    Holder::Own => (own, index, 0),
                    Holder::File { file, at } => (file, at, 1),
                };
                let page = w.install_new_page(object, at, token);
                w.emit(Event::PagePagedIn { object, pindex: at, page });
                (page, FaultKind::PageIn, depth)
            }
        };
        if depth == 0 {
            return Resolution { kind, page, writable: true, depth };
        }
        if !ctx.access.is_write() {
            return Resolution { kind, page, writable: false, depth };
        }
        let copy = copy_into_own(w, page, own, index);
        Resolution { kind: FaultKind::CowCopy, page: copy, writable: true, depth }
    }

    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
        match find(w, entry.object, entry.pindex(vpn)) {
            Found::Own(page) => Resolved { page: Some(page), token: w.token(page), writable_in_place: true },
            Found::InFile(page) => Resolved { page: Some(page), token: w.token(page), writable_in_place: false },
            Found::Zero => Resolved { page: None, token: Token::ZERO, writable_in_place: false },
            Found::InNoMemory { token, .. } => Resolved { page: None, token, writable_in_place: false },
        }
    }
}

/// Where eager's two-level lookup found page `index` of an entry's object.
enum Found {
    /// In the entry's own object: written in place.
    Own(PageId),
    /// In the file below a private object: read in place, copied to write.
    InFile(PageId),
    /// Never touched, in an anonymous object: zero-filled on demand.
    Zero,
    /// A file page not brought in yet: `holder` takes it, with `token`.
    InNoMemory { holder: Holder, token: Token },
}

/// The object a missing page belongs in.
enum Holder {
    Own,
    File { file: ObjectId, at: Pindex },
}

/// Looks for page `index` of `own`, then of the file `own` is in front of.
fn find(w: &World, own: ObjectId, index: Pindex) -> Found {
    let object = w.object(own);
    if let Some(page) = object.page(index) {
        return Found::Own(page);
    }
    let Some((file, offset)) = object.shadow else {
        return match object.fill {
            Fill::Zero => Found::Zero,
            Fill::File { file, offset } => {
                Found::InNoMemory { holder: Holder::Own, token: file_token(file, offset.plus(index.0)) }
            }
        };
    };
    let at = offset.plus(index.0);
    if let Some(page) = w.object(file).page(at) {
        return Found::InFile(page);
    }
    let token = match w.object(file).fill {
        Fill::File { file, offset } => file_token(file, offset.plus(at.0)),
        Fill::Zero => unreachable!("eager: {own:?} shadows {file:?}, which is not a file"),
    };
    Found::InNoMemory { holder: Holder::File { file, at }, token }
}

/// A write to a file page seen through a private mapping: the page is
/// copied into the mapping's own object. The file page's mappings are taken
/// away, as a kernel's copy-up does (`pmap_page_protect`); eager does not
/// need it (they still resolve to the file page), but it keeps eager's
/// refault counts comparable with the lazy designs'.
fn copy_into_own(w: &mut World, file_page: PageId, own: ObjectId, index: Pindex) -> PageId {
    let copy = w.install_new_page(own, index, w.token(file_page));
    w.emit(Event::PageCopied { from: file_page, to: copy, object: own, pindex: index });
    w.revoke_mappings(file_page);
    copy
}

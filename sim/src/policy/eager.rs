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
//! Follows: xv6 `kernel/vm.c` (`uvmcopy`), `kernel/proc.c` (`fork`).

use crate::event::Event;
use crate::ids::{ObjectId, Pindex, TaskId, Vpn};
use crate::map::MapEntry;
use crate::object::{Fill, ObjectRole};
use crate::policy::mach::{chain_fault, chain_resolve};
use crate::policy::{Backing, FaultCtx, Policy, Resolution, Resolved};
use crate::world::World;

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
    fn name(&self) -> &'static str {
        "eager"
    }

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

    /// The Mach fault path with nothing lazy left in it: zero-fill, page in
    /// a file page, or copy a file page up into a private mapping's object.
    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution {
        chain_fault(w, ctx, |_, _| {})
    }

    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved {
        chain_resolve(w, entry, vpn)
    }
}

//! # A word on copy-on-write faults
//!
//! Every page a task touches goes through this file. Most touches are
//! *hits*: the task's pmap (its simulated page table) already maps the page
//! with enough permission, the access reads or writes the page's token, and
//! no policy code runs. Everything else is a *fault*, and a fault is where
//! the copy-on-write designs differ.
//!
//! A fault runs in three steps, named after NetBSD's split of `uvm_fault`:
//!
//! 1. **check** (here): find the map entry for the page. No entry is a
//!    `segv`; an entry whose protection forbids the access is a
//!    `protection` fault. Both are results the simulated program sees, not
//!    errors of the simulator.
//! 2. **resolve** (the policy's `fault`): find or make the page, following
//!    the policy's rules. The cases, and who takes them:
//!
//! ```text
//!                      fault on (task, vpn, read|write)
//!                                    |
//!                     entry found and access allowed? --no--> segv / protection
//!                                    |
//!           write to a needs-copy entry? --yes--> give the entry a shadow (Mach),
//!                                    |              take a sole object over (FreeBSD)
//!                                    |              or an amap copy (UVM)
//!                       search for the page (chain, amap, page table)
//!            +-----------------------+------------------------+
//!       not found                found in the first       found below the first
//!            |                   object / exclusive       object / shared
//!   zero_fill (anon memory)              |                        |
//!   zero_page (Linux, a read)      map (mapped as is)     read: map read-only
//!   page_in   (file pages)         reuse (Linux/UVM,      write: cow_copy (copy up)
//!                                   FreeBSD: in place)           cow_move (FreeBSD,
//!                                                                 owner gone)
//!                                    |
//!           the source has a copy object? push_copy the original first (XNU, Mach)
//!           copy-up done?  collapse / bypass the chain (gnumach, xnu)
//! ```
//!
//! 3. **enter** (here): install the pmap entry, writable only if the policy
//!    said a later write could go to this page in place, and record the
//!    fault with its kind and the depth searched.
//!
//! Policy by policy: `eager` only ever zero-fills, pages in, or copies a
//! file page into a private mapping. `gnumach` and `mach-nocollapse` take
//! every case of the Mach column (shadow at the first write, always copy
//! up); `xnu` adds the push into copy objects and collapses on deallocate
//! too; `freebsd` takes an exclusive object over instead of shadowing it
//! (`reuse`) and moves a page up when its backing object is exclusively
//! ours (`cow_move`). `uvm` copies the amap on the first fault after fork,
//! then copies an anon only while another amap holds it (`cow_copy`,
//! else `reuse`). `linux` maps the zero page on a read of untouched memory
//! (`zero_page`) and reuses a page no other page table holds; `plan9` does
//! the same without the zero page, and refaults after every fork because
//! the fork flushed the MMU. Each policy file names its cases.
//!
//! Alternative considered: let the policy run the whole access, pmap hit
//! included. Rejected because the hit path must stay a hash lookup and a
//! token store with no dynamic call.

use crate::event::{Event, FaultKind};
use crate::ids::{PageId, TaskId, Token, Vpn};
use crate::op::Recorded;
use crate::page::Pages;
use crate::pmap::{Pmap, PmapEntry};
use crate::policy::{FaultCtx, Policy};
use crate::types::{Access, Prot};
use crate::world::{Recorder, World};

/// Why an access over a range stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessStop {
    /// The task would get SIGSEGV (no entry) at this page.
    Segv(Vpn),
    /// The entry forbids the access at this page.
    Protection(Vpn),
    /// A read found another token than the trace expected.
    UnexpectedValue { vpn: Vpn, found: Token, expected: Token },
}

/// One page's access: hit, or fault and then access. `token` is the value a
/// write stores. Returns the token read or written.
pub(crate) fn access_range(
    w: &mut World,
    policy: &mut dyn Policy,
    task: TaskId,
    pages: std::ops::Range<u64>,
    access: Access,
    write_token: impl Fn(u64) -> Token,
    expect: Option<Token>,
) -> Result<(), AccessStop> {
    let mut vpn = pages.start;
    while vpn < pages.end {
        vpn = hit_run(w, task, vpn..pages.end, access, &write_token, expect)?;
        if vpn == pages.end {
            break;
        }
        let page = fault(w, policy, task, Vpn(vpn), access)?;
        let token = perform(&mut w.pages, page, access, write_token(vpn));
        w.emit(Event::Access { task, vpn: Vpn(vpn), access, token });
        check_expected(Vpn(vpn), token, expect)?;
        vpn += 1;
    }
    Ok(())
}

/// The hot path: accesses pages from `range.start` for as long as they hit
/// the pmap. Returns the first page that did not hit (or the end).
#[inline]
fn hit_run(
    w: &mut World,
    task: TaskId,
    range: std::ops::Range<u64>,
    access: Access,
    write_token: &impl Fn(u64) -> Token,
    expect: Option<Token>,
) -> Result<u64, AccessStop> {
    let World { tasks, pages, recorder, .. } = w;
    let Some(t) = tasks.get(&task) else { return Ok(range.start) };
    for vpn in range.clone() {
        let Some(token) = hit(&t.pmap, pages, Vpn(vpn), access, write_token(vpn)) else {
            return Ok(vpn);
        };
        emit_access(recorder, task, Vpn(vpn), access, token);
        check_expected(Vpn(vpn), token, expect)?;
    }
    Ok(range.end)
}

#[inline]
fn emit_access(recorder: &mut Recorder, task: TaskId, vpn: Vpn, access: Access, token: Token) {
    recorder.emit(Event::Access { task, vpn, access, token });
}

/// A pmap hit: the entry exists, allows the access and is not stale.
#[inline]
fn hit(pmap: &Pmap, pages: &mut Pages, vpn: Vpn, access: Access, write_token: Token) -> Option<Token> {
    let pte = pmap.get(vpn)?;
    if !pte.prot.allows(access.needs()) {
        return None;
    }
    pages.mapping_valid(pte.page, pte.made, access.is_write())?;
    Some(perform(pages, pte.page, access, write_token))
}

/// What the task's page table holds for `access` at `vpn` right now, in the
/// words of a recorded x86 page fault: `None` for a hit (the
/// access will not fault), `NotPresent` for no valid entry (none, or one
/// whose page was taken away), `Present` for a valid entry that lacks the
/// permission (read-only for a write, no execute for a fetch). It is the
/// same test as [`hit`], split by why it fails; it changes nothing.
pub fn pmap_finding(w: &World, task: TaskId, vpn: Vpn, access: Access) -> Option<Recorded> {
    let Some(pte) = w.tasks.get(&task).and_then(|t| t.pmap.get(vpn)) else {
        return Some(Recorded::NotPresent);
    };
    if w.pages.mapping_valid(pte.page, pte.made, false).is_none() {
        return Some(Recorded::NotPresent);
    }
    let writable_now = !access.is_write() || w.pages.mapping_valid(pte.page, pte.made, true).is_some();
    if pte.prot.allows(access.needs()) && writable_now { None } else { Some(Recorded::Present) }
}

/// Reads or writes the page; returns its token afterwards.
#[inline]
fn perform(pages: &mut Pages, page: PageId, access: Access, write_token: Token) -> Token {
    let p = pages.get_mut(page);
    if access.is_write() {
        p.token = write_token;
    }
    p.token
}

fn check_expected(vpn: Vpn, found: Token, expected: Option<Token>) -> Result<(), AccessStop> {
    match expected {
        Some(expected) if expected != found => Err(AccessStop::UnexpectedValue { vpn, found, expected }),
        _ => Ok(()),
    }
}

/// The fault path: check, resolve (policy), enter. Returns the page the
/// access goes to, or why the task cannot access it.
pub(crate) fn fault(
    w: &mut World,
    policy: &mut dyn Policy,
    task: TaskId,
    vpn: Vpn,
    access: Access,
) -> Result<PageId, AccessStop> {
    // Step 1: check.
    let Some(entry) = w.entry(task, vpn).copied() else {
        w.emit(Event::Fault { task, vpn, access, kind: FaultKind::Segv, depth: 0 });
        return Err(AccessStop::Segv(vpn));
    };
    if !entry.prot.allows(access.needs()) {
        w.emit(Event::Fault { task, vpn, access, kind: FaultKind::Protection, depth: 0 });
        return Err(AccessStop::Protection(vpn));
    }
    // Step 2: resolve.
    let ctx = FaultCtx { task, vpn, access, entry };
    let resolution = policy.fault(w, &ctx);
    // Step 3: enter. The entry may have a new object now, never a new range
    // or protection.
    let prot = if resolution.writable { entry.prot } else { entry.prot.without(Prot::WRITE) };
    let made = w.pages.now();
    w.pmap_enter(task, vpn, PmapEntry { page: resolution.page, prot, made });
    w.emit(Event::Fault { task, vpn, access, kind: resolution.kind, depth: resolution.depth });
    debug_assert!(
        !access.is_write() || resolution.writable,
        "fault: {task:?} {vpn:?} write resolved to a read-only mapping ({:?})",
        resolution.kind
    );
    Ok(resolution.page)
}

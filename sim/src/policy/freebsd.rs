//! `freebsd`: FreeBSD `sys/vm`, the BSD branch of the Mach VM, reworked to
//! keep shadow chains short by doing less work in the first place.
//!
//! Copy-on-write in plain words. A fork marks both sides *needs copy*, as
//! in Mach, and the first write on a side gives it a shadow object. But:
//! - **No shadow when nobody else is left.** If the writing entry holds the
//!   only reference to its anonymous object (say the child has exited), the
//!   entry simply takes the object over and writes in place: a `reuse`, no
//!   new object, no copy (`vm_object_shadow` returns early).
//! - **Move instead of copy.** A page found one level down, in an anonymous
//!   object that nothing but the faulting object references
//!   (`ref_count == 1`, `shadow_count == 1`), is moved up rather than copied
//!   (`cow_move`): nobody else could ever read the original.
//! - **Collapse when references go away**, not in the fault path. When a
//!   release leaves an anonymous object with one reference, held by its
//!   single shadow (a sibling exited or unmapped), that shadow collapses
//!   onto it at once (`vm_object_deallocate_anon`, using the list of
//!   shadowers Mach lacks). A fork collapses the entry's object before
//!   copying it (`vm_map_copy_entry`). Collapse merges, or bypasses a level
//!   whose every page is shadowed, and stops at the first level where it
//!   can do neither.
//! - **ONEMAPPING.** An anonymous object starts out *one-mapping*: each of
//!   its pages is reached through one map entry at most. While that holds,
//!   unmapping part of the entry frees that part's pages at once
//!   (`vm_map_entry_delete`), and a fork first splits the entry's pages off
//!   into an object of their own (`vm_object_split`), so the copy the child
//!   shares does not keep the other pieces' pages alive.
//!
//! Where ONEMAPPING is set and cleared (`VmObject::one_mapping`): set when an
//! anonymous or shadow object is made (`vm_object_allocate_anon`) and again
//! when a release leaves one reference and no shadow; cleared whenever the
//! pages get a second way in: a fork copy (`vm_map_copy_entry`), a share
//! (`vmspace_fork`), a `vm_copy`/`vm_read` snapshot and the destination that
//! takes it, a bypass or split that adds a reference to an object below
//! (`vm_object_backing_insert_ref`), a copy object. Clipping does *not*
//! clear it: `vm_map_clip_start`/`_end` clone the entry and take a
//! reference (`vm_map_entry_clone` → `vm_object_reference`) without
//! touching the flag, because the pieces map disjoint ranges of the object.
//! That is exactly the situation in which freeing an unmapped piece, or
//! splitting a piece off at fork, is safe and worth doing.
//!
//! Follows: `sys/vm/vm_object.c` (`vm_object_shadow`, `vm_object_split`,
//! `vm_object_collapse`, `vm_object_scan_all_shadowed`,
//! `vm_object_deallocate`, `vm_object_deallocate_anon`,
//! `vm_object_backing_insert_ref`), `sys/vm/vm_fault.c` (`vm_fault_cow`),
//! `sys/vm/vm_map.c` (`vmspace_fork`, `vm_map_copy_entry`,
//! `vm_map_entry_clone`, `vm_map_entry_delete`).
//!
//! Departures, and why:
//! - Shared memory copied by a fork or `vm_copy`. FreeBSD marks the sharer's
//!   entry needs-copy, so its next write lands in a private shadow and the
//!   other sharers stop seeing it. This simulator's semantics require
//!   sharers to keep seeing each other's writes (docs/policies.md, checked
//!   by the oracle), so `freebsd` copies shared memory with the Mach delayed
//!   copy (a copy object and a push on write), like `gnumach` and `xnu`.
//!   Copy objects are not anonymous in FreeBSD's sense: never taken over,
//!   moved from, split or trimmed.
//! - Collapse stops at a blocked level and never runs at fault time, as in
//!   the modern source: `vm_object_collapse` breaks out of its loop when the
//!   backing object is not entirely shadowed, and `vm_fault`/`vm_fault_cow`
//!   never collapse.
//! - `vm_copy` and `vm_read` are Mach calls FreeBSD lacks; they take the
//!   symmetric copy without the fork-time collapse and split.
//! - No swap: collapse and bypass never need `swap_pager_copy`, and the
//!   collapse races fixed in D6085 and rS357091 cannot occur in a
//!   single-threaded model. `pmap_copy` at fork is not modelled (the child
//!   faults its pages in). Wired entries do not exist.

use crate::policy::mach::{CollapseScope, DeallocateCollapse, Mach, MachRules};

/// FreeBSD's rules.
pub const FREEBSD: MachRules = MachRules {
    shadow_shortcut: true,
    cow_move: true,
    collapse_after_copy_up: false,
    deallocate_collapse: DeallocateCollapse::SingleShadow,
    collapse_at_fork: true,
    one_mapping: true,
    bypass: true,
    collapse_scope: CollapseScope::StopAtFirstBlocked,
};

/// A fresh `freebsd` policy.
pub fn freebsd() -> Mach {
    Mach { rules: FREEBSD }
}

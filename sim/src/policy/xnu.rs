//! `xnu`: Apple XNU (osfmk/vm), the Mach 3.0 descendant inside macOS and iOS.
//!
//! Copy-on-write in plain words. Private memory is copied as in GNU Mach,
//! *symmetrically*: a fork or `vm_copy` makes no object, both sides keep
//! pointing at the same object marked *needs copy*, and the first write on
//! either side gives that side an empty shadow object and copies the page up
//! into it. XNU never skips that shadow (the `ref_count == 1` shortcut in
//! `vm_object_shadow` is compiled out, because a submap may map a singly
//! referenced object several times) and never moves a page instead of
//! copying it.
//!
//! Shared memory is different. Once `VM_INHERIT_SHARE` has given an object
//! to a second task, `vm_map_fork_share` switches it from the symmetric
//! strategy to `COPY_DELAY`: a later fork copy or `vm_copy` of it makes a
//! *copy object* that shadows the shared object, and the sharers keep
//! writing in place. Before a sharer changes a page that the copy object
//! does not have yet, the fault path *pushes* the original into the copy
//! object (`push_copy`: "we may do two copies to satisfy the fault"). A copy
//! object that has received nothing yet is still an exact snapshot, so the
//! next copy of the same object reuses it instead of making another.
//!
//! Chains stay short because collapse runs in more places than in GNU Mach
//! and does not give up at the first level it cannot shorten:
//! - after every copy-up fault, `vm_object_collapse(first_object, offset,
//!   TRUE)` merges or bypasses, level after level, down the whole chain
//!   ("try and collapse the rest of the shadow chain");
//! - `vm_object_deallocate`, when it leaves an object with exactly one
//!   reference and a shadow, calls `vm_object_collapse(object, 0, FALSE)`:
//!   that object collapses its own backing chain. It cannot bypass, since
//!   it cannot tell whether its last reference is a live mapping or a stale
//!   link, and it cannot collapse into whoever holds that reference, since
//!   objects have no pointer up the chain.
//!
//! So the object a forked child leaves behind is merged at the parent's next
//! copy-up even when a live child sits in between (the `stranding`
//! workload), where GNU Mach strands it.
//!
//! Superlinear by nature with many live children: the walk after every
//! copy-up visits every level of the chain, and with N children alive the
//! parent's chain is N objects deep (the `live-children` workload), so N
//! forks, each followed by a copy-up, cost O(N^2) levels visited, as they
//! would in the kernel. GNU Mach's walk stops at the first level it cannot
//! shorten.
//!
//! Follows: `osfmk/vm/vm_object.c` (`vm_object_copy_quickly`,
//! `vm_object_copy_delayed`, `vm_object_shadow`, `vm_object_collapse`,
//! `vm_object_deallocate`), `osfmk/vm/vm_fault.c` (`vm_fault_page`: copy-up
//! and the push loop), `osfmk/vm/vm_map.c` (`vm_map_fork`,
//! `vm_map_fork_share`, `vm_map_lookup_locked`, `vm_map_copyin_internal`),
//! at tag xnu-7195.121.3.
//!
//! Simplified: there are no pagers and no compressor, so the pager tests
//! of collapse never fire; bypass uses an exact "every visible backing page
//! is shadowed" test instead of XNU's `cow_hint` counting heuristic; the
//! physical copies XNU prefers for small copyins (at most two pages through
//! a kernel buffer) and for small copies of huge objects are not made, so
//! every `vm_copy` is virtual; `vm_map_fork_share` makes a shadow only for
//! a `needs_copy` entry (not for an object larger than the entry);
//! `pmap_copy` at share is not modelled, so the child faults its pages in;
//! `vm_copy` follows the Mach manual on misaligned arguments, where XNU
//! rounds.

use crate::policy::mach::{CollapseScope, DeallocateCollapse, Mach, MachRules};

/// XNU's rules: GNU Mach's fault path, collapse on deallocate and down the
/// whole chain.
pub const XNU: MachRules = MachRules {
    shadow_shortcut: false,
    cow_move: false,
    collapse_after_copy_up: true,
    deallocate_collapse: DeallocateCollapse::OwnChain,
    collapse_at_fork: false,
    one_mapping: false,
    bypass: true,
    collapse_scope: CollapseScope::WholeChain,
};

/// A fresh `xnu` policy.
pub fn xnu() -> Mach {
    Mach { rules: XNU }
}

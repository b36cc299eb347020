//! `gnumach`: GNU Mach, representative of CMU Mach 3.0.
//!
//! Copy-on-write in plain words: a fork or `vm_copy` of private memory makes
//! no object at all. Both sides keep pointing at the same object and are
//! marked *needs copy*; the source's page table is made read-only. The first
//! write on either side gives that side a fresh, empty *shadow* object in
//! front of the shared one, and the written page is copied up into it. GNU
//! Mach always copies at that point, even when nobody else could see the old
//! page any more ("we copy the page even if we didn't need to... that's the
//! breaks").
//!
//! Chains get long when a task forks again and again. GNU Mach shortens them
//! only right after a copy-up fault: `vm_object_collapse` merges the backing
//! object into the faulting object when nothing else references it, or
//! bypasses it when the faulting object already has every page of it, and
//! returns at the first level where it can do neither. `vm_deallocate` never
//! collapses, so an object whose other user exited stays in the middle of a
//! chain until a later copy-up reaches it (the `stranding` workload shows
//! it).
//!
//! Superlinear by nature where it strands: a run of forks whose children
//! exit after the parent's next write (the `stranding` workload, or `bgsave`
//! with one snapshot after another) leaves one more object in the parent's
//! chain each round, and the world grows with the rounds (each stranded
//! object keeps a hidden page). A fault that searches the chain for a page
//! nobody wrote since the first round walks all of it: `bgsave`'s child
//! reads the whole heap at every snapshot, so N snapshots cost O(N^2)
//! levels searched (`work.chain_steps` counts them). That is GNU Mach's
//! cost, not the simulator's; XNU and FreeBSD collapse those objects.
//!
//! Memory shared by `VM_INHERIT_SHARE` is copied with the delayed strategy
//! (a copy object that receives pages before the sharers change them), as
//! GNU Mach does for objects with `use_shared_copy`.
//!
//! Follows: GNU Mach `vm/vm_object.c` (`vm_object_shadow`,
//! `vm_object_copy_temporary`, `vm_object_copy_delayed`,
//! `vm_object_collapse`), `vm/vm_fault.c` (`vm_fault_page`), `vm/vm_map.c`
//! (`vm_map_fork`, `vm_map_lookup`, `vm_map_copyin`,
//! `vm_map_copy_overwrite`).
//!
//! Simplified: objects are made at `vm_allocate` rather than at first
//! fault; there are no pagers, so the `pager_created` test that blocks
//! collapse never fires; pmap_copy at share is not modelled (the child
//! faults its pages in).

use crate::policy::mach::{CollapseScope, DeallocateCollapse, Mach, MachRules};

/// GNU Mach's rules.
pub const GNUMACH: MachRules = MachRules {
    shadow_shortcut: false,
    cow_move: false,
    collapse_after_copy_up: true,
    deallocate_collapse: DeallocateCollapse::Never,
    collapse_at_fork: false,
    one_mapping: false,
    bypass: true,
    collapse_scope: CollapseScope::StopAtFirstBlocked,
};

/// A fresh `gnumach` policy.
pub fn gnumach() -> Mach {
    Mach { rules: GNUMACH }
}

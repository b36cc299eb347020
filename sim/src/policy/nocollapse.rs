//! `mach-nocollapse`: GNU Mach with no chain maintenance at all.
//!
//! Everything is as in `gnumach` (symmetric copy, shadow at the first write,
//! always copy up), except that no collapse or bypass ever runs. It is the
//! ablation: run a fork-heavy trace under both and the difference in chain
//! length and hidden pages is exactly what `vm_object_collapse` buys. It
//! also models the old BSD/Mach "swap leak" in spirit: objects that could
//! not be collapsed pile up.
//!
//! Superlinear by nature, on purpose: nothing ever shortens a chain, so a
//! fork-exit loop adds one object to the parent's chain every round, and
//! the faults that search the chain and the pages it hides grow with the
//! rounds: N rounds cost O(N^2). That growth is what the ablation exists to
//! show; the simulator's own bookkeeping adds O(1) per operation to it.
//!
//! Follows: GNU Mach `vm/vm_object.c` and `vm/vm_fault.c`, with
//! `vm_object_collapse` never called.

use crate::policy::mach::{CollapseScope, DeallocateCollapse, Mach, MachRules};

/// The rules: GNU Mach's, with collapse and bypass switched off.
pub const MACH_NOCOLLAPSE: MachRules = MachRules {
    shadow_shortcut: false,
    cow_move: false,
    collapse_after_copy_up: false,
    deallocate_collapse: DeallocateCollapse::Never,
    collapse_at_fork: false,
    one_mapping: false,
    bypass: false,
    collapse_scope: CollapseScope::StopAtFirstBlocked,
};

/// A fresh `mach-nocollapse` policy.
pub fn mach_nocollapse() -> Mach {
    Mach { rules: MACH_NOCOLLAPSE }
}

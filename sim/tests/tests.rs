//! Integration tests of the model, compiled as one binary.

mod support;

/// Textbook situations, each headed by the question it answers.
mod scenarios;

/// The Mach `kern_return_t` codes and their order.
mod errors;

/// The `uvm` policy: kernels.md §8.2's predictions pinned, and each UVM path.
mod policy_uvm;

/// The per-page-refcount policies (`linux`, `plan9`): kernels.md §8.2's
/// predictions, pinned.
mod policy_page_tables;

/// The Mach family (gnumach, mach-nocollapse, xnu, freebsd) on the
/// workloads of kernels.md §8.2 and the mechanisms that set them apart.
mod policy_mach_family;

/// Recorded real faults against the simulator's pmap (DESIGN.md §7).
mod fidelity;

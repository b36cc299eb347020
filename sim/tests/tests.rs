//! Integration tests of the model, compiled as one binary.

mod support;

/// Textbook situations, each headed by the question it answers.
mod scenarios;

/// The Mach `kern_return_t` codes and their order.
mod errors;

/// Address ranges at the map's maximum, past it, at 2^64 and wrapping.
mod address_bounds;

/// The `uvm` policy: its predicted counts pinned, and each UVM path.
mod policy_uvm;

/// The per-page-refcount policies (`linux`, `plan9`): their predicted
/// counts, pinned.
mod policy_page_tables;

/// The Mach family (gnumach, mach-nocollapse, xnu, freebsd) on the
/// predicted workloads and the mechanisms that set them apart.
mod policy_mach_family;

/// Recorded real faults against the simulator's pmap.
mod fidelity;

/// The kernel work counters (`report.work`, `report.work_by_op`): what
/// fork, a write after it and exit cost each design.
mod work;

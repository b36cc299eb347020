//! Integration tests of the model, compiled as one binary.

mod support;

/// Textbook situations, each headed by the question it answers.
mod scenarios;

/// The Mach `kern_return_t` codes and their order.
mod errors;

/// Recorded real faults against the simulator's pmap (DESIGN.md §7).
mod fidelity;

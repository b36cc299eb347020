//! # cowsim's model
//!
//! A simulator of virtual memory in the Mach tradition. Tasks have address
//! maps; map entries point at VM objects; objects hold pages and may
//! *shadow* another object, in which case any page they lack is looked up
//! there. Copies (`fork`, `vm_copy`, `vm_read`) are lazy: pages are shared
//! copy-on-write, and a page is copied only when someone writes it. How
//! exactly is a *policy*: the same operations run under the designs of real
//! kernels and under `eager`, which copies everything at once and serves as
//! the oracle.
//!
//! ```
//! use sim::{Config, Op, PolicyKind, Sim, TaskId};
//! use sim::op::AccessOp;
//! use sim::types::Access;
//!
//! let mut sim = Sim::new(PolicyKind::GnuMach, Config::default());
//! let (parent, child) = (TaskId(1), TaskId(2));
//! sim.apply(&Op::TaskCreate { task: parent }).unwrap();
//! sim.apply(&Op::VmAllocate { task: parent, addr: Some(0x10000), size: 0x4000, anywhere: false }).unwrap();
//! let write = |task, len| Op::Access(AccessOp { task, access: Access::Write, addr: 0x10000, len,
//!                                               value: None, expect_value: None, recorded: None });
//! sim.apply(&write(parent, 0x4000)).unwrap();   // four pages
//! sim.apply(&Op::Fork { parent, child }).unwrap();
//! sim.apply(&write(child, 0x1000)).unwrap();    // one page
//! // The child's entry now has a shadow in front of the parent's object.
//! let entry = sim.world().entry(child, sim::Vpn(0x10)).unwrap();
//! assert_eq!(sim.world().chain_length(entry.object), 2);
//! ```
//!
//! ## Glossary
//!
//! | here | Mach / XNU | FreeBSD | UVM | Linux |
//! |---|---|---|---|---|
//! | map entry | `vm_map_entry` | `vm_map_entry` | `vm_map_entry` | VMA |
//! | object | `vm_object` | `vm_object` | amap (+ uvm_object) | anon_vma / page table |
//! | shadow | `shadow` | `backing_object` | — | — |
//! | needs_copy | `needs_copy` | `MAP_ENTRY_NEEDS_COPY` | `UVM_ET_NEEDSCOPY` | write-protected PTE |
//! | pmap | `pmap` | `pmap` | `pmap` | page table |
//! | page `refs` | (always 1) | (always 1) | `an_ref` | page refcount |
//!
//! ## Not modelled
//!
//! Timing, TLBs, locking and concurrency (one thread applies one op at a
//! time, so the collapse races real kernels fought do not arise), paging out
//! and pagers (no memory pressure: a page stays resident until freed),
//! wired memory, submaps, and huge pages.
//!
//! ## Layout
//!
//! `world.rs` holds the state and its primitives; `api.rs` the operations
//! and their `kern_return_t` codes; `fault.rs` the fault path; `policy/`
//! one file per design; `event.rs` and `stats.rs` the event vocabulary and
//! the counters folded from it; `check.rs` the invariant checker;
//! `measure.rs` and `report.rs` what a run reports.

mod api;
pub mod check;
pub mod event;
pub mod fault;
pub mod ids;
pub mod map;
pub mod measure;
pub mod object;
pub mod op;
pub mod page;
pub mod pmap;
pub mod policy;
pub mod report;
pub mod sim;
pub mod stats;
pub mod types;
pub mod violation;
pub mod world;

pub use event::{Event, FaultKind};
pub use ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
pub use op::{AccessOp, Op, Recorded, TraceOp};
pub use policy::PolicyKind;
pub use report::Report;
pub use sim::{Config, Sim, SimError};
pub use types::{Access, Inheritance, KernReturn, Prot};

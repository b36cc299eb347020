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
//! let view = sim.view();
//! let entry = view.entry(child, sim::Vpn(0x10)).unwrap();
//! assert_eq!(view.chain(entry.object).count(), 2);
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
//! ## What other crates see
//!
//! A run is a [`Sim`] built from a [`PolicyKind`] and a [`Config`]: it
//! applies [`Op`]s (`op`), says what changed in [`Event`]s (`event`) and
//! sums a run up in a [`Report`] (`report`), in the vocabulary of `ids` and
//! `types`. Graphs, narrations and tests read the world through
//! [`Sim::view`] (`view`), read-only. Everything else (the world's
//! containers, the fault path, the designs, the checker, the measures) is
//! private, so it can change without breaking a viewer.
//!
//! ## Layout
//!
//! `world.rs` holds the state and its primitives; `api.rs` the operations
//! and their `kern_return_t` codes; `fault.rs` the fault path; `policy/`
//! one file per design; `event.rs` and `stats.rs` the event vocabulary and
//! the counters folded from it; `check.rs` the invariant checker;
//! `measure.rs` and `report.rs` what a run reports; `view.rs` what viewers
//! may read. `chains.rs`, `reach.rs` (over the sets of `columns.rs`) and
//! `shows_through.rs` are bookkeeping the world's primitives keep up to
//! date, so that chain lengths, hidden pages and the Mach bypass test cost
//! nothing to read; the checker compares each with a fresh count.

mod api;
mod chains;
mod check;
mod columns;
pub mod event;
mod fault;
pub mod ids;
mod map;
mod measure;
mod object;
pub mod op;
mod page;
mod pmap;
/// The designs are private: the world sees them through [`PolicyKind`].
mod policy;
mod reach;
pub mod report;
mod shows_through;
mod sim;
mod stats;
pub mod types;
pub mod view;
mod violation;
mod world;

pub use api::LARGEST_FOLIO_PAGES;
pub use event::{Event, FaultKind, WorkKind};
pub use ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
pub use object::ObjectRole;
pub use op::{AccessOp, Op, Recorded, TraceOp};
pub use policy::thp::Thp;
pub use policy::{PageCache, PolicyKind};
pub use report::Report;
pub use sim::{Config, MAX_SERIES_POINTS, Sim, SimError};
pub use types::{Access, Inheritance, KernReturn, Prot};
pub use view::WorldView;

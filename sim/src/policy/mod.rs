//! Copy-on-write policies: one trait, one file per design.
//!
//! The generic layer (`api.rs`, `fault.rs`) owns everything the Mach memory
//! API means: address checks, clipping, inheritance, the pmap hit path. A
//! policy owns only what differs between kernels: what backs a new entry,
//! what fork and `vm_copy` do to the backing, how a fault finds or makes a
//! page, and what happens when an entry lets go of its backing.
//!
//! Every design keeps its state in the same containers (`map.rs`,
//! `object.rs`, `page.rs`; docs/policies.md compares the designs): map
//! entries point at an object and an offset; objects hold page slots and may
//! shadow another object; pages carry a count of the slots that hold them.
//! The Mach family (`gnumach`, `mach-nocollapse`, `xnu` and `freebsd`,
//! over the machinery in `mach.rs`) uses objects as shadow chains with one
//! slot per page. `uvm` reads an object as an amap of shared anons over an
//! optional file object; `linux` and `plan9` (over `pagetable.rs`) as a page
//! table of reference-counted pages.
//!
//! # What the engine guarantees a policy
//!
//! - Hooks are called only on whole, already clipped entries.
//! - `fault` is called only after the map entry was found and its protection
//!   allows the access; the engine installs the pmap entry afterwards.
//! - `resolve` must answer without changing anything: the invariant checker
//!   asks it what a fault would find now.
//!
//! # What other crates see
//!
//! Only [`PolicyKind`], which names a design and builds it inside
//! [`Sim::new`](crate::Sim::new), and [`PageCache`]. The designs and their
//! trait are the simulator's business: a viewer reads what they built
//! through [`crate::view`].

use crate::event::FaultKind;
use crate::ids::{ObjectId, PageId, Pindex, TaskId, Token, Vpn};
use crate::map::MapEntry;
use crate::types::Access;
use crate::violation::Violation;
use crate::world::World;

mod anon_vma;
mod eager;
mod freebsd;
mod gnumach;
mod linux;
mod linux_odf;
mod mach;
mod nocollapse;
mod pagetable;
mod plan9;
pub mod readahead;
pub mod thp;

use readahead::FileShape;
mod uvm;
mod xnu;

/// What an entry maps: an object from some page index on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backing {
    pub object: ObjectId,
    pub offset: Pindex,
    /// The entry must get an object of its own before it is written.
    pub needs_copy: bool,
}

impl Backing {
    /// The child's entry of a fork by copy: the parent's range, protection
    /// and inheritance over this backing, private to the child.
    pub fn child_entry(self, parent: &MapEntry) -> MapEntry {
        MapEntry { shared: false, object: self.object, offset: self.offset, needs_copy: self.needs_copy, ..*parent }
    }
}

/// A fault the engine hands to a policy. Set up by the engine's check step
/// and read-only for the policy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FaultCtx {
    pub task: TaskId,
    pub vpn: Vpn,
    pub access: Access,
    /// The map entry as found; the policy may change the real one (give it a
    /// shadow, clear `needs_copy`) through the world.
    pub entry: MapEntry,
}

/// How a policy resolved a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolution {
    pub kind: FaultKind,
    /// The page the access goes to.
    pub page: PageId,
    /// May the pmap map it writable (within the entry's protection)?
    pub writable: bool,
    /// Objects searched beyond the first.
    pub depth: u32,
}

/// What an access would find right now, without changing anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The page a fault would map, if one exists yet.
    pub page: Option<PageId>,
    /// What a read would return.
    pub token: Token,
    /// Could a write go to `page` in place, with no copy or push first?
    pub writable_in_place: bool,
}

/// A copy-on-write design. See the module documentation for the contract.
/// A design does not know its own name: the simulator keeps the
/// [`PolicyKind`] it was built from.
pub(crate) trait Policy: Send {
    /// Backing for a fresh zero-fill entry of `pages` pages (`vm_allocate`).
    fn new_anonymous(&mut self, w: &mut World, pages: u64) -> Backing;

    /// Backing for a mapping of `file` from page `offset`: private mappings
    /// are copy-on-write over the file, shared ones write to it.
    fn map_file(&mut self, w: &mut World, file: ObjectId, offset: Pindex, pages: u64, private: bool) -> Backing;

    /// Fork of an entry inherited by copy: returns the child's entry and may
    /// change the parent's (passed detached; the engine stores it back).
    fn fork_copy(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry;

    /// Fork of an entry inherited by share: both entries must then see each
    /// other's writes.
    fn fork_share(&mut self, w: &mut World, parent: TaskId, entry: &mut MapEntry) -> MapEntry;

    /// Called once a fork has built the child's whole map.
    fn after_fork(&mut self, _w: &mut World, _parent: TaskId, _child: TaskId) {}

    /// The copy-in of `vm_copy`, `vm_read` and `vm_write`: a snapshot of the
    /// entry's current content, holding one reference of its own. May change
    /// the source entry (passed detached).
    fn snapshot(&mut self, w: &mut World, task: TaskId, entry: &mut MapEntry) -> Backing;

    /// The destination entry of a virtual copy (`vm_copy`, `vm_write`)
    /// takes one more reference to the snapshot's backing; `entry` is the
    /// destination as it will be stored. A design that counts references
    /// per page (UVM's `am_ppref`) needs the range; the default takes one
    /// object reference. (Clipping takes a plain object reference: it
    /// splits one range in two and changes no page's count.)
    fn reference_backing(&mut self, w: &mut World, entry: &MapEntry) {
        w.reference(entry.object);
    }

    /// Does `vm_move` carry the hardware entries (the pmap) to the new
    /// address? Linux moves its page-table entries with the mapping
    /// (`move_page_tables`), so moved pages need no fault. The other kernels
    /// have no such call: moving memory is a remap and an unmap (Mach
    /// `vm_remap`, NetBSD `uvm_mremap`), and the new range starts with no
    /// hardware entries, so each page's next access is a soft fault.
    fn moves_pmap_entries(&self) -> bool {
        false
    }

    /// The entry is being unmapped: let go of its backing.
    fn release(&mut self, w: &mut World, _task: TaskId, entry: &MapEntry) {
        w.deallocate(entry.object);
    }

    /// Resolves a fault; see `fault.rs` for the cases.
    fn fault(&mut self, w: &mut World, ctx: &FaultCtx) -> Resolution;

    /// What an access to `vpn` through `entry` would find now.
    fn resolve(&self, w: &World, entry: &MapEntry, vpn: Vpn) -> Resolved;

    /// What a real capture saw of `file`'s page cache (the `page_cache`
    /// op): its shape and the pages in memory. Only a design that models
    /// Linux's page cache keeps it (see `readahead.rs`).
    fn learn_page_cache(&mut self, _w: &mut World, _file: ObjectId, _shape: FileShape, _cached: &[(u64, u64)]) {}

    /// A `read(2)` of `pages` of `file` by `task` (the `file_read` op): the
    /// page cache fills as the design's readahead fills it. Maps nothing.
    fn file_read(&mut self, _w: &mut World, _task: Option<TaskId>, _file: ObjectId, _pages: std::ops::Range<u64>) {}

    /// The task execs or exits: what it kept per task (its open files'
    /// readahead state) goes.
    fn forget_task(&mut self, _w: &mut World, _task: TaskId) {}

    /// Invariants of this design beyond the generic ones.
    fn check(&self, _w: &World) -> Result<(), Violation> {
        Ok(())
    }
}

/// What the page cache holds when a run starts. It matters only to
/// designs that map file pages a fault did not ask for: `linux`'s
/// fault-around maps the neighbours of a file page that are already cached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PageCache {
    /// Empty: a file page is cached once some task has touched it. Right for
    /// synthetic workloads, and fair between designs.
    #[default]
    Cold,
    /// Every file page is cached, as on the machine a real capture came from
    /// (the program's libraries were read before the capture started).
    /// `cowsim compare` uses it for imported captures.
    Warm,
}

impl PageCache {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            PageCache::Cold => "cold",
            PageCache::Warm => "warm",
        }
    }
}

/// The policies, by stable name. Names appear in traces, reports, charts
/// and on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyKind {
    Eager,
    GnuMach,
    MachNoCollapse,
    Uvm,
    Linux,
    LinuxOdf,
    Plan9,
    Xnu,
    FreeBsd,
}

impl PolicyKind {
    /// Every policy, in the order reports list them.
    pub const ALL: [PolicyKind; 9] = [
        PolicyKind::Eager,
        PolicyKind::GnuMach,
        PolicyKind::MachNoCollapse,
        PolicyKind::Xnu,
        PolicyKind::FreeBsd,
        PolicyKind::Uvm,
        PolicyKind::Linux,
        PolicyKind::LinuxOdf,
        PolicyKind::Plan9,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Eager => "eager",
            PolicyKind::GnuMach => "gnumach",
            PolicyKind::MachNoCollapse => "mach-nocollapse",
            PolicyKind::Uvm => "uvm",
            PolicyKind::Linux => "linux",
            PolicyKind::LinuxOdf => "linux-odf",
            PolicyKind::Plan9 => "plan9",
            PolicyKind::Xnu => "xnu",
            PolicyKind::FreeBsd => "freebsd",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|p| p.name() == name)
    }

    /// One line on what the design does.
    pub fn summary(self) -> &'static str {
        match self {
            PolicyKind::Eager => "physical copy at fork and vm_copy; the oracle every other policy must match",
            PolicyKind::GnuMach => {
                "symmetric copy, shadow at the first write, always copy up, collapse and bypass after a copy-up fault, stop at the first level that cannot collapse"
            }
            PolicyKind::MachNoCollapse => {
                "as gnumach, but never collapses or bypasses: the ablation that shows chain growth"
            }
            PolicyKind::Uvm => {
                "two levels: an amap of reference-counted anons over an optional file; the amap is copied at the first fault after fork, an anon only while another amap still holds it"
            }
            PolicyKind::Linux => {
                "PTEs copied write-protected at fork; a write reuses an exclusive page and copies a shared one; reads of untouched anonymous memory map the zero page; a read of a file maps its cached neighbours too (fault-around)"
            }
            PolicyKind::LinuxOdf => {
                "as linux, but fork shares the last-level page tables (On-demand-fork): a table is copied at the first fault that changes it, so a fork costs a reference per 2 MiB instead of a PTE per page"
            }
            PolicyKind::Plan9 => {
                "page tables copied at fork with page references and the parent's MMU flushed; reads map read-only, a write copies a shared page"
            }
            PolicyKind::Xnu => {
                "symmetric copy for private memory, copy objects with a push on write once memory is shared, collapse after a copy-up and on deallocate, walking the whole chain"
            }
            PolicyKind::FreeBsd => {
                "no shadow for a singly referenced anonymous object, page moved instead of copied when the backing object is exclusively ours, collapse at deallocate, fork and unmap, ONEMAPPING split and freeing"
            }
        }
    }

    /// The kernel sources the design follows.
    pub fn sources(self) -> &'static str {
        match self {
            PolicyKind::Eager => "xv6 kernel/vm.c (uvmcopy)",
            PolicyKind::GnuMach => "GNU Mach vm/vm_object.c, vm/vm_fault.c, vm/vm_map.c",
            PolicyKind::MachNoCollapse => "GNU Mach vm/vm_object.c with vm_object_collapse disabled",
            PolicyKind::Uvm => {
                "NetBSD sys/uvm/uvm_amap.c, uvm_fault.c, uvm_map.c; OpenBSD sys/uvm/uvm_map.c (uvm_mapent_forkcopy, uvm_mapent_forkshared)"
            }
            PolicyKind::Linux => {
                "Linux mm/memory.c (do_wp_page, wp_can_reuse_anon_folio, copy_present_pte, vma_needs_copy, do_anonymous_page, do_fault_around), mm/filemap.c (filemap_map_pages), mm/rmap.c"
            }
            PolicyKind::LinuxOdf => {
                "Zhao, Gong, Fonseca, On-demand-fork (EuroSys 2021); Linux mm/memory.c (copy_pte_range, copy_present_pte)"
            }
            PolicyKind::Plan9 => {
                "Plan 9 port/fault.c (fixfault), port/segment.c (dupseg, ptecpy), port/sysproc.c (sysrfork)"
            }
            PolicyKind::Xnu => "Apple XNU osfmk/vm/vm_object.c, vm_fault.c, vm_map.c",
            PolicyKind::FreeBsd => "FreeBSD sys/vm/vm_object.c, vm_fault.c, vm_map.c",
        }
    }

    /// Does the design's pmap keep a pv entry for every mapping of a page
    /// (its reverse map)? The Mach family (`pmap_enter` → `pmap_pv_*`), the
    /// BSDs (`pmap_insert_pv_entry`, UVM's `pmap_enter_pv`) do; Linux's
    /// reverse map is per VMA (`anon_vma`), Plan 9 has none, and `eager`
    /// models no pmap costs.
    pub fn keeps_pv_entries(self) -> bool {
        matches!(
            self,
            PolicyKind::GnuMach | PolicyKind::MachNoCollapse | PolicyKind::Xnu | PolicyKind::FreeBsd | PolicyKind::Uvm
        )
    }

    /// Does the design model transparent huge pages (the `thp` setting)?
    pub fn models_huge_pages(self) -> bool {
        matches!(self, PolicyKind::Linux | PolicyKind::LinuxOdf)
    }

    /// A fresh instance of the policy for a run whose page cache starts as
    /// `cache` and whose anonymous memory gets huge pages as `thp` says
    /// (only `linux` and `linux-odf` read either).
    pub(crate) fn build(self, config: &crate::sim::Config) -> Box<dyn Policy> {
        match self {
            PolicyKind::Eager => Box::new(eager::Eager),
            PolicyKind::GnuMach => Box::new(gnumach::gnumach()),
            PolicyKind::MachNoCollapse => Box::new(nocollapse::mach_nocollapse()),
            PolicyKind::Uvm => Box::new(uvm::Uvm::default()),
            PolicyKind::Linux => Box::new(linux::linux(config)),
            PolicyKind::LinuxOdf => Box::new(linux_odf::linux_odf(config)),
            PolicyKind::Plan9 => Box::new(plan9::plan9()),
            PolicyKind::Xnu => Box::new(xnu::xnu()),
            PolicyKind::FreeBsd => Box::new(freebsd::freebsd()),
        }
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

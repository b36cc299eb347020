//! What the sim benches share: the shapes they build (a task with a touched
//! region, a chain of a given depth) and the ops they apply, through `sim`'s
//! public API only, so the benches keep compiling while the internals move.

// Each bench binary includes this module and uses a different part of it.
#![allow(dead_code)]

use sim::{Access, AccessOp, Config, KernReturn, Op, PolicyKind, Sim, TaskId};

pub const PAGE_SIZE: u64 = 4096;
/// Where every bench maps its memory: any page-aligned user address would do.
pub const REGION: u64 = 0x1000_0000;
/// The task every bench starts from; children are numbered after it.
pub const PARENT: TaskId = TaskId(1);

/// The `n`th child of [`PARENT`] (from 0).
pub fn child(n: u64) -> TaskId {
    TaskId(2 + u32::try_from(n).expect("fewer than 2^32 children"))
}

/// A run with nothing but the model: no invariant checker (a bench measures
/// the designs, not the checker) and no sampling of the time series until
/// `finish` (the sampling bench measures that on its own).
pub fn quiet_config() -> Config {
    Config::default().check_invariants(false).sample_every(u64::MAX)
}

/// `access` of `pages` pages from page `first_page` of the region.
pub fn access(task: TaskId, access: Access, first_page: u64, pages: u64) -> Op {
    Op::Access(AccessOp {
        task,
        access,
        addr: REGION + first_page * PAGE_SIZE,
        len: pages * PAGE_SIZE,
        value: None,
        expect_value: None,
        recorded: None,
    })
}

pub fn write(task: TaskId, first_page: u64, pages: u64) -> Op {
    access(task, Access::Write, first_page, pages)
}

pub fn read(task: TaskId, first_page: u64, pages: u64) -> Op {
    access(task, Access::Read, first_page, pages)
}

/// One write op per page, as a real program takes one fault per page and
/// the importers write one op per page.
pub fn page_by_page_writes(task: TaskId, first_page: u64, pages: u64) -> Vec<Op> {
    (first_page..first_page + pages).map(|page| write(task, page, 1)).collect()
}

/// Applies `op` and insists it succeeded: a bench whose ops failed would
/// measure an error path.
pub fn apply(sim: &mut Sim, op: &Op) {
    match sim.apply(op) {
        Ok(KernReturn::Success) => {}
        other => panic!("{} under {}: {other:?}", op.name(), sim.policy_name()),
    }
}

pub fn apply_all(sim: &mut Sim, ops: &[Op]) {
    for op in ops {
        apply(sim, op);
    }
}

/// [`PARENT`] with `pages` pages allocated at [`REGION`] and every one
/// written, so each is resident and mapped writable.
pub fn parent_with_touched_region(policy: PolicyKind, pages: u64) -> Sim {
    parent_with_touched_region_under(policy, quiet_config(), pages)
}

/// As [`parent_with_touched_region`], with other settings.
pub fn parent_with_touched_region_under(policy: PolicyKind, config: Config, pages: u64) -> Sim {
    let mut sim = Sim::new(policy, config);
    apply(&mut sim, &Op::TaskCreate { task: PARENT });
    let allocate = Op::VmAllocate { task: PARENT, addr: Some(REGION), size: pages * PAGE_SIZE, anywhere: false };
    apply(&mut sim, &allocate);
    apply(&mut sim, &write(PARENT, 0, pages));
    sim
}

/// A parent `depth` forks deep: pages `[0, depth)` are the levels' own,
/// pages `[depth, depth + pages_below)` were written before the first fork
/// and so live only at the bottom of the chain.
///
/// Each level is one fork whose child stays alive (so no level may be
/// collapsed away) followed by a parent write of one page of its own (so
/// the Mach family puts a new shadow in front, and that shadow holds a
/// page the one above it lacks, so no level may be bypassed either). Under
/// the Mach family the parent's chain is then `depth + 1` objects and a
/// write to a page below walks past `depth` of them; the other designs keep
/// one level and count references instead.
pub fn parent_at_chain_depth(policy: PolicyKind, depth: u64, pages_below: u64) -> Sim {
    let mut sim = parent_with_touched_region(policy, depth + pages_below);
    for level in 0..depth {
        apply(&mut sim, &Op::Fork { parent: PARENT, child: child(level) });
        apply(&mut sim, &write(PARENT, level, 1));
    }
    sim
}

//! Each probe's *twin*: the same experiment written as simulator ops, run
//! under `linux`, so the derivation knows what the simulator counts for
//! the probe's timed part (how many faults of each kind, PTEs copied, TLB
//! flushes...). A cost is then what the measured time leaves after the
//! costs already known, per unit the twin counted (see `derive.rs`).
//!
//! A twin is a set-up and a timed part. What the timed part counted is the
//! difference between a run of both and a run of the set-up alone.

use sim::{Access, AccessOp, Config, Op, PageCache, PolicyKind, Sim, TaskId};

use crate::costs::Quantities;
use crate::costs::predict::{add, run_quantities};

/// The probing process.
pub const PARENT: TaskId = TaskId(1);
/// The child a fork makes.
pub const CHILD: TaskId = TaskId(2);
/// A task started without memory of its own (`posix_spawn`, vfork).
pub const SPAWNED: TaskId = TaskId(3);

/// Where the twins put the region they work on: 2 MiB-aligned.
const REGION: u64 = 0x4000_0000;

/// Bytes per page in the twins (the simulator's default, and this
/// machine's).
pub const PAGE: u64 = 4096;

/// Pages one page-table leaf maps.
pub const LEAF_PAGES: u64 = 512;

/// A probe's experiment as ops.
#[derive(Clone, Debug, Default)]
pub struct Twin {
    pub setup: Vec<Op>,
    pub timed: Vec<Op>,
    /// Run with every file page cached, as the probe's memory file is.
    pub warm_page_cache: bool,
}

impl Twin {
    fn new(setup: Vec<Op>, timed: Vec<Op>) -> Twin {
        Twin { setup, timed, warm_page_cache: false }
    }

    /// What the simulator counts for the timed part, under `linux`.
    pub fn quantities(&self) -> Quantities {
        let mut counted = run(&[&self.setup[..], &self.timed[..]].concat(), self.warm_page_cache);
        add(&mut counted, &run(&self.setup, self.warm_page_cache), -1.0);
        counted.retain(|_, count| *count != 0.0);
        counted
    }
}

/// What a run of `ops` under `linux` counts. The invariant checker is off:
/// twins run a gibibyte of pages.
fn run(ops: &[Op], warm_page_cache: bool) -> Quantities {
    let cache = if warm_page_cache { PageCache::Warm } else { PageCache::Cold };
    let config = Config::default().check_invariants(false).sample_every(u64::MAX).page_cache(cache);
    let mut sim = Sim::new(PolicyKind::Linux, config);
    for op in ops {
        if let Err(error) = sim.apply(op) {
            panic!("a calibration twin is a valid trace, but {op:?} failed: {error}");
        }
    }
    run_quantities(&sim.finish("twin"))
}

// --- Ops -----------------------------------------------------------------

fn access(task: TaskId, access: Access, page: u64, pages: u64) -> Op {
    Op::Access(AccessOp {
        task,
        access,
        addr: REGION + page * PAGE,
        len: pages * PAGE,
        value: None,
        expect_value: None,
        recorded: None,
    })
}

fn write(task: TaskId, page: u64, pages: u64) -> Op {
    access(task, Access::Write, page, pages)
}

fn read(task: TaskId, page: u64, pages: u64) -> Op {
    access(task, Access::Read, page, pages)
}

fn allocate(page: u64, pages: u64) -> Op {
    Op::VmAllocate { task: PARENT, addr: Some(REGION + page * PAGE), size: pages * PAGE, anywhere: false }
}

fn deallocate(pages: u64) -> Op {
    Op::VmDeallocate { task: PARENT, addr: REGION, size: pages * PAGE }
}

fn protect_read_only(pages: u64) -> Op {
    Op::VmProtect { task: PARENT, addr: REGION, size: pages * PAGE, prot: sim::Prot::READ, set_max: false }
}

fn map_file(page: u64, pages: u64) -> Op {
    Op::VmMap {
        task: PARENT,
        addr: Some(REGION + page * PAGE),
        size: pages * PAGE,
        anywhere: false,
        file: "memfd".into(),
        offset: 0,
        private: true,
        prot: sim::Prot::READ,
    }
}

fn start() -> Vec<Op> {
    vec![Op::TaskCreate { task: PARENT }]
}

fn fork() -> Op {
    Op::Fork { parent: PARENT, child: CHILD }
}

/// The parent with `pages` pages allocated and written.
fn touched(pages: u64) -> Vec<Op> {
    let mut ops = start();
    ops.extend([allocate(0, pages), write(PARENT, 0, pages)]);
    ops
}

// --- The twins --------------------------------------------------------------

/// The twin of the probe called `probe` (as `Measured::probes` names it)
/// run over `count` units; `None` for a probe without one (the memory
/// copy and zeroing rates, which are not simulator work).
pub fn of_probe(probe: &str, count: u64) -> Option<Twin> {
    Some(match probe {
        "present_reads" => present_reads(count),
        "mmap" => map(count),
        "munmap_untouched" => unmap(count, false),
        "munmap_touched" => unmap(count, true),
        "mprotect_untouched" => protect(count, false),
        "mprotect_touched" => protect(count, true),
        "madvise" => advise(),
        "first_writes" => first_writes(count),
        "first_writes_one_per_leaf" => first_writes_one_per_leaf(count),
        "first_reads" => first_reads(count),
        "writes_shared_with_child" => writes_shared_with_child(count),
        "writes_after_child_exit" => writes_after_child_exit(count),
        "file_reads_one_page_each" => file_reads_one_page_each(count),
        "file_reads_one_per_window" => file_reads_one_per_window(count, FAULT_AROUND_PAGES),
        "fork_touched" => fork_of_touched(count, false),
        "fork_touched_read_only" => fork_of_touched(count, true),
        "fork_bare" => fork_with_mappings(0, false),
        "fork_with_mappings" => fork_with_mappings(count, false),
        "fork_with_touched_mappings" => fork_with_mappings(count, true),
        "vfork_exit" => spawn(),
        _ => return None,
    })
}

/// Linux's fault-around window, in pages (`fault_around_bytes`, 64 KiB).
pub const FAULT_AROUND_PAGES: u64 = 16;

/// `present_reads`: a read of `pages` pages already written.
pub fn present_reads(pages: u64) -> Twin {
    Twin::new(touched(pages), vec![read(PARENT, 0, pages)])
}

/// `mmap`: one anonymous mapping.
pub fn map(pages: u64) -> Twin {
    Twin::new(start(), vec![allocate(0, pages)])
}

/// `munmap_untouched` and `munmap_touched`.
pub fn unmap(pages: u64, touched_first: bool) -> Twin {
    let setup = if touched_first { touched(pages) } else { [start(), vec![allocate(0, pages)]].concat() };
    Twin::new(setup, vec![deallocate(pages)])
}

/// `mprotect_untouched` and `mprotect_touched`.
pub fn protect(pages: u64, touched_first: bool) -> Twin {
    let setup = if touched_first { touched(pages) } else { [start(), vec![allocate(0, pages)]].concat() };
    Twin::new(setup, vec![protect_read_only(pages)])
}

/// `madvise`: a call that changes nothing, written as `vm_inherit` of one
/// page to what it already is.
pub fn advise() -> Twin {
    let setup = [start(), vec![allocate(0, 1)]].concat();
    let same = Op::VmInherit { task: PARENT, addr: REGION, size: PAGE, inherit: sim::Inheritance::Copy };
    Twin::new(setup, vec![same])
}

/// `first_writes`: a write to `pages` fresh pages.
pub fn first_writes(pages: u64) -> Twin {
    Twin::new([start(), vec![allocate(0, pages)]].concat(), vec![write(PARENT, 0, pages)])
}

/// `first_writes_one_per_leaf`: a write to one page in each of `leaves`
/// fresh 2 MiB spans.
pub fn first_writes_one_per_leaf(leaves: u64) -> Twin {
    let setup = [start(), vec![allocate(0, leaves * LEAF_PAGES)]].concat();
    Twin::new(setup, (0..leaves).map(|leaf| write(PARENT, leaf * LEAF_PAGES, 1)).collect())
}

/// `first_reads`: a read of `pages` fresh pages.
pub fn first_reads(pages: u64) -> Twin {
    Twin::new([start(), vec![allocate(0, pages)]].concat(), vec![read(PARENT, 0, pages)])
}

/// `writes_shared_with_child`: the parent writes its `pages` pages while
/// a forked child shares them.
pub fn writes_shared_with_child(pages: u64) -> Twin {
    let setup = [touched(pages), vec![fork()]].concat();
    Twin::new(setup, vec![write(PARENT, 0, pages)])
}

/// `writes_after_child_exit`: the same after the child exited.
pub fn writes_after_child_exit(pages: u64) -> Twin {
    let setup = [touched(pages), vec![fork(), Op::Exit { task: CHILD }]].concat();
    Twin::new(setup, vec![write(PARENT, 0, pages)])
}

/// `file_reads_one_page_each`: `maps` one-page shared mappings of a
/// cached file page, each read once.
pub fn file_reads_one_page_each(maps: u64) -> Twin {
    // A hole between the mappings, as the kernel places separate mmaps.
    let setup = [start(), (0..maps).map(|index| map_file(2 * index, 1)).collect()].concat();
    let timed = (0..maps).map(|index| read(PARENT, 2 * index, 1)).collect();
    Twin { warm_page_cache: true, ..Twin::new(setup, timed) }
}

/// `file_reads_one_per_window`: one read in each `window`-page window of
/// a shared mapping of a cached file.
pub fn file_reads_one_per_window(windows: u64, window: u64) -> Twin {
    let setup = [start(), vec![map_file(0, windows * window)]].concat();
    let timed = (0..windows).map(|index| read(PARENT, index * window, 1)).collect();
    Twin { warm_page_cache: true, ..Twin::new(setup, timed) }
}

/// `fork_touched` and `fork_touched_read_only`: a fork of a parent whose
/// `pages` pages are written, made read-only before the fork or not.
pub fn fork_of_touched(pages: u64, read_only: bool) -> Twin {
    let mut setup = touched(pages);
    if read_only {
        setup.push(protect_read_only(pages));
    }
    Twin::new(setup, vec![fork()])
}

/// The fork curve's fork: the parent has a region of `region` pages of
/// which the first `pages` are written.
pub fn fork_of_region(region: u64, pages: u64) -> Twin {
    Twin::new(region_touched(region, pages), vec![fork()])
}

/// The fork curve's round trip less its fork: the child's exit.
pub fn exit_after_fork(region: u64, pages: u64) -> Twin {
    Twin::new([region_touched(region, pages), vec![fork()]].concat(), vec![Op::Exit { task: CHILD }])
}

/// A fork, then the child execs and exits (what `fork_exec_wait` does).
pub fn fork_exec_exit(region: u64, pages: u64) -> Twin {
    let timed = vec![fork(), Op::Exec { task: CHILD }, Op::Exit { task: CHILD }];
    Twin::new(region_touched(region, pages), timed)
}

/// A fork, then the child exits (what `fork_exit_wait` does).
pub fn fork_exit(region: u64, pages: u64) -> Twin {
    Twin::new(region_touched(region, pages), vec![fork(), Op::Exit { task: CHILD }])
}

/// `posix_spawn` as a trace has it: a new task, its exec, its exit.
pub fn spawn_exec_exit(region: u64, pages: u64) -> Twin {
    let timed = vec![Op::TaskCreate { task: SPAWNED }, Op::Exec { task: SPAWNED }, Op::Exit { task: SPAWNED }];
    Twin::new(region_touched(region, pages), timed)
}

/// `vfork_exit`: a task that shares its parent's memory, from its start
/// to its reaping. Its exit is not a twin's `exit`: `ops.exit` is priced
/// on a forked child, whose exit tears down a copy of the parent's
/// address space, and a task started without memory has none; so the
/// whole round trip is the task's creation.
pub fn spawn() -> Twin {
    Twin::new(start(), vec![Op::TaskCreate { task: SPAWNED }])
}

/// `fork_with_mappings` and `fork_with_touched_mappings`: a fork of a
/// parent with `count` one-page mappings, a hole between each two,
/// written or not; with `count` 0, the bare fork they are measured
/// against.
pub fn fork_with_mappings(count: u64, touched_first: bool) -> Twin {
    let mut setup = start();
    for index in 0..count {
        setup.push(allocate(2 * index, 1));
        if touched_first {
            setup.push(write(PARENT, 2 * index, 1));
        }
    }
    Twin::new(setup, vec![fork()])
}

/// The parent with a region of `region` pages, the first `pages` written.
fn region_touched(region: u64, pages: u64) -> Vec<Op> {
    let mut ops = [start(), vec![allocate(0, region)]].concat();
    if pages > 0 {
        ops.push(write(PARENT, 0, pages));
    }
    ops
}

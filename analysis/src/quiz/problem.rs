//! The small traces `cowsim quiz` asks about, one shape per kind of
//! question.
//!
//! A problem must fit on a page and in a student's head: 4 to 12 ops, at
//! most 3 tasks, every address inside one window of 8 pages, and a `fork`
//! or `vm_copy` followed by a write that copy-on-write has to handle (a
//! copy that nobody writes teaches nothing). Random traces rarely have that
//! shape (the `random` generator's traces are built to break the model, not
//! to be worked by hand), so each kind has its own small script here, with
//! the numbers (how many pages, which task writes which page, how many
//! forks) drawn from the seed.
//!
//! The trace depends only on the seed and the kind, never on the policy:
//! a class can work one problem under several designs and compare.

use sim::op::AccessOp;
use sim::{Access, Op, Prot, TaskId, TraceOp};
use workloads::generators::script::{GenRng, PAGE};

use super::Kind;

/// The window's first address. Every op of a problem stays inside
/// `[WINDOW, WINDOW + WINDOW_PAGES pages)`, so a student can draw it.
pub const WINDOW: u64 = 0x100000;
/// The pages of the window.
pub const WINDOW_PAGES: u64 = 8;
/// The longest a problem may be.
pub const MAX_OPS: usize = 12;
/// The most tasks a problem names.
pub const MAX_TASKS: u32 = 3;

/// The ops of a problem being written, with what a script needs to know to
/// keep them sensible (which tasks are alive).
struct Builder {
    ops: Vec<TraceOp>,
    live: Vec<TaskId>,
}

fn page(n: u64) -> u64 {
    WINDOW + n * PAGE
}

impl Builder {
    fn new() -> Builder {
        Builder { ops: Vec::new(), live: Vec::new() }
    }

    fn push(&mut self, op: Op) {
        self.ops.push(TraceOp { op, expect: None });
    }

    fn create(&mut self, task: u32) {
        self.push(Op::TaskCreate { task: TaskId(task) });
        self.live.push(TaskId(task));
    }

    fn fork(&mut self, parent: u32, child: u32) {
        self.push(Op::Fork { parent: TaskId(parent), child: TaskId(child) });
        self.live.push(TaskId(child));
    }

    fn exit(&mut self, task: u32) {
        self.push(Op::Exit { task: TaskId(task) });
        self.live.retain(|t| t.0 != task);
    }

    fn allocate(&mut self, task: u32, first: u64, pages: u64) {
        self.push(Op::VmAllocate { task: TaskId(task), addr: Some(page(first)), size: pages * PAGE, anywhere: false });
    }

    fn access(&mut self, task: u32, access: Access, first: u64, pages: u64) {
        self.push(Op::Access(AccessOp {
            task: TaskId(task),
            access,
            addr: page(first),
            len: pages * PAGE,
            value: None,
            expect_value: None,
            recorded: None,
        }));
    }

    fn write(&mut self, task: u32, first: u64, pages: u64) {
        self.access(task, Access::Write, first, pages);
    }

    fn read(&mut self, task: u32, first: u64, pages: u64) {
        self.access(task, Access::Read, first, pages);
    }

    fn copy(&mut self, task: u32, src: u64, pages: u64, dst: u64) {
        self.push(Op::VmCopy { task: TaskId(task), src: page(src), size: pages * PAGE, dst: page(dst) });
    }

    fn len(&self) -> usize {
        self.ops.len()
    }

    /// A live task other than `but`, if there is one.
    fn other_live(&self, rng: &mut GenRng, but: u32) -> Option<u32> {
        let others: Vec<u32> = self.live.iter().map(|t| t.0).filter(|t| *t != but).collect();
        (!others.is_empty()).then(|| others[rng.below(others.len() as u64) as usize])
    }

    fn any_live(&self, rng: &mut GenRng) -> u32 {
        self.live[rng.below(self.live.len() as u64) as usize].0
    }
}

/// The trace of a problem of `kind` for `seed`.
pub fn problem(kind: Kind, seed: u64) -> Vec<TraceOp> {
    let mut rng = GenRng::new(seed);
    let mut b = Builder::new();
    match kind {
        Kind::Fork => fork(&mut rng, &mut b),
        Kind::VmCopy => vm_copy(&mut rng, &mut b),
        Kind::Chain => chain(&mut rng, &mut b),
        Kind::Refcount => refcount(&mut rng, &mut b),
        Kind::Errors => errors(&mut rng, &mut b),
    }
    debug_assert!((4..=MAX_OPS).contains(&b.len()), "{kind:?} seed {seed}: {} ops", b.len());
    b.ops
}

/// Task 1 allocates `pages` pages and writes the first `written`: memory
/// with something in it, and (when `written < pages`) pages that a later
/// access must zero-fill.
fn setup(rng: &mut GenRng, b: &mut Builder, pages: u64) -> u64 {
    b.create(1);
    b.allocate(1, 0, pages);
    let written = if rng.below(3) == 0 { rng.between(1, pages) } else { pages };
    b.write(1, 0, written);
    written
}

/// A fork, then a few accesses by parent and child: who copies what.
fn fork(rng: &mut GenRng, b: &mut Builder) {
    let pages = rng.between(2, 5);
    let written = setup(rng, b, pages);
    b.fork(1, 2);
    // The write that copy-on-write must handle, somewhere in the first
    // three accesses after the fork.
    let cow_at = rng.below(3);
    let accesses = rng.between(3, 6);
    for i in 0..accesses {
        let task = if rng.below(2) == 0 { 1 } else { 2 };
        if i == cow_at {
            b.write(task, rng.below(written), 1);
        } else if rng.below(3) == 0 {
            let first = rng.below(pages);
            b.read(task, first, rng.between(1, pages - first));
        } else {
            b.write(task, rng.below(pages), 1);
        }
    }
}

/// A `vm_copy` inside task 1, then writes to the source and the copy: which
/// side keeps the original, and where the copies land.
fn vm_copy(rng: &mut GenRng, b: &mut Builder) {
    let pages = rng.between(4, WINDOW_PAGES);
    b.create(1);
    b.allocate(1, 0, pages);
    let count = rng.between(1, pages / 2);
    let written = rng.between(count, pages - count);
    b.write(1, 0, written);
    // Mostly apart; one copy in four overlaps its source, the hard case.
    let dst =
        if count > 1 && rng.below(4) == 0 { rng.between(1, count - 1) } else { rng.between(count, pages - count) };
    b.copy(1, 0, count, dst);
    let fork_too = rng.below(3) == 0;
    let accesses = rng.between(2, 5);
    for i in 0..accesses {
        if i == 0 {
            // Copy-on-write has work to do at once: a write to either side.
            let target = if rng.below(2) == 0 { rng.below(count) } else { dst + rng.below(count) };
            b.write(1, target, 1);
            continue;
        }
        if fork_too && i == 1 {
            b.fork(1, 2);
            continue;
        }
        let task = b.any_live(rng);
        let target = if rng.below(2) == 0 { rng.below(count) } else { dst + rng.below(count) };
        if rng.below(3) == 0 { b.read(task, target, 1) } else { b.write(task, target, 1) }
    }
}

/// Forks while the parent keeps writing: how long do chains get, and what
/// does a child's exit leave behind?
fn chain(rng: &mut GenRng, b: &mut Builder) {
    let pages = rng.between(2, 4);
    let written = setup(rng, b, pages);
    let rounds = rng.between(2, 3);
    for round in 0..rounds {
        let child = 2 + round as u32;
        if child > MAX_TASKS {
            break;
        }
        b.fork(1, child);
        // A page that holds something, so the write copies.
        b.write(1, rng.below(written), 1);
        if b.len() < MAX_OPS - 1 && rng.below(2) == 0 {
            if rng.below(2) == 0 { b.write(child, rng.below(pages), 1) } else { b.read(child, 0, pages) }
        }
    }
    // A child that exits leaves the chain to shorten, or not.
    if b.len() < MAX_OPS - 1 && rng.below(2) == 0 {
        let child = 2 + rng.below(u64::from(rounds.min(2) as u32)) as u32;
        b.exit(child);
        b.write(1, rng.below(pages), 1);
    }
}

/// Two forks and writes by each task: how many page tables (or amap slots)
/// hold each page, in the designs that count references per page.
fn refcount(rng: &mut GenRng, b: &mut Builder) {
    let pages = rng.between(2, 4);
    let written = setup(rng, b, pages);
    b.fork(1, 2);
    b.write(if rng.below(2) == 0 { 1 } else { 2 }, rng.below(written), 1);
    let parent = if rng.below(2) == 0 { 1 } else { 2 };
    b.fork(parent, 3);
    let accesses = rng.between(2, 4);
    for _ in 0..accesses {
        let task = b.any_live(rng);
        if rng.below(4) == 0 { b.read(task, 0, pages) } else { b.write(task, rng.below(pages), 1) }
    }
}

/// A fork and writes, among ops that fail: which `kern_return_t` each op
/// returns, and why the failures change nothing.
fn errors(rng: &mut GenRng, b: &mut Builder) {
    let pages = rng.between(2, 5);
    b.create(1);
    b.allocate(1, 0, pages);
    b.write(1, 0, pages);
    // One read-only page, so that a write to it is a protection failure.
    let read_only = rng.below(pages);
    b.push(Op::VmProtect { task: TaskId(1), addr: page(read_only), size: PAGE, prot: Prot::READ, set_max: false });
    b.fork(1, 2);
    let mut writable: Vec<u64> = (0..pages).filter(|p| *p != read_only).collect();
    if writable.is_empty() {
        writable.push(0);
    }
    let cow_page = writable[rng.below(writable.len() as u64) as usize];
    let mut steps: Vec<u64> = (0..6).collect();
    rng.shuffle(&mut steps);
    let wanted = rng.between(3, 5) as usize;
    for (i, step) in steps.into_iter().take(wanted).enumerate() {
        if i == 1 {
            b.write(2, cow_page, 1);
        }
        let task = b.any_live(rng);
        match step {
            0 => b.write(task, read_only, 1),
            // The page past the allocation is a hole: a segmentation fault.
            1 => b.access(task, if rng.below(2) == 0 { Access::Read } else { Access::Write }, pages, 1),
            // A source that is not page-aligned.
            2 => b.push(Op::VmCopy { task: TaskId(task), src: WINDOW + 0x800, size: PAGE, dst: page(pages - 1) }),
            // Memory already there.
            3 => b.allocate(task, rng.below(pages), 1),
            // A range that runs into the hole past the allocation.
            4 => b.push(Op::VmDeallocate { task: TaskId(task), addr: page(pages - 1), size: 2 * PAGE }),
            _ => {
                let other = b.other_live(rng, task).unwrap_or(task);
                b.write(other, cow_page, 1);
            }
        }
    }
    if wanted < 2 {
        b.write(2, cow_page, 1);
    }
}

//! `random`: a random mix of every operation, error cases included, for
//! stress and for the differential oracle on longer runs than the
//! property test makes.
//!
//! Demonstrates **nothing in particular, everything at once**: forks,
//! execs and exits of random tasks, allocations and deallocations that
//! collide, protections and inheritances that change under live mappings,
//! overlapping and misaligned `vm_copy`s, `vm_read`/`vm_write` between
//! random tasks, private and shared file mappings, and accesses that
//! fault, hit, copy or fail. Every policy must return the same codes and
//! read the same data as `eager`.
//!
//! The trace: task 1 allocates the whole window and writes half of it.
//! Then each of `ops` steps makes one op. With probability `errors` it is a
//! deliberate error whose code is certain in any state — an address past
//! the end of the map, `vm_allocate` at address 0, a misaligned file
//! offset, an access to the null page — and carries that code as its
//! `expect`. Otherwise it is a random op on random live tasks, with
//! addresses in a window of `pages` pages (and, now and then, an
//! unaligned one); its code is whatever the state makes it. Tasks are
//! created and forked up to `tasks` alive at once; when none is alive, a
//! new one is created.
//!
//! **Small problems.** With `ops` at 16 or fewer the trace is meant to be
//! read by a person (a homework problem, a bug report), and a mix drawn for
//! stress would waste it on ops that fail: so the first random op is a
//! `fork` (or, with `tasks=1`, a `vm_copy` inside the window), the second a
//! write that copy-on-write must handle, every range fits in the window,
//! and at most one op is a deliberate error. The ops are then forks,
//! exits, `vm_copy`s, reads and writes, and now and then a protection or
//! an inheritance change: what a student can follow by hand.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `ops` | 5000 | random ops after the set-up; 16 or fewer make a small problem (above) |
//! | `tasks` | 8 | tasks alive at once, at most |
//! | `pages` | 32 | pages in the window the ops play in |
//! | `errors` | 0.05 | share of ops that are deliberate, certain errors |
//!
//! Memory: the list of live tasks (at most `tasks`).

use sim::{Access, Inheritance, KernReturn, Prot, TaskId};

use super::params::{Fraction, ParamSpec, Params};
use super::script::{GenRng, Out, PAGE, Script, TaskIds, pages};

pub(super) const SUMMARY: &str = "a random mix of every op, error cases included: stress for the oracle";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count(
        "ops",
        5000,
        0,
        10_000_000_000,
        "random ops after the set-up; 16 or fewer make a small problem: a fork (or vm_copy) first, then a write \
         that copy-on-write handles, ranges inside the window, at most one deliberate error",
    ),
    ParamSpec::count("tasks", 8, 1, 10_000, "tasks alive at once, at most"),
    ParamSpec::count("pages", 32, 1, 1 << 20, "pages in the window the ops play in"),
    ParamSpec::fraction("errors", 50_000, "share of ops that are deliberate, certain errors"),
];

/// The window's first address.
const WINDOW: u64 = 0x1000_0000;
/// The end of the simulated address space (`Config::default().map_max`):
/// any range starting here is illegal.
const MAP_MAX: u64 = 1 << 47;
const FILES: [&str; 3] = ["libc.so.6", "data.db", "/bin/sh"];
/// Every protection.
const PROTS: [&str; 8] = ["", "r", "w", "x", "rw", "rx", "wx", "rwx"];
const INHERITANCES: [Inheritance; 3] = [Inheritance::Share, Inheritance::Copy, Inheritance::None];
const ACCESSES: [Access; 3] = [Access::Read, Access::Write, Access::ExecFetch];
/// The most random ops a small problem has (see the module doc).
pub const SMALL_OPS: u64 = 16;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    let ops = params.count("ops");
    Box::new(Random {
        ops,
        small: ops <= SMALL_OPS,
        errors_made: 0,
        tasks: params.count("tasks") as usize,
        pages: params.count("pages"),
        errors: params.fraction("errors"),
        made: None,
        live: Vec::new(),
        ids: TaskIds::starting_at(1),
    })
}

struct Random {
    ops: u64,
    /// A trace for a person to read (see the module doc).
    small: bool,
    /// Deliberate errors made so far: a small problem has at most one.
    errors_made: u64,
    tasks: usize,
    pages: u64,
    errors: Fraction,
    /// `None` before the set-up step; then the random ops made so far.
    made: Option<u64>,
    /// The tasks alive now.
    live: Vec<TaskId>,
    ids: TaskIds,
}

/// One of `items`, at random.
fn one_of<T: Copy>(rng: &mut GenRng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

fn prot(rng: &mut GenRng) -> Prot {
    Prot::parse(one_of(rng, &PROTS)).expect("PROTS holds valid protections")
}

/// The kinds of random op and their weights.
#[derive(Clone, Copy)]
enum Kind {
    Fork,
    Exit,
    Exec,
    Create,
    Allocate,
    Deallocate,
    Protect,
    Inherit,
    Copy,
    Read,
    Write,
    Map,
    Touch,
    Mark,
}

const KINDS: [(Kind, u64); 14] = [
    (Kind::Fork, 3),
    (Kind::Exit, 2),
    (Kind::Exec, 1),
    (Kind::Create, 1),
    (Kind::Allocate, 3),
    (Kind::Deallocate, 1),
    (Kind::Protect, 2),
    (Kind::Inherit, 2),
    (Kind::Copy, 4),
    (Kind::Read, 2),
    (Kind::Write, 2),
    (Kind::Map, 2),
    (Kind::Touch, 10),
    (Kind::Mark, 1),
];

/// The kinds of a small problem: the ones a student can follow, with
/// reads and writes most of all so copies get made and seen.
const SMALL_KINDS: [(Kind, u64); 6] =
    [(Kind::Fork, 2), (Kind::Exit, 1), (Kind::Protect, 1), (Kind::Inherit, 1), (Kind::Copy, 2), (Kind::Touch, 10)];

fn pick_kind(rng: &mut GenRng, kinds: &[(Kind, u64)]) -> Kind {
    let total: u64 = kinds.iter().map(|(_, w)| w).sum();
    let mut pick = rng.below(total);
    for &(kind, weight) in kinds {
        if pick < weight {
            return kind;
        }
        pick -= weight;
    }
    unreachable!("pick_kind: {pick} is below the sum of the weights")
}

impl Random {
    fn any_task(&self, rng: &mut GenRng) -> TaskId {
        one_of(rng, &self.live)
    }

    /// A page-aligned address in the window.
    fn address(&self, rng: &mut GenRng) -> u64 {
        WINDOW + pages(rng.below(self.pages))
    }

    /// A length of 1 to 8 pages.
    fn length(&self, rng: &mut GenRng) -> u64 {
        pages(rng.between(1, 8))
    }

    /// A new task, with the window allocated and partly written so its
    /// ops find memory to work on.
    fn create(&mut self, rng: &mut GenRng, out: &mut Out) {
        let task = self.ids.fresh();
        out.task_create(task);
        self.live.push(task);
        self.fill_window(task, rng, out);
    }

    /// Allocates the whole window in `task` and writes a random part (all
    /// of it in a small problem, so that every later write copies).
    fn fill_window(&self, task: TaskId, rng: &mut GenRng, out: &mut Out) {
        out.allocate(task, WINDOW, pages(self.pages));
        if self.small {
            out.write(task, WINDOW, pages(self.pages));
            return;
        }
        let (addr, size) = (self.address(rng), self.length(rng));
        out.write(task, addr, size);
    }

    /// A range of one or two pages inside the window.
    fn small_range(&self, rng: &mut GenRng) -> (u64, u64) {
        let len = rng.between(1, self.pages.min(2));
        (WINDOW + pages(rng.below(self.pages - len + 1)), pages(len))
    }

    /// A page-aligned `vm_copy` of up to half the window, inside it (the
    /// source and the destination may overlap, as `vm_copy` allows).
    fn small_copy(&self, rng: &mut GenRng, out: &mut Out) {
        let task = self.any_task(rng);
        let len = rng.between(1, (self.pages / 2).max(1));
        let (src, dst) = (rng.below(self.pages - len + 1), rng.below(self.pages - len + 1));
        out.vm_copy(task, WINDOW + pages(src), pages(len), WINDOW + pages(dst));
    }

    /// One op of a small problem (see the module doc): the copy first, a
    /// write next, then ops a student can follow.
    fn small_op(&mut self, rng: &mut GenRng, out: &mut Out, made: u64) {
        if made == 0 {
            if self.tasks >= 2 {
                let (parent, child) = (self.any_task(rng), self.ids.fresh());
                out.fork(parent, child);
                self.live.push(child);
            } else {
                self.small_copy(rng, out);
            }
            return;
        }
        if made == 1 {
            // Every page was written at set-up, so this write must copy.
            let task = self.any_task(rng);
            out.write(task, WINDOW + pages(rng.below(self.pages)), PAGE);
            return;
        }
        let full = self.live.len() >= self.tasks;
        let kind = match pick_kind(rng, &SMALL_KINDS) {
            Kind::Fork if full => Kind::Touch,
            Kind::Exit if self.live.len() == 1 => Kind::Touch,
            kind => kind,
        };
        match kind {
            Kind::Fork => {
                let (parent, child) = (self.any_task(rng), self.ids.fresh());
                out.fork(parent, child);
                self.live.push(child);
            }
            Kind::Exit => self.exit_one(rng, out),
            Kind::Protect => {
                let (task, (addr, size)) = (self.any_task(rng), self.small_range(rng));
                let prot = if rng.below(2) == 0 { Prot::READ } else { Prot::parse("rw").expect("rw is a protection") };
                out.protect(task, addr, size, prot, false);
            }
            Kind::Inherit => {
                let (task, (addr, size)) = (self.any_task(rng), self.small_range(rng));
                out.inherit(task, addr, size, one_of(rng, &INHERITANCES));
            }
            Kind::Copy => self.small_copy(rng, out),
            _ => {
                let (task, (addr, size)) = (self.any_task(rng), self.small_range(rng));
                let access = if rng.below(2) == 0 { Access::Read } else { Access::Write };
                out.access(task, access, addr, size);
            }
        }
    }

    fn exit_one(&mut self, rng: &mut GenRng, out: &mut Out) {
        let index = rng.below(self.live.len() as u64) as usize;
        out.exit(self.live.swap_remove(index));
    }

    /// An op whose code is certain in any state, with that code expected.
    fn certain_error(&self, rng: &mut GenRng, out: &mut Out) {
        let task = self.any_task(rng);
        let size = self.length(rng);
        let code = match rng.below(6) {
            0 => {
                out.vm_copy(task, MAP_MAX + self.address(rng), size, self.address(rng));
                KernReturn::InvalidAddress
            }
            1 => {
                let misaligned = pages(rng.below(4)) + 8 * rng.between(1, 511);
                out.map_file(task, self.address(rng), size, one_of(rng, &FILES), misaligned, true, Prot::READ);
                KernReturn::InvalidArgument
            }
            2 => {
                out.allocate(task, 0, size);
                KernReturn::InvalidAddress
            }
            3 => {
                out.access(task, one_of(rng, &ACCESSES), rng.below(PAGE), 1);
                KernReturn::InvalidAddress
            }
            4 => {
                out.deallocate(task, MAP_MAX + self.address(rng), size);
                KernReturn::InvalidAddress
            }
            _ => {
                let caller = self.any_task(rng);
                out.vm_read(task, MAP_MAX + self.address(rng), size, caller, Some(self.address(rng)));
                KernReturn::InvalidAddress
            }
        };
        out.expecting(code);
    }

    /// One random op; its code is whatever the state makes it.
    fn random_op(&mut self, rng: &mut GenRng, out: &mut Out) {
        let full = self.live.len() >= self.tasks;
        let kinds: &[(Kind, u64)] = if self.small { &SMALL_KINDS } else { &KINDS };
        let kind = match pick_kind(rng, kinds) {
            Kind::Fork | Kind::Create if full => Kind::Exit,
            // The last task forks rather than exits (room permitting), so
            // the trace keeps some memory to work on.
            Kind::Exit if self.live.len() == 1 && !full => Kind::Fork,
            kind => kind,
        };
        match kind {
            Kind::Fork => {
                let parent = self.any_task(rng);
                let child = self.ids.fresh();
                out.fork(parent, child);
                self.live.push(child);
            }
            Kind::Create => self.create(rng, out),
            Kind::Exit => self.exit_one(rng, out),
            Kind::Exec => {
                // A new program, which starts by allocating its memory.
                let task = self.any_task(rng);
                out.exec(task);
                self.fill_window(task, rng, out);
            }
            Kind::Allocate => {
                let (task, addr, size) = (self.any_task(rng), self.address(rng), self.length(rng));
                out.allocate(task, addr, size);
            }
            Kind::Deallocate => {
                let (task, addr, size) = (self.any_task(rng), self.address(rng), self.length(rng));
                out.deallocate(task, addr, size);
            }
            Kind::Protect => {
                let (task, addr, size) = (self.any_task(rng), self.address(rng), self.length(rng));
                let set_max = rng.below(4) == 0;
                out.protect(task, addr, size, prot(rng), set_max);
            }
            Kind::Inherit => {
                let (task, addr, size) = (self.any_task(rng), self.address(rng), self.length(rng));
                out.inherit(task, addr, size, one_of(rng, &INHERITANCES));
            }
            Kind::Copy => {
                let task = self.any_task(rng);
                let (mut src, mut size, mut dst) = (self.address(rng), self.length(rng), self.address(rng));
                // One copy in eight is misaligned somewhere.
                match rng.below(24) {
                    0 => src += 8,
                    1 => size += 8,
                    2 => dst += 8,
                    _ => {}
                }
                out.vm_copy(task, src, size, dst);
            }
            Kind::Read => {
                let (task, caller) = (self.any_task(rng), self.any_task(rng));
                let (addr, size) = (self.address(rng), self.length(rng));
                let dst = if rng.below(8) == 0 { None } else { Some(self.address(rng)) };
                out.vm_read(task, addr, size, caller, dst);
            }
            Kind::Write => {
                let (task, caller) = (self.any_task(rng), self.any_task(rng));
                let (addr, size, src) = (self.address(rng), self.length(rng), self.address(rng));
                out.vm_write(task, addr, size, caller, src);
            }
            Kind::Map => {
                let (task, addr, size) = (self.any_task(rng), self.address(rng), self.length(rng));
                let (file, offset, private) = (one_of(rng, &FILES), pages(rng.below(4)), rng.below(2) == 0);
                out.map_file(task, addr, size, file, offset, private, prot(rng));
            }
            Kind::Touch => {
                let (task, addr, size) = (self.any_task(rng), self.address(rng), self.length(rng));
                out.access(task, one_of(rng, &ACCESSES), addr, size);
            }
            Kind::Mark => out.mark("random"),
        }
    }
}

impl Script for Random {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(made) = self.made else {
            self.create(rng, out);
            self.made = Some(0);
            return true;
        };
        if made == self.ops {
            return false;
        }
        if self.live.is_empty() {
            self.create(rng, out);
        } else if self.small {
            if made >= 2 && self.errors_made == 0 && rng.chance(self.errors) {
                self.errors_made += 1;
                self.certain_error(rng, out);
            } else {
                self.small_op(rng, out, made);
            }
        } else if rng.chance(self.errors) {
            self.certain_error(rng, out);
        } else {
            self.random_op(rng, out);
        }
        self.made = Some(made + 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use sim::{Config, Op, PolicyKind, Sim};

    use crate::generators::find;

    /// Is a small `random` trace one a person can work through: a fork or
    /// vm_copy first and a write straight after, every range inside the
    /// window, at most one deliberate error, and a replay under every
    /// policy without bad input?
    #[test]
    fn small_problems_fork_then_write_and_rarely_fail() {
        let random = find("random").unwrap();
        for seed in 0..200 {
            let (ops, tasks, pages) = (4 + seed % 13, 1 + seed % 3, 1 + seed % 8);
            let settings = [format!("ops={ops}"), format!("tasks={tasks}"), format!("pages={pages}")];
            let params = random.parse_params(&settings).unwrap();
            let trace: Vec<_> = random.generate(seed, &params).collect();
            let at = format!("seed {seed} {settings:?}");
            // The set-up is three ops; the first random op is the copy.
            assert!(matches!(trace[3].op, Op::Fork { .. } | Op::VmCopy { .. }), "{at}: {:?}", trace[3].op);
            assert_eq!(trace[4].op.name(), "write", "{at}");
            assert!(trace.iter().filter(|t| t.expect.is_some()).count() <= 1, "{at}");
            for policy in PolicyKind::ALL {
                let mut sim = Sim::new(policy, Config::default().check_invariants(true));
                let mut failed = 0;
                for op in &trace {
                    let code = sim.apply_traced(op).unwrap_or_else(|e| panic!("{at} under {policy}: {e}"));
                    if code != sim::KernReturn::Success && op.expect.is_none() {
                        failed += 1;
                    }
                }
                // Ranges stay in the window, so what fails is a protection
                // or inheritance a student can see in the trace.
                assert!(failed * 3 <= ops, "{at} under {policy}: {failed} of {ops} ops failed");
            }
        }
    }
}

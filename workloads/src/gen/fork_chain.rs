//! `fork-chain`: generations of processes, each forking its successor and
//! exiting — a daemon that re-forks itself, or a chain of shells.
//!
//! Demonstrates **reverse-map growth in Linux**. Every fork links the
//! child's heap to every `anon_vma` of its parent's chain and gives it one
//! of its own, so without reuse the chain of generation `g` is `g + 1`
//! long and each fork costs more than the last (the unbounded growth
//! Linux 3.19 fixed by reusing an idle `anon_vma`: then every fork from
//! the third makes three links). `work.rmap_entries` counts them; the
//! Mach family shows the same story as a chain of shadow objects, which
//! its collapse keeps short.
//!
//! The trace: task 1 allocates and writes its heap; then generation `g`
//! (task `g`) forks task `g + 1`, the child writes `writes` random heap
//! pages, and the parent exits. At the end the last task reads its whole
//! heap, so the read digest covers every page.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `generations` | 64 | forks, each by the previous fork's child |
//! | `pages` | 16 | pages in the heap |
//! | `writes` | 1 | heap pages each new child writes |
//!
//! Ops: `4 + generations × (2 + writes)`.

use sim::TaskId;

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, pages};

pub(super) const SUMMARY: &str =
    "each process forks its successor and exits, generation after generation: Linux's anon_vma chains";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("generations", 64, 1, 1_000_000, "forks, each by the previous fork's child"),
    ParamSpec::count("pages", 16, 1, 1 << 20, "pages in the heap"),
    ParamSpec::count("writes", 1, 0, 1024, "heap pages each new child writes"),
];

const HEAP: u64 = 0x1000_0000;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(ForkChain {
        generations: params.count("generations"),
        pages: params.count("pages"),
        writes: params.count("writes"),
        next: None,
    })
}

struct ForkChain {
    generations: u64,
    pages: u64,
    writes: u64,
    /// `None` before the set-up step; then the next generation to fork.
    next: Option<u64>,
}

/// The task of generation `g` (the first is task 1). Generations stay
/// below 10^6, well inside u32.
fn task(generation: u64) -> TaskId {
    TaskId(generation as u32)
}

impl Script for ForkChain {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(generation) = self.next else {
            out.task_create(task(1));
            out.allocate(task(1), HEAP, pages(self.pages));
            out.write(task(1), HEAP, pages(self.pages));
            self.next = Some(1);
            return true;
        };
        if generation > self.generations + 1 {
            return false;
        }
        if generation == self.generations + 1 {
            out.read(task(generation), HEAP, pages(self.pages));
        } else {
            out.fork(task(generation), task(generation + 1));
            for _ in 0..self.writes {
                out.write(task(generation + 1), HEAP + pages(rng.below(self.pages)), pages(1));
            }
            out.exit(task(generation));
        }
        self.next = Some(generation + 1);
        true
    }
}

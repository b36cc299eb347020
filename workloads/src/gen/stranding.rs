//! `stranding`: the GNU Mach stranding case. Each
//! round the parent forks, writes while the child is alive, and only then
//! does the child exit; the parent makes no copy-up fault before its next
//! fork.
//!
//! Demonstrates **stranded middle objects**. Follow one round under
//! `gnumach`: the parent's write after the fork makes a shadow S over the
//! object O the child shares, so O has two references (the child and S).
//! The child exits and O drops to one reference — collapsible — but the
//! parent does not fault again until after the next fork, which shares S
//! with the new child (S now has two references). The parent's write then
//! makes a new top shadow whose collapse looks at S, finds two references
//! and, like GNU Mach's `vm_object_collapse`, stops there. O, with one
//! reference, is stranded under S, and the chain grows by one level every
//! round although no child needs it. XNU keeps walking the chain and also
//! collapses on deallocate, FreeBSD collapses on deallocate: both stay
//! bounded. Compare `fork-exit`, where the child exits *before* the
//! parent's write and `gnumach` keeps the chain short.
//!
//! The trace: task 1 allocates and writes its heap. Each round forks a
//! child, the parent writes `writes` random heap pages, and every child
//! that has outlived `lifetime` later forks reads `child_reads` random
//! pages and exits. The last children exit at the end and the parent reads
//! its heap (a read, so no final copy-up fault collapses the chain before
//! the report).
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `rounds` | 1000 | forks |
//! | `pages` | 64 | pages in the parent's heap |
//! | `writes` | 1 | heap pages the parent writes after each fork, while the child lives |
//! | `child_reads` | 1 | heap pages each child reads before it exits |
//! | `lifetime` | 0 | later forks each child outlives (0: it exits in its own round) |
//!
//! Memory: a queue of at most `lifetime + 1` live children.

use std::collections::VecDeque;

use sim::TaskId;

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, TaskIds, pages};

pub(super) const SUMMARY: &str =
    "fork, the parent writes, then the child exits: GNU Mach strands ref-1 objects mid-chain";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("rounds", 1000, 1, 1_000_000_000, "forks"),
    ParamSpec::count("pages", 64, 1, 1 << 20, "pages in the parent's heap"),
    ParamSpec::count("writes", 1, 0, 1024, "heap pages the parent writes after each fork, while the child lives"),
    ParamSpec::count("child_reads", 1, 0, 1024, "heap pages each child reads before it exits"),
    ParamSpec::count("lifetime", 0, 0, 1000, "later forks each child outlives (0: it exits in its own round)"),
];

const PARENT: TaskId = TaskId(1);
const HEAP: u64 = 0x1000_0000;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(Stranding {
        rounds: params.count("rounds"),
        pages: params.count("pages"),
        writes: params.count("writes"),
        child_reads: params.count("child_reads"),
        lifetime: params.count("lifetime") as usize,
        next_round: None,
        live: VecDeque::new(),
        ids: TaskIds::starting_at(2),
    })
}

struct Stranding {
    rounds: u64,
    pages: u64,
    writes: u64,
    child_reads: u64,
    lifetime: usize,
    /// `None` before the set-up step; then the next round to run.
    next_round: Option<u64>,
    /// Live children, oldest first.
    live: VecDeque<TaskId>,
    ids: TaskIds,
}

impl Stranding {
    /// The oldest child reads a little and exits.
    fn retire_oldest(&mut self, rng: &mut GenRng, out: &mut Out) {
        if let Some(child) = self.live.pop_front() {
            for _ in 0..self.child_reads {
                out.read(child, HEAP + pages(rng.below(self.pages)), pages(1));
            }
            out.exit(child);
        }
    }
}

impl Script for Stranding {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(round) = self.next_round else {
            out.task_create(PARENT);
            out.allocate(PARENT, HEAP, pages(self.pages));
            out.write(PARENT, HEAP, pages(self.pages));
            self.next_round = Some(0);
            return true;
        };
        if round < self.rounds {
            let child = self.ids.fresh();
            out.fork(PARENT, child);
            self.live.push_back(child);
            for _ in 0..self.writes {
                out.write(PARENT, HEAP + pages(rng.below(self.pages)), pages(1));
            }
            while self.live.len() > self.lifetime {
                self.retire_oldest(rng, out);
            }
            self.next_round = Some(round + 1);
        } else if !self.live.is_empty() {
            // After the last fork: the children still alive exit, oldest first.
            self.retire_oldest(rng, out);
        } else if round == self.rounds {
            out.read(PARENT, HEAP, pages(self.pages));
            self.next_round = Some(round + 1);
        } else {
            return false;
        }
        true
    }
}

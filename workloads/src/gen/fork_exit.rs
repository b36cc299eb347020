//! `fork-exit`: a parent forks a child that exits at once, then writes a
//! few pages, over and over — the loop of every Unix shell.
//!
//! Demonstrates **chain maintenance**. Each fork makes the parent's memory
//! copy-on-write; the parent's next write gives it a fresh shadow object in
//! front of the one the (now dead) child shared. Nothing needs that old
//! level any more, but only a design that collapses it gets it back:
//! `gnumach` collapses at the copy-up fault and keeps the chain at two
//! objects, `mach-nocollapse` grows it by one level a round, and designs
//! with a "only one reference left" shortcut (FreeBSD, UVM, Linux) make no
//! shadow at all.
//!
//! The trace: task 1 allocates and writes its heap; then each round forks
//! child `2 + round`, the child exits, and the parent writes `writes`
//! random heap pages (one page an op). At the end the parent reads its
//! whole heap, so the read digest covers every page.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `rounds` | 2000 | fork-exit rounds |
//! | `pages` | 64 | pages in the parent's heap |
//! | `writes` | 1 | heap pages the parent writes after each fork |
//!
//! Ops: `4 + rounds × (2 + writes)`.

use sim::TaskId;

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, pages};

pub(super) const SUMMARY: &str = "fork, the child exits at once, the parent writes (a shell's loop): chain maintenance";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("rounds", 2000, 1, 1_000_000_000, "fork-exit rounds"),
    ParamSpec::count("pages", 64, 1, 1 << 20, "pages in the parent's heap"),
    ParamSpec::count("writes", 1, 0, 1024, "heap pages the parent writes after each fork"),
];

const PARENT: TaskId = TaskId(1);
const HEAP: u64 = 0x1000_0000;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(ForkExit {
        rounds: params.count("rounds"),
        pages: params.count("pages"),
        writes: params.count("writes"),
        next_round: None,
    })
}

struct ForkExit {
    rounds: u64,
    pages: u64,
    writes: u64,
    /// `None` before the set-up step; then the next round to run.
    next_round: Option<u64>,
}

impl Script for ForkExit {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(round) = self.next_round else {
            out.task_create(PARENT);
            out.allocate(PARENT, HEAP, pages(self.pages));
            out.write(PARENT, HEAP, pages(self.pages));
            self.next_round = Some(0);
            return true;
        };
        if round > self.rounds {
            return false;
        }
        if round == self.rounds {
            out.read(PARENT, HEAP, pages(self.pages));
        } else {
            // Task ids stay below 2 + 10^9, well inside u32.
            let child = TaskId(2 + round as u32);
            out.fork(PARENT, child);
            out.exit(child);
            for _ in 0..self.writes {
                out.write(PARENT, HEAP + pages(rng.below(self.pages)), pages(1));
            }
        }
        self.next_round = Some(round + 1);
        true
    }
}

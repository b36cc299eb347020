//! `live-children`: a parent forks children that stay alive while it keeps
//! writing, then the children exit in random order.
//!
//! Demonstrates **chain depth that is needed**. After each fork the
//! parent's next write puts a new shadow in front of the object the new
//! child shares, and that child still reads through it, so under the Mach
//! family the parent's chain is N+1 objects deep with N children alive and
//! no collapse may shorten it: faults on untouched pages walk the whole
//! chain. UVM, Linux and Plan 9 keep one level and count page references
//! instead. When the children exit (in a random order, so middle levels
//! lose their last user first) the chain can be collapsed again.
//!
//! The trace: task 1 allocates and writes its heap. Each generation forks
//! `children` children; after each fork the parent writes `writes` random
//! heap pages and the new child writes `child_writes` of its own. Then
//! every child reads the whole heap (it must still see the data of its
//! fork) and exits, in a shuffled order, and the parent writes `writes`
//! pages more. At the end the parent reads its heap.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `generations` | 8 | times the parent forks a full set of children |
//! | `children` | 64 | children alive at once at the end of a generation |
//! | `pages` | 64 | pages in the parent's heap |
//! | `writes` | 4 | heap pages the parent writes after each fork |
//! | `child_writes` | 1 | heap pages each new child writes |
//!
//! Memory: one list of the live children (at most `children` ids).

use sim::TaskId;

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, TaskIds, pages};

pub(super) const SUMMARY: &str = "children stay alive while the parent keeps writing: chain depth that is needed";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("generations", 8, 1, 10_000_000, "times the parent forks a full set of children"),
    ParamSpec::count("children", 64, 1, 100_000, "children alive at once at the end of a generation"),
    ParamSpec::count("pages", 64, 1, 1 << 20, "pages in the parent's heap"),
    ParamSpec::count("writes", 4, 0, 1024, "heap pages the parent writes after each fork"),
    ParamSpec::count("child_writes", 1, 0, 1024, "heap pages each new child writes"),
];

const PARENT: TaskId = TaskId(1);
const HEAP: u64 = 0x1000_0000;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(LiveChildren {
        generations: params.count("generations"),
        children: params.count("children"),
        pages: params.count("pages"),
        writes: params.count("writes"),
        child_writes: params.count("child_writes"),
        phase: Phase::SetUp,
        live: Vec::new(),
        children_ids: TaskIds::starting_at(2),
    })
}

enum Phase {
    SetUp,
    /// Forking the children of generation `generation`.
    Forking {
        generation: u64,
    },
    /// Children of `generation` reading and exiting, last of `live` first.
    Exiting {
        generation: u64,
    },
    Finish,
    Done,
}

struct LiveChildren {
    generations: u64,
    children: u64,
    pages: u64,
    writes: u64,
    child_writes: u64,
    phase: Phase,
    /// The children alive now.
    live: Vec<TaskId>,
    children_ids: TaskIds,
}

impl LiveChildren {
    fn random_page(&self, rng: &mut GenRng) -> u64 {
        HEAP + pages(rng.below(self.pages))
    }
}

impl Script for LiveChildren {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        match self.phase {
            Phase::SetUp => {
                out.task_create(PARENT);
                out.allocate(PARENT, HEAP, pages(self.pages));
                out.write(PARENT, HEAP, pages(self.pages));
                self.phase = Phase::Forking { generation: 0 };
            }
            Phase::Forking { generation } => {
                if self.live.is_empty() {
                    out.mark(format!("generation {generation}"));
                }
                let child = self.children_ids.fresh();
                out.fork(PARENT, child);
                for _ in 0..self.writes {
                    out.write(PARENT, self.random_page(rng), pages(1));
                }
                for _ in 0..self.child_writes {
                    out.write(child, self.random_page(rng), pages(1));
                }
                self.live.push(child);
                if self.live.len() as u64 == self.children {
                    rng.shuffle(&mut self.live);
                    self.phase = Phase::Exiting { generation };
                }
            }
            Phase::Exiting { generation } => match self.live.pop() {
                Some(child) => {
                    out.read(child, HEAP, pages(self.pages));
                    out.exit(child);
                }
                None => {
                    // The parent goes on writing once its children are gone:
                    // the copy-up faults that let a design collapse the chain.
                    for _ in 0..self.writes {
                        out.write(PARENT, self.random_page(rng), pages(1));
                    }
                    self.phase = if generation + 1 < self.generations {
                        Phase::Forking { generation: generation + 1 }
                    } else {
                        Phase::Finish
                    };
                }
            },
            Phase::Finish => {
                out.read(PARENT, HEAP, pages(self.pages));
                self.phase = Phase::Done;
            }
            Phase::Done => return false,
        }
        true
    }
}

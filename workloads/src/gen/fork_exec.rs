//! `fork-exec`: a parent with a large touched heap starts a program, over
//! and over, by fork + exec or by `posix_spawn` — the experiment of "A
//! fork() in the road" (Baumann et al., HotOS 2019, figure 1).
//!
//! Demonstrates **what fork costs as a process grows**. A fork that copies
//! page tables (`linux`) does work in proportion to the parent's touched
//! memory even though the child throws it all away at its exec; the Mach
//! family and the BSDs write-protect the same pages; On-demand-fork
//! (`linux-odf`) shares one table per 2 MiB instead; `posix_spawn`
//! (`spawn=1`: the child is made empty, as vfork + exec leaves it) costs
//! the same at any size. `work_by_op.fork` has the work, and a cost
//! profile (`--costs`) turns it into the latency the paper plots.
//!
//! The trace: task 1 allocates and writes a heap of `heap_mib` MiB; then
//! each of `rounds` times it starts a child — `fork`, or with `spawn=1` a
//! `task_create` of an empty task — which execs and exits. At the
//! end the parent reads its heap. The workload makes no random choice:
//! every seed gives the same trace.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `heap_mib` | 64 | MiB of heap the parent has written before it starts children |
//! | `rounds` | 4 | children started, one after another |
//! | `spawn` | 0 | 1: start each child empty (`posix_spawn`) instead of by fork + exec |
//!
//! Ops: `4 + rounds × 3`.

use sim::TaskId;

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, pages};

pub(super) const SUMMARY: &str =
    "a parent with a large heap starts children by fork + exec or posix_spawn: fork latency against size";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("heap_mib", 64, 1, 1 << 20, "MiB of heap the parent has written before it starts children"),
    ParamSpec::count("rounds", 4, 1, 1_000_000, "children started, one after another"),
    ParamSpec::count("spawn", 0, 0, 1, "1: start each child empty (posix_spawn) instead of by fork + exec"),
];

const PARENT: TaskId = TaskId(1);
const HEAP: u64 = 0x1000_0000;

/// 4 KiB pages in a MiB.
const PAGES_PER_MIB: u64 = 256;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(ForkExec {
        heap_pages: params.count("heap_mib") * PAGES_PER_MIB,
        rounds: params.count("rounds"),
        spawn: params.count("spawn") == 1,
        next_round: None,
    })
}

struct ForkExec {
    heap_pages: u64,
    rounds: u64,
    spawn: bool,
    /// `None` before the set-up step; then the next child to start.
    next_round: Option<u64>,
}

impl Script for ForkExec {
    fn step(&mut self, _rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(round) = self.next_round else {
            out.task_create(PARENT);
            out.allocate(PARENT, HEAP, pages(self.heap_pages));
            out.write(PARENT, HEAP, pages(self.heap_pages));
            self.next_round = Some(0);
            return true;
        };
        if round > self.rounds {
            return false;
        }
        if round == self.rounds {
            out.read(PARENT, HEAP, pages(self.heap_pages));
        } else {
            // Task ids stay below 2 + 10^6, well inside u32.
            let child = TaskId(2 + round as u32);
            // posix_spawn makes the child empty (as vfork leaves it until
            // its exec) and loads the program; fork copies first.
            if self.spawn {
                out.task_create(child);
            } else {
                out.fork(PARENT, child);
            }
            out.exec(child);
            out.exit(child);
        }
        self.next_round = Some(round + 1);
        true
    }
}

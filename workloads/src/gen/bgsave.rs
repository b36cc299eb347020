//! `bgsave`: a database snapshot in the manner of Redis `BGSAVE`. A server
//! with a big heap forks; the child reads the whole heap in order and
//! writes it out, while the parent keeps serving writes to a skewed subset
//! of its keys.
//!
//! Demonstrates **copies driven by the write set**. Copy-on-write makes
//! the fork itself cheap; what the snapshot costs is one page copy for
//! each distinct page the parent writes while the child still shares it
//! (Redis warns about exactly this "copy-on-write memory" in its logs).
//! With a skewed write set most writes hit pages already copied, so the
//! copies stay far below the number of writes; `eager` copies the whole
//! heap at every fork. The designs differ in who gets the copy and what
//! happens to the old page once the child exits.
//!
//! The trace: task 1 allocates its heap and loads it (writes every page,
//! `chunk` pages an op). Each snapshot forks a child, which allocates a
//! small output buffer of its own; then, chunk by chunk, the child reads
//! `chunk` heap pages and writes one buffer page, and in between the
//! parent writes its share of `writes` single pages, drawn from a
//! self-similar distribution (a share `skew` of the writes goes to the
//! hottest `1 - skew` of the heap, recursively: 0.8 is the 80/20 rule,
//! 0.5 is uniform). The child exits when it has read everything. At the
//! end the parent reads its heap.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `pages` | 4096 | pages in the server's heap |
//! | `snapshots` | 2 | BGSAVEs, one after another |
//! | `writes` | 2000 | single-page writes by the parent during each snapshot |
//! | `skew` | 0.8 | share of writes that go to the hottest (1 - skew) of the heap |
//! | `chunk` | 16 | heap pages the child reads per op |

use sim::TaskId;

use super::params::{Fraction, ParamSpec, Params};
use super::script::{GenRng, Out, Script, TaskIds, pages};

pub(super) const SUMMARY: &str = "Redis BGSAVE: the child reads the whole heap while the parent writes a skewed subset";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("pages", 4096, 1, 1 << 24, "pages in the server's heap"),
    ParamSpec::count("snapshots", 2, 1, 1_000_000, "BGSAVEs, one after another"),
    ParamSpec::count("writes", 2000, 0, 1 << 30, "single-page writes by the parent during each snapshot"),
    ParamSpec::fraction("skew", 800_000, "share of writes that go to the hottest (1 - skew) of the heap"),
    ParamSpec::count("chunk", 16, 1, 1 << 16, "heap pages the child reads per op"),
];

const SERVER: TaskId = TaskId(1);
const HEAP: u64 = 0x1000_0000;
/// The child's output buffer, above any heap the bounds allow (2^24 pages
/// from 0x1000_0000 end below 0x11_0000_0000).
const BUFFER: u64 = 0x20_0000_0000;
const BUFFER_PAGES: u64 = 16;
/// The most parent writes one step makes, so a step stays small whatever
/// `writes` is.
const WRITE_BATCH: u64 = 64;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    let pages = params.count("pages");
    let chunk = params.count("chunk").min(pages);
    Box::new(Bgsave {
        pages,
        snapshots: params.count("snapshots"),
        writes: params.count("writes"),
        skew: params.fraction("skew"),
        chunk,
        chunks: pages.div_ceil(chunk),
        phase: Phase::SetUp,
        ids: TaskIds::starting_at(2),
    })
}

enum Phase {
    SetUp,
    /// Loading the heap: the next chunk to write.
    Loading {
        chunk: u64,
    },
    /// Snapshot `snapshot` in progress: `child` has read `chunk` chunks,
    /// and the parent still owes `owed` writes before the next one.
    Saving {
        snapshot: u64,
        child: TaskId,
        chunk: u64,
        owed: u64,
    },
    Finish,
    Done,
}

struct Bgsave {
    pages: u64,
    snapshots: u64,
    writes: u64,
    skew: Fraction,
    chunk: u64,
    chunks: u64,
    phase: Phase,
    ids: TaskIds,
}

impl Bgsave {
    /// The byte range of chunk `i`: `chunk` pages, or what is left.
    fn chunk_range(&self, i: u64) -> (u64, u64) {
        let first = i * self.chunk;
        let count = self.chunk.min(self.pages - first);
        (HEAP + pages(first), pages(count))
    }

    /// Starts snapshot `snapshot`: the fork and the child's buffer.
    fn fork(&mut self, snapshot: u64, out: &mut Out) -> Phase {
        let child = self.ids.fresh();
        out.mark(format!("BGSAVE {snapshot}"));
        out.fork(SERVER, child);
        out.allocate(child, BUFFER, pages(BUFFER_PAGES));
        Phase::Saving { snapshot, child, chunk: 0, owed: 0 }
    }

    /// The parent's writes due while the child reads chunk `c`: the
    /// `writes` spread evenly over the chunks.
    fn writes_during(&self, c: u64) -> u64 {
        let due = |c: u64| (u128::from(self.writes) * u128::from(c) / u128::from(self.chunks)) as u64;
        due(c + 1) - due(c)
    }
}

impl Script for Bgsave {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        self.phase = match self.phase {
            Phase::SetUp => {
                out.task_create(SERVER);
                out.allocate(SERVER, HEAP, pages(self.pages));
                Phase::Loading { chunk: 0 }
            }
            Phase::Loading { chunk } if chunk < self.chunks => {
                let (addr, len) = self.chunk_range(chunk);
                out.write(SERVER, addr, len);
                Phase::Loading { chunk: chunk + 1 }
            }
            Phase::Loading { .. } => self.fork(0, out),
            Phase::Saving { snapshot, child, chunk, owed } if owed > 0 => {
                let batch = owed.min(WRITE_BATCH);
                for _ in 0..batch {
                    out.write(SERVER, HEAP + pages(rng.skewed(self.pages, self.skew)), pages(1));
                }
                Phase::Saving { snapshot, child, chunk, owed: owed - batch }
            }
            Phase::Saving { snapshot, child, chunk, .. } if chunk < self.chunks => {
                let (addr, len) = self.chunk_range(chunk);
                out.read(child, addr, len);
                out.write(child, BUFFER + pages(chunk % BUFFER_PAGES), pages(1));
                Phase::Saving { snapshot, child, chunk: chunk + 1, owed: self.writes_during(chunk) }
            }
            Phase::Saving { snapshot, child, .. } => {
                out.exit(child);
                if snapshot + 1 < self.snapshots { self.fork(snapshot + 1, out) } else { Phase::Finish }
            }
            Phase::Finish => {
                out.read(SERVER, HEAP, pages(self.pages));
                Phase::Done
            }
            Phase::Done => return false,
        };
        true
    }
}

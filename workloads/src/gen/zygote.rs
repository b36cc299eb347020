//! `zygote`: Android's app launcher. One preloaded parent — code and data
//! files mapped privately, a heap of preloaded classes — forks a child for
//! every app; each app runs some of the shared code and writes a fraction
//! of the inherited heap, while a few apps run at once.
//!
//! Demonstrates **sharing that pays**: most of a child's memory is never
//! written, so copy-on-write keeps one physical copy of it for every app;
//! `eager` copies the whole image at every fork. The written fraction sets
//! the copies; private file mappings add file pages copied on write
//! (`boot.art` is relocated by the zygote itself before any fork). With
//! many children alive the Mach family builds a chain in front of the
//! zygote's objects for each fork after which the zygote writes — here it
//! writes nothing after preloading, so chains stay short and the question
//! is only who holds which copy.
//!
//! The trace: task 1 maps `boot.oat` (code, private, `rx`) and runs all of
//! it, maps `boot.art` (data, private, `rw`) and writes all of it, and
//! allocates and writes its heap. It then launches `children` apps, at most
//! `concurrent` alive at once. Each step either forks an app (when there is
//! room) or lets a random live app act: fetch a random code page, write a
//! random heap or data page, or read a random heap page, until it has done
//! `code_fraction` of the code and `write_fraction` of the heap and data in
//! page ops (pages drawn with repetition), plus as many heap reads as heap
//! writes. An app picked with nothing left to do exits. At the end the
//! zygote reads its heap.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `children` | 64 | apps launched |
//! | `concurrent` | 8 | apps alive at once, at most |
//! | `code` | 512 | pages of boot.oat (code) |
//! | `data` | 128 | pages of boot.art (data, relocated by the zygote) |
//! | `heap` | 1024 | pages of the zygote's preloaded heap |
//! | `write_fraction` | 0.1 | share of the heap and data each app writes |
//! | `code_fraction` | 0.25 | share of the code each app runs |
//!
//! Memory: the list of live apps (at most `concurrent`).

use sim::{Prot, TaskId};

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, TaskIds, pages};

pub(super) const SUMMARY: &str = "one preloaded parent forks many children, each writing a fraction: sharing that pays";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("children", 64, 1, 100_000_000, "apps launched"),
    ParamSpec::count("concurrent", 8, 1, 10_000, "apps alive at once, at most"),
    ParamSpec::count("code", 512, 1, 1 << 20, "pages of boot.oat (code)"),
    ParamSpec::count("data", 128, 1, 1 << 20, "pages of boot.art (data, relocated by the zygote)"),
    ParamSpec::count("heap", 1024, 1, 1 << 20, "pages of the zygote's preloaded heap"),
    ParamSpec::fraction("write_fraction", 100_000, "share of the heap and data each app writes"),
    ParamSpec::fraction("code_fraction", 250_000, "share of the code each app runs"),
];

const ZYGOTE: TaskId = TaskId(1);
const CODE: u64 = 0x7000_0000_0000;
const DATA: u64 = 0x7100_0000_0000;
const HEAP: u64 = 0x1000_0000;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    let (code, data, heap) = (params.count("code"), params.count("data"), params.count("heap"));
    let writes = params.fraction("write_fraction");
    Box::new(Zygote {
        children: params.count("children"),
        concurrent: params.count("concurrent") as usize,
        code,
        data,
        heap,
        budget: Budget {
            fetches: params.fraction("code_fraction").of(code),
            heap_writes: writes.of(heap),
            data_writes: writes.of(data),
            reads: writes.of(heap),
        },
        launched: 0,
        set_up: false,
        finished: false,
        live: Vec::new(),
        ids: TaskIds::starting_at(2),
    })
}

/// What an app has left to do, in page ops.
#[derive(Clone, Copy)]
struct Budget {
    fetches: u64,
    heap_writes: u64,
    data_writes: u64,
    reads: u64,
}

impl Budget {
    fn total(&self) -> u64 {
        self.fetches + self.heap_writes + self.data_writes + self.reads
    }
}

struct Zygote {
    children: u64,
    concurrent: usize,
    code: u64,
    data: u64,
    heap: u64,
    /// What every app does in its life.
    budget: Budget,
    launched: u64,
    set_up: bool,
    finished: bool,
    /// The apps alive, with what each has left to do.
    live: Vec<(TaskId, Budget)>,
    ids: TaskIds,
}

impl Zygote {
    fn preload(&self, out: &mut Out) {
        out.task_create(ZYGOTE);
        out.map_file(ZYGOTE, CODE, pages(self.code), "boot.oat", 0, true, Prot::ALL.without(Prot::WRITE));
        out.fetch(ZYGOTE, CODE, pages(self.code));
        out.map_file(ZYGOTE, DATA, pages(self.data), "boot.art", 0, true, Prot::DEFAULT);
        out.write(ZYGOTE, DATA, pages(self.data));
        out.allocate(ZYGOTE, HEAP, pages(self.heap));
        out.write(ZYGOTE, HEAP, pages(self.heap));
    }

    /// App `index` does one page op, chosen with odds proportional to what
    /// it has left of each kind, or exits if it has nothing left.
    fn act(&mut self, index: usize, rng: &mut GenRng, out: &mut Out) {
        let (app, mut left) = self.live[index];
        let total = left.total();
        if total == 0 {
            out.exit(app);
            self.live.swap_remove(index);
            return;
        }
        // Cumulative bounds: [0, fetches) fetch, then heap writes, data
        // writes, reads.
        let pick = rng.below(total);
        let after_fetches = left.fetches;
        let after_heap_writes = after_fetches + left.heap_writes;
        let after_data_writes = after_heap_writes + left.data_writes;
        if pick < after_fetches {
            left.fetches -= 1;
            out.fetch(app, CODE + pages(rng.below(self.code)), pages(1));
        } else if pick < after_heap_writes {
            left.heap_writes -= 1;
            out.write(app, HEAP + pages(rng.below(self.heap)), pages(1));
        } else if pick < after_data_writes {
            left.data_writes -= 1;
            out.write(app, DATA + pages(rng.below(self.data)), pages(1));
        } else {
            left.reads -= 1;
            out.read(app, HEAP + pages(rng.below(self.heap)), pages(1));
        }
        self.live[index].1 = left;
    }
}

impl Script for Zygote {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        if !self.set_up {
            self.preload(out);
            self.set_up = true;
        } else if self.live.len() < self.concurrent && self.launched < self.children {
            let app = self.ids.fresh();
            out.fork(ZYGOTE, app);
            self.live.push((app, self.budget));
            self.launched += 1;
        } else if !self.live.is_empty() {
            let index = rng.below(self.live.len() as u64) as usize;
            self.act(index, rng, out);
        } else if !self.finished {
            out.read(ZYGOTE, HEAP, pages(self.heap));
            self.finished = true;
        } else {
            return false;
        }
        true
    }
}

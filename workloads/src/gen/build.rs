//! `build`: `make -j` compiling a tree. Each job is a small process tree —
//! make forks a shell, the shell forks the compiler driver `cc`, and `cc`
//! forks `cc1` and then `as` — whose processes live for varied, random
//! lengths of time while other jobs run beside them.
//!
//! Demonstrates **a realistic process tree**: forks from several
//! generations at once (make, sh, cc), most followed by exec; long-lived
//! parents (make, cc) that write between forks; children of different
//! lifetimes, so levels of a parent's chain lose their users in any order;
//! and files shared by every compiler (the headers) next to files private
//! to a job (its source). Its total counts are the "typical Unix
//! workload" line of a comparison.
//!
//! The trace: task 1 (make) maps its text and allocates and writes its
//! heap (the parsed makefiles). It runs `jobs` jobs, at most `parallel` at
//! once; each step either starts a job (when there is room) or advances a
//! random running job by one step:
//!
//! 1. make writes a page of its job table and forks `sh`, which writes a
//!    page of the heap it inherited and execs `/bin/sh` (maps its text,
//!    allocates and writes a small heap) — every exec below starts so;
//! 2. `sh` forks `cc`, which execs `/usr/bin/cc` likewise;
//! 3. `cc` forks `cc1`, which execs, maps its text, the job's source file
//!    (`src/fileN.c`, private) and the shared headers, and allocates a
//!    heap of a random size up to `cc1_heap` pages;
//! 4. `cc1` works for a random number of steps up to `cc1_steps`: each
//!    runs some text, reads a header page and writes a few heap pages;
//! 5. `cc1` exits and `cc` forks `as`, which works a few steps likewise;
//! 6. `as`, `cc` and `sh` exit and make writes the job's page again.
//!
//! At the end make reads its heap.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `jobs` | 200 | compile jobs |
//! | `parallel` | 4 | jobs running at once (make -j) |
//! | `make_heap` | 512 | pages in make's heap |
//! | `cc1_heap` | 256 | most pages a compiler allocates |
//! | `cc1_steps` | 40 | most work steps of a compiler |
//!
//! Memory: the running jobs (at most `parallel`). Source file names repeat
//! every 4096 jobs, so the simulator's file table stays bounded too.

use sim::{Prot, TaskId};

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, TaskIds, pages};

pub(super) const SUMMARY: &str =
    "make -j: a process tree (make, sh, cc, cc1, as) with varied lifetimes and shared headers";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("jobs", 200, 1, 100_000_000, "compile jobs"),
    ParamSpec::count("parallel", 4, 1, 1024, "jobs running at once (make -j)"),
    ParamSpec::count("make_heap", 512, 1, 1 << 20, "pages in make's heap"),
    // At most 2^16 pages, so a compiler's heap ends below SOURCE.
    ParamSpec::count("cc1_heap", 256, 4, 1 << 16, "most pages a compiler allocates"),
    ParamSpec::count("cc1_steps", 40, 1, 100_000, "most work steps of a compiler"),
];

const MAKE: TaskId = TaskId(1);
const TEXT: u64 = 0x40_0000;
const HEAP: u64 = 0x1000_0000;
const SOURCE: u64 = 0x3000_0000;
const HEADERS: u64 = 0x3800_0000;
const HEADER_PAGES: u64 = 512;
/// Pages of the small heaps of make's helpers (sh, cc).
const SMALL_HEAP: u64 = 32;
/// Pages a work step writes.
const WRITE_PAGES: u64 = 4;
/// Text pages a work step runs.
const RUN_PAGES: u64 = 8;
/// Source files are named modulo this.
const SOURCES: u64 = 4096;

/// The programs and their text sizes in pages.
const MAKE_TEXT: (&str, u64) = ("/usr/bin/make", 64);
const SH_TEXT: (&str, u64) = ("/bin/sh", 256);
const CC_TEXT: (&str, u64) = ("/usr/bin/cc", 256);
const CC1_TEXT: (&str, u64) = ("/usr/lib/gcc/cc1", 2048);
const AS_TEXT: (&str, u64) = ("/usr/bin/as", 128);
const HEADER_FILE: &str = "/usr/include/all-headers.pch";

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(Build {
        jobs: params.count("jobs"),
        parallel: params.count("parallel") as usize,
        make_heap: params.count("make_heap"),
        cc1_heap: params.count("cc1_heap"),
        cc1_steps: params.count("cc1_steps"),
        started: 0,
        set_up: false,
        finished: false,
        running: Vec::new(),
        ids: TaskIds::starting_at(2),
    })
}

/// Where a job is.
#[derive(Clone, Copy)]
enum Stage {
    /// `sh` runs; it forks `cc` next.
    Shell,
    /// `cc` runs; it forks `cc1` next.
    Driver { cc: TaskId },
    /// `cc1`, a child of `cc`, runs for `left` more steps.
    Compiler { cc: TaskId, cc1: TaskId, heap: u64, left: u64 },
    /// `as`, a child of `cc`, runs for `left` more steps.
    Assembler { cc: TaskId, asm: TaskId, heap: u64, left: u64 },
}

#[derive(Clone, Copy)]
struct Job {
    number: u64,
    sh: TaskId,
    stage: Stage,
}

struct Build {
    jobs: u64,
    parallel: usize,
    make_heap: u64,
    cc1_heap: u64,
    cc1_steps: u64,
    started: u64,
    set_up: bool,
    finished: bool,
    running: Vec<Job>,
    ids: TaskIds,
}

/// The newly forked `task` writes a page of the heap it inherited (its
/// stack, in a real program: a copy made only to be thrown away), then
/// execs `program`: maps its text at `TEXT`, runs its first pages, and
/// allocates and writes a heap of `heap` pages.
fn exec_program(out: &mut Out, task: TaskId, (program, text): (&str, u64), heap: u64) {
    out.write(task, HEAP, pages(1));
    out.exec(task);
    out.map_file(task, TEXT, pages(text), program, 0, true, Prot::ALL.without(Prot::WRITE));
    out.fetch(task, TEXT, pages(RUN_PAGES.min(text)));
    out.allocate(task, HEAP, pages(heap));
    out.write(task, HEAP, pages(heap));
}

/// One work step of a compiler or assembler: run some text, write a few
/// heap pages, and (for the compiler) read a header page.
fn work_step(out: &mut Out, rng: &mut GenRng, task: TaskId, text: u64, heap: u64, reads_headers: bool) {
    let run = RUN_PAGES.min(text);
    out.fetch(task, TEXT + pages(rng.below(text - run + 1)), pages(run));
    if reads_headers {
        out.read(task, HEADERS + pages(rng.below(HEADER_PAGES)), pages(1));
    }
    let written = WRITE_PAGES.min(heap);
    out.write(task, HEAP + pages(rng.below(heap - written + 1)), pages(written));
}

impl Build {
    fn make_job_page(&self, job: u64) -> u64 {
        HEAP + pages(job % self.make_heap)
    }

    /// Starts a job: make forks `sh`, which execs.
    fn start_job(&mut self, out: &mut Out) {
        let number = self.started;
        self.started += 1;
        let sh = self.ids.fresh();
        out.write(MAKE, self.make_job_page(number), pages(1));
        out.fork(MAKE, sh);
        exec_program(out, sh, SH_TEXT, SMALL_HEAP);
        self.running.push(Job { number, sh, stage: Stage::Shell });
    }

    /// Advances running job `index` by one step.
    fn advance(&mut self, index: usize, rng: &mut GenRng, out: &mut Out) {
        let mut job = self.running[index];
        job.stage = match job.stage {
            Stage::Shell => {
                let cc = self.ids.fresh();
                out.fork(job.sh, cc);
                exec_program(out, cc, CC_TEXT, SMALL_HEAP);
                Stage::Driver { cc }
            }
            Stage::Driver { cc } => {
                let cc1 = self.ids.fresh();
                let heap = rng.between(self.cc1_heap / 4, self.cc1_heap);
                out.fork(cc, cc1);
                exec_program(out, cc1, CC1_TEXT, heap);
                let source = format!("src/file{}.c", job.number % SOURCES);
                let source_pages = rng.between(4, 32);
                out.map_file(cc1, SOURCE, pages(source_pages), &source, 0, true, Prot::READ);
                out.read(cc1, SOURCE, pages(source_pages));
                out.map_file(cc1, HEADERS, pages(HEADER_PAGES), HEADER_FILE, 0, true, Prot::READ);
                Stage::Compiler { cc, cc1, heap, left: rng.between(1, self.cc1_steps) }
            }
            Stage::Compiler { cc, cc1, heap, left } if left > 0 => {
                work_step(out, rng, cc1, CC1_TEXT.1, heap, true);
                Stage::Compiler { cc, cc1, heap, left: left - 1 }
            }
            Stage::Compiler { cc, cc1, .. } => {
                out.exit(cc1);
                let asm = self.ids.fresh();
                let heap = rng.between(8, 64);
                out.fork(cc, asm);
                exec_program(out, asm, AS_TEXT, heap);
                Stage::Assembler { cc, asm, heap, left: rng.between(1, 8) }
            }
            Stage::Assembler { cc, asm, heap, left } if left > 0 => {
                work_step(out, rng, asm, AS_TEXT.1, heap, false);
                Stage::Assembler { cc, asm, heap, left: left - 1 }
            }
            Stage::Assembler { cc, asm, .. } => {
                out.exit(asm);
                out.exit(cc);
                out.exit(job.sh);
                out.write(MAKE, self.make_job_page(job.number), pages(1));
                self.running.swap_remove(index);
                return;
            }
        };
        self.running[index] = job;
    }
}

impl Script for Build {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        if !self.set_up {
            out.task_create(MAKE);
            out.map_file(MAKE, TEXT, pages(MAKE_TEXT.1), MAKE_TEXT.0, 0, true, Prot::ALL.without(Prot::WRITE));
            out.fetch(MAKE, TEXT, pages(MAKE_TEXT.1));
            out.allocate(MAKE, HEAP, pages(self.make_heap));
            out.write(MAKE, HEAP, pages(self.make_heap));
            self.set_up = true;
        } else if self.running.len() < self.parallel && self.started < self.jobs {
            self.start_job(out);
        } else if !self.running.is_empty() {
            let index = rng.below(self.running.len() as u64) as usize;
            self.advance(index, rng, out);
        } else if !self.finished {
            out.read(MAKE, HEAP, pages(self.make_heap));
            self.finished = true;
        } else {
            return false;
        }
        true
    }
}

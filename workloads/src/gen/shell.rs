//! `shell`: an interactive shell running pipelines such as `grep x f |
//! sort | uniq -c`. For each command the shell forks; the child sets up
//! its file descriptors (a write or two to the inherited heap), execs the
//! program, does a little work and exits.
//!
//! Demonstrates **fork + exec**: the fork makes the shell's whole map
//! copy-on-write only for the child to throw it away a few ops later. The
//! copies made in between (the child's pre-exec writes, and the shell's own
//! writes while children still share its memory) are the price of fork
//! without `vfork`; the objects and levels they leave behind are what chain
//! maintenance must clean up. Designs that copy page tables at fork
//! (Linux, Plan 9) pay per mapped page at each fork instead.
//!
//! The trace: task 1 maps `/bin/sh` (private, `rx`), runs some of it, and
//! allocates and writes its heap. Each pipeline forks `stages` children,
//! one per command. Each child writes one heap page (redirections) and
//! execs; the new program maps its text (a file named after it, such as
//! `/usr/bin/grep`), runs a few pages of it, and allocates, writes and
//! reads `work` pages of its own. Between forks the shell writes a page of
//! its job table. When the last command has run, the children exit in
//! order and the shell writes `writes` random heap pages (history,
//! variables). At the end the shell reads its heap.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `pipelines` | 500 | pipelines run |
//! | `stages` | 3 | commands in each pipeline |
//! | `heap` | 256 | pages in the shell's heap |
//! | `writes` | 4 | heap pages the shell writes after each pipeline |
//! | `work` | 16 | pages each command allocates and writes |
//!
//! Memory: the list of the pipeline's children (at most `stages`).

use sim::{Prot, TaskId};

use super::params::{ParamSpec, Params};
use super::script::{GenRng, Out, Script, TaskIds, pages};

pub(super) const SUMMARY: &str =
    "a shell running pipelines: fork + exec + a little work + exit, the copies fork wastes";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("pipelines", 500, 1, 1_000_000_000, "pipelines run"),
    ParamSpec::count("stages", 3, 1, 64, "commands in each pipeline"),
    ParamSpec::count("heap", 256, 1, 1 << 20, "pages in the shell's heap"),
    ParamSpec::count("writes", 4, 0, 1024, "heap pages the shell writes after each pipeline"),
    ParamSpec::count("work", 16, 1, 1 << 16, "pages each command allocates and writes"),
];

const SHELL: TaskId = TaskId(1);
const TEXT: u64 = 0x40_0000;
const HEAP: u64 = 0x1000_0000;
/// Where a command's own memory goes after exec.
const WORK: u64 = 0x2000_0000;
/// Pages of the shell's text.
const SHELL_TEXT: u64 = 256;
/// The programs a pipeline runs, with their text sizes in pages.
const PROGRAMS: [(&str, u64); 10] = [
    ("/usr/bin/cat", 9),
    ("/usr/bin/grep", 47),
    ("/usr/bin/sed", 28),
    ("/usr/bin/sort", 31),
    ("/usr/bin/uniq", 11),
    ("/usr/bin/wc", 10),
    ("/usr/bin/awk", 170),
    ("/usr/bin/head", 10),
    ("/usr/bin/tr", 11),
    ("/usr/bin/cut", 11),
];
/// Text pages a command runs.
const RUN_PAGES: u64 = 4;

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    Box::new(Shell {
        pipelines: params.count("pipelines"),
        stages: params.count("stages"),
        heap: params.count("heap"),
        writes: params.count("writes"),
        work: params.count("work"),
        next_pipeline: None,
        children: Vec::new(),
        ids: TaskIds::starting_at(2),
    })
}

struct Shell {
    pipelines: u64,
    stages: u64,
    heap: u64,
    writes: u64,
    work: u64,
    /// `None` before the set-up step; then the pipeline in progress.
    next_pipeline: Option<u64>,
    /// The children of the pipeline in progress.
    children: Vec<TaskId>,
    ids: TaskIds,
}

impl Shell {
    fn random_heap_page(&self, rng: &mut GenRng) -> u64 {
        HEAP + pages(rng.below(self.heap))
    }

    /// Forks one command of the pipeline and runs it up to its exit.
    fn run_command(&mut self, rng: &mut GenRng, out: &mut Out) {
        let child = self.ids.fresh();
        out.fork(SHELL, child);
        out.write(child, self.random_heap_page(rng), pages(1));
        out.exec(child);
        let (program, text) = PROGRAMS[rng.below(PROGRAMS.len() as u64) as usize];
        out.map_file(child, TEXT, pages(text), program, 0, true, Prot::ALL.without(Prot::WRITE));
        let run = RUN_PAGES.min(text);
        out.fetch(child, TEXT + pages(rng.below(text - run + 1)), pages(run));
        out.allocate(child, WORK, pages(self.work));
        out.write(child, WORK, pages(self.work));
        out.read(child, WORK, pages(self.work));
        out.write(SHELL, self.random_heap_page(rng), pages(1));
        self.children.push(child);
    }
}

impl Script for Shell {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(pipeline) = self.next_pipeline else {
            out.task_create(SHELL);
            out.map_file(SHELL, TEXT, pages(SHELL_TEXT), "/bin/sh", 0, true, Prot::ALL.without(Prot::WRITE));
            out.fetch(SHELL, TEXT, pages(SHELL_TEXT / 4));
            out.allocate(SHELL, HEAP, pages(self.heap));
            out.write(SHELL, HEAP, pages(self.heap));
            self.next_pipeline = Some(0);
            return true;
        };
        if pipeline == self.pipelines {
            out.read(SHELL, HEAP, pages(self.heap));
            self.next_pipeline = Some(pipeline + 1);
        } else if pipeline > self.pipelines {
            return false;
        } else if (self.children.len() as u64) < self.stages {
            self.run_command(rng, out);
        } else {
            for child in self.children.drain(..) {
                out.exit(child);
            }
            for _ in 0..self.writes {
                out.write(SHELL, self.random_heap_page(rng), pages(1));
            }
            self.next_pipeline = Some(pipeline + 1);
        }
        true
    }
}

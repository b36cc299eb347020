//! From perf events to cowsim ops.
//!
//! The translator keeps, for every live process, the picture of its address
//! space that the events so far imply ([`Regions`]), and turns each event
//! into the ops that make the simulator's map agree with it:
//!
//! | event | ops |
//! |---|---|
//! | `PERF_RECORD_MMAP2` (a new mapping) | `vm_deallocate` of whatever it replaced, then `vm_allocate` (anonymous) or `vm_map` (a file; shared ones also `vm_inherit share`) for the new part |
//! | `PERF_RECORD_COMM exec` | `exec` (or `task_create` for a process first seen at its exec) and a `mark` naming the program |
//! | `PERF_RECORD_FORK` of a process | `fork`, unless its `task:task_newtask` says `CLONE_VM` (vfork, posix_spawn): then nothing, the child's accesses are its parent's until its exec, which creates its task; of a thread (child pid = parent pid): nothing, the thread shares the map |
//! | `PERF_RECORD_EXIT` of the last thread | `exit` |
//! | `munmap` returning 0 | `vm_deallocate` of each mapped stretch |
//! | `mprotect` returning 0 | `vm_protect` of each stretch whose protection changes |
//! | `brk` | the heap grows (`vm_allocate`) or shrinks (`vm_deallocate`) |
//! | `mremap` | shrink, grow in place, or move: `vm_move` the mapping with its memory (and grow it at the new place) |
//! | `madvise(MADV_DONTNEED)` | unmap and map again: private pages read as new afterwards |
//! | `madvise(MADV_DONTFORK / DOFORK)` | `vm_inherit none` / back |
//! | a page fault | one access op of one page: `write` (error code bit 1), `exec_fetch` (bit 4) or `read`, carrying `recorded`: `present` (bit 0) or `not_present` |
//!
//! **Syscalls are applied at their exit, and only when they succeeded**: the
//! entry gives the arguments, the exit whether anything happened. Perf also
//! prints a `PERF_RECORD_MMAP2` for a VMA that `mprotect` changed or `brk`
//! grew; one that arrives while the same thread is inside `mprotect` or
//! `mremap` is ignored (the exit applies the change), and one inside `brk`
//! only fills the part of the heap not mapped yet. `madvise`'s exit is not
//! in the capture (`sys_exit_madvise` is not recorded), so it is applied at entry, for the advice whose
//! effect does not depend on memory pressure (`MADV_FREE` is not followed).
//!
//! **Merged mappings.** Linux merges a new mapping with a neighbour that has
//! the same backing (anonymous, or the same file at the following offset),
//! protection and flags, and perf reports the *merged* VMA: a 256 KiB arena
//! mapped below a 1 MiB one shows as one 1.25 MiB `PERF_RECORD_MMAP2`. The
//! importer keeps the regions at either end of the reported range that the
//! kernel could have merged (a prefix and a suffix) and maps only the rest
//! as new. When such regions cover the whole range, it cannot be a merge
//! into free space; it is a `MAP_FIXED` mapping over them, and all of it is
//! replaced. (A `MAP_FIXED` mapping that also merges with neighbours
//! replaces them too; the importer keeps them: the one ambiguity, rare.)
//!
//! **Protections** follow x86: a page that is writable or executable is
//! also readable (the hardware has no write-only or execute-only pages), so
//! `-w-p` becomes `rw` and `--xp` becomes `rx`.
//!
//! **What the capture did not show.** A process first seen in the middle of
//! its life (no exec or fork in the capture) has mappings the capture never
//! showed. A fault there creates a one-page region first (a *guessed*
//! anonymous region, readable and writable, or readable and executable for
//! an instruction fetch), so the access can be replayed. A process whose
//! whole history is in the capture (it was exec'd or forked in it) gets no
//! such help: a fault on memory it never mapped is what it looks like, a
//! segfault, and the access is written with the code the simulator will
//! return (`"expect":"KERN_INVALID_ADDRESS"`). The one exception is the
//! stack, which Linux grows on a fault below it without any record: a fault
//! below the `[stack]` region, within 8 MiB of it and at least Linux's
//! guard gap (256 pages) above the next mapping, maps the pages in between.
//!
//! **Threads** share their process's map: the thread id is mapped to its
//! process through the `PERF_RECORD_FORK` that made the thread, and a
//! process exits when its last known thread has.
//!
//! **Forks are held** until the next event of the parent or the child:
//! `task:task_newtask`, which carries the clone flags that perf's fork
//! record lacks, comes just after it. A capture without that event (made
//! before it was recorded) replays every child as a fork.
//!
//! Limits, all counted in the summary where they arise: `MADV_FREE`,
//! `MADV_WIPEONFORK` and `MADV_REMOVE` are not followed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;

use sim::ids::TaskId;
use sim::op::{AccessOp, Op, Recorded, TraceOp};
use sim::types::{Access, Inheritance, KernReturn, Prot};

use super::exits::{Directive, FirstTouch, PageCacheNote, PageCacheNow, ResidentRange};
use super::parse::{Call, CallName, Event, Mmap};
use crate::import::ImportSummary;
use crate::import::OpSink;
use crate::import::regions::{Backing, PAGE_SIZE, Region, Regions};

/// The lowest mappable page (the simulator's default `map_min`, 0x1000).
const FIRST_PAGE: u64 = 1;
/// One past the last user page (the simulator's default `map_max`, the
/// 47-bit x86-64 user address space).
const END_PAGE: u64 = (1 << 47) / PAGE_SIZE;
/// Linux `stack_guard_gap`: a stack does not grow to within this many pages
/// of the mapping below it.
const STACK_GUARD_GAP: u64 = 256;
/// How far below its lowest page the stack may grow on one fault (Linux's
/// default `RLIMIT_STACK`, 8 MiB).
const STACK_GROWTH_LIMIT: u64 = (8 << 20) / PAGE_SIZE;

// x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h).
const PF_PROT: u64 = 1 << 0;
const PF_WRITE: u64 = 1 << 1;
const PF_INSTR: u64 = 1 << 4;

// Linux mmap protection bits and madvise advice (include/uapi).
const PROT_READ: u64 = 0x1;
const PROT_WRITE: u64 = 0x2;
const PROT_EXEC: u64 = 0x4;
const MADV_DONTNEED: u64 = 4;
const MADV_FREE: u64 = 8;
const MADV_REMOVE: u64 = 9;
const MADV_DONTFORK: u64 = 10;
const MADV_DOFORK: u64 = 11;
const MADV_WIPEONFORK: u64 = 18;
const MADV_KEEPONFORK: u64 = 19;
const MREMAP_DONTUNMAP: u64 = 4;

/// How far `setup_arg_pages` (fs/exec.c) extends a new stack below the
/// pages holding the arguments: 128 KiB. The `[stack]` mapping perf reports
/// at exec is that much plus the pages the kernel wrote the arguments,
/// environment and auxiliary vector into, which are present before the
/// program takes a single fault.
const EXEC_STACK_GAP: u64 = (128 << 10) / PAGE_SIZE;

// Linux clone flags (include/uapi/linux/sched.h).
const CLONE_VM: u64 = 0x100;
const CLONE_THREAD: u64 = 0x10000;

/// What the importer knows of one process.
#[derive(Debug, Default)]
struct Process {
    space: Regions,
    /// The program break, once a `brk` call returned it.
    brk: Option<u64>,
    /// Was the process exec'd or forked in the capture, so that every
    /// mapping it has was seen being made?
    whole_history: bool,
    /// Threads other than the leader, by thread id.
    threads: BTreeSet<u32>,
    /// The leader's thread exited while other threads lived on.
    leader_exited: bool,
    /// Exec'd in the capture, and its new stack not yet mapped: the kernel
    /// fills the top of that stack itself (see [`EXEC_STACK_GAP`]).
    awaiting_exec_stack: bool,
}

/// Writes ops, counting them.
struct Out<'w, S: OpSink + ?Sized> {
    writer: &'w mut S,
    ops: u64,
    expected_failures: u64,
    /// What the recorder saw of each file's page cache, by path, until the
    /// file's first mapping is written.
    page_caches: BTreeMap<String, PageCacheNote>,
    /// The files whose page cache has been written, with their readahead
    /// window and largest folio (what a later description repeats).
    described: BTreeMap<String, (u64, u64)>,
}

impl<S: OpSink + ?Sized> Out<'_, S> {
    /// Writes a structural op that must succeed.
    fn op(&mut self, op: Op) -> io::Result<()> {
        self.ops += 1;
        self.writer.op(TraceOp { op, expect: Some(KernReturn::Success) })
    }

    /// Writes an access; `expect` only when it is predicted to fail.
    fn access(&mut self, op: AccessOp, predicted: KernReturn) -> io::Result<()> {
        self.ops += 1;
        let expect = (predicted != KernReturn::Success).then_some(predicted);
        if expect.is_some() {
            self.expected_failures += 1;
        }
        self.writer.op(TraceOp { op: Op::Access(op), expect })
    }

    fn mark(&mut self, label: String) -> io::Result<()> {
        self.ops += 1;
        self.writer.op(TraceOp { op: Op::Mark { label }, expect: None })
    }

    /// Before the first mapping of `file`, by `task`: what the recorder saw
    /// of its page cache, and the read that first touched it (an exec reads
    /// the program's first 256 bytes, `BINPRM_BUF_SIZE`), taken to be the
    /// mapping task's (the loader reads a file just before mapping it).
    fn page_cache_before_first_map(&mut self, task: TaskId, file: &str) -> io::Result<()> {
        let Some(note) = self.page_caches.remove(file) else { return Ok(()) };
        let PageCacheNote { touch, size, read_ahead, largest_folio, cached, path } = note;
        self.described.insert(path.clone(), (read_ahead, largest_folio));
        self.op(Op::PageCache { file: path.clone(), size, cached, read_ahead, largest_folio })?;
        let read = match touch {
            FirstTouch::Exec => Some((0, 256)),
            FirstTouch::Read { offset, len } => Some((offset, len)),
            FirstTouch::Map | FirstTouch::Mapped => None,
        };
        if let Some((offset, len)) = read {
            self.op(Op::FileRead { task: Some(task), file: path, offset, len })?;
        }
        Ok(())
    }

    /// The ops that make the simulator map `region` at `start` (which must
    /// be free in both pictures).
    fn map_region(&mut self, task: TaskId, start: u64, region: &Region) -> io::Result<()> {
        let (addr, size) = (start * PAGE_SIZE, (region.end - start) * PAGE_SIZE);
        match &region.backing {
            Backing::Anonymous => {
                self.op(Op::VmAllocate { task, addr: Some(addr), size, anywhere: false })?;
                if region.prot != Prot::DEFAULT {
                    self.op(Op::VmProtect { task, addr, size, prot: region.prot, set_max: false })?;
                }
            }
            Backing::File { name, offset, shared } => {
                self.page_cache_before_first_map(task, name)?;
                self.op(Op::VmMap {
                    task,
                    addr: Some(addr),
                    size,
                    anywhere: false,
                    file: name.to_string(),
                    offset: offset * PAGE_SIZE,
                    private: !shared,
                    prot: region.prot,
                })?
            }
        }
        if region.inherit != Inheritance::Copy {
            self.op(Op::VmInherit { task, addr, size, inherit: region.inherit })?;
        }
        Ok(())
    }
}

/// Is the mapping one the kernel maps by page frame number (`[vvar]`,
/// `[vvar_vclock]`: `VM_PFNMAP`), whose pages pagemap never shows?
fn is_pfn_mapped(backing: &Backing) -> bool {
    matches!(backing, Backing::File { name, .. } if name.starts_with("[vvar"))
}

/// A process fork seen (`PERF_RECORD_FORK`) but not yet written: its
/// `task:task_newtask`, which follows it, may say that the child shares the
/// parent's memory (`CLONE_VM`: vfork, posix_spawn) and is no fork at all.
#[derive(Clone, Copy, Debug)]
struct HeldFork {
    pid: u32,
    tid: u32,
    parent_pid: u32,
}

/// The translator: processes, threads, syscalls in flight.
pub(crate) struct Translator<'w, S: OpSink + ?Sized> {
    out: Out<'w, S>,
    processes: BTreeMap<u32, Process>,
    /// Thread id → process id, for threads other than a process's leader,
    /// and for children that share their parent's memory.
    thread_owner: BTreeMap<u32, u32>,
    /// Forks held back until their `task:task_newtask` or the next event
    /// of the parent or the child, in the order they came.
    held_forks: Vec<HeldFork>,
    /// Children that share their parent's memory until they exec or exit
    /// (`CLONE_VM` without `CLONE_THREAD`): pid → the parent's pid.
    memory_sharing_children: BTreeMap<u32, u32>,
    /// Processes whose events are left out: the recorder's tracer, and its
    /// children until they exec the recorded program (see `exits.rs`).
    left_out: BTreeSet<u32>,
    /// The tracer itself, left out for good (its own exec is not the
    /// program's).
    tracer: Option<u32>,
    /// What each process had present at its exits, in exit order (see
    /// `exits.rs`).
    exit_snapshots: BTreeMap<u32, VecDeque<Vec<ResidentRange>>>,
    /// What the files described before had cached at each exec of each
    /// process, in exec order, and the process of the last exec line read.
    exec_page_caches: BTreeMap<u32, VecDeque<Vec<PageCacheNow>>>,
    last_exec_line: Option<u32>,
    /// Syscalls entered and not yet returned, by thread.
    pending: BTreeMap<u32, Call>,
    summary: ImportSummary,
}

impl<'w, S: OpSink + ?Sized> Translator<'w, S> {
    pub fn new(writer: &'w mut S) -> Self {
        Translator {
            out: Out { writer, ops: 0, expected_failures: 0, page_caches: BTreeMap::new(), described: BTreeMap::new() },
            processes: BTreeMap::new(),
            thread_owner: BTreeMap::new(),
            held_forks: Vec::new(),
            memory_sharing_children: BTreeMap::new(),
            left_out: BTreeSet::new(),
            tracer: None,
            exit_snapshots: BTreeMap::new(),
            exec_page_caches: BTreeMap::new(),
            last_exec_line: None,
            pending: BTreeMap::new(),
            summary: ImportSummary::default(),
        }
    }

    /// Counts something the user should know.
    fn note(&mut self, what: &str) {
        self.summary.notes.add(what);
    }

    fn ignore(&mut self, what: &str) {
        self.summary.ignored.add(what);
    }

    /// Takes in one of the recorder's lines (see `exits.rs`).
    pub fn directive(&mut self, directive: Directive) {
        match directive {
            Directive::Tracer(pid) => {
                self.left_out.insert(pid);
                self.tracer = Some(pid);
            }
            Directive::Exit(pid) => self.exit_snapshots.entry(pid).or_default().push_back(Vec::new()),
            Directive::Resident(range) => match self.exit_snapshots.get_mut(&range.pid).and_then(VecDeque::back_mut) {
                Some(snapshot) => snapshot.push(range),
                None => self.note("cowsim resident lines with no exit line before them (not used)"),
            },
            Directive::Exec(pid) => {
                self.exec_page_caches.entry(pid).or_default().push_back(Vec::new());
                self.last_exec_line = Some(pid);
            }
            Directive::PageCacheNow(now) => {
                let batch = self.last_exec_line.and_then(|pid| self.exec_page_caches.get_mut(&pid)?.back_mut());
                match batch {
                    Some(batch) => batch.push(now),
                    None => self.note("cowsim pagecache-now lines with no exec line before them (not used)"),
                }
            }
            Directive::PageCache(note) => {
                if self.out.page_caches.contains_key(&note.path) {
                    self.note("cowsim pagecache lines of a path seen before (not used)");
                } else {
                    self.note("files whose page cache the recorder saw");
                    self.out.page_caches.insert(note.path.clone(), note);
                }
            }
        }
    }

    /// Is `event` of thread `tid` one of the tracer's (or of a child of it
    /// that has not yet exec'd the program)? Keeps the set up to date.
    fn left_out(&mut self, tid: u32, event: &Event) -> bool {
        if self.left_out.is_empty() {
            return false;
        }
        match *event {
            Event::Fork { pid, parent_pid, .. } if self.left_out.contains(&parent_pid) => {
                self.left_out.insert(pid);
                true
            }
            // The program starts: from here on its events are the capture.
            Event::Comm { pid, exec: true, .. } if self.left_out.contains(&pid) && self.tracer != Some(pid) => {
                self.left_out.remove(&pid);
                false
            }
            Event::Mmap(ref m) => self.left_out.contains(&m.pid),
            Event::Comm { pid, .. } | Event::Exit { pid, .. } => self.left_out.contains(&pid),
            _ => self.left_out.contains(&tid),
        }
    }

    /// Writes the forks still held at the end of the capture.
    pub fn release_held_forks(&mut self) -> io::Result<()> {
        for held in std::mem::take(&mut self.held_forks) {
            self.write_fork(held)?;
        }
        Ok(())
    }

    /// What was done, with the ops written (the caller adds line counts).
    pub fn finish(mut self) -> ImportSummary {
        self.summary.ops = self.out.ops;
        self.summary.expected_failures = self.out.expected_failures;
        self.summary
    }

    /// Turns one event of thread `tid` into ops.
    pub fn handle(&mut self, tid: u32, event: Event) -> io::Result<()> {
        self.summary.events += 1;
        if self.left_out(tid, &event) {
            self.ignore("events of the recorder's tracer");
            return Ok(());
        }
        if !self.held_forks.is_empty() && !matches!(event, Event::NewTask { .. }) {
            self.release_forks_concerned(tid, &event)?;
        }
        match event {
            Event::NewTask { pid, clone_flags } => self.on_new_task(pid, clone_flags),
            Event::Mmap(mut m) => {
                if let Some(&parent) = self.memory_sharing_children.get(&m.pid) {
                    m.pid = parent;
                }
                self.on_mmap(m)
            }
            Event::Comm { pid, name, exec } => self.on_comm(pid, name, exec),
            Event::Fork { pid, tid, parent_pid } => self.on_fork(pid, tid, parent_pid),
            Event::Exit { pid, tid } => self.on_exit(pid, tid),
            Event::Fault { address, error_code, kernel } => self.on_fault(tid, address, error_code, kernel),
            Event::Enter(Call::Madvise { start, len, behavior }) => {
                let pid = self.pid_of(tid);
                self.on_madvise(pid, start, len, behavior)
            }
            Event::Enter(call) => {
                if self.pending.insert(tid, call).is_some() {
                    self.note("syscalls entered with no exit recorded (not applied)");
                }
                Ok(())
            }
            Event::Return { call, value } => self.on_return(tid, call, value),
        }
    }

    // ----- processes and threads -----

    fn pid_of(&self, tid: u32) -> u32 {
        self.thread_owner.get(&tid).copied().unwrap_or(tid)
    }

    /// Creates the task for a process seen for the first time in the middle
    /// of its life.
    fn ensure_process(&mut self, pid: u32) -> io::Result<()> {
        if !self.processes.contains_key(&pid) {
            self.out.op(Op::TaskCreate { task: TaskId(pid) })?;
            self.processes.insert(pid, Process::default());
            self.note("processes first seen after their start (earlier mappings guessed on first fault)");
        }
        Ok(())
    }

    /// Writes the held forks that `event` of thread `tid` depends on: those
    /// whose parent or child the event is about. A fork's child must exist
    /// before its own events, and the parent's later events must not reach
    /// the child's copy; the events of other processes can go first.
    fn release_forks_concerned(&mut self, tid: u32, event: &Event) -> io::Result<()> {
        let concerned: [u32; 2] = match *event {
            Event::Mmap(ref m) => [m.pid, m.tid],
            Event::Comm { pid, .. } | Event::Exit { pid, .. } => [pid, tid],
            Event::Fork { pid, parent_pid, .. } => [pid, parent_pid],
            _ => [self.pid_of(tid), tid],
        };
        while let Some(index) =
            self.held_forks.iter().position(|h| concerned.contains(&h.pid) || concerned.contains(&h.parent_pid))
        {
            let held = self.held_forks.remove(index);
            self.write_fork(held)?;
        }
        Ok(())
    }

    /// `task:task_newtask`: a held fork's clone flags decide what it is.
    fn on_new_task(&mut self, pid: u32, clone_flags: u64) -> io::Result<()> {
        if clone_flags & CLONE_THREAD != 0 {
            self.ignore("task:task_newtask of a thread (PERF_RECORD_FORK says the same)");
            return Ok(());
        }
        let Some(index) = self.held_forks.iter().position(|h| h.pid == pid) else {
            if clone_flags & CLONE_VM != 0 {
                self.note("children sharing their parent's memory seen too late to share it (replayed as forks)");
            } else {
                self.ignore("task:task_newtask of a fork (PERF_RECORD_FORK says the same)");
            }
            return Ok(());
        };
        let held = self.held_forks.remove(index);
        if clone_flags & CLONE_VM == 0 {
            self.ignore("task:task_newtask of a fork (PERF_RECORD_FORK says the same)");
            return self.write_fork(held);
        }
        // vfork, posix_spawn, clone(CLONE_VM): the child runs in the
        // parent's address space, like a thread, until it execs or exits.
        let parent = self.pid_of(held.parent_pid);
        self.ensure_process(parent)?;
        // A new process has one thread, its leader: `held.tid == held.pid`.
        self.memory_sharing_children.insert(held.pid, parent);
        self.thread_owner.insert(held.pid, parent);
        self.note("children sharing their parent's memory until exec or exit (vfork, posix_spawn, CLONE_VM)");
        Ok(())
    }

    /// A child that shared its parent's memory stops sharing it (at its
    /// exec or exit); false if `pid` is no such child.
    fn stop_sharing(&mut self, pid: u32) -> bool {
        if self.memory_sharing_children.remove(&pid).is_none() {
            return false;
        }
        self.thread_owner.remove(&pid);
        self.pending.remove(&pid);
        true
    }

    fn on_comm(&mut self, pid: u32, name: String, exec: bool) -> io::Result<()> {
        if !exec {
            self.ignore("PERF_RECORD_COMM (a new name, not an exec)");
            return Ok(());
        }
        // A child that shared its parent's memory gets its own at exec: a
        // new task, as for a process first seen at its exec.
        self.stop_sharing(pid);
        let task = TaskId(pid);
        let page_caches_now = self.exec_page_caches.get_mut(&pid).and_then(VecDeque::pop_front).unwrap_or_default();
        if let Some(old) = self.processes.remove(&pid) {
            self.out.op(Op::Exec { task })?;
            // exec kills the other threads; their exits may follow.
            for thread in old.threads {
                self.thread_owner.remove(&thread);
                self.pending.remove(&thread);
            }
        } else {
            self.out.op(Op::TaskCreate { task })?;
        }
        self.pending.remove(&pid);
        self.processes.insert(pid, Process { whole_history: true, awaiting_exec_stack: true, ..Process::default() });
        self.out.mark(format!("{pid} exec {name}"))?;
        self.page_caches_at_exec(page_caches_now)
    }

    /// What the files described before had cached at an exec, written as
    /// `page_cache` ops (pages evicted since, or read by means the trace
    /// does not show). A file not described yet keeps its first
    /// description, the state before its first touch: with the first read
    /// modelled, that keeps the readahead marks a later snapshot cannot
    /// show (measured: replacing it loses agreement on `awk`, `tar`,
    /// `python3`).
    fn page_caches_at_exec(&mut self, now: Vec<PageCacheNow>) -> io::Result<()> {
        for PageCacheNow { size, cached, path } in now {
            let Some(&(read_ahead, largest_folio)) = self.out.described.get(&path) else { continue };
            self.note("page caches described again at an exec (evictions and reads the trace does not show)");
            self.out.op(Op::PageCache { file: path, size, cached, read_ahead, largest_folio })?;
        }
        Ok(())
    }

    /// A process fork is held until its clone flags are known (see
    /// [`HeldFork`]); a thread joins its process at once.
    fn on_fork(&mut self, pid: u32, tid: u32, parent_pid: u32) -> io::Result<()> {
        if pid != parent_pid {
            self.held_forks.push(HeldFork { pid, tid, parent_pid });
            return Ok(());
        }
        // A thread: same address space, no task of its own.
        self.ensure_process(pid)?;
        self.thread_owner.insert(tid, pid);
        if let Some(p) = self.processes.get_mut(&pid) {
            p.threads.insert(tid);
        }
        Ok(())
    }

    /// Writes the fork of a process (no longer held).
    fn write_fork(&mut self, HeldFork { pid, tid, parent_pid }: HeldFork) -> io::Result<()> {
        // A child sharing its parent's memory forks from that memory.
        let parent_pid = self.pid_of(parent_pid);
        if parent_pid == pid {
            // Only damaged records say so: the parent is a thread of the child.
            self.note("forks whose parent is a thread of the child (damaged records; not followed)");
            return Ok(());
        }
        self.ensure_process(parent_pid)?;
        if self.processes.contains_key(&pid) {
            self.note("process ids reused before the old process's exit was seen");
            self.exit_process(pid)?;
        }
        self.out.op(Op::Fork { parent: TaskId(parent_pid), child: TaskId(pid) })?;
        let Some(parent) = self.processes.get(&parent_pid) else { return Ok(()) };
        let child = Process {
            space: parent.space.for_child(),
            brk: parent.brk,
            whole_history: parent.whole_history,
            ..Process::default()
        };
        self.processes.insert(pid, child);
        if tid != pid {
            self.thread_owner.insert(tid, pid);
        }
        Ok(())
    }

    fn on_exit(&mut self, pid: u32, tid: u32) -> io::Result<()> {
        self.pending.remove(&tid);
        if self.stop_sharing(pid) {
            // The memory was the parent's, and stays with it; so does the
            // tracer's snapshot of it, which must not be left for a later
            // process with the same id.
            if let Some(queue) = self.exit_snapshots.get_mut(&pid) {
                queue.pop_front();
            }
            return Ok(());
        }
        let Some(process) = self.processes.get_mut(&pid) else {
            self.ignore("PERF_RECORD_EXIT of a process not alive in the capture");
            return Ok(());
        };
        let last = if tid == pid {
            process.leader_exited = true;
            process.threads.is_empty()
        } else {
            process.threads.remove(&tid);
            self.thread_owner.remove(&tid);
            process.leader_exited && process.threads.is_empty()
        };
        if last { self.exit_process(pid) } else { Ok(()) }
    }

    fn exit_process(&mut self, pid: u32) -> io::Result<()> {
        if let Some(process) = self.processes.remove(&pid) {
            for thread in process.threads {
                self.thread_owner.remove(&thread);
                self.pending.remove(&thread);
            }
            self.pending.remove(&pid);
            self.write_exit_residency(pid, &process.space)?;
            self.out.op(Op::Exit { task: TaskId(pid) })?;
        }
        Ok(())
    }

    /// The pages `pid` had present at this exit, if the recorder saw it:
    /// one `resident` op per range, inside the simulator's address space.
    /// Ranges of `[vvar]` mappings are left out: the kernel maps them by
    /// page frame number (`VM_PFNMAP`), and `/proc/PID/pagemap` reports
    /// such mappings as holes whatever they hold (`walk_page_test` in
    /// `mm/pagewalk.c`), so the recorder cannot see their pages.
    fn write_exit_residency(&mut self, pid: u32, space: &Regions) -> io::Result<()> {
        let Some(snapshot) = self.exit_snapshots.get_mut(&pid).and_then(VecDeque::pop_front) else {
            return Ok(());
        };
        for range in snapshot {
            if range.start < FIRST_PAGE || range.start.saturating_add(range.pages) > END_PAGE {
                self.note("ranges present at exit outside the user address space (not compared)");
                continue;
            }
            if space.lookup(range.start).is_some_and(|(_, region)| is_pfn_mapped(&region.backing)) {
                self.note("[vvar] ranges at exit, which pagemap cannot see (not compared)");
                continue;
            }
            let op = Op::Resident {
                task: TaskId(pid),
                addr: range.start * PAGE_SIZE,
                size: range.pages * PAGE_SIZE,
                present: range.present,
            };
            self.out.op(op)?;
        }
        Ok(())
    }

    // ----- mappings -----

    fn on_mmap(&mut self, m: Mmap) -> io::Result<()> {
        let Some((start, end)) = page_span(m.start, m.len) else {
            self.note("mappings outside the user address space (not followed)");
            return Ok(());
        };
        self.ensure_process(m.pid)?;
        if m.tid != m.pid && !self.thread_owner.contains_key(&m.tid) {
            self.thread_owner.insert(m.tid, m.pid);
        }
        let region = region_of(&m, end);
        match self.pending.get(&m.tid) {
            Some(Call::Mprotect { .. }) => {
                self.ignore("PERF_RECORD_MMAP2 describing an mprotect (applied at its exit)");
                Ok(())
            }
            Some(Call::Mremap { .. }) => {
                self.ignore("PERF_RECORD_MMAP2 describing an mremap (applied at its exit)");
                Ok(())
            }
            Some(Call::Brk { .. }) => self.fill_holes(m.pid, start, end, &region),
            _ => {
                let (new_start, new_end) = self.new_part(m.pid, start, end, &region);
                if (new_start, new_end) != (start, end) {
                    self.ignore("PERF_RECORD_MMAP2 parts that are neighbours the kernel merged (kept)");
                }
                let mut region = region;
                region.end = new_end;
                if let Backing::File { offset, .. } = &mut region.backing {
                    *offset += new_start - start;
                }
                let is_stack = region.stack;
                self.unmap(m.pid, new_start, new_end)?;
                self.map(m.pid, new_start, region)?;
                if is_stack { self.fill_exec_stack(m.pid, new_start, new_end) } else { Ok(()) }
            }
        }
    }

    /// The first `[stack]` of an exec'd process: writes the pages above the
    /// 128 KiB `setup_arg_pages` leaves below the arguments, as the kernel
    /// did (`copy_strings`, `create_elf_tables`) with no fault to record.
    /// Without them the program's first recorded fault on such a page (a
    /// copy-on-write after a fork) finds nothing in the simulator.
    fn fill_exec_stack(&mut self, pid: u32, start: u64, end: u64) -> io::Result<()> {
        let Some(process) = self.processes.get_mut(&pid) else { return Ok(()) };
        if !std::mem::take(&mut process.awaiting_exec_stack) || end - start <= EXEC_STACK_GAP {
            return Ok(());
        }
        let first = start + EXEC_STACK_GAP;
        self.summary
            .notes
            .add_many("stack pages the kernel wrote at exec (arguments, environment; replayed as writes)", end - first);
        let op = AccessOp {
            task: TaskId(pid),
            access: Access::Write,
            addr: first * PAGE_SIZE,
            len: (end - first) * PAGE_SIZE,
            value: None,
            expect_value: None,
            recorded: None,
        };
        self.out.access(op, KernReturn::Success)
    }

    /// The part of a `PERF_RECORD_MMAP2` range `[start, end)` that the new
    /// mapping occupies. Linux merges a new mapping with compatible
    /// neighbours (same backing and offsets, same protection) and perf
    /// reports the merged VMA, so a prefix and a suffix of compatible
    /// regions already mapped are kept. When compatible regions cover the
    /// whole range, nothing can have been merged into free space: it is a
    /// `MAP_FIXED` mapping over them, and all of it is new.
    fn new_part(&self, pid: u32, start: u64, end: u64, region: &Region) -> (u64, u64) {
        let Some(process) = self.processes.get(&pid) else { return (start, end) };
        let pieces = process.space.pieces(start, end);
        let mut low = start;
        for piece in &pieces {
            if piece.start != low || !mergeable(piece.start, &piece.region, start, region) {
                break;
            }
            low = piece.region.end;
        }
        let mut high = end;
        for piece in pieces.iter().rev() {
            if piece.region.end != high || !mergeable(piece.start, &piece.region, start, region) {
                break;
            }
            high = piece.start;
        }
        if low >= high { (start, end) } else { (low, high) }
    }

    /// Maps `region` at `start` in both pictures; the range must be free.
    fn map(&mut self, pid: u32, start: u64, region: Region) -> io::Result<()> {
        self.out.map_region(TaskId(pid), start, &region)?;
        if let Some(p) = self.processes.get_mut(&pid) {
            p.space.insert(start, region);
        }
        Ok(())
    }

    /// Maps each hole of `[start, end)` like `template` (whose file offset
    /// applies at `start`).
    fn fill_holes(&mut self, pid: u32, start: u64, end: u64, template: &Region) -> io::Result<()> {
        let holes = self.processes.get(&pid).map(|p| p.space.holes(start, end)).unwrap_or_default();
        for (hole_start, hole_end) in holes {
            let mut region = template.clone();
            if let Backing::File { offset, .. } = &mut region.backing {
                *offset += hole_start - start;
            }
            region.end = hole_end;
            self.map(pid, hole_start, region)?;
        }
        Ok(())
    }

    /// Unmaps every mapped stretch of `[start, end)`, one op each.
    fn unmap(&mut self, pid: u32, start: u64, end: u64) -> io::Result<()> {
        let Some(process) = self.processes.get_mut(&pid) else { return Ok(()) };
        for (s, e) in process.space.mapped(start, end) {
            self.out.op(Op::VmDeallocate { task: TaskId(pid), addr: s * PAGE_SIZE, size: (e - s) * PAGE_SIZE })?;
        }
        process.space.remove(start, end);
        Ok(())
    }

    /// Sets the protection of every mapped page of `[start, end)`: one
    /// `vm_protect` per stretch of pages that change.
    fn protect(&mut self, pid: u32, start: u64, end: u64, prot: Prot) -> io::Result<()> {
        let Some(process) = self.processes.get_mut(&pid) else { return Ok(()) };
        let changing = process.space.pieces(start, end).into_iter().filter(|p| p.region.prot != prot);
        for (s, e) in merge_adjacent(changing.map(|p| (p.start, p.region.end))) {
            let (addr, size) = (s * PAGE_SIZE, (e - s) * PAGE_SIZE);
            self.out.op(Op::VmProtect { task: TaskId(pid), addr, size, prot, set_max: false })?;
        }
        process.space.update(start, end, |r| r.prot = prot);
        Ok(())
    }

    /// Sets the inheritance of every mapped page of `[start, end)` to what
    /// `choose` says for its region.
    fn inherit(&mut self, pid: u32, start: u64, end: u64, choose: fn(&Region) -> Inheritance) -> io::Result<()> {
        let Some(process) = self.processes.get_mut(&pid) else { return Ok(()) };
        for piece in process.space.pieces(start, end) {
            let wanted = choose(&piece.region);
            if wanted != piece.region.inherit {
                let (addr, size) = (piece.start * PAGE_SIZE, (piece.region.end - piece.start) * PAGE_SIZE);
                self.out.op(Op::VmInherit { task: TaskId(pid), addr, size, inherit: wanted })?;
            }
        }
        process.space.update(start, end, |r| r.inherit = choose(r));
        Ok(())
    }

    // ----- syscalls -----

    fn on_return(&mut self, tid: u32, name: CallName, value: u64) -> io::Result<()> {
        let pid = self.pid_of(tid);
        let call = match self.pending.remove(&tid) {
            Some(call) if call_name(call) == Some(name) => call,
            _ => {
                self.note("syscall exits with no entry recorded (not applied)");
                return Ok(());
            }
        };
        if !self.processes.contains_key(&pid) {
            self.ignore("syscalls of a process not alive in the capture");
            return Ok(());
        }
        let failed = is_error(value);
        match call {
            Call::Brk { .. } => self.on_brk(pid, value),
            _ if failed => {
                self.ignore("memory syscalls that failed (no effect)");
                Ok(())
            }
            Call::Munmap { addr, len } => match page_span(addr, len) {
                Some((start, end)) => self.unmap(pid, start, end),
                None => Ok(()),
            },
            Call::Mprotect { start, len, prot } => self.on_mprotect(pid, start, len, prot),
            Call::Mremap { addr, old_len, new_len, flags, .. } => {
                self.on_mremap(pid, addr, old_len, new_len, flags, value)
            }
            Call::Madvise { .. } => Ok(()),
        }
    }

    fn on_mprotect(&mut self, pid: u32, start: u64, len: u64, prot: u64) -> io::Result<()> {
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            self.note("mprotect with PROT_GROWSDOWN or PROT_GROWSUP (not followed)");
            return Ok(());
        }
        let Some((first, end)) = page_span(start, len) else { return Ok(()) };
        let prot = linux_prot(prot & PROT_READ != 0, prot & PROT_WRITE != 0, prot & PROT_EXEC != 0);
        // mprotect fails on a hole; it succeeded, so a hole here is memory
        // the capture never showed being mapped.
        let holes = self.processes.get(&pid).map(|p| p.space.holes(first, end)).unwrap_or_default();
        for (s, e) in holes {
            self.note("mprotect over memory never seen mapped (mapped as anonymous)");
            let mut region = Region::new(e, prot, Backing::Anonymous);
            region.guessed = true;
            self.map(pid, s, region)?;
        }
        self.protect(pid, first, end, prot)
    }

    /// `brk` returned `value`, the new break (the old one on failure). The
    /// growth was usually mapped already by the `PERF_RECORD_MMAP2` inside
    /// the call; this also covers a capture without it, and shrinking.
    fn on_brk(&mut self, pid: u32, value: u64) -> io::Result<()> {
        let Some(process) = self.processes.get_mut(&pid) else { return Ok(()) };
        let old = process.brk.replace(value);
        let Some(old) = old else { return Ok(()) };
        // The heap lies in user pages: a break below the first one (a
        // damaged capture's 0) moves nothing there.
        let user_page = |bytes: u64| bytes.div_ceil(PAGE_SIZE).max(FIRST_PAGE);
        let (old_end, new_end) = (user_page(old), user_page(value));
        if new_end < old_end {
            self.unmap(pid, new_end, old_end)
        } else if new_end > old_end && new_end <= END_PAGE {
            self.fill_holes(pid, old_end, new_end, &Region::new(new_end, Prot::DEFAULT, Backing::Anonymous))
        } else {
            Ok(())
        }
    }

    /// `mremap(addr, old_len, new_len, flags)` returned `value`, the new
    /// address.
    fn on_mremap(&mut self, pid: u32, addr: u64, old_len: u64, new_len: u64, flags: u64, value: u64) -> io::Result<()> {
        let (Some((old_start, old_end)), Some((new_start, new_end))) =
            (page_span(addr, old_len), page_span(value, new_len))
        else {
            self.note("mremap with an empty or impossible range (not followed)");
            return Ok(());
        };
        let (old_pages, new_pages) = (old_end - old_start, new_end - new_start);
        if new_start == old_start {
            if new_pages < old_pages {
                return self.unmap(pid, old_start + new_pages, old_end);
            }
            let template = self.continuation(pid, old_end);
            return self.fill_holes(pid, old_end, new_end, &template);
        }
        if new_start < old_end && old_start < new_end {
            // Linux refuses overlapping moves (EINVAL); a capture cannot
            // show one succeeding.
            self.note("mremap moves onto their own range (not followed)");
            return Ok(());
        }
        // Moved: whatever was at the destination is gone (MREMAP_FIXED).
        self.unmap(pid, new_start, new_end)?;
        let kept = old_pages.min(new_pages);
        let unknown = Region::new(old_start + kept, Prot::DEFAULT, Backing::Anonymous);
        if !self.processes.get(&pid).is_some_and(|p| p.space.holes(old_start, old_start + kept).is_empty()) {
            self.note("mremap of memory never seen mapped (moved as anonymous)");
            self.fill_holes(pid, old_start, old_start + kept, &unknown)?;
        }
        let template = self.continuation(pid, old_start + kept);
        let moved = self.move_range(pid, old_start, old_start + kept, new_start)?;
        // A move that shrinks leaves the old range's tail unmapped.
        self.unmap(pid, old_start + kept, old_end)?;
        self.fill_holes(pid, new_start + kept, new_end, &template)?;
        if flags & MREMAP_DONTUNMAP != 0 {
            // The old range stays mapped, emptied: as it was, with no pages.
            for (start, region) in moved {
                self.map(pid, start, region)?;
            }
        }
        Ok(())
    }

    /// Moves `[start, end)` (mapped throughout) to `to` with a `vm_move`,
    /// in the picture too; returns the regions as they were at the old place.
    fn move_range(&mut self, pid: u32, start: u64, end: u64, to: u64) -> io::Result<Vec<(u64, Region)>> {
        let task = TaskId(pid);
        self.out.op(Op::VmMove {
            task,
            src: start * PAGE_SIZE,
            size: (end - start) * PAGE_SIZE,
            dst: to * PAGE_SIZE,
        })?;
        let Some(process) = self.processes.get_mut(&pid) else { return Ok(Vec::new()) };
        let pieces = process.space.pieces(start, end);
        process.space.remove(start, end);
        let mut old = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let mut region = piece.region.clone();
            region.end = piece.region.end - start + to;
            process.space.insert(piece.start - start + to, region);
            old.push((piece.start, piece.region));
        }
        Ok(old)
    }

    /// A region that continues the one ending at `page` (same backing, the
    /// file offset carried on), to extend it from `page`. Anonymous and
    /// read-write if nothing ends there.
    fn continuation(&mut self, pid: u32, page: u64) -> Region {
        let found =
            page.checked_sub(1).and_then(|last| self.processes.get(&pid)?.space.pieces(last, page).into_iter().next());
        match found {
            Some(piece) => {
                let mut region = piece.region;
                if let Backing::File { offset, .. } = &mut region.backing {
                    *offset += 1;
                }
                region.stack = false;
                region
            }
            None => {
                self.note("mremap growing memory never seen mapped (grown as anonymous)");
                Region::new(page, Prot::DEFAULT, Backing::Anonymous)
            }
        }
    }

    /// Unmaps the private pieces of `[start, end)` and maps them again as
    /// they were: their pages are gone, a later access finds fresh ones.
    fn renew(&mut self, pid: u32, start: u64, end: u64) -> io::Result<()> {
        let pieces = self.processes.get(&pid).map(|p| p.space.pieces(start, end)).unwrap_or_default();
        for piece in pieces {
            match &piece.region.backing {
                Backing::File { shared: true, .. } => continue,
                Backing::File { name, .. } if name.starts_with('[') => {
                    self.note("madvise(MADV_DONTNEED) of a special kernel mapping (not followed)");
                    continue;
                }
                _ => {}
            }
            self.unmap(pid, piece.start, piece.region.end)?;
            self.map(pid, piece.start, piece.region)?;
        }
        Ok(())
    }

    /// `madvise` is applied at entry: its exit is not recorded.
    fn on_madvise(&mut self, pid: u32, start: u64, len: u64, behavior: u64) -> io::Result<()> {
        if !self.processes.contains_key(&pid) {
            self.ignore("syscalls of a process not alive in the capture");
            return Ok(());
        }
        if !start.is_multiple_of(PAGE_SIZE) {
            self.ignore("madvise with an unaligned start (fails with EINVAL)");
            return Ok(());
        }
        let Some((first, end)) = page_span(start, len) else { return Ok(()) };
        match behavior {
            MADV_DONTNEED => self.renew(pid, first, end),
            MADV_DONTFORK => self.inherit(pid, first, end, |_| Inheritance::None),
            MADV_DOFORK => self.inherit(pid, first, end, usual_inheritance),
            MADV_FREE => {
                self.note("madvise(MADV_FREE) (not followed: whether pages go depends on memory pressure)");
                Ok(())
            }
            MADV_REMOVE | MADV_WIPEONFORK | MADV_KEEPONFORK => {
                self.note("madvise(MADV_REMOVE / WIPEONFORK / KEEPONFORK) (not followed)");
                Ok(())
            }
            _ => {
                self.ignore("syscalls:sys_enter_madvise with advice that leaves contents alone");
                Ok(())
            }
        }
    }

    // ----- page faults -----

    fn on_fault(&mut self, tid: u32, address: u64, error_code: u64, kernel: bool) -> io::Result<()> {
        let page = address / PAGE_SIZE;
        if page >= END_PAGE {
            self.ignore("page faults on kernel addresses");
            return Ok(());
        }
        let pid = self.pid_of(tid);
        if pid == 0 {
            self.ignore("page faults of the idle task");
            return Ok(());
        }
        self.ensure_process(pid)?;
        if kernel {
            self.summary.notes.add("page faults taken by the kernel on user memory (replayed as accesses)");
        }
        let access = if error_code & PF_INSTR != 0 {
            Access::ExecFetch
        } else if error_code & PF_WRITE != 0 {
            Access::Write
        } else {
            Access::Read
        };
        let recorded = if error_code & PF_PROT != 0 { Recorded::Present } else { Recorded::NotPresent };
        let predicted = self.prepare_fault(pid, page, access)?;
        let op = AccessOp {
            task: TaskId(pid),
            access,
            addr: page * PAGE_SIZE,
            len: PAGE_SIZE,
            value: None,
            expect_value: None,
            recorded: Some(recorded),
        };
        self.out.access(op, predicted)
    }

    /// Makes sure the faulting page is mapped if the capture implies it is
    /// (stack growth, memory from before the capture), and predicts the
    /// code the access will return.
    fn prepare_fault(&mut self, pid: u32, page: u64, access: Access) -> io::Result<KernReturn> {
        if page < FIRST_PAGE {
            self.note("page faults below 0x1000 (null pointers: segfaults)");
            return Ok(KernReturn::InvalidAddress);
        }
        let Some(process) = self.processes.get(&pid) else { return Ok(KernReturn::InvalidAddress) };
        let (region_prot, guessed) = match process.space.lookup(page) {
            Some((_, region)) => (region.prot, region.guessed),
            None => {
                if let Some(region) = stack_growth(&process.space, page) {
                    self.map(pid, page, region)?;
                    return Ok(KernReturn::Success);
                }
                if process.whole_history {
                    self.note("page faults on memory never mapped (segfaults)");
                    return Ok(KernReturn::InvalidAddress);
                }
                let prot = if access == Access::ExecFetch { linux_prot(true, false, true) } else { Prot::DEFAULT };
                let mut region = Region::new(page + 1, prot, Backing::Anonymous);
                region.guessed = true;
                self.note("page faults on memory mapped before the capture (one-page regions guessed)");
                self.map(pid, page, region)?;
                return Ok(KernReturn::Success);
            }
        };
        if region_prot.allows(access.needs()) {
            return Ok(KernReturn::Success);
        }
        if guessed {
            // The guess was too narrow: widen it to what the program did.
            let wider = union(region_prot, access.needs());
            self.protect(pid, page, page + 1, wider)?;
            return Ok(KernReturn::Success);
        }
        self.note("page faults the mapping's protection forbids (segfaults)");
        Ok(KernReturn::ProtectionFailure)
    }
}

/// The stack region grown down to `page`, if a fault at `page` grows it.
fn stack_growth(space: &Regions, page: u64) -> Option<Region> {
    let (above_start, above) = space.next_above(page)?;
    if !above.stack || above_start - page > STACK_GROWTH_LIMIT {
        return None;
    }
    if space.end_below(page).is_some_and(|below_end| page < below_end + STACK_GUARD_GAP) {
        return None;
    }
    let mut grown = Region::new(above_start, above.prot, Backing::Anonymous);
    grown.stack = true;
    Some(grown)
}

/// `[addr, addr + len)` as whole pages, if it lies in the user address
/// space and is not empty.
fn page_span(addr: u64, len: u64) -> Option<(u64, u64)> {
    let end = addr.checked_add(len)?.div_ceil(PAGE_SIZE);
    let start = addr / PAGE_SIZE;
    (start >= FIRST_PAGE && start < end && end <= END_PAGE).then_some((start, end))
}

/// Is a syscall's return value `-errno`?
fn is_error(value: u64) -> bool {
    (value as i64) < 0 && (value as i64) >= -4095
}

/// The call a pending entry is waiting to return from.
fn call_name(call: Call) -> Option<CallName> {
    match call {
        Call::Munmap { .. } => Some(CallName::Munmap),
        Call::Mprotect { .. } => Some(CallName::Mprotect),
        Call::Brk { .. } => Some(CallName::Brk),
        Call::Mremap { .. } => Some(CallName::Mremap),
        Call::Madvise { .. } => None,
    }
}

/// A Linux protection on x86: writable or executable pages are readable.
fn linux_prot(read: bool, write: bool, exec: bool) -> Prot {
    prot_of(read || write || exec, write, exec)
}

/// The protection with exactly these permissions.
fn prot_of(read: bool, write: bool, exec: bool) -> Prot {
    let mut prot = Prot::ALL;
    for (wanted, bit) in [(read, Prot::READ), (write, Prot::WRITE), (exec, Prot::EXECUTE)] {
        if !wanted {
            prot = prot.without(bit);
        }
    }
    prot
}

/// Every permission either grants.
fn union(a: Prot, b: Prot) -> Prot {
    let either = |bit| a.allows(bit) || b.allows(bit);
    prot_of(either(Prot::READ), either(Prot::WRITE), either(Prot::EXECUTE))
}

/// The inheritance a region has by default: shared mappings are shared
/// with a child, everything else copied.
fn usual_inheritance(region: &Region) -> Inheritance {
    Region::new(region.end, region.prot, region.backing.clone()).inherit
}

/// Is this mapping zero-fill memory rather than a file?
fn is_anonymous(m: &Mmap) -> bool {
    let path = m.path.as_str();
    !m.shared
        && (path.is_empty()
            || path == "//anon"
            || path == "[heap]"
            || path == "[stack]"
            || path.starts_with("[anon:")
            || path.starts_with("[stack:")
            || path.starts_with("/dev/zero"))
}

/// The file a mapping maps, as the simulator names it. Shared memory with
/// no real file behind it (`/dev/zero (deleted)`, memfd, shmem) is told
/// apart by its inode, so that two separate shared regions do not alias.
fn file_name(m: &Mmap) -> String {
    let pseudo = m.device.is_some_and(|(major, _)| major == 0) || m.path.ends_with("(deleted)") || m.path == "//anon";
    if !(m.shared && pseudo) {
        return m.path.clone();
    }
    match (m.device, m.inode) {
        (Some((major, minor)), Some(inode)) => format!("{} (shared memory {major:x}:{minor:x} inode {inode})", m.path),
        _ => format!("{} (shared memory of pid {} at {:#x})", m.path, m.pid, m.start),
    }
}

/// The region a `PERF_RECORD_MMAP2` describes, ending at page `end`.
fn region_of(m: &Mmap, end: u64) -> Region {
    let prot = linux_prot(m.read, m.write, m.exec);
    let backing = if is_anonymous(m) {
        Backing::Anonymous
    } else {
        Backing::File { name: file_name(m).into(), offset: m.pgoff / PAGE_SIZE, shared: m.shared }
    };
    let mut region = Region::new(end, prot, backing);
    region.stack = m.path == "[stack]";
    region
}

/// Could Linux have merged `existing` (from page `at`) into one VMA with a
/// new mapping `new` that starts at page `start`? Same protection and
/// inheritance, neither a stack, and the same backing at matching offsets.
fn mergeable(at: u64, existing: &Region, start: u64, new: &Region) -> bool {
    if existing.prot != new.prot || existing.inherit != new.inherit || existing.stack || new.stack {
        return false;
    }
    match (&existing.backing, &new.backing) {
        (Backing::Anonymous, Backing::Anonymous) => true,
        (
            Backing::File { name: a, offset: a_offset, shared: a_shared },
            Backing::File { name: b, offset: b_offset, shared: b_shared },
        ) => a == b && a_shared == b_shared && at.checked_sub(start).map(|d| b_offset + d) == Some(*a_offset),
        _ => false,
    }
}

/// Joins ranges that touch into one.
fn merge_adjacent(ranges: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if last.1 == s => last.1 = e,
            _ => merged.push((s, e)),
        }
    }
    merged
}

//! The probes `cowsim calibrate` runs: small experiments on this machine's
//! own kernel, each timing one thing a copy-on-write design makes a kernel
//! do (a kind of page fault, a fork, an unmap...).
//!
//! Every probe sets up what it needs outside the timed part (a mapping, a
//! child, a file) and returns the nanoseconds of the timed part alone,
//! measured with `std::time::Instant` (on Linux, `clock_gettime` of
//! `CLOCK_MONOTONIC`). One call is one measurement; the caller repeats
//! them and takes medians ([`median`]).
//!
//! Anonymous memory is mapped with transparent huge pages turned off
//! (`MADV_NOHUGEPAGE`): then a fault handles one 4 KiB page and a fork
//! copies one page-table entry per page, as in the simulator. Memory is
//! touched one byte per page with volatile accesses, so the compiler keeps
//! every access.
//!
//! A forked child only ever calls async-signal-safe functions (`close`,
//! `read`, `execve`, `_exit`) on memory prepared before the fork, so the
//! probes are safe to run from a process with other threads.

use std::ffi::CString;
use std::io;
use std::time::Instant;

/// Why a probe could not run: a system call the machine refused.
#[derive(Debug, thiserror::Error)]
#[error("calibrate: {what} failed: {source}")]
pub struct ProbeError {
    pub what: String,
    pub source: io::Error,
}

fn failed(what: impl Into<String>) -> ProbeError {
    ProbeError { what: what.into(), source: io::Error::last_os_error() }
}

pub type ProbeResult<T> = Result<T, ProbeError>;

/// The program the exec and spawn probes run: it exits at once.
pub const TRUE_PROGRAM: &str = "/bin/true";

/// Bytes per page on this machine.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
}

/// The median of `values` (the upper middle one for an even count); 0 for
/// none. Medians, not means: a probe that the scheduler interrupted once
/// should not move the figure.
pub fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// Nanoseconds `work` took.
fn timed(work: impl FnOnce()) -> u64 {
    let start = Instant::now();
    work();
    start.elapsed().as_nanos() as u64
}

/// A private mapping, unmapped when dropped.
pub struct Region {
    start: *mut u8,
    pages: usize,
    page: usize,
}

impl Region {
    /// `pages` pages of fresh anonymous memory, readable and writable, with
    /// huge pages turned off. Nothing is touched yet.
    pub fn anonymous(pages: usize) -> ProbeResult<Region> {
        let page = page_size();
        let bytes = pages * page;
        // SAFETY: a new private anonymous mapping; no existing memory changes.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(failed(format!("mapping {} MiB of anonymous memory", bytes >> 20)));
        }
        // Without huge pages a fault is one page, as the simulator counts
        // it. A kernel without transparent huge pages refuses the advice,
        // which is then true already.
        // SAFETY: advice on the mapping just made.
        unsafe { libc::madvise(start, bytes, libc::MADV_NOHUGEPAGE) };
        Ok(Region { start: start.cast(), pages, page })
    }

    /// `pages` pages, each written once (all present and writable).
    pub fn touched(pages: usize) -> ProbeResult<Region> {
        let region = Region::anonymous(pages)?;
        region.write_pages(0..pages, 1);
        Ok(region)
    }

    fn bytes(&self) -> usize {
        self.pages * self.page
    }

    /// The address of page `index`.
    fn page_at(&self, index: usize) -> *mut u8 {
        assert!(index < self.pages, "page {index} of a region of {}", self.pages);
        // SAFETY: inside the mapping (checked above).
        unsafe { self.start.add(index * self.page) }
    }

    /// Writes one byte in every page of `pages`.
    pub fn write_pages(&self, pages: std::ops::Range<usize>, value: u8) {
        for index in pages {
            // SAFETY: a byte of our own mapping, which is writable.
            unsafe { self.page_at(index).write_volatile(value) };
        }
    }

    /// Writes one byte in every `stride`-th page.
    pub fn write_every(&self, stride: usize, value: u8) {
        for index in (0..self.pages).step_by(stride) {
            // SAFETY: as in `write_pages`.
            unsafe { self.page_at(index).write_volatile(value) };
        }
    }

    /// Reads one byte of every `stride`-th page; returns their sum, so the
    /// reads cannot be left out.
    pub fn read_every(&self, stride: usize) -> u64 {
        (0..self.pages)
            .step_by(stride)
            .map(|index| {
                // SAFETY: a byte of our own mapping, which is readable.
                u64::from(unsafe { self.page_at(index).read_volatile() })
            })
            .sum()
    }

    /// The region made read-only, its pages still present.
    pub fn read_only(self) -> ProbeResult<Region> {
        self.protect(libc::PROT_READ)?;
        Ok(self)
    }

    /// Changes the protection of the whole region.
    pub fn protect(&self, prot: libc::c_int) -> ProbeResult<()> {
        // SAFETY: our own mapping; the caller only reads or writes it as
        // `prot` allows.
        if unsafe { libc::mprotect(self.start.cast(), self.bytes(), prot) } != 0 {
            return Err(failed("mprotect"));
        }
        Ok(())
    }

    /// Unmaps the region now, timing the munmap call.
    pub fn unmap_timed(mut self) -> ProbeResult<u64> {
        let (start, bytes) = (self.start, self.bytes());
        self.pages = 0;
        let mut result = 0;
        // SAFETY: our own mapping, never used again (`pages` is 0, so Drop
        // does nothing).
        let ns = timed(|| result = unsafe { libc::munmap(start.cast(), bytes) });
        if result != 0 {
            return Err(failed("munmap"));
        }
        Ok(ns)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.pages > 0 {
            // SAFETY: our own mapping, not used after this.
            unsafe { libc::munmap(self.start.cast(), self.bytes()) };
        }
    }
}

// --- Faults ----------------------------------------------------------------

/// The first write to each of `pages` fresh anonymous pages: a zero-fill
/// fault each (and a page-table page for every 512).
pub fn first_writes(pages: usize) -> ProbeResult<u64> {
    let region = Region::anonymous(pages)?;
    Ok(timed(|| region.write_pages(0..pages, 1)))
}

/// The first write to one page in each of `leaves` fresh 2 MiB spans (one
/// page-table leaf each): a zero-fill fault that also allocates the leaf.
pub fn first_writes_one_per_leaf(leaves: usize) -> ProbeResult<u64> {
    let stride = LEAF_ENTRIES;
    let region = Region::anonymous(leaves * stride)?;
    Ok(timed(|| region.write_every(stride, 1)))
}

/// Entries in an x86-64 page-table page: one leaf maps 2 MiB of 4 KiB pages.
pub const LEAF_ENTRIES: usize = 512;

/// The first read of each of `pages` fresh anonymous pages: each maps the
/// shared zero page.
pub fn first_reads(pages: usize) -> ProbeResult<u64> {
    let region = Region::anonymous(pages)?;
    let mut sum = 0;
    let ns = timed(|| sum = region.read_every(1));
    std::hint::black_box(sum);
    Ok(ns)
}

/// A read of each of `pages` pages already present: no fault, only the
/// access (and its TLB miss).
pub fn present_reads(region: &Region) -> u64 {
    let mut sum = 0;
    let ns = timed(|| sum = region.read_every(1));
    std::hint::black_box(sum);
    ns
}

/// The parent writes every page of a touched region while a forked child,
/// still alive, shares them: a copy-on-write copy fault each.
pub fn writes_shared_with_child(pages: usize) -> ProbeResult<u64> {
    let region = Region::touched(pages)?;
    let child = Child::waiting()?;
    let ns = timed(|| region.write_pages(0..pages, 2));
    child.release_and_reap()?;
    Ok(ns)
}

/// The parent writes every page of a touched region after a forked child
/// exited: fork left each page write-protected, and now only the parent
/// holds it, so each write fault reuses the page in place.
pub fn writes_after_child_exit(pages: usize) -> ProbeResult<u64> {
    let region = Region::touched(pages)?;
    fork_then_exit()?;
    Ok(timed(|| region.write_pages(0..pages, 2)))
}

/// Reads of a file page already in memory (a memfd page), through `maps`
/// separate one-page shared mappings of a one-page file: each read is a
/// fault that maps the existing page, and only it (fault-around stops at
/// the end of the file).
pub fn file_reads_one_page_each(maps: usize) -> ProbeResult<u64> {
    let file = MemFile::with_pages(1)?;
    let mappings: Vec<FileMap> = (0..maps).map(|_| file.map_shared(1)).collect::<ProbeResult<_>>()?;
    let mut sum = 0u64;
    let ns = timed(|| {
        for mapping in &mappings {
            sum += mapping.read_page(0);
        }
    });
    std::hint::black_box(sum);
    Ok(ns)
}

/// Reads of one page in every `window` pages of a shared mapping of a file
/// whose pages are all in memory: each read faults once and Linux's
/// fault-around maps the whole aligned window with it.
pub fn file_reads_one_per_window(windows: usize, window: usize) -> ProbeResult<u64> {
    let file = MemFile::with_pages(windows * window)?;
    let mapping = file.map_shared(windows * window)?;
    let mut sum = 0u64;
    let ns = timed(|| {
        for index in (0..windows * window).step_by(window) {
            sum += mapping.read_page(index);
        }
    });
    std::hint::black_box(sum);
    Ok(ns)
}

// --- Memory copies ---------------------------------------------------------

/// Copies every byte of one touched region into another: what a
/// copy-on-write copy does to the page, without the fault.
pub fn copy_bytes(pages: usize) -> ProbeResult<u64> {
    let from = Region::touched(pages)?;
    let to = Region::touched(pages)?;
    // SAFETY: two distinct mappings of the same length.
    Ok(timed(|| unsafe { std::ptr::copy_nonoverlapping(from.start, to.start, from.bytes()) }))
}

/// Zeroes every byte of a touched region: what a zero-fill fault does to
/// the new page, without the fault.
pub fn zero_bytes(pages: usize) -> ProbeResult<u64> {
    let region = Region::touched(pages)?;
    // SAFETY: our own writable mapping.
    Ok(timed(|| unsafe { std::ptr::write_bytes(region.start, 0, region.bytes()) }))
}

// --- System calls on mappings ----------------------------------------------

/// `mmap` of `pages` anonymous pages (not touched).
pub fn map_untouched(pages: usize) -> ProbeResult<u64> {
    let mut region = None;
    let ns = timed(|| region = Some(Region::anonymous(pages)));
    region.expect("the mapping was attempted")?;
    Ok(ns)
}

/// `munmap` of `pages` pages, all touched (`touched`) or none.
pub fn unmap(pages: usize, touched: bool) -> ProbeResult<u64> {
    let region = if touched { Region::touched(pages)? } else { Region::anonymous(pages)? };
    region.unmap_timed()
}

/// `mprotect` to read-only of `pages` pages, all touched (each present
/// entry loses its write permission, then the range is flushed from the
/// TLB) or none (only the map entry changes).
pub fn protect_read_only(pages: usize, touched: bool) -> ProbeResult<u64> {
    let region = if touched { Region::touched(pages)? } else { Region::anonymous(pages)? };
    let mut result = Ok(());
    let ns = timed(|| result = region.protect(libc::PROT_READ));
    result?;
    Ok(ns)
}

/// `madvise(MADV_NORMAL)` of one page: a memory system call that changes
/// nothing, the cost of asking the kernel anything about a mapping.
pub fn advise_nothing() -> ProbeResult<u64> {
    let region = Region::anonymous(1)?;
    let mut result = 0;
    // SAFETY: advice on our own mapping that changes nothing.
    let ns = timed(|| result = unsafe { libc::madvise(region.start.cast(), region.bytes(), libc::MADV_NORMAL) });
    if result != 0 {
        return Err(failed("madvise"));
    }
    Ok(ns)
}

/// `count` extra map entries: one-page mappings with a hole between each
/// two, so the kernel cannot merge them, written (`touched`: each gets its
/// reverse map and one present page) or not.
pub struct SeparateMappings {
    _reservation: Region,
}

impl SeparateMappings {
    pub fn new(count: usize, touched: bool) -> ProbeResult<SeparateMappings> {
        let reservation = Region::anonymous(2 * count)?;
        for index in 0..count {
            if touched {
                reservation.write_pages(2 * index..2 * index + 1, 1);
            }
            let hole = reservation.page_at(2 * index + 1);
            // SAFETY: unmapping one page of our own reservation that is
            // never touched; the reservation's drop unmaps the whole range,
            // holes included, which munmap allows.
            if unsafe { libc::munmap(hole.cast(), reservation.page) } != 0 {
                return Err(failed("munmap of a hole between mappings"));
            }
        }
        Ok(SeparateMappings { _reservation: reservation })
    }
}

// --- Processes ---------------------------------------------------------------

/// What a fork of the calling process costs: the `fork()` call as the
/// parent sees it, and the whole round trip until the child has gone.
#[derive(Clone, Copy, Debug)]
pub struct ForkTimes {
    /// From calling `fork()` to its return in the parent.
    pub fork: u64,
    /// From calling `fork()` to `waitpid` returning the child's exit.
    pub round_trip: u64,
}

/// Forks a child that calls `_exit(0)` at once; times the `fork()` call
/// and the round trip to its reaping.
pub fn fork_then_exit() -> ProbeResult<ForkTimes> {
    let start = Instant::now();
    // SAFETY: the child calls only `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: leaves the child at once, running no destructors.
        unsafe { libc::_exit(0) };
    }
    let fork = start.elapsed().as_nanos() as u64;
    if pid < 0 {
        return Err(failed("fork"));
    }
    reap(pid, "the forked child")?;
    Ok(ForkTimes { fork, round_trip: start.elapsed().as_nanos() as u64 })
}

/// Starts a child that shares the parent's memory, as `vfork` and
/// `posix_spawn` do, and `_exit`s at once; times the round trip to its
/// reaping. This is the process half of a spawn without the exec.
pub fn vfork_then_exit() -> ProbeResult<u64> {
    extern "C" fn leave(_: *mut libc::c_void) -> libc::c_int {
        // SAFETY: ends the child at once; it touches no shared state.
        unsafe { libc::_exit(0) }
    }
    // The child runs on a stack of its own (it shares the parent's memory,
    // so it must not use the parent's), made before the clone.
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: one past the end of our own buffer, 16-aligned: stacks grow down.
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) };
    let top = (top as usize & !15) as *mut libc::c_void;
    let start = Instant::now();
    // SAFETY: the child runs `leave` on its own stack and calls only `_exit`;
    // CLONE_VFORK holds the parent until it has.
    let pid =
        unsafe { libc::clone(leave, top, libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, std::ptr::null_mut()) };
    if pid < 0 {
        return Err(failed("clone of a vfork child"));
    }
    reap(pid, "the vfork child")?;
    let ns = start.elapsed().as_nanos() as u64;
    drop(stack);
    Ok(ns)
}

/// Keeps the probes undisturbed until dropped: the calling thread stays on
/// the CPU it is running on, and runs at a higher priority when the
/// system allows it (root may; others keep their priority). On one CPU a
/// child runs as soon as its parent waits for it, where across CPUs its
/// wakeup can wait for the scheduler's next tick (4 ms here), which would
/// swamp the round trips; the priority keeps other programs on that CPU
/// from stretching a fork that takes milliseconds.
pub struct Undisturbed {
    cpus_before: Option<libc::cpu_set_t>,
    priority_before: Option<libc::c_int>,
}

/// The priority asked for while probing (`nice -n -10`).
const PROBING_NICENESS: libc::c_int = -10;

impl Undisturbed {
    pub fn here() -> Undisturbed {
        Undisturbed { cpus_before: pin_to_this_cpu(), priority_before: raise_priority() }
    }
}

/// Pins the calling thread to its CPU; returns the CPUs it had.
fn pin_to_this_cpu() -> Option<libc::cpu_set_t> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: reading and setting our own thread's affinity with a mask of
    // the size the kernel expects; a refusal leaves it as it was.
    unsafe {
        let mut before: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut before) != 0 {
            return None;
        }
        let cpu = usize::try_from(libc::sched_getcpu()).ok()?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        (libc::sched_setaffinity(0, size, &one) == 0).then_some(before)
    }
}

/// Raises the process's priority if allowed; returns the one it had.
fn raise_priority() -> Option<libc::c_int> {
    // SAFETY: getpriority and setpriority of our own process. getpriority
    // can return -1 as a value, so errno tells a failure apart.
    unsafe {
        *libc::__errno_location() = 0;
        let before = libc::getpriority(libc::PRIO_PROCESS, 0);
        if *libc::__errno_location() != 0 || before <= PROBING_NICENESS {
            return None;
        }
        (libc::setpriority(libc::PRIO_PROCESS, 0, PROBING_NICENESS) == 0).then_some(before)
    }
}

impl Drop for Undisturbed {
    fn drop(&mut self) {
        // SAFETY: restoring what `here` read.
        unsafe {
            if let Some(before) = &self.cpus_before {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), before);
            }
            if let Some(before) = self.priority_before {
                libc::setpriority(libc::PRIO_PROCESS, 0, before);
            }
        }
    }
}

/// The argument vector and empty environment of [`TRUE_PROGRAM`], made
/// before any fork (a child may not allocate).
pub struct TrueProgram {
    path: CString,
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
}

impl TrueProgram {
    pub fn new() -> ProbeResult<TrueProgram> {
        let path = CString::new(TRUE_PROGRAM).expect("no NUL in the path");
        let c_path = path.as_c_str();
        if std::fs::metadata(TRUE_PROGRAM).is_err() {
            return Err(ProbeError {
                what: format!("finding {TRUE_PROGRAM} (the program the exec probes run)"),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        let argv = [c_path.as_ptr(), std::ptr::null()];
        Ok(TrueProgram { argv, envp: [std::ptr::null()], path })
    }
}

/// Forks a child that execs `/bin/true`; times from the `fork()` call to
/// reaping it.
pub fn fork_exec_wait(program: &TrueProgram) -> ProbeResult<u64> {
    let start = Instant::now();
    // SAFETY: the child calls only `execve` and `_exit`, on memory made
    // before the fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            libc::execve(program.path.as_ptr(), program.argv.as_ptr(), program.envp.as_ptr());
            libc::_exit(127);
        }
    }
    if pid < 0 {
        return Err(failed("fork"));
    }
    reap(pid, TRUE_PROGRAM)?;
    Ok(start.elapsed().as_nanos() as u64)
}

/// Starts `/bin/true` with `posix_spawn` (which never copies the parent's
/// page tables: glibc clones with the parent's memory and execs) and waits
/// for it.
pub fn spawn_wait(program: &TrueProgram) -> ProbeResult<u64> {
    let start = Instant::now();
    let mut pid = 0;
    // SAFETY: the arguments are valid C strings and null-terminated vectors.
    let error = unsafe {
        libc::posix_spawn(
            &mut pid,
            program.path.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            program.argv.as_ptr().cast(),
            program.envp.as_ptr().cast(),
        )
    };
    if error != 0 {
        return Err(ProbeError {
            what: format!("posix_spawn of {TRUE_PROGRAM}"),
            source: io::Error::from_raw_os_error(error),
        });
    }
    reap(pid, TRUE_PROGRAM)?;
    Ok(start.elapsed().as_nanos() as u64)
}

/// Waits for `pid` and checks that it exited with status 0.
fn reap(pid: libc::pid_t, what: &str) -> ProbeResult<()> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            break;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(failed(format!("waiting for {what}")));
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(ProbeError {
            what: format!("running {what}"),
            source: io::Error::other(format!("wait status {status:#x}")),
        })
    }
}

/// A forked child that waits, sharing the parent's memory, until released.
struct Child {
    pid: libc::pid_t,
    release: libc::c_int,
}

impl Child {
    /// Forks a child that blocks reading a pipe, then `_exit`s.
    fn waiting() -> ProbeResult<Child> {
        let mut pipe = [0 as libc::c_int; 2];
        // SAFETY: a pipe into a two-descriptor array.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(failed("pipe"));
        }
        let [read_end, write_end] = pipe;
        // SAFETY: the child calls only `read` and `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                // The child must not hold the write end itself, or the
                // parent closing its copy would never end the read.
                libc::close(write_end);
                let mut byte = 0u8;
                libc::read(read_end, (&mut byte as *mut u8).cast(), 1);
                libc::_exit(0);
            }
        }
        // SAFETY: the parent keeps only the write end.
        unsafe { libc::close(read_end) };
        if pid < 0 {
            // SAFETY: closing our own descriptor.
            unsafe { libc::close(write_end) };
            return Err(failed("fork"));
        }
        Ok(Child { pid, release: write_end })
    }

    /// Lets the child exit, and reaps it.
    fn release_and_reap(self) -> ProbeResult<()> {
        // SAFETY: closing our end of the pipe wakes the child's read.
        unsafe { libc::close(self.release) };
        reap(self.pid, "the waiting child")
    }
}

// --- Files -------------------------------------------------------------------

/// A file in memory (`memfd_create`), all of its pages written, closed
/// when dropped.
struct MemFile {
    fd: libc::c_int,
    pages: usize,
}

impl MemFile {
    fn with_pages(pages: usize) -> ProbeResult<MemFile> {
        let name = CString::new("cowsim-calibrate").expect("no NUL in the name");
        // SAFETY: a new anonymous file.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(failed("memfd_create"));
        }
        let file = MemFile { fd, pages };
        let page = vec![7u8; page_size()];
        for _ in 0..pages {
            // SAFETY: writing our own buffer to our own file.
            let written = unsafe { libc::write(fd, page.as_ptr().cast(), page.len()) };
            if written != page.len() as isize {
                return Err(failed("writing the memfd"));
            }
        }
        Ok(file)
    }

    /// A shared read-only mapping of the file's first `pages` pages.
    fn map_shared(&self, pages: usize) -> ProbeResult<FileMap> {
        let bytes = pages.min(self.pages) * page_size();
        // SAFETY: a new shared mapping of our own file.
        let start = unsafe { libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ, libc::MAP_SHARED, self.fd, 0) };
        if start == libc::MAP_FAILED {
            return Err(failed("mapping the memfd"));
        }
        Ok(FileMap { start: start.cast(), bytes })
    }
}

impl Drop for MemFile {
    fn drop(&mut self) {
        // SAFETY: closing our own descriptor (mappings keep the file alive).
        unsafe { libc::close(self.fd) };
    }
}

/// A shared mapping of a [`MemFile`], unmapped when dropped.
struct FileMap {
    start: *const u8,
    bytes: usize,
}

impl FileMap {
    fn read_page(&self, index: usize) -> u64 {
        let offset = index * page_size();
        assert!(offset < self.bytes, "page {index} past the mapping");
        // SAFETY: a byte inside our own readable mapping.
        u64::from(unsafe { self.start.add(offset).read_volatile() })
    }
}

impl Drop for FileMap {
    fn drop(&mut self) {
        // SAFETY: our own mapping, not used after this.
        unsafe { libc::munmap(self.start as *mut libc::c_void, self.bytes) };
    }
}

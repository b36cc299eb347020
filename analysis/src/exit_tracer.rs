//! `cowsim record`'s second witness: which pages every process of the
//! recorded program had present when it exited.
//!
//! perf shows the faults the kernel took, never the accesses that did not
//! fault, so a capture alone cannot show a simulator that faults too often.
//! This tracer closes the gap. It starts the program under ptrace, follows
//! every process and thread it creates (`PTRACE_O_TRACEFORK`, `VFORK`,
//! `CLONE`), and stops each at its exit (`PTRACE_O_TRACEEXIT`), when the
//! address space is still whole. There it reads `/proc/PID/maps` and, for
//! every page of every mapping, the present bit of `/proc/PID/pagemap`.
//! (Since Linux 4.2 an unprivileged reader sees that bit, with the frame
//! numbers zeroed, so this works as root and as the program's own user.)
//!
//! What it saw goes to a file of comment lines that the recorder puts at
//! the top of the capture (`workloads/src/import/perf/exits.rs` reads them):
//!
//! ```text
//! # cowsim tracer 4567
//! # cowsim exit 4568
//! # cowsim resident 4568 0x55d0c4a00000 16 0+3,10+2
//! ```
//!
//! Limits: only the exit of a thread group's leader is read (the memory is
//! the process's, not the thread's); the address space an `exec` throws
//! away is not read (catching it would mean stopping at every system call);
//! mappings larger than [`LARGEST_MAPPING_PAGES`] are skipped, as is the
//! `[vsyscall]` page above the user address space. A stop signal
//! (`SIGSTOP`) or trap (`SIGTRAP`) sent to the program is taken for one of
//! ptrace's own stops and not delivered; every other signal is.
//!
//! When ptrace is not allowed (a seccomp filter, Yama's `ptrace_scope` 3),
//! the program still runs, untraced, and the file says why.
//!
//! The same tracer also records the page cache each file had before the
//! program first touched it (`page_cache_watch.rs`), at the stops a
//! seccomp filter asks for.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::page_cache_watch::{PageCacheWatch, runs_text};

/// Mappings with more pages than this (64 GiB) are not read: their
/// pagemap alone would be half a gigabyte, and such reservations are
/// nearly empty.
pub const LARGEST_MAPPING_PAGES: u64 = 1 << 24;

/// Pages per `resident` line: a line of the capture stays far below the
/// importer's 1 MiB line limit however fragmented the memory.
const PAGES_PER_LINE: u64 = 1 << 16;

const PAGE_SIZE: u64 = 4096;

/// Runs `command` under the tracer, writing what it saw to `out`; returns
/// the command's exit status as a shell would give it (128 + the signal
/// for a command killed by one).
pub fn trace_exits(command: &[String], out: &Path) -> io::Result<i32> {
    let mut report = io::BufWriter::new(File::create(out)?);
    writeln!(report, "# cowsim tracer {}", std::process::id())?;
    let status = match start_traced(command)? {
        Started::Traced(child) => {
            let mut watch = PageCacheWatch::default();
            let status = follow(child, &mut report, &mut watch)?;
            watch.finish(&mut report)?;
            status
        }
        Started::Untraced { child, why } => {
            writeln!(report, "# cowsim-note exit residency not recorded: {why}")?;
            wait_plain(child)?
        }
        Started::Finished { status, why } => {
            writeln!(report, "# cowsim-note exit residency not recorded: {why}")?;
            status
        }
    };
    report.flush()?;
    Ok(status)
}

enum Started {
    /// Stopped under the trace, options set.
    Traced(libc::pid_t),
    /// Running, no longer traced.
    Untraced { child: libc::pid_t, why: String },
    /// Could not be traced and already ran to its end.
    Finished { status: i32, why: String },
}

/// Forks; the child asks to be traced, stops so the tracer can set its
/// options, installs the page cache watch's seccomp filter if the tracer
/// says (a byte on a pipe: a filter without a tracer would fail every call
/// it traps), then execs `command`.
fn start_traced(command: &[String]) -> io::Result<Started> {
    let args: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| io::Error::other("an argument holds a NUL byte")))
        .collect::<io::Result<_>>()?;
    let Some(program) = args.first() else { return Err(io::Error::other("no command to run")) };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let filter = seccomp_filter();
    let seccomp_program =
        libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr() as *mut libc::sock_filter };
    // SAFETY: geteuid cannot fail.
    let as_root = unsafe { libc::geteuid() } == 0;
    let mut go = [0 as libc::c_int; 2];
    // SAFETY: a pipe into a two-descriptor array.
    if unsafe { libc::pipe2(go.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let [go_read, go_write] = go;
    // SAFETY: the child only makes async-signal-safe calls (ptrace, raise,
    // execvp, _exit) on memory prepared before the fork.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(io::Error::last_os_error());
    }
    if child == 0 {
        unsafe {
            let traced = libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == 0;
            if traced {
                libc::raise(libc::SIGSTOP);
                let mut install = 0u8;
                let said = libc::read(go_read, (&mut install as *mut u8).cast(), 1);
                if said == 1 && install == 1 && !filter.is_empty() {
                    install_seccomp(&seccomp_program, as_root);
                }
            }
            libc::execvp(program.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    // SAFETY: the parent keeps only the write end.
    unsafe { libc::close(go_read) };
    let tell_child = |install: bool| {
        // SAFETY: one byte into our own pipe, then closing it.
        unsafe {
            libc::write(go_write, (&u8::from(install) as *const u8).cast(), 1);
            libc::close(go_write);
        }
    };
    let mut status = 0;
    // SAFETY: plain system calls on our own child.
    unsafe {
        if libc::waitpid(child, &mut status, libc::__WALL) < 0 {
            return Err(io::Error::last_os_error());
        }
        if !libc::WIFSTOPPED(status) {
            // PTRACE_TRACEME failed, so the child went straight to its
            // exec and has run to its end.
            tell_child(false);
            return Ok(Started::Finished { status: shell_status(status), why: "ptrace is not allowed here".into() });
        }
        let options = libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACEEXIT
            | libc::PTRACE_O_TRACEEXEC
            | libc::PTRACE_O_TRACESECCOMP
            | libc::PTRACE_O_EXITKILL;
        if libc::ptrace(libc::PTRACE_SETOPTIONS, child, 0, options as libc::c_long) < 0 {
            let why = format!("ptrace options refused: {}", io::Error::last_os_error());
            tell_child(false);
            libc::ptrace(libc::PTRACE_DETACH, child, 0, 0);
            return Ok(Started::Untraced { child, why });
        }
        tell_child(true);
        libc::ptrace(libc::PTRACE_CONT, child, 0, 0);
    }
    Ok(Started::Traced(child))
}

/// Waits for an untraced child.
fn wait_plain(child: libc::pid_t) -> io::Result<i32> {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    if unsafe { libc::waitpid(child, &mut status, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(shell_status(status))
}

fn shell_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// Follows every traced task until none is left; returns the first
/// child's status.
fn follow(first: libc::pid_t, report: &mut impl Write, watch: &mut PageCacheWatch) -> io::Result<i32> {
    let mut first_status = 0;
    loop {
        let mut status = 0;
        // SAFETY: waiting for any traced task.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if pid < 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::ECHILD) {
                return Ok(first_status);
            }
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            if pid == first {
                first_status = shell_status(status);
            }
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let event = (status >> 16) & 0xff;
        let signal = libc::WSTOPSIG(status);
        let deliver = if event == libc::PTRACE_EVENT_EXIT {
            if is_process_leader(pid) {
                snapshot(pid, report)?;
            }
            0
        } else if event == libc::PTRACE_EVENT_SECCOMP {
            at_system_call(watch, pid, report)?;
            0
        } else if event == libc::PTRACE_EVENT_EXEC {
            watch.after_exec(pid, report)?;
            0
        } else if event != 0 || signal == libc::SIGSTOP || signal == libc::SIGTRAP {
            // A fork, clone, exec or exit event, a new task's first stop,
            // or the trap of an exec: nothing to deliver.
            0
        } else {
            // A signal on its way to the program: let it through.
            signal
        };
        // SAFETY: resuming a task stopped under our trace.
        unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, deliver as libc::c_long) };
    }
}

#[cfg(target_arch = "x86_64")]
fn seccomp_filter() -> Vec<libc::sock_filter> {
    crate::page_cache_watch::filter()
}

#[cfg(not(target_arch = "x86_64"))]
fn seccomp_filter() -> Vec<libc::sock_filter> {
    Vec::new()
}

/// # Safety
/// Only in the forked child, as `page_cache_watch::install` says.
#[cfg(target_arch = "x86_64")]
unsafe fn install_seccomp(program: &libc::sock_fprog, as_root: bool) {
    // SAFETY: passed on from the caller.
    unsafe { crate::page_cache_watch::install(program, as_root) };
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn install_seccomp(_program: &libc::sock_fprog, _as_root: bool) {}

#[cfg(target_arch = "x86_64")]
fn at_system_call(watch: &mut PageCacheWatch, pid: libc::pid_t, report: &mut impl Write) -> io::Result<()> {
    watch.at_system_call(pid, report)
}

#[cfg(not(target_arch = "x86_64"))]
fn at_system_call(_watch: &mut PageCacheWatch, _pid: libc::pid_t, _report: &mut impl Write) -> io::Result<()> {
    Ok(())
}

/// Is `pid` the leader of its thread group (a process, not a thread)?
fn is_process_leader(pid: libc::pid_t) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|t| t.trim().parse::<libc::pid_t>().ok()) == Some(pid)
}

/// Writes `pid`'s present pages, mapping by mapping.
fn snapshot(pid: libc::pid_t, report: &mut impl Write) -> io::Result<()> {
    let (Ok(maps), Ok(pagemap)) = (File::open(format!("/proc/{pid}/maps")), File::open(format!("/proc/{pid}/pagemap")))
    else {
        return Ok(());
    };
    writeln!(report, "# cowsim exit {pid}")?;
    for line in BufReader::new(maps).lines() {
        let line = line?;
        let Some((start, end)) = mapping_range(&line) else { continue };
        let pages = (end - start) / PAGE_SIZE;
        if pages == 0 || pages > LARGEST_MAPPING_PAGES || line.ends_with("[vsyscall]") {
            continue;
        }
        let mut first = start / PAGE_SIZE;
        let last = end / PAGE_SIZE;
        while first < last {
            let count = (last - first).min(PAGES_PER_LINE);
            let present = present_pages(&pagemap, first, count)?;
            writeln!(report, "# cowsim resident {pid} {:#x} {count} {}", first * PAGE_SIZE, runs_text(&present))?;
            first += count;
        }
    }
    Ok(())
}

/// `START-END` at the head of a `/proc/PID/maps` line, in bytes.
fn mapping_range(line: &str) -> Option<(u64, u64)> {
    let range = line.split(' ').next()?;
    let (start, end) = range.split_once('-')?;
    Some((u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?))
}

/// Which of `count` pages from page `first` are present (bit 63 of each
/// 8-byte pagemap entry); a read that fails counts as none present.
fn present_pages(pagemap: &File, first: u64, count: u64) -> io::Result<Vec<bool>> {
    let mut bytes = vec![0u8; (count * 8) as usize];
    if pagemap.read_exact_at(&mut bytes, first * 8).is_err() {
        return Ok(vec![false; count as usize]);
    }
    Ok(bytes.chunks_exact(8).map(|entry| entry[7] & 0x80 != 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_written_in_order() {
        assert_eq!(runs_text(&[true, true, false, true]), "0+2,3+1");
        assert_eq!(runs_text(&[false, false]), "-");
        assert_eq!(runs_text(&[]), "-");
        assert_eq!(runs_text(&[false, true, true]), "1+2");
    }

    #[test]
    fn maps_lines() {
        let line = "55d0c4a00000-55d0c4a10000 r--p 00000000 fe:00 123 /usr/bin/true";
        assert_eq!(mapping_range(line), Some((0x55d0c4a00000, 0x55d0c4a10000)));
        assert_eq!(mapping_range("garbage"), None);
    }
}

//! `cowsim record`'s third witness: what the page cache held of each file
//! before the recorded program first touched it.
//!
//! Linux's fault-around maps the neighbours of a faulting file page only if
//! they are in the page cache, and readahead decides which pages get there
//! and which carry the mark that fault-around skips. A capture replayed
//! with every file cached (`--page-cache warm`) or none (`cold`) only
//! brackets the truth. So the exit tracer (`exit_tracer.rs`) also stops
//! the program, with a seccomp filter that asks for a ptrace stop
//! (`SECCOMP_RET_TRACE`), at the system calls that first touch a file's
//! pages: `execve`/`execveat` (the kernel reads the program's header),
//! `read`/`pread64` of a regular file, and `mmap` of one. At the first such
//! stop for each file (by device and inode), before the call runs, it maps
//! the file itself and asks `mincore(2)` which pages are cached. It also
//! notes the call: the first read's offset and length (the loader's read of
//! an ELF header is what puts the first readahead mark), or that it was an
//! exec or a map. A file first seen already mapped at an exec stop (the
//! program interpreter, read by the kernel during the exec) is noted as
//! `mapped`. The lines, for the importer (`workloads/src/import/perf/exits.rs`):
//!
//! ```text
//! # cowsim pagecache exec 158376 8388608 2097152 - /usr/bin/mawk
//! # cowsim pagecache read:0+832 174312 8388608 2097152 0+43 /usr/lib/x86_64-linux-gnu/libselinux.so.1
//! ```
//!
//! Words: how the file was first touched (`exec`, `map`, `mapped`, or
//! `read:OFFSET+LENGTH`), its size in bytes, the device's readahead window
//! in bytes (`read_ahead_kb` of its backing device, 128 KiB when that
//! cannot be found), the largest folio its file system holds pages in
//! (see [`largest_folio`]), the runs of cached pages (`-` for none), and
//! its path.
//!
//! `mincore` tells the truth about a file's page cache only to a caller
//! that owns the file or may write it (or is root): Linux hides it from
//! others (`can_do_mincore` in `mm/mincore.c`). Files the tracer may not
//! ask about get no line, and the capture says how many; their pages keep
//! the replay's `--page-cache` setting. Only x86-64 is watched (the filter
//! names its system call numbers).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The readahead window when the device's cannot be read: Linux's default
/// `read_ahead_kb` (`VM_READAHEAD_PAGES`).
const DEFAULT_READ_AHEAD: u64 = 128 << 10;

const PAGE_SIZE: u64 = 4096;

/// The seccomp filter the traced program runs under: a ptrace stop at
/// `read`, `pread64`, `execve`, `execveat`, and `mmap` of a file
/// descriptor (not `-1`); every other call runs untouched.
#[cfg(target_arch = "x86_64")]
pub fn filter() -> Vec<libc::sock_filter> {
    const LOAD_WORD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JUMP_EQUAL: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RETURN: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    // Offsets into `struct seccomp_data`: nr, arch, then args[6] from 16.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const FIFTH_ARGUMENT_LOW: u32 = 16 + 4 * 8;
    let statement = |code, k| libc::sock_filter { code, jt: 0, jf: 0, k };
    let jump = |k, jt, jf| libc::sock_filter { code: JUMP_EQUAL, jt, jf, k };
    // Jumps count the instructions they skip; `trace` is at 10, `allow` at 11.
    vec![
        statement(LOAD_WORD, ARCH),                 // 0
        jump(AUDIT_ARCH_X86_64, 0, 9),              // 1: another ABI → allow
        statement(LOAD_WORD, NR),                   // 2
        jump(libc::SYS_read as u32, 6, 0),          // 3 → trace
        jump(libc::SYS_pread64 as u32, 5, 0),       // 4 → trace
        jump(libc::SYS_execve as u32, 4, 0),        // 5 → trace
        jump(libc::SYS_execveat as u32, 3, 0),      // 6 → trace
        jump(libc::SYS_mmap as u32, 0, 3),          // 7: not mmap → allow
        statement(LOAD_WORD, FIFTH_ARGUMENT_LOW),   // 8: mmap's fd
        jump(u32::MAX, 1, 0),                       // 9: fd -1 → allow
        statement(RETURN, libc::SECCOMP_RET_TRACE), // 10: trace
        statement(RETURN, libc::SECCOMP_RET_ALLOW), // 11: allow
    ]
}

/// Installs `filter` in the calling process (the child, before its exec).
/// Only async-signal-safe calls, on memory prepared before the fork.
/// False when the kernel refused it.
///
/// # Safety
/// Call only in a freshly forked child, with `program` built before the fork.
#[cfg(target_arch = "x86_64")]
pub unsafe fn install(program: &libc::sock_fprog, as_root: bool) -> bool {
    unsafe {
        // Without privilege a filter needs no_new_privs; a traced program
        // gains no privilege from a set-user-id file anyway.
        if !as_root && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return false;
        }
        libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, program as *const libc::sock_fprog) == 0
    }
}

/// The files seen so far and what was written about them.
#[derive(Default)]
pub struct PageCacheWatch {
    /// Every regular file met, by device and inode; `None` for those whose
    /// page cache could not be read.
    seen: BTreeMap<(u64, u64), Option<Described>>,
    /// Files whose page cache `mincore` would not reveal.
    hidden: u64,
    /// Seccomp stops handled: none means the filter never ran.
    stops: u64,
}

/// A file whose page cache was written, as last written.
struct Described {
    name: String,
    size: u64,
    cached: Vec<bool>,
}

/// How a file was first touched.
enum FirstTouch {
    Exec,
    Map,
    /// Already mapped at an exec stop: the kernel read it during the exec.
    Mapped,
    Read {
        offset: u64,
        len: u64,
    },
}

impl FirstTouch {
    fn word(&self) -> String {
        match self {
            FirstTouch::Exec => "exec".into(),
            FirstTouch::Map => "map".into(),
            FirstTouch::Mapped => "mapped".into(),
            FirstTouch::Read { offset, len } => format!("read:{offset}+{len}"),
        }
    }
}

impl PageCacheWatch {
    /// A seccomp stop of `pid`: snapshots the file the call is about to
    /// touch, if it is a regular file not seen before.
    #[cfg(target_arch = "x86_64")]
    pub fn at_system_call(&mut self, pid: libc::pid_t, report: &mut impl Write) -> io::Result<()> {
        self.stops += 1;
        // SAFETY: `regs` is plain data the kernel fills for a stopped tracee.
        let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        if unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0, &mut regs as *mut libc::user_regs_struct) } < 0 {
            return Ok(());
        }
        let fd_path = |fd: u64| PathBuf::from(format!("/proc/{pid}/fd/{}", fd as i32));
        let (path, touch) = match regs.orig_rax as i64 {
            libc::SYS_read => {
                let path = fd_path(regs.rdi);
                let offset = fd_position(pid, regs.rdi as i32).unwrap_or(0);
                (path, FirstTouch::Read { offset, len: regs.rdx })
            }
            libc::SYS_pread64 => (fd_path(regs.rdi), FirstTouch::Read { offset: regs.r10, len: regs.rdx }),
            libc::SYS_mmap => (fd_path(regs.r8), FirstTouch::Map),
            libc::SYS_execve => match exec_path(pid, libc::AT_FDCWD, regs.rdi) {
                Some(path) => (path, FirstTouch::Exec),
                None => return Ok(()),
            },
            libc::SYS_execveat => match exec_path(pid, regs.rdi as i32, regs.rsi) {
                Some(path) => (path, FirstTouch::Exec),
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        self.snapshot(&path, touch, report)
    }

    /// An exec stop of `pid`: first what became of the files described
    /// before (a `pagecache-now` line for each whose cached pages changed:
    /// the machine may have evicted some, which no other record shows),
    /// then a snapshot of every file the new program has mapped that no
    /// stop saw yet (the program interpreter).
    pub fn after_exec(&mut self, pid: libc::pid_t, report: &mut impl Write) -> io::Result<()> {
        writeln!(report, "# cowsim exec {pid}")?;
        for described in self.seen.values_mut().flatten() {
            let Ok(file) = File::open(&described.name) else { continue };
            let Ok(meta) = file.metadata() else { continue };
            let Some(cached) = cached_pages(&file, meta.len()) else { continue };
            if (meta.len(), &cached) != (described.size, &described.cached) {
                writeln!(report, "# cowsim pagecache-now {} {} {}", meta.len(), runs_text(&cached), described.name)?;
                (described.size, described.cached) = (meta.len(), cached);
            }
        }
        let Ok(maps) = File::open(format!("/proc/{pid}/maps")) else { return Ok(()) };
        for line in BufReader::new(maps).lines() {
            let line = line?;
            let Some(path) = line.splitn(6, ' ').nth(5).map(str::trim_start) else { continue };
            if path.starts_with('/') {
                self.snapshot(Path::new(path), FirstTouch::Mapped, report)?;
            }
        }
        Ok(())
    }

    /// The closing notes: files that could not be asked about, or a filter
    /// that never ran.
    pub fn finish(&self, report: &mut impl Write) -> io::Result<()> {
        if self.stops == 0 {
            writeln!(report, "# cowsim-note page cache not recorded: the seccomp filter was refused")?;
        }
        if self.hidden > 0 {
            writeln!(
                report,
                "# cowsim-note page cache not recorded for {} files: mincore reveals it only to their owner, \
                 a user who may write them, or root",
                self.hidden
            )?;
        }
        Ok(())
    }

    /// Writes the `pagecache` line of the regular file at `path` (opened
    /// through the tracee's `/proc` links or by name) if it is new.
    fn snapshot(&mut self, path: &Path, touch: FirstTouch, report: &mut impl Write) -> io::Result<()> {
        let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
        let key = (meta.dev(), meta.ino());
        if !meta.is_file() || self.seen.contains_key(&key) {
            return Ok(());
        }
        self.seen.insert(key, None);
        let Ok(file) = File::open(path) else { return Ok(()) };
        let name = std::fs::read_link(path).unwrap_or_else(|_| path.to_path_buf());
        let name = name.to_string_lossy();
        if name.contains('\n') {
            return Ok(());
        }
        if !may_see_page_cache(&file, &meta) {
            self.hidden += 1;
            return Ok(());
        }
        let Some(cached) = cached_pages(&file, meta.len()) else { return Ok(()) };
        let read_ahead = device_read_ahead(meta.dev()).unwrap_or(DEFAULT_READ_AHEAD);
        let folio = largest_folio(&file);
        let runs = runs_text(&cached);
        writeln!(report, "# cowsim pagecache {} {} {read_ahead} {folio} {runs} {name}", touch.word(), meta.len())?;
        self.seen.insert(key, Some(Described { name: name.into_owned(), size: meta.len(), cached }));
        Ok(())
    }
}

/// The file position of `pid`'s descriptor `fd` (`pos:` in fdinfo).
fn fd_position(pid: libc::pid_t, fd: i32) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|p| p.trim().parse().ok())
}

/// The file an `execve` (or `execveat` relative to `dirfd`) of `pid` names
/// at `address`, resolved against its working directory, symbolic links
/// followed (perf names a mapping by its real path).
fn exec_path(pid: libc::pid_t, dirfd: i32, address: u64) -> Option<PathBuf> {
    let name = read_c_string(pid, address)?;
    let name = Path::new(&name);
    let base = if name.is_absolute() {
        PathBuf::new()
    } else if dirfd == libc::AT_FDCWD {
        std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?
    } else {
        std::fs::read_link(format!("/proc/{pid}/fd/{dirfd}")).ok()?
    };
    std::fs::canonicalize(base.join(name)).ok()
}

/// A NUL-terminated string of at most a path's length from `pid`'s memory.
fn read_c_string(pid: libc::pid_t, address: u64) -> Option<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    let mem = File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut bytes = vec![0u8; libc::PATH_MAX as usize];
    let mut got = 0;
    while got < bytes.len() {
        match mem.read_at(&mut bytes[got..], address + got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
        if bytes[..got].contains(&0) {
            break;
        }
    }
    let end = bytes[..got].iter().position(|b| *b == 0)?;
    bytes.truncate(end);
    Some(std::ffi::OsString::from_vec(bytes))
}

/// Would `mincore` on a mapping of `file` report its page cache
/// (`can_do_mincore`): root, the owner, or a user who may write it.
fn may_see_page_cache(file: &File, meta: &std::fs::Metadata) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: plain queries of our own identity and an open descriptor.
    unsafe {
        let euid = libc::geteuid();
        if euid == 0 || meta.uid() == euid {
            return true;
        }
        let link = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
        libc::access(link.as_ptr(), libc::W_OK) == 0
    }
}

/// Which of the pages of `file` (`len` bytes) are in the page cache, by
/// `mincore` on a mapping of it that is never touched (so nothing is
/// read). `None` when it cannot be mapped.
fn cached_pages(file: &File, len: u64) -> Option<Vec<bool>> {
    use std::os::fd::AsRawFd;
    if len == 0 {
        return Some(Vec::new());
    }
    let pages = len.div_ceil(PAGE_SIZE) as usize;
    let mut vector = vec![0u8; pages];
    // SAFETY: a fresh read-only shared mapping, queried and unmapped here;
    // its memory is never read.
    unsafe {
        let at = libc::mmap(std::ptr::null_mut(), len as usize, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0);
        if at == libc::MAP_FAILED {
            return None;
        }
        let ok = libc::mincore(at, len as usize, vector.as_mut_ptr()) == 0;
        libc::munmap(at, len as usize);
        if !ok {
            return None;
        }
    }
    Some(vector.iter().map(|byte| byte & 1 != 0).collect())
}

/// The readahead window, in bytes, of the block device behind `dev`: its
/// `read_ahead_kb` (a partition's is its disk's).
fn device_read_ahead(dev: u64) -> Option<u64> {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let mut candidates = vec![PathBuf::from(format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb"))];
    if let Ok(block) = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")) {
        candidates.push(block.join("queue/read_ahead_kb"));
        candidates.push(block.join("../queue/read_ahead_kb"));
    }
    candidates.iter().find_map(|path| {
        let mut text = String::new();
        File::open(path).ok()?.read_to_string(&mut text).ok()?;
        text.trim().parse::<u64>().ok().map(|kb| kb << 10)
    })
}

/// The largest folio, in bytes, the page cache of `file` is held in: 2 MiB
/// on the file systems whose regular files have large folios (XFS since
/// Linux 5.18, ext4 since 6.16: `mapping_set_large_folios`, up to
/// `MAX_PAGECACHE_ORDER`, a PMD on x86-64), a page elsewhere. This is the
/// recorder's reading of the kernel's history, not something it can ask.
fn largest_folio(file: &File) -> u64 {
    use std::os::fd::AsRawFd;
    const EXT4: i64 = 0xef53;
    const XFS: i64 = 0x5846_5342;
    // SAFETY: statfs of an open descriptor into a zeroed struct.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } != 0 {
        return PAGE_SIZE;
    }
    let since = match fs.f_type as i64 {
        EXT4 => (6, 16),
        XFS => (5, 18),
        _ => return PAGE_SIZE,
    };
    if kernel_version().is_some_and(|version| version >= since) { 2 << 20 } else { PAGE_SIZE }
}

/// The running kernel's major and minor version.
fn kernel_version() -> Option<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let mut numbers = release.trim().split(|c: char| !c.is_ascii_digit());
    Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
}

/// `0+3,10+2` for the runs of `true`, `-` for none.
pub fn runs_text(present: &[bool]) -> String {
    let mut text = String::new();
    let mut index = 0;
    while index < present.len() {
        if !present[index] {
            index += 1;
            continue;
        }
        let start = index;
        while index < present.len() && present[index] {
            index += 1;
        }
        if !text.is_empty() {
            text.push(',');
        }
        let _ = write!(text, "{start}+{}", index - start);
    }
    if text.is_empty() { "-".to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snapshot of a file this test has just written and read: its
    /// pages are cached, and the line says so, with the file's size.
    #[test]
    fn a_file_just_written_is_cached() {
        let dir = std::env::temp_dir().join(format!("cowsim-pagecache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data");
        std::fs::write(&path, vec![7u8; 3 * 4096 + 10]).unwrap();
        let _ = std::fs::read(&path).unwrap();
        let mut watch = PageCacheWatch::default();
        let mut out = Vec::new();
        watch.snapshot(&path, FirstTouch::Read { offset: 0, len: 832 }, &mut out).unwrap();
        watch.snapshot(&path, FirstTouch::Map, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let words: Vec<&str> = text.trim_end().splitn(8, ' ').collect();
        assert_eq!(text.lines().count(), 1, "one line a file: {text}");
        assert_eq!(&words[..4], ["#", "cowsim", "pagecache", "read:0+832"], "{text}");
        assert_eq!(words[4], "12298");
        assert!(words[5].parse::<u64>().unwrap() >= 4096, "{text}");
        assert!(["4096", "2097152"].contains(&words[6]), "{text}");
        assert_eq!(words[7].split_once(' ').unwrap().0, "0+4", "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn runs_are_written_in_order() {
        assert_eq!(runs_text(&[true, true, false, true]), "0+2,3+1");
        assert_eq!(runs_text(&[false]), "-");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_filter_jumps_land_on_its_returns() {
        let program = filter();
        let returns = [program.len() - 2, program.len() - 1];
        for (at, instruction) in program.iter().enumerate() {
            if instruction.code == (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16 {
                for skip in [instruction.jt, instruction.jf] {
                    let target = at + 1 + usize::from(skip);
                    assert!(target == at + 1 || returns.contains(&target), "instruction {at} jumps to {target}");
                }
            }
        }
    }
}

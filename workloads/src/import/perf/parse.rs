//! One `perf script` line into one event.
//!
//! Every line perf prints for a sample or a side-band record starts with the
//! same header, then the event's name and its fields:
//!
//! ```text
//!               sh 21785 [001]  1266.184931: PERF_RECORD_MMAP2 21785/21785: [0x7ffc950e8000(0x21000) @ 0x7ffffffde000 00:00 0 0]: rw-p [stack]
//!               sh 21785 [001]  1266.185370:   exceptions:page_fault_user: address=0x7fa10ee38b70 ip=0x7fa10ee38b70 error_code=0x14
//!               sh 21785 [001]  1266.186009:  syscalls:sys_enter_mprotect: start: 0x7fa10edf8000, len: 0x00004000, prot: 0x00000001
//!               sh 21785 [001]  1266.186574: PERF_RECORD_FORK(21787:21787):(21785:21785)
//!   └ comm (may hold spaces)
//!                  └ thread id (or pid/tid)
//!                        └ cpu (optional)
//!                               └ seconds.fraction, then ':'
//! ```
//!
//! The header is found by its time stamp: the first token of the form
//! `digits.digits:`. The token before it is the cpu when bracketed, and the
//! thread id comes before that; whatever precedes is the command name,
//! which may contain spaces and is not needed.
//!
//! What becomes of a line:
//!
//! - blank lines and `#` comments (`perf script --header`) are nothing;
//! - a line of a kind this parser knows becomes an [`Event`], and if its
//!   fields do not parse, a [`ParseProblem`] pointing at the column;
//! - a known kind that adds nothing (the `sched:` tracepoints duplicate the
//!   `PERF_RECORD_` side-band records) is *ignored*, by name;
//! - `PERF_RECORD_LOST lost N` (printed with `--show-lost-events`: perf's
//!   ring buffer was full and N events were dropped) is a count of [`Lost`]
//!   events, and `PERF_RECORD_LOST_SAMPLES lost N` too;
//! - any other kind (an extra tracepoint) is *skipped*, by name (at most
//!   [`EXCERPT_CHARS`] characters of it); the importer tallies both;
//! - a line indented by a tab is a *continuation* of the event before it
//!   (a callchain entry);
//! - a line with no header at all is an error: it is not `perf script`
//!   output, or not the output this importer was built for.
//!
//! [`Lost`]: Parsed::Lost

use crate::import::{EXCERPT_CHARS, excerpt, quote_excerpt};
use crate::trace::ParseProblem;

/// The longest file path or command name a line may give. Linux's paths
/// are at most `PATH_MAX` (4096) bytes, perf may add ` (deleted)`, and
/// command names are at most 16 bytes; a longer one is a damaged line. The
/// bound also keeps the op the name goes into (a `vm_map`'s file, a
/// `mark`'s label) far below the trace reader's line limit, even with
/// every byte escaped.
pub(crate) const MAX_NAME_BYTES: usize = 4096 + " (deleted)".len();

/// A parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A blank line or a comment.
    Nothing,
    /// An event the importer uses, with the header's time and thread.
    Sample(Sample),
    /// A known kind that carries nothing the trace needs.
    Ignored(&'static str),
    /// A kind the importer does not know, by name (an excerpt of it).
    Skipped(String),
    /// Events perf dropped here because its buffer was full.
    Lost(u64),
    /// A line indented by a tab: perf prints callchain entries and some
    /// extra fields on lines of their own after the event's line.
    Continuation,
}

/// An event and the header it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Nanoseconds, from the header's `seconds.fraction`.
    pub time: u64,
    /// The thread that was running (the header's thread id).
    pub tid: u32,
    pub event: Event,
}

/// The events the importer understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `PERF_RECORD_MMAP2`: a mapping was made (or changed, see the
    /// importer's notes on `mprotect` and `brk`).
    Mmap(Mmap),
    /// `PERF_RECORD_COMM`: a new name; `exec` when it comes from an exec.
    Comm { pid: u32, name: String, exec: bool },
    /// `PERF_RECORD_FORK(pid:tid):(ppid:ptid)`.
    Fork { pid: u32, tid: u32, parent_pid: u32 },
    /// `PERF_RECORD_EXIT(pid:tid):(ppid:ptid)`.
    Exit { pid: u32, tid: u32 },
    /// `exceptions:page_fault_user` / `page_fault_kernel`.
    Fault { address: u64, error_code: u64, kernel: bool },
    /// `syscalls:sys_enter_*` of a call the importer follows.
    Enter(Call),
    /// `syscalls:sys_exit_*` of a call the importer follows: its return
    /// value, as the kernel's 64-bit register (`-errno` wraps around).
    Return { call: CallName, value: u64 },
    /// `task:task_newtask`: a task was created with these `clone` flags
    /// (`CLONE_VM`, `CLONE_VFORK`, `CLONE_THREAD`...); `pid` is its thread
    /// id. perf's own fork record does not carry the flags.
    NewTask { pid: u32, clone_flags: u64 },
}

/// A `PERF_RECORD_MMAP2` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mmap {
    pub pid: u32,
    pub tid: u32,
    pub start: u64,
    pub len: u64,
    /// File offset in bytes (for anonymous memory, perf shows the address).
    pub pgoff: u64,
    /// `major:minor` of the device, when perf printed it (not a build id).
    pub device: Option<(u32, u32)>,
    pub inode: Option<u64>,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
    /// A file, `//anon`, `[stack]`, `[heap]`, `[vdso]`...
    pub path: String,
}

/// The memory syscalls the importer follows, with their arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Munmap { addr: u64, len: u64 },
    Mprotect { start: u64, len: u64, prot: u64 },
    Brk { brk: u64 },
    Mremap { addr: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64 },
    Madvise { start: u64, len: u64, behavior: u64 },
}

/// Which call a `sys_exit_*` line returns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallName {
    Munmap,
    Mprotect,
    Brk,
    Mremap,
}

/// Parses one line (without its newline).
pub(crate) fn parse_line(text: &str) -> Result<Parsed, ParseProblem> {
    let content = text.trim_start_matches([' ', '\r']);
    if content.trim_end().is_empty() || content.starts_with('#') {
        return Ok(Parsed::Nothing);
    }
    if text.starts_with('\t') {
        return Ok(Parsed::Continuation);
    }
    let (header, body_start) = header(text)?;
    let mut cursor = Cursor { text, pos: body_start };
    cursor.skip_spaces();
    let event =
        if cursor.rest().starts_with("PERF_RECORD_") { side_band(&mut cursor)? } else { tracepoint(&mut cursor)? };
    Ok(match event {
        Kind::Event(event) => Parsed::Sample(Sample { time: header.time, tid: header.tid, event }),
        Kind::Ignored(what) => Parsed::Ignored(what),
        Kind::Skipped(what) => Parsed::Skipped(what),
        Kind::Lost(count) => Parsed::Lost(count),
    })
}

/// What the part after the header turned out to be.
enum Kind {
    Event(Event),
    Ignored(&'static str),
    Skipped(String),
    Lost(u64),
}

struct Header {
    time: u64,
    tid: u32,
}

/// Finds the header's time stamp and thread id; returns them with the
/// byte offset just after the time stamp's colon.
fn header(text: &str) -> Result<(Header, usize), ParseProblem> {
    let tokens = tokens(text);
    let Some(time_index) = tokens.iter().position(|&(s, e)| is_time_token(&text[s..e])) else {
        return Err(problem(
            text,
            first_non_space(text),
            "expected a perf script line: COMMAND TID [CPU] SECONDS.FRACTION: EVENT ... \
             (the output of `perf script --show-mmap-events --show-task-events`)",
        ));
    };
    let (time_start, time_end) = tokens[time_index];
    let time = parse_time(&text[time_start..time_end - 1])
        .ok_or_else(|| problem(text, time_start, "the time stamp is too large"))?;
    let mut before = time_index;
    if before > 0 && is_cpu_token(&text[tokens[before - 1].0..tokens[before - 1].1]) {
        before -= 1;
    }
    if before == 0 {
        return Err(problem(text, time_start, "expected a thread id before the time stamp"));
    }
    let (tid_start, tid_end) = tokens[before - 1];
    let tid_text = &text[tid_start..tid_end];
    // `pid/tid` when perf was asked for both; the thread is what we need.
    let tid_text = tid_text.rsplit('/').next().unwrap_or(tid_text);
    let tid = tid_text.parse::<u32>().map_err(|_| {
        let found = quote_excerpt(tid_text);
        problem(text, tid_start, format!("expected a thread id (a number) before the time stamp, found {found}"))
    })?;
    Ok((Header { time, tid }, time_end))
}

/// `(start, end)` byte offsets of the whitespace-separated tokens.
fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                tokens.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
        // The header is near the start; the time stamp is rarely past the
        // sixth token, so stop early on long lines.
        if tokens.len() > 24 {
            break;
        }
    }
    if let Some(s) = start {
        tokens.push((s, text.len()));
    }
    tokens
}

/// `digits.digits:`
fn is_time_token(token: &str) -> bool {
    let Some(stamp) = token.strip_suffix(':') else { return false };
    let Some((seconds, fraction)) = stamp.split_once('.') else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(seconds) && digits(fraction)
}

/// `[digits]`
fn is_cpu_token(token: &str) -> bool {
    token
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Nanoseconds of `seconds.fraction` (extra fraction digits are dropped).
fn parse_time(stamp: &str) -> Option<u64> {
    let (seconds, fraction) = stamp.split_once('.')?;
    let seconds: u64 = seconds.parse().ok()?;
    let mut nanos: u64 = 0;
    for digit in fraction.bytes().chain(std::iter::repeat(b'0')).take(9) {
        nanos = nanos * 10 + u64::from(digit - b'0');
    }
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn first_non_space(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// A problem at byte offset `at` of `text`, as a 1-based character column.
fn problem(text: &str, at: usize, message: impl Into<String>) -> ParseProblem {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    ParseProblem { column: text[..at].chars().count() + 1, message: message.into() }
}

// ---------------------------------------------------------------------------
// Side-band records: PERF_RECORD_*
// ---------------------------------------------------------------------------

fn side_band(c: &mut Cursor<'_>) -> Result<Kind, ParseProblem> {
    let name_len = c.rest().find([' ', ':', '(']).unwrap_or(c.rest().len());
    let name = &c.rest()[..name_len];
    c.pos += name_len;
    Ok(match name {
        "PERF_RECORD_MMAP2" => mmap2(c)?,
        "PERF_RECORD_MMAP" => {
            c.skip_spaces();
            if c.rest().starts_with("-1/") {
                Kind::Ignored("PERF_RECORD_MMAP of the kernel image")
            } else {
                Kind::Skipped("PERF_RECORD_MMAP (no protection or sharing; perf records MMAP2 when it can)".into())
            }
        }
        "PERF_RECORD_COMM" => comm(c)?,
        "PERF_RECORD_FORK" => {
            let (pid, tid, parent_pid, _) = pid_pairs(c, "PERF_RECORD_FORK")?;
            Kind::Event(Event::Fork { pid, tid, parent_pid })
        }
        "PERF_RECORD_EXIT" => {
            let (pid, tid, _, _) = pid_pairs(c, "PERF_RECORD_EXIT")?;
            Kind::Event(Event::Exit { pid, tid })
        }
        "PERF_RECORD_LOST" => lost(c, "PERF_RECORD_LOST")?,
        "PERF_RECORD_LOST_SAMPLES" => lost(c, "PERF_RECORD_LOST_SAMPLES")?,
        _ => skipped(name),
    })
}

/// ` lost N`
fn lost(c: &mut Cursor<'_>, what: &str) -> Result<Kind, ParseProblem> {
    c.skip_spaces();
    c.expect("lost", what)?;
    c.skip_spaces();
    let count = c.number("the count of lost events", what)?;
    c.end_of_word("the count of lost events", what)?;
    Ok(Kind::Lost(count))
}

/// A kind the importer does not know, named by an excerpt of `name`.
fn skipped(name: &str) -> Kind {
    Kind::Skipped(excerpt(name, EXCERPT_CHARS).into_owned())
}

/// Fails if `name` (starting at byte `at` of the line) is longer than
/// [`MAX_NAME_BYTES`].
fn check_name_length(c: &Cursor<'_>, at: usize, name: &str, what: &str) -> Result<(), ParseProblem> {
    if name.len() <= MAX_NAME_BYTES {
        return Ok(());
    }
    let message = format!("{what} is {} bytes long, more than Linux allows ({MAX_NAME_BYTES})", name.len());
    Err(c.problem_at(at, message))
}

/// ` PID/TID: [0xSTART(0xLEN) @ PGOFF MAJ:MIN INO GEN]: rw-p PATH`
fn mmap2(c: &mut Cursor<'_>) -> Result<Kind, ParseProblem> {
    const WHAT: &str = "PERF_RECORD_MMAP2";
    c.skip_spaces();
    if c.rest().starts_with("-1/") {
        return Ok(Kind::Ignored("PERF_RECORD_MMAP2 of the kernel image"));
    }
    let pid = c.id("a process id", WHAT)?;
    c.expect("/", WHAT)?;
    let tid = c.id("a thread id", WHAT)?;
    c.expect(":", WHAT)?;
    c.skip_spaces();
    c.expect("[", WHAT)?;
    let start = c.number("the start address", WHAT)?;
    c.expect("(", WHAT)?;
    let len = c.number("the length", WHAT)?;
    c.expect(")", WHAT)?;
    c.skip_spaces();
    c.expect("@", WHAT)?;
    c.skip_spaces();
    let pgoff = c.number("the file offset", WHAT)?;
    let extra_start = c.pos;
    let Some(extra_len) = c.rest().find("]:") else {
        return Err(c.problem_at(extra_start, format!("expected \"]:\" after the file offset in {WHAT}")));
    };
    let (device, inode) = device_and_inode(&c.rest()[..extra_len]);
    c.pos += extra_len + 2;
    c.skip_spaces();
    let flags_start = c.pos;
    let flags = c.rest().as_bytes();
    let flag = |i: usize, yes: u8| flags.get(i).copied().filter(|b| *b == yes || *b == b'-');
    let (Some(r), Some(w), Some(x), Some(share)) = (flag(0, b'r'), flag(1, b'w'), flag(2, b'x'), flags.get(3).copied())
    else {
        return Err(c.problem_at(flags_start, format!("expected protection and sharing like \"r-xp\" in {WHAT}")));
    };
    if share != b'p' && share != b's' {
        return Err(c.problem_at(flags_start + 3, format!("expected 'p' (private) or 's' (shared) in {WHAT}")));
    }
    c.pos += 4;
    let path_start = c.pos + usize::from(c.rest().starts_with(' '));
    let path = c.rest().strip_prefix(' ').unwrap_or(c.rest()).trim_end_matches('\r');
    check_name_length(c, path_start, path, "the path in PERF_RECORD_MMAP2")?;
    let path = path.to_owned();
    Ok(Kind::Event(Event::Mmap(Mmap {
        pid,
        tid,
        start,
        len,
        pgoff,
        device,
        inode,
        read: r == b'r',
        write: w == b'w',
        exec: x == b'x',
        shared: share == b's',
        path,
    })))
}

/// ` MAJ:MIN INO GEN` (hex device numbers, decimal inode), or a build id.
fn device_and_inode(extra: &str) -> (Option<(u32, u32)>, Option<u64>) {
    let mut words = extra.split_whitespace();
    let device = words
        .next()
        .and_then(|d| d.split_once(':'))
        .and_then(|(major, minor)| Some((u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?)));
    let inode = device.and(words.next()).and_then(|i| i.parse().ok());
    (device, inode)
}

/// ` exec: NAME:PID/TID` or `: NAME:PID/TID`.
fn comm(c: &mut Cursor<'_>) -> Result<Kind, ParseProblem> {
    const WHAT: &str = "PERF_RECORD_COMM";
    let exec = c.rest().starts_with(" exec:");
    if exec {
        c.pos += " exec".len();
    }
    c.expect(":", WHAT)?;
    // The name may hold colons; the ids follow the last one.
    c.skip_spaces();
    let Some(colon) = c.rest().trim_end().rfind(':') else {
        return Err(c.problem_at(c.pos, format!("expected NAME:PID/TID in {WHAT}")));
    };
    let name = &c.rest()[..colon];
    check_name_length(c, c.pos, name, "the command name in PERF_RECORD_COMM")?;
    let name = name.to_owned();
    c.pos += colon + 1;
    let pid = c.id("a process id", WHAT)?;
    c.expect("/", WHAT)?;
    c.id("a thread id", WHAT)?;
    Ok(Kind::Event(Event::Comm { pid, name, exec }))
}

/// `(PID:TID):(PPID:PTID)`.
fn pid_pairs(c: &mut Cursor<'_>, what: &str) -> Result<(u32, u32, u32, u32), ParseProblem> {
    c.expect("(", what)?;
    let pid = c.id("a process id", what)?;
    c.expect(":", what)?;
    let tid = c.id("a thread id", what)?;
    c.expect("):(", what)?;
    let ppid = c.id("the parent's process id", what)?;
    c.expect(":", what)?;
    let ptid = c.id("the parent's thread id", what)?;
    c.expect(")", what)?;
    Ok((pid, tid, ppid, ptid))
}

// ---------------------------------------------------------------------------
// Tracepoints: SUBSYSTEM:NAME: FIELDS
// ---------------------------------------------------------------------------

fn tracepoint(c: &mut Cursor<'_>) -> Result<Kind, ParseProblem> {
    let rest = c.rest();
    let token_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let token = &rest[..token_len];
    let Some(name) = token.strip_suffix(':') else {
        // Not a tracepoint: some other event (a period before it, a
        // software event). Name it by the first token that ends in ':'.
        let kind = rest.split_whitespace().find(|w| w.ends_with(':')).unwrap_or(token);
        return Ok(skipped(kind.trim_end_matches(':')));
    };
    c.pos += token_len;
    c.skip_spaces();
    let body = Body { c: Cursor { text: c.text, pos: c.pos }, what: name };
    Ok(match name {
        "exceptions:page_fault_user" | "exceptions:page_fault_kernel" => Kind::Event(Event::Fault {
            address: body.equals_field("address")?,
            error_code: body.equals_field("error_code")?,
            kernel: name.ends_with("kernel"),
        }),
        "syscalls:sys_enter_munmap" => {
            Kind::Event(Event::Enter(Call::Munmap { addr: body.colon_field("addr")?, len: body.colon_field("len")? }))
        }
        "syscalls:sys_enter_mprotect" => Kind::Event(Event::Enter(Call::Mprotect {
            start: body.colon_field("start")?,
            len: body.colon_field("len")?,
            prot: body.colon_field("prot")?,
        })),
        "syscalls:sys_enter_brk" => Kind::Event(Event::Enter(Call::Brk { brk: body.colon_field("brk")? })),
        "syscalls:sys_enter_mremap" => Kind::Event(Event::Enter(Call::Mremap {
            addr: body.colon_field("addr")?,
            old_len: body.colon_field("old_len")?,
            new_len: body.colon_field("new_len")?,
            flags: body.colon_field("flags")?,
            new_addr: body.colon_field("new_addr")?,
        })),
        "syscalls:sys_enter_madvise" => Kind::Event(Event::Enter(Call::Madvise {
            start: body.colon_field("start")?,
            len: body.colon_field("len_in")?,
            behavior: body.colon_field("behavior")?,
        })),
        "syscalls:sys_exit_munmap" => Kind::Event(Event::Return { call: CallName::Munmap, value: body.value()? }),
        "syscalls:sys_exit_mprotect" => Kind::Event(Event::Return { call: CallName::Mprotect, value: body.value()? }),
        "syscalls:sys_exit_brk" => Kind::Event(Event::Return { call: CallName::Brk, value: body.value()? }),
        "syscalls:sys_exit_mremap" => Kind::Event(Event::Return { call: CallName::Mremap, value: body.value()? }),
        "syscalls:sys_exit_madvise" => Kind::Ignored("syscalls:sys_exit_madvise (madvise is applied at entry)"),
        "task:task_newtask" => {
            let pid = body.equals_field("pid")?;
            let pid = u32::try_from(pid).map_err(|_| c.problem_at(c.pos, "the pid does not fit in 32 bits"))?;
            Kind::Event(Event::NewTask { pid, clone_flags: body.last_hex_field("clone_flags")? })
        }
        "sched:sched_process_fork" => Kind::Ignored("sched:sched_process_fork (PERF_RECORD_FORK says the same)"),
        "sched:sched_process_exec" => Kind::Ignored("sched:sched_process_exec (PERF_RECORD_COMM exec says the same)"),
        "sched:sched_process_exit" => Kind::Ignored("sched:sched_process_exit (PERF_RECORD_EXIT says the same)"),
        other => skipped(other),
    })
}

/// The fields of a tracepoint, after its name.
struct Body<'t> {
    c: Cursor<'t>,
    what: &'t str,
}

impl Body<'_> {
    /// `key=NUMBER`, as the exceptions tracepoints print their fields.
    fn equals_field(&self, key: &str) -> Result<u64, ParseProblem> {
        self.field(key, '=')
    }

    /// `key: NUMBER`, as the syscalls tracepoints print their arguments.
    fn colon_field(&self, key: &str) -> Result<u64, ParseProblem> {
        self.field(key, ':')
    }

    fn field(&self, key: &str, separator: char) -> Result<u64, ParseProblem> {
        let body = self.c.rest();
        let mut offset = 0;
        for word in body.split([' ', ',']) {
            if let Some(after) = word.strip_prefix(key)
                && after.starts_with(separator)
            {
                let mut value = Cursor { text: self.c.text, pos: self.c.pos + offset + key.len() + 1 };
                value.skip_spaces();
                let number = value.number(key, self.what)?;
                value.end_of_word(key, self.what)?;
                return Ok(number);
            }
            offset += word.len() + 1;
        }
        Err(self.c.problem_at(self.c.pos, format!("expected field \"{key}{separator}\" in {}", self.what)))
    }

    /// `key=HEX` without a `0x`, as `task:task_newtask` prints its flags;
    /// the last such field, since the command name before it may hold
    /// anything, spaces and `=` included.
    fn last_hex_field(&self, key: &str) -> Result<u64, ParseProblem> {
        let body = self.c.rest();
        let pattern = format!(" {key}=");
        let Some(at) = body.rfind(&pattern) else {
            return Err(self.c.problem_at(self.c.pos, format!("expected field \"{key}=\" in {}", self.what)));
        };
        let start = self.c.pos + at + pattern.len();
        let digits = self.c.text[start..].bytes().take_while(u8::is_ascii_hexdigit).count();
        let value = u64::from_str_radix(&self.c.text[start..start + digits], 16)
            .map_err(|_| self.c.problem_at(start, format!("expected {key} (a hexadecimal number) in {}", self.what)))?;
        Cursor { text: self.c.text, pos: start + digits }.end_of_word(key, self.what)?;
        Ok(value)
    }

    /// The single value of a `sys_exit_*` line: hex (`0x0`,
    /// `0xfffffffffffffff4`) or a signed decimal.
    fn value(&self) -> Result<u64, ParseProblem> {
        let mut c = Cursor { text: self.c.text, pos: self.c.pos };
        let negative = c.rest().starts_with('-');
        if negative {
            c.pos += 1;
        }
        let value = c.number("the return value", self.what)?;
        c.end_of_word("the return value", self.what)?;
        Ok(if negative { value.wrapping_neg() } else { value })
    }
}

/// A position in a line, with the small readers the formats need. Every
/// reader fails with a problem at the column where it stopped.
struct Cursor<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn rest(&self) -> &'t str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(' ').len();
    }

    fn problem_at(&self, at: usize, message: impl Into<String>) -> ParseProblem {
        problem(self.text, at, message)
    }

    fn expect(&mut self, literal: &str, what: &str) -> Result<(), ParseProblem> {
        if self.rest().starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            let found = self.rest().chars().next().map_or("the end of the line".to_owned(), |c| format!("{c:?}"));
            Err(self.problem_at(self.pos, format!("expected {literal:?} in {what}, found {found}")))
        }
    }

    /// Fails unless a value ends here (at a space, a comma or the end).
    fn end_of_word(&self, name: &str, what: &str) -> Result<(), ParseProblem> {
        match self.rest().chars().next() {
            None | Some(' ' | ',' | '\r') => Ok(()),
            Some(c) => Err(self.problem_at(self.pos, format!("unexpected {c:?} after {name} in {what}"))),
        }
    }

    /// A decimal id.
    fn id(&mut self, name: &str, what: &str) -> Result<u32, ParseProblem> {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let text = &self.rest()[..digits];
        let value = text.parse::<u32>().map_err(|_| self.problem_at(self.pos, format!("expected {name} in {what}")))?;
        self.pos += digits;
        Ok(value)
    }

    /// A number: `0x` and hex digits, or decimal digits.
    fn number(&mut self, name: &str, what: &str) -> Result<u64, ParseProblem> {
        let rest = self.rest();
        let (digits, radix, skip) = match rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
            Some(hex) => (hex.bytes().take_while(u8::is_ascii_hexdigit).count(), 16, 2),
            None => (rest.bytes().take_while(u8::is_ascii_digit).count(), 10, 0),
        };
        let text = &rest[skip..skip + digits];
        let value = u64::from_str_radix(text, radix).map_err(|_| {
            let message = if digits == 0 {
                format!("expected {name} (a number) in {what}")
            } else {
                format!("{name} does not fit in 64 bits in {what}")
            };
            self.problem_at(self.pos, message)
        })?;
        self.pos += skip + digits;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(line: &str) -> Sample {
        match parse_line(line) {
            Ok(Parsed::Sample(s)) => s,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn event(line: &str) -> Event {
        sample(line).event
    }

    #[test]
    fn headers() {
        let s = sample(
            "              sh 21785 [001]  1266.185370:   exceptions:page_fault_user: address=0x7fa10ee38b70 ip=0x7fa10ee38b70 error_code=0x14",
        );
        assert_eq!(s.time, 1_266_185_370_000);
        assert_eq!(s.tid, 21785);
        assert_eq!(s.event, Event::Fault { address: 0x7fa10ee38b70, error_code: 0x14, kernel: false });
        // A name with spaces, pid/tid, no cpu, nanoseconds.
        let s = sample(
            "Web Content 10/12 5.000000001: exceptions:page_fault_kernel: address=0x1000 ip=strncpy_from_user error_code=0x0",
        );
        assert_eq!((s.time, s.tid), (5_000_000_001, 12));
        assert_eq!(s.event, Event::Fault { address: 0x1000, error_code: 0, kernel: true });
    }

    #[test]
    fn mmap2_records() {
        let e = event(
            "  sh 21785 [001]  1266.184931: PERF_RECORD_MMAP2 21785/21785: [0x7ffc950e8000(0x21000) @ 0x7ffffffde000 00:00 0 0]: rw-p [stack]",
        );
        let Event::Mmap(m) = e else { panic!() };
        assert_eq!((m.pid, m.tid, m.start, m.len, m.pgoff), (21785, 21785, 0x7ffc950e8000, 0x21000, 0x7ffffffde000));
        assert_eq!((m.read, m.write, m.exec, m.shared), (true, true, false, false));
        assert_eq!(m.path, "[stack]");
        let e = event(
            "  a 1 [0] 1.0: PERF_RECORD_MMAP2 1/2: [0x7fde2017c000(0x2000) @ 0 00:01 24 939661325]: rw-s /dev/zero (deleted)",
        );
        let Event::Mmap(m) = e else { panic!() };
        assert_eq!(
            (m.device, m.inode, m.shared, m.path.as_str()),
            (Some((0, 1)), Some(24), true, "/dev/zero (deleted)")
        );
        let e = event("  a 1 [0] 1.0: PERF_RECORD_MMAP2 1/1: [0x400000(0x1000) @ 0x1000 <0123abcd>]: r-xp /bin/x");
        let Event::Mmap(m) = e else { panic!() };
        assert_eq!((m.device, m.inode, m.exec), (None, None, true));
        assert_eq!(
            parse_line(
                "swapper 0 [000] 0.000000: PERF_RECORD_MMAP -1/0: [0xffffffff81000000(0x120bb08) @ 0xffffffff81000000]: x [kernel.kallsyms]_text"
            ),
            Ok(Parsed::Ignored("PERF_RECORD_MMAP of the kernel image"))
        );
    }

    #[test]
    fn task_records() {
        let comm = |pid, name: &str, exec| Event::Comm { pid, name: name.to_owned(), exec };
        assert_eq!(event("ls 21787 [000] 1.5: PERF_RECORD_COMM exec: ls:21787/21787"), comm(21787, "ls", true));
        assert_eq!(event("p 0 [000] 0.0: PERF_RECORD_COMM: perf-exec:21785/21785"), comm(21785, "perf-exec", false));
        assert_eq!(event("a:b 0 [000] 0.0: PERF_RECORD_COMM: a:b:7/8"), comm(7, "a:b", false));
        assert_eq!(
            event("sh 21785 [001]  1266.186574: PERF_RECORD_FORK(21787:21788):(21785:21785)"),
            Event::Fork { pid: 21787, tid: 21788, parent_pid: 21785 }
        );
        assert_eq!(
            event("ls 2 [000] 1.0: PERF_RECORD_EXIT(28698:28700):(28697:28697)"),
            Event::Exit { pid: 28698, tid: 28700 }
        );
    }

    #[test]
    fn new_tasks() {
        assert_eq!(
            event(
                "vforkwrite 30153 [000] 13007.726245:   task:task_newtask: pid=30155 comm=vforkwrite clone_flags=4100 oom_score_adj=0"
            ),
            Event::NewTask { pid: 30155, clone_flags: 0x4100 }
        );
        // A command name with spaces and an `=` in it.
        assert_eq!(
            event(
                "a 1 [0] 1.0: task:task_newtask: pid=7 comm=Web clone_flags=1 x clone_flags=3d0f00 oom_score_adj=-100"
            ),
            Event::NewTask { pid: 7, clone_flags: 0x3d0f00 }
        );
        assert!(parse_line("a 1 [0] 1.0: task:task_newtask: pid=7 comm=a oom_score_adj=0").is_err());
        assert!(parse_line("a 1 [0] 1.0: task:task_newtask: pid=7 comm=a clone_flags=xyz oom_score_adj=0").is_err());
        assert!(
            parse_line("a 1 [0] 1.0: task:task_newtask: pid=99999999999 comm=a clone_flags=1 oom_score_adj=0").is_err()
        );
    }

    #[test]
    fn lost_events() {
        // As `perf script --show-lost-events` prints them (perf 6.x).
        assert_eq!(
            parse_line("          :21718 21718 [000] 12643.171061: PERF_RECORD_LOST lost 26"),
            Ok(Parsed::Lost(26))
        );
        assert_eq!(parse_line("bash 2 [001] 1.0: PERF_RECORD_LOST_SAMPLES lost 0x381"), Ok(Parsed::Lost(0x381)));
        let damaged = parse_line("bash 2 [001] 1.0: PERF_RECORD_LOST lost many").unwrap_err();
        assert_eq!(damaged.column, 41, "{}", damaged.message);
        assert!(damaged.message.contains("count of lost events"), "{}", damaged.message);
        assert!(parse_line("bash 2 [001] 1.0: PERF_RECORD_LOST lost 3x").is_err());
    }

    #[test]
    fn syscalls() {
        assert_eq!(
            event(
                "sh 1 [001] 1.0:  syscalls:sys_enter_mprotect: start: 0x7fa10edf8000, len: 0x00004000, prot: 0x00000001"
            ),
            Event::Enter(Call::Mprotect { start: 0x7fa10edf8000, len: 0x4000, prot: 1 })
        );
        assert_eq!(
            event("sh 1 [001] 1.0: syscalls:sys_enter_brk: brk: 0x00000000"),
            Event::Enter(Call::Brk { brk: 0 })
        );
        assert_eq!(
            event(
                "f 1 [0] 1.0: syscalls:sys_enter_mremap: addr: 0x7fde1ff8c000, old_len: 0x00004000, new_len: 0x00008000, flags: 0x00000001, new_addr: 0x00000000"
            ),
            Event::Enter(Call::Mremap {
                addr: 0x7fde1ff8c000,
                old_len: 0x4000,
                new_len: 0x8000,
                flags: 1,
                new_addr: 0
            })
        );
        assert_eq!(
            event(
                "f 1 [0] 1.0: syscalls:sys_enter_madvise: start: 0x7fde1f77f000, len_in: 0x007fb000, behavior: 0x00000004"
            ),
            Event::Enter(Call::Madvise { start: 0x7fde1f77f000, len: 0x7fb000, behavior: 4 })
        );
        assert_eq!(
            event("f 1 [0] 1.0: syscalls:sys_exit_munmap: 0xfffffffffffffff4"),
            Event::Return { call: CallName::Munmap, value: (-12i64) as u64 }
        );
        assert_eq!(
            event("f 1 [0] 1.0: syscalls:sys_exit_brk: -12"),
            Event::Return { call: CallName::Brk, value: (-12i64) as u64 }
        );
    }

    #[test]
    fn kinds_that_are_skipped_or_ignored() {
        assert_eq!(
            parse_line("a 1 [0] 1.0: sched:sched_switch: prev_comm=a"),
            Ok(Parsed::Skipped("sched:sched_switch".into()))
        );
        assert_eq!(
            parse_line("a 1 [0] 1.0: PERF_RECORD_SWITCH_CPU_WIDE OUT"),
            Ok(Parsed::Skipped("PERF_RECORD_SWITCH_CPU_WIDE".into()))
        );
        assert_eq!(parse_line("a 1 [0] 1.0:    1 page-faults: 7f00 foo"), Ok(Parsed::Skipped("page-faults".into())));
        assert!(matches!(parse_line("a 1 [0] 1.0: sched:sched_process_fork: comm=a"), Ok(Parsed::Ignored(_))));
        assert_eq!(parse_line(""), Ok(Parsed::Nothing));
        assert_eq!(parse_line("# ========"), Ok(Parsed::Nothing));
        assert_eq!(parse_line("\t    7fde2009c8ea memset+0x1 (/usr/lib/libc.so.6)"), Ok(Parsed::Continuation));
        let long = format!("a 1 [0] 1.0: {}: x=1", "k".repeat(10_000));
        assert_eq!(parse_line(&long), Ok(Parsed::Skipped(format!("{}…", "k".repeat(EXCERPT_CHARS)))));
    }

    #[test]
    fn errors_point_at_the_column() {
        let err = |line: &str| parse_line(line).expect_err(line);
        let e = err("hello world");
        assert_eq!(e.column, 1);
        assert!(e.message.starts_with("expected a perf script line"), "{}", e.message);
        let line = "sh 1 [0] 1.0: exceptions:page_fault_user: address=0xzz ip=0x1 error_code=0x6";
        assert_eq!(err(line).column, line.find("0xzz").unwrap() + 1);
        let line = "sh 1 [0] 1.0: exceptions:page_fault_user: address=0x10 ip=0x1";
        assert_eq!(err(line).message, "expected field \"error_code=\" in exceptions:page_fault_user");
        let line = "sh 1 [0] 1.0: PERF_RECORD_MMAP2 1/1: [0x10(0x1000) @ 0 00:00 0 0]: rwzp //anon";
        assert_eq!(err(line).column, line.find("rwzp").unwrap() + 1);
        let line = "sh 1 [0] 1.0: PERF_RECORD_FORK(1:1)(2:2)";
        assert_eq!(err(line).column, line.find(")(").unwrap() + 1);
        let line = "sh x [0] 1.0: PERF_RECORD_EXIT(1:1):(2:2)";
        assert_eq!(err(line).column, 4);
        let line = "é 1 [0] 1.0: exceptions:page_fault_user: address=0x99999999999999999 error_code=1";
        assert_eq!(err(line).column, line.chars().count() - "0x99999999999999999 error_code=1".len() + 1);
        let line = format!("sh {} 1.0: PERF_RECORD_EXIT(1:1):(2:2)", "x".repeat(100_000));
        let e = err(&line);
        assert_eq!(e.column, 4);
        assert!(e.message.ends_with(&format!("found \"{}…\"", "x".repeat(EXCERPT_CHARS))), "{}", e.message);
        let path = "p".repeat(MAX_NAME_BYTES + 1);
        let line = format!("sh 1 [0] 1.0: PERF_RECORD_MMAP2 1/1: [0x10(0x1000) @ 0 00:00 0 0]: rw-p {path}");
        let e = err(&line);
        assert_eq!(e.column, line.find(&path).unwrap() + 1);
        assert_eq!(e.message, "the path in PERF_RECORD_MMAP2 is 4107 bytes long, more than Linux allows (4106)");
        let line = format!("sh 1 [0] 1.0: PERF_RECORD_COMM exec: {}:7/7", "n".repeat(MAX_NAME_BYTES + 1));
        assert_eq!(err(&line).column, line.find(": n").unwrap() + 3);
    }
}

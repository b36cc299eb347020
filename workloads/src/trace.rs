//! The cowsim trace format: JSON Lines, one operation a line (the full
//! reference is docs/trace-format.md).
//!
//! ```text
//! # a comment; blank lines are ignored too
//! {"op":"task_create","task":1}
//! {"op":"vm_allocate","task":1,"addr":"0x100000","size":"64K"}
//! {"op":"write","task":1,"addr":"0x100000","len":"64K","expect":"KERN_SUCCESS"}
//! {"op":"fork","parent":1,"child":2}
//! ```
//!
//! Every line is one JSON object with an `"op"` naming the operation and the
//! fields that operation takes. The writer puts `"op"` first; the reader
//! accepts it anywhere in the object, but it must be there.
//!
//! **Numbers** (addresses, sizes, offsets, page tokens, task ids) may be JSON
//! integers or strings. A string is decimal (`"4096"`), hexadecimal with a
//! `0x` or `0X` prefix (`"0x7f0000"`, digits in either case), or decimal with
//! a size suffix `K`, `M` or `G` (powers of 1024, either case: `"64K"`,
//! `"2M"`). Negative numbers, fractions and values past the field's width are
//! errors, never silently wrapped.
//!
//! **Strings with a fixed vocabulary**: `prot` is made of the letters `r`, `w`,
//! `x` (`""` for none); `inherit` is `share`, `copy` or `none`; `recorded` is
//! `not_present` or `present`; `expect` is a Mach name such as
//! `KERN_INVALID_ADDRESS`. Any op may carry `expect`.
//!
//! **Strictness.** A field the op does not take is an error (a typo such as
//! `"szie"` would otherwise be silently ignored and the op would run with a
//! default), so is a field given twice, a missing required field, and a value
//! of the wrong type. Every error names the line and the 1-based character
//! column of the offending token, `trace.jsonl:7:23: message`, and the reader
//! never panics, whatever bytes it is given.
//!
//! **What the writer writes.** `"op"` first, then the fields in the order the
//! table in [`field_names`] lists them (the order of the operations table in
//! docs/trace-format.md), then `expect`. Task ids are JSON integers.
//! Addresses, offsets and page tokens are hex strings (`"0x100000"`). Sizes
//! and lengths use the largest size suffix that divides them exactly
//! (`"64K"`, `"2M"`) and hex otherwise (`"0x1800"`), the way a person writes
//! them. Optional fields holding their default (`None`, a `false` flag) are
//! left out, except that `vm_map` always spells out `offset`, `private` and
//! `prot`, whose defaults are not obvious. [`parse_line`] of [`format_op`]
//! gives back the same op for every op the reader can produce (see
//! [`format_op`] for the few in-memory values no trace line can express).
//!
//! **How parsing works.** serde_json reads a line into a short list of
//! `(key, value)` pairs without building a `serde_json::Value` tree and
//! borrowing strings from the line where it can. Only when something is
//! wrong does the reader scan the raw line again to find where the offending
//! key or value starts, so the common path pays nothing for good error
//! messages.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sim::ids::TaskId;
use sim::op::{AccessOp, Op, Recorded, TraceOp};
use sim::types::{Access, Inheritance, KernReturn, Prot};

use crate::suggest::closest;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The trace could not be opened, or reading it failed part way (a disk
    /// error, a truncated or corrupt gzip stream). Reading stops here.
    #[error("{file}: {source}")]
    Io {
        /// The trace's name as given to the reader (`<stdin>` for `-`).
        file: String,
        source: io::Error,
    },
    /// One line is not a valid operation. The reader goes on with the next
    /// line if asked, so a caller may collect several of these.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The trace's name as given to the reader.
        file: String,
        /// 1-based line number, counting blank and comment lines.
        line: usize,
        /// 1-based character column of the offending token in that line.
        column: usize,
        /// What was expected, e.g. `unknown field "szie" for vm_copy`.
        message: String,
    },
}

impl TraceError {
    /// The 1-based line the error is about; `None` for I/O errors.
    pub fn line(&self) -> Option<usize> {
        match self {
            TraceError::Io { .. } => None,
            TraceError::Parse { line, .. } => Some(*line),
        }
    }

    /// The name of the trace the error is about.
    pub fn file(&self) -> &str {
        match self {
            TraceError::Io { file, .. } | TraceError::Parse { file, .. } => file,
        }
    }
}

/// What is wrong with one line, before it is known which file and line it
/// came from: [`parse_line`] returns this and [`TraceReader`] turns it into a
/// [`TraceError::Parse`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseProblem {
    /// 1-based character column of the offending token.
    pub column: usize,
    /// What was expected.
    pub message: String,
}

impl ParseProblem {
    /// The same problem, placed in a file at a 1-based line.
    pub fn at(self, file: &str, line: usize) -> TraceError {
        TraceError::Parse { file: file.to_owned(), line, column: self.column, message: self.message }
    }
}

/// A value together with the 1-based line it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

// ---------------------------------------------------------------------------
// Reading a stream
// ---------------------------------------------------------------------------

/// The longest line the reader accepts, newline included. Real lines are
/// about a hundred bytes; the limit keeps memory constant on a file that is
/// not a trace at all (say, a binary with no newline in a gigabyte).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A streaming trace reader: yields one op per non-blank, non-comment line.
///
/// It holds one line in memory at a time, in a buffer reused from line to
/// line. A line that does not parse is yielded as an `Err` and reading can
/// go on with the next line; the caller decides whether to stop. An I/O
/// error ends the iteration (a failing stream would otherwise fail forever),
/// and so does a line longer than [`MAX_LINE_BYTES`]: its end may never
/// come (`/dev/zero` has no newline), so the reader reports it as soon as
/// the limit is passed instead of reading on to find the next line.
pub struct TraceReader<R: BufRead> {
    input: R,
    name: String,
    /// The current line's bytes, reused so reading does not allocate per line.
    buffer: Vec<u8>,
    /// How many lines have been read so far, blank and comment lines included.
    lines_read: usize,
    /// Set at end of input and after an I/O error.
    finished: bool,
}

impl<R: BufRead> TraceReader<R> {
    /// A reader of `input`; `name` (usually the file name) starts every error
    /// message.
    pub fn new(input: R, name: impl Into<String>) -> Self {
        TraceReader { input, name: name.into(), buffer: Vec::with_capacity(256), lines_read: 0, finished: false }
    }

    /// The name given to [`TraceReader::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses the line now in `self.buffer`. `None` for a blank or comment
    /// line, which the caller skips.
    fn parse_buffered_line(&self, line_end: LineEnd) -> Option<Result<TraceOp, ParseProblem>> {
        if line_end == LineEnd::TooLong {
            return Some(Err(ParseProblem {
                column: 1,
                message: format!("line is longer than {MAX_LINE_BYTES} bytes"),
            }));
        }
        let bytes = strip_line_ending(&self.buffer);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => return Some(Err(invalid_utf8(bytes, error.valid_up_to()))),
        };
        // Editors on some systems start a file with a byte order mark.
        let text = if self.lines_read == 1 { text.trim_start_matches('\u{feff}') } else { text };
        let content = text.trim_start();
        if content.is_empty() || content.starts_with('#') {
            return None;
        }
        Some(parse_line(text))
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<Located<TraceOp>, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            self.buffer.clear();
            let line_end = match read_line_limited(&mut self.input, &mut self.buffer) {
                Ok(LineEnd::EndOfInput) => {
                    self.finished = true;
                    return None;
                }
                Ok(line_end) => line_end,
                Err(source) => {
                    self.finished = true;
                    return Some(Err(TraceError::Io { file: self.name.clone(), source }));
                }
            };
            self.lines_read += 1;
            self.finished = line_end == LineEnd::TooLong;
            if let Some(parsed) = self.parse_buffered_line(line_end) {
                let line = self.lines_read;
                return Some(
                    parsed.map(|value| Located { line, value }).map_err(|problem| problem.at(&self.name, line)),
                );
            }
        }
        None
    }
}

/// How [`read_line_limited`] found the line it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineEnd {
    /// A whole line is in the buffer (the last line may lack its newline).
    Complete,
    /// The line is longer than [`MAX_LINE_BYTES`]; the buffer holds its
    /// start and the rest is left unread.
    TooLong,
    /// Nothing was left to read.
    EndOfInput,
}

/// Appends the next line of `input`, newline included, to `buffer`, reading
/// at most [`MAX_LINE_BYTES`]; the rest of a longer line is left unread.
fn read_line_limited<R: BufRead>(input: &mut R, buffer: &mut Vec<u8>) -> io::Result<LineEnd> {
    let limit = MAX_LINE_BYTES as u64;
    let read = input.by_ref().take(limit).read_until(b'\n', buffer)?;
    if read == 0 {
        Ok(LineEnd::EndOfInput)
    } else if buffer.last() == Some(&b'\n') || read < MAX_LINE_BYTES {
        Ok(LineEnd::Complete)
    } else {
        Ok(LineEnd::TooLong)
    }
}

/// The line without its `\n` or `\r\n`.
fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The problem for a line that is not UTF-8, pointing just after its last
/// good character.
fn invalid_utf8(bytes: &[u8], valid_up_to: usize) -> ParseProblem {
    let good = bytes.get(..valid_up_to).unwrap_or_default();
    let column = String::from_utf8_lossy(good).chars().count() + 1;
    ParseProblem { column, message: "the line is not valid UTF-8 text".to_owned() }
}

/// Opens a trace file for reading: `-` is standard input, and gzip
/// compressed input (recognised by its magic bytes, not by its name) is
/// decompressed as it is read. Concatenated gzip members are read as one
/// stream, as `zcat` does.
pub fn open_trace(path: &Path) -> Result<TraceReader<Box<dyn BufRead>>, TraceError> {
    let (input, name) = open_input(path)?;
    Ok(TraceReader::new(input, name))
}

/// Opens any text input the way [`open_trace`] does (`-` for stdin, plain
/// or gzip) and returns it with the name errors should give it (`<stdin>`
/// for `-`). The importers of real captures read their input through this.
pub fn open_input(path: &Path) -> Result<(Box<dyn BufRead>, String), TraceError> {
    let from_stdin = path.as_os_str() == "-";
    let name = if from_stdin { "<stdin>".to_owned() } else { path.display().to_string() };
    let io_error = |source| TraceError::Io { file: name.clone(), source };
    let raw: Box<dyn BufRead> = if from_stdin {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(path).map_err(io_error)?;
        Box::new(BufReader::with_capacity(64 * 1024, file))
    };
    let input = decompress_if_gzip(raw).map_err(io_error)?;
    Ok((input, name))
}

/// Looks at the first two bytes of `input` and, if they are the gzip magic,
/// puts a streaming gzip decoder in front of it. The peeked bytes are put
/// back in front of the stream either way.
pub fn decompress_if_gzip(mut input: Box<dyn BufRead>) -> io::Result<Box<dyn BufRead>> {
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    // `take(..).read_to_end` keeps reading until it has both bytes or the
    // input ends: a pipe may hand them over one at a time.
    input.by_ref().take(GZIP_MAGIC.len() as u64).read_to_end(&mut head)?;
    let is_gzip = head == GZIP_MAGIC;
    let whole = Cursor::new(head).chain(input);
    if is_gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(whole);
        Ok(Box::new(BufReader::with_capacity(64 * 1024, decoder)))
    } else {
        Ok(Box::new(whole))
    }
}

// ---------------------------------------------------------------------------
// The ops and their fields
// ---------------------------------------------------------------------------

/// Every op name the format knows, in the order docs/trace-format.md lists
/// them.
pub const OP_NAMES: [&str; 16] = [
    "task_create",
    "fork",
    "exec",
    "exit",
    "vm_allocate",
    "vm_deallocate",
    "vm_protect",
    "vm_inherit",
    "vm_read",
    "vm_write",
    "vm_copy",
    "vm_map",
    "read",
    "write",
    "exec_fetch",
    "mark",
];

/// The fields an op takes besides `"op"` and `"expect"`, in the order the
/// writer writes them. `None` for a name that is not an op.
pub fn field_names(op_name: &str) -> Option<&'static [&'static str]> {
    let fields: &'static [&'static str] = match op_name {
        "task_create" | "exec" | "exit" => &["task"],
        "fork" => &["parent", "child"],
        "vm_allocate" => &["task", "addr", "size", "anywhere"],
        "vm_deallocate" => &["task", "addr", "size"],
        "vm_protect" => &["task", "addr", "size", "prot", "set_max"],
        "vm_inherit" => &["task", "addr", "size", "inherit"],
        "vm_read" => &["task", "addr", "size", "caller", "dst"],
        "vm_write" => &["task", "addr", "size", "caller", "src"],
        "vm_copy" => &["task", "src", "size", "dst"],
        "vm_map" => &["task", "addr", "size", "anywhere", "file", "offset", "private", "prot"],
        "read" | "exec_fetch" => &["task", "addr", "len", "expect_value", "recorded"],
        "write" => &["task", "addr", "len", "value", "recorded"],
        "mark" => &["label"],
        _ => return None,
    };
    Some(fields)
}

/// The protection a `vm_map` line without `"prot"` maps with: read-only,
/// the safe choice for a file.
const DEFAULT_MAP_PROT: Prot = Prot::READ;

/// The names `recorded` takes, with their values.
const RECORDED_NAMES: [(&str, Recorded); 2] = [("not_present", Recorded::NotPresent), ("present", Recorded::Present)];

// ---------------------------------------------------------------------------
// Parsing one line
// ---------------------------------------------------------------------------

/// Parses one trace line into an op.
///
/// `text` is the line without its newline. Blank and comment lines are not
/// ops: [`TraceReader`] skips them before calling this, and given one this
/// returns an error. Columns in the returned problem count characters from
/// the start of `text`, from 1.
pub fn parse_line(text: &str) -> Result<TraceOp, ParseProblem> {
    expect_object_start(text)?;
    let entries = read_entries(text)?;
    let line = Line { text, entries };
    line.reject_duplicate_keys()?;
    let op_name = line.op_name()?;
    line.reject_unknown_keys(op_name)?;
    let op = line.build_op(op_name)?;
    let expect = line.expect()?;
    Ok(TraceOp { op, expect })
}

/// Fails unless the first non-blank character of `text` opens a JSON object,
/// so that `[1,2]` or `42` get a message about trace lines instead of
/// serde_json's generic one.
fn expect_object_start(text: &str) -> Result<(), ParseProblem> {
    let start = text.len() - text.trim_start_matches(is_json_space).len();
    let found = match text.get(start..).and_then(|rest| rest.chars().next()) {
        Some('{') => return Ok(()),
        None => "an empty line".to_owned(),
        Some('[') => "an array".to_owned(),
        Some('"') => "a string".to_owned(),
        Some('t' | 'f') => "true or false".to_owned(),
        Some('n') => "null".to_owned(),
        Some(c) if c == '-' || c.is_ascii_digit() => "a number".to_owned(),
        Some(c) => format!("{c:?}"),
    };
    Err(ParseProblem {
        column: char_column(text, start),
        message: format!("expected a JSON object like {{\"op\":\"fork\",...}}, found {found}"),
    })
}

/// JSON's four whitespace characters (serde_json skips exactly these).
fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// More keys than any op has, by a margin; a line with more is rejected
/// early so that checking for duplicate keys stays cheap.
const MAX_FIELDS: usize = 32;

/// One `"key": value` of a line, as serde_json read it.
type Entry<'t> = (Cow<'t, str>, JsonValue<'t>);

/// Reads the line's object into its entries, in line order, duplicates
/// included. The only errors are JSON syntax errors and too many keys.
fn read_entries(text: &str) -> Result<Vec<Entry<'_>>, ParseProblem> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let entries = Entries::deserialize(&mut deserializer)
        .and_then(|entries| deserializer.end().map(|()| entries))
        .map_err(|error| json_error_problem(text, &error))?;
    Ok(entries.0)
}

/// Turns a serde_json error into a problem at the same place, dropping
/// serde_json's own " at line L column C" (it counts bytes, not characters).
fn json_error_problem(text: &str, error: &serde_json::Error) -> ParseProblem {
    let full = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let what = full.strip_suffix(&position).unwrap_or(&full);
    let message = match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("bad JSON: {what}")
        }
        // Data errors come only from our own visitor, which words them.
        serde_json::error::Category::Data | serde_json::error::Category::Io => what.to_owned(),
    };
    let byte = byte_offset_of(text, error.line(), error.column());
    ParseProblem { column: char_column(text, byte), message }
}

/// The byte offset serde_json's 1-based `line` and byte `column` point at.
/// (A trace line has no newline, but a caller of [`parse_line`] may pass
/// text that has.)
fn byte_offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start =
        if line <= 1 { 0 } else { text.match_indices('\n').nth(line - 2).map_or(text.len(), |(at, _)| at + 1) };
    line_start.saturating_add(column.saturating_sub(1)).min(text.len())
}

/// The 1-based character column of byte offset `byte` in `text` (rounded
/// down to a character boundary, clamped to the end).
fn char_column(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    text.get(..byte).map_or(0, |before| before.chars().count()) + 1
}

/// A parsed line: its raw text (for error positions) and its entries.
struct Line<'t> {
    text: &'t str,
    entries: Vec<Entry<'t>>,
}

impl<'t> Line<'t> {
    /// The value of `key`, if the line has it.
    fn get(&self, key: &str) -> Option<&JsonValue<'t>> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, value)| value)
    }

    /// Where the `occurrence`-th (from 0) member named `key` is written.
    fn span_of(&self, key: &str, occurrence: usize) -> Option<MemberSpan<'t>> {
        member_spans(self.text).into_iter().filter(|span| span.key == key).nth(occurrence)
    }

    /// A problem pointing at the start of the `occurrence`-th `key`.
    fn at_key(&self, key: &str, occurrence: usize, message: String) -> ParseProblem {
        let span = self.span_of(key, occurrence);
        ParseProblem { column: span.map_or(1, |span| char_column(self.text, span.key_start)), message }
    }

    /// A problem pointing at the start of the value of `key`.
    fn at_value(&self, key: &str, message: String) -> ParseProblem {
        let span = self.span_of(key, 0);
        ParseProblem { column: span.map_or(1, |span| char_column(self.text, span.value_start)), message }
    }

    /// The raw text of the value of `key`, for quoting in messages (cut
    /// short like [`quoted`] text).
    fn raw_value(&self, key: &str) -> String {
        let raw = self.span_of(key, 0).and_then(|span| self.text.get(span.value_start..span.value_end));
        raw.map_or_else(|| "the value".to_owned(), |raw| excerpt(raw, QUOTED_CHARS))
    }

    /// Fails on the second occurrence of any key, pointing at that key.
    fn reject_duplicate_keys(&self) -> Result<(), ParseProblem> {
        for (index, (key, _)) in self.entries.iter().enumerate() {
            let earlier = self.entries.iter().take(index).filter(|(k, _)| k == key).count();
            if earlier > 0 {
                return Err(self.at_key(key, earlier, format!("duplicate field {}", quoted(key))));
            }
        }
        Ok(())
    }

    /// The op's name, checked to be one the format knows.
    fn op_name(&self) -> Result<&'static str, ParseProblem> {
        let name = match self.get("op") {
            None => {
                return Err(ParseProblem {
                    column: 1,
                    message: "missing field \"op\" (every line names its op, like \"op\":\"fork\")".to_owned(),
                });
            }
            Some(JsonValue::Str(name)) => name,
            Some(_) => {
                return Err(self.at_value("op", "expected the op name as a string for \"op\"".into()));
            }
        };
        if let Some(known) = OP_NAMES.iter().find(|known| **known == name) {
            return Ok(known);
        }
        let hint = match closest(name, OP_NAMES) {
            Some(close) => format!("did you mean {close:?}?"),
            None => format!("known ops: {}", OP_NAMES.join(", ")),
        };
        Err(self.at_value("op", format!("unknown op {} ({hint})", quoted(name))))
    }

    /// Fails on the first key that `op_name` does not take, pointing at it.
    fn reject_unknown_keys(&self, op_name: &str) -> Result<(), ParseProblem> {
        let fields = field_names(op_name).unwrap_or_default();
        let is_known = |key: &str| key == "op" || key == "expect" || fields.contains(&key);
        let Some((key, _)) = self.entries.iter().find(|(key, _)| !is_known(key)) else {
            return Ok(());
        };
        let candidates = fields.iter().copied().chain(["expect"]);
        let hint = match closest(key, candidates) {
            Some(close) => format!("did you mean {close:?}?"),
            None => format!("{op_name} takes {}, expect", fields.join(", ")),
        };
        Err(self.at_key(key, 0, format!("unknown field {} for {op_name} ({hint})", quoted(key))))
    }

    /// Builds the op named `op_name` (one of [`OP_NAMES`]) from the fields.
    fn build_op(&self, op_name: &str) -> Result<Op, ParseProblem> {
        let op = match op_name {
            "task_create" => Op::TaskCreate { task: self.task("task", op_name)? },
            "fork" => Op::Fork { parent: self.task("parent", op_name)?, child: self.task("child", op_name)? },
            "exec" => Op::Exec { task: self.task("task", op_name)? },
            "exit" => Op::Exit { task: self.task("task", op_name)? },
            "vm_allocate" => self.vm_allocate()?,
            "vm_deallocate" => Op::VmDeallocate {
                task: self.task("task", op_name)?,
                addr: self.number("addr", op_name)?,
                size: self.number("size", op_name)?,
            },
            "vm_protect" => Op::VmProtect {
                task: self.task("task", op_name)?,
                addr: self.number("addr", op_name)?,
                size: self.number("size", op_name)?,
                prot: self.prot("prot", op_name)?,
                set_max: self.optional_flag("set_max")?.unwrap_or(false),
            },
            "vm_inherit" => Op::VmInherit {
                task: self.task("task", op_name)?,
                addr: self.number("addr", op_name)?,
                size: self.number("size", op_name)?,
                inherit: self.inheritance("inherit", op_name)?,
            },
            "vm_read" => Op::VmRead {
                task: self.task("task", op_name)?,
                addr: self.number("addr", op_name)?,
                size: self.number("size", op_name)?,
                caller: self.task("caller", op_name)?,
                dst: self.optional_number("dst")?,
            },
            "vm_write" => Op::VmWrite {
                task: self.task("task", op_name)?,
                addr: self.number("addr", op_name)?,
                size: self.number("size", op_name)?,
                caller: self.task("caller", op_name)?,
                src: self.number("src", op_name)?,
            },
            "vm_copy" => Op::VmCopy {
                task: self.task("task", op_name)?,
                src: self.number("src", op_name)?,
                size: self.number("size", op_name)?,
                dst: self.number("dst", op_name)?,
            },
            "vm_map" => self.vm_map()?,
            "read" => self.access(Access::Read, op_name)?,
            "write" => self.access(Access::Write, op_name)?,
            "exec_fetch" => self.access(Access::ExecFetch, op_name)?,
            "mark" => Op::Mark { label: self.string("label", op_name)? },
            // `op_name` comes from OP_NAMES, and every name there has an arm.
            other => {
                return Err(ParseProblem { column: 1, message: format!("unknown op {other:?}") });
            }
        };
        Ok(op)
    }

    /// `vm_allocate`: needs an address, or `"anywhere":true`, or both (then
    /// the address is where the first-fit search starts).
    fn vm_allocate(&self) -> Result<Op, ParseProblem> {
        let task = self.task("task", "vm_allocate")?;
        let addr = self.optional_number("addr")?;
        let size = self.number("size", "vm_allocate")?;
        let anywhere = self.optional_flag("anywhere")?.unwrap_or(false);
        if addr.is_none() && !anywhere {
            return Err(ParseProblem {
                column: 1,
                message: "vm_allocate needs \"addr\" or \"anywhere\":true".to_owned(),
            });
        }
        Ok(Op::VmAllocate { task, addr, size, anywhere })
    }

    /// `vm_map`: without an address the mapping goes anywhere.
    fn vm_map(&self) -> Result<Op, ParseProblem> {
        let task = self.task("task", "vm_map")?;
        let addr = self.optional_number("addr")?;
        let size = self.number("size", "vm_map")?;
        let anywhere = self.optional_flag("anywhere")?.unwrap_or(addr.is_none());
        if addr.is_none() && !anywhere {
            return Err(self.at_value(
                "anywhere",
                "vm_map without \"addr\" can only map anywhere; drop \"anywhere\":false".to_owned(),
            ));
        }
        let file = self.string("file", "vm_map")?;
        let offset = self.optional_number("offset")?.unwrap_or(0);
        let private = self.optional_flag("private")?.unwrap_or(true);
        let prot = match self.get("prot") {
            Some(_) => self.prot("prot", "vm_map")?,
            None => DEFAULT_MAP_PROT,
        };
        Ok(Op::VmMap { task, addr, size, anywhere, file, offset, private, prot })
    }

    /// `read`, `write` and `exec_fetch`. Only writes store a `value`; only
    /// reads and fetches check an `expect_value` (the field table enforces
    /// which one a line may carry).
    fn access(&self, access: Access, op_name: &str) -> Result<Op, ParseProblem> {
        Ok(Op::Access(AccessOp {
            task: self.task("task", op_name)?,
            access,
            addr: self.number("addr", op_name)?,
            len: self.number("len", op_name)?,
            value: self.optional_number("value")?,
            expect_value: self.optional_number("expect_value")?,
            recorded: self.recorded("recorded")?,
        }))
    }

    /// The value of a required field, or a "missing field" problem.
    fn required(&self, key: &str, op_name: &str) -> Result<&JsonValue<'t>, ParseProblem> {
        self.get(key).ok_or_else(|| ParseProblem { column: 1, message: format!("missing field {key:?} for {op_name}") })
    }

    /// A required 64-bit number (address, size, offset, token).
    fn number(&self, key: &str, op_name: &str) -> Result<u64, ParseProblem> {
        let value = self.required(key, op_name)?;
        self.to_number(key, value, NumberKind::Number)
    }

    /// An optional 64-bit number: `None` when the field is absent.
    fn optional_number(&self, key: &str) -> Result<Option<u64>, ParseProblem> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => self.to_number(key, value, NumberKind::Number).map(Some),
        }
    }

    /// A required task id (32 bits, same number syntax as addresses).
    fn task(&self, key: &str, op_name: &str) -> Result<TaskId, ParseProblem> {
        let value = self.required(key, op_name)?;
        let id = self.to_number(key, value, NumberKind::TaskId)?;
        // to_number has checked the range already.
        Ok(TaskId(u32::try_from(id).unwrap_or(u32::MAX)))
    }

    /// Converts the JSON value of `key` to a number of the given kind.
    fn to_number(&self, key: &str, value: &JsonValue, kind: NumberKind) -> Result<u64, ParseProblem> {
        let max = kind.max();
        let too_large = || format!("too large for {} bits", kind.bits());
        let (shown, why) = match value {
            JsonValue::Unsigned(n) if *n <= max => return Ok(*n),
            JsonValue::Unsigned(n) => (n.to_string(), too_large()),
            JsonValue::Str(text) => match parse_number_text(text) {
                Ok(n) if n <= max => return Ok(n),
                Ok(_) | Err(NumberProblem::TooLarge) => (quoted(text), too_large()),
                Err(problem) => (quoted(text), problem.to_string()),
            },
            JsonValue::Negative => (self.raw_value(key), NumberProblem::Negative.to_string()),
            JsonValue::Float => {
                let raw = self.raw_value(key);
                // serde_json reads an integer past u64::MAX, and "-0", as floats.
                let digits = raw.strip_prefix('-').unwrap_or(&raw);
                let why = if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                    "not a plain integer (no fraction or exponent)".to_owned()
                } else if raw.starts_with('-') {
                    NumberProblem::Negative.to_string()
                } else {
                    too_large()
                };
                (raw, why)
            }
            JsonValue::Bool(_) | JsonValue::Null | JsonValue::Array | JsonValue::Object => {
                let expected = kind.expected();
                return Err(self.at_value(key, format!("expected {expected} for {key:?}")));
            }
        };
        let name = kind.name();
        Err(self.at_value(key, format!("bad {name} {shown} for {key:?}: {why}")))
    }

    /// An optional `true`/`false` field.
    fn optional_flag(&self, key: &str) -> Result<Option<bool>, ParseProblem> {
        match self.get(key) {
            None => Ok(None),
            Some(JsonValue::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(self.at_value(key, format!("expected true or false for {key:?}"))),
        }
    }

    /// A required string field, e.g. a file name or a label.
    fn string(&self, key: &str, op_name: &str) -> Result<String, ParseProblem> {
        let value = self.required(key, op_name)?;
        self.string_in(key, value, "a string").map(str::to_owned)
    }

    /// The string in `value` (the value of `key`); `expected` describes
    /// what the field holds, for the wrong-type message.
    fn string_in<'v>(&self, key: &str, value: &'v JsonValue, expected: &str) -> Result<&'v str, ParseProblem> {
        match value {
            JsonValue::Str(text) => Ok(text),
            _ => Err(self.at_value(key, format!("expected {expected} for {key:?}"))),
        }
    }

    /// A required protection such as `"rw"`.
    fn prot(&self, key: &str, op_name: &str) -> Result<Prot, ParseProblem> {
        let value = self.required(key, op_name)?;
        let text = self.string_in(key, value, "a protection like \"rw\"")?;
        Prot::parse(text).ok_or_else(|| {
            let why = "use the letters r, w and x, each at most once (\"\" for none)";
            self.at_value(key, format!("bad protection {} for {key:?}: {why}", quoted(text)))
        })
    }

    /// A required inheritance: `share`, `copy` or `none`.
    fn inheritance(&self, key: &str, op_name: &str) -> Result<Inheritance, ParseProblem> {
        let choices = "\"share\", \"copy\" or \"none\"";
        let text = self.string_in(key, self.required(key, op_name)?, choices)?;
        Inheritance::parse(text).ok_or_else(|| {
            let why = vocabulary_hint(text, ["share", "copy", "none"], choices);
            self.at_value(key, format!("bad inheritance {} for {key:?}: {why}", quoted(text)))
        })
    }

    /// An optional `recorded` fault class.
    fn recorded(&self, key: &str) -> Result<Option<Recorded>, ParseProblem> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let choices = "\"not_present\" or \"present\"";
        let text = self.string_in(key, value, choices)?;
        let found = RECORDED_NAMES.iter().find(|(name, _)| *name == text);
        found.map(|(_, recorded)| Some(*recorded)).ok_or_else(|| {
            let why = vocabulary_hint(text, RECORDED_NAMES.map(|(name, _)| name), choices);
            self.at_value(key, format!("bad recorded fault {} for {key:?}: {why}", quoted(text)))
        })
    }

    /// The optional `expect` every op may carry.
    fn expect(&self) -> Result<Option<KernReturn>, ParseProblem> {
        let Some(value) = self.get("expect") else {
            return Ok(None);
        };
        let text = self.string_in("expect", value, "a return code like \"KERN_SUCCESS\"")?;
        KernReturn::parse(text).map(Some).ok_or_else(|| {
            let names = KernReturn::ALL.map(KernReturn::name);
            let why = vocabulary_hint(text, names, &format!("one of {}", names.join(", ")));
            self.at_value("expect", format!("bad return code {} for \"expect\": {why}", quoted(text)))
        })
    }
}

/// The most characters of the input a message quotes: enough to recognise
/// a typo, never a whole megabyte of junk.
pub const QUOTED_CHARS: usize = 64;

/// `text` as a message quotes it: in double quotes with Rust-style escapes,
/// cut after [`QUOTED_CHARS`] characters with an ellipsis and the full
/// length, so a 500 KB key costs one short line.
pub fn quoted(text: &str) -> String {
    let total = text.chars().count();
    if total <= QUOTED_CHARS {
        format!("{text:?}")
    } else {
        let start: String = text.chars().take(QUOTED_CHARS).collect();
        format!("{start:?}… ({total} characters)")
    }
}

/// The first `limit` characters of `text`, with `…` when it was longer.
fn excerpt(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// "did you mean ...?" when `text` is close to one of `names`, else the
/// list of `choices`.
fn vocabulary_hint<'n>(text: &str, names: impl IntoIterator<Item = &'n str>, choices: &str) -> String {
    match closest(text, names) {
        Some(close) => format!("did you mean {close:?}?"),
        None => format!("expected {choices}"),
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// What a numeric field holds, for its range and its messages.
#[derive(Clone, Copy)]
enum NumberKind {
    /// An address, size, offset or page token: 64 bits.
    Number,
    /// A task id: 32 bits.
    TaskId,
}

impl NumberKind {
    fn max(self) -> u64 {
        match self {
            NumberKind::Number => u64::MAX,
            NumberKind::TaskId => u64::from(u32::MAX),
        }
    }
    fn bits(self) -> u32 {
        match self {
            NumberKind::Number => 64,
            NumberKind::TaskId => 32,
        }
    }
    /// What the value is called in "bad ..." messages.
    fn name(self) -> &'static str {
        match self {
            NumberKind::Number => "number",
            NumberKind::TaskId => "task id",
        }
    }
    /// What a value of the wrong JSON type should have been.
    fn expected(self) -> &'static str {
        match self {
            NumberKind::Number => "a number or a string like \"0x1000\" or \"64K\"",
            NumberKind::TaskId => "a task id (a number like 1)",
        }
    }
}

/// Why a number string did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberProblem {
    #[error("the string is empty")]
    Empty,
    #[error("negative numbers are not allowed")]
    Negative,
    #[error("no hex digits after \"0x\"")]
    NoHexDigits,
    #[error("{0:?} is not a hex digit")]
    BadHexDigit(char),
    #[error("{0:?} is not a hex digit (size suffixes go only after decimal numbers)")]
    SuffixAfterHex(char),
    #[error("{0:?} is not a digit")]
    BadDigit(char),
    #[error("unknown size suffix {0:?} (use K, M or G)")]
    UnknownSuffix(String),
    #[error("too large for 64 bits")]
    TooLarge,
}

/// Parses the string form of a number: decimal `"4096"`, hex `"0x1000"`
/// (prefix and digits in either case), or decimal with a size suffix `K`,
/// `M`, `G` (powers of 1024, either case). Overflow is an error.
pub fn parse_number_text(text: &str) -> Result<u64, NumberProblem> {
    if text.is_empty() {
        return Err(NumberProblem::Empty);
    }
    if let Some(digits) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return parse_hex_digits(digits);
    }
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let first = suffix.chars().next();
    if digits.is_empty() {
        return Err(match first {
            Some('-') => NumberProblem::Negative,
            Some(c) => NumberProblem::BadDigit(c),
            None => NumberProblem::Empty,
        });
    }
    let multiplier: u64 = match suffix {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => {
            return Err(match first {
                Some(c) if c.is_alphabetic() => NumberProblem::UnknownSuffix(suffix.to_owned()),
                Some(c) => NumberProblem::BadDigit(c),
                None => NumberProblem::Empty,
            });
        }
    };
    let mut value: u64 = 0;
    for digit in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or(NumberProblem::TooLarge)?;
    }
    value.checked_mul(multiplier).ok_or(NumberProblem::TooLarge)
}

/// Parses the digits after a `0x` prefix.
fn parse_hex_digits(digits: &str) -> Result<u64, NumberProblem> {
    if digits.is_empty() {
        return Err(NumberProblem::NoHexDigits);
    }
    let mut value: u64 = 0;
    for (index, c) in digits.char_indices() {
        let Some(digit) = c.to_digit(16) else {
            let is_last = index + c.len_utf8() == digits.len();
            let looks_like_suffix = is_last && matches!(c, 'K' | 'k' | 'M' | 'm' | 'G' | 'g');
            return Err(if looks_like_suffix {
                NumberProblem::SuffixAfterHex(c)
            } else {
                NumberProblem::BadHexDigit(c)
            });
        };
        value = value.checked_mul(16).and_then(|v| v.checked_add(u64::from(digit))).ok_or(NumberProblem::TooLarge)?;
    }
    Ok(value)
}

// ---------------------------------------------------------------------------
// Reading the JSON object with serde
// ---------------------------------------------------------------------------

/// The JSON value of one field, reduced to what the format needs. Strings
/// borrow from the line unless they contain escapes; arrays and objects are
/// skipped (no field takes one) but remembered, to name them in messages.
#[derive(Debug)]
enum JsonValue<'t> {
    Unsigned(u64),
    /// A negative integer (always an error; the raw text is quoted from the
    /// line when reporting it).
    Negative,
    /// A number with a fraction or exponent, or an integer past `u64::MAX`.
    Float,
    Str(Cow<'t, str>),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl<'de> Deserialize<'de> for JsonValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl<'de> Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(JsonValue::Bool(flag))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(JsonValue::Unsigned(n))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        // serde_json calls this only for numbers written with a minus sign;
        // "-0" is still zero.
        Ok(u64::try_from(n).map_or(JsonValue::Negative, JsonValue::Unsigned))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(JsonValue::Float)
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(JsonValue::Str(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(JsonValue::Str(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(JsonValue::Str(Cow::Owned(text)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonValue::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonValue::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonValue::Object)
    }
}

/// An object key, borrowed from the line unless it contains escapes.
struct Key<'t>(Cow<'t, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(text)))
    }
}

/// All entries of the line's object, in order and with duplicates: a
/// `serde_json::Map` would silently keep only the last of two equal keys.
struct Entries<'t>(Vec<Entry<'t>>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(8);
        while let Some(Key(key)) = map.next_key()? {
            if entries.len() == MAX_FIELDS {
                let message = format!("too many fields (no op takes more than {MAX_FIELDS})");
                return Err(de::Error::custom(message));
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Entries(entries))
    }
}

// ---------------------------------------------------------------------------
// Finding keys and values in the raw line (error path only)
// ---------------------------------------------------------------------------

/// Where one `"key": value` member of the line's top-level object sits.
#[derive(Debug, PartialEq, Eq)]
struct MemberSpan<'t> {
    /// The key with escapes decoded, to compare with serde_json's keys.
    key: Cow<'t, str>,
    /// Byte offset of the key's opening quote.
    key_start: usize,
    /// Byte range of the value's text.
    value_start: usize,
    value_end: usize,
}

/// The members of the top-level object in `text`, in order.
///
/// Only called to place an error, after serde_json has accepted the line as
/// a JSON object, so it need not diagnose anything; on malformed input it
/// stops early and returns what it found, and it never panics. Scanning
/// token by token (rather than searching for `"key":`) is what keeps a
/// string value that happens to contain `\"task\":` from being mistaken for
/// a key.
fn member_spans(text: &str) -> Vec<MemberSpan<'_>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return spans;
    }
    at += 1;
    loop {
        at = skip_space(bytes, at);
        if bytes.get(at) != Some(&b'"') {
            return spans;
        }
        let key_start = at;
        let key_end = skip_string(bytes, at);
        let Some(key) = decode_key(text, key_start, key_end) else {
            return spans;
        };
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return spans;
        }
        let value_start = skip_space(bytes, at + 1);
        let value_end = skip_value(bytes, value_start);
        spans.push(MemberSpan { key, key_start, value_start, value_end });
        at = skip_space(bytes, value_end);
        if bytes.get(at) != Some(&b',') {
            return spans;
        }
        at += 1;
    }
}

/// The key whose quoted text spans `start..end`, escapes decoded.
fn decode_key(text: &str, start: usize, end: usize) -> Option<Cow<'_, str>> {
    let quoted = text.get(start..end)?;
    let inner = quoted.get(1..quoted.len().checked_sub(1)?)?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The first offset at or after `at` that is not JSON whitespace.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The offset just past the string whose opening quote is at `at`.
fn skip_string(bytes: &[u8], mut at: usize) -> usize {
    at += 1;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The offset just past the JSON value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => skip_string(bytes, at),
        Some(b'{' | b'[') => skip_nested(bytes, at),
        _ => {
            let mut end = at;
            while let Some(byte) = bytes.get(end) {
                if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                end += 1;
            }
            end
        }
    }
}

/// The offset just past the array or object opening at `at`.
fn skip_nested(bytes: &[u8], mut at: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                at = skip_string(bytes, at);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    bytes.len()
}

// ---------------------------------------------------------------------------
// Suggestions
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Writes ops as trace lines, one line each, plus `#` comments.
///
/// Writes go straight to `W`; wrap a file in a `BufWriter`.
pub struct TraceWriter<W: Write> {
    output: W,
    /// The line being built, reused from op to op.
    line: String,
}

impl<W: Write> TraceWriter<W> {
    /// A writer appending to `output`.
    pub fn new(output: W) -> Self {
        TraceWriter { output, line: String::with_capacity(256) }
    }

    /// Writes `op` as one line (see [`format_op`]).
    pub fn write_op(&mut self, op: &TraceOp) -> io::Result<()> {
        self.line.clear();
        push_op(&mut self.line, op);
        self.line.push('\n');
        self.output.write_all(self.line.as_bytes())
    }

    /// Writes `text` as comment lines, `# ` before each of its lines, so it
    /// cannot break out of the comment whatever it contains.
    pub fn write_comment(&mut self, text: &str) -> io::Result<()> {
        self.line.clear();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            self.line.push('#');
            if !line.is_empty() {
                self.line.push(' ');
                self.line.push_str(line);
            }
            self.line.push('\n');
        }
        self.output.write_all(self.line.as_bytes())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.output
    }
}

/// One trace line for `op`, without a newline.
///
/// The reader reads it back as the same op, except for in-memory values
/// that mean nothing in a trace and that the reader therefore never
/// produces: a `vm_allocate` or `vm_map` with neither an address nor
/// `anywhere`, a `value` on a read or fetch, an `expect_value` on a write.
/// Those are written as they are, and the reader rejects the line.
pub fn format_op(op: &TraceOp) -> String {
    let mut line = String::with_capacity(128);
    push_op(&mut line, op);
    line
}

/// Appends the line for `op` to `out`.
fn push_op(out: &mut String, trace_op: &TraceOp) {
    let mut line = ObjectWriter::begin(out, trace_op.op.name());
    match &trace_op.op {
        Op::TaskCreate { task } | Op::Exec { task } | Op::Exit { task } => line.task("task", *task),
        Op::Fork { parent, child } => {
            line.task("parent", *parent);
            line.task("child", *child);
        }
        Op::VmAllocate { task, addr, size, anywhere } => {
            line.task("task", *task);
            line.optional_address("addr", *addr);
            line.size("size", *size);
            line.flag_if_true("anywhere", *anywhere);
        }
        Op::VmDeallocate { task, addr, size } => {
            line.task("task", *task);
            line.address("addr", *addr);
            line.size("size", *size);
        }
        Op::VmProtect { task, addr, size, prot, set_max } => {
            line.task("task", *task);
            line.address("addr", *addr);
            line.size("size", *size);
            line.string("prot", &prot.to_string());
            line.flag_if_true("set_max", *set_max);
        }
        Op::VmInherit { task, addr, size, inherit } => {
            line.task("task", *task);
            line.address("addr", *addr);
            line.size("size", *size);
            line.string("inherit", inherit.name());
        }
        Op::VmRead { task, addr, size, caller, dst } => {
            line.task("task", *task);
            line.address("addr", *addr);
            line.size("size", *size);
            line.task("caller", *caller);
            line.optional_address("dst", *dst);
        }
        Op::VmWrite { task, addr, size, caller, src } => {
            line.task("task", *task);
            line.address("addr", *addr);
            line.size("size", *size);
            line.task("caller", *caller);
            line.address("src", *src);
        }
        Op::VmCopy { task, src, size, dst } => {
            line.task("task", *task);
            line.address("src", *src);
            line.size("size", *size);
            line.address("dst", *dst);
        }
        Op::VmMap { task, addr, size, anywhere, file, offset, private, prot } => {
            line.task("task", *task);
            line.optional_address("addr", *addr);
            line.size("size", *size);
            line.flag_if_true("anywhere", *anywhere);
            line.string("file", file);
            line.address("offset", *offset);
            line.boolean("private", *private);
            line.string("prot", &prot.to_string());
        }
        Op::Access(access) => {
            line.task("task", access.task);
            line.address("addr", access.addr);
            line.size("len", access.len);
            line.optional_address("value", access.value);
            line.optional_address("expect_value", access.expect_value);
            if let Some(recorded) = access.recorded {
                line.string("recorded", recorded.name());
            }
        }
        Op::Mark { label } => line.string("label", label),
    }
    if let Some(expect) = trace_op.expect {
        line.string("expect", expect.name());
    }
    line.finish();
}

/// Builds one JSON object into a string, a member at a time.
struct ObjectWriter<'s> {
    out: &'s mut String,
}

impl<'s> ObjectWriter<'s> {
    /// Opens the object with its `"op"` member.
    fn begin(out: &'s mut String, op_name: &str) -> Self {
        out.push_str("{\"op\":");
        push_json_string(out, op_name);
        ObjectWriter { out }
    }

    /// Starts a member: `,"key":`.
    fn key(&mut self, key: &str) {
        self.out.push(',');
        push_json_string(self.out, key);
        self.out.push(':');
    }

    /// A task id, as a JSON integer.
    fn task(&mut self, key: &str, task: TaskId) {
        self.key(key);
        push_decimal(self.out, u64::from(task.0));
    }

    /// An address-like number (address, offset, token), as a hex string.
    fn address(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out.push('"');
        push_hex(self.out, value);
        self.out.push('"');
    }

    fn optional_address(&mut self, key: &str, value: Option<u64>) {
        if let Some(value) = value {
            self.address(key, value);
        }
    }

    /// A size or length, as a string like `"64K"` (see [`format_size`]).
    fn size(&mut self, key: &str, size: u64) {
        self.key(key);
        self.out.push('"');
        push_size(self.out, size);
        self.out.push('"');
    }

    fn boolean(&mut self, key: &str, flag: bool) {
        self.key(key);
        self.out.push_str(if flag { "true" } else { "false" });
    }

    /// A flag whose default is `false`: written only when set.
    fn flag_if_true(&mut self, key: &str, flag: bool) {
        if flag {
            self.boolean(key, true);
        }
    }

    fn string(&mut self, key: &str, text: &str) {
        self.key(key);
        push_json_string(self.out, text);
    }

    fn finish(self) {
        self.out.push('}');
    }
}

/// A size the way a person writes it: with the largest suffix `G`, `M` or
/// `K` that divides it exactly (`"64K"`, `"2M"`), in hex otherwise
/// (`"0x1800"`, `"0x0"`).
pub fn format_size(size: u64) -> String {
    let mut text = String::new();
    push_size(&mut text, size);
    text
}

fn push_size(out: &mut String, size: u64) {
    const SUFFIXES: [(u64, char); 3] = [(1 << 30, 'G'), (1 << 20, 'M'), (1 << 10, 'K')];
    let suffix = SUFFIXES.iter().find(|(unit, _)| size != 0 && size.is_multiple_of(*unit));
    match suffix {
        Some((unit, letter)) => {
            push_decimal(out, size / unit);
            out.push(*letter);
        }
        None => push_hex(out, size),
    }
}

/// Appends `value` in decimal. (The writer's hot path: `write!` through
/// `core::fmt` costs several times more, and importers write millions of
/// lines.)
fn push_decimal(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&b| char::from(b)));
}

/// Appends `value` as `0x` and lowercase hex digits, like `{:#x}`.
fn push_hex(out: &mut String, mut value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 18];
    let mut at = text.len();
    loop {
        at -= 1;
        text[at] = DIGITS[(value & 0xf) as usize];
        value >>= 4;
        if value == 0 {
            break;
        }
    }
    at -= 2;
    text[at] = b'0';
    text[at + 1] = b'x';
    out.extend(text[at..].iter().map(|&b| char::from(b)));
}

/// Appends `text` as a JSON string literal: quotes, backslashes and control
/// characters escaped, everything else as it is (JSON is UTF-8).
fn push_json_string(out: &mut String, text: &str) {
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        // Nothing to escape: the common case (op names, keys, prot).
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_strings() {
        assert_eq!(parse_number_text("4096"), Ok(4096));
        assert_eq!(parse_number_text("0x7f0000"), Ok(0x7f0000));
        assert_eq!(parse_number_text("0X7F0000"), Ok(0x7f0000));
        assert_eq!(parse_number_text("0xAbC"), Ok(0xabc));
        assert_eq!(parse_number_text("64K"), Ok(64 << 10));
        assert_eq!(parse_number_text("64k"), Ok(64 << 10));
        assert_eq!(parse_number_text("2M"), Ok(2 << 20));
        assert_eq!(parse_number_text("1G"), Ok(1 << 30));
        assert_eq!(parse_number_text("0"), Ok(0));
        assert_eq!(parse_number_text("007"), Ok(7));
        assert_eq!(parse_number_text("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_number_text("0xffffffffffffffff"), Ok(u64::MAX));
    }

    #[test]
    fn bad_number_strings() {
        use NumberProblem::*;
        assert_eq!(parse_number_text(""), Err(Empty));
        assert_eq!(parse_number_text("12Q"), Err(UnknownSuffix("Q".into())));
        assert_eq!(parse_number_text("12KB"), Err(UnknownSuffix("KB".into())));
        assert_eq!(parse_number_text("-1"), Err(Negative));
        assert_eq!(parse_number_text("0x"), Err(NoHexDigits));
        assert_eq!(parse_number_text("0xZZ"), Err(BadHexDigit('Z')));
        assert_eq!(parse_number_text("0x10K"), Err(SuffixAfterHex('K')));
        assert_eq!(parse_number_text("abc"), Err(BadDigit('a')));
        assert_eq!(parse_number_text(" 1"), Err(BadDigit(' ')));
        assert_eq!(parse_number_text("1 "), Err(BadDigit(' ')));
        assert_eq!(parse_number_text("99999999999999999999"), Err(TooLarge));
        assert_eq!(parse_number_text("0x10000000000000000"), Err(TooLarge));
        assert_eq!(parse_number_text("17179869184G"), Err(TooLarge));
        assert_eq!(parse_number_text("٣"), Err(BadDigit('٣')));
    }

    #[test]
    fn numbers_are_written_like_format() {
        for value in [0, 1, 9, 10, 15, 16, 255, 4096, 0x7fff_ffff_f000, u64::from(u32::MAX), u64::MAX] {
            let (mut decimal, mut hex) = (String::new(), String::new());
            push_decimal(&mut decimal, value);
            push_hex(&mut hex, value);
            assert_eq!(decimal, value.to_string());
            assert_eq!(hex, format!("{value:#x}"));
        }
        let mut escaped = String::new();
        push_json_string(&mut escaped, "a\"b\\c\u{1}é");
        assert_eq!(escaped, r#""a\"b\\c\u0001é""#);
    }

    #[test]
    fn sizes_are_written_with_the_largest_exact_suffix() {
        assert_eq!(format_size(0), "0x0");
        assert_eq!(format_size(4096), "4K");
        assert_eq!(format_size(64 << 10), "64K");
        assert_eq!(format_size(1536 << 10), "1536K");
        assert_eq!(format_size(2 << 20), "2M");
        assert_eq!(format_size(3 << 30), "3G");
        assert_eq!(format_size(0x1800 + 1), "0x1801");
        assert_eq!(format_size(u64::MAX), "0xffffffffffffffff");
    }

    #[test]
    fn member_spans_skip_strings_that_look_like_keys() {
        let text = r#"{"op":"mark", "label":"\"task\":1,{[" , "x" : [1,{"a":"]"}], "t\u0061sk":7}"#;
        let spans = member_spans(text);
        let keys: Vec<&str> = spans.iter().map(|s| s.key.as_ref()).collect();
        assert_eq!(keys, ["op", "label", "x", "task"]);
        let values: Vec<&str> = spans.iter().map(|s| &text[s.value_start..s.value_end]).collect();
        assert_eq!(values, ["\"mark\"", r#""\"task\":1,{[""#, r#"[1,{"a":"]"}]"#, "7"]);
    }

    #[test]
    fn member_spans_never_panic_on_truncated_text() {
        let text = r#"{"op":"mark","label":"a\"b","x":[1,2]}"#;
        for end in 0..=text.len() {
            let _ = member_spans(&text[..end]);
        }
        let _ = member_spans("{\"\\");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(char_column("abc", 0), 1);
        assert_eq!(char_column("éé x", 4), 3);
        // Inside a two-byte character: rounds down to its start.
        assert_eq!(char_column("éé x", 3), 2);
        assert_eq!(char_column("ab", 99), 3);
        assert_eq!(byte_offset_of("ab\ncd", 2, 2), 4);
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(closest("frok", OP_NAMES), Some("fork"));
        assert_eq!(closest("vm_alocate", OP_NAMES), Some("vm_allocate"));
        assert_eq!(closest("szie", ["task", "size"]), Some("size"));
        assert_eq!(closest("xyz", OP_NAMES), None);
        assert_eq!(closest("", OP_NAMES), None);
    }

    /// An over-long line ends the reading: its end may never come, so the
    /// lines after it are not read.
    #[test]
    fn a_long_line_is_reported_and_ends_the_reading() {
        let long = format!("{{\"op\":\"mark\",\"label\":\"{}\"}}\n", "x".repeat(MAX_LINE_BYTES));
        let text = format!("{long}{{\"op\":\"exit\",\"task\":1}}\n");
        let mut reader = TraceReader::new(text.as_bytes(), "t");
        let error = reader.next().and_then(Result::err).map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("t:1:1: line is longer than 1048576 bytes"));
        assert!(reader.next().is_none());
    }
}

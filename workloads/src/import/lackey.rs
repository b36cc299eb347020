//! `cowsim import lackey`: a Valgrind lackey memory trace into a cowsim
//! trace.
//!
//! `valgrind --tool=lackey --trace-mem=yes PROGRAM` logs every instruction
//! fetch, load, store and read-modify-write of one process, one a line (the
//! format is fixed by four `printf`s in lackey's `lk_main.c`):
//!
//! ```text
//! ==15536== Lackey, an example Valgrind tool      header and summary lines: ignored
//! I  004014f0,2                                    instruction fetch → exec_fetch
//!  L 1fff000770,8                                  load               → read
//!  S 1fff000768,8                                  store              → write
//!  M 04033e06,1                                    modify             → read, then write
//! ```
//!
//! The address is hexadecimal, the size decimal bytes. An access that
//! spans a page boundary touches both pages.
//!
//! **One task, memory made on first touch.** Lackey records no mappings,
//! forks or exits. The trace has one task (1); the first touch of an
//! address allocates the aligned 64 KiB chunk around it (`vm_allocate`,
//! then `vm_protect` to `rwx` so that fetches, loads and stores all
//! succeed). Chunks are cheap for the simulator (one map entry each, pages
//! made only when touched) and keep the map small.
//!
//! **Coalescing.** A trace with one op per lackey line would be huge and
//! say nothing more to a copy-on-write simulator: within one task and with
//! no mapping changes, only the first access to a page can fault, and a
//! write after reads (which may break a zero-page or read-only mapping).
//! So a *run of consecutive accesses to one page* becomes at most two ops:
//! the run's first access, and its first write when the first access was
//! not one. The later accesses of a run are dropped: they would hit the
//! pmap under every policy. (The read digest and the access count of a
//! replay count the ops written, not the lackey lines.) Each op is one
//! whole page (`len` 4K).
//!
//! **Speed.** The parser works on the input's bytes in place: no regular
//! expressions, no allocation per line, one pass over each line (the aim is
//! over 20 million lackey lines a second; the `lackey_rate` example
//! measures it).
//!
//! **Lines that are not accesses.** The input must be a lackey log (the
//! rule is in [`crate::import`]): valgrind's `==PID==` lines and blank lines
//! may come first, and the first other line must be an access; an input
//! with no access at all is an error. Lines that start like an access
//! (`I  `, ` L `, ` S `, ` M `) but do not parse are errors naming
//! `file:line:column`, and so are accesses with other spacing than lackey's
//! (`I 0400,3`, ` L  0400,8`), with a message saying which. Other lines
//! after the first access (the program's own output, when lackey logs to
//! the same terminal) are skipped and counted.

use std::io::{self, BufRead};

use rustc_hash::FxHashSet;
use sim::ids::TaskId;
use sim::op::{AccessOp, Op, TraceOp};
use sim::types::{Access, KernReturn, Prot};

use crate::import::regions::PAGE_SIZE;
use crate::import::{
    ImportError, ImportSettings, ImportSummary, Importer, OpSink, Recognition, base_name, quote_line_excerpt,
    write_summary,
};
use crate::trace::{MAX_LINE_BYTES, TraceError};

/// The one task of a lackey trace.
pub const TASK: TaskId = TaskId(1);

/// Pages in a chunk allocated on first touch (64 KiB).
pub const CHUNK_PAGES: u64 = 16;

/// The largest access a line may describe. Lackey's are at most a vector
/// register (64 bytes); a larger size is a corrupt line.
const MAX_ACCESS_BYTES: u64 = 1 << 16;

/// The lowest page the simulator maps (its default `map_min`, 0x1000).
const FIRST_PAGE: u64 = 1;
/// One past the last user page (its default `map_max`, 2^47).
const END_PAGE: u64 = (1 << 47) / PAGE_SIZE;

/// Imports lackey logs. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct LackeyImport;

impl Importer for LackeyImport {
    fn name(&self) -> &'static str {
        "lackey"
    }

    fn file_ending(&self) -> &'static str {
        ".lackey.txt"
    }

    fn summary(&self) -> &'static str {
        "a `valgrind --tool=lackey --trace-mem=yes` log of one process's loads, stores and instruction fetches"
    }

    fn import(
        &self,
        input: &mut dyn BufRead,
        input_name: &str,
        sink: &mut dyn OpSink,
        sink_name: &str,
        _settings: &ImportSettings,
    ) -> Result<ImportSummary, ImportError> {
        self.run(input, input_name, sink, sink_name)
    }
}

impl LackeyImport {
    /// Reads a lackey log from `input` (named `input_name` in errors and in
    /// the trace's opening comments) and writes the trace to `writer`
    /// (named `output_name` in errors).
    pub fn run<R: BufRead, S: OpSink + ?Sized>(
        &self,
        mut input: R,
        input_name: &str,
        writer: &mut S,
        output_name: &str,
    ) -> Result<ImportSummary, ImportError> {
        let output_error = |source| ImportError::Output { file: output_name.to_owned(), source };
        let input_error = |source| ImportError::Input(TraceError::Io { file: input_name.to_owned(), source });
        write_header(writer, input_name).map_err(output_error)?;
        let mut importer = LogReader::new(writer, input_name, output_name);
        importer.out.op(Op::TaskCreate { task: TASK }, Some(KernReturn::Success)).map_err(output_error)?;
        // A line cut by the end of a buffer waits here for its rest.
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let block = input.fill_buf().map_err(input_error)?;
            if block.is_empty() {
                break;
            }
            let length = block.len();
            if !carry.is_empty() {
                // Complete the carried line with this block's first line.
                let Some(newline) = block.iter().position(|&b| b == b'\n') else {
                    carry.extend_from_slice(block);
                    input.consume(length);
                    importer.check_carry_length(&carry)?;
                    continue;
                };
                carry.extend_from_slice(&block[..=newline]);
                importer.lines(&carry)?;
                carry.clear();
                let block = &block[newline + 1..];
                let consumed = importer.complete_lines(block)?;
                carry.extend_from_slice(&block[consumed..]);
            } else {
                let consumed = importer.complete_lines(block)?;
                carry.extend_from_slice(&block[consumed..]);
            }
            input.consume(length);
            importer.check_carry_length(&carry)?;
        }
        if !carry.is_empty() {
            // The last line had no newline.
            carry.push(b'\n');
            importer.lines(&carry)?;
        }
        importer.recognition.check_at_end(input_name, importer.line)?;
        let summary = importer.finish();
        write_summary(writer, &summary).map_err(output_error)?;
        writer.flush().map_err(output_error)?;
        Ok(summary)
    }
}

/// The trace's opening comments: where it came from.
fn write_header<S: OpSink + ?Sized>(writer: &mut S, input_name: &str) -> io::Result<()> {
    writer.comment(&format!(
        "imported by `cowsim import lackey` (cowsim {}) from {}\n\
         source: a valgrind --tool=lackey --trace-mem=yes log of one process (task 1)\n\
         memory is allocated in 64 KiB chunks (rwx) at first touch; each op is one 4 KiB page;\n\
         a run of accesses to one page is kept as its first access and its first write",
        env!("CARGO_PKG_VERSION"),
        base_name(input_name)
    ))
}

/// Hex digit values; 0xff for anything else.
const HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Writes ops, counting them.
struct Out<'w, S: OpSink + ?Sized> {
    writer: &'w mut S,
    ops: u64,
}

impl<S: OpSink + ?Sized> Out<'_, S> {
    fn op(&mut self, op: Op, expect: Option<KernReturn>) -> io::Result<()> {
        self.ops += 1;
        self.writer.op(TraceOp { op, expect })
    }
}

/// The parser and the translation state.
struct LogReader<'w, 'n, S: OpSink + ?Sized> {
    out: Out<'w, S>,
    /// The input's and the output's names, for errors.
    name: &'n str,
    output_name: &'n str,
    /// Lines read so far.
    line: u64,
    /// Chunks allocated, and the last one looked up (most touches hit it).
    chunks: FxHashSet<u64>,
    last_chunk: u64,
    /// The page of the current run of accesses, and whether the run has
    /// written it yet.
    run_page: u64,
    run_wrote: bool,
    /// Whether an access was seen yet, and the first line if not.
    recognition: Recognition,
    summary: ImportSummary,
}

impl<'w, 'n, S: OpSink + ?Sized> LogReader<'w, 'n, S> {
    fn new(writer: &'w mut S, name: &'n str, output_name: &'n str) -> Self {
        LogReader {
            out: Out { writer, ops: 0 },
            name,
            output_name,
            line: 0,
            chunks: FxHashSet::default(),
            last_chunk: u64::MAX,
            run_page: u64::MAX,
            run_wrote: false,
            recognition: Recognition::new("a lackey log", "lackey's output"),
            summary: ImportSummary::default(),
        }
    }

    fn finish(mut self) -> ImportSummary {
        self.summary.lines = self.line;
        self.summary.ops = self.out.ops;
        self.summary
    }

    fn check_carry_length(&self, carry: &[u8]) -> Result<(), ImportError> {
        if carry.len() > MAX_LINE_BYTES {
            let message = format!("line is longer than {MAX_LINE_BYTES} bytes");
            return Err(ImportError::parse(self.name, self.line as usize + 1, 1, message));
        }
        Ok(())
    }

    /// Parses the complete lines at the start of `block`; returns how many
    /// bytes they took (up to and including the last newline).
    fn complete_lines(&mut self, block: &[u8]) -> Result<usize, ImportError> {
        let Some(last_newline) = block.iter().rposition(|&b| b == b'\n') else { return Ok(0) };
        self.lines(&block[..=last_newline])?;
        Ok(last_newline + 1)
    }

    /// Parses `text`, which is whole lines, each ending in `\n`.
    fn lines(&mut self, text: &[u8]) -> Result<(), ImportError> {
        let mut at = 0;
        while at < text.len() {
            at = self.line_at(text, at)?;
        }
        Ok(())
    }

    /// Parses the line starting at `start` (it ends with a newline); returns
    /// where the next line starts.
    #[inline]
    fn line_at(&mut self, text: &[u8], start: usize) -> Result<usize, ImportError> {
        self.line += 1;
        let kind = match (text[start], text.get(start + 1), text.get(start + 2)) {
            (b'I', Some(b' '), Some(b' ')) => Kind::Fetch,
            (b' ', Some(b'L'), Some(b' ')) => Kind::Load,
            (b' ', Some(b'S'), Some(b' ')) => Kind::Store,
            (b' ', Some(b'M'), Some(b' ')) => Kind::Modify,
            _ => return self.other_line(text, start),
        };
        let mut at = start + 3;
        let mut address: u64 = 0;
        let digits_start = at;
        loop {
            let value = HEX[text[at] as usize];
            if value == 0xff {
                break;
            }
            address = (address << 4) | u64::from(value);
            at += 1;
        }
        let digits = at - digits_start;
        if digits == 0 {
            return Err(self.no_address(kind, text, start, at));
        }
        if digits > 16 {
            let message = "the address has more than 16 hexadecimal digits (lackey's addresses are 64-bit)";
            return Err(self.problem(start, digits_start + 16, message));
        }
        if text[at] != b',' {
            return Err(self.problem(start, at, "expected ',' and the size after the address"));
        }
        at += 1;
        let size_start = at;
        let mut size: u64 = 0;
        while text[at].is_ascii_digit() {
            size = size.saturating_mul(10).saturating_add(u64::from(text[at] - b'0'));
            at += 1;
        }
        if at == size_start {
            return Err(self.problem(start, at, "expected the size in decimal bytes after ','"));
        }
        if text[at] == b'\r' {
            at += 1;
        }
        if text[at] != b'\n' {
            return Err(self.problem(start, at, "expected the end of the line after the size"));
        }
        if size > MAX_ACCESS_BYTES {
            return Err(self.problem(start, size_start, "the size is larger than any access lackey records (64 KiB)"));
        }
        self.recognition.recognised = true;
        self.access(kind, address, size.max(1)).map_err(|e| self.output_error(e))?;
        Ok(at + 1)
    }

    /// A line that does not start like an access: a blank line, valgrind's
    /// (`==PID== ...`), an access with other spacing than lackey's (an
    /// error), a line before the first access (an error: not a lackey log)
    /// or after it (the program's own output: skipped and counted). The
    /// line starts at `start` and ends with a newline; returns where the
    /// next line starts.
    #[cold]
    fn other_line(&mut self, text: &[u8], start: usize) -> Result<usize, ImportError> {
        let newline = start + text[start..].iter().position(|&b| b == b'\n').unwrap_or(text.len() - start);
        let line = &text[start..newline];
        if line.len() >= MAX_LINE_BYTES {
            let message = format!("line is longer than {MAX_LINE_BYTES} bytes");
            return Err(ImportError::parse(self.name, self.line as usize, 1, message));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(newline + 1);
        }
        if is_valgrind_line(line) {
            self.summary.ignored.add("valgrind header and summary lines (==PID==)");
            if !self.recognition.recognised {
                self.recognition.remember(line);
                self.recognition.hint = Some("lackey logs accesses only when run with --trace-mem=yes");
            }
            return Ok(newline + 1);
        }
        if let Some((column, kind)) = respaced_access(line) {
            let (prefix, spelled, name) = kind.format();
            let message = format!("expected {prefix:?} ({spelled}) before the address, as lackey writes {name}");
            return Err(ImportError::parse(self.name, self.line as usize, column, message));
        }
        if !self.recognition.recognised {
            let found = quote_line_excerpt(line);
            let message = format!(
                "not a lackey log: expected valgrind's banner (==PID==) or lackey's first access \
                 (\"I  ADDRESS,SIZE\"), found {found}"
            );
            return Err(ImportError::parse(self.name, self.line as usize, 1, message));
        }
        self.summary.skipped.add("lines that are not lackey accesses");
        Ok(newline + 1)
    }

    /// The error for an access line with no address where lackey writes it
    /// (at `at`): most often one space too many.
    #[cold]
    fn no_address(&self, kind: Kind, text: &[u8], line_start: usize, at: usize) -> ImportError {
        let (prefix, _, _) = kind.format();
        let message = match text[at] {
            b' ' => format!("unexpected space: lackey writes {prefix:?} and the address right after it"),
            b'\t' => format!("unexpected tab: lackey writes {prefix:?} and the address right after it"),
            _ => format!("expected the address in hexadecimal after {prefix:?}"),
        };
        self.problem(line_start, at, &message)
    }

    #[cold]
    fn problem(&self, line_start: usize, at: usize, message: &str) -> ImportError {
        ImportError::parse(self.name, self.line as usize, at - line_start + 1, message)
    }

    #[cold]
    fn output_error(&self, error: io::Error) -> ImportError {
        ImportError::Output { file: self.output_name.to_owned(), source: error }
    }

    /// One lackey access of `size` bytes at `address`.
    #[inline]
    fn access(&mut self, kind: Kind, address: u64, size: u64) -> io::Result<()> {
        self.summary.events += 1;
        let first = address / PAGE_SIZE;
        let Some(last) = address.checked_add(size - 1).map(|end| end / PAGE_SIZE) else {
            self.summary.notes.add("accesses outside the mappable range 0x1000..2^47 (skipped)");
            return Ok(());
        };
        if first < FIRST_PAGE || last >= END_PAGE {
            self.summary.notes.add("accesses outside the mappable range 0x1000..2^47 (skipped)");
            return Ok(());
        }
        for page in first..=last {
            match kind {
                Kind::Fetch => self.touch(page, Access::ExecFetch)?,
                Kind::Load => self.touch(page, Access::Read)?,
                Kind::Store => self.touch(page, Access::Write)?,
                Kind::Modify => {
                    self.touch(page, Access::Read)?;
                    self.touch(page, Access::Write)?;
                }
            }
        }
        Ok(())
    }

    /// One page touched: coalesced into the current run, or written.
    #[inline]
    fn touch(&mut self, page: u64, access: Access) -> io::Result<()> {
        let write = access == Access::Write;
        if page == self.run_page {
            if !write || self.run_wrote {
                return Ok(());
            }
            self.run_wrote = true;
        } else {
            self.run_page = page;
            self.run_wrote = write;
            self.ensure_chunk(page / CHUNK_PAGES)?;
        }
        let op = AccessOp {
            task: TASK,
            access,
            addr: page * PAGE_SIZE,
            len: PAGE_SIZE,
            value: None,
            expect_value: None,
            recorded: None,
        };
        self.out.op(Op::Access(op), None)
    }

    /// Allocates chunk `chunk` on its first touch.
    #[inline]
    fn ensure_chunk(&mut self, chunk: u64) -> io::Result<()> {
        if chunk == self.last_chunk {
            return Ok(());
        }
        self.last_chunk = chunk;
        if !self.chunks.insert(chunk) {
            return Ok(());
        }
        let first = (chunk * CHUNK_PAGES).max(FIRST_PAGE);
        let end = ((chunk + 1) * CHUNK_PAGES).min(END_PAGE);
        let (addr, size) = (first * PAGE_SIZE, (end - first) * PAGE_SIZE);
        let success = Some(KernReturn::Success);
        self.out.op(Op::VmAllocate { task: TASK, addr: Some(addr), size, anywhere: false }, success)?;
        self.out.op(Op::VmProtect { task: TASK, addr, size, prot: Prot::ALL, set_max: false }, success)
    }
}

/// The four kinds of lackey line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fetch,
    Load,
    Store,
    Modify,
}

impl Kind {
    /// For messages: what lackey writes before the address, that spelled
    /// out, and what the line records.
    fn format(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Fetch => ("I  ", "I and two spaces", "a fetch"),
            Kind::Load => (" L ", "a space, L and a space", "a load"),
            Kind::Store => (" S ", "a space, S and a space", "a store"),
            Kind::Modify => (" M ", "a space, M and a space", "a modify"),
        }
    }
}

/// Is `line` one of valgrind's own, `==PID== ...`?
fn is_valgrind_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"==") else { return false };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b"==")
}

/// If `line` is an access written with other spacing than lackey's
/// (`I 0400,3`, `L 0400,8`, `  S\t0400,8`): the 1-based column where it
/// first differs from lackey's format, and the access's kind.
fn respaced_access(line: &[u8]) -> Option<(usize, Kind)> {
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let letter_at = line.iter().position(|b| !is_blank(b))?;
    let kind = match line[letter_at] {
        b'I' => Kind::Fetch,
        b'L' => Kind::Load,
        b'S' => Kind::Store,
        b'M' => Kind::Modify,
        _ => return None,
    };
    let blanks = line[letter_at + 1..].iter().take_while(|b| is_blank(b)).count();
    let address_at = letter_at + 1 + blanks;
    if blanks == 0 || !looks_like_address_and_size(&line[address_at..]) {
        return None;
    }
    let (expected, _, _) = kind.format();
    let written = &line[..address_at];
    let same = expected.bytes().zip(written).take_while(|(e, w)| e == *w).count();
    Some((same + 1, kind))
}

/// `HEX,DECIMAL`, and perhaps a carriage return.
fn looks_like_address_and_size(text: &[u8]) -> bool {
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let Some(comma) = text.iter().position(|&b| b == b',') else { return false };
    let (address, size) = (&text[..comma], &text[comma + 1..]);
    !address.is_empty()
        && address.iter().all(u8::is_ascii_hexdigit)
        && !size.is_empty()
        && size.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{TraceReader, TraceWriter};

    fn import(text: &str) -> Result<(Vec<TraceOp>, ImportSummary), ImportError> {
        let mut writer = TraceWriter::new(Vec::new());
        let summary = LackeyImport.run(text.as_bytes(), "t.lackey", &mut writer, "out")?;
        let bytes = writer.into_inner();
        let ops = TraceReader::new(bytes.as_slice(), "out").map(|r| r.expect("the trace reads back").value).collect();
        Ok((ops, summary))
    }

    fn accesses(ops: &[TraceOp]) -> Vec<(&'static str, u64)> {
        ops.iter()
            .filter_map(|t| match &t.op {
                Op::Access(a) => Some((t.op.name(), a.addr)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lines_become_page_accesses() {
        let log = "==1== Lackey\nI  00401000,3\n L 00402ff8,16\n S 00500000,8\n M 00600010,4\n";
        let (ops, summary) = import(log).unwrap();
        assert_eq!(
            accesses(&ops),
            [
                ("exec_fetch", 0x401000),
                ("read", 0x402000),
                ("read", 0x403000),
                ("write", 0x500000),
                ("read", 0x600000),
                ("write", 0x600000)
            ]
        );
        assert_eq!(summary.lines, 5);
        assert_eq!(summary.events, 4);
        assert_eq!(summary.ignored.total(), 1);
        // Chunks: 0x400000 (two pages of it), 0x500000, 0x600000.
        let allocations = ops.iter().filter(|t| t.op.name() == "vm_allocate").count();
        assert_eq!(allocations, 3);
        // Structural ops expect success; accesses carry no expectation.
        assert!(ops.iter().all(|t| matches!(t.op, Op::Access(_)) == t.expect.is_none()));
    }

    #[test]
    fn runs_on_one_page_keep_the_first_access_and_the_first_write() {
        let log = "I  00401000,3\nI  00401004,3\n L 00401100,8\n S 00401100,8\n S 00401108,8\n L 00401000,8\nI  00402000,2\nI  00401000,2\n";
        let (ops, _) = import(log).unwrap();
        assert_eq!(
            accesses(&ops),
            [("exec_fetch", 0x401000), ("write", 0x401000), ("exec_fetch", 0x402000), ("exec_fetch", 0x401000)]
        );
    }

    #[test]
    fn odd_lines() {
        // No final newline, CRLF, a program's own output, page zero.
        let (ops, summary) = import(" S 00000010,4\r\nhello\r\n L 7fff0000,4").unwrap();
        assert_eq!(accesses(&ops), [("read", 0x7fff0000)]);
        assert_eq!(summary.skipped.total(), 1);
        assert_eq!(summary.notes.total(), 1);
    }

    #[test]
    fn malformed_access_lines_name_line_and_column() {
        let message = |log: &str| import(log).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message("I  0040,3\nI  zz,3\n"), "t.lackey:2:4: expected the address in hexadecimal after \"I  \"");
        assert_eq!(message(" L 0040;3\n"), "t.lackey:1:8: expected ',' and the size after the address");
        assert_eq!(message(" L 0040,\n"), "t.lackey:1:9: expected the size in decimal bytes after ','");
        assert_eq!(message(" L 0040,8x\n"), "t.lackey:1:10: expected the end of the line after the size");
        assert_eq!(
            message(" L 00400000,99999999\n"),
            "t.lackey:1:13: the size is larger than any access lackey records (64 KiB)"
        );
        assert_eq!(
            message(" L 11112222333344445,8\n"),
            "t.lackey:1:20: the address has more than 16 hexadecimal digits (lackey's addresses are 64-bit)"
        );
        assert_eq!(
            message(" M \t0040,8\n"),
            "t.lackey:1:4: unexpected tab: lackey writes \" M \" and the address right after it"
        );
        assert_eq!(
            message(" L 0040,8\n  M 0040,8\n"),
            "t.lackey:2:2: expected \" M \" (a space, M and a space) before the address, as lackey writes a modify"
        );
    }

    #[test]
    fn lines_split_across_buffers_parse_the_same() {
        let log = "I  00401000,3\n L 00402ff8,16\n S 00500000,8\n M 00600010,4\n".repeat(50);
        let whole = import(&log).unwrap().0;
        let reader = std::io::BufReader::with_capacity(7, log.as_bytes());
        let mut writer = TraceWriter::new(Vec::new());
        LackeyImport.run(reader, "t.lackey", &mut writer, "out").unwrap();
        let bytes = writer.into_inner();
        let split: Vec<TraceOp> = TraceReader::new(bytes.as_slice(), "out").map(|r| r.unwrap().value).collect();
        assert_eq!(whole, split);
    }
}

//! Importers of real captures: they turn what a tool recorded about a real
//! program into a cowsim trace.
//!
//! # The seam
//!
//! Every importer is an [`Importer`]: a name (`cowsim import NAME`), the
//! file ending that marks its captures (`.perf.txt`), and `import`, which
//! reads a capture and hands ops and comments to an [`OpSink`]. The
//! [`TraceWriter`] is one sink (a trace file), an [`OpList`] another (ops
//! in memory for a replay). [`IMPORTERS`] lists them all; the command
//! line, `cowsim compare` and `cowsim record` find importers there and
//! nowhere else, so adding an importer is one new file and one line in the
//! registry.
//!
//! Two sources are read today:
//!
//! - [`perf`]: the text `perf script --show-mmap-events --show-task-events`
//!   prints for a capture of page-fault, scheduler and memory-syscall
//!   tracepoints. It gives processes (fork, exec, exit), their mappings and
//!   every page fault with the hardware's reason, so the trace can be
//!   replayed under every policy and compared with the real kernel.
//! - [`lackey`]: Valgrind lackey's `--trace-mem=yes` log: every load, store
//!   and instruction fetch of one process, with no mappings at all.
//!
//! Both read their input as a stream (plain or gzip, a file or stdin, via
//! [`crate::trace::open_input`]) and hand ops to their sink as they go, so
//! memory stays
//! bounded whatever the capture's length: what they keep is a picture of
//! each live process's address space ([`regions`]), never the events.
//!
//! The rule both follow: **emit only ops whose effect is certain**. A
//! capture says what happened, not always all of it; where it is silent
//! (memory mapped before the capture started, a syscall whose result was not
//! recorded) the importer makes the smallest assumption that lets the replay
//! go on, and counts it. Every structural op carries `"expect"` with the
//! code the importer's own picture predicts, so a replay stops loudly if the
//! importer and the simulator ever disagree about the address space.
//!
//! # Is it the tool's output at all?
//!
//! Both importers apply one rule before anything else, so that a wrong file
//! (a binary, `/etc/passwd`, a closed stdin) is refused rather than
//! imported as an empty or shorter trace:
//!
//! - Blank lines, and the tool's own commentary (perf's `#` header lines,
//!   valgrind's `==PID==` banner and summary), may come first, in any
//!   number: they are the tool's, but they carry no event.
//! - The first other line must be one the importer **recognises**: a line
//!   with perf's header (`COMMAND TID [CPU] SECONDS:`), or a lackey access.
//!   **No unrecognised line is tolerated before it.** A real capture has
//!   none: `perf script` prints nothing else, and valgrind prints its banner
//!   before the program starts, then lackey logs the program's first
//!   instruction before the program can print anything. So a foreign first
//!   line means another kind of file, and stopping there (naming
//!   `file:line:column`) costs one line instead of reading a large wrong
//!   file to its end.
//! - An input that ends before any recognised line (empty, only blank
//!   lines, only a banner) is an error naming the file
//!   ([`ImportError::NotACapture`]), quoting its first line.
//!
//! After the first recognised line, each importer keeps its own rule for
//! lines it does not know: perf stops at a line with no header (it is not
//! `perf script` output, or not the output this importer was built for);
//! lackey skips and counts lines that are not accesses, since the program's
//! own output goes to the same terminal as lackey's unless valgrind was
//! given `--log-file`.
//!
//! # What else is refused, and what is counted
//!
//! Lines an importer does not understand are never silently dropped: they
//! are tallied by kind into an [`ImportSummary`], which the command line
//! prints to stderr at the end (`skipped 12 lines: 10 sched:sched_switch,
//! 2 ...`). Lines of a kind it does understand but cannot parse are errors
//! naming `file:line:column`: a capture that is damaged should stop the
//! import, not quietly become a shorter trace.
//!
//! A line longer than [`MAX_LINE_BYTES`](crate::trace::MAX_LINE_BYTES)
//! fails as soon as that many bytes have been read without a newline, so
//! an input with no newline at all (`/dev/zero`) fails at once.
//!
//! Nothing the input holds is ever echoed at length: an error or a summary
//! quotes at most [`EXCERPT_CHARS`] characters of input text
//! ([`quote_excerpt`], [`excerpt`]), a [`Tally`] keeps at most
//! [`MAX_TALLY_KINDS`] kinds and names the [`SHOWN_KINDS`] largest, and the
//! summary written into the trace is one short comment line per report
//! line. Every line an importer writes stays far below the trace reader's
//! line limit, so `cowsim run` always reads what `cowsim import` wrote.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead};

use crate::suggest::did_you_mean;
use crate::trace::TraceError;
#[cfg(doc)]
use crate::trace::TraceWriter;

pub mod lackey;
pub mod perf;
pub mod regions;
mod sink;

pub use sink::{OpList, OpSink};

/// A reader of one kind of capture. See the module documentation.
pub trait Importer: Sync {
    /// The name on the command line: `cowsim import NAME`.
    fn name(&self) -> &'static str;
    /// How its captures' file names end (before an optional `.gz`), so
    /// that `cowsim compare NAME.perf.txt` knows what it was given.
    fn file_ending(&self) -> &'static str;
    /// What it reads, in a few words, for help texts.
    fn summary(&self) -> &'static str;
    /// Reads a capture from `input` (named `input_name` in errors) and
    /// hands the trace to `sink` (named `sink_name` in errors).
    fn import(
        &self,
        input: &mut dyn BufRead,
        input_name: &str,
        sink: &mut dyn OpSink,
        sink_name: &str,
        settings: &ImportSettings,
    ) -> Result<ImportSummary, ImportError>;
}

impl fmt::Debug for dyn Importer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Importer({})", self.name())
    }
}

/// Settings an importer may use; each ignores those that are not its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportSettings {
    /// perf: how many events to hold back to repair their order (1 to
    /// [`perf::MAX_WINDOW`]).
    pub window: usize,
    /// perf: the largest share of a capture's events perf may have lost
    /// (dropped because its buffer was full) before the import refuses it,
    /// in parts per million of the events it recorded or lost.
    pub max_lost_ppm: u32,
}

impl Default for ImportSettings {
    fn default() -> Self {
        ImportSettings { window: perf::DEFAULT_WINDOW, max_lost_ppm: perf::DEFAULT_MAX_LOST_PPM }
    }
}

/// Every importer, in the order help texts list them.
pub static IMPORTERS: [&dyn Importer; 2] = [
    &perf::PerfImport { window: perf::DEFAULT_WINDOW, max_lost_ppm: perf::DEFAULT_MAX_LOST_PPM },
    &lackey::LackeyImport,
];

/// The importer called `name`, or an error with the known names and the
/// closest one.
pub fn find(name: &str) -> Result<&'static dyn Importer, ImportError> {
    IMPORTERS.iter().copied().find(|i| i.name() == name).ok_or_else(|| {
        let known: Vec<&str> = IMPORTERS.iter().map(|i| i.name()).collect();
        let hint = did_you_mean(name, known.iter().copied()).map_or(String::new(), |h| format!("{h} "));
        ImportError::UnknownFormat { name: quote_excerpt(name), hint, known: known.join(", ") }
    })
}

/// The importer whose captures are named like `file_name`
/// (`NAME.perf.txt`, `NAME.lackey.txt.gz`), if any.
pub fn for_file(file_name: &str) -> Option<&'static dyn Importer> {
    let name = file_name.strip_suffix(".gz").unwrap_or(file_name);
    IMPORTERS.iter().copied().find(|i| name.len() > i.file_ending().len() && name.ends_with(i.file_ending()))
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The capture could not be read, or a line of a known kind is
    /// malformed (`file:line:column: what was expected`).
    #[error(transparent)]
    Input(#[from] TraceError),
    /// The input ended before any line the importer recognises as its
    /// tool's output (see the module documentation): `{file} is not a
    /// lackey log: it is empty`.
    #[error("{file} is not {format}: {reason}")]
    NotACapture {
        /// The input's name.
        file: String,
        /// What the importer reads, with its article: `a lackey log`.
        format: &'static str,
        /// What the input holds instead.
        reason: String,
    },
    /// A perf import was asked for a reordering window of no events, or of
    /// more than [`perf::MAX_WINDOW`].
    #[error("the reordering window must hold 1 to {max} events, not {window}", max = perf::MAX_WINDOW)]
    InvalidWindow { window: usize },
    /// perf lost more of the capture's events than the import allows: the
    /// trace would have gaps large enough to mislead.
    #[error(
        "{file}: perf lost {lost} of the capture's {total} events ({share}), more than the {limit} allowed: \
         the trace would have gaps. Record again with a larger buffer (`perf record -m 4M`, or \
         `cowsim record --mmap-pages 1024`), or accept the gaps with `--max-lost 100`",
        share = parts_per_million_text(lost * 1_000_000 / total.max(&1)),
        limit = parts_per_million_text(u64::from(*max_lost_ppm))
    )]
    TooManyLost { file: String, lost: u64, total: u64, max_lost_ppm: u32 },
    /// Writing the trace failed.
    #[error("writing {file}: {source}")]
    Output { file: String, source: io::Error },
    /// No importer has this name.
    #[error("no importer reads {name}; {hint}(known: {known})")]
    UnknownFormat { name: String, hint: String, known: String },
}

impl ImportError {
    /// A parse error at a 1-based line and character column.
    pub(crate) fn parse(file: &str, line: usize, column: usize, message: impl Into<String>) -> ImportError {
        ImportError::Input(TraceError::Parse { file: file.to_owned(), line, column, message: message.into() })
    }
}

// ---------------------------------------------------------------------------
// Quoting input text
// ---------------------------------------------------------------------------

/// The most characters of input text an error or a summary quotes. Enough
/// to recognise a token or a line; a line can be a megabyte long, and a
/// message that repeats it helps no one.
pub const EXCERPT_CHARS: usize = 64;

/// `text` as an error message quotes it: in double quotes, with quotes,
/// backslashes and control characters escaped as Rust writes them, cut
/// after [`EXCERPT_CHARS`] characters with `…` before the closing quote.
///
/// `quote_excerpt("ab\tc")` is `"ab\tc"`; a 500 KB token gives its first 64
/// characters and `…"`.
pub fn quote_excerpt(text: &str) -> String {
    let (head, cut) = first_chars(text, EXCERPT_CHARS);
    let mut quoted = format!("{head:?}");
    if cut {
        quoted.insert(quoted.len() - 1, '…');
    }
    quoted
}

/// `text` cut to its first `max_chars` characters, with `…` after them if
/// anything was cut, and control characters escaped (`\t`, `\u{1b}`) so
/// that it prints as one harmless line. Borrowed when nothing changes.
///
/// For names printed bare, such as the kinds in a summary
/// (`2 sched:sched_switch`); errors quote with [`quote_excerpt`].
pub fn excerpt(text: &str, max_chars: usize) -> Cow<'_, str> {
    let (head, cut) = first_chars(text, max_chars);
    if !cut && !head.contains(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(head.len() + '…'.len_utf8());
    for c in head.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if cut {
        shown.push('…');
    }
    Cow::Owned(shown)
}

/// [`quote_excerpt`] of a line read as bytes (without its newline; a
/// final `\r` is dropped), invalid UTF-8 shown as `\u{fffd}`.
pub(crate) fn quote_line_excerpt(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // A character takes at most 4 bytes: these are enough for the excerpt
    // and its ellipsis, and a megabyte line is not converted whole.
    let head = &line[..line.len().min(4 * (EXCERPT_CHARS + 1))];
    quote_excerpt(&String::from_utf8_lossy(head))
}

/// The first `max_chars` characters of `text`, and whether anything was
/// left out.
fn first_chars(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

// ---------------------------------------------------------------------------
// Recognising the tool's output
// ---------------------------------------------------------------------------

/// Applies the rule of the module documentation ("Is it the tool's output
/// at all?") to one input. The importer sets [`recognised`] at its first
/// recognised line, shows [`remember`] the blank and commentary lines it
/// reads before that, and asks [`check_at_end`] once the input is over.
///
/// [`recognised`]: Recognition::recognised
/// [`remember`]: Recognition::remember
/// [`check_at_end`]: Recognition::check_at_end
pub(crate) struct Recognition {
    /// What the importer reads, with its article (`a lackey log`).
    format: &'static str,
    /// Whose output it recognises (`lackey's output`).
    output: &'static str,
    /// A line was recognised as the tool's output.
    pub recognised: bool,
    /// The first line that was not blank, quoted, while none is recognised.
    first_line: Option<String>,
    /// Added to the end-of-input error, when the importer knows more.
    pub hint: Option<&'static str>,
}

impl Recognition {
    pub fn new(format: &'static str, output: &'static str) -> Recognition {
        Recognition { format, output, recognised: false, first_line: None, hint: None }
    }

    /// Keeps `line` (without its newline) if it is the first line that is
    /// not blank; cheap once one is kept.
    pub fn remember(&mut self, line: &[u8]) {
        if self.first_line.is_some() || line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.first_line = Some(quote_line_excerpt(line));
    }

    /// At the end of input `file` (of `lines` lines): an error unless a
    /// line was recognised.
    pub fn check_at_end(&self, file: &str, lines: u64) -> Result<(), ImportError> {
        if self.recognised {
            return Ok(());
        }
        let mut reason = match &self.first_line {
            None if lines == 0 => "it is empty".to_owned(),
            None => "it has only blank lines".to_owned(),
            Some(first) => format!("no line looks like {} (first line: {first})", self.output),
        };
        if let Some(hint) = self.hint {
            reason = format!("{reason}; {hint}");
        }
        Err(ImportError::NotACapture { file: file.to_owned(), format: self.format, reason })
    }
}

// ---------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------

/// How many distinct kinds a [`Tally`] keeps. Counts of later kinds go to
/// one "other kinds" count: a damaged or hostile capture can name a new
/// kind on every line, and neither memory nor the summary may grow with it.
pub const MAX_TALLY_KINDS: usize = 1000;

/// How many kinds a tally's summary line names, largest first; the rest are
/// summed up as `and K more kinds (M lines)`.
pub const SHOWN_KINDS: usize = 10;

/// A kind's description is cut to this many characters: longer than any
/// description the importers write, and a bound on a tally's memory
/// whatever a caller passes.
const MAX_KIND_CHARS: usize = 2 * EXCERPT_CHARS;

/// Counts of things by a short description (a kind), at most
/// [`MAX_TALLY_KINDS`] kinds; descriptions longer than 128 characters are
/// cut, and control characters escaped (see [`excerpt`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    counts: BTreeMap<String, u64>,
    /// Counted after `counts` held [`MAX_TALLY_KINDS`] kinds, of kinds it
    /// does not hold.
    other_kinds: u64,
}

impl Tally {
    /// Counts one more of `what`.
    pub fn add(&mut self, what: &str) {
        self.add_many(what, 1);
    }

    /// Counts `n` more of `what`.
    pub fn add_many(&mut self, what: &str, n: u64) {
        if n == 0 {
            return;
        }
        let what = excerpt(what, MAX_KIND_CHARS);
        if let Some(count) = self.counts.get_mut(what.as_ref()) {
            *count += n;
        } else if self.counts.len() < MAX_TALLY_KINDS {
            self.counts.insert(what.into_owned(), n);
        } else {
            self.other_kinds += n;
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Tally) {
        for (what, count) in &other.counts {
            self.add_many(what, *count);
        }
        self.other_kinds += other.other_kinds;
    }

    /// The count of `what` (0 if never counted, or counted among the other
    /// kinds).
    pub fn get(&self, what: &str) -> u64 {
        self.counts.get(excerpt(what, MAX_KIND_CHARS).as_ref()).copied().unwrap_or(0)
    }

    /// What was counted of kinds that came after the tally was full.
    pub fn other_kinds(&self) -> u64 {
        self.other_kinds
    }

    /// The sum of all counts, other kinds included.
    pub fn total(&self) -> u64 {
        self.counts.values().sum::<u64>() + self.other_kinds
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.other_kinds == 0
    }

    /// `(what, count)` pairs of the kinds kept, largest count first, then
    /// by name.
    pub fn entries(&self) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all
    }
}

impl fmt::Display for Tally {
    /// `10 sched:sched_switch, 2 unparsable`: the [`SHOWN_KINDS`] largest
    /// counts, then `and K more kinds (M lines)` for the rest (`at least K`
    /// when some were counted as other kinds). Worded for counts of lines,
    /// which is what the summaries print this way.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries();
        let (shown, rest) = entries.split_at(entries.len().min(SHOWN_KINDS));
        for (i, (what, count)) in shown.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{count} {what}")?;
        }
        let rest_count = rest.iter().map(|(_, count)| count).sum::<u64>() + self.other_kinds;
        if rest_count == 0 {
            return Ok(());
        }
        if !shown.is_empty() {
            f.write_str(", and ")?;
        }
        let kinds = match (rest.len(), self.other_kinds > 0) {
            (kept, true) => format!("at least {} more kinds", kept + 1),
            (1, false) => "1 more kind".to_owned(),
            (kept, false) => format!("{kept} more kinds"),
        };
        write!(f, "{kinds} ({})", count_lines(rest_count))
    }
}

/// What an import did, for the user (stderr) and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Input lines read.
    pub lines: u64,
    /// Events (or accesses, for lackey) that were turned into ops.
    pub events: u64,
    /// Ops written.
    pub ops: u64,
    /// Accesses written with an `expect` other than `KERN_SUCCESS`: the
    /// capture shows a fault the program could not have survived as the
    /// importer understands its memory (a real segfault, or memory the
    /// capture never showed being mapped).
    pub expected_failures: u64,
    /// Lines of kinds the importer does not know, by kind. Skipped.
    pub skipped: Tally,
    /// Lines of known kinds that carry nothing the trace needs (a duplicate
    /// of another record, a name change), by kind.
    pub ignored: Tally,
    /// Assumptions and oddities the user should know about, by kind.
    pub notes: Tally,
    /// Events the recording tool dropped (perf's `PERF_RECORD_LOST`), and
    /// the events it recorded or dropped in all: the trace has gaps where
    /// the dropped ones were.
    pub lost: u64,
    pub recorded_or_lost: u64,
}

impl ImportSummary {
    /// The summary as a report carries it (`sim::report::ImportNotes`).
    pub fn report_notes(&self) -> sim::report::ImportNotes {
        let mut notes: std::collections::BTreeMap<String, u64> =
            self.notes.entries().into_iter().map(|(what, count)| (what.to_owned(), count)).collect();
        if self.notes.other_kinds() > 0 {
            notes.insert("other kinds".to_owned(), self.notes.other_kinds());
        }
        sim::report::ImportNotes {
            lines: self.lines,
            lost_events: self.lost,
            recorded_or_lost_events: self.recorded_or_lost,
            skipped_lines: self.skipped.total(),
            notes,
        }
    }

    /// The lines printed to stderr at the end of an import: one with the
    /// totals, one for skipped lines, one for ignored lines and one per
    /// note, each only when it has something to say. Every line is short:
    /// tallies name at most [`SHOWN_KINDS`] kinds, and notes are the
    /// importers' own descriptions (a couple of dozen kinds at most, each
    /// worth reading, so all are listed).
    pub fn report_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("read {}, wrote {} ops", count_lines(self.lines), self.ops)];
        if self.lost > 0 {
            let share = parts_per_million_text(self.lost * 1_000_000 / self.recorded_or_lost.max(1));
            lines.push(format!(
                "perf lost {} of {} events ({share}): the trace has gaps where they were",
                self.lost, self.recorded_or_lost
            ));
        }
        if !self.skipped.is_empty() {
            lines.push(format!("skipped {}: {}", count_lines(self.skipped.total()), self.skipped));
        }
        if !self.ignored.is_empty() {
            lines.push(format!("ignored {} that add nothing: {}", count_lines(self.ignored.total()), self.ignored));
        }
        for (what, count) in self.notes.entries() {
            lines.push(format!("note: {count} {what}"));
        }
        if self.notes.other_kinds() > 0 {
            lines.push(format!("note: {} more of other kinds", self.notes.other_kinds()));
        }
        lines
    }
}

/// Writes `summary` at the end of a trace: one comment line per report
/// line, `# import summary: skipped 3 lines: ...`, each of them short.
pub(crate) fn write_summary<S: OpSink + ?Sized>(writer: &mut S, summary: &ImportSummary) -> io::Result<()> {
    let lines: Vec<String> = summary.report_lines().iter().map(|line| format!("import summary: {line}")).collect();
    writer.comment(&lines.join("\n"))
}

/// A share in parts per million as a percentage: `1.5%`, `0.0012%`, `100%`.
pub fn parts_per_million_text(ppm: u64) -> String {
    let whole = ppm / 10_000;
    let fraction = format!("{:04}", ppm % 10_000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { format!("{whole}%") } else { format!("{whole}.{fraction}%") }
}

/// A percentage from 0 to 100 with at most four decimals (`1`, `0.5`,
/// `12.25`), in parts per million; an error in words otherwise.
pub fn percent_to_parts_per_million(text: &str) -> Result<u32, String> {
    let refuse =
        || format!("expected a percentage from 0 to 100 with at most four decimals, such as 0.5, not {text:?}");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 3 || !digits(whole) || fraction.len() > 4 || !digits(fraction) {
        return Err(refuse());
    }
    if text.ends_with('.') {
        return Err(refuse());
    }
    let whole: u32 = whole.parse().map_err(|_| refuse())?;
    let fraction: u32 = format!("{fraction:0<4}").parse().map_err(|_| refuse())?;
    let ppm = whole * 10_000 + fraction;
    if ppm > 1_000_000 { Err(refuse()) } else { Ok(ppm) }
}

/// `1 line`, `2 lines`.
fn count_lines(n: u64) -> String {
    if n == 1 { "1 line".to_owned() } else { format!("{n} lines") }
}

/// The file name without its folders, for trace comments that must not
/// depend on where the capture was kept; cut to 255 characters (Linux's
/// longest file name) so that the comment stays one short line.
pub(crate) fn base_name(name: &str) -> Cow<'_, str> {
    excerpt(name.rsplit('/').next().unwrap_or(name), 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(percent_to_parts_per_million("1"), Ok(10_000));
        assert_eq!(percent_to_parts_per_million("0.5"), Ok(5_000));
        assert_eq!(percent_to_parts_per_million("100"), Ok(1_000_000));
        assert_eq!(percent_to_parts_per_million("0.0001"), Ok(1));
        assert_eq!(percent_to_parts_per_million("0"), Ok(0));
        for bad in ["", "-1", "100.0001", "101", "1e3", "0.00001", ".5", "5.", "1,5", "abc", "99999999999"] {
            assert!(percent_to_parts_per_million(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parts_per_million_text(10_000), "1%");
        assert_eq!(parts_per_million_text(225_000), "22.5%");
        assert_eq!(parts_per_million_text(12), "0.0012%");
        assert_eq!(parts_per_million_text(1_000_000), "100%");
    }

    #[test]
    fn tallies_print_largest_first() {
        let mut t = Tally::default();
        t.add("unparsable");
        t.add_many("sched:sched_switch", 10);
        t.add("unparsable");
        t.add_many("nothing", 0);
        assert_eq!(t.to_string(), "10 sched:sched_switch, 2 unparsable");
        assert_eq!(t.total(), 12);
        assert_eq!(t.get("nothing"), 0);
    }

    #[test]
    fn summary_lines() {
        let mut s = ImportSummary { lines: 40, ops: 30, ..ImportSummary::default() };
        assert_eq!(s.report_lines(), ["read 40 lines, wrote 30 ops"]);
        s.skipped.add("sched:sched_switch");
        s.notes.add_many("faults on memory never seen mapped", 3);
        assert_eq!(
            s.report_lines(),
            [
                "read 40 lines, wrote 30 ops",
                "skipped 1 line: 1 sched:sched_switch",
                "note: 3 faults on memory never seen mapped"
            ]
        );
    }

    #[test]
    fn tallies_keep_a_bounded_number_of_kinds_and_show_the_largest() {
        let mut t = Tally::default();
        for i in 0..MAX_TALLY_KINDS + 5 {
            t.add_many(&format!("kind {i:04}"), 1 + (i == 7) as u64);
        }
        assert_eq!(t.entries().len(), MAX_TALLY_KINDS);
        assert_eq!((t.other_kinds(), t.total()), (5, MAX_TALLY_KINDS as u64 + 6));
        // A kind already kept is still counted in place.
        t.add("kind 0001");
        assert_eq!((t.get("kind 0001"), t.other_kinds()), (2, 5));
        let shown = t.to_string();
        assert!(shown.starts_with("2 kind 0001, 2 kind 0007, 1 kind 0000, 1 kind 0002, "), "{shown}");
        assert!(shown.ends_with(", 1 kind 0009, and at least 991 more kinds (995 lines)"), "{shown}");

        let mut few = Tally::default();
        for what in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"] {
            few.add(what);
        }
        few.add("k");
        assert_eq!(few.to_string(), "2 k, 1 a, 1 b, 1 c, 1 d, 1 e, 1 f, 1 g, 1 h, 1 i, and 1 more kind (1 line)");
        let mut merged = Tally::default();
        merged.merge(&t);
        assert_eq!(merged, t);
    }

    #[test]
    fn long_or_odd_kinds_are_cut_and_escaped() {
        let mut t = Tally::default();
        t.add(&"k".repeat(100_000));
        t.add("bell\u{7}");
        let kinds: Vec<&str> = t.entries().into_iter().map(|(what, _)| what).collect();
        assert_eq!(kinds[0], "bell\\u{7}");
        assert_eq!(kinds[1], format!("{}…", "k".repeat(MAX_KIND_CHARS)));
        assert_eq!(t.get(&"k".repeat(100_000)), 1);
        assert_eq!(t.get("bell\u{7}"), 1);
    }

    #[test]
    fn excerpts() {
        assert_eq!(quote_excerpt("ab\tc\"d"), r#""ab\tc\"d""#);
        let long = "é".repeat(1000);
        let quoted = quote_excerpt(&long);
        assert_eq!(quoted, format!("\"{}…\"", "é".repeat(EXCERPT_CHARS)));
        assert_eq!(quote_excerpt(&"x".repeat(EXCERPT_CHARS)), format!("\"{}\"", "x".repeat(EXCERPT_CHARS)));
        assert!(matches!(excerpt("sched:sched_switch", EXCERPT_CHARS), Cow::Borrowed(_)));
        assert_eq!(excerpt("a\x1b[31mred", EXCERPT_CHARS), "a\\u{1b}[31mred");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }

    #[test]
    fn an_input_with_no_recognised_line_is_refused() {
        let check = |lines: &[&[u8]]| {
            let mut r = Recognition::new("a test log", "the test tool's output");
            lines.iter().for_each(|line| r.remember(line));
            r.check_at_end("t", lines.len() as u64).err().map(|e| e.to_string())
        };
        assert_eq!(check(&[]).as_deref(), Some("t is not a test log: it is empty"));
        assert_eq!(check(&[b"", b"  \r"]).as_deref(), Some("t is not a test log: it has only blank lines"));
        assert_eq!(
            check(&[b"", b"# first\r", b"# second"]).as_deref(),
            Some("t is not a test log: no line looks like the test tool's output (first line: \"# first\")")
        );
        let long = vec![b'\xff'; 100_000];
        let error = check(&[&long]).unwrap_or_default();
        assert!(error.ends_with(&format!("(first line: \"{}…\")", "\u{fffd}".repeat(EXCERPT_CHARS))), "{error}");
        let mut recognised = Recognition::new("a test log", "output");
        recognised.recognised = true;
        assert!(recognised.check_at_end("t", 0).is_ok());
    }
}

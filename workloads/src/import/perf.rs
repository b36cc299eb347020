//! `cowsim import perf`: a perf capture, as `perf script` prints it, into a
//! cowsim trace.
//!
//! The capture is recorded with `perf record` of the x86
//! `exceptions:page_fault_user` and `page_fault_kernel` tracepoints (every
//! page fault with the hardware's error code), `sched:` process events and
//! the syscalls that change mappings, then printed with
//! `perf script --show-mmap-events --show-task-events`, which adds the
//! side-band records: `PERF_RECORD_MMAP2` (every mapping, with its
//! protection, sharing and file), `PERF_RECORD_FORK`, `EXIT` and `COMM`.
//!
//! The import runs in three stages, each in its own module:
//!
//! 1. `parse` reads a line into an event (or tallies it as
//!    ignored or skipped, or fails naming `file:line:column`);
//! 2. a **reordering window** (this file) puts events back in time order;
//! 3. `translate` follows processes, threads, mappings and
//!    syscalls, and writes the ops (its module documentation has the table
//!    of which event becomes which op, and every assumption).
//!
//! # Order
//!
//! perf records each CPU into its own buffer, and `perf script` merges the
//! buffers by time stamp, so its output is in time order except where an
//! event reached perf too late for the merge (perf then warns about "out of
//! order events"). The importer holds the last [`DEFAULT_WINDOW`] events
//! (or the [`PerfImport::window`] asked for, at most [`MAX_WINDOW`]) in a
//! heap and releases the oldest: events up to that many lines out of place
//! are put back in order; ties keep input order, so well-ordered input
//! passes through unchanged. An event older than one already released
//! cannot be put back; it is applied where it stands and counted in the
//! summary. Memory is the events actually held (the heap grows as they
//! come, never to the window's size up front), the processes' maps and
//! nothing else.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{BufRead, Read};

use crate::import::{
    ImportError, ImportSettings, ImportSummary, Importer, OpSink, Recognition, Tally, base_name, write_summary,
};
use crate::trace::{MAX_LINE_BYTES, TraceError};

mod exits;
mod parse;
mod translate;

use parse::{Parsed, Sample};
use translate::Translator;

/// How many events the reordering window holds unless told otherwise.
pub const DEFAULT_WINDOW: usize = 4096;

/// The largest reordering window: 2^20 events.
///
/// Why that many: `perf script` merges the per-CPU buffers one flush round
/// at a time, so an event arrives at most about one round late, and a
/// round is at most every CPU's ring buffer (perf's default is 516 KiB a
/// CPU, some 16 000 of the smallest records). 2^20 events cover a full round
/// of 64 CPUs. Why no more: each held event takes 120 bytes (a mapping's
/// path more), so a full window is already 120 MiB; a window of 10^12
/// events would ask for 120 TB, and the import must refuse rather than try.
pub const MAX_WINDOW: usize = 1 << 20;

/// The share of a capture's events perf may lose before the import refuses
/// it, unless told otherwise: 1 % (10,000 parts per million). A loss that
/// small moves the fault agreement of the captures we tried by well under
/// a point; one of 20 % halves it.
pub const DEFAULT_MAX_LOST_PPM: u32 = 10_000;

/// Settings of a perf import.
#[derive(Clone, Debug)]
pub struct PerfImport {
    /// Events held back to repair the order: 1 to [`MAX_WINDOW`]. Anything
    /// else makes [`PerfImport::run`] fail with
    /// [`ImportError::InvalidWindow`] before reading a line.
    pub window: usize,
    /// The largest share of events perf may have lost, in parts per
    /// million; above it [`PerfImport::run`] fails with
    /// [`ImportError::TooManyLost`] once the whole capture is read.
    pub max_lost_ppm: u32,
}

impl Default for PerfImport {
    fn default() -> Self {
        PerfImport { window: DEFAULT_WINDOW, max_lost_ppm: DEFAULT_MAX_LOST_PPM }
    }
}

impl Importer for PerfImport {
    fn name(&self) -> &'static str {
        "perf"
    }

    fn file_ending(&self) -> &'static str {
        ".perf.txt"
    }

    fn summary(&self) -> &'static str {
        "`perf script --show-mmap-events --show-task-events` text of a capture of page faults, process events and memory syscalls"
    }

    fn import(
        &self,
        input: &mut dyn BufRead,
        input_name: &str,
        sink: &mut dyn OpSink,
        sink_name: &str,
        settings: &ImportSettings,
    ) -> Result<ImportSummary, ImportError> {
        PerfImport { window: settings.window, max_lost_ppm: settings.max_lost_ppm }
            .run(input, input_name, sink, sink_name)
    }
}

impl PerfImport {
    /// An import with a reordering window of `window` events; an
    /// [`ImportError::InvalidWindow`] unless it is 1 to [`MAX_WINDOW`].
    pub fn with_window(window: usize) -> Result<PerfImport, ImportError> {
        if (1..=MAX_WINDOW).contains(&window) {
            Ok(PerfImport { window, ..PerfImport::default() })
        } else {
            Err(ImportError::InvalidWindow { window })
        }
    }

    /// Reads `perf script` text from `input` (named `input_name` in errors
    /// and in the trace's opening comments) and writes the trace to
    /// `writer` (named `output_name` in errors).
    pub fn run<R: BufRead, S: OpSink + ?Sized>(
        &self,
        mut input: R,
        input_name: &str,
        writer: &mut S,
        output_name: &str,
    ) -> Result<ImportSummary, ImportError> {
        let window = PerfImport::with_window(self.window)?.window;
        let output_error = |source| ImportError::Output { file: output_name.to_owned(), source };
        write_header(writer, input_name).map_err(output_error)?;
        let mut lines = 0u64;
        let mut skipped = Tally::default();
        let mut ignored = Tally::default();
        let mut recognition = Recognition::new("a perf script capture", "perf script's output");
        // Events perf printed, and events it says it dropped.
        let (mut samples, mut lost) = (0u64, 0u64);
        let mut window = Window::new(window);
        let mut translator = Translator::new(writer);
        let mut buffer = Vec::with_capacity(256);
        while read_line(&mut input, &mut buffer, input_name, lines + 1)? {
            lines += 1;
            let line = strip_newline(&buffer);
            let text = String::from_utf8_lossy(line);
            if let Some(directive) = exits::parse(&text) {
                let directive = directive.map_err(|p| p.at(input_name, lines as usize))?;
                translator.directive(directive);
                continue;
            }
            let parsed = parse::parse_line(&text).map_err(|p| p.at(input_name, lines as usize))?;
            match parsed {
                Parsed::Nothing => recognition.remember(line),
                Parsed::Continuation if !recognition.recognised => {
                    let message = "expected a perf script line, found an indented line before any event \
                                   (perf indents only the callchain lines that follow an event)";
                    return Err(ImportError::parse(input_name, lines as usize, 1, message));
                }
                Parsed::Continuation => skipped.add("indented continuation lines (callchains)"),
                Parsed::Ignored(what) => {
                    recognition.recognised = true;
                    ignored.add(what);
                }
                Parsed::Skipped(what) => {
                    recognition.recognised = true;
                    skipped.add(&what);
                }
                Parsed::Lost(count) => {
                    recognition.recognised = true;
                    lost = lost.saturating_add(count);
                }
                Parsed::Sample(sample) => {
                    recognition.recognised = true;
                    samples += 1;
                    if let Some(ready) = window.push(sample) {
                        translator.handle(ready.tid, ready.event).map_err(output_error)?;
                    }
                }
            }
        }
        recognition.check_at_end(input_name, lines)?;
        while let Some(ready) = window.pop() {
            translator.handle(ready.tid, ready.event).map_err(output_error)?;
        }
        translator.release_held_forks().map_err(output_error)?;
        let late = window.late;
        let mut summary = translator.finish();
        summary.lines = lines;
        summary.skipped = skipped;
        summary.ignored.merge(&ignored);
        summary.notes.add_many("events later than the reordering window could repair (applied in input order)", late);
        summary.lost = lost;
        summary.recorded_or_lost = samples.saturating_add(lost);
        self.check_lost(input_name, &summary)?;
        write_summary(writer, &summary).map_err(output_error)?;
        writer.flush().map_err(output_error)?;
        Ok(summary)
    }
}

impl PerfImport {
    /// Fails if perf lost more than [`PerfImport::max_lost_ppm`] of the
    /// events. The total is known only at the end, so a capture is read in
    /// full before it can be refused (an output file is then not kept).
    fn check_lost(&self, input_name: &str, summary: &ImportSummary) -> Result<(), ImportError> {
        let (lost, total) = (summary.lost, summary.recorded_or_lost);
        // lost / total > max / 10^6, without division (u128: no overflow).
        if u128::from(lost) * 1_000_000 > u128::from(self.max_lost_ppm) * u128::from(total) {
            return Err(ImportError::TooManyLost {
                file: input_name.to_owned(),
                lost,
                total,
                max_lost_ppm: self.max_lost_ppm,
            });
        }
        Ok(())
    }
}

/// Reads the next line of `input` into `buffer` (emptied first), newline
/// included; false at the end of input. A line longer than
/// [`MAX_LINE_BYTES`] is an error as soon as that many bytes have come
/// without a newline (`line` is its 1-based number, for the message): the
/// rest is never read, so an input with no newline at all fails at once.
fn read_line<R: BufRead>(
    input: &mut R,
    buffer: &mut Vec<u8>,
    input_name: &str,
    line: u64,
) -> Result<bool, ImportError> {
    buffer.clear();
    let read = input.by_ref().take(MAX_LINE_BYTES as u64).read_until(b'\n', buffer);
    let read = read.map_err(|source| TraceError::Io { file: input_name.to_owned(), source })?;
    if read == MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
        let message = format!("line is longer than {MAX_LINE_BYTES} bytes");
        return Err(ImportError::parse(input_name, line as usize, 1, message));
    }
    Ok(read > 0)
}

/// The trace's opening comments: where it came from.
fn write_header<S: OpSink + ?Sized>(writer: &mut S, input_name: &str) -> std::io::Result<()> {
    writer.comment(&format!(
        "imported by `cowsim import perf` (cowsim {}) from {}\n\
         source: `perf script --show-mmap-events --show-task-events` text of a capture of page faults,\n\
         process events and memory syscalls; tasks are Linux process ids; each access is one 4 KiB page\n\
         that faulted on the real kernel, with the fault's class in \"recorded\"",
        env!("CARGO_PKG_VERSION"),
        base_name(input_name)
    ))
}

fn strip_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// An event waiting in the window, ordered by time, then input order.
struct Held {
    time: u64,
    sequence: u64,
    sample: Sample,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.sequence) == (other.time, other.sequence)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.sequence).cmp(&(other.time, other.sequence))
    }
}

/// The reordering window: a min-heap of at most `capacity` events. It
/// grows as events come (a window of 2^20 over a capture of a hundred
/// events holds a hundred), never to `capacity` up front.
struct Window {
    heap: BinaryHeap<Reverse<Held>>,
    capacity: usize,
    sequence: u64,
    /// The time of the last event released.
    released: u64,
    /// Events that came in older than an event already released.
    late: u64,
}

impl Window {
    /// A window of `capacity` events (at least 1).
    fn new(capacity: usize) -> Self {
        debug_assert!(capacity >= 1, "a reordering window holds at least one event");
        Window { heap: BinaryHeap::new(), capacity, sequence: 0, released: 0, late: 0 }
    }

    /// Adds an event; returns the oldest one when the window is full.
    fn push(&mut self, sample: Sample) -> Option<Sample> {
        if sample.time < self.released {
            // Too late to put back in order: apply it now, where it stands.
            self.late += 1;
            return Some(sample);
        }
        self.sequence += 1;
        let held = Held { time: sample.time, sequence: self.sequence, sample };
        if self.heap.len() < self.capacity {
            self.heap.push(Reverse(held));
            return None;
        }
        // Full: release the older of the new event and the oldest held,
        // so that the heap never holds more than `capacity`.
        let released = match self.heap.peek_mut() {
            Some(mut oldest) if oldest.0 < held => std::mem::replace(&mut oldest.0, held),
            _ => held,
        };
        self.released = released.time;
        Some(released.sample)
    }

    /// Releases the oldest event.
    fn pop(&mut self) -> Option<Sample> {
        let Reverse(held) = self.heap.pop()?;
        self.released = held.time;
        Some(held.sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parse::Event;

    fn at(time: u64, tid: u32) -> Sample {
        Sample { time, tid, event: Event::Fault { address: 0x1000, error_code: 0, kernel: false } }
    }

    #[test]
    fn the_window_sorts_within_its_size_and_keeps_ties_in_order() {
        let mut window = Window::new(2);
        let mut out = Vec::new();
        for (time, tid) in [(5, 1), (3, 2), (5, 3), (4, 4), (9, 5)] {
            out.extend(window.push(at(time, tid)).map(|s| s.tid));
        }
        while let Some(s) = window.pop() {
            out.push(s.tid);
        }
        assert_eq!(out, [2, 4, 1, 3, 5]);
        assert_eq!(window.late, 0);
    }

    #[test]
    fn events_older_than_the_window_are_applied_where_they_stand() {
        let mut window = Window::new(1);
        let mut out = Vec::new();
        for (time, tid) in [(10, 1), (20, 2), (5, 3), (30, 4)] {
            out.extend(window.push(at(time, tid)).map(|s| s.tid));
        }
        while let Some(s) = window.pop() {
            out.push(s.tid);
        }
        assert_eq!(out, [1, 3, 2, 4]);
        assert_eq!(window.late, 1);
    }

    #[test]
    fn the_window_grows_with_the_events_not_with_its_size() {
        let mut window = Window::new(MAX_WINDOW);
        assert_eq!(window.heap.capacity(), 0);
        for time in 0..100 {
            assert!(window.push(at(time, 1)).is_none());
        }
        assert!(window.heap.capacity() < 1000, "{}", window.heap.capacity());
        // A full window stays at its size.
        let mut window = Window::new(3);
        for time in 0..50 {
            window.push(at(time, 1));
            assert!(window.heap.len() <= 3 && window.heap.capacity() <= 4);
        }
    }

    #[test]
    fn windows_are_checked() {
        assert!(PerfImport::with_window(MAX_WINDOW).is_ok());
        assert!(matches!(PerfImport::with_window(0), Err(ImportError::InvalidWindow { window: 0 })));
        assert!(PerfImport::with_window(MAX_WINDOW + 1).is_err());
    }
}

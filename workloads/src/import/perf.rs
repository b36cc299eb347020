//! `cowsim import perf`: a perf capture, as `perf script` prints it, into a
//! cowsim trace.
//!
//! The capture is recorded as DESIGN.md §6 shows: the x86
//! `exceptions:page_fault_user` and `page_fault_kernel` tracepoints (every
//! page fault with the hardware's error code), `sched:` process events and
//! the syscalls that change mappings, then printed with
//! `perf script --show-mmap-events --show-task-events`, which adds the
//! side-band records: `PERF_RECORD_MMAP2` (every mapping, with its
//! protection, sharing and file), `PERF_RECORD_FORK`, `EXIT` and `COMM`.
//!
//! The import runs in three stages, each in its own module:
//!
//! 1. [`parse`](parse) reads a line into an event (or tallies it as
//!    ignored or skipped, or fails naming `file:line:column`);
//! 2. a **reordering window** (this file) puts events back in time order;
//! 3. [`translate`](translate) follows processes, threads, mappings and
//!    syscalls, and writes the ops (its module documentation has the table
//!    of which event becomes which op, and every assumption).
//!
//! # Order
//!
//! perf records each CPU into its own buffer, and `perf script` merges the
//! buffers by time stamp, so its output is in time order except where an
//! event reached perf too late for the merge (perf then warns about "out of
//! order events"). The importer holds the last [`DEFAULT_WINDOW`] events in
//! a heap and releases the oldest: events up to that many lines out of
//! place are put back in order; ties keep input order, so well-ordered
//! input passes through unchanged. An event older than one already released
//! cannot be put back; it is applied where it stands and counted in the
//! summary. Memory is the window, the processes' maps and nothing else.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{BufRead, Read, Write};

use crate::import::{ImportError, ImportSummary, base_name};
use crate::trace::{MAX_LINE_BYTES, TraceError, TraceWriter};

mod parse;
mod translate;

use parse::{Parsed, Sample};
use translate::Translator;

/// How many events the reordering window holds.
pub const DEFAULT_WINDOW: usize = 4096;

/// Settings of a perf import.
#[derive(Clone, Debug)]
pub struct PerfImport {
    /// Events held back to repair the order (at least 1).
    pub window: usize,
}

impl Default for PerfImport {
    fn default() -> Self {
        PerfImport { window: DEFAULT_WINDOW }
    }
}

impl PerfImport {
    /// Reads `perf script` text from `input` (named `input_name` in errors
    /// and in the trace's opening comments) and writes the trace to
    /// `writer` (named `output_name` in errors).
    pub fn run<R: BufRead, W: Write>(
        &self,
        mut input: R,
        input_name: &str,
        writer: &mut TraceWriter<W>,
        output_name: &str,
    ) -> Result<ImportSummary, ImportError> {
        let output_error = |source| ImportError::Output { file: output_name.to_owned(), source };
        write_header(writer, input_name).map_err(output_error)?;
        let mut lines = 0u64;
        let mut skipped = crate::import::Tally::default();
        let mut ignored = crate::import::Tally::default();
        let mut window = Window::new(self.window.max(1));
        let mut translator = Translator::new(writer);
        let mut buffer = Vec::with_capacity(256);
        loop {
            buffer.clear();
            let read = (&mut input).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut buffer);
            let read = read.map_err(|source| TraceError::Io { file: input_name.to_owned(), source })?;
            if read == 0 {
                break;
            }
            lines += 1;
            if read == MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
                let message = format!("line is longer than {MAX_LINE_BYTES} bytes");
                return Err(ImportError::parse(input_name, lines as usize, 1, message));
            }
            let text = String::from_utf8_lossy(strip_newline(&buffer));
            let parsed = parse::parse_line(&text).map_err(|p| p.at(input_name, lines as usize))?;
            match parsed {
                Parsed::Nothing => {}
                Parsed::Ignored(what) => ignored.add(what),
                Parsed::Skipped(what) => skipped.add(&what),
                Parsed::Sample(sample) => {
                    if let Some(ready) = window.push(sample) {
                        translator.handle(ready.tid, ready.event).map_err(output_error)?;
                    }
                }
            }
        }
        while let Some(ready) = window.pop() {
            translator.handle(ready.tid, ready.event).map_err(output_error)?;
        }
        let late = window.late;
        let mut summary = translator.finish();
        summary.lines = lines;
        summary.skipped = skipped;
        summary.ignored.merge(&ignored);
        summary.notes.add_many("events later than the reordering window could repair (applied in input order)", late);
        if summary.skipped.get("PERF_RECORD_LOST") > 0 {
            summary.notes.add("captures that lost events (PERF_RECORD_LOST): the trace has gaps");
        }
        write_footer(writer, &summary).map_err(output_error)?;
        writer.flush().map_err(output_error)?;
        Ok(summary)
    }
}

/// The trace's opening comments: where it came from.
fn write_header<W: Write>(writer: &mut TraceWriter<W>, input_name: &str) -> std::io::Result<()> {
    writer.write_comment(&format!(
        "imported by `cowsim import perf` (cowsim {}) from {}\n\
         source: `perf script --show-mmap-events --show-task-events` text of a capture recorded as in DESIGN.md §6\n\
         tasks are Linux process ids; each access is one 4 KiB page that faulted on the real kernel,\n\
         with the fault's class in \"recorded\" (DESIGN.md §7)",
        env!("CARGO_PKG_VERSION"),
        base_name(input_name)
    ))
}

/// The closing comment: what was left out.
fn write_footer<W: Write>(writer: &mut TraceWriter<W>, summary: &ImportSummary) -> std::io::Result<()> {
    writer.write_comment(&format!("import summary: {}", summary.report_lines().join("; ")))
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

/// The reordering window: a min-heap of at most `capacity` events.
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
    fn new(capacity: usize) -> Self {
        Window { heap: BinaryHeap::with_capacity(capacity + 1), capacity, sequence: 0, released: 0, late: 0 }
    }

    /// Adds an event; returns the oldest one when the window is full.
    fn push(&mut self, sample: Sample) -> Option<Sample> {
        if sample.time < self.released {
            // Too late to put back in order: apply it now, where it stands.
            self.late += 1;
            return Some(sample);
        }
        self.sequence += 1;
        self.heap.push(Reverse(Held { time: sample.time, sequence: self.sequence, sample }));
        if self.heap.len() > self.capacity { self.pop() } else { None }
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
}

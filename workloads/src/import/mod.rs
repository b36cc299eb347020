//! Importers of real captures: they turn what a tool recorded about a real
//! program into a cowsim trace (DESIGN.md §3, §6).
//!
//! Two sources are read:
//!
//! - [`perf`]: the text `perf script --show-mmap-events --show-task-events`
//!   prints for a capture of page-fault, scheduler and memory-syscall
//!   tracepoints. It gives processes (fork, exec, exit), their mappings and
//!   every page fault with the hardware's reason, so the trace can be
//!   replayed under every policy and compared with the real kernel
//!   (DESIGN.md §7).
//! - [`lackey`]: Valgrind lackey's `--trace-mem=yes` log: every load, store
//!   and instruction fetch of one process, with no mappings at all.
//!
//! Both read their input as a stream (plain or gzip, a file or stdin, via
//! [`crate::trace::open_input`]) and write ops through a
//! [`TraceWriter`](crate::trace::TraceWriter) as they go, so memory stays
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
//! Lines an importer does not understand are never silently dropped: they
//! are tallied by kind into an [`ImportSummary`], which the command line
//! prints to stderr at the end (`skipped 12 lines: 10 sched:sched_switch,
//! 2 ...`). Lines of a kind it does understand but cannot parse, and lines
//! that are not the tool's output at all, are errors naming
//! `file:line:column`: a capture that is damaged or of another format should
//! stop the import, not quietly become a shorter trace.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use crate::trace::TraceError;

pub mod lackey;
pub mod perf;
pub mod regions;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The capture could not be read, or a line of a known kind is
    /// malformed (`file:line:column: what was expected`).
    #[error(transparent)]
    Input(#[from] TraceError),
    /// Writing the trace failed.
    #[error("writing {file}: {source}")]
    Output { file: String, source: io::Error },
}

impl ImportError {
    /// A parse error at a 1-based line and character column.
    pub(crate) fn parse(file: &str, line: usize, column: usize, message: impl Into<String>) -> ImportError {
        ImportError::Input(TraceError::Parse { file: file.to_owned(), line, column, message: message.into() })
    }
}

/// Counts of things, by a short description, in a stable (sorted) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<String, u64>);

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
        match self.0.get_mut(what) {
            Some(count) => *count += n,
            None => {
                self.0.insert(what.to_owned(), n);
            }
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Tally) {
        for (what, count) in &other.0 {
            self.add_many(what, *count);
        }
    }

    /// The count of `what` (0 if never counted).
    pub fn get(&self, what: &str) -> u64 {
        self.0.get(what).copied().unwrap_or(0)
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(what, count)` pairs, largest count first, then by name.
    pub fn entries(&self) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all
    }
}

impl fmt::Display for Tally {
    /// `10 sched:sched_switch, 2 unparsable`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (what, count)) in self.entries().into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{count} {what}")?;
        }
        Ok(())
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
}

impl ImportSummary {
    /// The lines printed to stderr at the end of an import: one with the
    /// totals, one for skipped lines, one for ignored lines and one per
    /// note, each only when it has something to say.
    pub fn report_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("read {}, wrote {} ops", count_lines(self.lines), self.ops)];
        if !self.skipped.is_empty() {
            lines.push(format!("skipped {}: {}", count_lines(self.skipped.total()), self.skipped));
        }
        if !self.ignored.is_empty() {
            lines.push(format!("ignored {} that add nothing: {}", count_lines(self.ignored.total()), self.ignored));
        }
        for (what, count) in self.notes.entries() {
            lines.push(format!("note: {count} {what}"));
        }
        lines
    }
}

/// `1 line`, `2 lines`.
fn count_lines(n: u64) -> String {
    if n == 1 { "1 line".to_owned() } else { format!("{n} lines") }
}

/// The file name without its folders, for trace comments that must not
/// depend on where the capture was kept.
pub(crate) fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

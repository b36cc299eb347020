//! What `cowsim compare` runs: inputs named on the command line, or the
//! built-in suite.
//!
//! An input is one of three things, each a [`Feed`] that streams its ops:
//!
//! - a **trace file** (any argument naming a file that exists, `-` for
//!   stdin, or a FIFO), JSON Lines, plain or gzip;
//! - a **real capture** (a file whose name ends in `.perf.txt` or
//!   `.lackey.txt`, plain or `.gz`): `perf script` text or a Valgrind lackey
//!   log, imported as it is read, exactly as `cowsim import` would write it.
//!   Perf captures carry the real kernel's faults, so their reports have a
//!   `fidelity` section;
//! - a **workload**: the name of a generator whose ops are made on the fly.
//!
//! Each becomes a [`PreparedInput`]: a short label (used for output paths
//! and chart titles), the name reports carry in their `trace` field, the
//! feed, and its number of ops (counted in a first streaming pass, so the
//! sampling interval can be chosen; stdin and FIFOs are read into memory
//! for that, since they can be read only once). Nothing holds an input's
//! ops: each replay streams them again.
//!
//! # The built-in suite
//!
//! [`builtin_suite`]: the hand-written `examples/*.jsonl`, every canonical
//! workload with its default seed, then the real captures committed in
//! `workloads/tests/fixtures/`, each group in a fixed order.

use std::path::Path;

use workloads::generators;
use workloads::import::ImportSettings;

use super::CompareError;
use crate::feed::{Feed, STDIN, Source};

/// An input ready to be replayed.
#[derive(Debug)]
pub struct PreparedInput {
    /// Short and unique among the inputs of one comparison: the file name
    /// without `.jsonl`, `.txt` and `.gz` (so `python.perf` for a perf
    /// capture), or the workload name. Output paths use it.
    pub label: String,
    /// What reports show in their `trace` field: the file name (never a
    /// folder, so no absolute path reaches an output), or the workload name.
    pub trace: String,
    pub feed: Feed,
    /// How many ops the feed gives.
    pub ops: usize,
}

impl PreparedInput {
    /// What `summary.json` calls the input's kind: `trace`, `workload`,
    /// or the capture's format (`perf`, `lackey`).
    pub fn kind(&self) -> &'static str {
        match &self.feed {
            Feed::Capture { importer, .. } => importer.name(),
            Feed::Workload(_) => "workload",
            Feed::Trace(_) => "trace",
        }
    }
}

/// Counts an input's ops in a streaming pass, after making it readable
/// again (stdin, FIFOs). Bad input (a malformed line, an unreadable file,
/// a damaged capture) is an error naming the file, line and column.
pub fn prepare(feed: Feed, settings: &ImportSettings) -> Result<PreparedInput, CompareError> {
    let feed = feed.read_once()?;
    let ops = feed.count_ops(settings)?;
    let trace = feed.report_name();
    let label = match &feed {
        Feed::Workload(name) => (*name).to_owned(),
        Feed::Trace(_) | Feed::Capture { .. } => input_label(&trace),
    };
    Ok(PreparedInput { label, trace, feed, ops })
}

/// Resolves one command-line argument: `-` is a trace on standard input;
/// anything that exists and is not a folder (a file, a FIFO such as
/// `<(zcat t.gz)`) is a capture when its name says so, a trace otherwise;
/// anything else must name a workload.
pub fn resolve_input(argument: &str) -> Result<Feed, CompareError> {
    let path = Path::new(argument);
    if argument == STDIN {
        return Ok(Feed::Trace(Source::File(path.to_path_buf())));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(CompareError::InputIsFolder { path: path.to_path_buf() }),
        Ok(_) => return Ok(Feed::of_source(Source::File(path.to_path_buf()))),
        Err(_) => {}
    }
    Feed::workload(argument)
        .ok_or_else(|| CompareError::UnknownInput { argument: argument.to_string(), workloads: workload_names() })
}

// The suite's files, embedded at build time by `build.rs`: `EXAMPLES` and
// `CAPTURES`, each a sorted table of (path in the repository, bytes).
include!(concat!(env!("OUT_DIR"), "/suite.rs"));

/// The built-in suite, in this order: every `examples/*.jsonl` (sorted by
/// name), every canonical workload with its default seed (in
/// [`suite_workloads`] order), then every real capture in
/// `workloads/tests/fixtures/` (`*.perf.txt[.gz]` and `*.lackey.txt[.gz]`,
/// sorted by name).
///
/// The files are the copies embedded in the binary when it was built, so
/// the suite is the same from any folder, in a checkout or not, and after
/// `cargo install`.
pub fn builtin_suite() -> Vec<Feed> {
    let embedded = |table: &'static [(&'static str, &'static [u8])]| {
        table.iter().map(|&(path, bytes)| Feed::of_source(Source::Embedded { path, bytes }))
    };
    let mut inputs: Vec<Feed> = embedded(EXAMPLES).collect();
    inputs.extend(generators::WORKLOADS.iter().map(|w| Feed::Workload(w.name)));
    inputs.extend(embedded(CAPTURES));
    inputs
}

/// An input's label: its file name without the trace and capture
/// extensions.
fn input_label(file_name: &str) -> String {
    let mut label = file_name;
    for suffix in [".gz", ".jsonl", ".json", ".txt"] {
        label = label.strip_suffix(suffix).unwrap_or(label);
    }
    if label.is_empty() { file_name.to_string() } else { label.to_string() }
}

/// Every workload name, for error messages.
fn workload_names() -> Vec<&'static str> {
    generators::WORKLOADS.iter().map(|w| w.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_trace_extensions() {
        assert_eq!(input_label("fork-then-write.jsonl"), "fork-then-write");
        assert_eq!(input_label("capture.jsonl.gz"), "capture");
        assert_eq!(input_label("plain"), "plain");
        assert_eq!(input_label(".jsonl"), ".jsonl");
        assert_eq!(input_label("python.perf.txt.gz"), "python.perf");
        assert_eq!(input_label("touch.lackey.txt"), "touch.lackey");
    }

    #[test]
    fn captures_are_told_by_their_names() {
        let name = |file: &str| workloads::import::for_file(file).map(|i| i.name());
        assert_eq!(name("python.perf.txt.gz"), Some("perf"));
        assert_eq!(name("python.perf.txt"), Some("perf"));
        assert_eq!(name("touch.lackey.txt.gz"), Some("lackey"));
        assert_eq!(name("touch.lackey.txt"), Some("lackey"));
        assert_eq!(name(".perf.txt"), None, "a name needs a stem");
        assert_eq!(name("python.perf.jsonl"), None);
        assert_eq!(name("notes.txt"), None);
    }

    #[test]
    fn an_unknown_name_is_bad_input() {
        let error = resolve_input("no-such-workload-or-file").unwrap_err();
        assert!(error.to_string().contains("no-such-workload-or-file"), "{error}");
    }
}

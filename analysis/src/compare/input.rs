//! What `cowsim compare` runs: inputs named on the command line, or the
//! built-in suite.
//!
//! An input is one of three things:
//!
//! - a **trace file** (any argument naming a file that exists), JSON Lines,
//!   plain or gzip;
//! - a **real capture** (a file whose name ends in `.perf.txt` or
//!   `.lackey.txt`, plain or `.gz`): `perf script` text or a Valgrind lackey
//!   log, imported on the fly by `workloads::import` into memory, exactly as
//!   `cowsim import` would write it to a file. Perf captures carry the real
//!   kernel's faults, so their reports have a `fidelity` section;
//! - a **workload**: the name of a generator whose ops are made on the fly.
//!
//! Each becomes a [`LoadedInput`]: a short label (used for output paths and
//! chart titles), the name reports carry in their `trace` field, and the ops
//! held in memory, so that every policy replays the very same sequence and
//! runs can go in parallel without reading the input again.
//!
//! # The built-in suite
//!
//! [`builtin_suite`]: the hand-written `examples/*.jsonl`, every canonical
//! workload with its default seed, then the real captures committed in
//! `workloads/tests/fixtures/`, each group in a fixed order.
//!
//! # Where generators plug in
//!
//! Two functions, both under the heading "Generators plug in here" below:
//! [`generated_workload`] turns a workload name into its ops (with the
//! workload's default seed and parameters, from `workloads::generators`),
//! and [`suite_workloads`] lists the canonical workloads the built-in suite
//! runs.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use sim::op::TraceOp;
use workloads::generators;
use workloads::import::{self, ImportSettings, Importer, OpList};
use workloads::trace::{Located, TraceError, TraceReader, decompress_if_gzip, open_input};

use super::CompareError;
use crate::replay::Origin;

/// The ops of a generated workload, produced lazily.
pub type GeneratedOps = Box<dyn Iterator<Item = TraceOp> + Send>;

/// An input as named on the command line, before its ops are read.
pub enum Input {
    /// A trace (JSON Lines, plain or gzip).
    Trace(Source),
    /// A real capture, imported when loaded.
    Capture { source: Source, importer: &'static dyn Importer },
    /// A generated workload: its name and its ops.
    Generated { name: String, ops: GeneratedOps },
}

/// Where a trace's or capture's bytes come from: a file (or `-`), or the
/// copy of a built-in suite file embedded in the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// A suite file: its path in the repository, and its bytes.
    Embedded {
        path: &'static str,
        bytes: &'static [u8],
    },
}

impl Source {
    /// The file's name without folders, as reports show it (`stdin` for
    /// `-`).
    pub fn file_name(&self) -> String {
        let path = match self {
            Source::File(path) if path.as_os_str() == STDIN => return STDIN_LABEL.to_owned(),
            Source::File(path) => path.as_path(),
            Source::Embedded { path, .. } => Path::new(path),
        };
        path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned())
    }

    /// Opens the bytes (decompressing gzip) with the name errors give them.
    fn open(&self) -> Result<(Box<dyn BufRead>, String), TraceError> {
        match self {
            Source::File(path) => open_input(path),
            Source::Embedded { path, bytes } => {
                let raw: Box<dyn BufRead> = Box::new(*bytes);
                let input =
                    decompress_if_gzip(raw).map_err(|source| TraceError::Io { file: (*path).to_owned(), source })?;
                Ok((input, (*path).to_owned()))
            }
        }
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Trace(source) => f.debug_tuple("Trace").field(&source.file_name()).finish(),
            Input::Capture { source, importer } => {
                f.debug_struct("Capture").field("source", &source.file_name()).field("importer", importer).finish()
            }
            Input::Generated { name, .. } => f.debug_struct("Generated").field("name", name).finish_non_exhaustive(),
        }
    }
}

/// An input with its ops read into memory.
#[derive(Debug)]
pub struct LoadedInput {
    /// Short and unique among the inputs of one comparison: the file name
    /// without `.jsonl`, `.txt` and `.gz` (so `python.perf` for a perf
    /// capture), or the workload name. Output paths use it.
    pub label: String,
    /// What reports show in their `trace` field: the file name (never a
    /// folder, so no absolute path reaches an output), or the workload name.
    pub trace: String,
    /// Where the ops came from, for naming a position in errors.
    pub origin: Origin,
    /// The capture's format, when the input is a real capture.
    pub capture: Option<&'static dyn Importer>,
    /// The ops, each with its 1-based trace line (for a workload, its
    /// 1-based position; for a capture, its line in the trace `cowsim
    /// import` would write).
    pub ops: Vec<Located<TraceOp>>,
}

impl LoadedInput {
    /// What `summary.json` calls the input's kind: `trace`, `workload`,
    /// or the capture's format (`perf`, `lackey`).
    pub fn kind(&self) -> &'static str {
        match (&self.origin, self.capture) {
            (_, Some(importer)) => importer.name(),
            (Origin::Workload(_), None) => "workload",
            _ => "trace",
        }
    }
}

/// Resolves one command-line argument: `-` is a trace on standard input;
/// anything that exists and is not a folder (a file, a FIFO such as
/// `<(zcat t.gz)`) is a capture when its name says so, a trace otherwise;
/// anything else must name a workload.
pub fn resolve_input(argument: &str) -> Result<Input, CompareError> {
    let path = Path::new(argument);
    if argument == STDIN {
        return Ok(Input::Trace(Source::File(path.to_path_buf())));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(CompareError::InputIsFolder { path: path.to_path_buf() }),
        Ok(_) => return Ok(file_input(path.to_path_buf())),
        Err(_) => {}
    }
    match generated_workload(argument) {
        Some(ops) => Ok(Input::Generated { name: argument.to_string(), ops }),
        None => Err(CompareError::UnknownInput { argument: argument.to_string(), workloads: workload_names() }),
    }
}

/// The argument that names standard input.
const STDIN: &str = "-";

/// The name reports and output folders give a trace read from stdin.
const STDIN_LABEL: &str = "stdin";

/// A file argument: a capture when its name ends like one, else a trace.
fn file_input(path: PathBuf) -> Input {
    source_input(Source::File(path))
}

/// A capture when the source's name ends like one, else a trace.
fn source_input(source: Source) -> Input {
    match import::for_file(&source.file_name()) {
        Some(importer) => Input::Capture { source, importer },
        None => Input::Trace(source),
    }
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
pub fn builtin_suite() -> Vec<Input> {
    let embedded = |table: &'static [(&'static str, &'static [u8])]| {
        table.iter().map(|&(path, bytes)| source_input(Source::Embedded { path, bytes }))
    };
    let mut inputs: Vec<Input> = embedded(EXAMPLES).collect();
    for name in suite_workloads() {
        let ops = generated_workload(name).expect("every suite workload has a generator");
        inputs.push(Input::Generated { name: name.to_string(), ops });
    }
    inputs.extend(embedded(CAPTURES));
    inputs
}

/// Reads an input's ops into memory. Bad input (a malformed line, an
/// unreadable file) is an error naming the file, line and column.
pub fn load(input: Input) -> Result<LoadedInput, CompareError> {
    match input {
        Input::Trace(source) => {
            let (input, name) = source.open()?;
            let ops = TraceReader::new(input, name.clone()).collect::<Result<Vec<_>, _>>()?;
            let trace = source.file_name();
            Ok(LoadedInput { label: input_label(&trace), trace, origin: Origin::Trace(name), capture: None, ops })
        }
        Input::Capture { source, importer } => load_capture(&source, importer),
        Input::Generated { name, ops } => {
            let ops = ops.enumerate().map(|(i, value)| Located { line: i + 1, value }).collect();
            Ok(LoadedInput {
                label: name.clone(),
                trace: name.clone(),
                origin: Origin::Workload(name.clone()),
                capture: None,
                ops,
            })
        }
    }
}

/// Imports a real capture into memory, through the importer's
/// [`OpList`] sink: the ops are exactly those `cowsim import NAME FILE`
/// writes (same window, same expectations), each numbered by its line in
/// that file. The import's summary of skipped lines is not shown: the
/// capture is a committed or user-chosen file, and `cowsim import` is the
/// place to inspect it.
fn load_capture(from: &Source, importer: &'static dyn Importer) -> Result<LoadedInput, CompareError> {
    let (mut capture, source) = from.open()?;
    let mut list = OpList::default();
    let sink_name = format!("{source} (imported)");
    importer.import(&mut capture, &source, &mut list, &sink_name, &ImportSettings::default())?;
    let trace = from.file_name();
    Ok(LoadedInput {
        label: input_label(&trace),
        trace,
        origin: Origin::Capture(source),
        capture: Some(importer),
        ops: list.ops,
    })
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

// ---------------------------------------------------------------------------
// Generators plug in here
// ---------------------------------------------------------------------------

/// THE HOOK for generators: the ops of the workload called `name`, made
/// with the default seed and parameters (the trace `cowsim gen NAME`
/// writes), or `None` when no generator has that name.
pub fn generated_workload(name: &str) -> Option<GeneratedOps> {
    let workload = generators::find(name).ok()?;
    Some(Box::new(workload.generate(generators::DEFAULT_SEED, &workload.default_params())))
}

/// The canonical workloads the built-in suite runs, in suite order: every
/// generator of `workloads::generators::WORKLOADS`, in its order. Each
/// must be known to [`generated_workload`].
pub fn suite_workloads() -> Vec<&'static str> {
    workload_names()
}

/// Every workload name [`generated_workload`] knows, for error messages.
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
        let name = |file: &str| import::for_file(file).map(|i| i.name());
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

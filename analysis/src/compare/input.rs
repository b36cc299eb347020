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

use std::path::{Path, PathBuf};

use sim::op::TraceOp;
use workloads::generators;
use workloads::import::lackey::LackeyImport;
use workloads::import::perf::PerfImport;
use workloads::trace::{Located, TraceReader, TraceWriter, open_input, open_trace};

use super::CompareError;

/// The ops of a generated workload, produced lazily.
pub type GeneratedOps = Box<dyn Iterator<Item = TraceOp> + Send>;

/// An input as named on the command line, before its ops are read.
pub enum Input {
    /// A trace file (JSON Lines, plain or gzip).
    Trace(PathBuf),
    /// A real capture, imported when loaded.
    Capture { path: PathBuf, format: CaptureFormat },
    /// A generated workload: its name and its ops.
    Generated { name: String, ops: GeneratedOps },
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Trace(path) => f.debug_tuple("Trace").field(path).finish(),
            Input::Capture { path, format } => {
                f.debug_struct("Capture").field("path", path).field("format", format).finish()
            }
            Input::Generated { name, .. } => f.debug_struct("Generated").field("name", name).finish_non_exhaustive(),
        }
    }
}

/// The real captures `compare` imports, told apart by the file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// `perf script` text, `NAME.perf.txt` or `NAME.perf.txt.gz`.
    Perf,
    /// A Valgrind lackey log, `NAME.lackey.txt` or `NAME.lackey.txt.gz`.
    Lackey,
}

impl CaptureFormat {
    /// Every format with the name ending that marks it (before an optional
    /// `.gz`).
    const ENDINGS: [(CaptureFormat, &'static str); 2] =
        [(CaptureFormat::Perf, ".perf.txt"), (CaptureFormat::Lackey, ".lackey.txt")];

    /// The format a file's name says, if any.
    pub fn of_file_name(file_name: &str) -> Option<CaptureFormat> {
        let name = file_name.strip_suffix(".gz").unwrap_or(file_name);
        Self::ENDINGS.iter().find(|(_, ending)| name.len() > ending.len() && name.ends_with(ending)).map(|(f, _)| *f)
    }

    /// The name `summary.json` gives inputs of this format.
    pub fn name(self) -> &'static str {
        match self {
            CaptureFormat::Perf => "perf",
            CaptureFormat::Lackey => "lackey",
        }
    }
}

/// Where a loaded input came from; decides how positions in it are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Trace,
    Workload,
    /// A real capture, imported: positions are lines of the imported trace
    /// (what `cowsim import` would write), not of the capture.
    Capture(CaptureFormat),
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
    /// The name error messages start with: the path as given, or
    /// `workload NAME`.
    pub source: String,
    pub origin: Origin,
    /// The ops, each with its 1-based trace line (for a workload, its
    /// 1-based position).
    pub ops: Vec<Located<TraceOp>>,
}

impl LoadedInput {
    /// Where op `line` sits, for an error message: `file:line:1` for a
    /// trace, `workload NAME op N` for a workload, `file (imported) line N`
    /// for a capture (`cowsim import` writes that trace to look at).
    pub fn position(&self, line: usize) -> String {
        match self.origin {
            Origin::Trace => format!("{}:{line}:1", self.source),
            Origin::Workload => format!("{} op {line}", self.source),
            Origin::Capture(_) => format!("{} (imported) line {line}", self.source),
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
        return Ok(Input::Trace(path.to_path_buf()));
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
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    match CaptureFormat::of_file_name(&name) {
        Some(format) => Input::Capture { path, format },
        None => Input::Trace(path),
    }
}

/// Where the built-in suite's hand-written traces live, under the root.
pub const EXAMPLES_FOLDER: &str = "examples";
/// Where the built-in suite's real captures live, under the root.
pub const CAPTURES_FOLDER: &str = "workloads/tests/fixtures";

/// The built-in suite, in this order: every `examples/*.jsonl` (sorted by
/// name), every canonical workload with its default seed (in
/// [`suite_workloads`] order), then every real capture in
/// `workloads/tests/fixtures/` (`*.perf.txt[.gz]` and `*.lackey.txt[.gz]`,
/// sorted by name).
///
/// The folders are looked up under `root` (the current folder when run
/// from the repository root). When `root` lacks one, the repository this
/// binary was built from is tried, so `cowsim` works from any folder of a
/// checkout.
pub fn builtin_suite(root: &Path) -> Result<Vec<Input>, CompareError> {
    let is_example = |name: &str| name.ends_with(".jsonl");
    let mut inputs: Vec<Input> = files_in(root, EXAMPLES_FOLDER, is_example)?.into_iter().map(Input::Trace).collect();
    for name in suite_workloads() {
        let ops = generated_workload(name).expect("every suite workload has a generator");
        inputs.push(Input::Generated { name: name.to_string(), ops });
    }
    let is_capture = |name: &str| CaptureFormat::of_file_name(name).is_some();
    inputs.extend(files_in(root, CAPTURES_FOLDER, is_capture)?.into_iter().map(file_input));
    if inputs.is_empty() {
        return Err(CompareError::EmptySuite { looked_in: root.join(EXAMPLES_FOLDER) });
    }
    Ok(inputs)
}

/// The files of `root/folder` (or, failing that, of the same folder in the
/// repository this binary was built from) whose names `wanted` accepts,
/// sorted by name so the suite's order (and every output listing it) does
/// not depend on the file system.
fn files_in(root: &Path, folder: &str, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, CompareError> {
    let local = root.join(folder);
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(folder);
    let Some(folder) = [local, built_from].into_iter().find(|p| p.is_dir()) else {
        return Ok(Vec::new());
    };
    let listing = std::fs::read_dir(&folder).map_err(|source| CompareError::Io { path: folder.clone(), source })?;
    let mut files = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| CompareError::Io { path: folder.clone(), source })?;
        let name = entry.file_name();
        if wanted(&name.to_string_lossy()) && entry.path().is_file() {
            // Keep the path relative when the folder was found relative.
            files.push(folder.join(name));
        }
    }
    files.sort();
    Ok(files)
}

/// Reads an input's ops into memory. Bad input (a malformed line, an
/// unreadable file) is an error naming the file, line and column.
pub fn load(input: Input) -> Result<LoadedInput, CompareError> {
    match input {
        Input::Trace(path) => {
            let reader = open_trace(&path)?;
            let source = reader.name().to_string();
            let ops = reader.collect::<Result<Vec<_>, _>>()?;
            let trace = if path.as_os_str() == STDIN {
                STDIN_LABEL.to_owned()
            } else {
                path.file_name().map_or_else(|| source.clone(), |f| f.to_string_lossy().into_owned())
            };
            Ok(LoadedInput { label: trace_label(&trace), trace, source, origin: Origin::Trace, ops })
        }
        Input::Capture { path, format } => load_capture(&path, format),
        Input::Generated { name, ops } => {
            let ops = ops.enumerate().map(|(i, value)| Located { line: i + 1, value }).collect();
            Ok(LoadedInput {
                label: name.clone(),
                trace: name.clone(),
                source: format!("workload {name}"),
                origin: Origin::Workload,
                ops,
            })
        }
    }
}

/// Imports a real capture into memory: the importer writes the trace text
/// it would write to a file, and the trace reader reads it back, so the
/// ops are exactly those of `cowsim import FORMAT FILE` (same window, same
/// expectations). The import's summary of skipped lines is not shown: the
/// capture is a committed or user-chosen file, and `cowsim import` is the
/// place to inspect it.
fn load_capture(path: &Path, format: CaptureFormat) -> Result<LoadedInput, CompareError> {
    let (capture, source) = open_input(path)?;
    let mut writer = TraceWriter::new(Vec::new());
    let imported_name = format!("{source} (imported)");
    match format {
        CaptureFormat::Perf => PerfImport::default().run(capture, &source, &mut writer, &imported_name)?,
        CaptureFormat::Lackey => LackeyImport.run(capture, &source, &mut writer, &imported_name)?,
    };
    let text = writer.into_inner();
    let ops = TraceReader::new(text.as_slice(), imported_name).collect::<Result<Vec<_>, _>>()?;
    let trace = path.file_name().map_or_else(|| source.clone(), |f| f.to_string_lossy().into_owned());
    Ok(LoadedInput { label: trace_label(&trace), trace, source, origin: Origin::Capture(format), ops })
}

/// A trace's label: its file name without the trace and capture
/// extensions.
fn trace_label(file_name: &str) -> String {
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
        assert_eq!(trace_label("fork-then-write.jsonl"), "fork-then-write");
        assert_eq!(trace_label("capture.jsonl.gz"), "capture");
        assert_eq!(trace_label("plain"), "plain");
        assert_eq!(trace_label(".jsonl"), ".jsonl");
        assert_eq!(trace_label("python.perf.txt.gz"), "python.perf");
        assert_eq!(trace_label("touch.lackey.txt"), "touch.lackey");
    }

    #[test]
    fn captures_are_told_by_their_names() {
        assert_eq!(CaptureFormat::of_file_name("python.perf.txt.gz"), Some(CaptureFormat::Perf));
        assert_eq!(CaptureFormat::of_file_name("python.perf.txt"), Some(CaptureFormat::Perf));
        assert_eq!(CaptureFormat::of_file_name("touch.lackey.txt.gz"), Some(CaptureFormat::Lackey));
        assert_eq!(CaptureFormat::of_file_name("touch.lackey.txt"), Some(CaptureFormat::Lackey));
        assert_eq!(CaptureFormat::of_file_name(".perf.txt"), None, "a name needs a stem");
        assert_eq!(CaptureFormat::of_file_name("python.perf.jsonl"), None);
        assert_eq!(CaptureFormat::of_file_name("notes.txt"), None);
    }

    #[test]
    fn an_unknown_name_is_bad_input() {
        let error = resolve_input("no-such-workload-or-file").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("no-such-workload-or-file"), "{error}");
    }
}

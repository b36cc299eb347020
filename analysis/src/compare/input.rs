//! What `cowsim compare` runs: inputs named on the command line, or the
//! built-in suite.
//!
//! An input is either a trace file (any argument naming a file that exists)
//! or a *workload*: the name of a generator whose ops are made on the fly.
//! Both become a [`LoadedInput`]: a short label (used for output paths and
//! chart titles), the name reports carry in their `trace` field, and the ops
//! held in memory, so that every policy replays the very same sequence and
//! runs can go in parallel without reading the input again.
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
use workloads::trace::{Located, open_trace};

use super::CompareError;

/// The ops of a generated workload, produced lazily.
pub type GeneratedOps = Box<dyn Iterator<Item = TraceOp> + Send>;

/// An input as named on the command line, before its ops are read.
pub enum Input {
    /// A trace file (JSON Lines, plain or gzip).
    Trace(PathBuf),
    /// A generated workload: its name and its ops.
    Generated { name: String, ops: GeneratedOps },
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Trace(path) => f.debug_tuple("Trace").field(path).finish(),
            Input::Generated { name, .. } => f.debug_struct("Generated").field("name", name).finish_non_exhaustive(),
        }
    }
}

/// Where a loaded input came from; decides how positions in it are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Trace,
    Workload,
}

/// An input with its ops read into memory.
#[derive(Debug)]
pub struct LoadedInput {
    /// Short and unique among the inputs of one comparison: the file name
    /// without `.jsonl`/`.gz`, or the workload name. Output paths use it.
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
    /// trace, `workload NAME op N` for a workload.
    pub fn position(&self, line: usize) -> String {
        match self.origin {
            Origin::Trace => format!("{}:{line}:1", self.source),
            Origin::Workload => format!("{} op {line}", self.source),
        }
    }
}

/// Resolves one command-line argument: an existing file is a trace,
/// anything else must name a workload.
pub fn resolve_input(argument: &str) -> Result<Input, CompareError> {
    let path = Path::new(argument);
    if path.is_file() {
        return Ok(Input::Trace(path.to_path_buf()));
    }
    match generated_workload(argument) {
        Some(ops) => Ok(Input::Generated { name: argument.to_string(), ops }),
        None => Err(CompareError::UnknownInput { argument: argument.to_string(), workloads: workload_names() }),
    }
}

/// The built-in suite: every `examples/*.jsonl` (sorted by name), then
/// every canonical workload with its default seed.
///
/// The examples are looked up under `root` (the current folder when run
/// from the repository root). When `root` has no `examples/`, the
/// repository this binary was built from is tried, so `cowsim` works from
/// any folder of a checkout.
pub fn builtin_suite(root: &Path) -> Result<Vec<Input>, CompareError> {
    let mut inputs: Vec<Input> = example_traces(root)?.into_iter().map(Input::Trace).collect();
    for name in suite_workloads() {
        let ops = generated_workload(name).expect("every suite workload has a generator");
        inputs.push(Input::Generated { name: name.to_string(), ops });
    }
    if inputs.is_empty() {
        return Err(CompareError::EmptySuite { looked_in: root.join("examples") });
    }
    Ok(inputs)
}

/// The example traces, sorted by file name so the suite's order (and every
/// output listing it) does not depend on the file system.
fn example_traces(root: &Path) -> Result<Vec<PathBuf>, CompareError> {
    let local = root.join("examples");
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let Some(folder) = [local, built_from].into_iter().find(|p| p.is_dir()) else {
        return Ok(Vec::new());
    };
    let listing = std::fs::read_dir(&folder).map_err(|source| CompareError::Io { path: folder.clone(), source })?;
    let mut traces = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| CompareError::Io { path: folder.clone(), source })?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".jsonl") && entry.path().is_file() {
            // Keep the path relative when the folder was found relative.
            traces.push(folder.join(name));
        }
    }
    traces.sort();
    Ok(traces)
}

/// Reads an input's ops into memory. Bad input (a malformed line, an
/// unreadable file) is an error naming the file, line and column.
pub fn load(input: Input) -> Result<LoadedInput, CompareError> {
    match input {
        Input::Trace(path) => {
            let reader = open_trace(&path)?;
            let source = reader.name().to_string();
            let ops = reader.collect::<Result<Vec<_>, _>>()?;
            let trace = path.file_name().map_or_else(|| source.clone(), |f| f.to_string_lossy().into_owned());
            Ok(LoadedInput { label: trace_label(&trace), trace, source, origin: Origin::Trace, ops })
        }
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

/// A trace's label: its file name without the trace extensions.
fn trace_label(file_name: &str) -> String {
    let mut label = file_name;
    for suffix in [".gz", ".jsonl", ".json"] {
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

/// The canonical workloads the built-in suite runs, in suite order. Each
/// must be known to [`generated_workload`].
///
/// Still empty: the generated workloads join the suite together with a
/// regeneration of `results/` (and a look at how long the suite test in
/// `compare_cli.rs` then takes in a debug build).
pub fn suite_workloads() -> Vec<&'static str> {
    Vec::new()
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
    }

    #[test]
    fn an_unknown_name_is_bad_input() {
        let error = resolve_input("no-such-workload-or-file").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("no-such-workload-or-file"), "{error}");
    }
}

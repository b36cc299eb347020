//! Replaying a trace under one or several policies.
//!
//! The trace is read once, streaming, and every op is applied to every
//! policy's simulator in lockstep, so `--policy all` costs one pass over the
//! input and works on stdin too. Ops made in memory, such as a workload
//! generator's stream, replay through the same loop with [`replay_ops`].

use std::path::Path;

use sim::report::Report;
use sim::{Config, PolicyKind, Sim, SimError, TraceOp};
use workloads::trace::{TraceError, TraceReader, open_trace};

use crate::import::Format;

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The trace could not be read or parsed (bad input: exit code 2).
    #[error("{0}")]
    Trace(#[from] TraceError),
    /// An op names something that does not exist (bad input: exit code 2).
    #[error("{file}:{line}:1: {error}")]
    BadOp { file: String, line: usize, error: SimError },
    /// The file is a real capture, by its name: it must be imported first
    /// (bad usage: exit code 2).
    #[error(
        "{path}: this is a {format} capture, not a trace (by its name): turn it into one with \
         `cowsim import {format} {path} -o TRACE.jsonl`, or compare it as it is with `cowsim compare {path}`",
        format = .format.name()
    )]
    Capture { path: String, format: Format },
    /// The trace's own expectation was not met under a policy (a failed
    /// run: exit code 1).
    #[error("{file}:{line}:1: under {policy}: {error}")]
    Failed { file: String, line: usize, policy: &'static str, error: SimError },
}

impl ReplayError {
    /// The process exit code for this failure (docs/trace-format.md): 1 for
    /// a run that failed, 2 for bad input.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReplayError::Failed { .. } => 1,
            ReplayError::Trace(_) | ReplayError::BadOp { .. } | ReplayError::Capture { .. } => 2,
        }
    }
}

/// Replays the trace at `path` (`-` for stdin, plain or gzip) under each
/// policy. Returns one report per policy, in the order given.
pub fn replay_file(path: &Path, policies: &[PolicyKind], config: &Config) -> Result<Vec<Report>, ReplayError> {
    let reader = open_for_replay(path)?;
    replay(reader, policies, config)
}

/// Opens a trace to replay (`-` for stdin, plain or gzip). A file named
/// like a real capture (`NAME.perf.txt[.gz]`, `NAME.lackey.txt[.gz]`) is
/// refused with the command that imports it, instead of failing on its
/// first line as "not JSON".
pub fn open_for_replay(path: &Path) -> Result<TraceReader<Box<dyn std::io::BufRead>>, ReplayError> {
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(format) = Format::of_file_name(&file_name) {
        return Err(ReplayError::Capture { path: path.display().to_string(), format });
    }
    Ok(open_trace(path)?)
}

/// Replays an open trace under each policy.
pub fn replay<R: std::io::BufRead>(
    reader: TraceReader<R>,
    policies: &[PolicyKind],
    config: &Config,
) -> Result<Vec<Report>, ReplayError> {
    let name = reader.name().to_string();
    let ops = reader.map(|item| item.map(|located| (located.line, located.value)).map_err(ReplayError::from));
    replay_located(&name, ops, policies, config)
}

/// Replays ops made in memory — a generator's stream, say — under each
/// policy, one op at a time, so the ops are never all held at once.
/// `name` labels the reports and errors; the "line" an error names is the
/// op's 1-based position in `ops`.
pub fn replay_ops(
    name: &str,
    ops: impl IntoIterator<Item = TraceOp>,
    policies: &[PolicyKind],
    config: &Config,
) -> Result<Vec<Report>, ReplayError> {
    let located = ops.into_iter().enumerate().map(|(index, op)| Ok((index + 1, op)));
    replay_located(name, located, policies, config)
}

/// The lockstep loop: applies every `(line, op)` to every policy's
/// simulator and maps the first failure to a [`ReplayError`].
fn replay_located(
    name: &str,
    ops: impl Iterator<Item = Result<(usize, TraceOp), ReplayError>>,
    policies: &[PolicyKind],
    config: &Config,
) -> Result<Vec<Report>, ReplayError> {
    let mut sims: Vec<Sim> = policies.iter().map(|p| Sim::new(*p, config.clone())).collect();
    for item in ops {
        let (line, op) = item?;
        for sim in &mut sims {
            if let Err(error) = sim.apply_traced(&op) {
                let file = name.to_string();
                return Err(if error.is_bad_input() {
                    ReplayError::BadOp { file, line, error }
                } else {
                    ReplayError::Failed { file, line, policy: sim.policy_name(), error }
                });
            }
        }
    }
    let trace = trace_label(name);
    Ok(sims.iter_mut().map(|sim| sim.finish(&trace)).collect())
}

/// The trace's name as reports show it: the file name without folders.
fn trace_label(name: &str) -> String {
    Path::new(name).file_name().map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned())
}

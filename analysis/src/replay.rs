//! The one replay driver: every command that runs ops through the simulator
//! (`run`, `compare`, `explain`, `graph`) applies them with [`apply`], so
//! there is one place that turns a simulator's refusal into an error, one
//! way to name where in the input an op came from ([`Origin`]), and one
//! error type whose [`ReplayError::Failed`] is the only failure that is not
//! bad input (see [`crate::exit`]).
//!
//! A trace is read once, streaming, and every op is applied to every
//! policy's simulator in lockstep ([`replay_stream`]), so `--policy all`
//! costs one pass over the input and works on stdin too. Ops made in
//! memory, such as a workload generator's stream, go through the same loop
//! ([`replay_ops`]); [`crate::stepper::Stepper`] applies them one at a time
//! for the views that look between ops.

use std::path::Path;

use sim::report::Report;
use sim::{Config, KernReturn, PolicyKind, Sim, SimError, TraceOp};
use workloads::import::{ImportError, ImportSettings};
use workloads::trace::{Located, TraceError};

use crate::feed::{Feed, Source};

/// Where a stream of ops comes from, for naming a position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A trace file (or `<stdin>`): positions are `FILE:LINE:1`.
    Trace(String),
    /// A generated workload: positions are `workload NAME op N`.
    Workload(String),
    /// A real capture imported on the fly: positions are lines of the trace
    /// `cowsim import` would write from it, `FILE (imported) line N`.
    Capture(String),
}

impl Origin {
    /// The position of the op at `line` (1-based), as messages say it.
    pub fn at(&self, line: usize) -> String {
        match self {
            Origin::Trace(file) => format!("{file}:{line}:1"),
            Origin::Workload(name) => format!("workload {name} op {line}"),
            Origin::Capture(file) => format!("{file} (imported) line {line}"),
        }
    }

    /// The name reports carry in their `trace` field: a file's name
    /// without its folders (so no absolute path reaches an output), or the
    /// workload's name.
    pub fn report_name(&self) -> String {
        match self {
            Origin::Trace(file) | Origin::Capture(file) => report_name(file),
            Origin::Workload(name) => name.clone(),
        }
    }
}

/// A file's name as reports and views show it: without its folders
/// (`<stdin>` stays as it is).
pub fn report_name(file: &str) -> String {
    Path::new(file).file_name().map_or_else(|| file.to_string(), |f| f.to_string_lossy().into_owned())
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The trace could not be read or parsed (bad input).
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// A real capture could not be imported (bad input).
    #[error(transparent)]
    Import(Box<ImportError>),
    /// An op names something that does not exist (bad input).
    #[error("{}: {error}", .origin.at(*.line))]
    BadOp { origin: Origin, line: usize, error: SimError },
    /// The trace's own expectation was not met under a policy: the run
    /// failed, the input is fine.
    #[error("{}: under {policy}: {error}", .origin.at(*.line))]
    Failed { origin: Origin, line: usize, policy: &'static str, error: SimError },
}

impl ReplayError {
    /// The line the error names, if any (0 when it names none).
    pub fn line(&self) -> usize {
        match self {
            ReplayError::BadOp { line, .. } | ReplayError::Failed { line, .. } => *line,
            ReplayError::Trace(error) => error.line().unwrap_or(0),
            ReplayError::Import(_) => 0,
        }
    }
}

impl From<ImportError> for ReplayError {
    fn from(error: ImportError) -> Self {
        ReplayError::Import(Box::new(error))
    }
}

/// Applies one op to `sim` and checks its `expect`: the only place a
/// simulator's refusal becomes a [`ReplayError`] (bad input, or a failed
/// run naming the policy).
pub fn apply(sim: &mut Sim, op: &Located<TraceOp>, origin: &Origin) -> Result<KernReturn, ReplayError> {
    sim.apply_traced(&op.value).map_err(|error| {
        let (origin, line) = (origin.clone(), op.line);
        if error.is_bad_input() {
            ReplayError::BadOp { origin, line, error }
        } else {
            ReplayError::Failed { origin, line, policy: sim.policy_name(), error }
        }
    })
}

/// Replays the trace or capture at `path` (`-` for stdin, plain or gzip;
/// a file named like a capture is imported as it is read) under each
/// policy, in lockstep. The first failure, by line, is the error. Returns
/// one report per policy, in the order given.
pub fn replay_file(path: &Path, policies: &[PolicyKind], config: &Config) -> Result<Vec<Report>, ReplayError> {
    let feed = Feed::of_source(Source::File(path.to_path_buf()));
    let sims = policies.iter().map(|p| Sim::new(*p, config.clone())).collect();
    let mut runs = replay_feed(&feed, sims, &ImportSettings::default())?;
    let first_failed = runs
        .iter()
        .enumerate()
        .filter_map(|(index, run)| run.failure.as_ref().map(|f| (f.line(), index)))
        .min()
        .map(|(_, index)| index);
    if let Some(index) = first_failed {
        return Err(runs.swap_remove(index).failure.expect("the run failed"));
    }
    Ok(runs.into_iter().map(|run| run.report).collect())
}

/// One simulator's run of a feed.
#[derive(Debug)]
pub struct FeedRun {
    /// The report; for a failed run, of the ops up to and including the
    /// one that failed.
    pub report: Report,
    /// Why the run stopped early: an `expect` the trace set was not met.
    pub failure: Option<ReplayError>,
}

/// Replays `feed` through every simulator in lockstep, streaming (see
/// [`Feed::stream`]). Bad input — a line that does not parse, an unknown
/// task — stops them all and is the error. A run that fails (an unmet
/// `expect`) stops at that op; the others go on.
pub fn replay_feed(feed: &Feed, sims: Vec<Sim>, settings: &ImportSettings) -> Result<Vec<FeedRun>, ReplayError> {
    let origin = feed.origin();
    let mut runs: Vec<(Sim, Option<ReplayError>)> = sims.into_iter().map(|sim| (sim, None)).collect();
    let imported = feed.stream(settings, |op| {
        for (sim, failure) in runs.iter_mut().filter(|(_, failure)| failure.is_none()) {
            match apply(sim, op, &origin) {
                Ok(_) => {}
                Err(failed @ ReplayError::Failed { .. }) => *failure = Some(failed),
                Err(bad_input) => return Err(bad_input),
            }
        }
        Ok(())
    })?;
    let name = feed.report_name();
    let notes = imported.map(|summary| summary.report_notes());
    Ok(runs
        .into_iter()
        .map(|(mut sim, failure)| {
            let mut report = sim.finish(&name);
            report.import.clone_from(&notes);
            FeedRun { report, failure }
        })
        .collect())
}

/// Replays ops made in memory — a generator's stream, say — under each
/// policy, one op at a time, so the ops are never all held at once. The
/// "line" of an op is its 1-based position in `ops`.
pub fn replay_ops(
    origin: &Origin,
    ops: impl IntoIterator<Item = TraceOp>,
    policies: &[PolicyKind],
    config: &Config,
) -> Result<Vec<Report>, ReplayError> {
    let located = ops.into_iter().enumerate().map(|(index, value)| Ok(Located { line: index + 1, value }));
    replay_stream(origin, located, policies, config)
}

/// The lockstep loop: applies every op to every policy's simulator and
/// stops at the first failure.
pub fn replay_stream(
    origin: &Origin,
    ops: impl Iterator<Item = Result<Located<TraceOp>, ReplayError>>,
    policies: &[PolicyKind],
    config: &Config,
) -> Result<Vec<Report>, ReplayError> {
    let mut sims: Vec<Sim> = policies.iter().map(|p| Sim::new(*p, config.clone())).collect();
    for op in ops {
        let op = op?;
        for sim in &mut sims {
            apply(sim, &op, origin)?;
        }
    }
    let name = origin.report_name();
    Ok(sims.iter_mut().map(|sim| sim.finish(&name)).collect())
}

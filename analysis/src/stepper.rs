//! Replaying a trace one operation at a time, for the views that look at the
//! world *between* operations: object graphs (`cowsim graph`) and
//! narrations (`cowsim explain`).
//!
//! Operations are numbered from 1 in the order the trace gives them, blank
//! and comment lines not counted: "op 5" is the fifth operation applied, and
//! a graph "at op 5" shows the world right after it. The same numbering is
//! used by `--at`, `--from` and `--to` and by every narration line.
//!
//! The stepper only ever changes its world through the replay driver
//! (`replay::apply`); the views read it through `Sim::view()`.

use std::path::Path;

use sim::{Config, KernReturn, PolicyKind, Sim, TraceOp};
use workloads::import::ImportSettings;
use workloads::trace::Located;

use crate::feed::{Feed, OpsIter, Source};
use crate::replay::{self, Origin, ReplayError};

/// A trace being replayed under one policy, one op at a time.
pub struct Stepper {
    ops: OpsIter,
    /// The trace's name as given.
    name: String,
    /// How positions in the trace are named in errors.
    origin: Origin,
    sim: Sim,
    /// Operations applied so far (the number of the last one).
    applied: u64,
}

impl Stepper {
    /// Opens the trace at `path` (`-` for stdin, plain or gzip; a file
    /// named like a real capture is imported first) for replay under
    /// `policy`. Nothing is applied yet.
    pub fn open(path: &Path, policy: PolicyKind, config: &Config) -> Result<Stepper, ReplayError> {
        let source = Source::File(path.to_path_buf());
        let name = source.name();
        let feed = Feed::of_source(source);
        let ops = feed.ops(&ImportSettings::default())?;
        Ok(Stepper { ops, name, origin: feed.origin(), sim: Sim::new(policy, config.clone()), applied: 0 })
    }

    /// The trace's name as given (`<stdin>` for `-`).
    pub fn trace_name(&self) -> &str {
        &self.name
    }

    /// The simulator, for reading its world.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// The simulator, for `keep_events` / `take_events` (which read the
    /// model's event log and change nothing in the world).
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    /// How many operations have been applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Reads the next operation without applying it; `None` at the end of
    /// the trace. A line that does not parse is bad input.
    pub fn next_op(&mut self) -> Result<Option<Located<TraceOp>>, ReplayError> {
        self.ops.next().transpose()
    }

    /// Applies one operation read by [`Stepper::next_op`]. Returns its
    /// `kern_return_t`, or the failure with the trace line: bad input (an
    /// unknown task) or an `expect` the run did not meet.
    pub fn apply(&mut self, op: &Located<TraceOp>) -> Result<KernReturn, ReplayError> {
        // A failed op has still been applied (an unmet expect_value leaves
        // the pages before it accessed), so it counts.
        self.applied += 1;
        replay::apply(&mut self.sim, op, &self.origin)
    }

    /// Applies operations until `count` have been applied. Returns false if
    /// the trace ended first (then every operation it has was applied).
    pub fn run_to(&mut self, count: u64) -> Result<bool, ReplayError> {
        while self.applied < count {
            let Some(op) = self.next_op()? else { return Ok(false) };
            self.apply(&op)?;
        }
        Ok(true)
    }
}

/// A trace's name as views show it: the file name without its folders
/// (`<stdin>` stays as it is).
pub use crate::replay::report_name as trace_label;

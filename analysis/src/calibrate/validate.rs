//! The validation of a profile on its own fork curve: at every size the
//! probes measured, what the profile predicts for a fork, a fork+exec and
//! a posix_spawn (their twins' counts priced) against what was measured.
//!
//! The fork and exit prices were fitted on the [`FIT_SIZES`] smallest
//! sizes only, so from the next size up (on the full plan, 128 MiB to
//! 1 GiB) the fork column is a prediction the derivation never saw: the
//! test of the model, that fork latency grows with the PTEs a fork copies
//! as the simulator counts them.

use std::fmt::Write;

use crate::costs::predict::duration_text;
use crate::costs::{CurvePoint, Profile};

use super::derive::FIT_SIZES;
use super::twins;

/// One size of the curve, measured and predicted.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub mib: u64,
    pub pages: u64,
    /// Was this size one of those the prices were fitted on?
    pub fitted: bool,
    pub fork: Pair,
    pub fork_exec: Pair,
    pub spawn: Pair,
}

/// A measured time and the predicted one, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub measured: u64,
    pub predicted: u64,
}

impl Pair {
    /// predicted ÷ measured.
    pub fn ratio(&self) -> f64 {
        self.predicted as f64 / self.measured.max(1) as f64
    }
}

/// The rows of `profile`'s curve.
pub fn rows(profile: &Profile) -> Vec<Row> {
    let region = profile.measured.fork_curve.iter().map(|p| p.pages).max().unwrap_or(0);
    profile.measured.fork_curve.iter().enumerate().map(|(index, point)| row(profile, region, index, point)).collect()
}

fn row(profile: &Profile, region: u64, index: usize, point: &CurvePoint) -> Row {
    let predict = |twin: twins::Twin| profile.costs.price(&twin.quantities()).round() as u64;
    Row {
        mib: point.mib,
        pages: point.pages,
        fitted: index < FIT_SIZES,
        fork: Pair { measured: point.fork_ns, predicted: predict(twins::fork_of_region(region, point.pages)) },
        fork_exec: Pair {
            measured: point.fork_exec_wait_ns,
            predicted: predict(twins::fork_exec_exit(region, point.pages)),
        },
        spawn: Pair { measured: point.spawn_wait_ns, predicted: predict(twins::spawn_exec_exit(region, point.pages)) },
    }
}

/// The rows as a table for a terminal or a Markdown page.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| parent | fork measured | fork predicted | ratio | fork+exec measured | predicted | ratio | posix_spawn measured | predicted | ratio |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let fitted = if row.fitted { " (fit)" } else { "" };
        let _ = write!(out, "| {} MiB{fitted} |", row.mib);
        for pair in [row.fork, row.fork_exec, row.spawn] {
            let _ = write!(
                out,
                " {} | {} | {:.2} |",
                duration_text(pair.measured),
                duration_text(pair.predicted),
                pair.ratio()
            );
        }
        out.push('\n');
    }
    out
}

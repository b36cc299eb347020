//! The process exit codes, decided in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a run failed: the trace's own `expect` or `expect_value` was not met, or (in `compare`) a policy read other data than the reference |
//! | 2 | bad usage or bad input: an unknown flag or name, a malformed line, an unknown task, an output that may not be written |
//!
//! Every failure is bad input except a replay that stopped on the trace's
//! own expectation ([`ReplayError::Failed`]): the input was fine, the run
//! was not.

use crate::compare::table::Summary;
use crate::replay::ReplayError;

pub const SUCCESS: u8 = 0;
pub const RUN_FAILED: u8 = 1;
pub const BAD_INPUT: u8 = 2;

/// The exit code of a command that stopped with `error`: [`RUN_FAILED`]
/// when a replay stopped on the trace's own expectation anywhere in the
/// error's chain of causes, else [`BAD_INPUT`].
pub fn of_error(error: &anyhow::Error) -> u8 {
    let failed_run =
        error.chain().any(|cause| matches!(cause.downcast_ref::<ReplayError>(), Some(ReplayError::Failed { .. })));
    if failed_run { RUN_FAILED } else { BAD_INPUT }
}

/// The exit code of a comparison that ran: [`BAD_INPUT`] when inputs were
/// left out as bad input, else [`RUN_FAILED`] when a run failed or read
/// other data than the reference, else [`SUCCESS`].
pub fn of_comparison(summary: &Summary, rejected_inputs: usize) -> u8 {
    if rejected_inputs > 0 {
        BAD_INPUT
    } else if summary.all_agree {
        SUCCESS
    } else {
        RUN_FAILED
    }
}

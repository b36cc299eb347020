//! cowsim's analysis layer: replaying traces into reports and summaries,
//! comparison runs and their charts, object graphs, narrations, quizzes,
//! the step-through page, and the glue of the `cowsim` command (generation,
//! import, capture). It reads what `sim` reports and never changes a world
//! except by applying ops.

pub mod calibrate;
pub mod charts;
pub mod compare;
pub mod costs;
pub mod exit;
pub mod exit_tracer;
pub mod feed;
pub mod generate;
pub mod import;
pub mod narrate;
pub mod object_graph;
pub mod output;
pub mod page_cache_watch;
pub mod quiz;
pub mod record;
pub mod replay;
pub mod stepper;
pub mod studies;
pub mod summary;
pub mod view_page;

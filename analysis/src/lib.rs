//! cowsim's analysis layer: replaying traces into reports, summarising
//! them, and (in later steps) comparison runs, charts, object graphs and
//! teaching views. It reads what `sim` reports and never changes a world.

pub mod charts;
pub mod compare;
pub mod generate;
pub mod import;
pub mod narrate;
pub mod object_graph;
pub mod record;
pub mod replay;
pub mod stepper;
pub mod summary;

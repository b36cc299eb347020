pub mod fuzzing;
pub mod import;
pub mod suggest;
pub mod trace;

// `gen` is a reserved word in Rust 2024, so the generators' folder keeps
// the short name and the module gets a plain one.
#[path = "gen/mod.rs"]
pub mod generators;

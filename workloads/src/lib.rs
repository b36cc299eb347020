pub mod import;
pub mod trace;

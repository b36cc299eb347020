//! What every test of the `cowsim` command needs: run the built binary,
//! find the repository, read its output, list the examples. Each test
//! binary includes this with `mod support;` and uses what it needs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root (the workspace above `analysis/`).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("analysis/ has a parent").to_path_buf()
}

/// Runs the built `cowsim` with `args` in `dir`.
pub fn cowsim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cowsim")).args(args).current_dir(dir).output().expect("cowsim runs")
}

/// Runs the built `cowsim` with `args` from the repository's root.
pub fn cowsim(args: &[&str]) -> Output {
    cowsim_in(&repo(), args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every `examples/*.jsonl`, sorted by name.
pub fn examples() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    all.sort();
    all
}

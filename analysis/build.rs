//! Embeds the built-in suite's inputs in the `cowsim` binary, so that the
//! main job (`cowsim` with no command) works from any folder and after
//! `cargo install`, not only next to the tree it was built from.
//!
//! Writes `$OUT_DIR/suite.rs` with two sorted tables of
//! `(path in the repository, bytes)`: every `examples/*.jsonl`, and every
//! real capture in `workloads/tests/fixtures/` (`*.perf.txt[.gz]`,
//! `*.lackey.txt[.gz]`). Adding a file to either folder rebuilds the table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let examples = files(&repository, "examples", |name| name.ends_with(".jsonl"));
    let captures = files(&repository, "workloads/tests/fixtures", is_capture);
    let mut text = String::new();
    table(&mut text, "EXAMPLES", &repository, &examples);
    table(&mut text, "CAPTURES", &repository, &captures);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("suite.rs"), text).expect("OUT_DIR is writable");
}

fn is_capture(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".perf.txt", ".lackey.txt"].iter().any(|ending| name.len() > ending.len() && name.ends_with(ending))
}

/// The files of `repository/folder` whose names `wanted` accepts, as paths
/// relative to the repository, sorted by name.
fn files(repository: &Path, folder: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let absolute = repository.join(folder);
    println!("cargo::rerun-if-changed={}", absolute.display());
    let Ok(listing) = std::fs::read_dir(&absolute) else { return Vec::new() };
    let mut names: Vec<String> = listing
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| wanted(name))
        .collect();
    names.sort();
    names.into_iter().map(|name| format!("{folder}/{name}")).collect()
}

fn table(text: &mut String, name: &str, repository: &Path, paths: &[String]) {
    let _ = writeln!(text, "pub static {name}: &[(&str, &[u8])] = &[");
    for path in paths {
        let absolute = repository.join(path);
        println!("cargo::rerun-if-changed={}", absolute.display());
        let _ = writeln!(text, "    ({path:?}, include_bytes!({:?})),", absolute.display().to_string());
    }
    let _ = writeln!(text, "];");
}

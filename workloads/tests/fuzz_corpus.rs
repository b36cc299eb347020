//! Replays the fuzzing campaign's committed inputs: every file in
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` is given to the
//! target's body in `workloads::fuzzing`, as the fuzzer gave it, so a bug
//! the fuzzer once found (or an input that once reached a rare path) stays
//! checked by a plain `cargo test` on stable Rust. `fuzz/README.md` says
//! how the corpus is made and how to add a crash to it.
//!
//! Each target is one test, which runs every file, catches a panic per
//! file and fails at the end naming every file that panicked. A missing or
//! empty corpus folder fails too: a test that finds nothing to replay
//! would pass while checking nothing.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use workloads::fuzzing;

/// The fuzz project, next to this crate in the repository.
fn fuzz_dir() -> PathBuf {
    let workloads = Path::new(env!("CARGO_MANIFEST_DIR"));
    workloads.parent().unwrap_or(workloads).join("fuzz")
}

/// The files of `folder`, sorted by name so failures list in a stable
/// order. Empty when the folder does not exist.
fn files_in(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.filter_map(|entry| entry.ok().map(|e| e.path())).filter(|path| path.is_file()).collect();
    files.sort();
    files
}

/// Gives every committed input of `target` to `body`. Panics naming each
/// file whose replay panicked, and if the corpus folder is missing or empty.
/// The regressions folder may be missing: a target that never crashed has
/// none.
fn replay_target(target: &str, body: fn(&[u8])) {
    let corpus = fuzz_dir().join("corpus").join(target);
    let corpus_files = files_in(&corpus);
    assert!(!corpus_files.is_empty(), "{target}: no corpus to replay in {} (missing or empty)", corpus.display());
    let regressions = files_in(&fuzz_dir().join("regressions").join(target));

    // Each caught panic still prints its message where it happened; the
    // test's output shows those only if the test fails.
    let failures: Vec<String> = corpus_files
        .iter()
        .chain(&regressions)
        .filter_map(|file| {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{target}: reading {}: {e}", file.display()));
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(&data)));
            outcome.err().map(|payload| format!("{}: {}", file.display(), panic_message(payload.as_ref())))
        })
        .collect();

    assert!(
        failures.is_empty(),
        "{target}: {} of {} inputs panicked:\n{}",
        failures.len(),
        corpus_files.len() + regressions.len(),
        failures.join("\n")
    );
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

#[test]
fn trace_jsonl_corpus() {
    replay_target("trace_jsonl", fuzzing::trace_jsonl);
}

#[test]
fn perf_script_corpus() {
    replay_target("perf_script", fuzzing::perf_script);
}

#[test]
fn lackey_log_corpus() {
    replay_target("lackey_log", fuzzing::lackey_log);
}

#[test]
fn gen_params_corpus() {
    replay_target("gen_params", fuzzing::gen_params);
}

#[test]
fn policies_corpus() {
    replay_target("policies", fuzzing::policies);
}

//! `perf script` text: the importer never panics and its trace replays as it predicted.
//! The body is `workloads::fuzzing::perf_script`, which `cargo test` also runs
//! on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| workloads::fuzzing::perf_script(data));

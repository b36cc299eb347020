//! A Valgrind lackey log: the importer never panics and its trace replays as it predicted.
//! The body is `workloads::fuzzing::lackey_log`, which `cargo test` also runs
//! on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| workloads::fuzzing::lackey_log(data));

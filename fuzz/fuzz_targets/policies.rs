//! A small valid trace decoded from the bytes: every policy agrees with `eager`.
//! The body is `workloads::fuzzing::policies`, which `cargo test` also runs
//! on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| workloads::fuzzing::policies(data));

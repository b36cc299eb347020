//! Generator `NAME=VALUE` settings, one a line: never a panic, in parsing or generating.
//! The body is `workloads::fuzzing::gen_params`, which `cargo test` also runs
//! on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| workloads::fuzzing::gen_params(data));

//! A JSON Lines trace: the reader never panics and every op it reads round-trips through the writer.
//! The body is `workloads::fuzzing::trace_jsonl`, which `cargo test` also runs
//! on the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| workloads::fuzzing::trace_jsonl(data));

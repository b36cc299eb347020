//! Tests of the JSON Lines trace format through its public API: an example
//! trace with nearly every op, number syntax, error messages, the streaming
//! reader, gzip, and property tests (round trip, never panic).

use std::io::Write as _;
use std::path::PathBuf;

use proptest::prelude::*;
use sim::ids::TaskId;
use sim::op::{AccessOp, Op, Recorded, TraceOp};
use sim::types::{Access, Inheritance, KernReturn, Prot};
use workloads::trace::{Located, TraceError, TraceReader, TraceWriter, format_op, open_trace, parse_line};

/// An example trace with a line of every op but `exec_fetch`, written as a
/// person would write it.
const EXAMPLE_TRACE: &str = r#"{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x100000","size":"64K"}
{"op":"vm_allocate","task":1,"size":"16K","anywhere":true}
{"op":"write","task":1,"addr":"0x100000","len":"64K"}
{"op":"fork","parent":1,"child":2}
{"op":"vm_copy","task":1,"src":"0x100000","size":"16K","dst":"0x108000"}
{"op":"vm_protect","task":1,"addr":"0x100000","size":"4K","prot":"r","set_max":false}
{"op":"vm_inherit","task":1,"addr":"0x100000","size":"64K","inherit":"share"}
{"op":"vm_read","task":1,"addr":"0x100000","size":"8K","caller":2,"dst":"0x300000"}
{"op":"vm_write","task":1,"addr":"0x100000","size":"8K","caller":2,"src":"0x300000"}
{"op":"vm_map","task":1,"addr":"0x400000","size":"1M","file":"libc.so.6","offset":0,"private":true,"prot":"rx"}
{"op":"read","task":2,"addr":"0x100000","len":"64K"}
{"op":"exec","task":2}
{"op":"exit","task":2}
{"op":"vm_deallocate","task":1,"addr":"0x100000","size":"64K"}
{"op":"mark","label":"phase 2"}
"#;

const K: u64 = 1 << 10;

fn prot(text: &str) -> Prot {
    Prot::parse(text).expect("test protections are valid")
}

fn plain(op: Op) -> TraceOp {
    TraceOp { op, expect: None }
}

fn access(task: u32, access: Access, addr: u64, len: u64) -> Op {
    Op::Access(AccessOp { task: TaskId(task), access, addr, len, value: None, expect_value: None, recorded: None })
}

/// The ops of [`EXAMPLE_TRACE`], line by line.
fn example_trace_ops() -> Vec<Op> {
    let t1 = TaskId(1);
    let t2 = TaskId(2);
    vec![
        Op::TaskCreate { task: t1 },
        Op::VmAllocate { task: t1, addr: Some(0x100000), size: 64 * K, anywhere: false },
        Op::VmAllocate { task: t1, addr: None, size: 16 * K, anywhere: true },
        access(1, Access::Write, 0x100000, 64 * K),
        Op::Fork { parent: t1, child: t2 },
        Op::VmCopy { task: t1, src: 0x100000, size: 16 * K, dst: 0x108000 },
        Op::VmProtect { task: t1, addr: 0x100000, size: 4 * K, prot: prot("r"), set_max: false },
        Op::VmInherit { task: t1, addr: 0x100000, size: 64 * K, inherit: Inheritance::Share },
        Op::VmRead { task: t1, addr: 0x100000, size: 8 * K, caller: t2, dst: Some(0x300000) },
        Op::VmWrite { task: t1, addr: 0x100000, size: 8 * K, caller: t2, src: 0x300000 },
        Op::VmMap {
            task: t1,
            addr: Some(0x400000),
            size: 1 << 20,
            anywhere: false,
            file: "libc.so.6".into(),
            offset: 0,
            private: true,
            prot: prot("rx"),
        },
        access(2, Access::Read, 0x100000, 64 * K),
        Op::Exec { task: t2 },
        Op::Exit { task: t2 },
        Op::VmDeallocate { task: t1, addr: 0x100000, size: 64 * K },
        Op::Mark { label: "phase 2".into() },
    ]
}

/// Reads a whole trace from text, collecting every item.
fn read_all(text: &str, name: &str) -> Vec<Result<Located<TraceOp>, TraceError>> {
    TraceReader::new(text.as_bytes(), name).collect()
}

/// The full error message for a one-line trace named `trace.jsonl`.
fn error_for(line: &str) -> String {
    match read_all(line, "trace.jsonl").into_iter().next() {
        Some(Err(error)) => error.to_string(),
        other => panic!("expected an error for {line}, got {other:?}"),
    }
}

fn parse(line: &str) -> Op {
    match parse_line(line) {
        Ok(trace_op) => trace_op.op,
        Err(problem) => panic!("{line}: {problem}"),
    }
}

// --- the example trace -------------------------------------------------------

#[test]
fn example_trace_parses_to_the_expected_ops() {
    let items = read_all(EXAMPLE_TRACE, "example.jsonl");
    let expected = example_trace_ops();
    assert_eq!(items.len(), expected.len());
    for (index, (item, op)) in items.into_iter().zip(expected).enumerate() {
        let located = item.expect("every example line parses");
        assert_eq!(located.line, index + 1);
        assert_eq!(located.value, plain(op));
    }
}

#[test]
fn writer_reproduces_the_example_trace() {
    // The writer leaves out `"set_max":false` (the default) and writes the
    // offset in hex; every other example line comes back byte for byte.
    for (line, op) in EXAMPLE_TRACE.lines().zip(example_trace_ops()) {
        let written = format_op(&plain(op));
        let expected = line.replace(r#","set_max":false"#, "").replace(r#""offset":0"#, r#""offset":"0x0""#);
        assert_eq!(written, expected);
    }
}

#[test]
fn optional_fields_and_defaults() {
    let TraceOp { op, expect } = parse_line(
        r#"{"op":"write","task":3,"addr":4096,"len":"4k","value":"0xBEEF","recorded":"present","expect":"KERN_PROTECTION_FAILURE"}"#,
    )
    .expect("valid");
    assert_eq!(expect, Some(KernReturn::ProtectionFailure));
    assert_eq!(
        op,
        Op::Access(AccessOp {
            task: TaskId(3),
            access: Access::Write,
            addr: 4096,
            len: 4096,
            value: Some(0xbeef),
            expect_value: None,
            recorded: Some(Recorded::Present),
        })
    );
    assert_eq!(
        parse(r#"{"op":"exec_fetch","task":1,"addr":0,"len":1,"expect_value":7,"recorded":"not_present"}"#),
        Op::Access(AccessOp {
            task: TaskId(1),
            access: Access::ExecFetch,
            addr: 0,
            len: 1,
            value: None,
            expect_value: Some(7),
            recorded: Some(Recorded::NotPresent),
        })
    );
    // vm_map without addr goes anywhere; offset 0, private, read-only.
    assert_eq!(
        parse(r#"{"op":"vm_map","task":1,"size":"1M","file":"f"}"#),
        Op::VmMap {
            task: TaskId(1),
            addr: None,
            size: 1 << 20,
            anywhere: true,
            file: "f".into(),
            offset: 0,
            private: true,
            prot: prot("r"),
        }
    );
    // vm_allocate with both: the address is a hint for the search.
    assert_eq!(
        parse(r#"{"op":"vm_allocate","task":1,"addr":"0x1000","size":"4K","anywhere":true}"#),
        Op::VmAllocate { task: TaskId(1), addr: Some(0x1000), size: 4096, anywhere: true }
    );
    assert_eq!(
        parse(r#"{"op":"vm_protect","task":1,"addr":0,"size":0,"prot":"","set_max":true}"#),
        Op::VmProtect { task: TaskId(1), addr: 0, size: 0, prot: Prot::NONE, set_max: true }
    );
    assert_eq!(
        parse(r#"{"op":"vm_read","task":1,"addr":0,"size":"8K","caller":2}"#),
        Op::VmRead { task: TaskId(1), addr: 0, size: 8192, caller: TaskId(2), dst: None }
    );
}

#[test]
fn op_may_come_anywhere_and_whitespace_is_free() {
    assert_eq!(parse(r#"{"parent":1,"child":2,"op":"fork"}"#), Op::Fork { parent: TaskId(1), child: TaskId(2) });
    assert_eq!(parse(" { \"op\" : \"exit\" , \"task\" : 9 } "), Op::Exit { task: TaskId(9) });
    // Escapes in keys and values are decoded.
    assert_eq!(parse(r#"{"op":"ex\u0069t","t\u0061sk":9}"#), Op::Exit { task: TaskId(9) });
    assert_eq!(
        parse(r#"{"op":"mark","label":"a \"quoted\"\nlabel ✓"}"#),
        Op::Mark { label: "a \"quoted\"\nlabel ✓".into() }
    );
}

// --- numbers ---------------------------------------------------------------------

fn size_of(value: &str) -> Result<u64, String> {
    let line = format!(r#"{{"op":"vm_deallocate","task":1,"addr":0,"size":{value}}}"#);
    match parse_line(&line) {
        Ok(TraceOp { op: Op::VmDeallocate { size, .. }, .. }) => Ok(size),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(problem) => Err(problem.message),
    }
}

#[test]
fn number_syntax() {
    assert_eq!(size_of("4096"), Ok(4096));
    assert_eq!(size_of("0"), Ok(0));
    assert_eq!(size_of("18446744073709551615"), Ok(u64::MAX));
    assert_eq!(size_of(r#""4096""#), Ok(4096));
    assert_eq!(size_of(r#""0x7f0000""#), Ok(0x7f0000));
    assert_eq!(size_of(r#""0X7F0000""#), Ok(0x7f0000));
    assert_eq!(size_of(r#""0xdeadBEEF""#), Ok(0xdead_beef));
    assert_eq!(size_of(r#""64K""#), Ok(64 << 10));
    assert_eq!(size_of(r#""64k""#), Ok(64 << 10));
    assert_eq!(size_of(r#""2M""#), Ok(2 << 20));
    assert_eq!(size_of(r#""2m""#), Ok(2 << 20));
    assert_eq!(size_of(r#""1G""#), Ok(1 << 30));
    assert_eq!(size_of(r#""1g""#), Ok(1 << 30));
    // Tasks take the same syntax.
    assert_eq!(parse(r#"{"op":"exit","task":"0x10"}"#), Op::Exit { task: TaskId(16) });
    assert_eq!(parse(r#"{"op":"exit","task":"4294967295"}"#), Op::Exit { task: TaskId(u32::MAX) });
}

#[test]
fn number_errors() {
    let bad = |value: &str, why: &str| {
        assert_eq!(size_of(value), Err(format!("bad number {value} for \"size\": {why}")), "{value}");
    };
    bad(r#""12Q""#, r#"unknown size suffix "Q" (use K, M or G)"#);
    bad(r#""-1""#, "negative numbers are not allowed");
    bad("-1", "negative numbers are not allowed");
    bad("-0", "negative numbers are not allowed");
    bad("1.5", "not a plain integer (no fraction or exponent)");
    bad("1e3", "not a plain integer (no fraction or exponent)");
    bad(r#""""#, "the string is empty");
    bad(r#""99999999999999999999""#, "too large for 64 bits");
    bad("99999999999999999999", "too large for 64 bits");
    bad(r#""0x10000000000000000""#, "too large for 64 bits");
    bad(r#""17179869184G""#, "too large for 64 bits");
    bad(r#""0x""#, r#"no hex digits after "0x""#);
    bad(r#""0xZZ""#, "'Z' is not a hex digit");
    bad(r#""0x10K""#, "'K' is not a hex digit (size suffixes go only after decimal numbers)");
    bad(r#""1.5""#, "'.' is not a digit");
    bad(r#"" 1""#, "' ' is not a digit");
    let wrong_type = r#"expected a number or a string like "0x1000" or "64K" for "size""#;
    for value in ["true", "null", "[1]", r#"{"a":1}"#] {
        assert_eq!(size_of(value), Err(wrong_type.to_owned()), "{value}");
    }
    assert_eq!(
        parse_line(r#"{"op":"exit","task":4294967296}"#).map_err(|p| p.message),
        Err(r#"bad task id 4294967296 for "task": too large for 32 bits"#.to_owned())
    );
}

// --- error messages ------------------------------------------------------------

#[test]
fn malformed_lines_have_located_messages() {
    let cases = [
        (r#"{"op":"read","#, "trace.jsonl:1:13: bad JSON: EOF while parsing a value"),
        (r#"{"op":"exit","task":1} x"#, "trace.jsonl:1:24: bad JSON: trailing characters"),
        (r#"{"op":"frok"}"#, r#"trace.jsonl:1:7: unknown op "frok" (did you mean "fork"?)"#),
        (
            r#"{"op":"zzz"}"#,
            "trace.jsonl:1:7: unknown op \"zzz\" (known ops: task_create, fork, exec, exit, \
             vm_allocate, vm_deallocate, vm_protect, vm_inherit, vm_read, vm_write, vm_copy, vm_move, \
             vm_map, read, write, exec_fetch, mark, resident, page_cache, file_read)",
        ),
        (r#"{"op":"fork","parent":1}"#, r#"trace.jsonl:1:1: missing field "child" for fork"#),
        (r#"{"task":1}"#, r#"trace.jsonl:1:1: missing field "op" (every line names its op, like "op":"fork")"#),
        (
            r#"{"op":"vm_allocate","task":1,"addr":"0xZZ","size":"4K"}"#,
            r#"trace.jsonl:1:37: bad number "0xZZ" for "addr": 'Z' is not a hex digit"#,
        ),
        (
            r#"{"op":"vm_allocate","task":1,"size":true,"anywhere":true}"#,
            r#"trace.jsonl:1:37: expected a number or a string like "0x1000" or "64K" for "size""#,
        ),
        (
            r#"{"op":"vm_allocate","task":1,"size":"4K"}"#,
            r#"trace.jsonl:1:1: vm_allocate needs "addr" or "anywhere":true"#,
        ),
        (
            r#"{"op":"vm_allocate","task":1,"size":"4K","anywhere":"yes"}"#,
            r#"trace.jsonl:1:53: expected true or false for "anywhere""#,
        ),
        (r#"{"op":"exit","task":"abc"}"#, r#"trace.jsonl:1:21: bad task id "abc" for "task": 'a' is not a digit"#),
        (r#"{"op":"exit","task":null}"#, r#"trace.jsonl:1:21: expected a task id (a number like 1) for "task""#),
        (
            r#"{"op":"vm_copy","task":1,"src":0,"size":0,"dst":0,"foo":1}"#,
            r#"trace.jsonl:1:51: unknown field "foo" for vm_copy (vm_copy takes task, src, size, dst, expect)"#,
        ),
        (
            r#"{"op":"vm_copy","task":1,"src":0,"szie":0,"dst":0}"#,
            r#"trace.jsonl:1:34: unknown field "szie" for vm_copy (did you mean "size"?)"#,
        ),
        (
            r#"{"op":"read","task":1,"addr":0,"len":1,"value":3}"#,
            r#"trace.jsonl:1:40: unknown field "value" for read (read takes task, addr, len, expect_value, recorded, expect)"#,
        ),
        (
            r#"{"op":"vm_protect","task":1,"addr":0,"size":0,"prot":"rwq"}"#,
            r#"trace.jsonl:1:54: bad protection "rwq" for "prot": use the letters r, w and x, each at most once ("" for none)"#,
        ),
        (
            r#"{"op":"vm_protect","task":1,"addr":0,"size":0,"prot":7}"#,
            r#"trace.jsonl:1:54: expected a protection like "rw" for "prot""#,
        ),
        (
            r#"{"op":"vm_inherit","task":1,"addr":0,"size":0,"inherit":"bogus"}"#,
            r#"trace.jsonl:1:57: bad inheritance "bogus" for "inherit": expected "share", "copy" or "none""#,
        ),
        (
            r#"{"op":"vm_inherit","task":1,"addr":0,"size":0,"inherit":"shared"}"#,
            r#"trace.jsonl:1:57: bad inheritance "shared" for "inherit": did you mean "share"?"#,
        ),
        (
            r#"{"op":"exit","task":1,"expect":"KERN_FOO"}"#,
            "trace.jsonl:1:32: bad return code \"KERN_FOO\" for \"expect\": expected one of \
             KERN_SUCCESS, KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE, KERN_NO_SPACE, \
             KERN_INVALID_ARGUMENT",
        ),
        (
            r#"{"op":"exit","task":1,"expect":"KERN_SUCESS"}"#,
            r#"trace.jsonl:1:32: bad return code "KERN_SUCESS" for "expect": did you mean "KERN_SUCCESS"?"#,
        ),
        (
            r#"{"op":"read","task":1,"addr":0,"len":1,"recorded":"maybe"}"#,
            r#"trace.jsonl:1:51: bad recorded fault "maybe" for "recorded": expected "not_present" or "present""#,
        ),
        ("[1,2]", r#"trace.jsonl:1:1: expected a JSON object like {"op":"fork",...}, found an array"#),
        ("  42", r#"trace.jsonl:1:3: expected a JSON object like {"op":"fork",...}, found a number"#),
        (r#"{"op":7}"#, r#"trace.jsonl:1:7: expected the op name as a string for "op""#),
        (r#"{"op":"exit","task":1,"task":2}"#, r#"trace.jsonl:1:23: duplicate field "task""#),
        (r#"{"op":"exit","op":"exit","task":2}"#, r#"trace.jsonl:1:14: duplicate field "op""#),
        (r#"{"op":"mark","label":3}"#, r#"trace.jsonl:1:22: expected a string for "label""#),
        (
            r#"{"op":"vm_map","task":1,"size":"1M","file":"a","anywhere":false}"#,
            r#"trace.jsonl:1:59: vm_map without "addr" can only map anywhere; drop "anywhere":false"#,
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(error_for(line), expected, "for line {line}");
    }
}

#[test]
fn columns_count_characters_and_ignore_look_alike_text() {
    // "é" is two bytes but one column.
    assert_eq!(error_for(r#"{"op":"mark","label":"héllo" "x":1}"#), "trace.jsonl:1:30: bad JSON: expected `,` or `}`");
    assert_eq!(
        error_for(r#"  {"op":"mark","label":"héllo","x":1}"#),
        r#"trace.jsonl:1:32: unknown field "x" for mark (mark takes label, expect)"#
    );
    // A string value that contains `"task":` is not mistaken for the key.
    assert_eq!(
        error_for(r#"{"op":"mark","label":"\"task\":","task":1}"#),
        r#"trace.jsonl:1:34: unknown field "task" for mark (mark takes label, expect)"#
    );
    // An escaped duplicate key is found where it is written.
    assert_eq!(error_for(r#"{"op":"exit","task":1,"t\u0061sk":2}"#), r#"trace.jsonl:1:23: duplicate field "task""#);
}

// --- the reader ----------------------------------------------------------------

#[test]
fn reader_reports_the_line_and_file_and_goes_on() {
    let text = "# header\n\n{\"op\":\"task_create\",\"task\":1}\n   # indented comment\n\
                {\"op\":\"exit\",\"task\":\"x\"}\n{\"op\":\"exit\",\"task\":1}\n";
    let items = read_all(text, "five.jsonl");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().map(|l| l.line).ok(), Some(3));
    let error = items[1].as_ref().expect_err("line 5 is bad");
    assert_eq!(error.line(), Some(5));
    assert_eq!(error.file(), "five.jsonl");
    assert_eq!(error.to_string(), r#"five.jsonl:5:21: bad task id "x" for "task": 'x' is not a digit"#);
    assert_eq!(items[2].as_ref().map(|l| l.line).ok(), Some(6));
}

/// Does a line with no end (`cowsim run /dev/zero`) fail at once? The
/// reader must report it after reading the limit and stop, not read on
/// forever looking for a newline; an endless `repeat` would hang the test.
#[test]
fn an_endless_line_fails_as_soon_as_it_passes_the_limit() {
    let endless = std::io::BufReader::new(std::io::repeat(0));
    let mut reader = TraceReader::new(endless, "/dev/zero");
    let error = reader.next().expect("an item").expect_err("the line is too long");
    assert_eq!(
        error.to_string(),
        format!("/dev/zero:1:1: line is longer than {} bytes", workloads::trace::MAX_LINE_BYTES)
    );
    assert!(reader.next().is_none(), "the reader stops after an over-long line");
}

/// Does a message quote a huge key in full? It must quote a short start
/// and say how long the key was, once.
#[test]
fn huge_keys_and_values_are_quoted_short() {
    let key = "k".repeat(500_000);
    let message = error_for(&format!(r#"{{"op":"exit","task":1,"{key}":1}}"#));
    assert!(message.len() < 300, "{} bytes: {}", message.len(), &message[..200]);
    assert!(message.contains("(500000 characters)"), "{message}");
    let value = "9".repeat(100_000);
    let message = error_for(&format!(r#"{{"op":"exit","task":"{value}"}}"#));
    assert!(message.len() < 300, "{} bytes", message.len());
    let message = error_for(&format!(r#"{{"op":"exit","task":-{value}}}"#));
    assert!(message.len() < 300, "{} bytes", message.len());
}

#[test]
fn reader_handles_crlf_bom_missing_final_newline_and_bad_utf8() {
    let text = "\u{feff}{\"op\":\"exec\",\"task\":1}\r\n\r\n{\"op\":\"exit\",\"task\":1}";
    let ops: Vec<Located<TraceOp>> = read_all(text, "t").into_iter().map(|item| item.expect("valid")).collect();
    assert_eq!(
        ops,
        [
            Located { line: 1, value: plain(Op::Exec { task: TaskId(1) }) },
            Located { line: 3, value: plain(Op::Exit { task: TaskId(1) }) },
        ]
    );

    let bytes: &[u8] = b"{\"op\":\"mark\",\"label\":\"ab\xff\"}\n{\"op\":\"exit\",\"task\":1}\n";
    let items: Vec<_> = TraceReader::new(bytes, "bin").collect();
    assert_eq!(
        items[0].as_ref().map_err(ToString::to_string).err().as_deref(),
        Some("bin:1:25: the line is not valid UTF-8 text")
    );
    assert!(items[1].is_ok());
}

#[test]
fn writer_and_reader_agree_with_comments_in_between() {
    let ops = example_trace_ops();
    let mut writer = TraceWriter::new(Vec::new());
    writer.write_comment("generated by a test\nsecond comment line").expect("in memory");
    let mut expected_lines = Vec::new();
    let mut line = 2;
    for (index, op) in ops.iter().enumerate() {
        let expect = (index % 3 == 0).then_some(KernReturn::Success);
        writer.write_op(&TraceOp { op: op.clone(), expect }).expect("in memory");
        line += 1;
        expected_lines.push(line);
        if index % 4 == 1 {
            writer.write_comment("").expect("in memory");
            line += 1;
        }
    }
    let bytes = writer.into_inner();
    let text = String::from_utf8(bytes).expect("the writer writes UTF-8");
    assert!(text.starts_with("# generated by a test\n# second comment line\n"));
    let located: Vec<Located<TraceOp>> =
        read_all(&text, "w").into_iter().map(|item| item.expect("writer output parses")).collect();
    assert_eq!(located.iter().map(|l| l.line).collect::<Vec<_>>(), expected_lines);
    for (index, (read, op)) in located.into_iter().zip(ops).enumerate() {
        let expect = (index % 3 == 0).then_some(KernReturn::Success);
        assert_eq!(read.value, TraceOp { op, expect });
    }
}

// --- files and gzip --------------------------------------------------------------

/// A path in the temp directory no other test or process uses.
fn temp_path(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("cowsim-trace-{tag}-{}-{nanos}", std::process::id()))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

fn ops_of(path: &std::path::Path) -> Vec<TraceOp> {
    open_trace(path).expect("opens").map(|item| item.expect("valid").value).collect()
}

#[test]
fn open_trace_reads_plain_and_gzip_files() {
    let expected: Vec<TraceOp> = example_trace_ops().into_iter().map(plain).collect();

    let plain_path = temp_path("plain.jsonl");
    std::fs::write(&plain_path, EXAMPLE_TRACE).expect("temp dir is writable");
    let gz_path = temp_path("trace.jsonl.gz");
    std::fs::write(&gz_path, gzip(EXAMPLE_TRACE.as_bytes())).expect("temp dir is writable");
    // Two gzip members back to back read as one stream, as with `zcat`.
    let (first, second) = EXAMPLE_TRACE.split_at(EXAMPLE_TRACE.len() / 2);
    let mut two_members = gzip(first.as_bytes());
    two_members.extend(gzip(second.as_bytes()));
    let multi_path = temp_path("multi.gz");
    std::fs::write(&multi_path, two_members).expect("temp dir is writable");

    let results = [ops_of(&plain_path), ops_of(&gz_path), ops_of(&multi_path)];
    for path in [&plain_path, &gz_path, &multi_path] {
        let _ = std::fs::remove_file(path);
    }
    for ops in results {
        assert_eq!(ops, expected);
    }
}

#[test]
fn open_trace_errors_name_the_file() {
    let missing = temp_path("does-not-exist");
    let error = open_trace(&missing).err().expect("missing file");
    assert!(matches!(error, TraceError::Io { .. }));
    assert_eq!(error.line(), None);
    assert!(error.to_string().starts_with(&missing.display().to_string()));

    // A gzip stream cut short is an I/O error that ends the iteration.
    let path = temp_path("truncated.gz");
    let compressed = gzip(EXAMPLE_TRACE.repeat(50).as_bytes());
    std::fs::write(&path, &compressed[..compressed.len() / 2]).expect("temp dir is writable");
    let items: Vec<_> = open_trace(&path).expect("opens").collect();
    let _ = std::fs::remove_file(&path);
    assert!(matches!(items.last(), Some(Err(TraceError::Io { .. }))));
    assert!(items.iter().rev().skip(1).all(Result::is_ok));
}

// --- properties ------------------------------------------------------------------

fn task() -> impl Strategy<Value = TaskId> {
    any::<u32>().prop_map(TaskId)
}

/// Addresses and sizes: any u64, and page multiples (written with suffixes).
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), (0u64..1 << 24).prop_map(|pages| pages * 4096), Just(0)]
}

fn protection() -> impl Strategy<Value = Prot> {
    prop::sample::select(vec!["", "r", "w", "x", "rw", "rx", "wx", "rwx"]).prop_map(prot)
}

/// Any text, control characters and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

/// An address, or "anywhere" (or both); never neither, which no trace line
/// can express.
fn placement() -> impl Strategy<Value = (Option<u64>, bool)> {
    (prop::option::of(number()), any::<bool>()).prop_map(|(addr, anywhere)| (addr, anywhere || addr.is_none()))
}

fn access_op() -> impl Strategy<Value = Op> {
    let kind = prop::sample::select(vec![Access::Read, Access::Write, Access::ExecFetch]);
    let recorded = prop::option::of(prop::sample::select(vec![Recorded::NotPresent, Recorded::Present]));
    (kind, task(), number(), number(), prop::option::of(any::<u64>()), recorded).prop_map(
        |(access, task, addr, len, token, recorded)| {
            let (value, expect_value) = if access == Access::Write { (token, None) } else { (None, token) };
            Op::Access(AccessOp { task, access, addr, len, value, expect_value, recorded })
        },
    )
}

fn any_op() -> impl Strategy<Value = Op> {
    let inherit = prop::sample::select(vec![Inheritance::Share, Inheritance::Copy, Inheritance::None]);
    prop_oneof![
        task().prop_map(|task| Op::TaskCreate { task }),
        (task(), task()).prop_map(|(parent, child)| Op::Fork { parent, child }),
        task().prop_map(|task| Op::Exec { task }),
        task().prop_map(|task| Op::Exit { task }),
        (task(), placement(), number()).prop_map(|(task, (addr, anywhere), size)| Op::VmAllocate {
            task,
            addr,
            size,
            anywhere
        }),
        (task(), number(), number()).prop_map(|(task, addr, size)| Op::VmDeallocate { task, addr, size }),
        (task(), number(), number(), protection(), any::<bool>())
            .prop_map(|(task, addr, size, prot, set_max)| Op::VmProtect { task, addr, size, prot, set_max }),
        (task(), number(), number(), inherit)
            .prop_map(|(task, addr, size, inherit)| { Op::VmInherit { task, addr, size, inherit } }),
        (task(), number(), number(), task(), prop::option::of(number()))
            .prop_map(|(task, addr, size, caller, dst)| Op::VmRead { task, addr, size, caller, dst }),
        (task(), number(), number(), task(), number()).prop_map(|(task, addr, size, caller, src)| Op::VmWrite {
            task,
            addr,
            size,
            caller,
            src
        }),
        (task(), number(), number(), number()).prop_map(|(task, src, size, dst)| Op::VmCopy { task, src, size, dst }),
        (task(), placement(), number(), text(), number(), any::<bool>(), protection()).prop_map(
            |(task, (addr, anywhere), size, file, offset, private, prot)| Op::VmMap {
                task,
                addr,
                size,
                anywhere,
                file,
                offset,
                private,
                prot
            }
        ),
        access_op(),
        text().prop_map(|label| Op::Mark { label }),
    ]
}

fn any_trace_op() -> impl Strategy<Value = TraceOp> {
    (any_op(), prop::option::of(prop::sample::select(KernReturn::ALL.to_vec())))
        .prop_map(|(op, expect)| TraceOp { op, expect })
}

/// One random edit of a line: delete the character at a position, or insert
/// one there.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting =
        prop::sample::select(vec!['"', '{', '}', ',', ':', '\\', '[', '-', '0', 'x', 'K', ' ', 'é', '\n']);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), interesting).prop_map(|(at, c)| Edit::Insert(at, c)),
        (any::<usize>(), any::<char>()).prop_map(|(at, c)| Edit::Insert(at, c)),
    ]
}

fn apply(line: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for edit in edits {
        match *edit {
            Edit::Delete(at) if !chars.is_empty() => {
                chars.remove(at % chars.len());
            }
            Edit::Delete(_) => {}
            Edit::Insert(at, c) => chars.insert(at % (chars.len() + 1), c),
        }
    }
    chars.into_iter().collect()
}

/// A problem's column points inside the line or just past its end.
fn assert_column_in_line(text: &str, column: usize) {
    assert!(column >= 1 && column <= text.chars().count() + 1, "column {column} outside {text:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn format_then_parse_gives_the_same_op(trace_op in any_trace_op()) {
        let line = format_op(&trace_op);
        let op_first = line.starts_with(r#"{"op":"#);
        prop_assert!(op_first);
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(parse_line(&line), Ok(trace_op));
    }

    #[test]
    fn writer_then_reader_gives_the_same_ops(ops in prop::collection::vec(any_trace_op(), 0..20)) {
        let mut writer = TraceWriter::new(Vec::new());
        for op in &ops {
            writer.write_comment("op follows").expect("in memory");
            writer.write_op(op).expect("in memory");
        }
        let bytes = writer.into_inner();
        let read: Vec<_> = TraceReader::new(bytes.as_slice(), "p").collect();
        prop_assert_eq!(read.len(), ops.len());
        for (index, (item, op)) in read.into_iter().zip(ops).enumerate() {
            prop_assert_eq!(item.ok(), Some(Located { line: 2 * index + 2, value: op }));
        }
    }

    #[test]
    fn mangled_lines_never_panic(trace_op in any_trace_op(), edits in prop::collection::vec(edit(), 1..4)) {
        let line = apply(&format_op(&trace_op), &edits);
        if let Err(problem) = parse_line(&line) {
            assert_column_in_line(&line, problem.column);
        }
        for item in TraceReader::new(line.as_bytes(), "m") {
            if let Err(TraceError::Parse { column, .. }) = item {
                prop_assert!(column >= 1);
            }
        }
    }

    #[test]
    fn random_strings_never_panic(line in "\\PC{0,80}") {
        if let Err(problem) = parse_line(&line) {
            assert_column_in_line(&line, problem.column);
        }
    }

    #[test]
    fn json_looking_strings_never_panic(line in r#"\{("(op|task|addr|size|len|prot|\\u0061|x)"|[:,"0-9a-zA-Z\[\]{}\\ -]){0,40}\}?"#) {
        if let Err(problem) = parse_line(&line) {
            assert_column_in_line(&line, problem.column);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for item in TraceReader::new(bytes.as_slice(), "bytes") {
            let _ = item.map_err(|error| error.to_string());
        }
    }
}

#[test]
fn deep_nesting_is_an_error_and_no_stack_overflow() {
    for depth in [200, 100_000] {
        let open = "[".repeat(depth);
        let close = "]".repeat(depth);
        let line = format!(r#"{{"op":"mark","label":{open}{close}}}"#);
        // serde_json skips the ignored value without recursing, so this is
        // the ordinary type error.
        let message = parse_line(&line).expect_err("not a valid op").message;
        assert_eq!(message, r#"expected a string for "label""#);
        let unclosed = format!(r#"{{"op":"mark","label":{open}"#);
        assert!(parse_line(&unclosed).is_err());
    }
    // Shallow nesting parses as JSON and is then rejected by type.
    assert_eq!(
        parse_line(r#"{"op":"mark","label":[[1],{"a":[2]}]}"#).map_err(|p| p.to_string()),
        Err(r#"column 22: expected a string for "label""#.to_owned())
    );
}

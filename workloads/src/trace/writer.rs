//! Writing ops as trace lines, the way a person would write them.

use std::fmt::Write as _;
use std::io::{self, Write};

use sim::ids::TaskId;
use sim::op::TraceOp;

use super::ops::spec_of;

/// Writes ops as trace lines, one line each, plus `#` comments.
///
/// Writes go straight to `W`; wrap a file in a `BufWriter`.
pub struct TraceWriter<W: Write> {
    output: W,
    /// The line being built, reused from op to op.
    line: String,
}

impl<W: Write> TraceWriter<W> {
    /// A writer appending to `output`.
    pub fn new(output: W) -> Self {
        TraceWriter { output, line: String::with_capacity(256) }
    }

    /// Writes `op` as one line (see [`format_op`]).
    pub fn write_op(&mut self, op: &TraceOp) -> io::Result<()> {
        self.line.clear();
        push_op(&mut self.line, op);
        self.line.push('\n');
        self.output.write_all(self.line.as_bytes())
    }

    /// Writes `text` as comment lines, `# ` before each of its lines, so it
    /// cannot break out of the comment whatever it contains.
    pub fn write_comment(&mut self, text: &str) -> io::Result<()> {
        self.line.clear();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            self.line.push('#');
            if !line.is_empty() {
                self.line.push(' ');
                self.line.push_str(line);
            }
            self.line.push('\n');
        }
        self.output.write_all(self.line.as_bytes())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.output
    }
}

/// One trace line for `op`, without a newline.
///
/// The reader reads it back as the same op, except for in-memory values
/// that mean nothing in a trace and that the reader therefore never
/// produces: a `vm_allocate` or `vm_map` with neither an address nor
/// `anywhere`, a `value` on a read or fetch, an `expect_value` on a write.
/// Those are written as they are, and the reader rejects the line.
pub fn format_op(op: &TraceOp) -> String {
    let mut line = String::with_capacity(128);
    push_op(&mut line, op);
    line
}

/// Appends the line for `op` to `out`: `"op"`, the fields as the op
/// table's entry writes them, then `expect`.
fn push_op(out: &mut String, trace_op: &TraceOp) {
    let spec = spec_of(&trace_op.op);
    let mut line = ObjectWriter::begin(out, spec.name);
    spec.write(&trace_op.op, &mut line);
    if let Some(expect) = trace_op.expect {
        line.string("expect", expect.name());
    }
    line.finish();
}

/// Builds one JSON object into a string, a member at a time. The op
/// table's writers call one method per field, by the field's kind.
pub(super) struct ObjectWriter<'s> {
    out: &'s mut String,
}

impl<'s> ObjectWriter<'s> {
    /// Opens the object with its `"op"` member.
    fn begin(out: &'s mut String, op_name: &str) -> Self {
        out.push_str("{\"op\":");
        push_json_string(out, op_name);
        ObjectWriter { out }
    }

    /// Starts a member: `,"key":`.
    fn key(&mut self, key: &str) {
        self.out.push(',');
        push_json_string(self.out, key);
        self.out.push(':');
    }

    /// A task id, as a JSON integer.
    pub(super) fn task(&mut self, key: &str, task: TaskId) {
        self.key(key);
        push_decimal(self.out, u64::from(task.0));
    }

    /// An address-like number (address, offset, token), as a hex string.
    pub(super) fn address(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out.push('"');
        push_hex(self.out, value);
        self.out.push('"');
    }

    pub(super) fn optional_address(&mut self, key: &str, value: Option<u64>) {
        if let Some(value) = value {
            self.address(key, value);
        }
    }

    /// A size or length, as a string like `"64K"` (see [`format_size`]).
    pub(super) fn size(&mut self, key: &str, size: u64) {
        self.key(key);
        self.out.push('"');
        push_size(self.out, size);
        self.out.push('"');
    }

    pub(super) fn boolean(&mut self, key: &str, flag: bool) {
        self.key(key);
        self.out.push_str(if flag { "true" } else { "false" });
    }

    /// A flag whose default is `false`: written only when set.
    pub(super) fn flag_if_true(&mut self, key: &str, flag: bool) {
        if flag {
            self.boolean(key, true);
        }
    }

    pub(super) fn string(&mut self, key: &str, text: &str) {
        self.key(key);
        push_json_string(self.out, text);
    }

    fn finish(self) {
        self.out.push('}');
    }
}

/// A size the way a person writes it: with the largest suffix `G`, `M` or
/// `K` that divides it exactly (`"64K"`, `"2M"`), in hex otherwise
/// (`"0x1800"`, `"0x0"`).
pub fn format_size(size: u64) -> String {
    let mut text = String::new();
    push_size(&mut text, size);
    text
}

fn push_size(out: &mut String, size: u64) {
    const SUFFIXES: [(u64, char); 3] = [(1 << 30, 'G'), (1 << 20, 'M'), (1 << 10, 'K')];
    let suffix = SUFFIXES.iter().find(|(unit, _)| size != 0 && size.is_multiple_of(*unit));
    match suffix {
        Some((unit, letter)) => {
            push_decimal(out, size / unit);
            out.push(*letter);
        }
        None => push_hex(out, size),
    }
}

/// Appends `value` in decimal. (The writer's hot path: `write!` through
/// `core::fmt` costs several times more, and importers write millions of
/// lines.)
fn push_decimal(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&b| char::from(b)));
}

/// Appends `value` as `0x` and lowercase hex digits, like `{:#x}`.
fn push_hex(out: &mut String, mut value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 18];
    let mut at = text.len();
    loop {
        at -= 1;
        text[at] = DIGITS[(value & 0xf) as usize];
        value >>= 4;
        if value == 0 {
            break;
        }
    }
    at -= 2;
    text[at] = b'0';
    text[at + 1] = b'x';
    out.extend(text[at..].iter().map(|&b| char::from(b)));
}

/// Appends `text` as a JSON string literal: quotes, backslashes and control
/// characters escaped, everything else as it is (JSON is UTF-8).
fn push_json_string(out: &mut String, text: &str) {
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        // Nothing to escape: the common case (op names, keys, prot).
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_like_format() {
        for value in [0, 1, 9, 10, 15, 16, 255, 4096, 0x7fff_ffff_f000, u64::from(u32::MAX), u64::MAX] {
            let (mut decimal, mut hex) = (String::new(), String::new());
            push_decimal(&mut decimal, value);
            push_hex(&mut hex, value);
            assert_eq!(decimal, value.to_string());
            assert_eq!(hex, format!("{value:#x}"));
        }
        let mut escaped = String::new();
        push_json_string(&mut escaped, "a\"b\\c\u{1}é");
        assert_eq!(escaped, r#""a\"b\\c\u0001é""#);
    }

    #[test]
    fn sizes_are_written_with_the_largest_exact_suffix() {
        assert_eq!(format_size(0), "0x0");
        assert_eq!(format_size(4096), "4K");
        assert_eq!(format_size(64 << 10), "64K");
        assert_eq!(format_size(1536 << 10), "1536K");
        assert_eq!(format_size(2 << 20), "2M");
        assert_eq!(format_size(3 << 30), "3G");
        assert_eq!(format_size(0x1800 + 1), "0x1801");
        assert_eq!(format_size(u64::MAX), "0xffffffffffffffff");
    }
}

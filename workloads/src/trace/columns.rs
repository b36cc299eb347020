//! Where things are in the raw text of a line: the byte spans of its
//! members and the character columns messages give. Only the error path
//! comes here, so a good line pays nothing for exact columns.

use std::borrow::Cow;

/// Where one `"key": value` member of the line's top-level object sits.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct MemberSpan<'t> {
    /// The key with escapes decoded, to compare with serde_json's keys.
    pub(super) key: Cow<'t, str>,
    /// Byte offset of the key's opening quote.
    pub(super) key_start: usize,
    /// Byte range of the value's text.
    pub(super) value_start: usize,
    pub(super) value_end: usize,
}

/// The members of the top-level object in `text`, in order.
///
/// Only called to place an error, after serde_json has accepted the line as
/// a JSON object, so it need not diagnose anything; on malformed input it
/// stops early and returns what it found, and it never panics. Scanning
/// token by token (rather than searching for `"key":`) is what keeps a
/// string value that happens to contain `\"task\":` from being mistaken for
/// a key.
pub(super) fn member_spans(text: &str) -> Vec<MemberSpan<'_>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return spans;
    }
    at += 1;
    loop {
        at = skip_space(bytes, at);
        if bytes.get(at) != Some(&b'"') {
            return spans;
        }
        let key_start = at;
        let key_end = skip_string(bytes, at);
        let Some(key) = decode_key(text, key_start, key_end) else {
            return spans;
        };
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return spans;
        }
        let value_start = skip_space(bytes, at + 1);
        let value_end = skip_value(bytes, value_start);
        spans.push(MemberSpan { key, key_start, value_start, value_end });
        at = skip_space(bytes, value_end);
        if bytes.get(at) != Some(&b',') {
            return spans;
        }
        at += 1;
    }
}

/// The key whose quoted text spans `start..end`, escapes decoded.
fn decode_key(text: &str, start: usize, end: usize) -> Option<Cow<'_, str>> {
    let quoted = text.get(start..end)?;
    let inner = quoted.get(1..quoted.len().checked_sub(1)?)?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The first offset at or after `at` that is not JSON whitespace.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The offset just past the string whose opening quote is at `at`.
fn skip_string(bytes: &[u8], mut at: usize) -> usize {
    at += 1;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The offset just past the JSON value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => skip_string(bytes, at),
        Some(b'{' | b'[') => skip_nested(bytes, at),
        _ => {
            let mut end = at;
            while let Some(byte) = bytes.get(end) {
                if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                end += 1;
            }
            end
        }
    }
}

/// The offset just past the array or object opening at `at`.
fn skip_nested(bytes: &[u8], mut at: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                at = skip_string(bytes, at);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    bytes.len()
}

/// The byte offset serde_json's 1-based `line` and byte `column` point at.
/// (A trace line has no newline, but a caller of
/// [`parse_line`](super::parse_line) may pass text that has.)
pub(super) fn byte_offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start =
        if line <= 1 { 0 } else { text.match_indices('\n').nth(line - 2).map_or(text.len(), |(at, _)| at + 1) };
    line_start.saturating_add(column.saturating_sub(1)).min(text.len())
}

/// The 1-based character column of byte offset `byte` in `text` (rounded
/// down to a character boundary, clamped to the end).
pub(super) fn char_column(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    text.get(..byte).map_or(0, |before| before.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_spans_skip_strings_that_look_like_keys() {
        let text = r#"{"op":"mark", "label":"\"task\":1,{[" , "x" : [1,{"a":"]"}], "t\u0061sk":7}"#;
        let spans = member_spans(text);
        let keys: Vec<&str> = spans.iter().map(|s| s.key.as_ref()).collect();
        assert_eq!(keys, ["op", "label", "x", "task"]);
        let values: Vec<&str> = spans.iter().map(|s| &text[s.value_start..s.value_end]).collect();
        assert_eq!(values, ["\"mark\"", r#""\"task\":1,{[""#, r#"[1,{"a":"]"}]"#, "7"]);
    }

    #[test]
    fn member_spans_never_panic_on_truncated_text() {
        let text = r#"{"op":"mark","label":"a\"b","x":[1,2]}"#;
        for end in 0..=text.len() {
            let _ = member_spans(&text[..end]);
        }
        let _ = member_spans("{\"\\");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(char_column("abc", 0), 1);
        assert_eq!(char_column("éé x", 4), 3);
        // Inside a two-byte character: rounds down to its start.
        assert_eq!(char_column("éé x", 3), 2);
        assert_eq!(char_column("ab", 99), 3);
        assert_eq!(byte_offset_of("ab\ncd", 2, 2), 4);
    }
}

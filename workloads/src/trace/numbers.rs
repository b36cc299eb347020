//! Numbers as a trace writes them: JSON integers, or strings in decimal,
//! hex, or decimal with a size suffix.

/// What a numeric field holds, for its range and its messages.
#[derive(Clone, Copy)]
pub(super) enum NumberKind {
    /// An address, size, offset or page token: 64 bits.
    Number,
    /// A task id: 32 bits.
    TaskId,
}

impl NumberKind {
    pub(super) fn max(self) -> u64 {
        match self {
            NumberKind::Number => u64::MAX,
            NumberKind::TaskId => u64::from(u32::MAX),
        }
    }
    pub(super) fn bits(self) -> u32 {
        match self {
            NumberKind::Number => 64,
            NumberKind::TaskId => 32,
        }
    }
    /// What the value is called in "bad ..." messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            NumberKind::Number => "number",
            NumberKind::TaskId => "task id",
        }
    }
    /// What a value of the wrong JSON type should have been.
    pub(super) fn expected(self) -> &'static str {
        match self {
            NumberKind::Number => "a number or a string like \"0x1000\" or \"64K\"",
            NumberKind::TaskId => "a task id (a number like 1)",
        }
    }
}

/// Why a number string did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberProblem {
    #[error("the string is empty")]
    Empty,
    #[error("negative numbers are not allowed")]
    Negative,
    #[error("no hex digits after \"0x\"")]
    NoHexDigits,
    #[error("{0:?} is not a hex digit")]
    BadHexDigit(char),
    #[error("{0:?} is not a hex digit (size suffixes go only after decimal numbers)")]
    SuffixAfterHex(char),
    #[error("{0:?} is not a digit")]
    BadDigit(char),
    #[error("unknown size suffix {0:?} (use K, M or G)")]
    UnknownSuffix(String),
    #[error("too large for 64 bits")]
    TooLarge,
}

/// Parses the string form of a number: decimal `"4096"`, hex `"0x1000"`
/// (prefix and digits in either case), or decimal with a size suffix `K`,
/// `M`, `G` (powers of 1024, either case). Overflow is an error.
pub fn parse_number_text(text: &str) -> Result<u64, NumberProblem> {
    if text.is_empty() {
        return Err(NumberProblem::Empty);
    }
    if let Some(digits) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return parse_hex_digits(digits);
    }
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let first = suffix.chars().next();
    if digits.is_empty() {
        return Err(match first {
            Some('-') => NumberProblem::Negative,
            Some(c) => NumberProblem::BadDigit(c),
            None => NumberProblem::Empty,
        });
    }
    let multiplier: u64 = match suffix {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => {
            return Err(match first {
                Some(c) if c.is_alphabetic() => NumberProblem::UnknownSuffix(suffix.to_owned()),
                Some(c) => NumberProblem::BadDigit(c),
                None => NumberProblem::Empty,
            });
        }
    };
    let mut value: u64 = 0;
    for digit in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or(NumberProblem::TooLarge)?;
    }
    value.checked_mul(multiplier).ok_or(NumberProblem::TooLarge)
}

/// Parses the digits after a `0x` prefix.
fn parse_hex_digits(digits: &str) -> Result<u64, NumberProblem> {
    if digits.is_empty() {
        return Err(NumberProblem::NoHexDigits);
    }
    let mut value: u64 = 0;
    for (index, c) in digits.char_indices() {
        let Some(digit) = c.to_digit(16) else {
            let is_last = index + c.len_utf8() == digits.len();
            let looks_like_suffix = is_last && matches!(c, 'K' | 'k' | 'M' | 'm' | 'G' | 'g');
            return Err(if looks_like_suffix {
                NumberProblem::SuffixAfterHex(c)
            } else {
                NumberProblem::BadHexDigit(c)
            });
        };
        value = value.checked_mul(16).and_then(|v| v.checked_add(u64::from(digit))).ok_or(NumberProblem::TooLarge)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_strings() {
        assert_eq!(parse_number_text("4096"), Ok(4096));
        assert_eq!(parse_number_text("0x7f0000"), Ok(0x7f0000));
        assert_eq!(parse_number_text("0X7F0000"), Ok(0x7f0000));
        assert_eq!(parse_number_text("0xAbC"), Ok(0xabc));
        assert_eq!(parse_number_text("64K"), Ok(64 << 10));
        assert_eq!(parse_number_text("64k"), Ok(64 << 10));
        assert_eq!(parse_number_text("2M"), Ok(2 << 20));
        assert_eq!(parse_number_text("1G"), Ok(1 << 30));
        assert_eq!(parse_number_text("0"), Ok(0));
        assert_eq!(parse_number_text("007"), Ok(7));
        assert_eq!(parse_number_text("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_number_text("0xffffffffffffffff"), Ok(u64::MAX));
    }

    #[test]
    fn bad_number_strings() {
        use NumberProblem::*;
        assert_eq!(parse_number_text(""), Err(Empty));
        assert_eq!(parse_number_text("12Q"), Err(UnknownSuffix("Q".into())));
        assert_eq!(parse_number_text("12KB"), Err(UnknownSuffix("KB".into())));
        assert_eq!(parse_number_text("-1"), Err(Negative));
        assert_eq!(parse_number_text("0x"), Err(NoHexDigits));
        assert_eq!(parse_number_text("0xZZ"), Err(BadHexDigit('Z')));
        assert_eq!(parse_number_text("0x10K"), Err(SuffixAfterHex('K')));
        assert_eq!(parse_number_text("abc"), Err(BadDigit('a')));
        assert_eq!(parse_number_text(" 1"), Err(BadDigit(' ')));
        assert_eq!(parse_number_text("1 "), Err(BadDigit(' ')));
        assert_eq!(parse_number_text("99999999999999999999"), Err(TooLarge));
        assert_eq!(parse_number_text("0x10000000000000000"), Err(TooLarge));
        assert_eq!(parse_number_text("17179869184G"), Err(TooLarge));
        assert_eq!(parse_number_text("٣"), Err(BadDigit('٣')));
    }
}

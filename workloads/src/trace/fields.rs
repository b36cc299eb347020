//! Reading one field of a line as the value it must hold (a task id, a
//! number, a flag, a protection...), with the message for a missing field
//! or a value of the wrong kind. The builders in the op table call these.
//!
//! `op_name` arguments name the op in "missing field" messages.

use sim::ids::TaskId;
use sim::op::Recorded;
use sim::types::{Inheritance, KernReturn, Prot};

use super::errors::{ParseProblem, quoted};
use super::json::JsonValue;
use super::numbers::{NumberKind, NumberProblem, parse_number_text};
use super::parse::Line;
use crate::suggest::did_you_mean;

/// The names `recorded` takes, with their values.
const RECORDED_NAMES: [(&str, Recorded); 2] = [("not_present", Recorded::NotPresent), ("present", Recorded::Present)];

impl<'t> Line<'t> {
    /// The value of a required field, or a "missing field" problem.
    fn required(&self, key: &str, op_name: &str) -> Result<&JsonValue<'t>, ParseProblem> {
        self.get(key).ok_or_else(|| ParseProblem { column: 1, message: format!("missing field {key:?} for {op_name}") })
    }

    /// A required 64-bit number (address, size, offset, token).
    pub(super) fn number(&self, key: &str, op_name: &str) -> Result<u64, ParseProblem> {
        let value = self.required(key, op_name)?;
        self.to_number(key, value, NumberKind::Number)
    }

    /// An optional 64-bit number: `None` when the field is absent.
    pub(super) fn optional_number(&self, key: &str) -> Result<Option<u64>, ParseProblem> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => self.to_number(key, value, NumberKind::Number).map(Some),
        }
    }

    /// A required task id (32 bits, same number syntax as addresses).
    pub(super) fn task(&self, key: &str, op_name: &str) -> Result<TaskId, ParseProblem> {
        let value = self.required(key, op_name)?;
        let id = self.to_number(key, value, NumberKind::TaskId)?;
        // to_number has checked the range already.
        Ok(TaskId(u32::try_from(id).unwrap_or(u32::MAX)))
    }

    /// An optional task id: `None` when the field is absent.
    pub(super) fn optional_task(&self, key: &str) -> Result<Option<TaskId>, ParseProblem> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.task(key, "").map(Some),
        }
    }

    /// Converts the JSON value of `key` to a number of the given kind.
    fn to_number(&self, key: &str, value: &JsonValue, kind: NumberKind) -> Result<u64, ParseProblem> {
        let max = kind.max();
        let too_large = || format!("too large for {} bits", kind.bits());
        let (shown, why) = match value {
            JsonValue::Unsigned(n) if *n <= max => return Ok(*n),
            JsonValue::Unsigned(n) => (n.to_string(), too_large()),
            JsonValue::Str(text) => match parse_number_text(text) {
                Ok(n) if n <= max => return Ok(n),
                Ok(_) | Err(NumberProblem::TooLarge) => (quoted(text), too_large()),
                Err(problem) => (quoted(text), problem.to_string()),
            },
            JsonValue::Negative => (self.raw_value(key), NumberProblem::Negative.to_string()),
            JsonValue::Float => {
                let raw = self.raw_value(key);
                // serde_json reads an integer past u64::MAX, and "-0", as floats.
                let digits = raw.strip_prefix('-').unwrap_or(&raw);
                let why = if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                    "not a plain integer (no fraction or exponent)".to_owned()
                } else if raw.starts_with('-') {
                    NumberProblem::Negative.to_string()
                } else {
                    too_large()
                };
                (raw, why)
            }
            JsonValue::Bool(_) | JsonValue::Null | JsonValue::Array | JsonValue::Object => {
                let expected = kind.expected();
                return Err(self.at_value(key, format!("expected {expected} for {key:?}")));
            }
        };
        let name = kind.name();
        Err(self.at_value(key, format!("bad {name} {shown} for {key:?}: {why}")))
    }

    /// An optional `true`/`false` field.
    pub(super) fn optional_flag(&self, key: &str) -> Result<Option<bool>, ParseProblem> {
        match self.get(key) {
            None => Ok(None),
            Some(JsonValue::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(self.at_value(key, format!("expected true or false for {key:?}"))),
        }
    }

    /// A required string field, e.g. a file name or a label.
    pub(super) fn string(&self, key: &str, op_name: &str) -> Result<String, ParseProblem> {
        let value = self.required(key, op_name)?;
        self.string_in(key, value, "a string").map(str::to_owned)
    }

    /// The string in `value` (the value of `key`); `expected` describes
    /// what the field holds, for the wrong-type message.
    fn string_in<'v>(&self, key: &str, value: &'v JsonValue, expected: &str) -> Result<&'v str, ParseProblem> {
        match value {
            JsonValue::Str(text) => Ok(text),
            _ => Err(self.at_value(key, format!("expected {expected} for {key:?}"))),
        }
    }

    /// Required page runs, `"0+3,10+2"` (see `FieldKind::PageRuns`):
    /// decimal first pages and counts. Their order and fit are the
    /// simulator's to check; here only the form.
    pub(super) fn page_runs(&self, key: &str, op_name: &str) -> Result<Vec<(u64, u64)>, ParseProblem> {
        let value = self.required(key, op_name)?;
        let text = self.string_in(key, value, "page runs like \"0+3,10+2\"")?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let run = |part: &str| {
            let (first, count) = part.split_once('+')?;
            let number = |digits: &str| {
                (!digits.is_empty() && digits.len() <= 16 && digits.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| digits.parse::<u64>().ok())
                    .flatten()
            };
            Some((number(first)?, number(count)?))
        };
        text.split(',')
            .map(|part| {
                run(part).ok_or_else(|| {
                    let why = "each run is FIRST+COUNT in decimal pages, runs separated by commas, like \"0+3,10+2\"";
                    self.at_value(key, format!("bad page run {} for {key:?}: {why}", quoted(part)))
                })
            })
            .collect()
    }

    /// A required protection such as `"rw"`.
    pub(super) fn prot(&self, key: &str, op_name: &str) -> Result<Prot, ParseProblem> {
        let value = self.required(key, op_name)?;
        let text = self.string_in(key, value, "a protection like \"rw\"")?;
        Prot::parse(text).ok_or_else(|| {
            let why = "use the letters r, w and x, each at most once (\"\" for none)";
            self.at_value(key, format!("bad protection {} for {key:?}: {why}", quoted(text)))
        })
    }

    /// A required inheritance: `share`, `copy` or `none`.
    pub(super) fn inheritance(&self, key: &str, op_name: &str) -> Result<Inheritance, ParseProblem> {
        let choices = "\"share\", \"copy\" or \"none\"";
        let text = self.string_in(key, self.required(key, op_name)?, choices)?;
        Inheritance::parse(text).ok_or_else(|| {
            let why = vocabulary_hint(text, ["share", "copy", "none"], choices);
            self.at_value(key, format!("bad inheritance {} for {key:?}: {why}", quoted(text)))
        })
    }

    /// An optional `recorded` fault class.
    pub(super) fn recorded(&self, key: &str) -> Result<Option<Recorded>, ParseProblem> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let choices = "\"not_present\" or \"present\"";
        let text = self.string_in(key, value, choices)?;
        let found = RECORDED_NAMES.iter().find(|(name, _)| *name == text);
        found.map(|(_, recorded)| Some(*recorded)).ok_or_else(|| {
            let why = vocabulary_hint(text, RECORDED_NAMES.map(|(name, _)| name), choices);
            self.at_value(key, format!("bad recorded fault {} for {key:?}: {why}", quoted(text)))
        })
    }

    /// The optional `expect` every op may carry.
    pub(super) fn expect(&self) -> Result<Option<KernReturn>, ParseProblem> {
        let Some(value) = self.get("expect") else {
            return Ok(None);
        };
        let text = self.string_in("expect", value, "a return code like \"KERN_SUCCESS\"")?;
        KernReturn::parse(text).map(Some).ok_or_else(|| {
            let names = KernReturn::ALL.map(KernReturn::name);
            let why = vocabulary_hint(text, names, &format!("one of {}", names.join(", ")));
            self.at_value("expect", format!("bad return code {} for \"expect\": {why}", quoted(text)))
        })
    }
}

/// "did you mean ...?" when `text` is close to one of `names`, else the
/// list of `choices`.
fn vocabulary_hint<'n>(text: &str, names: impl IntoIterator<Item = &'n str>, choices: &str) -> String {
    did_you_mean(text, names).unwrap_or_else(|| format!("expected {choices}"))
}

//! Reading one line's JSON object with serde_json into its `(key, value)`
//! entries, without building a `serde_json::Value` tree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::columns::{byte_offset_of, char_column};
use super::errors::ParseProblem;

/// More keys than any op has, by a margin; a line with more is rejected
/// early so that checking for duplicate keys stays cheap.
const MAX_FIELDS: usize = 32;

/// One `"key": value` of a line, as serde_json read it.
pub(super) type Entry<'t> = (Cow<'t, str>, JsonValue<'t>);

/// Reads the line's object into its entries, in line order, duplicates
/// included. The only errors are JSON syntax errors and too many keys.
pub(super) fn read_entries(text: &str) -> Result<Vec<Entry<'_>>, ParseProblem> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let entries = Entries::deserialize(&mut deserializer)
        .and_then(|entries| deserializer.end().map(|()| entries))
        .map_err(|error| json_error_problem(text, &error))?;
    Ok(entries.0)
}

/// Turns a serde_json error into a problem at the same place, dropping
/// serde_json's own " at line L column C" (it counts bytes, not characters).
fn json_error_problem(text: &str, error: &serde_json::Error) -> ParseProblem {
    let full = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let what = full.strip_suffix(&position).unwrap_or(&full);
    let message = match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("bad JSON: {what}")
        }
        // Data errors come only from our own visitor, which words them.
        serde_json::error::Category::Data | serde_json::error::Category::Io => what.to_owned(),
    };
    let byte = byte_offset_of(text, error.line(), error.column());
    ParseProblem { column: char_column(text, byte), message }
}

/// The JSON value of one field, reduced to what the format needs. Strings
/// borrow from the line unless they contain escapes; arrays and objects are
/// skipped (no field takes one) but remembered, to name them in messages.
#[derive(Debug)]
pub(super) enum JsonValue<'t> {
    Unsigned(u64),
    /// A negative integer (always an error; the raw text is quoted from the
    /// line when reporting it).
    Negative,
    /// A number with a fraction or exponent, or an integer past `u64::MAX`.
    Float,
    Str(Cow<'t, str>),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl<'de> Deserialize<'de> for JsonValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl<'de> Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(JsonValue::Bool(flag))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(JsonValue::Unsigned(n))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        // serde_json calls this only for numbers written with a minus sign;
        // "-0" is still zero.
        Ok(u64::try_from(n).map_or(JsonValue::Negative, JsonValue::Unsigned))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(JsonValue::Float)
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(JsonValue::Str(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(JsonValue::Str(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(JsonValue::Str(Cow::Owned(text)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonValue::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonValue::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonValue::Object)
    }
}

/// An object key, borrowed from the line unless it contains escapes.
struct Key<'t>(Cow<'t, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(text)))
    }
}

/// All entries of the line's object, in order and with duplicates: a
/// `serde_json::Map` would silently keep only the last of two equal keys.
struct Entries<'t>(Vec<Entry<'t>>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(8);
        while let Some(Key(key)) = map.next_key()? {
            if entries.len() == MAX_FIELDS {
                let message = format!("too many fields (no op takes more than {MAX_FIELDS})");
                return Err(de::Error::custom(message));
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Entries(entries))
    }
}

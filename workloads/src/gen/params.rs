//! Generator parameters: what each generator declares, and how `--param
//! NAME=VALUE` settings are checked against that declaration.
//!
//! A generator declares its parameters as a table of [`ParamSpec`]s: name,
//! kind (a whole number within bounds, or a fraction between 0 and 1),
//! default and meaning. The same table drives `cowsim workloads`, the
//! validation of the command line, and the `#` header of a generated trace,
//! so the three cannot disagree.
//!
//! Fractions are kept as whole parts per million, never as floating point
//! numbers: a generator then draws its random choices with integer
//! arithmetic only, and its output cannot depend on how a platform rounds.

use std::fmt;

use super::{GenError, hint};
use crate::trace::{parse_number_text, quoted};

/// A fraction between 0 and 1, held as parts per million.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fraction(u32);

impl Fraction {
    /// One whole: a million parts per million.
    pub const ONE: u32 = 1_000_000;

    /// The fraction `ppm / 1_000_000`. Panics above one: a generator's own
    /// constant is wrong.
    pub const fn ppm(ppm: u32) -> Fraction {
        assert!(ppm <= Fraction::ONE, "a fraction is at most 1");
        Fraction(ppm)
    }

    /// Parts per million.
    pub fn parts_per_million(self) -> u32 {
        self.0
    }

    /// `self` of `n`, rounded to the nearest whole number (halves up).
    pub fn of(self, n: u64) -> u64 {
        let scaled = u128::from(n) * u128::from(self.0) + u128::from(Fraction::ONE / 2);
        // At most n, so the conversion back cannot fail.
        u64::try_from(scaled / u128::from(Fraction::ONE)).unwrap_or(n)
    }

    /// Parses a decimal between 0 and 1 with at most six digits after the
    /// point (`"0.25"`, `"1"`, `".5"`), or a percentage (`"25%"`).
    pub fn parse(text: &str) -> Option<Fraction> {
        // `per_unit` is how many ppm one unit of the written number is worth.
        let (number, per_unit) = match text.strip_suffix('%') {
            Some(percent) => (percent, 10_000u64),
            None => (text, 1_000_000u64),
        };
        let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && decimals.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !decimals.bytes().all(|b| b.is_ascii_digit())
            || whole.len() > 7
            || decimals.len() > 6
        {
            return None;
        }
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        // The number in millionths: "0.25" is 250000, "25" is 25000000.
        let mut millionths = whole * 1_000_000;
        let mut place = 100_000;
        for digit in decimals.bytes() {
            millionths += u64::from(digit - b'0') * place;
            place /= 10;
        }
        let scaled = millionths * per_unit;
        if !scaled.is_multiple_of(1_000_000) {
            return None; // a percentage finer than one ppm
        }
        let ppm = scaled / 1_000_000;
        u32::try_from(ppm).ok().filter(|p| *p <= Fraction::ONE).map(Fraction)
    }
}

impl fmt::Display for Fraction {
    /// The shortest decimal that reads back as the same fraction: `0.8`,
    /// `1`, `0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / Fraction::ONE;
        let rest = self.0 % Fraction::ONE;
        if rest == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{rest:06}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// What values a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A whole number in `min..=max`, written in decimal or `0x` hex. No
    /// size suffix: those mean bytes, and a count is not a size.
    Count { min: u64, max: u64 },
    /// A fraction between 0 and 1 (`0.25` or `25%`).
    Fraction,
}

/// One parameter a generator takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name used in `--param NAME=VALUE`; stable.
    pub name: &'static str,
    pub kind: ParamKind,
    /// The default: the number itself, or parts per million for a fraction.
    pub default: u64,
    /// What the parameter means, in a few words.
    pub meaning: &'static str,
}

impl ParamSpec {
    /// A whole-number parameter.
    pub const fn count(name: &'static str, default: u64, min: u64, max: u64, meaning: &'static str) -> ParamSpec {
        assert!(min <= default && default <= max, "a parameter's default must lie within its bounds");
        ParamSpec { name, kind: ParamKind::Count { min, max }, default, meaning }
    }

    /// A fraction parameter, its default in parts per million.
    pub const fn fraction(name: &'static str, default_ppm: u32, meaning: &'static str) -> ParamSpec {
        assert!(default_ppm <= Fraction::ONE, "a fraction's default is at most 1");
        ParamSpec { name, kind: ParamKind::Fraction, default: default_ppm as u64, meaning }
    }

    /// How a value of this parameter is written (`64`, `0.8`).
    pub fn show(&self, value: u64) -> String {
        match self.kind {
            ParamKind::Count { .. } => value.to_string(),
            ParamKind::Fraction => Fraction(u32::try_from(value).unwrap_or(Fraction::ONE)).to_string(),
        }
    }

    /// What values are allowed, for `cowsim workloads` and error messages.
    pub fn range(&self) -> String {
        match self.kind {
            ParamKind::Count { min, max } => format!("a whole number from {min} to {max}"),
            ParamKind::Fraction => "a fraction from 0 to 1 (like 0.25 or 25%)".to_string(),
        }
    }

    /// Parses and checks a value given on the command line.
    fn parse(&self, text: &str) -> Result<u64, GenError> {
        let bad = || GenError::BadValue { param: self.name, value: quoted(text), expected: self.range() };
        match self.kind {
            ParamKind::Count { min, max } => {
                if has_size_suffix(text) {
                    return Err(GenError::SuffixOnCount { param: self.name, value: quoted(text) });
                }
                let value = parse_number_text(text).map_err(|_| bad())?;
                if (min..=max).contains(&value) { Ok(value) } else { Err(bad()) }
            }
            ParamKind::Fraction => Fraction::parse(text).map(|f| u64::from(f.0)).ok_or_else(bad),
        }
    }
}

/// Does `text` end in a size suffix (`16K`)? Counts refuse one: in a trace
/// `"16K"` is 16 KiB of memory, and `pages=16K` must not quietly mean
/// 16,384 pages. Hex never ends in K, M or G, so `0x1f` is not mistaken.
fn has_size_suffix(text: &str) -> bool {
    let hex = text.starts_with("0x") || text.starts_with("0X");
    !hex && text.ends_with(['K', 'M', 'G', 'k', 'm', 'g'])
}

/// The values of every parameter of one generator, defaults filled in, in
/// the order the generator declares them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    specs: &'static [ParamSpec],
    values: Vec<u64>,
}

impl Params {
    /// Every parameter at its default.
    pub fn defaults(specs: &'static [ParamSpec]) -> Params {
        Params { specs, values: specs.iter().map(|s| s.default).collect() }
    }

    /// The defaults overridden by `NAME=VALUE` settings. An unknown name, a
    /// setting without `=`, a name given twice or a bad value is an error
    /// naming the parameter. `workload` names the generator in messages.
    pub fn parse<S: AsRef<str>>(
        workload: &'static str,
        specs: &'static [ParamSpec],
        settings: &[S],
    ) -> Result<Params, GenError> {
        let mut params = Params::defaults(specs);
        let mut seen: Vec<&str> = Vec::new();
        for setting in settings {
            let setting = setting.as_ref();
            let Some((name, value)) = setting.split_once('=') else {
                return Err(GenError::NotASetting { setting: quoted(setting) });
            };
            let name = name.trim();
            let Some(index) = specs.iter().position(|s| s.name == name) else {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(GenError::UnknownParam {
                    workload,
                    param: quoted(name),
                    hint: hint(name, &known, "parameters of this workload"),
                });
            };
            if seen.contains(&name) {
                return Err(GenError::RepeatedParam { param: specs[index].name });
            }
            seen.push(name);
            params.values[index] = specs[index].parse(value.trim())?;
        }
        Ok(params)
    }

    /// The value of a whole-number parameter. Panics if the generator did
    /// not declare it as one: that is a bug in the generator, caught by its
    /// first test.
    pub fn count(&self, name: &str) -> u64 {
        let (spec, value) = self.lookup(name);
        assert!(matches!(spec.kind, ParamKind::Count { .. }), "parameter {name} is not a count");
        value
    }

    /// The value of a fraction parameter. Panics if the generator did not
    /// declare it as one.
    pub fn fraction(&self, name: &str) -> Fraction {
        let (spec, value) = self.lookup(name);
        assert!(spec.kind == ParamKind::Fraction, "parameter {name} is not a fraction");
        Fraction::ppm(u32::try_from(value).unwrap_or(Fraction::ONE))
    }

    fn lookup(&self, name: &str) -> (&ParamSpec, u64) {
        match self.specs.iter().position(|s| s.name == name) {
            Some(i) => (&self.specs[i], self.values[i]),
            None => panic!("generator asked for parameter {name}, which it does not declare"),
        }
    }

    /// `NAME=VALUE` for every parameter, in declaration order: the settings
    /// that reproduce these values.
    pub fn settings(&self) -> Vec<String> {
        self.specs.iter().zip(&self.values).map(|(s, v)| format!("{}={}", s.name, s.show(*v))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_parse_and_print_back() {
        for (text, ppm, shown) in [
            ("0.8", 800_000, "0.8"),
            (".5", 500_000, "0.5"),
            ("1", 1_000_000, "1"),
            ("1.0", 1_000_000, "1"),
            ("0", 0, "0"),
            ("0.000001", 1, "0.000001"),
            ("25%", 250_000, "0.25"),
            ("100%", 1_000_000, "1"),
            ("0.5%", 5_000, "0.005"),
        ] {
            let f = Fraction::parse(text).unwrap_or_else(|| panic!("{text} should parse"));
            assert_eq!(f.parts_per_million(), ppm, "{text}");
            assert_eq!(f.to_string(), shown, "{text}");
        }
        for bad in ["", ".", "1.5", "2", "-0.1", "0.1234567", "abc", "0.5.5", "101%", "1e-3", " 0.5", "0.00001%"] {
            assert_eq!(Fraction::parse(bad), None, "{bad:?} should not parse");
        }
    }

    #[test]
    fn fraction_of_rounds_to_nearest() {
        assert_eq!(Fraction::ppm(100_000).of(1024), 102);
        assert_eq!(Fraction::ppm(500_000).of(3), 2);
        assert_eq!(Fraction::ppm(1_000_000).of(u64::MAX), u64::MAX);
        assert_eq!(Fraction::ppm(0).of(77), 0);
    }

    const SPECS: &[ParamSpec] =
        &[ParamSpec::count("rounds", 10, 1, 1000, "how many"), ParamSpec::fraction("skew", 800_000, "how skewed")];

    #[test]
    fn settings_override_defaults_and_are_checked() {
        let p = Params::parse("test", SPECS, &["rounds=0x20", "skew=0.5"]).unwrap();
        assert_eq!(p.count("rounds"), 32);
        assert_eq!(p.fraction("skew"), Fraction::ppm(500_000));
        assert_eq!(p.settings(), ["rounds=32", "skew=0.5"]);
        assert_eq!(Params::parse("test", SPECS, &[] as &[&str]).unwrap().settings(), ["rounds=10", "skew=0.8"]);
        let error = |settings: &[&str]| Params::parse("test", SPECS, settings).unwrap_err().to_string();
        assert_eq!(
            error(&["round=3"]),
            "workload test has no parameter \"round\"; did you mean \"rounds\"? \
             (known parameters of this workload: rounds, skew)"
        );
        assert_eq!(
            error(&["zzz=3"]),
            "workload test has no parameter \"zzz\"; known parameters of this workload: rounds, skew"
        );
        assert!(
            error(&["rounds=16K"]).contains("rounds is a count, not a size in bytes"),
            "{}",
            error(&["rounds=16K"])
        );
        assert!(error(&["rounds=1m"]).contains("is a count"));
        assert_eq!(error(&["rounds=0"]), "parameter rounds: \"0\" is not a whole number from 1 to 1000");
        assert_eq!(error(&["skew=much"]), "parameter skew: \"much\" is not a fraction from 0 to 1 (like 0.25 or 25%)");
        assert_eq!(error(&["rounds"]), "\"rounds\" is not a parameter setting; write NAME=VALUE");
        assert_eq!(error(&["rounds=2", "rounds=3"]), "parameter rounds is given twice");
    }
}

//! The time model: a *cost profile* (schema `cowsim.costs/1`, made by
//! `cowsim calibrate` and described in docs/costs.md) prices the work a
//! report counts, so a run's counts become a predicted time.
//!
//! Every price is in nanoseconds and names a counter of the report, by its
//! section and key:
//!
//! | item | priced per | the report's count |
//! |---|---|---|
//! | `ops.NAME` | op of that kind (its fixed cost: the system call, the process) | `work_by_op.NAME.ops` |
//! | `faults.KIND` | fault of that kind | `faults.KIND` (and per op, `work_by_op.NAME.faults.KIND`) |
//! | `work.KEY` | unit of that work | `work.KEY` (and per op, `work_by_op.NAME.work.KEY`) |
//! | `pages.accessed` | page accessed | `accesses` |
//! | `pages.freed` | page freed | `pages.freed` |
//!
//! A run costs the sum of count × price over every item ([`predict`]).
//! Items the profile does not price cost nothing, and a prediction lists
//! the counted ones among them, so nothing is left out silently.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim::FaultKind;

pub mod predict;

pub use predict::{Prediction, PricedReport, child_start_ns, predict};

/// The schema name written into every profile.
pub const SCHEMA: &str = "cowsim.costs/1";

/// A cost profile: where it was measured, its prices, and the measurements
/// they were derived from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub schema: String,
    pub machine: Machine,
    pub costs: Costs,
    /// What the derivation had to decide (a cost the noise hid, a cost
    /// taken from another); absent when there was nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub measured: Measured,
}

/// The machine a profile was measured on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name, from /proc/cpuinfo.
    pub cpu: String,
    /// CPUs online.
    pub cores: u64,
    /// The operating system and its release, from uname (`Linux 6.1.0`).
    pub kernel: String,
    /// Bytes per page.
    pub page_size: u64,
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {} cores, {}", self.cpu, self.cores, self.kernel)
    }
}

/// What `cowsim calibrate` measured: each probe's medians, and the fork
/// curve (docs/costs.md says what each probe does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// Made with `--quick`: small sizes and few repeats, for tests.
    pub quick: bool,
    /// How many times each probe ran; every figure is the median.
    pub repeats: u64,
    /// How many times each start of each size of the fork curve ran (over
    /// all rounds).
    pub curve_repeats: u64,
    /// Each probe's points, by probe name.
    pub probes: BTreeMap<String, Vec<ProbePoint>>,
    /// Fork, fork+exec and posix_spawn against the parent's touched memory.
    pub fork_curve: Vec<CurvePoint>,
}

impl Measured {
    /// The points of probe `name` (none if it was not measured).
    pub fn points(&self, name: &str) -> &[ProbePoint] {
        self.probes.get(name).map_or(&[], Vec::as_slice)
    }
}

/// One measurement of a probe: the median nanoseconds of its timed part
/// when run over `count` units (pages, mappings, windows: the probe says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbePoint {
    pub count: u64,
    pub ns: u64,
}

/// One size of the fork curve: the parent has `pages` pages (`mib` MiB)
/// of anonymous memory written, and the medians of four ways to start a
/// child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub mib: u64,
    pub pages: u64,
    /// The `fork()` call, timed in the parent; the child `_exit`s at once.
    pub fork_ns: u64,
    /// From `fork()` to `waitpid` returning that child.
    pub fork_exit_wait_ns: u64,
    /// `fork()`, the child execs `/bin/true`, `waitpid`.
    pub fork_exec_wait_ns: u64,
    /// `posix_spawn` of `/bin/true`, `waitpid`.
    pub spawn_wait_ns: u64,
}

/// The prices of a profile, in nanoseconds, keyed `SECTION.NAME`
/// (`ops.fork`, `faults.cow_copy`, `work.ptes_copied`, `pages.freed`).
/// Written as one JSON object per section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Costs {
    prices: BTreeMap<String, f64>,
}

/// Counts of the items a profile prices, keyed as [`Costs`] keys them.
/// Decimal, because the difference of two runs' counts is one too.
pub type Quantities = BTreeMap<String, f64>;

/// The sections of a profile's `costs` and the names each may price.
pub const SECTIONS: [(&str, &[&str]); 4] = [
    (SECTION_NAMES[0], &OP_NAMES),
    (SECTION_NAMES[1], &FAULT_NAMES),
    (SECTION_NAMES[2], &WORK_NAMES),
    (SECTION_NAMES[3], &PAGE_NAMES),
];

/// The sections' names, in the order a profile writes them.
const SECTION_NAMES: &[&str] = &["ops", "faults", "work", "pages"];

/// The ops a profile may give a fixed cost: every op of the trace format.
pub const OP_NAMES: [&str; workloads::trace::OP_NAMES.len()] = workloads::trace::OP_NAMES;

/// The fault kinds, as reports name them (a test checks this list against
/// `FaultKind::ALL`).
pub const FAULT_NAMES: [&str; FaultKind::ALL.len()] =
    ["zero_fill", "zero_page", "page_in", "map", "cow_copy", "cow_move", "reuse", "segv", "protection"];

/// The keys of a report's `work` (a test checks this list against
/// `sim::report::Work`).
pub const WORK_NAMES: [&str; 20] = [
    "push_copy",
    "amap_copy",
    "shadows_created",
    "collapses",
    "bypasses",
    "chain_steps",
    "fault_around",
    "ptes_copied",
    "ptes_write_protected",
    "ptes_removed",
    "page_table_pages",
    "page_tables_shared",
    "map_entries_copied",
    "tlb_flushes",
    "rmap_entries",
    "huge_pages_made",
    "huge_pages_copied",
    "huge_pages_split",
    "bytes_copied",
    "bytes_zeroed",
];

/// Per-page prices that are not work of one op: pages accessed (the
/// report's `accesses`) and pages freed (`pages.freed`).
pub const PAGE_NAMES: [&str; 2] = ["accessed", "freed"];

impl Costs {
    /// The price of `item` (`SECTION.NAME`); 0 when the profile has none.
    pub fn get(&self, item: &str) -> f64 {
        self.prices.get(item).copied().unwrap_or(0.0)
    }

    /// Is `item` priced?
    pub fn has(&self, item: &str) -> bool {
        self.prices.contains_key(item)
    }

    /// Sets the price of `item`, which must be `SECTION.NAME` of a known
    /// section and name.
    pub fn set(&mut self, item: &str, ns: f64) {
        debug_assert!(is_known_item(item), "{item} is not a priced item");
        self.prices.insert(item.to_string(), ns);
    }

    /// Every price, by item.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.prices.iter().map(|(item, ns)| (item.as_str(), *ns))
    }

    /// What `quantities` cost: the sum of count × price (unpriced items
    /// cost nothing).
    pub fn price(&self, quantities: &Quantities) -> f64 {
        quantities.iter().map(|(item, count)| count * self.get(item)).sum()
    }
}

/// Is `item` a `SECTION.NAME` a profile may price?
pub fn is_known_item(item: &str) -> bool {
    item.split_once('.')
        .is_some_and(|(section, name)| SECTIONS.iter().any(|(known, names)| *known == section && names.contains(&name)))
}

impl Serialize for Costs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sections: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
        for (item, ns) in &self.prices {
            let (section, name) = item.split_once('.').expect("items are SECTION.NAME");
            sections.entry(section).or_default().insert(name, *ns);
        }
        // Sections in the documented order, not alphabetical.
        let ordered: Vec<(&str, &BTreeMap<&str, f64>)> =
            SECTIONS.iter().filter_map(|(name, _)| sections.get(name).map(|prices| (*name, prices))).collect();
        serializer.collect_map(ordered)
    }
}

impl<'de> Deserialize<'de> for Costs {
    /// Refuses an unknown section or name and a price that is negative or
    /// not a number, each where it stands in the file.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Costs, D::Error> {
        deserializer.deserialize_map(CostsVisitor)
    }
}

struct CostsVisitor;

impl<'de> Visitor<'de> for CostsVisitor {
    type Value = Costs;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of sections (ops, faults, work, pages), each of prices in nanoseconds")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Costs, A::Error> {
        let mut costs = Costs::default();
        while let Some(section) = map.next_key::<String>()? {
            let Some((section, names)) = SECTIONS.iter().find(|(name, _)| *name == section) else {
                return Err(de::Error::unknown_field(&section, SECTION_NAMES));
            };
            map.next_value_seed(SectionSeed { section, names, costs: &mut costs })?;
        }
        Ok(costs)
    }
}

/// Reads one section's prices into `costs`.
struct SectionSeed<'a> {
    section: &'static str,
    names: &'static [&'static str],
    costs: &'a mut Costs,
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object of {} prices in nanoseconds", self.section)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            if !self.names.contains(&name.as_str()) {
                return Err(de::Error::unknown_field(&name, self.names));
            }
            let ns: f64 = map.next_value()?;
            if !ns.is_finite() || ns < 0.0 {
                return Err(de::Error::custom(format!(
                    "{}.{name}: {ns} is not a price (nanoseconds, 0 or more)",
                    self.section
                )));
            }
            let item = format!("{}.{name}", self.section);
            if self.costs.prices.insert(item.clone(), ns).is_some() {
                return Err(de::Error::custom(format!("{item} is priced twice")));
            }
        }
        Ok(())
    }
}

/// Why a profile could not be used. Each is bad input (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: {message}", .path.display())]
    Json { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{}: schema {found:?}, not {SCHEMA:?}: not a cost profile (`cowsim calibrate` makes one)", .path.display())]
    Schema { path: PathBuf, found: String },
}

/// A profile read from `path`, with its file's name (without folders) for
/// the outputs that say which profile priced them.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedProfile {
    pub name: String,
    pub profile: Profile,
}

/// Reads and checks the profile at `path`.
pub fn load(path: &Path) -> Result<NamedProfile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io { path: path.into(), source })?;
    let profile = parse(&text).map_err(|error| json_error(path, &error))?;
    if profile.schema != SCHEMA {
        return Err(ProfileError::Schema { path: path.into(), found: profile.schema });
    }
    let name = crate::replay::report_name(&path.to_string_lossy());
    Ok(NamedProfile { name, profile })
}

/// A profile from its JSON text.
pub fn parse(text: &str) -> Result<Profile, serde_json::Error> {
    serde_json::from_str(text)
}

/// serde_json's error as `FILE:LINE:COLUMN: message`.
fn json_error(path: &Path, error: &serde_json::Error) -> ProfileError {
    let (line, column) = (error.line(), error.column());
    let text = error.to_string();
    let message = text.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&text).to_string();
    ProfileError::Json { path: path.into(), line, column, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `WORK_NAMES` is every key of `sim::report::Work`: a new counter
    /// in the report must be listed here to be priced.
    #[test]
    fn work_names_are_the_reports_keys() {
        let every_one: serde_json::Map<String, serde_json::Value> =
            WORK_NAMES.iter().map(|name| (name.to_string(), serde_json::Value::from(1))).collect();
        let work: sim::report::Work = serde_json::from_value(every_one.into()).unwrap();
        let keys: Vec<String> = serde_json::to_value(work).unwrap().as_object().unwrap().keys().cloned().collect();
        let mut names: Vec<String> = WORK_NAMES.iter().map(|n| n.to_string()).collect();
        names.sort();
        assert_eq!(keys, names);
    }

    #[test]
    fn fault_names_are_the_fault_kinds() {
        let kinds: Vec<&str> = FaultKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!(kinds, FAULT_NAMES);
    }

    fn profile_text(costs: &str) -> String {
        format!(
            r#"{{"schema": "cowsim.costs/1",
"machine": {{"cpu": "x", "cores": 1, "kernel": "Linux 1", "page_size": 4096}},
"costs": {costs},
"measured": {{"quick": true, "repeats": 1, "curve_repeats": 1, "probes": {{}}, "fork_curve": []}}}}"#
        )
    }

    #[test]
    fn prices_round_trip_by_section() {
        let text = profile_text(r#"{"ops": {"fork": 30000}, "work": {"ptes_copied": 55.5}, "pages": {"freed": 200}}"#);
        let profile = parse(&text).unwrap();
        assert_eq!(profile.costs.get("ops.fork"), 30000.0);
        assert_eq!(profile.costs.get("work.ptes_copied"), 55.5);
        assert_eq!(profile.costs.get("faults.zero_fill"), 0.0);
        let again = parse(&serde_json::to_string(&profile).unwrap()).unwrap();
        assert_eq!(again, profile);
    }

    #[test]
    fn unknown_names_and_bad_prices_are_refused_where_they_stand() {
        for (costs, says) in [
            (r#"{"work": {"ptes_copyed": 1}}"#, "unknown field `ptes_copyed`"),
            (r#"{"opps": {}}"#, "unknown field `opps`"),
            (r#"{"faults": {"zero_fill": -3}}"#, "faults.zero_fill: -3 is not a price"),
            (r#"{"faults": {"zero_fill": "fast"}}"#, "invalid type"),
        ] {
            let error = parse(&profile_text(costs)).unwrap_err();
            assert!(error.to_string().contains(says), "{costs}: {error}");
            assert_eq!(error.line(), 3, "{costs}: {error}");
        }
    }
}

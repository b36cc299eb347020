//! The report of a run, schema `cowsim.report/1` (docs/report.md): plain
//! serialisable structs, the only thing `analysis` needs from a run.
//!
//! `resident`, `hidden`, `alive` and `mean_chain` are values at the end of
//! the run. `resident_peak` and `alive_peak` are the largest values at any
//! operation boundary. `hidden_peak` and `max_chain` are the largest values
//! at the sampled boundaries (every `sample_every` operations and the end),
//! and `max_chain` also includes every chain a shadow creation produced.
//! (The world keeps hidden pages and chain lengths up to date, so a sample
//! costs nothing; the moments they are taken at are the report's contract.)

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::event::{FaultKind, WorkKind};
use crate::ids::TaskId;
use crate::measure::{Measures, task_resident};
use crate::types::KernReturn;
use crate::world::World;

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn default_page_size() -> u64 {
    4096
}

fn is_default_page_size(bytes: &u64) -> bool {
    *bytes == default_page_size()
}

/// The schema name written into every report.
pub const SCHEMA: &str = "cowsim.report/1";

/// A whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub policy: String,
    pub trace: String,
    /// What the page cache held at the start (`cold` or `warm`, see
    /// `sim::PageCache`); it changes only `linux`'s fault-around.
    #[serde(default)]
    pub page_cache: String,
    /// The base page size in bytes, when it is not 4096.
    #[serde(default = "default_page_size", skip_serializing_if = "is_default_page_size")]
    pub page_size: u64,
    /// Transparent huge pages (`split` or `copy`), when on; only `linux`
    /// and `linux-odf` model them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thp: String,
    /// Files whose page cache the trace itself described (`page_cache`
    /// ops, from a capture made with `cowsim record`): for those, `linux`
    /// follows the recording, not `page_cache`. Present only when nonzero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub page_cache_files: u64,
    pub ops: u64,
    pub accesses: u64,
    /// 16 hex digits.
    pub read_digest: String,
    /// Operations by code, every code present.
    pub kern_returns: BTreeMap<String, u64>,
    pub faults: Faults,
    pub work: Work,
    /// The faults and work of each kind of op, by op name (`fork`,
    /// `write`, …): what a cost profile turns into fork latency and time
    /// in faults. Older reports have none.
    #[serde(default)]
    pub work_by_op: BTreeMap<String, OpWork>,
    pub pages: PageCounts,
    pub objects: ObjectCounts,
    /// How often this run faulted where a real capture did (see
    /// docs/fidelity.md).
    /// Present only when the trace carried recorded faults (imported from
    /// perf), so reports of other traces keep their shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fidelity: Option<Fidelity>,
    /// Which pages processes had present at their exit, in the real kernel
    /// and here (see docs/fidelity.md). Present only when the trace carried
    /// `resident` ops (a capture recorded with `cowsim record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_residency: Option<ExitResidency>,
    /// What the importer of a real capture said, when the run read the
    /// capture itself (`cowsim run CAPTURE`, `cowsim compare CAPTURE`):
    /// events the recording tool lost, and the approximations it made, by
    /// kind. Absent for a trace file, which keeps its import summary in
    /// its closing comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportNotes>,
    /// Every task that was alive at the end or took a fault: its resident
    /// pages (valid pmap entries) at the end, and its faults by kind.
    pub tasks: Vec<TaskResident>,
    pub series: Vec<SeriesPoint>,
}

/// Faults by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    pub total: u64,
    pub zero_fill: u64,
    pub zero_page: u64,
    pub page_in: u64,
    pub map: u64,
    pub cow_copy: u64,
    pub cow_move: u64,
    pub reuse: u64,
    pub segv: u64,
    pub protection: u64,
}

impl Faults {
    /// From counts indexed by `FaultKind::index`.
    pub(crate) fn from_counts(counts: &[u64; 9]) -> Faults {
        let count = |k: FaultKind| counts[k.index()];
        Faults {
            total: counts.iter().sum(),
            zero_fill: count(FaultKind::ZeroFill),
            zero_page: count(FaultKind::ZeroPage),
            page_in: count(FaultKind::PageIn),
            map: count(FaultKind::Map),
            cow_copy: count(FaultKind::CowCopy),
            cow_move: count(FaultKind::CowMove),
            reuse: count(FaultKind::Reuse),
            segv: count(FaultKind::Segv),
            protection: count(FaultKind::Protection),
        }
    }

    /// The faults of one kind.
    pub fn count(&self, kind: FaultKind) -> u64 {
        match kind {
            FaultKind::ZeroFill => self.zero_fill,
            FaultKind::ZeroPage => self.zero_page,
            FaultKind::PageIn => self.page_in,
            FaultKind::Map => self.map,
            FaultKind::CowCopy => self.cow_copy,
            FaultKind::CowMove => self.cow_move,
            FaultKind::Reuse => self.reuse,
            FaultKind::Segv => self.segv,
            FaultKind::Protection => self.protection,
        }
    }
}

/// Work a kernel does besides taking faults: inside faults and copies
/// (the first fields), and on page tables, map entries, the TLB and the
/// reverse map, counted where the design's kernel does it (see
/// docs/report.md). The fields from `ptes_copied` on were added with the
/// cost model; older reports read as 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Work {
    pub push_copy: u64,
    pub amap_copy: u64,
    pub shadows_created: u64,
    pub collapses: u64,
    pub bypasses: u64,
    pub chain_steps: u64,
    /// Neighbouring file pages mapped read-only around read faults (Linux
    /// fault-around); 0 for every other design. Added after the first
    /// reports were written, so older reports read as 0.
    #[serde(default)]
    pub fault_around: u64,
    #[serde(default)]
    pub ptes_copied: u64,
    #[serde(default)]
    pub ptes_write_protected: u64,
    #[serde(default)]
    pub ptes_removed: u64,
    #[serde(default)]
    pub page_table_pages: u64,
    #[serde(default)]
    pub page_tables_shared: u64,
    #[serde(default)]
    pub map_entries_copied: u64,
    #[serde(default)]
    pub tlb_flushes: u64,
    #[serde(default)]
    pub rmap_entries: u64,
    /// Transparent huge pages made, copied whole and split (`thp` runs).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub huge_pages_made: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub huge_pages_copied: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub huge_pages_split: u64,
    /// Bytes copied by copy-on-write (and push) copies.
    #[serde(default)]
    pub bytes_copied: u64,
    /// Bytes of pages zero-filled.
    #[serde(default)]
    pub bytes_zeroed: u64,
}

impl Work {
    /// Every counter with its report name.
    pub fn named(&self) -> [(&'static str, u64); 20] {
        [
            ("push_copy", self.push_copy),
            ("amap_copy", self.amap_copy),
            ("shadows_created", self.shadows_created),
            ("collapses", self.collapses),
            ("bypasses", self.bypasses),
            ("chain_steps", self.chain_steps),
            ("fault_around", self.fault_around),
            ("ptes_copied", self.ptes_copied),
            ("ptes_write_protected", self.ptes_write_protected),
            ("ptes_removed", self.ptes_removed),
            ("page_table_pages", self.page_table_pages),
            ("page_tables_shared", self.page_tables_shared),
            ("map_entries_copied", self.map_entries_copied),
            ("tlb_flushes", self.tlb_flushes),
            ("rmap_entries", self.rmap_entries),
            ("huge_pages_made", self.huge_pages_made),
            ("huge_pages_copied", self.huge_pages_copied),
            ("huge_pages_split", self.huge_pages_split),
            ("bytes_copied", self.bytes_copied),
            ("bytes_zeroed", self.bytes_zeroed),
        ]
    }

    fn named_mut(&mut self) -> [(&'static str, &mut u64); 20] {
        [
            ("push_copy", &mut self.push_copy),
            ("amap_copy", &mut self.amap_copy),
            ("shadows_created", &mut self.shadows_created),
            ("collapses", &mut self.collapses),
            ("bypasses", &mut self.bypasses),
            ("chain_steps", &mut self.chain_steps),
            ("fault_around", &mut self.fault_around),
            ("ptes_copied", &mut self.ptes_copied),
            ("ptes_write_protected", &mut self.ptes_write_protected),
            ("ptes_removed", &mut self.ptes_removed),
            ("page_table_pages", &mut self.page_table_pages),
            ("page_tables_shared", &mut self.page_tables_shared),
            ("map_entries_copied", &mut self.map_entries_copied),
            ("tlb_flushes", &mut self.tlb_flushes),
            ("rmap_entries", &mut self.rmap_entries),
            ("huge_pages_made", &mut self.huge_pages_made),
            ("huge_pages_copied", &mut self.huge_pages_copied),
            ("huge_pages_split", &mut self.huge_pages_split),
            ("bytes_copied", &mut self.bytes_copied),
            ("bytes_zeroed", &mut self.bytes_zeroed),
        ]
    }

    /// The counters of `work` (by `WorkKind::index`) and of the pages
    /// copied and zero-filled; the fault-time fields (`push_copy` to
    /// `fault_around`) are left 0 for the caller to fill.
    fn counted(work: &[u64; WorkKind::ALL.len()], copied: u64, zero_filled: u64, page_size: u64) -> Work {
        let count = |kind: WorkKind| work[kind.index()];
        Work {
            ptes_copied: count(WorkKind::PteCopied),
            ptes_write_protected: count(WorkKind::PteWriteProtected),
            ptes_removed: count(WorkKind::PteRemoved),
            page_table_pages: count(WorkKind::PageTablePage),
            page_tables_shared: count(WorkKind::PageTableShared),
            map_entries_copied: count(WorkKind::MapEntryCopied),
            tlb_flushes: count(WorkKind::TlbFlush),
            rmap_entries: count(WorkKind::RmapEntry),
            huge_pages_made: count(WorkKind::HugePageMade),
            huge_pages_copied: count(WorkKind::HugePageCopied),
            huge_pages_split: count(WorkKind::HugePageSplit),
            bytes_copied: copied * page_size,
            bytes_zeroed: zero_filled * page_size,
            ..Work::default()
        }
    }
}

/// What the ops of one kind cost over a run (`Report::work_by_op`). In
/// the JSON, the kinds of fault and work that are 0 are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpWork {
    pub ops: u64,
    #[serde(default, with = "sparse_faults")]
    pub faults: Faults,
    #[serde(default, with = "sparse_work")]
    pub work: Work,
}

/// `Work` with the zero counters left out.
mod sparse_work {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Work;

    pub fn serialize<S: Serializer>(work: &Work, serializer: S) -> Result<S::Ok, S::Error> {
        let nonzero: BTreeMap<&str, u64> = work.named().into_iter().filter(|(_, count)| *count > 0).collect();
        nonzero.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Work, D::Error> {
        let map: BTreeMap<String, u64> = BTreeMap::deserialize(deserializer)?;
        let mut work = Work::default();
        for (name, count) in work.named_mut() {
            *count = map.get(name).copied().unwrap_or(0);
        }
        Ok(work)
    }
}

/// Physical pages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCounts {
    pub resident: u64,
    pub resident_peak: u64,
    pub zero_filled: u64,
    pub paged_in: u64,
    pub copied: u64,
    pub moved: u64,
    pub freed: u64,
    pub hidden: u64,
    pub hidden_peak: u64,
}

/// VM objects and chains.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectCounts {
    pub created: u64,
    pub alive: u64,
    pub alive_peak: u64,
    pub max_chain: u64,
    pub mean_chain: f64,
}

/// Agreement with the real kernel's faults, over the accesses that carried
/// a `recorded` class. `recorded = agreed + not_faulted + class_mismatch`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// Accesses carrying a recorded fault.
    pub recorded: u64,
    /// The simulator faulted and found the same thing in its pmap (no entry
    /// for `not_present`, an entry without the permission for `present`).
    pub agreed: u64,
    /// The simulator did not fault: its pmap already allowed the access.
    pub not_faulted: u64,
    /// The simulator faulted but found the other class.
    pub class_mismatch: u64,
    /// `agreed / recorded`, from 0.0 to 1.0.
    pub agreement: f64,
}

/// The import summary of a capture replayed as it was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNotes {
    /// Input lines read.
    pub lines: u64,
    /// Events the recording tool dropped (perf's `PERF_RECORD_LOST`), and
    /// the events it recorded or dropped in all.
    pub lost_events: u64,
    pub recorded_or_lost_events: u64,
    /// Lines of kinds the importer does not know.
    pub skipped_lines: u64,
    /// Approximations and oddities, by kind, with how often each arose.
    pub notes: BTreeMap<String, u64>,
}

/// The pages present at processes' exits, compared with the real kernel:
/// the other half of fidelity. A model that faults where the kernel did not
/// is invisible to the fault agreement (those accesses are not in the
/// trace) but shows here, as pages one side has and the other lacks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitResidency {
    /// Pages present in both the real process and the simulated task.
    pub both: u64,
    /// Present in the real process only.
    pub kernel_only: u64,
    /// Present in the simulated task only.
    pub simulator_only: u64,
    /// `both / (both + kernel_only + simulator_only)`, from 0.0 to 1.0: of
    /// the pages present on either side, the share present on both.
    pub agreement: f64,
    /// The same counts per process (task), in task order.
    pub tasks: Vec<TaskExitResidency>,
}

/// One process's pages present at its exit, compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExitResidency {
    pub task: u32,
    pub both: u64,
    pub kernel_only: u64,
    pub simulator_only: u64,
}

impl ExitResidency {
    /// `None` when no `resident` op compared a page present on either side.
    fn from_stats(s: &crate::stats::Stats) -> Option<ExitResidency> {
        let either = s.resident_in_both + s.resident_kernel_only + s.resident_simulator_only;
        (either > 0).then(|| ExitResidency {
            both: s.resident_in_both,
            kernel_only: s.resident_kernel_only,
            simulator_only: s.resident_simulator_only,
            agreement: s.resident_in_both as f64 / either as f64,
            tasks: s
                .resident_by_task
                .iter()
                .map(|(task, [both, kernel_only, simulator_only])| TaskExitResidency {
                    task: task.0,
                    both: *both,
                    kernel_only: *kernel_only,
                    simulator_only: *simulator_only,
                })
                .collect(),
        })
    }
}

impl Fidelity {
    /// The fidelity section for a run's counters; `None` when no access
    /// carried a recorded fault.
    fn from_stats(s: &crate::stats::Stats) -> Option<Fidelity> {
        (s.recorded_faults > 0).then(|| Fidelity {
            recorded: s.recorded_faults,
            agreed: s.fidelity_agreed,
            not_faulted: s.fidelity_not_faulted,
            class_mismatch: s.fidelity_class_mismatch,
            agreement: s.fidelity_agreed as f64 / s.recorded_faults as f64,
        })
    }
}

/// Every task alive at the end or that took a fault, in task order.
fn tasks_at_end(w: &World, s: &crate::stats::Stats) -> Vec<TaskResident> {
    let resident: BTreeMap<TaskId, u64> = task_resident(w).into_iter().collect();
    let mut tasks: BTreeSet<TaskId> = resident.keys().copied().collect();
    tasks.extend(s.faults_by_task.keys().copied());
    tasks
        .into_iter()
        .map(|task| {
            let counts = s.faults_by_task.get(&task).copied().unwrap_or_default();
            TaskResident {
                task: task.0,
                resident: resident.get(&task).copied().unwrap_or(0),
                exited: !w.tasks.contains_key(&task),
                faults: Faults::from_counts(&counts),
            }
        })
        .collect()
}

/// One task's resident pages at the end, and the faults it took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResident {
    pub task: u32,
    /// 0 for a task that exited.
    pub resident: u64,
    /// The task exited (or exec'd away its last pages) before the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
    /// Its faults by kind; kinds it never took are left out, so a run of
    /// thousands of tasks keeps a readable report.
    #[serde(default, with = "sparse_faults")]
    pub faults: Faults,
}

/// `Faults` with the zero kinds left out (`total` always written).
mod sparse_faults {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Faults;
    use crate::event::FaultKind;

    pub fn serialize<S: Serializer>(faults: &Faults, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = BTreeMap::new();
        map.insert("total", faults.total);
        for kind in FaultKind::ALL {
            if faults.count(kind) > 0 {
                map.insert(kind.name(), faults.count(kind));
            }
        }
        map.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Faults, D::Error> {
        let map: BTreeMap<String, u64> = BTreeMap::deserialize(deserializer)?;
        let mut counts = [0u64; 9];
        for kind in FaultKind::ALL {
            counts[kind.index()] = map.get(kind.name()).copied().unwrap_or(0);
        }
        Ok(Faults::from_counts(&counts))
    }
}

/// One point of the time series, taken at an operation boundary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub op: u64,
    pub resident: u64,
    pub hidden: u64,
    pub faults: u64,
    pub objects: u64,
    pub max_chain: u64,
}

/// What names a run in its report: the policy, the trace, and the settings
/// (`thp` empty when huge pages were off or the policy does not model them).
pub(crate) struct RunSettings<'a> {
    pub policy: &'a str,
    pub trace: &'a str,
    pub page_cache: &'a str,
    pub page_size: u64,
    pub thp: &'a str,
}

impl Report {
    pub(crate) fn build(
        run: &RunSettings<'_>,
        w: &World,
        last: &Measures,
        peaks: &Measures,
        series: &[SeriesPoint],
    ) -> Report {
        let s = &w.recorder.stats;
        Report {
            schema: SCHEMA.to_string(),
            policy: run.policy.to_string(),
            trace: run.trace.to_string(),
            page_cache: run.page_cache.to_string(),
            page_size: run.page_size,
            thp: run.thp.to_string(),
            page_cache_files: s.page_cache_files,
            ops: s.ops,
            accesses: s.accesses,
            read_digest: format!("{:016x}", s.read_digest),
            kern_returns: KernReturn::ALL.iter().map(|k| (k.name().to_string(), s.kern_return_count(*k))).collect(),
            faults: Faults::from_counts(&s.faults),
            work: Work {
                push_copy: s.push_copy,
                amap_copy: s.amap_copy,
                shadows_created: s.shadows_created,
                collapses: s.collapses,
                bypasses: s.bypasses,
                chain_steps: s.chain_steps,
                fault_around: s.fault_around,
                ..Work::counted(&s.work, s.copied, s.zero_filled, run.page_size)
            },
            work_by_op: s
                .by_op
                .iter()
                .filter(|(_, tally)| tally.ops > 0)
                .map(|(name, tally)| {
                    let work = Work::counted(&tally.work, tally.copied, tally.zero_filled, run.page_size);
                    (name.to_string(), OpWork { ops: tally.ops, faults: Faults::from_counts(&tally.faults), work })
                })
                .collect(),
            pages: PageCounts {
                resident: s.resident,
                resident_peak: s.resident_peak,
                zero_filled: s.zero_filled,
                paged_in: s.paged_in,
                copied: s.copied,
                moved: s.moved,
                freed: s.freed,
                hidden: last.hidden,
                hidden_peak: peaks.hidden,
            },
            objects: ObjectCounts {
                created: s.objects_created,
                alive: s.objects_alive,
                alive_peak: s.objects_alive_peak,
                max_chain: peaks.max_chain,
                mean_chain: last.mean_chain,
            },
            fidelity: Fidelity::from_stats(s),
            exit_residency: ExitResidency::from_stats(s),
            import: None,
            tasks: tasks_at_end(w, s),
            series: series.to_vec(),
        }
    }
}

//! The simulator: a world, a policy, and the loop that applies operations,
//! checks invariants and samples measures.

use std::cell::RefCell;

use crate::check::Checker;
use crate::event::Event;
use crate::ids::TaskId;
use crate::measure::{Measures, measure};
use crate::op::{Op, TraceOp};
use crate::policy::thp::Thp;
use crate::policy::{PageCache, Policy, PolicyKind};
use crate::report::{Report, RunSettings, SeriesPoint};
use crate::types::KernReturn;
use crate::view::WorldView;
use crate::world::World;

/// The most points a run's time series keeps. A run that would sample more
/// keeps every second point and samples the series half as often from then
/// on (again each time it fills up), so memory stays bounded however long
/// the trace and however small `sample_every`.
pub const MAX_SERIES_POINTS: usize = 10_000;

/// Settings of a run. Build with [`Config::default`] and the setters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Bytes per page; a power of two. Default 4096.
    pub page_size: u64,
    /// Lowest mappable address (bytes). Default 0x1000, so page 0 is never
    /// mapped and a null access is a segv.
    pub map_min: u64,
    /// One past the highest mappable address (bytes). Default 128 TiB, the
    /// x86-64 user address space.
    pub map_max: u64,
    /// Sample the time series (and the measures the report takes at sample
    /// points: hidden pages, chain lengths) every this many operations.
    /// Default 100. The end of the run is always sampled. A sample reads
    /// measures the world keeps up to date, so it costs the same however
    /// large the world.
    pub sample_every: u64,
    /// Run the invariant checker after every operation. Default: on in
    /// debug builds.
    pub check_invariants: bool,
    /// What the page cache holds at the start. Default cold.
    pub page_cache: PageCache,
    /// Transparent huge pages for anonymous memory (`linux`, `linux-odf`);
    /// only with 4 KiB pages. Default never.
    pub thp: Thp,
    /// Linux reuses an idle `anon_vma` at fork (since 3.19); off, a chain
    /// of forking processes grows its `anon_vma` chains without bound.
    /// Only `linux` and `linux-odf` read it. Default on.
    pub anon_vma_reuse: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            page_size: 4096,
            map_min: 0x1000,
            map_max: 1 << 47,
            sample_every: 100,
            check_invariants: cfg!(debug_assertions),
            page_cache: PageCache::Cold,
            thp: Thp::Never,
            anon_vma_reuse: true,
        }
    }
}

impl Config {
    /// Sets the sampling interval (at least 1).
    #[must_use]
    pub fn sample_every(mut self, ops: u64) -> Self {
        self.sample_every = ops.max(1);
        self
    }
    /// Sets what the page cache holds at the start.
    #[must_use]
    pub fn page_cache(mut self, cache: PageCache) -> Self {
        self.page_cache = cache;
        self
    }
    /// Sets transparent huge pages.
    #[must_use]
    pub fn thp(mut self, thp: Thp) -> Self {
        self.thp = thp;
        self
    }
    /// Sets whether Linux forks reuse idle `anon_vma`s.
    #[must_use]
    pub fn anon_vma_reuse(mut self, reuse: bool) -> Self {
        self.anon_vma_reuse = reuse;
        self
    }
    /// Sets the base page size in bytes (a power of two).
    #[must_use]
    pub fn page_size(mut self, bytes: u64) -> Self {
        self.page_size = bytes;
        self
    }
    /// Turns the invariant checker on or off.
    #[must_use]
    pub fn check_invariants(mut self, on: bool) -> Self {
        self.check_invariants = on;
        self
    }
}

/// Why an operation could not be applied. Bad input (the trace is wrong)
/// and run failures (the trace's own expectations were not met) are kept
/// apart: the command line exits 2 for the first and 1 for the second.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The op names a task that was never created or has exited.
    #[error("unknown task {} (never created, or already exited)", .0.0)]
    UnknownTask(TaskId),
    /// `task_create` or `fork` names a child id that is in use.
    #[error("task {} already exists", .0.0)]
    TaskExists(TaskId),
    /// A read found another value than the trace's `expect_value`.
    #[error("task {} read {found:#x} at {addr:#x}, but the trace expects {expected:#x}", task.0)]
    UnexpectedValue { task: TaskId, addr: u64, found: u64, expected: u64 },
    /// The op returned another code than the trace's `expect`.
    #[error("{op} returned {got}, but the trace expects {expected}")]
    UnexpectedReturn { op: &'static str, got: KernReturn, expected: KernReturn },
}

impl SimError {
    /// Is this the trace's fault (bad input) rather than a failed run?
    pub fn is_bad_input(&self) -> bool {
        matches!(self, SimError::UnknownTask(_) | SimError::TaskExists(_))
    }
}

/// A simulation in progress.
pub struct Sim {
    pub(crate) world: World,
    /// The policy `policy` was built from: where the run's policy name
    /// comes from (a design does not know its own).
    kind: PolicyKind,
    pub(crate) policy: Box<dyn Policy>,
    pub(crate) config: Config,
    /// Operations applied so far; also the position that write tokens are
    /// derived from.
    pub(crate) op_index: u64,
    series: Vec<SeriesPoint>,
    /// The interval between kept points of `series`: `sample_every` at
    /// first, doubled each time the series would outgrow
    /// [`MAX_SERIES_POINTS`].
    series_every: u64,
    /// The largest measures seen at any sample.
    peaks: Measures,
    last: Measures,
    /// The invariant checker, whose scratch space lives as long as the run
    /// so that checking after every operation allocates nothing.
    checker: RefCell<Checker>,
}

impl Sim {
    /// A new, empty world run by `policy`, whose page cache starts as
    /// `config.page_cache` says.
    pub fn new(policy: PolicyKind, config: Config) -> Sim {
        assert!(config.page_size.is_power_of_two(), "config: page size {} is not a power of two", config.page_size);
        Sim {
            world: World { pv_entries: policy.keeps_pv_entries(), ..World::default() },
            kind: policy,
            policy: policy.build(&config),
            series_every: config.sample_every.max(1),
            config,
            op_index: 0,
            series: Vec::new(),
            peaks: Measures::default(),
            last: Measures::default(),
            checker: RefCell::new(Checker::default()),
        }
    }

    /// The policy the run follows.
    pub fn policy(&self) -> PolicyKind {
        self.kind
    }

    /// The policy's stable name.
    pub fn policy_name(&self) -> &'static str {
        self.kind.name()
    }

    /// The world as viewers see it (graphs, narrations, tests): read-only,
    /// in plain values. See [`crate::view`].
    pub fn view(&self) -> WorldView<'_> {
        WorldView::of(&self.world)
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Keeps every event for [`Sim::take_events`] (for narrations).
    pub fn keep_events(&mut self, keep: bool) {
        self.world.recorder.keep_log(keep);
    }

    /// The events recorded since the last call (empty unless kept).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.world.recorder.drain()
    }

    /// Applies one trace op and checks its `expect`. Returns the op's code.
    pub fn apply_traced(&mut self, traced: &TraceOp) -> Result<KernReturn, SimError> {
        let got = self.apply(&traced.op)?;
        match traced.expect {
            Some(expected) if expected != got => {
                Err(SimError::UnexpectedReturn { op: traced.op.name(), got, expected })
            }
            _ => Ok(got),
        }
    }

    /// Applies one operation. Returns its `kern_return_t`, or an error for
    /// bad input (nothing changed) or an unmet `expect_value`.
    ///
    /// Panics if an invariant breaks while checking is on: that is a bug in
    /// the model, and the message names the ids and values.
    pub fn apply(&mut self, op: &Op) -> Result<KernReturn, SimError> {
        self.world.recorder.stats.begin_op(op.name());
        let code = self.dispatch(op)?;
        self.world.emit(Event::OpFinished { kern_return: code });
        self.op_index += 1;
        if self.world.pages.needs_restamp() {
            self.world.restamp();
        }
        if std::mem::take(&mut self.world.recorder.stats.chains_changed) {
            let longest = self.world.chain_lengths().longest();
            self.peaks.max_chain = self.peaks.max_chain.max(longest);
        }
        if self.config.check_invariants {
            // Settled, the chain lengths are checked in full.
            self.world.settle_chain_lengths();
            self.check();
        }
        if self.op_index.is_multiple_of(self.config.sample_every) {
            self.sample(false);
        }
        Ok(code)
    }

    fn dispatch(&mut self, op: &Op) -> Result<KernReturn, SimError> {
        match op {
            Op::TaskCreate { task } => self.task_create(*task, None),
            Op::Fork { parent, child } => self.fork(*parent, *child),
            Op::Exec { task } => self.exec(*task),
            Op::Exit { task } => self.exit(*task),
            Op::VmAllocate { task, addr, size, anywhere } => self.vm_allocate(*task, *addr, *size, *anywhere),
            Op::VmDeallocate { task, addr, size } => self.vm_deallocate(*task, *addr, *size),
            Op::VmProtect { task, addr, size, prot, set_max } => self.vm_protect(*task, *addr, *size, *prot, *set_max),
            Op::VmInherit { task, addr, size, inherit } => self.vm_inherit(*task, *addr, *size, *inherit),
            Op::VmRead { task, addr, size, caller, dst } => self.vm_read(*task, *addr, *size, *caller, *dst),
            Op::VmWrite { task, addr, size, caller, src } => self.vm_write(*task, *addr, *size, *caller, *src),
            Op::VmCopy { task, src, size, dst } => self.vm_copy(*task, *src, *size, *dst),
            Op::VmMove { task, src, size, dst } => self.vm_move(*task, *src, *size, *dst),
            Op::Resident { task, addr, size, present } => self.resident(*task, *addr, *size, present),
            Op::PageCache { file, size, cached, read_ahead, largest_folio } => {
                Ok(self.page_cache(file, *size, cached, *read_ahead, *largest_folio))
            }
            Op::FileRead { task, file, offset, len } => self.file_read(*task, file, *offset, *len),
            Op::VmMap { task, addr, size, anywhere, file, offset, private, prot } => {
                self.vm_map(*task, *addr, *size, *anywhere, file, *offset, *private, *prot)
            }
            Op::Access(access) => self.access(access),
            Op::Mark { .. } => Ok(KernReturn::Success),
        }
    }

    /// Runs the invariant checker; panics with the first violation.
    pub fn check(&self) {
        let bounds = crate::map::MapBounds::of(&self.config);
        let checked = self.checker.borrow_mut().check(&self.world, self.policy.as_ref(), bounds);
        if let Err(violation) = checked {
            panic!("invariant broken after op {} under {}: {violation}", self.op_index, self.policy_name());
        }
    }

    /// Takes the measures the world keeps (for the peaks) and, at a
    /// multiple of the series interval, appends a point to the
    /// time series. `last` marks the end of the run, always kept: a full
    /// series is thinned before the point is added, never after.
    fn sample(&mut self, last: bool) {
        if self.config.check_invariants {
            let walked = self.checker.borrow_mut().check_hidden_walk(&self.world);
            if let Err(violation) = walked {
                panic!(
                    "invariant broken at the sample after op {} under {}: {violation}",
                    self.op_index,
                    self.policy_name()
                );
            }
        }
        let m = measure(&mut self.world);
        self.peaks = self.peaks.max(&m);
        self.last = m;
        if self.series.len() >= MAX_SERIES_POINTS {
            self.thin_series();
        }
        if last || self.op_index.is_multiple_of(self.series_every) {
            self.push_point();
        }
    }

    fn push_point(&mut self) {
        let stats = &self.world.recorder.stats;
        self.series.push(SeriesPoint {
            op: self.op_index,
            resident: stats.resident,
            hidden: self.last.hidden,
            faults: stats.faults_total(),
            objects: stats.objects_alive,
            max_chain: self.last.max_chain,
        });
    }

    /// Doubles the series interval and drops the points off it, so a long
    /// run's series stays within [`MAX_SERIES_POINTS`] whatever
    /// `sample_every` asked for. The peaks are not affected: they are
    /// still taken at every sample.
    fn thin_series(&mut self) {
        self.series_every = self.series_every.saturating_mul(2);
        let every = self.series_every;
        self.series.retain(|point| point.op.is_multiple_of(every));
    }

    /// The report of the run so far (docs/report.md). Samples the end of the
    /// run first if the last op was not a sample point.
    pub fn finish(&mut self, trace: &str) -> Report {
        if self.series.last().is_none_or(|p| p.op != self.op_index) {
            self.sample(true);
        }
        let cache = self.config.page_cache.name();
        let thp = match self.config.thp {
            Thp::Never => "",
            _ if !self.kind.models_huge_pages() => "",
            thp => thp.name(),
        };
        let run =
            RunSettings { policy: self.policy_name(), trace, page_cache: cache, page_size: self.config.page_size, thp };
        Report::build(&run, &self.world, &self.last, &self.peaks, &self.series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::AccessOp;
    use crate::types::Access;

    fn access(task: u32, access: Access, value: Option<u64>, expect_value: Option<u64>) -> Op {
        Op::Access(AccessOp {
            task: TaskId(task),
            access,
            addr: 0x100000,
            len: 0x4000,
            value,
            expect_value,
            recorded: None,
        })
    }

    /// What happens when the pages' clock nears the end of its 32 bits? The
    /// next operation boundary empties every pmap and starts the clock
    /// again; the tasks refault and read exactly what they wrote.
    #[test]
    fn the_clock_restarts_before_it_wraps() {
        for policy in PolicyKind::ALL {
            let mut sim = Sim::new(policy, Config::default().check_invariants(true));
            sim.apply(&Op::TaskCreate { task: TaskId(1) }).unwrap();
            let allocate = Op::VmAllocate { task: TaskId(1), addr: Some(0x100000), size: 0x4000, anywhere: false };
            sim.apply(&allocate).unwrap();
            sim.apply(&access(1, Access::Write, Some(7), None)).unwrap();
            sim.world.pages.set_clock(crate::page::RESTAMP_AT);
            sim.apply(&Op::Fork { parent: TaskId(1), child: TaskId(2) }).unwrap();
            assert!(sim.world.pages.now() < 1000, "{policy}: the clock restarted");
            assert!(sim.world.tasks.values().all(|t| t.pmap.is_empty()), "{policy}: pmaps emptied");
            sim.apply(&access(2, Access::Write, Some(9), None)).unwrap();
            sim.apply(&access(1, Access::Read, None, Some(7))).unwrap();
            sim.apply(&access(2, Access::Read, None, Some(9))).unwrap();
            let faults_before = sim.world.recorder.stats.faults_total();
            sim.apply(&access(1, Access::Read, None, Some(7))).unwrap();
            assert_eq!(sim.world.recorder.stats.faults_total(), faults_before, "{policy}: hits again after refaulting");
        }
    }

    /// Does a long run sampled at every op keep a bounded series? It must
    /// stay within the cap, keep the last op, and keep its points evenly
    /// spaced, while the peaks still see every sample.
    #[test]
    fn the_series_is_thinned_to_its_cap() {
        the_series_is_thinned_to_its_cap_after(3 * MAX_SERIES_POINTS as u64 + 7);
        // The end of the run is the point that would overflow the series.
        the_series_is_thinned_to_its_cap_after(2 * MAX_SERIES_POINTS as u64 + 1);
    }

    fn the_series_is_thinned_to_its_cap_after(ops: u64) {
        let mut sim = Sim::new(PolicyKind::GnuMach, Config::default().sample_every(1).check_invariants(false));
        sim.apply(&Op::TaskCreate { task: TaskId(1) }).unwrap();
        let allocate = Op::VmAllocate { task: TaskId(1), addr: Some(0x100000), size: 0x4000, anywhere: false };
        sim.apply(&allocate).unwrap();
        for _ in 2..ops {
            sim.apply(&access(1, Access::Write, None, None)).unwrap();
        }
        let report = sim.finish("thinned");
        assert!(report.series.len() <= MAX_SERIES_POINTS, "{} points", report.series.len());
        assert!(report.series.len() > MAX_SERIES_POINTS / 4, "{} points", report.series.len());
        assert_eq!(report.series.last().map(|p| p.op), Some(ops));
        let gaps: std::collections::BTreeSet<u64> =
            report.series.windows(2).take(report.series.len() - 2).map(|w| w[1].op - w[0].op).collect();
        assert_eq!(gaps.len(), 1, "evenly spaced except the last point: {gaps:?}");
        assert_eq!(report.pages.resident_peak, 4);
    }
}

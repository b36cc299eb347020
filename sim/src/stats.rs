//! Counters, defined once as a fold over events.
//!
//! [`Stats::apply`] is the only code that changes a counter. Measures that
//! are not a count of events (hidden pages, chain lengths) are not counters:
//! the world keeps them up to date as it changes (`reach.rs`, `chains.rs`)
//! and the simulator reads them at sample points (`measure.rs`).

use std::collections::BTreeMap;

use crate::event::{Event, WorkKind};
use crate::ids::{TaskId, Token};
use crate::types::{Access, KernReturn};

/// Every counter of a run. Each field says what it counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operations finished.
    pub ops: u64,
    /// Page accesses made (pmap hits and resolved faults).
    pub accesses: u64,
    /// Running fold of `(task, address, token)` over every page read.
    pub read_digest: u64,
    /// Operations finished, by `kern_return_t` code (order of `KernReturn::ALL`).
    pub kern_returns: [u64; 5],
    /// Faults by kind (order of `FaultKind::ALL`).
    pub faults: [u64; 9],
    /// The same, task by task (exited tasks included): which task faults
    /// more is a question a student asks.
    pub faults_by_task: BTreeMap<TaskId, [u64; 9]>,
    /// Objects searched by faults beyond the first (the chain depth walked).
    pub chain_steps: u64,
    /// Pages pushed into copy objects (XNU / Mach delayed copy).
    pub push_copy: u64,
    /// UVM amaps copied.
    pub amap_copy: u64,
    /// Shadow objects made.
    pub shadows_created: u64,
    /// Backing objects merged into their shadow.
    pub collapses: u64,
    /// Backing objects skipped by a shadow that covers all their pages.
    pub bypasses: u64,
    /// Neighbouring file pages mapped read-only by Linux fault-around.
    pub fault_around: u64,
    /// Frames allocated now.
    pub resident: u64,
    /// Largest `resident` at an operation boundary.
    pub resident_peak: u64,
    /// Pages made by zero-fill.
    pub zero_filled: u64,
    /// Pages brought in from files.
    pub paged_in: u64,
    /// Pages made by copying another page (copy-on-write, pushes, eager copies).
    pub copied: u64,
    /// Pages moved between objects instead of copied (`cow_move`).
    pub moved: u64,
    /// Pages freed.
    pub freed: u64,
    /// Objects made.
    pub objects_created: u64,
    /// Objects alive now.
    pub objects_alive: u64,
    /// Largest `objects_alive` at an operation boundary.
    pub objects_alive_peak: u64,
    /// Accesses that carried a recorded real fault (see docs/fidelity.md).
    pub recorded_faults: u64,
    /// `page_cache` ops applied: files whose page cache the trace described.
    pub page_cache_files: u64,
    /// ...of which the simulator faulted with the same class.
    pub fidelity_agreed: u64,
    /// ...of which the simulator did not fault at all (a pmap hit).
    pub fidelity_not_faulted: u64,
    /// ...of which the simulator faulted with the other class.
    pub fidelity_class_mismatch: u64,
    /// Pages compared at processes' exits (`resident` ops): present in the
    /// real kernel and the simulator, in the kernel only, in the simulator
    /// only.
    pub resident_in_both: u64,
    pub resident_kernel_only: u64,
    pub resident_simulator_only: u64,
    /// The same three counts per task, for the tasks a `resident` op named.
    pub resident_by_task: std::collections::BTreeMap<crate::ids::TaskId, [u64; 3]>,
    /// Set by an event that can lengthen a chain (a shadow or copy object
    /// made); the simulator measures chains at the end of such an operation
    /// and clears it.
    pub chains_changed: bool,
    /// Kernel work by kind (`WorkKind::index`).
    pub work: [u64; WorkKind::ALL.len()],
    /// What each kind of op cost, summed over the run: (op name, tally),
    /// in the order the kinds first came. A handful of kinds, so a short
    /// list beats a map; `op_slot` is the one the op being applied adds to.
    pub by_op: Vec<(&'static str, OpTally)>,
    pub op_slot: usize,
}

/// What ops of one kind cost: how many there were, their faults by kind,
/// their kernel work by kind, and the pages they copied and zero-filled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpTally {
    pub ops: u64,
    pub faults: [u64; 9],
    pub work: [u64; WorkKind::ALL.len()],
    pub copied: u64,
    pub zero_filled: u64,
}

impl Stats {
    /// An op of kind `name` starts: its faults and work go to that kind's
    /// tally. Called by the simulator before it applies the op; the names
    /// are the ops' static names, so the same kind is usually found at
    /// once by address.
    #[inline]
    pub fn begin_op(&mut self, name: &'static str) {
        if self.by_op.get(self.op_slot).is_some_and(|(kind, _)| std::ptr::eq(*kind, name)) {
            return;
        }
        self.op_slot = match self.by_op.iter().position(|(kind, _)| *kind == name) {
            Some(slot) => slot,
            None => {
                self.by_op.push((name, OpTally::default()));
                self.by_op.len() - 1
            }
        };
    }

    /// The tally of the op being applied (none before the first op).
    #[inline]
    fn tally(&mut self) -> Option<&mut OpTally> {
        self.by_op.get_mut(self.op_slot).map(|(_, tally)| tally)
    }

    /// Folds one event into the counters.
    #[inline]
    pub fn apply(&mut self, event: &Event) {
        match *event {
            Event::Access { task, vpn, access, token } => {
                self.accesses += 1;
                if access != Access::Write {
                    self.read_digest = fold_read(self.read_digest, task.0, vpn.0, token);
                }
            }
            Event::Fault { task, kind, depth, .. } => {
                self.faults[kind.index()] += 1;
                if let Some(tally) = self.tally() {
                    tally.faults[kind.index()] += 1;
                }
                self.faults_by_task.entry(task).or_default()[kind.index()] += 1;
                self.chain_steps += u64::from(depth);
            }
            Event::OpFinished { kern_return } => {
                self.ops += 1;
                let slot = KernReturn::ALL.iter().position(|k| *k == kern_return).unwrap_or(0);
                self.kern_returns[slot] += 1;
                self.resident_peak = self.resident_peak.max(self.resident);
                self.objects_alive_peak = self.objects_alive_peak.max(self.objects_alive);
                if let Some(tally) = self.tally() {
                    tally.ops += 1;
                }
            }
            Event::Work { kind, count } => {
                self.work[kind.index()] += count;
                if let Some(tally) = self.tally() {
                    tally.work[kind.index()] += count;
                }
            }
            Event::ObjectCreated { .. } => {
                self.objects_created += 1;
                self.objects_alive += 1;
            }
            Event::ShadowCreated { .. } => {
                self.shadows_created += 1;
                self.chains_changed = true;
            }
            Event::CopyObjectCreated { .. } => self.chains_changed = true,
            Event::ObjectFreed { .. } => self.objects_alive -= 1,
            Event::PageZeroFilled { .. } => {
                self.resident += 1;
                self.zero_filled += 1;
                if let Some(tally) = self.tally() {
                    tally.zero_filled += 1;
                }
            }
            Event::PagePagedIn { .. } => {
                self.resident += 1;
                self.paged_in += 1;
            }
            Event::PageCopied { .. } => {
                self.resident += 1;
                self.copied += 1;
                if let Some(tally) = self.tally() {
                    tally.copied += 1;
                }
            }
            Event::PagePushed { .. } => {
                self.resident += 1;
                self.copied += 1;
                if let Some(tally) = self.tally() {
                    tally.copied += 1;
                }
                self.push_copy += 1;
            }
            Event::PageMoved { .. } => self.moved += 1,
            Event::PageFreed { .. } => {
                self.resident -= 1;
                self.freed += 1;
            }
            Event::Collapsed { .. } => self.collapses += 1,
            Event::Bypassed { .. } => self.bypasses += 1,
            Event::AmapCopied { .. } => self.amap_copy += 1,
            Event::FaultAround { mapped, .. } => self.fault_around += u64::from(mapped),
            Event::Fidelity { recorded, found, .. } => {
                self.recorded_faults += 1;
                match found {
                    None => self.fidelity_not_faulted += 1,
                    Some(class) if class == recorded => self.fidelity_agreed += 1,
                    Some(_) => self.fidelity_class_mismatch += 1,
                }
            }
            Event::ResidencyCompared { task, both, kernel_only, simulator_only } => {
                self.resident_in_both += both;
                self.resident_kernel_only += kernel_only;
                self.resident_simulator_only += simulator_only;
                let counts = self.resident_by_task.entry(task).or_default();
                counts[0] += both;
                counts[1] += kernel_only;
                counts[2] += simulator_only;
            }
            Event::PageCacheDescribed { .. } => self.page_cache_files += 1,
            Event::PageTableCopied { .. } | Event::ReadAhead { .. } => {}
            Event::TaskCreated { .. }
            | Event::TaskExited { .. }
            | Event::CopyObjectReused { .. }
            | Event::ShadowSkipped { .. }
            | Event::ObjectSplit { .. }
            | Event::RangeFreed { .. }
            | Event::ShadowSet { .. }
            | Event::EntryRetargeted { .. } => {}
        }
    }

    /// All faults.
    pub fn faults_total(&self) -> u64 {
        self.faults.iter().sum()
    }

    /// Operations that returned `code`.
    pub fn kern_return_count(&self, code: KernReturn) -> u64 {
        let slot = KernReturn::ALL.iter().position(|k| *k == code).unwrap_or(0);
        self.kern_returns[slot]
    }
}

/// Mixes one read into the digest. Order-dependent, so the same pages read
/// in another order give another digest.
#[inline]
fn fold_read(digest: u64, task: u32, vpn: u64, token: Token) -> u64 {
    let mut x = digest ^ mix(u64::from(task) << 40 ^ vpn);
    x = mix(x ^ token.0.rotate_left(17));
    x
}

/// SplitMix64's finaliser: a cheap, well-spread 64-bit mix.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

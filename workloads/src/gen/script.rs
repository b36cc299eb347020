//! The machinery every generator shares: a seeded random source, a step
//! buffer with one short builder method per operation, and the iterator
//! that turns a generator's steps into a stream of ops.
//!
//! # Streaming in constant memory
//!
//! A generator is a small state machine (a [`Script`]). Each call to
//! [`Script::step`] appends the few ops of its next step (one fork and the
//! writes after it, one message of an IPC exchange...) to a buffer, and
//! [`Generated`] hands them out one by one, asking for the next step only
//! when the buffer is empty. How many ops one step makes depends on the
//! parameters (say, pages written per round), never on how far into the
//! trace we are, so a trace of ten million ops is generated, and can be
//! replayed, without ever being held in memory. [`Generated::high_water`]
//! reports the largest the buffer has been, which tests use to check that.
//!
//! # Randomness
//!
//! Only this crate owns randomness (`sim` owns none; see ARCHITECTURE.md).
//! The source is `rand_pcg::Pcg64Mcg` seeded with `seed_from_u64`: a named
//! generator whose output stream is fixed by its crate's policy. Everything
//! above the raw 64-bit stream (a number below `n`, a coin with a given bias,
//! a skewed choice) is computed here with integer arithmetic rather than with
//! `rand`'s distributions, which may change between 0.x releases: the same
//! seed must give the same trace after a dependency bump, and the golden
//! tests in `workloads/tests/generators.rs` check that it does.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use sim::op::AccessOp;
use sim::{Access, Inheritance, KernReturn, Op, Prot, TaskId, TraceOp};

use super::params::Fraction;

/// The page size generated traces assume: the simulator's default
/// (`Config::default().page_size`).
pub const PAGE: u64 = 4096;

/// `n` pages in bytes.
pub const fn pages(n: u64) -> u64 {
    n * PAGE
}

/// The generators' random source.
pub struct GenRng(Pcg64Mcg);

impl GenRng {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> GenRng {
        GenRng(Pcg64Mcg::seed_from_u64(seed))
    }

    /// The next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n`, for `n > 0`: the high half of a 64×64-bit
    /// product. The bias (below `n / 2^64`) does not matter here, and the
    /// method never loops, so every draw takes exactly one number from the
    /// stream. Returns 0 for `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high, "between: {low} > {high}");
        low + self.below(high - low + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: Fraction) -> bool {
        self.below(u64::from(Fraction::ONE)) < u64::from(p.parts_per_million())
    }

    /// An index in `0..n` drawn from the self-similar distribution of Gray
    /// et al. ("Quickly generating billion-record synthetic databases",
    /// SIGMOD 1994): a share `hot` of the draws falls in the first `1 - hot`
    /// of the range, and the same holds again inside each part. With `hot =
    /// 0.8` that is the 80/20 rule at every scale, close to a Zipf law;
    /// `hot = 0.5` is uniform. Small indices are the hot ones.
    pub fn skewed(&mut self, n: u64, hot: Fraction) -> u64 {
        // The hot part of a range is its first (1 - hot), at least one
        // index and leaving at least one.
        let hot_part = Fraction::ppm(Fraction::ONE - hot.parts_per_million());
        let (mut low, mut high) = (0, n);
        while high - low > 1 {
            let width = high - low;
            let hot_width = hot_part.of(width).clamp(1, width - 1);
            if self.chance(hot) {
                high = low + hot_width;
            } else {
                low += hot_width;
            }
        }
        low
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// Hands out task ids in order from a first id, never the ids below it
/// (kept for a generator's long-lived tasks). After `u32::MAX` it wraps
/// around to the first id again: the tasks a generator keeps alive are a
/// few recent ones (bounded by its parameters), so an id handed out four
/// billion tasks ago has long exited.
pub struct TaskIds {
    first: u32,
    next: u32,
}

impl TaskIds {
    pub fn starting_at(first: u32) -> TaskIds {
        TaskIds { first, next: first }
    }

    /// The next id.
    pub fn fresh(&mut self) -> TaskId {
        let id = self.next;
        self.next = self.next.checked_add(1).unwrap_or(self.first);
        TaskId(id)
    }
}

/// A generator as a state machine: each step appends the next few ops.
pub trait Script: Send {
    /// Appends the ops of the next step to `out` and returns true, or
    /// returns false when the trace is over. A step appends a number of
    /// ops bounded by the parameters, not by the trace's length so far.
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool;
}

/// The ops of the current step, with one builder per operation. Addresses
/// and sizes are bytes, as in a trace.
#[derive(Default)]
pub struct Out {
    ops: VecDeque<TraceOp>,
}

impl Out {
    fn push(&mut self, op: Op) {
        self.ops.push_back(TraceOp { op, expect: None });
    }

    /// Marks the op just pushed as expecting `code`. Only for codes the
    /// generator is certain of whatever the policy and the state.
    pub fn expecting(&mut self, code: KernReturn) {
        if let Some(last) = self.ops.back_mut() {
            last.expect = Some(code);
        }
    }

    pub fn task_create(&mut self, task: TaskId) {
        self.push(Op::TaskCreate { task });
    }
    pub fn fork(&mut self, parent: TaskId, child: TaskId) {
        self.push(Op::Fork { parent, child });
    }
    pub fn exec(&mut self, task: TaskId) {
        self.push(Op::Exec { task });
    }
    pub fn exit(&mut self, task: TaskId) {
        self.push(Op::Exit { task });
    }
    /// `vm_allocate` at a fixed address.
    pub fn allocate(&mut self, task: TaskId, addr: u64, size: u64) {
        self.push(Op::VmAllocate { task, addr: Some(addr), size, anywhere: false });
    }
    pub fn deallocate(&mut self, task: TaskId, addr: u64, size: u64) {
        self.push(Op::VmDeallocate { task, addr, size });
    }
    pub fn protect(&mut self, task: TaskId, addr: u64, size: u64, prot: Prot, set_max: bool) {
        self.push(Op::VmProtect { task, addr, size, prot, set_max });
    }
    pub fn inherit(&mut self, task: TaskId, addr: u64, size: u64, inherit: Inheritance) {
        self.push(Op::VmInherit { task, addr, size, inherit });
    }
    /// `vm_map` of `file` from byte `offset`, at a fixed address.
    #[allow(clippy::too_many_arguments)]
    pub fn map_file(&mut self, task: TaskId, addr: u64, size: u64, file: &str, offset: u64, private: bool, prot: Prot) {
        self.push(Op::VmMap {
            task,
            addr: Some(addr),
            size,
            anywhere: false,
            file: file.to_string(),
            offset,
            private,
            prot,
        });
    }
    /// `vm_copy` inside one task.
    pub fn vm_copy(&mut self, task: TaskId, src: u64, size: u64, dst: u64) {
        self.push(Op::VmCopy { task, src, size, dst });
    }
    /// `vm_read`: `caller` maps a copy of `task`'s range at `dst`.
    pub fn vm_read(&mut self, task: TaskId, addr: u64, size: u64, caller: TaskId, dst: Option<u64>) {
        self.push(Op::VmRead { task, addr, size, caller, dst });
    }
    /// `vm_write`: `caller`'s memory at `src` overwrites `task`'s range.
    pub fn vm_write(&mut self, task: TaskId, addr: u64, size: u64, caller: TaskId, src: u64) {
        self.push(Op::VmWrite { task, addr, size, caller, src });
    }
    pub fn read(&mut self, task: TaskId, addr: u64, len: u64) {
        self.access(task, Access::Read, addr, len);
    }
    pub fn write(&mut self, task: TaskId, addr: u64, len: u64) {
        self.access(task, Access::Write, addr, len);
    }
    pub fn fetch(&mut self, task: TaskId, addr: u64, len: u64) {
        self.access(task, Access::ExecFetch, addr, len);
    }
    /// A memory access; writes store fresh tokens (no `value`).
    pub fn access(&mut self, task: TaskId, access: Access, addr: u64, len: u64) {
        self.push(Op::Access(AccessOp { task, access, addr, len, value: None, expect_value: None, recorded: None }));
    }
    pub fn mark(&mut self, label: impl Into<String>) {
        self.push(Op::Mark { label: label.into() });
    }
}

/// A generator's trace as a lazy stream of ops.
pub struct Generated {
    script: Box<dyn Script>,
    rng: GenRng,
    out: Out,
    done: bool,
    high_water: usize,
}

impl Generated {
    /// The stream of `script` driven by the random stream of `seed`.
    pub fn new(script: Box<dyn Script>, seed: u64) -> Generated {
        Generated { script, rng: GenRng::new(seed), out: Out::default(), done: false, high_water: 0 }
    }

    /// The most ops ever buffered at once: the size of the largest step.
    /// It depends on the parameters, not on the trace's length.
    pub fn high_water(&self) -> usize {
        self.high_water
    }
}

impl Iterator for Generated {
    type Item = TraceOp;

    fn next(&mut self) -> Option<TraceOp> {
        loop {
            if let Some(op) = self.out.ops.pop_front() {
                return Some(op);
            }
            if self.done {
                return None;
            }
            self.done = !self.script.step(&mut self.rng, &mut self.out);
            self.high_water = self.high_water.max(self.out.ops.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Are the draws in range, and is the first raw number of seed 1 what
    /// Pcg64Mcg gave when this was written?
    #[test]
    fn draws_are_in_range_and_the_stream_is_pinned() {
        let mut rng = GenRng::new(1);
        assert_eq!(rng.next_u64(), PINNED_FIRST_U64);
        for n in [1, 2, 3, 10, 1 << 40] {
            for _ in 0..200 {
                assert!(rng.below(n) < n);
            }
        }
        assert_eq!(rng.below(0), 0);
        for _ in 0..200 {
            let x = rng.between(5, 7);
            assert!((5..=7).contains(&x));
        }
    }

    /// `Pcg64Mcg::seed_from_u64(1).next_u64()` under rand_pcg 0.10.3.
    const PINNED_FIRST_U64: u64 = 0xdb51_d062_deef_2483;

    /// Does `skewed` put about `hot` of the draws in the first `1 - hot`?
    #[test]
    fn skewed_follows_the_80_20_rule() {
        let mut rng = GenRng::new(7);
        let n = 1000;
        let draws = 20_000;
        let hot = (0..draws).filter(|_| rng.skewed(n, Fraction::ppm(800_000)) < 200).count();
        assert!((15_000..17_000).contains(&hot), "{hot} of {draws} in the hottest 20%");
        let uniform = (0..draws).filter(|_| rng.skewed(n, Fraction::ppm(500_000)) < 500).count();
        assert!((9_500..10_500).contains(&uniform), "{uniform} of {draws} in the first half");
        assert_eq!(rng.skewed(1, Fraction::ppm(800_000)), 0);
        assert!((0..100).all(|_| rng.skewed(2, Fraction::ppm(1_000_000)) == 0));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = GenRng::new(3);
        let mut items: Vec<u32> = (0..50).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..50).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..50).collect::<Vec<_>>());
    }
}

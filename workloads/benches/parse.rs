//! Reading traces, from memory so the disk is not measured: the JSON Lines
//! reader, and the lackey importer writing its trace to a sink or keeping
//! its ops in a list (as `cowsim compare` does with a capture).
//!
//! Run with `cargo bench -p workloads --bench parse`; see benches/README.md.

use std::io::Write;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use sim::{Access, AccessOp, KernReturn, Op, TaskId, TraceOp};
use workloads::import::OpList;
use workloads::import::lackey::LackeyImport;
use workloads::trace::{TraceReader, TraceWriter};

fn main() {
    divan::main();
}

/// Ops in the JSON Lines trace: about 6 MB, long enough that the reader's
/// per-trace costs vanish, short enough to build in a moment.
const TRACE_OPS: u64 = 100_000;

/// A mix like an imported capture: mostly one-page accesses, some mapping
/// changes and forks, and an `expect` on every fifth line.
fn trace_op(i: u64) -> TraceOp {
    let task = TaskId(u32::try_from(i % 7).unwrap() + 1);
    let addr = 0x10_0000 + (i % 4096) * 4096;
    let op = match i % 10 {
        0 => Op::VmAllocate { task, addr: Some(addr), size: 64 << 10, anywhere: false },
        1 => Op::VmCopy { task, src: addr, size: 16 << 10, dst: addr + 0x8000 },
        2 => Op::Fork { parent: task, child: TaskId(task.0 + 1) },
        n => Op::Access(AccessOp {
            task,
            access: if n % 2 == 0 { Access::Read } else { Access::Write },
            addr,
            len: 4096,
            value: None,
            expect_value: None,
            recorded: None,
        }),
    };
    TraceOp { op, expect: i.is_multiple_of(5).then_some(KernReturn::Success) }
}

fn json_lines_trace() -> Vec<u8> {
    let mut writer = TraceWriter::new(Vec::new());
    for i in 0..TRACE_OPS {
        writer.write_op(&trace_op(i)).expect("writing to memory cannot fail");
    }
    writer.into_inner()
}

/// `TraceReader` over an in-memory trace, every line parsed into an op.
#[divan::bench(sample_count = 20)]
fn json_lines(bencher: Bencher) {
    let trace = json_lines_trace();
    bencher.counter(BytesCount::of_slice(&trace)).counter(ItemsCount::new(TRACE_OPS)).bench_local(|| {
        let mut ops = 0u64;
        for parsed in TraceReader::new(trace.as_slice(), "bench") {
            divan::black_box(parsed.expect("the generated trace parses"));
            ops += 1;
        }
        assert_eq!(ops, TRACE_OPS);
    });
}

/// Lines in the lackey log: about 14 MB.
const LACKEY_LINES: u64 = 1_000_000;

/// xorshift64*: a tiny fixed generator, so every run parses the same log.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A log shaped like a real one: instruction fetches walking through code
/// with jumps, loads and stores near a stack pointer and over a heap. The
/// share of lines that start a new page decides how many ops come out, so
/// the shape matters as much as the length.
fn lackey_log() -> Vec<u8> {
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut log = Vec::with_capacity(LACKEY_LINES as usize * 15);
    writeln!(log, "==4242== Lackey, an example Valgrind tool").unwrap();
    let mut ip: u64 = 0x0040_1000;
    let mut sp: u64 = 0x1f_ff00_0700;
    for _ in 0..LACKEY_LINES {
        match random.next() % 100 {
            0..65 => {
                let size = 1 + random.next() % 7;
                writeln!(log, "I  {ip:08x},{size}").unwrap();
                ip += size;
                if random.next().is_multiple_of(16) {
                    // A jump: usually near, sometimes into a library.
                    ip = if random.next().is_multiple_of(8) {
                        0x0400_0000 + random.next() % 0x20_0000
                    } else {
                        ip.wrapping_sub(random.next() % 0x400) + 0x200
                    };
                }
            }
            65..87 => {
                let address = if random.next().is_multiple_of(2) {
                    sp + random.next() % 256
                } else {
                    0x0500_0000 + random.next() % 0x100_0000
                };
                writeln!(log, " L {address:08x},8").unwrap();
            }
            87..97 => {
                sp = sp.wrapping_add(random.next() % 17).wrapping_sub(8);
                writeln!(log, " S {sp:08x},8").unwrap();
            }
            _ => writeln!(log, " M {:08x},4", 0x0500_0000 + random.next() % 0x10_0000).unwrap(),
        }
    }
    log
}

/// The lackey importer writing JSON Lines to a sink: all of
/// `cowsim import lackey` but the disk.
#[divan::bench(sample_count = 20)]
fn lackey_to_trace_text(bencher: Bencher) {
    let log = lackey_log();
    bencher.counter(BytesCount::of_slice(&log)).counter(ItemsCount::new(LACKEY_LINES)).bench_local(|| {
        let mut writer = TraceWriter::new(std::io::sink());
        LackeyImport.run(log.as_slice(), "bench", &mut writer, "sink").expect("the generated log imports")
    });
}

/// The lackey importer keeping its ops in memory, as `cowsim compare`
/// does with a capture: no formatting, one clone per op.
#[divan::bench(sample_count = 20)]
fn lackey_to_op_list(bencher: Bencher) {
    let log = lackey_log();
    bencher.counter(BytesCount::of_slice(&log)).counter(ItemsCount::new(LACKEY_LINES)).bench_local(|| {
        let mut ops = OpList::default();
        LackeyImport.run(log.as_slice(), "bench", &mut ops, "memory").expect("the generated log imports");
        // Returned so that freeing the list is not timed.
        ops
    });
}

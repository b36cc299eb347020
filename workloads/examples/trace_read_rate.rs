//! Measures how fast `TraceReader` parses JSON Lines ops (the aim is over a
//! million a second). Run with
//! `cargo run --release -p workloads --example trace_read_rate [LINES]`.

use std::time::Instant;

use sim::ids::TaskId;
use sim::op::{AccessOp, Op, TraceOp};
use sim::types::{Access, KernReturn};
use workloads::trace::{TraceReader, TraceWriter};

/// A mix like a real capture: mostly accesses, some map changes and forks.
fn op_number(i: u64) -> TraceOp {
    let task = TaskId((i % 7) as u32 + 1);
    let addr = 0x10_0000 + (i % 4096) * 4096;
    let op = match i % 10 {
        0 => Op::VmAllocate { task, addr: Some(addr), size: 64 << 10, anywhere: false },
        1 => Op::VmCopy { task, src: addr, size: 16 << 10, dst: addr + 0x8000 },
        2 => Op::Fork { parent: task, child: TaskId(task.0 + 1) },
        access => Op::Access(AccessOp {
            task,
            access: if access % 2 == 0 { Access::Read } else { Access::Write },
            addr,
            len: 4096,
            value: None,
            expect_value: None,
            recorded: None,
        }),
    };
    TraceOp { op, expect: i.is_multiple_of(5).then_some(KernReturn::Success) }
}

fn main() {
    let lines: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let mut writer = TraceWriter::new(Vec::new());
    for i in 0..lines {
        writer.write_op(&op_number(i)).expect("writing to memory cannot fail");
    }
    let bytes = writer.into_inner();
    for _round in 0..3 {
        let start = Instant::now();
        let mut count = 0u64;
        for item in TraceReader::new(bytes.as_slice(), "generated") {
            item.expect("generated lines parse");
            count += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{count} ops, {:.1} MB in {seconds:.3} s: {:.2} M ops/s, {:.0} MB/s",
            bytes.len() as f64 / 1e6,
            count as f64 / seconds / 1e6,
            bytes.len() as f64 / seconds / 1e6
        );
    }
}

//! Measures how fast `cowsim import lackey` reads lackey text (the aim is
//! over 20 million lines a second). Run with
//!
//! ```text
//! cargo run --release -p workloads --example lackey_rate [LINES] [--write FILE]
//! ```
//!
//! It generates LINES lines (default 20 million) shaped like a real log —
//! instruction fetches walking through code with jumps, loads and stores
//! near a stack pointer and scattered over a heap — then imports them from
//! memory three times, writing the trace to a sink (all of the importer's
//! work, formatting included, but no disk). With `--write FILE` it also
//! saves the log, to time the command itself:
//! `time cowsim import lackey FILE -o /dev/null`.

use std::io::Write;
use std::time::Instant;

use workloads::import::lackey::LackeyImport;
use workloads::trace::TraceWriter;

/// xorshift64*: a tiny, fixed generator, so every run measures the same log.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn generate(lines: u64) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut log = Vec::with_capacity(lines as usize * 15);
    writeln!(log, "==4242== Lackey, an example Valgrind tool").unwrap();
    let mut ip: u64 = 0x0040_1000;
    let mut sp: u64 = 0x1f_ff00_0700;
    for _ in 0..lines {
        let roll = rng.next() % 100;
        match roll {
            0..65 => {
                let size = 1 + rng.next() % 7;
                writeln!(log, "I  {ip:08x},{size}").unwrap();
                ip += size;
                if rng.next().is_multiple_of(16) {
                    // A jump: usually near, sometimes into a library.
                    ip = if rng.next().is_multiple_of(8) {
                        0x0400_0000 + rng.next() % 0x20_0000
                    } else {
                        ip.wrapping_sub(rng.next() % 0x400) + 0x200
                    };
                }
            }
            65..87 => {
                let address = if rng.next().is_multiple_of(2) {
                    sp + rng.next() % 256
                } else {
                    0x0500_0000 + rng.next() % 0x100_0000
                };
                writeln!(log, " L {address:08x},8").unwrap();
            }
            87..97 => {
                sp = sp.wrapping_add(rng.next() % 17).wrapping_sub(8);
                writeln!(log, " S {sp:08x},8").unwrap();
            }
            _ => writeln!(log, " M {:08x},4", 0x0500_0000 + rng.next() % 0x10_0000).unwrap(),
        }
    }
    log
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut lines: u64 = 20_000_000;
    let mut save = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--write" => save = args.next(),
            number => lines = number.parse().expect("LINES is a number"),
        }
    }
    let log = generate(lines);
    if let Some(path) = save {
        std::fs::write(&path, &log).expect("writing the log");
        println!("wrote {} lines ({:.1} MB) to {path}", lines + 1, log.len() as f64 / 1e6);
    }
    for _round in 0..3 {
        let mut writer = TraceWriter::new(std::io::sink());
        let start = Instant::now();
        let summary = LackeyImport.run(log.as_slice(), "generated", &mut writer, "sink").expect("the log imports");
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{} lines, {:.1} MB -> {} ops in {seconds:.3} s: {:.1} M lines/s, {:.0} MB/s, {:.1} M ops/s",
            summary.lines,
            log.len() as f64 / 1e6,
            summary.ops,
            summary.lines as f64 / seconds / 1e6,
            log.len() as f64 / seconds / 1e6,
            summary.ops as f64 / seconds / 1e6
        );
    }
}

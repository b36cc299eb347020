//! Generates a workload and replays it under policies in one process,
//! streaming: no trace file, and no op kept after it is applied. For
//! measuring how long a long generated trace takes and how much memory it
//! needs, e.g. ten million ops of the fork-exit loop under every policy:
//!
//! ```text
//! cargo build --release --example gen_replay
//! /usr/bin/time -v target/release/examples/gen_replay fork-exit rounds=3333332
//! ```
//!
//! Arguments: the workload, then `NAME=VALUE` parameters. The policies are
//! every policy, or those listed in `COWSIM_POLICIES` (comma-separated).

use std::time::Instant;

use analysis::replay::{Origin, replay_ops};
use sim::{Config, PolicyKind};
use workloads::generators::{self, DEFAULT_SEED};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, settings)) = args.split_first() else {
        eprintln!("usage: gen_replay WORKLOAD [NAME=VALUE ...]");
        std::process::exit(2);
    };
    let policies: Vec<PolicyKind> = match std::env::var("COWSIM_POLICIES") {
        Ok(list) => list.split(',').map(|p| PolicyKind::parse(p).unwrap_or_else(|| panic!("no policy {p}"))).collect(),
        Err(_) => PolicyKind::ALL.to_vec(),
    };
    let workload = generators::find(name).unwrap_or_else(|e| panic!("{e}"));
    let params = workload.parse_params(settings).unwrap_or_else(|e| panic!("{e}"));
    let mut ops = workload.generate(DEFAULT_SEED, &params);
    // The time series grows with the trace; sample it rarely.
    let config = Config::default().check_invariants(false).sample_every(100_000);
    let started = Instant::now();
    let reports =
        replay_ops(&Origin::Workload(name.clone()), &mut ops, &policies, &config).unwrap_or_else(|e| panic!("{e}"));
    let seconds = started.elapsed().as_secs_f64();
    println!("{name}: {} ops in {seconds:.2} s, generator buffered at most {} ops", reports[0].ops, ops.high_water());
    for r in &reports {
        println!(
            "  {:<16} faults {:>9}  copied {:>9}  resident peak {:>7}  longest chain {:>5}  digest {}",
            r.policy, r.faults.total, r.pages.copied, r.pages.resident_peak, r.objects.max_chain, r.read_digest
        );
    }
}

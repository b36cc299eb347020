//! `cowsim`: the command line of the copy-on-write VM simulator.
//!
//! Exit codes (DESIGN.md §5): 0 success; 1 a run failed (an `expect` not
//! met); 2 bad usage or bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use analysis::replay::{ReplayError, replay_file};
use analysis::summary;
use anyhow::Context;
use clap::{Parser, Subcommand};
use sim::{Config, PolicyKind};

#[derive(Parser)]
#[command(name = "cowsim", version, about = "A copy-on-write VM simulator in the Mach tradition")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Replay one trace and print what happened.
    Run {
        /// The trace (JSON Lines, plain or gzip); `-` for stdin.
        trace: PathBuf,
        /// The policy to run, or `all` for every policy side by side.
        #[arg(long, short, default_value = "gnumach")]
        policy: String,
        /// Print the report as JSON (DESIGN.md §4) instead of a summary;
        /// with `--policy all`, a JSON array of reports.
        #[arg(long)]
        json: bool,
        /// Sample the time series every this many operations.
        #[arg(long, default_value_t = 100)]
        sample_every: u64,
        /// Run the invariant checker after every operation (slow; on by
        /// default in debug builds).
        #[arg(long)]
        check: bool,
    },
    /// List the policies, one line each, with the kernel sources they follow.
    Policies,
    /// Turn a real capture into a trace: perf script text or a valgrind
    /// lackey log, plain or gzip (DESIGN.md §6). A summary of what was
    /// skipped goes to stderr.
    Import {
        /// The capture's format.
        format: analysis::import::Format,
        /// The capture; `-` for stdin.
        file: PathBuf,
        /// Where to write the trace; `-` for stdout.
        #[arg(long, short, default_value = "-")]
        output: PathBuf,
        /// perf only: how many events to hold back to repair their order.
        #[arg(long, default_value_t = workloads::import::perf::DEFAULT_WINDOW)]
        window: usize,
    },
    /// Run a command under perf (DESIGN.md §6 events) and import the capture.
    Record {
        /// Where to write the trace; `-` for stdout.
        #[arg(long, short)]
        output: PathBuf,
        /// Also keep the `perf script` text here.
        #[arg(long)]
        perf_text: Option<PathBuf>,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            let code = error.downcast_ref::<ReplayError>().map_or(2, ReplayError::exit_code);
            eprintln!("cowsim: {error:#}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => {
            println!("cowsim: try `cowsim run examples/fork-then-write.jsonl --policy all`, or `cowsim --help`.");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Policies) => {
            for p in PolicyKind::ALL {
                println!("{:<16} {}\n{:<16} follows {}", p.name(), p.summary(), "", p.sources());
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Import { format, file, output, window }) => {
            let summary = analysis::import::import_file(format, &file, &output, window, None)?;
            for line in summary.report_lines() {
                eprintln!("cowsim import {}: {line}", format.name());
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Record { output, perf_text, command }) => {
            let recorded = analysis::record::record(&command, &output, perf_text.as_deref())?;
            if let Some(status) = recorded.command_status {
                eprintln!("cowsim record: the command exited with status {status} (recorded anyway)");
            }
            for line in recorded.summary.report_lines() {
                eprintln!("cowsim record: {line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run { trace, policy, json, sample_every, check }) => {
            let policies = parse_policies(&policy)?;
            let config = Config::default().sample_every(sample_every).check_invariants(check || cfg!(debug_assertions));
            let reports = replay_file(&trace, &policies, &config)?;
            let mut out = std::io::stdout().lock();
            let text = match (json, reports.as_slice()) {
                (true, [one]) => serde_json::to_string_pretty(one)?,
                (true, many) => serde_json::to_string_pretty(many)?,
                (false, [one]) => summary::single(one),
                (false, many) => summary::side_by_side(many),
            };
            writeln!(out, "{}", text.trim_end()).context("writing to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A policy name, or `all`.
fn parse_policies(name: &str) -> anyhow::Result<Vec<PolicyKind>> {
    if name == "all" {
        return Ok(PolicyKind::ALL.to_vec());
    }
    match PolicyKind::parse(name) {
        Some(p) => Ok(vec![p]),
        None => {
            let known: Vec<&str> = PolicyKind::ALL.iter().map(|p| p.name()).collect();
            anyhow::bail!("unknown policy {name:?}; known policies: {}, or all", known.join(", "))
        }
    }
}

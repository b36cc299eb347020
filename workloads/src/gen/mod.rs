//! Seeded workload generators: programs that write traces (in the format of
//! docs/trace-format.md).
//!
//! Each generator models one situation that copy-on-write designs handle
//! differently — a shell's fork-exit loop, a database snapshot, Android's
//! zygote — as a trace, so a generated workload can be saved, shared and
//! replayed like a recorded one. A generator is named (the names are
//! stable: they appear on the command line and in results), takes one seed
//! and a few parameters, and is *streamed*: [`Workload::generate`] returns
//! an iterator that makes each op when asked, in constant memory, so a
//! trace of ten million ops never sits in memory.
//!
//! ```
//! use workloads::generators::{find, Params};
//!
//! let fork_exit = find("fork-exit").unwrap();
//! let params = Params::parse(fork_exit.name, fork_exit.params, &["rounds=10"]).unwrap();
//! let ops: Vec<_> = fork_exit.generate(1, &params).collect();
//! assert_eq!(ops[0].op.name(), "task_create");
//! ```
//!
//! | name | demonstrates |
//! |---|---|
//! | `fork-exit` | chain maintenance: each fork leaves a level that only collapse removes |
//! | `live-children` | chain depth that is needed: every live child pins a level |
//! | `stranding` | GNU Mach's stranded middle objects: collapse stops at a level a live child holds |
//! | `bgsave` | a Redis BGSAVE snapshot: copies driven by a skewed write set |
//! | `zygote` | one preloaded parent, many children sharing most of it |
//! | `shell` | fork + exec: copies made just before the map is thrown away |
//! | `build` | a process tree with varied lifetimes (make → sh → cc → cc1, as) |
//! | `mach-ipc` | `vm_copy`, `vm_read` and `vm_write` of message buffers |
//! | `random` | every op, error cases included, for stress |
//! | `fork-chain` | Linux `anon_vma` chains: each process forks its successor and exits |
//! | `fork-exec` | fork latency against the parent's size: fork + exec or `posix_spawn` |
//!
//! # Assumptions every generated trace makes
//!
//! Pages are 4 KiB and the map spans `0x1000` to 128 TiB (the defaults of
//! `sim::Config`). Tasks are only named while they exist. Regions sit at
//! fixed, generator-chosen addresses, so no op depends on where an
//! `anywhere` allocation happened to land. A generated op carries an
//! `expect` only where its code is certain in every state and under every
//! policy (the deliberate errors of `random`).
//!
//! # Adding a generator
//!
//! Write a file with a module doc (what it demonstrates and a parameter
//! table), a `PARAMS` table of [`ParamSpec`]s, a `SUMMARY` line and a
//! `build` function returning a [`Script`]; add it to [`WORKLOADS`]. The
//! tests then check that its doc lists every parameter with its default,
//! that its trace replays under every policy as under `eager`, and pin its
//! output for seed 1.

use std::io::{self, Write};

use crate::suggest::did_you_mean;
use crate::trace::{TraceWriter, quoted};

mod bgsave;
mod build;
mod fork_chain;
mod fork_exec;
mod fork_exit;
mod live_children;
mod mach_ipc;
pub mod params;
mod random;
pub mod script;
mod shell;
mod stranding;
mod zygote;

pub use params::{Fraction, ParamKind, ParamSpec, Params};
pub use script::{Generated, Script};

/// The seed every generator uses when none is given.
pub const DEFAULT_SEED: u64 = 1;

/// A generator: its stable name, what it shows, and its parameters.
#[derive(Debug)]
pub struct Workload {
    /// The stable name (`fork-exit`).
    pub name: &'static str,
    /// One line: what the workload does and what it demonstrates.
    pub summary: &'static str,
    /// Every parameter, in the order `cowsim workloads` lists them.
    pub params: &'static [ParamSpec],
    build: fn(&Params) -> Box<dyn Script>,
}

impl Workload {
    /// The trace for `seed` and `params` (made with this workload's
    /// [`Params::parse`] or [`Params::defaults`]), as a lazy stream.
    pub fn generate(&self, seed: u64, params: &Params) -> Generated {
        Generated::new((self.build)(params), seed)
    }

    /// Every parameter at its default.
    pub fn default_params(&self) -> Params {
        Params::defaults(self.params)
    }

    /// Parses `NAME=VALUE` settings against this workload's parameters.
    pub fn parse_params<S: AsRef<str>>(&self, settings: &[S]) -> Result<Params, GenError> {
        Params::parse(self.name, self.params, settings)
    }
}

/// Every generator, in the order `cowsim workloads` lists them.
pub static WORKLOADS: [Workload; 11] = [
    Workload { name: "fork-exit", summary: fork_exit::SUMMARY, params: fork_exit::PARAMS, build: fork_exit::build },
    Workload {
        name: "live-children",
        summary: live_children::SUMMARY,
        params: live_children::PARAMS,
        build: live_children::build,
    },
    Workload { name: "stranding", summary: stranding::SUMMARY, params: stranding::PARAMS, build: stranding::build },
    Workload { name: "bgsave", summary: bgsave::SUMMARY, params: bgsave::PARAMS, build: bgsave::build },
    Workload { name: "zygote", summary: zygote::SUMMARY, params: zygote::PARAMS, build: zygote::build },
    Workload { name: "shell", summary: shell::SUMMARY, params: shell::PARAMS, build: shell::build },
    Workload { name: "build", summary: build::SUMMARY, params: build::PARAMS, build: build::build },
    Workload { name: "mach-ipc", summary: mach_ipc::SUMMARY, params: mach_ipc::PARAMS, build: mach_ipc::build },
    Workload { name: "random", summary: random::SUMMARY, params: random::PARAMS, build: random::build },
    Workload { name: "fork-chain", summary: fork_chain::SUMMARY, params: fork_chain::PARAMS, build: fork_chain::build },
    Workload { name: "fork-exec", summary: fork_exec::SUMMARY, params: fork_exec::PARAMS, build: fork_exec::build },
];

/// Why a generator could not be set up. All are bad usage (exit code 2).
/// Names and values from the user are kept as [`quoted`] text, so a
/// megabyte of junk makes a one-line message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenError {
    #[error("unknown workload {name}; {hint}")]
    UnknownWorkload { name: String, hint: String },
    #[error("workload {workload} has no parameter {param}; {hint}")]
    UnknownParam { workload: &'static str, param: String, hint: String },
    #[error("{setting} is not a parameter setting; write NAME=VALUE")]
    NotASetting { setting: String },
    #[error("parameter {param} is given twice")]
    RepeatedParam { param: &'static str },
    #[error("parameter {param}: {value} is not {expected}")]
    BadValue { param: &'static str, value: String, expected: String },
    #[error(
        "parameter {param}: {value} has a size suffix, but {param} is a count, not a size in bytes; \
         write the number itself (K, M and G mean KiB, MiB and GiB, and are for sizes in bytes)"
    )]
    SuffixOnCount { param: &'static str, value: String },
}

/// "did you mean X? (known NOUN: a, b, c)" or just the list.
pub(crate) fn hint(text: &str, known: &[&str], noun: &str) -> String {
    let list = format!("known {noun}: {}", known.join(", "));
    match did_you_mean(text, known.iter().copied()) {
        Some(suggestion) => format!("{suggestion} ({list})"),
        None => list,
    }
}

/// The generator with this name.
pub fn find(name: &str) -> Result<&'static Workload, GenError> {
    WORKLOADS.iter().find(|w| w.name == name).ok_or_else(|| {
        let known: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
        GenError::UnknownWorkload { name: quoted(name), hint: hint(name, &known, "workloads") }
    })
}

/// The comment a generated trace opens with: the command that remakes it
/// (every parameter spelled out, defaults included) and what it shows.
pub fn header(workload: &Workload, seed: u64, params: &Params) -> String {
    let settings: Vec<String> = params.settings().iter().map(|s| format!("--param {s}")).collect();
    format!(
        "cowsim gen {} --seed {seed} {}\n{}: {}\nAssumes 4 KiB pages and the default address range.",
        workload.name,
        settings.join(" "),
        workload.name,
        workload.summary
    )
}

/// Writes the header and the whole trace to `out`, one op at a time.
/// Returns the number of ops written.
pub fn write_trace<W: Write>(workload: &Workload, seed: u64, params: &Params, out: W) -> io::Result<u64> {
    let mut writer = TraceWriter::new(out);
    writer.write_comment(&header(workload, seed, params))?;
    let mut count = 0;
    for op in workload.generate(seed, params) {
        writer.write_op(&op)?;
        count += 1;
    }
    writer.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source of each generator, to check its documentation.
    const SOURCES: [(&str, &str); 11] = [
        ("fork-exit", include_str!("fork_exit.rs")),
        ("live-children", include_str!("live_children.rs")),
        ("stranding", include_str!("stranding.rs")),
        ("bgsave", include_str!("bgsave.rs")),
        ("zygote", include_str!("zygote.rs")),
        ("shell", include_str!("shell.rs")),
        ("build", include_str!("build.rs")),
        ("mach-ipc", include_str!("mach_ipc.rs")),
        ("random", include_str!("random.rs")),
        ("fork-chain", include_str!("fork_chain.rs")),
        ("fork-exec", include_str!("fork_exec.rs")),
    ];

    /// Does every generator's module doc have a parameter table row
    /// `` | `name` | default | `` for each parameter it declares, and no
    /// row for a parameter it does not?
    #[test]
    fn module_docs_list_every_parameter_with_its_default() {
        for (workload, (name, source)) in WORKLOADS.iter().zip(SOURCES) {
            assert_eq!(workload.name, name);
            let doc: String = source.lines().filter_map(|l| l.strip_prefix("//!")).collect::<Vec<_>>().join("\n");
            assert!(doc.contains("Demonstrates"), "{name}: the module doc must say what it demonstrates");
            for spec in workload.params {
                let row = format!("| `{}` | {} |", spec.name, spec.show(spec.default));
                assert!(doc.contains(&row), "{name}: the module doc has no row {row:?}");
            }
            let rows = doc.lines().filter(|l| l.trim_start().starts_with("| `")).count();
            assert_eq!(rows, workload.params.len(), "{name}: parameter rows in the doc vs declared");
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for w in &WORKLOADS {
            assert_eq!(find(w.name).unwrap().name, w.name);
            assert!(!w.summary.contains('\n'));
        }
        assert_eq!(
            find("forkexit").unwrap_err().to_string(),
            "unknown workload \"forkexit\"; did you mean \"fork-exit\"? (known workloads: fork-exit, live-children, \
             stranding, bgsave, zygote, shell, build, mach-ipc, random, fork-chain, fork-exec)"
        );
    }

    #[test]
    fn header_spells_out_every_parameter() {
        let w = find("fork-exit").unwrap();
        let params = w.parse_params(&["rounds=5"]).unwrap();
        let text = header(w, 9, &params);
        assert!(text.starts_with("cowsim gen fork-exit --seed 9 --param rounds=5 --param pages="), "{text}");
    }
}

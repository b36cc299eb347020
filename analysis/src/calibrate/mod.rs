//! `cowsim calibrate`: measures what this machine's kernel takes for the
//! work a report counts, and writes a cost profile (`cowsim.costs/1`,
//! docs/costs.md) that `cowsim run --costs` and `cowsim compare --costs`
//! price runs with.
//!
//! Three stages, one file each:
//!
//! 1. [`probes`] — small experiments on the real kernel (faults, forks,
//!    unmaps...), each timed, repeated, the median kept: [`measure`]
//!    follows a [`Plan`] of sizes and repeats.
//! 2. [`derive`] — the prices, derived from the measurements with the
//!    help of each probe's *twin* ([`twins`]), the same experiment as
//!    simulator ops, which says what the simulator counts for it.
//! 3. [`validate`] — the prices put back to work on the fork curve: the
//!    predicted fork latency against the measured one at every size,
//!    most of which the derivation never looked at.

use crate::costs::{CurvePoint, Machine, Measured, ProbePoint, Profile, SCHEMA};

pub mod derive;
pub mod probes;
pub mod twins;
pub mod validate;

use probes::{ProbeError, ProbeResult, Region, TrueProgram, median};

/// How long and how large: the sizes each probe runs at and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub quick: bool,
    /// Measurements of each probe (after one warm-up run, not kept).
    pub repeats: usize,
    /// Rounds of the fork curve, each in a fresh region, and measurements
    /// of each size in a round (the curve's medians are over all of them).
    pub curve_rounds: usize,
    pub curve_repeats: usize,
    /// Pages of the per-page probes (faults, copies, forks of a region).
    pub pages: usize,
    /// Page-table leaves of the leaf probe; mappings of the file probe;
    /// fault-around windows; extra mappings of the fork-with-mappings probe.
    pub leaves: usize,
    pub file_maps: usize,
    pub windows: usize,
    pub mappings: usize,
    /// Sizes of the unmap probe, in pages.
    pub unmap_pages: Vec<usize>,
    /// The fork curve's sizes, in MiB, smallest first; the first
    /// [`derive::FIT_SIZES`] are the ones prices are fitted on.
    pub curve_mib: Vec<usize>,
}

impl Plan {
    /// The full plan (about fifteen seconds here) or the quick one (under a
    /// second: small sizes, few repeats, for tests).
    pub fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                repeats: 3,
                curve_rounds: 1,
                curve_repeats: 3,
                pages: 1024,
                leaves: 32,
                file_maps: 64,
                windows: 64,
                mappings: 100,
                unmap_pages: vec![16, 256],
                curve_mib: vec![1, 2, 4],
            }
        } else {
            Plan {
                quick,
                repeats: 11,
                curve_rounds: 3,
                curve_repeats: 11,
                pages: 16384,
                leaves: 256,
                file_maps: 512,
                windows: 512,
                mappings: 8000,
                unmap_pages: vec![16, 256, 4096],
                curve_mib: vec![16, 32, 64, 128, 256, 512, 1024],
            }
        }
    }
}

/// Why calibration failed: a probe the machine refused, or prices the
/// measurements could not give.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error(transparent)]
    Derive(#[from] derive::DeriveError),
}

/// Measures this machine and derives its profile. `say` hears what is
/// being measured, one line at a time.
pub fn calibrate(plan: &Plan, say: &mut dyn FnMut(&str)) -> Result<Profile, CalibrateError> {
    let machine = this_machine();
    let measured = measure(plan, say)?;
    let derived = derive::derive(&measured, machine.page_size)?;
    Ok(Profile { schema: SCHEMA.to_string(), machine, costs: derived.costs, notes: derived.notes, measured })
}

/// The machine the probes run on: CPU model, CPUs online, kernel, page size.
pub fn this_machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')))
        .map_or_else(|| "unknown CPU".to_string(), |(_, name)| name.trim().to_string());
    // SAFETY: sysconf has no memory effects.
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u64;
    Machine { cpu, cores, kernel: kernel_release(), page_size: probes::page_size() as u64 }
}

/// `Linux 6.1.0-18-amd64`, from uname.
fn kernel_release() -> String {
    // SAFETY: uname fills the struct it is given.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut names) } != 0 {
        return "unknown kernel".to_string();
    }
    let text = |field: &[libc::c_char]| {
        let bytes: Vec<u8> = field.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {}", text(&names.sysname), text(&names.release))
}

/// Runs every probe of `plan` on this machine.
pub fn measure(plan: &Plan, say: &mut dyn FnMut(&str)) -> ProbeResult<Measured> {
    let _undisturbed = probes::Undisturbed::here();
    let mut measured = Measured {
        quick: plan.quick,
        repeats: plan.repeats as u64,
        curve_repeats: (plan.curve_rounds * plan.curve_repeats) as u64,
        ..Measured::default()
    };
    let n = plan.pages;
    let mut probe = |name: &str, count: usize, run: &mut dyn FnMut() -> ProbeResult<u64>| -> ProbeResult<()> {
        let ns = median_of(plan.repeats, run)?;
        measured.probes.entry(name.to_string()).or_default().push(ProbePoint { count: count as u64, ns });
        Ok(())
    };

    say("page faults: zero-fill, zero page, copy-on-write, reuse");
    probe("first_writes", n, &mut || probes::first_writes(n))?;
    probe("first_writes_one_per_leaf", plan.leaves, &mut || probes::first_writes_one_per_leaf(plan.leaves))?;
    probe("first_reads", n, &mut || probes::first_reads(n))?;
    probe("writes_shared_with_child", n, &mut || probes::writes_shared_with_child(n))?;
    probe("writes_after_child_exit", n, &mut || probes::writes_after_child_exit(n))?;
    say("file faults and fault-around");
    probe("file_reads_one_page_each", plan.file_maps, &mut || probes::file_reads_one_page_each(plan.file_maps))?;
    let window = derive::FAULT_AROUND_PAGES as usize;
    probe("file_reads_one_per_window", plan.windows, &mut || probes::file_reads_one_per_window(plan.windows, window))?;

    say("memory: reads of present pages, copies, zeroing");
    let present = Region::touched(n)?;
    probe("present_reads", n, &mut || Ok(probes::present_reads(&present)))?;
    drop(present);
    probe("copy_bytes", n, &mut || probes::copy_bytes(n))?;
    probe("zero_bytes", n, &mut || probes::zero_bytes(n))?;

    say("system calls: mmap, munmap, mprotect, madvise");
    probe("mmap", 1, &mut || probes::map_untouched(1))?;
    probe("munmap_untouched", 1, &mut || probes::unmap(1, false))?;
    for &pages in &plan.unmap_pages {
        probe("munmap_touched", pages, &mut || probes::unmap(pages, true))?;
    }
    probe("mprotect_untouched", 1, &mut || probes::protect_read_only(1, false))?;
    for pages in [1, n] {
        probe("mprotect_touched", pages, &mut || probes::protect_read_only(pages, true))?;
    }
    probe("madvise", 1, &mut || probes::advise_nothing())?;

    say("processes: forks of written memory, with and without write permission, and of many mappings");
    let region = Region::touched(n)?;
    probe("fork_touched", n, &mut || Ok(probes::fork_then_exit()?.fork))?;
    let region = region.read_only()?;
    probe("fork_touched_read_only", n, &mut || Ok(probes::fork_then_exit()?.fork))?;
    drop(region);
    probe("fork_bare", 0, &mut || Ok(probes::fork_then_exit()?.fork))?;
    for (name, touched) in [("fork_with_mappings", false), ("fork_with_touched_mappings", true)] {
        let _mappings = probes::SeparateMappings::new(plan.mappings, touched)?;
        probe(name, plan.mappings, &mut || Ok(probes::fork_then_exit()?.fork))?;
    }
    probe("vfork_exit", 1, &mut || probes::vfork_then_exit())?;

    say(&format!("the fork curve: {} MiB", plan.curve_mib.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")));
    measured.fork_curve = fork_curve(plan)?;
    Ok(measured)
}

/// The median of `repeats` runs of `run`, after one run to warm up
/// (caches, the page allocator's free lists, the program's own pages).
fn median_of(repeats: usize, run: &mut dyn FnMut() -> ProbeResult<u64>) -> ProbeResult<u64> {
    run()?;
    let times: Vec<u64> = (0..repeats).map(|_| run()).collect::<ProbeResult<_>>()?;
    Ok(median(&times))
}

/// Fork, fork+exit+wait, fork+exec+wait and posix_spawn+wait against the
/// parent's written memory. Each round maps a fresh region the size of the
/// largest point and writes it further before each larger size; the
/// medians are over every round's measurements of a size. Rounds matter
/// on a virtual machine: a large fork's time depends on where the region
/// landed in memory (how the host backs it), which one region fixes for a
/// whole round.
fn fork_curve(plan: &Plan) -> ProbeResult<Vec<CurvePoint>> {
    let program = TrueProgram::new()?;
    let mut samples: Vec<StartTimes> = plan.curve_mib.iter().map(|_| StartTimes::default()).collect();
    for _ in 0..plan.curve_rounds {
        one_round(plan, &program, &mut samples)?;
    }
    let pages_per_mib = (1 << 20) / probes::page_size();
    Ok(plan
        .curve_mib
        .iter()
        .zip(&samples)
        .map(|(&mib, times)| CurvePoint {
            mib: mib as u64,
            pages: (mib * pages_per_mib) as u64,
            fork_ns: median(&times.fork),
            fork_exit_wait_ns: median(&times.fork_exit_wait),
            fork_exec_wait_ns: median(&times.fork_exec_wait),
            spawn_wait_ns: median(&times.spawn_wait),
        })
        .collect())
}

/// The measurements of one size of the fork curve, over the rounds.
#[derive(Default)]
struct StartTimes {
    fork: Vec<u64>,
    fork_exit_wait: Vec<u64>,
    fork_exec_wait: Vec<u64>,
    spawn_wait: Vec<u64>,
}

/// One round of the fork curve: a fresh region, every size, `curve_repeats`
/// of each start after one to warm up.
fn one_round(plan: &Plan, program: &TrueProgram, samples: &mut [StartTimes]) -> ProbeResult<()> {
    let pages_per_mib = (1 << 20) / probes::page_size();
    let largest = plan.curve_mib.iter().max().copied().unwrap_or(0) * pages_per_mib;
    let region = Region::anonymous(largest)?;
    let mut written = 0;
    for (&mib, times) in plan.curve_mib.iter().zip(samples) {
        let pages = mib * pages_per_mib;
        region.write_pages(written..pages, 1);
        written = pages;
        probes::fork_then_exit()?;
        for _ in 0..plan.curve_repeats {
            let fork = probes::fork_then_exit()?;
            times.fork.push(fork.fork);
            times.fork_exit_wait.push(fork.round_trip);
        }
        probes::fork_exec_wait(program)?;
        for _ in 0..plan.curve_repeats {
            times.fork_exec_wait.push(probes::fork_exec_wait(program)?);
        }
        probes::spawn_wait(program)?;
        for _ in 0..plan.curve_repeats {
            times.spawn_wait.push(probes::spawn_wait(program)?);
        }
    }
    Ok(())
}

/// The profile as its file holds it: pretty JSON and a final newline.
pub fn profile_json(profile: &Profile) -> String {
    let mut text = serde_json::to_string_pretty(profile).expect("a profile serialises");
    text.push('\n');
    text
}

/// A warning when the machine is busy: other work on the CPUs lengthens
/// and scatters every measurement. `None` when the load is below the
/// number of CPUs.
pub fn busy_machine_warning() -> Option<String> {
    let load: f64 = std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()?;
    let cores = this_machine().cores as f64;
    (load >= cores).then(|| {
        format!("the machine is busy (load {load:.1} on {cores} CPUs): the measurements will be slower and noisier")
    })
}

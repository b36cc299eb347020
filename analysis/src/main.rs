//! `cowsim`: the command line of the copy-on-write VM simulator.
//!
//! Exit codes (docs/trace-format.md, docs/report.md): 0 success; 1 a run
//! failed (an `expect` not met); 2 bad usage or bad input.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use analysis::compare;
use analysis::costs::{NamedProfile, Prediction, PricedReport, predict};
use analysis::exit;
use analysis::record::RecordError;
use analysis::replay::replay_file;
use analysis::{generate, summary};
use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use sim::PageCache;
use sim::{Config, PolicyKind};
use workloads::import::ImportSettings;
use workloads::trace::quoted;

mod teaching_commands;
use teaching_commands as teaching;

#[derive(Parser)]
#[command(
    name = "cowsim",
    version,
    about = "A copy-on-write VM simulator in the Mach tradition",
    long_about = "A copy-on-write VM simulator in the Mach tradition.\n\n\
        With no command, cowsim runs its main job: the built-in suite (the example traces, every \
        workload generator and the real captures, all built into the binary) under every policy, \
        and writes reports, a summary, charts and studies to the folder `results` in the current folder \
        (the same as `cowsim compare --out results`). The reference is in the repository's docs/ \
        folder: trace-format.md, report.md, fidelity.md, policies.md, costs.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Replay one trace (or real capture) and print what happened.
    Run {
        /// The trace (JSON Lines, plain or gzip); `-` for stdin. A real
        /// capture (NAME.perf.txt[.gz], NAME.lackey.txt[.gz]) is imported as
        /// it is read.
        trace: PathBuf,
        /// The policy to run, several separated by commas (gnumach,linux),
        /// or `all` for every policy side by side.
        #[arg(long, short, default_value = "gnumach")]
        policy: String,
        /// Print the report as JSON (schema cowsim.report/1, docs/report.md)
        /// instead of a summary; with several policies, a JSON array of
        /// reports.
        #[arg(long)]
        json: bool,
        /// Sample the time series every this many operations (at least 1;
        /// a long run keeps at most 10,000 points, thinning evenly).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
        sample_every: u64,
        /// Run the invariant checker after every operation (slow; on by
        /// default in debug builds).
        #[arg(long)]
        check: bool,
        /// What the page cache holds at the start: `cold` (empty), or
        /// `warm` (every file page cached, as on the machine a perf capture
        /// came from). Only linux's fault-around reads it. Default: warm for
        /// a real capture, cold for anything else.
        #[arg(long, value_parser = ["cold", "warm"])]
        page_cache: Option<String>,
        /// The base page size: 4K, 16K or 64K (addresses and sizes in the
        /// trace stay in bytes; they are rounded to this page).
        #[arg(long, default_value = "4K", value_parser = parse_page_size)]
        page_size: u64,
        /// Transparent huge pages for anonymous memory, modelled by linux
        /// and linux-odf: `never`, `split` (a write to a shared huge page
        /// copies 4 KiB, Linux 5.8 and later) or `copy` (it copies all
        /// 2 MiB, Linux before 5.8). Needs 4K pages.
        #[arg(long, default_value = "never", value_parser = ["never", "split", "copy"])]
        thp: String,
        /// Price the run with a cost profile made by `cowsim calibrate`
        /// (docs/costs.md): a predicted time in the summary, a `predicted`
        /// section in the JSON.
        #[arg(long, value_name = "PROFILE")]
        costs: Option<PathBuf>,
    },
    /// Run every input under every policy; write reports, a summary and charts.
    ///
    /// With no inputs, runs the built-in suite: every examples/*.jsonl, every
    /// workload with its default seed, and the real captures in
    /// workloads/tests/fixtures/. After inputs with recorded faults (perf
    /// captures), prints each policy's agreement with the real kernel.
    Compare {
        /// Trace files, real captures (NAME.perf.txt[.gz]: perf script text;
        /// NAME.lackey.txt[.gz]: a lackey log; imported on the fly) or
        /// workload names.
        inputs: Vec<String>,
        /// Comma-separated policies, or `all`.
        #[arg(long, default_value = "all", value_delimiter = ',')]
        policies: Vec<String>,
        /// The output folder.
        #[arg(long, default_value = "compare-out")]
        out: PathBuf,
        /// Sample the time series every this many operations (default:
        /// about 200 samples a run).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        sample_every: Option<u64>,
        /// Run the invariant checker after every operation (slow; on by
        /// default in debug builds).
        #[arg(long)]
        check: bool,
        /// Price every run with a cost profile made by `cowsim calibrate`
        /// (docs/costs.md): predicted times in the summary and the reports.
        #[arg(long, value_name = "PROFILE")]
        costs: Option<PathBuf>,
    },
    /// Measure this machine's kernel and write a cost profile for --costs.
    ///
    /// Times small probes on the real kernel (page faults of each kind,
    /// forks of 16 MiB to 1 GiB of written memory, fork+exec and
    /// posix_spawn of /bin/true, unmaps...; medians of repeats, about fifteen
    /// seconds), derives a price in nanoseconds for each count a report
    /// makes, and checks the prices on the fork curve. docs/costs.md says
    /// what each probe does and how each price is derived. Run it on an
    /// idle machine: other work makes every figure slower and noisier.
    Calibrate {
        /// Where to write the profile (JSON, schema cowsim.costs/1); `-`
        /// (the default) for stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Small sizes and few repeats: under a second, for tests; the
        /// prices are rougher.
        #[arg(long)]
        quick: bool,
        /// Measure nothing: print how the profile PROFILE, made earlier,
        /// predicts the fork curve it measured.
        #[arg(long, value_name = "PROFILE", conflicts_with_all = ["output", "quick", "rederive"])]
        check: Option<PathBuf>,
        /// Measure nothing: derive the prices of PROFILE again from its
        /// measurements, as the simulator counts today (after a change to
        /// the work counters), and write the profile to --output.
        #[arg(long, value_name = "PROFILE", conflicts_with = "quick")]
        rederive: Option<PathBuf>,
    },
    /// List the policies, one line each, with the kernel sources they follow.
    Policies,
    /// Draw the world after op N: tasks, map entries, VM objects and their
    /// shadow chains (DOT, or SVG laid out without graphviz).
    Graph {
        /// The trace (JSON Lines, plain or gzip); `-` for stdin.
        trace: PathBuf,
        /// The policy to run.
        #[arg(long, short, default_value = "gnumach")]
        policy: String,
        /// Draw the world right after this op (ops are numbered from 1,
        /// comment lines not counted); the end of the trace if absent.
        #[arg(long, value_name = "N")]
        at: Option<u64>,
        /// Where to write: FILE.dot (DOT), FILE.svg (SVG), or `-` for DOT
        /// on stdout (the default).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Narrate each op and each fault in plain sentences, for teaching.
    Explain {
        /// The trace (JSON Lines, plain or gzip); `-` for stdin.
        trace: PathBuf,
        /// The policy to run.
        #[arg(long, short, default_value = "gnumach")]
        policy: String,
        /// First op to narrate (numbered from 1); earlier ops are replayed
        /// silently.
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// Last op to narrate; the end of the trace if absent.
        #[arg(long, value_name = "M")]
        to: Option<u64>,
    },
    /// Homework: a small seeded copy-on-write problem and questions about
    /// it; -c prints the answers (computed by replaying it).
    ///
    /// The output is itself a trace (everything but the ops is a # comment):
    /// save it and replay it with `cowsim explain` to check the answers.
    Quiz {
        /// The seed: the same seed gives the same problem, questions and
        /// answers.
        #[arg(long, short, default_value_t = workloads::generators::DEFAULT_SEED)]
        seed: u64,
        /// The policy the answers are for (default gnumach; linux for
        /// --kind refcount).
        #[arg(long, short)]
        policy: Option<String>,
        /// What the problem is about; chosen by the seed if absent.
        #[arg(long, short, value_parser = ["fork", "vm_copy", "chain", "refcount", "errors"])]
        kind: Option<String>,
        /// How many questions (1 to 20).
        #[arg(short = 'n', long = "questions", default_value_t = 5,
              value_parser = clap::value_parser!(u64).range(1..=analysis::quiz::MAX_QUESTIONS as u64))]
        questions: u64,
        /// Print the answers too.
        #[arg(short = 'c', long = "answers")]
        answers: bool,
        /// Where to write the quiz; `-` (the default) for stdout. The file
        /// is a trace that `explain`, `graph` and `run` replay.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write one HTML page that steps through the trace op by op.
    ///
    /// The page needs nothing but itself (open it from the disk, no
    /// network). Buttons, the arrow keys, a slider and a box to type an op
    /// number move through the run, forward and back; each step shows what
    /// `cowsim explain` says about the op, every task's map entries with the
    /// shadow chain each reads through, every object's resident pages with
    /// their holders (hidden pages in red) and the counters so far. With
    /// two policies (`--policy gnumach,linux`) the two worlds stand side by
    /// side. Add `#op=N` to the page's address to open it at op N. A page
    /// shows at most 5000 ops and 20 MiB of pictures: view a long trace a
    /// window at a time with --from and --to.
    View {
        /// The trace (JSON Lines, plain or gzip) or real capture; a file,
        /// since it is read once for each policy and each narration.
        trace: PathBuf,
        /// The policy to show, or two separated by a comma to show side by
        /// side (gnumach,linux).
        #[arg(long, short, default_value = "gnumach")]
        policy: String,
        /// Where to write the page (FILE.html), or `-` for stdout.
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        /// First op the page shows (numbered from 1); earlier ops are
        /// replayed unseen.
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// Last op the page shows; the end of the trace if absent.
        #[arg(long, value_name = "M")]
        to: Option<u64>,
    },
    /// Turn a real capture into a trace: perf script text or a valgrind
    /// lackey log, plain or gzip (see docs/fidelity.md). A summary of what
    /// was skipped goes to stderr.
    Import {
        /// The capture's format: perf (`perf script` text) or lackey (a
        /// `valgrind --tool=lackey --trace-mem=yes` log).
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(analysis::import::importer_names()))]
        format: String,
        /// The capture; `-` for stdin.
        file: PathBuf,
        /// Where to write the trace; `-` for stdout.
        #[arg(long, short, default_value = "-")]
        output: PathBuf,
        /// perf only: how many events to hold back to repair their order
        /// (1 to 1048576).
        #[arg(long, default_value_t = workloads::import::perf::DEFAULT_WINDOW as u64,
              value_parser = clap::value_parser!(u64).range(1..=workloads::import::perf::MAX_WINDOW as u64))]
        window: u64,
        /// perf only: refuse a capture that lost more than this percentage
        /// of its events (0 to 100, decimals allowed).
        #[arg(long, value_name = "PERCENT", default_value = "1", value_parser = parse_percent)]
        max_lost: u32,
    },
    /// Run a command under perf, recording its page faults, process events
    /// and mapping changes (see docs/fidelity.md), and import the capture.
    Record {
        /// Where to write the trace; `-` for stdout.
        #[arg(long, short)]
        output: PathBuf,
        /// Also keep the `perf script` text here.
        #[arg(long)]
        perf_text: Option<PathBuf>,
        /// perf's ring buffer, in pages a CPU (a power of two; perf's own
        /// default when not given). Raise it when events are lost.
        #[arg(long, value_name = "PAGES", value_parser = parse_mmap_pages)]
        mmap_pages: Option<u32>,
        /// Refuse a capture that lost more than this percentage of its
        /// events (0 to 100, decimals allowed).
        #[arg(long, value_name = "PERCENT", default_value = "1", value_parser = parse_percent)]
        max_lost: u32,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Runs a command under the exit tracer that `record` puts under perf
    /// (see `analysis/src/exit_tracer.rs`); not for direct use.
    #[command(name = "__trace-exits", hide = true)]
    TraceExits {
        /// Where to write what the tracer saw.
        #[arg(long)]
        out: PathBuf,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Generate a seeded workload trace (see `cowsim workloads`).
    Gen {
        /// The workload's name, such as fork-exit.
        workload: String,
        /// The seed of the random choices; the same seed gives the same trace.
        #[arg(long, default_value_t = workloads::generators::DEFAULT_SEED)]
        seed: u64,
        /// Change a parameter, NAME=VALUE; repeat for several.
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Where to write the trace; `-` (the default) for stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// List the workload generators with their parameters and defaults.
    Workloads,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("cowsim: {}", said_once(&error));
            ExitCode::from(exit::of_error(&error))
        }
    }
}

/// The error and its causes as one line, each said once: a cause whose
/// text the line already holds (an error that quotes the error it wraps)
/// is not repeated.
fn said_once(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// A command line clap refused: its own message, plus our "did you mean"
/// for a mistyped subcommand (clap's own suggestion misses swapped
/// letters, as in `rnu`). `--help` and `--version` end here too, with 0.
fn usage_error(mut error: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let typo = match (error.kind(), error.get(ContextKind::InvalidSubcommand)) {
        (ErrorKind::InvalidSubcommand, Some(ContextValue::String(word))) => Some(word.clone()),
        _ => None,
    };
    if let Some(word) = typo.filter(|_| error.get(ContextKind::SuggestedSubcommand).is_none()) {
        let commands = Cli::command();
        let names: Vec<&str> = commands.get_subcommands().map(|c| c.get_name()).collect();
        if let Some(close) = workloads::suggest::closest(&word, names) {
            error.insert(ContextKind::SuggestedSubcommand, ContextValue::String(close.to_owned()));
        }
    }
    let _ = error.print();
    ExitCode::from(if error.use_stderr() { exit::BAD_INPUT } else { exit::SUCCESS })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        // The main job: the built-in suite under every policy into results/.
        None => compare_command(compare::Options {
            check_invariants: cfg!(debug_assertions),
            progress: std::io::stderr().is_terminal(),
            ..compare::Options::suite("results")
        }),
        Some(Command::Compare { inputs, policies, out, sample_every, check, costs }) => {
            let policies = policies.iter().map(|p| parse_policies(p)).collect::<anyhow::Result<Vec<_>>>()?;
            let costs = costs.as_deref().map(|path| load_profile(path, 4096)).transpose()?;
            compare_command(compare::Options {
                inputs,
                policies: policies.concat(),
                out,
                sample_every,
                check_invariants: check || cfg!(debug_assertions),
                progress: std::io::stderr().is_terminal(),
                costs,
            })
        }
        Some(Command::Calibrate { check: Some(profile), .. }) => {
            let profile = analysis::costs::load(&profile)?;
            print_to_stdout(&validation_text(&profile.profile))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Calibrate { output, rederive: Some(profile), .. }) => {
            rederive_command(&profile, output.filter(|path| !analysis::output::is_stdout(path)))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Calibrate { output, quick, .. }) => {
            calibrate_command(output.filter(|path| !analysis::output::is_stdout(path)), quick)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Policies) => {
            let mut text = String::new();
            for p in PolicyKind::ALL {
                text.push_str(&format!("{:<16} {}\n{:<16} follows {}\n", p.name(), p.summary(), "", p.sources()));
            }
            print_to_stdout(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Graph { trace, policy, at, output }) => {
            let policy = parse_one_policy(&policy)?;
            teaching::graph(&trace, policy, &teaching_config(), at, output.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Explain { trace, policy, from, to }) => {
            let policy = parse_one_policy(&policy)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            teaching::explain(&trace, policy, &teaching_config(), from, to, &mut out)?;
            out.flush().or_else(teaching::ignore_broken_pipe).context("writing to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Quiz { seed, policy, kind, questions, answers, output }) => {
            let policy = policy.as_deref().map(parse_one_policy).transpose()?;
            let kind = kind.as_deref().and_then(analysis::quiz::Kind::parse);
            let output = output.filter(|path| !analysis::output::is_stdout(path));
            if let Some(path) = &output {
                analysis::output::check_file_target(path, &[])?;
            }
            let options = analysis::quiz::Options { seed, policy, kind, questions: questions as usize };
            let text = analysis::quiz::render(&analysis::quiz::make(&options)?, answers);
            match output {
                Some(path) => analysis::output::write_file(&path, text.as_bytes(), &[])?,
                None => print_to_stdout(&text)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::View { trace, policy, output, from, to }) => {
            let policies = parse_policies(&policy)?;
            view_command(&trace, &policies, from, to, &output)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Import { format, file, output, window, max_lost }) => {
            let importer = workloads::import::find(&format)?;
            let settings = ImportSettings { window: window as usize, max_lost_ppm: max_lost };
            let summary = match analysis::import::import_file(importer, &file, &output, &settings, None) {
                Err(error) if error.is_broken_pipe() => return Ok(ExitCode::SUCCESS),
                result => result?,
            };
            for line in summary.report_lines() {
                eprintln!("cowsim import {format}: {line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::TraceExits { out, command }) => {
            let status = analysis::exit_tracer::trace_exits(&command, &out)
                .with_context(|| format!("tracing {}", command.join(" ")))?;
            Ok(ExitCode::from(u8::try_from(status).unwrap_or(1)))
        }
        Some(Command::Record { output, perf_text, mmap_pages, max_lost, command }) => {
            let options = analysis::record::RecordOptions { mmap_pages, max_lost_ppm: max_lost };
            let recorded = match analysis::record::record(&command, &output, perf_text.as_deref(), &options) {
                Err(RecordError::Import(error)) if error.is_broken_pipe() => return Ok(ExitCode::SUCCESS),
                result => result?,
            };
            if let Some(status) = recorded.command_status {
                eprintln!("cowsim record: the command exited with status {status} (recorded anyway)");
            }
            for line in recorded.summary.report_lines() {
                eprintln!("cowsim record: {line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Gen { workload, seed, params, output }) => {
            generate::generate(&workload, seed, &params, output.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Workloads) => {
            print_to_stdout(&generate::list())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run { trace, policy, json, sample_every, check, page_cache, page_size, thp, costs }) => {
            let thp = sim::Thp::parse(&thp).unwrap_or_default();
            if thp != sim::Thp::Never && page_size != 4096 {
                anyhow::bail!("--thp {} needs 4K pages: a huge page here is 512 pages of 4 KiB", thp.name());
            }
            let policies = parse_policies(&policy)?;
            let costs = costs.as_deref().map(|path| load_profile(path, page_size)).transpose()?;
            let capture = analysis::feed::Feed::of_source(analysis::feed::Source::File(trace.clone())).importer();
            let warm = page_cache.map_or(capture.is_some(), |cache| cache == "warm");
            let cache = if warm { PageCache::Warm } else { PageCache::Cold };
            let config = Config::default()
                .sample_every(sample_every)
                .check_invariants(check || cfg!(debug_assertions))
                .page_cache(cache)
                .page_size(page_size)
                .thp(thp);
            let reports = replay_file(&trace, &policies, &config)?;
            let predictions: Vec<Prediction> =
                costs.iter().flat_map(|profile| reports.iter().map(|report| predict(report, profile))).collect();
            let priced: Vec<PricedReport> =
                reports.iter().zip(&predictions).map(|(r, p)| PricedReport::new(r, p)).collect();
            let text = match (json, reports.as_slice(), priced.as_slice()) {
                (true, [one], []) => serde_json::to_string_pretty(one)?,
                (true, [_], [one]) => serde_json::to_string_pretty(one)?,
                (true, many, []) => serde_json::to_string_pretty(many)?,
                (true, _, many) => serde_json::to_string_pretty(many)?,
                (false, [one], _) => summary::single(one, predictions.first()),
                (false, many, _) => summary::side_by_side(many, &predictions),
            };
            print_to_stdout(&format!("{}\n", text.trim_end()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs a comparison, prints what it wrote, its verdict and, after inputs
/// with recorded faults, the agreement table (see docs/fidelity.md).
fn compare_command(options: compare::Options) -> anyhow::Result<ExitCode> {
    let outcome = compare::compare(&options)?;
    let summary = &outcome.summary;
    let folder = std::fs::canonicalize(&options.out).unwrap_or_else(|_| options.out.clone());
    let mut text = format!(
        "compared {} inputs under {} policies ({} runs); wrote {} files to {}\n",
        summary.inputs.len(),
        summary.policies.len(),
        summary.runs.len(),
        outcome.files.len(),
        folder.display()
    );
    if !outcome.rejected.is_empty() {
        text.push_str(&format!("left out {} bad inputs (named below)\n", outcome.rejected.len()));
    }
    if summary.all_agree {
        text.push_str(&format!("every run finished and read the same data as {}\n", summary.digest_reference));
    }
    if let Some(table) = compare::table::agreement_text(summary) {
        text.push_str(&table);
    }
    if let Some(costs) = &summary.costs {
        text.push_str(&format!(
            "predicted times (summary.md, the predicted_* columns): the cost profile {}, measured on {}\n",
            costs.profile, costs.machine
        ));
    }
    print_to_stdout(&text)?;
    for problem in &summary.problems {
        eprintln!("cowsim: {problem}");
    }
    for rejected in &outcome.rejected {
        eprintln!("cowsim: left out: {rejected}");
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

/// The cost profile at `path`, for runs with pages of `page_size` bytes:
/// its prices are per page of the size it was measured with.
fn load_profile(path: &std::path::Path, page_size: u64) -> anyhow::Result<NamedProfile> {
    let profile = analysis::costs::load(path)?;
    let measured_with = profile.profile.machine.page_size;
    if measured_with != page_size {
        anyhow::bail!(
            "{}: the profile prices {measured_with}-byte pages, but the run uses {page_size}-byte pages",
            path.display()
        );
    }
    Ok(profile)
}

/// `cowsim calibrate`: checks the output, measures (saying what, on a
/// terminal), writes the profile, and prints how it predicts the fork
/// curve it measured (to stderr when the profile goes to stdout).
fn calibrate_command(output: Option<PathBuf>, quick: bool) -> anyhow::Result<()> {
    use analysis::calibrate;
    if let Some(path) = &output {
        analysis::output::check_file_target(path, &[])?;
    }
    if let Some(warning) = calibrate::busy_machine_warning() {
        eprintln!("cowsim calibrate: {warning}");
    }
    let on_terminal = std::io::stderr().is_terminal();
    let mut say = |what: &str| {
        if on_terminal {
            eprintln!("cowsim calibrate: measuring {what}");
        }
    };
    let profile = calibrate::calibrate(&calibrate::Plan::new(quick), &mut say)?;
    let validation = validation_text(&profile);
    for note in &profile.notes {
        eprintln!("cowsim calibrate: note: {note}");
    }
    match output {
        Some(path) => {
            analysis::output::write_file(&path, calibrate::profile_json(&profile).as_bytes(), &[])?;
            print_to_stdout(&format!("wrote {}\n{validation}", path.display()))
        }
        None => {
            eprint!("{validation}");
            print_to_stdout(&calibrate::profile_json(&profile))
        }
    }
}

/// `cowsim calibrate --rederive`: the profile's prices derived again from
/// its own measurements, written like a new profile (the file may be the
/// one read: it is replaced only once the new one is written).
fn rederive_command(path: &std::path::Path, output: Option<PathBuf>) -> anyhow::Result<()> {
    use analysis::calibrate;
    let mut profile = analysis::costs::load(path)?.profile;
    let derived = calibrate::derive::derive(&profile.measured, profile.machine.page_size)?;
    profile.costs = derived.costs;
    profile.notes = derived.notes;
    let text = calibrate::profile_json(&profile);
    match output {
        Some(output) => {
            analysis::output::write_file(&output, text.as_bytes(), &[])?;
            print_to_stdout(&format!("wrote {}\n{}", output.display(), validation_text(&profile)))
        }
        None => print_to_stdout(&text),
    }
}

/// How `profile` predicts the fork curve it measured, as a table.
fn validation_text(profile: &analysis::costs::Profile) -> String {
    use analysis::calibrate::validate;
    format!(
        "cost profile for {}: predicted against measured on its fork curve\n{}",
        profile.machine,
        validate::table(&validate::rows(profile))
    )
}

/// `cowsim view`: checks the output before any work, makes the page and
/// writes it beside the target, renamed into place (or to stdout for `-`).
fn view_command(
    trace: &std::path::Path,
    policies: &[PolicyKind],
    from: Option<u64>,
    to: Option<u64>,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use analysis::view_page::{self, ViewError};
    let to_stdout = analysis::output::is_stdout(out);
    if !to_stdout {
        analysis::output::check_file_target(out, &[trace])?;
    }
    // A replay failure keeps its own type, so the exit code can tell an
    // unmet `expect` (1) from bad input (2).
    let unwrap = |error: ViewError| -> anyhow::Error {
        match error {
            ViewError::Replay(replay) => replay.into(),
            other => other.into(),
        }
    };
    let window = view_page::Window::new(from, to).map_err(unwrap)?;
    let page = view_page::page(trace, policies, &teaching_config(), window).map_err(unwrap)?;
    if to_stdout { print_to_stdout(&page) } else { Ok(analysis::output::write_file(out, page.as_bytes(), &[trace])?) }
}

/// Writes `text` to stdout. A reader that went away (`cowsim ... | head`)
/// is not an error: the command still ends with its own exit code.
fn print_to_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .or_else(teaching::ignore_broken_pipe)
        .context("writing to stdout")
}

/// `--max-lost`: a percentage, in parts per million.
fn parse_percent(text: &str) -> Result<u32, String> {
    workloads::import::percent_to_parts_per_million(text)
}

/// `--mmap-pages`: a power of two from 1 to 2^20 pages, as perf takes it.
fn parse_mmap_pages(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(pages) if pages.is_power_of_two() && pages <= 1 << 20 => Ok(pages),
        _ => Err(format!("expected a power of two from 1 to 1048576 pages, such as 1024, not {text:?}")),
    }
}

/// One policy name (`all` is not allowed: a graph or a narration follows
/// one world).
fn parse_one_policy(name: &str) -> anyhow::Result<PolicyKind> {
    match parse_policies(name)?.as_slice() {
        [one] => Ok(*one),
        _ => anyhow::bail!("--policy {name}: this command follows one policy; name one (see `cowsim policies`)"),
    }
}

/// The configuration of graph and explain runs: the invariant checker on
/// in debug builds, as for `run`.
fn teaching_config() -> Config {
    Config::default().check_invariants(cfg!(debug_assertions))
}

/// A base page size: `4K`, `16K` or `64K` (or the same in bytes).
fn parse_page_size(text: &str) -> Result<u64, String> {
    let bytes = match text.trim().to_ascii_uppercase().as_str() {
        "4K" | "4096" => 4096,
        "16K" | "16384" => 16384,
        "64K" | "65536" => 65536,
        _ => return Err(format!("the page size is 4K, 16K or 64K, not {text:?}")),
    };
    Ok(bytes)
}

/// Policy names separated by commas, or `all`: the policies in the order
/// given, each once.
fn parse_policies(list: &str) -> anyhow::Result<Vec<PolicyKind>> {
    let mut policies = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name == "all" {
            policies.extend(PolicyKind::ALL);
            continue;
        }
        let Some(policy) = PolicyKind::parse(name) else {
            let known: Vec<&str> = PolicyKind::ALL.iter().map(|p| p.name()).collect();
            let list = format!("known policies: {}, or all", known.join(", "));
            match workloads::suggest::did_you_mean(name, known) {
                Some(hint) => anyhow::bail!("unknown policy {}; {hint} ({list})", quoted(name)),
                None => anyhow::bail!("unknown policy {}; {list}", quoted(name)),
            }
        };
        policies.push(policy);
    }
    let mut unique = Vec::with_capacity(policies.len());
    for policy in policies {
        if !unique.contains(&policy) {
            unique.push(policy);
        }
    }
    Ok(unique)
}

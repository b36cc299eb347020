//! The `cowsim` command as a user runs it: exit codes, error messages that
//! name file, line and column, and the examples.

use std::process::Command;

mod support;
use support::{cowsim, examples, repo, stderr, stdout};

/// A scratch trace file under target/.
fn scratch(name: &str, text: &str) -> String {
    let dir = repo().join("target/cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Does every example open with a comment saying what it shows, and run
/// cleanly (its `expect`s met) under every policy with the same read digest?
#[test]
fn examples_run_under_every_policy() {
    assert!(examples().len() >= 3);
    for example in examples() {
        let text = std::fs::read_to_string(&example).unwrap();
        assert!(text.starts_with("# "), "{} must open with a # comment", example.display());
        let out = cowsim(&["run", example.to_str().unwrap(), "--policy", "all", "--json"]);
        assert!(out.status.success(), "{}: {}", example.display(), stderr(&out));
        let reports: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), sim::PolicyKind::ALL.len());
        let digests: std::collections::BTreeSet<&str> =
            reports.iter().map(|r| r["read_digest"].as_str().unwrap()).collect();
        assert_eq!(digests.len(), 1, "{}: policies disagree", example.display());
    }
}

/// Does --json print one report in the `cowsim.report/1` schema
/// (docs/report.md)?
#[test]
fn json_report_has_the_schema() {
    let out = cowsim(&["run", "examples/fork-then-write.jsonl", "--policy", "gnumach", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["schema"], "cowsim.report/1");
    assert_eq!(r["policy"], "gnumach");
    assert_eq!(r["trace"], "fork-then-write.jsonl");
    assert_eq!(r["ops"], 8);
    assert_eq!(r["read_digest"].as_str().unwrap().len(), 16);
    for key in
        ["KERN_SUCCESS", "KERN_INVALID_ADDRESS", "KERN_PROTECTION_FAILURE", "KERN_NO_SPACE", "KERN_INVALID_ARGUMENT"]
    {
        assert!(r["kern_returns"][key].is_u64(), "{key}");
    }
    for key in
        ["total", "zero_fill", "zero_page", "page_in", "map", "cow_copy", "cow_move", "reuse", "segv", "protection"]
    {
        assert!(r["faults"][key].is_u64(), "faults.{key}");
    }
    for key in ["push_copy", "amap_copy", "shadows_created", "collapses", "bypasses", "chain_steps", "fault_around"] {
        assert!(r["work"][key].is_u64(), "work.{key}");
    }
    for key in ["resident", "resident_peak", "zero_filled", "copied", "moved", "freed", "hidden", "hidden_peak"] {
        assert!(r["pages"][key].is_u64(), "pages.{key}");
    }
    for key in ["created", "alive", "alive_peak", "max_chain"] {
        assert!(r["objects"][key].is_u64(), "objects.{key}");
    }
    assert!(r["objects"]["mean_chain"].is_f64());
    assert_eq!(r["faults"]["cow_copy"], 1);
    assert!(r["series"].as_array().unwrap().last().unwrap()["op"] == 8);
}

/// Does the human summary of --policy all show every policy side by side?
#[test]
fn side_by_side_summary() {
    let out = cowsim(&["run", "examples/three-forks.jsonl", "--policy", "all"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let header = text.lines().nth(1).unwrap();
    for p in sim::PolicyKind::ALL {
        assert!(header.contains(p.name()), "{header}");
    }
    assert!(text.lines().any(|l| l.starts_with("longest chain")), "{text}");
}

/// A malformed line is bad input: exit 2, and the message names the file,
/// the line and the column.
#[test]
fn malformed_line_is_exit_2_with_position() {
    let path = scratch(
        "bad.jsonl",
        "{\"op\":\"task_create\",\"task\":1}\n\n{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"0xZZ\",\"size\":\"4K\"}\n",
    );
    let out = cowsim(&["run", &path, "--policy", "all"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.jsonl:3:37:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// An op on a task that does not exist is bad input too: exit 2 with the line.
#[test]
fn unknown_task_is_exit_2() {
    let path = scratch("unknown.jsonl", "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"exit\",\"task\":7}\n");
    let out = cowsim(&["run", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown.jsonl:2:1: unknown task 7"), "{}", stderr(&out));
}

/// An unmet expectation is a failed run: exit 1, naming the line and policy.
#[test]
fn unmet_expect_is_exit_1() {
    let trace = "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_deallocate\",\"task\":1,\"addr\":\"0x10000\",\"size\":\"4K\",\"expect\":\"KERN_SUCCESS\"}\n";
    let out = cowsim(&["run", &scratch("expect.jsonl", trace), "--policy", "eager"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("expect.jsonl:2:1: under eager: vm_deallocate returned KERN_INVALID_ADDRESS, but the trace expects KERN_SUCCESS"), "{err}");
    let value = "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"0x10000\",\"size\":\"4K\"}\n{\"op\":\"read\",\"task\":1,\"addr\":\"0x10000\",\"len\":\"4K\",\"expect_value\":\"0x5\"}\n";
    let out = cowsim(&["run", &scratch("value.jsonl", value)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("value.jsonl:3:1: under gnumach: task 1 read 0x0 at 0x10000, but the trace expects 0x5"),
        "{}",
        stderr(&out)
    );
}

/// Usage errors: an unknown policy or a missing file exit 2.
#[test]
fn usage_errors_are_exit_2() {
    let out = cowsim(&["run", "examples/fork-then-write.jsonl", "--policy", "linuxx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown policy \"linuxx\""), "{}", stderr(&out));
    let out = cowsim(&["run", "no/such/trace.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/trace.jsonl"), "{}", stderr(&out));
    let out = cowsim(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Does a trace read from stdin work, gzip included?
#[test]
fn reads_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cowsim"))
        .args(["run", "-", "--policy", "gnumach", "--json"])
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let text = std::fs::read(repo().join("examples/fork-then-write.jsonl")).unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["ops"], 8);
}

/// Does `cowsim policies` list every policy with its sources?
#[test]
fn policies_are_listed() {
    let out = cowsim(&["policies"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for p in sim::PolicyKind::ALL {
        assert!(text.contains(p.name()) && text.contains(p.sources()), "{text}");
    }
}

// ----- importing real captures (workloads/tests/fixtures) -----

fn fixture(name: &str) -> String {
    repo().join("workloads/tests/fixtures").join(name).to_string_lossy().into_owned()
}

/// Does `cowsim import perf` write a trace that opens with where it came
/// from, print its summary to stderr, and give the same bytes every time?
/// Does `cowsim run` of it print the agreement with the real kernel?
#[test]
fn import_perf_then_run() {
    let out = repo().join("target/cli-tests/forkwrite.jsonl");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let out = out.to_string_lossy().into_owned();
    let first = cowsim(&["import", "perf", &fixture("forkwrite.perf.txt.gz"), "-o", &out]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).starts_with("cowsim import perf: read 268 lines, wrote "), "{}", stderr(&first));
    let trace = std::fs::read_to_string(&out).unwrap();
    assert!(trace.starts_with("# imported by `cowsim import perf` (cowsim "), "{trace}");
    let again = cowsim(&["import", "perf", &fixture("forkwrite.perf.txt.gz")]);
    assert_eq!(stdout(&again), trace, "an import is deterministic, and -o defaults to stdout");
    let run = cowsim(&["run", &out, "--policy", "gnumach"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("fidelity: agreement 0."), "{}", stdout(&run));
    let all = cowsim(&["run", &out, "--policy", "all"]);
    assert!(stdout(&all).lines().any(|l| l.starts_with("fidelity ")), "{}", stdout(&all));
}

/// Does `cowsim import lackey` read a gzip'd log and write to stdout?
#[test]
fn import_lackey_to_stdout() {
    let out = cowsim(&["import", "lackey", &fixture("touch.lackey.txt.gz"), "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(r#"{"op":"task_create","task":1,"expect":"KERN_SUCCESS"}"#));
    assert!(stderr(&out).contains("cowsim import lackey: ignored 25 lines that add nothing"), "{}", stderr(&out));
}

/// A capture that is not perf output is bad input: exit 2, with the file,
/// line and column, and no output file left behind.
#[test]
fn import_of_garbage_is_exit_2() {
    let bad = scratch("garbage.perf.txt", "this is not perf script output\n");
    let out = repo().join("target/cli-tests/garbage.jsonl");
    let _ = std::fs::remove_file(&out);
    let run = cowsim(&["import", "perf", &bad, "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("garbage.perf.txt:1:1: expected a perf script line"), "{}", stderr(&run));
    assert!(!out.exists(), "a failed import leaves no half-written trace");
}

/// Without perf, `cowsim record` says that perf is missing and how to get
/// it, and exits 2 (PATH points at an empty folder).
#[test]
fn record_without_perf_says_how_to_install_it() {
    let empty = repo().join("target/cli-tests/empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_cowsim"))
        .args(["record", "-o", "target/cli-tests/never.jsonl", "--", "true"])
        .current_dir(repo())
        .env("PATH", &empty)
        .output()
        .expect("cowsim runs");
    assert_eq!(run.status.code(), Some(2));
    let message = stderr(&run);
    assert!(message.contains("perf is not installed"), "{message}");
    assert!(message.contains("linux-perf"), "{message}");
    assert!(message.contains("/proc/sys/kernel/perf_event_paranoid"), "{message}");
}

/// The exit tracer `record` runs the program under (no perf needed): it
/// follows every process, notes each one's present pages at its exit, and
/// gives back the program's exit status. The importer reads its notes
/// (`workloads/tests/import.rs` has that half).
#[test]
fn the_exit_tracer_notes_every_process_and_keeps_the_status() {
    let dir = repo().join("target/cli-tests/exit-tracer");
    std::fs::create_dir_all(&dir).unwrap();
    let notes = dir.join("exits.txt");
    // The shell forks a subshell, which exits first; then the shell exits 3.
    let run = cowsim(&["__trace-exits", "--out", notes.to_str().unwrap(), "--", "sh", "-c", "(exit 0); exit 3"]);
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let text = std::fs::read_to_string(&notes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# cowsim tracer "), "{text}");
    let exits: Vec<&str> = lines.iter().filter(|l| l.starts_with("# cowsim exit ")).copied().collect();
    assert_eq!(exits.len(), 2, "{text}");
    // Every process has mappings, and some of their pages present.
    let resident: Vec<&str> = lines.iter().filter(|l| l.starts_with("# cowsim resident ")).copied().collect();
    assert!(resident.len() > 10, "{text}");
    assert!(resident.iter().any(|l| !l.ends_with(" -")), "{text}");
    // The lines are what the importer reads: pid, aligned address, pages, runs.
    for line in resident {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words.len(), 7, "{line}");
        let address = u64::from_str_radix(words[4].trim_start_matches("0x"), 16).unwrap();
        assert_eq!(address % 4096, 0, "{line}");
        let pages: u64 = words[5].parse().unwrap();
        assert!(pages > 0, "{line}");
        let runs_fit = words[6] == "-"
            || words[6].split(',').all(|run| {
                let (first, count) = run.split_once('+').unwrap();
                first.parse::<u64>().unwrap() + count.parse::<u64>().unwrap() <= pages
            });
        assert!(runs_fit, "{line}");
    }
}

// ----- a reader that goes away -----

/// Does every command that writes to stdout end quietly, with exit 0, when
/// its reader has gone (`cowsim run ... | head`)? Stdout is a pipe whose
/// reading end is closed before the command starts, so every write fails
/// with a broken pipe, whatever the output's size.
#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let compare_out = repo().join("target/cli-tests/closed-stdout-compare");
    let compare_out = compare_out.to_string_lossy().into_owned();
    let (perf, lackey) = (fixture("forkwrite.perf.txt.gz"), fixture("touch.lackey.txt.gz"));
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", "examples/three-forks.jsonl"],
        vec!["run", "examples/three-forks.jsonl", "--policy", "all"],
        vec!["run", "examples/three-forks.jsonl", "--policy", "all", "--json"],
        vec!["policies"],
        vec!["workloads"],
        vec!["gen", "fork-exit", "--param", "rounds=3"],
        vec!["import", "perf", &perf],
        vec!["import", "lackey", &lackey, "-o", "-"],
        vec!["explain", "examples/three-forks.jsonl"],
        vec!["graph", "examples/three-forks.jsonl"],
        vec!["compare", "examples/child-exits.jsonl", "--policies", "eager,gnumach", "--out", &compare_out],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let run = Command::new(env!("CARGO_BIN_EXE_cowsim"))
            .args(&args)
            .current_dir(repo())
            .stdout(writer)
            .output()
            .expect("cowsim runs");
        assert_eq!(run.status.code(), Some(0), "cowsim {}: {}", args.join(" "), stderr(&run));
        assert!(!stderr(&run).contains("pipe"), "cowsim {}: {}", args.join(" "), stderr(&run));
    }
}

/// Does `--page-cache warm` reach an agreement of 0.95 on a real capture
/// under linux, where the cold default misses fault-around's neighbours
/// (docs/fidelity.md, "The page cache: cold or warm")?
#[test]
fn warm_page_cache_on_an_imported_capture() {
    let trace = repo().join("target/cli-tests/python.jsonl");
    std::fs::create_dir_all(trace.parent().unwrap()).unwrap();
    let out = cowsim(&["import", "perf", "workloads/tests/fixtures/python.perf.txt.gz", "-o", trace.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let agreement = |cache: &str| {
        let out = cowsim(&["run", trace.to_str().unwrap(), "--policy", "linux", "--json", "--page-cache", cache]);
        assert!(out.status.success(), "{}", stderr(&out));
        let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(r["page_cache"], cache);
        r["fidelity"]["agreement"].as_f64().unwrap()
    };
    let (cold, warm) = (agreement("cold"), agreement("warm"));
    assert!(cold < 0.95, "cold {cold}");
    assert!(warm >= 0.95, "warm {warm}");
    let out = cowsim(&["run", trace.to_str().unwrap(), "--page-cache", "tepid"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--page-size` and `--thp` are run settings the report names; a page
/// size other than 4K, 16K or 64K, and huge pages over other than 4 KiB
/// pages, are usage errors (exit 2) naming the flag.
#[test]
fn page_size_and_huge_pages_are_run_settings() {
    let bgsave =
        scratch("thp-bgsave.jsonl", &stdout(&cowsim(&["gen", "bgsave", "-p", "pages=1024", "-p", "snapshots=1"])));
    let run = |extra: &[&str]| {
        let mut args = vec!["run", bgsave.as_str(), "--policy", "linux,gnumach", "--json"];
        args.extend_from_slice(extra);
        let out = cowsim(&args);
        assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let plain = run(&[]);
    assert!(plain[0].get("page_size").is_none() && plain[0].get("thp").is_none(), "the defaults leave no trace");
    let copy = run(&["--thp", "copy"]);
    assert_eq!(copy[0]["thp"], "copy");
    assert!(copy[1].get("thp").is_none(), "gnumach does not model huge pages");
    let copied = |r: &serde_json::Value| r["work"]["bytes_copied"].as_u64().unwrap();
    assert!(
        copied(&copy[0]) > 4 * copied(&plain[0]),
        "huge pages copied whole: {} vs {}",
        copied(&copy[0]),
        copied(&plain[0])
    );
    assert_eq!(copied(&copy[1]), copied(&plain[1]));
    assert_eq!(copy[0]["read_digest"], plain[0]["read_digest"]);
    let big = run(&["--page-size", "16K"]);
    assert_eq!(big[0]["page_size"], 16384);
    for bad in [&["--page-size", "8K"][..], &["--thp", "split", "--page-size", "64K"][..]] {
        let mut args = vec!["run", bgsave.as_str()];
        args.extend_from_slice(bad);
        let out = cowsim(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&out).contains(bad[0]) || stderr(&out).contains("page"), "{bad:?}: {}", stderr(&out));
    }
}

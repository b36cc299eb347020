//! `cowsim compare` as a user runs it: the files it writes, the pinned
//! summary header, byte-identical regeneration, and the exit codes of a
//! failed run, a digest mismatch and bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use analysis::compare::table::{DigestCheck, InputInfo, Run};
use analysis::compare::{exit_code_for, summarise};
use sim::{Config, Op, PolicyKind, Sim, TaskId};

fn cowsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cowsim")).args(args).current_dir(repo()).output().expect("cowsim runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty folder under target/ for one test's output.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = repo().join("target/compare-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

/// A scratch trace file under target/.
fn scratch_trace(name: &str, text: &str) -> String {
    let dir = repo().join("target/compare-tests/traces");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Every file under `dir`, relative to it, with its bytes, sorted by path.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                found.insert(path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found);
    found
}

fn out_arg(dir: &Path) -> String {
    dir.to_string_lossy().into_owned()
}

/// The files a comparison of `inputs` (labels) under every policy writes.
fn expected_files(inputs: &[&str]) -> Vec<PathBuf> {
    let mut expected: Vec<PathBuf> = ["summary.json", "summary.csv", "summary.md"].iter().map(PathBuf::from).collect();
    for input in inputs {
        for policy in PolicyKind::ALL {
            expected.push(Path::new("runs").join(input).join(format!("{}.json", policy.name())));
        }
        for chart in ["faults", "copies", "pages", "objects"] {
            for ext in ["svg", "png"] {
                expected.push(Path::new("charts").join(input).join(format!("{chart}.{ext}")));
            }
        }
    }
    for chart in ["summary-copies", "summary-faults", "summary-hidden-peak", "summary-max-chain"] {
        for ext in ["svg", "png"] {
            expected.push(Path::new("charts").join(format!("{chart}.{ext}")));
        }
    }
    expected.sort();
    expected
}

/// Does a comparison of two examples write exactly the summary, one report
/// per input × policy and the charts, each in its format — and stay quiet
/// on stderr when not on a terminal?
#[test]
fn compare_over_examples_writes_the_expected_files() {
    let out = fresh_dir("files");
    let run =
        cowsim(&["compare", "examples/fork-then-write.jsonl", "examples/three-forks.jsonl", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(stderr(&run), "", "no progress bar or chatter in a pipe");

    let files = files_under(&out);
    let written: Vec<PathBuf> = files.keys().cloned().collect();
    assert_eq!(written, expected_files(&["fork-then-write", "three-forks"]));
    for (path, bytes) in &files {
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", path.display()),
            Some("svg") => assert!(bytes.starts_with(b"<svg"), "{}", path.display()),
            _ => {}
        }
    }

    let report: serde_json::Value =
        serde_json::from_slice(&files[Path::new("runs/fork-then-write/gnumach.json")]).unwrap();
    assert_eq!(report["schema"], "cowsim.report/1");
    assert_eq!(report["policy"], "gnumach");
    assert_eq!(report["trace"], "fork-then-write.jsonl");
    assert_eq!(report["faults"]["cow_copy"], 1);

    let summary: serde_json::Value = serde_json::from_slice(&files[Path::new("summary.json")]).unwrap();
    assert_eq!(summary["schema"], "cowsim.compare/1");
    assert_eq!(summary["digest_reference"], "eager");
    assert_eq!(summary["all_agree"], true);
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * PolicyKind::ALL.len());
    assert!(runs.iter().all(|r| r["status"] == "ok"));
    assert_eq!(runs[0]["input"], "fork-then-write");
    assert_eq!(runs[0]["policy"], "eager");
    assert_eq!(runs[0]["digest_check"], "reference");
    assert_eq!(runs[1]["digest_check"], "match");
    assert_eq!(summary["inputs"][0]["ops"], 8);
    assert_eq!(summary["inputs"][0]["sample_every"], 1, "a short trace is sampled at every op");

    let markdown = String::from_utf8(files[Path::new("summary.md")].clone()).unwrap();
    assert!(markdown.contains("| input | policy | faults |"), "{markdown}");
    assert_eq!(markdown.lines().filter(|l| l.starts_with("| three-forks |")).count(), PolicyKind::ALL.len());
}

/// The CSV header is a contract for scripts that read it: pinned here.
/// Every CSV column is also a key of each JSON row.
#[test]
fn summary_csv_header_is_pinned() {
    let out = fresh_dir("header");
    let run =
        cowsim(&["compare", "examples/child-exits.jsonl", "--policies", "eager,gnumach", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        "input,policy,ops,accesses,faults,zero_fill,zero_page,page_in,map,cow_copy,cow_move,reuse,segv,protection,\
         pages_copied,pages_moved,resident_peak,hidden_peak,objects_created,objects_alive_peak,max_chain,mean_chain,\
         shadows_created,collapses,bypasses,push_copy,amap_copy,chain_steps,read_digest,digest_check,status"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with("child-exits,eager,10,"), "{csv}");
    assert!(rows[1].starts_with("child-exits,gnumach,10,"), "{csv}");
    assert!(rows[1].ends_with(",match,ok"), "{csv}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let row = summary["runs"][0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    let mut columns: Vec<&str> = header.split(',').collect();
    keys.sort_unstable();
    columns.sort_unstable();
    assert_eq!(keys, columns);
}

/// Do the same inputs give byte-identical output folders (JSON, CSV,
/// Markdown, SVG, PNG)? The built-in suite is regenerated twice.
#[test]
fn same_inputs_give_byte_identical_outputs() {
    let first = fresh_dir("same-a");
    let second = fresh_dir("same-b");
    for out in [&first, &second] {
        let run = cowsim(&["compare", "--out", &out_arg(out)]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    }
    let (a, b) = (files_under(&first), files_under(&second));
    assert!(a.len() > 20, "the suite writes reports and charts: {:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs between two runs", path.display());
    }
    // No absolute path reaches an output.
    let root = repo().to_string_lossy().into_owned();
    for (path, bytes) in &a {
        assert!(!String::from_utf8_lossy(bytes).contains(&root), "{} names {root}", path.display());
    }
}

/// A run whose trace expectation is not met is a failed run: everything is
/// still written, the summary says `failed`, and the exit code is 1.
#[test]
fn an_unmet_expect_fails_the_run_with_exit_1() {
    let trace = scratch_trace(
        "unmet.jsonl",
        "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_deallocate\",\"task\":1,\"addr\":\"0x10000\",\"size\":\"4K\",\"expect\":\"KERN_SUCCESS\"}\n",
    );
    let out = fresh_dir("unmet");
    let run = cowsim(&["compare", &trace, "--policies", "eager,gnumach", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("unmet.jsonl:2:1: under gnumach: vm_deallocate returned KERN_INVALID_ADDRESS"),
        "{}",
        stderr(&run)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["all_agree"], false);
    assert_eq!(summary["runs"][1]["status"], "failed");
    assert_eq!(summary["runs"][1]["digest_check"], "not_checked");
    assert!(out.join("runs/unmet/gnumach.json").is_file());
    assert!(std::fs::read_to_string(out.join("summary.md")).unwrap().contains("**Problems:**"));
}

/// A policy that reads other data than eager is a simulator bug: the
/// summary marks the mismatch and the comparison's exit code is 1.
#[test]
fn a_digest_mismatch_is_a_failed_comparison() {
    let report = |policy: PolicyKind| {
        let mut sim = Sim::new(policy, Config::default());
        sim.apply(&Op::TaskCreate { task: TaskId(1) }).unwrap();
        sim.finish("made-up")
    };
    let run = |policy, digest: &str| {
        let mut report = report(policy);
        report.read_digest = digest.to_string();
        Run { input: 0, policy, report, failure: None }
    };
    let inputs =
        vec![InputInfo { label: "made-up".into(), kind: "trace", trace: "made-up".into(), ops: 1, sample_every: 1 }];
    let policies = [PolicyKind::Eager, PolicyKind::GnuMach, PolicyKind::MachNoCollapse];

    let agreeing = vec![run(PolicyKind::Eager, "00000000000000aa"), run(PolicyKind::GnuMach, "00000000000000aa")];
    let summary = summarise(inputs.clone(), &policies[..2], PolicyKind::Eager, &agreeing);
    assert!(summary.all_agree);
    assert_eq!(exit_code_for(&summary), 0);

    let runs = vec![
        run(PolicyKind::Eager, "00000000000000aa"),
        run(PolicyKind::GnuMach, "00000000000000aa"),
        run(PolicyKind::MachNoCollapse, "00000000000000bb"),
    ];
    let summary = summarise(inputs, &policies, PolicyKind::Eager, &runs);
    assert!(!summary.all_agree);
    assert_eq!(exit_code_for(&summary), 1);
    let checks: Vec<DigestCheck> = summary.runs.iter().map(|r| r.digest_check).collect();
    assert_eq!(checks, [DigestCheck::Reference, DigestCheck::Match, DigestCheck::Mismatch]);
    assert_eq!(summary.problems.len(), 1);
    assert!(
        summary.problems[0].contains("mach-nocollapse read digest 00000000000000bb, but eager read 00000000000000aa"),
        "{:?}",
        summary.problems
    );
    let markdown = analysis::compare::table::markdown(&summary);
    assert!(markdown.contains("| MISMATCH |"), "{markdown}");
}

/// Bad input stops the comparison before anything is written: exit 2,
/// with the file, line and column, or the name that is not an input.
#[test]
fn bad_input_is_exit_2() {
    let out = fresh_dir("bad");
    let run = cowsim(&["compare", "no/such/trace.jsonl", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("\"no/such/trace.jsonl\" is neither a trace file nor a workload"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists(), "nothing is written for bad input");

    let bad = scratch_trace(
        "bad.jsonl",
        "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"0xZZ\",\"size\":\"4K\"}\n",
    );
    let run = cowsim(&["compare", &bad, "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("bad.jsonl:2:37:"), "{}", stderr(&run));

    let unknown = scratch_trace("unknown-task.jsonl", "{\"op\":\"exit\",\"task\":7}\n");
    let run = cowsim(&["compare", &unknown, "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("unknown-task.jsonl:1:1: unknown task 7"), "{}", stderr(&run));

    let run = cowsim(&["compare", "examples/child-exits.jsonl", "--policies", "eager,linuxx", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("unknown policy \"linuxx\""), "{}", stderr(&run));

    let run = cowsim(&["compare", "examples/child-exits.jsonl", "examples/child-exits.jsonl", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("two inputs are both called \"child-exits\""), "{}", stderr(&run));
}

/// Rewriting an earlier comparison's folder removes the runs and charts of
/// inputs no longer compared; a folder that is not a comparison's output
/// keeps its files.
#[test]
fn stale_outputs_are_removed_only_from_a_comparison_folder() {
    let out = fresh_dir("stale");
    let both = ["compare", "examples/child-exits.jsonl", "examples/three-forks.jsonl", "--out", &out_arg(&out)];
    assert_eq!(cowsim(&both).status.code(), Some(0));
    assert!(out.join("runs/three-forks/eager.json").is_file());
    let one = ["compare", "examples/child-exits.jsonl", "--out", &out_arg(&out)];
    assert_eq!(cowsim(&one).status.code(), Some(0));
    let written: Vec<PathBuf> = files_under(&out).into_keys().collect();
    assert_eq!(written, expected_files(&["child-exits"]));
    assert!(!out.join("runs/three-forks").exists() && !out.join("charts/three-forks").exists());

    let foreign = fresh_dir("foreign");
    std::fs::create_dir_all(foreign.join("charts")).unwrap();
    std::fs::write(foreign.join("charts/mine.png"), b"not ours").unwrap();
    assert_eq!(cowsim(&["compare", "examples/child-exits.jsonl", "--out", &out_arg(&foreign)]).status.code(), Some(0));
    assert!(foreign.join("charts/mine.png").is_file(), "a folder without a summary.json is not pruned");
}

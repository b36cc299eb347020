//! `cowsim compare` as a user runs it: the files it writes, the pinned
//! summary header, byte-identical regeneration, real captures and their
//! agreement with the kernel, the built-in suite's inputs, and the exit
//! codes of a failed run, a digest mismatch and bad input.
//!
//! Every comparison here is small (a few examples, the smallest perf
//! capture) so the tests stay fast in a debug build, where the invariant
//! checker runs after every op. The full built-in suite is the main job
//! (`cargo run --release`); here only its list of inputs is checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use analysis::compare::summarise;
use analysis::compare::table::{DigestCheck, InputInfo, Run};
use analysis::exit;
use sim::{Config, Op, PolicyKind, Sim, TaskId};

mod support;
use support::{cowsim, repo, stderr, stdout};

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

/// The smallest committed perf capture (253 ops once imported).
const SMALL_PERF: &str = "workloads/tests/fixtures/forkwrite.perf.txt.gz";

/// The files a comparison of `inputs` (labels) under every policy writes,
/// when none of them recorded faults.
fn expected_files(inputs: &[&str]) -> Vec<PathBuf> {
    expected_files_with(inputs, false)
}

/// The files a comparison of `inputs` under every policy writes; with
/// `fidelity`, the agreement chart too.
fn expected_files_with(inputs: &[&str], fidelity: bool) -> Vec<PathBuf> {
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
    let mut summary_charts = vec!["summary-copies", "summary-faults", "summary-hidden-peak", "summary-max-chain"];
    if fidelity {
        summary_charts.push("summary-fidelity");
    }
    for chart in summary_charts {
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
         shadows_created,collapses,bypasses,push_copy,amap_copy,chain_steps,fidelity_agreement,at_exit_agreement,read_digest,\
         digest_check,status"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with("child-exits,eager,10,"), "{csv}");
    assert!(rows[1].starts_with("child-exits,gnumach,10,"), "{csv}");
    assert!(rows[1].ends_with(",match,ok"), "{csv}");
    let agreement = header.split(',').position(|c| c == "fidelity_agreement").unwrap();
    assert_eq!(rows[1].split(',').nth(agreement), Some(""), "no recorded faults, no agreement: {csv}");

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
/// Markdown, SVG, PNG)? A small suite of every kind of file input (two
/// examples and a perf capture imported on the fly) is compared twice.
#[test]
fn same_inputs_give_byte_identical_outputs() {
    let first = fresh_dir("same-a");
    let second = fresh_dir("same-b");
    for out in [&first, &second] {
        let inputs = ["examples/three-forks.jsonl", "examples/vm-copy-overlap.jsonl", SMALL_PERF];
        let run = cowsim(&["compare", inputs[0], inputs[1], inputs[2], "--out", &out_arg(out)]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    }
    let (a, b) = (files_under(&first), files_under(&second));
    let written: Vec<PathBuf> = a.keys().cloned().collect();
    assert_eq!(written, expected_files_with(&["three-forks", "vm-copy-overlap", "forkwrite.perf"], true));
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
    assert_eq!(exit::of_comparison(&summary, 0), exit::SUCCESS);

    let runs = vec![
        run(PolicyKind::Eager, "00000000000000aa"),
        run(PolicyKind::GnuMach, "00000000000000aa"),
        run(PolicyKind::MachNoCollapse, "00000000000000bb"),
    ];
    let summary = summarise(inputs, &policies, PolicyKind::Eager, &runs);
    assert!(!summary.all_agree);
    assert_eq!(exit::of_comparison(&summary, 0), exit::RUN_FAILED);
    assert_eq!(exit::of_comparison(&summary, 1), exit::BAD_INPUT);
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

/// Does `compare` import a perf capture named on the command line, and
/// report each policy's agreement with the faults the real kernel recorded:
/// in the CSV column, in `summary.json`, in `summary.md`, as a chart, and
/// on stdout? An input without recorded faults (an example) gets none.
#[test]
fn a_perf_capture_is_imported_and_its_fidelity_reported() {
    let out = fresh_dir("fidelity");
    let run = cowsim(&["compare", SMALL_PERF, "examples/child-exits.jsonl", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(stderr(&run), "", "the import's summary stays out of a comparison");
    let written: Vec<PathBuf> = files_under(&out).into_keys().collect();
    assert_eq!(written, expected_files_with(&["forkwrite.perf", "child-exits"], true));

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["inputs"][0]["kind"], "perf");
    assert_eq!(summary["inputs"][0]["trace"], "forkwrite.perf.txt.gz");
    assert_eq!(summary["inputs"][1]["kind"], "trace");
    let policies = PolicyKind::ALL.len();
    let fidelity = summary["fidelity"].as_array().unwrap();
    assert_eq!(fidelity.len(), 1, "only the capture recorded faults: {fidelity:?}");
    assert_eq!(fidelity[0]["input"], "forkwrite.perf");
    let recorded = fidelity[0]["recorded"].as_u64().unwrap();
    assert!(recorded > 100, "forkwrite recorded {recorded} faults");
    let agreement: Vec<f64> =
        fidelity[0]["agreement"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
    assert_eq!(agreement.len(), policies);
    assert!(agreement.iter().all(|a| (0.0..=1.0).contains(a)), "{agreement:?}");

    // Each row carries its run's agreement; the example's rows carry none.
    let runs = summary["runs"].as_array().unwrap();
    for (row, expected) in runs[..policies].iter().zip(&agreement) {
        assert_eq!(row["fidelity_agreement"].as_f64(), Some(*expected), "{row}");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("runs/forkwrite.perf/{}.json", row["policy"].as_str().unwrap())))
                .unwrap(),
        )
        .unwrap();
        let exact = report["fidelity"]["agreement"].as_f64().unwrap();
        assert!((exact - expected).abs() <= 0.0005, "{exact} rounds to {expected}");
    }
    assert!(runs[policies..].iter().all(|r| r["fidelity_agreement"].is_null()));

    let linux = PolicyKind::ALL.iter().position(|p| *p == PolicyKind::Linux).unwrap();
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let column = csv.lines().next().unwrap().split(',').position(|c| c == "fidelity_agreement").unwrap();
    let linux_row = csv.lines().find(|l| l.starts_with("forkwrite.perf,linux,")).unwrap();
    assert_eq!(linux_row.split(',').nth(column).unwrap(), format!("{:.3}", agreement[linux]));

    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("## Agreement with the real kernel"), "{markdown}");
    assert!(markdown.contains(&format!("| forkwrite.perf | {recorded} | {:.3} |", agreement[0])), "{markdown}");

    // Stdout: a header naming every policy, then one line for the capture.
    let text = stdout(&run);
    let mut lines = text.lines().skip_while(|l| !l.starts_with("agreement with the real kernel"));
    assert!(lines.next().is_some(), "{text}");
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let names: Vec<&str> = PolicyKind::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(header, [&["input", "recorded"][..], &names].concat());
    let line: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(line[..2], ["forkwrite.perf", recorded.to_string().as_str()]);
    assert_eq!(line[2 + linux], format!("{:.3}", agreement[linux]));
    assert_eq!(lines.next(), None, "child-exits has no recorded faults: {text}");
}

/// A comparison without recorded faults prints no agreement table and
/// draws no agreement chart (checked by `expected_files`).
#[test]
fn no_agreement_table_without_recorded_faults() {
    let out = fresh_dir("no-fidelity");
    let run = cowsim(&["compare", "examples/child-exits.jsonl", "--policies", "eager,linux", "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(!stdout(&run).contains("agreement"), "{}", stdout(&run));
    assert!(!std::fs::read_to_string(out.join("summary.md")).unwrap().contains("Agreement"));
}

/// A damaged capture is bad input: exit 2, naming the file and line.
#[test]
fn a_damaged_capture_is_exit_2() {
    let capture = scratch_trace("damaged.perf.txt", "this is not perf script output\n");
    let out = fresh_dir("damaged");
    let run = cowsim(&["compare", &capture, "--out", &out_arg(&out)]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("damaged.perf.txt:1:"), "{}", stderr(&run));
    assert!(!out.exists(), "nothing is written for bad input");
}

/// Is the built-in suite every example, every canonical workload with its
/// default seed, and every committed real capture, in that order, as the
/// repository holds them now (the binary embeds copies at build time)?
/// (Only listed here: running it all is the main job's, in a release
/// build.)
#[test]
fn the_builtin_suite_has_examples_workloads_and_real_captures() {
    use analysis::compare::input::builtin_suite;
    use analysis::feed::Feed;
    let names: Vec<String> = builtin_suite()
        .into_iter()
        .map(|input| match input {
            Feed::Trace(source) => format!("trace {}", source.file_name()),
            Feed::Workload(name) => format!("workload {name}"),
            Feed::Capture { source, importer } => format!("{} {}", importer.name(), source.file_name()),
        })
        .collect();
    let mut expected: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .map(|n| format!("trace {n}"))
        .collect();
    expected.sort();
    assert!(expected.len() >= 6, "{expected:?}");
    expected.extend(workloads::generators::WORKLOADS.iter().map(|w| format!("workload {}", w.name)));
    expected.extend(
        [
            "perf cold-start.perf.txt.gz",
            "perf forkwrite.perf.txt.gz",
            "perf gcc-compile.perf.txt.gz",
            "perf mremap.perf.txt.gz",
            "perf python.perf.txt.gz",
            "perf shell-pipeline.perf.txt.gz",
            // By file name: touch before vfork.
            "lackey touch.lackey.txt.gz",
            "perf vfork.perf.txt.gz",
        ]
        .map(String::from),
    );
    assert_eq!(names, expected);
}

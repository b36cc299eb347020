//! The `cowsim` command against a hostile user: outputs that must never
//! destroy a file, inputs that must never hang it, and comparisons that
//! must not lose the good inputs to one bad one. Each test is headed by the
//! failure it guards against.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{cowsim, cowsim_in, repo, stderr, stdout};

/// A fresh scratch folder under target/, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = repo().join("target/hostile-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// The names in `dir`, sorted, hidden temporaries included.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cowsim_in(dir, args)
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
}

const NOT_A_CAPTURE: &str = "this is not perf script output\nnor is this\n";

/// `import perf cap.txt -o cap.txt` used to destroy the capture: the output
/// is refused before anything is read, and the capture is untouched.
#[test]
fn an_import_never_writes_over_its_input() {
    let dir = scratch("import-onto-input");
    std::fs::write(dir.join("cap.txt"), NOT_A_CAPTURE).unwrap();
    let out = run(&dir, &["import", "perf", "cap.txt", "-o", "./cap.txt"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("is also an input"), "{}", stderr(&out));
    assert_eq!(text(&dir.join("cap.txt")), NOT_A_CAPTURE);
    assert_eq!(listing(&dir), ["cap.txt"]);
}

/// A failed import used to remove whatever `-o` named: an existing trace
/// must survive a failed import unchanged, with no temporary left beside it.
#[test]
fn a_failed_import_leaves_the_output_as_it_was() {
    let dir = scratch("failed-import");
    std::fs::write(dir.join("cap.txt"), NOT_A_CAPTURE).unwrap();
    std::fs::write(dir.join("trace.jsonl"), "# precious\n").unwrap();
    let out = run(&dir, &["import", "perf", "cap.txt", "-o", "trace.jsonl"]);
    assert_exit(&out, 2);
    assert_eq!(text(&dir.join("trace.jsonl")), "# precious\n");
    assert_eq!(listing(&dir), ["cap.txt", "trace.jsonl"]);
}

/// `-o` at a symbolic link used to remove the link and leave its target
/// holding a partial trace: a failure leaves both alone; a success writes
/// the target and keeps the link.
#[test]
fn an_import_through_a_symlink_keeps_the_link() {
    let dir = scratch("symlink");
    std::fs::write(dir.join("cap.txt"), NOT_A_CAPTURE).unwrap();
    std::fs::write(dir.join("real.jsonl"), "# precious\n").unwrap();
    std::os::unix::fs::symlink("real.jsonl", dir.join("link.jsonl")).unwrap();
    let out = run(&dir, &["import", "perf", "cap.txt", "-o", "link.jsonl"]);
    assert_exit(&out, 2);
    assert!(std::fs::symlink_metadata(dir.join("link.jsonl")).unwrap().file_type().is_symlink());
    assert_eq!(text(&dir.join("real.jsonl")), "# precious\n");

    let capture = repo().join("workloads/tests/fixtures/forkwrite.perf.txt.gz");
    let out = run(&dir, &["import", "perf", capture.to_str().unwrap(), "-o", "link.jsonl"]);
    assert_exit(&out, 0);
    assert!(std::fs::symlink_metadata(dir.join("link.jsonl")).unwrap().file_type().is_symlink());
    assert!(text(&dir.join("real.jsonl")).contains("\"op\":\"fork\""));
    assert_eq!(listing(&dir), ["cap.txt", "link.jsonl", "real.jsonl"]);
}

/// `-o /dev/null` with bad input used to unlink the device node (as root):
/// a device, a FIFO or a folder is refused before any work, by every
/// command that writes a file.
#[test]
fn outputs_that_are_not_regular_files_are_refused() {
    let dir = scratch("not-regular");
    std::fs::write(dir.join("cap.txt"), NOT_A_CAPTURE).unwrap();
    std::fs::create_dir(dir.join("folder")).unwrap();
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let example = repo().join("examples/fork-then-write.jsonl");
    let example = example.to_str().unwrap();
    for target in ["/dev/null", "folder", "fifo"] {
        let commands: [Vec<&str>; 4] = [
            vec!["import", "lackey", "cap.txt", "-o", target],
            vec!["gen", "fork-exit", "-o", target],
            vec!["graph", example, "-o", target],
            vec!["record", "-o", target, "--", "true"],
        ];
        for args in commands {
            let started = Instant::now();
            let out = run(&dir, &args);
            assert_exit(&out, 2);
            assert!(started.elapsed() < Duration::from_secs(20), "{args:?} blocked on the FIFO");
        }
    }
    assert!(Path::new("/dev/null").exists());
    assert_eq!(listing(&dir), ["cap.txt", "fifo", "folder"]);
}

/// `gen -o` writes beside the target: an existing file is replaced only by
/// a whole trace, and nothing else is left in the folder.
#[test]
fn gen_replaces_its_output_whole() {
    let dir = scratch("gen");
    std::fs::write(dir.join("t.jsonl"), "# old\n").unwrap();
    let out = run(&dir, &["gen", "fork-exit", "--param", "rounds=nope", "-o", "t.jsonl"]);
    assert_exit(&out, 2);
    assert_eq!(text(&dir.join("t.jsonl")), "# old\n");
    let out = run(&dir, &["gen", "fork-exit", "-o", "t.jsonl"]);
    assert_exit(&out, 0);
    assert!(text(&dir.join("t.jsonl")).contains("\"op\":\"fork\""));
    assert_eq!(listing(&dir), ["t.jsonl"]);
}

/// `--window` used to panic ("capacity overflow"), abort allocating 120 TB,
/// reserve 12 GB, or wrap to 0: every value out of range is a clear error.
#[test]
fn numeric_flags_are_bounded() {
    let capture = repo().join("workloads/tests/fixtures/forkwrite.perf.txt.gz");
    let capture = capture.to_str().unwrap();
    for window in ["0", "100000000", "1000000000000", "100000000000000000", "18446744073709551615", "-1"] {
        let out = cowsim(&["import", "perf", capture, &format!("--window={window}"), "-o", "-"]);
        assert_exit(&out, 2);
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(stderr(&out).contains("--window"), "{}", stderr(&out));
    }
    let out = cowsim(&["import", "perf", capture, "--window", "1", "-o", "-"]);
    assert_exit(&out, 0);
    for flag in ["0", "-5", "18446744073709551616"] {
        let out = cowsim(&["run", "examples/fork-then-write.jsonl", &format!("--sample-every={flag}")]);
        assert_exit(&out, 2);
    }
}

/// A capture whose perf buffer overflowed used to import silently, gaps
/// and all: above `--max-lost` it is refused (exit 2, the way to fix it
/// said, an existing output untouched); at or under it, imported with the
/// loss in the summary.
#[test]
fn a_capture_that_lost_events_is_refused_above_the_limit() {
    let dir = scratch("lost-events");
    let header = |micros: u32, event: &str| format!("            prog   100 [000] 0.{micros:06}: {event}\n");
    let mut capture = header(1, "PERF_RECORD_COMM exec: prog:100/100");
    capture += &header(2, "PERF_RECORD_MMAP2 100/100: [0x400000(0x4000) @ 0 00:00 0 0]: rw-p //anon");
    for i in 0..8 {
        let fault = format!(
            "exceptions:page_fault_user: address={:#x} ip=0x401000 error_code=0x6",
            0x400000 + i * 0x1000 % 0x4000
        );
        capture += &header(10 + i, &fault);
    }
    // 10 events printed, 10 lost: half the capture.
    capture += &header(30, "PERF_RECORD_LOST lost 10");
    std::fs::write(dir.join("cap.perf.txt"), &capture).unwrap();
    std::fs::write(dir.join("trace.jsonl"), "# precious\n").unwrap();

    let out = run(&dir, &["import", "perf", "cap.perf.txt", "-o", "trace.jsonl"]);
    assert_exit(&out, 2);
    let said = stderr(&out);
    assert!(said.contains("perf lost 10 of the capture's 20 events (50%), more than the 1% allowed"), "{said}");
    assert!(said.contains("-m 4M") && said.contains("--max-lost 100"), "{said}");
    assert_eq!(text(&dir.join("trace.jsonl")), "# precious\n");
    assert_eq!(listing(&dir), ["cap.perf.txt", "trace.jsonl"]);

    // A replay of the capture itself is refused the same way.
    let out = run(&dir, &["run", "cap.perf.txt"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("perf lost 10"), "{}", stderr(&out));

    let out = run(&dir, &["import", "perf", "cap.perf.txt", "--max-lost", "50", "-o", "trace.jsonl"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("perf lost 10 of 20 events (50%): the trace has gaps"), "{}", stderr(&out));
    assert!(text(&dir.join("trace.jsonl")).contains("# import summary: perf lost 10 of 20 events (50%)"));

    // Within the limit, a replay of the capture carries the loss in its
    // report, with the importer's notes by kind (none here).
    let mut small_loss = capture.replace("PERF_RECORD_LOST lost 10", "PERF_RECORD_LOST lost 1");
    for i in 0..90 {
        let fault = format!(
            "exceptions:page_fault_user: address={:#x} ip=0x401000 error_code=0x6",
            0x400000 + (i % 4) * 0x1000
        );
        small_loss += &header(100 + i, &fault);
    }
    std::fs::write(dir.join("small.perf.txt"), &small_loss).unwrap();
    let out = run(&dir, &["run", "small.perf.txt", "--json"]);
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["import"]["lost_events"], 1, "{report}");
    assert_eq!(report["import"]["recorded_or_lost_events"], 101, "{report}");
    assert_eq!(report["import"]["notes"], serde_json::json!({}), "{report}");

    for bad in ["-1", "101", "1e2", "half", "0.00001"] {
        let out = run(&dir, &["import", "perf", "cap.perf.txt", &format!("--max-lost={bad}"), "-o", "-"]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("--max-lost"), "{}", stderr(&out));
    }
}

/// Runs cowsim with `args`, killing it after `limit`: returns its output,
/// or panics if it had to be killed (it hung).
fn run_with_limit(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cowsim"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("cowsim {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `run /dev/zero` used to spin forever skipping a line with no end: every
/// command that reads a trace fails as soon as the line passes the limit.
#[test]
fn a_line_without_end_fails_quickly() {
    for args in [
        vec!["run", "/dev/zero"],
        vec!["explain", "/dev/zero"],
        vec!["graph", "/dev/zero"],
        vec!["compare", "/dev/zero", "--out", "target/hostile-tests/zero"],
    ] {
        let out = run_with_limit(&args, Duration::from_secs(30));
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("/dev/zero:1:1: line is longer than"), "{args:?}: {}", stderr(&out));
    }
}

/// `graph -o x.svg` of 1000 tasks used to run for minutes (the old layout
/// was cubic) and then was refused. A thousand children alike are one node
/// now, drawn at once; a world of a thousand *different* tasks is still
/// refused at once, with the way out.
#[test]
fn a_huge_graph_is_summarised_or_refused() {
    let dir = scratch("huge-graph");
    let mut alike = String::from(
        "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"0x100000\",\"size\":\"16K\"}\n",
    );
    for child in 2..1000 {
        alike.push_str(&format!("{{\"op\":\"fork\",\"parent\":1,\"child\":{child}}}\n"));
    }
    std::fs::write(dir.join("forks.jsonl"), alike).unwrap();
    let out = run_with_limit(
        &["graph", dir.join("forks.jsonl").to_str().unwrap(), "-o", dir.join("forks.svg").to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert_exit(&out, 0);
    let svg = std::fs::read_to_string(dir.join("forks.svg")).unwrap();
    assert!(svg.contains(">tasks 2-999</text>") && svg.contains(">(998 alike)</text>"), "{svg}");

    let mut different = String::new();
    for task in 1..1200 {
        // A size of its own for each, in whole pages, so no two look alike.
        let size = task * 4;
        different.push_str(&format!(
            "{{\"op\":\"task_create\",\"task\":{task}}}\n{{\"op\":\"vm_allocate\",\"task\":{task},\"addr\":\"0x100000\",\"size\":\"{size}K\"}}\n"
        ));
    }
    std::fs::write(dir.join("tasks.jsonl"), different).unwrap();
    let out = run_with_limit(
        &["graph", dir.join("tasks.jsonl").to_str().unwrap(), "-o", dir.join("tasks.svg").to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("FILE.dot"), "{}", stderr(&out));
    assert!(!dir.join("tasks.svg").exists());
}

/// `compare good.jsonl bad.jsonl` used to write nothing and name only the
/// first error: every bad input is named, the good ones are compared and
/// written, and the exit code says bad input.
#[test]
fn compare_keeps_the_good_inputs_and_names_every_bad_one() {
    let dir = scratch("compare-mixed");
    std::fs::write(dir.join("good.jsonl"), "{\"op\":\"task_create\",\"task\":1}\n").unwrap();
    std::fs::write(dir.join("typo.jsonl"), "{\"op\":\"task_creat\",\"task\":1}\n").unwrap();
    std::fs::write(dir.join("ghost.jsonl"), "{\"op\":\"exit\",\"task\":7}\n").unwrap();
    let args = ["compare", "good.jsonl", "typo.jsonl", "ghost.jsonl", "no-such-input", "--out", "out"];
    let out = run(&dir, &args);
    assert_exit(&out, 2);
    let errors = stderr(&out);
    for named in ["typo.jsonl:1:7", "ghost.jsonl:1:1", "\"no-such-input\""] {
        assert!(errors.contains(named), "{named} missing from: {errors}");
    }
    assert!(dir.join("out/runs/good/eager.json").is_file());
    assert!(!dir.join("out/runs/typo").exists());
    let summary: serde_json::Value = serde_json::from_str(&text(&dir.join("out/summary.json"))).unwrap();
    assert_eq!(summary["inputs"].as_array().unwrap().len(), 1);
    assert_eq!(summary["rejected"].as_array().unwrap().len(), 3);
}

/// `compare --out FILE` used to run everything, then fail on the folder: it
/// is refused first, and the file is untouched.
#[test]
fn compare_refuses_a_file_as_its_folder_before_running() {
    let dir = scratch("compare-out-file");
    std::fs::write(dir.join("out"), "precious").unwrap();
    let out = run(&dir, &["compare", "fork-exit", "--out", "out"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--out"), "{}", stderr(&out));
    assert_eq!(text(&dir.join("out")), "precious");
}

/// `compare -` and FIFOs used to be "neither a trace file nor a workload".
#[test]
fn compare_reads_stdin_and_fifos() {
    let dir = scratch("compare-stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cowsim"))
        .args(["compare", "-", "--out", "out", "--policies", "eager,linux"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let example = std::fs::read(repo().join("examples/fork-then-write.jsonl")).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &example).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    assert!(dir.join("out/runs/stdin/linux.json").is_file());

    let fifo = dir.join("trace.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, example).unwrap())
    };
    let out = run(&dir, &["compare", "trace.fifo", "--out", "out2", "--policies", "eager"]);
    writer.join().unwrap();
    assert_exit(&out, 0);
    assert!(dir.join("out2/runs/trace.fifo/eager.json").is_file());
}

//! Generated workloads from the user's side: `cowsim workloads`, `cowsim
//! gen` and its errors, and a long generated trace replayed as a stream.

use std::path::Path;

use analysis::replay::{Origin, ReplayError, replay_ops};
use sim::op::AccessOp;
use sim::{Access, Config, Op, PolicyKind, TaskId, TraceOp};
use workloads::generators::{self, WORKLOADS};

mod support;
use support::{cowsim, repo, stderr, stdout};

/// A fresh path under target/ for a test's output.
fn scratch(name: &str) -> String {
    let dir = repo().join("target/gen-cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path.to_string_lossy().into_owned()
}

/// Does `cowsim workloads` list every generator, and every parameter with
/// its default?
#[test]
fn workloads_lists_every_generator_and_parameter() {
    let out = cowsim(&["workloads"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for w in &WORKLOADS {
        assert!(text.lines().any(|l| l.starts_with(w.name) && l.contains(w.summary)), "{}: {text}", w.name);
        for p in w.params {
            let setting = format!("{}={}", p.name, p.show(p.default));
            assert!(text.lines().any(|l| l.trim_start().starts_with(&setting) && l.contains(p.meaning)), "{setting}");
        }
    }
    assert!(text.contains("--seed S (default 1)"), "{text}");
}

/// Does `cowsim gen fork-exit --seed 3 -o X` write a trace that
/// `cowsim run X --policy all` replays, with every policy reading the same?
#[test]
fn generated_trace_runs_under_every_policy() {
    let path = scratch("fork-exit-3.jsonl");
    let out = cowsim(&["gen", "fork-exit", "--seed", "3", "--param", "rounds=300", "-o", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# cowsim gen fork-exit --seed 3 --param rounds=300 --param pages=64 --param writes=1\n"),
        "{}",
        &text[..200]
    );
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 4 + 300 * 3);
    let out = cowsim(&["run", &path, "--policy", "all", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), PolicyKind::ALL.len());
    for r in reports {
        assert_eq!(r["ops"], 904);
        assert_eq!(r["read_digest"], reports[0]["read_digest"], "{}", r["policy"]);
        assert_eq!(r["kern_returns"]["KERN_SUCCESS"], 904);
    }
}

/// Does the same seed give a byte-identical file, stdout the same bytes,
/// and another seed another trace?
#[test]
fn same_seed_same_bytes() {
    let (a, b) = (scratch("same-a.jsonl"), scratch("same-b.jsonl"));
    for path in [&a, &b] {
        let out = cowsim(&["gen", "zygote", "--seed", "11", "-p", "children=5", "--output", path]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap());
    let piped = cowsim(&["gen", "zygote", "--seed", "11", "-p", "children=5", "-o", "-"]);
    assert_eq!(piped.stdout, bytes);
    let other = cowsim(&["gen", "zygote", "--seed", "12", "-p", "children=5"]);
    assert!(other.status.success());
    assert_ne!(other.stdout, bytes);
}

/// Are a bad parameter, an unknown parameter and an unknown workload exit 2
/// with a message that names them — and is no output file left behind?
#[test]
fn bad_parameters_are_exit_2() {
    let path = scratch("never-written.jsonl");
    for (args, message) in [
        (
            vec!["gen", "fork-exit", "--param", "rounds=-1"],
            "parameter rounds: \"-1\" is not a whole number from 1 to 1000000000",
        ),
        (vec!["gen", "bgsave", "--param", "skew=1.5"], "parameter skew: \"1.5\" is not a fraction from 0 to 1"),
        (
            vec!["gen", "fork-exit", "--param", "round=5"],
            "workload fork-exit has no parameter \"round\"; did you mean \"rounds\"? \
             (known parameters of this workload: rounds, pages, writes)",
        ),
        (vec!["gen", "fork-exit", "--param", "rounds"], "\"rounds\" is not a parameter setting; write NAME=VALUE"),
        (vec!["gen", "fork-exit", "-p", "rounds=2", "-p", "rounds=3"], "parameter rounds is given twice"),
        (
            vec!["gen", "fork-exitt"],
            "unknown workload \"fork-exitt\"; did you mean \"fork-exit\"? (known workloads: fork-exit,",
        ),
        (vec!["gen", "strandin"], "did you mean \"stranding\"?"),
        (vec!["gen", "bgsave", "--param", "pages=16K"], "pages is a count, not a size in bytes"),
    ] {
        let mut args = args.clone();
        args.extend(["-o", &path]);
        let out = cowsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
        assert!(!Path::new(&path).exists(), "{args:?} created the output");
    }
    let out = cowsim(&["gen", "fork-exit", "--seed", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Does a generated trace of two million ops replay, streamed from
/// the generator, with the generator never holding more than one step?
/// (The ten-million-op run is measured in release, see README.)
#[test]
fn a_long_generated_trace_replays_as_a_stream() {
    let workload = generators::find("fork-exit").unwrap();
    let rounds = 666_666;
    let params = workload.parse_params(&[format!("rounds={rounds}"), "pages=16".to_string()]).unwrap();
    let mut ops = workload.generate(5, &params);
    let config = Config::default().check_invariants(false).sample_every(100_000);
    let reports = replay_ops(&Origin::Workload("fork-exit".into()), &mut ops, &[PolicyKind::GnuMach], &config).unwrap();
    assert_eq!(reports[0].ops, 4 + rounds * 3);
    assert_eq!(reports[0].trace, "fork-exit");
    assert!(ops.high_water() <= 3, "the generator buffered {} ops at once", ops.high_water());
    // gnumach collapses after every copy-up fault: the chain stays short.
    assert!(reports[0].objects.max_chain <= 2, "{}", reports[0].objects.max_chain);
}

/// Are failures of in-memory ops reported with their position, as a trace
/// line would be?
#[test]
fn replay_ops_names_the_failing_op() {
    let op = |op| TraceOp { op, expect: None };
    let ops = vec![
        op(Op::TaskCreate { task: TaskId(1) }),
        op(Op::Access(AccessOp {
            task: TaskId(9),
            access: Access::Read,
            addr: 0x10000,
            len: 1,
            value: None,
            expect_value: None,
            recorded: None,
        })),
    ];
    let error = replay_ops(&Origin::Workload("made".into()), ops, &PolicyKind::ALL, &Config::default()).unwrap_err();
    assert!(matches!(error, ReplayError::BadOp { line: 2, .. }), "{error:?}");
    assert_eq!(error.to_string(), "workload made op 2: unknown task 9 (never created, or already exited)");
    assert_eq!(analysis::exit::of_error(&error.into()), analysis::exit::BAD_INPUT);
}

/// Does `cowsim compare` take a workload name, running the trace `cowsim
/// gen NAME` writes?
#[test]
fn compare_runs_a_workload_by_name() {
    let out_dir = repo().join("target/gen-cli-tests/compare-fork-exit");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = cowsim(&["compare", "fork-exit", "--policies", "eager,gnumach", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("runs/fork-exit/gnumach.json")).unwrap()).unwrap();
    assert_eq!(report["trace"], "fork-exit");
    assert_eq!(report["ops"], 6004);
    let out = cowsim(&["compare", "fork-exot", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("known workloads: fork-exit, live-children,"), "{}", stderr(&out));
}

//! `cowsim quiz` from a teacher's side: are the problems hand-sized and
//! about copy-on-write, is every answer what the simulator says when the
//! trace is replayed without the quiz's help, and is the command
//! deterministic and strict about its flags?
//!
//! The answer checks replay each trace again from scratch, op prefix by op
//! prefix, with a plain `Sim` and its `Report` (what `cowsim run` prints),
//! read chains and page holders from the `WorldView`, count faults from
//! the events, and compare fault answers with `cowsim explain`'s
//! narration: an answer key that drifted from the model would fail here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use analysis::quiz::{self, Kind, Options, Question};
use sim::event::Event;
use sim::{Access, Config, KernReturn, Op, PolicyKind, Sim, TaskId, TraceOp, Vpn};
use workloads::trace::format_op;

mod support;
use support::{cowsim, repo, stderr, stdout};

const SEEDS: std::ops::Range<u64> = 0..200;
const PAGE: u64 = 4096;

/// The policies a kind is asked under across the seeds: every design for
/// most kinds, the page-counting ones for `refcount`.
fn policy_for(kind: Kind, seed: u64) -> PolicyKind {
    let policies: Vec<PolicyKind> =
        PolicyKind::ALL.into_iter().filter(|p| kind != Kind::Refcount || quiz::counts_page_references(*p)).collect();
    policies[seed as usize % policies.len()]
}

fn make(kind: Kind, seed: u64, policy: PolicyKind) -> quiz::Quiz {
    quiz::make(&Options { seed, policy: Some(policy), kind: Some(kind), questions: 8 }).unwrap()
}

/// The byte ranges an op names.
fn ranges(op: &Op) -> Vec<(u64, u64)> {
    match op {
        Op::VmAllocate { addr, size, .. } => vec![(addr.unwrap_or(0), *size)],
        Op::VmDeallocate { addr, size, .. } | Op::VmProtect { addr, size, .. } | Op::VmInherit { addr, size, .. } => {
            vec![(*addr, *size)]
        }
        Op::VmCopy { src, size, dst, .. } => vec![(*src, *size), (*dst, *size)],
        Op::Access(a) => vec![(a.addr, a.len)],
        _ => Vec::new(),
    }
}

fn tasks_of(op: &Op) -> Vec<TaskId> {
    match op {
        Op::TaskCreate { task } | Op::Exit { task } | Op::Exec { task } => vec![*task],
        Op::Fork { parent, child } => vec![*parent, *child],
        Op::VmAllocate { task, .. }
        | Op::VmDeallocate { task, .. }
        | Op::VmProtect { task, .. }
        | Op::VmInherit { task, .. }
        | Op::VmCopy { task, .. } => vec![*task],
        Op::Access(a) => vec![a.task],
        _ => Vec::new(),
    }
}

/// Is every problem hand-sized (4 to 12 ops, at most 3 tasks and 8 pages),
/// does it fork or vm_copy and then make copy-on-write copy something, and
/// does it replay under every policy without bad input?
#[test]
fn problems_are_hand_sized_and_about_copy_on_write() {
    for kind in Kind::ALL {
        for seed in SEEDS {
            let trace = quiz::problem::problem(kind, seed);
            let at = format!("{} seed {seed}", kind.name());
            assert!((4..=12).contains(&trace.len()), "{at}: {} ops", trace.len());
            let tasks: BTreeSet<TaskId> = trace.iter().flat_map(|t| tasks_of(&t.op)).collect();
            assert!(tasks.len() <= 3, "{at}: tasks {tasks:?}");
            let pages: BTreeSet<u64> = trace
                .iter()
                .flat_map(|t| ranges(&t.op))
                .flat_map(|(addr, size)| (addr / PAGE)..(addr + size).div_ceil(PAGE))
                .collect();
            assert!(pages.len() <= 8, "{at}: {} pages", pages.len());
            let copy = trace.iter().position(|t| matches!(t.op, Op::Fork { .. } | Op::VmCopy { .. }));
            let copy = copy.unwrap_or_else(|| panic!("{at}: no fork or vm_copy"));
            assert!(
                trace[copy..].iter().any(|t| matches!(&t.op, Op::Access(a) if a.access == Access::Write)),
                "{at}: no write after the copy"
            );
            for policy in PolicyKind::ALL {
                let mut sim = Sim::new(policy, Config::default().check_invariants(true));
                for (i, op) in trace.iter().enumerate() {
                    sim.apply_traced(op).unwrap_or_else(|e| panic!("{at} under {policy}: op {}: {e}", i + 1));
                }
                let report = sim.finish("quiz");
                if policy == PolicyKind::GnuMach {
                    assert!(report.pages.copied + report.pages.moved > 0, "{at}: copy-on-write never copied");
                }
            }
        }
    }
}

/// What a fresh replay of the first `ops` ops says: the report, the world,
/// the codes and the events of each op.
struct Replay {
    sim: Sim,
    codes: Vec<KernReturn>,
    events: Vec<Vec<Event>>,
}

fn replay(trace: &[TraceOp], policy: PolicyKind, ops: usize) -> Replay {
    let mut sim = Sim::new(policy, Config::default());
    sim.keep_events(true);
    let (mut codes, mut events) = (Vec::new(), Vec::new());
    for op in &trace[..ops] {
        codes.push(sim.apply_traced(op).unwrap());
        events.push(sim.take_events());
    }
    Replay { sim, codes, events }
}

/// The narration of op `n`, as `cowsim explain --from n --to n` prints it.
fn narration(trace: &[TraceOp], policy: PolicyKind, n: u64) -> String {
    let dir = repo().join("target/quiz-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("narrate-{}-{n}.jsonl", std::process::id()));
    let text: String = trace.iter().map(|t| format_op(t) + "\n").collect();
    std::fs::write(&path, text).unwrap();
    let mut out = Vec::new();
    analysis::narrate::explain(&path, policy, &Config::default(), Some(n), Some(n), &mut out).unwrap();
    let _ = std::fs::remove_file(&path);
    String::from_utf8(out).unwrap()
}

/// Is every answer, for every kind and 200 seeds across the policies, what
/// an independent replay gives?
#[test]
fn answers_match_an_independent_replay() {
    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
    for kind in Kind::ALL {
        for seed in SEEDS {
            let policy = policy_for(kind, seed);
            let quiz = make(kind, seed, policy);
            assert!(!quiz.questions.is_empty(), "{} seed {seed}: no questions", kind.name());
            let at = format!("{} seed {seed} under {policy}", kind.name());
            let whole = replay(&quiz.trace, policy, quiz.trace.len());
            for question in &quiz.questions {
                let at = format!("{at}: {}", question.text());
                match question {
                    Question::PagesCopied { after, answer } => {
                        let report = replay(&quiz.trace, policy, *after as usize).sim.finish("check");
                        assert_eq!(*answer, report.pages.copied, "{at}");
                        *checked.entry("pages copied").or_default() += 1;
                    }
                    Question::ObjectsAlive { after, answer } => {
                        let mut run = replay(&quiz.trace, policy, *after as usize);
                        assert_eq!(*answer, run.sim.view().objects().count() as u64, "{at}");
                        assert_eq!(*answer, run.sim.finish("check").objects.alive, "{at}");
                        *checked.entry("objects alive").or_default() += 1;
                    }
                    Question::LongestChain { after, answer } => {
                        let run = replay(&quiz.trace, policy, *after as usize);
                        let view = run.sim.view();
                        let longest = view
                            .tasks()
                            .flat_map(|t| t.entries().map(move |e| view.chain(e.object).count() as u64))
                            .max()
                            .unwrap_or(0);
                        assert_eq!(*answer, longest, "{at}");
                        *checked.entry("longest chain").or_default() += 1;
                    }
                    Question::HiddenPages { after, answer } => {
                        let run = replay(&quiz.trace, policy, *after as usize);
                        assert_eq!(*answer, run.sim.view().hidden_pages(), "{at}");
                        *checked.entry("hidden pages").or_default() += 1;
                    }
                    Question::KernReturn { op, answer } => {
                        assert_eq!(*answer, whole.codes[*op as usize - 1], "{at}");
                        *checked.entry("kern_return").or_default() += 1;
                    }
                    Question::Fault { op, answer } => {
                        let first = whole.events[*op as usize - 1].iter().find_map(|e| match e {
                            Event::Fault { task, vpn, kind, depth, .. } => Some((*task, *vpn, *kind, *depth)),
                            _ => None,
                        });
                        assert_eq!(
                            first,
                            Some((answer.task, Vpn(answer.addr / PAGE), answer.kind, answer.depth)),
                            "{at}"
                        );
                        let after = replay(&quiz.trace, policy, *op as usize);
                        let writable =
                            after.sim.view().pmap_finding(answer.task, Vpn(answer.addr / PAGE), Access::Write);
                        assert_eq!(answer.writable_after, writable.is_none(), "{at}");
                        let told = narration(&quiz.trace, policy, *op);
                        for object in answer.found.iter().chain(&answer.into) {
                            assert!(told.contains(&format!("object {object}")), "{at}: {told}");
                        }
                        if let Some((shadow, backing)) = answer.shadow {
                            assert!(
                                told.contains(&format!("shadow object {shadow} in front of object {backing}")),
                                "{at}: {told}"
                            );
                        }
                        *checked.entry("fault").or_default() += 1;
                    }
                    Question::MoreFaults { tasks } => {
                        let mut counts: BTreeMap<TaskId, u64> = BTreeMap::new();
                        for event in whole.events.iter().flatten() {
                            if let Event::Fault { task, .. } = event {
                                *counts.entry(*task).or_default() += 1;
                            }
                        }
                        for (task, answer) in tasks {
                            assert_eq!(*answer, counts.get(task).copied().unwrap_or(0), "{at}: task {}", task.0);
                        }
                        *checked.entry("more faults").or_default() += 1;
                    }
                    Question::Holders { after, task, addr, answer } => {
                        let run = replay(&quiz.trace, policy, *after as usize);
                        let view = run.sim.view();
                        let vpn = Vpn(addr / PAGE);
                        // Through the pmap, where it maps the page: another
                        // path to the same page than the quiz's chain walk.
                        if view.pmap_finding(*task, vpn, Access::Read).is_none() {
                            let page = view.task(*task).and_then(|t| t.pmap_entry(vpn)).unwrap().page;
                            assert_eq!(*answer, view.page(page).unwrap().holders, "{at}");
                            *checked.entry("holders").or_default() += 1;
                        }
                        assert!(*answer >= 1, "{at}");
                    }
                }
            }
            // The text of every answer is printed with -c.
            let text = quiz::render(&quiz, true);
            for question in &quiz.questions {
                assert!(text.contains(&question.answer_text()), "{at}: {text}");
            }
        }
    }
    for name in [
        "pages copied",
        "objects alive",
        "longest chain",
        "hidden pages",
        "kern_return",
        "fault",
        "more faults",
        "holders",
    ] {
        assert!(checked.get(name).copied().unwrap_or(0) >= 20, "too few {name} questions checked: {checked:?}");
    }
}

/// Does the same seed print the same bytes, another seed another problem,
/// and does `-c` add the answers and nothing else?
#[test]
fn same_seed_same_bytes_and_answers_with_c() {
    let args = ["quiz", "--seed", "7", "--kind", "fork"];
    let a = cowsim(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = cowsim(&args);
    assert_eq!(a.stdout, b.stdout);
    let other = cowsim(&["quiz", "--seed", "8", "--kind", "fork"]);
    assert_ne!(a.stdout, other.stdout);
    let with = cowsim(&["quiz", "--seed", "7", "--kind", "fork", "-c"]);
    assert!(with.status.success(), "{}", stderr(&with));
    let (without, with) = (stdout(&a), stdout(&with));
    assert!(!without.contains("# Answers (") && without.contains("-c`"), "{without}");
    let questions = without.lines().filter(|l| l.starts_with("#  ") && l.contains('?')).count();
    assert_eq!(questions, 5, "{without}");
    let answers = with.split("# Answers (").nth(1).expect("an answers section");
    assert_eq!(answers.lines().filter(|l| l.starts_with("# ") && l.contains('.')).count(), 5, "{with}");
    let quiz = quiz::make(&Options { seed: 7, policy: None, kind: Some(Kind::Fork), questions: 5 }).unwrap();
    for question in &quiz.questions {
        assert!(with.contains(&question.answer_text()), "{with}");
    }
    // -o writes the same bytes to a file.
    let dir = repo().join("target/quiz-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seed-7.jsonl");
    let _ = std::fs::remove_file(&path);
    let out = cowsim(&["quiz", "--seed", "7", "--kind", "fork", "-o", path.to_str().unwrap()]);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), a.stdout);
    // With no kind, the seed picks one, and says which.
    let picked = stdout(&cowsim(&["quiz", "--seed", "3"]));
    assert!(picked.starts_with("# cowsim quiz --seed 3 --policy gnumach --kind "), "{picked}");
}

/// Is the whole output a trace that `run` and `explain` replay, under
/// every policy a quiz can be asked under?
#[test]
fn the_output_replays() {
    let dir = repo().join("target/quiz-tests");
    std::fs::create_dir_all(&dir).unwrap();
    for (kind, policy) in
        [("fork", "xnu"), ("vm_copy", "freebsd"), ("chain", "gnumach"), ("refcount", "uvm"), ("errors", "plan9")]
    {
        let out = cowsim(&["quiz", "--seed", "11", "--kind", kind, "--policy", policy, "-c", "-n", "8"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let path = dir.join(format!("replay-{kind}.jsonl"));
        std::fs::write(&path, &out.stdout).unwrap();
        let path = path.to_string_lossy().into_owned();
        let run = cowsim(&["run", &path, "--policy", "all"]);
        assert!(run.status.success(), "{kind}: {}", stderr(&run));
        let explain = cowsim(&["explain", &path, "--policy", policy]);
        assert!(explain.status.success(), "{kind}: {}", stderr(&explain));
        let ops = stdout(&out).lines().filter(|l| l.starts_with('{')).count();
        assert!(stdout(&explain).contains(&format!("op {ops}: ")), "{kind}");
    }
}

/// Are bad flags refused with a message that says what to do, and exit 2?
#[test]
fn bad_flags_exit_2() {
    for (args, says) in [
        (&["quiz", "--kind", "forks"][..], "forks"),
        (&["quiz", "--policy", "gnumac"], "did you mean \"gnumach\""),
        (&["quiz", "--policy", "all"], "one policy"),
        (&["quiz", "-n", "0"], "0"),
        (&["quiz", "-n", "21"], "21"),
        (&["quiz", "--seed", "-1"], "-1"),
        (&["quiz", "--kind", "refcount", "--policy", "gnumach"], "linux, uvm or plan9"),
    ] {
        let out = cowsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // refcount with no policy asks under linux rather than refuse.
    let out = cowsim(&["quiz", "--kind", "refcount"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("# cowsim quiz --seed 1 --policy linux --kind refcount"));
}

/// Is the example run in examples/README.md what the command prints today,
/// so the homework section cannot rot?
#[test]
fn the_readme_example_is_current() {
    let readme = std::fs::read_to_string(repo().join("examples/README.md")).unwrap();
    let out = cowsim(&["quiz", "--seed", "5", "--kind", "fork", "-c"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        readme.contains(&format!("```text\n{}```", stdout(&out))),
        "examples/README.md's quiz example differs from `cowsim quiz --seed 5 --kind fork -c`:\n{}",
        stdout(&out)
    );
}

//! `cowsim quiz`: homework in the style of OSTEP's simulators. A seed
//! makes a small copy-on-write problem (a trace of 4 to 12 ops) and a few
//! questions about it; `-c` prints the answers.
//!
//! ```text
//! cowsim quiz --seed 7 --kind fork        # the problem and its questions
//! cowsim quiz --seed 7 --kind fork -c     # the same, with the answers
//! ```
//!
//! The whole output is a trace: the ops are JSON lines and everything else
//! is a `#` comment, so a student can save it and replay it with `cowsim
//! explain` (or `graph`, or `run`) to check their work op by op. Ops are
//! numbered from 1, as `explain` numbers them.
//!
//! The answers are never written by hand. The trace is replayed under the
//! policy (`facts.rs`) and each answer is read from what the simulator
//! reported after that op, so an answer key cannot drift from the model. The
//! same seed gives the same trace, questions and answers, byte for byte:
//! the random source is the generators' seeded one, and every collection
//! that reaches the output is ordered.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sim::event::FaultKind;
use sim::{Access, Op, PolicyKind, TaskId, TraceOp};
use workloads::generators::script::GenRng;
use workloads::trace::format_op;

pub mod facts;
pub mod problem;

use facts::{FaultFacts, OpFacts};

/// What a problem is about; each kind has its own shape of trace and its
/// own mix of questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Fork,
    VmCopy,
    Chain,
    Refcount,
    Errors,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Fork, Kind::VmCopy, Kind::Chain, Kind::Refcount, Kind::Errors];

    /// The name `--kind` takes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Fork => "fork",
            Kind::VmCopy => "vm_copy",
            Kind::Chain => "chain",
            Kind::Refcount => "refcount",
            Kind::Errors => "errors",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The questions a problem of this kind asks, in the order they take
    /// turns: the first is the kind's own question, the others vary it.
    fn asks(self) -> &'static [AskKind] {
        use AskKind::*;
        match self {
            Kind::Fork => &[PagesCopied, Fault, MoreFaults, ObjectsAlive, Fault],
            Kind::VmCopy => &[Fault, PagesCopied, ObjectsAlive, LongestChain, HiddenPages],
            Kind::Chain => &[LongestChain, ObjectsAlive, HiddenPages, Fault, PagesCopied],
            Kind::Refcount => &[Holders, Fault, Holders, PagesCopied, MoreFaults],
            Kind::Errors => &[KernReturn, Fault, KernReturn, PagesCopied, KernReturn],
        }
    }
}

/// Does `policy` count references per page (the only designs a `refcount`
/// question makes sense for: in the Mach family a page has one holder)?
pub fn counts_page_references(policy: PolicyKind) -> bool {
    matches!(policy, PolicyKind::Linux | PolicyKind::LinuxOdf | PolicyKind::Uvm | PolicyKind::Plan9)
}

/// The most questions one quiz asks.
pub const MAX_QUESTIONS: usize = 20;

/// What `cowsim quiz` was asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub seed: u64,
    /// `None`: gnumach, or linux for a `refcount` problem.
    pub policy: Option<PolicyKind>,
    /// `None`: chosen by the seed.
    pub kind: Option<Kind>,
    pub questions: usize,
}

/// Why a quiz could not be made. All are bad usage (exit 2) except
/// `Refused`, which is a bug in the problem generator.
#[derive(Debug, thiserror::Error)]
pub enum QuizError {
    #[error(
        "--kind refcount asks how many page tables or amap slots hold a page, which only linux, uvm and plan9 \
         count; under {0} a page has one holder. Use --policy linux, uvm or plan9"
    )]
    NoRefcounts(&'static str),
    #[error("-n {0}: ask for 1 to {MAX_QUESTIONS} questions")]
    BadCount(usize),
    #[error("the problem for seed {seed} was refused at op {op}: {error} (a bug in cowsim quiz; please report it)")]
    Refused { seed: u64, op: usize, error: sim::SimError },
}

/// One kind of question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AskKind {
    PagesCopied,
    ObjectsAlive,
    LongestChain,
    HiddenPages,
    KernReturn,
    Fault,
    MoreFaults,
    Holders,
}

/// A question with its answer, as the simulator gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Question {
    /// Pages copied in all (the report's `pages.copied`) after op `after`.
    PagesCopied { after: u64, answer: u64 },
    /// VM objects alive (`objects.alive`) after op `after`.
    ObjectsAlive { after: u64, answer: u64 },
    /// The longest chain, in objects, after op `after`.
    LongestChain { after: u64, answer: u64 },
    /// Hidden pages (`pages.hidden`) after op `after`.
    HiddenPages { after: u64, answer: u64 },
    /// The code op `op` returns.
    KernReturn { op: u64, answer: sim::KernReturn },
    /// The first fault of op `op`.
    Fault { op: u64, answer: FaultFacts },
    /// Faults of two tasks over the whole trace.
    MoreFaults { tasks: [(TaskId, u64); 2] },
    /// The holders of the page `task` sees at `addr` after op `after`.
    Holders { after: u64, task: TaskId, addr: u64, answer: u32 },
}

impl Question {
    /// The op the question is about (the last op for whole-trace ones), to
    /// ask in trace order.
    pub fn op(&self) -> u64 {
        match self {
            Question::PagesCopied { after, .. }
            | Question::ObjectsAlive { after, .. }
            | Question::LongestChain { after, .. }
            | Question::HiddenPages { after, .. }
            | Question::Holders { after, .. } => *after,
            Question::KernReturn { op, .. } | Question::Fault { op, .. } => *op,
            Question::MoreFaults { .. } => u64::MAX,
        }
    }

    /// The question, in a sentence.
    pub fn text(&self) -> String {
        match self {
            Question::PagesCopied { after, .. } => {
                format!("After op {after}, how many pages have been copied in all (copy-on-write copies included)?")
            }
            Question::ObjectsAlive { after, .. } => format!("After op {after}, how many VM objects are alive?"),
            Question::LongestChain { after, .. } => format!(
                "After op {after}, how long is the longest chain of objects a map entry sees (1 = an object with no \
                 shadow)?"
            ),
            Question::HiddenPages { after, .. } => format!(
                "After op {after}, how many pages are hidden (resident, but no mapping can reach them any more)?"
            ),
            Question::KernReturn { op, .. } => format!("Which kern_return_t does op {op} return?"),
            Question::Fault { op, answer } => format!(
                "Op {op} faults on {:#x} (task {}'s {}). What does the fault find, and what does it do?",
                answer.addr,
                answer.task.0,
                access_noun(answer.access)
            ),
            Question::MoreFaults { tasks: [(a, _), (b, _)] } => format!(
                "Over the whole trace, which task takes more page faults, task {} or task {}? (Count every fault: \
                 zero-fill, copy-on-write, map, segv, protection.)",
                a.0, b.0
            ),
            Question::Holders { after, task, addr, .. } => format!(
                "After op {after}, how many holders (page-table slots or amap slots) does the page task {} sees at \
                 {addr:#x} have?",
                task.0
            ),
        }
    }

    /// The answer, in a sentence, from the simulator's numbers and events.
    pub fn answer_text(&self) -> String {
        match self {
            Question::PagesCopied { answer, .. } => plural(*answer, "page"),
            Question::ObjectsAlive { answer, .. } => plural(*answer, "object"),
            Question::LongestChain { answer, .. } => plural(*answer, "object"),
            Question::HiddenPages { answer, .. } => plural(*answer, "page"),
            Question::KernReturn { answer, .. } => answer.name().to_string(),
            Question::Fault { answer, .. } => fault_text(answer),
            Question::MoreFaults { tasks: [(a, fa), (b, fb)] } => {
                let counts = format!("task {}: {}, task {}: {}", a.0, plural(*fa, "fault"), b.0, plural(*fb, "fault"));
                match fa.cmp(fb) {
                    std::cmp::Ordering::Greater => format!("task {} ({counts})", a.0),
                    std::cmp::Ordering::Less => format!("task {} ({counts})", b.0),
                    std::cmp::Ordering::Equal => format!("neither: they take as many ({counts})"),
                }
            }
            Question::Holders { answer, .. } => plural(u64::from(*answer), "holder"),
        }
    }
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

fn access_noun(access: Access) -> &'static str {
    match access {
        Access::Read => "read",
        Access::Write => "write",
        Access::ExecFetch => "instruction fetch",
    }
}

/// What a fault found and did, from its events (see `facts.rs`).
fn fault_text(f: &FaultFacts) -> String {
    let found = match f.found {
        Some(object) => format!("found at depth {} in object {object}", f.depth),
        None => format!("found at depth {}", f.depth),
    };
    let into = |verb: &str| f.into.map_or(String::new(), |o| format!(", {verb} into object {o}"));
    let mut clauses = Vec::new();
    if let Some((shadow, backing)) = f.shadow {
        clauses.push(format!("the entry first gets new shadow object {shadow} in front of object {backing}"));
    }
    if let Some(copy) = f.pushed {
        clauses.push(format!("the original is pushed into copy object {copy}"));
    }
    clauses.push(match f.kind {
        FaultKind::ZeroFill => format!(
            "no object has the page, so a zero-filled page is made{}",
            f.into.map_or(String::new(), |o| format!(" in object {o}"))
        ),
        FaultKind::ZeroPage => "the shared zero page is mapped read-only".to_string(),
        FaultKind::PageIn => format!("the page is read in from its file{}", into("paged")),
        FaultKind::Map if f.writable_after => format!("{found} and mapped writable"),
        FaultKind::Map => format!("{found} and mapped read-only (a write would fault again)"),
        FaultKind::CowCopy => format!("{found}{}", into("copied")),
        FaultKind::CowMove => format!("{found}; nobody else can reach it{}", into("so it is moved")),
        FaultKind::Reuse => format!("{found}; nobody else shares it, so the write goes to it in place"),
        FaultKind::Segv => "no map entry covers the page: a segmentation fault (KERN_INVALID_ADDRESS)".to_string(),
        FaultKind::Protection => {
            "the map entry does not allow the access: a protection fault (KERN_PROTECTION_FAILURE)".to_string()
        }
    });
    for (object, backing) in &f.collapsed {
        clauses.push(format!("then object {backing} is collapsed into object {object}"));
    }
    format!("{} fault: {}", f.kind.name(), clauses.join("; "))
}

/// A quiz: the problem and its questions, with their answers.
#[derive(Clone, Debug)]
pub struct Quiz {
    pub seed: u64,
    pub kind: Kind,
    pub policy: PolicyKind,
    pub trace: Vec<TraceOp>,
    pub questions: Vec<Question>,
}

/// The kind a seed picks when `--kind` is not given: drawn from a stream of
/// its own, so `--seed 7` asks the same problem as `--seed 7 --kind K`
/// for the kind it picked.
fn kind_for(seed: u64, policy: Option<PolicyKind>) -> Kind {
    let kinds: Vec<Kind> =
        Kind::ALL.into_iter().filter(|k| *k != Kind::Refcount || policy.is_some_and(counts_page_references)).collect();
    let mut rng = GenRng::new(seed ^ 0x6b69_6e64_6b69_6e64);
    kinds[rng.below(kinds.len() as u64) as usize]
}

/// Makes the quiz `options` ask for.
pub fn make(options: &Options) -> Result<Quiz, QuizError> {
    if options.questions == 0 || options.questions > MAX_QUESTIONS {
        return Err(QuizError::BadCount(options.questions));
    }
    let kind = options.kind.unwrap_or_else(|| kind_for(options.seed, options.policy));
    let policy = match (options.policy, kind) {
        (Some(p), Kind::Refcount) if !counts_page_references(p) => return Err(QuizError::NoRefcounts(p.name())),
        (Some(p), _) => p,
        (None, Kind::Refcount) => PolicyKind::Linux,
        (None, _) => PolicyKind::GnuMach,
    };
    let trace = problem::problem(kind, options.seed);
    let facts =
        facts::replay(&trace, policy).map_err(|(op, error)| QuizError::Refused { seed: options.seed, op, error })?;
    let questions = choose(kind, options.seed, &trace, &facts, options.questions);
    Ok(Quiz { seed: options.seed, kind, policy, trace, questions })
}

/// The number (from 1) of the first fork or vm_copy: questions about the
/// world before it would ask about nothing shared.
fn first_copy(trace: &[TraceOp]) -> u64 {
    trace.iter().position(|t| matches!(t.op, Op::Fork { .. } | Op::VmCopy { .. })).map_or(1, |i| i as u64 + 1)
}

/// Every question of `ask` this trace can answer.
fn candidates(ask: AskKind, trace: &[TraceOp], facts: &[OpFacts]) -> Vec<Question> {
    let from = first_copy(trace);
    let after = || (from..=facts.len() as u64).map(|n| (n, &facts[n as usize - 1]));
    match ask {
        AskKind::PagesCopied => {
            after().map(|(n, f)| Question::PagesCopied { after: n, answer: f.report.pages.copied }).collect()
        }
        AskKind::ObjectsAlive => {
            after().map(|(n, f)| Question::ObjectsAlive { after: n, answer: f.report.objects.alive }).collect()
        }
        // Chains grow and pages hide at the writes after a copy, not at the
        // copy itself: ask from the op after it.
        AskKind::LongestChain => {
            after().skip(1).map(|(n, f)| Question::LongestChain { after: n, answer: f.longest_chain() }).collect()
        }
        AskKind::HiddenPages => {
            after().skip(1).map(|(n, f)| Question::HiddenPages { after: n, answer: f.report.pages.hidden }).collect()
        }
        AskKind::KernReturn => {
            // The set-up before the copy always succeeds; what comes after
            // may not.
            (from..=facts.len() as u64)
                .map(|n| Question::KernReturn { op: n, answer: facts[n as usize - 1].code })
                .collect()
        }
        AskKind::Fault => (from..=facts.len() as u64)
            .filter(|n| matches!(trace[*n as usize - 1].op, Op::Access(_)))
            .filter_map(|n| facts[n as usize - 1].faults.first().map(|f| Question::Fault { op: n, answer: f.clone() }))
            .collect(),
        AskKind::MoreFaults => {
            let mut counts = std::collections::BTreeMap::<TaskId, u64>::new();
            for f in facts.iter().flat_map(|f| &f.faults) {
                *counts.entry(f.task).or_default() += 1;
            }
            let tasks: BTreeSet<TaskId> = trace
                .iter()
                .filter_map(|t| match t.op {
                    Op::TaskCreate { task } => Some(task),
                    Op::Fork { child, .. } => Some(child),
                    _ => None,
                })
                .collect();
            let tasks: Vec<TaskId> = tasks.into_iter().collect();
            let mut pairs = Vec::new();
            for (i, a) in tasks.iter().enumerate() {
                for b in &tasks[i + 1..] {
                    let count = |t: &TaskId| counts.get(t).copied().unwrap_or(0);
                    pairs.push(Question::MoreFaults { tasks: [(*a, count(a)), (*b, count(b))] });
                }
            }
            pairs
        }
        AskKind::Holders => after()
            .flat_map(|(n, f)| {
                f.holders.iter().map(move |(&(task, addr), &answer)| Question::Holders { after: n, task, addr, answer })
            })
            .collect(),
    }
}

/// Picks `count` questions: the kind's question types take turns, each
/// turn a random question of that type not asked yet. Errors problems lean
/// to the ops that fail, and everything is asked in trace order.
fn choose(kind: Kind, seed: u64, trace: &[TraceOp], facts: &[OpFacts], count: usize) -> Vec<Question> {
    let mut rng = GenRng::new(seed ^ 0x7175_697a_7175_697a);
    let mut pools: Vec<(AskKind, Vec<Question>)> = Vec::new();
    for &ask in kind.asks() {
        if !pools.iter().any(|(a, _)| *a == ask) {
            pools.push((ask, candidates(ask, trace, facts)));
        }
    }
    let mut chosen: Vec<Question> = Vec::new();
    let mut turn = 0;
    let mut idle_turns = 0;
    while chosen.len() < count && idle_turns < kind.asks().len() {
        let ask = kind.asks()[turn % kind.asks().len()];
        turn += 1;
        let pool = &mut pools.iter_mut().find(|(a, _)| *a == ask).expect("a pool per ask").1;
        if pool.is_empty() {
            idle_turns += 1;
            continue;
        }
        idle_turns = 0;
        let failing: Vec<usize> = (0..pool.len())
            .filter(|i| matches!(pool[*i], Question::KernReturn { answer, .. } if answer != sim::KernReturn::Success))
            .collect();
        // Mostly the ops that fail, and always one of them first: a quiz of
        // KERN_SUCCESS teaches little.
        let first_code = !chosen.iter().any(|q| matches!(q, Question::KernReturn { .. }));
        let index = if !failing.is_empty() && (first_code || rng.below(4) != 0) {
            failing[rng.below(failing.len() as u64) as usize]
        } else {
            rng.below(pool.len() as u64) as usize
        };
        let question = pool.swap_remove(index);
        // One question per op and type: "after op 5" twice would be a repeat.
        pool.retain(|q| q.op() != question.op() || matches!(q, Question::Holders { .. }));
        if ask == AskKind::MoreFaults {
            pool.clear();
        }
        // An op's fault and its code give each other away (a segv is
        // KERN_INVALID_ADDRESS): ask one of them.
        let gives_away = |q: &Question| {
            q.op() == question.op()
                && matches!(
                    (q, &question),
                    (Question::Fault { .. }, Question::KernReturn { .. })
                        | (Question::KernReturn { .. }, Question::Fault { .. })
                )
        };
        for (_, other) in &mut pools {
            other.retain(|q| !gives_away(q));
        }
        chosen.push(question);
    }
    chosen.sort_by_key(Question::op);
    chosen
}

/// The quiz as `cowsim quiz` prints it: a trace whose comments hold the
/// command that remakes it, the op numbers, the questions and, with
/// `answers`, the answers.
pub fn render(quiz: &Quiz, answers: bool) -> String {
    let mut out = String::new();
    let command = format!(
        "cowsim quiz --seed {} --policy {} --kind {} -n {}",
        quiz.seed,
        quiz.policy.name(),
        quiz.kind.name(),
        quiz.questions.len()
    );
    let _ = writeln!(out, "# {command}");
    let _ = writeln!(
        out,
        "# A copy-on-write problem under {}. The lines not starting with # are a trace:",
        quiz.policy.name()
    );
    let _ = writeln!(out, "# save this output as quiz.jsonl and check your work, op by op, with");
    let _ = writeln!(out, "#   cowsim explain quiz.jsonl --policy {}", quiz.policy.name());
    let _ = writeln!(out, "# Addresses are bytes; pages are 4 KiB (0x1000).");
    for (index, op) in quiz.trace.iter().enumerate() {
        let _ = writeln!(out, "# op {}", index + 1);
        let _ = writeln!(out, "{}", format_op(op));
    }
    let _ = writeln!(out, "#");
    let _ = writeln!(out, "# Questions:");
    for (index, question) in quiz.questions.iter().enumerate() {
        let _ = writeln!(out, "# {:>2}. {}", index + 1, question.text());
    }
    let _ = writeln!(out, "#");
    if answers {
        let _ = writeln!(out, "# Answers (the simulator's, replaying the trace under {}):", quiz.policy.name());
        for (index, question) in quiz.questions.iter().enumerate() {
            let _ = writeln!(out, "# {:>2}. {}", index + 1, question.answer_text());
        }
    } else {
        let _ = writeln!(out, "# Answers: run `{command} -c`.");
    }
    out
}

//! The exercises of examples/README.md, answered from the tools' output.
//!
//! Each test runs the commands an exercise gives (`cowsim explain`,
//! `cowsim run`, `cowsim gen`) and finds each question's answer in what
//! they print, so a student can too. A change that takes an answer out of
//! the output (or changes it) fails here; then update the exercise, or the
//! narration, so that the question can still be answered.

mod support;
use support::{cowsim, stdout};

/// What `cowsim ARGS...` prints; it must succeed.
fn run(args: &[&str]) -> String {
    let output = cowsim(args);
    assert!(output.status.success(), "cowsim {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    stdout(&output)
}

fn explain(example: &str, policy: &str, from_to: Option<(u64, u64)>) -> String {
    let trace = format!("examples/{example}");
    let mut args = vec!["explain".to_owned(), trace, "--policy".to_owned(), policy.to_owned()];
    if let Some((from, to)) = from_to {
        args.extend(["--from".to_owned(), from.to_string(), "--to".to_owned(), to.to_string()]);
    }
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The cells of the `--policy all` table's row `label`, by policy.
fn row(table: &str, label: &str) -> Vec<String> {
    let line = table.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no row {label:?}:\n{table}"));
    line[label.len()..].split_whitespace().map(str::to_owned).collect()
}

/// The column of `policy` in the `--policy all` table.
fn column(table: &str, policy: &str) -> usize {
    let header = table.lines().nth(1).expect("a header line");
    header.split_whitespace().position(|p| p == policy).unwrap_or_else(|| panic!("no column {policy}"))
}

fn cell(table: &str, label: &str, policy: &str) -> String {
    row(table, label)[column(table, policy)].clone()
}

fn has(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "expected {wanted:?} in:\n{text}");
}

/// 1. The first shadow.
#[test]
fn exercise_1_the_first_shadow() {
    let text = explain("fork-then-write.jsonl", "gnumach", Some((4, 6)));
    // Q1: after the fork, one object with two references.
    has(&text, "task 2 maps 0x100000-0x104000 rw → object 1 (2 refs), needs copy");
    // Q2: task 2's page in object 2, the other three still in object 1.
    has(&text, "found in object 1 at depth 1 and copied into object 2 (chain 2 → 1");
    // Q3: task 1's mapping of the page was taken away at op 5, when the
    // page was copied; at op 6 that entry faults.
    has(&text, "task 1's pmap entry for 0x101000 is revoked");
    has(&text, "0x101000 → its pmap entry was revoked since it was made; found in object 1");
}

/// 2. How long does the chain get?
#[test]
fn exercise_2_how_long_the_chain_gets() {
    let text = explain("three-forks.jsonl", "gnumach", Some((1, 9)));
    // Q1: four objects long after op 9.
    has(&text, "(chain 4 → 3 → 2 → 1");
    // Q2: what stops a collapse: every object is still shared (2 refs).
    has(&text, "task 1 now maps 0x100000-0x104000 rw → object 3 (2 refs, chain 3 → 2 → 1), needs copy");
    // Q3: pages copied.
    let table = run(&["run", "examples/three-forks.jsonl", "--policy", "all"]);
    assert_eq!(cell(&table, "pages copied", "gnumach"), "3");
    assert_eq!(cell(&table, "pages copied", "eager"), "12");
}

/// 3. Which op frees object 1?
#[test]
fn exercise_3_which_op_frees_object_1() {
    let text = explain("child-exits.jsonl", "gnumach", None);
    // Q1: not the exit (op 5 only drops a reference), but the write after it.
    has(&text, "op 5: task 2 exits: its map is released\n  object 1 is down to 1 ref (from 2)\nop 6:");
    let op6 = text.lines().find(|l| l.starts_with("op 6:")).expect("op 6");
    assert!(op6.contains("(collapse)") && op6.contains("object 1 is freed"), "{op6}");
    // Q2: objects alive and hidden pages at the end.
    let table = run(&["run", "examples/child-exits.jsonl", "--policy", "all"]);
    assert_eq!(cell(&table, "objects alive", "gnumach"), "1");
    assert_eq!(cell(&table, "objects alive", "mach-nocollapse"), "3");
    assert_eq!(cell(&table, "pages hidden", "gnumach"), "0");
    assert_eq!(cell(&table, "pages hidden", "mach-nocollapse"), "2");
}

/// 4. A stranded page.
#[test]
fn exercise_4_a_stranded_page() {
    let text = explain("stranded.jsonl", "gnumach", None);
    // Q1: after op 6, page 0 of object 1 is hidden.
    has(&text, "page 0 of object 1 is now hidden: resident, but no mapping can reach it\nop 7:");
    // Q2: op 7 leaves object 1 with one reference; op 10's fault collapses it.
    has(&text, "op 7: task 2 exits: its map is released");
    has(&text, "object 1 is down to 1 ref (from 2)");
    let op10 = text.split("op 10:").nth(1).expect("op 10").split("op 11:").next().unwrap();
    assert!(op10.contains("(collapse)") && op10.contains("object 1 is freed"), "{op10}");
    // Q3: hidden pages at the end without collapse.
    let table = run(&["run", "examples/stranded.jsonl", "--policy", "all"]);
    assert_eq!(cell(&table, "pages hidden", "mach-nocollapse"), "2");
}

/// 5. Copying shared memory.
#[test]
fn exercise_5_copying_shared_memory() {
    let text = explain("shared-then-copied.jsonl", "gnumach", Some((7, 10)));
    // Q2: the dashed edge is the copy object's.
    has(&text, "new copy object 3 will keep the originals of object 1's pages (delayed copy)");
    // Q3: the original goes to the copy object, and op 10 reads it there.
    has(&text, "before the write, the original page is pushed into copy object 3");
    has(&text, "op 10: task 1 reads 0x200000-0x202000 (2 pages)\n  0x200000 → not in the pmap; found in object 3");
}

/// 6. Copying onto yourself.
#[test]
fn exercise_6_copying_onto_yourself() {
    let text = explain("vm-copy-overlap.jsonl", "gnumach", Some((7, 17)));
    // Q1: object 1 backs the destination, from its pages 0 and 2; nothing
    // is copied by the vm_copy itself.
    has(&text, "task 1 maps 0x102000-0x104000 rw → object 1 (4 refs), needs copy");
    has(&text, "task 1 maps 0x104000-0x106000 rw → object 1 from page 2 (4 refs), needs copy");
    let before_14 = text.split("op 14:").next().unwrap();
    assert!(!before_14.contains("copied into"), "{before_14}");
    // Q2: op 14 makes the first copy, into object 2.
    has(&text, "op 14: task 1 writes 0x104000");
    has(&text, "found in object 1 at depth 1 and copied into object 2 (chain 2 → 1)");
    // Q3: the codes, with the sizes and addresses as the trace gives them.
    has(&text, "op 16: task 1 copies 0x100000-0x101800 to 0x106000 (vm_copy, 6 KiB) → KERN_INVALID_ARGUMENT");
    has(&text, "op 17: task 1 copies 0x900800-0x902000 to 0x106000 (vm_copy, 6 KiB) → KERN_INVALID_ADDRESS");
}

/// 7. One workload, eight designs.
#[test]
fn exercise_7_one_workload_eight_designs() {
    let dir = support::repo().join("target/exercises-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("stranding.jsonl");
    let trace = trace.to_str().unwrap();
    run(&["gen", "stranding", "--seed", "7", "--param", "rounds=20", "-o", trace]);
    let table = run(&["run", trace, "--policy", "all"]);
    // Q1: the chain under gnumach; xnu and freebsd keep it at two or fewer.
    assert_eq!(cell(&table, "longest chain", "gnumach"), "21");
    assert!(cell(&table, "longest chain", "xnu").parse::<u32>().unwrap() <= 2);
    assert!(cell(&table, "longest chain", "freebsd").parse::<u32>().unwrap() <= 2);
    // Q2: eager copies everything at every fork; gnumach strands a page a round.
    assert_eq!(cell(&table, "pages copied", "eager"), "1280");
    assert_eq!(cell(&table, "pages copied", "gnumach"), "20");
    assert_eq!(cell(&table, "pages hidden", "gnumach"), "20");
    // Q3: under plan9 the parent (task 1) faults far more than linux's:
    // each fork flushes its MMU, as the narration of a fork says.
    let parent_plan9: u64 = cell(&table, "faults of task 1", "plan9").parse().unwrap();
    let parent_linux: u64 = cell(&table, "faults of task 1", "linux").parse().unwrap();
    assert!(parent_plan9 > parent_linux, "{table}");
    let fork = run(&["explain", trace, "--policy", "plan9", "--from", "4", "--to", "4"]);
    has(&fork, "the fork flushes the parent's hardware mappings (Plan 9 `flushmmu`)");
    // Q4: under freebsd the round's shadow goes when the child exits (op 7).
    let round = run(&["explain", trace, "--policy", "freebsd", "--from", "4", "--to", "9"]);
    let op7 = round.split("op 7:").nth(1).expect("op 7").split("op 8:").next().unwrap();
    assert!(op7.contains("(collapse)") && op7.contains("object 1 is freed"), "{op7}");
}

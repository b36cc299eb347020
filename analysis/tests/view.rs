//! `cowsim view`, without a browser: the snapshots the page is drawn from
//! must show the world the simulator has after each op, the narration
//! `cowsim explain` gives, and the counters `cowsim run` reports; the page
//! must be the same bytes every time; bad input and oversized traces must
//! be refused with exit 2 and a message naming the place.
//!
//! What the page looks like once a browser draws it is checked in
//! `view_browser.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use analysis::narrate::explain;
use analysis::replay::replay_file;
use analysis::stepper::Stepper;
use analysis::view_page::{self, MAX_OPS, Snapshot, ViewError, Window};
use sim::{Config, PolicyKind};

mod support;
use support::{cowsim, cowsim_in, examples, repo, stderr};

fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

/// A scratch folder of this test binary's own, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("view-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The narration `cowsim explain --from FROM` prints for op `n` (the
/// lines from `op n:` to the next op's): a narration explains its first
/// chain, so what it says of op `n` depends on where it started.
fn explained(trace: &Path, policy: PolicyKind, from: u64, n: u64) -> String {
    let mut out = Vec::new();
    explain(trace, policy, &Config::default(), Some(from), None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let start = text.find(&format!("\nop {n}:")).expect("the op is narrated") + 1;
    let end = text[start..].find(&format!("\nop {}:", n + 1)).map_or(text.len(), |end| start + end + 1);
    text[start..end].to_string()
}

/// After op 5 of fork-then-write under gnumach: task 2's write has given
/// its entry a shadow (object 2, holding page 1) in front of object 1,
/// which both tasks share and which holds all four pages.
#[test]
fn the_first_shadow_is_in_the_snapshot() {
    let trace = example("fork-then-write.jsonl");
    let steps = view_page::snapshots(&trace, PolicyKind::GnuMach, &Config::default(), Window::default()).unwrap();
    assert_eq!(steps.iter().map(|s| s.op).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    let five = &steps[4];
    let objects: Vec<String> = five
        .objects
        .iter()
        .map(|o| format!("{} {} refs {} pages {:?} shadow {:?}", o.id, o.role, o.refs, o.pages, o.shadow))
        .collect();
    assert_eq!(
        objects,
        ["1 anonymous refs 2 pages [[0, 4, 1]] shadow None", "2 shadow refs 1 pages [[1, 1, 1]] shadow Some((1, 0))"]
    );
    let chains: Vec<(u32, Vec<u32>, bool)> =
        five.tasks.iter().flat_map(|t| t.entries.iter().map(move |e| (t.id, e.chain.clone(), e.needs_copy))).collect();
    assert_eq!(chains, [(1, vec![1], true), (2, vec![2, 1], false)]);
    assert_eq!((five.tasks[1].parent, five.tasks[0].mapped, five.tasks[1].mapped), (Some(1), 3, 1));
    assert_eq!(five.tasks[0].entries[0].start, "0x100000");
    assert_eq!(five.tasks[0].entries[0].end, "0x104000");
    let c = &five.counters;
    assert_eq!((c.faults.total, c.faults.zero_fill, c.faults.cow_copy), (5, 4, 1));
    assert_eq!((c.pages.resident, c.pages.copied, c.objects.alive, c.objects.shadows_created), (5, 1, 2, 1));
    assert_eq!(five.narration, explained(&trace, PolicyKind::GnuMach, 1, 5));
    assert!(five.narration.starts_with("op 5: task 2 writes 0x101000"), "{}", five.narration);
}

/// Under linux the same op copies the page into the child's own page
/// table, and the pages the two tables still share have two holders.
#[test]
fn shared_pages_show_their_holders() {
    let trace = example("fork-then-write.jsonl");
    let steps = view_page::snapshots(&trace, PolicyKind::Linux, &Config::default(), Window::default()).unwrap();
    let five = &steps[4];
    let pages: Vec<(u32, &str, Vec<[u64; 3]>)> = five.objects.iter().map(|o| (o.id, o.role, o.pages.clone())).collect();
    let shared = vec![[0, 1, 2], [1, 1, 1], [2, 2, 2]];
    assert_eq!(pages, [(1, "page_table", shared.clone()), (2, "page_table", shared)]);
}

/// Pages hidden behind a chain are listed where the view finds them:
/// under mach-nocollapse the children's copies stay behind task 1's own
/// once the children have exited.
#[test]
fn hidden_pages_are_in_the_snapshot() {
    let trace = example("child-exits.jsonl");
    let steps =
        view_page::snapshots(&trace, PolicyKind::MachNoCollapse, &Config::default(), Window::default()).unwrap();
    let last = steps.last().unwrap();
    let hidden: u64 = last.objects.iter().flat_map(|o| o.hidden.iter().map(|run| run[1])).sum();
    assert!(hidden > 0, "child-exits hides pages under mach-nocollapse");
    assert_eq!(hidden, last.counters.pages.hidden);
}

/// For every example under every policy, after every op, does the
/// snapshot hold exactly what the world holds (tasks, entries and their
/// chains, objects, pages and holders, hidden pages), the narration
/// `explain` gives for that op, and, after the last op, the counters of
/// `cowsim run`'s report?
#[test]
fn snapshots_are_the_world_for_every_example_and_policy() {
    let config = Config::default();
    for trace in examples() {
        for policy in PolicyKind::ALL {
            let steps = view_page::snapshots(&trace, policy, &config, Window::default()).unwrap();
            let mut explained_all = Vec::new();
            explain(&trace, policy, &config, None, None, &mut explained_all).unwrap();
            let explained_all = String::from_utf8(explained_all).unwrap();
            let mut stepper = Stepper::open(&trace, policy, &config).unwrap();
            for step in &steps {
                assert!(stepper.run_to(step.op).unwrap());
                let at = format!("{} under {} after op {}", trace.display(), policy.name(), step.op);
                compare_with_world(step, &stepper, &at);
                assert!(explained_all.contains(&step.narration), "{at}: narration not explain's: {}", step.narration);
                assert!(step.narration.starts_with(&format!("op {}:", step.op)), "{at}");
            }
            assert!(!stepper.run_to(steps.len() as u64 + 1).unwrap(), "every op has a snapshot");
            let report = &replay_file(&trace, &[policy], &config).unwrap()[0];
            let last = &steps.last().unwrap().counters;
            assert_eq!(last.faults, report.faults, "{} under {}", trace.display(), policy.name());
            assert_eq!(
                (last.pages.copied, last.pages.resident, last.pages.hidden, last.objects.alive),
                (report.pages.copied, report.pages.resident, report.pages.hidden, report.objects.alive)
            );
        }
    }
}

fn compare_with_world(step: &Snapshot, stepper: &Stepper, at: &str) {
    let view = stepper.sim().view();
    let tasks: Vec<u32> = view.tasks().map(|t| t.id().0).collect();
    assert_eq!(step.tasks.iter().map(|t| t.id).collect::<Vec<_>>(), tasks, "{at}: tasks");
    for (task, shown) in view.tasks().zip(&step.tasks) {
        let entries: Vec<(u32, Vec<u32>)> = task
            .entries()
            .map(|e| (e.object.serial(), view.chain(e.object).map(|o| o.id().serial()).collect()))
            .collect();
        let drawn: Vec<(u32, Vec<u32>)> = shown.entries.iter().map(|e| (e.object, e.chain.clone())).collect();
        assert_eq!(drawn, entries, "{at}: task {} entries and chains", task.id().0);
    }
    let objects: Vec<(u32, u32, u64)> =
        view.objects().map(|o| (o.id().serial(), o.ref_count(), o.resident_count() as u64)).collect();
    let drawn: Vec<(u32, u32, u64)> = step.objects.iter().map(|o| (o.id, o.refs, o.resident)).collect();
    assert_eq!(drawn, objects, "{at}: objects");
    for (object, shown) in view.objects().zip(&step.objects) {
        let pages: Vec<(u64, u64)> = object
            .resident_pages()
            .map(|(index, page)| (index.0, u64::from(view.page(page).unwrap().holders)))
            .collect();
        let expanded: Vec<(u64, u64)> = shown
            .pages
            .iter()
            .flat_map(|&[first, count, holders]| (first..first + count).map(move |i| (i, holders)))
            .collect();
        assert_eq!(expanded, pages, "{at}: object {} pages", shown.id);
        assert_eq!(shown.shadow, object.shadow().map(|l| (l.object.serial(), l.offset.0)), "{at}");
    }
    let hidden: BTreeMap<u32, Vec<u64>> = view
        .hidden_pages_by_object()
        .into_iter()
        .map(|(o, pages)| (o.serial(), pages.into_iter().map(|p| p.0).collect()))
        .collect();
    let drawn: BTreeMap<u32, Vec<u64>> = step
        .objects
        .iter()
        .filter(|o| !o.hidden.is_empty())
        .map(|o| (o.id, o.hidden.iter().flat_map(|&[first, count]| first..first + count).collect()))
        .collect();
    assert_eq!(drawn, hidden, "{at}: hidden pages");
}

/// Does `--from`/`--to` show just that window, numbered as in the trace?
#[test]
fn a_window_shows_its_ops_only() {
    let trace = example("three-forks.jsonl");
    let window = Window::new(Some(3), Some(5)).unwrap();
    let steps = view_page::snapshots(&trace, PolicyKind::GnuMach, &Config::default(), window).unwrap();
    assert_eq!(steps.iter().map(|s| s.op).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(steps[0].narration, explained(&trace, PolicyKind::GnuMach, 3, 3));
    let past =
        view_page::snapshots(&trace, PolicyKind::GnuMach, &Config::default(), Window::new(Some(99), None).unwrap());
    assert!(past.unwrap_err().to_string().contains("--from 99 is past the end"));
}

/// The same trace makes the same page, byte for byte, from the library
/// and from the command, and the command writes nothing else beside it.
#[test]
fn the_page_is_the_same_every_time() {
    let trace = example("fork-then-write.jsonl");
    let policies = [PolicyKind::GnuMach, PolicyKind::Linux];
    let a = view_page::page(&trace, &policies, &Config::default(), Window::default()).unwrap();
    let b = view_page::page(&trace, &policies, &Config::default(), Window::default()).unwrap();
    assert_eq!(a, b);
    let dir = scratch("same");
    for name in ["one.html", "two.html"] {
        let out = cowsim_in(&dir, &["view", trace.to_str().unwrap(), "--policy", "gnumach,linux", "-o", name]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let one = std::fs::read(dir.join("one.html")).unwrap();
    assert_eq!(one, std::fs::read(dir.join("two.html")).unwrap());
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["one.html", "two.html"], "no temporary file left behind");
    let text = String::from_utf8(one).unwrap();
    assert!(!text.contains("http://") && !text.contains("https://"), "the page must load nothing");
    assert!(!text.contains(" src=") && !text.contains("<link"), "the page must need no other file");
    assert!(text.contains("\"schema\":\"cowsim.view/1\""));
}

/// A trace longer than a page shows is refused with exit 2 and a hint,
/// and its first window can still be viewed.
#[test]
fn long_traces_are_refused_with_a_window_to_try() {
    let dir = scratch("long");
    let mut trace = String::from("{\"op\":\"task_create\",\"task\":1}\n");
    for _ in 0..MAX_OPS {
        trace.push_str("{\"op\":\"read\",\"task\":1,\"addr\":\"0x100000\",\"len\":\"4K\"}\n");
    }
    std::fs::write(dir.join("long.jsonl"), trace).unwrap();
    let out = cowsim_in(&dir, &["view", "long.jsonl", "-o", "long.html"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains(&format!("more than the {MAX_OPS} one page shows")), "{message}");
    assert!(message.contains(&format!("--from 1 --to {MAX_OPS}")), "{message}");
    assert!(!dir.join("long.html").exists());
    let out = cowsim_in(&dir, &["view", "long.jsonl", "--from", "4990", "-o", "long.html"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A world whose pictures outgrow the page is refused, naming the op.
#[test]
fn oversized_pages_are_refused() {
    let trace = example("three-forks.jsonl");
    let error = view_page::page_within(&trace, &[PolicyKind::GnuMach], &Config::default(), Window::default(), 3000)
        .unwrap_err();
    assert!(matches!(error, ViewError::TooLarge { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("under gnumach, the pictures up to op"), "{message}");
}

/// Bad input is exit 2 with the file, line and column; an unmet expect
/// is exit 1; stdin, three policies and an output over the input are
/// refused before any work.
#[test]
fn bad_input_is_refused_with_its_place() {
    let dir = scratch("bad");
    std::fs::write(dir.join("bad.jsonl"), "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"fork\",\"parent\":1}\n")
        .unwrap();
    let out = cowsim_in(&dir, &["view", "bad.jsonl", "-o", "bad.html"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.jsonl:2:"), "{}", stderr(&out));
    assert!(!dir.join("bad.html").exists());

    std::fs::write(
        dir.join("unmet.jsonl"),
        "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"0x100000\",\"size\":\"4K\"}\n\
         {\"op\":\"read\",\"task\":1,\"addr\":\"0x100000\",\"len\":\"4K\",\"expect_value\":\"0x7\"}\n",
    )
    .unwrap();
    let out = cowsim_in(&dir, &["view", "unmet.jsonl", "-o", "unmet.html"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("unmet.jsonl:3:1"), "{}", stderr(&out));

    let out = cowsim(&["view", "-", "-o", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs a regular file"), "{}", stderr(&out));

    let trace = example("fork-then-write.jsonl");
    let trace = trace.to_str().unwrap();
    let out = cowsim(&["view", trace, "--policy", "gnumach,linux,uvm", "-o", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("one policy, or two side by side"), "{}", stderr(&out));

    let out = cowsim(&["view", trace, "-o", trace]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is also an input"), "{}", stderr(&out));

    let out = cowsim(&["view", trace, "--from", "0", "-o", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--from 0"), "{}", stderr(&out));

    let out = cowsim(&["view", "no-such-trace.jsonl", "-o", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-trace.jsonl"), "{}", stderr(&out));
}

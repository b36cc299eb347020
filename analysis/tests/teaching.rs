//! The teaching views: object graphs (`cowsim graph`), narrations
//! (`cowsim explain`) and the exercises in examples/README.md.
//!
//! Snapshot tests pin the DOT text and the narration of every example in
//! `analysis/tests/snapshots/`. When a change to the model or the views is
//! meant to change them, rewrite the files and review the diff:
//!
//! ```sh
//! COWSIM_BLESS=1 cargo test -p analysis --test teaching
//! git diff analysis/tests/snapshots/
//! ```

use std::path::{Path, PathBuf};

use analysis::narrate::explain;
use analysis::object_graph::{graph_at, to_dot, to_svg};
use sim::{Config, PolicyKind};

mod support;
use support::{cowsim, cowsim_in, examples, repo, stderr, stdout};

/// A scratch folder under target/, emptied first.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = repo().join("target/teaching-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

fn blessing() -> bool {
    std::env::var("COWSIM_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `actual` with the snapshot file `name`, or rewrites the file
/// when COWSIM_BLESS=1.
fn check_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(name);
    if blessing() {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {}; create it with COWSIM_BLESS=1 cargo test -p analysis --test teaching", path.display())
    });
    if expected != actual {
        panic!(
            "{name} differs from its snapshot.\n--- expected\n{expected}\n--- actual\n{actual}\n\
             If the change is intended: COWSIM_BLESS=1 cargo test -p analysis --test teaching"
        );
    }
}

/// The op each example's graph is pinned at, and under which policies: a
/// moment worth drawing. Examples not listed are pinned at their end under
/// gnumach.
const GRAPH_MOMENTS: &[(&str, u64, &[PolicyKind])] = &[
    ("child-exits", 9, &[PolicyKind::GnuMach, PolicyKind::MachNoCollapse]),
    ("fork-then-write", 5, &[PolicyKind::GnuMach]),
    ("three-forks", 9, &[PolicyKind::GnuMach]),
    ("vm-copy-overlap", 14, &[PolicyKind::GnuMach]),
    ("stranded", 9, &[PolicyKind::GnuMach]),
    ("shared-then-copied", 8, &[PolicyKind::GnuMach]),
];

/// The policies each example's narration is pinned under, besides gnumach.
const EXTRA_NARRATIONS: &[(&str, PolicyKind)] =
    &[("child-exits", PolicyKind::MachNoCollapse), ("stranded", PolicyKind::MachNoCollapse)];

fn graph_snapshots() -> Vec<(PathBuf, PolicyKind, Option<u64>, String)> {
    let mut all = Vec::new();
    for example in examples() {
        let name = stem(&example);
        match GRAPH_MOMENTS.iter().find(|(n, _, _)| *n == name) {
            Some((_, at, policies)) => {
                for policy in *policies {
                    all.push((example.clone(), *policy, Some(*at), format!("{name}.{policy}.op{at}.dot")));
                }
            }
            None => all.push((example.clone(), PolicyKind::GnuMach, None, format!("{name}.gnumach.end.dot"))),
        }
    }
    all
}

fn narration_snapshots() -> Vec<(PathBuf, PolicyKind, String)> {
    let mut all = Vec::new();
    for example in examples() {
        let name = stem(&example);
        all.push((example.clone(), PolicyKind::GnuMach, format!("{name}.gnumach.explain.txt")));
        for (_, policy) in EXTRA_NARRATIONS.iter().filter(|(n, _)| *n == name) {
            all.push((example.clone(), *policy, format!("{name}.{policy}.explain.txt")));
        }
    }
    all
}

fn narration(trace: &Path, policy: PolicyKind, from: Option<u64>, to: Option<u64>) -> String {
    let mut out = Vec::new();
    explain(trace, policy, &Config::default(), from, to, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Is the DOT of every example, at its chosen op, what was reviewed?
#[test]
fn graph_snapshots_match() {
    for (example, policy, at, file) in graph_snapshots() {
        let (graph, caption) = graph_at(&example, policy, &Config::default(), at).unwrap();
        check_snapshot(&file, &to_dot(&graph, &caption));
    }
}

/// Is the narration of every example what was reviewed?
#[test]
fn narration_snapshots_match() {
    for (example, policy, file) in narration_snapshots() {
        check_snapshot(&file, &narration(&example, policy, None, None));
    }
}

/// Does every snapshot file belong to a test? (A renamed example must not
/// leave a stale snapshot behind.)
#[test]
fn no_stray_snapshots() {
    if blessing() {
        return;
    }
    let mut expected: Vec<String> = graph_snapshots().into_iter().map(|s| s.3).collect();
    expected.extend(narration_snapshots().into_iter().map(|s| s.2));
    for entry in std::fs::read_dir(snapshot_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(expected.contains(&name), "tests/snapshots/{name} belongs to no test: delete it");
    }
}

// ---------------------------------------------------------------------------
// What the pictures and narrations must show
// ---------------------------------------------------------------------------

/// Does the graph mark hidden pages (the stranded page 0 of object 1) and
/// draw the chain with its shadow edge?
#[test]
fn graph_marks_hidden_pages() {
    let trace = repo().join("examples/stranded.jsonl");
    let (graph, caption) = graph_at(&trace, PolicyKind::GnuMach, &Config::default(), Some(9)).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(dot.starts_with("// cowsim graph: stranded.jsonl under gnumach after op 9\ndigraph {"), "{dot}");
    let object_1 = dot.lines().find(|l| l.contains("object 1: anonymous")).expect("object 1 drawn");
    assert!(object_1.contains("hidden: page 0") && object_1.contains("color=red"), "{object_1}");
    assert!(dot.contains("label = \"shadow\""), "{dot}");
    // After op 10 the collapse has freed object 1 and its hidden page.
    let (graph, caption) = graph_at(&trace, PolicyKind::GnuMach, &Config::default(), Some(10)).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(!dot.contains("object 1:") && !dot.contains("hidden"), "{dot}");
}

/// Is a copy object linked by a dashed `copy` edge?
#[test]
fn graph_draws_copy_links_dashed() {
    let trace = repo().join("examples/shared-then-copied.jsonl");
    let (graph, caption) = graph_at(&trace, PolicyKind::GnuMach, &Config::default(), Some(7)).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(dot.contains("label = \"copy\" style=dashed"), "{dot}");
    assert!(dot.contains("object 3: copy"), "{dot}");
}

/// Do the hidden pages the graph shows add up to the report's count, for
/// every example under the Mach family (one page, one slot)?
#[test]
fn hidden_pages_per_object_add_up() {
    for example in examples() {
        for policy in [PolicyKind::GnuMach, PolicyKind::MachNoCollapse] {
            let mut sim = sim::Sim::new(policy, Config::default());
            for op in workloads::trace::open_trace(&example).unwrap() {
                sim.apply_traced(&op.unwrap().value).unwrap();
                let view = sim.view();
                let per_object: usize = view.hidden_pages_by_object().iter().map(|(_, pages)| pages.len()).sum();
                assert_eq!(per_object as u64, view.hidden_pages(), "{}", example.display());
            }
        }
    }
}

/// Does the narration say the things the issue asks for, in plain words:
/// where a page was found, the new shadow, the chain, collapses and frees,
/// and pmap hits summarised?
#[test]
fn narration_tells_the_story() {
    let text = narration(&repo().join("examples/fork-then-write.jsonl"), PolicyKind::GnuMach, None, None);
    assert!(
        text.contains(
            "op 5: task 2 writes 0x101000\n  0x101000 → not in the pmap; the entry needs a copy, so it gets new shadow \
             object 2 in front of object 1; found in object 1 at depth 1 and copied into object 2 (chain 2 → 1)\n"
        ),
        "{text}"
    );
    assert!(text.contains("  3 pages hit the pmap\n"), "{text}");
    // Exercise 1, question 3: the revocation is told where it happens, and why.
    assert!(
        text.contains(
            "  task 1's pmap entry for 0x101000 is revoked; the next access faults (its page was copied into object 2 \
             for a write, and every mapping of the old page is taken away)\n"
        ),
        "{text}"
    );
    // The fork's own work on the parent's pmap.
    assert!(text.contains("task 1's pmap entries for 0x100000-0x104000 (4 pages) are write-protected"), "{text}");
    // The chain notation is explained once, at its first use.
    assert_eq!(text.matches("the entry's own object first").count(), 1, "{text}");
    let text = narration(&repo().join("examples/child-exits.jsonl"), PolicyKind::GnuMach, None, None);
    assert!(text.contains("(collapse)") && text.contains("object 1 is freed"), "{text}");
    let text = narration(&repo().join("examples/shared-then-copied.jsonl"), PolicyKind::GnuMach, None, None);
    assert!(text.contains("the original page is pushed into copy object 3"), "{text}");
}

/// The narration answers the questions of examples/README.md as asked: a
/// revoked entry is told as revoked even when it was read-only too
/// (staleness before protection); sizes and addresses as the trace gives
/// them; Plan 9's flush at fork; which task faults more, per task.
#[test]
fn narration_answers_the_exercises() {
    let text = narration(&repo().join("examples/stranded.jsonl"), PolicyKind::GnuMach, None, None);
    assert!(
        text.contains("op 6: task 1 writes 0x100000\n  0x100000 → its pmap entry was revoked since it was made;"),
        "{text}"
    );
    // Exercise 4, question 1: which page of which object no mapping can reach.
    assert!(
        text.contains("  page 0 of object 1 is now hidden: resident, but no mapping can reach it\nop 7:"),
        "{text}"
    );
    let text = narration(&repo().join("examples/fork-then-write.jsonl"), PolicyKind::Plan9, Some(4), Some(4));
    assert!(
        text.contains("are dropped: the fork flushes the parent's hardware mappings (Plan 9 `flushmmu`)"),
        "{text}"
    );
    let text = narration(&repo().join("examples/fork-then-write.jsonl"), PolicyKind::Linux, Some(4), Some(4));
    assert!(text.contains("task 2's pmap starts with read-only entries for 0x100000-0x104000 (4 pages)"), "{text}");
    let dir = scratch_dir("exact-sizes");
    let trace = dir.join("exact.jsonl");
    std::fs::write(
        &trace,
        concat!(
            r#"{"op":"task_create","task":1}"#,
            "\n",
            r#"{"op":"vm_allocate","task":1,"addr":"0x100000","size":"16K"}"#,
            "\n",
            r#"{"op":"vm_copy","task":1,"src":"0x100000","size":"0x1800","dst":"0x900800"}"#,
            "\n",
            r#"{"op":"write","task":1,"addr":"0x100000","len":"0xed3"}"#,
            "\n",
        ),
    )
    .unwrap();
    let text = narration(&trace, PolicyKind::GnuMach, None, None);
    assert!(text.contains("op 3: task 1 copies 0x100000-0x101800 to 0x900800 (vm_copy, 6 KiB)"), "{text}");
    assert!(text.contains("op 4: task 1 writes 0xed3 bytes at 0x100000 (pages 0x100000-0x101000)"), "{text}");
}

/// Do --from and --to narrate just those ops, numbered as in the whole run?
#[test]
fn narration_range() {
    let trace = repo().join("examples/three-forks.jsonl");
    let text = narration(&trace, PolicyKind::GnuMach, Some(5), Some(6));
    let ops: Vec<&str> = text.lines().filter(|l| l.starts_with("op ")).collect();
    assert_eq!(ops.len(), 2, "{text}");
    assert!(
        ops[0].starts_with("op 5: task 1 writes 0x100000") && ops[1].starts_with("op 6: task 1 forks task 3"),
        "{text}"
    );
    let whole = narration(&trace, PolicyKind::GnuMach, None, None);
    // The chain notation is explained at its first use in each narration.
    let plain = |text: &str| {
        text.replace(": the entry's own object first, then each object it shadows, down to the bottom", "")
    };
    let (_, body) = text.split_once('\n').unwrap();
    assert!(plain(&whole).contains(&plain(body)), "a range must read as the same lines of the whole narration");
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

/// `-o -`, no -o and -o FILE.dot give the same DOT; -o FILE.svg renders
/// an SVG; both are the same on a second run.
#[test]
fn graph_outputs() {
    let dir = scratch_dir("graph-outputs");
    let trace = repo().join("examples/three-forks.jsonl");
    let trace = trace.to_str().unwrap();
    let plain = cowsim_in(&dir, &["graph", trace, "--at", "9"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let dash = cowsim_in(&dir, &["graph", trace, "--at", "9", "-o", "-"]);
    assert_eq!(stdout(&plain), stdout(&dash));
    for run in 0..2 {
        let out = cowsim_in(&dir, &["graph", trace, "--at", "9", "-o", &format!("chain{run}.dot")]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(dir.join(format!("chain{run}.dot"))).unwrap(), stdout(&plain));
        let out = cowsim_in(&dir, &["graph", trace, "--at", "9", "-o", &format!("chain{run}.svg")]);
        assert!(out.status.success(), "{}", stderr(&out));
        let svg = std::fs::read_to_string(dir.join(format!("chain{run}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("object 4: shadow") && svg.trim_end().ends_with("</svg>"));
    }
    let first = std::fs::read(dir.join("chain0.svg")).unwrap();
    assert_eq!(first, std::fs::read(dir.join("chain1.svg")).unwrap(), "the SVG must be deterministic");
}

/// Bad usage exits 2 with a message that says what is wrong.
#[test]
fn graph_and_explain_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["graph", "examples/three-forks.jsonl", "--at", "14"],
            "--at 14 is past the end of the trace, which has 13 ops",
        ),
        (&["graph", "examples/three-forks.jsonl", "--at", "0"], "ops are numbered from 1"),
        (&["graph", "examples/three-forks.jsonl", "-o", "chain.png"], "must end in .dot or .svg"),
        (&["graph", "examples/three-forks.jsonl", "--policy", "all"], "follows one policy"),
        (&["explain", "examples/three-forks.jsonl", "--policy", "all"], "follows one policy"),
        (
            &["explain", "examples/three-forks.jsonl", "--from", "20"],
            "--from 20 is past the end of the trace, which has 13 ops",
        ),
        (&["explain", "examples/three-forks.jsonl", "--from", "5", "--to", "4"], "--to 4 comes before --from 5"),
        (&["explain", "examples/three-forks.jsonl", "--from", "0"], "ops are numbered from 1"),
        (&["explain", "no/such.jsonl"], "no/such.jsonl"),
    ];
    for (args, message) in cases {
        let out = cowsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}

/// A broken trace is bad input for both commands (exit 2, with the place);
/// an unmet expectation is a failed run (exit 1), narrated up to the op
/// that failed.
#[test]
fn graph_and_explain_failures() {
    let dir = scratch_dir("failures");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"fork\",\"parent\":1,\"child\":}\n").unwrap();
    for command in ["graph", "explain"] {
        let out = cowsim(&[command, bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(stderr(&out).contains("bad.jsonl:2:"), "{command}: {}", stderr(&out));
    }
    let failing = dir.join("failing.jsonl");
    std::fs::write(
        &failing,
        "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_deallocate\",\"task\":1,\"addr\":\"0x10000\",\"size\":\"4K\",\"expect\":\"KERN_SUCCESS\"}\n",
    )
    .unwrap();
    let out = cowsim(&["explain", failing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("op 2: task 1 deallocates 0x10000-0x11000 → KERN_INVALID_ADDRESS"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("failing.jsonl:2:1: under gnumach"), "{}", stderr(&out));
    let out = cowsim(&["graph", failing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

/// Every command in examples/README.md works as written: each line inside
/// a code block that starts with `cowsim ` is run (from a copy of the
/// examples, so files it writes land in a scratch folder) and must exit 0.
#[test]
fn readme_commands_work() {
    let readme = std::fs::read_to_string(repo().join("examples/README.md")).unwrap();
    let commands = readme_commands(&readme);
    assert!(commands.len() >= 4, "examples/README.md should hold the exercises' commands");
    let dir = scratch_dir("readme");
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    for example in examples() {
        std::fs::copy(&example, dir.join("examples").join(example.file_name().unwrap())).unwrap();
    }
    for command in &commands {
        assert!(
            !command.contains(['|', '>', '<', '\'', '"', '$', '&', ';']),
            "keep README commands free of shell syntax so this test can run them: {command}"
        );
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = cowsim_in(&dir, &args);
        assert!(out.status.success(), "`{command}` failed: {}", stderr(&out));
        assert!(!stdout(&out).is_empty() || command.contains(" -o "), "`{command}` printed nothing");
    }
}

/// The lines inside fenced code blocks that start with `cowsim `.
fn readme_commands(markdown: &str) -> Vec<String> {
    let mut inside = false;
    let mut commands = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            continue;
        }
        let line = line.trim();
        if inside && line.starts_with("cowsim ") {
            commands.push(line.to_string());
        }
    }
    commands
}

/// Does the extraction find commands only inside code blocks?
#[test]
fn readme_commands_are_found_in_code_blocks_only() {
    let markdown = "Run cowsim run x.jsonl here.\n```sh\ncowsim run a.jsonl\n  cowsim explain b.jsonl --from 2\n# cowsim no\n```\ncowsim outside\n";
    assert_eq!(readme_commands(markdown), ["cowsim run a.jsonl", "cowsim explain b.jsonl --from 2"]);
}

/// Is the SVG path usable from the library too, for every example?
#[test]
fn every_example_draws_as_svg() {
    for example in examples() {
        let (graph, caption) = graph_at(&example, PolicyKind::GnuMach, &Config::default(), None).unwrap();
        let svg = to_svg(&graph, &caption);
        assert!(svg.starts_with("<svg"), "{}", example.display());
    }
}

// ---------------------------------------------------------------------------
// Graphs fit for a slide
// ---------------------------------------------------------------------------

/// Every number in `text` that follows `key="`, e.g. all `x="…"` values.
fn attribute_values(line: &str, key: &str) -> Option<f64> {
    let start = line.find(&format!(" {key}=\""))? + key.len() + 3;
    let end = start + line[start..].find('"')?;
    line[start..end].parse().ok()
}

/// The SVG's declared width and height.
fn declared_size(svg: &str) -> (f64, f64) {
    let head = svg.lines().next().unwrap();
    (attribute_values(head, "width").unwrap(), attribute_values(head, "height").unwrap())
}

/// The right and bottom edge of what the SVG draws, read back from its
/// shapes: rectangles, arrow paths, and text (at a monospace advance of 0.6
/// em, the font the SVG asks for).
fn drawn_extent(svg: &str) -> (f64, f64) {
    let (mut right, mut bottom) = (0.0f64, 0.0f64);
    for line in svg.lines().skip(1) {
        if line.starts_with("<rect x=") {
            let x = attribute_values(line, "x").unwrap() + attribute_values(line, "width").unwrap();
            let y = attribute_values(line, "y").unwrap() + attribute_values(line, "height").unwrap();
            right = right.max(x);
            bottom = bottom.max(y);
        } else if let Some(d) = line.strip_prefix("<path d=\"") {
            let d = &d[..d.find('"').unwrap()];
            let numbers: Vec<f64> = d.split([' ', ',']).filter_map(|t| t.parse().ok()).collect();
            for pair in numbers.chunks(2) {
                right = right.max(pair[0]);
                bottom = bottom.max(pair[1]);
            }
        } else if line.starts_with("<text") {
            let text = &line[line.find('>').unwrap() + 1..line.rfind("</text>").unwrap()];
            let size = if line.contains("class=\"title\"") {
                16.0
            } else if line.contains("class=\"small\"") {
                11.0
            } else {
                13.0
            };
            let width = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").chars().count() as f64
                * size
                * 0.6;
            let x = attribute_values(line, "x").unwrap();
            let x = if line.contains("text-anchor=\"middle\"") { x + width / 2.0 } else { x + width };
            right = right.max(x);
            bottom = bottom.max(attribute_values(line, "y").unwrap());
        }
    }
    (right, bottom)
}

/// The SVG used to be a canvas far larger than its drawing (2385×1026 with
/// everything in the top 204 px). For every example under every policy, is
/// the declared size now the drawing's extent plus a small margin?
#[test]
fn svg_fits_its_drawing() {
    for example in examples() {
        for policy in PolicyKind::ALL {
            let (graph, caption) = graph_at(&example, policy, &Config::default(), None).unwrap();
            let svg = to_svg(&graph, &caption);
            let (width, height) = declared_size(&svg);
            let (right, bottom) = drawn_extent(&svg);
            let what =
                format!("{} under {policy}: declared {width}×{height}, drawn to {right}×{bottom}", example.display());
            assert!(right <= width && bottom <= height, "drawn outside the canvas: {what}");
            // The margin is 6 px a side (text baselines stand in for the
            // bottom of their line, hence a few px more at the bottom).
            assert!(width - right <= 7.0 && height - bottom <= 10.0, "canvas larger than the drawing: {what}");
        }
    }
}

/// Does the drawing say what it shows: the trace, the policy and the op?
#[test]
fn svg_has_a_title() {
    let trace = repo().join("examples/fork-then-write.jsonl");
    let (graph, caption) = graph_at(&trace, PolicyKind::Linux, &Config::default(), Some(4)).unwrap();
    let svg = to_svg(&graph, &caption);
    assert!(svg.contains(">fork-then-write.jsonl under linux after op 4</text>"), "{svg}");
    let dot = to_dot(&graph, &caption);
    assert!(dot.contains("label = \"fork-then-write.jsonl under linux after op 4\"\n    labelloc = \"t\""), "{dot}");
}

/// Are a task's entries drawn in address order, even when it mapped them
/// in another order?
#[test]
fn entries_are_in_address_order() {
    let dir = scratch_dir("address-order");
    let trace = dir.join("order.jsonl");
    let mut text = String::from("{\"op\":\"task_create\",\"task\":1}\n");
    for addr in ["0x300000", "0x100000", "0x200000"] {
        text.push_str(&format!("{{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"{addr}\",\"size\":\"4K\"}}\n"));
    }
    std::fs::write(&trace, text).unwrap();
    let (graph, caption) = graph_at(&trace, PolicyKind::GnuMach, &Config::default(), None).unwrap();
    let svg = to_svg(&graph, &caption);
    let height_of = |label: &str| {
        let line = svg.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("{label} not drawn: {svg}"));
        attribute_values(line, "y").unwrap()
    };
    let heights = ["0x100000-", "0x200000-", "0x300000-"].map(height_of);
    assert!(heights[0] < heights[1] && heights[1] < heights[2], "{heights:?}\n{svg}");
    let dot = to_dot(&graph, &caption);
    let at = ["0x100000-", "0x200000-", "0x300000-"].map(|l| dot.find(l).unwrap());
    assert!(at[0] < at[1] && at[1] < at[2], "{dot}");
}

/// Under linux, right after the fork both page tables hold the four pages:
/// does the graph give each page's reference count and who shares it?
#[test]
fn page_table_designs_show_reference_counts() {
    let trace = repo().join("examples/fork-then-write.jsonl");
    let (graph, caption) = graph_at(&trace, PolicyKind::Linux, &Config::default(), Some(4)).unwrap();
    let svg = to_svg(&graph, &caption);
    assert_eq!(svg.matches(">pages 0-3: 2 holders (tasks 1, 2)</text>").count(), 2, "{svg}");
    // After the child's write (op 5) its page 1 is its own.
    let (graph, caption) = graph_at(&trace, PolicyKind::Linux, &Config::default(), Some(5)).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(dot.contains("pages 0, 2-3: 2 holders (tasks 1, 2)\\npage 1: 1 holder (task 2)"), "{dot}");
    // UVM's fork shares the amap itself (refs 2), each anon held once; the
    // child's write gives it an amap of its own, and the anons it did not
    // write are then held by both amaps.
    let (graph, caption) = graph_at(&trace, PolicyKind::Uvm, &Config::default(), Some(4)).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(dot.contains("refs 2, 4 resident\\npages 0-3: 1 holder (tasks 1, 2)"), "{dot}");
    let (graph, caption) = graph_at(&trace, PolicyKind::Uvm, &Config::default(), Some(5)).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(dot.contains("pages 0, 2-3: 2 holders (tasks 1, 2)\\npage 1: 1 holder (task 2)"), "{dot}");
}

/// Are hidden pages named in a red band on a red dashed border, not just a
/// thin red outline?
#[test]
fn hidden_pages_are_unmistakable() {
    let trace = repo().join("examples/stranded.jsonl");
    let (graph, caption) = graph_at(&trace, PolicyKind::GnuMach, &Config::default(), Some(9)).unwrap();
    let svg = to_svg(&graph, &caption);
    assert!(svg.contains(r#"<text class="band""#) && svg.contains(">hidden: page 0</text>"), "{svg}");
    assert!(svg.contains(r##"stroke="#d62728" stroke-width="3" stroke-dasharray"##), "{svg}");
}

/// Children that each wrote a page of their own under linux have a page
/// table each, all alike: are they drawn once, saying for how many?
#[test]
fn alike_children_are_drawn_once() {
    let dir = scratch_dir("alike-children");
    let trace = dir.join("children.jsonl");
    let mut text = String::from(
        "{\"op\":\"task_create\",\"task\":1}\n{\"op\":\"vm_allocate\",\"task\":1,\"addr\":\"0x100000\",\"size\":\"16K\"}\n\
         {\"op\":\"write\",\"task\":1,\"addr\":\"0x100000\",\"len\":\"16K\"}\n",
    );
    for child in 2..12 {
        text.push_str(&format!("{{\"op\":\"fork\",\"parent\":1,\"child\":{child}}}\n"));
        text.push_str(&format!("{{\"op\":\"write\",\"task\":{child},\"addr\":\"0x103000\",\"len\":\"4K\"}}\n"));
    }
    std::fs::write(&trace, text).unwrap();
    let (graph, caption) = graph_at(&trace, PolicyKind::Linux, &Config::default(), None).unwrap();
    let dot = to_dot(&graph, &caption);
    assert!(dot.contains("tasks 2-11\\n(10 alike)\\nchildren of task 1"), "{dot}");
    assert!(dot.contains("one of 10 like it, one per task"), "{dot}");
    assert_eq!(dot.matches("page_table").count(), 2, "the parent's and one for the children: {dot}");
}

/// The default `stranding` trace builds a chain of a thousand objects; its
/// SVG used to be 551,705 px wide. Is the chain summarised, and the
/// picture slide-sized?
#[test]
fn long_chains_are_summarised() {
    let dir = scratch_dir("stranding");
    let trace = dir.join("stranding.jsonl");
    let workload = workloads::generators::find("stranding").unwrap();
    let file = std::fs::File::create(&trace).unwrap();
    workloads::generators::write_trace(
        workload,
        workloads::generators::DEFAULT_SEED,
        &workload.default_params(),
        std::io::BufWriter::new(file),
    )
    .unwrap();
    // The invariant checker would make this replay take a minute in a debug build.
    let config = Config::default().check_invariants(false);
    let (graph, caption) = graph_at(&trace, PolicyKind::GnuMach, &config, None).unwrap();
    assert!(graph.node_count() < 20, "{} nodes", graph.node_count());
    let svg = to_svg(&graph, &caption);
    let (width, height) = declared_size(&svg);
    assert!(width < 1600.0 && height < 400.0, "{width}×{height}");
    assert!(svg.contains(" more objects like this</text>"), "{svg}");
    assert_eq!(svg, to_svg(&graph, &caption), "the SVG must be deterministic");
}

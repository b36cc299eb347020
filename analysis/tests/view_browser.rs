//! `cowsim view` in a real browser: the page is written for
//! examples/fork-then-write.jsonl, headless Chromium opens it at `#op=N`
//! and prints the document its script drew (`--dump-dom`), and what it
//! shows (the op number, each policy's narration, its objects, page cells
//! and tasks) is checked against the simulator's own world at op N. A
//! second test drives the page from another page beside it, as a reader
//! would: arrow keys, Home and End, the buttons, the slider and the op box.
//!
//! The browser is `chromium` or `chromium-browser` on the PATH. Without
//! one the test says so and passes without checking anything; CI installs
//! Chromium first (`.ci/run`), so there it always runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use analysis::narrate::explain;
use analysis::stepper::Stepper;
use sim::{Config, PolicyKind};

mod support;
use support::{cowsim_in, repo, stderr};

/// How long one page may take to load and draw before the browser is
/// stopped: generous for a loaded CI machine, short of a hang.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The document the page's script drew at `address`, as Chromium prints
/// it.
fn dump_dom(browser: &Path, address: &str, profile: &Path) -> String {
    dump_dom_with(browser, address, profile, &[])
}

/// [`dump_dom`] with more switches for the browser.
fn dump_dom_with(browser: &Path, address: &str, profile: &Path, switches: &[&str]) -> String {
    let mut child = Command::new(browser)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--dump-dom"])
        .args(switches)
        // A profile of its own, so parallel tests never share one.
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(address)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the browser starts");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish drawing {address} in {BROWSER_TIMEOUT:?}", browser.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?} in the page")) + start.len();
    let to = text[from..].find(end).unwrap_or_else(|| panic!("no {end:?} after {start:?}")) + from;
    &text[from..to]
}

/// Undoes the escaping of HTML text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// The part of the drawn document that shows `policy`'s world.
fn section<'a>(dom: &'a str, policy: &str) -> &'a str {
    let start = format!("<section class=\"world\" data-policy=\"{policy}\">");
    let from = dom.find(&start).unwrap_or_else(|| panic!("no world for {policy} in the page"));
    let rest = &dom[from..];
    &rest[..rest.find("</section>").expect("the section ends")]
}

/// The values of `attribute` on the elements of the section, in order.
fn attribute_values(section: &str, attribute: &str) -> Vec<String> {
    let key = format!("{attribute}=\"");
    section.match_indices(&key).map(|(at, _)| between(&section[at..], &key, "\"").to_string()).collect()
}

/// What the simulator has after op `n`: the narration of op `n`, the
/// tasks, the object serials and the resident pages in all.
fn world_at(trace: &Path, policy: PolicyKind, n: u64) -> (String, Vec<String>, Vec<String>, usize) {
    let config = Config::default();
    // The whole narration, cut at op n: a narration explains its first
    // chain, so op n alone would be told differently.
    let mut out = Vec::new();
    explain(trace, policy, &config, None, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let start = text.find(&format!("\nop {n}:")).expect("the op is narrated") + 1;
    let end = text[start..].find(&format!("\nop {}:", n + 1)).map_or(text.len(), |end| start + end + 1);
    let narration = text[start..end].to_string();
    let mut stepper = Stepper::open(trace, policy, &config).unwrap();
    assert!(stepper.run_to(n).unwrap());
    let view = stepper.sim().view();
    let tasks = view.tasks().map(|t| t.id().0.to_string()).collect();
    let objects = view.objects().map(|o| o.id().serial().to_string()).collect();
    let pages = view.objects().map(|o| o.resident_count()).sum();
    (narration, tasks, objects, pages)
}

#[test]
fn the_page_shows_the_world_at_the_op_its_address_names() {
    let Some(browser) = browser() else {
        eprintln!(
            "SKIPPED view_browser: no chromium or chromium-browser on the PATH, so the page was not opened in a \
             browser (install it: apt-get install chromium; .ci/run does)"
        );
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("view-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = repo().join("examples/fork-then-write.jsonl");
    let page = dir.join("fork-then-write.html");
    let out =
        cowsim_in(&dir, &["view", trace.to_str().unwrap(), "--policy", "gnumach,linux", "-o", page.to_str().unwrap()]);
    assert!(out.status.success(), "cowsim view failed: {}", stderr(&out));
    let address = |fragment: &str| format!("file://{}{fragment}", page.display());

    // (address, the op it must show): an op by its fragment, by a query,
    // and one past the end, which the page shows as the last op.
    for (suffix, n) in [("#op=5", 5), ("#op=1", 1), ("?op=6", 6), ("#op=99", 8)] {
        let dom = dump_dom(&browser, &address(suffix), &dir.join(format!("profile-{n}")));
        assert!(dom.contains("<main id=\"worlds\""), "{suffix}: not the page: {dom}");
        let shown: u64 = between(&dom, "<span id=\"op-number\">", "<").parse().unwrap();
        assert_eq!(shown, n, "{suffix}: the op shown");
        assert_eq!(between(&dom, "<span id=\"op-last\">", "<"), "8", "{suffix}: the last op");
        for policy in [PolicyKind::GnuMach, PolicyKind::Linux] {
            let at = format!("{suffix} under {}", policy.name());
            let (narration, tasks, objects, pages) = world_at(&trace, policy, n);
            let world = section(&dom, policy.name());
            let drawn = unescape(between(world, "<pre class=\"narration\">", "</pre>"));
            assert_eq!(drawn, narration, "{at}: the narration");
            assert!(drawn.starts_with(&format!("op {n}: ")), "{at}: {drawn}");
            assert_eq!(attribute_values(world, "data-task"), tasks, "{at}: the tasks");
            assert_eq!(attribute_values(world, "data-object"), objects, "{at}: the objects drawn");
            // `page`, `page hidden`, `page changed`..., but not `page-count`.
            let cells = world.matches("<span class=\"page\"").count() + world.matches("<span class=\"page ").count();
            assert_eq!(cells, pages, "{at}: the page cells drawn");
            assert_eq!(between(world, "<span class=\"object-count\">", "<"), objects.len().to_string(), "{at}");
            assert_eq!(between(world, "<span class=\"page-count\">", "<"), pages.to_string(), "{at}");
        }
    }

    // At op 5 under gnumach, task 2's entry reads through its new shadow
    // into the object it shares with task 1, and linux's pages shared by
    // both page tables say they have two holders.
    let dom = dump_dom(&browser, &address("#op=5"), &dir.join("profile-chain"));
    let gnumach = section(&dom, "gnumach");
    assert!(
        gnumach.contains(
            "<span class=\"link role-shadow\" title=\"shadow, 1 page resident\">object 2</span>\
             <span class=\"arrow\">→</span><span class=\"link role-anonymous\""
        ),
        "the chain 2 → 1: {gnumach}"
    );
    assert_eq!(
        gnumach.matches("class=\"page changed\"").count(),
        1,
        "only the page task 2 copied is new at op 5: {gnumach}"
    );
    let linux = section(&dom, "linux");
    assert_eq!(linux.matches("<sup class=\"holders\">×2</sup>").count(), 6, "three shared pages in each table");
}

/// A page beside the view that drives it as a reader would: a key, the
/// buttons, the slider and the op box, each followed by the op and the
/// first narration line then shown. Chromium lets one file:// page reach
/// into another only with --allow-file-access-from-files, which this test
/// alone asks for.
const DRIVER: &str = r#"<!DOCTYPE html><html><body><iframe id="view" src="page.html#op=3"></iframe><pre id="log"></pre>
<script>
var frame = document.getElementById("view");
frame.addEventListener("load", function () {
  var d = frame.contentDocument, log = [];
  function note(what) {
    var narration = d.querySelector("section.world pre.narration").textContent.split(":")[0];
    log.push(what + " " + d.getElementById("op-number").textContent + " " + narration);
  }
  function key(name) { d.dispatchEvent(new KeyboardEvent("keydown", {key: name, bubbles: true})); }
  note("start");
  key("ArrowRight"); note("right");
  key("ArrowLeft"); key("ArrowLeft"); note("left-left");
  d.getElementById("next").click(); note("next");
  d.getElementById("prev").click(); d.getElementById("prev").click(); d.getElementById("prev").click(); note("prev-prev-prev");
  d.getElementById("prev").click(); note("prev-at-first");
  key("End"); note("end");
  d.getElementById("next").click(); note("next-at-last");
  d.getElementById("first").click(); note("first");
  d.getElementById("last").click(); note("last");
  key("Home"); note("home");
  var slider = d.getElementById("slider"); slider.value = 7; slider.dispatchEvent(new Event("input")); note("slider");
  var box = d.getElementById("jump"); box.value = 4; box.dispatchEvent(new Event("change")); note("box");
  log.push("address " + frame.contentWindow.location.hash);
  document.getElementById("log").textContent = log.join("\n");
});
</script></body></html>"#;

#[test]
fn the_controls_step_forward_and_back() {
    let Some(browser) = browser() else {
        eprintln!("SKIPPED view_browser: no chromium or chromium-browser on the PATH; the controls were not tried");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("view-browser-controls");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = repo().join("examples/fork-then-write.jsonl");
    let out = cowsim_in(&dir, &["view", trace.to_str().unwrap(), "--policy", "gnumach,linux", "-o", "page.html"]);
    assert!(out.status.success(), "cowsim view failed: {}", stderr(&out));
    std::fs::write(dir.join("driver.html"), DRIVER).unwrap();
    let address = format!("file://{}", dir.join("driver.html").display());
    let dom = dump_dom_with(&browser, &address, &dir.join("profile"), &["--allow-file-access-from-files"]);
    let log = unescape(between(&dom, "<pre id=\"log\">", "</pre>"));
    let expected = [
        "start 3 op 3",
        "right 4 op 4",
        "left-left 2 op 2",
        "next 3 op 3",
        "prev-prev-prev 1 op 1",
        "prev-at-first 1 op 1",
        "end 8 op 8",
        "next-at-last 8 op 8",
        "first 1 op 1",
        "last 8 op 8",
        "home 1 op 1",
        "slider 7 op 7",
        "box 4 op 4",
        "address #op=4",
    ];
    assert_eq!(log.lines().collect::<Vec<_>>(), expected, "the steps the controls took");
}

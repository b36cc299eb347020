//! cowsim stands on its own: nothing in the repository or in anything the
//! command prints points at a document the repository does not ship, the
//! built-in suite needs no source tree, and every error is said once, with
//! a way forward where there is one.

use std::path::{Path, PathBuf};
use std::process::Output;

mod support;
use support::{cowsim, cowsim_in, examples, repo, stderr, stdout};

/// The names of documents the project was started from but does not ship.
/// Spelled in pieces so that this file does not match itself.
fn outside_documents() -> [String; 3] {
    [["DESIGN", ".md"].concat(), ["kernels", ".md"].concat(), ["..", "/shared"].concat()]
}

fn assert_stands_alone(what: &str, text: &str) {
    for name in outside_documents() {
        assert!(!text.contains(&name), "{what} mentions {name}:\n{text}");
    }
}

/// Every file of the repository worth reading as text, build output and
/// local fuzzing output aside.
fn repository_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if ["target", ".git", "artifacts", "coverage", "corpus", "regressions", "seeds"].contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            repository_files(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// Does any file in the repository cite a document it does not ship?
#[test]
fn no_file_points_outside_the_repository() {
    let mut files = Vec::new();
    repository_files(&repo(), &mut files);
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue }; // binary
        for name in outside_documents() {
            if text.contains(&name) {
                offenders.push(format!("{} mentions {name}", file.strip_prefix(repo()).unwrap().display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

fn both(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// Does any command's --help or output cite a document the repository
/// does not ship?
#[test]
fn no_output_points_outside_the_repository() {
    let example = "examples/fork-then-write.jsonl";
    let capture = "workloads/tests/fixtures/forkwrite.perf.txt.gz";
    let lackey = "workloads/tests/fixtures/touch.lackey.txt.gz";
    let out_dir = repo().join("target/standalone-tests/compare");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out_dir = out_dir.to_string_lossy().into_owned();
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["policies"],
        vec!["workloads"],
        vec!["run", example, "--policy", "all"],
        vec!["run", example, "--json"],
        vec!["explain", example],
        vec!["graph", example],
        vec!["import", "perf", capture, "-o", "-"],
        vec!["import", "lackey", lackey, "-o", "-"],
        vec!["compare", example, capture, "--out", &out_dir, "--policies", "eager,linux"],
    ];
    let subcommands = ["run", "compare", "policies", "graph", "explain", "import", "record", "gen", "workloads"]
        .map(|c| vec![c, "--help"]);
    runs.extend(subcommands);
    let names: Vec<&str> = workloads::generators::WORKLOADS.iter().map(|w| w.name).collect();
    for name in &names {
        runs.push(vec!["gen", name, "--param", "ops=1"]); // a bad param for most: the error is output too
        runs.push(vec!["gen", name]);
    }
    for args in runs {
        let out = cowsim(&args);
        assert_stands_alone(&format!("cowsim {}", args.join(" ")), &both(&out));
    }
    for file in ["summary.md", "summary.json", "summary.csv"] {
        let text = std::fs::read_to_string(Path::new(&out_dir).join(file)).unwrap();
        assert_stands_alone(file, &text);
    }
}

/// Is the built-in suite made only of copies embedded in the binary (and
/// generated workloads), so that `cowsim` needs no source tree?
#[test]
fn the_builtin_suite_needs_no_files() {
    use analysis::compare::input::builtin_suite;
    use analysis::feed::{Feed, Source};
    let suite = builtin_suite();
    assert!(suite.len() >= examples().len());
    for input in suite {
        match input {
            Feed::Trace(source) | Feed::Capture { source, .. } => {
                assert!(matches!(source, Source::Embedded { .. }), "{} is read from a file", source.file_name());
            }
            Feed::Workload(_) => {}
        }
    }
}

/// Does `compare` work in an empty folder and say where it wrote?
#[test]
fn compare_works_from_an_empty_folder_and_names_its_folder() {
    let dir = repo().join("target/standalone-tests/empty");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = cowsim_in(&dir, &["compare", "fork-exit", "--policies", "eager,gnumach", "--out", "results"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let folder = std::fs::canonicalize(dir.join("results")).unwrap();
    assert!(stdout(&out).contains(&format!("to {}", folder.display())), "{}", stdout(&out));
    let help = stdout(&cowsim(&["--help"]));
    assert!(help.contains("With no command") && help.contains("`results`"), "{help}");
}

/// Runs cowsim and returns its stderr, checking the exit code.
fn error_of(args: &[&str], code: i32) -> String {
    let out = cowsim(args);
    assert_eq!(out.status.code(), Some(code), "cowsim {args:?}: {}", both(&out));
    stderr(&out)
}

/// Is every error said once? A missing file used to print "No such file"
/// three times, and a bad trace line twice.
#[test]
fn errors_are_said_once() {
    let missing = error_of(&["run", "examples/nope.jsonl"], 2);
    assert_eq!(missing.matches("No such file").count(), 1, "{missing}");
    assert_eq!(missing.lines().count(), 1, "{missing}");
    let dir = repo().join("target/standalone-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"op\":\"exit\",\"task\":\"x\"}\n").unwrap();
    let bad = bad.to_string_lossy().into_owned();
    for command in ["run", "explain", "graph"] {
        let error = error_of(&[command, &bad], 2);
        assert_eq!(error.matches("is not a digit").count(), 1, "{command}: {error}");
        assert!(error.contains("bad.jsonl:1:21"), "{command}: {error}");
    }
}

/// Does a mistyped name come back with the right one?
#[test]
fn mistyped_names_get_a_suggestion() {
    let example = "examples/fork-then-write.jsonl";
    for (args, hint) in [
        (vec!["run", example, "--policy", "Linux"], "did you mean \"linux\"?"),
        (vec!["explain", example, "--policy", "gnumahc"], "did you mean \"gnumach\"?"),
        (vec!["compare", example, "--policies", "eager,plan8"], "did you mean \"plan9\"?"),
        (vec!["gen", "strandin"], "did you mean \"stranding\"?"),
        (vec!["gen", "fork-exit", "--param", "round=3"], "did you mean \"rounds\"?"),
        (vec!["rnu"], "'run'"),
    ] {
        let error = error_of(&args, 2);
        assert!(error.contains(hint), "cowsim {args:?}: {error}");
    }
}

/// Does `run --policy` take a list, like `compare --policies`?
#[test]
fn run_takes_a_list_of_policies() {
    let out = cowsim(&["run", "examples/fork-then-write.jsonl", "--policy", "gnumach,linux", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let policies: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, ["gnumach", "linux"]);
}

/// Is a capture taken wherever a trace is (imported as it is read, with a
/// warm page cache by default for `run`), and does an import that
/// recognises no line fail?
#[test]
fn captures_are_taken_where_traces_are() {
    let capture = "workloads/tests/fixtures/forkwrite.perf.txt.gz";
    let out = cowsim(&["run", capture, "--policy", "linux", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["trace"], "forkwrite.perf.txt.gz");
    assert_eq!(report["page_cache"], "warm");
    assert_eq!(report["fidelity"]["agreement"], 1.0, "{}", report["fidelity"]);
    let imported = repo().join("target/standalone-tests/forkwrite.jsonl");
    std::fs::create_dir_all(imported.parent().unwrap()).unwrap();
    let out = cowsim(&["import", "perf", capture, "-o", imported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let from_trace = cowsim(&["run", imported.to_str().unwrap(), "--policy", "all", "--page-cache", "warm", "--json"]);
    let from_capture = cowsim(&["run", capture, "--policy", "all", "--json"]);
    let digests = |out: &Output| -> Vec<String> {
        let reports: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap();
        reports.as_array().unwrap().iter().map(|r| format!("{} {}", r["read_digest"], r["faults"])).collect()
    };
    assert_eq!(digests(&from_trace), digests(&from_capture), "a capture replays as its imported trace does");
    let out = cowsim(&["explain", "workloads/tests/fixtures/touch.lackey.txt.gz", "--to", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("op 3:"), "{}", stdout(&out));
    let error = error_of(&["import", "lackey", "/etc/passwd", "-o", "-"], 2);
    assert!(error.contains("not a lackey log") || error.contains("is not lackey"), "{error}");
    let error = error_of(&["import", "perf", "/etc/passwd", "-o", "-"], 2);
    assert_eq!(error.lines().count(), 1, "{error}");
}

/// Is one naming of sizes and counts kept: K, M and G mean bytes, and a
/// count refuses them?
#[test]
fn counts_refuse_size_suffixes() {
    let error = error_of(&["gen", "bgsave", "--param", "pages=16K"], 2);
    assert!(error.contains("pages is a count, not a size in bytes"), "{error}");
    let out = cowsim(&["gen", "bgsave", "--param", "pages=16384", "--param", "snapshots=1", "--param", "writes=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

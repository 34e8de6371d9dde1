//! Conformance runner (a `harness = false` test).
//!
//! Loads every `*.yaml` file in `../shared/conformance/` (relative to the
//! crate root), or in `$JOB_CONFORMANCE_DIR` when that is set, and runs each
//! case by its `kind` (see `shared/conformance/FORMAT.md`). Prints one line
//! per failed or unsupported case, one summary line per file, and last
//! `conformance: P passed, F failed, U unsupported`. Exits 1 if any case
//! failed; unsupported cases do not fail the run. A case or file that
//! cannot be loaded counts as failed, with the reason; a case never goes
//! unreported.

#[path = "conformance/common.rs"]
mod common;
#[path = "conformance/fixtures.rs"]
mod fixtures;
#[path = "conformance/replay_sync.rs"]
mod replay_sync;
#[path = "conformance/replay_timeline.rs"]
mod replay_timeline;
#[path = "conformance/sync.rs"]
mod sync;
#[path = "conformance/timeline.rs"]
mod timeline;
#[path = "conformance/validation.rs"]
mod validation;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use serde_yaml::Value;

use common::Outcome;

/// Counts of one file or of the whole run.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    passed: usize,
    failed: usize,
    unsupported: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.unsupported += other.unsupported;
    }

    fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} unsupported",
            self.passed, self.failed, self.unsupported
        )
    }
}

/// Where the cases are: `$JOB_CONFORMANCE_DIR`, or the shared folder.
fn case_dir() -> PathBuf {
    match std::env::var_os("JOB_CONFORMANCE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"),
    }
}

/// The case files of `dir`, sorted by name. Other files and folders are
/// ignored.
fn case_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs one case, turning a panic into a failure.
fn run_case(kind: &str, case: &Value, dir: &Path) -> Outcome {
    let result = panic::catch_unwind(AssertUnwindSafe(|| match kind {
        "validation" => validation::run(case),
        "sync" => sync::run(case, dir),
        "timeline" => timeline::run(case, dir),
        other => Outcome::Unsupported(format!("unknown case kind {other:?}")),
    }));
    result.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        Outcome::Failed(format!("panicked: {msg}"))
    })
}

/// Records and prints one case's outcome.
fn report(file: &str, name: &str, outcome: Outcome, tally: &mut Tally) {
    match outcome {
        Outcome::Passed => tally.passed += 1,
        Outcome::Failed(why) => {
            tally.failed += 1;
            println!("{file}: {name}: FAILED: {}", one_line(&why));
        }
        Outcome::Unsupported(why) => {
            tally.unsupported += 1;
            println!("{file}: {name}: UNSUPPORTED: {}", one_line(&why));
        }
    }
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

/// The YAML documents of a file (a file normally holds one).
fn documents(text: &str) -> Result<Vec<Value>, String> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).map_err(|e| format!("not valid YAML: {e}")))
        .filter(|v| !matches!(v, Ok(Value::Null)))
        .collect()
}

/// Runs every case of one document of a case file.
fn run_document(file: &str, doc: &Value, dir: &Path, tally: &mut Tally) {
    let file_kind = doc.get("kind").and_then(Value::as_str);
    let Some(cases) = doc.get("cases").and_then(Value::as_sequence) else {
        report(
            file,
            "(file)",
            Outcome::Failed("no `cases` list".into()),
            tally,
        );
        return;
    };
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("case #{}", i + 1), str::to_owned);
        // A case may name its own kind; otherwise the file's applies.
        let kind = case.get("kind").and_then(Value::as_str).or(file_kind);
        let outcome = match kind {
            Some(kind) => run_case(kind, case, dir),
            None => Outcome::Failed("no `kind` for the file or the case".into()),
        };
        report(file, &name, outcome, tally);
    }
}

/// Runs every case of one file and prints its summary line.
fn run_file(path: &Path) -> Tally {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tally = Tally::default();
    let docs = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|text| documents(&text));
    match docs {
        Ok(docs) if docs.is_empty() => {
            report(
                &file,
                "(file)",
                Outcome::Failed("no YAML document".into()),
                &mut tally,
            );
        }
        Ok(docs) => {
            for doc in &docs {
                run_document(&file, doc, dir, &mut tally);
            }
        }
        Err(why) => report(&file, "(file)", Outcome::Failed(why), &mut tally),
    }
    println!("{file}: {}", tally.summary());
    tally
}

fn main() -> ExitCode {
    // Panics are reported as failed cases; keep their default output quiet.
    panic::set_hook(Box::new(|_| {}));
    let dir = case_dir();
    let mut total = Tally::default();
    match case_files(&dir) {
        Ok(files) if files.is_empty() => {
            println!("conformance: no case files in {}", dir.display());
            total.failed += 1;
        }
        Ok(files) => {
            for file in files {
                total.add(run_file(&file));
            }
        }
        Err(e) => {
            println!("conformance: cannot read {}: {e}", dir.display());
            total.failed += 1;
        }
    }
    println!("conformance: {}", total.summary());
    if total.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

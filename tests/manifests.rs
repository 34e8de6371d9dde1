//! The example manifests in `../shared/manifests`: every one parses; the
//! valid ones are admitted as the API server would admit them (with a uid
//! assigned); each `invalid-*` one is rejected, naming the fields its row in
//! `README.md` lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use job_controller::{Job, ValidJob, ValidationErrors, parse_job};

fn manifest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/manifests")
}

/// Every `*.yaml` manifest, by file name.
fn manifests() -> BTreeMap<String, String> {
    let dir = manifest_dir();
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the manifests folder is readable") {
        let path = entry.expect("a readable entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("a readable manifest");
            out.insert(name, text);
        }
    }
    assert!(!out.is_empty(), "no manifests in {}", dir.display());
    out
}

/// The README's table: file name → the "valid" column.
fn readme_table() -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md is readable");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | file | what it shows | valid |
            match cells.as_slice() {
                ["", file, _, valid, ""] if file.ends_with(".yaml") => {
                    Some(((*file).to_owned(), (*valid).to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// The field paths in a "no: a, b, and whatever else" cell.
fn listed_fields(cell: &str) -> Vec<String> {
    let list = cell.strip_prefix("no:").unwrap_or(cell);
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.contains(' ') && s.contains('.'))
        .map(str::to_owned)
        .collect()
}

/// Admits a manifest as `kubectl create` would: the server assigns a uid.
fn create(name: &str, text: &str) -> Result<ValidJob, ValidationErrors> {
    let mut job: Job = parse_job(text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    job.metadata.uid = format!("uid-{}", name.trim_end_matches(".yaml"));
    ValidJob::create(job)
}

/// Whether some error is on `field` or inside it (`spec.selector` covers
/// `spec.selector.matchLabels`).
fn names_field(errors: &ValidationErrors, field: &str) -> bool {
    errors.errors.iter().any(|e| {
        e.field == field
            || e.field
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

#[test]
fn every_manifest_parses() {
    for (name, text) in manifests() {
        if let Err(e) = parse_job(&text) {
            panic!("{name} does not parse: {e}");
        }
    }
}

#[test]
fn readme_lists_every_manifest() {
    let table = readme_table();
    let files = manifests();
    for name in files.keys() {
        assert!(table.contains_key(name), "{name} is not in README.md");
    }
    for name in table.keys() {
        assert!(
            files.contains_key(name),
            "README.md lists {name}, which does not exist"
        );
    }
}

#[test]
fn valid_manifests_are_admitted() {
    for (name, text) in manifests() {
        if name.starts_with("invalid-") {
            continue;
        }
        if let Err(e) = create(&name, &text) {
            panic!("{name} is rejected: {e}");
        }
    }
}

#[test]
fn invalid_manifests_are_rejected_naming_their_fields() {
    let table = readme_table();
    for (name, text) in manifests() {
        if !name.starts_with("invalid-") {
            continue;
        }
        let cell = table
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no README row"));
        let fields = listed_fields(cell);
        assert!(
            !fields.is_empty(),
            "README lists no field for {name}: {cell:?}"
        );
        let Err(errors) = create(&name, &text) else {
            panic!("{name} was admitted")
        };
        for field in fields {
            assert!(
                names_field(&errors, &field),
                "{name}: no error on {field}; got {errors}"
            );
        }
    }
}

#[test]
fn readme_marks_exactly_the_invalid_files_as_invalid() {
    for (name, valid) in readme_table() {
        let says_valid = valid == "yes";
        assert_eq!(
            says_valid,
            !name.starts_with("invalid-"),
            "{name}: README says {valid:?}"
        );
    }
}

#[test]
fn admitted_manifests_are_defaulted_and_selected_by_uid() {
    let text = &manifests()["pi.yaml"];
    let valid = create("pi.yaml", text).expect("pi.yaml is valid");
    let job = valid.job();
    assert_eq!(job.spec.backoff_limit, Some(6));
    assert_eq!(job.spec.completions, Some(1));
    let selector = job.spec.selector.as_ref().expect("a generated selector");
    assert_eq!(
        selector
            .match_labels
            .get("batch.kubernetes.io/controller-uid")
            .map(String::as_str),
        Some("uid-pi")
    );
}

//! The shape of `src/`: the module import graph has no cycle, and no
//! function is longer than the limit a reader can hold at once.
//!
//! Modules are files (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`). An
//! edge `a -> b` is a path into `b` written in `a` (`use crate::b::…`,
//! `super::b::…`, `crate::b::…` in code). Edges to an ancestor (a parent
//! re-exporting what a child uses, `crate::Action`) and from a parent to
//! its own children (declaring and re-exporting them) are a module's
//! facade, not a dependency, and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Every `.rs` file under `dir`, as (module path, source).
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name")
            .to_owned();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(name);
            modules(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut p = prefix.to_vec();
            if name != "mod" && name != "lib" {
                p.push(name);
            }
            out.insert(
                p,
                fs::read_to_string(&path).expect("a readable source file"),
            );
        }
    }
}

/// The identifiers of a path starting at `at` in `text` (`a::b::{c, d}`
/// gives `a`, `b`).
fn path_at(text: &str, at: usize) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = &text[at..];
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    segments
}

/// The modules `module` names a path into.
fn uses(module: &[String], source: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (anchor, base) in [("crate::", Vec::new()), ("super::", parent_of(module))] {
        for (at, _) in code.match_indices(anchor) {
            // `self::super::` and `super::super::` resolve further up.
            let mut base = base.clone();
            let mut from = at + anchor.len();
            while code[from..].starts_with("super::") {
                base.pop();
                from += "super::".len();
            }
            let mut path = base;
            path.extend(path_at(&code, from));
            // The longest prefix that is a module.
            while !path.is_empty() && !known.contains(&path) {
                path.pop();
            }
            if !path.is_empty() {
                found.insert(path);
            }
        }
    }
    found
}

fn parent_of(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

fn is_ancestor(a: &[String], b: &[String]) -> bool {
    a.len() < b.len() && b.starts_with(a)
}

/// The import graph of `src/`, facade edges left out.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut sources = BTreeMap::new();
    modules(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &[],
        &mut sources,
    );
    let known: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(m, source)| {
            let edges = uses(m, source, &known)
                .into_iter()
                .filter(|to| to != m && !is_ancestor(to, m) && !is_ancestor(m, to))
                .collect();
            (m.clone(), edges)
        })
        .collect()
}

/// A cycle through `start`, if there is one (depth-first search).
fn cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

fn show(path: &[String]) -> String {
    if path.is_empty() {
        "crate".to_owned()
    } else {
        path.join("::")
    }
}

#[test]
fn the_module_import_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 30, "found only {} modules", g.len());
    assert!(
        g.values().map(BTreeSet::len).sum::<usize>() > 50,
        "found too few imports to be reading src/"
    );
    if let Some(c) = cycle(&g) {
        let text: Vec<String> = c.iter().map(|m| show(m)).collect();
        panic!("the module imports form a cycle: {}", text.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let m = |s: &str| vec![s.to_owned()];
    let mut g = BTreeMap::new();
    g.insert(m("a"), BTreeSet::from([m("b")]));
    g.insert(m("b"), BTreeSet::from([m("c")]));
    g.insert(m("c"), BTreeSet::from([m("a")]));
    assert_eq!(cycle(&g).map(|c| c.len()), Some(4));
    g.insert(m("c"), BTreeSet::new());
    assert_eq!(cycle(&g), None);
}

/// No function in `src/` is longer than 80 lines (signature to closing
/// brace): a reconcile step, a validation rule, a chart part each fit on a
/// screen.
#[test]
fn no_function_in_src_is_longer_than_80_lines() {
    const LIMIT: usize = 80;
    let mut sources = BTreeMap::new();
    modules(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &[],
        &mut sources,
    );
    let mut long = Vec::new();
    for (module, source) in &sources {
        let lines: Vec<&str> = source.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "const fn ",
                "pub const fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || trimmed.ends_with(';') {
                continue;
            }
            // The body ends at the first line that is the closing brace at
            // the signature's indentation.
            let close = format!("{indent}}}");
            if let Some(end) = lines[i..].iter().position(|l| *l == close) {
                if end + 1 > LIMIT {
                    long.push(format!(
                        "{} line {}: {} lines",
                        show(module),
                        i + 1,
                        end + 1
                    ));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {LIMIT} lines:\n{}",
        long.join("\n")
    );
}

//! What every case runner reports, and small helpers they share.

/// The result of running one conformance case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The implementation did what the case expects.
    Passed,
    /// It did not; the text says how the result differs.
    Failed(String),
    /// The case cannot be run yet; the text says why. Does not fail the run.
    Unsupported(String),
}

/// A short, single-line rendering of a YAML node for messages.
#[allow(dead_code)] // not every runner uses it
pub(crate) fn brief(node: &serde_yaml::Value) -> String {
    let text = serde_yaml::to_string(node).unwrap_or_default();
    let line = text.trim().replace('\n', " ");
    const MAX: usize = 200;
    match line.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

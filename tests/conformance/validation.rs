//! `kind: validation` cases: what the API server accepts. The case's `job`
//! (and `old`) are parsed as manifests and validated as given, without
//! defaulting: on create, on update when `old` is given, through the status
//! subresource when `subresource: status`.

use job_controller::validation::{validate_create, validate_status_update, validate_update};
use job_controller::{FieldError, Job, ValidationErrors};
use serde_yaml::Value;

use crate::common::Outcome;

/// One error the case expects to be reported.
struct Expected {
    field: String,
    kind: Option<String>,
    message: Option<String>,
}

/// What the case expects.
enum Expectation {
    Valid,
    Invalid(Vec<Expected>),
}

/// Runs one validation case.
pub(crate) fn run(case: &Value) -> Outcome {
    match check(case) {
        Ok(outcome) => outcome,
        Err(reason) => Outcome::Failed(reason),
    }
}

fn check(case: &Value) -> Result<Outcome, String> {
    let expectation = expectation(case)?;
    let job = job_node(case, "job")?.ok_or("the case has no `job`")?;
    let old = job_node(case, "old")?;
    let result = match (case.get("subresource").map(Value::as_str), old) {
        (None, None) => validate_create(&job),
        (None, Some(old)) => validate_update(&job, &old),
        (Some(Some("status")), Some(old)) => validate_status_update(&job, &old),
        (Some(Some("status")), None) => return Err("a status update needs an `old` Job".into()),
        (Some(other), _) => {
            return Ok(Outcome::Unsupported(format!(
                "subresource {} is not modelled",
                other.unwrap_or("(not a string)")
            )));
        }
    };
    Ok(compare(&expectation, result))
}

/// Parses `case[key]` as a Job manifest, if present.
fn job_node(case: &Value, key: &str) -> Result<Option<Job>, String> {
    let Some(node) = case.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text =
        serde_yaml::to_string(node).map_err(|e| format!("`{key}` cannot be re-serialized: {e}"))?;
    job_controller::parse_job(&text)
        .map(Some)
        .map_err(|e| format!("`{key}` does not parse as a Job: {e}"))
}

fn text_field(node: &Value, key: &str) -> Result<Option<String>, String> {
    match node.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{key}` should be a string, not {other:?}")),
    }
}

fn expectation(case: &Value) -> Result<Expectation, String> {
    let expect = case.get("expect").ok_or("the case has no `expect`")?;
    let valid = match expect.get("valid") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => return Err(format!("`expect.valid` should be a boolean, not {other:?}")),
    };
    let errors = match expect.get("errors") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => {
            items.iter().map(expected_error).collect::<Result<_, _>>()?
        }
        Some(other) => return Err(format!("`expect.errors` should be a list, not {other:?}")),
    };
    match (valid, errors.is_empty()) {
        (Some(true), true) => Ok(Expectation::Valid),
        (Some(true), false) => Err("`expect` says valid but lists errors".into()),
        (_, false) | (Some(false), true) => Ok(Expectation::Invalid(errors)),
        (None, true) => Err("`expect` gives neither `valid` nor `errors`".into()),
    }
}

fn expected_error(node: &Value) -> Result<Expected, String> {
    Ok(Expected {
        field: text_field(node, "field")?.ok_or("an expected error has no `field`")?,
        kind: text_field(node, "type")?,
        message: text_field(node, "message")?,
    })
}

fn matches(want: &Expected, got: &FieldError) -> bool {
    got.field == want.field
        && want.kind.as_deref().is_none_or(|k| got.kind.as_str() == k)
        && want
            .message
            .as_deref()
            .is_none_or(|m| got.detail.contains(m) || got.to_string().contains(m))
}

fn describe(want: &Expected) -> String {
    let mut s = want.field.clone();
    if let Some(k) = &want.kind {
        s.push_str(&format!(" {k}"));
    }
    if let Some(m) = &want.message {
        s.push_str(&format!(" {m:?}"));
    }
    s
}

fn render(errors: &ValidationErrors) -> String {
    let items: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join("; "))
}

fn compare(expectation: &Expectation, result: Result<(), ValidationErrors>) -> Outcome {
    match (expectation, result) {
        (Expectation::Valid, Ok(())) => Outcome::Passed,
        (Expectation::Valid, Err(errors)) => {
            Outcome::Failed(format!("expected valid, got {}", render(&errors)))
        }
        (Expectation::Invalid(want), Ok(())) => {
            let listed: Vec<String> = want.iter().map(describe).collect();
            Outcome::Failed(format!(
                "expected errors [{}], the Job was accepted",
                listed.join("; ")
            ))
        }
        (Expectation::Invalid(want), Err(errors)) => {
            let missing: Vec<String> = want
                .iter()
                .filter(|w| !errors.errors.iter().any(|g| matches(w, g)))
                .map(describe)
                .collect();
            if missing.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed(format!(
                    "missing [{}]; got {}",
                    missing.join("; "),
                    render(&errors)
                ))
            }
        }
    }
}

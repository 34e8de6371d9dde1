//! The YAML/JSON edge. This is the only module that touches `serde_yaml`
//! (unmaintained upstream): swapping the parser means changing this file.

use serde::Deserialize;

use crate::api::Job;
use crate::error::ParseError;

/// Inputs larger than this are refused before parsing: a Job manifest is a
/// few kilobytes, and the API server itself caps request bodies at 3 MiB.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// Parses one Job from YAML or JSON (JSON is YAML).
///
/// ```
/// let job = job_controller::parse_job("
/// apiVersion: batch/v1
/// kind: Job
/// metadata: {name: pi}
/// spec:
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{name: pi, image: perl}]
/// ").unwrap();
/// assert_eq!(job.metadata.name, "pi");
/// ```
pub fn parse_job(text: &str) -> Result<Job, ParseError> {
    let mut jobs = parse_jobs(text)?;
    match jobs.len() {
        0 => Err(ParseError::Empty),
        _ => Ok(jobs.swap_remove(0)),
    }
}

/// Parses every document of a multi-document YAML stream as a Job.
/// Empty documents (a stray `---`) are skipped.
pub fn parse_jobs(text: &str) -> Result<Vec<Job>, ParseError> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(ParseError::TooLarge {
            size: text.len(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    let mut jobs = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = serde_yaml::Value::deserialize(doc).map_err(convert)?;
        if value.is_null() {
            continue;
        }
        check_kind(&value)?;
        let job: Job = deserialize_with_location(text, index, value)?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// Serializes a Job as YAML.
pub fn to_yaml(job: &Job) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_yaml::to_string(job).unwrap_or_default()
}

/// Serializes any API value (a status, a pod) as YAML.
pub fn value_to_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

fn check_kind(value: &serde_yaml::Value) -> Result<(), ParseError> {
    let field = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    // Snippets without apiVersion/kind (tests, conformance cases) are taken as Jobs.
    let ok = (api_version.is_empty() || api_version == "batch/v1")
        && (kind.is_empty() || kind == "Job");
    if ok {
        Ok(())
    } else {
        Err(ParseError::NotAJob { api_version, kind })
    }
}

/// Converting from an already-parsed `Value` loses positions and paths, so on
/// error the same document is parsed again straight into a `Job`, which
/// reports both.
fn deserialize_with_location(
    text: &str,
    index: usize,
    value: serde_yaml::Value,
) -> Result<Job, ParseError> {
    Job::deserialize(value).map_err(|first| {
        let located = serde_yaml::Deserializer::from_str(text)
            .nth(index)
            .and_then(|doc| Job::deserialize(doc).err());
        convert(located.unwrap_or(first))
    })
}

fn strip_location(msg: &str) -> &str {
    msg.find(" at line ").map_or(msg, |i| &msg[..i])
}
fn convert(err: serde_yaml::Error) -> ParseError {
    let (line, column) = err
        .location()
        .map_or((None, None), |l| (Some(l.line()), Some(l.column())));
    let full = err.to_string();
    let msg = strip_location(&full);
    // serde_yaml prefixes nested errors with their path: "spec.template: ...".
    let (path, message) = match msg.split_once(": ") {
        Some((p, m)) if !p.contains(' ') && !p.is_empty() => (Some(p.to_owned()), m.to_owned()),
        _ => (None, msg.to_owned()),
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let path = match &path {
            Some(p) => format!("{p}.{name}"),
            None => name.to_owned(),
        };
        return ParseError::UnknownField { path, line, column };
    }
    ParseError::Syntax {
        path,
        message,
        line,
        column,
    }
}

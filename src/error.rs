//! Errors. Faults in untrusted input (a manifest that does not parse, a Job
//! the API server would reject) are kept apart from misuse of the machine's
//! API (time running backwards, an event for another Job).

use std::fmt;

use thiserror::Error;

/// A manifest could not be read as a Job.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not well-formed YAML/JSON, or a field has the wrong type,
    /// an out-of-range number or an unknown name.
    #[error("{message}{}", location_suffix(*line, *column))]
    Syntax {
        /// Dotted path of the offending field, when known (`spec.parallelism`).
        path: Option<String>,
        /// What is wrong.
        message: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
    },
    /// A field that batch/v1 does not define (strict field validation).
    #[error("unknown field \"{path}\"{}", location_suffix(*line, *column))]
    UnknownField {
        /// Dotted path of the unknown field.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
    },
    /// The document uses a YAML feature that the crate refuses rather than
    /// guesses at: a local tag (`!foo`, `!`) on a key or a value. Kubernetes'
    /// YAML reader reads a scalar under such a tag as its bare text (`!n 3`
    /// is the string `"3"`), which the parser cannot reproduce; ignoring the
    /// tag would read another Job than the API server does.
    #[error("{}{message}{}", path_prefix(path.as_deref()), location_suffix(*line, *column))]
    Unsupported {
        /// Dotted path of the offending key or value (`None`: the document itself).
        path: Option<String>,
        /// What is not supported.
        message: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
    },
    /// The document is not a `batch/v1` `Job`.
    #[error(
        "expected apiVersion batch/v1 and kind Job, found apiVersion {api_version:?} kind {kind:?}"
    )]
    NotAJob {
        /// The document's apiVersion.
        api_version: String,
        /// The document's kind.
        kind: String,
    },
    /// The input holds no document at all.
    #[error("the input holds no YAML document")]
    Empty,
    /// The input is larger than the parser accepts.
    #[error("the input is {size} bytes; at most {limit} are accepted")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

fn path_prefix(path: Option<&str>) -> String {
    path.map_or_else(String::new, |p| format!("{p}: "))
}

fn location_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l} column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

/// The kind of a validation error, as the API server names it
/// (`k8s.io/apimachinery/pkg/util/validation/field`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required field is missing.
    Required,
    /// A value is malformed or out of range.
    Invalid,
    /// A value is not one of the supported ones.
    NotSupported,
    /// The field may not be set or changed here.
    Forbidden,
    /// A value appears twice.
    Duplicate,
    /// A value is too long.
    TooLong,
    /// A list has too many items.
    TooMany,
}

impl ErrorKind {
    /// The name upstream uses (`Required`, `Invalid`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Required => "Required",
            ErrorKind::Invalid => "Invalid",
            ErrorKind::NotSupported => "NotSupported",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Duplicate => "Duplicate",
            ErrorKind::TooLong => "TooLong",
            ErrorKind::TooMany => "TooMany",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validation error: which field, what kind, the offending value and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path as upstream writes it: `spec.podFailurePolicy.rules[0].action`,
    /// `metadata.labels[app]`.
    pub field: String,
    /// Error kind.
    pub kind: ErrorKind,
    /// The offending value rendered as text (empty when not applicable).
    pub value: String,
    /// Detail message.
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.kind)?;
        if !self.value.is_empty() {
            write!(f, ": {:?}", self.value)?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Every problem the API server would report for a Job (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the Job is invalid: {}", join(.errors))]
pub struct ValidationErrors {
    /// The errors, in the order upstream reports them.
    pub errors: Vec<FieldError>,
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    /// Whether some error is about `field` with this kind.
    pub fn has(&self, field: &str, kind: ErrorKind) -> bool {
        self.errors
            .iter()
            .any(|e| e.field == field && e.kind == kind)
    }
}

/// Any error from reading a manifest into a validated Job.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifest did not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The Job did not validate.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

//! Field paths and error constructors, mirroring apimachinery's
//! `util/validation/field` package so that paths and messages read exactly as
//! the API server writes them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::{ErrorKind, FieldError};

/// A field path such as `spec.template.metadata.labels[app]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    /// A path starting at a top-level field (`metadata`, `spec`, `status`).
    pub(crate) fn new(root: &str) -> Path {
        Path(root.to_owned())
    }

    /// `parent.name`.
    pub(crate) fn child(&self, name: &str) -> Path {
        Path(format!("{}.{name}", self.0))
    }

    /// `parent[i]`.
    pub(crate) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }

    /// `parent[key]` (map entries are written without quotes upstream).
    pub(crate) fn key(&self, key: &str) -> Path {
        Path(format!("{}[{key}]", self.0))
    }

    /// The path as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

fn error(path: &Path, kind: ErrorKind, value: String, detail: impl Into<String>) -> FieldError {
    FieldError {
        field: path.as_str().to_owned(),
        kind,
        value,
        detail: detail.into(),
    }
}

/// `field.Required`.
pub(crate) fn required(path: &Path, detail: impl Into<String>) -> FieldError {
    error(path, ErrorKind::Required, String::new(), detail)
}

/// `field.Invalid`.
pub(crate) fn invalid(
    path: &Path,
    value: impl Into<String>,
    detail: impl Into<String>,
) -> FieldError {
    error(path, ErrorKind::Invalid, value.into(), detail)
}

/// `field.Forbidden`.
pub(crate) fn forbidden(path: &Path, detail: impl Into<String>) -> FieldError {
    error(path, ErrorKind::Forbidden, String::new(), detail)
}

/// `field.Duplicate` (upstream gives no detail).
pub(crate) fn duplicate(path: &Path, value: impl Into<String>) -> FieldError {
    error(path, ErrorKind::Duplicate, value.into(), "")
}

/// `field.NotSupported`: the detail lists the supported values, each quoted,
/// in the order given.
pub(crate) fn not_supported(
    path: &Path,
    value: impl Into<String>,
    supported: &[&str],
) -> FieldError {
    let detail = if supported.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = supported.iter().map(|v| go_quote(v)).collect();
        format!("supported values: {}", quoted.join(", "))
    };
    error(path, ErrorKind::NotSupported, value.into(), detail)
}

/// `field.TooLong` (current apimachinery wording, in bytes).
pub(crate) fn too_long(path: &Path, value: impl Into<String>, max: usize) -> FieldError {
    let unit = if max == 1 { "byte" } else { "bytes" };
    error(
        path,
        ErrorKind::TooLong,
        value.into(),
        format!("may not be more than {max} {unit}"),
    )
}

/// `field.TooMany`: the value is the actual number of items.
pub(crate) fn too_many(path: &Path, actual: usize, max: usize) -> FieldError {
    error(
        path,
        ErrorKind::TooMany,
        actual.to_string(),
        format!("must have at most {max} items"),
    )
}

/// The message of `field.ErrorTypeInvalid` for negative numbers
/// (`apimachinery/pkg/api/validation: IsNegativeErrorMsg`).
pub(crate) const IS_NEGATIVE: &str = "must be greater than or equal to 0";

/// `FieldImmutableErrorMsg`.
pub(crate) const IMMUTABLE: &str = "field is immutable";

/// `ValidateNonnegativeField`.
pub(crate) fn non_negative(value: i64, path: &Path, errs: &mut Vec<FieldError>) {
    if value < 0 {
        errs.push(invalid(path, value.to_string(), IS_NEGATIVE));
    }
}

/// Quotes a string as Go's `strconv.Quote` (and `%q`) does, so messages that
/// embed user input read as upstream's.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn go_quote_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[{}]", quoted.join(" "))
}

/// A string map rendered as JSON (sorted keys), for error values.
pub(crate) fn render_map(map: &BTreeMap<String, String>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
        .collect();
    format!("{{{}}}", entries.join(","))
}

/// A list of integers rendered as JSON, for error values.
pub(crate) fn render_ints(values: &[i32]) -> String {
    let items: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(","))
}

/// An optional value rendered for an error (`null` when unset, as upstream
/// prints a nil pointer).
pub(crate) fn render_opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_as_upstream() {
        let p = Path::new("spec")
            .child("podFailurePolicy")
            .child("rules")
            .index(0)
            .child("onExitCodes");
        assert_eq!(p.as_str(), "spec.podFailurePolicy.rules[0].onExitCodes");
        let k = Path::new("spec")
            .child("template")
            .child("metadata")
            .child("labels")
            .key("batch.kubernetes.io/controller-uid");
        assert_eq!(
            k.as_str(),
            "spec.template.metadata.labels[batch.kubernetes.io/controller-uid]"
        );
    }

    #[test]
    fn not_supported_lists_quoted_values() {
        let e = not_supported(&Path::new("x"), "y", &["Failed", "TerminatingOrFailed"]);
        assert_eq!(
            e.detail,
            r#"supported values: "Failed", "TerminatingOrFailed""#
        );
    }

    #[test]
    fn go_quote_escapes_like_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\x01""#);
        assert_eq!(go_quote_list(&["In", "NotIn"]), r#"["In" "NotIn"]"#);
    }

    #[test]
    fn too_long_and_too_many_use_current_wording() {
        assert_eq!(
            too_long(&Path::new("x"), "v", 63).detail,
            "may not be more than 63 bytes"
        );
        assert_eq!(
            too_many(&Path::new("x"), 21, 20).detail,
            "must have at most 20 items"
        );
    }
}

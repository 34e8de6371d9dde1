//! Name and label syntax checks with apimachinery's messages
//! (`util/validation`, `api/validate/content`). Each check returns the list
//! of messages upstream would return; callers wrap them in field errors.

use crate::error::FieldError;

use super::field::{self, Path};

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const LABEL_KEY_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const HTTP_PATH_FMT: &str = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";

/// `EmptyError()`.
const EMPTY: &str = "must be non-empty";

/// `MaxLenError`.
fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `RegexError`: the message, examples and the regex. The doubled space
/// before "or" is upstream's.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(ex);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(fmt);
    out.push_str("')");
    out
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?` in full.
fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_lower_alnum(first)
                && is_lower_alnum(last)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// Matches the subdomain regex: labels joined by dots (no per-label length
/// limit, as in the regex).
fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_error(DNS1123_LABEL_MAX));
    }
    if !matches_dns1123_label(s) {
        // A valid subdomain that is not a label can only have dots in it.
        if matches_dns1123_subdomain(s) {
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !matches_dns1123_subdomain(s) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// The name part of a label key: `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn matches_label_key_name(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            alnum(first)
                && alnum(last)
                && b.iter()
                    .all(|&c| alnum(c) || c == b'-' || c == b'_' || c == b'.')
        }
        _ => false,
    }
}

/// `IsQualifiedName` (= `content.IsLabelKey`): an optional DNS-subdomain
/// prefix and `/`, then a name of at most 63 characters.
pub(crate) fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let name = match s.split_once('/') {
        None => s,
        Some((_, suffix)) if suffix.contains('/') => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
        Some((prefix, suffix)) => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {EMPTY}"));
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            suffix
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {EMPTY}"));
    } else if name.len() > LABEL_KEY_NAME_MAX {
        errs.push(format!("name part {}", max_len_error(LABEL_KEY_NAME_MAX)));
    }
    if !matches_label_key_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_ERR,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `IsValidLabelValue` (= `content.IsLabelValue`): empty, or a label-key name.
pub(crate) fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > LABEL_VALUE_MAX {
        errs.push(max_len_error(LABEL_VALUE_MAX));
    }
    if !s.is_empty() && !matches_label_key_name(s) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `NameIsDNSSubdomain` with `prefix` (a generateName): a trailing dash is
/// allowed because random characters will follow it. Upstream masks it by
/// replacing the last two bytes with `a`.
pub(crate) fn dns1123_subdomain_prefix(s: &str) -> Vec<String> {
    let bytes = s.as_bytes();
    if bytes.len() > 1 && s.ends_with('-') {
        let mut masked = bytes[..bytes.len() - 2].to_vec();
        masked.push(b'a');
        return dns1123_subdomain(&String::from_utf8_lossy(&masked));
    }
    dns1123_subdomain(s)
}

fn matches_http_path(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&c))
}

/// `IsDomainPrefixedPath`: `host/path` with a DNS-subdomain host and an
/// HTTP path (used for `spec.managedBy`).
pub(crate) fn domain_prefixed_path(path: &Path, value: &str) -> Vec<FieldError> {
    if value.is_empty() {
        return vec![field::required(path, "")];
    }
    let (host, rest) = match value.split_once('/') {
        Some((h, r)) if !h.is_empty() && !r.is_empty() => (h, r),
        _ => {
            return vec![field::invalid(
                path,
                value,
                "must be a domain-prefixed path (such as \"acme.io/foo\")",
            )];
        }
    };
    let mut errs: Vec<FieldError> = dns1123_subdomain(host)
        .into_iter()
        .map(|m| field::invalid(path, host, m))
        .collect();
    if !matches_http_path(rest) {
        errs.push(field::invalid(
            path,
            rest,
            regex_error("Invalid path", HTTP_PATH_FMT, &[]),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_label_accepts_lowercase_alnum_and_inner_dashes() {
        assert!(dns1123_label("my-name-9").is_empty());
        assert!(dns1123_label("0").is_empty());
        assert!(!dns1123_label("-a").is_empty());
        assert!(!dns1123_label("a-").is_empty());
        assert!(!dns1123_label("Abc").is_empty());
        assert!(!dns1123_label("").is_empty());
    }

    #[test]
    fn dns_label_reports_dots_separately() {
        assert_eq!(
            dns1123_label("a.b"),
            vec!["must not contain dots".to_owned()]
        );
    }

    #[test]
    fn dns_label_max_length_is_63() {
        assert!(dns1123_label(&"a".repeat(63)).is_empty());
        let errs = dns1123_label(&"a".repeat(64));
        assert_eq!(errs, vec!["must be no more than 63 characters".to_owned()]);
    }

    #[test]
    fn dns_subdomain_message_is_upstreams() {
        let errs = dns1123_subdomain("Bad_Name");
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0],
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        assert!(dns1123_subdomain("a.b-c.d").is_empty());
        assert!(!dns1123_subdomain("a..b").is_empty());
        assert!(!dns1123_subdomain(&"a".repeat(254)).is_empty());
    }

    #[test]
    fn qualified_name_empty_name_part() {
        let errs = qualified_name("");
        assert!(errs.contains(&"name part must be non-empty".to_owned()));
    }

    #[test]
    fn qualified_name_prefix_must_be_subdomain() {
        assert!(qualified_name("batch.kubernetes.io/job-name").is_empty());
        assert!(qualified_name("/x")[0].starts_with("prefix part must be non-empty"));
        assert!(qualified_name("Bad_Prefix/x")[0].starts_with("prefix part a lowercase RFC 1123"));
    }

    #[test]
    fn qualified_name_at_most_one_slash() {
        let errs = qualified_name("a/b/c");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("a valid label key must consist of"));
        assert!(errs[0].contains("(e.g. 'MyName',  or 'my.name',  or '123-abc', "));
    }

    #[test]
    fn label_value_may_be_empty_but_not_malformed() {
        assert!(label_value("").is_empty());
        assert!(label_value("my_value.1").is_empty());
        assert!(!label_value("<uid>").is_empty());
        assert!(!label_value(&"a".repeat(64)).is_empty());
    }

    #[test]
    fn generate_name_may_end_with_dash() {
        assert!(dns1123_subdomain_prefix("pi-").is_empty());
        assert!(!dns1123_subdomain_prefix("Pi-").is_empty());
        // Multi-byte input is masked without panicking.
        assert!(!dns1123_subdomain_prefix("é-").is_empty());
    }

    #[test]
    fn domain_prefixed_path_rules() {
        let p = Path::new("spec").child("managedBy");
        assert!(domain_prefixed_path(&p, "example.com/foo").is_empty());
        let errs = domain_prefixed_path(&p, "invalid custom controller name");
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].detail,
            "must be a domain-prefixed path (such as \"acme.io/foo\")"
        );
        assert!(!domain_prefixed_path(&p, "Example.com/foo").is_empty());
        assert!(
            domain_prefixed_path(&p, "example.com/a b")[0]
                .detail
                .starts_with("Invalid path")
        );
        assert_eq!(
            domain_prefixed_path(&p, "")[0].kind,
            crate::ErrorKind::Required
        );
    }
}

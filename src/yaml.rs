//! The YAML/JSON edge. This is the only module that touches `serde_yaml`
//! (unmaintained upstream): swapping the parser means changing this file.
//!
//! A document is read in two steps, as the API server does (YAML is turned
//! into JSON, then JSON into the typed object):
//!
//! 1. the text is parsed into a generic `serde_yaml::Value` (syntax errors,
//!    with line and column; serde_yaml's nesting limit of 128 levels);
//! 2. the value is converted into a [`Job`] through a deserializer that
//!    records the path of the field that failed; the line and column of that
//!    field are then looked up in the text.
//!
//! Step 2 is strict as JSON is: a number or a boolean is not a string
//! (`labels: {a: true}` is rejected, as `kubectl` rejects it), while
//! mapping keys are always text (`labels: {1: a}` is label `"1"`), as
//! `sigs.k8s.io/yaml` converts them; `.nan` and `.inf` are refused, as JSON
//! has no such numbers.
//!
//! Between the two steps the value is made canonical ([`canonicalise`]):
//! every key becomes its text, and what has no single meaning is refused
//! with the path it is at — a local tag (`!foo`, `!`) on a key or a value,
//! two keys with the same text (`1` and `"1"`). The apiVersion/kind check
//! and the typed decoding then read that one tree, so they cannot disagree
//! about what the document says. YAML's own tags (`!!str`, `!!int`, …) are
//! resolved by serde_yaml while parsing and leave no trace in the value:
//! `!!str 3` is the string `"3"`, as for kubectl.
//!
//! Merge keys are not applied (serde_yaml does not, and a quoted `'<<'`,
//! which `to_yaml` writes for a field of that name, cannot be told from
//! one): `<<` is a key like any other, unknown to the Job and its spec.
//!
//! Aliases are expanded by serde_yaml, which caps the number of alias
//! expansions but not their size: `[*a, *a, …]` with a large anchor `a`
//! grows quadratically. So a stream with aliases is first walked without
//! being stored, and refused if it expands to more nodes than a stream of
//! the same size without aliases could hold.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_yaml::Value as Yaml;

use crate::api::Job;
use crate::api::unknown::{Segment, render, unknown_field_paths};
use crate::error::ParseError;

/// Inputs larger than this are refused before parsing: a Job manifest is a
/// few kilobytes, and the API server itself caps request bodies at 3 MiB.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// A stream with aliases may expand to at most this many nodes, or to as
/// many nodes as it has bytes if that is more (a stream without aliases has
/// fewer nodes than bytes).
const MIN_EXPANDED_NODES: usize = 1_000_000;

/// What parsing does with fields this crate does not model, as the API
/// server's `fieldValidation` parameter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FieldValidation {
    /// An unknown field is an error naming it, with its line and column
    /// ([`ParseError::UnknownField`]): for manifests a person wrote, where
    /// it is a typo (kubectl's `--validate=strict`). The default.
    #[default]
    Strict,
    /// Unknown fields are kept (in the `extra` maps) and written back
    /// unchanged: for objects read from the API, which a newer server may
    /// extend. [`Job::unknown_fields`] lists them, to warn about.
    Ignore,
}

/// Parses one Job from YAML or JSON (JSON is YAML), strictly: an unknown
/// field is an error ([`FieldValidation::Strict`]; see [`parse_job_with`]).
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
    parse_job_with(text, FieldValidation::Strict)
}

/// [`parse_job`], with unknown fields treated as `validation` says.
///
/// ```
/// use job_controller::{FieldValidation, ParseError, parse_job, parse_job_with};
///
/// // A Job from a newer cluster (`kubectl get job -o yaml`).
/// let text = "metadata: {name: pi}\nspec:\n  scheduling: {gang: true}\n";
/// let job = parse_job_with(text, FieldValidation::Ignore).unwrap();
/// assert_eq!(job.unknown_fields(), ["spec.scheduling"]);
/// assert!(job_controller::to_yaml(&job).contains("scheduling:"));
///
/// // The same text as a manifest someone wrote: `scheduling` is a typo.
/// let err = parse_job(text).unwrap_err();
/// assert!(matches!(err, ParseError::UnknownField { path, line: Some(3), .. } if path == "spec.scheduling"));
/// ```
pub fn parse_job_with(text: &str, validation: FieldValidation) -> Result<Job, ParseError> {
    let mut jobs = parse_jobs_with(text, validation)?;
    match jobs.len() {
        0 => Err(ParseError::Empty),
        _ => Ok(jobs.swap_remove(0)),
    }
}

/// Parses every document of a multi-document YAML stream as a Job.
/// Empty documents (a stray `---`) are skipped.
///
/// ```
/// use job_controller::{parse_jobs, ParseError};
/// let jobs = parse_jobs("metadata: {name: a}\n---\n---\nmetadata: {name: b}\n").unwrap();
/// assert_eq!(jobs.len(), 2);
///
/// let err = parse_jobs("spec:\n  parallelism: many\n").unwrap_err();
/// assert!(matches!(err, ParseError::Syntax { path: Some(p), line: Some(2), .. } if p == "spec.parallelism"));
/// ```
pub fn parse_jobs(text: &str) -> Result<Vec<Job>, ParseError> {
    parse_jobs_with(text, FieldValidation::Strict)
}

/// [`parse_jobs`], with unknown fields treated as `validation` says.
pub fn parse_jobs_with(text: &str, validation: FieldValidation) -> Result<Vec<Job>, ParseError> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(ParseError::TooLarge {
            size: text.len(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    // libyaml, told the input is UTF-8, would read a byte order mark as a
    // character of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('&') && text.contains('*') {
        check_expansion(text)?;
    }
    let mut jobs = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Yaml::deserialize(doc).map_err(convert)?;
        // Canonical before anything reads it: the kind check below and the
        // typed decoding must see the same keys and values (a tagged key
        // `!e apiVersion` once hid `apiVersion: a8` from the check, which
        // looked keys up by plain string, while the decoding untagged it).
        // A tagged empty document (`--- !e`) is refused here too, not
        // skipped as empty.
        let doc = canonicalise(value).map_err(|refusal| refusal.locate(text, index))?;
        if matches!(doc.0, Yaml::Null) {
            continue;
        }
        // Checked on the tree first, so that another kind of object is
        // reported as such rather than by its first unknown field...
        check_kind(doc.field("apiVersion"), doc.field("kind"))?;
        let job = to_job(text, index, doc)?;
        if validation == FieldValidation::Strict {
            reject_unknown_fields(text, index, &job)?;
        }
        // ...and again on what was decoded: this is the apiVersion and kind
        // the Job carries, whatever the tree looked like.
        check_kind(&job.api_version, &job.kind)?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// Serializes a Job as YAML that YAML 1.1 readers (kubectl's) and YAML 1.2
/// readers read alike: see [`value_to_yaml`].
pub fn to_yaml(job: &Job) -> String {
    value_to_yaml(job)
}

/// Serializes any API value (a Job, a status, a pod) as block-style YAML.
///
/// Every string that a YAML 1.1 or 1.2 reader could take for something else
/// — `no`, `on`, `y`, `1_000`, `12:30`, `0x10`, `~`, a date — is quoted, so
/// the text means the same to kubectl (YAML 1.1) as to this crate.
///
/// ```
/// let mut job = job_controller::parse_job("metadata: {name: x, labels: {answer: 'no'}}").unwrap();
/// let text = job_controller::to_yaml(&job);
/// assert!(text.contains("answer: 'no'"));
/// assert_eq!(job_controller::parse_job(&text).unwrap(), job);
/// ```
pub fn value_to_yaml<T: serde::Serialize>(value: &T) -> String {
    // Plain data with string keys always converts.
    match serde_yaml::to_value(value) {
        Ok(tree) => {
            let mut out = String::new();
            emit::node(&mut out, &tree, 0, emit::Position::Document);
            out
        }
        Err(_) => String::new(),
    }
}

/// A small block-style emitter, so quoting is ours to decide.
mod emit {
    use serde_yaml::Value as Yaml;

    /// Where a node starts.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(super) enum Position {
        /// At the start of the document.
        Document,
        /// After `key:` (a scalar follows on the same line, a collection on
        /// the next lines).
        AfterKey,
        /// After `- ` (the node's first line continues this line).
        AfterDash,
    }

    fn is_collection(v: &Yaml) -> bool {
        match v {
            Yaml::Mapping(m) => !m.is_empty(),
            Yaml::Sequence(s) => !s.is_empty(),
            Yaml::Tagged(t) => is_collection(&t.value),
            _ => false,
        }
    }

    pub(super) fn node(out: &mut String, v: &Yaml, indent: usize, at: Position) {
        match v {
            Yaml::Tagged(t) => node(out, &t.value, indent, at),
            Yaml::Mapping(m) if !m.is_empty() => {
                let mut first = true;
                if at == Position::AfterKey {
                    out.push('\n');
                }
                for (k, item) in m {
                    if !(first && at == Position::AfterDash) {
                        pad(out, indent);
                    }
                    first = false;
                    let mut key = String::new();
                    scalar(&mut key, k);
                    // YAML caps implicit keys at 1024 characters, and the
                    // parser counts them in bytes; long keys take the
                    // explicit `? key` form, always valid, with a margin.
                    let explicit = key.len() > 1000;
                    if explicit {
                        out.push_str("? ");
                        out.push_str(&key);
                        out.push('\n');
                        pad(out, indent);
                    } else {
                        out.push_str(&key);
                    }
                    out.push(':');
                    if is_collection(item) {
                        let child = match item {
                            // Sequences sit at their key's indentation.
                            Yaml::Sequence(_) if !explicit => indent,
                            _ => indent + 2,
                        };
                        node(out, item, child, Position::AfterKey);
                    } else {
                        out.push(' ');
                        scalar(out, item);
                        out.push('\n');
                    }
                }
            }
            Yaml::Sequence(s) if !s.is_empty() => {
                let mut first = true;
                if at == Position::AfterKey {
                    out.push('\n');
                }
                for item in s {
                    if !(first && at == Position::AfterDash) {
                        pad(out, indent);
                    }
                    first = false;
                    out.push_str("- ");
                    if is_collection(item) {
                        node(out, item, indent + 2, Position::AfterDash);
                    } else {
                        scalar(out, item);
                        out.push('\n');
                    }
                }
            }
            other => {
                if at == Position::AfterKey {
                    out.push(' ');
                }
                scalar(out, other);
                out.push('\n');
            }
        }
    }

    fn pad(out: &mut String, indent: usize) {
        out.extend(std::iter::repeat_n(' ', indent));
    }

    fn scalar(out: &mut String, v: &Yaml) {
        match v {
            Yaml::Null => out.push_str("null"),
            Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Yaml::Number(n) => {
                let text = serde_yaml::to_string(n).unwrap_or_default();
                out.push_str(text.trim_end());
            }
            Yaml::String(s) => string(out, s),
            Yaml::Mapping(_) => out.push_str("{}"),
            Yaml::Sequence(_) => out.push_str("[]"),
            Yaml::Tagged(t) => scalar(out, &t.value),
        }
    }

    fn string(out: &mut String, s: &str) {
        if plain_is_safe(s) {
            out.push_str(s);
        } else if !s.chars().any(needs_escape) {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        } else {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }

    /// Characters YAML does not allow unescaped (outside its printable set)
    /// or reads as line breaks.
    fn needs_escape(c: char) -> bool {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
    }

    /// Whether `s` can be written bare and still be read as this string by
    /// YAML 1.1 and 1.2 readers. Deliberately conservative: a bare scalar
    /// must start with a letter, `_` or `/`, use a small set of characters,
    /// hold no `: ` or ` #`, and not be a YAML 1.1 boolean or null word.
    fn plain_is_safe(s: &str) -> bool {
        let Some(first) = s.chars().next() else {
            return false;
        };
        if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
            return false;
        }
        if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
            return false;
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || " _-./:=+()$;<>?^%@".contains(c);
        if !s.chars().all(allowed) {
            return false;
        }
        const WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
        !WORDS.contains(&s.to_ascii_lowercase().as_str())
    }
}

/// Refuses a document whose apiVersion or kind is not that of a Job.
fn check_kind(api_version: &str, kind: &str) -> Result<(), ParseError> {
    // Snippets without apiVersion/kind (tests, conformance cases) are taken as Jobs.
    let ok =
        (api_version.is_empty() || api_version == "batch/v1") && (kind.is_empty() || kind == "Job");
    if ok {
        Ok(())
    } else {
        Err(ParseError::NotAJob {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        })
    }
}

/// Converts document `index` of `text`, already parsed and made canonical.
fn to_job(text: &str, index: usize, doc: Canonical) -> Result<Job, ParseError> {
    let track = Track::default();
    let err = match Job::deserialize(Tracked {
        value: doc.0,
        path: &Path::Root,
        track: &track,
    }) {
        Ok(job) => return Ok(job),
        Err(err) => err,
    };
    let path = track.failed.into_inner().unwrap_or_default();
    // Errors from a `serde_yaml::Value` carry no location of their own.
    // (Unknown fields are not errors of the decoding: every object keeps
    // them, and strict parsing reports them afterwards,
    // `reject_unknown_fields`.)
    let message = err.to_string();
    let (line, column) = locate(text, index, &path, false, 0);
    Err(ParseError::Syntax {
        path: (!path.is_empty()).then(|| render(&path)),
        message,
        line,
        column,
    })
}

/// Strict parsing: the first unknown field in the text, if any, is an
/// error naming it.
fn reject_unknown_fields(text: &str, index: usize, job: &Job) -> Result<(), ParseError> {
    let first = unknown_field_paths(job)
        .into_iter()
        .map(|path| {
            let (line, column) = locate(text, index, &path, true, 0);
            // Unlocated last: the text should always have them.
            ((line.is_none(), line, column), path)
        })
        .min_by(|a, b| a.0.cmp(&b.0));
    match first {
        None => Ok(()),
        Some(((_, line, column), path)) => Err(ParseError::UnknownField {
            path: render(&path),
            line,
            column,
        }),
    }
}

fn strip_location(msg: &str) -> &str {
    msg.find(" at line ").map_or(msg, |i| &msg[..i])
}

/// Converts an error of step 1 (syntax, nesting, aliases).
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
    ParseError::Syntax {
        path,
        message,
        line,
        column,
    }
}

// ---------------------------------------------------------------------------
// Paths

/// The path of the value being converted, borrowed from the callers' frames.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut cur = self;
        loop {
            match cur {
                Path::Root => break,
                Path::Key(parent, k) => {
                    out.push(Segment::Key((*k).to_owned()));
                    cur = parent;
                }
                Path::Index(parent, i) => {
                    out.push(Segment::Index(*i));
                    cur = parent;
                }
            }
        }
        out.reverse();
        out
    }
}

/// Where the conversion failed: the deepest path that reported an error.
#[derive(Default)]
struct Track {
    failed: RefCell<Option<Vec<Segment>>>,
}

impl Track {
    fn on_err<T>(
        &self,
        result: Result<T, serde_yaml::Error>,
        path: &Path<'_>,
    ) -> Result<T, serde_yaml::Error> {
        if result.is_err() {
            let mut failed = self.failed.borrow_mut();
            if failed.is_none() {
                *failed = Some(path.segments());
            }
        }
        result
    }
}

// ---------------------------------------------------------------------------
// Between the steps: one canonical tree for every reader of the document.

/// A document after [`canonicalise`]: no [`Yaml::Tagged`] node anywhere,
/// every mapping key a [`Yaml::String`] (its text, as `sigs.k8s.io/yaml`
/// turns keys into JSON strings), no two keys of a mapping with the same
/// text.
///
/// The kind check and the typed decoding take this type, not a raw
/// `serde_yaml::Value`: looking a key up here finds exactly the entry the
/// decoding will read.
struct Canonical(Yaml);

impl Canonical {
    /// A top-level string field, as the typed decoding reads it; `""` when
    /// absent or not a string (the decoding then fails on its type).
    fn field(&self, key: &str) -> &str {
        match &self.0 {
            Yaml::Mapping(m) => m.get(key).and_then(Yaml::as_str).unwrap_or_default(),
            _ => "",
        }
    }
}

/// Why [`canonicalise`] refused a document, before it is located in the text.
struct Refusal {
    /// Where: a value's path, or with `at_key` the path of a mapping key.
    path: Vec<Segment>,
    /// Whether the last segment names a key (the error is at the key).
    at_key: bool,
    /// How many earlier keys of that mapping have the same text (the key to
    /// point at is the next one).
    skip: usize,
    /// A feature refused on purpose ([`ParseError::Unsupported`]) rather
    /// than malformed input ([`ParseError::Syntax`]).
    unsupported: bool,
    message: String,
}

impl Refusal {
    fn locate(self, text: &str, index: usize) -> ParseError {
        let (line, column) = locate(text, index, &self.path, self.at_key, self.skip);
        let path = (!self.path.is_empty()).then(|| render(&self.path));
        if self.unsupported {
            ParseError::Unsupported {
                path,
                message: self.message,
                line,
                column,
            }
        } else {
            ParseError::Syntax {
                path,
                message: self.message,
                line,
                column,
            }
        }
    }
}

/// Makes a parsed document [`Canonical`], or says (with the path) why it
/// cannot be. Walks in document order, so the first problem in the text is
/// the one reported. Recursion is bounded by serde_yaml's nesting limit.
fn canonicalise(value: Yaml) -> Result<Canonical, Refusal> {
    canonical(value, &mut Vec::new()).map(Canonical)
}

fn canonical(value: Yaml, path: &mut Vec<Segment>) -> Result<Yaml, Refusal> {
    match value {
        // serde_yaml keeps a local tag (`!foo`, and the non-specific `!`)
        // as a `Tagged` node around the value; YAML's own `!!` tags never
        // get here (see the module documentation). Kubernetes' reader
        // (go-yaml) reads a scalar under an unknown tag as its bare text —
        // `!count 3` is the string "3" there — which serde_yaml has already
        // lost (it parsed the `3`); and untagging silently, as the decoding
        // once did, read another value than the API server. So: refused.
        Yaml::Tagged(tagged) => Err(Refusal {
            path: path.clone(),
            at_key: false,
            skip: 0,
            unsupported: true,
            message: format!(
                "the YAML tag `{}` is not supported (only YAML's own tags, such as `!!str`, are)",
                tag_text(&tagged.tag)
            ),
        }),
        Yaml::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.push(Segment::Index(i));
                out.push(canonical(item, path)?);
                path.pop();
            }
            Ok(Yaml::Sequence(out))
        }
        Yaml::Mapping(mapping) => {
            let mut out = serde_yaml::Mapping::with_capacity(mapping.len());
            for (key, value) in mapping {
                let key = canonical_key(key, &out, path)?;
                path.push(Segment::Key(key.clone()));
                let value = canonical(value, path)?;
                path.pop();
                out.insert(Yaml::String(key), value);
            }
            Ok(Yaml::Mapping(out))
        }
        // NaN and infinity are refused by the decoding, which knows whether
        // the value is read at all.
        scalar => Ok(scalar),
    }
}

/// The text of a key of the mapping at `path`, checked against the keys
/// already in `seen` (the canonical entries before it).
fn canonical_key(
    key: Yaml,
    seen: &serde_yaml::Mapping,
    path: &[Segment],
) -> Result<String, Refusal> {
    let refuse = |key: Option<&str>, unsupported: bool, message: String| {
        let mut path = path.to_vec();
        let skip = match key {
            Some(k) => {
                path.push(Segment::Key(k.to_owned()));
                usize::from(seen.contains_key(k))
            }
            None => 0,
        };
        Refusal {
            path,
            at_key: key.is_some(),
            skip,
            unsupported,
            message,
        }
    };
    match key {
        // `!e apiVersion: a8` is the fuzz finding: the key lookup of the
        // kind check did not see through the tag, the decoding did.
        Yaml::Tagged(tagged) => {
            let name = key_text(tagged.value).ok();
            Err(refuse(
                name.as_deref(),
                true,
                format!(
                    "the YAML tag `{}` on a mapping key is not supported",
                    tag_text(&tagged.tag)
                ),
            ))
        }
        key => {
            let text = key_text(key).map_err(|message| refuse(None, false, message))?;
            // serde_yaml refuses two equal keys, but `1` and `"1"` (or
            // `true` and `"true"`) differ until they are made text; then the
            // later one would silently replace the earlier.
            if seen.contains_key(text.as_str()) {
                return Err(refuse(
                    Some(&text),
                    false,
                    format!("duplicate key {text:?} (mapping keys are compared as text)"),
                ));
            }
            Ok(text)
        }
    }
}

/// A mapping key as text: `1`, `true` and `null` keys become strings, as
/// `sigs.k8s.io/yaml` makes them.
fn key_text(key: Yaml) -> Result<String, String> {
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Null => Ok("null".to_owned()),
        Yaml::Sequence(_) => Err("a sequence cannot be a mapping key".to_owned()),
        Yaml::Mapping(_) => Err("a mapping cannot be a mapping key".to_owned()),
        Yaml::Tagged(_) => Err("a tagged value cannot be a mapping key".to_owned()),
    }
}

/// A tag as written: serde_yaml shows the non-specific tag `!` as `!!`.
fn tag_text(tag: &serde_yaml::value::Tag) -> String {
    match tag.to_string() {
        s if s == "!!" => "!".to_owned(),
        s => s,
    }
}

// ---------------------------------------------------------------------------
// Step 2: a deserializer over a canonical `serde_yaml::Value` (no tags, text
// keys) that records paths.

struct Tracked<'a> {
    value: Yaml,
    path: &'a Path<'a>,
    track: &'a Track,
}

macro_rules! forward_tracked {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            let result = self.value.$method(visitor);
            self.track.on_err(result, self.path)
        }
    )*};
}

impl<'de> Deserializer<'de> for Tracked<'_> {
    type Error = serde_yaml::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let (path, track) = (self.path, self.track);
        let result = match self.value {
            Yaml::Mapping(m) => visitor.visit_map(TrackedMap::new(m, path, track)),
            Yaml::Sequence(s) => visitor.visit_seq(TrackedSeq::new(s, path, track)),
            // Refused here rather than (only) by `api::Value`, which may be
            // reached through serde's buffering of flattened fields, where
            // the path is lost.
            Yaml::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => {
                Err(de::Error::custom(format_args!(
                    "{n} is not a JSON number (NaN and infinity are not allowed)"
                )))
            }
            other => other.deserialize_any(visitor),
        };
        track.on_err(result, path)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let (path, track) = (self.path, self.track);
        let result = match self.value {
            Yaml::Mapping(m) => visitor.visit_map(TrackedMap::new(m, path, track)),
            other => other.deserialize_map(visitor),
        };
        track.on_err(result, path)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let (path, track) = (self.path, self.track);
        let result = match self.value {
            Yaml::Sequence(s) => visitor.visit_seq(TrackedSeq::new(s, path, track)),
            other => other.deserialize_seq(visitor),
        };
        track.on_err(result, path)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let (path, track) = (self.path, self.track);
        let result = match self.value {
            Yaml::Null => visitor.visit_none(),
            value => visitor.visit_some(Tracked { value, path, track }),
        };
        track.on_err(result, path)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let (path, track) = (self.path, self.track);
        let result = visitor.visit_newtype_struct(self);
        track.on_err(result, path)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let result = self.value.deserialize_unit_struct(name, visitor);
        self.track.on_err(result, self.path)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let result = self.value.deserialize_tuple(len, visitor);
        self.track.on_err(result, self.path)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let result = self.value.deserialize_tuple_struct(name, len, visitor);
        self.track.on_err(result, self.path)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let result = self.value.deserialize_enum(name, variants, visitor);
        self.track.on_err(result, self.path)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    forward_tracked! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_identifier
    }
}

struct TrackedMap<'a> {
    iter: <serde_yaml::Mapping as IntoIterator>::IntoIter,
    pending: Option<(String, Yaml)>,
    path: &'a Path<'a>,
    track: &'a Track,
}

impl<'a> TrackedMap<'a> {
    fn new(mapping: serde_yaml::Mapping, path: &'a Path<'a>, track: &'a Track) -> Self {
        TrackedMap {
            iter: mapping.into_iter(),
            pending: None,
            path,
            track,
        }
    }
}

impl<'de> MapAccess<'de> for TrackedMap<'_> {
    type Error = serde_yaml::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        // Canonical: every key is already its text.
        let result = match key {
            Yaml::String(key) => {
                let result = seed.deserialize(Yaml::String(key.clone()));
                self.pending = Some((key, value));
                result
            }
            _ => Err(de::Error::custom("a mapping key that is not text")),
        };
        // An unknown or malformed key is reported at the mapping's path.
        self.track.on_err(result, self.path).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        let path = Path::Key(self.path, &key);
        seed.deserialize(Tracked {
            value,
            path: &path,
            track: self.track,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct TrackedSeq<'a> {
    iter: std::vec::IntoIter<Yaml>,
    index: usize,
    path: &'a Path<'a>,
    track: &'a Track,
}

impl<'a> TrackedSeq<'a> {
    fn new(seq: Vec<Yaml>, path: &'a Path<'a>, track: &'a Track) -> Self {
        TrackedSeq {
            iter: seq.into_iter(),
            index: 0,
            path,
            track,
        }
    }
}

impl<'de> SeqAccess<'de> for TrackedSeq<'_> {
    type Error = serde_yaml::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let Some(value) = self.iter.next() else {
            return Ok(None);
        };
        let path = Path::Index(self.path, self.index);
        self.index += 1;
        seed.deserialize(Tracked {
            value,
            path: &path,
            track: self.track,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

// ---------------------------------------------------------------------------
// Locating a path in the text: walk document `index` to the node and fail
// there; serde_yaml stamps the error with the node's line and column.

const FOUND: &str = "\u{0}job-controller: node found";

/// With `key`, the last segment names a mapping key; `skip` earlier keys of
/// the same text (in that mapping) are passed over, to point at a duplicate.
fn locate(
    text: &str,
    index: usize,
    path: &[Segment],
    key: bool,
    skip: usize,
) -> (Option<usize>, Option<usize>) {
    let Some(doc) = serde_yaml::Deserializer::from_str(text).nth(index) else {
        return (None, None);
    };
    let skip = Cell::new(skip);
    match (Locate {
        path,
        key,
        skip: &skip,
    })
    .deserialize(doc)
    {
        Err(err) if err.to_string().contains(FOUND) => err
            .location()
            .map_or((None, None), |l| (Some(l.line()), Some(l.column()))),
        _ => (None, None),
    }
}

/// Walks to `path`; when `key`, the last segment is a mapping key to find,
/// after passing over `skip` keys of the same text.
#[derive(Clone, Copy)]
struct Locate<'a> {
    path: &'a [Segment],
    key: bool,
    skip: &'a Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (target, rest) = match self.path {
            [Segment::Index(i), rest @ ..] => (Some(*i), rest),
            [] => return Err(de::Error::custom(FOUND)),
            _ => (None, self.path),
        };
        let mut index = 0;
        loop {
            let more = if Some(index) == target {
                seq.next_element_seed(Locate { path: rest, ..self })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (target, rest) = match self.path {
            [Segment::Key(k), rest @ ..] => (Some(k.as_str()), rest),
            [] => return Err(de::Error::custom(FOUND)),
            _ => (None, self.path),
        };
        let at_key = self.key && rest.is_empty();
        while let Some(key) = map.next_key_seed(KeySeed {
            target: target.filter(|_| at_key),
            skip: self.skip,
        })? {
            // At the key itself, the matching key fails in `KeySeed`; one
            // that returns is an earlier key of the same text, passed over.
            if !at_key && target.is_some() && target == Some(key.as_str()) {
                map.next_value_seed(Locate { path: rest, ..self })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A custom tag (`!foo`): look inside the tagged node.
        let (IgnoredAny, variant) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

impl Locate<'_> {
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

/// Reads a mapping key as text; fails (at the key) when it is `target`,
/// once `skip` keys of that text have been passed over.
struct KeySeed<'a> {
    target: Option<&'a str>,
    skip: &'a Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl KeySeed<'_> {
    /// Fails inside the visitor, so that serde_yaml stamps the key's position.
    fn check<E: de::Error>(self, key: String) -> Result<String, E> {
        if self.target != Some(key.as_str()) {
            Ok(key)
        } else if self.skip.get() > 0 {
            self.skip.set(self.skip.get() - 1);
            Ok(key)
        } else {
            Err(E::custom(FOUND))
        }
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.check(v.to_owned())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.check(serde_yaml::Number::from(v).to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.check("null".to_owned())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(String::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(String::new())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        // A tagged key (`!e apiVersion`): its text is inside the tag.
        let (IgnoredAny, variant) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

// ---------------------------------------------------------------------------
// Alias expansion guard.

/// Walks every document without storing it, counting the nodes that alias
/// expansion produces; fails once there are more than the budget.
fn check_expansion(text: &str) -> Result<(), ParseError> {
    let budget = MIN_EXPANDED_NODES.max(text.len());
    let count = Cell::new(0usize);
    for doc in serde_yaml::Deserializer::from_str(text) {
        match (Count {
            count: &count,
            budget,
        })
        .deserialize(doc)
        {
            Ok(()) => {}
            Err(_) if count.get() > budget => {
                return Err(ParseError::Syntax {
                    path: None,
                    message: format!(
                        "the stream expands to more than {budget} nodes through aliases"
                    ),
                    line: None,
                    column: None,
                });
            }
            // Anything else is wrong with the YAML itself.
            Err(err) => return Err(convert(err)),
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Count<'a> {
    count: &'a Cell<usize>,
    budget: usize,
}

impl Count<'_> {
    fn tick<E: de::Error>(self) -> Result<(), E> {
        self.count.set(self.count.get() + 1);
        if self.count.get() > self.budget {
            Err(E::custom("too many nodes"))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.tick()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.tick()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.tick()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.tick()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.tick()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.tick()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.tick()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.tick()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.tick()?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

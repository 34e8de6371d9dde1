//! Object metadata and label selector validation (apimachinery
//! `api/validation/objectmeta.go` and `apis/meta/v1/validation`).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference};
use crate::error::FieldError;

use super::field::{self, Path};
use super::names;

/// Upper bound on the summed size of all annotation keys and values.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
const FINALIZER_ORPHAN: &str = "orphan";
const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// `ValidateObjectMeta` for a namespaced object whose name must be a DNS
/// subdomain (`ValidateReplicationControllerName`, which Jobs share).
///
/// An empty namespace is not reported: the API server takes the namespace
/// from the request path (`default` for kubectl) before validating, and
/// manifests usually leave it out.
pub(crate) fn validate_object_meta(meta: &ObjectMeta, path: &Path, errs: &mut Vec<FieldError>) {
    if !meta.generate_name.is_empty() {
        let p = path.child("generateName");
        for msg in names::dns1123_subdomain_prefix(&meta.generate_name) {
            errs.push(field::invalid(&p, &meta.generate_name, msg));
        }
    }
    let name_path = path.child("name");
    if meta.name.is_empty() {
        errs.push(field::required(
            &name_path,
            "name or generateName is required",
        ));
    } else {
        for msg in names::dns1123_subdomain(&meta.name) {
            errs.push(field::invalid(&name_path, &meta.name, msg));
        }
    }
    if !meta.namespace.is_empty() {
        let p = path.child("namespace");
        for msg in names::dns1123_label(&meta.namespace) {
            errs.push(field::invalid(&p, &meta.namespace, msg));
        }
    }
    field::non_negative(meta.generation, &path.child("generation"), errs);
    validate_labels(&meta.labels, &path.child("labels"), errs);
    validate_annotations(&meta.annotations, &path.child("annotations"), errs);
    validate_owner_references(&meta.owner_references, &path.child("ownerReferences"), errs);
    validate_finalizers(&meta.finalizers, &path.child("finalizers"), errs);
}

/// `ValidateObjectMetaUpdate`: identity fields are immutable and the new
/// labels, annotations and owner references must be valid.
///
/// `new` is expected to have been completed as the API server's
/// `BeforeUpdate` does (see `update::as_server_sees_it`), so an omitted
/// uid or resourceVersion is not an error here.
pub(crate) fn validate_object_meta_update(
    new: &ObjectMeta,
    old: &ObjectMeta,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    if old.deletion_timestamp.is_some() {
        validate_no_new_finalizers(
            &new.finalizers,
            &old.finalizers,
            &path.child("finalizers"),
            errs,
        );
    }
    if new.generation < old.generation {
        errs.push(field::invalid(
            &path.child("generation"),
            new.generation.to_string(),
            "must not be decremented",
        ));
    }
    immutable_str(&new.name, &old.name, &path.child("name"), errs);
    immutable_str(
        &new.namespace,
        &old.namespace,
        &path.child("namespace"),
        errs,
    );
    immutable_str(&new.uid, &old.uid, &path.child("uid"), errs);
    let render_time = |t: &Option<crate::api::Time>| field::render_opt(t.map(|t| t.to_rfc3339()));
    if new.creation_timestamp != old.creation_timestamp {
        errs.push(immutable(
            &path.child("creationTimestamp"),
            render_time(&new.creation_timestamp),
        ));
    }
    if new.deletion_timestamp != old.deletion_timestamp {
        errs.push(immutable(
            &path.child("deletionTimestamp"),
            render_time(&new.deletion_timestamp),
        ));
    }
    if new.deletion_grace_period_seconds != old.deletion_grace_period_seconds {
        errs.push(immutable(
            &path.child("deletionGracePeriodSeconds"),
            field::render_opt(new.deletion_grace_period_seconds),
        ));
    }
    validate_labels(&new.labels, &path.child("labels"), errs);
    validate_annotations(&new.annotations, &path.child("annotations"), errs);
    validate_owner_references(&new.owner_references, &path.child("ownerReferences"), errs);
}

fn immutable(path: &Path, value: String) -> FieldError {
    field::invalid(path, value, field::IMMUTABLE)
}

fn immutable_str(new: &str, old: &str, path: &Path, errs: &mut Vec<FieldError>) {
    if new != old {
        errs.push(immutable(path, new.to_owned()));
    }
}

fn validate_no_new_finalizers(
    new: &[String],
    old: &[String],
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let old: BTreeSet<&String> = old.iter().collect();
    for f in new.iter().filter(|f| !old.contains(f)) {
        errs.push(field::forbidden(
            path,
            format!(
                "no new finalizers can be added if the object is being deleted, found new finalizer {}",
                field::go_quote(f)
            ),
        ));
    }
}

/// `ValidateLabels`: every key a qualified name, every value a label value.
/// Errors are reported on the map's path, not on the entry (as upstream).
pub(crate) fn validate_labels(
    labels: &BTreeMap<String, String>,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    for (k, v) in labels {
        validate_label_name(k, path, errs);
        for msg in names::label_value(v) {
            errs.push(field::invalid(path, v, msg));
        }
    }
}

/// `ValidateLabelName`.
fn validate_label_name(key: &str, path: &Path, errs: &mut Vec<FieldError>) {
    for msg in names::qualified_name(key) {
        errs.push(field::invalid(path, key, msg));
    }
}

/// `ValidateAnnotations`: keys are qualified names compared case-insensitively
/// and the whole map is at most 256 KiB.
pub(crate) fn validate_annotations(
    annotations: &BTreeMap<String, String>,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let mut total: usize = 0;
    for (k, v) in annotations {
        for msg in names::qualified_name(&k.to_lowercase()) {
            errs.push(field::invalid(path, k, msg));
        }
        total = total.saturating_add(k.len()).saturating_add(v.len());
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(field::too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

/// `schema.ParseGroupVersion`: `(group, version)`, or `None` when malformed.
fn parse_group_version(api_version: &str) -> Option<(&str, &str)> {
    if api_version.is_empty() || api_version == "/" {
        return Some(("", ""));
    }
    match api_version.matches('/').count() {
        0 => Some(("", api_version)),
        1 => api_version.split_once('/'),
        _ => None,
    }
}

fn validate_owner_reference(r: &OwnerReference, path: &Path, errs: &mut Vec<FieldError>) {
    let (group, version) = parse_group_version(&r.api_version).unwrap_or(("", ""));
    if version.is_empty() {
        errs.push(field::invalid(
            &path.child("apiVersion"),
            &r.api_version,
            "version must not be empty",
        ));
    }
    if r.kind.is_empty() {
        errs.push(field::invalid(
            &path.child("kind"),
            &r.kind,
            "must not be empty",
        ));
    }
    if r.name.is_empty() {
        errs.push(field::invalid(
            &path.child("name"),
            &r.name,
            "must not be empty",
        ));
    }
    if r.uid.is_empty() {
        errs.push(field::invalid(
            &path.child("uid"),
            &r.uid,
            "must not be empty",
        ));
    }
    // BannedOwners: core/v1 Events may not own anything.
    if group.is_empty() && version == "v1" && r.kind == "Event" {
        errs.push(field::invalid(
            path,
            format!("{}/{}", r.api_version, r.kind),
            "/v1, Kind=Event is disallowed from being an owner",
        ));
    }
}

/// `ValidateOwnerReferences`: each reference complete, at most one controller.
fn validate_owner_references(refs: &[OwnerReference], path: &Path, errs: &mut Vec<FieldError>) {
    let mut first_controller: Option<String> = None;
    for r in refs {
        validate_owner_reference(r, path, errs);
        if r.controller != Some(true) {
            continue;
        }
        let current = format!("{}/{}", r.kind, r.name);
        match &first_controller {
            Some(first) => errs.push(field::invalid(
                path,
                "",
                format!(
                    "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                ),
            )),
            None => first_controller = Some(current),
        }
    }
}

/// `ValidateFinalizers`: qualified names; `orphan` and `foregroundDeletion`
/// are mutually exclusive.
fn validate_finalizers(finalizers: &[String], path: &Path, errs: &mut Vec<FieldError>) {
    for f in finalizers {
        for msg in names::qualified_name(f) {
            errs.push(field::invalid(path, f, msg));
        }
    }
    let has = |name: &str| finalizers.iter().any(|f| f == name);
    if has(FINALIZER_ORPHAN) && has(FINALIZER_FOREGROUND) {
        errs.push(field::invalid(
            path,
            finalizers.join(","),
            format!("finalizer {FINALIZER_ORPHAN} and {FINALIZER_FOREGROUND} cannot be both set"),
        ));
    }
}

/// `ValidateLabelSelector`. `allow_invalid_values` is upstream's
/// `AllowInvalidLabelValueInSelector`, granted on update when the stored
/// selector already had such values.
pub(crate) fn validate_label_selector(
    selector: &LabelSelector,
    allow_invalid_values: bool,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    validate_labels(&selector.match_labels, &path.child("matchLabels"), errs);
    let exprs = path.child("matchExpressions");
    for (i, req) in selector.match_expressions.iter().enumerate() {
        validate_requirement(req, allow_invalid_values, &exprs.index(i), errs);
    }
}

fn validate_requirement(
    req: &LabelSelectorRequirement,
    allow_invalid_values: bool,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let values = path.child("values");
    match req.operator.as_str() {
        "In" | "NotIn" if req.values.is_empty() => errs.push(field::required(
            &values,
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !req.values.is_empty() => errs.push(field::forbidden(
            &values,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        other => errs.push(field::invalid(
            &path.child("operator"),
            other,
            "not a valid selector operator",
        )),
    }
    validate_label_name(&req.key, &path.child("key"), errs);
    if !allow_invalid_values {
        for (i, v) in req.values.iter().enumerate() {
            for msg in names::label_value(v) {
                errs.push(field::invalid(&values.index(i), v, msg));
            }
        }
    }
}

/// Whether `metav1.LabelSelectorAsSelector` would accept the selector.
/// Upstream only checks "selector matches labels" when the conversion
/// succeeds, so an invalid selector draws its own errors and no others.
pub(crate) fn selector_converts(selector: &LabelSelector) -> bool {
    let labels_ok = selector
        .match_labels
        .iter()
        .all(|(k, v)| names::qualified_name(k).is_empty() && names::label_value(v).is_empty());
    labels_ok && selector.match_expressions.iter().all(requirement_converts)
}

fn requirement_converts(req: &LabelSelectorRequirement) -> bool {
    let count_ok = match req.operator.as_str() {
        "In" | "NotIn" => !req.values.is_empty(),
        "Exists" | "DoesNotExist" => req.values.is_empty(),
        _ => false,
    };
    count_ok
        && names::qualified_name(&req.key).is_empty()
        && req.values.iter().all(|v| names::label_value(v).is_empty())
}

/// `LabelSelectorHasInvalidLabelValue`: whether any expression value is not a
/// valid label value.
pub(crate) fn selector_has_invalid_value(selector: Option<&LabelSelector>) -> bool {
    selector.is_some_and(|s| {
        s.match_expressions
            .iter()
            .flat_map(|r| r.values.iter())
            .any(|v| !names::label_value(v).is_empty())
    })
}

/// Whether the (converted) selector matches the labels: `None` is upstream's
/// nil selector, which matches nothing; an empty selector matches everything.
pub(crate) fn selector_matches(
    selector: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.is_some_and(|s| s.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn meta(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_owned(),
            namespace: "default".to_owned(),
            ..ObjectMeta::default()
        }
    }

    fn run(meta: &ObjectMeta) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_object_meta(meta, &Path::new("metadata"), &mut errs);
        errs
    }

    #[test]
    fn name_is_required() {
        let errs = run(&meta(""));
        assert_eq!(errs[0].field, "metadata.name");
        assert_eq!(errs[0].kind, ErrorKind::Required);
        assert_eq!(errs[0].detail, "name or generateName is required");
    }

    #[test]
    fn name_must_be_dns_subdomain() {
        assert!(run(&meta("my.job-1")).is_empty());
        let errs = run(&meta("Bad_Name"));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].kind, ErrorKind::Invalid);
        assert_eq!(errs[0].field, "metadata.name");
    }

    #[test]
    fn namespace_must_be_dns_label_when_set() {
        let mut m = meta("a");
        m.namespace = "a.b".to_owned();
        assert_eq!(run(&m)[0].field, "metadata.namespace");
        m.namespace = String::new();
        assert!(run(&m).is_empty());
    }

    #[test]
    fn labels_are_reported_on_the_map_path() {
        let mut m = meta("a");
        m.labels
            .insert("bad key".to_owned(), "bad value!".to_owned());
        let errs = run(&m);
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| e.field == "metadata.labels"));
    }

    #[test]
    fn annotations_total_size_limit() {
        let mut m = meta("a");
        m.annotations
            .insert("k".to_owned(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT));
        let errs = run(&m);
        assert_eq!(errs[0].kind, ErrorKind::TooLong);
        assert_eq!(errs[0].field, "metadata.annotations");
    }

    #[test]
    fn annotation_keys_are_case_insensitive_qualified_names() {
        let mut m = meta("a");
        m.annotations
            .insert("Example.COM/Key".to_owned(), String::new());
        assert!(run(&m).is_empty());
        m.annotations.insert("a/b/c".to_owned(), String::new());
        assert_eq!(run(&m).len(), 1);
    }

    #[test]
    fn owner_references_need_identity_and_one_controller() {
        let mut m = meta("a");
        let owner = |name: &str| OwnerReference {
            api_version: "batch/v1".to_owned(),
            kind: "CronJob".to_owned(),
            name: name.to_owned(),
            uid: "u".to_owned(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        m.owner_references = vec![owner("x"), owner("y"), OwnerReference::default()];
        let errs = run(&m);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"metadata.ownerReferences"));
        assert!(fields.contains(&"metadata.ownerReferences.apiVersion"));
        assert!(fields.contains(&"metadata.ownerReferences.uid"));
    }

    #[test]
    fn finalizers_orphan_and_foreground_exclusive() {
        let mut m = meta("a");
        m.finalizers = vec!["orphan".to_owned(), "foregroundDeletion".to_owned()];
        let errs = run(&m);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.contains("cannot be both set"));
    }

    #[test]
    fn update_identity_fields_are_immutable() {
        let old = meta("a");
        let mut new = meta("b");
        new.uid = "x".to_owned();
        let mut errs = Vec::new();
        validate_object_meta_update(&new, &old, &Path::new("metadata"), &mut errs);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["metadata.name", "metadata.uid"]);
        assert!(errs.iter().all(|e| e.detail == "field is immutable"));
    }

    #[test]
    fn update_no_new_finalizers_while_deleting() {
        let mut old = meta("a");
        old.deletion_timestamp = Some(chrono::DateTime::UNIX_EPOCH);
        let mut new = old.clone();
        new.finalizers.push("example.com/f".to_owned());
        let mut errs = Vec::new();
        validate_object_meta_update(&new, &old, &Path::new("metadata"), &mut errs);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].kind, ErrorKind::Forbidden);
    }

    #[test]
    fn selector_requirement_rules() {
        let sel = LabelSelector {
            extra: Default::default(),
            match_labels: BTreeMap::new(),
            match_expressions: vec![
                LabelSelectorRequirement {
                    extra: Default::default(),
                    key: "a".to_owned(),
                    operator: "In".to_owned(),
                    values: vec![],
                },
                LabelSelectorRequirement {
                    extra: Default::default(),
                    key: "b".to_owned(),
                    operator: "Exists".to_owned(),
                    values: vec!["x".to_owned()],
                },
                LabelSelectorRequirement {
                    extra: Default::default(),
                    key: "c".to_owned(),
                    operator: "Gt".to_owned(),
                    values: vec!["<x>".to_owned()],
                },
            ],
        };
        let mut errs = Vec::new();
        validate_label_selector(&sel, false, &Path::new("spec").child("selector"), &mut errs);
        let got: Vec<(&str, ErrorKind)> = errs.iter().map(|e| (e.field.as_str(), e.kind)).collect();
        assert_eq!(
            got,
            vec![
                (
                    "spec.selector.matchExpressions[0].values",
                    ErrorKind::Required
                ),
                (
                    "spec.selector.matchExpressions[1].values",
                    ErrorKind::Forbidden
                ),
                (
                    "spec.selector.matchExpressions[2].operator",
                    ErrorKind::Invalid
                ),
                (
                    "spec.selector.matchExpressions[2].values[0]",
                    ErrorKind::Invalid
                ),
            ]
        );
        assert!(!selector_converts(&sel));
        assert!(selector_has_invalid_value(Some(&sel)));
    }

    #[test]
    fn nil_selector_matches_nothing_empty_matches_everything() {
        let labels = BTreeMap::from([("a".to_owned(), "b".to_owned())]);
        assert!(!selector_matches(None, &labels));
        assert!(selector_matches(Some(&LabelSelector::default()), &labels));
    }
}

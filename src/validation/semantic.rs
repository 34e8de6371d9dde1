//! Equality as apimachinery's `Semantic.DeepEqual` sees it, for the
//! immutability checks: an empty list or map equals an absent one, and an
//! empty Go string equals an unset optional string. A pointer to an empty
//! struct (`affinity: {}`) is not the same as no pointer, so empty objects
//! are kept for the keys known to be pointers to structs.
//!
//! Known gap: resource quantities are compared as written (`"1"` and
//! `"1000m"` differ here, not upstream).

use std::collections::BTreeMap;

use crate::api::{
    Container, EnvVar, ObjectMeta, PodFailurePolicy, PodTemplateSpec, RestartPolicy, Value,
};

/// Pod-spec keys whose Go type is a pointer to a struct: `{}` there is set.
const POINTER_STRUCT_KEYS: &[&str] = &[
    "affinity",
    "nodeAffinity",
    "podAffinity",
    "podAntiAffinity",
    "securityContext",
    "dnsConfig",
    "os",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "seccompProfile",
    "appArmorProfile",
    "seLinuxOptions",
    "windowsOptions",
    "capabilities",
];

/// Whether two pod templates are semantically equal.
pub(crate) fn templates_equal(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    normalize_template(a) == normalize_template(b)
}

/// Whether two pod failure policies are semantically equal (an unset
/// pattern status is the empty string upstream).
pub(crate) fn pod_failure_policies_equal(
    a: Option<&PodFailurePolicy>,
    b: Option<&PodFailurePolicy>,
) -> bool {
    let norm = |p: Option<&PodFailurePolicy>| {
        p.map(|p| {
            let mut p = p.clone();
            for pattern in p
                .rules
                .iter_mut()
                .flat_map(|r| r.on_pod_conditions.iter_mut())
            {
                if pattern
                    .status
                    .as_ref()
                    .is_some_and(|s| s.as_str().is_empty())
                {
                    pattern.status = None;
                }
            }
            p
        })
    };
    norm(a) == norm(b)
}

fn none_if_empty(s: &mut Option<String>) {
    if s.as_deref() == Some("") {
        *s = None;
    }
}

fn normalize_template(t: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = t.clone();
    normalize_meta(&mut t.metadata);
    let spec = &mut t.spec;
    if spec
        .restart_policy
        .as_ref()
        .is_some_and(|p| p.as_str().is_empty())
    {
        spec.restart_policy = None::<RestartPolicy>;
    }
    none_if_empty(&mut spec.hostname);
    none_if_empty(&mut spec.subdomain);
    spec.containers.iter_mut().for_each(normalize_container);
    spec.init_containers
        .iter_mut()
        .for_each(normalize_container);
    normalize_map(&mut spec.extra);
    t
}

fn normalize_meta(meta: &mut ObjectMeta) {
    normalize_map(&mut meta.extra);
}

fn normalize_container(c: &mut Container) {
    none_if_empty(&mut c.image);
    c.env.iter_mut().for_each(normalize_env);
    normalize_map(&mut c.extra);
}

fn normalize_env(e: &mut EnvVar) {
    none_if_empty(&mut e.value);
    if let Some(v) = &mut e.value_from {
        normalize_value(v);
    }
}

/// Drops entries that Go would decode to a zero value: null, empty lists,
/// empty maps (except pointer-to-struct keys), recursively.
fn normalize_map(map: &mut BTreeMap<String, Value>) {
    map.values_mut().for_each(normalize_value);
    map.retain(|key, v| match v {
        Value::Null => false,
        Value::Seq(items) => !items.is_empty(),
        Value::Map(m) => !m.is_empty() || POINTER_STRUCT_KEYS.contains(&key.as_str()),
        _ => true,
    });
}

fn normalize_value(v: &mut Value) {
    match v {
        Value::Map(m) => normalize_map(m),
        Value::Seq(items) => items.iter_mut().for_each(normalize_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_with(key: &str, value: Value) -> PodTemplateSpec {
        let mut t = PodTemplateSpec::default();
        t.spec.extra.insert(key.to_owned(), value);
        t
    }

    #[test]
    fn empty_list_and_map_equal_absent() {
        let empty = PodTemplateSpec::default();
        assert!(templates_equal(
            &empty,
            &template_with("tolerations", Value::Seq(vec![]))
        ));
        assert!(templates_equal(
            &empty,
            &template_with("nodeSelector", Value::Map(BTreeMap::new()))
        ));
        assert!(templates_equal(&empty, &template_with("x", Value::Null)));
    }

    #[test]
    fn empty_pointer_struct_differs_from_absent() {
        let empty = PodTemplateSpec::default();
        assert!(!templates_equal(
            &empty,
            &template_with("affinity", Value::Map(BTreeMap::new()))
        ));
    }

    #[test]
    fn nested_values_are_compared() {
        let a = template_with(
            "nodeSelector",
            Value::Map(BTreeMap::from([(
                "a".to_owned(),
                Value::String("b".to_owned()),
            )])),
        );
        let b = template_with(
            "nodeSelector",
            Value::Map(BTreeMap::from([(
                "a".to_owned(),
                Value::String("c".to_owned()),
            )])),
        );
        assert!(!templates_equal(&a, &b));
        assert!(templates_equal(&a, &a.clone()));
    }

    #[test]
    fn empty_optional_strings_equal_unset() {
        let mut a = PodTemplateSpec::default();
        a.spec.containers.push(Container {
            name: "c".to_owned(),
            image: Some(String::new()),
            ..Container::default()
        });
        let mut b = a.clone();
        b.spec.containers[0].image = None;
        assert!(templates_equal(&a, &b));
    }
}

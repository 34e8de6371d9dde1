//! Rendering the pod a Job creates (upstream `manageJob`,
//! `controller_utils.go: GetPodFromTemplate`, `indexed_job_utils.go`).

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::failure_policy::match_policy;
use super::in_flight::Pending;
use super::pod::PodRecord;
use super::pod_to_create::{BasePod, MAX_GENERATED_NAME_LENGTH, PodToCreate, generate_name};
use super::pods::{Fnv, PodStore, fnv1a};
use crate::api::{EnvVar, ObjectMeta, OwnerReference, Pod, Value, keys};
use crate::valid::ValidJob;

/// What naming and asking for a pod read from the machine's state.
pub(crate) struct Creation<'a> {
    pub job: &'a ValidJob,
    /// What every created pod starts from ([`base_pod`]).
    pub base_pod: &'a Arc<BasePod>,
    /// Names in use by pods ...
    pub pods: &'a PodStore,
    /// ... and by creations in flight.
    pub taken_names: &'a BTreeMap<String, Pending>,
}

/// Hashes of the names drawn in one reconcile (names asked for earlier in
/// the same reconcile are not pods or creations in flight yet).
#[derive(Debug, Default)]
pub(crate) struct IssuedNames(HashSet<u64, BuildHasherDefault<Fnv>>);

/// The characters the API server draws name suffixes from
/// (`utilrand.String`: no vowels, no confusable digits).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What every pod of this Job has in common, whatever its index: the
/// template with the tracking finalizer, the owner reference and, for
/// Indexed Jobs, the `JOB_COMPLETION_INDEX` variable (read from the index
/// label, so the same for every index). Rendered once per spec and shared
/// by every [`PodToCreate`] of it.
pub(crate) fn base_pod(job: &ValidJob) -> Arc<BasePod> {
    let template = &job.spec().template;
    let mut spec = template.spec.clone();
    if job.is_indexed() {
        for c in spec
            .init_containers
            .iter_mut()
            .chain(spec.containers.iter_mut())
        {
            if !c
                .env
                .iter()
                .any(|e| e.name == keys::JOB_COMPLETION_INDEX_ENV)
            {
                c.env.push(completion_index_env());
            }
        }
    }
    let mut finalizers = template.metadata.finalizers.clone();
    if !finalizers.iter().any(|f| f == keys::JOB_TRACKING_FINALIZER) {
        finalizers.push(keys::JOB_TRACKING_FINALIZER.to_owned());
    }
    let pod = Pod {
        api_version: "v1".to_owned(),
        kind: "Pod".to_owned(),
        metadata: ObjectMeta {
            namespace: job.namespace().to_owned(),
            labels: template.metadata.labels.clone(),
            annotations: template.metadata.annotations.clone(),
            finalizers,
            owner_references: vec![OwnerReference {
                api_version: "batch/v1".to_owned(),
                kind: "Job".to_owned(),
                name: job.name().to_owned(),
                uid: job.uid().to_owned(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }],
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    };
    Arc::new(BasePod {
        pod,
        job_name: job.name().to_owned(),
    })
}

/// Asks for the pod for `index` (Indexed) or a plain pod (`None`): a name
/// and what [`render`] needs to build the pod when the caller wants it.
pub(crate) fn render_pod(
    input: &Creation<'_>,
    index: Option<i32>,
    predecessor: Option<&PodRecord>,
    names_issued: &mut u64,
    issued_now: &mut IssuedNames,
    slow_start_batch: u32,
) -> PodToCreate {
    let job = input.job;
    let mut name = String::with_capacity(MAX_GENERATED_NAME_LENGTH + 6);
    generate_name(job.name(), index, &mut name);
    let name = unique_name(input, &mut name, names_issued, issued_now);
    let index_failures = match index {
        Some(_) if job.backoff_limit_per_index().is_some() => {
            Some(new_index_failure_counts(input, predecessor))
        }
        _ => None,
    };
    PodToCreate {
        name,
        index,
        slow_start_batch,
        index_failures,
        template: Arc::clone(input.base_pod),
    }
}

/// The API server's name generation, made deterministic: the base (the
/// `generateName` in `name`) is cut to 58 characters and 5 characters are
/// appended, drawn from a generator seeded by the Job's UID and a counter,
/// skipping names in use: by a pod, by a creation in flight, or by a
/// creation asked for earlier in this reconcile (`issued_now`).
fn unique_name(
    input: &Creation<'_>,
    name: &mut String,
    names_issued: &mut u64,
    issued_now: &mut IssuedNames,
) -> String {
    let base_len = char_prefix(name, MAX_GENERATED_NAME_LENGTH).len();
    let seed = fnv1a(input.job.uid().as_bytes()) ^ fnv1a(input.job.name().as_bytes());
    loop {
        *names_issued = names_issued.wrapping_add(1);
        let mut x = splitmix64(seed ^ names_issued.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        name.truncate(base_len);
        for _ in 0..5 {
            let n = SUFFIX_ALPHABET.len() as u64;
            name.push(char::from(SUFFIX_ALPHABET[(x % n) as usize]));
            x /= n;
        }
        // A hash seen in this reconcile skips the name: a collision of
        // hashes only costs drawing another one.
        let hash = fnv1a(name.as_bytes());
        let in_use = issued_now.0.contains(&hash)
            || input.pods.contains_name(name)
            || input.taken_names.contains_key(name.as_str());
        if !in_use {
            issued_now.0.insert(hash);
            return std::mem::take(name);
        }
    }
}

/// The first `n` characters of `s`.
fn char_prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `JOB_COMPLETION_INDEX` from the index label (PodIndexLabel is GA).
fn completion_index_env() -> EnvVar {
    let field_ref = BTreeMap::from([(
        "fieldPath".to_owned(),
        Value::String(format!("metadata.labels['{}']", keys::JOB_COMPLETION_INDEX)),
    )]);
    EnvVar {
        name: keys::JOB_COMPLETION_INDEX_ENV.to_owned(),
        value: None,
        value_from: Some(Value::Map(BTreeMap::from([(
            "fieldRef".to_owned(),
            Value::Map(field_ref),
        )]))),
    }
}

/// Upstream `getNewIndexFailureCounts`: the predecessor's counts, plus one
/// counted or one ignored failure for the predecessor itself.
fn new_index_failure_counts(input: &Creation<'_>, predecessor: Option<&PodRecord>) -> (i32, i32) {
    let Some(p) = predecessor else { return (0, 0) };
    let counts = match_policy(input.job.pod_failure_policy(), p, input.job.namespace()).counts;
    if counts {
        (p.failure_count.saturating_add(1), p.ignored_failure_count)
    } else {
        (p.failure_count, p.ignored_failure_count.saturating_add(1))
    }
}

//! The pod the controller asks for ([`PodToCreate`]) and how it is
//! rendered from the Job's template: shared by the actions (which hand it
//! to the caller) and the reconcile (which names and asks for it), so that
//! neither depends on the other.

use std::sync::Arc;

use crate::api::Pod;
use crate::api::keys;
use crate::indexes::decimal;

/// The API server truncates a `generateName` to this many characters before
/// appending its 5 random characters (`names.MaxGeneratedNameLength`).
pub(crate) const MAX_GENERATED_NAME_LENGTH: usize = 58;

/// A pod the controller wants created.
///
/// The pod itself is rendered on demand ([`pod`](Self::pod),
/// [`into_pod`](Self::into_pod)) from the Job's template, which every
/// creation of one spec shares: asking for a pod costs the machine its name
/// and a reference count, not a deep copy of the template that a caller
/// translating to its own types (k8s-openapi, a simulator's model) would
/// throw away.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use job_controller::{Action, JobController, ValidJob, parse_job};
///
/// let job = parse_job("
/// metadata: {name: pi, namespace: default, uid: p1}
/// spec:
///   completionMode: Indexed
///   completions: 1
///   template:
///     spec:
///       restartPolicy: Never
///       containers: [{name: main, image: perl}]
/// ").unwrap();
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let mut ctl = JobController::new(ValidJob::create(job).unwrap(), now);
/// let Some(Action::CreatePod(create)) = ctl.poll_action() else { panic!() };
/// let pod = create.pod();
/// assert_eq!(pod.metadata.name, create.name());
/// assert_eq!(pod.metadata.generate_name, "pi-0-");
/// assert_eq!(create.index, Some(0));
/// assert_eq!(pod.spec.hostname.as_deref(), Some("pi-0"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PodToCreate {
    /// The pod's name, drawn as the API server would from its
    /// `generateName`.
    pub(crate) name: String,
    /// The completion index (Indexed Jobs).
    pub index: Option<i32>,
    /// Upstream creates pods in "slow start" batches of 1, 2, 4, …: a caller
    /// that wants the same protection against quota storms creates batch
    /// `n + 1` only after every pod of batch `n` was created, and reports
    /// the pods of skipped batches with `handle_create_failed`.
    pub slow_start_batch: u32,
    /// `backoffLimitPerIndex`: the failures (counted, ignored) of the
    /// index so far, written as annotations.
    pub(crate) index_failures: Option<(i32, i32)>,
    /// What every pod of the spec has in common.
    pub(crate) template: Arc<BasePod>,
}

/// The part of every created pod that does not depend on its name or index
/// (built once per spec: `controller::create::base_pod`).
#[derive(Debug, PartialEq)]
pub(crate) struct BasePod {
    pub(crate) pod: Pod,
    pub(crate) job_name: String,
}

impl PodToCreate {
    /// The pod's name (what [`pod`](Self::pod) puts in `metadata.name`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full pod: metadata (name, generateName, labels, annotations,
    /// finalizer, owner reference) and spec.
    #[must_use]
    pub fn pod(&self) -> Pod {
        render(self, self.name.clone())
    }

    /// [`pod`](Self::pod), reusing the name.
    #[must_use]
    pub fn into_pod(mut self) -> Pod {
        let name = std::mem::take(&mut self.name);
        render(&self, name)
    }
}

/// The pod `p` asks for, named `name`.
pub(crate) fn render(p: &PodToCreate, name: String) -> Pod {
    let job_name = &p.template.job_name;
    let mut pod = p.template.pod.clone();
    pod.metadata.name = name;
    generate_name(job_name, p.index, &mut pod.metadata.generate_name);
    if let Some(i) = p.index {
        let meta = &mut pod.metadata;
        let text = i.to_string();
        meta.annotations
            .insert(keys::JOB_COMPLETION_INDEX.to_owned(), text.clone());
        meta.labels
            .insert(keys::JOB_COMPLETION_INDEX.to_owned(), text);
        pod.spec.hostname = Some(format!("{job_name}-{i}"));
        if let Some((failures, ignored)) = p.index_failures {
            meta.annotations.insert(
                keys::JOB_INDEX_FAILURE_COUNT.to_owned(),
                failures.to_string(),
            );
            if ignored > 0 {
                meta.annotations.insert(
                    keys::JOB_INDEX_IGNORED_FAILURE_COUNT.to_owned(),
                    ignored.to_string(),
                );
            }
        }
    }
    pod
}

/// The base of the names [`generate_name`] leads to, before the 5 random
/// characters: the generated name cut to [`MAX_GENERATED_NAME_LENGTH`]
/// characters, as the API server cuts a `generateName`. Two pods can have
/// the same name only if their bases are equal.
pub(crate) fn generated_name_base(job_name: &str, index: Option<i32>, out: &mut String) {
    generate_name(job_name, index, out);
    if let Some((cut, _)) = out.char_indices().nth(MAX_GENERATED_NAME_LENGTH) {
        out.truncate(cut);
    }
}

/// Writes the `generateName` of a pod into `out`: `<job>-`, or for an
/// index upstream's `podGenerateNameWithIndex`, `<job>-<index>-` with the
/// job name shortened so that it fits in 58 characters. Written in place:
/// this runs for every pod created, and `format!` was a tenth of it.
pub(crate) fn generate_name(job_name: &str, index: Option<i32>, out: &mut String) {
    out.clear();
    let Some(index) = index else {
        out.push_str(job_name);
        out.push('-');
        return;
    };
    let mut digits = [0u8; 12];
    let suffix_len = decimal(index, &mut digits).len() + 2;
    let keep = MAX_GENERATED_NAME_LENGTH.saturating_sub(suffix_len);
    let prefix = if job_name.len() + suffix_len > MAX_GENERATED_NAME_LENGTH {
        // The longest prefix of whole characters within `keep` bytes.
        let cut = job_name
            .char_indices()
            .map(|(i, _)| i)
            .take_while(|i| *i <= keep)
            .last()
            .unwrap_or(0);
        &job_name[..cut.min(keep)]
    } else {
        job_name
    };
    out.push_str(prefix);
    out.push('-');
    out.push_str(decimal(index, &mut digits));
    out.push('-');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_generate_name_is_shortened_to_fit() {
        let with_index = |job: &str, i: i32| {
            let mut out = String::from("stale");
            generate_name(job, Some(i), &mut out);
            out
        };
        assert_eq!(with_index("pi", 3), "pi-3-");
        assert_eq!(with_index("pi", 0), "pi-0-");
        assert_eq!(with_index("pi", 2_147_483_647), "pi-2147483647-");
        assert_eq!(with_index("pi", -12), "pi--12-");
        let long = "a".repeat(70);
        let g = with_index(&long, 12);
        assert_eq!(g.len(), MAX_GENERATED_NAME_LENGTH);
        assert!(g.ends_with("-12-"));
    }

    #[test]
    fn a_plain_generate_name_is_the_job_name_and_a_dash() {
        let mut out = String::from("stale");
        generate_name("pi", None, &mut out);
        assert_eq!(out, "pi-");
        // The base of a drawn name is its first 58 characters: for a
        // 58-character job name, without the dash.
        let long = "b".repeat(58);
        generate_name(&long, None, &mut out);
        let base: String = out.chars().take(MAX_GENERATED_NAME_LENGTH).collect();
        assert_eq!(base, long);
    }
}

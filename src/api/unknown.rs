//! The fields of a Job this crate does not model: where they are.
//!
//! Every fully modelled object (the Job, its spec and status and the
//! objects in them) keeps unknown fields in an `extra` map. Objects this
//! crate models only in part (metadata, the pod template) keep their other
//! fields in `extra` too, as a matter of course: those are not unknown, and
//! not listed here.

use std::collections::BTreeMap;

use super::job::{Job, JobSpec, JobStatus, PodFailurePolicy, SuccessPolicy};
use super::meta::LabelSelector;
use super::value::Value;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// A field.
    Key(String),
    /// An item of a list.
    Index(usize),
}

/// `spec.template.spec.containers[0].name`
pub(crate) fn render(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Collects the paths of unknown fields, walking a Job.
struct Walk {
    at: Vec<Segment>,
    found: Vec<Vec<Segment>>,
}

impl Walk {
    fn extra(&mut self, extra: &BTreeMap<String, Value>) {
        for key in extra.keys() {
            let mut path = self.at.clone();
            path.push(Segment::Key(key.clone()));
            self.found.push(path);
        }
    }

    /// Walks `f` one field deeper.
    fn field(&mut self, name: &str, f: impl FnOnce(&mut Walk)) {
        self.at.push(Segment::Key(name.to_owned()));
        f(self);
        self.at.pop();
    }

    /// Walks `f` over each item of a list field.
    fn items<T>(&mut self, name: &str, items: &[T], mut f: impl FnMut(&mut Walk, &T)) {
        self.at.push(Segment::Key(name.to_owned()));
        for (i, item) in items.iter().enumerate() {
            self.at.push(Segment::Index(i));
            f(self, item);
            self.at.pop();
        }
        self.at.pop();
    }

    fn job(&mut self, job: &Job) {
        self.extra(&job.extra);
        self.field("spec", |w| w.spec(&job.spec));
        if let Some(status) = &job.status {
            self.field("status", |w| w.status(status));
        }
    }

    fn spec(&mut self, spec: &JobSpec) {
        self.extra(&spec.extra);
        if let Some(selector) = &spec.selector {
            self.field("selector", |w| w.selector(selector));
        }
        if let Some(policy) = &spec.pod_failure_policy {
            self.field("podFailurePolicy", |w| w.pod_failure_policy(policy));
        }
        if let Some(policy) = &spec.success_policy {
            self.field("successPolicy", |w| w.success_policy(policy));
        }
    }

    fn selector(&mut self, selector: &LabelSelector) {
        self.extra(&selector.extra);
        self.items("matchExpressions", &selector.match_expressions, |w, r| {
            w.extra(&r.extra);
        });
    }

    fn pod_failure_policy(&mut self, policy: &PodFailurePolicy) {
        self.extra(&policy.extra);
        self.items("rules", &policy.rules, |w, rule| {
            w.extra(&rule.extra);
            if let Some(codes) = &rule.on_exit_codes {
                w.field("onExitCodes", |w| w.extra(&codes.extra));
            }
            w.items("onPodConditions", &rule.on_pod_conditions, |w, p| {
                w.extra(&p.extra);
            });
        });
    }

    fn success_policy(&mut self, policy: &SuccessPolicy) {
        self.extra(&policy.extra);
        self.items("rules", &policy.rules, |w, rule| w.extra(&rule.extra));
    }

    fn status(&mut self, status: &JobStatus) {
        self.extra(&status.extra);
        self.items("conditions", &status.conditions, |w, c| w.extra(&c.extra));
        if let Some(u) = &status.uncounted_terminated_pods {
            self.field("uncountedTerminatedPods", |w| w.extra(&u.extra));
        }
    }
}

/// The paths of the Job's unknown fields, in the order of its structure.
pub(crate) fn unknown_field_paths(job: &Job) -> Vec<Vec<Segment>> {
    let mut walk = Walk {
        at: Vec::new(),
        found: Vec::new(),
    };
    walk.job(job);
    walk.found
}

impl Job {
    /// The fields of this Job that this crate does not model, as paths
    /// (`spec.scheduling`, `status.conditions[0].observedGeneration`):
    /// fields of a newer API version, or typos in a manifest. They are kept
    /// and written back; this is the list to warn about (the API server's
    /// `fieldValidation=Warn`). Fields of `metadata` and of the pod
    /// template, which this crate models in part, are not listed.
    ///
    /// ```
    /// let job: job_controller::Job = serde_json::from_str(
    ///     r#"{"spec": {"parallelism": 2, "scheduling": {"gang": true}}}"#,
    /// ).unwrap();
    /// assert_eq!(job.unknown_fields(), ["spec.scheduling"]);
    /// // Written back as it came.
    /// let back = serde_json::to_value(&job).unwrap();
    /// assert_eq!(back["spec"]["scheduling"], serde_json::json!({"gang": true}));
    /// ```
    #[must_use]
    pub fn unknown_fields(&self) -> Vec<String> {
        unknown_field_paths(self)
            .iter()
            .map(|p| render(p))
            .collect()
    }
}

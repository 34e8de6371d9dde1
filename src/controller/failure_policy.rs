//! Matching a failed pod against `spec.podFailurePolicy` (upstream
//! `pod_failure_policy.go: matchPodFailurePolicy`).

use super::pod::{FailureDetails, PodRecord};
use crate::api::{
    ConditionStatus, PodFailurePolicy, PodFailurePolicyAction, PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
};

/// The outcome of matching one failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyMatch {
    /// The FailJob message, when a FailJob rule matched.
    pub fail_job_message: Option<String>,
    /// Whether the failure counts toward the backoff limits (false for Ignore).
    pub counts: bool,
    /// The action of the matching rule, if any rule matched.
    pub action: Option<PodFailurePolicyAction>,
}

impl PolicyMatch {
    const NO_MATCH: PolicyMatch = PolicyMatch {
        fail_job_message: None,
        counts: true,
        action: None,
    };
}

/// Matches a pod against the policy's rules in order; the first rule with a
/// known action that matches decides. Rules with an unknown action are
/// skipped, as upstream does.
pub(crate) fn match_policy(
    policy: Option<&PodFailurePolicy>,
    pod: &PodRecord,
    namespace: &str,
) -> PolicyMatch {
    let Some(policy) = policy else {
        return PolicyMatch::NO_MATCH;
    };
    // Only failed pods are matched, and only they keep these details.
    let Some(details) = pod.failure.as_deref() else {
        return PolicyMatch::NO_MATCH;
    };
    for (index, rule) in policy.rules.iter().enumerate() {
        let matched = if let Some(req) = &rule.on_exit_codes {
            match_exit_codes(details, req).map(|(name, code)| {
                format!(
                    "Container {name} for pod {namespace}/{} failed with exit code {code} matching FailJob rule at index {index}",
                    pod.name
                )
            })
        } else if !rule.on_pod_conditions.is_empty() {
            details
                .conditions
                .iter()
                .find(|c| {
                    rule.on_pod_conditions.iter().any(|p| {
                        p.type_ == c.type_
                            && p.status.as_ref().unwrap_or(&ConditionStatus::True) == &c.status
                    })
                })
                .map(|c| {
                    format!(
                        "Pod {namespace}/{} has condition {} matching FailJob rule at index {index}",
                        pod.name, c.type_
                    )
                })
        } else {
            None
        };
        let Some(message) = matched else { continue };
        let action = rule.action.clone();
        match action {
            PodFailurePolicyAction::Ignore => {
                return PolicyMatch {
                    fail_job_message: None,
                    counts: false,
                    action: Some(action),
                };
            }
            PodFailurePolicyAction::FailIndex | PodFailurePolicyAction::Count => {
                return PolicyMatch {
                    fail_job_message: None,
                    counts: true,
                    action: Some(action),
                };
            }
            PodFailurePolicyAction::FailJob => {
                return PolicyMatch {
                    fail_job_message: Some(message),
                    counts: true,
                    action: Some(action),
                };
            }
            PodFailurePolicyAction::Other(_) => continue,
        }
    }
    PolicyMatch::NO_MATCH
}

/// The first terminated container (regular ones first, then init
/// containers) whose non-zero exit code satisfies the requirement.
fn match_exit_codes<'a>(
    pod: &'a FailureDetails,
    req: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<(&'a str, i32)> {
    pod.containers
        .iter()
        .chain(pod.init_containers.iter())
        .filter(|c| {
            req.container_name
                .as_ref()
                .is_none_or(|name| *name == c.name)
        })
        .find_map(|c| {
            let code = c.exit_code?;
            // Exit code 0 never matches, for In and NotIn alike.
            let hit = code != 0
                && match req.operator {
                    PodFailurePolicyOnExitCodesOperator::In => req.values.contains(&code),
                    PodFailurePolicyOnExitCodesOperator::NotIn => !req.values.contains(&code),
                    PodFailurePolicyOnExitCodesOperator::Other(_) => false,
                };
            hit.then_some((c.name.as_str(), code))
        })
}

//! `spec.successPolicy` (upstream `success_policy.go: matchSuccessPolicy`).

use crate::api::SuccessPolicy;
use crate::indexes::IndexSet;

/// Returns the `SuccessPolicy` message of the first satisfied rule.
pub(crate) fn match_success_policy(
    policy: Option<&SuccessPolicy>,
    completions: i32,
    succeeded: &IndexSet,
) -> Option<String> {
    let policy = policy?;
    if succeeded.is_empty() {
        return None;
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let satisfied = match &rule.succeeded_indexes {
            Some(text) => {
                let wanted = IndexSet::parse(text, completions);
                if wanted.is_empty() {
                    // A list that parses to nothing makes the rule unusable.
                    continue;
                }
                let hits: u64 = wanted.runs().map(|(f, l)| succeeded.count_in(f, l)).sum();
                match rule.succeeded_count {
                    Some(count) => hits >= u64::try_from(count.max(0)).unwrap_or(0),
                    None => hits == wanted.len(),
                }
            }
            None => match rule.succeeded_count {
                Some(count) => succeeded.len() >= u64::try_from(count.max(0)).unwrap_or(0),
                None => false,
            },
        };
        if satisfied {
            return Some(format!("Matched rules at index {index}"));
        }
    }
    None
}

//! `status.completedIndexes` and `status.failedIndexes` kept parsed.
//!
//! Upstream parses both strings on every sync and formats them again for
//! every write: linear in the number of runs (a status with every other
//! index complete has one run per completion). The machine keeps the parsed
//! sets beside the status it last computed, changes them in place, and
//! formats a string only when its set changed (or when the stored string
//! was not in canonical form, which the next write corrects, as upstream's
//! re-formatting does).

use crate::api::JobStatus;
use crate::indexes::IndexSet;
use crate::valid::ValidJob;

/// The parsed index sets of a status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StatusIndexes {
    pub completed: IndexSet,
    /// Empty unless the Job has `backoffLimitPerIndex`.
    pub failed: IndexSet,
    /// Whether formatting the sets gives back the strings of the status
    /// they were parsed from (and `failedIndexes` is set exactly when the
    /// Job has `backoffLimitPerIndex`).
    pub canonical: bool,
}

impl StatusIndexes {
    /// Parses a status as upstream's sync does (`parseIndexesFromString`,
    /// clipped to the Job's current completions).
    pub(crate) fn of(job: &ValidJob, status: &JobStatus) -> StatusIndexes {
        if !job.is_indexed() {
            return StatusIndexes {
                canonical: true,
                ..StatusIndexes::default()
            };
        }
        let completions = job.completions().unwrap_or(0);
        let completed = IndexSet::parse(&status.completed_indexes, completions);
        let (failed, failed_canonical) = match job.backoff_limit_per_index() {
            Some(_) => {
                let text = status.failed_indexes.as_deref().unwrap_or_default();
                let failed = IndexSet::parse(text, completions);
                let canonical = status.failed_indexes.as_deref() == Some(&*failed.to_text());
                (failed, canonical)
            }
            None => (IndexSet::new(), status.failed_indexes.is_none()),
        };
        let canonical = failed_canonical && completed.to_text() == status.completed_indexes;
        StatusIndexes {
            completed,
            failed,
            canonical,
        }
    }
}

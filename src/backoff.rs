//! Pod re-creation backoff (upstream `backoff_utils.go`).
//!
//! Upstream keeps one record per Job in controller memory only: how many pods
//! failed since the last success, and when the last of them finished. A
//! controller restart forgets it, which is why [`crate::JobController::restore_with_backoff`]
//! lets a caller that persisted it hand it back.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// First delay after a failure (upstream `DefaultJobPodFailureBackOff`).
pub(crate) const BASE_DELAY: Duration = Duration::seconds(10);
/// Cap of the delay (upstream `MaxJobPodFailureBackOff`): 10 minutes.
pub(crate) const MAX_DELAY: Duration = Duration::seconds(600);
/// The controller never asks to be woken sooner than this after a backoff
/// decision (upstream batches pod-event syncs by one second).
pub(crate) const MIN_REQUEUE: Duration = Duration::seconds(1);

/// The remembered failure history of a Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackoffRecord {
    /// Pods that failed after the latest success.
    pub failures_after_last_success: u32,
    /// When the latest of those failures finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<DateTime<Utc>>,
}

impl BackoffRecord {
    /// The record after a sync that found pods newly succeeded and newly
    /// failed, given by their finish times (upstream `newBackoffRecord`).
    /// Failed pods include those the pod failure policy ignores.
    pub fn next(
        &self,
        mut succeeded: Vec<DateTime<Utc>>,
        mut failed: Vec<DateTime<Utc>>,
    ) -> BackoffRecord {
        succeeded.sort();
        failed.sort();
        match (succeeded.last(), failed.last()) {
            (None, None) => *self,
            (None, Some(last)) => BackoffRecord {
                failures_after_last_success: self
                    .failures_after_last_success
                    .saturating_add(u32::try_from(failed.len()).unwrap_or(u32::MAX)),
                last_failure_time: Some(*last),
            },
            (Some(_), None) => BackoffRecord::default(),
            (Some(last_success), Some(_)) => {
                let after: Vec<_> = failed.iter().filter(|t| *t > last_success).collect();
                BackoffRecord {
                    failures_after_last_success: u32::try_from(after.len()).unwrap_or(u32::MAX),
                    last_failure_time: after.last().map(|t| **t),
                }
            }
        }
    }

    /// Time left before a replacement pod may be created (zero if none).
    pub fn remaining(&self, now: DateTime<Utc>) -> Duration {
        match self.last_failure_time {
            Some(last) => remaining_for_failures(self.failures_after_last_success, last, now),
            None => Duration::zero(),
        }
    }
}

/// The delay after `failures` consecutive failures: 10 s doubling, capped at
/// 600 s (upstream `getRemainingTimeForFailuresCount`).
pub(crate) fn delay_for_failures(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::zero();
    }
    let mut delay = BASE_DELAY;
    for _ in 1..failures {
        delay = delay + delay;
        if delay >= MAX_DELAY {
            return MAX_DELAY;
        }
    }
    delay
}

/// Time left of the delay for `failures` failures, the last finished at `last`.
pub(crate) fn remaining_for_failures(
    failures: u32,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Duration {
    if failures == 0 {
        return Duration::zero();
    }
    let delay = delay_for_failures(failures);
    let elapsed = now.signed_duration_since(last);
    if delay < elapsed {
        Duration::zero()
    } else {
        delay - elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn delays_double_from_ten_seconds_up_to_ten_minutes() {
        let secs: Vec<i64> = (1..=9)
            .map(|n| delay_for_failures(n).num_seconds())
            .collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(delay_for_failures(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn only_failures_after_the_latest_success_count() {
        let rec = BackoffRecord::default().next(vec![t(5)], vec![t(1), t(6), t(7)]);
        assert_eq!(rec.failures_after_last_success, 2);
        assert_eq!(rec.last_failure_time, Some(t(7)));
    }

    #[test]
    fn a_success_alone_resets_the_record() {
        let rec = BackoffRecord {
            failures_after_last_success: 3,
            last_failure_time: Some(t(0)),
        };
        assert_eq!(rec.next(vec![t(1)], vec![]), BackoffRecord::default());
    }

    #[test]
    fn remaining_is_zero_exactly_at_expiry() {
        assert_eq!(remaining_for_failures(1, t(0), t(10)), Duration::zero());
        assert_eq!(remaining_for_failures(1, t(0), t(1)), Duration::seconds(9));
    }
}

//! Retrying after a failed request: upstream's work queue requeues a Job
//! whose sync returned an error with a per-key exponential delay
//! (`workqueue.NewTypedItemExponentialFailureRateLimiter(DefaultJobApiBackOff,
//! MaxJobApiBackOff)`), and forgets the count after a sync that succeeds;
//! and the creations and deletions a sync expects expire after
//! `ExpectationsTimeout`, so a lost one cannot stall the Job forever.

use chrono::{DateTime, Duration, Utc};

/// First requeue delay after a failed sync (upstream `DefaultJobApiBackOff`).
pub(crate) const BASE_DELAY: Duration = Duration::seconds(1);
/// Cap of the requeue delay (upstream `MaxJobApiBackOff`).
pub(crate) const MAX_DELAY: Duration = Duration::seconds(60);
/// How long a sync's expected creations and deletions hold back the next
/// `manageJob` (upstream `controller.ExpectationsTimeout`).
pub(crate) const EXPECTATIONS_TIMEOUT: Duration = Duration::minutes(5);

/// The work queue's rate limiter for this Job's key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Requeue {
    /// Failed syncs in a row (the limiter's count for the key).
    failures: u32,
    /// The latest sync has met a failure (it is one failed sync however
    /// many of its requests failed).
    current_failed: bool,
    /// When the rate-limited requeue fires, if no sync ran since.
    pub at: Option<DateTime<Utc>>,
}

impl Requeue {
    /// A sync starts: it serves any pending requeue; if the sync before it
    /// met no failure, that sync succeeded and the count is forgotten
    /// (upstream `queue.Forget` after `syncHandler` returns nil).
    pub(crate) fn sync_started(&mut self) {
        if !self.current_failed {
            self.failures = 0;
        }
        self.current_failed = false;
        self.at = None;
    }

    /// Whether a request of the latest sync failed.
    pub(crate) fn current_failed(&self) -> bool {
        self.current_failed
    }

    /// A request of the latest sync failed: that sync returns an error and
    /// the key is requeued after `1s · 2^failures`, capped at 60 s
    /// (`ItemExponentialFailureRateLimiter.When`), once per sync.
    pub(crate) fn failed(&mut self, now: DateTime<Utc>) {
        if self.current_failed {
            return;
        }
        self.current_failed = true;
        self.at = Some(
            now.checked_add_signed(delay(self.failures))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        );
        self.failures = self.failures.saturating_add(1);
    }
}

/// The limiter's delay after `failures` earlier failures in a row.
pub(crate) fn delay(failures: u32) -> Duration {
    // 2^6 s already passes the cap; larger shifts would overflow.
    if failures >= 6 {
        return MAX_DELAY;
    }
    (BASE_DELAY * (1 << failures)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_to_a_minute() {
        let secs: Vec<i64> = (0..9).map(|n| delay(n).num_seconds()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }
}

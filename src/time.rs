//! Saturating time arithmetic. Every instant the machine computes (a
//! deadline, a backoff expiry, a TTL) is derived from times it is given, and
//! any of those may sit at either end of chrono's range: sums saturate at
//! `DateTime::<Utc>::MAX_UTC` / `MIN_UTC` instead of overflowing.

use chrono::{DateTime, Duration, Utc};

/// `t + d`, saturating at the ends of the representable range.
pub(crate) fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t - d`, saturating at the ends of the representable range.
pub(crate) fn before(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate_at_both_ends() {
        let max = DateTime::<Utc>::MAX_UTC;
        let min = DateTime::<Utc>::MIN_UTC;
        assert_eq!(after(max, Duration::seconds(1)), max);
        assert_eq!(after(min, Duration::seconds(-1)), min);
        assert_eq!(before(min, Duration::seconds(1)), min);
        assert_eq!(before(max, Duration::seconds(-1)), max);
        assert_eq!(after(max, Duration::MAX), max);
        assert_eq!(after(min, Duration::MIN), min);
        let t = DateTime::from_timestamp(0, 0).unwrap();
        assert_eq!(after(t, Duration::seconds(5)).timestamp(), 5);
        assert_eq!(before(t, Duration::seconds(5)).timestamp(), -5);
    }
}

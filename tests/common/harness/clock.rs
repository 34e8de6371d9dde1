//! Time arithmetic that never panics, and panics caught as violations.

#[allow(unused_imports)]
use super::*;

/// `s` seconds (saturating at `TimeDelta`'s range).
pub(crate) fn secs(s: i64) -> Duration {
    Duration::try_seconds(s).unwrap_or(if s < 0 { Duration::MIN } else { Duration::MAX })
}

/// `t + d`, saturating at chrono's range (an instant beyond
/// `DateTime::<Utc>::MAX_UTC` is reached at `MAX_UTC`, as the machine
/// clamps its deadline and TTL).
pub(crate) fn sat_add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t - d`, saturating at chrono's range.
pub(crate) fn sat_sub(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

/// Runs a machine call; a panic becomes a `[no-panic]` violation, with the
/// panic's location, and without the default hook's report (shrinking
/// would print one per attempt).
pub(super) fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_panics::install();
    let was = quiet_panics::QUIET.with(|q| q.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    quiet_panics::QUIET.with(|q| q.set(was));
    r.map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        let at = quiet_panics::LOCATION
            .with(std::cell::RefCell::take)
            .unwrap_or_else(|| "?".to_owned());
        format!("[no-panic] the machine panicked in {what} at {at}: {msg}")
    })
}

/// A panic hook that stays silent for panics inside [`guarded`] (on this
/// thread) and keeps their location; others go to the previous hook.
pub(super) mod quiet_panics {
    use std::cell::{Cell, RefCell};
    use std::sync::Once;

    thread_local! {
        pub static QUIET: Cell<bool> = const { Cell::new(false) };
        pub static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    pub(super) fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if QUIET.try_with(Cell::get).unwrap_or(false) {
                    let at = info.location().map(ToString::to_string);
                    let _ = LOCATION.try_with(|l| *l.borrow_mut() = at);
                } else {
                    previous(info);
                }
            }));
        });
    }
}

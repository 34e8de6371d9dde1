//! Bytes → a small Job (as `ValidJob::create` admits it) and a sequence of
//! events (pod transitions, duplicate, stale and late deliveries, held and
//! failed creations, suspend/resume, parallelism changes, timeouts), driven
//! through the checked harness of the integration tests
//! (`tests/common/harness/mod.rs`): no panic in the machine, and every
//! invariant the harness checks after every input (precise wake-ups, each
//! pod deleted at most once, the machine's status writes pass its own
//! validation, ...). A few inputs (flag bits 3-7 `11111` or `01111`) start
//! the clock near either end of chrono's range (`harness::decode_start`).
//!
//! Run (see README "Fuzzing"):
//!
//! ```sh
//! cd fuzz && cargo fuzz run -s none events -- -max_total_time=600
//! ```
//!
//! `JOB_INVARIANTS_SKIP` (comma-separated check ids) switches off checks
//! that fail on a known machine bug, to look for others meanwhile
//! (`no-panic`: inputs on which the machine panics are dropped).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/harness/mod.rs"]
#[allow(dead_code, clippy::all)]
mod harness;

/// Longest history decoded from one input.
const MAX_STEPS: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Some(d) = harness::decode(data, MAX_STEPS) else {
        return;
    };
    let fast =
        harness::Harness::new_at(d.job.clone(), d.start.at()).map(harness::Harness::without_trace);
    let failure = match fast {
        Err(e) => Some(e),
        Ok(mut h) => d.steps.iter().find_map(|s| h.step(s).err()),
    };
    if let Some(first) = failure {
        // `no-panic` in JOB_INVARIANTS_SKIP: a history on which the machine
        // panics (a known bug) is dropped, as in tests/invariants.rs.
        let skip = std::env::var("JOB_INVARIANTS_SKIP").unwrap_or_default();
        if first.contains("[no-panic]") && skip.split(',').any(|s| s == "no-panic") {
            return;
        }
        // Again, with the trace, for the message.
        let err = match harness::run_history(&d.job, d.start, &d.steps) {
            Err(e) => e,
            Ok(_) => "failed without a trace but not with one (non-determinism)".to_owned(),
        };
        panic!("{:?} from {:?}\n{:?}\n{err}", d.params, d.start, d.steps);
    }
});

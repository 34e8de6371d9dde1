//! Inputs the `events` fuzz target (`fuzz/fuzz_targets/events.rs`) failed
//! on, replayed through the same decoder and harness. Each test names what
//! the input exposed.

mod common;

use common::harness::{decode, run_history};

/// Longest history the fuzz target decodes from one input.
const MAX_STEPS: usize = 256;

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn replay(hex: &str) {
    let data = bytes(hex);
    let d = decode(&data, MAX_STEPS).expect("the input decodes to a valid Job");
    if let Err(e) = run_history(&d.job, d.start, &d.steps) {
        panic!("{:?} from {:?}\n{:?}\n{e}", d.params, d.start, d.steps);
    }
}

/// `crash-ecfdc5ff…` (found in 2 s once the decoder could start histories
/// near the ends of chrono's range): a Job with completions 2 created at
/// `DateTime::<Utc>::MAX_UTC` whose first pod fails: the machine panics
/// computing the backoff wake-up ("`DateTime + TimeDelta` overflowed",
/// src/controller/sync.rs; check `[no-panic]`, see
/// `invariants::exact_histories::a_failure_at_the_end_of_time_does_not_panic`).
/// Fixed: the machine's time arithmetic saturates (`src/time.rs`) and a
/// backoff running out past the end of time asks for no wake-up.
#[test]
fn a_failure_at_the_end_of_time_does_not_panic() {
    replay("f87fff0002001005");
}

/// `crash-67c8a2e6…` (a 10-minute run with the known findings switched
/// off): an Indexed Job (completions 3, parallelism 3,
/// backoffLimitPerIndex 1, successPolicy `0-1`) whose index-2 pod is
/// deleted (a failure: a replacement is created after the backoff) and then
/// succeeds while terminating, so index 2 is completed; the replacement
/// then fails and the machine marks index 2 failed too: completedIndexes
/// "0,2" and failedIndexes "2" overlap (`[own-writes-validate]`; the older
/// range check finds it as well — likely the rare failure of the invariant
/// suite whose seed was lost). The history starts near `MAX_UTC`, but it
/// fails from the usual start too (see
/// `invariants::exact_histories::a_completed_index_never_fails`). Fixed: an
/// index has one outcome, the first recorded (`sync.rs`, `decide_terminal`).
#[test]
fn a_completed_index_never_fails() {
    replay(concat!(
        "f9e3effc090affb92441000000ffff000027271b1b1b1b1b1b1b1b1b1b1b1b1b1be3e43b1b1b1b1b1b1b2709740a78d782ff",
        "00002b0000cc6d212de3414d000a616d212db35bb3b3b3b327232727f80e272727b9b9b9e6030000322d7777786db9b962fb",
        "ffffffb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2e3b2b241b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b24d",
        "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2661901d70a74424242424242"
    ));
}

/// `crash-71d4d6a8…` (found in about a second): a work-queue Job with
/// `activeDeadlineSeconds: 1701` whose pod succeeds at 294 s is Complete,
/// yet `poll_timeout` still asks for the ActiveDeadline wake-up at 1701 s
/// (check `[finished-timeout]`; see `invariants::reproducers`). A machine
/// bug, fixed in 9e6e942; kept as a regression test.
#[test]
fn complete_job_waits_for_no_deadline() {
    replay("082d58701aaa2d622b");
}

/// `crash-bcf5eb1d…` (a strict run after 9e6e942 stopped on it while still
/// loading the corpus of the earlier runs): an Indexed Job with
/// backoffLimitPerIndex 1 and `activeDeadlineSeconds: 1`; its pod is
/// deleted at 0 s (a failure: the index's replacement waits 10 s), and at
/// 14 s a restart of the still-terminating pod brings the DeadlineExceeded
/// decision while the pod terminates: `poll_timeout` still answers the
/// Backoff wake-up at 10 s, in the past (check `[past-timeout]`; see
/// `invariants::reproducers::a_failing_job_asks_for_no_past_wake_up`). A
/// machine bug, fixed in 1cc94b9; kept as a regression test.
#[test]
fn failing_job_waits_for_nothing_in_the_past() {
    replay("f5ffffff3101000101806b6b6b00");
}

/// `crash-3e9c17a5…`: an Indexed Job with backoffLimitPerIndex whose
/// terminating pod turned unready (finish time 738 s) and was then seen
/// again in an older copy (finish time back to its deletion at 0 s); the
/// machine, like upstream, times the index's backoff from the copy it
/// holds. The harness then checked against the newest copy — its bug, fixed
/// (it checks against the machine's view); kept so it stays fixed.
#[test]
fn per_index_backoff_follows_the_copy_the_machine_holds() {
    replay(
        "e10a000a3105ff0509f824aaa800000000a888008000000000000000010d00a888000000820b00000000000000880000000000010d00000000000082f5f60201cd00240d000000000000820b000224aaa800000000a888002f00000000000000010d00a888000000820b0000cd000000a8a82d35",
    );
}

/// An `events` input from the issue "Exact under every history" (item 11;
/// found after ~525 000 runs, base64 `AdYvKqmpqTqp…VVZVVm4=`): an Indexed
/// Job with `backoffLimitPerIndex: 1`, a success policy and a TTL. Index 0
/// fails for good, then a terminating pod of index 0 succeeds; the machine
/// wrote `completedIndexes "0,1"` beside `failedIndexes "0"`, a status the
/// API server rejects (`validateFailedIndexesNotOverlapCompleted`). An index
/// now has one outcome, the first recorded (see `sync.rs`,
/// `decide_terminal`); kept as a regression test.
#[test]
fn a_success_for_a_failed_index_is_not_counted() {
    replay(
        "01d62f2aa9a9a93aa9a9a9a9a9a9a9a9a9a9a9a9a9a9756964ffe9e9e9ffc9e9ebe9e902400000007569642d35000000000000000000c9e9e9e9e902400000007569640000696427a9a9a9a9a9a1a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a92a01c2be8023ffffffe9e9e9ffc9e9ebe9e902400000007569642d35000000000000000000c9a9a9a9a9a9a9a9a9a1a9a924c25556a901247424ae065d5555a9a9a9a1a4a9a9a9550000ff00000000000000000000000000555655566e",
    );
}

/// `crash-98884…` (the hour-long run on the fixed code, after ~45 000
/// runs): a Job with `restartPolicy: OnFailure` near `MAX_UTC` whose status
/// write was refused while the pod-failure backoff held a replacement back
/// (`ready > active`: see `sync.rs`, `rejected_by_api_server`). The refused
/// status stays as it was — `active: 3` — while the Job now allows 2. The
/// harness's rule `status.active <= parallelism` did not know that a
/// refused write leaves the status stale; it does now (the machine was
/// right). Kept as a regression test of the harness.
#[test]
fn a_refused_write_leaves_the_status_as_it_was() {
    replay(concat!(
        "fc090a0000f8f8f800d8f8f8636a2d312d6b6a77787a00000000000000000000000000000000000000080000000000000000",
        "000000000000000000000000000000000000000000000000b10bbfa6e7d301023d6a2d302f29326a00326a00000000000000",
        "0000005dbfa6e702116a2deb0702d1d1d1d1d1d1d1d1d12f2e2e2e2e2e2e2ad1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d191d1d1919393f4f4f4f4f4f4000000000000000000000000",
        "000000000000000000002900000000000000000000000000000000f8f8f8f80048f8f8e8f8d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "d1d1d1d1f5d65331815c939393010000930001010093919393f4f4f4f4f4f4d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "d1d1d1d1d1d1d1000a1800000000000000d1d1d1d1d1d1d1d1d1f5d6533181000300f8f8f83d0000f9000000000000000000",
        "fb5c000000",
    ));
}

/// What `fuzz_targets/parse_manifest.rs` checks of every document.
fn round_trip(text: &str) -> Result<(), String> {
    let Ok(jobs) = job_controller::parse_jobs(text) else {
        return Ok(());
    };
    for job in jobs {
        // Only a batch/v1 Job is ever accepted (the crash-a4706bf2 bug).
        if !(job.api_version.is_empty() || job.api_version == "batch/v1")
            || !(job.kind.is_empty() || job.kind == "Job")
        {
            return Err(format!(
                "accepted apiVersion {:?} kind {:?}",
                job.api_version, job.kind
            ));
        }
        let yaml = job_controller::to_yaml(&job);
        match job_controller::parse_job(&yaml) {
            Ok(back) if back == job => {}
            Ok(_) => return Err(format!("round trip changed the Job:\n{yaml}")),
            Err(e) => return Err(format!("to_yaml wrote what parse_job rejects ({e})")),
        }
    }
    Ok(())
}

/// `parse_manifest` `crash-176e79dc…` (found after ~560 000 runs, 36 s):
/// `to_yaml` writes a map key longer than 1024 characters as an implicit
/// key, which YAML (and so `parse_job`) rejects: "mapping values are not
/// allowed in this context". A bug of `src/yaml.rs`, fixed in 9e6e942
/// (explicit `? key` form); kept as a regression test.
#[test]
fn parse_manifest_crash_long_key() {
    let text = include_str!("fuzz_regressions/parse_manifest-crash-176e79dc.yaml");
    if let Err(e) = round_trip(text) {
        panic!("{e}");
    }
}

/// The same, minimal: one label key of 1025 characters.
#[test]
fn to_yaml_writes_keys_longer_than_1024_characters_readably() {
    let mut job = job_controller::parse_job("metadata: {name: x}").unwrap();
    job.metadata.labels.insert("k".repeat(1025), "v".into());
    let yaml = job_controller::to_yaml(&job);
    match job_controller::parse_job(&yaml) {
        Ok(back) => assert_eq!(back, job),
        Err(e) => panic!("to_yaml wrote what parse_job rejects ({e})"),
    }
}

/// `parse_manifest` `crash-7e93d9fa…`, from the second 10-minute run (which
/// went on past crashes): another long key (fixed with the above).
#[test]
fn parse_manifest_crash_7e93d9fa() {
    let text = include_str!("fuzz_regressions/parse_manifest-crash-7e93d9fa.yaml");
    if let Err(e) = round_trip(text) {
        panic!("{e}");
    }
}

/// `parse_manifest` `crash-812a4d52…`, same run, same cause.
#[test]
fn parse_manifest_crash_812a4d52() {
    let text = include_str!("fuzz_regressions/parse_manifest-crash-812a4d52.yaml");
    if let Err(e) = round_trip(text) {
        panic!("{e}");
    }
}

/// `parse_manifest` `crash-166b940b…` (a 10-minute run after the long-key
/// fix): a key of 994 characters but 1050 bytes. The parser counts YAML's
/// 1024 implicit-key limit in bytes, so `to_yaml` now switches to explicit
/// keys by byte length.
#[test]
fn parse_manifest_crash_long_multibyte_key() {
    let text = include_str!("fuzz_regressions/parse_manifest-crash-166b940b.yaml");
    if let Err(e) = round_trip(text) {
        panic!("{e}");
    }
}

/// `parse_manifest` `crash-a4706bf2…` (found after ~2.5 M runs): the 19
/// bytes `!e apiVersion :\r a8`. `parse_jobs` took it for a Job, yet
/// `parse_job(to_yaml(..))` refused the output as apiVersion "a8". The kind
/// check looked `apiVersion` up as a plain string key and missed the key
/// behind the local tag `!e`; the typed decoding untagged the key and read
/// `apiVersion: a8`. A bug of `src/yaml.rs`: both now read one canonical
/// tree, in which a local tag on a key or a value is refused with its path.
#[test]
fn parse_manifest_crash_tagged_api_version_key() {
    let text = include_str!("fuzz_regressions/parse_manifest-crash-a4706bf2.yaml");
    assert_eq!(text.as_bytes(), b"!e apiVersion :\r a8");
    if let Err(e) = round_trip(text) {
        panic!("{e}");
    }
    match job_controller::parse_jobs(text) {
        Err(job_controller::ParseError::Unsupported {
            path: Some(path),
            line: Some(1),
            ..
        }) if path == "apiVersion" => {}
        other => panic!("expected the tagged key to be refused, got {other:?}"),
    }
}

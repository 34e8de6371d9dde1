//! Exhaustive exploration of small Jobs by breadth-first search.
//!
//! Configurations: completions unset, 1, 2 or 3; parallelism 1 or 2;
//! backoffLimit 0, 1 or 2; NonIndexed, and Indexed when completions is set;
//! each plain and with one extra: a small podFailurePolicy (FailJob on exit
//! 42, Ignore on exit 2), a successPolicy (Indexed: index 0 suffices), a
//! suspend-then-resume (created suspended, suspend may be toggled twice), or
//! `activeDeadlineSeconds: 30`.
//!
//! From the initial state, every interleaving of: for each existing pod that
//! is not finished, succeed, fail (exit 1, and with the policy also 2 and
//! 42), or be deleted by someone else (terminating first, gone after); a
//! jump of the clock to the machine's wake-up followed by `handle_timeout`;
//! and the suspend toggles. States are deduplicated by a canonical
//! fingerprint ([`common::harness::Harness::fingerprint`]: status, pods by
//! creation order, pending wake-up, backoff record, all relative to now)
//! and every invariant of the harness is checked on every transition.
//!
//! No model-checking crate: the state embeds the machine, which is neither
//! `Hash` nor `Eq`, so a checker such as stateright would need the same
//! fingerprint wrapper, and a breadth-first loop over a `HashSet` of
//! fingerprints is a few dozen lines without new dependencies.
//!
//! `JOB_EXHAUSTIVE_DEPTH` raises the depth (default 6: about a minute in a
//! debug build on two cores).

mod common;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use common::harness::SuccessRule;
use common::harness::{Advance, Candidates, Harness, Input, JobParams, Rule, RuleOn, Step};
use job_controller::api::PodFailurePolicyAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    Policy,
    SuccessPolicy,
    SuspendResume,
    Deadline,
}

fn configurations() -> Vec<(JobParams, Extra)> {
    let mut out = Vec::new();
    for completions in [None, Some(1), Some(2), Some(3)] {
        for parallelism in [1, 2] {
            for backoff_limit in [0, 1, 2] {
                for indexed in [false, true] {
                    if indexed && completions.is_none() {
                        continue;
                    }
                    for extra in [
                        Extra::None,
                        Extra::Policy,
                        Extra::SuccessPolicy,
                        Extra::SuspendResume,
                        Extra::Deadline,
                    ] {
                        if extra == Extra::SuccessPolicy && !indexed {
                            continue;
                        }
                        let mut p = JobParams {
                            indexed,
                            completions,
                            parallelism: Some(parallelism),
                            backoff_limit: Some(backoff_limit),
                            ..JobParams::default()
                        };
                        match extra {
                            Extra::None => {}
                            Extra::Policy => {
                                p.pod_failure_policy = Some(vec![
                                    Rule {
                                        action: PodFailurePolicyAction::FailJob,
                                        on: RuleOn::ExitCodes {
                                            not_in: false,
                                            values: vec![42],
                                            named: false,
                                        },
                                    },
                                    Rule {
                                        action: PodFailurePolicyAction::Ignore,
                                        on: RuleOn::ExitCodes {
                                            not_in: false,
                                            values: vec![2],
                                            named: false,
                                        },
                                    },
                                ]);
                            }
                            Extra::SuccessPolicy => {
                                p.success_policy = Some(vec![SuccessRule {
                                    indexes: Some("0".into()),
                                    count: None,
                                }]);
                            }
                            Extra::SuspendResume => p.suspend = true,
                            Extra::Deadline => p.active_deadline_seconds = Some(30),
                        }
                        out.push((p, extra));
                    }
                }
            }
        }
    }
    out
}

fn position(list: &[String], name: &str) -> Option<u8> {
    list.iter()
        .position(|n| n == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// Every transition from a state.
fn transitions(h: &Harness, extra: Extra, toggles: u8) -> Vec<Step> {
    let now = |input| Step {
        advance: Advance::Secs(0),
        input,
    };
    let unfinished = h.candidate_list(Candidates::Unfinished);
    let not_terminating = h.candidate_list(Candidates::NotTerminating);
    let existing = h.candidate_list(Candidates::Existing);
    let codes: &[u8] = if extra == Extra::Policy {
        &[0, 1, 2] // exit 1, 2 (Ignore), 42 (FailJob)
    } else {
        &[0]
    };
    let mut out = Vec::new();
    for (i, name) in unfinished.iter().enumerate() {
        let i = u8::try_from(i).unwrap_or(u8::MAX);
        out.push(now(Input::Succeed(i)));
        for &code in codes {
            out.push(now(Input::Fail {
                pod: i,
                code,
                disruption: false,
            }));
        }
        if let Some(k) = position(&not_terminating, name) {
            out.push(now(Input::Terminate(k)));
        } else if let Some(k) = position(&existing, name) {
            out.push(now(Input::Gone {
                pod: k,
                force: true,
            }));
        }
    }
    if h.ctl().poll_timeout().is_some() {
        out.push(Step {
            advance: Advance::ToTimeout,
            input: Input::Timeout,
        });
    }
    if extra == Extra::SuspendResume && toggles < 2 {
        out.push(now(Input::Suspend(!h.ctl().job().is_suspended())));
    }
    out
}

fn key(h: &Harness, toggles: u8) -> (u64, u64) {
    let text = h.fingerprint();
    let mut a = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (text.len(), toggles, &text).hash(&mut b);
    (a.finish(), b.finish() ^ u64::from(toggles))
}

struct Outcome {
    states: usize,
    transitions: usize,
    failure: Option<String>,
}

fn explore(params: &JobParams, extra: Extra, depth: usize) -> Outcome {
    let job = params.admit().expect("exhaustive configurations are valid");
    let start = match Harness::new(job) {
        Ok(h) => h.lean(),
        Err(e) => {
            return Outcome {
                states: 1,
                transitions: 0,
                failure: Some(format!("at creation: {e}")),
            };
        }
    };
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    seen.insert(key(&start, 0));
    let mut frontier: Vec<(Harness, u8, Vec<Step>)> = vec![(start, 0, Vec::new())];
    let mut transitions_done = 0;
    for _ in 0..depth {
        let mut next = Vec::new();
        for (h, toggles, path) in &frontier {
            for step in transitions(h, extra, *toggles) {
                let mut h2 = h.clone();
                transitions_done += 1;
                let toggles2 = toggles + u8::from(matches!(step.input, Input::Suspend(_)));
                let mut path2 = path.clone();
                path2.push(step);
                if let Err(e) = h2.step(&step) {
                    return Outcome {
                        states: seen.len(),
                        transitions: transitions_done,
                        failure: Some(format!("{e}\npath: {path2:?}")),
                    };
                }
                if seen.insert(key(&h2, toggles2)) {
                    next.push((h2, toggles2, path2));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Outcome {
        states: seen.len(),
        transitions: transitions_done,
        failure: None,
    }
}

#[test]
fn every_small_job_keeps_every_invariant() {
    let depth = std::env::var("JOB_EXHAUSTIVE_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6usize);
    let configs = configurations();
    // One configuration at a time per core.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((params, extra)) = configs.get(i) else {
                        break;
                    };
                    let o = explore(params, *extra, depth);
                    results.lock().unwrap().push((i, o));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut states = 0;
    let mut transitions = 0;
    let mut failures = Vec::new();
    for (i, o) in results {
        let (params, extra) = &configs[i];
        states += o.states;
        transitions += o.transitions;
        if let Some(f) = o.failure {
            failures.push(format!("{params:?} ({extra:?}):\n{f}"));
        }
    }
    eprintln!(
        "exhaustive: {} configurations, depth {depth}, {states} distinct states, {transitions} transitions checked, {} configurations failed",
        configs.len(),
        failures.len()
    );
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(3).collect();
        panic!(
            "{} configurations break an invariant; the first ones:\n{}",
            failures.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
}

//! Several Jobs in one simulation: one clock, a generator per Job, and an
//! optional number of node slots (`sim::Simulation::builder`).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;

use job_controller::api::JobConditionType;
use job_controller::sim::{JobRef, PodBehaviour, PodRef, SimError, SimEvent, Simulation, job_seed};
use job_controller::{ValidJob, parse_job};
use proptest::prelude::*;

mod common;

/// A Job: `indexed` or not, `completions` of them `parallelism` at a time.
fn job(name: &str, namespace: &str, indexed: bool, completions: u32, parallelism: u32) -> ValidJob {
    job_with(name, namespace, indexed, completions, parallelism, "")
}

fn job_with(
    name: &str,
    namespace: &str,
    indexed: bool,
    completions: u32,
    parallelism: u32,
    extra: &str,
) -> ValidJob {
    let mode = if indexed { "Indexed" } else { "NonIndexed" };
    let text = format!(
        "
metadata: {{name: {name}, namespace: {namespace}, uid: u-{namespace}-{name}}}
spec:
  completions: {completions}
  parallelism: {parallelism}
  completionMode: {mode}
  backoffLimit: 1000{extra}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]"
    );
    ValidJob::create(parse_job(&text).expect("parses")).expect("valid")
}

/// A small Job's shape and its pods' behaviour.
fn arb_job() -> impl Strategy<Value = (bool, u32, u32, PodBehaviour)> {
    (
        any::<bool>(),
        1u32..6,
        1u32..4,
        prop_oneof![Just(0.0), Just(0.3), Just(0.6)],
        prop_oneof![Just(0.0), Just(0.2)],
        (0u32..3, 1u32..20),
    )
        .prop_map(
            |(indexed, completions, parallelism, fail, evict, (up, run))| {
                let behaviour = PodBehaviour {
                    failure_probability: fail,
                    eviction_probability: evict,
                    startup_seconds: (up, up + 2),
                    run_seconds: (run, run + 10),
                    ..PodBehaviour::default()
                };
                (indexed, completions, parallelism, behaviour)
            },
        )
}

fn fleet(
    jobs: &[(bool, u32, u32, PodBehaviour)],
    seed: u64,
    capacity: Option<usize>,
) -> Simulation {
    let mut builder = Simulation::builder(seed);
    for (at, (indexed, completions, parallelism, behaviour)) in jobs.iter().enumerate() {
        let valid = job(
            &format!("j{at}"),
            "default",
            *indexed,
            *completions,
            *parallelism,
        );
        builder = builder.job(valid, behaviour.clone());
    }
    if let Some(n) = capacity.and_then(NonZeroUsize::new) {
        builder = builder.capacity(n);
    }
    builder.build().expect("distinct Jobs")
}

/// Slots held at each instant, from the typed log alone: a pod holds one
/// from `PodScheduled` until it finishes or is gone. Returns the most held
/// at once, and checks that no pod runs without a slot.
fn most_slots_held(sim: &Simulation) -> usize {
    let mut holding: BTreeSet<PodRef> = BTreeSet::new();
    let mut most = 0;
    for entry in sim.log() {
        match entry.event {
            SimEvent::PodScheduled { pod } => {
                assert!(
                    holding.insert(pod),
                    "scheduled twice: {}",
                    sim.pod_name(pod)
                );
                most = most.max(holding.len());
            }
            SimEvent::PodRunning { pod } => {
                assert!(
                    holding.contains(&pod),
                    "{} runs without a slot",
                    sim.pod_name(pod)
                );
            }
            SimEvent::PodSucceeded { pod }
            | SimEvent::PodFailed { pod, .. }
            | SimEvent::PodEvicted { pod }
            | SimEvent::PodGone { pod } => {
                holding.remove(&pod);
            }
            _ => {}
        }
    }
    most
}

proptest! {
    #![proptest_config(common::proptest_config(48))]

    /// With unlimited capacity the Jobs do not touch each other: each one's
    /// records and final status in the simulation of several are those of
    /// its run alone with its derived seed.
    #[test]
    fn with_unlimited_capacity_each_job_runs_as_it_runs_alone(
        jobs in prop::collection::vec(arb_job(), 2..5),
        seed in any::<u64>(),
    ) {
        let mut together = fleet(&jobs, seed, None);
        prop_assert!(together.run_to_end(1_000_000).finished);
        for (at, (indexed, completions, parallelism, behaviour)) in jobs.iter().enumerate() {
            let valid = job(&format!("j{at}"), "default", *indexed, *completions, *parallelism);
            let mut alone = Simulation::new(valid, behaviour.clone(), job_seed(seed, at));
            prop_assert!(alone.run_to_end(1_000_000).finished);
            let mine = together.jobs().nth(at).expect("the Job");
            let records_together: Vec<_> = together
                .log()
                .iter()
                .filter(|e| e.job == mine)
                .map(|e| together.record(e))
                .collect();
            let records_alone: Vec<_> = alone.log().iter().map(|e| alone.record(e)).collect();
            prop_assert_eq!(records_together, records_alone, "Job {}", at);
            prop_assert_eq!(
                together.controller_of(mine).expect("the Job").status(),
                alone.controller().status()
            );
            prop_assert_eq!(together.status_writes_of(mine), alone.status_writes());
        }
    }

    /// With a capacity, no more pods hold a node slot than that at any
    /// instant, slots go to waiting pods in the order they were created
    /// (across Jobs), and every Job still finishes.
    #[test]
    fn capacity_is_never_exceeded_slots_go_first_come_first_served_and_every_job_finishes(
        jobs in prop::collection::vec(arb_job(), 1..4),
        seed in any::<u64>(),
        capacity in 1usize..4,
    ) {
        let mut sim = fleet(&jobs, seed, Some(capacity));
        prop_assert!(sim.run_to_end(1_000_000).finished);
        for job in sim.jobs() {
            prop_assert!(sim.controller_of(job).expect("the Job").is_finished());
        }
        prop_assert!(most_slots_held(&sim) <= capacity);
        // Waiting pods are scheduled in the order they started to wait
        // (a pod deleted while waiting never is).
        let waited: Vec<PodRef> = sim
            .log()
            .iter()
            .filter_map(|e| match e.event {
                SimEvent::PodWaiting { pod } => Some(pod),
                _ => None,
            })
            .collect();
        let scheduled_late: Vec<PodRef> = sim
            .log()
            .iter()
            .filter_map(|e| match e.event {
                SimEvent::PodScheduled { pod } if waited.contains(&pod) => Some(pod),
                _ => None,
            })
            .collect();
        let deleted_waiting: BTreeSet<PodRef> = waited
            .iter()
            .copied()
            .filter(|p| !scheduled_late.contains(p))
            .collect();
        let expected: Vec<PodRef> = waited
            .iter()
            .copied()
            .filter(|p| !deleted_waiting.contains(p))
            .collect();
        prop_assert_eq!(scheduled_late, expected);
    }
}

/// Capacity 1: one pod at a time, whatever the Jobs ask; each starts only
/// after the one before it finished (or went away).
#[test]
fn with_capacity_one_pods_run_strictly_one_at_a_time() {
    let behaviour = PodBehaviour {
        failure_probability: 0.3,
        ..PodBehaviour::default()
    };
    let shapes = [
        (false, 4, 3, behaviour.clone()),
        (true, 3, 3, behaviour.clone()),
        (false, 2, 2, behaviour),
    ];
    let mut sim = fleet(&shapes, 11, Some(1));
    assert!(sim.run_to_end(1_000_000).finished);
    assert_eq!(most_slots_held(&sim), 1);
    // Running intervals do not overlap.
    let mut running: Option<PodRef> = None;
    let mut runs = 0;
    for entry in sim.log() {
        match entry.event {
            SimEvent::PodRunning { pod } => {
                assert_eq!(
                    running,
                    None,
                    "{} starts while another runs",
                    sim.pod_name(pod)
                );
                running = Some(pod);
                runs += 1;
            }
            SimEvent::PodSucceeded { pod }
            | SimEvent::PodFailed { pod, .. }
            | SimEvent::PodEvicted { pod }
            | SimEvent::PodGone { pod }
                if running == Some(pod) =>
            {
                running = None;
            }
            _ => {}
        }
    }
    assert!(runs >= 9, "every completion ran: {runs}");
    for job in sim.jobs() {
        let status = sim.controller_of(job).expect("the Job").status();
        assert!(status.true_condition(&JobConditionType::Complete).is_some());
    }
}

/// Upstream counts a Pending pod as active, scheduled or not: every
/// status written while pods of the Job wait for a slot counts them.
#[test]
fn a_pod_waiting_for_a_slot_is_active_for_its_job() {
    let no_failures = PodBehaviour {
        failure_probability: 0.0,
        ..PodBehaviour::default()
    };
    let mut sim = Simulation::builder(3)
        .job(job("w", "default", false, 3, 3), no_failures)
        .capacity(NonZeroUsize::MIN)
        .build()
        .expect("one Job");
    assert!(sim.run_to_end(1_000_000).finished);
    let mut waiting: BTreeSet<PodRef> = BTreeSet::new();
    // Pods neither finished nor gone: what upstream counts as active.
    let mut live: BTreeSet<PodRef> = BTreeSet::new();
    let mut checked = 0;
    for entry in sim.log() {
        match &entry.event {
            SimEvent::PodCreated { pod, .. } => {
                live.insert(*pod);
            }
            SimEvent::PodWaiting { pod } => {
                waiting.insert(*pod);
            }
            SimEvent::PodScheduled { pod } => {
                waiting.remove(pod);
            }
            SimEvent::PodSucceeded { pod } | SimEvent::PodGone { pod } => {
                waiting.remove(pod);
                live.remove(pod);
            }
            SimEvent::StatusWritten(s) if !waiting.is_empty() => {
                assert_eq!(
                    usize::try_from(s.active).ok(),
                    Some(live.len()),
                    "{s:?} while {waiting:?} wait"
                );
                assert!(s.active > s.ready, "{s:?}");
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(
        checked >= 2,
        "statuses written while pods waited: {checked}"
    );
}

/// `activeDeadlineSeconds` runs on while pods wait; when it fails the Job,
/// its waiting pod is deleted, goes at once and leaves the queue: the next
/// Job's pod gets the slot the running pod frees, not the deleted one.
#[test]
fn the_deadline_runs_while_pods_wait_and_a_deleted_waiting_pod_leaves_the_queue() {
    let slow = PodBehaviour {
        run_seconds: (100, 100),
        startup_seconds: (1, 1),
        failure_probability: 0.0,
        ..PodBehaviour::default()
    };
    let quick = PodBehaviour {
        run_seconds: (5, 5),
        ..slow.clone()
    };
    let deadline = "\n  activeDeadlineSeconds: 30";
    let mut sim = Simulation::builder(1)
        .job(job_with("late", "default", false, 2, 2, deadline), slow)
        .job(job("next", "default", false, 1, 1), quick)
        .capacity(NonZeroUsize::MIN)
        .build()
        .expect("two Jobs");
    assert!(sim.run_to_end(1_000_000).finished);
    let late = sim.jobs().next().expect("the first Job");
    let status = sim.controller_of(late).expect("the Job").status();
    let failed = status
        .true_condition(&JobConditionType::Failed)
        .expect("the deadline failed the Job");
    assert_eq!(failed.reason, "DeadlineExceeded");
    let at = |pred: &dyn Fn(&SimEvent) -> bool| {
        sim.log()
            .iter()
            .filter(|e| pred(&e.event))
            .map(|e| (e.at - sim.start()).num_seconds())
            .collect::<Vec<_>>()
    };
    // The failure came at the deadline, while a pod of the Job waited.
    let statuses: Vec<(i64, bool)> = sim
        .log()
        .iter()
        .filter_map(|e| match &e.event {
            SimEvent::StatusWritten(s) if e.job == late => Some((
                (e.at - sim.start()).num_seconds(),
                s.conditions
                    .iter()
                    .any(|(t, _)| *t == JobConditionType::FailureTarget),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.iter().find(|(_, f)| *f).map(|(t, _)| *t), Some(30));
    let pods_of = |job: JobRef| -> Vec<PodRef> {
        sim.pods()
            .filter(|p| sim.pod_job(*p) == Some(job))
            .collect()
    };
    let late_pods = pods_of(late);
    assert_eq!(late_pods.len(), 2);
    let waiting = late_pods[1];
    let deleted = at(&|e| matches!(e, SimEvent::PodDeleted { pod, .. } if *pod == waiting));
    let gone = at(&|e| matches!(e, SimEvent::PodGone { pod } if *pod == waiting));
    assert_eq!(deleted, [30]);
    assert_eq!(gone, [30], "an unscheduled pod goes at once");
    assert!(at(&|e| matches!(e, SimEvent::PodScheduled { pod } if *pod == waiting)).is_empty());
    // The next Job's pod waited behind it and got the running pod's slot
    // when that pod went (30 s + 2 s of termination).
    let next = sim.jobs().nth(1).expect("the second Job");
    let next_pod = pods_of(next)[0];
    assert_eq!(
        at(&|e| matches!(e, SimEvent::PodScheduled { pod } if *pod == next_pod)),
        [32]
    );
    assert!(
        sim.controller_of(next)
            .expect("the Job")
            .status()
            .true_condition(&JobConditionType::Complete)
            .is_some()
    );
}

#[test]
fn jobs_that_could_give_two_pods_one_name_are_refused() {
    let build = |jobs: Vec<ValidJob>| {
        jobs.into_iter()
            .fold(Simulation::builder(1), |b, j| {
                b.job(j, PodBehaviour::default())
            })
            .build()
            .map(|_| ())
    };
    assert_eq!(build(Vec::new()), Err(SimError::NoJobs));
    assert!(matches!(
        build(vec![job("a", "x", false, 1, 1), job("a", "x", true, 2, 1)]),
        Err(SimError::DuplicateJob { namespace, name, first: 0, second: 1 })
            if namespace == "x" && name == "a"
    ));
    let same_uid = ValidJob::create(
        parse_job(
            "
metadata: {name: b, namespace: x, uid: u-x-a}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]",
        )
        .expect("parses"),
    )
    .expect("valid");
    assert!(matches!(
        build(vec![job("a", "x", false, 1, 1), same_uid]),
        Err(SimError::DuplicateUid { uid, .. }) if uid == "u-x-a"
    ));
    // Indexed "a" names pods "a-0-xxxxx"; NonIndexed "a-0" too.
    let clash = build(vec![
        job("a", "x", true, 3, 1),
        job("a-0", "x", false, 1, 1),
    ]);
    assert!(
        matches!(&clash, Err(SimError::PodNamesMayClash { base, .. }) if base == "a-0-"),
        "{clash:?}"
    );
    let text = clash.expect_err("refused").to_string();
    assert!(
        text.contains("\"a-0\"") && text.contains("may clash"),
        "{text}"
    );
    // Index 3 is beyond the Job's completions: no clash.
    assert_eq!(
        build(vec![
            job("a", "x", true, 3, 1),
            job("a-3", "x", false, 1, 1)
        ]),
        Ok(())
    );
    // Other namespaces, or names that only share a prefix, are fine.
    assert_eq!(
        build(vec![
            job("a", "x", true, 3, 1),
            job("a-0", "y", false, 1, 1)
        ]),
        Ok(())
    );
    assert_eq!(
        build(vec![
            job("train", "x", false, 1, 1),
            job("train-eval", "x", false, 1, 1)
        ]),
        Ok(())
    );
    // Same name in two namespaces: allowed, and labelled by namespace.
    let sim = Simulation::builder(1)
        .job(job("a", "x", false, 1, 1), PodBehaviour::default())
        .job(job("a", "y", false, 1, 1), PodBehaviour::default())
        .build()
        .expect("two namespaces");
    let labels: Vec<&str> = sim.jobs().map(|j| sim.job_label(j)).collect();
    assert_eq!(labels, ["x/a", "y/a"]);
}

/// `Simulation::new` is a simulation of one Job built any other way: the
/// same log, event for event.
#[test]
fn one_job_built_by_the_builder_runs_as_simulation_new() {
    let mut new = Simulation::new(
        job("one", "default", true, 5, 2),
        PodBehaviour::default(),
        9,
    );
    let mut built = Simulation::builder(9)
        .job(job("one", "default", true, 5, 2), PodBehaviour::default())
        .build()
        .expect("one Job");
    new.run_to_end(100_000);
    built.run_to_end(100_000);
    assert_eq!(new.log(), built.log());
    let jobs: BTreeMap<JobRef, &str> = built.jobs().map(|j| (j, built.job_label(j))).collect();
    assert_eq!(jobs.into_values().collect::<Vec<_>>(), ["one"]);
}

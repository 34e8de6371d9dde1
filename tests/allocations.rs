//! Allocations per steady-state event, counted by a global allocator.
//!
//! The steady state of a running Job: a pod succeeds (the machine counts
//! it, writes the status, removes the finalizer and asks for a
//! replacement), the replacement is observed, the finished pod is gone.
//! Each machine input and the reconcile after it should allocate only what
//! it hands out (the pod to create — its name, not the pod: the caller
//! renders that from the shared template —, the status written, the
//! actions' names) and what a new pod's record needs, independent of how
//! many pods the Job has. The bounds below are today's counts with a little room: a change
//! that allocates more per event fails here, where a timing test could not
//! tell.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

use chrono::{DateTime, Duration, TimeZone, Utc};
use job_controller::api::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodPhase, PodStatus,
};
use job_controller::{Action, JobController, PodEvent, ValidJob, parse_job};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated and not freed, always counted.
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY-free: delegates to the system allocator and counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        LIVE.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` (this test binary runs its tests one at a time:
/// see `main`-less harness note below).
fn count(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    f();
    COUNTING.store(false, Relaxed);
    ALLOCATIONS.load(Relaxed)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn job(n: usize, indexed: bool) -> ValidJob {
    let mode = if indexed {
        "completionMode: Indexed\n  "
    } else {
        ""
    };
    let job = parse_job(&format!(
        "metadata: {{name: alloc, namespace: default, uid: a1}}
spec:
  {mode}completions: {}
  parallelism: {n}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]",
        n * 1000
    ))
    .expect("parses");
    ValidJob::create(job).expect("valid")
}

fn drain_created(ctl: &mut JobController) -> Vec<Pod> {
    let mut created = Vec::new();
    while let Some(action) = ctl.poll_action() {
        if let Action::CreatePod(p) = action {
            created.push(p.into_pod());
        }
    }
    created
}

fn running(mut pod: Pod, uid: u64) -> Pod {
    pod.metadata.uid = format!("u{uid}");
    pod.status = Some(PodStatus {
        phase: Some(PodPhase::Running),
        ..Default::default()
    });
    pod
}

fn succeeded(pod: &mut Pod, at: DateTime<Utc>) {
    pod.status = Some(PodStatus {
        phase: Some(PodPhase::Succeeded),
        container_statuses: vec![ContainerStatus {
            name: "main".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 0,
                    finished_at: Some(at),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    });
}

/// Acknowledges the machine's creations as running pods until it asks for
/// no more (at most 500 per reconcile); returns the pods.
fn start_pods(ctl: &mut JobController, at: DateTime<Utc>) -> Vec<Pod> {
    let mut pods = Vec::new();
    loop {
        let created = drain_created(ctl);
        if created.is_empty() {
            return pods;
        }
        for pod in created {
            let pod = running(pod, pods.len() as u64 + 1);
            ctl.handle_pod(at, PodEvent::Observed(&pod)).unwrap();
            pods.push(pod);
        }
    }
}

/// Per input of the steady-state cycle: (success, replacement observed,
/// gone), averaged over `cycles` cycles after a warm-up and rounded up (a
/// B-tree node split or a table growing now and then is amortized).
fn steady_state_allocations(n: usize, indexed: bool, cycles: usize) -> [u64; 3] {
    let mut ctl = JobController::new(job(n, indexed), t0());
    let mut pods = start_pods(&mut ctl, t0());
    let mut uid = pods.len() as u64;
    assert_eq!(ctl.status().active, n as i32);
    let mut total = [0u64; 3];
    let mut now = t0();
    for cycle in 0..cycles + 10 {
        now += Duration::seconds(1);
        let mut done = pods.remove(0);
        succeeded(&mut done, now);
        let name = done.metadata.name.clone();
        let mut created = Vec::new();
        let a = count(|| {
            ctl.handle_pod(now, PodEvent::Observed(&done)).unwrap();
            while let Some(action) = ctl.poll_action() {
                if let Action::CreatePod(p) = action {
                    created.push(p);
                }
            }
        });
        assert_eq!(created.len(), 1, "one replacement");
        uid += 1;
        // Rendering the pod is the caller's (uncounted): the machine hands
        // out its name and the shared template.
        let replacement = running(created.remove(0).into_pod(), uid);
        let event = PodEvent::Observed(&replacement);
        let b = count(|| {
            ctl.handle_pod(now, event).unwrap();
            while ctl.poll_action().is_some() {}
        });
        pods.push(replacement);
        let gone = PodEvent::Gone { name: &name };
        let c = count(|| {
            ctl.handle_pod(now, gone).unwrap();
            while ctl.poll_action().is_some() {}
        });
        if cycle >= 10 {
            for (sum, x) in total.iter_mut().zip([a, b, c]) {
                *sum += x;
            }
        }
    }
    total.map(|sum| sum.div_ceil(cycles as u64))
}

/// Bytes the machine holds per tracked pod: restore a Job with `n` running
/// pods and measure what the machine keeps (its records, the aggregates,
/// the lookups), the listed pods excluded.
fn bytes_per_tracked_pod(n: usize) -> i64 {
    let valid = job(n, true);
    let t = t0();
    // A first machine only to render the pods it would create.
    let mut first = JobController::new(valid.clone(), t);
    let pods = start_pods(&mut first, t);
    drop(first);
    let mut stored = valid.job().clone();
    stored.status = None;
    let stored = ValidJob::from_stored(stored).unwrap();
    let before = LIVE.load(Relaxed);
    let mut ctl = JobController::restore(stored, &pods, t).unwrap();
    while ctl.poll_action().is_some() {}
    let held = LIVE.load(Relaxed) - before;
    assert_eq!(ctl.pod_count(), n);
    held / n as i64
}

// One test only: the counters are global, and tests in one binary run on
// several threads.
#[test]
fn steady_state_events_allocate_a_bounded_amount_whatever_the_job_size() {
    let per_pod = bytes_per_tracked_pod(100_000);
    println!("bytes held per tracked pod at 100,000 pods: {per_pod}");
    assert!(
        per_pod <= 450,
        "{per_pod} bytes per tracked pod (at most 450 expected)"
    );
    for indexed in [false, true] {
        let small = steady_state_allocations(100, indexed, 200);
        let large = steady_state_allocations(5_000, indexed, 200);
        println!(
            "allocations per input (success, replacement observed, gone), {}: 100 pods {small:?}, 5000 pods {large:?}",
            if indexed { "Indexed" } else { "NonIndexed" }
        );
        for (s, l) in small.iter().zip(&large) {
            assert!(
                l <= &(s + 2),
                "allocations grow with the Job's size: {small:?} at 100 pods, {large:?} at 5000"
            );
        }
        // An acknowledged creation records a `SuccessfulCreate` event: one
        // allocation (its message) in "replacement observed".
        let bound = if indexed { [27, 6, 4] } else { [24, 5, 3] };
        for ((what, got), max) in ["success", "replacement observed", "gone"]
            .iter()
            .zip(large)
            .zip(bound)
        {
            assert!(
                got <= max,
                "{what}: {got} allocations, at most {max} expected ({large:?})"
            );
        }
    }
}

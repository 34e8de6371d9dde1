//! The machine's benchmark suite (`cargo bench --bench machine --all-features`).
//!
//! Benchmark ids (group/function/parameter) and what one iteration is:
//!
//! | id | one iteration | elements (throughput) |
//! |---|---|---|
//! | `event_reconcile/{nonindexed,indexed}-success/{1k,10k,100k}` | on one long-lived machine with n active pods: a running pod succeeds, its replacement is observed Running, the finished pod is Gone | 3 machine inputs |
//! | `event_reconcile/{nonindexed,indexed}-failure/{1k,10k,100k}` | a running pod fails, the pod-failure backoff holds the replacement, `handle_timeout` at the wake-up creates it, it is observed Running, the failed pod is Gone | 4 machine inputs |
//! | `run_to_completion/indexed/{10k,100k}` | a whole Indexed Job (completions N, parallelism 1,000, every 20th pod fails; `backoffLimit: 2147483647` and the Job-wide backoff, no `backoffLimitPerIndex`) from `new` to `Complete` | machine inputs of the run |
//! | `simulate/indexed/{10k,100k}` | the same Job through `sim::Simulation` (5 % failures, seeded) | simulation steps |
//! | `restore/{10k,100k}` | `JobController::restore` from a snapshot of n pods, and the actions of its reconcile | pods in the snapshot |
//! | `status/indexed/{10k,100k}-fragmented` | as `event_reconcile/indexed-success` with 1,000 active pods, but the status holds ~n completed indexes in ~n runs (`0,2,4,…`) | 3 machine inputs |
//! | `reference/nonindexed-success/{1k,10k}` | as `event_reconcile/nonindexed-success` on the reference model (`--features reference`; set up with `restore_reference` from the incremental machine's state) | 3 machine inputs |
//!
//! A "machine input" is one call that reconciles: `JobController::new` or a
//! `handle_*` call.
//!
//! What is timed: the machine calls (`new`/`restore`/`handle_*`) and the
//! draining of `poll_action` right after each (the actions are moved into a
//! reused `Vec`). What is not timed: the executor around the machine —
//! building and cloning the pods handed to it, carrying the actions out,
//! dropping them, checking the machine's answers, building the machines of
//! the steady-state benchmarks (once per size, lazily, so a filter that
//! skips a benchmark skips its setup too). `simulate` is the exception: it
//! times `Simulation::run_to_end` as a whole (the simulated API server,
//! kubelets and log included), since that is what it is about.
//!
//! Every benchmark checks the machine's answers (a replacement for each
//! finished pod, the finalizer removed before the pod goes, the counters,
//! the final condition) and panics with a message if they are wrong, so the
//! suite is also a smoke test.
//!
//! Test mode (`cargo test --benches`, no `--bench` argument): each
//! benchmark runs once, and only the smallest size of each group — except
//! that `run_to_completion` and `simulate` run a smaller Job than any they
//! measure (`indexed/1k`: completions 1,000, parallelism 100), since their
//! 10k Job takes about a minute in a debug build.

use std::collections::VecDeque;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use job_controller::api::{JobConditionType, JobStatus, Pod, PodPhase, keys};
use job_controller::sim::{PodBehaviour, Simulation, pod};
use job_controller::{
    Action, JobController, MachineError, PodEvent, TimeoutReason, ValidJob, parse_job,
};
use job_controller::{MAX_POD_CREATE_DELETE_PER_SYNC, MAX_UNCOUNTED_PODS};

// ---- modes and sizes -------------------------------------------------------

/// Whether criterion measures (`--bench` without `--test`) rather than
/// running each benchmark once as a test.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// All sizes when measuring, the smallest only in test mode.
fn sizes(all: &[usize]) -> &[usize] {
    if measuring() { all } else { &all[..1] }
}

/// Whether the benchmark `id` may pass criterion's filter (conservative:
/// true whenever unsure, e.g. for a regex). Used only to skip the dry runs
/// that count a run's events before the benchmark is registered.
fn may_run(id: &str) -> bool {
    const WITH_VALUE: &[&str] = &[
        "-c",
        "--color",
        "-s",
        "--save-baseline",
        "-b",
        "--baseline",
        "--baseline-lenient",
        "--format",
        "--profile-time",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--plotting-backend",
        "--output-format",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--ignored") {
        return false;
    }
    let mut filter = None;
    let mut skip_value = false;
    for a in &args {
        if skip_value {
            skip_value = false;
        } else if a.starts_with('-') {
            skip_value = WITH_VALUE.contains(&a.as_str());
        } else {
            filter = Some(a.as_str());
        }
    }
    let Some(filter) = filter else { return true };
    if args.iter().any(|a| a == "--exact") {
        return filter == id;
    }
    let is_regex = filter.chars().any(|c| "\\.^$|?*+()[]{}".contains(c));
    is_regex || id.contains(filter)
}

/// The whole-Job groups (`run_to_completion`, `simulate`): (completions,
/// parallelism). Test mode runs a smaller Job than any measured one (1k
/// completions, parallelism 100): the 10k Job alone takes about a minute
/// in a debug build.
fn whole_jobs() -> &'static [(usize, usize)] {
    if measuring() {
        &[(10_000, 1_000), (100_000, 1_000)]
    } else {
        &[(1_000, 100)]
    }
}

fn label(n: usize) -> String {
    match n {
        n if n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

// ---- the Job ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    NonIndexed,
    Indexed,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::NonIndexed => "nonindexed",
            Mode::Indexed => "indexed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// A Job admitted as on create. `backoffLimit` is i32::MAX everywhere: the
/// failures the benchmarks inject never fail the Job, and the Job-wide
/// pod-failure backoff (not `backoffLimitPerIndex`) is what holds a
/// replacement.
fn job(mode: Mode, completions: usize, parallelism: usize) -> ValidJob {
    let manifest = format!(
        "metadata: {{name: bench, namespace: default, uid: bench-uid}}
spec:
  completions: {completions}
  parallelism: {parallelism}
  completionMode: {mode}
  backoffLimit: 2147483647
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]",
        mode = match mode {
            Mode::NonIndexed => "NonIndexed",
            Mode::Indexed => "Indexed",
        }
    );
    ValidJob::create(parse_job(&manifest).expect("bench manifest parses")).expect("valid Job")
}

/// The Job as stored with `status`, as a restarted controller reads it.
fn stored(job: &ValidJob, status: JobStatus) -> ValidJob {
    let mut job = job.clone().into_job();
    job.status = Some(status);
    ValidJob::from_stored(job).expect("stored Job is valid")
}

// ---- the executor ----------------------------------------------------------

/// Feeds one input to the machine and drains its actions into `actions`;
/// returns the time both took (the only timed part of the steady-state and
/// run benchmarks).
fn feed(
    ctl: &mut JobController,
    actions: &mut Vec<Action>,
    what: &str,
    input: impl FnOnce(&mut JobController) -> Result<(), MachineError>,
) -> StdDuration {
    let start = Instant::now();
    let result = input(ctl);
    while let Some(action) = ctl.poll_action() {
        actions.push(action);
    }
    let elapsed = start.elapsed();
    if let Err(e) = result {
        panic!("the machine refused {what}: {e}");
    }
    elapsed
}

/// What the API server does with a pod the machine asked for: a UID and a
/// creation time.
fn admit(mut pod: Pod, uid: &mut u64, now: DateTime<Utc>) -> Pod {
    *uid += 1;
    pod.metadata.uid = format!("bench-pod-{uid}");
    pod.metadata.creation_timestamp = Some(now);
    pod
}

/// Acknowledges every creation (pods observed Running and Ready at once)
/// until the machine is quiet; returns the pods. Creation is capped at 500
/// pods per reconcile, so this loops. Untimed setup.
fn start_pods(ctl: &mut JobController, now: DateTime<Utc>, uid: &mut u64) -> Vec<Pod> {
    let mut pods = Vec::new();
    let mut actions = Vec::new();
    while let Some(action) = ctl.poll_action() {
        actions.push(action);
    }
    while !actions.is_empty() {
        for action in std::mem::take(&mut actions) {
            match action {
                Action::CreatePod(p) => {
                    let mut pod = admit(p.into_pod(), uid, now);
                    pod::ready(&mut pod, true, now);
                    let observed = pod.clone();
                    pods.push(pod);
                    feed(ctl, &mut actions, "a created pod", |c| {
                        c.handle_pod(now, PodEvent::Observed(&observed))
                    });
                }
                Action::UpdateStatus(_) => {}
                // Events are built by the machine; publishing them is the caller\'s.
                Action::RecordEvent(_) => {}
                other => panic!("unexpected action while starting pods: {other:?}"),
            }
        }
    }
    pods
}

// ---- 1, 5, 6: the steady state on one long-lived machine --------------------

/// Starts a fresh machine again every `every` iterations (untimed), so the
/// status benchmark keeps its fragmentation.
struct Reset {
    job: ValidJob,
    pods: Vec<Pod>,
    every: u64,
    since: u64,
}

/// One long-lived machine with `parallelism` active pods and the executor
/// state around it.
struct Steady {
    ctl: JobController,
    outcome: Outcome,
    running: VecDeque<Pod>,
    now: DateTime<Utc>,
    uid: u64,
    actions: Vec<Action>,
    /// The status counter (`succeeded` or `failed`) as the last iteration
    /// left it; each iteration must raise it by one.
    counted: i32,
    pods: usize,
    reset: Option<Reset>,
}

impl Steady {
    /// The executor state around a machine whose pods `running` are all
    /// started.
    fn with(
        ctl: JobController,
        outcome: Outcome,
        running: VecDeque<Pod>,
        now: DateTime<Utc>,
        uid: u64,
    ) -> Steady {
        let pods = ctl.pod_count();
        assert_eq!(pods, running.len(), "the machine tracks every started pod");
        let mut steady = Steady {
            ctl,
            outcome,
            running,
            now,
            uid,
            actions: Vec::new(),
            counted: 0,
            pods,
            reset: None,
        };
        steady.counted = steady.counter();
        steady
    }

    /// Starts the pods `ctl` asks for (untimed setup).
    fn from_machine(mut ctl: JobController, outcome: Outcome, now: DateTime<Utc>) -> Steady {
        let mut uid = 0;
        let running = start_pods(&mut ctl, now, &mut uid).into();
        Steady::with(ctl, outcome, running, now, uid)
    }

    /// A new Job with `n` active pods that never finishes.
    fn new(mode: Mode, outcome: Outcome, n: usize) -> Steady {
        // Completions far above what any run consumes (i32-safe).
        let valid = job(mode, 1_000_000_000, n);
        Steady::from_machine(JobController::new(valid, t0()), outcome, t0())
    }

    /// The same state as [`Steady::new`] (success), but on the reference
    /// model: `restore_reference` from a snapshot of the incremental
    /// machine, since starting n pods through `new_reference` takes n
    /// reconciles of O(n) each (minutes at 10k).
    #[cfg(feature = "reference")]
    fn reference(n: usize) -> Steady {
        let incremental = Steady::new(Mode::NonIndexed, Outcome::Success, n);
        let job = stored(incremental.ctl.job(), incremental.ctl.status().clone());
        let pods: Vec<Pod> = incremental.running.iter().cloned().collect();
        let mut ctl =
            JobController::restore_reference(job, &pods, Default::default(), incremental.now)
                .expect("the reference model restores the snapshot");
        drain_restored(&mut ctl);
        Steady::with(
            ctl,
            Outcome::Success,
            incremental.running,
            incremental.now,
            incremental.uid,
        )
    }

    /// An Indexed Job whose status has the `n` even indexes below 2n
    /// complete, restored with 1,000 active pods (they take the odd indexes
    /// from 1 up). Each success fills a hole and merges two runs, so the
    /// machine is restored again from the same snapshot every n/10
    /// iterations (untimed): the status always holds between 0.9n and n
    /// runs.
    fn fragmented(n: usize) -> Steady {
        let parallelism = 1_000;
        let base = job(Mode::Indexed, 4 * n, parallelism);
        let completed: Vec<String> = (0..n).map(|i| (2 * i).to_string()).collect();
        let status = JobStatus {
            start_time: Some(t0()),
            succeeded: i32::try_from(n).expect("i32-safe"),
            completed_indexes: completed.join(","),
            uncounted_terminated_pods: Some(Default::default()),
            ..Default::default()
        };
        let valid = stored(&base, status);
        // Each reconcile of this Job costs O(n): rather than observing the
        // 1,000 pods one by one, restore again with the pods created so far
        // until the machine asks for no more (500 per reconcile).
        let now = t0();
        let mut uid = 0;
        let mut pods: Vec<Pod> = Vec::new();
        let ctl = loop {
            let mut ctl = JobController::restore(valid.clone(), &pods, now)
                .expect("restore from the fragmented status");
            let mut created = false;
            while let Some(action) = ctl.poll_action() {
                match action {
                    Action::CreatePod(p) => {
                        let mut pod = admit(p.into_pod(), &mut uid, now);
                        pod::ready(&mut pod, true, now);
                        pods.push(pod);
                        created = true;
                    }
                    Action::UpdateStatus(_) => {}
                    // Events are built by the machine; publishing them is the caller\'s.
                    Action::RecordEvent(_) => {}
                    other => panic!("unexpected action while starting pods: {other:?}"),
                }
            }
            if !created {
                break ctl;
            }
        };
        let mut steady = Steady::with(ctl, Outcome::Success, pods.into(), now, uid);
        assert_eq!(steady.pods, parallelism, "all pods started");
        let indexes: Vec<Option<i32>> = steady.running.iter().take(2).map(index_of).collect();
        assert_eq!(
            indexes,
            [Some(1), Some(3)],
            "the pods take the holes between completed indexes"
        );
        steady.reset = Some(Reset {
            job: valid,
            pods: steady.running.iter().cloned().collect(),
            every: (n / 10) as u64,
            since: 0,
        });
        steady
    }

    fn counter(&self) -> i32 {
        match self.outcome {
            Outcome::Success => self.ctl.status().succeeded,
            Outcome::Failure => self.ctl.status().failed,
        }
    }

    /// Carries out the actions of the last input: returns the pod to create
    /// (if any), notes whether `finished`'s finalizer was removed, and
    /// panics at anything a steady state should not ask for.
    fn take_actions(&mut self, finished: &str, finalizer_removed: &mut bool) -> Option<Pod> {
        let mut created = None;
        for action in self.actions.drain(..) {
            match action {
                Action::CreatePod(p) => {
                    assert!(created.is_none(), "more than one replacement for one pod");
                    created = Some(p.into_pod());
                }
                Action::RemoveFinalizer { name, .. } if name == finished => {
                    *finalizer_removed = true;
                }
                Action::UpdateStatus(_) => {}
                // Events are built by the machine; publishing them is the caller\'s.
                Action::RecordEvent(_) => {}
                other => panic!("unexpected action in the steady state: {other:?}"),
            }
        }
        created
    }

    fn maybe_reset(&mut self) {
        let Some(reset) = &mut self.reset else { return };
        reset.since += 1;
        if reset.since <= reset.every {
            return;
        }
        reset.since = 1;
        self.ctl = JobController::restore(reset.job.clone(), &reset.pods, self.now)
            .expect("restore from the snapshot");
        self.running = reset.pods.clone().into();
        drain_restored(&mut self.ctl);
        self.counted = self.counter();
    }

    /// One iteration; returns the time spent in the machine.
    fn step(&mut self) -> StdDuration {
        self.maybe_reset();
        let mut timed = StdDuration::ZERO;
        self.now += Duration::milliseconds(10);
        let now = self.now;
        let mut pod = self
            .running
            .pop_front()
            .expect("the machine keeps pods running");
        let name = pod.metadata.name.clone();
        match self.outcome {
            Outcome::Success => pod::succeeded(&mut pod, now),
            Outcome::Failure => pod::failed(&mut pod, 1, None, now),
        }
        let mut finalizer_removed = false;

        timed += feed(&mut self.ctl, &mut self.actions, "a finished pod", |c| {
            c.handle_pod(now, PodEvent::Observed(&pod))
        });
        let mut replacement = self.take_actions(&name, &mut finalizer_removed);
        if self.outcome == Outcome::Failure {
            assert!(
                replacement.is_none(),
                "the replacement of failed pod {name} was not held back by the pod-failure backoff"
            );
            let timeout = self
                .ctl
                .poll_timeout()
                .unwrap_or_else(|| panic!("pod {name} failed, but no backoff wake-up is asked"));
            assert_eq!(timeout.reason, TimeoutReason::Backoff, "wake-up reason");
            self.now = timeout.at;
            let now = self.now;
            timed += feed(
                &mut self.ctl,
                &mut self.actions,
                "the backoff wake-up",
                |c| c.handle_timeout(now),
            );
            replacement = self.take_actions(&name, &mut finalizer_removed);
        }
        let now = self.now;
        let created =
            replacement.unwrap_or_else(|| panic!("no replacement asked for finished pod {name}"));
        let mut created = admit(created, &mut self.uid, now);
        pod::ready(&mut created, true, now);
        let observed = created.clone();
        self.running.push_back(created);

        timed += feed(&mut self.ctl, &mut self.actions, "the replacement", |c| {
            c.handle_pod(now, PodEvent::Observed(&observed))
        });
        assert!(
            self.take_actions(&name, &mut finalizer_removed).is_none(),
            "a second replacement for pod {name}"
        );
        assert!(
            finalizer_removed,
            "the finalizer of finished pod {name} was not removed"
        );
        let gone = name.clone();
        timed += feed(&mut self.ctl, &mut self.actions, "a pod gone", |c| {
            c.handle_pod(now, PodEvent::Gone { name: &gone })
        });
        assert!(
            self.take_actions(&name, &mut finalizer_removed).is_none(),
            "a creation after pod {name} went"
        );

        self.counted += 1;
        assert_eq!(
            self.counter(),
            self.counted,
            "the status counts each finished pod once ({} path)",
            self.outcome.name()
        );
        assert_eq!(self.ctl.pod_count(), self.pods, "the machine tracks n pods");
        timed
    }
}

/// Drains a machine restored from a steady state: it may rewrite the
/// status, nothing else.
fn drain_restored(ctl: &mut JobController) {
    while let Some(action) = ctl.poll_action() {
        match action {
            Action::UpdateStatus(_) => {}
            // Events are built by the machine; publishing them is the caller\'s.
            Action::RecordEvent(_) => {}
            other => panic!("unexpected action from a restored machine: {other:?}"),
        }
    }
}

fn index_of(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .get(keys::JOB_COMPLETION_INDEX)
        .and_then(|i| i.parse().ok())
}

/// Registers one steady-state benchmark; the machine is built on first use
/// and dropped when the benchmark is done.
fn bench_steady(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    inputs: u64,
    build: impl Fn() -> Steady,
) {
    let mut state: Option<Steady> = None;
    group.throughput(Throughput::Elements(inputs));
    group.bench_function(id, |b| {
        let steady = state.get_or_insert_with(&build);
        b.iter_custom(|iters| (0..iters).map(|_| steady.step()).sum());
    });
    drop(state);
}

fn event_reconcile(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_reconcile");
    for mode in [Mode::NonIndexed, Mode::Indexed] {
        for outcome in [Outcome::Success, Outcome::Failure] {
            for &n in sizes(&[1_000, 10_000, 100_000]) {
                let id = BenchmarkId::new(format!("{}-{}", mode.name(), outcome.name()), label(n));
                let inputs = match outcome {
                    Outcome::Success => 3,
                    Outcome::Failure => 4,
                };
                bench_steady(&mut group, id, inputs, || Steady::new(mode, outcome, n));
            }
        }
    }
    group.finish();
}

fn status(c: &mut Criterion) {
    let mut group = c.benchmark_group("status");
    for &n in sizes(&[10_000, 100_000]) {
        let id = BenchmarkId::new("indexed", format!("{}-fragmented", label(n)));
        bench_steady(&mut group, id, 3, || Steady::fragmented(n));
    }
    group.finish();
}

#[cfg(feature = "reference")]
fn reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference");
    // ~25 ms per reconcile at 10k pods: few samples, flat.
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &n in sizes(&[1_000, 10_000]) {
        let id = BenchmarkId::new("nonindexed-success", label(n));
        bench_steady(&mut group, id, 3, || Steady::reference(n));
    }
    group.finish();
}

#[cfg(not(feature = "reference"))]
fn reference(_: &mut Criterion) {}

// ---- 2: a whole Job --------------------------------------------------------

/// A pod's next step, in FIFO order.
enum Step {
    /// Created: observed Pending (an informer's Add).
    Created(Pod),
    Running(Pod),
    Finish(Pod),
    /// Its finalizer is removed: the garbage collector deletes it.
    Gone(String),
}

/// Runs the Job of `run_to_completion` to its end; returns (machine time,
/// machine inputs). The executor: a created pod is observed Pending, then
/// Running and Ready, then Succeeded (every 20th finishing pod: Failed,
/// exit code 1), then Gone once its finalizer is removed, each step queued
/// behind the others (FIFO) and advancing the clock by 1 ms; when nothing
/// is queued the clock jumps to the machine's wake-up and `handle_timeout`
/// is called. Only the machine is timed (`new`, each `handle_*` and the
/// draining of its actions), not the executor (pod clones, the queue,
/// dropping the actions).
fn run_job(valid: &ValidJob, completions: usize) -> (StdDuration, u64) {
    let mut now = t0();
    let mut actions = Vec::new();
    let mut queue: VecDeque<Step> = VecDeque::new();
    let mut uid = 0;
    let mut finishes = 0u64;

    let start = Instant::now();
    let mut ctl = JobController::new(valid.clone(), now);
    while let Some(action) = ctl.poll_action() {
        actions.push(action);
    }
    let mut timed = start.elapsed();
    let mut inputs = 1;

    loop {
        for action in actions.drain(..) {
            match action {
                Action::CreatePod(p) => {
                    queue.push_back(Step::Created(admit(p.into_pod(), &mut uid, now)));
                }
                Action::RemoveFinalizer { name, .. } => queue.push_back(Step::Gone(name)),
                Action::UpdateStatus(_) => {}
                // Events are built by the machine; publishing them is the caller\'s.
                Action::RecordEvent(_) => {}
                other => panic!("unexpected action in a run to completion: {other:?}"),
            }
        }
        let Some(step) = queue.pop_front() else {
            let Some(timeout) = ctl.poll_timeout() else {
                break;
            };
            now = now.max(timeout.at);
            inputs += 1;
            timed += feed(&mut ctl, &mut actions, "a wake-up", |c| {
                c.handle_timeout(now)
            });
            continue;
        };
        now += Duration::milliseconds(1);
        // The pod (or the name of the pod gone) this step reports.
        let reported: Result<Pod, String> = match step {
            Step::Created(mut pod) => {
                pod::pending(&mut pod);
                let observed = pod.clone();
                queue.push_back(Step::Running(pod));
                Ok(observed)
            }
            Step::Running(mut pod) => {
                pod::ready(&mut pod, true, now);
                let observed = pod.clone();
                queue.push_back(Step::Finish(pod));
                Ok(observed)
            }
            Step::Finish(mut pod) => {
                finishes += 1;
                if finishes % 20 == 0 {
                    pod::failed(&mut pod, 1, None, now);
                } else {
                    pod::succeeded(&mut pod, now);
                }
                Ok(pod)
            }
            Step::Gone(name) => Err(name),
        };
        let event = match &reported {
            Ok(pod) => PodEvent::Observed(pod),
            Err(name) => PodEvent::Gone { name },
        };
        inputs += 1;
        timed += feed(&mut ctl, &mut actions, "a pod event", |c| {
            c.handle_pod(now, event)
        });
    }

    let status = ctl.status();
    assert!(
        status.true_condition(&JobConditionType::Complete).is_some(),
        "the Job did not complete: {status:?}"
    );
    assert_eq!(
        usize::try_from(status.succeeded).ok(),
        Some(completions),
        "every index succeeded"
    );
    assert_eq!(ctl.pod_count(), 0, "every pod is gone");
    (timed, inputs)
}

fn run_to_completion(c: &mut Criterion) {
    let mut group = c.benchmark_group("run_to_completion");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &(n, parallelism) in whole_jobs() {
        let id = BenchmarkId::new("indexed", label(n));
        let valid = job(Mode::Indexed, n, parallelism);
        // Count the run's inputs once, outside the measurement (not in test
        // mode, where the single run is the test).
        let expected = (measuring() && may_run(&format!("run_to_completion/indexed/{}", label(n))))
            .then(|| run_job(&valid, n).1);
        group.throughput(Throughput::Elements(expected.unwrap_or(1)));
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut total = StdDuration::ZERO;
                for _ in 0..iters {
                    let (timed, inputs) = run_job(&valid, n);
                    if let Some(expected) = expected {
                        assert_eq!(inputs, expected, "a run is deterministic");
                    }
                    total += timed;
                }
                total
            });
        });
    }
    group.finish();
}

// ---- 3: the same Job through the simulator -----------------------------------

const SEED: u64 = 0x5EED;

fn simulate_job(valid: &ValidJob) -> Simulation {
    let behaviour = PodBehaviour {
        failure_probability: 0.05,
        ..Default::default()
    };
    Simulation::new(valid.clone(), behaviour, SEED)
}

fn check_simulation(sim: &Simulation, outcome: job_controller::sim::Outcome, n: usize) {
    let status = sim.controller().status();
    assert!(
        outcome.finished && status.true_condition(&JobConditionType::Complete).is_some(),
        "the simulated Job did not complete: {status:?}"
    );
    assert_eq!(usize::try_from(status.succeeded).ok(), Some(n));
}

fn simulate(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &(n, parallelism) in whole_jobs() {
        let id = BenchmarkId::new("indexed", label(n));
        let valid = job(Mode::Indexed, n, parallelism);
        let expected =
            (measuring() && may_run(&format!("simulate/indexed/{}", label(n)))).then(|| {
                let mut sim = simulate_job(&valid);
                let outcome = sim.run_to_end(u64::MAX);
                check_simulation(&sim, outcome, n);
                outcome.steps
            });
        group.throughput(Throughput::Elements(expected.unwrap_or(1)));
        // Timed: `run_to_end` (and an O(1) check of its outcome);
        // `Simulation::new` (the first reconcile and its 500 creations) is
        // setup, and dropping the simulation is not timed either.
        group.bench_function(id, |b| {
            b.iter_batched(
                || simulate_job(&valid),
                |mut sim| {
                    let outcome = sim.run_to_end(u64::MAX);
                    check_simulation(&sim, outcome, n);
                    if let Some(steps) = expected {
                        assert_eq!(outcome.steps, steps, "a simulation is deterministic");
                    }
                    sim
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

// ---- 4: restore ---------------------------------------------------------------

/// A snapshot of a NonIndexed Job with n pods: all owned, with the tracking
/// finalizer, Running and Ready, except every 100th, which succeeded and is
/// not counted yet (the restore counts it, removes its finalizer and asks
/// for a replacement; at 100k that is 1,000 pods, of which one reconcile
/// handles 500).
fn snapshot(n: usize) -> (ValidJob, Vec<Pod>) {
    let valid = job(Mode::NonIndexed, 1_000_000_000, n);
    let mut ctl = JobController::new(valid, t0());
    let mut uid = 0;
    let mut pods = start_pods(&mut ctl, t0(), &mut uid);
    let later = t0() + Duration::minutes(1);
    for pod in pods.iter_mut().step_by(100) {
        pod::succeeded(pod, later);
    }
    (stored(ctl.job(), ctl.status().clone()), pods)
}

/// One restore, checked (untimed): the finished pods are counted and lose
/// their finalizer, and replacements are asked for — each at most 500 in
/// one reconcile, as upstream.
fn check_restore(valid: &ValidJob, pods: &[Pod], now: DateTime<Utc>) {
    let finished = pods
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.clone()) == Some(PodPhase::Succeeded))
        .count();
    let mut ctl =
        JobController::restore(valid.clone(), pods, now).expect("restore from the snapshot");
    let (mut created, mut removed) = (0, 0);
    while let Some(action) = ctl.poll_action() {
        match action {
            Action::CreatePod(_) => created += 1,
            Action::RemoveFinalizer { .. } => removed += 1,
            Action::UpdateStatus(_) => {}
            // Events are built by the machine; publishing them is the caller\'s.
            Action::RecordEvent(_) => {}
            other => panic!("unexpected action from restore: {other:?}"),
        }
    }
    let counted = finished.min(MAX_UNCOUNTED_PODS);
    assert_eq!(
        (
            created,
            removed,
            usize::try_from(ctl.status().succeeded).ok()
        ),
        (
            finished.min(MAX_POD_CREATE_DELETE_PER_SYNC),
            counted,
            Some(counted)
        ),
        "restore counts the finished pods and replaces them"
    );
}

fn restore(c: &mut Criterion) {
    let mut group = c.benchmark_group("restore");
    group.sample_size(10);
    for &n in sizes(&[10_000, 100_000]) {
        let mut state: Option<(ValidJob, Vec<Pod>)> = None;
        group.throughput(Throughput::Elements(n as u64));
        let now = t0() + Duration::hours(1);
        group.bench_function(BenchmarkId::from_parameter(label(n)), |b| {
            let (valid, pods) = state.get_or_insert_with(|| {
                let (valid, pods) = snapshot(n);
                check_restore(&valid, &pods, now);
                (valid, pods)
            });
            // Timed: `restore` (which reconciles once, reading the listed
            // pods in place) and draining its actions. Cloning the Job and
            // dropping the machine and the actions are not.
            let pods: &[Pod] = pods;
            b.iter_batched(
                || valid.clone(),
                |valid| {
                    let mut ctl = JobController::restore(valid, pods, now)
                        .expect("restore from the snapshot");
                    let mut actions = Vec::new();
                    while let Some(action) = ctl.poll_action() {
                        actions.push(action);
                    }
                    (ctl, actions)
                },
                BatchSize::LargeInput,
            );
        });
        drop(state);
    }
    group.finish();
}

criterion_group!(
    benches,
    event_reconcile,
    run_to_completion,
    simulate,
    restore,
    status,
    reference
);
criterion_main!(benches);

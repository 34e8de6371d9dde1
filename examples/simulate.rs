//! The main example: simulate a Job (or several, sharing the clock and,
//! with `--capacity`, a number of node slots) end to end — pods that start,
//! run and sometimes fail, the controller's every action — and print the
//! timeline, in the columns of `kubectl get pods,jobs -w`, and the final
//! Jobs. Discrete-event and seeded: the same arguments give the same run,
//! byte for byte.
//!
//! ```text
//! cargo run --example simulate                          # the built-in Job, seed 7
//! cargo run --example simulate -- --help
//! cargo run --example simulate -- --list-presets
//! cargo run --example simulate -- indexed-shards --seed 42 --fail-rate 0.3
//! cargo run --example simulate -- my-job.yaml --runtime 10..60 --quiet
//! cargo run --example simulate -- indexed-shards --svg run.svg
//! cargo run --example simulate -- pod-failure-policy --evict-rate 0.3 --until 2m
//! cargo run --example simulate -- pi --json | jq -c 'select(.event == "podFailed")'
//! cargo run --example simulate -- pi indexed-shards --capacity 4   # two Jobs, 4 node slots
//! ```

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Parser;
use std::io::Write;

use job_controller::sim::{Outcome, PodBehaviour, Simulation, gantt, job_seed};
use job_controller::{Job, ValidJob, parse_jobs, to_yaml};

/// Ten transcoding pods, five at a time, each failing one time in five.
const DEFAULT_MANIFEST: &str = "
apiVersion: batch/v1
kind: Job
metadata:
  name: transcode
  namespace: default
spec:
  completions: 10
  parallelism: 5
  backoffLimit: 6
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: transcode
        image: myorg/transcoder:1.0
";

/// Simulate Kubernetes Jobs (batch/v1) with job-controller's state machine:
/// seeded and repeatable, in simulated time. Several Jobs share the clock
/// (and, with --capacity, the node slots); each has its own controller.
#[derive(Parser, Debug)]
#[command(name = "simulate", version)]
struct Args {
    /// Manifest files or presets: `default` (built in) or the name of a
    /// manifest in the presets directory (see --list-presets). A file of
    /// several YAML documents gives several Jobs. Jobs must differ in
    /// namespace or name.
    #[arg(default_value = "default", value_name = "JOB")]
    jobs: Vec<String>,
    /// Seed of the pods' behaviour: the same seed gives the same run. Each
    /// Job draws from its own generator, derived from the seed and its
    /// position (the first Job's is the seed itself).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// At most N pods hold a node slot at once (N at least 1); the others
    /// stay Pending, unscheduled, until a slot frees, first created first
    /// served across Jobs [default: unlimited].
    #[arg(long, value_parser = capacity, value_name = "N")]
    capacity: Option<NonZeroUsize>,
    /// Probability that a pod fails, from 0 to 1 [default: 0.2].
    #[arg(long, value_parser = probability)]
    fail_rate: Option<f64>,
    /// Probability that a running pod is evicted (DisruptionTarget, exit
    /// 137), from 0 to 1 [default: 0].
    #[arg(long, value_parser = probability)]
    evict_rate: Option<f64>,
    /// Exit code of a failing pod's container [default: 1].
    #[arg(long)]
    exit_code: Option<i32>,
    /// Seconds a pod runs, drawn from MIN..MAX [default: 5..30].
    #[arg(long, value_parser = seconds_range, value_name = "MIN..MAX")]
    runtime: Option<(u32, u32)>,
    /// Seconds a pod takes to start, drawn from MIN..MAX [default: 1..3].
    #[arg(long, value_parser = seconds_range, value_name = "MIN..MAX")]
    startup: Option<(u32, u32)>,
    /// Stop at this simulated time (e.g. 90s, 10m, 2h) even if the Jobs
    /// have not finished.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    until: Option<chrono::Duration>,
    /// Stop after this many events even if the Jobs have not finished.
    #[arg(long, default_value_t = 100_000)]
    max_events: u64,
    /// Print only the summary and the final Jobs, not the timeline (whose
    /// columns are those of `kubectl get pods,jobs -w`).
    #[arg(long)]
    quiet: bool,
    /// Also draw the run as an SVG Gantt chart into FILE (rows grouped by
    /// Job).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Print the timeline as JSON lines (one object per event, naming its
    /// Job), nothing else.
    #[arg(long, conflicts_with = "quiet")]
    json: bool,
    /// List the presets and exit.
    #[arg(long)]
    list_presets: bool,
}

fn probability(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not between 0 and 1"))
    }
}

fn capacity(text: &str) -> Result<NonZeroUsize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of pod slots"))?;
    NonZeroUsize::new(n).ok_or_else(|| "0 slots run no pod: the capacity is at least 1".to_owned())
}

fn duration(text: &str) -> Result<chrono::Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 10m or 2h"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("{text:?}: the unit is s, m or h")),
    };
    Ok(chrono::Duration::seconds(n.saturating_mul(seconds)))
}

fn seconds_range(text: &str) -> Result<(u32, u32), String> {
    let (lo, hi) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?} is not MIN..MAX (e.g. 5..30)"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("{s:?} is not a whole number of seconds"))
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo > hi {
        return Err(format!("{lo}..{hi}: MIN is above MAX"));
    }
    Ok((lo, hi))
}

/// The manifests shipped beside the crate (`../shared/manifests`), or
/// `$JOB_MANIFESTS_DIR`.
fn presets_dir() -> PathBuf {
    std::env::var_os("JOB_MANIFESTS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/manifests"),
        PathBuf::from,
    )
}

fn presets() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(presets_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".yaml").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// The manifest text the argument names: a file, `default`, or a preset.
fn manifest(job: &str) -> Result<(String, String), String> {
    if job == "default" {
        return Ok(("the built-in Job".into(), DEFAULT_MANIFEST.into()));
    }
    let path = Path::new(job);
    let path = if path.exists() {
        path.to_path_buf()
    } else {
        let preset = presets_dir().join(format!("{job}.yaml"));
        if !preset.exists() {
            return Err(format!(
                "{job:?} is neither a file nor a preset; presets: default, {}",
                presets().join(", ")
            ));
        }
        preset
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// The Jobs of one manifest: parsed, given a UID as the API server would
/// (`uid-<name>`, or `uid-<namespace>-<name>` outside `default`), and
/// admitted (defaults, validation).
fn admit(source: &str, text: &str) -> Result<Vec<ValidJob>, String> {
    let jobs = parse_jobs(text).map_err(|e| format!("{source} does not parse: {e}"))?;
    if jobs.is_empty() {
        return Err(format!("{source} holds no Job"));
    }
    let count = jobs.len();
    jobs.into_iter()
        .enumerate()
        .map(|(at, mut job): (usize, Job)| {
            if job.metadata.uid.is_empty() {
                job.metadata.uid = match job.metadata.namespace.as_str() {
                    "" | "default" => format!("uid-{}", job.metadata.name),
                    ns => format!("uid-{ns}-{}", job.metadata.name),
                };
            }
            ValidJob::create(job).map_err(|errors| {
                let lines: Vec<String> = errors.errors.iter().map(|e| format!("  {e}")).collect();
                let which = if count > 1 {
                    format!(" (document {})", at + 1)
                } else {
                    String::new()
                };
                format!("{source}{which}: the Job is invalid:\n{}", lines.join("\n"))
            })
        })
        .collect()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let code = run(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// The program once its arguments are parsed: what it writes to `out` and
/// `err`, and its exit code (0, or 1 on an error).
fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if args.list_presets {
        let names = std::iter::once("default".to_owned()).chain(presets());
        for name in names {
            if writeln!(out, "{name}").is_err() {
                break;
            }
        }
        return 0;
    }
    let mut jobs = Vec::new();
    for arg in &args.jobs {
        match manifest(arg).and_then(|(source, text)| admit(&source, &text)) {
            Ok(valid) => jobs.extend(valid),
            Err(message) => {
                let _ = writeln!(err, "error: {message}");
                return 1;
            }
        }
    }
    let defaults = PodBehaviour::default();
    let behaviour = PodBehaviour {
        failure_probability: args.fail_rate.unwrap_or(defaults.failure_probability),
        failure_exit_code: args.exit_code.unwrap_or(defaults.failure_exit_code),
        eviction_probability: args.evict_rate.unwrap_or(defaults.eviction_probability),
        run_seconds: args.runtime.unwrap_or(defaults.run_seconds),
        startup_seconds: args.startup.unwrap_or(defaults.startup_seconds),
        ..defaults
    };
    let mut builder = Simulation::builder(args.seed);
    for job in jobs {
        builder = builder.job(job, behaviour.clone());
    }
    if let Some(n) = args.capacity {
        builder = builder.capacity(n);
    }
    let mut sim = match builder.build() {
        Ok(sim) => sim,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    let outcome = match args.until {
        Some(d) => {
            let until = sim
                .start()
                .checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            sim.run_until(until, args.max_events)
        }
        None => sim.run_to_end(args.max_events),
    };
    if let Some(path) = &args.svg {
        if let Err(e) = std::fs::write(path, gantt::svg(&sim)) {
            let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
            return 1;
        }
    }
    // Output piped into `head` closes early: stop quietly, not with a panic.
    match report(&sim, outcome, args, out) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "error: {e}");
            1
        }
        _ => 0,
    }
}

fn report(
    sim: &Simulation,
    outcome: Outcome,
    args: &Args,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if args.json {
        for entry in sim.log() {
            let line = serde_json::to_string(&sim.record(entry)).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    let names: Vec<String> = sim
        .jobs()
        .map(|j| format!("{:?}", sim.job_label(j)))
        .collect();
    let capacity = args
        .capacity
        .map(|n| format!(", capacity {n}"))
        .unwrap_or_default();
    writeln!(
        out,
        "simulating {} {} (seed {}{capacity})",
        if names.len() == 1 { "Job" } else { "Jobs" },
        names.join(", "),
        args.seed
    )?;
    if !args.quiet {
        for line in sim.timeline() {
            writeln!(out, "{line}")?;
        }
    }
    writeln!(
        out,
        "\n{} after {} events",
        if outcome.finished {
            "finished"
        } else {
            "stopped"
        },
        outcome.steps,
    )?;
    let mut documents = Vec::new();
    for job in sim.jobs() {
        let Some(ctl) = sim.controller_of(job) else {
            continue;
        };
        let status = ctl.status();
        let last = status.conditions.last();
        writeln!(
            out,
            "Job {} (seed {}): {} status writes, succeeded={} failed={}{}",
            sim.job_label(job),
            job_seed(args.seed, job.position()),
            sim.status_writes_of(job),
            status.succeeded,
            status.failed,
            last.map(|c| format!(", last condition {} ({})", c.type_, c.reason))
                .unwrap_or_default()
        )?;
        let mut manifest = ctl.job().job().clone();
        manifest.status = Some(status.clone());
        documents.push(to_yaml(&manifest));
    }
    writeln!(
        out,
        "\n{} as the API server would hold {}:\n{}",
        if documents.len() == 1 {
            "the Job"
        } else {
            "the Jobs"
        },
        if documents.len() == 1 { "it" } else { "them" },
        documents.join("---\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on `argv` (without the program name): exit code,
    /// standard output, standard error.
    /// The pods a `--json` run created, in order.
    fn created_pods(json: &str) -> Vec<String> {
        json.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
            .filter(|v| v["event"] == "podCreated")
            .map(|v| v["pod"].as_str().expect("a pod name").to_owned())
            .collect()
    }

    fn simulate(argv: &[&str]) -> (u8, String, String) {
        let args = Args::try_parse_from(std::iter::once("simulate").chain(argv.iter().copied()))
            .expect("the arguments parse");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&args, &mut out, &mut err);
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
        (code, text(out), text(err))
    }

    /// A fresh directory for one test's files (the caller removes it).
    fn scratch_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("simulate-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    }

    fn golden_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
    }

    /// Compares `got` with the golden file `name`; `JOB_BLESS=1` rewrites
    /// the file instead (after a change meant to alter the output).
    fn assert_golden(name: &str, got: &str) {
        let path = golden_dir().join(name);
        if std::env::var_os("JOB_BLESS").is_some() {
            std::fs::write(&path, got).expect("write the golden file");
            return;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (JOB_BLESS=1 writes it)", path.display()));
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .map_or_else(|| "the length".to_owned(), |n| format!("line {}", n + 1));
            panic!(
                "the output differs from {} at {line}; if the change is meant, rerun with JOB_BLESS=1",
                path.display()
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_run_byte_for_byte_and_another_seed_another() {
        let first = simulate(&["default", "--seed", "42"]);
        assert_eq!(first.0, 0, "exit code; stderr: {}", first.2);
        assert_eq!(simulate(&["default", "--seed", "42"]), first);
        assert_golden("simulate-default-seed-42.txt", &first.1);
        let other = simulate(&["default", "--seed", "43"]);
        assert_eq!(other.0, 0);
        assert_ne!(other.1, first.1, "seed 43 runs as seed 42 did");
        let json = simulate(&["default", "--seed", "42", "--json"]);
        assert_eq!(json, simulate(&["default", "--seed", "42", "--json"]));
        assert_golden("simulate-default-seed-42.jsonl", &json.1);
    }

    #[test]
    fn the_svg_is_xml_with_one_group_of_bars_per_pod() {
        let dir = scratch_dir("svg");
        let path = dir.join("run.svg");
        let path_text = path.to_str().expect("a UTF-8 path");
        let (code, _, err) = simulate(&[
            "default",
            "--seed",
            "3",
            "--fail-rate",
            "0.4",
            "--svg",
            path_text,
        ]);
        assert_eq!(code, 0, "{err}");
        let svg = std::fs::read_to_string(&path).expect("the SVG was written");
        let _ = std::fs::remove_dir_all(&dir);
        let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let groups: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("pod"))
            .collect();
        // The same run as data: one podCreated record per pod.
        let (_, json, _) = simulate(&["default", "--seed", "3", "--fail-rate", "0.4", "--json"]);
        let created = created_pods(&json);
        assert!(
            created.len() > 10,
            "failures bring replacements: {}",
            created.len()
        );
        assert_eq!(groups.len(), created.len(), "one group per pod");
        for g in &groups {
            let bars = g.children().filter(|n| n.has_tag_name("rect")).count();
            assert!(
                (1..=2).contains(&bars),
                "a pending bar and a run bar: {bars}"
            );
            let title = g
                .children()
                .find(|n| n.has_tag_name("title"))
                .and_then(|t| t.text())
                .expect("a tooltip");
            assert!(
                created.iter().any(|name| title.starts_with(name.as_str())),
                "the tooltip {title:?} names a created pod"
            );
        }
    }

    #[test]
    fn a_bad_manifest_exits_non_zero_naming_the_field() {
        let invalid =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/manifests/invalid-negative.yaml");
        let (code, out, err) = simulate(&[invalid.to_str().expect("a UTF-8 path")]);
        assert_eq!(code, 1);
        assert!(out.is_empty(), "nothing on stdout: {out}");
        assert!(err.contains("spec.parallelism"), "the field path: {err}");

        let dir = scratch_dir("bad");
        let typo = dir.join("typo.yaml");
        std::fs::write(
            &typo,
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: t}\nspec:\n  paralelism: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: i}]\n",
        )
        .expect("write the manifest");
        let (code, _, err) = simulate(&[typo.to_str().expect("a UTF-8 path")]);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(code, 1);
        assert!(
            err.contains("paralelism") && err.contains("line 5"),
            "the field and where: {err}"
        );

        let (code, _, err) = simulate(&["no-such-preset"]);
        assert_eq!(code, 1);
        assert!(err.contains("neither a file nor a preset"), "{err}");
    }

    /// Jobs from a multi-document file, a preset and the built-in one, on
    /// three node slots.
    const TWO_DOCUMENTS: &str = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: left}\nspec:\n  completions: 3\n  parallelism: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: i}]\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: right}\nspec:\n  completions: 2\n  parallelism: 2\n  completionMode: Indexed\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: i}]\n";

    #[test]
    fn several_jobs_run_the_same_for_the_same_seed_and_differently_for_another() {
        let dir = scratch_dir("multi");
        let file = dir.join("two.yaml");
        std::fs::write(&file, TWO_DOCUMENTS).expect("write the manifest");
        let file = file.to_str().expect("a UTF-8 path");
        let argv =
            |seed: &'static str| vec!["default", file, "pi", "--seed", seed, "--capacity", "3"];
        let first = simulate(&argv("42"));
        assert_eq!(first.0, 0, "exit code; stderr: {}", first.2);
        assert_eq!(simulate(&argv("42")), first, "the same bytes");
        let other = simulate(&argv("43"));
        assert_eq!(other.0, 0);
        assert_ne!(other.1, first.1, "seed 43 runs as seed 42 did");
        let mut json_argv = argv("42");
        json_argv.push("--json");
        let json = simulate(&json_argv);
        assert_eq!(json, simulate(&json_argv));
        let _ = std::fs::remove_dir_all(&dir);
        // The file gave two Jobs: four in all, each with its final status
        // as a YAML document.
        assert!(
            first
                .1
                .contains("simulating Jobs \"transcode\", \"left\", \"right\", \"pi\"")
        );
        let yaml = first
            .1
            .split("as the API server would hold them:\n")
            .nth(1)
            .expect("the final Jobs");
        let documents: Vec<&str> = yaml.split("---\n").collect();
        assert_eq!(documents.len(), 4, "{yaml}");
        for (doc, name) in documents.iter().zip(["transcode", "left", "right", "pi"]) {
            let job = job_controller::parse_job(doc).expect("each document is a Job");
            assert_eq!(job.metadata.name, name);
            assert!(job.status.is_some_and(|s| s.succeeded > 0), "{doc}");
        }
        // Every JSON line names its Job.
        for line in json.1.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let job = v["job"].as_str().expect("a job field");
            assert!(
                ["transcode", "left", "right", "pi"].contains(&job),
                "{line}"
            );
            if let Some(pod) = v["pod"].as_str() {
                assert!(pod.starts_with(&format!("{job}-")), "{line}");
            }
        }
        assert!(
            json.1.contains("\"event\":\"podWaiting\""),
            "three slots for 10 pods"
        );
        assert_golden("simulate-four-jobs-capacity-3-seed-42.txt", &first.1);
    }

    /// The timeline's columns are kubectl's: a pod line's READY, STATUS,
    /// RESTARTS and AGE start where the pod header's do, a Job line's
    /// STATUS, COMPLETIONS, DURATION and AGE where the Job header's do.
    #[test]
    fn the_timeline_lines_up_under_kubectls_headers() {
        let (code, out, err) = simulate(&["default", "pi", "--seed", "5", "--capacity", "2"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().skip(1).take_while(|l| !l.is_empty()).collect();
        let (pod_header, job_header) = (lines[0], lines[1]);
        let columns = |header: &str, names: &[&str]| -> Vec<usize> {
            names
                .iter()
                .map(|n| header.find(n).unwrap_or_else(|| panic!("{n} in {header}")))
                .collect()
        };
        let pod_columns = columns(
            pod_header,
            &["NAME", "READY", "STATUS", "RESTARTS", "AGE", "EVENT"],
        );
        let job_columns = columns(
            job_header,
            &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "EVENT"],
        );
        let mut seen = (0, 0);
        for line in &lines[2..] {
            let columns = if line.contains("   pod/") {
                seen.0 += 1;
                &pod_columns
            } else {
                assert!(line.contains("   job.batch/"), "{line}");
                seen.1 += 1;
                &job_columns
            };
            for &at in columns {
                // A cell starts at the column: a space before it, none at it.
                assert_eq!(&line[at - 1..at], " ", "column {at} of {line:?}");
                assert_ne!(&line[at..=at], " ", "column {at} of {line:?}");
            }
        }
        assert!(seen.0 > 10 && seen.1 > 3, "{seen:?}");
        // kubectl's words: a pod waits Pending, is ContainerCreating once a
        // node slot holds it, then Running and Completed or Error; a Job is
        // Running until Complete, with COMPLETIONS as succeeded/completions.
        for word in [
            "Pending",
            "ContainerCreating",
            "Running",
            "Completed",
            "1/1",
            "10/10",
            "Complete ",
        ] {
            assert!(out.contains(word), "{word}");
        }
        assert!(
            out.contains("0/1     Error"),
            "a failed pod's READY and STATUS"
        );
        assert!(out.contains("waiting: every node slot is taken"));
    }

    #[test]
    fn the_svg_groups_rows_by_job_with_one_bar_group_per_pod() {
        let dir = scratch_dir("svg-multi");
        let path = dir.join("run.svg");
        let path_text = path.to_str().expect("a UTF-8 path");
        let argv = [
            "default",
            "indexed-shards",
            "pi",
            "--seed",
            "9",
            "--capacity",
            "4",
        ];
        let (code, _, err) = simulate(&[&argv[..], &["--svg", path_text]].concat());
        assert_eq!(code, 0, "{err}");
        let svg = std::fs::read_to_string(&path).expect("the SVG was written");
        let _ = std::fs::remove_dir_all(&dir);
        let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
        let labels: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text") && n.attribute("class") == Some("job"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(labels, ["Job transcode", "Job shard-processor", "Job pi"]);
        let titles: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("pod"))
            .filter_map(|g| g.children().find(|n| n.has_tag_name("title")))
            .filter_map(|t| t.text().map(str::to_owned))
            .collect();
        let (_, json, _) = simulate(&[&argv[..], &["--json"]].concat());
        let created = created_pods(&json);
        assert_eq!(
            titles.len(),
            created.len(),
            "one group per pod, every Job's"
        );
        for name in &created {
            let bars = titles
                .iter()
                .filter(|t| t.starts_with(&format!("{name} ")))
                .count();
            assert_eq!(bars, 1, "{name}");
        }
        // Rows in Job order: each pod's group comes after its Job's label.
        let job_of_row: Vec<usize> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("g") && n.attribute("class") == Some("pod")
                    || n.attribute("class") == Some("job")
            })
            .scan(0, |job, n| {
                if n.attribute("class") == Some("job") {
                    *job += 1;
                }
                Some(*job)
            })
            .collect();
        assert!(job_of_row.is_sorted());
    }

    #[test]
    fn a_bad_capacity_or_the_same_job_twice_exits_non_zero() {
        for bad in ["0", "-1", "many", ""] {
            let parsed = Args::try_parse_from(["simulate".to_owned(), format!("--capacity={bad}")]);
            let error = parsed.expect_err(bad);
            assert_ne!(error.exit_code(), 0, "{bad}");
            let text = error.to_string();
            assert!(text.contains("--capacity"), "{text}");
            if bad == "0" {
                assert!(text.contains("at least 1"), "{text}");
            }
        }
        let (code, out, err) = simulate(&["default", "default"]);
        assert_eq!(code, 1);
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("metadata.name: Duplicate value: \"default/transcode\""),
            "{err}"
        );
    }
}

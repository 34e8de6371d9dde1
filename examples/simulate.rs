//! The main example: simulate a Job end to end — pods that start, run and
//! sometimes fail, the controller's every action — and print the timeline
//! and the final Job. Discrete-event and seeded: the same arguments give the
//! same run, byte for byte.
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
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Parser;
use std::io::Write;

use job_controller::sim::{Outcome, PodBehaviour, Simulation, gantt};
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

/// Simulate a Kubernetes Job (batch/v1) with job-controller's state machine:
/// seeded and repeatable, in simulated time.
#[derive(Parser, Debug)]
#[command(name = "simulate", version)]
struct Args {
    /// A manifest file, or a preset: `default` (built in) or the name of a
    /// manifest in the presets directory (see --list-presets).
    #[arg(default_value = "default")]
    job: String,
    /// Seed of the pods' behaviour: the same seed gives the same run.
    #[arg(long, default_value_t = 7)]
    seed: u64,
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
    /// Stop at this simulated time (e.g. 90s, 10m, 2h) even if the Job has
    /// not finished.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    until: Option<chrono::Duration>,
    /// Stop after this many events even if the Job has not finished.
    #[arg(long, default_value_t = 100_000)]
    max_events: u64,
    /// Print only the summary and the final Job, not the timeline.
    #[arg(long)]
    quiet: bool,
    /// Also draw the run as an SVG Gantt chart into FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Print the timeline as JSON lines (one object per event), nothing else.
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

/// The Job to simulate: parsed, given a UID as the API server would, and
/// admitted (defaults, validation).
fn admit(source: &str, text: &str, err: &mut dyn Write) -> Result<ValidJob, String> {
    let mut jobs = parse_jobs(text).map_err(|e| format!("{source} does not parse: {e}"))?;
    if jobs.len() > 1 {
        let _ = writeln!(
            err,
            "{source} holds {} Jobs; simulating the first",
            jobs.len()
        );
    }
    let mut job: Job = jobs
        .drain(..)
        .next()
        .ok_or_else(|| format!("{source} holds no Job"))?;
    if job.metadata.uid.is_empty() {
        job.metadata.uid = format!("uid-{}", job.metadata.name);
    }
    ValidJob::create(job).map_err(|errors| {
        let lines: Vec<String> = errors.errors.iter().map(|e| format!("  {e}")).collect();
        format!("{source}: the Job is invalid:\n{}", lines.join("\n"))
    })
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
    let valid = match manifest(&args.job).and_then(|(source, text)| admit(&source, &text, err)) {
        Ok(valid) => valid,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return 1;
        }
    };
    let defaults = PodBehaviour::default();
    let behaviour = PodBehaviour {
        failure_probability: args.fail_rate.unwrap_or(defaults.failure_probability),
        failure_exit_code: args.exit_code.unwrap_or(defaults.failure_exit_code),
        eviction_probability: args.evict_rate.unwrap_or(defaults.eviction_probability),
        run_seconds: args.runtime.unwrap_or(defaults.run_seconds),
        startup_seconds: args.startup.unwrap_or(defaults.startup_seconds),
        ..defaults
    };
    let mut sim = Simulation::new(valid, behaviour, args.seed);
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
    let job = sim.controller().job();
    writeln!(out, "simulating Job {:?} (seed {})", job.name(), args.seed)?;
    if !args.quiet {
        for entry in sim.log() {
            writeln!(
                out,
                "{:>8.1}s  {}",
                sim.elapsed(entry.at),
                sim.describe(entry)
            )?;
        }
    }
    let status = sim.controller().status();
    let last = status.conditions.last();
    writeln!(
        out,
        "\n{} after {} events, {} status writes: succeeded={} failed={}{}",
        if outcome.finished {
            "finished"
        } else {
            "stopped"
        },
        outcome.steps,
        sim.status_writes(),
        status.succeeded,
        status.failed,
        last.map(|c| format!(", last condition {} ({})", c.type_, c.reason))
            .unwrap_or_default()
    )?;
    let mut job = job.job().clone();
    job.status = Some(status.clone());
    writeln!(
        out,
        "\nthe Job as the API server would hold it:\n{}",
        to_yaml(&job)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on `argv` (without the program name): exit code,
    /// standard output, standard error.
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
        let created: Vec<String> = json
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
            .filter(|v| v["event"] == "podCreated")
            .map(|v| v["pod"].as_str().expect("a pod name").to_owned())
            .collect();
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
}

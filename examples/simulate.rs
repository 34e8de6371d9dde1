//! The main example: simulate a Job end to end on a built-in manifest (or on
//! a manifest file given as the first argument), with pods that start, run
//! and sometimes fail, and print what the controller did.
//!
//! ```text
//! cargo run --example simulate                      # built-in manifest, seed 7
//! cargo run --example simulate -- my-job.yaml 42    # your manifest, seed 42
//! ```

use job_controller::sim::{PodBehaviour, Simulation};
use job_controller::{ValidJob, parse_job};

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

fn main() {
    let mut args = std::env::args().skip(1);
    let text = match args.next() {
        Some(path) => std::fs::read_to_string(&path).unwrap_or_else(|e| {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }),
        None => DEFAULT_MANIFEST.to_owned(),
    };
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);

    let mut job = match parse_job(&text) {
        Ok(job) => job,
        Err(e) => {
            eprintln!("the manifest does not parse: {e}");
            std::process::exit(1);
        }
    };
    // The API server assigns a UID on create; the simulation plays its part.
    if job.metadata.uid.is_empty() {
        job.metadata.uid = format!("uid-{}", job.metadata.name);
    }
    let valid = match ValidJob::create(job) {
        Ok(valid) => valid,
        Err(errors) => {
            eprintln!("the Job is invalid:");
            for e in &errors.errors {
                eprintln!("  {e}");
            }
            std::process::exit(1);
        }
    };
    println!("simulating Job {:?} (seed {seed})", valid.name());
    let mut sim = Simulation::new(valid, PodBehaviour::default(), seed);
    let outcome = sim.run_to_end(100_000);
    for entry in sim.log() {
        println!("{:>8.1}s  {}", sim.elapsed(entry.at), sim.describe(entry));
    }
    let status = sim.controller().status();
    let last = status.conditions.last();
    println!(
        "\n{} after {} events: succeeded={} failed={}{}",
        if outcome.finished {
            "finished"
        } else {
            "stopped"
        },
        outcome.steps,
        status.succeeded,
        status.failed,
        last.map(|c| format!(", last condition {} ({})", c.type_, c.reason))
            .unwrap_or_default()
    );
}

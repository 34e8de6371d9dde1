//! Seeds of the randomized suites: every proptest run is deterministic by
//! default, and every failure prints the seed of the failing case and the
//! exact command that replays it.
//!
//! Scheme:
//! - A run starts from a *run seed* (proptest's `RngSeed::Fixed`), by
//!   default [`DEFAULT_RUN_SEED`]: a plain `cargo test` generates the same
//!   cases every time (CI does not flake).
//! - `JOB_PROPTEST_SEED` changes it:
//!   - a number (decimal or `0x…`): that run seed;
//!   - `random`: a fresh run seed, printed at the start of the run (for
//!     hunting with many cases);
//!   - a case seed as printed on failure (`cc <64 hex digits>`, proptest's
//!     persistence format, also what a `*.proptest-regressions` file holds):
//!     that case runs first, then the usual cases. With the case count set
//!     to 0 (as in the printed command) only that case runs.
//! - On a failure, proptest hands the seed of the failing case to its
//!   failure persistence; ours ([`Seeds`]) prints it with the replay
//!   command (and keeps it for the suite's panic message, see
//!   [`Seeds::report`]), and forwards it to proptest's regression file where
//!   the suite keeps one (`roundtrip`, `parse_errors`: the `proptest!`
//!   suites keep proptest's own `tests/*.proptest-regressions`).
//!
//! The replay command repeats every other `JOB_*` and `PROPTEST_*`
//! variable that was set (`JOB_PROPTEST_STEPS` changes the generated
//! histories, `JOB_INVARIANTS_SKIP` the checks).

use std::any::Any;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// The features `scripts/test` builds the tests with: a replay command
/// with the same list reuses that build (`--all-features` would add
/// `kube-example`'s runtime and TLS stack, and rebuild everything).
const TEST_FEATURES: &str = "yaml,sim,reference,testing,k8s-openapi,kube";

use proptest::test_runner::{
    Config, FailurePersistence, FileFailurePersistence, PersistedSeed, RngSeed,
};

/// The environment variable that sets the seed.
pub(crate) const SEED_VAR: &str = "JOB_PROPTEST_SEED";

/// The run seed when `JOB_PROPTEST_SEED` is unset (`"JobCntrl"` in ASCII).
pub(crate) const DEFAULT_RUN_SEED: u64 = 0x4a6f_6243_6e74_726c;

/// What `JOB_PROPTEST_SEED` asks for.
#[derive(Debug, Clone)]
struct Requested {
    run: u64,
    /// How the run seed was chosen, for the log.
    origin: &'static str,
    case: Option<PersistedSeed>,
}

fn requested() -> Requested {
    let text = std::env::var(SEED_VAR).unwrap_or_default();
    let text = text.trim();
    let default = Requested {
        run: DEFAULT_RUN_SEED,
        origin: "default",
        case: None,
    };
    if text.is_empty() {
        return default;
    }
    if text.eq_ignore_ascii_case("random") {
        return Requested {
            run: fresh_seed(),
            origin: "random",
            case: None,
        };
    }
    let number = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16).ok(),
        None => text.replace('_', "").parse().ok(),
    };
    if let Some(run) = number {
        return Requested {
            run,
            origin: SEED_VAR,
            case: None,
        };
    }
    match PersistedSeed::from_str(text) {
        Ok(case) => Requested {
            case: Some(case),
            ..default
        },
        Err(()) => panic!(
            "{SEED_VAR}={text:?}: want a run seed (a number), `random`, or a case seed as printed \
             on failure (`cc <64 hex digits>`)"
        ),
    }
}

/// A seed from the OS's hasher keys and the clock.
fn fresh_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

/// The test binary (`--test <name>`): the executable's name without
/// cargo's hash suffix.
fn test_binary() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_deref()
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .unwrap_or("?");
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => stem.to_owned(),
    }
}

/// `'…'` for the shell.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/=+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Proptest failure persistence that reports the failing case's seed with
/// its replay command, replays the case `JOB_PROPTEST_SEED` names, and
/// forwards to proptest's regression file where a suite keeps one.
#[derive(Clone)]
pub(crate) struct Seeds {
    /// Proptest's own regression file, if the suite keeps one.
    file: Option<FileFailurePersistence>,
    /// The variable that sets the suite's case count.
    cases_var: &'static str,
    /// The test's name, if known (else the thread's: libtest names each
    /// test's thread after it).
    test: Option<&'static str>,
    run: u64,
    case: Option<PersistedSeed>,
    /// The report of the last failure (shared by the clones proptest makes).
    found: Arc<Mutex<Option<String>>>,
}

impl fmt::Debug for Seeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seeds")
            .field("file", &self.file)
            .field("run", &self.run)
            .field("case", &self.case)
            .finish_non_exhaustive()
    }
}

impl Seeds {
    /// The seeds for one suite; `test` names the test when the caller knows
    /// it; `regressions` keeps proptest's regression file.
    pub(crate) fn new(
        test: Option<&'static str>,
        cases_var: &'static str,
        regressions: bool,
    ) -> Seeds {
        let r = requested();
        if r.origin == "random" {
            eprintln!(
                "proptest: {SEED_VAR}=random: run seed {} (replay the whole run with {SEED_VAR}={})",
                r.run, r.run
            );
        }
        Seeds {
            file: regressions.then(FileFailurePersistence::default),
            cases_var,
            test,
            run: r.run,
            case: r.case,
            found: Arc::new(Mutex::new(None)),
        }
    }

    /// A proptest configuration with `cases` cases, this run seed and this
    /// persistence.
    pub(crate) fn config(&self, cases: u32) -> Config {
        let mut config = Config {
            cases,
            rng_seed: RngSeed::Fixed(self.run),
            failure_persistence: Some(Box::new(self.clone())),
            ..Config::default()
        };
        if config.max_shrink_iters == u32::MAX {
            // Proptest's default is 4 × cases, which is none at all when a
            // replay sets the case count to 0.
            config.max_shrink_iters = cases.max(256).saturating_mul(4);
        }
        config
    }

    /// The report of the failure found (seed and replay command), if any.
    pub(crate) fn report(&self) -> Option<String> {
        self.found.lock().ok().and_then(|g| g.clone())
    }

    /// The replay command for a case seed.
    pub(crate) fn replay_command(&self, seed: &str) -> String {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                (k.starts_with("JOB_") || k.starts_with("PROPTEST_"))
                    && ![SEED_VAR, self.cases_var, "PROPTEST_RNG_SEED"].contains(&k.as_str())
            })
            .collect();
        env.sort();
        let mut cmd = format!("{SEED_VAR}={} {}=0", quote(seed), self.cases_var);
        for (k, v) in env {
            cmd.push_str(&format!(" {k}={}", quote(&v)));
        }
        cmd.push_str(&format!(
            " cargo test --features {TEST_FEATURES} --test {}",
            test_binary()
        ));
        let thread = std::thread::current();
        let name = self
            .test
            .or(thread.name().filter(|n| *n != "main"))
            .map(|n| n.rsplit("::").next().unwrap_or(n).to_owned());
        if let Some(name) = name {
            cmd.push_str(&format!(" -- --exact {name}"));
        }
        cmd
    }
}

impl FailurePersistence for Seeds {
    fn load_persisted_failures2(&self, source_file: Option<&'static str>) -> Vec<PersistedSeed> {
        let mut seeds = self
            .file
            .as_ref()
            .map(|f| f.load_persisted_failures2(source_file))
            .unwrap_or_default();
        // Proptest runs the last one first.
        if let Some(case) = &self.case {
            eprintln!("proptest: replaying case seed {case} first ({SEED_VAR})");
            seeds.push(case.clone());
        }
        seeds
    }

    fn save_persisted_failure2(
        &mut self,
        source_file: Option<&'static str>,
        seed: PersistedSeed,
        shrunken_value: &dyn fmt::Debug,
    ) {
        let text = seed.to_string();
        let report = format!(
            "proptest: failing case seed: {text} (run seed {run})\n\
             proptest: replay it with:\n    {cmd}\n\
             proptest: (or the whole run: {SEED_VAR}={run})",
            run = self.run,
            cmd = self.replay_command(&text),
        );
        eprintln!("{report}");
        if let Ok(mut g) = self.found.lock() {
            *g = Some(report);
        }
        if let Some(f) = &mut self.file {
            f.save_persisted_failure2(source_file, seed, shrunken_value);
        }
    }

    fn box_clone(&self) -> Box<dyn FailurePersistence> {
        Box::new(self.clone())
    }

    fn eq(&self, other: &dyn FailurePersistence) -> bool {
        other
            .as_any()
            .downcast_ref::<Seeds>()
            .is_some_and(|o| o.file == self.file && o.run == self.run && o.case == self.case)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

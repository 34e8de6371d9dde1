//! Simulation at the edge of the crate: a stand-in for the API server and
//! the kubelets around one [`JobController`](crate::JobController), so a Job
//! can run end to end without a cluster.
//!
//! - [`Cluster`] plays the API server: it holds the pods, carries out the
//!   controller's actions and reports the results back, as a watch would.
//! - [`pod`] changes a pod the way a kubelet would (running, ready,
//!   succeeded, failed with an exit code, restarted).
//! - [`Simulation`] adds a clock and seeded pod lifetimes on top: one Job,
//!   or several sharing the clock and, optionally, a number of node slots
//!   ([`Simulation::builder`]).
//! - [`timeline`] writes the log in the columns of `kubectl get pods,jobs -w`.
//! - [`gantt::svg`] draws a simulation as an SVG Gantt chart.

mod cluster;
pub mod gantt;
pub mod pod;
mod simulation;
pub mod timeline;

pub use cluster::{Carried, Cluster, Settled};
pub use simulation::{
    BATCH_PERIOD, EVICTION_EXIT_CODE, Ending, JobRef, LogEntry, Outcome, PodBehaviour, PodModel,
    PodRef, Record, SimError, SimEvent, SimRng, Simulation, SimulationBuilder, StatusLine,
    job_seed,
};

//! Simulation at the edge of the crate: a stand-in for the API server and
//! the kubelets around one [`JobController`](crate::JobController), so a Job
//! can run end to end without a cluster.
//!
//! - [`Cluster`] plays the API server: it holds the pods, carries out the
//!   controller's actions and reports the results back, as a watch would.
//! - [`pod`] changes a pod the way a kubelet would (running, ready,
//!   succeeded, failed with an exit code, restarted).
//! - [`Simulation`] adds a clock and seeded pod lifetimes on top.
//! - [`gantt::svg`] draws a simulation as an SVG Gantt chart.

mod cluster;
pub mod gantt;
pub mod pod;
mod simulation;

pub use cluster::{Carried, Cluster, Settled};
pub use simulation::{
    BATCH_PERIOD, EVICTION_EXIT_CODE, Ending, LogEntry, Outcome, PodBehaviour, PodModel, PodRef,
    Record, SimEvent, SimRng, Simulation, StatusLine,
};

//! An in-process Mesos cluster for tests and benchmarks: a real master (`mesos-master`)
//! and [`SimulatedAgent`]s that speak the real internal agent protocol but start no
//! processes, all in one OS process on one (optionally paused) [`libprocess::Clock`].
//!
//! ```no_run
//! use mesos_integration::{AgentConfig, Cluster, TaskScript};
//! use std::time::Duration;
//!
//! let cluster = Cluster::builder()
//!     .agents(3, AgentConfig::default().script(TaskScript::finish_after(Duration::from_secs(5))))
//!     .start()
//!     .unwrap();
//! cluster.settle(); // the agents registered
//! let url = cluster.master_url(); // point a scheduler client here
//! # let _ = url;
//! ```
//!
//! [`Cluster`] owns the runtimes; [`AgentHandle`] observes and steers one agent (stop
//! answering pings, tell it a new master leads, read its tasks).

pub mod agent;
pub mod cluster;

pub use agent::{
    AgentConfig, AgentError, AgentHandle, AgentStats, SimulatedAgent, Step, TaskScript, TaskView,
};
pub use cluster::{Cluster, ClusterBuilder, ClusterError, Transport};
pub use libprocess::Clock;

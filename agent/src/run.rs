//! Starting a whole agent from its flags: the runtime (listening on `--ip:--port`, with
//! `slave(1)` as the HTTP delegate so `/api/v1/executor` works), resources and attributes,
//! the containerizer with the `--isolation` isolators, and the `slave(1)` actor.
//! `mesos agent` and `mesos local` call [`start`].

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Clock, Pid, Runtime};
use mesos_protos::v1;

use crate::containerizer::isolator::create_isolators;
use crate::containerizer::{Containerizer, MesosContainerizer, RealProcessOps};
use crate::flags::AgentFlags;
use crate::resources::{agent_resources, parse_attributes, MachineInfo};
use crate::slave::{detect_master, Slave};

/// How often orphaned processes are reaped when the agent is a subreaper.
pub const REAP_INTERVAL: Duration = Duration::from_secs(1);

/// Errors starting an agent.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `--master` is required.
    #[error("missing required flag --master")]
    NoMaster,
    /// A flag value is unusable.
    #[error("{0}")]
    Config(String),
    /// The runtime could not start (e.g. the port is taken).
    #[error("failed to start the agent's runtime: {0}")]
    Runtime(String),
}

/// Choices that are not flags.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The clock to run on (a shared one for in-process clusters).
    pub clock: Option<Clock>,
    /// Become a child subreaper and reap orphans (the standalone agent binary; not inside
    /// a process where other code waits for its own children).
    pub reap_orphans: bool,
}

/// A started agent.
pub struct RunningAgent {
    /// Its runtime (shut it down to stop the agent).
    pub runtime: Runtime,
    /// The agent actor.
    pub pid: Pid<Slave>,
    /// Where it listens.
    pub address: SocketAddr,
}

/// This machine's host name, as Mesos reports it without `--hostname`.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Starts an agent with these flags; `env` is the agent's environment (executors inherit
/// it unless `--executor_environment_variables`).
pub fn start(
    flags: AgentFlags,
    env: BTreeMap<String, String>,
    options: StartOptions,
) -> Result<RunningAgent, StartError> {
    let master = detect_master(flags.master.as_deref().ok_or(StartError::NoMaster)?)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let ip: IpAddr = match flags.ip.as_deref() {
        Some(text) => text
            .parse()
            .map_err(|_| StartError::Config(format!("invalid --ip '{text}'")))?,
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let mut builder = Runtime::builder()
        .bind(SocketAddr::new(ip, flags.port))
        .delegate("slave(1)")
        // `/metrics/snapshot` goes to slave(1), which refreshes its gauges first.
        .metrics_process(false);
    if let Some(adv) = flags.advertise_ip.as_deref() {
        let adv: IpAddr = adv
            .parse()
            .map_err(|_| StartError::Config(format!("invalid --advertise_ip '{adv}'")))?;
        builder = builder.advertise_ip(adv);
    }
    if let Some(clock) = options.clock.clone() {
        builder = builder.clock(clock);
    }
    let runtime = builder
        .start()
        .map_err(|e| StartError::Runtime(e.to_string()))?;
    let address = runtime.address();
    let machine = MachineInfo::detect(&flags.work_dir);
    let resources = agent_resources(flags.resources.as_deref(), &flags.default_role, machine)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let attributes = match flags.attributes.as_deref() {
        Some(a) => parse_attributes(a).map_err(|e| StartError::Config(e.to_string()))?,
        None => Vec::new(),
    };
    let info = v1::AgentInfo {
        hostname: flags.hostname.clone().unwrap_or_else(system_hostname),
        port: Some(i32::from(address.port())),
        resources,
        attributes,
        ..Default::default()
    };
    let isolators = create_isolators(&flags).map_err(|e| StartError::Config(e.to_string()))?;
    let containerizer: Arc<MesosContainerizer> = Arc::new(MesosContainerizer::new(
        Arc::new(RealProcessOps),
        &flags.runtime_dir,
        isolators,
    ));
    if options.reap_orphans {
        match crate::reaper::become_subreaper() {
            Ok(()) => schedule_reaping(runtime.clock().clone(), containerizer.clone()),
            Err(e) => tracing::warn!("cannot become a child subreaper: {e}"),
        }
    }
    let slave = Slave::new(flags, info, master, containerizer)
        .map_err(|e| StartError::Config(e.to_string()))?
        .with_environment(env);
    let pid = runtime
        .spawn("slave(1)", slave)
        .map_err(|e| StartError::Runtime(e.to_string()))?;
    tracing::info!("Agent slave(1)@{address} listening on {address}");
    Ok(RunningAgent {
        runtime,
        pid,
        address,
    })
}

/// Reaps orphans every [`REAP_INTERVAL`], leaving the containers' own first processes
/// (their waiters reap those).
fn schedule_reaping(clock: Clock, containerizer: Arc<MesosContainerizer>) {
    let next = clock.clone();
    clock.schedule(REAP_INTERVAL, move || {
        let tracked: HashSet<i32> = containerizer
            .containers()
            .iter()
            .filter_map(|c| containerizer.launcher().pid(c))
            .collect();
        for (pid, status) in crate::reaper::reap_orphans(&tracked) {
            tracing::debug!("reaped orphan {pid}: {status:?}");
        }
        schedule_reaping(next, containerizer);
    });
}

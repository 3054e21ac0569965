//! Starting an agent: the agent's own flag parser, a libprocess runtime on `--ip`/`--port`,
//! detected or given resources, the Mesos containerizer with real processes and the
//! `--isolation` isolators, and the `slave(1)` actor. Used by `mesos agent` and by each
//! agent of `mesos local`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use libprocess::{Clock, Runtime, Upid};
use mesos_agent::containerizer::isolator::create_isolators;
use mesos_agent::containerizer::{IsolatorError, MesosContainerizer, RealProcessOps};
use mesos_agent::flags::{AgentFlags, AgentFlagsError, AGENT_FLAGS};
use mesos_agent::resources::{agent_resources, parse_attributes, MachineInfo, ResourceError};
use mesos_agent::slave::{detect_master, Slave, SlaveError};
use mesos_protos::v1;

use crate::master::{parse_ip, tokio_runtime, worker_threads};
use crate::signals::Shutdown;
use crate::Env;

/// The agent's process id.
pub const AGENT_ID: &str = "slave(1)";

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentStartError {
    /// Bad flags.
    #[error(transparent)]
    Flags(#[from] AgentFlagsError),
    /// `--master` missing.
    #[error("flag '--master' is required (host:port of the master)")]
    NoMaster,
    /// `--master`, a checkpoint or the actor refused.
    #[error(transparent)]
    Slave(#[from] SlaveError),
    /// Bad `--resources` or `--attributes`.
    #[error(transparent)]
    Resources(#[from] ResourceError),
    /// Unknown `--isolation` name.
    #[error(transparent)]
    Isolation(#[from] IsolatorError),
    /// Bad `--ip` / `--advertise_ip`.
    #[error(transparent)]
    Ip(#[from] crate::master::StartError),
    /// The work dir cannot be created.
    #[error("cannot create work dir '{path}': {source}")]
    WorkDir {
        /// The folder.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime did not start.
    #[error(transparent)]
    Runtime(#[from] libprocess::RuntimeError),
    /// The actor could not be spawned.
    #[error(transparent)]
    Spawn(#[from] libprocess::SpawnError),
}

/// An agent running on its own runtime.
pub struct RunningAgent {
    /// The runtime the agent listens on.
    pub runtime: Runtime,
}

/// Loads agent flags from words and the `MESOS_*` part of `env`.
pub fn load_flags(words: &[String], env: &Env) -> Result<AgentFlags, AgentFlagsError> {
    let mesos: Env = env
        .iter()
        .filter(|(k, _)| k.starts_with("MESOS_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    AgentFlags::load(words, &mesos)
}

/// Whether `name` is an agent flag.
pub fn is_agent_flag(name: &str) -> bool {
    AGENT_FLAGS.iter().any(|s| s.name == name)
}

/// Starts an agent with `flags`, registering with `master` (else `--master`).
pub fn start(
    flags: AgentFlags,
    master: Option<Upid>,
    env: &Env,
    clock: &Clock,
) -> Result<RunningAgent, AgentStartError> {
    let master = match master {
        Some(m) => m,
        None => detect_master(flags.master.as_deref().ok_or(AgentStartError::NoMaster)?)?,
    };
    for dir in [&flags.work_dir, &flags.runtime_dir] {
        std::fs::create_dir_all(dir).map_err(|source| AgentStartError::WorkDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let ip = match flags
        .ip
        .as_deref()
        .or(env.get("LIBPROCESS_IP").map(String::as_str))
    {
        Some(text) => parse_ip(text)?,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let machine = MachineInfo::detect(&flags.work_dir);
    let resources = agent_resources(flags.resources.as_deref(), &flags.default_role, machine)?;
    let attributes = match flags.attributes.as_deref() {
        Some(text) => parse_attributes(text)?,
        None => Vec::new(),
    };
    let isolators = create_isolators(&flags)?;
    let mut builder = Runtime::builder()
        .bind(SocketAddr::new(ip, flags.port))
        .clock(clock.clone())
        .delegate(AGENT_ID)
        .threads(worker_threads(env));
    if let Some(adv) = flags.advertise_ip.as_deref() {
        builder = builder.advertise_ip(parse_ip(adv)?);
    }
    let runtime = builder.start()?;
    let address = runtime.address();
    let info = v1::AgentInfo {
        hostname: flags
            .hostname
            .clone()
            .unwrap_or_else(|| address.ip().to_string()),
        port: Some(i32::from(address.port())),
        resources,
        attributes,
        ..Default::default()
    };
    let containerizer = Arc::new(MesosContainerizer::new(
        Arc::new(RealProcessOps),
        flags.runtime_dir.clone(),
        isolators,
    ));
    let work_dir = flags.work_dir.clone();
    let slave = match Slave::new(flags, info, master.clone(), containerizer) {
        Ok(s) => s.with_environment(env.clone()),
        Err(e) => {
            runtime.shutdown_blocking();
            return Err(e.into());
        }
    };
    if let Err(e) = runtime.spawn(AGENT_ID, slave) {
        runtime.shutdown_blocking();
        return Err(e.into());
    }
    tracing::info!(
        "mesos agent listening on http://{address} (work dir {}, master {master})",
        work_dir.display()
    );
    Ok(RunningAgent { runtime })
}

/// `mesos agent [--flags]`.
pub fn main(words: &[&str], env: &Env) -> ExitCode {
    if words.iter().any(|w| *w == "--help" || *w == "-h") {
        println!("Usage: mesos agent --master=host:port [--flag=value ...]\n");
        for spec in AGENT_FLAGS {
            let default = spec
                .default
                .map(|d| format!(" (default: {d})"))
                .unwrap_or_default();
            println!("  --{}{default}", spec.name);
        }
        println!("\nEvery flag may also be set as MESOS_<NAME> (upper case).");
        return ExitCode::SUCCESS;
    }
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    let flags = match load_flags(&words, env) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mesos agent: {e}\nRun `mesos agent --help` for the flags.");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos agent: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let mut shutdown = match Shutdown::register() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mesos agent: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let agent = match start(flags, None, env, &Clock::new()) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("mesos agent: {e}");
                return ExitCode::FAILURE;
            }
        };
        let signal = shutdown.wait().await;
        tracing::info!("received {signal}; shutting down the agent");
        agent.runtime.shutdown().await;
        tracing::info!("agent stopped");
        ExitCode::SUCCESS
    })
}

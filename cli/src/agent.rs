//! `mesos agent`, and the agents of `mesos local`: the agent's own flag parser over the
//! arguments and `MESOS_*` variables, then [`mesos_agent::run::start`] (runtime on
//! `--ip`/`--port`, resources, containerizer, the `slave(1)` actor).

use std::process::ExitCode;

use libprocess::{Clock, Runtime};
use mesos_agent::flags::{AgentFlags, AgentFlagsError, AGENT_FLAGS};
use mesos_agent::run::{StartError, StartOptions};

use crate::master::tokio_runtime;
use crate::signals::Shutdown;
use crate::Env;

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentStartError {
    /// Bad flags.
    #[error(transparent)]
    Flags(#[from] AgentFlagsError),
    /// The work dir cannot be created.
    #[error("cannot create work dir '{path}': {source}")]
    WorkDir {
        /// The folder.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The agent refused to start.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// An agent running on its own runtime.
pub struct RunningAgent {
    /// The runtime the agent listens on.
    pub runtime: Runtime,
    /// The agent actor (it ends by itself with `--recover=cleanup`).
    pub pid: libprocess::Upid,
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

/// Starts an agent with `flags` on `clock`. `reap_orphans` makes the process a child
/// subreaper (only for a process that runs a single agent).
pub fn start(
    flags: AgentFlags,
    env: &Env,
    clock: &Clock,
    reap_orphans: bool,
) -> Result<RunningAgent, AgentStartError> {
    for dir in [&flags.work_dir, &flags.runtime_dir] {
        std::fs::create_dir_all(dir).map_err(|source| AgentStartError::WorkDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let work_dir = flags.work_dir.clone();
    let master = flags.master.clone().unwrap_or_default();
    let options = StartOptions {
        clock: Some(clock.clone()),
        reap_orphans,
    };
    let agent = mesos_agent::run::start(flags, env.clone(), options)?;
    tracing::info!(
        "mesos agent listening on http://{} (work dir {}, master {master})",
        agent.address,
        work_dir.display()
    );
    Ok(RunningAgent {
        runtime: agent.runtime,
        pid: agent.pid.upid().clone(),
    })
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
        let clock = Clock::new();
        let agent = match start(flags, env, &clock, true) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("mesos agent: {e}");
                return ExitCode::FAILURE;
            }
        };
        // The actor ends by itself after `--recover=cleanup` has shut the old executors down.
        let actor_ended = async {
            while agent.runtime.is_alive(&agent.pid) {
                clock.sleep(std::time::Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            signal = shutdown.wait() => {
                tracing::info!("received {signal}; shutting down the agent");
            }
            () = actor_ended => {
                tracing::info!("the agent actor ended (recovery cleanup done); exiting");
            }
        }
        agent.runtime.shutdown().await;
        tracing::info!("agent stopped");
        ExitCode::SUCCESS
    })
}

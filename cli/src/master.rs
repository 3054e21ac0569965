//! `mesos master`: the master's own flag parser over the arguments and `MESOS_*`
//! variables, a libprocess runtime on `--ip`/`--port`, the master actor, and a clean
//! shutdown on SIGINT/SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use libprocess::{Clock, Runtime};
use mesos_master::flags::{FlagError, FlagSpec, MasterFlags, MASTER_FLAGS};
use mesos_master::master::{Master, MasterError, MasterOptions, MASTER_ID};

use crate::signals::Shutdown;
use crate::Env;

/// Why a master (or the runtime under it) could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad flags.
    #[error(transparent)]
    Flags(#[from] FlagError),
    /// `--ip` (or `LIBPROCESS_IP`) is not an IP address.
    #[error("invalid IP address '{0}'")]
    Ip(String),
    /// The runtime did not start (e.g. the port is taken).
    #[error(transparent)]
    Runtime(#[from] libprocess::RuntimeError),
    /// The master refused to start.
    #[error(transparent)]
    Master(#[from] MasterError),
    /// The master process could not be spawned.
    #[error(transparent)]
    Spawn(#[from] libprocess::SpawnError),
}

/// A master running on its own runtime.
pub struct RunningMaster {
    /// The runtime the master listens on.
    pub runtime: Runtime,
}

impl RunningMaster {
    /// The address HTTP clients and agents use (`ip:port`, the bound port).
    pub fn address(&self) -> SocketAddr {
        self.runtime.address()
    }
}

/// The `MESOS_*` entries of the environment, as the flag parsers take them.
pub fn mesos_env(env: &Env) -> impl Iterator<Item = (&str, &str)> {
    env.iter()
        .filter(|(k, _)| k.starts_with("MESOS_"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Parses an IP flag value.
pub fn parse_ip(text: &str) -> Result<IpAddr, StartError> {
    text.parse().map_err(|_| StartError::Ip(text.to_string()))
}

/// How many worker threads a component's runtime gets (`LIBPROCESS_NUM_WORKER_THREADS`,
/// else the machine's cores, at most 8).
pub fn worker_threads(env: &Env) -> usize {
    env.get("LIBPROCESS_NUM_WORKER_THREADS")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(8))
                .unwrap_or(2)
        })
}

/// Starts a master with `flags` on `clock`. It binds `--ip` (else `LIBPROCESS_IP`, else
/// all interfaces) and `--port`; `--advertise_ip` is what its UPID carries.
pub fn start(flags: MasterFlags, env: &Env, clock: &Clock) -> Result<RunningMaster, StartError> {
    let ip = match flags
        .ip
        .as_deref()
        .or(env.get("LIBPROCESS_IP").map(String::as_str))
    {
        Some(text) => parse_ip(text)?,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let mut builder = Runtime::builder()
        .bind(SocketAddr::new(ip, flags.port))
        .clock(clock.clone())
        .delegate(MASTER_ID)
        .threads(worker_threads(env));
    if let Some(adv) = flags.advertise_ip.as_deref() {
        builder = builder.advertise_ip(parse_ip(adv)?);
    }
    if flags.advertise_port.is_some() {
        tracing::warn!("--advertise_port is not supported yet; advertising the bound port");
    }
    let runtime = builder.start()?;
    let now = runtime.clock().now().as_secs_f64();
    let master = match Master::new(MasterOptions::new(flags), now) {
        Ok(m) => m,
        Err(e) => {
            runtime.shutdown_blocking();
            return Err(e.into());
        }
    };
    let pid = match runtime.spawn(MASTER_ID, master) {
        Ok(p) => p,
        Err(e) => {
            runtime.shutdown_blocking();
            return Err(e.into());
        }
    };
    tracing::info!(
        "mesos master listening on http://{} (pid {})",
        runtime.address(),
        pid.upid()
    );
    Ok(RunningMaster { runtime })
}

/// Prints a flag table (for `--help`).
pub fn print_flags(title: &str, specs: &[FlagSpec]) {
    println!("{title}\n");
    for spec in specs {
        let default = spec
            .default
            .map(|d| format!(" (default: {d})"))
            .unwrap_or_default();
        println!("  --{:<40} {}{}", spec.name, spec.help, default);
    }
    println!("\nEvery flag may also be set as MESOS_<NAME> (upper case).");
}

/// Builds a current-thread tokio runtime for the signal handlers and HTTP clients.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, std::io::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// `mesos master [--flags]`.
pub fn main(words: &[&str], env: &Env) -> ExitCode {
    if words.iter().any(|w| *w == "--help" || *w == "-h") {
        print_flags("Usage: mesos master [--flag=value ...]", MASTER_FLAGS);
        return ExitCode::SUCCESS;
    }
    let flags = match MasterFlags::load(words.iter().copied(), mesos_env(env)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mesos master: {e}\nRun `mesos master --help` for the flags.");
            return ExitCode::from(2);
        }
    };
    if flags.loaded.bool("version").unwrap_or(false) {
        println!("mesos {}", mesos_master::render::MESOS_VERSION);
        return ExitCode::SUCCESS;
    }
    let rt = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos master: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let mut shutdown = match Shutdown::register() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mesos master: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let master = match start(flags, env, &Clock::new()) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("mesos master: {e}");
                return ExitCode::FAILURE;
            }
        };
        let signal = shutdown.wait().await;
        tracing::info!("received {signal}; shutting down the master");
        master.runtime.shutdown().await;
        tracing::info!("master stopped");
        ExitCode::SUCCESS
    })
}

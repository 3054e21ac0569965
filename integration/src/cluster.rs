//! The in-process cluster: a master and simulated agents in one OS process, on one
//! (optionally paused) Clock, talking over libprocess's in-memory network or real HTTP.
//! The master's HTTP address is real, so scheduler clients connect over HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::{Clock, Network, Pid, Runtime, RuntimeError, Upid};
use mesos_master::flags::MasterFlags;
use mesos_master::master::{
    LeaderHandle, Leadership, Master, MasterError, MasterOptions, MASTER_ID,
};

use crate::agent::{AgentConfig, AgentError, AgentHandle, SimulatedAgent};

/// Why a cluster (or a part of it) could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The master flags did not parse.
    #[error("bad master flags {flags:?}: {reason}")]
    Flags {
        /// The flags given.
        flags: Vec<String>,
        /// The parser's complaint.
        reason: String,
    },
    /// A runtime did not start.
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
    /// The master did not start.
    #[error("master: {0}")]
    Master(#[from] MasterError),
    /// The master process could not be spawned.
    #[error("cannot spawn the master: {0}")]
    Spawn(#[from] libprocess::SpawnError),
    /// An agent could not be made.
    #[error("agent: {0}")]
    Agent(#[from] AgentError),
    /// An agent was added while no master runs.
    #[error("the cluster has no running master to register agent {0:?} with")]
    NoMaster(String),
    /// The temporary work folder could not be made.
    #[error("cannot create a work folder: {0}")]
    WorkDir(#[from] std::io::Error),
}

/// How the master and the agents reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// libprocess's in-memory network (no sockets between runtimes).
    #[default]
    InMemory,
    /// libprocess's HTTP transport over loopback.
    Http,
}

/// Configures and starts a [`Cluster`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    paused: bool,
    transport: Transport,
    master_flags: Vec<String>,
    agents: Vec<AgentConfig>,
    agents_per_runtime: usize,
    master_threads: usize,
    seed: u64,
    work_dir: Option<PathBuf>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            paused: true,
            transport: Transport::InMemory,
            master_flags: Vec::new(),
            agents: Vec::new(),
            agents_per_runtime: 1,
            master_threads: 1,
            seed: 0x5eed,
            work_dir: None,
        }
    }
}

impl ClusterBuilder {
    /// Whether the shared Clock starts paused (default true: tests advance it).
    pub fn paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    /// In-memory network (default) or HTTP between master and agents.
    pub fn transport(mut self, t: Transport) -> Self {
        self.transport = t;
        self
    }

    /// Adds master flags in Mesos's form (`--allocation_interval=50ms`). `--work_dir` and
    /// `--port` are set by the cluster.
    pub fn master_flag(mut self, flag: &str) -> Self {
        self.master_flags.push(flag.to_owned());
        self
    }

    /// Adds `n` agents configured as `config` (hostnames get a numeric suffix).
    pub fn agents(mut self, n: usize, config: AgentConfig) -> Self {
        let base = self.agents.len();
        for i in 0..n {
            let mut c = config.clone();
            c.hostname = format!("{}-{}", config.hostname, base + i);
            self.agents.push(c);
        }
        self
    }

    /// Adds one agent.
    pub fn agent(mut self, config: AgentConfig) -> Self {
        self.agents.push(config);
        self
    }

    /// How many agents share one runtime (default 1: each its own address, as real agents
    /// are). Scale runs put thousands of agents on a few runtimes.
    pub fn agents_per_runtime(mut self, n: usize) -> Self {
        self.agents_per_runtime = n.max(1);
        self
    }

    /// Worker threads of the master's runtime (default 1).
    pub fn master_threads(mut self, n: usize) -> Self {
        self.master_threads = n.max(1);
        self
    }

    /// The seed of every runtime's randomness (default fixed, so runs replay).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Uses `dir` as the master's work folder instead of a fresh temporary one.
    pub fn work_dir(mut self, dir: &Path) -> Self {
        self.work_dir = Some(dir.to_owned());
        self
    }

    /// Starts the master, then the agents (which register on their own; with a paused
    /// clock, call [`Cluster::settle`] to let them finish).
    pub fn start(self) -> Result<Cluster, ClusterError> {
        let clock = Clock::new();
        if self.paused {
            clock.pause();
        }
        let network = match self.transport {
            Transport::InMemory => Some(Network::new()),
            Transport::Http => None,
        };
        let (temp, work_dir) = match &self.work_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("mesos-cluster-")
                    .tempdir()?;
                let p = t.path().to_owned();
                (Some(t), p)
            }
        };
        let mut cluster = Cluster {
            clock,
            network,
            _temp: temp,
            work_dir,
            master_flags: self.master_flags.clone(),
            master_threads: self.master_threads,
            seed: self.seed,
            master: None,
            master_addr: None,
            leader: LeaderHandle::new(Leadership::Leading),
            agent_runtimes: Vec::new(),
            agents: Vec::new(),
            agents_per_runtime: self.agents_per_runtime,
            in_last_runtime: 0,
            restarts: 0,
        };
        cluster.start_master()?;
        for config in self.agents {
            cluster.add_agent(config)?;
        }
        Ok(cluster)
    }
}

/// The running master: its runtime and process.
struct MasterNode {
    runtime: Runtime,
    pid: Pid<Master>,
}

/// A master and simulated agents in one process. Dropping it shuts everything down.
pub struct Cluster {
    clock: Clock,
    network: Option<Network>,
    _temp: Option<tempfile::TempDir>,
    work_dir: PathBuf,
    master_flags: Vec<String>,
    master_threads: usize,
    seed: u64,
    master: Option<MasterNode>,
    master_addr: Option<SocketAddr>,
    leader: LeaderHandle,
    agent_runtimes: Vec<Runtime>,
    agents: Vec<AgentHandle>,
    agents_per_runtime: usize,
    in_last_runtime: usize,
    restarts: u64,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field(
                "master",
                &self.master.as_ref().map(|m| m.pid.upid().clone()),
            )
            .field("agents", &self.agents.len())
            .field("work_dir", &self.work_dir)
            .finish()
    }
}

impl Cluster {
    /// A builder with defaults: paused clock, in-memory network, no agents.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    fn runtime_builder(&self) -> libprocess::RuntimeBuilder {
        let b = Runtime::builder()
            .clock(self.clock.clone())
            .seed(self.seed.wrapping_add(self.agent_runtimes.len() as u64));
        match &self.network {
            Some(n) => b.network(n),
            None => b,
        }
    }

    fn start_master(&mut self) -> Result<(), ClusterError> {
        let mut args = vec![
            "--port=0".to_owned(),
            format!("--work_dir={}", self.work_dir.display()),
        ];
        args.extend(self.master_flags.iter().cloned());
        let flags = MasterFlags::load(args.iter().map(String::as_str), []).map_err(|e| {
            ClusterError::Flags {
                flags: args.clone(),
                reason: e.to_string(),
            }
        })?;
        let mut builder = self
            .runtime_builder()
            .delegate(MASTER_ID)
            .threads(self.master_threads);
        if let Some(addr) = self.master_addr {
            // A restarted master comes back at the same address, as a supervised master
            // would, so agents and scheduler clients find it again.
            builder = builder.bind(addr);
        }
        let runtime = builder.start()?;
        self.master_addr = Some(runtime.address());
        let mut opts = MasterOptions::new(flags);
        opts.leader = self.leader.clone();
        let master = Master::new(opts, self.clock.now().as_secs_f64());
        let master = match master {
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
        self.master = Some(MasterNode { runtime, pid });
        Ok(())
    }

    /// Adds and starts an agent; it registers with the current master.
    pub fn add_agent(&mut self, config: AgentConfig) -> Result<AgentHandle, ClusterError> {
        let master = self
            .master_upid()
            .ok_or_else(|| ClusterError::NoMaster(config.hostname.clone()))?;
        let rt = match self.agent_runtimes.last() {
            Some(rt) if self.in_last_runtime < self.agents_per_runtime => rt.clone(),
            _ => {
                let rt = self.runtime_builder().metrics_process(false).start()?;
                self.agent_runtimes.push(rt.clone());
                self.in_last_runtime = 0;
                rt
            }
        };
        let id = rt.generate_id("slave");
        let handle = SimulatedAgent::spawn(&rt, &id, config, master)?;
        self.in_last_runtime += 1;
        self.agents.push(handle.clone());
        Ok(handle)
    }

    /// The shared Clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The master's work folder (registry lives here).
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// The agents, in the order they were added.
    pub fn agents(&self) -> &[AgentHandle] {
        &self.agents
    }

    /// The master's UPID, if it runs.
    pub fn master_upid(&self) -> Option<Upid> {
        self.master.as_ref().map(|m| m.pid.upid().clone())
    }

    /// The master's HTTP address (`/api/v1/scheduler`, `/state`, ...).
    ///
    /// # Panics
    /// If the master was stopped and not restarted.
    pub fn master_address(&self) -> SocketAddr {
        self.master
            .as_ref()
            .map(|m| m.runtime.address())
            .expect("the cluster's master is running")
    }

    /// The master's base URL, `http://ip:port`.
    pub fn master_url(&self) -> String {
        format!("http://{}", self.master_address())
    }

    /// The leadership view the master answers with (flip it to test 307 / 503).
    pub fn leader(&self) -> &LeaderHandle {
        &self.leader
    }

    /// Runs `f` on the master actor and returns its result (`None` if no master runs).
    pub async fn with_master<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Master) -> R + Send + 'static,
    ) -> Option<R> {
        let pid = self.master.as_ref()?.pid.clone();
        pid.dispatch(move |m, _| f(m)).await.ok()
    }

    /// [`Cluster::with_master`] for plain tests.
    pub fn with_master_blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Master) -> R + Send + 'static,
    ) -> Option<R> {
        libprocess::block_on(self.with_master(f))
    }

    /// Waits until no actor of the cluster has work (see `Clock::settle`).
    pub fn settle(&self) {
        self.clock.settle_blocking();
    }

    /// Advances the paused clock by `total` in steps of `step`, settling after each so
    /// timers that arm timers fire in order.
    pub fn advance(&self, total: Duration, step: Duration) {
        let step = if step.is_zero() { total } else { step };
        let mut done = Duration::ZERO;
        while done < total {
            let d = step.min(total - done);
            self.clock.advance(d);
            self.clock.settle_blocking();
            done += d;
        }
    }

    /// Stops the master's runtime (agents notice through `exited` and keep retrying).
    pub fn stop_master(&mut self) {
        if let Some(m) = self.master.take() {
            m.runtime.shutdown_blocking();
        }
    }

    /// Stops the master (if running) and starts a new one on the same work folder and
    /// address: it recovers the registry; every agent is told the master is back (as a
    /// detector would) and re-registers with its tasks.
    pub fn restart_master(&mut self) -> Result<(), ClusterError> {
        self.stop_master();
        self.restarts += 1;
        self.start_master()?;
        if let Some(upid) = self.master_upid() {
            for a in &self.agents {
                a.detected(upid.clone());
            }
        }
        Ok(())
    }

    /// How many times the master was restarted.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Shuts down every runtime (agents first). Also done on drop.
    pub fn shutdown(&mut self) {
        for rt in self.agent_runtimes.drain(..) {
            rt.shutdown_blocking();
        }
        self.agents.clear();
        self.stop_master();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

//! The master actor: a router from messages, timers and HTTP requests to the pure
//! state transitions and decisions in [`crate::state`], [`crate::validation`],
//! [`crate::reconcile`] and [`crate::offers`], with the registrar and the allocator.
//!
//! ```text
//!  agents ──Register/Reregister/Pong/StatusUpdate──▶ ┐
//!  HTTP /api/v1/scheduler (calls, SUBSCRIBE) ───────▶ ├─ Master ── registrar ops (batched, durable first)
//!  HTTP /state, /flags, ... ────────────────────────▶ │        ── allocator (offers every interval)
//!  Clock timers (pings, heartbeats, failover) ──────▶ ┘        ── events to framework streams
//! ```
//! Time is the runtime's Clock only; nothing here sleeps or reads the wall clock.

mod agents;
mod allocation;
mod calls;
mod frameworks;
mod http;
mod operations;
mod operator_ops;
mod operator_stream;
mod quota;
mod scheduler;
mod stream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Context, Handlers, Process, Routes, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::v1;

use crate::allocator::actor::{AllocatorHandle, AllocatorSnapshot};
use crate::allocator::{AllocatorOptions, HierarchicalAllocator, MinAllocatable};
use crate::flags::MasterFlags;
use crate::registrar::{
    FileStore, InMemoryStore, OpResult, Operation, Registrar, RegistryStore, StoreError,
};
use crate::render::MESOS_VERSION;
use crate::state::{IdGenerator, Limits, MasterState};

pub use crate::metrics::MasterCounters;
pub use stream::EventStream;

/// Who leads, as this master sees it (a ZooKeeper detector will drive this later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// This master leads.
    Leading,
    /// Another master leads, at `host:port`.
    Follower(String),
    /// No leader is known.
    NoLeader,
}

/// A shared, settable view of leadership (tests flip it to check 307 and 503).
#[derive(Debug, Clone)]
pub struct LeaderHandle(Arc<Mutex<Leadership>>);

impl LeaderHandle {
    /// Starts as `l`.
    pub fn new(l: Leadership) -> Self {
        LeaderHandle(Arc::new(Mutex::new(l)))
    }

    /// The current view.
    pub fn get(&self) -> Leadership {
        match self.0.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Changes the view.
    pub fn set(&self, l: Leadership) {
        match self.0.lock() {
            Ok(mut g) => *g = l,
            Err(p) => *p.into_inner() = l,
        }
    }
}

/// Errors that keep a master from starting.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The registry could not be recovered.
    #[error("failed to recover the registry: {0}")]
    Registry(#[from] StoreError),
    /// The allocator rejected its options.
    #[error("allocator: {0}")]
    Allocator(String),
}

/// Everything a master is started with.
pub struct MasterOptions {
    /// The flags.
    pub flags: MasterFlags,
    /// The registry store; `None` picks one from `--registry` and `--work_dir`.
    pub store: Option<Box<dyn RegistryStore>>,
    /// Leadership view (defaults to leading).
    pub leader: LeaderHandle,
    /// The master id; `None` generates a UUID.
    pub master_id: Option<String>,
}

impl MasterOptions {
    /// Options from flags alone.
    pub fn new(flags: MasterFlags) -> Self {
        MasterOptions {
            flags,
            store: None,
            leader: LeaderHandle::new(Leadership::Leading),
            master_id: None,
        }
    }
}

/// The process id of the master (`master@ip:port`).
pub const MASTER_ID: &str = "master";

type OpDone = Box<dyn FnOnce(&mut Master, &mut Context<Master>, Result<OpResult, String>) + Send>;

/// Per-agent liveness bookkeeping (the slave observer's state).
#[derive(Debug, Clone)]
struct AgentLink {
    pid: Upid,
    pings_missed: u64,
    awaiting_pong: bool,
}

/// The master actor.
pub struct Master {
    flags: MasterFlags,
    state: MasterState,
    registrar: Registrar,
    pending_ops: Vec<(Operation, OpDone)>,
    flush_scheduled: bool,
    allocator: AllocatorHandle,
    allocator_snapshot: Arc<AllocatorSnapshot>,
    agent_links: HashMap<String, AgentLink>,
    agents_by_pid: HashMap<String, String>,
    admitting: HashMap<String, String>,
    marking_gone: std::collections::HashSet<String>,
    streams: HashMap<String, EventStream>,
    operator_streams: HashMap<String, EventStream>,
    failover_epochs: HashMap<String, u64>,
    offer_timers: HashMap<String, libprocess::TimerId>,
    leader: LeaderHandle,
    counters: MasterCounters,
}

impl std::fmt::Debug for Master {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Master")
            .field("id", &self.state.info.id)
            .field("agents", &self.state.agents.registered.len())
            .field("frameworks", &self.state.frameworks.len())
            .finish()
    }
}

impl Master {
    /// Builds a master: recovers the registry (admitted agents become "recovered",
    /// waiting to re-register) and sets up the allocator. `now` is the Clock's time.
    pub fn new(mut opts: MasterOptions, now: f64) -> Result<Master, MasterError> {
        let flags = opts.flags;
        let store: Box<dyn RegistryStore> = match opts.store.take() {
            Some(s) => s,
            None if flags.registry == "in_memory" => Box::<InMemoryStore>::default(),
            None => Box::new(FileStore::open(std::path::Path::new(&flags.work_dir))?),
        };
        let registrar = Registrar::recover(store)?;
        let master_id = opts.master_id.unwrap_or_else(IdGenerator::random_master_id);
        let info = v1::MasterInfo {
            id: master_id,
            ip: 0,
            port: u32::from(flags.port),
            pid: None,
            hostname: flags.hostname.clone(),
            version: Some(MESOS_VERSION.to_owned()),
            address: None,
            domain: None,
            capabilities: vec![v1::master_info::Capability {
                r#type: Some(v1::master_info::capability::Type::AgentUpdate as i32),
            }],
        };
        let mut state = MasterState::new(info, Limits::from_flags(&flags), now);
        let reg = registrar.state();
        for (id, info) in &reg.agents {
            state.agents.recovered.insert(id.clone(), info.clone());
        }
        for (id, t) in &reg.unreachable {
            state
                .agents
                .unreachable
                .insert(id.clone(), crate::status::seconds(t));
        }
        for (id, t) in &reg.gone {
            state
                .agents
                .gone
                .insert(id.clone(), crate::status::seconds(t));
        }
        let min = flags
            .loaded
            .get("min_allocatable_resources")
            .map(MinAllocatable::parse)
            .transpose()
            .map_err(|e| MasterError::Allocator(e.to_string()))?
            .unwrap_or_else(MinAllocatable::mesos_default);
        let aopts = AllocatorOptions {
            min_allocatable_resources: min,
            allocation_interval: flags.allocation_interval,
            filter_gpu_resources: flags.loaded.bool("filter_gpu_resources").unwrap_or(true),
            ..AllocatorOptions::default()
        };
        let mut allocator =
            HierarchicalAllocator::new(aopts).map_err(|e| MasterError::Allocator(e.to_string()))?;
        let weights: Vec<(String, f64)> = flags
            .weights
            .iter()
            .cloned()
            .chain(reg.weights.iter().map(|(r, w)| (r.clone(), *w)))
            .collect();
        if !weights.is_empty() {
            allocator
                .update_weights(&weights)
                .map_err(|e| MasterError::Allocator(e.to_string()))?;
        }
        quota::recover_quotas(&mut allocator, &reg.quotas)
            .map_err(|e| MasterError::Allocator(e.to_string()))?;
        let mut allocator = AllocatorHandle::new(allocator);
        allocator.recover(reg.agents.len(), !reg.quotas.is_empty());
        Ok(Master {
            flags,
            state,
            registrar,
            pending_ops: Vec::new(),
            flush_scheduled: false,
            allocator,
            allocator_snapshot: Arc::default(),
            agent_links: HashMap::new(),
            agents_by_pid: HashMap::new(),
            admitting: HashMap::new(),
            marking_gone: std::collections::HashSet::new(),
            streams: HashMap::new(),
            operator_streams: HashMap::new(),
            failover_epochs: HashMap::new(),
            offer_timers: HashMap::new(),
            leader: opts.leader,
            counters: MasterCounters::default(),
        })
    }

    /// The state model (for tests and the operator API).
    pub fn state(&self) -> &MasterState {
        &self.state
    }

    /// The registry as recovered and updated.
    pub fn registry(&self) -> &crate::registrar::RegistryState {
        self.registrar.state()
    }

    /// The counters.
    pub fn counters(&self) -> &MasterCounters {
        &self.counters
    }

    /// The flags.
    pub fn flags(&self) -> &MasterFlags {
        &self.flags
    }

    fn now(ctx: &Context<Self>) -> f64 {
        ctx.clock().now().as_secs_f64()
    }

    fn now_duration(ctx: &Context<Self>) -> Duration {
        Duration::from_nanos(ctx.clock().now().as_nanos())
    }

    /// Queues a registry operation; all operations queued before the flush runs are
    /// stored with one durable write, and `done` runs after it.
    fn registry_op(&mut self, ctx: &mut Context<Self>, op: Operation, done: OpDone) {
        self.pending_ops.push((op, done));
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            // Runs after the events already queued, so a burst of registrations
            // shares one write.
            ctx.pid()
                .dispatch_and_forget(|m: &mut Master, ctx| m.flush_registry(ctx));
        }
    }

    fn flush_registry(&mut self, ctx: &mut Context<Self>) {
        self.flush_scheduled = false;
        let pending = std::mem::take(&mut self.pending_ops);
        if pending.is_empty() {
            return;
        }
        let (ops, dones): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
        match self.registrar.apply(ops) {
            Ok(results) => {
                for (done, r) in dones.into_iter().zip(results) {
                    done(self, ctx, Ok(r));
                }
            }
            Err(e) => {
                // Mesos aborts the master here; we stop this actor and report why.
                tracing::error!(error = %e, "registry store failed; terminating the master");
                for done in dones {
                    done(self, ctx, Err(e.to_string()));
                }
                ctx.terminate();
            }
        }
    }

    /// Publishes the master's metrics into the runtime registry (`/metrics/snapshot`).
    /// Refreshed every allocation interval.
    pub(crate) fn refresh_metrics(&mut self, ctx: &mut Context<Self>) {
        let inputs = crate::metrics::MetricsInputs {
            uptime_secs: (Master::now(ctx) - self.state.start_time).max(0.0),
            elected: self.leader.get() == Leadership::Leading,
            registrar_queued_operations: self.pending_ops.len(),
            registry_agents: self.registrar.state().agents.len(),
            operator_event_stream_subscribers: self.operator_streams.len(),
        };
        let metrics = ctx.metrics().clone();
        for (name, value) in crate::metrics::master_metrics(&self.state, &self.counters, &inputs) {
            metrics.gauge(&name).set(value);
        }
    }

    fn total_ping_timeout_seconds(&self) -> f64 {
        self.flags.total_ping_timeout().as_secs_f64()
    }

    fn connection_info(&self) -> internal::MasterSlaveConnection {
        internal::MasterSlaveConnection {
            total_ping_timeout_seconds: Some(self.total_ping_timeout_seconds()),
        }
    }
}

impl Process for Master {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::RegisterSlaveMessage>(|m, ctx, from, msg| {
            m.register_agent(ctx, from, msg)
        });
        h.on::<internal::ReregisterSlaveMessage>(|m, ctx, from, msg| {
            m.reregister_agent(ctx, from, msg)
        });
        h.on::<internal::PongSlaveMessage>(|m, _ctx, from, _msg| m.pong(from));
        h.on::<internal::StatusUpdateMessage>(|m, ctx, from, msg| m.status_update(ctx, from, msg));
        h.on::<internal::UnregisterSlaveMessage>(|m, ctx, from, msg| {
            m.unregister_agent(ctx, from, msg)
        });
        h.on::<internal::ExecutorToFrameworkMessage>(|m, ctx, _from, msg| {
            m.executor_message(ctx, msg)
        });
        h.on::<internal::ExitedExecutorMessage>(|m, ctx, _from, msg| m.exited_executor(ctx, msg));
        h.on::<internal::UpdateOperationStatusMessage>(|m, ctx, from, msg| {
            m.operation_status_update(ctx, from, msg)
        });
        h.on::<internal::UpdateSlaveMessage>(|m, ctx, from, msg| m.update_slave(ctx, from, msg));
    }

    fn routes(r: &mut Routes<Self>) {
        http::routes(r);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let now = Self::now(ctx);
        self.state.start_time = now;
        self.state.elected_time = Some(now);
        let me = ctx.self_pid().clone();
        self.state.info.pid = Some(me.as_str().to_owned());
        self.state.info.port = u32::from(me.port());
        if let std::net::IpAddr::V4(ip) = me.ip() {
            // MasterInfo.ip is the IPv4 address in network byte order.
            self.state.info.ip = u32::from_le_bytes(ip.octets());
        }
        let hostname = self
            .flags
            .hostname
            .clone()
            .unwrap_or_else(|| me.ip().to_string());
        self.state.info.hostname = Some(hostname.clone());
        self.state.info.address = Some(v1::Address {
            hostname: Some(hostname),
            ip: Some(me.ip().to_string()),
            port: i32::from(me.port()),
        });
        self.schedule_ping_sweep(ctx);
        self.start_allocator(ctx);
        self.schedule_registry_gc(ctx);
        self.refresh_metrics(ctx);
        if !self.state.agents.recovered.is_empty() {
            let timeout = self.flags.agent_reregister_timeout;
            ctx.delay(timeout, |m: &mut Master, ctx| m.reregister_timeout(ctx));
        }
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        self.allocator.stop();
    }

    fn exited(&mut self, ctx: &mut Context<Self>, pid: &Upid) {
        if let Some(agent_id) = self.agents_by_pid.get(pid.as_str()).cloned() {
            self.agent_disconnected(ctx, &agent_id);
        }
    }
}

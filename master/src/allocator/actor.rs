//! The allocator actor: a libprocess process (`hierarchical-allocator(N)`) that owns a
//! [`HierarchicalAllocator`], runs a cycle every `--allocation_interval` and soon after
//! events, hands each cycle's allocations to a sink (the master), and keeps Mesos's
//! `allocator/mesos/...` metrics in the runtime's registry.
//!
//! ```text
//!  master ── AllocatorHandle::add_agent / recover_resources / revive_offers / ... ──▶
//!            (one dispatch per call, in call order)
//!  hierarchical-allocator(N)
//!     ├─ applies the call to the HierarchicalAllocator
//!     ├─ events that can make offers possible mark candidates (one agent, or all) and
//!     │  dispatch ONE pending cycle behind whatever is already queued: a burst of events
//!     │  becomes one cycle, as in Mesos's `allocate()` / `_allocate()`
//!     ├─ Clock timer: every --allocation_interval (counted from the end of the previous
//!     │  batch cycle) a cycle over all agents
//!     └─ after a cycle: sink(CycleReport { allocations, snapshot })  ──▶ master
//! ```
//! Calls made before [`AllocatorHandle::start`] apply synchronously (the master recovers
//! weights and quota that way before it runs).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{
    Context, Counter, DispatchError, Handlers, Pid, Process, Runtime, SpawnError, Time, Timer, Upid,
};
use mesos_protos::resources::{ResourceLimits, ResourceQuantities, Resources};

use super::roles::Quota;
use super::{
    AgentConfig, Allocation, AllocatorError, AllocatorMetrics, FrameworkConfig,
    HierarchicalAllocator, NoOfferReason, Operation,
};

/// Prefix of the actor's process id (`hierarchical-allocator(1)`, as in Mesos).
pub const ALLOCATOR_ID_PREFIX: &str = "hierarchical-allocator";

/// After a master failover with quota, offers wait at most this long for agents to
/// re-register (Mesos's allocation hold-off on recovery).
pub const RECOVERY_HOLD_OFF: Duration = Duration::from_secs(10 * 60);

/// Share of the previously known agents that ends the recovery hold-off early.
pub const RECOVERY_AGENT_FACTOR: f64 = 0.8;

/// What the allocator knows after a cycle, pushed to the master for synchronous queries
/// (GET_ROLES, `/roles`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllocatorSnapshot {
    /// Allocation passes run so far.
    pub runs: u64,
    /// (framework, role, reason) for every pair that got nothing in the last cycle.
    pub reasons: Vec<(String, String, NoOfferReason)>,
    /// Figures of the last batch cycle (shares, quota consumption, totals).
    pub metrics: AllocatorMetrics,
}

impl AllocatorSnapshot {
    /// The reason `framework_id` got nothing for `role`, if it got nothing.
    pub fn reason(&self, framework_id: &str, role: &str) -> Option<NoOfferReason> {
        self.reasons
            .iter()
            .find(|(f, r, _)| f == framework_id && r == role)
            .map(|(_, _, why)| *why)
    }
}

/// One cycle's output.
#[derive(Clone, Debug)]
pub struct CycleReport {
    /// Resources to offer.
    pub allocations: Vec<Allocation>,
    /// The allocator's view after the cycle.
    pub snapshot: Arc<AllocatorSnapshot>,
}

/// Receives every cycle's report (the master turns it into offers).
pub type CycleSink = Arc<dyn Fn(CycleReport) + Send + Sync>;

/// How the actor runs.
#[derive(Clone)]
pub struct ActorConfig {
    /// `--allocation_interval`.
    pub interval: Duration,
    /// Where reports go.
    pub sink: CycleSink,
    /// A process whose termination stops the allocator (the master).
    pub owner: Option<Upid>,
}

impl std::fmt::Debug for ActorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorConfig")
            .field("interval", &self.interval)
            .field("owner", &self.owner)
            .finish()
    }
}

/// Which agents the next cycle looks at.
#[derive(Debug, Default)]
enum Candidates {
    #[default]
    None,
    Agents(BTreeSet<String>),
    All,
}

/// What an event asks of the next cycle.
#[derive(Debug, Clone)]
enum Trigger {
    Nothing,
    Agent(String),
    All,
}

/// The actor itself.
pub struct AllocatorProcess {
    allocator: HierarchicalAllocator,
    config: ActorConfig,
    candidates: Candidates,
    pending: bool,
    requested_at: Time,
    batch_due: bool,
    queued: Arc<AtomicI64>,
    published_runs: u64,
    published: BTreeSet<String>,
    runs: Option<Counter>,
    run_ms: Option<Timer>,
    latency_ms: Option<Timer>,
    metrics: AllocatorMetrics,
    /// Agents to wait for before offering after a failover with quota.
    expected_agents: Option<usize>,
}

impl std::fmt::Debug for AllocatorProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllocatorProcess")
            .field("config", &self.config)
            .field("runs", &self.allocator.allocation_runs())
            .finish()
    }
}

impl AllocatorProcess {
    /// Ends the recovery hold-off once enough agents are back.
    fn check_recovery(&mut self, ctx: &mut Context<Self>) {
        if let Some(n) = self.expected_agents {
            if self.allocator.agent_index.len() >= n {
                self.end_recovery(ctx);
            }
        }
    }

    fn end_recovery(&mut self, ctx: &mut Context<Self>) {
        if self.expected_agents.take().is_some() {
            tracing::info!("allocator recovery complete; offers resume");
            self.allocator.resume();
            self.request(ctx, Trigger::All);
        }
    }

    fn schedule_batch(&mut self, ctx: &mut Context<Self>) {
        ctx.delay(self.config.interval, |p: &mut AllocatorProcess, ctx| {
            p.batch_due = true;
            p.candidates = Candidates::All;
            p.ensure_pending(ctx);
        });
    }

    fn request(&mut self, ctx: &mut Context<Self>, trigger: Trigger) {
        match trigger {
            Trigger::Nothing => return,
            Trigger::All => self.candidates = Candidates::All,
            Trigger::Agent(id) => match &mut self.candidates {
                Candidates::All => {}
                Candidates::Agents(set) => {
                    set.insert(id);
                }
                c @ Candidates::None => *c = Candidates::Agents(BTreeSet::from([id])),
            },
        }
        self.ensure_pending(ctx);
    }

    /// Queues one cycle behind the events already in the mailbox, unless one is queued.
    fn ensure_pending(&mut self, ctx: &mut Context<Self>) {
        if self.pending {
            return;
        }
        self.pending = true;
        self.requested_at = ctx.clock().now();
        self.queued.fetch_add(1, Ordering::SeqCst);
        let queued = self.queued.clone();
        ctx.pid()
            .dispatch_and_forget(move |p: &mut AllocatorProcess, ctx| {
                queued.fetch_sub(1, Ordering::SeqCst);
                p.run(ctx);
            });
    }

    fn run(&mut self, ctx: &mut Context<Self>) {
        self.pending = false;
        let start = ctx.clock().now();
        if let Some(t) = &self.latency_ms {
            t.record(start.saturating_since(self.requested_at));
        }
        let now = Duration::from_nanos(start.as_nanos());
        let full = matches!(self.candidates, Candidates::All);
        let allocations = match std::mem::take(&mut self.candidates) {
            Candidates::All => self.allocator.allocate(now),
            Candidates::Agents(set) => {
                let ids: Vec<String> = set.into_iter().collect();
                self.allocator.allocate_agents(now, &ids)
            }
            Candidates::None => Vec::new(),
        };
        let took = ctx.clock().now().saturating_since(start);
        let runs = self.allocator.allocation_runs();
        if runs > self.published_runs {
            self.allocator.record_run_duration(took);
            if let Some(t) = &self.run_ms {
                t.record(took);
            }
            if let Some(c) = &self.runs {
                c.add(runs - self.published_runs);
            }
            self.published_runs = runs;
            // Gauges are refreshed once per batch cycle, not after every event-driven
            // pass (a burst of agent registrations would otherwise redo them each time).
            if full {
                self.metrics = self.allocator.metrics(now);
                self.publish_metrics(ctx);
            }
            let snapshot = Arc::new(AllocatorSnapshot {
                runs,
                reasons: self.allocator.no_offer_reasons(),
                metrics: self.metrics.clone(),
            });
            (self.config.sink)(CycleReport {
                allocations,
                snapshot,
            });
        }
        if self.batch_due {
            self.batch_due = false;
            self.schedule_batch(ctx);
        }
    }

    fn publish_metrics(&mut self, ctx: &mut Context<Self>) {
        let registry = ctx.metrics().clone();
        let mut now_published = BTreeSet::new();
        let mut set = |name: String, value: f64| {
            registry.gauge(&name).set(value);
            now_published.insert(name);
        };
        let m = &self.metrics;
        for (res, v) in &m.resources_total {
            set(format!("allocator/mesos/resources/{res}/total"), *v);
            let used = m
                .resources_offered_or_allocated
                .get(res)
                .copied()
                .unwrap_or(0.0);
            set(
                format!("allocator/mesos/resources/{res}/offered_or_allocated"),
                used,
            );
        }
        for (role, share) in &m.dominant_shares {
            set(
                format!("allocator/mesos/roles/{role}/shares/dominant"),
                *share,
            );
            let active = m.offer_filters_active.get(role).copied().unwrap_or(0);
            set(
                format!("allocator/mesos/offer_filters/roles/{role}/active"),
                active as f64,
            );
        }
        for (role, n) in &m.offer_filters_active {
            set(
                format!("allocator/mesos/offer_filters/roles/{role}/active"),
                *n as f64,
            );
        }
        for (role, q) in &m.quota {
            let base = format!("allocator/mesos/quota/roles/{role}/resources");
            for (res, v) in &q.guarantee {
                set(format!("{base}/{res}/guarantee"), *v);
            }
            for (res, v) in &q.limit {
                set(format!("{base}/{res}/limit"), *v);
            }
            let names: BTreeSet<&String> = q.guarantee.keys().chain(q.limit.keys()).collect();
            for res in names {
                let v = q.offered_or_allocated.get(res).copied().unwrap_or(0.0);
                set(format!("{base}/{res}/offered_or_allocated"), v);
            }
        }
        for gone in self.published.difference(&now_published) {
            registry.remove(gone);
        }
        self.published = now_published;
    }
}

impl Process for AllocatorProcess {
    fn handlers(_h: &mut Handlers<Self>) {}

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let registry = ctx.metrics().clone();
        self.runs = Some(registry.counter("allocator/mesos/allocation_runs"));
        self.run_ms = Some(registry.timer("allocator/mesos/allocation_run_ms"));
        self.latency_ms = Some(registry.timer("allocator/mesos/allocation_run_latency_ms"));
        for name in [
            "allocator/mesos/event_queue_dispatches",
            "allocator/event_queue_dispatches",
        ] {
            let queued = self.queued.clone();
            registry.gauge_fn(name, move || queued.load(Ordering::SeqCst).max(0) as f64);
        }
        if let Some(owner) = &self.config.owner {
            ctx.link(owner);
        }
        self.requested_at = ctx.clock().now();
        if self.expected_agents.is_some() {
            self.allocator.pause();
            ctx.delay(RECOVERY_HOLD_OFF, |p: &mut AllocatorProcess, ctx| {
                p.end_recovery(ctx)
            });
        }
        self.schedule_batch(ctx);
    }

    fn exited(&mut self, ctx: &mut Context<Self>, pid: &Upid) {
        if self.config.owner.as_ref() == Some(pid) {
            ctx.terminate();
        }
    }
}

enum HandleState {
    Local(Box<HierarchicalAllocator>),
    Running(Pid<AllocatorProcess>),
    Moving,
}

/// The master's handle on the allocator: the same calls as [`HierarchicalAllocator`],
/// dispatched to the actor once it runs (before that, applied at once).
///
/// Once running, a call's `Result` only says whether it was dispatched; errors the
/// allocator finds are logged by the actor (Mesos's allocator calls return nothing).
pub struct AllocatorHandle {
    state: HandleState,
    queued: Arc<AtomicI64>,
    expected_agents: Option<usize>,
}

impl std::fmt::Debug for AllocatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match &self.state {
            HandleState::Local(_) => "local".to_string(),
            HandleState::Running(p) => p.upid().to_string(),
            HandleState::Moving => "moving".to_string(),
        };
        f.debug_struct("AllocatorHandle")
            .field("state", &s)
            .finish()
    }
}

type Job = Box<dyn FnOnce(&mut HierarchicalAllocator) -> Result<(), AllocatorError> + Send>;

/// A boxed answer from the allocator actor.
pub type AllocatorReply<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

impl AllocatorHandle {
    /// A handle over an allocator not yet running as an actor.
    pub fn new(allocator: HierarchicalAllocator) -> Self {
        AllocatorHandle {
            state: HandleState::Local(Box::new(allocator)),
            queued: Arc::new(AtomicI64::new(0)),
            expected_agents: None,
        }
    }

    /// Mesos's `recover`: after a failover with quota (`has_quota`), offers are held back
    /// until 80 % of the `known_agents` re-registered or [`RECOVERY_HOLD_OFF`] passed, so
    /// quota is not handed out against a half-known cluster. Call before [`start`].
    ///
    /// [`start`]: AllocatorHandle::start
    pub fn recover(&mut self, known_agents: usize, has_quota: bool) {
        let expected = (known_agents as f64 * RECOVERY_AGENT_FACTOR) as usize;
        self.expected_agents = (has_quota && expected > 0).then_some(expected);
    }

    /// Spawns the actor on `runtime` (id `hierarchical-allocator(N)`); a second call
    /// returns the running actor's UPID.
    pub fn start(&mut self, runtime: &Runtime, config: ActorConfig) -> Result<Upid, SpawnError> {
        match std::mem::replace(&mut self.state, HandleState::Moving) {
            HandleState::Local(allocator) => {
                let process = AllocatorProcess {
                    allocator: *allocator,
                    config,
                    candidates: Candidates::None,
                    pending: false,
                    requested_at: Time::EPOCH,
                    batch_due: false,
                    queued: self.queued.clone(),
                    published_runs: 0,
                    published: BTreeSet::new(),
                    runs: None,
                    run_ms: None,
                    latency_ms: None,
                    metrics: AllocatorMetrics::default(),
                    expected_agents: self.expected_agents.take(),
                };
                let id = runtime.generate_id(ALLOCATOR_ID_PREFIX);
                let pid = runtime.spawn(id, process)?;
                let upid = pid.upid().clone();
                self.state = HandleState::Running(pid);
                Ok(upid)
            }
            HandleState::Running(pid) => {
                let upid = pid.upid().clone();
                self.state = HandleState::Running(pid);
                Ok(upid)
            }
            HandleState::Moving => Err(SpawnError::BadId(ALLOCATOR_ID_PREFIX.to_string())),
        }
    }

    /// The actor's UPID once started.
    pub fn upid(&self) -> Option<&Upid> {
        match &self.state {
            HandleState::Running(p) => Some(p.upid()),
            _ => None,
        }
    }

    /// Stops the actor (if running).
    pub fn stop(&self) {
        if let HandleState::Running(p) = &self.state {
            p.terminate();
        }
    }

    /// Dispatches calls queued in the actor's mailbox and not yet handled.
    pub fn queued_dispatches(&self) -> i64 {
        self.queued.load(Ordering::SeqCst).max(0)
    }

    /// Reads the allocator (on the actor once running).
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&HierarchicalAllocator) -> R + Send + 'static,
    ) -> AllocatorReply<Result<R, DispatchError>> {
        match &self.state {
            HandleState::Local(a) => {
                let r = f(a);
                Box::pin(async move { Ok(r) })
            }
            HandleState::Running(p) => {
                let fut = p.dispatch(move |p: &mut AllocatorProcess, _| f(&p.allocator));
                Box::pin(fut)
            }
            HandleState::Moving => Box::pin(async { Err(DispatchError::Terminated) }),
        }
    }

    fn call(
        &mut self,
        what: &'static str,
        trigger: Trigger,
        job: Job,
    ) -> Result<(), AllocatorError> {
        match &mut self.state {
            HandleState::Local(a) => job(a),
            HandleState::Running(pid) => {
                self.queued.fetch_add(1, Ordering::SeqCst);
                let queued = self.queued.clone();
                let sent = pid.dispatch_and_forget(move |p: &mut AllocatorProcess, ctx| {
                    queued.fetch_sub(1, Ordering::SeqCst);
                    match job(&mut p.allocator) {
                        Ok(()) => {
                            p.check_recovery(ctx);
                            p.request(ctx, trigger);
                        }
                        Err(e) => {
                            tracing::debug!(call = what, error = %e, "allocator call refused")
                        }
                    }
                });
                if sent {
                    Ok(())
                } else {
                    self.queued.fetch_sub(1, Ordering::SeqCst);
                    Err(AllocatorError::InvalidOperation(format!(
                        "allocator process {} is gone ({what})",
                        pid.upid()
                    )))
                }
            }
            HandleState::Moving => Err(AllocatorError::InvalidOperation(format!(
                "allocator is starting ({what})"
            ))),
        }
    }

    /// See [`HierarchicalAllocator::add_framework`]; triggers a cycle over all agents.
    pub fn add_framework(
        &mut self,
        id: &str,
        config: &FrameworkConfig,
        used: &[(String, Resources)],
        active: bool,
    ) -> Result<(), AllocatorError> {
        let (id, config, used) = (id.to_string(), config.clone(), used.to_vec());
        self.call(
            "add_framework",
            Trigger::All,
            Box::new(move |a| a.add_framework(&id, &config, &used, active)),
        )
    }

    /// See [`HierarchicalAllocator::remove_framework`].
    pub fn remove_framework(&mut self, id: &str) -> Result<(), AllocatorError> {
        let id = id.to_string();
        self.call(
            "remove_framework",
            Trigger::Nothing,
            Box::new(move |a| a.remove_framework(&id)),
        )
    }

    /// See [`HierarchicalAllocator::activate_framework`]; triggers a cycle.
    pub fn activate_framework(&mut self, id: &str) -> Result<(), AllocatorError> {
        let id = id.to_string();
        self.call(
            "activate_framework",
            Trigger::All,
            Box::new(move |a| a.activate_framework(&id)),
        )
    }

    /// See [`HierarchicalAllocator::deactivate_framework`].
    pub fn deactivate_framework(&mut self, id: &str) -> Result<(), AllocatorError> {
        let id = id.to_string();
        self.call(
            "deactivate_framework",
            Trigger::Nothing,
            Box::new(move |a| a.deactivate_framework(&id)),
        )
    }

    /// See [`HierarchicalAllocator::update_framework`]; triggers a cycle (roles may have
    /// been added or unsuppressed).
    pub fn update_framework(
        &mut self,
        id: &str,
        config: &FrameworkConfig,
    ) -> Result<(), AllocatorError> {
        let (id, config) = (id.to_string(), config.clone());
        self.call(
            "update_framework",
            Trigger::All,
            Box::new(move |a| a.update_framework(&id, &config)),
        )
    }

    /// See [`HierarchicalAllocator::suppress_offers`].
    pub fn suppress_offers(&mut self, id: &str, roles: &[String]) -> Result<(), AllocatorError> {
        let (id, roles) = (id.to_string(), roles.to_vec());
        self.call(
            "suppress_offers",
            Trigger::Nothing,
            Box::new(move |a| a.suppress_offers(&id, &roles)),
        )
    }

    /// See [`HierarchicalAllocator::revive_offers`]; triggers a cycle.
    pub fn revive_offers(&mut self, id: &str, roles: &[String]) -> Result<(), AllocatorError> {
        let (id, roles) = (id.to_string(), roles.to_vec());
        self.call(
            "revive_offers",
            Trigger::All,
            Box::new(move |a| a.revive_offers(&id, &roles)),
        )
    }

    /// See [`HierarchicalAllocator::add_agent`]; triggers a cycle over that agent.
    pub fn add_agent(
        &mut self,
        id: &str,
        config: &AgentConfig,
        used: &[(String, Resources)],
    ) -> Result<(), AllocatorError> {
        let (id, config, used) = (id.to_string(), config.clone(), used.to_vec());
        let trigger = Trigger::Agent(id.clone());
        self.call(
            "add_agent",
            trigger,
            Box::new(move |a| a.add_agent(&id, &config, &used)),
        )
    }

    /// See [`HierarchicalAllocator::remove_agent`].
    pub fn remove_agent(&mut self, id: &str) -> Result<(), AllocatorError> {
        let id = id.to_string();
        self.call(
            "remove_agent",
            Trigger::Nothing,
            Box::new(move |a| a.remove_agent(&id)),
        )
    }

    /// See [`HierarchicalAllocator::update_agent`]; triggers a cycle over that agent.
    pub fn update_agent(&mut self, id: &str, config: &AgentConfig) -> Result<(), AllocatorError> {
        let (id, config) = (id.to_string(), config.clone());
        let trigger = Trigger::Agent(id.clone());
        self.call(
            "update_agent",
            trigger,
            Box::new(move |a| a.update_agent(&id, &config)),
        )
    }

    /// See [`HierarchicalAllocator::activate_agent`]; triggers a cycle over that agent.
    pub fn activate_agent(&mut self, id: &str) -> Result<(), AllocatorError> {
        let id = id.to_string();
        let trigger = Trigger::Agent(id.clone());
        self.call(
            "activate_agent",
            trigger,
            Box::new(move |a| a.activate_agent(&id)),
        )
    }

    /// See [`HierarchicalAllocator::deactivate_agent`].
    pub fn deactivate_agent(&mut self, id: &str) -> Result<(), AllocatorError> {
        let id = id.to_string();
        self.call(
            "deactivate_agent",
            Trigger::Nothing,
            Box::new(move |a| a.deactivate_agent(&id)),
        )
    }

    /// See [`HierarchicalAllocator::recover_resources`].
    pub fn recover_resources(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        resources: &Resources,
        refuse_seconds: Option<f64>,
        now: Duration,
    ) -> Result<(), AllocatorError> {
        let (fid, aid, res) = (
            framework_id.to_string(),
            agent_id.to_string(),
            resources.clone(),
        );
        self.call(
            "recover_resources",
            Trigger::Nothing,
            Box::new(move |a| a.recover_resources(&fid, &aid, &res, refuse_seconds, now)),
        )
    }

    /// See [`HierarchicalAllocator::update_allocation`] (Mesos's `updateAllocation`:
    /// fire and forget; a refusal is logged).
    pub fn update_allocation(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        operations: &[Operation],
    ) -> Result<(), AllocatorError> {
        let (fid, aid, ops) = (
            framework_id.to_string(),
            agent_id.to_string(),
            operations.to_vec(),
        );
        self.call(
            "update_allocation",
            Trigger::Nothing,
            Box::new(move |a| a.update_allocation(&fid, &aid, &ops)),
        )
    }

    /// See [`HierarchicalAllocator::update_available`]. As Mesos's `updateAvailable`, the
    /// answer is a future: it fails if the resources are no longer free.
    pub fn update_available(
        &mut self,
        agent_id: &str,
        operations: &[Operation],
    ) -> AllocatorReply<Result<(), AllocatorError>> {
        let (aid, ops) = (agent_id.to_string(), operations.to_vec());
        match &mut self.state {
            HandleState::Local(a) => {
                let r = a.update_available(&aid, &ops);
                Box::pin(async move { r })
            }
            HandleState::Running(pid) => {
                self.queued.fetch_add(1, Ordering::SeqCst);
                let queued = self.queued.clone();
                let fut = pid.dispatch(move |p: &mut AllocatorProcess, _ctx| {
                    queued.fetch_sub(1, Ordering::SeqCst);
                    p.allocator.update_available(&aid, &ops)
                });
                let queued = self.queued.clone();
                Box::pin(async move {
                    match fut.await {
                        Ok(r) => r,
                        Err(e) => {
                            queued.fetch_sub(1, Ordering::SeqCst);
                            Err(AllocatorError::InvalidOperation(format!(
                                "allocator process is gone: {e}"
                            )))
                        }
                    }
                })
            }
            HandleState::Moving => Box::pin(async {
                Err(AllocatorError::InvalidOperation(
                    "allocator is starting".into(),
                ))
            }),
        }
    }

    /// See [`HierarchicalAllocator::update_quota`] (1.9 form).
    pub fn update_quota(
        &mut self,
        role: &str,
        guarantees: &ResourceQuantities,
        limits: &ResourceLimits,
    ) -> Result<(), AllocatorError> {
        let (role, g, l) = (role.to_string(), guarantees.clone(), limits.clone());
        self.call(
            "update_quota",
            Trigger::Nothing,
            Box::new(move |a| a.update_quota(&role, &g, &l)),
        )
    }

    /// See [`HierarchicalAllocator::set_quota`].
    pub fn set_quota(&mut self, role: &str, quota: Quota) -> Result<(), AllocatorError> {
        let role = role.to_string();
        self.call(
            "set_quota",
            Trigger::Nothing,
            Box::new(move |a| {
                a.set_quota(&role, quota);
                Ok(())
            }),
        )
    }

    /// See [`HierarchicalAllocator::set_quota_guarantee`].
    pub fn set_quota_guarantee(
        &mut self,
        role: &str,
        guarantees: &str,
    ) -> Result<(), AllocatorError> {
        let (role, g) = (role.to_string(), guarantees.to_string());
        self.call(
            "set_quota_guarantee",
            Trigger::Nothing,
            Box::new(move |a| a.set_quota_guarantee(&role, &g)),
        )
    }

    /// See [`HierarchicalAllocator::remove_quota`].
    pub fn remove_quota(&mut self, role: &str) -> Result<(), AllocatorError> {
        let role = role.to_string();
        self.call(
            "remove_quota",
            Trigger::Nothing,
            Box::new(move |a| a.remove_quota(&role)),
        )
    }

    /// See [`HierarchicalAllocator::update_weights`].
    pub fn update_weights(&mut self, weights: &[(String, f64)]) -> Result<(), AllocatorError> {
        let weights = weights.to_vec();
        self.call(
            "update_weights",
            Trigger::Nothing,
            Box::new(move |a| a.update_weights(&weights)),
        )
    }

    /// See [`HierarchicalAllocator::pause`].
    pub fn pause(&mut self) -> Result<(), AllocatorError> {
        self.call(
            "pause",
            Trigger::Nothing,
            Box::new(|a| {
                a.pause();
                Ok(())
            }),
        )
    }

    /// See [`HierarchicalAllocator::resume`]; triggers a cycle.
    pub fn resume(&mut self) -> Result<(), AllocatorError> {
        self.call(
            "resume",
            Trigger::All,
            Box::new(|a| {
                a.resume();
                Ok(())
            }),
        )
    }
}

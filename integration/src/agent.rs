//! A simulated agent: a libprocess process that speaks the real internal agent protocol
//! to a master (register, re-register, pings, tasks, status updates, acknowledgements)
//! but starts no processes. Each task follows a [`TaskScript`] on the Clock.
//!
//! ```text
//!  master ── SlaveRegistered / Ping / RunTask / RunTaskGroup / KillTask / Ack ──▶ agent
//!  agent  ── Register / Reregister (back-off) / Pong / StatusUpdate (retried) ──▶ master
//! ```
//! Status updates travel in one stream per task: only the head is in flight, resent with
//! doubling back-off until acknowledged, then the next one goes (reference §6.4). Streams
//! pause while the agent is not registered and resume when it is again.

mod config;
mod operations;
mod updates;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{
    Context, DispatchError, Handlers, Pid, Process, Runtime, SpawnError, TimerId, Upid,
};
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::{Reason, Source};
use mesos_protos::v1::TaskState;
use parking_lot::Mutex;

pub use config::{AgentConfig, Step, TaskScript};
use updates::Stream;

/// The version string agents report.
pub const AGENT_VERSION: &str = "1.8.0";

/// Why a simulated agent could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The resources text does not parse.
    #[error("bad agent resources {text:?}: {reason}")]
    Resources {
        /// The text given.
        text: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The runtime refused the process.
    #[error("cannot spawn the simulated agent: {0}")]
    Spawn(#[from] SpawnError),
}

/// Counters and identity readable from any thread without touching the actor.
#[derive(Debug, Default)]
struct Shared {
    agent_id: Mutex<Option<String>>,
    registered: AtomicBool,
    answer_pings: AtomicBool,
    registrations: AtomicU64,
    reregistrations: AtomicU64,
    pings: AtomicU64,
    tasks_launched: AtomicU64,
    updates_sent: AtomicU64,
    acks: AtomicU64,
    kills: AtomicU64,
    framework_shutdowns: AtomicU64,
    operations_applied: AtomicU64,
    operation_updates_sent: AtomicU64,
    operation_acks: AtomicU64,
    shutdown: Mutex<Option<String>>,
}

/// A snapshot of what an agent has counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// SlaveRegisteredMessages received.
    pub registrations: u64,
    /// SlaveReregisteredMessages received.
    pub reregistrations: u64,
    /// Pings received.
    pub pings: u64,
    /// Tasks received (RunTask and each task of a RunTaskGroup).
    pub tasks_launched: u64,
    /// StatusUpdateMessages sent, retries included.
    pub updates_sent: u64,
    /// Acknowledgements that matched an update in flight.
    pub acks: u64,
    /// KillTaskMessages received.
    pub kills: u64,
    /// ShutdownFrameworkMessages received.
    pub framework_shutdowns: u64,
    /// ApplyOperationMessages applied (a re-sent one counts once).
    pub operations_applied: u64,
    /// UpdateOperationStatusMessages sent, retries included.
    pub operation_updates_sent: u64,
    /// AcknowledgeOperationStatusMessages that matched an update in flight.
    pub operation_acks: u64,
}

/// A task as the simulated agent knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// The framework.
    pub framework_id: String,
    /// The task.
    pub task_id: String,
    /// The latest state reported.
    pub state: TaskState,
    /// Updates not yet acknowledged.
    pub unacknowledged: usize,
}

/// One task: its `Task` record (reported on re-registration) and the epoch that cancels
/// its pending script steps once it is killed.
struct TaskEntry {
    task: v1::Task,
    epoch: u64,
}

type Key = (String, String);

/// The simulated agent process. Spawn it with [`SimulatedAgent::spawn`].
pub struct SimulatedAgent {
    config: AgentConfig,
    info: v1::AgentInfo,
    master: Option<Upid>,
    id: Option<String>,
    registered: bool,
    reg_epoch: u64,
    reg_backoff: Duration,
    total_ping_timeout: Duration,
    watchdog: Option<TimerId>,
    frameworks: HashMap<String, v1::FrameworkInfo>,
    executors: BTreeMap<Key, v1::ExecutorInfo>,
    tasks: BTreeMap<Key, TaskEntry>,
    streams: HashMap<Key, Stream>,
    next_epoch: u64,
    rng: u64,
    shared: Arc<Shared>,
    ops: operations::OperationsState,
}

/// A handle to a running simulated agent; cheap to clone.
#[derive(Clone)]
pub struct AgentHandle {
    pid: Pid<SimulatedAgent>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHandle")
            .field("pid", self.pid.upid())
            .field("agent_id", &*self.shared.agent_id.lock())
            .finish()
    }
}

impl SimulatedAgent {
    /// Builds an agent that will register with `master`.
    pub fn new(config: AgentConfig, master: Upid) -> Result<Self, AgentError> {
        let resources =
            mesos_protos::resources::from_string(&config.resources, "*").map_err(|e| {
                AgentError::Resources {
                    text: config.resources.clone(),
                    reason: e.to_string(),
                }
            })?;
        let ops = operations::OperationsState::new(mesos_protos::resources::Resources::from(
            resources.as_slice(),
        ));
        let info = v1::AgentInfo {
            hostname: config.hostname.clone(),
            resources,
            port: Some(5051),
            ..Default::default()
        };
        let shared = Arc::new(Shared::default());
        shared.answer_pings.store(true, Ordering::SeqCst);
        Ok(SimulatedAgent {
            config,
            info,
            master: Some(master),
            id: None,
            registered: false,
            reg_epoch: 0,
            reg_backoff: Duration::ZERO,
            total_ping_timeout: Duration::from_secs(75),
            watchdog: None,
            frameworks: HashMap::new(),
            executors: BTreeMap::new(),
            tasks: BTreeMap::new(),
            streams: HashMap::new(),
            next_epoch: 0,
            rng: 0,
            shared,
            ops,
        })
    }

    /// Spawns the agent as process `id` (e.g. `slave(1)`) on `runtime`.
    pub fn spawn(
        runtime: &Runtime,
        id: &str,
        config: AgentConfig,
        master: Upid,
    ) -> Result<AgentHandle, AgentError> {
        let agent = SimulatedAgent::new(config, master)?;
        let shared = agent.shared.clone();
        let pid = runtime.spawn(id, agent)?;
        Ok(AgentHandle { pid, shared })
    }

    /// Seeds the registration jitter from the runtime seed and the process id, so a
    /// paused-clock run replays exactly.
    fn seed_rng(&mut self, ctx: &Context<Self>) {
        let mut h = ctx.runtime().seed() ^ 0x9e37_79b9_7f4a_7c15;
        for b in ctx.self_pid().id().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.rng = h | 1;
    }

    fn jitter(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        // xorshift64: plenty for spreading registrations.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let frac = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        max.mul_f64(frac)
    }

    /// Starts a fresh chain of (re-)registration attempts.
    fn start_registration(&mut self, ctx: &mut Context<Self>) {
        self.reg_epoch += 1;
        let epoch = self.reg_epoch;
        self.reg_backoff = self
            .config
            .registration_backoff_factor
            .max(Duration::from_secs(1));
        let first = self.jitter(self.config.registration_backoff_factor);
        if first.is_zero() {
            self.attempt_registration(ctx, epoch);
        } else {
            ctx.delay(first, move |a: &mut SimulatedAgent, ctx| {
                a.attempt_registration(ctx, epoch)
            });
        }
    }

    fn attempt_registration(&mut self, ctx: &mut Context<Self>, epoch: u64) {
        if epoch != self.reg_epoch || self.registered {
            return;
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        match &self.id {
            None => ctx.send(
                &master,
                internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some(AGENT_VERSION.into()),
                    checkpointed_resources: self.ops.checkpointed(),
                    agent_capabilities: operations::capabilities(),
                    resource_version_uuid: Some(self.ops.version()),
                },
            ),
            Some(id) => {
                let msg = self.reregister_message(id);
                ctx.send(&master, msg);
            }
        }
        let next = self.reg_backoff;
        self.reg_backoff = (next * 2).min(self.config.registration_backoff_max);
        ctx.delay(next, move |a: &mut SimulatedAgent, ctx| {
            a.attempt_registration(ctx, epoch)
        });
    }

    /// What the agent reports when it has an id: every task it knows, its frameworks and
    /// the executors of its task groups.
    fn reregister_message(&self, id: &str) -> internal::ReregisterSlaveMessage {
        let mut info = self.info.clone();
        info.id = Some(v1::AgentId { value: id.into() });
        let tasks: Vec<v1::Task> = self
            .tasks
            .iter()
            .map(|(key, entry)| {
                let mut t = entry.task.clone();
                t.agent_id = v1::AgentId { value: id.into() };
                if let Some(head) = self.streams.get(key).and_then(Stream::head) {
                    t.status_update_state = Some(head.status.state);
                    t.status_update_uuid = head.uuid.clone();
                }
                t
            })
            .collect();
        let mut fids: Vec<&String> = self.frameworks.keys().collect();
        fids.sort();
        internal::ReregisterSlaveMessage {
            slave: info,
            tasks,
            executor_infos: self.executors.values().cloned().collect(),
            frameworks: fids
                .into_iter()
                .map(|f| self.frameworks[f].clone())
                .collect(),
            version: Some(AGENT_VERSION.into()),
            checkpointed_resources: self.ops.checkpointed(),
            agent_capabilities: operations::capabilities(),
            resource_version_uuid: Some(self.ops.version()),
            ..Default::default()
        }
    }

    fn registered(
        &mut self,
        ctx: &mut Context<Self>,
        id: String,
        conn: Option<&internal::MasterSlaveConnection>,
    ) {
        self.id = Some(id.clone());
        *self.shared.agent_id.lock() = Some(id);
        self.registered = true;
        self.shared.registered.store(true, Ordering::SeqCst);
        self.reg_epoch += 1;
        if let Some(secs) = conn.and_then(|c| c.total_ping_timeout_seconds) {
            if secs.is_finite() && secs > 0.0 {
                self.total_ping_timeout = Duration::from_secs_f64(secs);
            }
        }
        self.arm_watchdog(ctx);
        self.resume_streams(ctx);
        self.operations_registered(ctx);
    }

    fn unregistered(&mut self) {
        self.registered = false;
        self.shared.registered.store(false, Ordering::SeqCst);
    }

    /// Each ping re-arms it; if it fires the master is presumed lost and the agent
    /// re-registers.
    fn arm_watchdog(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.watchdog.take() {
            ctx.cancel_timer(t);
        }
        let timeout = self.total_ping_timeout;
        self.watchdog = Some(ctx.delay(timeout, |a: &mut SimulatedAgent, ctx| {
            a.watchdog = None;
            tracing::info!(agent = %ctx.self_pid(), "no ping from the master; re-registering");
            a.unregistered();
            a.start_registration(ctx);
        }));
    }

    fn reconcile(&mut self, ctx: &mut Context<Self>, r: internal::ReconcileTasksMessage) {
        let fid = r.framework_id.value.clone();
        let aware = r
            .framework
            .as_ref()
            .or_else(|| self.frameworks.get(&fid))
            .is_some_and(partition_aware);
        for s in r.statuses {
            let key = (fid.clone(), s.task_id.value.clone());
            if self.tasks.contains_key(&key) {
                continue;
            }
            let state = if aware {
                TaskState::TaskDropped
            } else {
                TaskState::TaskLost
            };
            let status = self.status(
                ctx,
                &s.task_id,
                None,
                state,
                Some(Reason::Reconciliation),
                Some("task is unknown to the agent".into()),
                Source::Agent,
            );
            self.enqueue(ctx, &fid, None, status);
        }
    }

    fn run_task(
        &mut self,
        ctx: &mut Context<Self>,
        framework: v1::FrameworkInfo,
        task: v1::TaskInfo,
        executor: Option<v1::ExecutorId>,
    ) {
        let fid = framework.id.clone().unwrap_or_default().value;
        self.frameworks.insert(fid.clone(), framework.clone());
        self.shared.tasks_launched.fetch_add(1, Ordering::Relaxed);
        let executor_id =
            executor.or_else(|| task.executor.as_ref().map(|e| e.executor_id.clone()));
        let key = (fid.clone(), task.task_id.value.clone());
        self.next_epoch += 1;
        let epoch = self.next_epoch;
        let record = v1::Task {
            name: task.name,
            task_id: task.task_id,
            framework_id: v1::FrameworkId { value: fid },
            executor_id,
            agent_id: task.agent_id,
            state: TaskState::TaskStaging as i32,
            resources: task.resources,
            labels: task.labels,
            discovery: task.discovery,
            container: task.container,
            user: framework.user.clone().into(),
            ..Default::default()
        };
        self.tasks.insert(
            key.clone(),
            TaskEntry {
                task: record,
                epoch,
            },
        );
        self.run_step(ctx, key, epoch, 0);
    }

    fn is_live(&self, key: &Key, epoch: u64) -> bool {
        self.tasks
            .get(key)
            .is_some_and(|e| e.epoch == epoch && !is_terminal(task_state(e.task.state)))
    }

    /// Reports the script's steps from `i` on while they are due at once, then arms a
    /// timer for the first one that is not (the epoch check cancels it after a kill).
    fn run_step(&mut self, ctx: &mut Context<Self>, key: Key, epoch: u64, mut i: usize) {
        while let Some(step) = self.config.script.steps.get(i) {
            if !self.is_live(&key, epoch) {
                return;
            }
            if !step.after.is_zero() {
                ctx.delay(step.after, move |a: &mut SimulatedAgent, ctx| {
                    a.fire_step(ctx, key, epoch, i)
                });
                return;
            }
            let step = step.clone();
            self.report(
                ctx,
                &key,
                step.state,
                step.reason,
                step.message,
                Source::Executor,
            );
            i += 1;
        }
    }

    fn fire_step(&mut self, ctx: &mut Context<Self>, key: Key, epoch: u64, i: usize) {
        let Some(step) = self.config.script.steps.get(i).cloned() else {
            return;
        };
        if !self.is_live(&key, epoch) {
            return;
        }
        self.report(
            ctx,
            &key,
            step.state,
            step.reason,
            step.message,
            Source::Executor,
        );
        self.run_step(ctx, key, epoch, i + 1);
    }

    /// Moves a known task to `state` and queues the update.
    fn report(
        &mut self,
        ctx: &mut Context<Self>,
        key: &Key,
        state: TaskState,
        reason: Option<Reason>,
        message: Option<String>,
        source: Source,
    ) {
        let Some(entry) = self.tasks.get(key) else {
            return;
        };
        let task_id = entry.task.task_id.clone();
        let executor_id = entry.task.executor_id.clone();
        let status = self.status(
            ctx,
            &task_id,
            executor_id.clone(),
            state,
            reason,
            message,
            source,
        );
        if let Some(entry) = self.tasks.get_mut(key) {
            entry.task.state = state as i32;
            entry.task.statuses = vec![status.clone()];
        }
        self.enqueue(ctx, &key.0, executor_id, status);
    }

    #[allow(clippy::too_many_arguments)]
    fn status(
        &self,
        ctx: &Context<Self>,
        task_id: &v1::TaskId,
        executor_id: Option<v1::ExecutorId>,
        state: TaskState,
        reason: Option<Reason>,
        message: Option<String>,
        source: Source,
    ) -> v1::TaskStatus {
        v1::TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            message,
            agent_id: self.id.clone().map(|value| v1::AgentId { value }),
            timestamp: Some(ctx.clock().now().as_secs_f64()),
            executor_id,
            source: Some(source as i32),
            reason: reason.map(|r| r as i32),
            uuid: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
            ..Default::default()
        }
    }

    fn kill_task(&mut self, ctx: &mut Context<Self>, key: &Key, reason: Option<Reason>) {
        let live = self
            .tasks
            .get(key)
            .is_some_and(|e| !is_terminal(task_state(e.task.state)));
        if !live {
            return;
        }
        self.next_epoch += 1;
        if let Some(e) = self.tasks.get_mut(key) {
            e.epoch = self.next_epoch;
        }
        self.report(
            ctx,
            key,
            TaskState::TaskKilled,
            reason,
            None,
            Source::Executor,
        );
    }

    fn shutdown_framework(&mut self, fid: &str) {
        self.tasks.retain(|(f, _), _| f != fid);
        self.streams.retain(|(f, _), _| f != fid);
        self.executors.retain(|(f, _), _| f != fid);
        self.frameworks.remove(fid);
    }

    fn views(&self) -> Vec<TaskView> {
        self.tasks
            .iter()
            .map(|(key, e)| TaskView {
                framework_id: key.0.clone(),
                task_id: key.1.clone(),
                state: task_state(e.task.state),
                unacknowledged: self.streams.get(key).map_or(0, Stream::len),
            })
            .collect()
    }
}

fn partition_aware(info: &v1::FrameworkInfo) -> bool {
    use v1::framework_info::capability::Type;
    info.capabilities
        .iter()
        .any(|c| c.r#type == Some(Type::PartitionAware as i32))
}

fn task_state(n: i32) -> TaskState {
    TaskState::try_from(n).unwrap_or(TaskState::TaskUnknown)
}

/// Whether no later state follows `state`.
pub fn is_terminal(state: TaskState) -> bool {
    mesos_master::status::is_terminal(state)
}

impl Process for SimulatedAgent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::SlaveRegisteredMessage>(|a, ctx, _from, m| {
            if a.registered {
                return;
            }
            a.shared.registrations.fetch_add(1, Ordering::Relaxed);
            a.registered(ctx, m.slave_id.value, m.connection.as_ref());
        });
        h.on::<internal::SlaveReregisteredMessage>(|a, ctx, _from, m| {
            if a.registered {
                // A reply to an attempt that crossed an earlier reply.
                return;
            }
            a.shared.reregistrations.fetch_add(1, Ordering::Relaxed);
            a.registered(ctx, m.slave_id.value, m.connection.as_ref());
            for r in m.reconciliations {
                a.reconcile(ctx, r);
            }
        });
        h.on::<internal::PingSlaveMessage>(|a, ctx, from, m| {
            a.shared.pings.fetch_add(1, Ordering::Relaxed);
            if a.registered {
                // A ping proves the master is there, answered or not.
                a.arm_watchdog(ctx);
            }
            if !a.shared.answer_pings.load(Ordering::SeqCst) {
                return;
            }
            ctx.send(from, internal::PongSlaveMessage {});
            if a.registered && !m.connected {
                // The master lost track of us (e.g. it failed over): re-register.
                a.unregistered();
                a.start_registration(ctx);
            }
        });
        h.on::<internal::RunTaskMessage>(|a, ctx, _from, m| {
            a.run_task(ctx, m.framework, m.task, None);
        });
        h.on::<internal::RunTaskGroupMessage>(|a, ctx, _from, m| {
            let fid = m.framework.id.clone().unwrap_or_default().value;
            let eid = m.executor.executor_id.clone();
            a.executors.insert((fid, eid.value.clone()), m.executor);
            for t in m.task_group.tasks {
                a.run_task(ctx, m.framework.clone(), t, Some(eid.clone()));
            }
        });
        h.on::<internal::KillTaskMessage>(|a, ctx, _from, m| {
            a.shared.kills.fetch_add(1, Ordering::Relaxed);
            let key = (m.framework_id.value.clone(), m.task_id.value.clone());
            if a.tasks.contains_key(&key) {
                a.kill_task(ctx, &key, None);
                return;
            }
            let aware = a.frameworks.get(&key.0).is_some_and(partition_aware);
            let state = if aware {
                TaskState::TaskDropped
            } else {
                TaskState::TaskLost
            };
            let status = a.status(
                ctx,
                &m.task_id,
                None,
                state,
                Some(Reason::TaskUnknown),
                Some("cannot kill a task the agent does not know".into()),
                Source::Agent,
            );
            a.enqueue(ctx, &key.0, None, status);
        });
        h.on::<internal::ShutdownExecutorMessage>(|a, ctx, _from, m| {
            let fid = m.framework_id.map(|f| f.value).unwrap_or_default();
            let eid = m.executor_id.map(|e| e.value).unwrap_or_default();
            let keys: Vec<Key> = a
                .tasks
                .iter()
                .filter(|(k, e)| {
                    k.0 == fid && e.task.executor_id.as_ref().is_some_and(|x| x.value == eid)
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                a.kill_task(ctx, &k, Some(Reason::ExecutorTerminated));
            }
            a.executors.remove(&(fid, eid));
        });
        h.on::<internal::ShutdownFrameworkMessage>(|a, _ctx, _from, m| {
            a.shared.framework_shutdowns.fetch_add(1, Ordering::Relaxed);
            a.shutdown_framework(&m.framework_id.value);
        });
        h.on::<internal::UpdateFrameworkMessage>(|a, _ctx, _from, m| {
            if let Some(info) = m.framework_info {
                a.frameworks.insert(m.framework_id.value, info);
            }
        });
        h.on::<internal::StatusUpdateAcknowledgementMessage>(|a, ctx, _from, m| {
            a.acknowledged(ctx, m);
        });
        h.on::<internal::ShutdownMessage>(|a, ctx, _from, m| {
            tracing::info!(agent = %ctx.self_pid(), reason = ?m.message, "master asked the agent to shut down");
            *a.shared.shutdown.lock() = Some(m.message.unwrap_or_default());
            a.unregistered();
            ctx.terminate();
        });
        h.on::<internal::FrameworkToExecutorMessage>(|_a, _ctx, _from, _m| {});
        Self::operation_handlers(h);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.seed_rng(ctx);
        if let Some(m) = self.master.clone() {
            ctx.link(&m);
        }
        self.start_registration(ctx);
    }

    fn exited(&mut self, ctx: &mut Context<Self>, pid: &Upid) {
        if self.master.as_ref() != Some(pid) {
            return;
        }
        tracing::info!(agent = %ctx.self_pid(), master = %pid, "lost the master; retrying registration");
        self.unregistered();
        self.start_registration(ctx);
    }
}

impl AgentHandle {
    /// The agent's UPID.
    pub fn upid(&self) -> &Upid {
        self.pid.upid()
    }

    /// The id the master assigned, once registered.
    pub fn agent_id(&self) -> Option<String> {
        self.shared.agent_id.lock().clone()
    }

    /// Whether the agent is registered with a master right now.
    pub fn is_registered(&self) -> bool {
        self.shared.registered.load(Ordering::SeqCst)
    }

    /// Whether the agent answers pings (off simulates a partition from the master).
    pub fn answer_pings(&self, on: bool) {
        self.shared.answer_pings.store(on, Ordering::SeqCst);
    }

    /// The master's `ShutdownMessage` reason, if it told the agent to shut down.
    pub fn shutdown_reason(&self) -> Option<String> {
        self.shared.shutdown.lock().clone()
    }

    /// What the agent has counted so far.
    pub fn stats(&self) -> AgentStats {
        let s = &self.shared;
        AgentStats {
            registrations: s.registrations.load(Ordering::Relaxed),
            reregistrations: s.reregistrations.load(Ordering::Relaxed),
            pings: s.pings.load(Ordering::Relaxed),
            tasks_launched: s.tasks_launched.load(Ordering::Relaxed),
            updates_sent: s.updates_sent.load(Ordering::Relaxed),
            acks: s.acks.load(Ordering::Relaxed),
            kills: s.kills.load(Ordering::Relaxed),
            framework_shutdowns: s.framework_shutdowns.load(Ordering::Relaxed),
            operations_applied: s.operations_applied.load(Ordering::Relaxed),
            operation_updates_sent: s.operation_updates_sent.load(Ordering::Relaxed),
            operation_acks: s.operation_acks.load(Ordering::Relaxed),
        }
    }

    /// The agent's total resources (operations applied) and what it checkpoints.
    pub async fn resources(
        &self,
    ) -> Result<(mesos_protos::resources::Resources, Vec<v1::Resource>), DispatchError> {
        self.pid
            .dispatch(|a, _| (a.ops.total.clone(), a.ops.checkpointed()))
            .await
    }

    /// The tasks the agent knows, in (framework, task) order.
    pub async fn tasks(&self) -> Result<Vec<TaskView>, DispatchError> {
        self.pid.dispatch(|a, _| a.views()).await
    }

    /// [`AgentHandle::tasks`] for plain tests (empty if the agent is gone).
    pub fn tasks_blocking(&self) -> Vec<TaskView> {
        libprocess::block_on(self.tasks()).unwrap_or_default()
    }

    /// Tells the agent a (new) master leads at `master`, as a detector would: it links to
    /// it and re-registers (or registers, if it never got an id). Nothing happens if the
    /// agent is already registered with that pid.
    pub fn detected(&self, master: Upid) {
        self.pid.dispatch_and_forget(move |a, ctx| {
            if a.registered && a.master.as_ref() == Some(&master) {
                return;
            }
            if let Some(old) = a.master.replace(master.clone()) {
                ctx.unlink(&old);
            }
            ctx.link(&master);
            a.unregistered();
            a.start_registration(ctx);
        });
    }

    /// Stops the agent process (its runtime lives on).
    pub fn terminate(&self) {
        self.pid.terminate();
    }
}

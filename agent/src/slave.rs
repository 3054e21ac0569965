//! The agent actor (`slave(1)`): registration with the master, pings, and reliable
//! forwarding of status updates.
//!
//! ```text
//!            ┌──────── RegisterSlave / ReregisterSlave (back-off ≤ 1 min) ───────▶ master
//!  slave(1) ─┤◀─────── SlaveRegistered / SlaveReregistered ─────────────────────┘
//!            ├◀─ PingSlave (from slave-observer) ── PongSlave ─▶ (ping watchdog 75 s)
//!            └── StatusUpdateMessage (head of each task stream, retried) ─▶ master
//!                 ◀── StatusUpdateAcknowledgementMessage
//! ```
//!
//! Task launching, executors and the HTTP APIs build on this actor in later steps.

pub mod executor_api;
mod launch;
pub mod model;
mod operations;
mod recover;

use std::collections::BTreeMap;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Handlers, Process, TimerId, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::v1;

use crate::checkpoint::{self, CheckpointError};
use crate::containerizer::Containerizer;
use crate::flags::AgentFlags;
use crate::paths::{self, Layout};
use crate::status_update_manager::{AckOutcome, StatusUpdateManager, UpdateOutcome};

/// Longest wait between two registration attempts.
pub const REGISTER_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);
/// Ping watchdog used until the master says otherwise (15 s × 5).
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(75);
/// The version this agent reports.
pub const VERSION: &str = "1.8.0";

/// Errors starting the agent actor.
#[derive(Debug, thiserror::Error)]
pub enum SlaveError {
    /// `--master` is missing or unusable.
    #[error("invalid --master '{0}': {1}")]
    Master(String, String),
    /// A checkpoint could not be read or written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// Finds the master's UPID from `--master` (`host:port`, `master@host:port`, or
/// `file://<path>` holding either).
pub fn detect_master(text: &str) -> Result<Upid, SlaveError> {
    let err = |reason: &str| SlaveError::Master(text.to_string(), reason.to_string());
    let text = text.trim();
    let content;
    let spec = match text.strip_prefix("file://") {
        Some(path) => {
            content = std::fs::read_to_string(path).map_err(|e| err(&e.to_string()))?;
            content.trim()
        }
        None => text,
    };
    if spec.starts_with("zk://") {
        return Err(err("ZooKeeper detection is not supported yet"));
    }
    let (id, hostport) = match spec.split_once('@') {
        Some((id, hp)) => (id, hp),
        None => ("master", spec),
    };
    if id.is_empty() {
        return Err(err("empty process id"));
    }
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| err(&e.to_string()))?
        .next()
        .ok_or_else(|| err("host resolves to no address"))?;
    Ok(Upid::new(id, addr))
}

/// Where the agent is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveState {
    /// Not (or no longer) registered; registration attempts are running.
    Disconnected,
    /// Registered with the current master.
    Running,
}

/// The agent actor.
pub struct Slave {
    flags: AgentFlags,
    layout: Layout,
    info: v1::AgentInfo,
    master: Upid,
    state: SlaveState,
    registration_timer: Option<TimerId>,
    ping_timeout: Duration,
    ping_watchdog: Option<TimerId>,
    updates: StatusUpdateManager,
    update_timer: Option<TimerId>,
    rng: u64,
    containerizer: Arc<dyn Containerizer>,
    frameworks: BTreeMap<String, model::Framework>,
    agent_environment: BTreeMap<String, String>,
    /// Recovered executors may still subscribe again: registration waits (see `recover`).
    recovering: bool,
    http: crate::http::HttpState,
    ops: operations::OperationsState,
}

impl Slave {
    /// An agent with this configuration; `info` carries hostname, port, resources and
    /// attributes (see [`crate::resources`]). A checkpointed agent id is recovered from
    /// `--work_dir` when `--recover=reconnect` and the agent's description is unchanged.
    pub fn new(
        flags: AgentFlags,
        mut info: v1::AgentInfo,
        master: Upid,
        containerizer: Arc<dyn Containerizer>,
    ) -> Result<Slave, SlaveError> {
        let layout = Layout::new(&flags.work_dir, &flags.runtime_dir);
        info.id = None;
        // Both recovery modes need the old id: `cleanup` to find the executors it kills.
        if let Some(previous) = recover_agent_info(&layout)? {
            if same_agent(&previous, &info) {
                info.id = previous.id;
            } else {
                tracing::warn!(
                    "the agent's hostname, port, resources or attributes changed since it last ran; registering as a new agent"
                );
            }
        }
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        let ops = operations::OperationsState::new(&info);
        Ok(Slave {
            flags,
            layout,
            info,
            master,
            state: SlaveState::Disconnected,
            registration_timer: None,
            ping_timeout: DEFAULT_PING_TIMEOUT,
            ping_watchdog: None,
            updates: StatusUpdateManager::new(),
            update_timer: None,
            rng: seed,
            containerizer,
            frameworks: BTreeMap::new(),
            agent_environment: BTreeMap::new(),
            recovering: false,
            http: crate::http::HttpState::new(),
            ops,
        })
    }

    /// Sets the agent's own environment, which executors inherit (the caller passes it
    /// explicitly so that tests never depend on the process environment).
    pub fn with_environment(mut self, env: BTreeMap<String, String>) -> Slave {
        self.agent_environment = env;
        self
    }

    /// The frameworks with work on this agent.
    pub fn frameworks(&self) -> &BTreeMap<String, model::Framework> {
        &self.frameworks
    }

    /// The agent's description as last sent to (or assigned by) the master.
    pub fn info(&self) -> &v1::AgentInfo {
        &self.info
    }

    /// Registered or not.
    pub fn state(&self) -> SlaveState {
        self.state
    }

    /// What the HTTP endpoints read (and the HTTP surface's own state).
    pub(crate) fn http_view(&mut self) -> crate::http::AgentView<'_> {
        crate::http::AgentView {
            flags: &self.flags,
            info: &self.info,
            total_resources: self.ops.total(),
            master: &self.master,
            registered: self.state == SlaveState::Running,
            frameworks: &self.frameworks,
            containerizer: &self.containerizer,
            capabilities: operations::agent_capabilities,
            http: &mut self.http,
        }
    }

    /// A uniformly random duration in `[0, max]` (registration jitter).
    fn jitter(&mut self, max: Duration) -> Duration {
        // xorshift64: cheap, and good enough to spread agents' retries.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let fraction = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        max.mul_f64(fraction)
    }

    pub(crate) fn agent_id(&self) -> Option<&str> {
        self.info
            .id
            .as_ref()
            .map(|i| i.value.as_str())
            .filter(|v| !v.is_empty())
    }

    fn start_registration(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.registration_timer.take() {
            ctx.cancel_timer(t);
        }
        let factor = self.flags.registration_backoff_factor;
        let first = self.jitter(factor);
        self.registration_timer = Some(ctx.delay(first, move |s, ctx| {
            s.registration_timer = None;
            s.register(ctx, factor);
        }));
    }

    /// One registration attempt, then the next after a random delay in `[0, 2 × backoff]`
    /// (capped at one minute), until the master answers.
    fn register(&mut self, ctx: &mut Context<Self>, backoff: Duration) {
        if self.state == SlaveState::Running {
            return;
        }
        ctx.link(&self.master);
        let (checkpointed_resources, agent_capabilities, resource_version_uuid) =
            self.registration_resources();
        if self.agent_id().is_some() {
            let (tasks, executor_infos, frameworks) = self.reregistration_contents();
            ctx.send(
                &self.master,
                internal::ReregisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some(VERSION.to_string()),
                    tasks,
                    executor_infos,
                    frameworks,
                    checkpointed_resources,
                    agent_capabilities,
                    resource_version_uuid,
                    ..Default::default()
                },
            );
        } else {
            ctx.send(
                &self.master,
                internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some(VERSION.to_string()),
                    checkpointed_resources,
                    agent_capabilities,
                    resource_version_uuid,
                },
            );
        }
        let next = (backoff * 2).min(REGISTER_RETRY_INTERVAL_MAX);
        let wait = self.jitter(next);
        self.registration_timer = Some(ctx.delay(wait, move |s, ctx| {
            s.registration_timer = None;
            s.register(ctx, next);
        }));
    }

    fn registered(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        id: v1::AgentId,
        connection: Option<internal::MasterSlaveConnection>,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring a registration answer from {from}, not the master");
            return;
        }
        if let Some(known) = self.agent_id() {
            if known != id.value {
                tracing::error!(
                    "the master re-registered us as {} but we are {known}; ignoring",
                    id.value
                );
                return;
            }
        }
        if let Err(e) = paths::check_id("agent", &id.value) {
            tracing::error!("the master assigned an unusable id: {e}");
            return;
        }
        self.info.id = Some(id.clone());
        if let Err(e) = self.checkpoint_info(&id.value) {
            // Without the checkpoint a restart would register as a new agent; keep
            // running (as Mesos aborts here we at least say so loudly).
            tracing::error!("failed to checkpoint the agent info: {e}");
        }
        if let Some(t) = self.registration_timer.take() {
            ctx.cancel_timer(t);
        }
        self.state = SlaveState::Running;
        if let Some(secs) = connection
            .and_then(|c| c.total_ping_timeout_seconds)
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            self.ping_timeout = Duration::from_secs_f64(secs);
        }
        self.arm_ping_watchdog(ctx);
        tracing::info!(agent = %id.value, "registered with master {}", self.master);
        let now = ctx.clock().now();
        let resend = self.updates.resume(now);
        self.forward_all(ctx, resend);
        self.operations_registered(ctx);
    }

    fn checkpoint_info(&self, id: &str) -> Result<(), SlaveError> {
        let file = self
            .layout
            .agent_info_file(id)
            .map_err(|e| SlaveError::Master(id.into(), e.to_string()))?;
        checkpoint::write_message(&file, &self.info)?;
        paths::set_latest_symlink(&self.layout.meta_agents_dir(), id).map_err(|source| {
            CheckpointError::Io {
                path: self.layout.latest_agent_link(),
                source,
            }
        })?;
        Ok(())
    }

    fn arm_ping_watchdog(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.ping_watchdog.take() {
            ctx.cancel_timer(t);
        }
        self.ping_watchdog = Some(ctx.delay(self.ping_timeout, |s, ctx| {
            s.ping_watchdog = None;
            tracing::warn!(
                "no ping from the master for {:?}; re-registering",
                s.ping_timeout
            );
            s.disconnected(ctx);
        }));
    }

    /// Lost the master: stop sending updates and register again.
    fn disconnected(&mut self, ctx: &mut Context<Self>) {
        self.state = SlaveState::Disconnected;
        self.updates.pause();
        self.operations_disconnected(ctx);
        if let Some(t) = self.update_timer.take() {
            ctx.cancel_timer(t);
        }
        if let Some(t) = self.ping_watchdog.take() {
            ctx.cancel_timer(t);
        }
        ctx.link_reconnect(&self.master);
        self.start_registration(ctx);
    }

    /// Takes a status update (from an executor or the agent itself) into its task's
    /// stream; checkpointed first when `checkpoint` names the stream's log file.
    pub fn status_update(
        &mut self,
        ctx: &mut Context<Self>,
        mut update: internal::StatusUpdate,
        checkpoint: Option<&std::path::Path>,
    ) -> Result<(), crate::status_update_manager::StatusUpdateError> {
        if update.slave_id.is_none() {
            update.slave_id = self.info.id.clone();
        }
        let now = ctx.clock().now();
        let recorded = update.clone();
        let outcome = match self.updates.update(update, checkpoint, now) {
            Ok(o) => o,
            Err(e) => {
                self.http.invalid_status_update();
                return Err(e);
            }
        };
        if matches!(outcome, UpdateOutcome::Accepted { .. }) {
            self.record_task_state(&recorded);
            self.http_view().status_update_accepted(&recorded);
        }
        match outcome {
            UpdateOutcome::Accepted {
                forward: Some(head),
            } => self.forward_all(ctx, vec![*head]),
            UpdateOutcome::Accepted { forward: None } | UpdateOutcome::Duplicate => {}
        }
        Ok(())
    }

    fn forward_all(&mut self, ctx: &mut Context<Self>, updates: Vec<internal::StatusUpdate>) {
        for update in updates {
            ctx.send(
                &self.master,
                internal::StatusUpdateMessage {
                    update,
                    pid: Some(ctx.self_pid().to_string()),
                },
            );
        }
        self.arm_update_timer(ctx);
    }

    fn arm_update_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.update_timer.take() {
            ctx.cancel_timer(t);
        }
        let Some(deadline) = self.updates.next_deadline() else {
            return;
        };
        let wait = deadline.saturating_since(ctx.clock().now());
        self.update_timer = Some(ctx.delay(wait, |s, ctx| {
            s.update_timer = None;
            let now = ctx.clock().now();
            let due = s.updates.timeouts(now);
            s.forward_all(ctx, due);
        }));
    }

    fn acknowledgement(
        &mut self,
        ctx: &mut Context<Self>,
        ack: internal::StatusUpdateAcknowledgementMessage,
    ) {
        let now = ctx.clock().now();
        match self
            .updates
            .acknowledge(&ack.framework_id.value, &ack.task_id.value, &ack.uuid, now)
        {
            Ok(AckOutcome::Acknowledged { next: Some(n), .. }) => self.forward_all(ctx, vec![*n]),
            Ok(_) => self.arm_update_timer(ctx),
            Err(e) => tracing::warn!("ignoring an acknowledgement: {e}"),
        }
    }

    /// The unacknowledged updates of a task (for tests and the state endpoints).
    pub fn pending_updates(&self, framework: &str, task: &str) -> Vec<internal::StatusUpdate> {
        self.updates.pending(framework, task)
    }
}

/// Reads the checkpointed description of the agent `meta/slaves/latest` points at.
pub fn recover_agent_info(layout: &Layout) -> Result<Option<v1::AgentInfo>, SlaveError> {
    let latest = paths::read_latest_symlink(&layout.meta_agents_dir()).map_err(|source| {
        CheckpointError::Io {
            path: layout.latest_agent_link(),
            source,
        }
    })?;
    let Some(id) = latest else {
        return Ok(None);
    };
    let Ok(file) = layout.agent_info_file(&id) else {
        return Ok(None);
    };
    Ok(checkpoint::read_message::<v1::AgentInfo>(&file)?)
}

/// Same machine description (Mesos's `equal` reconfiguration policy), ids aside.
fn same_agent(previous: &v1::AgentInfo, current: &v1::AgentInfo) -> bool {
    let strip = |i: &v1::AgentInfo| v1::AgentInfo {
        id: None,
        ..i.clone()
    };
    strip(previous) == strip(current)
}

impl Process for Slave {
    fn routes(r: &mut libprocess::Routes<Self>) {
        r.any("api/v1/executor", |s, ctx, req| s.executor_http(ctx, req));
        crate::http::routes(r);
    }

    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::SlaveRegisteredMessage>(|s, ctx, from, m| {
            s.registered(ctx, from, m.slave_id, m.connection);
        })
        .on::<internal::SlaveReregisteredMessage>(|s, ctx, from, m| {
            s.registered(ctx, from, m.slave_id, m.connection);
        })
        .on::<internal::PingSlaveMessage>(|s, ctx, from, m| {
            ctx.send(from, internal::PongSlaveMessage {});
            if s.state == SlaveState::Running {
                s.arm_ping_watchdog(ctx);
                if !m.connected {
                    tracing::warn!("the master thinks we are disconnected; re-registering");
                    s.disconnected(ctx);
                }
            }
        })
        .on::<internal::StatusUpdateAcknowledgementMessage>(|s, ctx, from, m| {
            if from != &s.master {
                tracing::warn!("ignoring an acknowledgement from {from}, not the master");
                return;
            }
            s.acknowledgement(ctx, m);
        })
        .on::<internal::RunTaskMessage>(|s, ctx, from, m| s.run_task(ctx, from, m))
        .on::<internal::RunTaskGroupMessage>(|s, ctx, from, m| s.run_task_group(ctx, from, m))
        .on::<internal::KillTaskMessage>(|s, ctx, from, m| s.kill_task(ctx, from, m))
        .on::<internal::ShutdownFrameworkMessage>(|s, ctx, from, m| {
            s.shutdown_framework(ctx, from, &m.framework_id.value);
        })
        .on::<internal::ShutdownExecutorMessage>(|s, ctx, from, m| {
            if from != &s.master {
                return;
            }
            if let (Some(f), Some(e)) = (m.framework_id, m.executor_id) {
                s.shutdown_executor(ctx, &f.value, &e.value);
            }
        })
        .on::<internal::ShutdownMessage>(|_, ctx, from, m| {
            tracing::warn!(
                "the master {from} asked us to shut down: {}",
                m.message.unwrap_or_default()
            );
            ctx.terminate();
        });
        Self::operation_handlers(h);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(
            "agent {} starting; master is {}",
            ctx.self_pid(),
            self.master
        );
        self.http.started(ctx.clock().now());
        self.recover(ctx);
        self.recover_operations(ctx);
        self.register_after_recovery(ctx);
    }

    fn exited(&mut self, ctx: &mut Context<Self>, pid: &Upid) {
        if pid == &self.master && self.state == SlaveState::Running {
            tracing::warn!("lost the connection to master {pid}");
            self.disconnected(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_detection() {
        let m = detect_master("127.0.0.1:5050").unwrap();
        assert_eq!(m.to_string(), "master@127.0.0.1:5050");
        let m = detect_master("master@127.0.0.1:6000").unwrap();
        assert_eq!(m.port(), 6000);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("master");
        std::fs::write(&file, "127.0.0.1:7000\n").unwrap();
        let m = detect_master(&format!("file://{}", file.display())).unwrap();
        assert_eq!(m.port(), 7000);
        for bad in [
            "zk://h:2181/mesos",
            "nohostport",
            "@1.2.3.4:5",
            "file:///no/such",
        ] {
            let e = detect_master(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn equal_reconfiguration_policy() {
        let a = v1::AgentInfo {
            hostname: "h".into(),
            id: Some(v1::AgentId { value: "x".into() }),
            ..Default::default()
        };
        let mut b = a.clone();
        b.id = None;
        assert!(same_agent(&a, &b));
        b.hostname = "other".into();
        assert!(!same_agent(&a, &b));
    }
}

//! The agent's side of operations on its default resources: `ApplyOperationMessage`,
//! `AcknowledgeOperationStatusMessage`, `ReconcileOperationsMessage`, the legacy
//! `CheckpointResourcesMessage`, what (re-)registration reports, recovery, and the
//! persistent volumes tasks use. See [`crate::operations`] for the delivery scheme.

use std::collections::BTreeMap;
use std::path::Path;

use libprocess::{Context, Handlers, TimerId, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use mesos_protos::v1;
use mesos_protos::v1::offer::operation::Type as OpType;
use mesos_protos::v1::OperationState;

use super::Slave;
use crate::operations::state::{self, ResourceState};
use crate::operations::{
    is_terminal_operation_state, new_uuid, uuid_text, OperationAck, OperationUpdateManager,
};
use crate::status_update_manager::is_terminal_state;
use crate::volumes::{self, VolumeMounts};

/// Operation and resource state of the agent (one field of [`Slave`]).
#[derive(Debug)]
pub struct OperationsState {
    /// `--resources` (plus detection): what the agent has before any operation.
    flag: Resources,
    /// The total: `flag` with reservations and volumes applied.
    total: Resources,
    /// The part of `total` that is checkpointed.
    checkpointed: Resources,
    /// Operations whose terminal status is not yet acknowledged, by operation uuid.
    operations: BTreeMap<Vec<u8>, v1::Operation>,
    updates: OperationUpdateManager,
    timer: Option<TimerId>,
    volumes: VolumeMounts,
    /// Version of the agent's default resources, reported to the master.
    resource_version: v1::Uuid,
    /// Operations were reported since the last (re-)registration: a duplicate answer to
    /// a retried registration reports nothing again (as Mesos, which only logs it).
    reported: bool,
}

impl OperationsState {
    /// The total: `--resources` with reservations and volumes applied.
    pub(crate) fn total(&self) -> &Resources {
        &self.total
    }

    /// The state of an agent with these `--resources`, before recovery.
    pub fn new(info: &v1::AgentInfo) -> OperationsState {
        let flag = state::from_wire(&info.resources).unwrap_or_else(|e| {
            tracing::error!("the agent's resources do not convert: {e}");
            Resources::from(info.resources.as_slice())
        });
        OperationsState {
            total: flag.clone(),
            flag,
            checkpointed: Resources::new(),
            operations: BTreeMap::new(),
            updates: OperationUpdateManager::new(),
            timer: None,
            volumes: VolumeMounts::new(),
            resource_version: new_uuid(),
            reported: false,
        }
    }
}

/// Capabilities this agent reports (Mesos 1.8's defaults).
pub fn agent_capabilities() -> Vec<v1::agent_info::Capability> {
    use v1::agent_info::capability::Type;
    [
        Type::MultiRole,
        Type::HierarchicalRole,
        Type::ReservationRefinement,
        Type::ResourceProvider,
        Type::ResizeVolume,
        Type::AgentOperationFeedback,
    ]
    .into_iter()
    .map(|t| v1::agent_info::Capability {
        r#type: Some(t as i32),
    })
    .collect()
}

fn status(
    state: OperationState,
    info: &v1::offer::Operation,
    agent: Option<&v1::AgentId>,
    message: Option<String>,
    uuid: Option<v1::Uuid>,
) -> v1::OperationStatus {
    v1::OperationStatus {
        operation_id: info.id.clone(),
        state: state as i32,
        message,
        converted_resources: Vec::new(),
        uuid,
        agent_id: agent.cloned(),
        resource_provider_id: None,
    }
}

impl Slave {
    /// Adds the operation handlers to the agent's table.
    pub(super) fn operation_handlers(h: &mut Handlers<Self>) {
        h.on::<internal::ApplyOperationMessage>(|s, ctx, from, m| s.apply_operation(ctx, from, m))
            .on::<internal::AcknowledgeOperationStatusMessage>(|s, ctx, from, m| {
                s.operation_acknowledgement(ctx, from, m)
            })
            .on::<internal::ReconcileOperationsMessage>(|s, ctx, from, m| {
                s.reconcile_operations(ctx, from, m)
            })
            .on::<internal::CheckpointResourcesMessage>(|s, ctx, from, m| {
                s.checkpoint_resources_message(ctx, from, m)
            });
    }

    /// The agent's total resources (reservations and volumes applied).
    pub fn total_resources(&self) -> Vec<v1::Resource> {
        self.ops.total.to_vec()
    }

    /// The checkpointed resources (what (re-)registration reports).
    pub fn checkpointed_resources(&self) -> Vec<v1::Resource> {
        self.ops.checkpointed.to_vec()
    }

    /// Operations not yet finished with (terminal status unacknowledged).
    pub fn operations(&self) -> Vec<v1::Operation> {
        self.ops.operations.values().cloned().collect()
    }

    /// The unacknowledged status updates of an operation.
    pub fn pending_operation_updates(
        &self,
        operation_uuid: &[u8],
    ) -> Vec<internal::UpdateOperationStatusMessage> {
        self.ops.updates.pending(operation_uuid)
    }

    /// The version of the agent's default resources it reports.
    pub fn resource_version(&self) -> &v1::Uuid {
        &self.ops.resource_version
    }

    /// The containers that have the volume at `path` in their sandbox.
    pub fn volume_users(&self, path: &Path) -> Vec<String> {
        self.ops.volumes.users(path)
    }

    /// What (re-)registration messages carry about resources: checkpointed resources,
    /// capabilities and the resource version.
    pub(super) fn registration_resources(
        &self,
    ) -> (
        Vec<v1::Resource>,
        Vec<v1::agent_info::Capability>,
        Option<v1::Uuid>,
    ) {
        (
            self.ops.checkpointed.to_vec(),
            agent_capabilities(),
            Some(self.ops.resource_version.clone()),
        )
    }

    /// (Re-)registered: report operations (`UpdateSlaveMessage`) and resume their updates.
    pub(super) fn operations_registered(&mut self, ctx: &mut Context<Self>) {
        let Some(agent_id) = self.info.id.clone() else {
            return;
        };
        if self.ops.reported {
            return;
        }
        self.ops.reported = true;
        ctx.send(
            &self.master,
            internal::UpdateSlaveMessage {
                slave_id: agent_id,
                oversubscribed_resources: Vec::new(),
                update_oversubscribed_resources: Some(false),
                operations: Some(internal::update_slave_message::Operations {
                    operations: self.operations(),
                }),
                resource_version_uuid: Some(self.ops.resource_version.clone()),
                resource_providers: None,
            },
        );
        let now = ctx.clock().now();
        let resend = self.ops.updates.resume(now);
        self.send_operation_updates(ctx, resend);
    }

    /// Lost the master: operation updates wait for the next registration.
    pub(super) fn operations_disconnected(&mut self, ctx: &mut Context<Self>) {
        self.ops.reported = false;
        self.ops.updates.pause();
        if let Some(t) = self.ops.timer.take() {
            ctx.cancel_timer(t);
        }
    }

    fn send_operation_updates(
        &mut self,
        ctx: &mut Context<Self>,
        updates: Vec<internal::UpdateOperationStatusMessage>,
    ) {
        for u in updates {
            ctx.send(&self.master, u);
        }
        self.arm_operation_timer(ctx);
    }

    fn arm_operation_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.ops.timer.take() {
            ctx.cancel_timer(t);
        }
        let Some(deadline) = self.ops.updates.next_deadline() else {
            return;
        };
        let wait = deadline.saturating_since(ctx.clock().now());
        self.ops.timer = Some(ctx.delay(wait, |s, ctx| {
            s.ops.timer = None;
            let now = ctx.clock().now();
            let due = s.ops.updates.timeouts(now);
            s.send_operation_updates(ctx, due);
        }));
    }

    /// Checks and applies an operation to the total; returns the new total.
    fn try_apply(&self, info: &v1::offer::Operation) -> Result<Resources, String> {
        match info.r#type() {
            OpType::Reserve
            | OpType::Unreserve
            | OpType::Create
            | OpType::Destroy
            | OpType::GrowVolume
            | OpType::ShrinkVolume => {}
            other => {
                return Err(format!(
                    "operation type {} is not supported on agent default resources",
                    mesos_protos::resources::operation_type_name(other)
                ))
            }
        }
        let mut info = info.clone();
        normalize_operation(&mut info)?;
        let total = self
            .ops
            .total
            .apply(&info)
            .map_err(|e| format!("failed to apply the operation: {e}"))?;
        let checkpointed = total.filter(state::needs_checkpointing);
        // Every volume must name a folder of its own (valid role and persistence id).
        for v in checkpointed.persistent_volumes().iter() {
            volumes::volume_path(&self.layout, &v.to_proto()).map_err(|e| e.to_string())?;
        }
        self.ops
            .volumes
            .check_removable(&self.layout, &self.ops.checkpointed, &checkpointed)
            .map_err(|e| format!("cannot destroy: {e}"))?;
        volumes::create_missing(&self.layout, &self.ops.checkpointed, &checkpointed)
            .map_err(|e| e.to_string())?;
        Ok(total)
    }

    /// Makes `total` (if given) the agent's resources and commits it with the current
    /// operations; volume folders follow. On a failed commit the old total stays.
    fn commit(&mut self, total: Option<Resources>) -> Result<(), String> {
        let old = self.ops.checkpointed.clone();
        let new = match &total {
            Some(t) => t.filter(state::needs_checkpointing),
            None => old.clone(),
        };
        let resource_state = ResourceState {
            operations: self.operations(),
            resources: new.to_vec(),
        };
        state::write_state(&self.layout, &resource_state).map_err(|e| e.to_string())?;
        if let Some(t) = total {
            self.ops.total = t;
            self.ops.checkpointed = new.clone();
        }
        if old != new {
            self.sync_volumes(&old, &new);
        }
        Ok(())
    }

    /// Brings volume folders from `old` to `new` and records `new` as synced; volumes
    /// still in use are kept (and said so).
    fn sync_volumes(&mut self, old: &Resources, new: &Resources) {
        if let Err(e) = volumes::create_missing(&self.layout, old, new) {
            tracing::error!("creating persistent volumes: {e}");
        }
        let keep_in_use = old.filter(|r| {
            let p = volumes::volume_path(&self.layout, &r.to_proto());
            p.is_ok_and(|p| !self.ops.volumes.users(&p).is_empty())
        });
        if !keep_in_use.is_empty() {
            tracing::error!("not deleting persistent volumes still in use: {keep_in_use}");
        }
        let target = new.clone() + keep_in_use;
        if let Err(e) = volumes::remove_dropped(&self.layout, old, &target) {
            tracing::error!("removing persistent volumes: {e}");
        }
        if let Err(e) = state::write_resources_info(&self.layout, &new.to_vec()) {
            tracing::error!("checkpointing resources.info: {e}");
        }
    }

    fn apply_operation(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::ApplyOperationMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring an operation from {from}, not the master");
            return;
        }
        let Some(agent_id) = self.info.id.clone() else {
            tracing::warn!("ignoring an operation while not registered");
            return;
        };
        let key = msg.operation_uuid.value.clone();
        if key.is_empty() {
            tracing::warn!("ignoring an operation without a uuid");
            return;
        }
        if self.ops.operations.contains_key(&key) {
            // A re-sent operation: its status update is already on its way (and retried).
            tracing::info!("ignoring operation {} applied before", uuid_text(&key));
            return;
        }
        let info = msg.operation_info;
        let outcome = self.try_apply(&info);
        let (state, message, total) = match outcome {
            Ok(total) => (OperationState::OperationFinished, None, Some(total)),
            Err(e) => (OperationState::OperationFailed, Some(e), None),
        };
        let mut operation = v1::Operation {
            framework_id: msg.framework_id.clone(),
            agent_id: Some(agent_id.clone()),
            info: info.clone(),
            latest_status: status(state, &info, Some(&agent_id), message, Some(new_uuid())),
            statuses: Vec::new(),
            uuid: msg.operation_uuid.clone(),
        };
        operation.statuses.push(operation.latest_status.clone());
        self.ops.operations.insert(key.clone(), operation.clone());
        if let Err(e) = self.commit(total) {
            tracing::error!("failed to checkpoint operation {}: {e}", uuid_text(&key));
            operation.latest_status = status(
                OperationState::OperationFailed,
                &info,
                Some(&agent_id),
                Some(format!("failed to checkpoint the agent's resources: {e}")),
                Some(new_uuid()),
            );
            operation.statuses = vec![operation.latest_status.clone()];
            self.ops.operations.insert(key.clone(), operation.clone());
        }
        tracing::info!(
            "operation {} ({}) of framework {}: {:?}{}",
            info.id
                .as_ref()
                .map(|i| i.value.as_str())
                .unwrap_or("no id"),
            uuid_text(&key),
            msg.framework_id
                .as_ref()
                .map(|f| f.value.as_str())
                .unwrap_or("(operator)"),
            operation.latest_status.state(),
            operation
                .latest_status
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        let update = internal::UpdateOperationStatusMessage {
            framework_id: msg.framework_id,
            slave_id: Some(agent_id.clone()),
            status: operation.latest_status.clone(),
            latest_status: None,
            operation_uuid: Some(msg.operation_uuid),
        };
        self.queue_operation_update(ctx, &agent_id.value, update);
    }

    fn queue_operation_update(
        &mut self,
        ctx: &mut Context<Self>,
        agent: &str,
        update: internal::UpdateOperationStatusMessage,
    ) {
        let key = update
            .operation_uuid
            .as_ref()
            .map(|u| uuid_text(&u.value))
            .unwrap_or_default();
        let log = self.layout.operation_updates_file(agent, &key).ok();
        let now = ctx.clock().now();
        match self.ops.updates.update(update, log.as_deref(), now) {
            Ok(Some(send)) => self.send_operation_updates(ctx, vec![send]),
            Ok(None) => {}
            Err(e) => tracing::error!("failed to queue the update of operation {key}: {e}"),
        }
    }

    fn operation_acknowledgement(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::AcknowledgeOperationStatusMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring an operation acknowledgement from {from}, not the master");
            return;
        }
        let key = msg.operation_uuid.value;
        let log = self.ops.updates.log_path(&key);
        let now = ctx.clock().now();
        match self
            .ops
            .updates
            .acknowledge(&key, &msg.status_uuid.value, now)
        {
            Ok(OperationAck::Acknowledged {
                next,
                stream_closed,
            }) => {
                if stream_closed {
                    self.ops.operations.remove(&key);
                    if let Err(e) = self.commit(None) {
                        tracing::error!("checkpointing the operations: {e}");
                    }
                    if let Some(log) = log {
                        state::remove_operation_dir(&log);
                    }
                }
                match next {
                    Some(n) => self.send_operation_updates(ctx, vec![*n]),
                    None => self.arm_operation_timer(ctx),
                }
            }
            Ok(OperationAck::Duplicate) => {}
            Err(e) => tracing::warn!("ignoring an operation acknowledgement: {e}"),
        }
    }

    fn reconcile_operations(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::ReconcileOperationsMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring an operation reconciliation from {from}, not the master");
            return;
        }
        let agent_id = self.info.id.clone();
        for op in msg.operations {
            if op.resource_provider_id.is_some() {
                // No resource providers here: nothing on this agent can know it.
                tracing::warn!("reconciling an operation of a resource provider we lack");
            }
            let known = op
                .operation_uuid
                .as_ref()
                .and_then(|u| self.ops.operations.get(&u.value))
                .or_else(|| {
                    let (fw, id) = (msg.framework_id.as_ref()?, op.operation_id.as_ref()?);
                    self.ops.operations.values().find(|o| {
                        o.framework_id.as_ref() == Some(fw) && o.info.id.as_ref() == Some(id)
                    })
                })
                .cloned();
            match (known, &msg.framework_id) {
                (Some(o), Some(fw)) => {
                    // Best effort and not to be acknowledged: no status uuid.
                    let mut s = o.latest_status.clone();
                    s.uuid = None;
                    ctx.send(
                        &self.master,
                        internal::UpdateOperationStatusMessage {
                            framework_id: Some(fw.clone()),
                            slave_id: agent_id.clone(),
                            status: s,
                            latest_status: None,
                            operation_uuid: Some(o.uuid.clone()),
                        },
                    );
                }
                // The master knows it and so do we: consistent.
                (Some(_), None) => {}
                (None, framework_id) => {
                    let state = if framework_id.is_some() {
                        OperationState::OperationUnknown
                    } else {
                        // The master thinks it was sent here, but it never arrived.
                        OperationState::OperationDropped
                    };
                    ctx.send(
                        &self.master,
                        internal::UpdateOperationStatusMessage {
                            framework_id: framework_id.clone(),
                            slave_id: agent_id.clone(),
                            status: v1::OperationStatus {
                                operation_id: op.operation_id.clone(),
                                state: state as i32,
                                agent_id: agent_id.clone(),
                                resource_provider_id: op.resource_provider_id.clone(),
                                ..Default::default()
                            },
                            latest_status: None,
                            operation_uuid: op.operation_uuid.clone(),
                        },
                    );
                }
            }
        }
    }

    /// Legacy path: the master sends the whole new set of checkpointed resources.
    fn checkpoint_resources_message(
        &mut self,
        _ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::CheckpointResourcesMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring checkpointed resources from {from}, not the master");
            return;
        }
        let result = state::from_wire(&msg.resources).and_then(|ckpt| {
            let ckpt = ckpt.filter(state::needs_checkpointing);
            state::apply_checkpointed(&self.ops.flag, &ckpt)
        });
        match result {
            Ok(total) => {
                if let Err(e) = self.commit(Some(total)) {
                    tracing::error!("failed to checkpoint resources: {e}");
                } else {
                    tracing::info!(
                        "updated checkpointed resources to {}",
                        self.ops.checkpointed
                    );
                }
            }
            Err(e) => tracing::error!("ignoring checkpointed resources from the master: {e}"),
        }
    }

    /// Makes a task's persistent volumes visible in its executor's sandbox.
    pub(super) fn attach_volumes(
        &mut self,
        container: &str,
        sandbox: &Path,
        resources: &[v1::Resource],
    ) -> Result<(), String> {
        let resources = state::from_wire(resources)?.to_vec();
        self.ops
            .volumes
            .attach(&self.layout, container, sandbox, &resources)
            .map_err(|e| e.to_string())
    }

    /// Makes a new task's persistent volumes visible in the sandbox of its (running)
    /// executor.
    pub(super) fn attach_executor_volumes(
        &mut self,
        fid: &str,
        eid: &str,
        resources: &[v1::Resource],
    ) -> Result<(), String> {
        let Some(exec) = self.frameworks.get(fid).and_then(|f| f.executors.get(eid)) else {
            return Err(format!("unknown executor {eid} of framework {fid}"));
        };
        let (container, sandbox) = (exec.container_id.clone(), exec.sandbox.clone());
        self.attach_volumes(&container, &sandbox, resources)
    }

    /// A container ended: its volumes leave its sandbox.
    pub(super) fn release_volumes(&mut self, container: &str) {
        self.ops.volumes.release(container);
    }

    /// Recovers checkpointed resources, operations and their update streams, and the
    /// volumes of executors that survived the restart (after [`Slave::recover`]).
    pub(super) fn recover_operations(&mut self, ctx: &mut Context<Self>) {
        let saved = match state::read_state(&self.layout) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                tracing::error!("reading the checkpointed resources: {e}");
                ResourceState::default()
            }
        };
        let checkpointed = state::from_wire(&saved.resources)
            .map(|r| r.filter(state::needs_checkpointing))
            .unwrap_or_else(|e| {
                tracing::error!("checkpointed resources do not convert: {e}");
                Resources::new()
            });
        match state::apply_checkpointed(&self.ops.flag, &checkpointed) {
            Ok(total) => {
                self.ops.total = total;
                self.ops.checkpointed = checkpointed.clone();
            }
            Err(e) => tracing::error!("the checkpointed resources do not fit --resources: {e}"),
        }
        // Finish a volume sync a crash interrupted.
        let synced = state::read_resources_info(&self.layout)
            .ok()
            .flatten()
            .and_then(|r| state::from_wire(&r).ok());
        if synced.as_ref() != Some(&self.ops.checkpointed) {
            let old = synced.unwrap_or_default();
            let new = self.ops.checkpointed.clone();
            self.sync_volumes(&old, &new);
        }
        let agent = self.agent_id().map(str::to_string);
        let mut changed = false;
        for op in saved.operations {
            let key = op.uuid.value.clone();
            let Some(agent) = agent.as_deref() else {
                tracing::warn!(
                    "dropping operation {}: the agent registers anew",
                    uuid_text(&key)
                );
                changed = true;
                continue;
            };
            let Ok(log) = self.layout.operation_updates_file(agent, &uuid_text(&key)) else {
                continue;
            };
            match self.ops.updates.recover(&key, &log, self.flags.strict) {
                Ok(r) if r.terminated => {
                    state::remove_operation_dir(&log);
                    changed = true;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    "recovering the updates of operation {}: {e}",
                    uuid_text(&key)
                ),
            }
            self.ops.operations.insert(key.clone(), op.clone());
            if !self.ops.updates.has_stream(&key)
                && is_terminal_operation_state(op.latest_status.state())
                && op.latest_status.uuid.is_some()
            {
                // Committed, but the crash came before its update was logged.
                let update = internal::UpdateOperationStatusMessage {
                    framework_id: op.framework_id.clone(),
                    slave_id: op.agent_id.clone(),
                    status: op.latest_status.clone(),
                    latest_status: None,
                    operation_uuid: Some(op.uuid.clone()),
                };
                self.queue_operation_update(ctx, agent, update);
            }
        }
        if changed {
            if let Err(e) = self.commit(None) {
                tracing::error!("checkpointing the recovered operations: {e}");
            }
        }
        self.recover_volume_mounts();
    }

    fn recover_volume_mounts(&mut self) {
        let mut live = Vec::new();
        for fw in self.frameworks.values() {
            for exec in fw.executors.values() {
                let mut resources = exec.info.resources.clone();
                for t in exec
                    .tasks
                    .values()
                    .filter(|t| !is_terminal_state(t.state()))
                {
                    resources.extend(t.resources.iter().cloned());
                }
                live.push((exec.container_id.clone(), exec.sandbox.clone(), resources));
            }
        }
        for (container, sandbox, resources) in &live {
            let resources = state::from_wire(resources)
                .map(|r| r.to_vec())
                .unwrap_or_default();
            self.ops
                .volumes
                .recover(&self.layout, container, sandbox, &resources);
        }
        volumes::unmount_stale(&self.layout.work_dir.join("slaves"), &self.ops.volumes);
    }
}

/// Puts the operation's resources in the post-refinement format `Resources` expects.
fn normalize_operation(info: &mut v1::offer::Operation) -> Result<(), String> {
    use mesos_protos::resources::{
        convert_resources_format, ResourceFormat::PostReservationRefinement as F,
    };
    let conv =
        |rs: &mut Vec<v1::Resource>| convert_resources_format(rs, F).map_err(|e| e.to_string());
    if let Some(r) = info.reserve.as_mut() {
        conv(&mut r.resources)?;
    }
    if let Some(r) = info.unreserve.as_mut() {
        conv(&mut r.resources)?;
    }
    if let Some(c) = info.create.as_mut() {
        conv(&mut c.volumes)?;
    }
    if let Some(d) = info.destroy.as_mut() {
        conv(&mut d.volumes)?;
    }
    if let Some(g) = info.grow_volume.as_mut() {
        let mut v = vec![g.volume.clone(), g.addition.clone()];
        conv(&mut v)?;
        g.addition = v.pop().unwrap_or_default();
        g.volume = v.pop().unwrap_or_default();
    }
    if let Some(s) = info.shrink_volume.as_mut() {
        let mut v = vec![s.volume.clone()];
        conv(&mut v)?;
        s.volume = v.pop().unwrap_or_default();
    }
    Ok(())
}

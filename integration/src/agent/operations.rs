//! Operations on the simulated agent's default resources (RESERVE, UNRESERVE, CREATE,
//! DESTROY, GROW_VOLUME, SHRINK_VOLUME): applied to its total with the same algebra the
//! master uses, answered with `UpdateOperationStatusMessage`s that are retried (like
//! task updates) until the master acknowledges them, reported on (re-)registration
//! (`checkpointed_resources`, `UpdateSlaveMessage.operations`). Nothing touches disk:
//! volumes exist only as resources.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use libprocess::{Context, Handlers, TimerId, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::resources::{unallocated_operation, Resources};
use mesos_protos::v1;
use mesos_protos::v1::OperationState;

use super::SimulatedAgent;

/// The agent's resources and the operations it has not finished with.
#[derive(Debug, Default)]
pub(super) struct OperationsState {
    /// The total: `--resources` with every applied operation.
    pub(super) total: Resources,
    /// Operations whose latest status is not acknowledged, by operation uuid.
    operations: BTreeMap<Vec<u8>, v1::Operation>,
    /// The unacknowledged update of each such operation.
    unacked: BTreeMap<Vec<u8>, internal::UpdateOperationStatusMessage>,
    retry: Option<TimerId>,
    backoff: Duration,
    /// Version of the default resources (changes with every applied operation).
    version: Vec<u8>,
}

impl OperationsState {
    /// State of an agent with `total` resources.
    pub(super) fn new(total: Resources) -> Self {
        OperationsState {
            total,
            version: uuid::Uuid::new_v4().as_bytes().to_vec(),
            ..Default::default()
        }
    }

    /// What must survive an agent restart and is reported to the master: dynamic
    /// reservations and persistent volumes.
    pub(super) fn checkpointed(&self) -> Vec<v1::Resource> {
        self.total
            .filter(|r| r.is_dynamically_reserved() || r.is_persistent_volume())
            .to_vec()
    }

    /// The resource version as the master sees it.
    pub(super) fn version(&self) -> v1::Uuid {
        v1::Uuid {
            value: self.version.clone(),
        }
    }

    /// Operations not yet finished with.
    pub(super) fn operations(&self) -> Vec<v1::Operation> {
        self.operations.values().cloned().collect()
    }
}

/// Capabilities the simulated agent reports (those of a Mesos 1.8 agent).
pub(super) fn capabilities() -> Vec<v1::agent_info::Capability> {
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

impl SimulatedAgent {
    /// Adds the operation messages to the handler table.
    pub(super) fn operation_handlers(h: &mut Handlers<Self>) {
        h.on::<internal::ApplyOperationMessage>(|a, ctx, from, m| a.apply_operation(ctx, from, m));
        h.on::<internal::AcknowledgeOperationStatusMessage>(|a, ctx, _from, m| {
            a.operation_acknowledged(ctx, m)
        });
        h.on::<internal::ReconcileOperationsMessage>(|a, ctx, from, m| {
            a.reconcile_operations(ctx, from, m)
        });
    }

    /// Answers the master's questions about operations, as the real agent does: asked
    /// by the master itself (no `framework_id`, after an `UpdateSlaveMessage` that did
    /// not list them), an operation unknown here never arrived and is DROPPED, a known
    /// one needs no answer; asked for a framework, a known one answers its latest
    /// status and an unknown one UNKNOWN. None of these answers carries a status uuid.
    fn reconcile_operations(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        m: internal::ReconcileOperationsMessage,
    ) {
        if self.master.as_ref() != Some(from) || !self.registered {
            return;
        }
        let agent_id = self.id.clone().map(|value| v1::AgentId { value });
        for op in m.operations {
            let known = op
                .operation_uuid
                .as_ref()
                .and_then(|u| self.ops.operations.get(&u.value))
                .or_else(|| {
                    let (fw, id) = (m.framework_id.as_ref()?, op.operation_id.as_ref()?);
                    self.ops.operations.values().find(|o| {
                        o.framework_id.as_ref() == Some(fw) && o.info.id.as_ref() == Some(id)
                    })
                });
            let (status, operation_uuid) = match (known, &m.framework_id) {
                (Some(_), None) => continue,
                (Some(o), Some(_)) => {
                    let mut s = o.latest_status.clone();
                    s.uuid = None;
                    (s, Some(o.uuid.clone()))
                }
                (None, framework_id) => {
                    let state = if framework_id.is_some() {
                        OperationState::OperationUnknown
                    } else {
                        OperationState::OperationDropped
                    };
                    let status = v1::OperationStatus {
                        operation_id: op.operation_id.clone(),
                        state: state as i32,
                        agent_id: agent_id.clone(),
                        ..Default::default()
                    };
                    (status, op.operation_uuid.clone())
                }
            };
            ctx.send(
                from,
                internal::UpdateOperationStatusMessage {
                    framework_id: m.framework_id.clone(),
                    slave_id: agent_id.clone(),
                    status,
                    latest_status: None,
                    operation_uuid,
                },
            );
        }
    }

    fn apply_operation(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        m: internal::ApplyOperationMessage,
    ) {
        if self.master.as_ref() != Some(from) {
            return;
        }
        let key = m.operation_uuid.value.clone();
        if self.ops.operations.contains_key(&key) {
            return;
        }
        self.shared
            .operations_applied
            .fetch_add(1, Ordering::Relaxed);
        let info = unallocated_operation(&m.operation_info);
        let (state, message) = match self.ops.total.apply(&info) {
            Ok(total) => {
                self.ops.total = total;
                self.ops.version = uuid::Uuid::new_v4().as_bytes().to_vec();
                (OperationState::OperationFinished, None)
            }
            Err(e) => (OperationState::OperationFailed, Some(e.to_string())),
        };
        let agent_id = self.id.clone().map(|value| v1::AgentId { value });
        let status = v1::OperationStatus {
            operation_id: m.operation_info.id.clone(),
            state: state as i32,
            message,
            uuid: Some(v1::Uuid {
                value: uuid::Uuid::new_v4().as_bytes().to_vec(),
            }),
            agent_id: agent_id.clone(),
            ..Default::default()
        };
        let update = internal::UpdateOperationStatusMessage {
            framework_id: m.framework_id.clone(),
            slave_id: agent_id.clone(),
            status: status.clone(),
            latest_status: Some(status.clone()),
            operation_uuid: Some(m.operation_uuid.clone()),
        };
        self.ops.operations.insert(
            key.clone(),
            v1::Operation {
                framework_id: m.framework_id,
                agent_id,
                info: m.operation_info,
                latest_status: status.clone(),
                statuses: vec![status],
                uuid: m.operation_uuid,
            },
        );
        self.ops.unacked.insert(key, update.clone());
        self.send_operation_update(ctx, update);
        if self.ops.retry.is_none() {
            self.ops.backoff = self.config.update_retry.unwrap_or_default();
            self.arm_operation_retry(ctx);
        }
    }

    fn send_operation_update(
        &mut self,
        ctx: &mut Context<Self>,
        update: internal::UpdateOperationStatusMessage,
    ) {
        if !self.registered {
            return;
        }
        if let Some(master) = self.master.clone() {
            self.shared
                .operation_updates_sent
                .fetch_add(1, Ordering::Relaxed);
            ctx.send(&master, update);
        }
    }

    /// Every unacknowledged update is re-sent with doubling back-off (Mesos retries
    /// operation updates like task updates).
    fn arm_operation_retry(&mut self, ctx: &mut Context<Self>) {
        if self.ops.backoff.is_zero() || self.ops.unacked.is_empty() {
            return;
        }
        let wait = self.ops.backoff;
        self.ops.retry = Some(ctx.delay(wait, |a: &mut SimulatedAgent, ctx| {
            a.ops.retry = None;
            let pending: Vec<_> = a.ops.unacked.values().cloned().collect();
            for u in pending {
                a.send_operation_update(ctx, u);
            }
            a.ops.backoff = (a.ops.backoff * 2).min(a.config.update_retry_max);
            a.arm_operation_retry(ctx);
        }));
    }

    fn operation_acknowledged(
        &mut self,
        ctx: &mut Context<Self>,
        m: internal::AcknowledgeOperationStatusMessage,
    ) {
        let key = m.operation_uuid.value.clone();
        let matches = self
            .ops
            .unacked
            .get(&key)
            .is_some_and(|u| u.status.uuid.as_ref() == Some(&m.status_uuid));
        if !matches {
            return;
        }
        self.shared.operation_acks.fetch_add(1, Ordering::Relaxed);
        self.ops.unacked.remove(&key);
        self.ops.operations.remove(&key);
        if self.ops.unacked.is_empty() {
            if let Some(t) = self.ops.retry.take() {
                ctx.cancel_timer(t);
            }
        }
    }

    /// After (re-)registration: report operations and resource version, and re-send
    /// the updates the master has not acknowledged.
    pub(super) fn operations_registered(&mut self, ctx: &mut Context<Self>) {
        let (Some(master), Some(id)) = (self.master.clone(), self.id.clone()) else {
            return;
        };
        ctx.send(
            &master,
            internal::UpdateSlaveMessage {
                slave_id: v1::AgentId { value: id },
                update_oversubscribed_resources: Some(false),
                operations: Some(internal::update_slave_message::Operations {
                    operations: self.ops.operations(),
                }),
                resource_version_uuid: Some(self.ops.version()),
                ..Default::default()
            },
        );
        let pending: Vec<_> = self.ops.unacked.values().cloned().collect();
        for u in pending {
            self.send_operation_update(ctx, u);
        }
    }
}

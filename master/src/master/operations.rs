//! The master's side of offer operations on agent default resources: ACCEPT's RESERVE,
//! UNRESERVE, CREATE, DESTROY, GROW_VOLUME and SHRINK_VOLUME, operator-made operations,
//! status updates from agents, ACKNOWLEDGE_OPERATION_STATUS, RECONCILE_OPERATIONS and
//! what agents report on (re-)registration. Decisions live in [`crate::operations`] and
//! [`crate::validation::operation`].
//!
//! Every operation here is speculative (as in Mesos 1.8): the master applies it to the
//! offered resources, to its agent view and to the allocator at once, then tells the
//! agent with `ApplyOperationMessage`; the agent's status updates only report.

use libprocess::{Context, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::resources::{
    convert_resources_format, operation_resources_mut, resource_conversions, unallocated_operation,
    ResourceConversion, ResourceFormat, Resources,
};
use mesos_protos::v1;
use mesos_protos::v1::agent_info::capability::Type as AgentCapability;
use mesos_protos::v1::offer::operation::Type as OpType;
use mesos_protos::v1::scheduler::{call, event, Event};
use mesos_protos::v1::OperationState;

use super::Master;
use crate::allocator::Operation as AllocOp;
use crate::operations::{self as ops, ReconcileOperation, UpdateOutcome};
use crate::validation::operation::{validate_operation, OperationContext};

/// Puts an operation's resources in post-refinement form and, where a framework left it
/// out, the offer's `allocation_info`.
pub(crate) fn normalize_operation(op: &mut v1::offer::Operation, role: Option<&str>) {
    for r in operation_resources_mut(op) {
        let mut one = vec![r.clone()];
        if convert_resources_format(&mut one, ResourceFormat::PostReservationRefinement).is_ok() {
            if let Some(c) = one.pop() {
                *r = c;
            }
        }
        if let (None, Some(role)) = (&r.allocation_info, role) {
            r.allocation_info = Some(v1::resource::AllocationInfo {
                role: Some(role.to_owned()),
            });
        }
    }
}

/// The allocator's view of an operation (GROW and SHRINK are a DESTROY of the old volume
/// and a CREATE of the resized one: same resources consumed and produced).
pub(crate) fn allocator_operations(op: &v1::offer::Operation) -> Vec<AllocOp> {
    let res = |l: &[v1::Resource]| Resources::from_resources(l);
    match op.r#type() {
        OpType::Reserve => op
            .reserve
            .as_ref()
            .map(|r| vec![AllocOp::Reserve(res(&r.resources))])
            .unwrap_or_default(),
        OpType::Unreserve => op
            .unreserve
            .as_ref()
            .map(|r| vec![AllocOp::Unreserve(res(&r.resources))])
            .unwrap_or_default(),
        OpType::Create => op
            .create
            .as_ref()
            .map(|c| vec![AllocOp::Create(res(&c.volumes))])
            .unwrap_or_default(),
        OpType::Destroy => op
            .destroy
            .as_ref()
            .map(|d| vec![AllocOp::Destroy(res(&d.volumes))])
            .unwrap_or_default(),
        OpType::GrowVolume => op
            .grow_volume
            .as_ref()
            .map(|g| {
                let mut grown = g.volume.clone();
                let add = g.addition.scalar.as_ref().map_or(0.0, |s| s.value);
                if let Some(s) = grown.scalar.as_mut() {
                    s.value = round3(s.value + add);
                }
                vec![
                    AllocOp::Destroy(Resources::from(&g.volume)),
                    AllocOp::Create(Resources::from(&grown)),
                ]
            })
            .unwrap_or_default(),
        OpType::ShrinkVolume => op
            .shrink_volume
            .as_ref()
            .map(|s| {
                let mut shrunk = s.volume.clone();
                if let Some(x) = shrunk.scalar.as_mut() {
                    x.value = round3(x.value - s.subtract.value);
                }
                vec![
                    AllocOp::Destroy(Resources::from(&s.volume)),
                    AllocOp::Create(Resources::from(&shrunk)),
                ]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The allocator operations that undo `ops`: in reverse order, each one turned around.
pub(crate) fn invert(ops: Vec<AllocOp>) -> Vec<AllocOp> {
    ops.into_iter()
        .rev()
        .map(|o| match o {
            AllocOp::Reserve(r) => AllocOp::Unreserve(r),
            AllocOp::Unreserve(r) => AllocOp::Reserve(r),
            AllocOp::Create(v) => AllocOp::Destroy(v),
            AllocOp::Destroy(v) => AllocOp::Create(v),
        })
        .collect()
}

/// Mesos keeps scalars to three decimals.
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn has_capability(agent: &crate::state::Agent, c: AgentCapability) -> bool {
    agent
        .capabilities
        .iter()
        .any(|x| x.r#type == Some(c as i32))
}

fn status_event(status: v1::OperationStatus) -> Event {
    Event {
        r#type: Some(event::Type::UpdateOperationStatus as i32),
        update_operation_status: Some(event::UpdateOperationStatus { status }),
        ..Default::default()
    }
}

impl Master {
    /// Sends OPERATION_ERROR for a dropped operation that asked for feedback (Mesos's
    /// `drop`): no uuid, so nothing to acknowledge.
    fn drop_operation(&mut self, fid: &str, op: &v1::offer::Operation, message: String) {
        tracing::warn!(framework = %fid, "dropping {} operation: {message}",
            mesos_protos::resources::operation_type_name(op.r#type()));
        if let Some(id) = &op.id {
            let status = ops::master_status(
                OperationState::OperationError,
                Some(id),
                None,
                Some(message),
            );
            self.send_event(fid, &status_event(status));
        }
    }

    /// One non-launch operation of an ACCEPT on `agent_id`'s offered resources (which it
    /// reshapes in place on success).
    pub(super) fn accept_operation(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        agent_id: &str,
        role: &str,
        mut op: v1::offer::Operation,
        offered: &mut Resources,
    ) {
        let Some(agent) = self.state.agents.registered.get(agent_id) else {
            self.drop_operation(fid, &op, format!("Agent {agent_id} is not registered"));
            return;
        };
        if op.id.is_some() {
            for needed in [
                AgentCapability::ResourceProvider,
                AgentCapability::AgentOperationFeedback,
            ] {
                if !has_capability(agent, needed) {
                    let message = format!(
                        "Operation requested feedback, but agent {agent_id} does not have the \
                         required {} capability",
                        needed.as_str_name()
                    );
                    self.drop_operation(fid, &op, message);
                    return;
                }
            }
        }
        normalize_operation(&mut op, Some(role));
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        let cx = OperationContext {
            agent,
            framework: Some(fw),
            principal: fw.info.principal.as_deref(),
        };
        if let Err(e) = validate_operation(&op, &cx) {
            self.drop_operation(fid, &op, e.0);
            return;
        }
        if let Some(id) = &op.id {
            if self.state.operations.find(fid, &id.value).is_some() {
                let message = format!("Operation id '{}' is already in use", id.value);
                self.drop_operation(fid, &op, message);
                return;
            }
        }
        let after = match offered.apply(&op) {
            Ok(r) => r,
            Err(e) => {
                self.drop_operation(fid, &op, e.to_string());
                return;
            }
        };
        if let Err(e) = self
            .allocator
            .update_allocation(fid, agent_id, &allocator_operations(&op))
        {
            self.drop_operation(fid, &op, e.to_string());
            return;
        }
        *offered = after;
        self.apply_operation(ctx, Some(fid), agent_id, op);
    }

    /// Applies a validated operation to the master's view of the agent, records it and
    /// sends it to the agent. The allocator has been updated by the caller.
    pub(super) fn apply_operation(
        &mut self,
        ctx: &mut Context<Self>,
        fid: Option<&str>,
        agent_id: &str,
        op: v1::offer::Operation,
    ) {
        let bare = unallocated_operation(&op);
        let mut legacy = false;
        if let Some(agent) = self.state.agents.registered.get_mut(agent_id) {
            match agent.total.apply(&bare) {
                Ok(total) => agent.total = total,
                Err(e) => {
                    tracing::error!(agent = %agent_id, "operation does not apply to the agent's total: {e}")
                }
            }
            legacy = !has_capability(agent, AgentCapability::ResourceProvider);
        }
        if legacy {
            // An agent without RESOURCE_PROVIDER gets its whole checkpointed resources
            // (Mesos's legacy path); there is no operation to track (ACCEPT refused an
            // `id` for such agents already).
            let checkpointed = self
                .state
                .agents
                .registered
                .get(agent_id)
                .map(|a| {
                    a.total
                        .filter(|r| r.is_dynamically_reserved() || r.is_persistent_volume())
                        .to_vec()
                })
                .unwrap_or_default();
            if let Some(pid) = self.agent_links.get(agent_id).map(|l| l.pid.clone()) {
                ctx.send(
                    &pid,
                    internal::CheckpointResourcesMessage {
                        resources: checkpointed,
                    },
                );
            }
            return;
        }
        let uuid = ops::new_uuid();
        let record = ops::new_operation(op, fid, agent_id, uuid.clone());
        self.state.operations.add(record);
        let version = self
            .state
            .operations
            .resource_versions
            .get(agent_id)
            .cloned()
            .unwrap_or(v1::Uuid { value: vec![0; 16] });
        if let Some(pid) = self.agent_links.get(agent_id).map(|l| l.pid.clone()) {
            ctx.send(
                &pid,
                internal::ApplyOperationMessage {
                    framework_id: fid.map(|f| v1::FrameworkId {
                        value: f.to_owned(),
                    }),
                    operation_info: bare,
                    operation_uuid: uuid,
                    resource_version_uuid: internal::ResourceVersionUuid {
                        resource_provider_id: None,
                        uuid: version,
                    },
                },
            );
        }
    }

    /// `UpdateOperationStatusMessage` from an agent.
    pub(super) fn operation_status_update(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::UpdateOperationStatusMessage,
    ) {
        let Some(agent_id) = self.agents_by_pid.get(from.as_str()).cloned() else {
            tracing::warn!(from = %from, "operation status update from an unknown agent; ignored");
            return;
        };
        let uuid = msg
            .operation_uuid
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_default();
        let fid = self
            .state
            .operations
            .get(&uuid)
            .and_then(|o| o.framework_id.as_ref())
            .map(|f| f.value.clone());
        let framework_known = fid
            .as_ref()
            .is_some_and(|f| self.state.frameworks.contains_key(f));
        let before = self
            .state
            .operations
            .get(&uuid)
            .map(|o| o.latest_status.state());
        let outcome = self.state.operations.update(
            &uuid,
            &msg.status,
            msg.latest_status.as_ref(),
            framework_known,
        );
        let UpdateOutcome::Recorded { operation, forward } = outcome else {
            // Already finished with (the acknowledgement to the agent was lost) or
            // forgotten: nobody else will ever acknowledge a terminal update, so the
            // master does, or the agent would retry it forever.
            let terminal =
                ops::is_terminal(msg.status.state()) || self.state.operations.is_finished(&uuid);
            match (
                terminal,
                msg.status.uuid.clone(),
                msg.operation_uuid.clone(),
            ) {
                (true, Some(status_uuid), Some(operation_uuid)) => {
                    ctx.send(
                        from,
                        internal::AcknowledgeOperationStatusMessage {
                            status_uuid,
                            operation_uuid,
                            resource_provider_id: None,
                        },
                    );
                }
                _ => {
                    tracing::warn!(agent = %agent_id, "status update for an unknown operation; ignored")
                }
            }
            return;
        };
        // A removed framework will never acknowledge: the master does it for it.
        let removed = fid.as_ref().is_some_and(|f| {
            !self.state.frameworks.contains_key(f)
                && self.state.completed_frameworks.iter().any(|c| &c.id == f)
        });
        let wants_feedback = operation.info.id.is_some() && fid.is_some() && !removed;
        if before.is_some_and(|b| !ops::is_terminal(b)) {
            self.operation_terminated(ctx, &operation);
        }
        match (forward, fid) {
            (Some(status), Some(fid)) => self.send_event(&fid, &status_event(status)),
            // The framework is not (yet) back: the agent retries until it acknowledges.
            _ if wants_feedback => {}
            _ => {
                // Nobody to acknowledge it: the master does, and forgets a finished one.
                if let Some(status_uuid) = msg.status.uuid.clone() {
                    let _ = self.state.operations.acknowledge(&uuid, &status_uuid.value);
                    ctx.send(
                        from,
                        internal::AcknowledgeOperationStatusMessage {
                            status_uuid,
                            operation_uuid: operation.uuid.clone(),
                            resource_provider_id: None,
                        },
                    );
                }
            }
        }
        // A terminal status without uuid (the agent's answer to the master's
        // reconciliation) is sent once and never acknowledged: the operation is over.
        if msg.status.uuid.is_none() && ops::is_terminal(msg.status.state()) {
            self.state.operations.finish(&uuid);
        }
    }

    /// An operation just became terminal. Every operation here was applied by the master
    /// when it was accepted (speculatively); unless it FINISHED, the agent's resources
    /// never changed, so the master's view of the agent and the allocator go back.
    /// (Mesos 1.8 has no such step: its agent aborts rather than fail a speculative
    /// operation, and never reports one DROPPED except one it never received, which
    /// also left its resources as they were. Ours answers OPERATION_FAILED, e.g. for a
    /// DESTROY of a volume still in use.)
    fn operation_terminated(&mut self, ctx: &mut Context<Self>, op: &v1::Operation) {
        let state = op.latest_status.state();
        if !ops::is_terminal(state) || state == OperationState::OperationFinished {
            return;
        }
        let Some(agent_id) = op.agent_id.as_ref().map(|a| a.value.clone()) else {
            return;
        };
        let Some(agent) = self.state.agents.registered.get_mut(&agent_id) else {
            return;
        };
        let bare = unallocated_operation(&op.info);
        let undone = resource_conversions(&bare).and_then(|cs| {
            let inverse: Vec<ResourceConversion> = cs
                .into_iter()
                .rev()
                .map(|c| ResourceConversion::new(c.converted, c.consumed))
                .collect();
            agent.total.apply_conversions(&inverse)
        });
        match undone {
            Ok(total) => agent.total = total,
            Err(e) => {
                tracing::error!(agent = %agent_id, "cannot undo an operation that ended {} in the master's view of the agent: {e}", state.as_str_name());
                return;
            }
        }
        tracing::info!(agent = %agent_id, operation = ?op.info.id.as_ref().map(|i| &i.value),
            "operation ended {}: undoing it in the master and the allocator", state.as_str_name());
        self.undo_in_allocator(ctx, agent_id, invert(allocator_operations(&op.info)), 3);
    }

    /// Gives the allocator the inverse of a failed operation: the resources it produced
    /// must be free, so the agent's offers go back first. An allocation cycle may hand
    /// them out again before the change lands: then it is tried again (a few times).
    fn undo_in_allocator(
        &mut self,
        ctx: &mut Context<Self>,
        agent_id: String,
        inverse: Vec<AllocOp>,
        tries: u32,
    ) {
        let offers: Vec<String> = self
            .state
            .agents
            .registered
            .get(&agent_id)
            .map(|a| a.offers.iter().cloned().collect())
            .unwrap_or_default();
        for oid in offers {
            self.rescind_offer(&oid);
        }
        let fut = self.allocator.update_available(&agent_id, &inverse);
        ctx.defer(fut, move |m: &mut Master, ctx, result| {
            let Err(e) = result else { return };
            if tries > 1 && m.state.agents.registered.contains_key(&agent_id) {
                m.undo_in_allocator(ctx, agent_id, inverse, tries - 1);
            } else {
                tracing::error!(agent = %agent_id, "the allocator keeps a failed operation's resources (in use?): {e}");
            }
        });
    }

    /// ACKNOWLEDGE_OPERATION_STATUS from a framework.
    pub(super) fn acknowledge_operation_status(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        ack: call::AcknowledgeOperationStatus,
    ) {
        let Some(op) = self
            .state
            .operations
            .find(fid, &ack.operation_id.value)
            .cloned()
        else {
            tracing::warn!(framework = %fid, operation = %ack.operation_id.value,
                "acknowledgement for an unknown operation; ignored");
            return;
        };
        let agent_id = op
            .agent_id
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default();
        if self
            .state
            .operations
            .acknowledge(&op.uuid.value, &ack.uuid)
            .is_none()
        {
            tracing::warn!(framework = %fid, operation = %ack.operation_id.value,
                "acknowledgement for an unknown status; ignored");
            return;
        }
        if let Some(pid) = self.agent_links.get(&agent_id).map(|l| l.pid.clone()) {
            ctx.send(
                &pid,
                internal::AcknowledgeOperationStatusMessage {
                    status_uuid: v1::Uuid { value: ack.uuid },
                    operation_uuid: op.uuid,
                    resource_provider_id: ack.resource_provider_id,
                },
            );
        }
    }

    /// RECONCILE_OPERATIONS (1.8): answers arrive as UPDATE_OPERATION_STATUS events.
    pub(super) fn reconcile_operations(&mut self, fid: &str, r: call::ReconcileOperations) {
        let req: Vec<ReconcileOperation> = r
            .operations
            .into_iter()
            .map(|o| ReconcileOperation {
                operation_id: o.operation_id.value,
                agent_id: o.agent_id.map(|a| a.value),
            })
            .collect();
        for status in ops::reconcile(&self.state, &self.state.operations, fid, &req) {
            self.send_event(fid, &status_event(status));
        }
    }

    /// `UpdateSlaveMessage`: the agent's resource version and the operations it knows.
    /// Operations the agent reports are adopted (after a master failover the master
    /// learns them here). Ones the master knows that the agent does not report may have
    /// been lost with an old connection, or may simply not have reached the agent when
    /// it wrote the message: as Mesos, the master asks the agent about them with a
    /// `ReconcileOperationsMessage` (sent after the operations on the same link), and the
    /// agent answers OPERATION_DROPPED for those it truly does not know.
    pub(super) fn update_slave(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::UpdateSlaveMessage,
    ) {
        let agent_id = msg.slave_id.value.clone();
        if self.agents_by_pid.get(from.as_str()) != Some(&agent_id) {
            tracing::warn!(from = %from, agent = %agent_id, "UpdateSlaveMessage from an unknown agent; ignored");
            return;
        }
        if let Some(v) = msg.resource_version_uuid.clone() {
            self.state
                .operations
                .resource_versions
                .insert(agent_id.clone(), v);
        }
        let reported = msg.operations.map(|o| o.operations).unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for mut op in reported {
            seen.insert(op.uuid.value.clone());
            if self.state.operations.is_finished(&op.uuid.value) {
                // A report sent before the acknowledgement reached the agent.
                continue;
            }
            if let Some(known) = self.state.operations.get(&op.uuid.value) {
                // Keep the master's record (it has the framework's info), but take the
                // agent's newer statuses.
                let was_terminal = ops::is_terminal(known.latest_status.state());
                let mut merged = known.clone();
                merged.latest_status = op.latest_status.clone();
                for s in &op.statuses {
                    if !merged
                        .statuses
                        .iter()
                        .any(|m| m.uuid.is_some() && m.uuid == s.uuid)
                    {
                        merged.statuses.push(s.clone());
                    }
                }
                self.state.operations.add(merged.clone());
                if !was_terminal {
                    self.operation_terminated(ctx, &merged);
                }
            } else {
                op.agent_id = Some(v1::AgentId {
                    value: agent_id.clone(),
                });
                self.state.operations.add(op);
            }
        }
        let unreported: Vec<internal::reconcile_operations_message::Operation> = self
            .state
            .operations
            .of_agent(&agent_id)
            .filter(|o| !seen.contains(&o.uuid.value))
            .map(|o| internal::reconcile_operations_message::Operation {
                operation_uuid: Some(o.uuid.clone()),
                resource_provider_id: None,
                operation_id: None,
            })
            .collect();
        if !unreported.is_empty() {
            tracing::info!(agent = %agent_id, "reconciling {} operations the agent did not report", unreported.len());
            ctx.send(
                from,
                internal::ReconcileOperationsMessage {
                    operations: unreported,
                    framework_id: None,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_and_shrink_map_to_destroy_then_create() {
        let vol = v1::Resource {
            name: "disk".into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value: 10.0 }),
            ..Default::default()
        };
        let op = v1::offer::Operation {
            r#type: Some(OpType::ShrinkVolume as i32),
            shrink_volume: Some(v1::offer::operation::ShrinkVolume {
                volume: vol.clone(),
                subtract: v1::value::Scalar { value: 4.0 },
            }),
            ..Default::default()
        };
        let a = allocator_operations(&op);
        assert_eq!(a.len(), 2);
        match (&a[0], &a[1]) {
            (AllocOp::Destroy(d), AllocOp::Create(c)) => {
                assert_eq!(d.disk(), Some(10));
                assert_eq!(c.disk(), Some(6));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invert_reverses_the_steps_and_turns_each_around() {
        let r = |v: f64| {
            Resources::from(
                &mesos_protos::resources::from_string(&format!("disk:{v}"), "*").unwrap()[0],
            )
        };
        let inv = invert(vec![
            AllocOp::Destroy(r(1.0)),
            AllocOp::Create(r(2.0)),
            AllocOp::Reserve(r(3.0)),
            AllocOp::Unreserve(r(4.0)),
        ]);
        let shape: Vec<(&str, Option<u64>)> = inv
            .iter()
            .map(|o| match o {
                AllocOp::Reserve(x) => ("reserve", x.disk()),
                AllocOp::Unreserve(x) => ("unreserve", x.disk()),
                AllocOp::Create(x) => ("create", x.disk()),
                AllocOp::Destroy(x) => ("destroy", x.disk()),
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("reserve", Some(4)),
                ("unreserve", Some(3)),
                ("destroy", Some(2)),
                ("create", Some(1)),
            ]
        );
    }

    #[test]
    fn normalize_sets_allocation_and_post_refinement() {
        #[allow(deprecated)]
        let r = v1::Resource {
            name: "cpus".into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value: 1.0 }),
            role: Some("web".into()),
            reservation: Some(v1::resource::ReservationInfo {
                principal: Some("p".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut op = v1::offer::Operation {
            r#type: Some(OpType::Reserve as i32),
            reserve: Some(v1::offer::operation::Reserve { resources: vec![r] }),
            ..Default::default()
        };
        normalize_operation(&mut op, Some("web"));
        let out = &op.reserve.as_ref().unwrap().resources[0];
        assert_eq!(out.reservations.len(), 1);
        assert_eq!(out.reservations[0].role(), "web");
        assert_eq!(out.allocation_info.as_ref().unwrap().role(), "web");
    }
}

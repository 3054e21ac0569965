//! Offer operations with feedback (RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME,
//! SHRINK_VOLUME on agent default resources): the master's record of operations and
//! the pure decisions about them (status updates, acknowledgements, reconciliation).
//!
//! ```text
//!  ACCEPT / operator call ──validate──▶ apply to offered + agent total + allocator
//!        │                                   │
//!        ▼                                   ▼
//!  Operations::add (PENDING) ──ApplyOperationMessage──▶ agent
//!  agent ──UpdateOperationStatusMessage──▶ Operations::update ──▶ UPDATE_OPERATION_STATUS
//!  framework ──ACKNOWLEDGE_OPERATION_STATUS──▶ Operations::acknowledge ──▶ agent
//! ```
//! An operation is kept until its terminal status is acknowledged (by the framework
//! when it asked for feedback with an `id`, by the master itself otherwise), or until a
//! terminal status without uuid (the agent's answer to the master's
//! `ReconcileOperationsMessage`) has been passed on: nobody can acknowledge that one.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use mesos_protos::v1;
use mesos_protos::v1::OperationState;

use crate::state::MasterState;

/// True for states after which an operation changes no more.
pub fn is_terminal(state: OperationState) -> bool {
    matches!(
        state,
        OperationState::OperationFinished
            | OperationState::OperationFailed
            | OperationState::OperationError
            | OperationState::OperationDropped
            | OperationState::OperationGoneByOperator
    )
}

/// A fresh random UUID (16 bytes) as the `UUID` message.
pub fn new_uuid() -> v1::Uuid {
    v1::Uuid {
        value: uuid::Uuid::new_v4().as_bytes().to_vec(),
    }
}

/// A status built by the master (never acknowledged: no uuid).
pub fn master_status(
    state: OperationState,
    operation_id: Option<&v1::OperationId>,
    agent_id: Option<&str>,
    message: Option<String>,
) -> v1::OperationStatus {
    v1::OperationStatus {
        operation_id: operation_id.cloned(),
        state: state as i32,
        message,
        converted_resources: Vec::new(),
        uuid: None,
        agent_id: agent_id.map(|a| v1::AgentId {
            value: a.to_owned(),
        }),
        resource_provider_id: None,
    }
}

/// A new operation as the master records it before sending it to the agent.
pub fn new_operation(
    info: v1::offer::Operation,
    framework_id: Option<&str>,
    agent_id: &str,
    uuid: v1::Uuid,
) -> v1::Operation {
    let latest = master_status(
        OperationState::OperationPending,
        info.id.as_ref(),
        Some(agent_id),
        None,
    );
    v1::Operation {
        framework_id: framework_id.map(|f| v1::FrameworkId {
            value: f.to_owned(),
        }),
        agent_id: Some(v1::AgentId {
            value: agent_id.to_owned(),
        }),
        info,
        latest_status: latest,
        statuses: Vec::new(),
        uuid,
    }
}

/// What became of a status update from an agent.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// The operation is not known here.
    Unknown,
    /// Recorded. `forward` is the status for the framework (the operation asked for
    /// feedback and its framework is known); otherwise the master acknowledges itself.
    Recorded {
        /// The operation after the update.
        operation: Box<v1::Operation>,
        /// Send this to the framework as UPDATE_OPERATION_STATUS.
        forward: Option<v1::OperationStatus>,
    },
}

/// Operations the master knows, by operation uuid, with indexes by framework and agent.
#[derive(Debug, Clone, Default)]
pub struct Operations {
    by_uuid: BTreeMap<Vec<u8>, v1::Operation>,
    /// `(framework id, operation id)` → operation uuid.
    by_framework: HashMap<(String, String), Vec<u8>>,
    /// The version of each agent's default resources, as it last reported it.
    pub resource_versions: HashMap<String, v1::Uuid>,
    /// Operations finished with recently (terminal status acknowledged), newest last, so
    /// that a late report from the agent does not bring one back.
    finished: VecDeque<Vec<u8>>,
    finished_set: HashSet<Vec<u8>>,
}

/// How many finished operation uuids are remembered.
const FINISHED_MEMORY: usize = 10_000;

fn key_of(op: &v1::Operation) -> Option<(String, String)> {
    match (&op.framework_id, &op.info.id) {
        (Some(f), Some(id)) => Some((f.value.clone(), id.value.clone())),
        _ => None,
    }
}

impl Operations {
    /// Number of operations known.
    pub fn len(&self) -> usize {
        self.by_uuid.len()
    }

    /// True if none.
    pub fn is_empty(&self) -> bool {
        self.by_uuid.is_empty()
    }

    /// Records an operation (replacing one with the same uuid).
    pub fn add(&mut self, op: v1::Operation) {
        if let Some(k) = key_of(&op) {
            self.by_framework.insert(k, op.uuid.value.clone());
        }
        self.by_uuid.insert(op.uuid.value.clone(), op);
    }

    /// The operation with this uuid.
    pub fn get(&self, uuid: &[u8]) -> Option<&v1::Operation> {
        self.by_uuid.get(uuid)
    }

    /// The framework's operation with this id.
    pub fn find(&self, framework_id: &str, operation_id: &str) -> Option<&v1::Operation> {
        let uuid = self
            .by_framework
            .get(&(framework_id.to_owned(), operation_id.to_owned()))?;
        self.by_uuid.get(uuid)
    }

    /// Every operation, in uuid order.
    pub fn iter(&self) -> impl Iterator<Item = &v1::Operation> + '_ {
        self.by_uuid.values()
    }

    /// Operations of one framework.
    pub fn of_framework<'a>(
        &'a self,
        framework_id: &'a str,
    ) -> impl Iterator<Item = &'a v1::Operation> + 'a {
        self.by_uuid.values().filter(move |o| {
            o.framework_id
                .as_ref()
                .is_some_and(|f| f.value == framework_id)
        })
    }

    /// Operations on one agent.
    pub fn of_agent<'a>(
        &'a self,
        agent_id: &'a str,
    ) -> impl Iterator<Item = &'a v1::Operation> + 'a {
        self.by_uuid
            .values()
            .filter(move |o| o.agent_id.as_ref().is_some_and(|a| a.value == agent_id))
    }

    /// Forgets an operation.
    pub fn remove(&mut self, uuid: &[u8]) -> Option<v1::Operation> {
        let op = self.by_uuid.remove(uuid)?;
        if let Some(k) = key_of(&op) {
            if self.by_framework.get(&k).is_some_and(|u| u == uuid) {
                self.by_framework.remove(&k);
            }
        }
        Some(op)
    }

    /// True if the operation's terminal status was acknowledged (recently).
    pub fn is_finished(&self, uuid: &[u8]) -> bool {
        self.finished_set.contains(uuid)
    }

    /// Forgets every operation on an agent (removed or gone), returning them.
    pub fn remove_agent(&mut self, agent_id: &str) -> Vec<v1::Operation> {
        let uuids: Vec<Vec<u8>> = self
            .of_agent(agent_id)
            .map(|o| o.uuid.value.clone())
            .collect();
        self.resource_versions.remove(agent_id);
        uuids.iter().filter_map(|u| self.remove(u)).collect()
    }

    /// Applies an agent's status update: `status` is appended to the history and
    /// `latest` (or `status`) becomes the latest status. The framework hears of it only
    /// if the operation carries an id; `framework_known` says whether it still exists.
    pub fn update(
        &mut self,
        operation_uuid: &[u8],
        status: &v1::OperationStatus,
        latest: Option<&v1::OperationStatus>,
        framework_known: bool,
    ) -> UpdateOutcome {
        let Some(op) = self.by_uuid.get_mut(operation_uuid) else {
            return UpdateOutcome::Unknown;
        };
        let mut status = status.clone();
        if status.agent_id.is_none() {
            status.agent_id.clone_from(&op.agent_id);
        }
        if status.operation_id.is_none() {
            status.operation_id.clone_from(&op.info.id);
        }
        // A re-sent update (same status uuid) is not recorded twice.
        let seen = status.uuid.is_some()
            && op
                .statuses
                .iter()
                .any(|s| s.uuid.is_some() && s.uuid == status.uuid);
        if !seen {
            op.statuses.push(status.clone());
        }
        let mut newest = latest.cloned().unwrap_or_else(|| status.clone());
        if newest.agent_id.is_none() {
            newest.agent_id.clone_from(&op.agent_id);
        }
        if newest.operation_id.is_none() {
            newest.operation_id.clone_from(&op.info.id);
        }
        op.latest_status = newest;
        let forward = (op.info.id.is_some() && op.framework_id.is_some() && framework_known)
            .then_some(status);
        UpdateOutcome::Recorded {
            operation: Box::new(op.clone()),
            forward,
        }
    }

    /// An acknowledgement of the status with `status_uuid`: the operation is forgotten
    /// once its terminal status is acknowledged. Returns the operation (before removal)
    /// if the status is one of its statuses.
    pub fn acknowledge(
        &mut self,
        operation_uuid: &[u8],
        status_uuid: &[u8],
    ) -> Option<v1::Operation> {
        let op = self.by_uuid.get(operation_uuid)?;
        let status = op
            .statuses
            .iter()
            .find(|s| s.uuid.as_ref().is_some_and(|u| u.value == status_uuid))?;
        let terminal = is_terminal(status.state());
        let op = op.clone();
        if terminal {
            self.finish(operation_uuid);
        }
        Some(op)
    }

    /// Forgets an operation that is over (terminal status acknowledged, or a terminal
    /// status nobody can acknowledge) and remembers that it is, so that a late report
    /// from the agent does not bring it back.
    pub fn finish(&mut self, operation_uuid: &[u8]) -> Option<v1::Operation> {
        let op = self.remove(operation_uuid);
        if self.finished_set.insert(operation_uuid.to_vec()) {
            self.finished.push_back(operation_uuid.to_vec());
            if self.finished.len() > FINISHED_MEMORY {
                if let Some(old) = self.finished.pop_front() {
                    self.finished_set.remove(&old);
                }
            }
        }
        op
    }
}

/// GET_OPERATIONS: every operation the master knows, in uuid order.
pub fn get_operations(state: &MasterState) -> v1::master::response::GetOperations {
    v1::master::response::GetOperations {
        operations: state.operations.iter().cloned().collect(),
    }
}

/// One entry of an explicit RECONCILE_OPERATIONS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileOperation {
    /// The operation id.
    pub operation_id: String,
    /// The agent it was sent to, if the framework says.
    pub agent_id: Option<String>,
}

/// Answers RECONCILE_OPERATIONS (1.8 form: statuses without uuid, sent as events).
/// Empty `request` = implicit: the latest status of every operation of the framework
/// that asked for feedback. Explicit: known operations answer their latest status;
/// unknown ones by what the master knows of the agent (RECOVERING while it may still
/// re-register, UNREACHABLE, GONE_BY_OPERATOR, else UNKNOWN).
pub fn reconcile(
    state: &MasterState,
    operations: &Operations,
    framework_id: &str,
    request: &[ReconcileOperation],
) -> Vec<v1::OperationStatus> {
    let strip = |op: &v1::Operation| {
        let mut s = op.latest_status.clone();
        s.uuid = None;
        if s.operation_id.is_none() {
            s.operation_id.clone_from(&op.info.id);
        }
        if s.agent_id.is_none() {
            s.agent_id.clone_from(&op.agent_id);
        }
        s
    };
    if request.is_empty() {
        return operations
            .of_framework(framework_id)
            .filter(|o| o.info.id.is_some())
            .map(strip)
            .collect();
    }
    request
        .iter()
        .map(|r| {
            let known = operations.find(framework_id, &r.operation_id).filter(|o| {
                r.agent_id
                    .as_ref()
                    .is_none_or(|a| o.agent_id.as_ref().is_some_and(|oa| &oa.value == a))
            });
            if let Some(op) = known {
                let mut status = strip(op);
                // An operation still in flight on an agent the master lost.
                let agent = op.agent_id.as_ref().map(|a| a.value.as_str()).unwrap_or("");
                if !is_terminal(status.state()) {
                    if state.agents.unreachable.contains_key(agent) {
                        status.state = OperationState::OperationUnreachable as i32;
                    } else if state.agents.gone.contains_key(agent) {
                        status.state = OperationState::OperationGoneByOperator as i32;
                    }
                }
                return status;
            }
            let id = v1::OperationId {
                value: r.operation_id.clone(),
            };
            let state_for = match r.agent_id.as_deref() {
                None => OperationState::OperationUnknown,
                Some(a) if state.agents.recovered.contains_key(a) => {
                    OperationState::OperationRecovering
                }
                Some(a) if state.agents.unreachable.contains_key(a) => {
                    OperationState::OperationUnreachable
                }
                Some(a) if state.agents.gone.contains_key(a) => {
                    OperationState::OperationGoneByOperator
                }
                Some(_) => OperationState::OperationUnknown,
            };
            master_status(state_for, Some(&id), r.agent_id.as_deref(), None)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Limits;

    fn info(id: Option<&str>) -> v1::offer::Operation {
        v1::offer::Operation {
            r#type: Some(v1::offer::operation::Type::Reserve as i32),
            id: id.map(|v| v1::OperationId { value: v.into() }),
            reserve: Some(v1::offer::operation::Reserve { resources: vec![] }),
            ..Default::default()
        }
    }

    fn agent_status(state: OperationState, uuid: &[u8]) -> v1::OperationStatus {
        v1::OperationStatus {
            state: state as i32,
            uuid: Some(v1::Uuid {
                value: uuid.to_vec(),
            }),
            ..Default::default()
        }
    }

    fn state() -> MasterState {
        let limits = Limits {
            max_completed_frameworks: 10,
            max_completed_tasks_per_framework: 10,
            max_unreachable_tasks_per_framework: 10,
        };
        MasterState::new(v1::MasterInfo::default(), limits, 0.0)
    }

    #[test]
    fn update_forwards_only_with_id_and_ack_removes_terminal() {
        let mut ops = Operations::default();
        let a = new_operation(
            info(Some("op")),
            Some("f"),
            "s1",
            v1::Uuid { value: vec![1] },
        );
        let b = new_operation(info(None), Some("f"), "s1", v1::Uuid { value: vec![2] });
        ops.add(a);
        ops.add(b);
        assert_eq!(ops.find("f", "op").unwrap().uuid.value, vec![1]);
        let done = agent_status(OperationState::OperationFinished, b"s-1");
        let UpdateOutcome::Recorded { forward, operation } = ops.update(&[1], &done, None, true)
        else {
            panic!("known operation");
        };
        let fwd = forward.expect("forwarded");
        assert_eq!(fwd.operation_id.unwrap().value, "op");
        assert_eq!(fwd.agent_id.unwrap().value, "s1");
        assert_eq!(
            operation.latest_status.state(),
            OperationState::OperationFinished
        );
        // A retry of the same update is forwarded again but recorded once.
        let UpdateOutcome::Recorded { forward, operation } = ops.update(&[1], &done, None, true)
        else {
            panic!("known operation");
        };
        assert!(forward.is_some());
        assert_eq!(operation.statuses.len(), 1);
        // No id: no event.
        let UpdateOutcome::Recorded { forward, .. } = ops.update(&[2], &done, None, true) else {
            panic!("known operation");
        };
        assert!(forward.is_none());
        assert_eq!(ops.update(&[9], &done, None, true), UpdateOutcome::Unknown);
        // Acknowledging an unknown status changes nothing; the terminal one removes.
        assert!(ops.acknowledge(&[1], b"nope").is_none());
        assert!(ops.acknowledge(&[1], b"s-1").is_some());
        assert!(ops.get(&[1]).is_none() && ops.find("f", "op").is_none());
        assert!(ops.is_finished(&[1]) && !ops.is_finished(&[2]));
        assert_eq!(ops.len(), 1);
    }

    #[test]
    fn reconcile_answers() {
        let mut st = state();
        st.agents.unreachable.insert("u".into(), 1.0);
        st.agents.gone.insert("g".into(), 1.0);
        st.agents
            .recovered
            .insert("r".into(), v1::AgentInfo::default());
        let mut ops = Operations::default();
        let mut known = new_operation(
            info(Some("k")),
            Some("f"),
            "s1",
            v1::Uuid { value: vec![1] },
        );
        known.latest_status = agent_status(OperationState::OperationFinished, b"x");
        ops.add(known);
        ops.add(new_operation(
            info(None),
            Some("f"),
            "s1",
            v1::Uuid { value: vec![2] },
        ));
        let implicit = reconcile(&st, &ops, "f", &[]);
        assert_eq!(implicit.len(), 1);
        assert_eq!(implicit[0].state(), OperationState::OperationFinished);
        assert!(implicit[0].uuid.is_none());
        let req = |id: &str, agent: Option<&str>| ReconcileOperation {
            operation_id: id.into(),
            agent_id: agent.map(Into::into),
        };
        let answers = reconcile(
            &st,
            &ops,
            "f",
            &[
                req("k", Some("s1")),
                req("x", None),
                req("x", Some("u")),
                req("x", Some("g")),
                req("x", Some("r")),
                req("x", Some("s1")),
            ],
        );
        let states: Vec<OperationState> = answers.iter().map(|s| s.state()).collect();
        assert_eq!(
            states,
            vec![
                OperationState::OperationFinished,
                OperationState::OperationUnknown,
                OperationState::OperationUnreachable,
                OperationState::OperationGoneByOperator,
                OperationState::OperationRecovering,
                OperationState::OperationUnknown,
            ]
        );
        assert!(answers.iter().all(|s| s.uuid.is_none()));
        assert_eq!(answers[1].operation_id.as_ref().unwrap().value, "x");
        // A pending operation on an agent that became unreachable answers UNREACHABLE.
        ops.add(new_operation(
            info(Some("p")),
            Some("f"),
            "u",
            v1::Uuid { value: vec![3] },
        ));
        let pending = reconcile(&st, &ops, "f", &[req("p", Some("u"))]);
        assert_eq!(pending[0].state(), OperationState::OperationUnreachable);
        // Another framework does not see f's operations.
        assert!(reconcile(&st, &ops, "other", &[]).is_empty());
    }
}

//! Registry operations and the in-memory registry they act on.

use std::collections::BTreeMap;
use std::time::Duration;

use mesos_protos::mesos::internal::{registry, Registry};
use mesos_protos::v1;

/// The registry, indexed by agent id (the protobuf `Registry` is a list).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistryState {
    /// The last leading master.
    pub master: Option<v1::MasterInfo>,
    /// Admitted agents.
    pub agents: BTreeMap<String, v1::AgentInfo>,
    /// Unreachable agents and when they were marked.
    pub unreachable: BTreeMap<String, v1::TimeInfo>,
    /// Gone agents and when they were marked.
    pub gone: BTreeMap<String, v1::TimeInfo>,
    /// Role weights set by operators.
    pub weights: BTreeMap<String, f64>,
    /// Quota configurations by role.
    pub quotas: BTreeMap<String, v1::quota::QuotaConfig>,
}

impl RegistryState {
    /// The `mesos.internal.Registry` form (for snapshots and other stores).
    pub fn to_proto(&self) -> Registry {
        Registry {
            master: self.master.clone().map(|info| registry::Master { info }),
            slaves: Some(registry::Slaves {
                slaves: self
                    .agents
                    .values()
                    .map(|info| registry::Slave { info: info.clone() })
                    .collect(),
            }),
            unreachable: Some(registry::UnreachableSlaves {
                slaves: self
                    .unreachable
                    .iter()
                    .map(|(id, t)| registry::UnreachableSlave {
                        id: v1::AgentId { value: id.clone() },
                        timestamp: *t,
                    })
                    .collect(),
            }),
            gone: Some(registry::GoneSlaves {
                slaves: self
                    .gone
                    .iter()
                    .map(|(id, t)| registry::GoneSlave {
                        id: v1::AgentId { value: id.clone() },
                        timestamp: *t,
                    })
                    .collect(),
            }),
            weights: self
                .weights
                .iter()
                .map(|(role, w)| registry::Weight {
                    info: v1::WeightInfo {
                        weight: *w,
                        role: Some(role.clone()),
                    },
                })
                .collect(),
            quota_configs: self.quotas.values().cloned().collect(),
            ..Default::default()
        }
    }

    /// Reads the protobuf form back.
    pub fn from_proto(r: Registry) -> Self {
        let mut s = RegistryState {
            master: r.master.map(|m| m.info),
            ..Default::default()
        };
        for slave in r.slaves.map(|s| s.slaves).unwrap_or_default() {
            let id = slave.info.id.clone().unwrap_or_default().value;
            s.agents.insert(id, slave.info);
        }
        for u in r.unreachable.map(|s| s.slaves).unwrap_or_default() {
            s.unreachable.insert(u.id.value, u.timestamp);
        }
        for g in r.gone.map(|s| s.slaves).unwrap_or_default() {
            s.gone.insert(g.id.value, g.timestamp);
        }
        for w in r.weights {
            s.weights
                .insert(w.info.role.unwrap_or_default(), w.info.weight);
        }
        for q in r.quota_configs {
            s.quotas.insert(q.role.clone(), q);
        }
        s
    }
}

/// A change to the registry (Mesos's registry operations).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Records the leading master.
    SetMaster(v1::MasterInfo),
    /// A new agent registers (`AdmitSlave`); the info must carry its id.
    AdmitAgent(v1::AgentInfo),
    /// An admitted agent re-registered with changed info (`UpdateSlave`).
    UpdateAgent(v1::AgentInfo),
    /// An agent stopped answering (`MarkSlaveUnreachable`).
    MarkUnreachable {
        /// The agent.
        agent_id: String,
        /// When.
        time: v1::TimeInfo,
    },
    /// An unreachable agent came back (`MarkSlaveReachable`).
    MarkReachable(v1::AgentInfo),
    /// The operator declared the agent gone (`MarkSlaveGone`).
    MarkGone {
        /// The agent.
        agent_id: String,
        /// When.
        time: v1::TimeInfo,
    },
    /// An agent shut down cleanly (`RemoveSlave`).
    RemoveAgent(String),
    /// Forget unreachable/gone entries older than `max_age` (relative to `now`) or beyond
    /// `max_count` (oldest first), as the periodic registry GC does.
    Prune {
        /// The current time.
        now: v1::TimeInfo,
        /// `--registry_max_agent_age`.
        max_age: Duration,
        /// `--registry_max_agent_count`.
        max_count: u64,
    },
    /// Sets role weights (`UpdateWeights`).
    UpdateWeights(Vec<(String, f64)>),
    /// Sets (or, with no guarantees and limits, removes) a role's quota.
    UpdateQuota(v1::quota::QuotaConfig),
}

/// Why an operation was refused; the registry is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// AdmitAgent for an id already admitted.
    #[error("agent {0} already admitted")]
    AlreadyAdmitted(String),
    /// An operation that needs an admitted agent.
    #[error("agent {0} not yet admitted")]
    NotAdmitted(String),
    /// An AgentInfo without an id.
    #[error("agent info for host '{0}' has no agent id")]
    MissingId(String),
    /// An operation on an agent already marked gone.
    #[error("agent {0} is gone")]
    Gone(String),
}

impl Operation {
    /// Applies the operation; returns whether the registry changed.
    pub fn apply(&self, r: &mut RegistryState) -> Result<bool, OperationError> {
        match self {
            Operation::SetMaster(info) => {
                let changed = r.master.as_ref() != Some(info);
                r.master = Some(info.clone());
                Ok(changed)
            }
            Operation::AdmitAgent(info) => {
                let id = agent_id(info)?;
                if r.agents.contains_key(&id) {
                    return Err(OperationError::AlreadyAdmitted(id));
                }
                if r.gone.contains_key(&id) {
                    return Err(OperationError::Gone(id));
                }
                r.agents.insert(id, info.clone());
                Ok(true)
            }
            Operation::UpdateAgent(info) => {
                let id = agent_id(info)?;
                match r.agents.get_mut(&id) {
                    None => Err(OperationError::NotAdmitted(id)),
                    Some(old) if old == info => Ok(false),
                    Some(old) => {
                        *old = info.clone();
                        Ok(true)
                    }
                }
            }
            Operation::MarkUnreachable { agent_id, time } => {
                if r.agents.remove(agent_id).is_none() {
                    return Err(OperationError::NotAdmitted(agent_id.clone()));
                }
                r.unreachable.insert(agent_id.clone(), *time);
                Ok(true)
            }
            Operation::MarkReachable(info) => {
                let id = agent_id(info)?;
                if r.gone.contains_key(&id) {
                    return Err(OperationError::Gone(id));
                }
                if r.agents.contains_key(&id) {
                    return Ok(false);
                }
                // The entry may already have been pruned; the agent is admitted anyway.
                r.unreachable.remove(&id);
                r.agents.insert(id, info.clone());
                Ok(true)
            }
            Operation::MarkGone { agent_id, time } => {
                if r.gone.contains_key(agent_id) {
                    return Ok(false);
                }
                let known =
                    r.agents.remove(agent_id).is_some() | r.unreachable.remove(agent_id).is_some();
                if !known {
                    return Err(OperationError::NotAdmitted(agent_id.clone()));
                }
                r.gone.insert(agent_id.clone(), *time);
                Ok(true)
            }
            Operation::RemoveAgent(id) => Ok(r.agents.remove(id).is_some()),
            Operation::Prune {
                now,
                max_age,
                max_count,
            } => {
                let cutoff = now
                    .nanoseconds
                    .saturating_sub(i64::try_from(max_age.as_nanos()).unwrap_or(i64::MAX));
                let mut changed = false;
                for list in [&mut r.unreachable, &mut r.gone] {
                    let before = list.len();
                    list.retain(|_, t| t.nanoseconds >= cutoff);
                    let max = usize::try_from(*max_count).unwrap_or(usize::MAX);
                    if list.len() > max {
                        let mut by_age: Vec<(i64, String)> = list
                            .iter()
                            .map(|(id, t)| (t.nanoseconds, id.clone()))
                            .collect();
                        by_age.sort();
                        let excess = list.len() - max;
                        for (_, id) in by_age.into_iter().take(excess) {
                            list.remove(&id);
                        }
                    }
                    changed |= list.len() != before;
                }
                Ok(changed)
            }
            Operation::UpdateWeights(weights) => {
                let mut changed = false;
                for (role, w) in weights {
                    changed |= r.weights.insert(role.clone(), *w) != Some(*w);
                }
                Ok(changed)
            }
            Operation::UpdateQuota(config) => {
                if config.guarantees.is_empty() && config.limits.is_empty() {
                    return Ok(r.quotas.remove(&config.role).is_some());
                }
                let changed = r.quotas.get(&config.role) != Some(config);
                r.quotas.insert(config.role.clone(), config.clone());
                Ok(changed)
            }
        }
    }
}

fn agent_id(info: &v1::AgentInfo) -> Result<String, OperationError> {
    match &info.id {
        Some(id) if !id.value.is_empty() => Ok(id.value.clone()),
        _ => Err(OperationError::MissingId(info.hostname.clone())),
    }
}

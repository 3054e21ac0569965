//! The master's in-memory model: frameworks, agents, tasks, executors and offers, and the
//! state transitions the master actor applies to it.
//!
//! Tasks live in their framework (`Framework::tasks`); an agent only indexes task ids per
//! framework, so each task has exactly one owner. Resources are tracked per agent
//! (`used` per framework, `offered`); cluster-wide figures are computed when rendered.
//! Every transition takes `now` (seconds since the epoch, from the Clock) and returns
//! the messages it implies (status updates to forward) rather than sending anything.

pub mod agent;
pub mod bounded;
pub mod framework;
pub mod ids;

use std::collections::HashMap;

use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;
use mesos_protos::v1::TaskState;

use crate::flags::MasterFlags;
use crate::status::{self, is_terminal, master_update, state_for_framework, MasterUpdate};

pub use agent::Agent;
pub use bounded::{BoundedMap, BoundedQueue};
pub use framework::{Connection, Framework};
pub use ids::IdGenerator;

/// The bounds Mesos puts on what it remembers after the fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `--max_completed_frameworks`.
    pub max_completed_frameworks: usize,
    /// `--max_completed_tasks_per_framework`.
    pub max_completed_tasks_per_framework: usize,
    /// `--max_unreachable_tasks_per_framework`.
    pub max_unreachable_tasks_per_framework: usize,
}

impl Limits {
    /// The limits set by the flags.
    pub fn from_flags(flags: &MasterFlags) -> Self {
        Limits {
            max_completed_frameworks: flags.max_completed_frameworks,
            max_completed_tasks_per_framework: flags.max_completed_tasks_per_framework,
            max_unreachable_tasks_per_framework: flags.max_unreachable_tasks_per_framework,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_completed_frameworks: 50,
            max_completed_tasks_per_framework: 1000,
            max_unreachable_tasks_per_framework: 1000,
        }
    }
}

/// An outstanding offer and what it holds.
#[derive(Debug, Clone)]
pub struct OfferEntry {
    /// The offer as sent to the framework.
    pub offer: v1::Offer,
    /// The offered resources, in the master's (post-refinement, allocated) form.
    pub resources: Resources,
    /// The role the resources are allocated to.
    pub role: String,
    /// When the offer was made.
    pub created: f64,
}

/// Agents in their registry-level states.
#[derive(Debug, Clone, Default)]
pub struct Agents {
    /// Registered agents, connected or not.
    pub registered: HashMap<String, Agent>,
    /// Admitted in the registry but not yet re-registered since this master recovered.
    pub recovered: HashMap<String, v1::AgentInfo>,
    /// Unreachable agents and when they were marked (seconds since the epoch).
    pub unreachable: HashMap<String, f64>,
    /// Agents marked gone and when.
    pub gone: HashMap<String, f64>,
}

/// Errors from state transitions; the master answers them to the peer, never panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// No such framework.
    #[error("unknown framework '{0}'")]
    UnknownFramework(String),
    /// No such registered agent.
    #[error("unknown agent '{0}'")]
    UnknownAgent(String),
    /// No such task.
    #[error("unknown task '{task}' of framework '{framework}'")]
    UnknownTask {
        /// Framework id.
        framework: String,
        /// Task id.
        task: String,
    },
    /// No such offer.
    #[error("unknown offer '{0}'")]
    UnknownOffer(String),
}

/// The whole model.
#[derive(Debug, Clone)]
pub struct MasterState {
    /// This master's info (id, pid, address).
    pub info: v1::MasterInfo,
    /// When this master started (seconds since the epoch).
    pub start_time: f64,
    /// When it was elected, if it leads.
    pub elected_time: Option<f64>,
    /// Id source.
    pub ids: IdGenerator,
    /// Active, disconnected and recovered frameworks.
    pub frameworks: HashMap<String, Framework>,
    /// Removed frameworks, newest last.
    pub completed_frameworks: BoundedQueue<Framework>,
    /// Agents.
    pub agents: Agents,
    /// Outstanding offers by id.
    pub offers: HashMap<String, OfferEntry>,
    /// Memory bounds.
    pub limits: Limits,
    /// Offer operations (RESERVE, CREATE, ...) not yet finished with.
    pub operations: crate::operations::Operations,
}

impl MasterState {
    /// An empty model for the master described by `info`.
    pub fn new(info: v1::MasterInfo, limits: Limits, now: f64) -> Self {
        MasterState {
            ids: IdGenerator::new(info.id.clone()),
            info,
            start_time: now,
            elected_time: None,
            frameworks: HashMap::new(),
            completed_frameworks: BoundedQueue::new(limits.max_completed_frameworks),
            agents: Agents::default(),
            offers: HashMap::new(),
            limits,
            operations: crate::operations::Operations::default(),
        }
    }

    /// Adds a new framework, assigning an id unless `info.id` is set; returns the id.
    pub fn add_framework(
        &mut self,
        info: v1::FrameworkInfo,
        connection: Connection,
        now: f64,
    ) -> String {
        let id = match info.id.as_ref() {
            Some(id) if !id.value.is_empty() => id.value.clone(),
            _ => self.ids.framework(),
        };
        let fw = Framework::new(id.clone(), info, connection, now, &self.limits);
        self.frameworks.insert(id.clone(), fw);
        id
    }

    /// Adds a registered agent.
    pub fn add_agent(&mut self, agent: Agent) {
        self.agents.recovered.remove(&agent.id);
        self.agents.unreachable.remove(&agent.id);
        self.agents.registered.insert(agent.id.clone(), agent);
    }

    /// Records a task the master is launching: state STAGING, resources charged to the
    /// agent, executor recorded. The task must have passed validation.
    pub fn add_task(
        &mut self,
        framework_id: &str,
        task: &v1::TaskInfo,
        user: Option<String>,
    ) -> Result<(), StateError> {
        let agent_id = task.agent_id.value.clone();
        let fw = self
            .frameworks
            .get_mut(framework_id)
            .ok_or_else(|| StateError::UnknownFramework(framework_id.into()))?;
        let agent = self
            .agents
            .registered
            .get_mut(&agent_id)
            .ok_or_else(|| StateError::UnknownAgent(agent_id.clone()))?;

        let mut charged = Resources::from_resources(&task.resources);
        let executor_id = task.executor.as_ref().map(|e| e.executor_id.clone());
        if let Some(executor) = &task.executor {
            let eid = executor.executor_id.value.clone();
            if !agent.has_executor(framework_id, &eid) {
                charged += &Resources::from_resources(&executor.resources);
                agent
                    .executors
                    .entry(framework_id.to_owned())
                    .or_default()
                    .insert(eid.clone(), executor.clone());
                fw.executors
                    .entry(agent_id.clone())
                    .or_default()
                    .insert(eid, executor.clone());
            }
        }
        agent.add_used(framework_id, &charged);
        agent
            .tasks
            .entry(framework_id.to_owned())
            .or_default()
            .insert(task.task_id.value.clone());

        let t = v1::Task {
            name: task.name.clone(),
            task_id: task.task_id.clone(),
            framework_id: v1::FrameworkId {
                value: framework_id.to_owned(),
            },
            executor_id,
            agent_id: task.agent_id.clone(),
            state: TaskState::TaskStaging as i32,
            resources: task.resources.clone(),
            labels: task.labels.clone(),
            discovery: task.discovery.clone(),
            container: task.container.clone(),
            user,
            health_check: task.health_check.clone(),
            ..Default::default()
        };
        fw.tasks.insert(task.task_id.value.clone(), t);
        Ok(())
    }

    /// Adds a task an agent reported when re-registering (state as reported).
    pub fn add_reported_task(&mut self, task: v1::Task) {
        let fid = task.framework_id.value.clone();
        let aid = task.agent_id.value.clone();
        let terminal = is_terminal(status::task_state(task.state));
        if let Some(agent) = self.agents.registered.get_mut(&aid) {
            if !terminal {
                agent.add_used(&fid, &Resources::from_resources(&task.resources));
            }
            agent
                .tasks
                .entry(fid.clone())
                .or_default()
                .insert(task.task_id.value.clone());
        }
        if let Some(fw) = self.frameworks.get_mut(&fid) {
            fw.tasks.insert(task.task_id.value.clone(), task);
        }
    }

    /// Applies a status update from an agent. The task's `state` becomes the update's
    /// `latest_state` (or its status state), the status is appended, and resources are
    /// released the first time a terminal state is seen. Returns whether the task exists.
    pub fn update_task(&mut self, update: &internal::StatusUpdate) -> Result<(), StateError> {
        let fid = &update.framework_id.value;
        let tid = &update.status.task_id.value;
        let fw = self
            .frameworks
            .get_mut(fid)
            .ok_or_else(|| StateError::UnknownFramework(fid.clone()))?;
        let task = fw
            .tasks
            .get_mut(tid)
            .ok_or_else(|| StateError::UnknownTask {
                framework: fid.clone(),
                task: tid.clone(),
            })?;
        let was_terminal = is_terminal(status::task_state(task.state));
        let latest = update.latest_state.unwrap_or(update.status.state);
        task.state = latest;
        task.status_update_state = Some(update.status.state);
        task.status_update_uuid = update.uuid.clone();
        let mut recorded = update.status.clone();
        recorded.data = None;
        // Keep one entry per state transition, as the latest status per state is
        // what the endpoints show.
        if task.statuses.last().map(|s| s.state) != Some(recorded.state) {
            task.statuses.push(recorded);
        } else if let Some(last) = task.statuses.last_mut() {
            *last = recorded;
        }
        if !was_terminal && is_terminal(status::task_state(latest)) {
            let resources = Resources::from_resources(&task.resources);
            if let Some(agent) = self.agents.registered.get_mut(&task.agent_id.value) {
                agent.recover_used(fid, &resources);
            }
        }
        Ok(())
    }

    /// Removes a task (after its terminal update was acknowledged, or when its agent or
    /// framework goes away) into the framework's completed or unreachable tasks.
    pub fn remove_task(
        &mut self,
        framework_id: &str,
        task_id: &str,
        unreachable: bool,
    ) -> Result<v1::Task, StateError> {
        let fw = self
            .frameworks
            .get_mut(framework_id)
            .ok_or_else(|| StateError::UnknownFramework(framework_id.into()))?;
        let task = fw
            .tasks
            .remove(task_id)
            .ok_or_else(|| StateError::UnknownTask {
                framework: framework_id.into(),
                task: task_id.into(),
            })?;
        let aid = &task.agent_id.value;
        if let Some(agent) = self.agents.registered.get_mut(aid) {
            if !is_terminal(status::task_state(task.state)) {
                agent.recover_used(framework_id, &Resources::from_resources(&task.resources));
            }
            if let Some(ids) = agent.tasks.get_mut(framework_id) {
                ids.remove(task_id);
                if ids.is_empty() {
                    agent.tasks.remove(framework_id);
                }
            }
        }
        if unreachable {
            fw.unreachable_tasks
                .insert(task_id.to_owned(), task.clone());
        } else {
            fw.completed_tasks.push(task.clone());
        }
        Ok(task)
    }

    /// Handles a scheduler's acknowledgement: when it acknowledges the terminal update
    /// the task currently holds, the task is removed. Returns whether it was removed.
    pub fn acknowledge(
        &mut self,
        framework_id: &str,
        task_id: &str,
        uuid: &[u8],
    ) -> Result<bool, StateError> {
        let fw = self
            .frameworks
            .get(framework_id)
            .ok_or_else(|| StateError::UnknownFramework(framework_id.into()))?;
        let Some(task) = fw.tasks.get(task_id) else {
            return Ok(false);
        };
        let acked_terminal = task.status_update_uuid.as_deref() == Some(uuid)
            && task
                .status_update_state
                .is_some_and(|s| is_terminal(status::task_state(s)));
        if acked_terminal {
            self.remove_task(framework_id, task_id, false)?;
        }
        Ok(acked_terminal)
    }

    /// Records an offer: its resources move from available to offered on the agent.
    pub fn add_offer(&mut self, entry: OfferEntry) -> Result<(), StateError> {
        let id = entry.offer.id.value.clone();
        let aid = entry.offer.agent_id.value.clone();
        let fid = entry.offer.framework_id.value.clone();
        let agent = self
            .agents
            .registered
            .get_mut(&aid)
            .ok_or_else(|| StateError::UnknownAgent(aid.clone()))?;
        let fw = self
            .frameworks
            .get_mut(&fid)
            .ok_or_else(|| StateError::UnknownFramework(fid.clone()))?;
        agent.offered += &entry.resources;
        agent.offers.insert(id.clone());
        fw.offers.insert(id.clone());
        self.offers.insert(id, entry);
        Ok(())
    }

    /// Removes an offer (accepted, declined, rescinded or expired), returning it so the
    /// caller can give its resources back to the allocator.
    pub fn remove_offer(&mut self, offer_id: &str) -> Result<OfferEntry, StateError> {
        let entry = self
            .offers
            .remove(offer_id)
            .ok_or_else(|| StateError::UnknownOffer(offer_id.into()))?;
        if let Some(agent) = self.agents.registered.get_mut(&entry.offer.agent_id.value) {
            agent.offered -= &entry.resources;
            agent.offers.remove(offer_id);
        }
        if let Some(fw) = self.frameworks.get_mut(&entry.offer.framework_id.value) {
            fw.offers.remove(offer_id);
        }
        Ok(entry)
    }

    /// Marks a registered agent unreachable: its offers are removed, its tasks become
    /// TASK_UNREACHABLE (TASK_LOST for frameworks that are not partition-aware) and move
    /// to the frameworks' unreachable tasks. Returns the removed offers and the updates
    /// to forward.
    pub fn mark_agent_unreachable(
        &mut self,
        agent_id: &str,
        now: f64,
    ) -> Result<(Vec<OfferEntry>, Vec<internal::StatusUpdate>), StateError> {
        let offers = self.remove_agent_offers(agent_id)?;
        let updates = self.transition_agent_tasks(
            agent_id,
            TaskState::TaskUnreachable,
            Reason::AgentRemoved,
            "Agent is unreachable",
            Some(now),
            true,
            now,
        );
        self.agents.registered.remove(agent_id);
        self.agents.unreachable.insert(agent_id.to_owned(), now);
        Ok((offers, updates))
    }

    /// Marks an agent gone (operator MARK_AGENT_GONE): tasks become
    /// TASK_GONE_BY_OPERATOR (or TASK_LOST) and are completed.
    pub fn mark_agent_gone(
        &mut self,
        agent_id: &str,
        now: f64,
    ) -> (Vec<OfferEntry>, Vec<internal::StatusUpdate>) {
        let offers = self.remove_agent_offers(agent_id).unwrap_or_default();
        let updates = self.transition_agent_tasks(
            agent_id,
            TaskState::TaskGoneByOperator,
            Reason::AgentRemovedByOperator,
            "Agent has been marked gone",
            None,
            false,
            now,
        );
        self.agents.registered.remove(agent_id);
        self.agents.recovered.remove(agent_id);
        self.agents.unreachable.remove(agent_id);
        self.agents.gone.insert(agent_id.to_owned(), now);
        // Its operations are over; reconciliation answers OPERATION_GONE_BY_OPERATOR.
        self.operations.remove_agent(agent_id);
        (offers, updates)
    }

    fn remove_agent_offers(&mut self, agent_id: &str) -> Result<Vec<OfferEntry>, StateError> {
        let agent = self
            .agents
            .registered
            .get(agent_id)
            .ok_or_else(|| StateError::UnknownAgent(agent_id.into()))?;
        let ids: Vec<String> = agent.offers.iter().cloned().collect();
        Ok(ids
            .iter()
            .filter_map(|id| self.remove_offer(id).ok())
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn transition_agent_tasks(
        &mut self,
        agent_id: &str,
        state: TaskState,
        reason: Reason,
        message: &str,
        unreachable_time: Option<f64>,
        unreachable: bool,
        now: f64,
    ) -> Vec<internal::StatusUpdate> {
        let Some(agent) = self.agents.registered.get(agent_id) else {
            return Vec::new();
        };
        let mut pairs: Vec<(String, String)> = agent
            .tasks
            .iter()
            .flat_map(|(f, ts)| ts.iter().map(move |t| (f.clone(), t.clone())))
            .collect();
        pairs.sort();
        let mut updates = Vec::new();
        for (fid, tid) in pairs {
            let Some(fw) = self.frameworks.get_mut(&fid) else {
                continue;
            };
            let Some(task) = fw.tasks.get(&tid) else {
                continue;
            };
            let current = status::task_state(task.state);
            if !is_terminal(current) {
                let told = state_for_framework(state, fw.partition_aware());
                let update = master_update(
                    MasterUpdate {
                        framework_id: &fid,
                        agent_id: Some(agent_id),
                        task_id: &tid,
                        state: told,
                        reason,
                        message: message.to_owned(),
                        executor_id: task.executor_id.as_ref().map(|e| e.value.as_str()),
                        unreachable_time,
                    },
                    now,
                );
                let _ = self.update_task(&update);
                updates.push(update);
            }
            let _ = self.remove_task(&fid, &tid, unreachable && !is_terminal(current));
        }
        if let Some(agent) = self.agents.registered.get(agent_id) {
            let fids: Vec<String> = agent.executors.keys().cloned().collect();
            for fid in fids {
                if let Some(fw) = self.frameworks.get_mut(&fid) {
                    fw.executors.remove(agent_id);
                }
            }
        }
        updates
    }

    /// Marks a framework disconnected: inactive, no stream, offers removed (returned).
    pub fn disconnect_framework(
        &mut self,
        framework_id: &str,
        now: f64,
    ) -> Result<Vec<OfferEntry>, StateError> {
        let fw = self
            .frameworks
            .get_mut(framework_id)
            .ok_or_else(|| StateError::UnknownFramework(framework_id.into()))?;
        fw.connection = Connection::Disconnected;
        fw.active = false;
        fw.unregistered_time = Some(now);
        let ids: Vec<String> = fw.offers.iter().cloned().collect();
        Ok(ids
            .iter()
            .filter_map(|id| self.remove_offer(id).ok())
            .collect())
    }

    /// Removes a framework (TEARDOWN or failover timeout): its live tasks become
    /// TASK_KILLED (reason FRAMEWORK_REMOVED), its offers are removed, its executors
    /// forgotten, and it moves to the completed frameworks. Returns the removed offers,
    /// the updates, and the agents that must be told to shut the framework down.
    pub fn remove_framework(
        &mut self,
        framework_id: &str,
        now: f64,
    ) -> Result<RemovedFramework, StateError> {
        let offers = self.disconnect_framework(framework_id, now)?;
        let Some(fw) = self.frameworks.get(framework_id) else {
            return Err(StateError::UnknownFramework(framework_id.into()));
        };
        let mut task_ids: Vec<String> = fw.tasks.keys().cloned().collect();
        task_ids.sort();
        let mut agents: Vec<String> = fw
            .tasks
            .values()
            .map(|t| t.agent_id.value.clone())
            .chain(fw.executors.keys().cloned())
            .collect();
        agents.sort();
        agents.dedup();
        let mut updates = Vec::new();
        for tid in task_ids {
            let Some(task) = self
                .frameworks
                .get(framework_id)
                .and_then(|f| f.tasks.get(&tid))
            else {
                continue;
            };
            if !is_terminal(status::task_state(task.state)) {
                let update = master_update(
                    MasterUpdate {
                        framework_id,
                        agent_id: Some(&task.agent_id.value),
                        task_id: &tid,
                        state: TaskState::TaskKilled,
                        reason: Reason::FrameworkRemoved,
                        message: format!("Framework {framework_id} removed"),
                        executor_id: task.executor_id.as_ref().map(|e| e.value.as_str()),
                        unreachable_time: None,
                    },
                    now,
                );
                let _ = self.update_task(&update);
                updates.push(update);
            }
            let _ = self.remove_task(framework_id, &tid, false);
        }
        for aid in &agents {
            if let Some(agent) = self.agents.registered.get_mut(aid) {
                if let Some(execs) = agent.executors.remove(framework_id) {
                    let mut freed = Resources::new();
                    for e in execs.values() {
                        freed += &Resources::from_resources(&e.resources);
                    }
                    agent.recover_used(framework_id, &freed);
                }
                agent.used.remove(framework_id);
            }
        }
        if let Some(mut fw) = self.frameworks.remove(framework_id) {
            fw.executors.clear();
            fw.unregistered_time = Some(now);
            self.completed_frameworks.push(fw);
        }
        Ok(RemovedFramework {
            offers,
            updates,
            agents,
        })
    }

    /// Tasks of a framework on an agent, for reconciliation on re-registration.
    pub fn tasks_on_agent<'a>(
        &'a self,
        agent_id: &str,
        framework_id: &'a str,
    ) -> impl Iterator<Item = &'a v1::Task> + 'a {
        let ids = self
            .agents
            .registered
            .get(agent_id)
            .and_then(|a| a.tasks.get(framework_id));
        let fw = self.frameworks.get(framework_id);
        ids.into_iter()
            .flatten()
            .filter_map(move |tid| fw.and_then(|f| f.tasks.get(tid)))
    }
}

/// What removing a framework implies for the caller.
#[derive(Debug, Clone, Default)]
pub struct RemovedFramework {
    /// Offers that were outstanding (give their resources back).
    pub offers: Vec<OfferEntry>,
    /// TASK_KILLED updates for the record (the scheduler is gone).
    pub updates: Vec<internal::StatusUpdate>,
    /// Agents that ran the framework's tasks or executors (send ShutdownFrameworkMessage).
    pub agents: Vec<String>,
}

#[cfg(test)]
mod tests;

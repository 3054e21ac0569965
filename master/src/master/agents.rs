//! Agents: registration, re-registration, pings, disconnection, unreachability, and
//! what agents report (status updates, executor messages and exits).

use std::collections::HashSet;

use libprocess::{Context, Reply, Response, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use mesos_protos::v1;

use super::{AgentLink, Master};
use crate::allocator::AgentConfig;
use crate::registrar::Operation;
use crate::state::{Agent, Connection};
use crate::status::{is_terminal, task_state, time_info};

impl Master {
    pub(super) fn register_agent(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::RegisterSlaveMessage,
    ) {
        self.counters.messages_register_slave += 1;
        if let Some(id) = self.agents_by_pid.get(from.as_str()).cloned() {
            // A retry after our reply was lost: answer again with the same id.
            ctx.send(
                from,
                internal::SlaveRegisteredMessage {
                    slave_id: v1::AgentId { value: id },
                    connection: Some(self.connection_info()),
                },
            );
            return;
        }
        if self.admitting.contains_key(from.as_str()) {
            return;
        }
        if let Err(reason) = validate_agent_info(&msg.slave) {
            ctx.send(
                from,
                internal::ShutdownMessage {
                    message: Some(reason),
                },
            );
            return;
        }
        let id = self.state.ids.agent();
        let mut info = msg.slave.clone();
        info.id = Some(v1::AgentId { value: id.clone() });
        self.admitting.insert(from.as_str().to_owned(), id.clone());
        let from = from.clone();
        self.registry_op(
            ctx,
            Operation::AdmitAgent(info.clone()),
            Box::new(move |m, ctx, result| {
                m.admitting.remove(from.as_str());
                if !matches!(result, Ok(Ok(true))) {
                    ctx.send(
                        &from,
                        internal::ShutdownMessage {
                            message: Some(format!("agent admission failed: {result:?}")),
                        },
                    );
                    return;
                }
                let now = Master::now(ctx);
                let agent = Agent::new(
                    id.clone(),
                    info,
                    from.as_str().to_owned(),
                    msg.version.unwrap_or_default(),
                    msg.agent_capabilities,
                    &msg.checkpointed_resources,
                    now,
                );
                m.admit(ctx, agent, &from, &[]);
                m.counters.slave_registrations += 1;
                ctx.send(
                    &from,
                    internal::SlaveRegisteredMessage {
                        slave_id: v1::AgentId { value: id },
                        connection: Some(m.connection_info()),
                    },
                );
            }),
        );
    }

    /// Adds an agent to the model, the allocator and the ping sweep.
    fn admit(
        &mut self,
        ctx: &mut Context<Self>,
        agent: Agent,
        pid: &Upid,
        used: &[(String, Resources)],
    ) {
        let id = agent.id.clone();
        let config = AgentConfig {
            total: agent.total.clone(),
            region: agent
                .info
                .domain
                .as_ref()
                .and_then(|d| d.fault_domain.as_ref())
                .map(|f| f.region.name.clone()),
        };
        self.state.add_agent(agent);
        if let Err(e) = self.allocator.add_agent(&id, &config, used) {
            tracing::warn!(agent = %id, error = %e, "allocator refused the agent");
        }
        ctx.link(pid);
        self.agents_by_pid
            .insert(pid.as_str().to_owned(), id.clone());
        self.agent_links.insert(
            id.clone(),
            AgentLink {
                pid: pid.clone(),
                pings_missed: 0,
                awaiting_pong: false,
            },
        );
        self.operator_agent_added(&id);
    }

    pub(super) fn reregister_agent(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::ReregisterSlaveMessage,
    ) {
        self.counters.messages_reregister_slave += 1;
        let Some(id) = msg
            .slave
            .id
            .clone()
            .map(|i| i.value)
            .filter(|i| !i.is_empty())
        else {
            ctx.send(
                from,
                internal::ShutdownMessage {
                    message: Some("agent re-registered without an agent id".into()),
                },
            );
            return;
        };
        if self.state.agents.gone.contains_key(&id) {
            ctx.send(
                from,
                internal::ShutdownMessage {
                    message: Some(format!("Agent {id} has been marked gone")),
                },
            );
            return;
        }
        if let Err(reason) = validate_agent_info(&msg.slave) {
            ctx.send(
                from,
                internal::ShutdownMessage {
                    message: Some(reason),
                },
            );
            return;
        }
        if self.state.agents.registered.contains_key(&id) {
            self.reconnect_agent(ctx, from, &id);
            return;
        }
        if self.admitting.contains_key(from.as_str()) {
            return;
        }
        if self.state.agents.recovered.contains_key(&id) {
            // Known from the registry after failover: no write needed.
            self.readmit(ctx, from, msg, false);
            return;
        }
        let was_unreachable = self.state.agents.unreachable.contains_key(&id);
        self.admitting.insert(from.as_str().to_owned(), id);
        let from = from.clone();
        self.registry_op(
            ctx,
            Operation::MarkReachable(msg.slave.clone()),
            Box::new(move |m, ctx, result| {
                m.admitting.remove(from.as_str());
                if !matches!(result, Ok(Ok(_))) {
                    ctx.send(
                        &from,
                        internal::ShutdownMessage {
                            message: Some(format!("agent re-admission failed: {result:?}")),
                        },
                    );
                    return;
                }
                m.readmit(ctx, &from, msg, was_unreachable);
            }),
        );
    }

    /// A registered agent re-registered (new connection or retry): refresh its pid.
    fn reconnect_agent(&mut self, ctx: &mut Context<Self>, from: &Upid, id: &str) {
        let now = Master::now(ctx);
        if let Some(agent) = self.state.agents.registered.get_mut(id) {
            if agent.pid != from.as_str() {
                self.agents_by_pid.remove(&agent.pid);
                agent.pid = from.as_str().to_owned();
            }
            agent.reregistered_time = Some(now);
            if !agent.connected {
                agent.connected = true;
                agent.active = true;
                let _ = self.allocator.activate_agent(id);
            }
        }
        ctx.link(from);
        self.agents_by_pid
            .insert(from.as_str().to_owned(), id.to_owned());
        self.agent_links.insert(
            id.to_owned(),
            AgentLink {
                pid: from.clone(),
                pings_missed: 0,
                awaiting_pong: false,
            },
        );
        self.counters.slave_reregistrations += 1;
        let reconciliations = self.reconciliations_for(id);
        ctx.send(
            from,
            internal::SlaveReregisteredMessage {
                slave_id: v1::AgentId {
                    value: id.to_owned(),
                },
                reconciliations,
                connection: Some(self.connection_info()),
            },
        );
    }

    /// Tasks the master believes run on the agent, per framework, for the agent to
    /// answer unknown ones.
    fn reconciliations_for(&self, agent_id: &str) -> Vec<internal::ReconcileTasksMessage> {
        let Some(agent) = self.state.agents.registered.get(agent_id) else {
            return Vec::new();
        };
        let mut fids: Vec<&String> = agent.tasks.keys().collect();
        fids.sort();
        fids.into_iter()
            .map(|fid| internal::ReconcileTasksMessage {
                framework_id: v1::FrameworkId { value: fid.clone() },
                statuses: self
                    .state
                    .tasks_on_agent(agent_id, fid)
                    .map(|t| v1::TaskStatus {
                        task_id: t.task_id.clone(),
                        state: t.state,
                        agent_id: Some(t.agent_id.clone()),
                        ..Default::default()
                    })
                    .collect(),
                framework: self.state.frameworks.get(fid).map(|f| f.info.clone()),
            })
            .collect()
    }

    /// Re-admits a re-registering agent with the tasks and executors it reports.
    fn readmit(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::ReregisterSlaveMessage,
        was_unreachable: bool,
    ) {
        let now = Master::now(ctx);
        let id = msg.slave.id.clone().unwrap_or_default().value;
        let mut agent = Agent::new(
            id.clone(),
            msg.slave.clone(),
            from.as_str().to_owned(),
            msg.version.clone().unwrap_or_default(),
            msg.agent_capabilities.clone(),
            &msg.checkpointed_resources,
            now,
        );
        agent.reregistered_time = Some(now);
        let completed: HashSet<String> = self
            .state
            .completed_frameworks
            .iter()
            .map(|f| f.id.clone())
            .collect();
        // Frameworks the master does not know yet come back as "recovered".
        for info in &msg.frameworks {
            let fid = info.id.clone().unwrap_or_default().value;
            if fid.is_empty()
                || completed.contains(&fid)
                || self.state.frameworks.contains_key(&fid)
            {
                continue;
            }
            self.state
                .add_framework(info.clone(), Connection::Recovered, now);
            let config = crate::allocator::FrameworkConfig::from_info(info, &[]);
            let _ = self.allocator.add_framework(&fid, &config, &[], false);
        }
        let mut to_shutdown: Vec<String> = Vec::new();
        let mut kept: Vec<v1::Task> = Vec::new();
        for task in msg.tasks {
            let fid = task.framework_id.value.clone();
            if completed.contains(&fid) {
                to_shutdown.push(fid);
                continue;
            }
            let aware = self
                .state
                .frameworks
                .get(&fid)
                .is_some_and(|f| f.partition_aware());
            if was_unreachable && !aware {
                // Their tasks were reported LOST while the agent was away.
                to_shutdown.push(fid);
                continue;
            }
            let mut task = task;
            if let Some(fw) = self.state.frameworks.get_mut(&fid) {
                fw.unreachable_tasks.remove(&task.task_id.value);
                // Older agents report resources without allocation info; charge them to
                // the framework's (first) role, as Mesos does for single-role frameworks.
                let role = fw.roles().into_iter().next().unwrap_or_else(|| "*".into());
                for r in &mut task.resources {
                    if r.allocation_info.is_none() {
                        r.allocation_info = Some(v1::resource::AllocationInfo {
                            role: Some(role.clone()),
                        });
                    }
                }
            }
            kept.push(task);
        }
        for e in &msg.executor_infos {
            let fid = e.framework_id.clone().unwrap_or_default().value;
            if to_shutdown.contains(&fid) || !self.state.frameworks.contains_key(&fid) {
                continue;
            }
            agent
                .executors
                .entry(fid.clone())
                .or_default()
                .insert(e.executor_id.value.clone(), e.clone());
            let r = Resources::from_resources(&e.resources);
            agent.add_used(&fid, &r);
            if let Some(fw) = self.state.frameworks.get_mut(&fid) {
                fw.executors
                    .entry(id.clone())
                    .or_default()
                    .insert(e.executor_id.value.clone(), e.clone());
            }
        }
        let mut used: Vec<(String, Resources)> = Vec::new();
        for t in &kept {
            if !is_terminal(task_state(t.state)) {
                used.push((
                    t.framework_id.value.clone(),
                    Resources::from_resources(&t.resources),
                ));
            }
        }
        for (fid, r) in &agent.used {
            used.push((fid.clone(), r.clone()));
        }
        self.admit(ctx, agent, from, &used);
        for t in kept {
            self.state.add_reported_task(t);
        }
        to_shutdown.sort();
        to_shutdown.dedup();
        for fid in to_shutdown {
            ctx.send(
                from,
                internal::ShutdownFrameworkMessage {
                    framework_id: v1::FrameworkId { value: fid },
                },
            );
        }
        self.counters.slave_reregistrations += 1;
        let reconciliations = self.reconciliations_for(&id);
        ctx.send(
            from,
            internal::SlaveReregisteredMessage {
                slave_id: v1::AgentId { value: id },
                reconciliations,
                connection: Some(self.connection_info()),
            },
        );
    }

    pub(super) fn pong(&mut self, from: &Upid) {
        if let Some(id) = self.agents_by_pid.get(from.as_str()) {
            if let Some(link) = self.agent_links.get_mut(id) {
                link.pings_missed = 0;
                link.awaiting_pong = false;
            }
        }
    }

    pub(super) fn schedule_ping_sweep(&mut self, ctx: &mut Context<Self>) {
        let every = self.flags.agent_ping_timeout;
        ctx.delay(every, |m: &mut Master, ctx| {
            m.ping_sweep(ctx);
            m.schedule_ping_sweep(ctx);
        });
    }

    /// One ping round: a ping unanswered since the last round is a miss; after
    /// `--max_agent_ping_timeouts` misses in a row the agent becomes unreachable.
    fn ping_sweep(&mut self, ctx: &mut Context<Self>) {
        let max = self.flags.max_agent_ping_timeouts;
        let mut ids: Vec<String> = self.agent_links.keys().cloned().collect();
        ids.sort();
        let mut failed = Vec::new();
        for id in ids {
            let connected = self
                .state
                .agents
                .registered
                .get(&id)
                .is_some_and(|a| a.connected);
            let Some(link) = self.agent_links.get_mut(&id) else {
                continue;
            };
            if link.awaiting_pong {
                link.pings_missed += 1;
                if link.pings_missed >= max {
                    failed.push(id);
                    continue;
                }
            }
            link.awaiting_pong = true;
            let pid = link.pid.clone();
            ctx.send(&pid, internal::PingSlaveMessage { connected });
        }
        for id in failed {
            self.agent_links.remove(&id);
            self.mark_unreachable(ctx, &id);
        }
    }

    /// Marks an agent unreachable in the registry, then in the model: its tasks become
    /// TASK_UNREACHABLE (or TASK_LOST) and the frameworks are told.
    pub(super) fn mark_unreachable(&mut self, ctx: &mut Context<Self>, agent_id: &str) {
        let now = Master::now(ctx);
        let id = agent_id.to_owned();
        self.registry_op(
            ctx,
            Operation::MarkUnreachable {
                agent_id: id.clone(),
                time: time_info(now),
            },
            Box::new(move |m, ctx, result| {
                if !matches!(result, Ok(Ok(_))) {
                    tracing::warn!(agent = %id, ?result, "could not mark agent unreachable");
                    return;
                }
                m.counters.slave_removals += 1;
                let pid = m.state.agents.registered.get(&id).map(|a| a.pid.clone());
                if let Some(pid) = pid {
                    m.agents_by_pid.remove(&pid);
                }
                let now = Master::now(ctx);
                let Ok((offers, updates)) = m.state.mark_agent_unreachable(&id, now) else {
                    return;
                };
                for o in offers {
                    m.rescind_offer_event(&o);
                }
                let _ = m.allocator.remove_agent(&id);
                m.operator_agent_removed(&id);
                m.counters.slave_removals_unhealthy += 1;
                for u in updates {
                    m.counters.task_entered(task_state(u.status.state));
                    m.forward_update(ctx, &u);
                }
            }),
        );
    }

    /// Operator MARK_AGENT_GONE: answered once the registry holds the change.
    pub(super) fn mark_agent_gone(&mut self, ctx: &mut Context<Self>, agent_id: String) -> Reply {
        if self.state.agents.gone.contains_key(&agent_id) {
            return Response::status(200).into();
        }
        if self.marking_gone.contains(&agent_id) {
            return Response::status(503)
                .with_body(format!(
                    "Agent '{agent_id}' is already being transitioned to gone"
                ))
                .into();
        }
        let known = self.state.agents.registered.contains_key(&agent_id)
            || self.state.agents.recovered.contains_key(&agent_id)
            || self.state.agents.unreachable.contains_key(&agent_id);
        if !known {
            return Response::status(404)
                .with_body(format!("Agent '{agent_id}' not found"))
                .into();
        }
        self.marking_gone.insert(agent_id.clone());
        let now = Master::now(ctx);
        let (tx, rx) = futures::channel::oneshot::channel::<Response>();
        let id = agent_id.clone();
        self.registry_op(
            ctx,
            Operation::MarkGone {
                agent_id,
                time: time_info(now),
            },
            Box::new(move |m, ctx, result| {
                m.marking_gone.remove(&id);
                if !matches!(result, Ok(Ok(_))) {
                    let _ = tx.send(
                        Response::status(500)
                            .with_body(format!("registry update failed: {result:?}")),
                    );
                    return;
                }
                let pid = m.agent_links.remove(&id).map(|l| l.pid);
                if let Some(pid) = &pid {
                    m.agents_by_pid.remove(pid.as_str());
                    ctx.send(
                        pid,
                        internal::ShutdownMessage {
                            message: Some("Agent has been marked gone".into()),
                        },
                    );
                }
                let now = Master::now(ctx);
                let (offers, updates) = m.state.mark_agent_gone(&id, now);
                for o in offers {
                    m.rescind_offer_event(&o);
                }
                let _ = m.allocator.remove_agent(&id);
                m.operator_agent_removed(&id);
                for u in updates {
                    m.counters.task_entered(task_state(u.status.state));
                    m.forward_update(ctx, &u);
                }
                let _ = tx.send(Response::status(200));
            }),
        );
        Reply::later(async move {
            rx.await
                .unwrap_or_else(|_| Response::status(503).with_body("master terminated"))
        })
    }

    /// Every `--registry_gc_interval`, unreachable and gone entries older than
    /// `--registry_max_agent_age` or beyond `--registry_max_agent_count` are pruned.
    pub(super) fn schedule_registry_gc(&mut self, ctx: &mut Context<Self>) {
        let every = self.flags.registry_gc_interval;
        ctx.delay(every, |m: &mut Master, ctx| {
            let op = Operation::Prune {
                now: time_info(Master::now(ctx)),
                max_age: m.flags.registry_max_agent_age,
                max_count: m.flags.registry_max_agent_count,
            };
            m.registry_op(
                ctx,
                op,
                Box::new(|m, _ctx, _result| {
                    let reg = m.registrar.state();
                    let (unreachable, gone) = (reg.unreachable.clone(), reg.gone.clone());
                    m.state
                        .agents
                        .unreachable
                        .retain(|id, _| unreachable.contains_key(id));
                    m.state.agents.gone.retain(|id, _| gone.contains_key(id));
                }),
            );
            m.schedule_registry_gc(ctx);
        });
    }

    /// After failover, agents that did not re-register in time become unreachable.
    pub(super) fn reregister_timeout(&mut self, ctx: &mut Context<Self>) {
        let mut ids: Vec<String> = self.state.agents.recovered.keys().cloned().collect();
        ids.sort();
        let now = Master::now(ctx);
        for id in ids {
            let agent = id.clone();
            self.registry_op(
                ctx,
                Operation::MarkUnreachable {
                    agent_id: id,
                    time: time_info(now),
                },
                Box::new(move |m, ctx, result| {
                    if matches!(result, Ok(Ok(_)))
                        && m.state.agents.recovered.remove(&agent).is_some()
                    {
                        m.state.agents.unreachable.insert(agent, Master::now(ctx));
                    }
                }),
            );
        }
    }

    /// The link to an agent broke: it stays registered but disconnected and inactive;
    /// pings continue and decide whether it becomes unreachable.
    pub(super) fn agent_disconnected(&mut self, _ctx: &mut Context<Self>, agent_id: &str) {
        let offers: Vec<String> = match self.state.agents.registered.get_mut(agent_id) {
            Some(agent) => {
                agent.connected = false;
                agent.active = false;
                agent.offers.iter().cloned().collect()
            }
            None => return,
        };
        for oid in offers {
            self.rescind_offer(&oid);
        }
        let _ = self.allocator.deactivate_agent(agent_id);
    }

    pub(super) fn unregister_agent(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::UnregisterSlaveMessage,
    ) {
        let id = msg.slave_id.value;
        let known = self
            .state
            .agents
            .registered
            .get(&id)
            .is_some_and(|a| a.pid == from.as_str());
        if !known {
            return;
        }
        self.registry_op(
            ctx,
            Operation::RemoveAgent(id.clone()),
            Box::new(move |m, ctx, _| {
                let now = Master::now(ctx);
                let (offers, updates) = m.state.mark_agent_gone(&id, now);
                // A clean shutdown is not "gone" in the registry: forget the marker.
                m.state.agents.gone.remove(&id);
                m.agent_links.remove(&id);
                m.agents_by_pid.retain(|_, a| a != &id);
                for o in offers {
                    m.rescind_offer_event(&o);
                }
                let _ = m.allocator.remove_agent(&id);
                m.operator_agent_removed(&id);
                m.counters.slave_removals += 1;
                m.counters.slave_removals_unregistered += 1;
                for u in updates {
                    m.counters.task_entered(task_state(u.status.state));
                    m.forward_update(ctx, &u);
                }
            }),
        );
    }

    pub(super) fn status_update(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::StatusUpdateMessage,
    ) {
        self.counters.messages_status_update += 1;
        let update = msg.update;
        let fid = update.framework_id.value.clone();
        let tid = update.status.task_id.value.clone();
        let from_known_agent = self.agents_by_pid.contains_key(from.as_str());
        if !from_known_agent || !self.state.frameworks.contains_key(&fid) {
            self.counters.invalid_status_updates += 1;
            return;
        }
        let before = self
            .state
            .frameworks
            .get(&fid)
            .and_then(|f| f.tasks.get(&tid))
            .map(|t| {
                (
                    task_state(t.state),
                    t.agent_id.value.clone(),
                    t.resources.clone(),
                )
            });
        match before {
            Some((old, agent_id, resources)) => {
                if self.state.update_task(&update).is_ok() {
                    self.counters.valid_status_updates += 1;
                }
                let new = self
                    .state
                    .frameworks
                    .get(&fid)
                    .and_then(|f| f.tasks.get(&tid))
                    .map(|t| task_state(t.state));
                if let Some(n) = new.filter(|n| *n != old) {
                    self.counters.task_entered(n);
                    self.operator_task_updated(&fid, &update.status, n as i32);
                }
                if !is_terminal(old) && new.is_some_and(is_terminal) {
                    let r = Resources::from_resources(&resources);
                    let now = Master::now_duration(ctx);
                    let _ = self
                        .allocator
                        .recover_resources(&fid, &agent_id, &r, None, now);
                }
            }
            None => self.counters.invalid_status_updates += 1,
        }
        // Forwarded even for unknown tasks, as Mesos does, so the scheduler can ack.
        self.forward_update(ctx, &update);
    }

    pub(super) fn executor_message(
        &mut self,
        _ctx: &mut Context<Self>,
        msg: internal::ExecutorToFrameworkMessage,
    ) {
        let event = mesos_protos::v1::scheduler::Event {
            r#type: Some(mesos_protos::v1::scheduler::event::Type::Message as i32),
            message: Some(mesos_protos::v1::scheduler::event::Message {
                agent_id: msg.slave_id,
                executor_id: msg.executor_id,
                data: msg.data,
            }),
            ..Default::default()
        };
        self.send_event(&msg.framework_id.value, &event);
    }

    pub(super) fn exited_executor(
        &mut self,
        ctx: &mut Context<Self>,
        msg: internal::ExitedExecutorMessage,
    ) {
        let fid = msg.framework_id.value.clone();
        let aid = msg.slave_id.value.clone();
        let eid = msg.executor_id.value.clone();
        let mut freed = None;
        if let Some(agent) = self.state.agents.registered.get_mut(&aid) {
            if let Some(e) = agent.executors.get_mut(&fid).and_then(|m| m.remove(&eid)) {
                let r = Resources::from_resources(&e.resources);
                agent.recover_used(&fid, &r);
                freed = Some(r);
            }
        }
        if let Some(fw) = self.state.frameworks.get_mut(&fid) {
            if let Some(m) = fw.executors.get_mut(&aid) {
                m.remove(&eid);
            }
        }
        if let Some(r) = freed {
            let now = Master::now_duration(ctx);
            let _ = self.allocator.recover_resources(&fid, &aid, &r, None, now);
        }
        let event = mesos_protos::v1::scheduler::Event {
            r#type: Some(mesos_protos::v1::scheduler::event::Type::Failure as i32),
            failure: Some(mesos_protos::v1::scheduler::event::Failure {
                agent_id: Some(msg.slave_id),
                executor_id: Some(msg.executor_id),
                status: Some(msg.status),
            }),
            ..Default::default()
        };
        self.send_event(&fid, &event);
    }
}

/// The checks a (re-)registering agent's info must pass.
pub fn validate_agent_info(info: &v1::AgentInfo) -> Result<(), String> {
    if info.hostname.is_empty() {
        return Err("agent info has an empty hostname".into());
    }
    mesos_protos::resources::validation::validate_resources(&info.resources)
        .map_err(|e| format!("agent resources are invalid: {}", e.message()))?;
    Ok(())
}

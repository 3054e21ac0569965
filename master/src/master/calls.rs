//! Offers (the allocation cycle and `--offer_timeout`) and the scheduler calls that act
//! on them or on tasks: ACCEPT, DECLINE, REVIVE, SUPPRESS, KILL, SHUTDOWN, ACKNOWLEDGE,
//! RECONCILE, MESSAGE.

use std::collections::BTreeMap;

use libprocess::Context;
use mesos_protos::mesos::internal;
use mesos_protos::resources::{convert_resources_format, ResourceFormat, Resources};
use mesos_protos::v1;
use mesos_protos::v1::offer::operation::Type as OpType;
use mesos_protos::v1::scheduler::{call, event, Event};
use mesos_protos::v1::task_status::Reason;
use mesos_protos::v1::TaskState;

use super::Master;
use crate::offers::build_offer;
use crate::reconcile::{reconcile, ReconcileTask};
use crate::status::{master_update, state_for_framework, MasterUpdate};
use crate::validation::{validate_offers, validate_task, validate_task_group};

/// Puts a task's resources into the form validation and the model expect: post-refinement
/// reservations, and `allocation_info` of the offer's role where the framework left it out.
fn normalize_resources(list: &mut [v1::Resource], role: &str) {
    let _ = convert_resources_format(list, ResourceFormat::PostReservationRefinement);
    for r in list.iter_mut() {
        if r.allocation_info.is_none() {
            r.allocation_info = Some(v1::resource::AllocationInfo {
                role: Some(role.to_owned()),
            });
        }
    }
}

fn normalize_executor(e: &mut v1::ExecutorInfo, fid: &str, role: &str) {
    if e.framework_id.is_none() {
        e.framework_id = Some(v1::FrameworkId {
            value: fid.to_owned(),
        });
    }
    normalize_resources(&mut e.resources, role);
}

fn normalize_task(t: &mut v1::TaskInfo, fid: &str, role: &str) {
    normalize_resources(&mut t.resources, role);
    if let Some(e) = t.executor.as_mut() {
        normalize_executor(e, fid, role);
    }
}

impl Master {
    /// One allocation cycle's output: turns allocations into offers, one OFFERS event per
    /// framework.
    pub(super) fn allocate(
        &mut self,
        ctx: &mut Context<Self>,
        allocations: Vec<crate::allocator::Allocation>,
    ) {
        let now = Master::now(ctx);
        let mut by_framework: BTreeMap<String, Vec<v1::Offer>> = BTreeMap::new();
        for a in allocations {
            let usable = self
                .state
                .frameworks
                .get(&a.framework_id)
                .is_some_and(|f| f.active)
                && self
                    .state
                    .agents
                    .registered
                    .get(&a.agent_id)
                    .is_some_and(|ag| ag.connected);
            if !usable {
                let _ = self.allocator.recover_resources(
                    &a.framework_id,
                    &a.agent_id,
                    &a.resources,
                    None,
                    Master::now_duration(ctx),
                );
                continue;
            }
            let id = self.state.ids.offer();
            let entry = build_offer(
                id.clone(),
                &self.state.frameworks[&a.framework_id],
                &self.state.agents.registered[&a.agent_id],
                &a.role,
                &a.resources,
                now,
            );
            let offer = entry.offer.clone();
            if self.state.add_offer(entry).is_err() {
                continue;
            }
            if let Some(timeout) = self.flags.offer_timeout {
                let oid = id.clone();
                let t = ctx.delay(timeout, move |m: &mut Master, _ctx| {
                    m.offer_timers.remove(&oid);
                    m.rescind_offer(&oid);
                });
                self.offer_timers.insert(id, t);
            }
            by_framework
                .entry(a.framework_id.clone())
                .or_default()
                .push(offer);
        }
        for (fid, offers) in by_framework {
            let e = Event {
                r#type: Some(event::Type::Offers as i32),
                offers: Some(event::Offers { offers }),
                ..Default::default()
            };
            self.send_event(&fid, &e);
        }
    }

    fn take_offer(
        &mut self,
        ctx: &mut Context<Self>,
        oid: &str,
    ) -> Option<crate::state::OfferEntry> {
        if let Some(t) = self.offer_timers.remove(oid) {
            ctx.cancel_timer(t);
        }
        self.state.remove_offer(oid).ok()
    }

    fn task_error(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        task: &v1::TaskInfo,
        state: TaskState,
        reason: Reason,
        message: String,
    ) {
        let aware = self
            .state
            .frameworks
            .get(fid)
            .is_some_and(|f| f.partition_aware());
        let u = master_update(
            MasterUpdate {
                framework_id: fid,
                agent_id: Some(&task.agent_id.value),
                task_id: &task.task_id.value,
                state: state_for_framework(state, aware),
                reason,
                message,
                executor_id: task.executor.as_ref().map(|e| e.executor_id.value.as_str()),
                unreachable_time: None,
            },
            Master::now(ctx),
        );
        self.forward_update(ctx, &u);
    }

    pub(super) fn accept(&mut self, ctx: &mut Context<Self>, fid: &str, accept: call::Accept) {
        self.counters.messages_launch_tasks += 1;
        let ids: Vec<String> = accept.offer_ids.iter().map(|o| o.value.clone()).collect();
        let refuse = accept
            .filters
            .as_ref()
            .map_or(5.0, |f| f.refuse_seconds.unwrap_or(5.0));
        let target = validate_offers(&ids, &self.state, fid);
        let target = match target {
            Ok(t) => t,
            Err(e) => {
                // Offers of this framework named in the call are returned unfiltered.
                for oid in &ids {
                    let mine = self
                        .state
                        .offers
                        .get(oid)
                        .is_some_and(|o| o.offer.framework_id.value == fid);
                    if mine {
                        if let Some(entry) = self.take_offer(ctx, oid) {
                            let now = Master::now_duration(ctx);
                            let _ = self.allocator.recover_resources(
                                fid,
                                &entry.offer.agent_id.value,
                                &entry.resources,
                                None,
                                now,
                            );
                        }
                    }
                }
                for op in &accept.operations {
                    let tasks: Vec<v1::TaskInfo> =
                        match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
                            Some(OpType::Launch) => {
                                op.launch.clone().map(|l| l.task_infos).unwrap_or_default()
                            }
                            Some(OpType::LaunchGroup) => op
                                .launch_group
                                .clone()
                                .map(|l| l.task_group.tasks)
                                .unwrap_or_default(),
                            _ => Vec::new(),
                        };
                    for t in &tasks {
                        self.task_error(
                            ctx,
                            fid,
                            t,
                            TaskState::TaskDropped,
                            Reason::InvalidOffers,
                            e.0.clone(),
                        );
                    }
                }
                return;
            }
        };

        let mut offered = Resources::new();
        for oid in &ids {
            if let Some(entry) = self.take_offer(ctx, oid) {
                offered += &entry.resources;
            }
        }
        let agent_id = target.agent_id.clone();
        let role = target.role.clone();
        let agent_pid = self.agent_links.get(&agent_id).map(|l| l.pid.clone());
        for op in accept.operations {
            match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
                Some(OpType::Launch) => {
                    for mut task in op.launch.map(|l| l.task_infos).unwrap_or_default() {
                        normalize_task(&mut task, fid, &role);
                        let verdict = validate_task(
                            &task,
                            &self.state.frameworks[fid],
                            &self.state.agents.registered[&agent_id],
                            &offered,
                        );
                        if let Err(e) = verdict {
                            self.task_error(
                                ctx,
                                fid,
                                &task,
                                TaskState::TaskError,
                                Reason::TaskInvalid,
                                e.0,
                            );
                            continue;
                        }
                        let new_executor = task.executor.as_ref().is_none_or(|e| {
                            !self.state.agents.registered[&agent_id]
                                .has_executor(fid, &e.executor_id.value)
                        });
                        let mut used = Resources::from_resources(&task.resources);
                        if let (Some(e), true) = (&task.executor, new_executor) {
                            used += &Resources::from_resources(&e.resources);
                        }
                        offered -= &used;
                        let user = self.state.frameworks[fid].info.user.clone();
                        if self.state.add_task(fid, &task, Some(user)).is_err() {
                            continue;
                        }
                        self.operator_task_added(fid, &task.task_id.value);
                        if let Some(pid) = &agent_pid {
                            ctx.send(
                                pid,
                                internal::RunTaskMessage {
                                    framework: self.state.frameworks[fid].info.clone(),
                                    task,
                                    launch_executor: Some(new_executor),
                                    ..Default::default()
                                },
                            );
                        }
                    }
                }
                Some(OpType::LaunchGroup) => {
                    let Some(lg) = op.launch_group else { continue };
                    let mut executor = lg.executor;
                    normalize_executor(&mut executor, fid, &role);
                    let mut group = lg.task_group;
                    for t in &mut group.tasks {
                        normalize_task(t, fid, &role);
                    }
                    let verdict = validate_task_group(
                        &group,
                        &executor,
                        &self.state.frameworks[fid],
                        &self.state.agents.registered[&agent_id],
                        &offered,
                    );
                    if let Err(e) = verdict {
                        for t in &group.tasks {
                            self.task_error(
                                ctx,
                                fid,
                                t,
                                TaskState::TaskError,
                                Reason::TaskGroupInvalid,
                                e.0.clone(),
                            );
                        }
                        continue;
                    }
                    let new_executor = !self.state.agents.registered[&agent_id]
                        .has_executor(fid, &executor.executor_id.value);
                    let user = self.state.frameworks[fid].info.user.clone();
                    for t in &group.tasks {
                        let mut with_exec = t.clone();
                        with_exec.executor = Some(executor.clone());
                        offered -= &Resources::from_resources(&t.resources);
                        if self
                            .state
                            .add_task(fid, &with_exec, Some(user.clone()))
                            .is_ok()
                        {
                            self.operator_task_added(fid, &t.task_id.value);
                        }
                    }
                    if new_executor {
                        offered -= &Resources::from_resources(&executor.resources);
                    }
                    if let Some(pid) = &agent_pid {
                        ctx.send(
                            pid,
                            internal::RunTaskGroupMessage {
                                framework: self.state.frameworks[fid].info.clone(),
                                executor,
                                task_group: group,
                                resource_version_uuids: Vec::new(),
                                launch_executor: Some(new_executor),
                            },
                        );
                    }
                }
                Some(_) => {
                    self.accept_operation(ctx, fid, &agent_id, &role, op, &mut offered);
                }
                None => {
                    tracing::warn!(framework = %fid, "offer operation of unknown type; ignored");
                }
            }
        }
        if !offered.is_empty() {
            let now = Master::now_duration(ctx);
            let _ = self
                .allocator
                .recover_resources(fid, &agent_id, &offered, Some(refuse), now);
        }
    }

    pub(super) fn decline(&mut self, ctx: &mut Context<Self>, fid: &str, decline: call::Decline) {
        self.counters.messages_decline_offers += 1;
        let refuse = decline
            .filters
            .as_ref()
            .map_or(5.0, |f| f.refuse_seconds.unwrap_or(5.0));
        for oid in decline.offer_ids {
            let mine = self
                .state
                .offers
                .get(&oid.value)
                .is_some_and(|o| o.offer.framework_id.value == fid);
            if !mine {
                continue;
            }
            if let Some(entry) = self.take_offer(ctx, &oid.value) {
                let now = Master::now_duration(ctx);
                let _ = self.allocator.recover_resources(
                    fid,
                    &entry.offer.agent_id.value,
                    &entry.resources,
                    Some(refuse),
                    now,
                );
            }
        }
    }

    pub(super) fn revive(&mut self, fid: &str, roles: &[String]) {
        self.counters.messages_revive_offers += 1;
        let _ = self.allocator.revive_offers(fid, roles);
        if let Some(fw) = self.state.frameworks.get_mut(fid) {
            if roles.is_empty() {
                fw.suppressed_roles.clear();
            } else {
                for r in roles {
                    fw.suppressed_roles.remove(r);
                }
            }
        }
    }

    pub(super) fn suppress(&mut self, fid: &str, roles: &[String]) {
        self.counters.messages_suppress_offers += 1;
        let _ = self.allocator.suppress_offers(fid, roles);
        if let Some(fw) = self.state.frameworks.get_mut(fid) {
            let all = if roles.is_empty() {
                fw.roles()
            } else {
                roles.to_vec()
            };
            fw.suppressed_roles.extend(all);
        }
    }

    pub(super) fn kill(&mut self, ctx: &mut Context<Self>, fid: &str, kill: call::Kill) {
        self.counters.messages_kill_task += 1;
        let tid = kill.task_id.value.clone();
        let agent = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(&tid))
            .map(|t| t.agent_id.value.clone());
        match agent {
            Some(aid) => {
                if let Some(pid) = self.agent_links.get(&aid).map(|l| l.pid.clone()) {
                    ctx.send(
                        &pid,
                        internal::KillTaskMessage {
                            framework_id: v1::FrameworkId {
                                value: fid.to_owned(),
                            },
                            task_id: kill.task_id,
                            kill_policy: kill.kill_policy,
                        },
                    );
                }
            }
            None => {
                // Unknown task: answer as explicit reconciliation would.
                let req = [ReconcileTask {
                    task_id: tid,
                    agent_id: kill.agent_id.map(|a| a.value),
                }];
                self.send_reconcile(ctx, fid, &req);
            }
        }
    }

    pub(super) fn shutdown_executor(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        s: call::Shutdown,
    ) {
        if let Some(pid) = self
            .agent_links
            .get(&s.agent_id.value)
            .map(|l| l.pid.clone())
        {
            ctx.send(
                &pid,
                internal::ShutdownExecutorMessage {
                    executor_id: Some(s.executor_id),
                    framework_id: Some(v1::FrameworkId {
                        value: fid.to_owned(),
                    }),
                },
            );
        }
    }

    pub(super) fn acknowledge(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        ack: call::Acknowledge,
    ) {
        let aid = ack.agent_id.value.clone();
        let Some(pid) = self.agent_links.get(&aid).map(|l| l.pid.clone()) else {
            self.counters.invalid_status_update_acknowledgements += 1;
            return;
        };
        self.counters.valid_status_update_acknowledgements += 1;
        let _ = self.state.acknowledge(fid, &ack.task_id.value, &ack.uuid);
        ctx.send(
            &pid,
            internal::StatusUpdateAcknowledgementMessage {
                slave_id: ack.agent_id,
                framework_id: v1::FrameworkId {
                    value: fid.to_owned(),
                },
                task_id: ack.task_id,
                uuid: ack.uuid,
            },
        );
    }

    pub(super) fn reconcile_call(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        r: call::Reconcile,
    ) {
        self.counters.messages_reconcile_tasks += 1;
        let req: Vec<ReconcileTask> = r
            .tasks
            .into_iter()
            .map(|t| ReconcileTask {
                task_id: t.task_id.value,
                agent_id: t.agent_id.map(|a| a.value),
            })
            .collect();
        self.send_reconcile(ctx, fid, &req);
    }

    fn send_reconcile(&mut self, ctx: &mut Context<Self>, fid: &str, req: &[ReconcileTask]) {
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        let updates = reconcile(&self.state, fw, req, Master::now(ctx));
        for u in updates {
            self.forward_update(ctx, &u);
        }
    }

    pub(super) fn framework_message(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        m: call::Message,
    ) {
        if let Some(pid) = self
            .agent_links
            .get(&m.agent_id.value)
            .map(|l| l.pid.clone())
        {
            ctx.send(
                &pid,
                internal::FrameworkToExecutorMessage {
                    slave_id: m.agent_id,
                    framework_id: v1::FrameworkId {
                        value: fid.to_owned(),
                    },
                    executor_id: m.executor_id,
                    data: m.data,
                },
            );
        }
    }
}

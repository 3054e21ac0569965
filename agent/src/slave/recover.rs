//! Agent recovery after a restart: the checkpointed frameworks, executors, tasks and
//! status update streams are read back from `meta/`; the containerizer finds which
//! executors still run. Dead ones have their live tasks failed (TASK_FAILED,
//! REASON_EXECUTOR_TERMINATED).
//!
//! ```text
//!  reconnect: live executor ──SUBSCRIBE again──▶ RUNNING ─┐
//!             (none left waiting, or --executor_reregistration_timeout: the late ones
//!              are destroyed, tasks TASK_GONE/LOST) ──────┴──▶ ReregisterSlave ▶ master
//!  cleanup:   live executor ──SHUTDOWN on SUBSCRIBE, destroyed after its grace period──▶
//!             no executor left ──▶ the agent actor terminates (never registers)
//! ```

use std::collections::BTreeMap;

use libprocess::Context;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;

use super::model::{Executor, ExecutorState, Framework};
use super::Slave;
use crate::checkpoint;
use crate::flags::RecoverMode;
use crate::paths::{self, RunIds};
use crate::status_update_manager::is_terminal_state;

/// One executor run found in `meta/`.
struct FoundRun {
    framework: String,
    executor: Executor,
}

impl Slave {
    /// Reads the meta tree of the recovered agent id; returns what was found.
    fn read_meta(&mut self, agent: &str) -> Vec<FoundRun> {
        let mut found = Vec::new();
        let Ok(agent_dir) = self.layout.meta_agent_dir(agent) else {
            return found;
        };
        let frameworks = paths::list_ids(&agent_dir.join("frameworks")).unwrap_or_default();
        for fid in frameworks {
            let info = self
                .layout
                .framework_info_file(agent, &fid)
                .ok()
                .and_then(|f| {
                    checkpoint::read_message::<v1::FrameworkInfo>(&f)
                        .ok()
                        .flatten()
                });
            let Some(info) = info else {
                tracing::warn!("skipping framework {fid}: no readable framework.info");
                continue;
            };
            self.frameworks.insert(
                fid.clone(),
                Framework {
                    info,
                    executors: BTreeMap::new(),
                },
            );
            let Ok(fw_dir) = self.layout.meta_framework_dir(agent, &fid) else {
                continue;
            };
            for eid in paths::list_ids(&fw_dir.join("executors")).unwrap_or_default() {
                if let Some(run) = self.read_executor(agent, &fid, &eid) {
                    found.push(run);
                }
            }
        }
        found
    }

    fn read_executor(&mut self, agent: &str, fid: &str, eid: &str) -> Option<FoundRun> {
        let info = self
            .layout
            .executor_info_file(agent, fid, eid)
            .ok()
            .and_then(|f| {
                checkpoint::read_message::<v1::ExecutorInfo>(&f)
                    .ok()
                    .flatten()
            })?;
        let runs = self
            .layout
            .meta_executor_dir(agent, fid, eid)
            .ok()?
            .join("runs");
        let container = paths::read_latest_symlink(&runs).ok().flatten()?;
        let run = RunIds {
            agent,
            framework: fid,
            executor: eid,
            container: &container,
        };
        let sandbox = self.layout.sandbox_dir(&run).ok()?;
        let mut tasks = BTreeMap::new();
        let tasks_dir = self.layout.meta_run_dir(&run).ok()?.join("tasks");
        for tid in paths::list_ids(&tasks_dir).unwrap_or_default() {
            let Some(task_info) = self
                .layout
                .task_info_file(&run, &tid)
                .ok()
                .and_then(|f| checkpoint::read_message::<v1::TaskInfo>(&f).ok().flatten())
            else {
                continue;
            };
            let agent_id = v1::AgentId {
                value: agent.to_string(),
            };
            let mut task = super::model::task_from_info(
                &task_info,
                &v1::FrameworkId {
                    value: fid.to_string(),
                },
                Some(&info.executor_id),
                &agent_id,
            );
            if let Ok(log) = self.layout.task_updates_file(&run, &tid) {
                match self.updates.recover(fid, &tid, &log, self.flags.strict) {
                    Ok(r) => {
                        for u in r.updates {
                            task.state = u.status.state;
                            task.statuses.push(u.status);
                        }
                    }
                    Err(e) => tracing::warn!("recovering the updates of task {tid}: {e}"),
                }
            }
            tasks.insert(tid, task);
        }
        let command_executor = info
            .command
            .as_ref()
            .and_then(|c| c.value.as_deref())
            .is_some_and(|v| v.ends_with(super::model::COMMAND_EXECUTOR_BINARY));
        Some(FoundRun {
            framework: fid.to_string(),
            executor: Executor {
                info,
                container_id: container,
                sandbox,
                state: ExecutorState::Registering,
                command_executor,
                queued: Vec::new(),
                queued_groups: Vec::new(),
                tasks,
                termination_reason: None,
                events: None,
            },
        })
    }

    /// Recovers checkpointed work (called once, before registering). With
    /// `--recover=reconnect` live executors get `--executor_reregistration_timeout` to
    /// subscribe again; with `--recover=cleanup` they are shut down.
    pub(super) fn recover(&mut self, ctx: &mut Context<Self>) {
        let Some(agent) = self.agent_id().map(str::to_string) else {
            return;
        };
        let found = self.read_meta(&agent);
        let known: Vec<String> = found
            .iter()
            .map(|r| r.executor.container_id.clone())
            .collect();
        let recovered = match self.containerizer.recover(&known) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("containerizer recovery failed: {e}");
                Vec::new()
            }
        };
        let cleanup = self.flags.recover == RecoverMode::Cleanup;
        for run in found {
            let container = run.executor.container_id.clone();
            let eid = run.executor.info.executor_id.value.clone();
            let fid = run.framework.clone();
            let alive = recovered
                .iter()
                .any(|r| r.container == container && r.alive);
            let has_live_tasks = run
                .executor
                .tasks
                .values()
                .any(|t| !is_terminal_state(t.state()));
            if let Some(fw) = self.frameworks.get_mut(&fid) {
                fw.executors.insert(eid.clone(), run.executor);
            }
            if alive {
                if let Some(wait) = self.containerizer.wait(&container) {
                    let (f, e, c) = (fid.clone(), eid.clone(), container.clone());
                    ctx.defer(wait, move |s, ctx, t| {
                        s.executor_exited(ctx, &f, &e, &c, t);
                        s.recovered_executor_gone(ctx);
                    });
                }
                if cleanup {
                    tracing::info!("shutting down executor {eid} of framework {fid}");
                    self.shutdown_recovered(ctx, &fid, &eid, &container);
                } else {
                    tracing::info!(
                        "recovered executor {eid} of framework {fid}; waiting for it to subscribe"
                    );
                    self.recovering = true;
                }
            } else if has_live_tasks {
                tracing::info!("executor {eid} of framework {fid} died while the agent was down");
                if let Some(exec) = self.executor_mut(&fid, &eid, &container) {
                    exec.termination_reason = Some(Reason::ExecutorTerminated);
                }
                self.executor_exited(
                    ctx,
                    &fid,
                    &eid,
                    &container,
                    crate::containerizer::Termination { status: None },
                );
            } else if let Some(fw) = self.frameworks.get_mut(&fid) {
                fw.executors.remove(&eid);
            }
        }
        self.frameworks.retain(|_, f| !f.executors.is_empty());
        if self.recovering {
            let timeout = self.flags.executor_reregistration_timeout;
            ctx.delay(timeout, |s, ctx| s.reregistration_timeout(ctx));
        }
    }

    /// Starts registering once recovery allows it: at once when no recovered executor is
    /// still expected to subscribe; with `--recover=cleanup` never (the agent ends once its
    /// old executors are gone).
    pub(super) fn register_after_recovery(&mut self, ctx: &mut Context<Self>) {
        if self.flags.recover == RecoverMode::Cleanup {
            self.recovered_executor_gone(ctx);
        } else if !self.recovering {
            self.start_registration(ctx);
        }
    }

    /// A recovered executor subscribed again or ended: with none left to wait for, recovery
    /// is over (Mesos waits for the whole timeout; the registration then reports the
    /// executors' real state either way).
    pub(super) fn recovered_executor_gone(&mut self, ctx: &mut Context<Self>) {
        if self.flags.recover == RecoverMode::Cleanup {
            if self.frameworks.values().all(|f| f.executors.is_empty()) {
                tracing::info!("--recover=cleanup: every old executor is gone; terminating");
                ctx.terminate();
            }
            return;
        }
        let waiting = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .any(|e| e.state == ExecutorState::Registering);
        if self.recovering && !waiting {
            self.finish_recovery(ctx);
        }
    }

    fn finish_recovery(&mut self, ctx: &mut Context<Self>) {
        if std::mem::take(&mut self.recovering) {
            tracing::info!("finished recovery");
            self.start_registration(ctx);
        }
    }

    /// `--executor_reregistration_timeout` after recovery: executors that did not subscribe
    /// again are destroyed; their live tasks become TASK_GONE (TASK_LOST for frameworks that
    /// are not partition-aware) with REASON_EXECUTOR_REREGISTRATION_TIMEOUT, as in Mesos.
    fn reregistration_timeout(&mut self, ctx: &mut Context<Self>) {
        if !self.recovering {
            return;
        }
        let timeout = self.flags.executor_reregistration_timeout;
        let late: Vec<(String, String, String)> = self
            .frameworks
            .iter()
            .flat_map(|(fid, f)| {
                f.executors
                    .values()
                    .filter(|e| e.state == ExecutorState::Registering)
                    .map(move |e| {
                        (
                            fid.clone(),
                            e.info.executor_id.value.clone(),
                            e.container_id.clone(),
                        )
                    })
            })
            .collect();
        for (fid, eid, container) in late {
            tracing::warn!(
                "executor {eid} of framework {fid} did not subscribe again within {timeout:?}; destroying it"
            );
            let Some(fw) = self.frameworks.get(&fid) else {
                continue;
            };
            let partition_aware = fw.info.capabilities.iter().any(|c| {
                c.r#type == Some(v1::framework_info::capability::Type::PartitionAware as i32)
            });
            let state = if partition_aware {
                v1::TaskState::TaskGone
            } else {
                v1::TaskState::TaskLost
            };
            let Some(exec) = fw.executors.get(&eid) else {
                continue;
            };
            let executor_id = exec.info.executor_id.clone();
            let live: Vec<v1::TaskId> = exec
                .tasks
                .values()
                .filter(|t| !is_terminal_state(t.state()))
                .map(|t| t.task_id.clone())
                .collect();
            let message = format!(
                "Executor did not reregister within {}",
                crate::executor_env::format_duration(timeout)
            );
            for task in live {
                self.agent_status_update(
                    ctx,
                    &fid,
                    &executor_id,
                    &task,
                    state,
                    Reason::ExecutorReregistrationTimeout,
                    &message,
                );
            }
            if let Some(exec) = self.executor_mut(&fid, &eid, &container) {
                exec.state = ExecutorState::Terminating;
                exec.termination_reason = Some(Reason::ExecutorReregistrationTimeout);
            }
            self.destroy_container(ctx, container);
        }
        self.finish_recovery(ctx);
    }

    /// `--recover=cleanup`: a live old executor is asked to shut down when it subscribes
    /// and destroyed after its shutdown grace period in any case.
    fn shutdown_recovered(&mut self, ctx: &mut Context<Self>, fid: &str, eid: &str, c: &str) {
        let default_grace = self.flags.executor_shutdown_grace_period;
        let Some(exec) = self.executor_mut(fid, eid, c) else {
            return;
        };
        exec.state = ExecutorState::Terminating;
        exec.termination_reason = Some(Reason::ExecutorTerminated);
        let grace = crate::executor_env::shutdown_grace_period(&exec.info, default_grace);
        let (f, e, c) = (fid.to_string(), eid.to_string(), c.to_string());
        ctx.delay(grace, move |s, ctx| {
            if s.executor_mut(&f, &e, &c).is_some() {
                s.destroy_container(ctx, c);
            }
        });
    }

    /// Queues an update the agent itself generates for a task of `executor_id`.
    // Each argument is one field of the update.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn agent_status_update(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        executor_id: &v1::ExecutorId,
        task_id: &v1::TaskId,
        state: v1::TaskState,
        reason: Reason,
        message: &str,
    ) {
        let update = super::model::agent_update(
            &v1::FrameworkId {
                value: fid.to_string(),
            },
            self.info.id.as_ref(),
            Some(executor_id),
            task_id,
            state,
            reason,
            message,
            ctx.clock().now(),
        );
        let log = self.update_log(fid, &task_id.value);
        if let Err(e) = self.status_update(ctx, update, log.as_deref()) {
            tracing::error!("failed to queue the agent's status update: {e}");
        }
    }

    /// What a re-registration reports: tasks, executors and frameworks.
    pub(super) fn reregistration_contents(
        &self,
    ) -> (Vec<v1::Task>, Vec<v1::ExecutorInfo>, Vec<v1::FrameworkInfo>) {
        let mut tasks = Vec::new();
        let mut executors = Vec::new();
        let mut frameworks = Vec::new();
        for fw in self.frameworks.values() {
            frameworks.push(fw.info.clone());
            for exec in fw.executors.values() {
                if !exec.command_executor {
                    executors.push(exec.info.clone());
                }
                tasks.extend(exec.tasks.values().cloned());
            }
        }
        (tasks, executors, frameworks)
    }
}

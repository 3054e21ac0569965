//! Running tasks: `RunTaskMessage` → (framework, executor, sandbox, checkpoints) →
//! containerizer launch; kills before the executor subscribes; executor registration
//! timeouts; executor exits turning live tasks into terminal updates.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use libprocess::{Context, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;

use super::model::{
    agent_update, command_executor_info, task_from_info, Executor, ExecutorState, Framework,
};
use super::Slave;
use crate::checkpoint;
use crate::containerizer::isolator::ContainerConfig;
use crate::containerizer::{LaunchRequest, Termination};
use crate::executor_env::{executor_environment, ExecutorEnv};
use crate::fetcher::{self, FetcherConfig};
use crate::paths::{self, RunIds};
use crate::status_update_manager::is_terminal_state;

mod group;

use group::fetch_into_task_sandbox;
pub(super) use group::{deliver_queued, is_default_executor};

/// Why an executor run could not start.
pub(super) type LaunchError = String;

impl Slave {
    /// The folder holding the executor binaries (`--launcher_dir`, else next to ours).
    pub(super) fn launcher_dir(&self) -> PathBuf {
        self.flags.launcher_dir.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("."))
        })
    }

    // Each argument is one field of the update; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_agent_update(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &v1::FrameworkId,
        executor_id: Option<&v1::ExecutorId>,
        task_id: &v1::TaskId,
        state: v1::TaskState,
        reason: Reason,
        message: &str,
    ) {
        let now = ctx.clock().now();
        let update = agent_update(
            framework_id,
            self.info.id.as_ref(),
            executor_id,
            task_id,
            state,
            reason,
            message,
            now,
        );
        let log = self.update_log(&framework_id.value, &task_id.value);
        if let Err(e) = self.status_update(ctx, update, log.as_deref()) {
            tracing::error!("failed to queue the agent's status update: {e}");
        }
    }

    /// The checkpoint log of a task's updates, if its framework checkpoints.
    pub(super) fn update_log(&self, framework: &str, task: &str) -> Option<PathBuf> {
        let fw = self.frameworks.get(framework)?;
        if !fw.checkpoint() {
            return None;
        }
        let agent = self.agent_id()?.to_string();
        let exec = fw.executor_of(task)?;
        let run = RunIds {
            agent: &agent,
            framework,
            executor: &exec.info.executor_id.value,
            container: &exec.container_id,
        };
        self.layout.task_updates_file(&run, task).ok()
    }

    pub(super) fn run_task(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::RunTaskMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring a task from {from}, not the master");
            return;
        }
        let Some(agent_id) = self.info.id.clone() else {
            tracing::warn!("ignoring a task while not registered");
            return;
        };
        #[allow(deprecated)]
        let framework_id = msg
            .framework
            .id
            .clone()
            .or(msg.framework_id.clone())
            .unwrap_or_default();
        let task = msg.task;
        let fid = framework_id.value.clone();
        let tid = task.task_id.value.clone();
        if let Err(e) = paths::check_id("framework", &fid).and(paths::check_id("task", &tid)) {
            self.send_agent_update(
                ctx,
                &framework_id,
                None,
                &task.task_id,
                v1::TaskState::TaskError,
                Reason::TaskInvalid,
                &e.to_string(),
            );
            return;
        }
        let mut executor_info = match &task.executor {
            Some(e) => e.clone(),
            None => command_executor_info(&task, &framework_id, &self.launcher_dir()),
        };
        executor_info.framework_id = Some(framework_id.clone());
        let eid = executor_info.executor_id.value.clone();
        self.upsert_framework(&agent_id, &msg.framework);
        let existing = self.frameworks[&fid].executors.get(&eid).map(|e| e.state);
        match existing {
            Some(ExecutorState::Terminating) => {
                self.send_agent_update(
                    ctx,
                    &framework_id,
                    Some(&executor_info.executor_id),
                    &task.task_id,
                    v1::TaskState::TaskLost,
                    Reason::ExecutorTerminated,
                    "the executor is terminating",
                );
                return;
            }
            Some(_) => {
                if let Err(e) = self.attach_executor_volumes(&fid, &eid, &task.resources) {
                    self.send_agent_update(
                        ctx,
                        &framework_id,
                        Some(&executor_info.executor_id),
                        &task.task_id,
                        v1::TaskState::TaskFailed,
                        Reason::ContainerUpdateFailed,
                        &e,
                    );
                    return;
                }
            }
            None => {
                let command_executor = task.executor.is_none();
                let tasks = std::slice::from_ref(&task);
                if let Err(e) = self.launch_executor(
                    ctx,
                    &framework_id,
                    executor_info.clone(),
                    command_executor,
                    tasks,
                ) {
                    tracing::warn!("failed to launch executor {eid} of framework {fid}: {e}");
                    self.http.counters.container_launch_errors += 1;
                    self.send_agent_update(
                        ctx,
                        &framework_id,
                        Some(&executor_info.executor_id),
                        &task.task_id,
                        v1::TaskState::TaskFailed,
                        Reason::ContainerLaunchFailed,
                        &e,
                    );
                    return;
                }
            }
        }
        self.add_tasks(&agent_id, &fid, &eid, vec![task], None);
    }

    /// Records the framework (checkpointed if it checkpoints) with its latest info.
    pub(super) fn upsert_framework(&mut self, agent_id: &v1::AgentId, info: &v1::FrameworkInfo) {
        let fid = info.id.clone().unwrap_or_default().value;
        let framework = self
            .frameworks
            .entry(fid.clone())
            .or_insert_with(|| Framework {
                info: info.clone(),
                executors: BTreeMap::new(),
            });
        framework.info = info.clone();
        if framework.checkpoint() {
            if let Ok(file) = self.layout.framework_info_file(&agent_id.value, &fid) {
                if let Err(e) = checkpoint::write_message(&file, info) {
                    tracing::error!("failed to checkpoint framework {fid}: {e}");
                }
            }
        }
    }

    /// Tracks tasks for an executor (checkpointing their infos) and hands them to it: at
    /// once if it is subscribed, else when it subscribes. `group` keeps a task group whole.
    pub(super) fn add_tasks(
        &mut self,
        agent_id: &v1::AgentId,
        fid: &str,
        eid: &str,
        tasks: Vec<v1::TaskInfo>,
        group: Option<v1::TaskGroupInfo>,
    ) {
        let Some(fw) = self.frameworks.get(fid) else {
            return;
        };
        let Some(exec) = fw.executors.get(eid) else {
            return;
        };
        if fw.checkpoint() {
            let run = RunIds {
                agent: &agent_id.value,
                framework: fid,
                executor: eid,
                container: &exec.container_id,
            };
            for task in &tasks {
                let Ok(file) = self.layout.task_info_file(&run, &task.task_id.value) else {
                    continue;
                };
                if let Err(e) = checkpoint::write_message(&file, task) {
                    tracing::error!("failed to checkpoint task {}: {e}", task.task_id.value);
                }
            }
        }
        let framework_id = v1::FrameworkId {
            value: fid.to_string(),
        };
        let Some(exec) = self
            .frameworks
            .get_mut(fid)
            .and_then(|fw| fw.executors.get_mut(eid))
        else {
            return;
        };
        for task in &tasks {
            let record =
                task_from_info(task, &framework_id, Some(&exec.info.executor_id), agent_id);
            exec.tasks.insert(task.task_id.value.clone(), record);
        }
        exec.queued.extend(tasks);
        exec.queued_groups.extend(group);
        if let Some(events) = exec.events.clone() {
            deliver_queued(exec, &events, &HashSet::new());
        }
    }

    /// The uid and gid to run an executor (and fetch its URIs) as, when the agent
    /// switches users (`--switch_user` and running as root).
    pub(super) fn switch_to(&self, user: Option<&str>) -> Result<Option<(u32, u32)>, LaunchError> {
        match (
            user,
            self.flags.switch_user && crate::sys::effective_uid() == 0,
        ) {
            (Some(name), true) => {
                let u = crate::sys::lookup_user(name)
                    .map_err(|e| format!("looking up user '{name}': {e}"))?
                    .ok_or_else(|| format!("no such user '{name}'"))?;
                Ok(Some((u.uid, u.gid)))
            }
            _ => Ok(None),
        }
    }

    pub(super) fn fetcher_config(&self) -> FetcherConfig {
        FetcherConfig {
            frameworks_home: None,
            cache_dir: self.flags.fetcher_cache_dir.clone(),
            cache_size: self.flags.fetcher_cache_size,
            ..FetcherConfig::default()
        }
    }

    pub(super) fn launch_executor(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &v1::FrameworkId,
        info: v1::ExecutorInfo,
        command_executor: bool,
        tasks: &[v1::TaskInfo],
    ) -> Result<(), LaunchError> {
        let agent = self.agent_id().ok_or("not registered")?.to_string();
        let fid = framework_id.value.clone();
        let eid = info.executor_id.value.clone();
        let framework = self.frameworks.get(&fid).ok_or("unknown framework")?;
        let checkpoint = framework.checkpoint();
        let framework_user = framework.info.user.clone();
        let container_id = uuid::Uuid::new_v4().to_string();
        let run = RunIds {
            agent: &agent,
            framework: &fid,
            executor: &eid,
            container: &container_id,
        };
        let sandbox = self.layout.sandbox_dir(&run).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&sandbox).map_err(|e| format!("creating the sandbox: {e}"))?;
        if let Some(runs) = sandbox.parent() {
            let _ = paths::set_latest_symlink(runs, &container_id);
        }
        let mut pid_files = Vec::new();
        if checkpoint {
            let file = self
                .layout
                .executor_info_file(&agent, &fid, &eid)
                .map_err(|e| e.to_string())?;
            checkpoint::write_message(&file, &info).map_err(|e| e.to_string())?;
            let meta_run = self.layout.meta_run_dir(&run).map_err(|e| e.to_string())?;
            if let Some(runs) = meta_run.parent() {
                let _ = paths::set_latest_symlink(runs, &container_id);
            }
            checkpoint::write_text(
                &self
                    .layout
                    .http_marker_file(&run)
                    .map_err(|e| e.to_string())?,
                "",
            )
            .map_err(|e| e.to_string())?;
            pid_files.push(
                self.layout
                    .forked_pid_file(&run)
                    .map_err(|e| e.to_string())?,
            );
        }
        let command = info.command.clone().unwrap_or_default();
        let user_name = command
            .user
            .clone()
            .or_else(|| (!framework_user.is_empty()).then_some(framework_user));
        let user = self.switch_to(user_name.as_deref())?;
        let fetch_config = self.fetcher_config();
        let mut uris = command.uris.clone();
        if command_executor {
            uris.extend(
                tasks
                    .iter()
                    .filter_map(|t| t.command.as_ref())
                    .flat_map(|c| c.uris.iter().cloned()),
            );
        }
        fetcher::fetch(&uris, &sandbox, user, &fetch_config).map_err(|e| e.to_string())?;
        if is_default_executor(&info) {
            for task in tasks {
                fetch_into_task_sandbox(&sandbox, task, user, &fetch_config)?;
            }
        }
        let argv = if command.shell.unwrap_or(true) {
            vec![
                "/bin/sh".into(),
                "-c".into(),
                command.value.clone().unwrap_or_default(),
            ]
        } else {
            std::iter::once(command.value.clone().unwrap_or_default())
                .chain(command.arguments.iter().skip(1).cloned())
                .collect()
        };
        let endpoint = ctx.self_pid().address_str().to_string();
        let agent_pid = ctx.self_pid().to_string();
        let env = executor_environment(&ExecutorEnv {
            executor: &info,
            framework_id: &fid,
            agent_id: &agent,
            agent_endpoint: &endpoint,
            agent_pid: &agent_pid,
            sandbox: &sandbox,
            container_sandbox: None,
            checkpoint,
            recovery_timeout: self.flags.recovery_timeout,
            subscription_backoff_max: self.flags.executor_reregistration_timeout,
            shutdown_grace_period: self.flags.executor_shutdown_grace_period,
            http_command_executor: self.flags.http_command_executor,
            agent_environment: &self.agent_environment,
            executor_environment_variables: self.flags.executor_environment_variables.as_ref(),
        });
        let request = LaunchRequest {
            config: ContainerConfig {
                container_id: container_id.clone(),
                executor_info: Some(info.clone()),
                // As in Mesos, the container is sized for the executor and its first tasks.
                resources: info
                    .resources
                    .iter()
                    .chain(tasks.iter().flat_map(|t| t.resources.iter()))
                    .cloned()
                    .collect(),
                sandbox: sandbox.clone(),
                user: user_name,
            },
            argv,
            env,
            pid_files,
            user,
        };
        self.attach_volumes(&container_id, &sandbox, &request.config.resources)?;
        let launched = self.containerizer.launch(request);
        if launched.is_err() {
            self.release_volumes(&container_id);
        }
        launched.map_err(|e| e.to_string())?;
        let wait = self.containerizer.wait(&container_id);
        if let Some(fw) = self.frameworks.get_mut(&fid) {
            fw.executors.insert(
                eid.clone(),
                Executor {
                    info,
                    container_id: container_id.clone(),
                    sandbox,
                    state: ExecutorState::Registering,
                    command_executor,
                    queued: Vec::new(),
                    queued_groups: Vec::new(),
                    tasks: BTreeMap::new(),
                    termination_reason: None,
                    events: None,
                },
            );
        }
        if let Some(wait) = wait {
            let (f, e, c) = (fid.clone(), eid.clone(), container_id.clone());
            ctx.defer(wait, move |s, ctx, t| s.executor_exited(ctx, &f, &e, &c, t));
        }
        let timeout = self.flags.executor_registration_timeout;
        ctx.delay(timeout, move |s, ctx| {
            s.registration_timeout(ctx, &fid, &eid, &container_id)
        });
        Ok(())
    }

    pub(super) fn executor_mut(
        &mut self,
        fid: &str,
        eid: &str,
        container: &str,
    ) -> Option<&mut Executor> {
        self.frameworks
            .get_mut(fid)?
            .executors
            .get_mut(eid)
            .filter(|e| e.container_id == container)
    }

    fn registration_timeout(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        eid: &str,
        container: &str,
    ) {
        let Some(exec) = self.executor_mut(fid, eid, container) else {
            return;
        };
        if exec.state != ExecutorState::Registering {
            return;
        }
        tracing::warn!(
            "executor {eid} of framework {fid} did not subscribe in time; destroying it"
        );
        exec.state = ExecutorState::Terminating;
        exec.termination_reason = Some(Reason::ExecutorRegistrationTimeout);
        self.destroy_container(ctx, container.to_string());
    }

    /// Destroys a container in the background (its exit is handled by the wait).
    pub(super) fn destroy_container(&mut self, ctx: &mut Context<Self>, container: String) {
        let containerizer = self.containerizer.clone();
        ctx.defer(
            async move {
                let r = containerizer.destroy(&container).await;
                (container, r)
            },
            |s, _, (container, r)| {
                if let Err(e) = r {
                    s.http.counters.container_destroy_errors += 1;
                    tracing::warn!("failed to destroy container {container}: {e}");
                }
            },
        );
    }

    /// The executor's process ended: every live task of it gets a terminal update, the
    /// master hears `ExitedExecutorMessage`, and the executor is forgotten.
    pub(super) fn executor_exited(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        eid: &str,
        container: &str,
        termination: Termination,
    ) {
        let Some(exec) = self.executor_mut(fid, eid, container).map(|e| e.clone()) else {
            return;
        };
        let partition_aware = self.frameworks.get(fid).is_some_and(|fw| {
            fw.info.capabilities.iter().any(|c| {
                c.r#type == Some(v1::framework_info::capability::Type::PartitionAware as i32)
            })
        });
        let status_text = match termination.status {
            Some(crate::sys::WaitStatus::Exited(code)) => format!("exited with status {code}"),
            Some(crate::sys::WaitStatus::Signaled(sig)) => format!("terminated by signal {sig}"),
            None => "exited".to_string(),
        };
        let (state, reason) = match exec.termination_reason {
            Some(r) => (v1::TaskState::TaskFailed, r),
            None if exec.command_executor => {
                (v1::TaskState::TaskFailed, Reason::CommandExecutorFailed)
            }
            None if partition_aware => (v1::TaskState::TaskGone, Reason::ExecutorTerminated),
            None => (v1::TaskState::TaskLost, Reason::ExecutorTerminated),
        };
        let framework_id = v1::FrameworkId {
            value: fid.to_string(),
        };
        for task in exec.tasks.values() {
            if is_terminal_state(task.state()) {
                continue;
            }
            self.send_agent_update(
                ctx,
                &framework_id,
                Some(&exec.info.executor_id),
                &task.task_id,
                state,
                reason,
                &format!("Executor {status_text}"),
            );
        }
        self.release_volumes(container);
        if let Some(agent) = self.info.id.clone() {
            ctx.send(
                &self.master,
                internal::ExitedExecutorMessage {
                    slave_id: agent,
                    framework_id: framework_id.clone(),
                    executor_id: exec.info.executor_id.clone(),
                    status: termination.status.map(|s| s.raw()).unwrap_or(-1),
                },
            );
        }
        self.http_view().executor_completed(fid, eid);
        if let Some(fw) = self.frameworks.get_mut(fid) {
            fw.executors.remove(eid);
        }
        self.destroy_container(ctx, container.to_string());
    }

    pub(super) fn kill_task(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::KillTaskMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring a kill from {from}, not the master");
            return;
        }
        let fid = msg.framework_id.value.clone();
        let tid = msg.task_id.value.clone();
        let Some(exec) = self.frameworks.get_mut(&fid).and_then(|fw| {
            fw.executors
                .values_mut()
                .find(|e| e.tasks.contains_key(&tid))
        }) else {
            tracing::warn!("asked to kill unknown task {tid} of framework {fid}");
            return;
        };
        let Some(pos) = exec.queued.iter().position(|t| t.task_id.value == tid) else {
            // The executor has the task: it kills it (honouring the kill policy) and reports.
            if !self.send_kill(&fid, &tid, msg.kill_policy) {
                tracing::warn!(
                    "cannot deliver the kill of task {tid}: its executor is not subscribed"
                );
            }
            return;
        };
        // A task of a queued group takes its whole group with it, as in Mesos.
        let (victims, message) = match exec
            .queued_groups
            .iter()
            .position(|g| g.tasks.iter().any(|t| t.task_id.value == tid))
        {
            Some(g) => (
                exec.queued_groups
                    .remove(g)
                    .tasks
                    .into_iter()
                    .map(|t| t.task_id)
                    .collect(),
                "A task within the task group was killed before delivery to the executor",
            ),
            None => (
                vec![exec.queued[pos].task_id.clone()],
                "Killed before delivery to the executor",
            ),
        };
        exec.queued.retain(|t| !victims.contains(&t.task_id));
        let executor_id = exec.info.executor_id.clone();
        let container = exec.container_id.clone();
        let idle = exec.queued.is_empty()
            && exec.tasks.iter().all(|(id, t)| {
                victims.iter().any(|v| &v.value == id) || is_terminal_state(t.state())
            });
        let registering = exec.state == ExecutorState::Registering;
        for victim in &victims {
            self.send_agent_update(
                ctx,
                &msg.framework_id,
                Some(&executor_id),
                victim,
                v1::TaskState::TaskKilled,
                Reason::TaskKilledDuringLaunch,
                message,
            );
        }
        if idle && registering {
            if let Some(exec) = self.executor_mut(&fid, &executor_id.value, &container) {
                exec.state = ExecutorState::Terminating;
            }
            self.destroy_container(ctx, container);
        }
    }

    /// Records a task's new state in the model (called for every accepted update).
    pub(super) fn record_task_state(&mut self, update: &internal::StatusUpdate) {
        let Some(fw) = self.frameworks.get_mut(&update.framework_id.value) else {
            return;
        };
        for exec in fw.executors.values_mut() {
            if let Some(task) = exec.tasks.get_mut(&update.status.task_id.value) {
                task.state = update.status.state;
                task.statuses.push(update.status.clone());
                return;
            }
        }
    }

    /// Asks an executor to shut down (SHUTDOWN event) and destroys its container after
    /// its shutdown grace period, or at once if it never subscribed.
    pub(super) fn shutdown_executor(&mut self, ctx: &mut Context<Self>, fid: &str, eid: &str) {
        let default_grace = self.flags.executor_shutdown_grace_period;
        let Some(exec) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.executors.get_mut(eid))
        else {
            return;
        };
        if exec.state == ExecutorState::Terminating {
            return;
        }
        exec.state = ExecutorState::Terminating;
        exec.queued.clear();
        let container = exec.container_id.clone();
        let grace = crate::executor_env::shutdown_grace_period(&exec.info, default_grace);
        let told = exec.events.as_ref().is_some_and(|events| {
            events.send(&v1::executor::Event {
                r#type: Some(v1::executor::event::Type::Shutdown as i32),
                ..Default::default()
            })
        });
        if !told {
            self.destroy_container(ctx, container);
            return;
        }
        let (f, e) = (fid.to_string(), eid.to_string());
        ctx.delay(grace, move |s, ctx| {
            if s.executor_mut(&f, &e, &container).is_some() {
                tracing::warn!("executor {e} of framework {f} outlived its shutdown grace period");
                s.destroy_container(ctx, container);
            }
        });
    }

    /// The master removed a framework: shut down all its executors.
    pub(super) fn shutdown_framework(&mut self, ctx: &mut Context<Self>, from: &Upid, fid: &str) {
        if from != &self.master {
            tracing::warn!("ignoring a framework shutdown from {from}, not the master");
            return;
        }
        let executors: Vec<String> = self
            .frameworks
            .get(fid)
            .map(|f| f.executors.keys().cloned().collect())
            .unwrap_or_default();
        for eid in executors {
            self.shutdown_executor(ctx, fid, &eid);
        }
        self.updates.cleanup_framework(fid);
    }
}

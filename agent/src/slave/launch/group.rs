//! Task groups (`RunTaskGroupMessage`, LAUNCH_GROUP) and what only the DEFAULT executor
//! needs: its command from `--launcher_dir`, per-task sub-sandboxes, and delivering queued
//! groups whole.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use libprocess::{Context, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;

use super::LaunchError;
use crate::fetcher::{self, FetcherConfig};
use crate::paths;
use crate::slave::executor_api::EventSender;
use crate::slave::model::{Executor, ExecutorState};
use crate::slave::Slave;

/// File name of the default executor binary under `--launcher_dir`.
pub const DEFAULT_EXECUTOR_BINARY: &str = "mesos-default-executor";

/// True for `ExecutorInfo.type = DEFAULT` (the built-in task-group executor).
pub(in crate::slave) fn is_default_executor(info: &v1::ExecutorInfo) -> bool {
    info.r#type == Some(v1::executor_info::Type::Default as i32)
}

/// The command the agent gives a DEFAULT executor: the `mesos-default-executor` binary
/// of `--launcher_dir`, run directly (no shell), as Mesos does.
pub fn default_executor_command(launcher_dir: &Path, user: Option<String>) -> v1::CommandInfo {
    v1::CommandInfo {
        value: Some(
            launcher_dir
                .join(DEFAULT_EXECUTOR_BINARY)
                .display()
                .to_string(),
        ),
        arguments: vec![
            DEFAULT_EXECUTOR_BINARY.to_string(),
            format!("--launcher_dir={}", launcher_dir.display()),
        ],
        shell: Some(false),
        user,
        ..Default::default()
    }
}

/// Fetches a task's URIs into its sub-sandbox `tasks/<task_id>` (where the default
/// executor runs it).
pub(super) fn fetch_into_task_sandbox(
    executor_sandbox: &Path,
    task: &v1::TaskInfo,
    user: Option<(u32, u32)>,
    config: &FetcherConfig,
) -> Result<(), LaunchError> {
    let dir = crate::default_executor::task_sandbox(executor_sandbox, &task.task_id.value);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("creating the task sandbox {}: {e}", dir.display()))?;
    let uris = task
        .command
        .as_ref()
        .map(|c| c.uris.clone())
        .unwrap_or_default();
    fetcher::fetch(&uris, &dir, user, config)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Hands an executor its queued work over its event stream: one LAUNCH_GROUP per queued
/// task group, one LAUNCH per other queued task. Work the executor says it already has
/// (`known`, from a re-SUBSCRIBE) is not sent again.
pub(in crate::slave) fn deliver_queued(
    exec: &mut Executor,
    events: &EventSender,
    known: &HashSet<String>,
) {
    let grouped: HashSet<String> = exec
        .queued_groups
        .iter()
        .flat_map(|g| g.tasks.iter().map(|t| t.task_id.value.clone()))
        .collect();
    for task in exec.queued.drain(..) {
        if grouped.contains(&task.task_id.value) || known.contains(&task.task_id.value) {
            continue;
        }
        events.send(&v1::executor::Event {
            r#type: Some(v1::executor::event::Type::Launch as i32),
            launch: Some(v1::executor::event::Launch { task }),
            ..Default::default()
        });
    }
    for task_group in exec.queued_groups.drain(..) {
        if task_group
            .tasks
            .iter()
            .any(|t| known.contains(&t.task_id.value))
        {
            continue;
        }
        events.send(&v1::executor::Event {
            r#type: Some(v1::executor::event::Type::LaunchGroup as i32),
            launch_group: Some(v1::executor::event::LaunchGroup { task_group }),
            ..Default::default()
        });
    }
}

impl Slave {
    /// `RunTaskGroupMessage`: a task group for one executor, usually the DEFAULT one,
    /// launched (the `mesos-default-executor` binary of `--launcher_dir`) if it does not
    /// run yet; the group reaches it whole, as one LAUNCH_GROUP.
    pub(in crate::slave) fn run_task_group(
        &mut self,
        ctx: &mut Context<Self>,
        from: &Upid,
        msg: internal::RunTaskGroupMessage,
    ) {
        if from != &self.master {
            tracing::warn!("ignoring a task group from {from}, not the master");
            return;
        }
        let Some(agent_id) = self.info.id.clone() else {
            tracing::warn!("ignoring a task group while not registered");
            return;
        };
        let framework_id = msg.framework.id.clone().unwrap_or_default();
        let fid = framework_id.value.clone();
        let group = msg.task_group;
        let mut executor_info = msg.executor;
        executor_info.framework_id = Some(framework_id.clone());
        let executor_id = executor_info.executor_id.clone();
        let fail_all = |s: &mut Slave,
                        ctx: &mut Context<Slave>,
                        state: v1::TaskState,
                        reason: Reason,
                        message: &str| {
            for task in &group.tasks {
                s.send_agent_update(
                    ctx,
                    &framework_id,
                    Some(&executor_id),
                    &task.task_id,
                    state,
                    reason,
                    message,
                );
            }
        };
        let ids = paths::check_id("framework", &fid)
            .and(paths::check_id("executor", &executor_id.value))
            .and(
                group
                    .tasks
                    .iter()
                    .try_for_each(|t| paths::check_id("task", &t.task_id.value)),
            );
        if let Err(e) = ids {
            fail_all(
                self,
                ctx,
                v1::TaskState::TaskError,
                Reason::TaskGroupInvalid,
                &e.to_string(),
            );
            return;
        }
        if group.tasks.is_empty() {
            return;
        }
        let eid = executor_id.value.clone();
        self.upsert_framework(&agent_id, &msg.framework);
        let existing = self.frameworks[&fid]
            .executors
            .get(&eid)
            .map(|e| (e.state, e.sandbox.clone(), e.info.clone()));
        match existing {
            Some((ExecutorState::Terminating, ..)) => {
                fail_all(
                    self,
                    ctx,
                    v1::TaskState::TaskLost,
                    Reason::ExecutorTerminated,
                    "the executor is terminating",
                );
                return;
            }
            Some((_, sandbox, info)) => {
                let resources: Vec<v1::Resource> = group
                    .tasks
                    .iter()
                    .flat_map(|t| t.resources.iter().cloned())
                    .collect();
                if let Err(e) = self.attach_executor_volumes(&fid, &eid, &resources) {
                    fail_all(
                        self,
                        ctx,
                        v1::TaskState::TaskFailed,
                        Reason::ContainerUpdateFailed,
                        &e,
                    );
                    return;
                }
                // A running DEFAULT executor takes another group: its tasks' URIs go to
                // their sub-sandboxes first.
                if is_default_executor(&info) {
                    let user = info.command.as_ref().and_then(|c| c.user.clone());
                    let fetched = self.switch_to(user.as_deref()).and_then(|user| {
                        let config = self.fetcher_config();
                        group
                            .tasks
                            .iter()
                            .try_for_each(|t| fetch_into_task_sandbox(&sandbox, t, user, &config))
                    });
                    if let Err(e) = fetched {
                        fail_all(
                            self,
                            ctx,
                            v1::TaskState::TaskFailed,
                            Reason::ContainerLaunchFailed,
                            &e,
                        );
                        return;
                    }
                }
            }
            None => {
                if is_default_executor(&executor_info) {
                    let user = self.frameworks[&fid].info.user.clone();
                    let user = (!user.is_empty()).then_some(user);
                    let command = default_executor_command(&self.launcher_dir(), user);
                    let binary = PathBuf::from(command.value.clone().unwrap_or_default());
                    if !binary.is_file() {
                        let message = format!("no default executor at {}", binary.display());
                        tracing::warn!("cannot launch task group: {message}");
                        fail_all(
                            self,
                            ctx,
                            v1::TaskState::TaskFailed,
                            Reason::ContainerLaunchFailed,
                            &message,
                        );
                        return;
                    }
                    executor_info.command = Some(command);
                }
                if let Err(e) = self.launch_executor(
                    ctx,
                    &framework_id,
                    executor_info.clone(),
                    false,
                    &group.tasks,
                ) {
                    tracing::warn!("failed to launch executor {eid} of framework {fid}: {e}");
                    fail_all(
                        self,
                        ctx,
                        v1::TaskState::TaskFailed,
                        Reason::ContainerLaunchFailed,
                        &e,
                    );
                    return;
                }
            }
        }
        self.add_tasks(&agent_id, &fid, &eid, group.tasks.clone(), Some(group));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_executor_command_like_mesos() {
        let c = default_executor_command(Path::new("/opt/mesos"), Some("alice".into()));
        assert_eq!(
            c.value.as_deref(),
            Some("/opt/mesos/mesos-default-executor")
        );
        assert_eq!(
            c.arguments,
            ["mesos-default-executor", "--launcher_dir=/opt/mesos"]
        );
        assert_eq!(c.shell, Some(false));
        assert_eq!(c.user.as_deref(), Some("alice"));
        let default = v1::ExecutorInfo {
            r#type: Some(v1::executor_info::Type::Default as i32),
            ..Default::default()
        };
        assert!(is_default_executor(&default));
        assert!(!is_default_executor(&v1::ExecutorInfo::default()));
    }
}

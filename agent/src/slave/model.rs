//! What the agent knows about its frameworks, executors and tasks, plus the pure helpers
//! that build Mesos's derived objects (the command executor's `ExecutorInfo`, `Task`s and
//! agent-generated status updates).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libprocess::Time;
use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use mesos_protos::v1;

/// CPU share Mesos adds for a command executor.
pub const COMMAND_EXECUTOR_CPUS: f64 = 0.1;
/// Memory (MB) Mesos adds for a command executor.
pub const COMMAND_EXECUTOR_MEM_MB: f64 = 32.0;
/// File name of the command executor binary under `--launcher_dir`.
pub const COMMAND_EXECUTOR_BINARY: &str = "mesos-executor";

/// Where an executor is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorState {
    /// Launched, not yet subscribed.
    Registering,
    /// Subscribed over the executor API.
    Running,
    /// Being shut down.
    Terminating,
}

/// One executor run on this agent.
#[derive(Debug, Clone)]
pub struct Executor {
    /// Its description.
    pub info: v1::ExecutorInfo,
    /// The container running it.
    pub container_id: String,
    /// Its sandbox.
    pub sandbox: PathBuf,
    /// Where it is in its life.
    pub state: ExecutorState,
    /// True for the agent-generated command executor.
    pub command_executor: bool,
    /// Tasks waiting for the executor to subscribe (those of task groups included).
    pub queued: Vec<v1::TaskInfo>,
    /// Task groups waiting for the executor to subscribe (their tasks are in `queued`).
    pub queued_groups: Vec<v1::TaskGroupInfo>,
    /// Tasks handed to the executor (or queued), by id.
    pub tasks: BTreeMap<String, v1::Task>,
    /// Why the agent is ending it, if it is (reported for its tasks).
    pub termination_reason: Option<v1::task_status::Reason>,
    /// Its event stream, while subscribed.
    pub events: Option<super::executor_api::EventSender>,
}

/// One framework with work on this agent.
#[derive(Debug, Clone)]
pub struct Framework {
    /// Its description.
    pub info: v1::FrameworkInfo,
    /// Its executors, by executor id.
    pub executors: BTreeMap<String, Executor>,
}

impl Framework {
    /// True if the framework checkpoints (its work survives agent restarts).
    pub fn checkpoint(&self) -> bool {
        self.info.checkpoint.unwrap_or(false)
    }

    /// The executor running `task`, if any.
    pub fn executor_of(&self, task: &str) -> Option<&Executor> {
        self.executors.values().find(|e| e.tasks.contains_key(task))
    }
}

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.to_string(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value }),
        ..Default::default()
    }
}

/// The `ExecutorInfo` Mesos makes for a task that names no executor: the command
/// executor binary from `--launcher_dir`, with the executor overhead Mesos charges.
// `source` is deprecated in the schema, but Mesos 1.8 still fills it for command executors.
#[allow(deprecated)]
pub fn command_executor_info(
    task: &v1::TaskInfo,
    framework_id: &v1::FrameworkId,
    launcher_dir: &Path,
) -> v1::ExecutorInfo {
    let command = task.command.clone().unwrap_or_default();
    let shown = if command.shell.unwrap_or(true) {
        format!("sh -c '{}'", command.value.clone().unwrap_or_default())
    } else {
        format!(
            "[{}]",
            std::iter::once(command.value.clone().unwrap_or_default())
                .chain(command.arguments.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let binary = launcher_dir.join(COMMAND_EXECUTOR_BINARY);
    let mut resources = Resources::from(
        &[
            scalar("cpus", COMMAND_EXECUTOR_CPUS),
            scalar("mem", COMMAND_EXECUTOR_MEM_MB),
        ][..],
    );
    // The overhead is allocated to the task's role, like the task itself.
    if let Some(role) = task
        .resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.clone())
    {
        resources = resources
            .to_vec()
            .into_iter()
            .map(|mut r| {
                r.allocation_info = Some(v1::resource::AllocationInfo {
                    role: Some(role.clone()),
                });
                r
            })
            .collect();
    }
    v1::ExecutorInfo {
        executor_id: v1::ExecutorId {
            value: task.task_id.value.clone(),
        },
        framework_id: Some(framework_id.clone()),
        name: Some(format!(
            "Command Executor (Task: {}) (Command: {shown})",
            task.task_id.value
        )),
        source: Some(task.task_id.value.clone()),
        command: Some(v1::CommandInfo {
            value: Some(binary.display().to_string()),
            arguments: vec![
                COMMAND_EXECUTOR_BINARY.to_string(),
                format!("--launcher_dir={}", launcher_dir.display()),
            ],
            shell: Some(false),
            user: command.user.clone(),
            environment: command.environment.clone(),
            ..Default::default()
        }),
        resources: resources.to_vec(),
        ..Default::default()
    }
}

/// The `Task` the agent tracks for a `TaskInfo` it was asked to run.
pub fn task_from_info(
    info: &v1::TaskInfo,
    framework_id: &v1::FrameworkId,
    executor_id: Option<&v1::ExecutorId>,
    agent_id: &v1::AgentId,
) -> v1::Task {
    v1::Task {
        name: info.name.clone(),
        task_id: info.task_id.clone(),
        framework_id: framework_id.clone(),
        executor_id: executor_id.cloned(),
        agent_id: agent_id.clone(),
        state: v1::TaskState::TaskStaging as i32,
        resources: info.resources.clone(),
        labels: info.labels.clone(),
        discovery: info.discovery.clone(),
        container: info.container.clone(),
        user: info.command.as_ref().and_then(|c| c.user.clone()),
        health_check: info.health_check.clone(),
        ..Default::default()
    }
}

/// An update the agent itself generates (task lost with its executor, killed before
/// launch, ...), with a fresh uuid.
#[allow(clippy::too_many_arguments)]
pub fn agent_update(
    framework_id: &v1::FrameworkId,
    agent_id: Option<&v1::AgentId>,
    executor_id: Option<&v1::ExecutorId>,
    task_id: &v1::TaskId,
    state: v1::TaskState,
    reason: v1::task_status::Reason,
    message: &str,
    now: Time,
) -> internal::StatusUpdate {
    let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    internal::StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: executor_id.cloned(),
        slave_id: agent_id.cloned(),
        status: v1::TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            message: Some(message.to_string()),
            agent_id: agent_id.cloned(),
            executor_id: executor_id.cloned(),
            timestamp: Some(now.as_secs_f64()),
            source: Some(v1::task_status::Source::Agent as i32),
            reason: Some(reason as i32),
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp: now.as_secs_f64(),
        uuid: Some(uuid),
        latest_state: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(shell: bool) -> v1::TaskInfo {
        v1::TaskInfo {
            name: "t".into(),
            task_id: v1::TaskId { value: "t1".into() },
            command: Some(v1::CommandInfo {
                value: Some("echo hi".into()),
                shell: Some(shell),
                user: Some("nobody".into()),
                ..Default::default()
            }),
            resources: vec![scalar("cpus", 0.5)],
            ..Default::default()
        }
    }

    #[test]
    fn command_executor_like_mesos() {
        let fw = v1::FrameworkId { value: "f".into() };
        let e = command_executor_info(&task(true), &fw, Path::new("/opt/mesos"));
        assert_eq!(e.executor_id.value, "t1");
        assert_eq!(
            e.name.as_deref(),
            Some("Command Executor (Task: t1) (Command: sh -c 'echo hi')")
        );
        let cmd = e.command.unwrap();
        assert_eq!(cmd.value.as_deref(), Some("/opt/mesos/mesos-executor"));
        assert_eq!(cmd.arguments[1], "--launcher_dir=/opt/mesos");
        assert_eq!(cmd.shell, Some(false));
        assert_eq!(cmd.user.as_deref(), Some("nobody"));
        let total = Resources::from(&e.resources[..]);
        assert_eq!(total, Resources::parse("cpus:0.1;mem:32", "*").unwrap());
        let e = command_executor_info(&task(false), &fw, Path::new("/x"));
        assert!(e.name.unwrap().ends_with("(Command: [echo hi])"));
    }

    #[test]
    fn tasks_and_agent_updates() {
        let fw = v1::FrameworkId { value: "f".into() };
        let agent = v1::AgentId { value: "a".into() };
        let t = task_from_info(&task(true), &fw, None, &agent);
        assert_eq!(t.state, v1::TaskState::TaskStaging as i32);
        assert_eq!(t.user.as_deref(), Some("nobody"));
        let u = agent_update(
            &fw,
            Some(&agent),
            None,
            &t.task_id,
            v1::TaskState::TaskFailed,
            v1::task_status::Reason::ExecutorTerminated,
            "gone",
            Time::from_secs_f64(10.0),
        );
        assert_eq!(u.uuid, u.status.uuid);
        assert_eq!(u.uuid.as_ref().unwrap().len(), 16);
        assert_eq!(u.status.source, Some(v1::task_status::Source::Agent as i32));
        assert_eq!(u.status.timestamp, Some(10.0));
    }
}

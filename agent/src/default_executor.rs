//! Mesos's default executor (`mesos-default-executor`): the executor the agent starts for
//! `ExecutorInfo.type = DEFAULT`, which runs task groups (LAUNCH_GROUP).
//!
//! ```text
//!  LAUNCH_GROUP ─▶ TASK_STARTING (each) ─▶ spawn each task ─▶ watcher per task:
//!                                                             TASK_RUNNING, wait,
//!                                                             FINISHED / FAILED / KILLED
//!  KILL(task) ───▶ SIGTERM to the task's process group, SIGKILL after the grace period
//!  a task FAILED or KILLED ─▶ the rest of its group is killed (Mesos's group policy)
//!  no task left and every update ACKNOWLEDGED ─▶ the executor exits
//! ```
//!
//! Where Mesos runs each task as a nested container (through the agent's operator API),
//! this executor runs each task as its own child process, in its own process group, in the
//! sub-sandbox Mesos gives nested containers: `<executor sandbox>/tasks/<task_id>` (a real
//! folder here; Mesos links it to `containers/<id>`). The task's stdout and stderr are
//! files there, its working directory and `MESOS_SANDBOX` are that folder, and
//! `MESOS_TASK_ID` names the task. The processes stay in the executor's session, so
//! destroying the executor's container still kills them.
//!
//! Kill grace periods: a KILL uses the event's kill policy, else the task's, else 3 s.
//! Siblings killed because a task of their group ended badly use their own task's kill
//! policy, else 3 s (Mesos always uses 3 s there). On SHUTDOWN every task gets at most the
//! executor's shutdown grace period (a little less, to leave time to report).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libprocess::Clock;
use mesos_protos::v1::executor::event;
use mesos_protos::v1::{self, KillPolicy, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus};
use mesos_scheduler::executor::{Executor, ExecutorClient};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::executor_env::task_environment;
use crate::sys::kill_process_group;

/// Grace period of a kill when no kill policy gives one (as in Mesos).
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);
/// Longest wait for the agent to acknowledge the last updates before exiting anyway.
pub const ACKNOWLEDGEMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Folder (under the executor sandbox) holding one sub-sandbox per task.
pub const TASKS_DIR: &str = "tasks";

/// A task's sandbox inside its executor's sandbox.
pub fn task_sandbox(executor_sandbox: &Path, task_id: &str) -> PathBuf {
    executor_sandbox.join(TASKS_DIR).join(task_id)
}

/// The grace period a kill policy gives, if any.
pub fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    policy
        .and_then(|p| p.grace_period.as_ref())
        .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
}

/// A status update from this executor.
pub fn status(task_id: &TaskId, state: TaskState, message: Option<String>) -> TaskStatus {
    TaskStatus {
        task_id: task_id.clone(),
        state: state as i32,
        message,
        source: Some(v1::task_status::Source::Executor as i32),
        ..Default::default()
    }
}

/// Mesos's wording of how a command ended, and whether it succeeded.
pub fn describe_exit(status: std::process::ExitStatus) -> (bool, String) {
    use std::os::unix::process::ExitStatusExt;
    let text = match (status.code(), status.signal()) {
        (Some(code), _) => format!("Command exited with status {code}"),
        (None, Some(sig)) => format!("Command terminated with signal {sig}"),
        (None, None) => "Command exited".to_string(),
    };
    (status.success(), text)
}

/// The process a task's command runs as: `/bin/sh -c value`, or `value` with
/// `arguments[1..]` when `shell` is false.
pub fn task_command(task: &TaskInfo) -> Result<tokio::process::Command, String> {
    let command = task
        .command
        .as_ref()
        .ok_or_else(|| format!("task {} has no command", task.task_id.value))?;
    let value = command.value.clone().unwrap_or_default();
    if command.shell.unwrap_or(true) {
        let mut p = tokio::process::Command::new("/bin/sh");
        p.arg("-c").arg(value);
        Ok(p)
    } else {
        if value.is_empty() {
            return Err(format!("task {} has an empty command", task.task_id.value));
        }
        let mut p = tokio::process::Command::new(&value);
        p.args(command.arguments.iter().skip(1));
        Ok(p)
    }
}

/// This process's environment as UTF-8 pairs (others cannot be passed on faithfully).
pub fn own_environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// A task the executor still runs.
struct Active {
    group: usize,
    kill_policy: Option<KillPolicy>,
    kill: Option<oneshot::Sender<Duration>>,
    killing: bool,
}

#[derive(Default)]
struct State {
    killing_state: bool,
    shutting_down: bool,
    stopping: bool,
    active: HashMap<String, Active>,
    /// Task ids of each group launched, by launch order.
    groups: Vec<Vec<TaskId>>,
    group_killed: Vec<bool>,
}

/// Serializes this executor's updates so that a task's TASK_KILLING can never overtake
/// its terminal update on the way to the agent.
#[derive(Clone)]
struct Reporter {
    client: ExecutorClient,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Reporter {
    async fn send(&self, status: TaskStatus) {
        let _turn = self.lock.lock().await;
        if let Err(error) = self.client.update(status).await {
            eprintln!("status update refused: {error}");
        }
    }
}

/// The default executor's callbacks; see the module documentation.
pub struct DefaultExecutor {
    clock: Clock,
    sandbox: PathBuf,
    environment: Vec<(String, String)>,
    shutdown_grace: Duration,
    state: Arc<Mutex<State>>,
    reporter: Option<Reporter>,
}

/// One task's process, started.
struct Started {
    id: TaskId,
    child: tokio::process::Child,
    pgid: i32,
    kill: oneshot::Receiver<Duration>,
}

/// Why a kill is happening, which decides its grace period.
#[derive(Clone, Copy)]
enum KillCause {
    /// A KILL event, with its policy's grace period if it had one.
    Requested(Option<Duration>),
    /// Another task of the group ended badly.
    Group,
    /// SHUTDOWN: no more than this.
    Shutdown(Duration),
}

impl DefaultExecutor {
    /// An executor running tasks under `sandbox`, passing `environment` on to them, with
    /// `shutdown_grace` to kill everything after SHUTDOWN.
    pub fn new(
        clock: Clock,
        sandbox: PathBuf,
        environment: Vec<(String, String)>,
        shutdown_grace: Duration,
    ) -> Self {
        DefaultExecutor {
            clock,
            sandbox,
            environment,
            shutdown_grace,
            state: Arc::new(Mutex::new(State::default())),
            reporter: None,
        }
    }

    fn reporter(&mut self, client: &ExecutorClient) -> Reporter {
        self.reporter
            .get_or_insert_with(|| Reporter {
                client: client.clone(),
                lock: Arc::new(tokio::sync::Mutex::new(())),
            })
            .clone()
    }

    fn spawn_task(&self, task: &TaskInfo) -> Result<(tokio::process::Child, i32), String> {
        let mut process = task_command(task)?;
        let dir = task_sandbox(&self.sandbox, &task.task_id.value);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the task sandbox {}: {e}", dir.display()))?;
        let stdout = std::fs::File::create(dir.join("stdout"))
            .map_err(|e| format!("cannot create {}/stdout: {e}", dir.display()))?;
        let stderr = std::fs::File::create(dir.join("stderr"))
            .map_err(|e| format!("cannot create {}/stderr: {e}", dir.display()))?;
        let env: BTreeMap<String, String> =
            task_environment(self.environment.iter().cloned(), task, &dir);
        process
            .env_clear()
            .envs(env)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        let child = process
            .spawn()
            .map_err(|e| format!("failed to start task {}: {e}", task.task_id.value))?;
        let pgid = child
            .id()
            .map(|p| p as i32)
            .ok_or_else(|| format!("task {} exited at once", task.task_id.value))?;
        Ok((child, pgid))
    }
}

/// Kills one active task (TASK_KILLING first if the framework wants it); false if it was
/// not running or already being killed.
async fn kill_task(
    state: &Arc<Mutex<State>>,
    reporter: &Reporter,
    task: &str,
    cause: KillCause,
) -> bool {
    let (id, grace, kill, killing_state) = {
        let mut st = state.lock();
        let killing_state = st.killing_state;
        let Some(active) = st.active.get_mut(task) else {
            return false;
        };
        if active.killing {
            return false;
        }
        active.killing = true;
        let own = grace_of(active.kill_policy.as_ref()).unwrap_or(DEFAULT_KILL_GRACE);
        let grace = match cause {
            KillCause::Requested(g) => g.unwrap_or(own),
            KillCause::Group => own,
            KillCause::Shutdown(max) => own.min(max),
        };
        let id = TaskId {
            value: task.to_string(),
        };
        (id, grace, active.kill.take(), killing_state)
    };
    if killing_state {
        reporter
            .send(status(&id, TaskState::TaskKilling, None))
            .await;
    }
    if let Some(kill) = kill {
        let _ = kill.send(grace);
    }
    true
}

/// Bookkeeping after a task's terminal update: the group policy, and the executor's exit
/// once nothing runs.
async fn task_ended(
    state: Arc<Mutex<State>>,
    reporter: Reporter,
    clock: Clock,
    id: TaskId,
    final_state: TaskState,
) {
    let siblings = {
        let mut st = state.lock();
        let Some(active) = st.active.remove(&id.value) else {
            return;
        };
        let group = active.group;
        let bad = matches!(final_state, TaskState::TaskFailed | TaskState::TaskKilled);
        if bad && !st.shutting_down && !st.group_killed[group] {
            st.group_killed[group] = true;
            st.groups[group]
                .iter()
                .filter(|t| **t != id && st.active.contains_key(&t.value))
                .map(|t| t.value.clone())
                .collect()
        } else {
            Vec::new()
        }
    };
    if !siblings.is_empty() {
        println!(
            "Task {} ended in {}; killing the rest of its group: {}",
            id.value,
            final_state.as_str_name(),
            siblings.join(", ")
        );
    }
    for sibling in siblings {
        kill_task(&state, &reporter, &sibling, KillCause::Group).await;
    }
    stop_if_idle(&state, &reporter, &clock);
}

/// With no task left, exits once the agent has acknowledged every update (or after
/// [`ACKNOWLEDGEMENT_TIMEOUT`]).
fn stop_if_idle(state: &Arc<Mutex<State>>, reporter: &Reporter, clock: &Clock) {
    {
        let mut st = state.lock();
        if !st.active.is_empty() || st.stopping {
            return;
        }
        st.stopping = true;
    }
    let client = reporter.client.clone();
    let clock = clock.clone();
    tokio::spawn(async move {
        let deadline = clock.now() + ACKNOWLEDGEMENT_TIMEOUT;
        while !client.unacknowledged_updates().is_empty() && clock.now() < deadline {
            clock.sleep(Duration::from_millis(20)).await;
        }
        println!("All tasks are done; exiting");
        client.stop();
    });
}

/// Reports RUNNING, waits for the task's process (killing it when asked), reports how it
/// ended.
async fn watch(started: Started, state: Arc<Mutex<State>>, reporter: Reporter, clock: Clock) {
    let Started {
        id,
        mut child,
        pgid,
        kill,
    } = started;
    reporter
        .send(status(&id, TaskState::TaskRunning, None))
        .await;
    let (exit, mut killed) = tokio::select! {
        exit = child.wait() => (exit, false),
        grace = kill => match grace {
            Ok(grace) => {
                let _ = kill_process_group(pgid, libc::SIGTERM);
                let exit = tokio::select! {
                    exit = child.wait() => exit,
                    _ = clock.sleep(grace) => {
                        let _ = kill_process_group(pgid, libc::SIGKILL);
                        child.wait().await
                    }
                };
                (exit, true)
            }
            // The executor dropped the task's kill handle: it is going away.
            Err(_) => (child.wait().await, false),
        }
    };
    // Whatever the task left behind in its group goes too.
    let _ = kill_process_group(pgid, libc::SIGKILL);
    killed |= state
        .lock()
        .active
        .get(&id.value)
        .is_some_and(|a| a.killing);
    let (task_state, message) = match exit {
        Ok(s) => {
            let (ok, text) = describe_exit(s);
            let st = if killed {
                TaskState::TaskKilled
            } else if ok {
                TaskState::TaskFinished
            } else {
                TaskState::TaskFailed
            };
            (st, text)
        }
        Err(e) => (
            TaskState::TaskFailed,
            format!("failed to wait for the command: {e}"),
        ),
    };
    println!("Task {} {}: {message}", id.value, task_state.as_str_name());
    reporter.send(status(&id, task_state, Some(message))).await;
    task_ended(state, reporter, clock, id, task_state).await;
}

impl Executor for DefaultExecutor {
    async fn subscribed(&mut self, client: &ExecutorClient, subscribed: &event::Subscribed) {
        self.reporter(client);
        self.state.lock().killing_state = subscribed.framework_info.capabilities.iter().any(|c| {
            c.r#type == Some(v1::framework_info::capability::Type::TaskKillingState as i32)
        });
    }

    async fn launch(&mut self, client: &ExecutorClient, task: TaskInfo) {
        // Mesos's default executor never gets LAUNCH; it shuts down when it does.
        let reporter = self.reporter(client);
        let message = "the default executor only runs task groups (LAUNCH_GROUP)".to_string();
        eprintln!("{message}");
        reporter
            .send(status(&task.task_id, TaskState::TaskFailed, Some(message)))
            .await;
        self.shutdown(client).await;
    }

    async fn launch_group(&mut self, client: &ExecutorClient, group: TaskGroupInfo) {
        let reporter = self.reporter(client);
        if self.state.lock().shutting_down {
            for task in &group.tasks {
                let message = Some("the executor is shutting down".to_string());
                reporter
                    .send(status(&task.task_id, TaskState::TaskKilled, message))
                    .await;
            }
            return;
        }
        let index = {
            let mut st = self.state.lock();
            st.groups
                .push(group.tasks.iter().map(|t| t.task_id.clone()).collect());
            st.group_killed.push(false);
            st.groups.len() - 1
        };
        for task in &group.tasks {
            reporter
                .send(status(&task.task_id, TaskState::TaskStarting, None))
                .await;
        }
        let mut started = Vec::new();
        let mut failed = Vec::new();
        for task in &group.tasks {
            match self.spawn_task(task) {
                Ok((child, pgid)) => {
                    println!(
                        "Started task {} (pid {pgid}) in {}",
                        task.task_id.value,
                        task_sandbox(&self.sandbox, &task.task_id.value).display()
                    );
                    let (tx, rx) = oneshot::channel();
                    self.state.lock().active.insert(
                        task.task_id.value.clone(),
                        Active {
                            group: index,
                            kill_policy: task.kill_policy,
                            kill: Some(tx),
                            killing: false,
                        },
                    );
                    started.push(Started {
                        id: task.task_id.clone(),
                        child,
                        pgid,
                        kill: rx,
                    });
                }
                Err(message) => {
                    eprintln!("{message}");
                    // Active (and not killable) until its failure is reported, so that the
                    // executor cannot exit before and the group policy applies to it.
                    self.state.lock().active.insert(
                        task.task_id.value.clone(),
                        Active {
                            group: index,
                            kill_policy: None,
                            kill: None,
                            killing: true,
                        },
                    );
                    failed.push((task.task_id.clone(), message));
                }
            }
        }
        for s in started {
            tokio::spawn(watch(
                s,
                self.state.clone(),
                reporter.clone(),
                self.clock.clone(),
            ));
        }
        for (id, message) in failed {
            reporter
                .send(status(&id, TaskState::TaskFailed, Some(message)))
                .await;
            task_ended(
                self.state.clone(),
                reporter.clone(),
                self.clock.clone(),
                id,
                TaskState::TaskFailed,
            )
            .await;
        }
    }

    async fn kill(&mut self, client: &ExecutorClient, task_id: TaskId, policy: Option<KillPolicy>) {
        let reporter = self.reporter(client);
        let cause = KillCause::Requested(grace_of(policy.as_ref()));
        if !kill_task(&self.state, &reporter, &task_id.value, cause).await {
            eprintln!(
                "ignoring KILL of task {}: not running or already being killed",
                task_id.value
            );
        }
    }

    async fn shutdown(&mut self, client: &ExecutorClient) {
        let reporter = self.reporter(client);
        let tasks: Vec<String> = {
            let mut st = self.state.lock();
            st.shutting_down = true;
            st.active.keys().cloned().collect()
        };
        println!("Shutting down: killing {} task(s)", tasks.len());
        for task in tasks {
            let cause = KillCause::Shutdown(self.shutdown_grace);
            kill_task(&self.state, &reporter, &task, cause).await;
        }
        stop_if_idle(&self.state, &reporter, &self.clock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(shell: Option<bool>, value: &str, args: &[&str]) -> TaskInfo {
        TaskInfo {
            task_id: TaskId { value: "t".into() },
            command: Some(v1::CommandInfo {
                value: Some(value.into()),
                shell,
                arguments: args.iter().map(|a| a.to_string()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn shell_and_argv_commands() {
        let p = task_command(&task(None, "echo hi", &[])).unwrap();
        let std = p.as_std();
        assert_eq!(std.get_program(), "/bin/sh");
        assert_eq!(std.get_args().collect::<Vec<_>>(), ["-c", "echo hi"]);
        let p = task_command(&task(Some(false), "/bin/echo", &["echo", "a", "b"])).unwrap();
        let std = p.as_std();
        assert_eq!(std.get_program(), "/bin/echo");
        assert_eq!(std.get_args().collect::<Vec<_>>(), ["a", "b"]);
        assert!(task_command(&task(Some(false), "", &[])).is_err());
        let none = TaskInfo {
            task_id: TaskId { value: "x".into() },
            ..Default::default()
        };
        assert!(task_command(&none).unwrap_err().contains("x"));
    }

    #[test]
    fn grace_periods_and_sandboxes() {
        let policy = KillPolicy {
            grace_period: Some(v1::DurationInfo {
                nanoseconds: 1_500_000_000,
            }),
        };
        assert_eq!(grace_of(Some(&policy)), Some(Duration::from_millis(1500)));
        assert_eq!(grace_of(None), None);
        assert_eq!(
            task_sandbox(Path::new("/s"), "t1"),
            PathBuf::from("/s/tasks/t1")
        );
    }

    #[test]
    fn exit_descriptions() {
        use std::os::unix::process::ExitStatusExt;
        let (ok, text) = describe_exit(std::process::ExitStatus::from_raw(0));
        assert!(ok);
        assert_eq!(text, "Command exited with status 0");
        let (ok, text) = describe_exit(std::process::ExitStatus::from_raw(3 << 8));
        assert!(!ok);
        assert_eq!(text, "Command exited with status 3");
        let (ok, text) = describe_exit(std::process::ExitStatus::from_raw(9));
        assert!(!ok);
        assert_eq!(text, "Command terminated with signal 9");
    }
}

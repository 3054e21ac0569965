//! `mesos-executor`: Mesos's command executor. The agent starts it for a task that names
//! no executor; it runs that one task's command in the sandbox in its own process group
//! (with `MESOS_TASK_ID` set), reports TASK_RUNNING and then TASK_FINISHED / TASK_FAILED
//! (with the exit status) or TASK_KILLED, and exits once the agent has acknowledged the
//! terminal update.
//!
//! KILL honours the kill policy's grace period (the event's, else the task's, else 3 s):
//! SIGTERM to the task's process group, then SIGKILL when the grace period is over.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use libprocess::Clock;
use mesos_agent::default_executor::own_environment;
use mesos_agent::executor_env::task_environment;
use mesos_agent::sys::kill_process_group;
use mesos_scheduler::executor::{self, Config, Executor, ExecutorClient, ExecutorEnv};
use mesos_scheduler::v1::executor::event;
use mesos_scheduler::v1::{self, KillPolicy, TaskId, TaskInfo, TaskState, TaskStatus};
use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Grace period of a kill without a kill policy.
const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

fn status(task_id: &TaskId, state: TaskState, message: Option<String>) -> TaskStatus {
    TaskStatus {
        task_id: task_id.clone(),
        state: state as i32,
        message,
        source: Some(v1::task_status::Source::Executor as i32),
        ..Default::default()
    }
}

fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    policy
        .and_then(|p| p.grace_period.as_ref())
        .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
}

struct Running {
    id: TaskId,
    kill_policy: Option<KillPolicy>,
    kill: Option<oneshot::Sender<Duration>>,
}

struct CommandExecutor {
    clock: Clock,
    sandbox: Option<std::path::PathBuf>,
    shutdown_grace: Duration,
    killing_state: bool,
    task: Arc<Mutex<Option<Running>>>,
}

async fn send(client: &ExecutorClient, status: TaskStatus) {
    if let Err(error) = client.update(status).await {
        eprintln!("status update refused: {error}");
    }
}

/// Waits until the agent has acknowledged every update, then stops the driver.
async fn stop_when_acknowledged(client: ExecutorClient, clock: Clock) {
    while !client.unacknowledged_updates().is_empty() {
        clock.sleep(Duration::from_millis(20)).await;
    }
    client.stop();
}

impl CommandExecutor {
    fn start(&mut self, client: &ExecutorClient, task: TaskInfo) -> Result<(), String> {
        let command = task
            .command
            .clone()
            .ok_or("the command executor needs TaskInfo.command")?;
        let value = command.value.clone().unwrap_or_default();
        let mut process = if command.shell.unwrap_or(true) {
            let mut p = tokio::process::Command::new("/bin/sh");
            p.arg("-c").arg(&value);
            p
        } else {
            let mut p = tokio::process::Command::new(&value);
            p.args(command.arguments.iter().skip(1));
            p
        };
        // The task shares the executor's sandbox (no nested containers here).
        let sandbox = self
            .sandbox
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        process
            .env_clear()
            .envs(task_environment(own_environment(), &task, &sandbox))
            .current_dir(&sandbox);
        process.stdin(std::process::Stdio::null()).process_group(0);
        let mut child = process
            .spawn()
            .map_err(|e| format!("failed to start '{value}': {e}"))?;
        let pgid = child
            .id()
            .map(|p| p as i32)
            .ok_or("the command exited at once")?;
        println!("Starting task {} (pid {pgid}): {value}", task.task_id.value);
        let (kill_tx, kill_rx) = oneshot::channel::<Duration>();
        *self.task.lock() = Some(Running {
            id: task.task_id.clone(),
            kill_policy: task.kill_policy,
            kill: Some(kill_tx),
        });
        let id = task.task_id.clone();
        let client = client.clone();
        let clock = self.clock.clone();
        tokio::spawn(async move {
            send(&client, status(&id, TaskState::TaskRunning, None)).await;
            let (exit, killed) = tokio::select! {
                exit = child.wait() => (exit, false),
                grace = kill_rx => {
                    let grace = grace.unwrap_or(DEFAULT_KILL_GRACE);
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
            };
            // Whatever the leader left behind in its group goes too.
            let _ = kill_process_group(pgid, libc::SIGKILL);
            let final_status = match exit {
                _ if killed => status(&id, TaskState::TaskKilled, Some("Command killed".into())),
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    let message = match (s.code(), s.signal()) {
                        (Some(code), _) => format!("Command exited with status {code}"),
                        (None, Some(sig)) => format!("Command terminated with signal {sig}"),
                        (None, None) => "Command exited".to_string(),
                    };
                    let state = if s.success() {
                        TaskState::TaskFinished
                    } else {
                        TaskState::TaskFailed
                    };
                    status(&id, state, Some(message))
                }
                Err(e) => status(
                    &id,
                    TaskState::TaskFailed,
                    Some(format!("failed to wait for the command: {e}")),
                ),
            };
            println!(
                "Task {}: {}",
                id.value,
                final_status.message.clone().unwrap_or_default()
            );
            send(&client, final_status).await;
            stop_when_acknowledged(client, clock).await;
        });
        Ok(())
    }

    async fn kill_task(&mut self, client: &ExecutorClient, grace_override: Option<Duration>) {
        let (id, grace, kill) = {
            let mut guard = self.task.lock();
            let Some(running) = guard.as_mut() else {
                return;
            };
            let grace = grace_override
                .or_else(|| grace_of(running.kill_policy.as_ref()))
                .unwrap_or(DEFAULT_KILL_GRACE);
            (running.id.clone(), grace, running.kill.take())
        };
        let Some(kill) = kill else {
            return;
        };
        if self.killing_state {
            send(client, status(&id, TaskState::TaskKilling, None)).await;
        }
        let _ = kill.send(grace);
    }
}

impl Executor for CommandExecutor {
    async fn subscribed(&mut self, _client: &ExecutorClient, subscribed: &event::Subscribed) {
        self.killing_state = subscribed.framework_info.capabilities.iter().any(|c| {
            c.r#type == Some(v1::framework_info::capability::Type::TaskKillingState as i32)
        });
    }

    async fn launch(&mut self, client: &ExecutorClient, task: TaskInfo) {
        if self.task.lock().is_some() {
            let message = Some("the command executor runs a single task".to_string());
            send(
                client,
                status(&task.task_id, TaskState::TaskFailed, message),
            )
            .await;
            return;
        }
        let id = task.task_id.clone();
        if let Err(message) = self.start(client, task) {
            eprintln!("{message}");
            send(client, status(&id, TaskState::TaskFailed, Some(message))).await;
            tokio::spawn(stop_when_acknowledged(client.clone(), self.clock.clone()));
        }
    }

    async fn kill(
        &mut self,
        client: &ExecutorClient,
        _task_id: TaskId,
        policy: Option<KillPolicy>,
    ) {
        self.kill_task(client, grace_of(policy.as_ref())).await;
    }

    async fn shutdown(&mut self, client: &ExecutorClient) {
        if self.task.lock().is_none() {
            client.stop();
            return;
        }
        let grace = self.shutdown_grace;
        self.kill_task(client, Some(grace)).await;
    }
}

fn main() -> ExitCode {
    // `--launcher_dir` (and other flags the agent passes) need no handling here.
    let env = match ExecutorEnv::from_process_env() {
        Ok(env) => env,
        Err(error) => {
            eprintln!("mesos-executor must be started by a Mesos agent: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clock = Clock::new();
    let mut executor = CommandExecutor {
        clock: clock.clone(),
        sandbox: env.sandbox.clone(),
        // Leave a little of the agent's grace period for our own exit.
        shutdown_grace: env.shutdown_grace_period.mul_f64(0.8),
        killing_state: false,
        task: Arc::new(Mutex::new(None)),
    };
    let config = Config::new(env).with_clock(clock);
    match runtime.block_on(executor::run(config, &mut executor)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("executor driver failed: {error}");
            ExitCode::FAILURE
        }
    }
}

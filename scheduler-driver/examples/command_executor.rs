//! A small custom executor: runs each task's `command` with `/bin/sh -c` in the sandbox and
//! reports TASK_RUNNING, then TASK_FINISHED or TASK_FAILED (with the exit status); KILL ends
//! the process and reports TASK_KILLED; SHUTDOWN kills everything and exits.
//!
//! The agent starts it with the `MESOS_*` variables of reference §4 set, e.g. as
//! `ExecutorInfo.command.value` pointing at the built binary:
//! `cargo build -p mesos-scheduler --example command_executor`.

use std::collections::HashMap;
use std::process::ExitCode;

use mesos_scheduler::executor::{self, Config, Executor, ExecutorClient, ExecutorEnv};
use mesos_scheduler::v1::executor::event;
use mesos_scheduler::v1::{KillPolicy, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus};
use tokio::sync::oneshot;

/// Runs tasks as shell commands.
#[derive(Default)]
pub struct CommandExecutor {
    sandbox: Option<std::path::PathBuf>,
    kills: HashMap<String, oneshot::Sender<()>>,
}

impl CommandExecutor {
    /// An executor running commands in `sandbox` (the current directory if `None`).
    pub fn new(sandbox: Option<std::path::PathBuf>) -> Self {
        CommandExecutor {
            sandbox,
            kills: HashMap::new(),
        }
    }
}

fn status(task_id: &TaskId, state: TaskState, message: Option<String>) -> TaskStatus {
    TaskStatus {
        task_id: task_id.clone(),
        state: state as i32,
        message,
        ..Default::default()
    }
}

async fn send(client: &ExecutorClient, status: TaskStatus) {
    if let Err(error) = client.update(status).await {
        eprintln!("status update refused: {error}");
    }
}

impl Executor for CommandExecutor {
    async fn subscribed(&mut self, _client: &ExecutorClient, subscribed: &event::Subscribed) {
        println!("subscribed to agent {}", subscribed.agent_info.hostname);
    }

    async fn launch(&mut self, client: &ExecutorClient, task: TaskInfo) {
        let id = task.task_id.clone();
        let Some(command) = task.command.as_ref().and_then(|c| c.value.clone()) else {
            let message = Some("this executor needs command.value".to_string());
            send(client, status(&id, TaskState::TaskError, message)).await;
            return;
        };
        let mut process = tokio::process::Command::new("/bin/sh");
        process.arg("-c").arg(&command).kill_on_drop(true);
        process.env("MESOS_TASK_ID", &id.value);
        if let Some(dir) = &self.sandbox {
            process.current_dir(dir);
        }
        let mut child = match process.spawn() {
            Ok(c) => c,
            Err(e) => {
                let message = Some(format!("cannot start /bin/sh: {e}"));
                send(client, status(&id, TaskState::TaskFailed, message)).await;
                return;
            }
        };
        send(client, status(&id, TaskState::TaskRunning, None)).await;
        let (kill_tx, kill_rx) = oneshot::channel();
        self.kills.insert(id.value.clone(), kill_tx);
        let client = client.clone();
        tokio::spawn(async move {
            let final_status = tokio::select! {
                exit = child.wait() => match exit {
                    Ok(s) if s.success() => status(&id, TaskState::TaskFinished, None),
                    Ok(s) => status(&id, TaskState::TaskFailed, Some(format!("command exited with {s}"))),
                    Err(e) => status(&id, TaskState::TaskFailed, Some(format!("cannot wait for the command: {e}"))),
                },
                _ = kill_rx => {
                    let _ = child.kill().await;
                    status(&id, TaskState::TaskKilled, Some("killed by the scheduler".into()))
                }
            };
            send(&client, final_status).await;
        });
    }

    async fn launch_group(&mut self, client: &ExecutorClient, group: TaskGroupInfo) {
        for task in group.tasks {
            self.launch(client, task).await;
        }
    }

    async fn kill(
        &mut self,
        _client: &ExecutorClient,
        task_id: TaskId,
        _policy: Option<KillPolicy>,
    ) {
        if let Some(kill) = self.kills.remove(&task_id.value) {
            let _ = kill.send(());
        }
    }

    async fn shutdown(&mut self, client: &ExecutorClient) {
        for (_, kill) in self.kills.drain() {
            let _ = kill.send(());
        }
        client.stop();
    }
}

fn main() -> ExitCode {
    let env = match ExecutorEnv::from_process_env() {
        Ok(env) => env,
        Err(error) => {
            eprintln!("not started by a Mesos agent? {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut executor = CommandExecutor::new(env.sandbox.clone());
    match runtime.block_on(executor::run(Config::new(env), &mut executor)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("executor driver failed: {error}");
            ExitCode::FAILURE
        }
    }
}

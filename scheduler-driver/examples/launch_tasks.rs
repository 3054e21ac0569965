//! Launches N command tasks on a Mesos cluster and waits for them to finish.
//!
//! ```text
//! cargo run -p mesos-scheduler --example launch_tasks -- \
//!     --master 127.0.0.1:5050 --tasks 5 --command 'echo hello' [--json]
//! ```
//!
//! It subscribes, accepts offers with as many `cpus:0.1;mem:32` command tasks as fit (declining
//! what it cannot use), acknowledges every update (implicitly, after the callback) and exits 0
//! once every task reached TASK_FINISHED, 1 if any ended otherwise.

use std::process::ExitCode;
use std::time::Duration;

use mesos_scheduler::scheduler::{self, Client, Config, Scheduler};
use mesos_scheduler::v1::scheduler::event;
use mesos_scheduler::v1::{
    offer, value, CommandInfo, Filters, FrameworkInfo, Offer, Resource, TaskId, TaskInfo,
    TaskState, TaskStatus,
};
use mesos_scheduler::{ContentType, Error};

/// Resources each task asks for.
const TASK_CPUS: f64 = 0.1;
const TASK_MEM: f64 = 32.0;

/// How the run ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Tasks that reached TASK_FINISHED.
    pub finished: Vec<String>,
    /// Tasks that ended in another terminal state, with that state's name.
    pub failed: Vec<(String, String)>,
}

struct LaunchTasks {
    total: usize,
    launched: usize,
    command: String,
    summary: Summary,
}

fn scalar(offer: &Offer, name: &str) -> f64 {
    offer
        .resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum()
}

fn scalar_resource(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

impl Scheduler for LaunchTasks {
    async fn subscribed(&mut self, _client: &Client, subscribed: &event::Subscribed) {
        println!("subscribed as {}", subscribed.framework_id.value);
    }

    async fn offers(&mut self, client: &Client, offers: Vec<Offer>) {
        for offer in offers {
            let (mut cpus, mut mem) = (scalar(&offer, "cpus"), scalar(&offer, "mem"));
            let mut tasks = Vec::new();
            while self.launched < self.total && cpus >= TASK_CPUS && mem >= TASK_MEM {
                let id = format!("task-{}", self.launched);
                tasks.push(TaskInfo {
                    name: id.clone(),
                    task_id: TaskId { value: id },
                    agent_id: offer.agent_id.clone(),
                    resources: vec![
                        scalar_resource("cpus", TASK_CPUS),
                        scalar_resource("mem", TASK_MEM),
                    ],
                    command: Some(CommandInfo {
                        shell: Some(true),
                        value: Some(self.command.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                cpus -= TASK_CPUS;
                mem -= TASK_MEM;
                self.launched += 1;
            }
            let result = if tasks.is_empty() {
                let filters = Filters {
                    refuse_seconds: Some(5.0),
                };
                client.decline(vec![offer.id.clone()], Some(filters)).await
            } else {
                println!("launching {} task(s) on {}", tasks.len(), offer.hostname);
                let launch = offer::Operation {
                    r#type: Some(offer::operation::Type::Launch as i32),
                    launch: Some(offer::operation::Launch { task_infos: tasks }),
                    ..Default::default()
                };
                client
                    .accept(vec![offer.id.clone()], vec![launch], None)
                    .await
            };
            if let Err(error) = result {
                eprintln!("answering offer {} failed: {error}", offer.id.value);
            }
        }
    }

    async fn update(&mut self, client: &Client, status: &TaskStatus) {
        let state = status.state();
        let task = status.task_id.value.clone();
        println!("{task}: {}", state.as_str_name());
        if !is_terminal(state) {
            return;
        }
        if state == TaskState::TaskFinished {
            self.summary.finished.push(task);
        } else {
            self.summary
                .failed
                .push((task, state.as_str_name().to_string()));
        }
        if self.summary.finished.len() + self.summary.failed.len() >= self.total {
            // Takes effect after this update's acknowledgement went out.
            client.stop();
        }
    }

    async fn error(&mut self, _client: &Client, message: String) {
        eprintln!("master error: {message}");
    }
}

/// Runs `tasks` copies of `command` with `config`, returning how they ended.
pub async fn launch_tasks(config: Config, tasks: usize, command: &str) -> Result<Summary, Error> {
    let mut scheduler = LaunchTasks {
        total: tasks,
        launched: 0,
        command: command.to_string(),
        summary: Summary::default(),
    };
    if tasks > 0 {
        scheduler::run(config, &mut scheduler).await?;
    }
    Ok(scheduler.summary)
}

/// The framework this example registers as.
pub fn framework_info() -> FrameworkInfo {
    FrameworkInfo {
        user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        name: "launch_tasks example (Rust)".into(),
        failover_timeout: Some(Duration::from_secs(60).as_secs_f64()),
        ..Default::default()
    }
}

fn main() -> ExitCode {
    let mut master = "127.0.0.1:5050".to_string();
    let mut tasks = 3usize;
    let mut command = "echo hello from $MESOS_TASK_ID".to_string();
    let mut content_type = ContentType::Protobuf;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--master" => master = args.next().unwrap_or(master),
            "--tasks" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => tasks = n,
                None => {
                    eprintln!("--tasks needs a number");
                    return ExitCode::from(2);
                }
            },
            "--command" => command = args.next().unwrap_or(command),
            "--json" => content_type = ContentType::Json,
            other => {
                eprintln!("unknown argument {other:?}; see the file's doc comment");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config::new([master], framework_info()).with_content_type(content_type);
    match runtime.block_on(launch_tasks(config, tasks, &command)) {
        Ok(summary) if summary.failed.is_empty() => {
            println!("all {} task(s) finished", summary.finished.len());
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            eprintln!("tasks that did not finish: {:?}", summary.failed);
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("driver failed: {error}");
            ExitCode::FAILURE
        }
    }
}

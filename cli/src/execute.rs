//! `mesos execute`: a framework on [`mesos_scheduler`] that subscribes, launches one
//! command, `--instances` copies of it, or a task group (LAUNCH_GROUP with the default
//! executor), prints state changes and where each task's output is, and exits 0 iff
//! every task reached TASK_FINISHED.

mod plan;
mod progress;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use mesos_protos::resources::Resources;
use mesos_scheduler::scheduler::{self, AckMode, Client, Config, Scheduler};
use mesos_scheduler::v1::scheduler::event;
use mesos_scheduler::v1::{
    offer, Filters, FrameworkId, FrameworkInfo, Offer, TaskInfo, TaskState, TaskStatus,
};

use crate::args::Args;
use crate::list::{base_url, check_reachable, get_json, DEFAULT_MASTER};
use crate::Env;
pub use plan::Plan;
use progress::Progress;

/// Tasks above this count get a progress line instead of one line per update.
const VERBOSE_LIMIT: usize = 10;

/// Where a task's output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLocation {
    /// The sandbox on the agent's disk (relative to `<agent work_dir>` when the agent's
    /// `/flags` cannot tell the real one).
    pub sandbox: String,
    /// `http://agent/files/read?path=...` for the task's stdout.
    pub stdout_url: Option<String>,
}

/// Whether no more updates follow for a task in `state`.
pub fn is_terminal(state: TaskState) -> bool {
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

/// An agent as seen in offers: its HTTP base (`http://ip:port/slave(1)`) and work dir.
#[derive(Debug, Clone, Default)]
struct AgentSeen {
    hostname: String,
    endpoint: Option<String>,
    work_dir: Option<Option<String>>,
}

struct Execute {
    plan: Plan,
    pending: Vec<TaskInfo>,
    framework_id: Option<FrameworkId>,
    agents: HashMap<String, AgentSeen>,
    executor_of: HashMap<String, String>,
    progress: Progress,
    verbose: bool,
    shown_output: bool,
}

impl Execute {
    fn new(plan: Plan) -> Execute {
        let total = plan.task_count();
        Execute {
            pending: Vec::new(),
            plan,
            framework_id: None,
            agents: HashMap::new(),
            executor_of: HashMap::new(),
            progress: Progress::new(total, std::io::stdout().is_terminal()),
            verbose: total <= VERBOSE_LIMIT,
            shown_output: false,
        }
    }

    async fn agent_work_dir(&mut self, agent_id: &str) -> Option<String> {
        let seen = self.agents.get_mut(agent_id)?;
        if let Some(known) = &seen.work_dir {
            return known.clone();
        }
        let endpoint = seen.endpoint.clone()?;
        let found = match get_json(&format!("{endpoint}/flags")).await {
            Ok(v) => v
                .pointer("/flags/work_dir")
                .and_then(|w| w.as_str())
                .map(str::to_string),
            Err(e) => {
                tracing::debug!("cannot read the agent's flags: {e}");
                None
            }
        };
        seen.work_dir = Some(found.clone());
        found
    }

    async fn output_location(&mut self, status: &TaskStatus) -> Option<OutputLocation> {
        let agent_id = status.agent_id.as_ref()?.value.clone();
        let framework_id = self.framework_id.as_ref()?.value.clone();
        let task = status.task_id.value.clone();
        let executor = status
            .executor_id
            .as_ref()
            .map(|e| e.value.clone())
            .or_else(|| self.executor_of.get(&task).cloned())
            .unwrap_or_else(|| task.clone());
        let grouped = matches!(self.plan, Plan::Group { .. });
        let work_dir = self.agent_work_dir(&agent_id).await;
        let endpoint = self.agents.get(&agent_id).and_then(|a| a.endpoint.clone());
        Some(plan::output_location(
            work_dir.as_deref(),
            endpoint.as_deref(),
            &plan::SandboxIds {
                agent: &agent_id,
                framework: &framework_id,
                executor: &executor,
                task: grouped.then_some(task.as_str()),
            },
        ))
    }

    fn print_location(&mut self, task: &str, loc: &OutputLocation) {
        let line = match &loc.stdout_url {
            Some(url) => format!("  {task} output: {} ({url})", loc.sandbox),
            None => format!("  {task} output: {}", loc.sandbox),
        };
        self.progress.println(&line);
    }
}

impl Scheduler for Execute {
    async fn subscribed(&mut self, client: &Client, subscribed: &event::Subscribed) {
        println!("subscribed as framework {}", subscribed.framework_id.value);
        if self.framework_id.is_none() {
            self.framework_id = Some(subscribed.framework_id.clone());
            self.pending = self.plan.tasks();
        }
        if self.pending.is_empty() && !self.progress.all_done() {
            // A re-subscription after everything was launched: nothing more to place.
            let _ = client.suppress(Vec::new()).await;
        }
    }

    async fn offers(&mut self, client: &Client, offers: Vec<Offer>) {
        for offer in offers {
            let endpoint = offer.url.as_ref().map(|u| {
                let host = u
                    .address
                    .ip
                    .clone()
                    .unwrap_or_else(|| u.address.hostname.clone().unwrap_or_default());
                format!(
                    "{}://{}:{}{}",
                    u.scheme,
                    host,
                    u.address.port,
                    u.path.clone().unwrap_or_default()
                )
            });
            let seen = self.agents.entry(offer.agent_id.value.clone()).or_default();
            seen.hostname = offer.hostname.clone();
            if seen.endpoint.is_none() {
                seen.endpoint = endpoint;
            }
            let framework_id = self.framework_id.clone().unwrap_or_default();
            let mut available = Resources::from_resources(&offer.resources);
            let operation = match &self.plan {
                Plan::Group { executor, .. } => {
                    let need = plan::group_resources(&self.pending, executor);
                    if self.pending.is_empty() || !available.contains(&need) {
                        None
                    } else {
                        let (op, ids) = plan::launch_group(
                            std::mem::take(&mut self.pending),
                            (**executor).clone(),
                            &framework_id,
                            &offer.agent_id,
                        );
                        for (task, exec) in ids {
                            self.executor_of.insert(task, exec);
                        }
                        Some(op)
                    }
                }
                Plan::Tasks { .. } => {
                    let mut chosen = Vec::new();
                    while let Some(task) = self.pending.last() {
                        let need = Resources::from_resources(&task.resources);
                        if !available.contains(&need) {
                            break;
                        }
                        available -= &need;
                        let mut task = self.pending.pop().unwrap_or_default();
                        task.agent_id = offer.agent_id.clone();
                        chosen.push(task);
                    }
                    (!chosen.is_empty()).then(|| offer::Operation {
                        r#type: Some(offer::operation::Type::Launch as i32),
                        launch: Some(offer::operation::Launch { task_infos: chosen }),
                        ..Default::default()
                    })
                }
            };
            let result = match operation {
                Some(op) => {
                    let n = op
                        .launch
                        .as_ref()
                        .map(|l| l.task_infos.len())
                        .or_else(|| op.launch_group.as_ref().map(|g| g.task_group.tasks.len()))
                        .unwrap_or(0);
                    self.progress.launched(n);
                    if self.verbose {
                        println!("launching {n} task(s) on agent {}", offer.hostname);
                    }
                    let filters = Filters {
                        refuse_seconds: Some(1.0),
                    };
                    client
                        .accept(vec![offer.id.clone()], vec![op], Some(filters))
                        .await
                }
                None => {
                    let filters = Filters {
                        refuse_seconds: Some(if self.pending.is_empty() { 3600.0 } else { 1.0 }),
                    };
                    client.decline(vec![offer.id.clone()], Some(filters)).await
                }
            };
            if let Err(e) = result {
                eprintln!("answering offer {} failed: {e}", offer.id.value);
            }
        }
        if self.pending.is_empty() {
            let _ = client.suppress(Vec::new()).await;
        }
    }

    async fn update(&mut self, client: &Client, status: &TaskStatus) {
        // Acknowledged here (explicit mode) so that the last one goes out before TEARDOWN.
        if let Err(e) = client.acknowledge_update(status).await {
            tracing::warn!("acknowledging {} failed: {e}", status.task_id.value);
        }
        let state = status.state();
        let task = status.task_id.value.clone();
        let first_change = self.progress.update(&task, state);
        if !first_change {
            return;
        }
        let failed = is_terminal(state) && state != TaskState::TaskFinished;
        if self.verbose || failed {
            let mut line = format!("task {task}: {}", state.as_str_name());
            if let Some(agent) = status
                .agent_id
                .as_ref()
                .and_then(|a| self.agents.get(&a.value))
            {
                line.push_str(&format!(" on {}", agent.hostname));
            }
            if let Some(reason) = status
                .reason
                .and_then(|r| mesos_scheduler::v1::task_status::Reason::try_from(r).ok())
            {
                line.push_str(&format!(" ({})", reason.as_str_name()));
            }
            if let Some(msg) = status.message.as_deref().filter(|m| !m.is_empty()) {
                line.push_str(&format!(": {msg}"));
            }
            self.progress.println(&line);
        }
        let show = failed
            || (state == TaskState::TaskRunning && (self.verbose || !self.shown_output))
            || (state == TaskState::TaskFinished && self.verbose);
        if show && !(state == TaskState::TaskFinished && self.progress.saw_running(&task)) {
            if let Some(loc) = self.output_location(status).await {
                self.print_location(&task, &loc);
                self.shown_output = true;
            }
        }
        if !self.verbose {
            self.progress.draw();
        }
        if self.progress.all_done() {
            // Like Mesos's mesos-execute: the framework leaves once its work is done.
            if let Err(e) = client.teardown().await {
                tracing::warn!("TEARDOWN failed: {e}");
            }
            client.stop();
        }
    }

    async fn failure(&mut self, _client: &Client, failure: event::Failure) {
        match (failure.agent_id, failure.executor_id) {
            // An executor ended; its tasks' updates say how.
            (_, Some(executor)) => {
                tracing::debug!(executor = %executor.value, status = ?failure.status, "executor exited");
            }
            (Some(agent), None) => {
                self.progress.println(&format!(
                    "agent {} was removed from the cluster",
                    agent.value
                ));
            }
            (None, None) => {}
        }
    }

    async fn error(&mut self, _client: &Client, message: String) {
        self.progress.println(&format!("master error: {message}"));
    }
}

fn usage() -> String {
    format!(
        "Usage: mesos execute [--master=host:port] --name=NAME \
         (--command=CMD [--instances=N] | --task_group=FILE) [--flags]\n\n  \
         --master          the master (default {DEFAULT_MASTER})\n  \
         --name            task name (and id, with -<i> suffixes for instances)\n  \
         --command         shell command of the task\n  \
         --resources       per-task resources (default {})\n  \
         --instances       number of copies of the command (default 1)\n  \
         --task_group      JSON file with a TaskGroupInfo, launched with the default executor\n  \
         --framework_name  (default mesos-execute instance)\n  \
         --role            role of the framework (default *)\n  \
         --user            user the tasks run as (default $USER)",
        plan::DEFAULT_RESOURCES
    )
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Tasks that reached TASK_FINISHED.
    pub finished: usize,
    /// Tasks that ended otherwise, with their state.
    pub failed: Vec<(String, String)>,
}

/// Runs `plan` against `master` until every task is terminal.
pub async fn run(
    master: &str,
    framework: FrameworkInfo,
    plan: Plan,
) -> Result<Outcome, mesos_scheduler::Error> {
    let config = Config::new([base_url(master)], framework).with_ack_mode(AckMode::Explicit);
    let mut exec = Execute::new(plan);
    let result = scheduler::run(config, &mut exec).await;
    exec.progress.finish();
    result?;
    Ok(exec.progress.outcome())
}

/// `mesos execute [--flags]`.
pub fn main(words: &[&str], env: &Env) -> ExitCode {
    let known = [
        "master",
        "name",
        "command",
        "resources",
        "instances",
        "task_group",
        "framework_name",
        "role",
        "user",
    ];
    let args = match Args::parse(words, &known, &[]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mesos execute: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let plan = match Plan::from_args(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mesos execute: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let role = args.get("role").unwrap_or("*").to_string();
    let framework = FrameworkInfo {
        user: args
            .get("user")
            .map(str::to_string)
            .or_else(|| env.get("USER").cloned())
            .unwrap_or_else(|| "root".into()),
        name: args
            .get("framework_name")
            .unwrap_or("mesos-execute instance")
            .to_string(),
        // Single-role framework (no MULTI_ROLE), so offers carry no allocation info.
        #[allow(deprecated)]
        role: Some(role),
        failover_timeout: Some(Duration::ZERO.as_secs_f64()),
        ..Default::default()
    };
    let master = args.get("master").unwrap_or(DEFAULT_MASTER).to_string();
    let rt = match crate::master::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos execute: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The driver retries an unreachable master forever; say so at once instead.
    if let Err(e) = rt.block_on(check_reachable(&format!("{}/health", base_url(&master)))) {
        eprintln!("mesos execute: {e}\n(is a master running there? pass --master=host:port)");
        return ExitCode::FAILURE;
    }
    match rt.block_on(run(&master, framework, plan)) {
        Ok(outcome) if outcome.failed.is_empty() => {
            println!("all {} task(s) finished", outcome.finished);
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            println!(
                "{} task(s) finished, {} did not:",
                outcome.finished,
                outcome.failed.len()
            );
            for (task, state) in &outcome.failed {
                println!("  {task}: {state}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("mesos execute: {e}");
            ExitCode::FAILURE
        }
    }
}

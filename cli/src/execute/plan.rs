//! What `mesos execute` launches: task infos from the flags or a task-group file, the
//! LAUNCH_GROUP operation, and where a task's output ends up.

use mesos_protos::resources::{self, Resources};
use mesos_scheduler::v1::{
    executor_info, offer, AgentId, CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, Resource,
    TaskGroupInfo, TaskId, TaskInfo,
};

use super::OutputLocation;
use crate::args::Args;

/// Per-task resources unless `--resources` says otherwise.
pub const DEFAULT_RESOURCES: &str = "cpus:0.1;mem:32";
/// What the default executor itself is given (as Mesos's `mesos-execute` does).
pub const DEFAULT_EXECUTOR_RESOURCES: &str = "cpus:0.1;mem:32;disk:32";
/// The executor id of a task group.
pub const DEFAULT_EXECUTOR_ID: &str = "default-executor";

/// Errors in `mesos execute`'s flags or task-group file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A flag problem.
    #[error(transparent)]
    Args(#[from] crate::args::ArgsError),
    /// Neither or both of `--command` and `--task_group`.
    #[error("{0}")]
    Usage(String),
    /// `--resources` does not parse.
    #[error("invalid --resources '{text}': {reason}")]
    Resources {
        /// The text given.
        text: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The task-group file cannot be read.
    #[error("cannot read --task_group file '{path}': {reason}")]
    File {
        /// The path given.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The task-group JSON is not a TaskGroupInfo.
    #[error("invalid task group: {0}")]
    Group(String),
}

/// The tasks to run.
#[derive(Debug, Clone)]
pub enum Plan {
    /// `instances` copies of one shell command.
    Tasks {
        /// Task name (and id prefix).
        name: String,
        /// The shell command.
        command: String,
        /// Per-task resources.
        resources: Vec<Resource>,
        /// How many.
        instances: usize,
    },
    /// One task group under the default executor.
    Group {
        /// The tasks (agent ids filled in at launch).
        group: TaskGroupInfo,
        /// The default executor (framework id filled in at launch).
        executor: Box<ExecutorInfo>,
    },
}

fn parse_resources(text: &str) -> Result<Vec<Resource>, PlanError> {
    resources::from_string(text, "*").map_err(|e| PlanError::Resources {
        text: text.to_string(),
        reason: e.to_string(),
    })
}

/// Parses a TaskGroupInfo in Mesos JSON; `agent_id` may be omitted and `task_id`
/// defaults to the task's name.
pub fn parse_group(text: &str) -> Result<TaskGroupInfo, PlanError> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PlanError::Group(e.to_string()))?;
    let tasks = value
        .get_mut("tasks")
        .and_then(|t| t.as_array_mut())
        .ok_or_else(|| PlanError::Group("expected an object with a 'tasks' array".into()))?;
    if tasks.is_empty() {
        return Err(PlanError::Group("the 'tasks' array is empty".into()));
    }
    for task in tasks.iter_mut() {
        let Some(obj) = task.as_object_mut() else {
            return Err(PlanError::Group("every task must be an object".into()));
        };
        obj.entry("agent_id")
            .or_insert_with(|| serde_json::json!({"value": ""}));
        if !obj.contains_key("task_id") {
            if let Some(name) = obj.get("name").cloned() {
                obj.insert("task_id".into(), serde_json::json!({ "value": name }));
            }
        }
    }
    mesos_protos::json::from_value::<TaskGroupInfo>(&value)
        .map_err(|e| PlanError::Group(e.to_string()))
}

impl Plan {
    /// Builds the plan from `mesos execute`'s flags.
    pub fn from_args(args: &Args) -> Result<Plan, PlanError> {
        match (args.get("command"), args.get("task_group")) {
            (Some(command), None) => {
                let name = args
                    .get("name")
                    .ok_or_else(|| PlanError::Usage("--name is required with --command".into()))?;
                mesos_protos::validation::validate_id(name)
                    .map_err(|e| PlanError::Usage(format!("invalid --name '{name}': {e}")))?;
                let instances = args.parsed("instances", 1usize)?;
                if instances == 0 {
                    return Err(PlanError::Usage("--instances must be at least 1".into()));
                }
                Ok(Plan::Tasks {
                    name: name.to_string(),
                    command: command.to_string(),
                    resources: parse_resources(args.get("resources").unwrap_or(DEFAULT_RESOURCES))?,
                    instances,
                })
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| PlanError::File {
                    path: path.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(Plan::Group {
                    group: parse_group(&text)?,
                    executor: Box::new(ExecutorInfo {
                        r#type: Some(executor_info::Type::Default as i32),
                        executor_id: ExecutorId {
                            value: DEFAULT_EXECUTOR_ID.into(),
                        },
                        resources: parse_resources(DEFAULT_EXECUTOR_RESOURCES)?,
                        ..Default::default()
                    }),
                })
            }
            (Some(_), Some(_)) => Err(PlanError::Usage(
                "give either --command or --task_group, not both".into(),
            )),
            (None, None) => Err(PlanError::Usage(
                "one of --command or --task_group is required".into(),
            )),
        }
    }

    /// How many tasks the plan runs.
    pub fn task_count(&self) -> usize {
        match self {
            Plan::Tasks { instances, .. } => *instances,
            Plan::Group { group, .. } => group.tasks.len(),
        }
    }

    /// The task infos, last to launch first (callers pop from the end).
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let mut tasks: Vec<TaskInfo> = match self {
            Plan::Tasks {
                name,
                command,
                resources,
                instances,
            } => (0..*instances)
                .map(|i| {
                    let id = if *instances == 1 {
                        name.clone()
                    } else {
                        format!("{name}-{i}")
                    };
                    TaskInfo {
                        name: name.clone(),
                        task_id: TaskId { value: id },
                        resources: resources.clone(),
                        command: Some(CommandInfo {
                            shell: Some(true),
                            value: Some(command.clone()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                })
                .collect(),
            Plan::Group { group, .. } => group.tasks.clone(),
        };
        tasks.reverse();
        tasks
    }
}

/// What a task group needs from one offer: its tasks plus the executor.
pub fn group_resources(tasks: &[TaskInfo], executor: &ExecutorInfo) -> Resources {
    let mut need = Resources::from_resources(&executor.resources);
    for t in tasks {
        need += Resources::from_resources(&t.resources);
    }
    need
}

/// The LAUNCH_GROUP operation for `tasks` on `agent`, with (task, executor) pairs.
pub fn launch_group(
    mut tasks: Vec<TaskInfo>,
    mut executor: ExecutorInfo,
    framework: &FrameworkId,
    agent: &AgentId,
) -> (offer::Operation, Vec<(String, String)>) {
    tasks.reverse();
    executor.framework_id = Some(framework.clone());
    let mut ids = Vec::new();
    for t in &mut tasks {
        t.agent_id = agent.clone();
        ids.push((t.task_id.value.clone(), executor.executor_id.value.clone()));
    }
    let op = offer::Operation {
        r#type: Some(offer::operation::Type::LaunchGroup as i32),
        launch_group: Some(offer::operation::LaunchGroup {
            executor,
            task_group: TaskGroupInfo { tasks },
        }),
        ..Default::default()
    };
    (op, ids)
}

/// The ids that locate a sandbox.
#[derive(Debug, Clone, Copy)]
pub struct SandboxIds<'a> {
    /// Agent id.
    pub agent: &'a str,
    /// Framework id.
    pub framework: &'a str,
    /// Executor id (the task id for command tasks).
    pub executor: &'a str,
    /// The task, for tasks of a group (they get `tasks/<id>` in the executor sandbox).
    pub task: Option<&'a str>,
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The sandbox path (Mesos's work-dir layout, `runs/latest`) and its `/files/read` URL.
/// `endpoint` is the agent's URL from the offer (`http://ip:port/slave(1)`).
pub fn output_location(
    work_dir: Option<&str>,
    endpoint: Option<&str>,
    ids: &SandboxIds<'_>,
) -> OutputLocation {
    // Without the agent's `/flags` the path is shown relative to its work dir.
    let known = work_dir.is_some();
    let mut dir = format!(
        "{}/slaves/{}/frameworks/{}/executors/{}/runs/latest",
        work_dir.unwrap_or("<agent work_dir>").trim_end_matches('/'),
        ids.agent,
        ids.framework,
        ids.executor
    );
    if let Some(task) = ids.task {
        dir.push_str(&format!("/tasks/{task}"));
    }
    let origin = endpoint.map(|e| match e.find("://") {
        Some(i) => match e[i + 3..].find('/') {
            Some(j) => e[..i + 3 + j].to_string(),
            None => e.to_string(),
        },
        None => e.to_string(),
    });
    let stdout_url = match &origin {
        Some(o) if known => Some(format!(
            "{o}/files/read?path={}&offset=0",
            percent_encode(&format!("{dir}/stdout"))
        )),
        _ => None,
    };
    OutputLocation {
        sandbox: dir,
        stdout_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::parse(
            words,
            &["name", "command", "resources", "instances", "task_group"],
            &[],
        )
        .unwrap()
    }

    #[test]
    fn instances_get_numbered_ids_and_resources() {
        let plan = Plan::from_args(&args(&[
            "--name=sleep",
            "--command=sleep 1",
            "--instances=3",
            "--resources=cpus:0.2;mem:16",
        ]))
        .unwrap();
        assert_eq!(plan.task_count(), 3);
        let mut tasks = plan.tasks();
        let first = tasks.pop().unwrap();
        assert_eq!(first.task_id.value, "sleep-0");
        assert_eq!(first.command.unwrap().value.as_deref(), Some("sleep 1"));
        let r = Resources::from_resources(&first.resources);
        assert_eq!(r, Resources::parse("cpus:0.2;mem:16", "*").unwrap());
        let single = Plan::from_args(&args(&["--name=one", "--command=true"])).unwrap();
        assert_eq!(single.tasks()[0].task_id.value, "one");
    }

    #[test]
    fn bad_flags_are_named() {
        let e = Plan::from_args(&args(&["--name=x"])).unwrap_err();
        assert!(e.to_string().contains("--command"), "{e}");
        let e = Plan::from_args(&args(&[
            "--name=x",
            "--command=true",
            "--resources=cpus:abc",
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("cpus:abc"), "{e}");
        let e = Plan::from_args(&args(&["--command=true"])).unwrap_err();
        assert!(e.to_string().contains("--name"), "{e}");
        let e = Plan::from_args(&args(&["--task_group=/nonexistent/g.json"])).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/g.json"), "{e}");
    }

    #[test]
    fn task_group_file_becomes_launch_group() {
        let text = r#"{"tasks":[
            {"name":"a","task_id":{"value":"a"},"command":{"value":"echo a"},
             "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}]},
            {"name":"b","command":{"value":"echo b"},
             "resources":[{"name":"mem","type":"SCALAR","scalar":{"value":32}}]}]}"#;
        let group = parse_group(text).unwrap();
        assert_eq!(group.tasks.len(), 2);
        assert_eq!(group.tasks[1].task_id.value, "b");
        let executor = ExecutorInfo {
            resources: parse_resources(DEFAULT_EXECUTOR_RESOURCES).unwrap(),
            executor_id: ExecutorId {
                value: DEFAULT_EXECUTOR_ID.into(),
            },
            r#type: Some(executor_info::Type::Default as i32),
            ..Default::default()
        };
        let need = group_resources(&group.tasks, &executor);
        assert_eq!(
            need,
            Resources::parse("cpus:0.2;mem:64;disk:32", "*").unwrap()
        );
        let plan = Plan::Group {
            group,
            executor: Box::new(executor.clone()),
        };
        let fw = FrameworkId { value: "f".into() };
        let agent = AgentId { value: "s".into() };
        let (op, ids) = launch_group(plan.tasks(), executor, &fw, &agent);
        let lg = op.launch_group.unwrap();
        assert_eq!(lg.executor.framework_id, Some(fw));
        let names: Vec<_> = lg
            .task_group
            .tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(lg.task_group.tasks.iter().all(|t| t.agent_id == agent));
        assert_eq!(ids[0], ("a".to_string(), DEFAULT_EXECUTOR_ID.to_string()));
        assert!(parse_group(r#"{"tasks":[]}"#).is_err());
        assert!(parse_group("[]").is_err());
    }

    #[test]
    fn output_location_follows_the_work_dir_layout() {
        let ids = SandboxIds {
            agent: "S1",
            framework: "F1",
            executor: "t 1",
            task: None,
        };
        let loc = output_location(Some("/tmp/w/"), Some("http://10.0.0.1:5051/slave(1)"), &ids);
        assert_eq!(
            loc.sandbox,
            "/tmp/w/slaves/S1/frameworks/F1/executors/t 1/runs/latest"
        );
        assert_eq!(
            loc.stdout_url.as_deref(),
            Some(
                "http://10.0.0.1:5051/files/read?path=/tmp/w/slaves/S1/frameworks/F1/\
                 executors/t%201/runs/latest/stdout&offset=0"
            )
        );
        let grouped = SandboxIds {
            task: Some("a"),
            ..ids
        };
        let loc = output_location(Some("/w"), None, &grouped);
        assert!(loc.sandbox.ends_with("runs/latest/tasks/a"));
        assert_eq!(loc.stdout_url, None);
        let loc = output_location(None, Some("http://10.0.0.1:5051/slave(1)"), &ids);
        assert_eq!(
            loc.sandbox,
            "<agent work_dir>/slaves/S1/frameworks/F1/executors/t 1/runs/latest"
        );
        assert_eq!(loc.stdout_url, None, "no URL without the real path");
    }
}

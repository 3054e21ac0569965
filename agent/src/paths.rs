//! Mesos's work-dir layout.
//!
//! ```text
//! <work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>   sandbox
//! <work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/latest        -> newest run
//! <work_dir>/meta/boot_id
//! <work_dir>/meta/resources/resources.info | resources.target | resources_and_operations.state
//! <work_dir>/meta/slaves/<agent>/operations/<operation uuid>/operation.updates
//! <work_dir>/volumes/roles/<role, '/' as ' '>/<persistence id>                  persistent volume
//! <work_dir>/meta/slaves/latest                                               -> current agent
//! <work_dir>/meta/slaves/<agent>/slave.info
//! <work_dir>/meta/slaves/<agent>/frameworks/<fw>/framework.info | framework.pid
//! <work_dir>/meta/slaves/<agent>/frameworks/<fw>/executors/<ex>/executor.info
//! <work_dir>/meta/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>/pids/forked.pid
//! <work_dir>/meta/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>/http.marker
//! <work_dir>/meta/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>/tasks/<task>/task.info | task.updates
//! <runtime_dir>/containers/<container>/pid | status | termination
//! ```
//!
//! Every id becomes one path component, so each is checked first: an id that is empty,
//! `.`/`..`, or holds `/` or NUL would leave its folder, and is refused.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Name of the symlink to the newest run / current agent.
pub const LATEST: &str = "latest";
/// File holding the boot id the agent last ran under.
pub const BOOT_ID_FILE: &str = "boot_id";
/// Checkpointed `AgentInfo`.
pub const SLAVE_INFO_FILE: &str = "slave.info";
/// Checkpointed `FrameworkInfo`.
pub const FRAMEWORK_INFO_FILE: &str = "framework.info";
/// Checkpointed scheduler pid (v0 frameworks).
pub const FRAMEWORK_PID_FILE: &str = "framework.pid";
/// Checkpointed `ExecutorInfo`.
pub const EXECUTOR_INFO_FILE: &str = "executor.info";
/// Marks an executor run that speaks the HTTP executor API.
pub const HTTP_MARKER_FILE: &str = "http.marker";
/// Pid of the forked executor.
pub const FORKED_PID_FILE: &str = "forked.pid";
/// Pid (UPID) of a v0 executor.
pub const LIBPROCESS_PID_FILE: &str = "libprocess.pid";
/// Checkpointed `TaskInfo`.
pub const TASK_INFO_FILE: &str = "task.info";
/// Append-only log of a task's status updates and acks.
pub const TASK_UPDATES_FILE: &str = "task.updates";
/// Checkpointed total resources.
pub const RESOURCES_INFO_FILE: &str = "resources.info";
/// Resources being committed (volumes are synced before it becomes `resources.info`).
pub const RESOURCES_TARGET_FILE: &str = "resources.target";
/// Checkpointed resources plus the operations still to report (Mesos's `ResourceState`).
pub const RESOURCE_STATE_FILE: &str = "resources_and_operations.state";
/// Append-only log of an operation's status updates and acks.
pub const OPERATION_UPDATES_FILE: &str = "operation.updates";

/// An id that cannot be used as a path component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id '{id}': ids must be non-empty and may not be '.', '..' or contain '/' or NUL")]
pub struct BadId {
    /// Which kind of id (agent, framework, executor, container, task).
    pub kind: &'static str,
    /// The id as given.
    pub id: String,
}

/// Checks that `id` is usable as one path component.
pub fn check_id(kind: &'static str, id: &str) -> Result<(), BadId> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(BadId {
            kind,
            id: id.to_string(),
        });
    }
    Ok(())
}

/// The ids that locate one executor run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunIds<'a> {
    /// Agent id.
    pub agent: &'a str,
    /// Framework id.
    pub framework: &'a str,
    /// Executor id.
    pub executor: &'a str,
    /// Container id of the run.
    pub container: &'a str,
}

impl RunIds<'_> {
    fn check(&self) -> Result<(), BadId> {
        check_id("agent", self.agent)?;
        check_id("framework", self.framework)?;
        check_id("executor", self.executor)?;
        check_id("container", self.container)
    }
}

/// Paths under one agent's `--work_dir` and `--runtime_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `--work_dir`.
    pub work_dir: PathBuf,
    /// `--runtime_dir`.
    pub runtime_dir: PathBuf,
}

impl Layout {
    /// A layout over these two roots.
    pub fn new(work_dir: impl Into<PathBuf>, runtime_dir: impl Into<PathBuf>) -> Layout {
        Layout {
            work_dir: work_dir.into(),
            runtime_dir: runtime_dir.into(),
        }
    }

    /// `<work_dir>/meta`.
    pub fn meta_dir(&self) -> PathBuf {
        self.work_dir.join("meta")
    }

    /// `<work_dir>/meta/boot_id`.
    pub fn boot_id_file(&self) -> PathBuf {
        self.meta_dir().join(BOOT_ID_FILE)
    }

    /// `<work_dir>/meta/resources/resources.info`.
    pub fn resources_info_file(&self) -> PathBuf {
        self.meta_dir().join("resources").join(RESOURCES_INFO_FILE)
    }

    /// `<work_dir>/meta/resources/resources.target`.
    pub fn resources_target_file(&self) -> PathBuf {
        self.meta_dir()
            .join("resources")
            .join(RESOURCES_TARGET_FILE)
    }

    /// `<work_dir>/meta/resources/resources_and_operations.state`.
    pub fn resource_state_file(&self) -> PathBuf {
        self.meta_dir().join("resources").join(RESOURCE_STATE_FILE)
    }

    /// `<work_dir>/meta/slaves/<agent>/operations`.
    pub fn operations_dir(&self, agent: &str) -> Result<PathBuf, BadId> {
        Ok(self.meta_agent_dir(agent)?.join("operations"))
    }

    /// `<work_dir>/meta/slaves/<agent>/operations/<uuid>/operation.updates`.
    pub fn operation_updates_file(&self, agent: &str, uuid: &str) -> Result<PathBuf, BadId> {
        check_id("operation", uuid)?;
        Ok(self
            .operations_dir(agent)?
            .join(uuid)
            .join(OPERATION_UPDATES_FILE))
    }

    /// `<work_dir>/volumes/roles/<role>/<persistence id>`; a `/` of a hierarchical role
    /// becomes a space (as in Mesos), so a sub-role never looks like a volume's folder.
    pub fn persistent_volume_dir(
        &self,
        role: &str,
        persistence_id: &str,
    ) -> Result<PathBuf, BadId> {
        let role = role.replace('/', " ");
        check_id("role", &role)?;
        check_id("persistence", persistence_id)?;
        Ok(self
            .work_dir
            .join("volumes")
            .join("roles")
            .join(role)
            .join(persistence_id))
    }

    /// `<work_dir>/meta/slaves`.
    pub fn meta_agents_dir(&self) -> PathBuf {
        self.meta_dir().join("slaves")
    }

    /// `<work_dir>/meta/slaves/latest`: points at the current agent's meta folder.
    pub fn latest_agent_link(&self) -> PathBuf {
        self.meta_agents_dir().join(LATEST)
    }

    /// `<work_dir>/meta/slaves/<agent>`.
    pub fn meta_agent_dir(&self, agent: &str) -> Result<PathBuf, BadId> {
        check_id("agent", agent)?;
        Ok(self.meta_agents_dir().join(agent))
    }

    /// `<work_dir>/meta/slaves/<agent>/slave.info`.
    pub fn agent_info_file(&self, agent: &str) -> Result<PathBuf, BadId> {
        Ok(self.meta_agent_dir(agent)?.join(SLAVE_INFO_FILE))
    }

    /// `<work_dir>/meta/slaves/<agent>/frameworks/<fw>`.
    pub fn meta_framework_dir(&self, agent: &str, framework: &str) -> Result<PathBuf, BadId> {
        check_id("framework", framework)?;
        Ok(self
            .meta_agent_dir(agent)?
            .join("frameworks")
            .join(framework))
    }

    /// `.../frameworks/<fw>/framework.info`.
    pub fn framework_info_file(&self, agent: &str, framework: &str) -> Result<PathBuf, BadId> {
        Ok(self
            .meta_framework_dir(agent, framework)?
            .join(FRAMEWORK_INFO_FILE))
    }

    /// `.../frameworks/<fw>/framework.pid`.
    pub fn framework_pid_file(&self, agent: &str, framework: &str) -> Result<PathBuf, BadId> {
        Ok(self
            .meta_framework_dir(agent, framework)?
            .join(FRAMEWORK_PID_FILE))
    }

    /// `.../frameworks/<fw>/executors/<ex>` under meta.
    pub fn meta_executor_dir(
        &self,
        agent: &str,
        framework: &str,
        executor: &str,
    ) -> Result<PathBuf, BadId> {
        check_id("executor", executor)?;
        Ok(self
            .meta_framework_dir(agent, framework)?
            .join("executors")
            .join(executor))
    }

    /// `.../executors/<ex>/executor.info`.
    pub fn executor_info_file(
        &self,
        agent: &str,
        framework: &str,
        executor: &str,
    ) -> Result<PathBuf, BadId> {
        Ok(self
            .meta_executor_dir(agent, framework, executor)?
            .join(EXECUTOR_INFO_FILE))
    }

    /// `.../executors/<ex>/runs/<container>` under meta.
    pub fn meta_run_dir(&self, run: &RunIds<'_>) -> Result<PathBuf, BadId> {
        run.check()?;
        Ok(self
            .meta_executor_dir(run.agent, run.framework, run.executor)?
            .join("runs")
            .join(run.container))
    }

    /// `.../runs/<container>/pids/forked.pid`.
    pub fn forked_pid_file(&self, run: &RunIds<'_>) -> Result<PathBuf, BadId> {
        Ok(self.meta_run_dir(run)?.join("pids").join(FORKED_PID_FILE))
    }

    /// `.../runs/<container>/pids/libprocess.pid`.
    pub fn libprocess_pid_file(&self, run: &RunIds<'_>) -> Result<PathBuf, BadId> {
        Ok(self
            .meta_run_dir(run)?
            .join("pids")
            .join(LIBPROCESS_PID_FILE))
    }

    /// `.../runs/<container>/http.marker`.
    pub fn http_marker_file(&self, run: &RunIds<'_>) -> Result<PathBuf, BadId> {
        Ok(self.meta_run_dir(run)?.join(HTTP_MARKER_FILE))
    }

    /// `.../runs/<container>/tasks/<task>` under meta.
    pub fn meta_task_dir(&self, run: &RunIds<'_>, task: &str) -> Result<PathBuf, BadId> {
        check_id("task", task)?;
        Ok(self.meta_run_dir(run)?.join("tasks").join(task))
    }

    /// `.../tasks/<task>/task.info`.
    pub fn task_info_file(&self, run: &RunIds<'_>, task: &str) -> Result<PathBuf, BadId> {
        Ok(self.meta_task_dir(run, task)?.join(TASK_INFO_FILE))
    }

    /// `.../tasks/<task>/task.updates`.
    pub fn task_updates_file(&self, run: &RunIds<'_>, task: &str) -> Result<PathBuf, BadId> {
        Ok(self.meta_task_dir(run, task)?.join(TASK_UPDATES_FILE))
    }

    /// `<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>`: parent of the runs.
    pub fn executor_dir(
        &self,
        agent: &str,
        framework: &str,
        executor: &str,
    ) -> Result<PathBuf, BadId> {
        check_id("agent", agent)?;
        check_id("framework", framework)?;
        check_id("executor", executor)?;
        Ok(self
            .work_dir
            .join("slaves")
            .join(agent)
            .join("frameworks")
            .join(framework)
            .join("executors")
            .join(executor))
    }

    /// The sandbox: `<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>`.
    pub fn sandbox_dir(&self, run: &RunIds<'_>) -> Result<PathBuf, BadId> {
        run.check()?;
        Ok(self
            .executor_dir(run.agent, run.framework, run.executor)?
            .join("runs")
            .join(run.container))
    }

    /// `<runtime_dir>/containers/<container>`: pid and status files of a live container.
    pub fn container_runtime_dir(&self, container: &str) -> Result<PathBuf, BadId> {
        check_id("container", container)?;
        Ok(self.runtime_dir.join("containers").join(container))
    }
}

/// Points `<dir>/latest` at `target` (a sibling name), replacing any old link atomically.
pub fn set_latest_symlink(dir: &Path, target: &str) -> io::Result<()> {
    check_id("latest target", target)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{LATEST}.{}", uuid::Uuid::new_v4().simple()));
    std::os::unix::fs::symlink(target, &tmp)?;
    if let Err(e) = fs::rename(&tmp, dir.join(LATEST)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// The name `<dir>/latest` points at, if it is a symlink.
pub fn read_latest_symlink(dir: &Path) -> io::Result<Option<String>> {
    match fs::read_link(dir.join(LATEST)) {
        Ok(t) => Ok(t.file_name().and_then(|n| n.to_str()).map(str::to_string)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Names of the sub-folders of `dir` (skipping `latest` and hidden entries); empty if
/// `dir` does not exist. Used by recovery to walk the meta tree.
pub fn list_ids(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name == LATEST || name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: RunIds<'static> = RunIds {
        agent: "a-S0",
        framework: "f-0000",
        executor: "ex",
        container: "c1",
    };

    #[test]
    fn layout_matches_mesos() {
        let l = Layout::new("/w", "/r");
        assert_eq!(
            l.sandbox_dir(&RUN).unwrap(),
            PathBuf::from("/w/slaves/a-S0/frameworks/f-0000/executors/ex/runs/c1")
        );
        assert_eq!(
            l.forked_pid_file(&RUN).unwrap(),
            PathBuf::from(
                "/w/meta/slaves/a-S0/frameworks/f-0000/executors/ex/runs/c1/pids/forked.pid"
            )
        );
        assert_eq!(
            l.task_updates_file(&RUN, "t1").unwrap(),
            PathBuf::from(
                "/w/meta/slaves/a-S0/frameworks/f-0000/executors/ex/runs/c1/tasks/t1/task.updates"
            )
        );
        assert_eq!(
            l.agent_info_file("a-S0").unwrap(),
            PathBuf::from("/w/meta/slaves/a-S0/slave.info")
        );
        assert_eq!(
            l.executor_info_file("a-S0", "f-0000", "ex").unwrap(),
            PathBuf::from("/w/meta/slaves/a-S0/frameworks/f-0000/executors/ex/executor.info")
        );
        assert_eq!(
            l.container_runtime_dir("c1").unwrap(),
            PathBuf::from("/r/containers/c1")
        );
        assert_eq!(
            l.resources_info_file(),
            PathBuf::from("/w/meta/resources/resources.info")
        );
        assert_eq!(
            l.resource_state_file(),
            PathBuf::from("/w/meta/resources/resources_and_operations.state")
        );
        assert_eq!(
            l.operation_updates_file("a-S0", "u1").unwrap(),
            PathBuf::from("/w/meta/slaves/a-S0/operations/u1/operation.updates")
        );
        assert_eq!(
            l.persistent_volume_dir("eng/ops", "v1").unwrap(),
            PathBuf::from("/w/volumes/roles/eng ops/v1")
        );
        assert!(l.persistent_volume_dir("r", "..").is_err());
    }

    #[test]
    fn ids_cannot_escape() {
        let l = Layout::new("/w", "/r");
        for bad in ["", ".", "..", "../x", "a/b", "a\0b"] {
            let run = RunIds {
                executor: bad,
                ..RUN
            };
            assert!(l.sandbox_dir(&run).is_err(), "{bad:?}");
            assert!(l.task_info_file(&RUN, bad).is_err(), "{bad:?}");
            assert!(l.container_runtime_dir(bad).is_err(), "{bad:?}");
        }
        assert!(check_id("task", "..hidden").is_ok());
    }

    #[test]
    fn latest_symlink_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        assert_eq!(read_latest_symlink(&runs).unwrap(), None);
        fs::create_dir_all(runs.join("c1")).unwrap();
        fs::create_dir_all(runs.join("c2")).unwrap();
        set_latest_symlink(&runs, "c1").unwrap();
        set_latest_symlink(&runs, "c2").unwrap();
        assert_eq!(read_latest_symlink(&runs).unwrap().as_deref(), Some("c2"));
        assert!(runs.join("latest").join(".").is_dir());
        assert_eq!(list_ids(&runs).unwrap(), vec!["c1", "c2"]);
        assert!(list_ids(&dir.path().join("none")).unwrap().is_empty());
        assert!(set_latest_symlink(&runs, "../x").is_err());
    }
}

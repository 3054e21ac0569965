//! The isolator interface: one trait, every method defaulted, one implementation per file
//! under `isolators/`, chosen by `--isolation` names through [`ISOLATORS`].
//!
//! The containerizer calls, per container: `prepare` (before the process starts; may add
//! to its launch), `isolate` (with the pid, before it runs the task), `watch` (resolves on
//! a resource limitation), `update` (resources changed), `usage`/`status` (on demand) and
//! `cleanup` (after it is gone). `recover` runs once after an agent restart.

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures::future::BoxFuture;
use mesos_protos::v1;

use super::isolators::posix;

/// Errors from isolators, naming the isolator and the container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsolatorError {
    /// `--isolation` names an isolator we do not have.
    #[error("unknown or unsupported isolator '{0}'")]
    Unknown(String),
    /// An isolator failed for one container.
    #[error("isolator '{isolator}' failed for container '{container}': {reason}")]
    Failed {
        /// The isolator's name.
        isolator: &'static str,
        /// The container.
        container: String,
        /// What went wrong.
        reason: String,
    },
}

/// What the containerizer knows about a container when preparing it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerConfig {
    /// The container's id.
    pub container_id: String,
    /// The executor it runs, if it is an executor's container.
    pub executor_info: Option<v1::ExecutorInfo>,
    /// Its resources (executor plus tasks).
    pub resources: Vec<v1::Resource>,
    /// Sandbox on the host.
    pub sandbox: PathBuf,
    /// User to run as, if switching users.
    pub user: Option<String>,
}

/// What an isolator adds to a launch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchAdditions {
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

/// A container recovered after a restart, as isolators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredState {
    /// Container id.
    pub container_id: String,
    /// Its first process.
    pub pid: i32,
}

/// A limit a container hit (memory, disk): the containerizer destroys it and reports this.
#[derive(Debug, Clone, PartialEq)]
pub struct Limitation {
    /// The resources over their limit.
    pub resources: Vec<v1::Resource>,
    /// Human-readable explanation.
    pub message: String,
    /// The `TaskStatus.reason` to report.
    pub reason: v1::task_status::Reason,
}

/// One isolation mechanism. Every method has a do-nothing default.
pub trait Isolator: Send + Sync {
    /// The `--isolation` name.
    fn name(&self) -> &'static str;

    /// Rebuilds per-container state after a restart; `orphans` are to be cleaned up.
    fn recover(
        &self,
        _states: &[RecoveredState],
        _orphans: &[String],
    ) -> Result<(), IsolatorError> {
        Ok(())
    }

    /// Prepares a container before its process starts.
    fn prepare(&self, _config: &ContainerConfig) -> Result<Option<LaunchAdditions>, IsolatorError> {
        Ok(None)
    }

    /// Puts the started process (not yet running the task) under isolation.
    fn isolate(&self, _container: &str, _pid: i32) -> Result<(), IsolatorError> {
        Ok(())
    }

    /// Resolves if the container hits a limit; by default never.
    fn watch(&self, _container: &str) -> BoxFuture<'static, Limitation> {
        Box::pin(futures::future::pending())
    }

    /// Applies new resources to a running container.
    fn update(&self, _container: &str, _resources: &[v1::Resource]) -> Result<(), IsolatorError> {
        Ok(())
    }

    /// Adds this isolator's figures to `stats`.
    fn usage(
        &self,
        _container: &str,
        _stats: &mut v1::ResourceStatistics,
    ) -> Result<(), IsolatorError> {
        Ok(())
    }

    /// Adds this isolator's part of the container status.
    fn status(
        &self,
        _container: &str,
        _status: &mut v1::ContainerStatus,
    ) -> Result<(), IsolatorError> {
        Ok(())
    }

    /// Releases what the isolator holds for a container that is gone.
    fn cleanup(&self, _container: &str) -> Result<(), IsolatorError> {
        Ok(())
    }
}

/// Builds an isolator; the argument is the agent's flags.
pub type IsolatorConstructor = fn(&crate::flags::AgentFlags) -> Box<dyn Isolator>;

/// `--isolation` name → constructor. Adding an isolator adds one row.
pub const ISOLATORS: &[(&str, IsolatorConstructor)] =
    &[("posix/cpu", posix::cpu), ("posix/mem", posix::mem)];

/// Builds the isolators `--isolation` names, in order; an unknown name is an error.
pub fn create_isolators(
    flags: &crate::flags::AgentFlags,
) -> Result<Vec<Box<dyn Isolator>>, IsolatorError> {
    let mut out: Vec<Box<dyn Isolator>> = Vec::new();
    for name in &flags.isolation {
        if out.iter().any(|i| i.name() == name) {
            continue;
        }
        let ctor = ISOLATORS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .ok_or_else(|| IsolatorError::Unknown(name.clone()))?;
        out.push(ctor(flags));
    }
    Ok(out)
}

//! The containerizer: launcher + isolators (+ a provisioner, later).
//!
//! ```text
//! launch ─▶ isolators.prepare ─▶ launcher.fork (pid checkpointed) ─▶ isolators.isolate
//! wait   ─▶ launcher's exit watch
//! destroy ─▶ launcher.destroy (kill the process group) ─▶ isolators.cleanup
//! recover ─▶ launcher.recover (re-watch pids, find orphans) ─▶ isolators.recover ─▶ kill orphans
//! ```

pub mod isolator;
pub mod isolators;
pub mod launcher;
pub mod process_ops;
pub mod spawn;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use mesos_protos::v1;

pub use isolator::{ContainerConfig, Isolator, IsolatorError};
pub use launcher::{LauncherError, PosixLauncher, RecoveredContainer};
pub use process_ops::{ProcessOps, ProcessSpec, RealProcessOps, RecordingProcessOps};

use crate::sys::WaitStatus;

/// Errors from the containerizer.
#[derive(Debug, thiserror::Error)]
pub enum ContainerizerError {
    /// The launcher failed.
    #[error(transparent)]
    Launcher(#[from] LauncherError),
    /// An isolator failed.
    #[error(transparent)]
    Isolator(#[from] IsolatorError),
    /// No such container.
    #[error("unknown container '{0}'")]
    Unknown(String),
}

/// Everything needed to start a container's first process.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchRequest {
    /// What isolators see.
    pub config: ContainerConfig,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The environment (isolators may add to it).
    pub env: BTreeMap<String, String>,
    /// Where the pid must also be checkpointed (e.g. the run's `forked.pid`).
    pub pid_files: Vec<PathBuf>,
    /// uid/gid to run as.
    pub user: Option<(u32, u32)>,
}

/// How a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    /// The first process's wait status, if known (unknown for processes recovered after
    /// an agent restart).
    pub status: Option<WaitStatus>,
}

/// Runs containers.
pub trait Containerizer: Send + Sync {
    /// Finds `known` containers again after a restart and kills the orphans.
    fn recover(&self, known: &[String]) -> Result<Vec<RecoveredContainer>, ContainerizerError>;
    /// Starts a container; returns its first process's pid once checkpointed.
    fn launch(&self, request: LaunchRequest) -> Result<i32, ContainerizerError>;
    /// Resolves when the container's first process exits.
    fn wait(&self, container: &str) -> Option<BoxFuture<'static, Termination>>;
    /// Signals the container's processes.
    fn kill(&self, container: &str, signal: i32) -> Result<(), ContainerizerError>;
    /// Kills the container and releases everything it held.
    fn destroy<'a>(
        &'a self,
        container: &'a str,
    ) -> BoxFuture<'a, Result<Termination, ContainerizerError>>;
    /// Current resource usage.
    fn usage(&self, container: &str) -> Result<v1::ResourceStatistics, ContainerizerError>;
    /// Current status (pid, isolator details).
    fn status(&self, container: &str) -> Result<v1::ContainerStatus, ContainerizerError>;
    /// Ids of running containers.
    fn containers(&self) -> Vec<String>;
}

/// The Mesos containerizer: a POSIX launcher and the `--isolation` isolators.
pub struct MesosContainerizer {
    launcher: PosixLauncher,
    isolators: Vec<Box<dyn Isolator>>,
}

impl MesosContainerizer {
    /// A containerizer over these parts.
    pub fn new(
        ops: Arc<dyn ProcessOps>,
        runtime_dir: impl Into<PathBuf>,
        isolators: Vec<Box<dyn Isolator>>,
    ) -> MesosContainerizer {
        MesosContainerizer {
            launcher: PosixLauncher::new(ops, runtime_dir),
            isolators,
        }
    }

    /// The launcher (for graceful termination with a Clock).
    pub fn launcher(&self) -> &PosixLauncher {
        &self.launcher
    }

    fn cleanup(&self, container: &str) {
        for iso in &self.isolators {
            if let Err(e) = iso.cleanup(container) {
                tracing::warn!("{e}");
            }
        }
    }
}

impl Containerizer for MesosContainerizer {
    fn recover(&self, known: &[String]) -> Result<Vec<RecoveredContainer>, ContainerizerError> {
        let (recovered, orphans) = self.launcher.recover(known)?;
        let states: Vec<_> = recovered
            .iter()
            .filter(|r| r.alive)
            .map(|r| isolator::RecoveredState {
                container_id: r.container.clone(),
                pid: r.pid,
            })
            .collect();
        for iso in &self.isolators {
            iso.recover(&states, &orphans)?;
        }
        for orphan in &orphans {
            tracing::info!("destroying orphan container {orphan}");
            if let Err(e) = self.launcher.destroy_orphan(orphan) {
                tracing::warn!("{e}");
            }
            self.cleanup(orphan);
        }
        for gone in recovered.iter().filter(|r| !r.alive) {
            self.launcher.forget(&gone.container);
        }
        Ok(recovered)
    }

    fn launch(&self, mut request: LaunchRequest) -> Result<i32, ContainerizerError> {
        let id = request.config.container_id.clone();
        crate::paths::check_id("container", &id).map_err(LauncherError::from)?;
        for iso in &self.isolators {
            match iso.prepare(&request.config) {
                Ok(Some(extra)) => request.env.extend(extra.env),
                Ok(None) => {}
                Err(e) => {
                    self.cleanup(&id);
                    return Err(e.into());
                }
            }
        }
        let sandbox = request.config.sandbox.clone();
        let spec = ProcessSpec {
            argv: request.argv,
            env: request.env,
            cwd: sandbox.clone(),
            stdout: sandbox.join("stdout"),
            stderr: sandbox.join("stderr"),
            user: request.user,
        };
        let pid_files: Vec<&std::path::Path> =
            request.pid_files.iter().map(PathBuf::as_path).collect();
        let pid = match self.launcher.fork(&id, &spec, &pid_files) {
            Ok(pid) => pid,
            Err(e) => {
                self.cleanup(&id);
                return Err(e.into());
            }
        };
        for iso in &self.isolators {
            if let Err(e) = iso.isolate(&id, pid) {
                let _ = self.launcher.signal(&id, libc::SIGKILL);
                self.launcher.forget(&id);
                self.cleanup(&id);
                return Err(e.into());
            }
        }
        Ok(pid)
    }

    fn wait(&self, container: &str) -> Option<BoxFuture<'static, Termination>> {
        let exit = self.launcher.wait(container)?;
        Some(exit.map(|status| Termination { status }).boxed())
    }

    fn kill(&self, container: &str, signal: i32) -> Result<(), ContainerizerError> {
        Ok(self.launcher.signal(container, signal)?)
    }

    fn destroy<'a>(
        &'a self,
        container: &'a str,
    ) -> BoxFuture<'a, Result<Termination, ContainerizerError>> {
        async move {
            let status = self.launcher.destroy(container).await?;
            self.cleanup(container);
            Ok(Termination { status })
        }
        .boxed()
    }

    fn usage(&self, container: &str) -> Result<v1::ResourceStatistics, ContainerizerError> {
        if self.launcher.pid(container).is_none() {
            return Err(ContainerizerError::Unknown(container.into()));
        }
        let mut stats = v1::ResourceStatistics::default();
        for iso in &self.isolators {
            iso.usage(container, &mut stats)?;
        }
        Ok(stats)
    }

    fn status(&self, container: &str) -> Result<v1::ContainerStatus, ContainerizerError> {
        let pid = self
            .launcher
            .pid(container)
            .ok_or_else(|| ContainerizerError::Unknown(container.into()))?;
        let mut status = v1::ContainerStatus {
            executor_pid: u32::try_from(pid).ok(),
            container_id: Some(v1::ContainerId {
                value: container.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        };
        for iso in &self.isolators {
            iso.status(container, &mut status)?;
        }
        Ok(status)
    }

    fn containers(&self) -> Vec<String> {
        self.launcher.containers()
    }
}

#[cfg(test)]
mod tests;

//! The POSIX launcher: each container's first process runs in its own session and process
//! group; its pid is checkpointed under `<runtime_dir>/containers/<id>/pid` (and wherever
//! the caller asks, e.g. the executor run's `forked.pid`) before anyone is told it runs;
//! destroying a container kills its whole process group.
//!
//! After an agent restart the pids are read back and watched (they are no longer our
//! children); containers found in the runtime dir that the agent no longer knows are
//! reported as orphans for the caller to destroy.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::Either;
use libprocess::Clock;
use parking_lot::Mutex;

use super::process_ops::{ExitWatch, ProcessOps, ProcessSpec};
use crate::checkpoint::{self, CheckpointError};
use crate::paths::{self, BadId};
use crate::sys::WaitStatus;

/// Errors from the launcher; each names the container.
#[derive(Debug, thiserror::Error)]
pub enum LauncherError {
    /// The container id cannot be used.
    #[error(transparent)]
    BadId(#[from] BadId),
    /// A container with this id is already running.
    #[error("container '{0}' has already been launched")]
    AlreadyLaunched(String),
    /// No such container.
    #[error("unknown container '{0}'")]
    Unknown(String),
    /// Starting or signalling the process failed.
    #[error("container '{container}': {source}")]
    Io {
        /// The container.
        container: String,
        /// The OS error.
        source: io::Error,
    },
    /// The pid could not be checkpointed (the process was killed).
    #[error("container '{container}': {source}")]
    Checkpoint {
        /// The container.
        container: String,
        /// Why.
        source: CheckpointError,
    },
}

#[derive(Clone)]
struct Entry {
    pid: i32,
    exit: ExitWatch,
}

/// A container found again by [`PosixLauncher::recover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredContainer {
    /// Container id.
    pub container: String,
    /// Its checkpointed pid.
    pub pid: i32,
    /// False if the process had already gone.
    pub alive: bool,
}

/// Launches and kills containers as process groups.
pub struct PosixLauncher {
    ops: Arc<dyn ProcessOps>,
    runtime_dir: PathBuf,
    containers: Mutex<HashMap<String, Entry>>,
}

impl PosixLauncher {
    /// A launcher keeping its pid files under `<runtime_dir>/containers`.
    pub fn new(ops: Arc<dyn ProcessOps>, runtime_dir: impl Into<PathBuf>) -> PosixLauncher {
        PosixLauncher {
            ops,
            runtime_dir: runtime_dir.into(),
            containers: Mutex::new(HashMap::new()),
        }
    }

    fn pid_file(&self, container: &str) -> Result<PathBuf, BadId> {
        paths::check_id("container", container)?;
        Ok(self
            .runtime_dir
            .join("containers")
            .join(container)
            .join("pid"))
    }

    /// Starts the container's first process and checkpoints its pid (to the runtime dir
    /// and to each of `pid_files`) before returning it.
    pub fn fork(
        &self,
        container: &str,
        spec: &ProcessSpec,
        pid_files: &[&Path],
    ) -> Result<i32, LauncherError> {
        let runtime_pid_file = self.pid_file(container)?;
        if self.containers.lock().contains_key(container) {
            return Err(LauncherError::AlreadyLaunched(container.into()));
        }
        let (pid, exit) = self.ops.spawn(spec).map_err(|source| LauncherError::Io {
            container: container.into(),
            source,
        })?;
        let written = std::iter::once(runtime_pid_file.as_path())
            .chain(pid_files.iter().copied())
            .try_for_each(|p| checkpoint::write_text(p, &pid.to_string()));
        if let Err(source) = written {
            // Nobody may learn of a process whose pid a restarted agent could not find.
            let _ = self.ops.signal_group(pid, libc::SIGKILL);
            return Err(LauncherError::Checkpoint {
                container: container.into(),
                source,
            });
        }
        self.containers
            .lock()
            .insert(container.to_string(), Entry { pid, exit });
        Ok(pid)
    }

    /// The pid of a running container's first process.
    pub fn pid(&self, container: &str) -> Option<i32> {
        self.containers.lock().get(container).map(|e| e.pid)
    }

    /// Ids of the containers the launcher knows.
    pub fn containers(&self) -> Vec<String> {
        let mut ids: Vec<_> = self.containers.lock().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// A future for the exit of a container's first process.
    pub fn wait(&self, container: &str) -> Option<ExitWatch> {
        self.containers
            .lock()
            .get(container)
            .map(|e| e.exit.clone())
    }

    /// Sends `signal` to the container's whole process group.
    pub fn signal(&self, container: &str, signal: i32) -> Result<(), LauncherError> {
        let pid = self
            .pid(container)
            .ok_or_else(|| LauncherError::Unknown(container.into()))?;
        self.ops
            .signal_group(pid, signal)
            .map_err(|source| LauncherError::Io {
                container: container.into(),
                source,
            })
    }

    /// Kills the container's process group, waits for its first process and forgets it.
    pub async fn destroy(&self, container: &str) -> Result<Option<WaitStatus>, LauncherError> {
        let entry = self
            .containers
            .lock()
            .get(container)
            .cloned()
            .ok_or_else(|| LauncherError::Unknown(container.into()))?;
        self.ops
            .signal_group(entry.pid, libc::SIGKILL)
            .map_err(|source| LauncherError::Io {
                container: container.into(),
                source,
            })?;
        let status = entry.exit.await;
        self.forget(container);
        Ok(status)
    }

    /// SIGTERM to the group, then SIGKILL if the first process is still there after
    /// `grace` of clock time; returns once it has exited.
    pub async fn terminate(
        &self,
        container: &str,
        grace: Duration,
        clock: &Clock,
    ) -> Result<Option<WaitStatus>, LauncherError> {
        let exit = self
            .wait(container)
            .ok_or_else(|| LauncherError::Unknown(container.into()))?;
        self.signal(container, libc::SIGTERM)?;
        let sleep = clock.sleep(grace);
        futures::pin_mut!(sleep);
        match futures::future::select(exit, sleep).await {
            Either::Left((status, _)) => {
                // The leader is gone; make sure nothing else of the group lingers.
                self.destroy(container).await?;
                Ok(status)
            }
            Either::Right(_) => self.destroy(container).await,
        }
    }

    /// Finds the given containers again after a restart: reads each checkpointed pid and
    /// watches the live ones. Returns them, plus the ids of orphans: containers in the
    /// runtime dir that are not in `known`.
    pub fn recover(
        &self,
        known: &[String],
    ) -> Result<(Vec<RecoveredContainer>, Vec<String>), LauncherError> {
        let mut recovered = Vec::new();
        for container in known {
            let file = self.pid_file(container)?;
            let text =
                checkpoint::read_text(&file).map_err(|source| LauncherError::Checkpoint {
                    container: container.clone(),
                    source,
                })?;
            let Some(pid) = text.and_then(|t| t.parse::<i32>().ok()).filter(|p| *p > 1) else {
                recovered.push(RecoveredContainer {
                    container: container.clone(),
                    pid: 0,
                    alive: false,
                });
                continue;
            };
            let alive = self.ops.exists(pid);
            if alive {
                match self.ops.watch(pid) {
                    Ok(exit) => {
                        self.containers
                            .lock()
                            .insert(container.clone(), Entry { pid, exit });
                    }
                    Err(e) => {
                        tracing::warn!("cannot watch pid {pid} of container {container}: {e}");
                    }
                }
            }
            let alive = self.containers.lock().contains_key(container);
            recovered.push(RecoveredContainer {
                container: container.clone(),
                pid,
                alive,
            });
        }
        let orphans = paths::list_ids(&self.runtime_dir.join("containers"))
            .map_err(|source| LauncherError::Io {
                container: "*".into(),
                source,
            })?
            .into_iter()
            .filter(|id| !known.contains(id))
            .collect();
        Ok((recovered, orphans))
    }

    /// Kills an orphan found by [`Self::recover`] (by its checkpointed pid) and removes
    /// its runtime folder.
    pub fn destroy_orphan(&self, container: &str) -> Result<(), LauncherError> {
        let file = self.pid_file(container)?;
        let pid = checkpoint::read_text(&file)
            .ok()
            .flatten()
            .and_then(|t| t.parse::<i32>().ok())
            .filter(|p| *p > 1);
        if let Some(pid) = pid {
            if self.ops.exists(pid) {
                self.ops
                    .signal_group(pid, libc::SIGKILL)
                    .map_err(|source| LauncherError::Io {
                        container: container.into(),
                        source,
                    })?;
            }
        }
        self.forget(container);
        Ok(())
    }

    /// Forgets a container whose process is gone and removes its runtime folder.
    pub fn forget(&self, container: &str) {
        self.containers.lock().remove(container);
        if let Ok(file) = self.pid_file(container) {
            if let Some(dir) = file.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

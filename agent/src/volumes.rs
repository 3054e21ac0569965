//! Persistent volumes on agent default resources.
//!
//! A volume (a reserved `disk` with `persistence`) lives in
//! `<work_dir>/volumes/roles/<role>/<persistence id>`, made by CREATE and removed by
//! DESTROY. A task whose resources hold a volume with `volume.container_path` gets it in
//! its sandbox at that (relative) path: a bind mount (private, read-only if the volume
//! says `RO`), or, where mounting is not permitted, a symlink with a warning. The mount
//! goes away when the container ends; the volume stays until DESTROY, which is refused
//! while any container still has it.
//!
//! ```text
//!  CREATE ──▶ mkdir volumes/roles/r/v1 ─┐          ┌─▶ sandbox/data  (bind mount)
//!                                        ├─ task ───┤
//!  DESTROY ◀─ refused while in use ──────┘          └─ container exit: unmount
//! ```

mod mount;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use mesos_protos::resources::{is_persistent_volume, reservation_role, Resources};
use mesos_protos::v1;

use crate::paths::Layout;

/// Errors handling persistent volumes; each names the volume or path.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// The volume resource cannot name a folder (no reservation, bad role or id).
    #[error("invalid persistent volume '{id}': {reason}")]
    Invalid {
        /// Persistence id (may be empty).
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A file system call failed.
    #[error("persistent volume '{id}' at '{path}': {source}")]
    Io {
        /// Persistence id.
        id: String,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// DESTROY of a volume that a running container still uses.
    #[error("persistent volume '{id}' is in use by container(s) {containers}")]
    InUse {
        /// Persistence id.
        id: String,
        /// The containers using it, comma separated.
        containers: String,
    },
}

fn persistence_id(r: &v1::Resource) -> String {
    r.disk
        .as_ref()
        .and_then(|d| d.persistence.as_ref())
        .map(|p| p.id.clone())
        .unwrap_or_default()
}

/// The host folder of a persistent volume resource.
pub fn volume_path(layout: &Layout, r: &v1::Resource) -> Result<PathBuf, VolumeError> {
    let id = persistence_id(r);
    let invalid = |reason: String| VolumeError::Invalid {
        id: id.clone(),
        reason,
    };
    if !is_persistent_volume(r) {
        return Err(invalid("not a persistent volume".into()));
    }
    if r.disk.as_ref().is_some_and(|d| d.source.is_some()) {
        return Err(invalid(
            "volumes on PATH or MOUNT disks are not supported".into(),
        ));
    }
    let role = reservation_role(r).ok_or_else(|| invalid("the volume is not reserved".into()))?;
    layout
        .persistent_volume_dir(role, &id)
        .map_err(|e| invalid(e.to_string()))
}

/// The host folders of every persistent volume in `resources`, by path.
pub fn volume_paths(
    layout: &Layout,
    resources: &Resources,
) -> BTreeMap<PathBuf, (String, v1::Resource)> {
    let mut out = BTreeMap::new();
    for r in resources.persistent_volumes().iter() {
        let r = r.to_proto();
        match volume_path(layout, &r) {
            Ok(p) => {
                out.insert(p, (persistence_id(&r), r));
            }
            Err(e) => tracing::warn!("skipping a volume: {e}"),
        }
    }
    out
}

/// Makes the folders of the volumes in `new` that `old` lacks (existing folders are kept
/// as they are, as Mesos does).
pub fn create_missing(
    layout: &Layout,
    old: &Resources,
    new: &Resources,
) -> Result<(), VolumeError> {
    let before = volume_paths(layout, old);
    for (path, (id, _)) in volume_paths(layout, new) {
        if before.contains_key(&path) || path.is_dir() {
            continue;
        }
        tracing::info!("creating persistent volume '{id}' at '{}'", path.display());
        std::fs::create_dir_all(&path).map_err(|source| VolumeError::Io {
            id: id.clone(),
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Removes the folders of the volumes in `old` that `new` no longer has.
pub fn remove_dropped(
    layout: &Layout,
    old: &Resources,
    new: &Resources,
) -> Result<(), VolumeError> {
    let after = volume_paths(layout, new);
    for (path, (id, _)) in volume_paths(layout, old) {
        if after.contains_key(&path) {
            continue;
        }
        tracing::info!("deleting persistent volume '{id}' at '{}'", path.display());
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(
                    "persistent volume '{id}' at '{}' was already gone",
                    path.display()
                );
            }
            Err(source) => return Err(VolumeError::Io { id, path, source }),
        }
    }
    Ok(())
}

/// How a volume was made visible in a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// A bind mount (unmounted when the container ends).
    Bind,
    /// A symlink (mounting was not permitted).
    Symlink,
}

/// One volume in one sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// Persistence id.
    pub id: String,
    /// The volume's host folder.
    pub source: PathBuf,
    /// Where it shows in the sandbox.
    pub target: PathBuf,
    /// Mount or symlink.
    pub kind: Attachment,
}

/// The volumes each container has, so DESTROY can tell whether a volume is in use.
#[derive(Debug, Default)]
pub struct VolumeMounts {
    by_container: BTreeMap<String, Vec<Attached>>,
}

/// The sandbox path of a relative `container_path`; `..` and absolute paths are refused
/// (an absolute path needs a container root file system, which these containers lack).
fn sandbox_target(sandbox: &Path, container_path: &str, id: &str) -> Result<PathBuf, VolumeError> {
    let rel = Path::new(container_path);
    let ok = !container_path.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !ok {
        return Err(VolumeError::Invalid {
            id: id.to_string(),
            reason: format!(
                "container path '{container_path}' must be relative to the sandbox, without '..'"
            ),
        });
    }
    Ok(sandbox.join(rel))
}

fn volumes_with_paths(resources: &[v1::Resource]) -> impl Iterator<Item = &v1::Resource> {
    resources.iter().filter(|r| {
        is_persistent_volume(r)
            && r.disk
                .as_ref()
                .and_then(|d| d.volume.as_ref())
                .is_some_and(|v| !v.container_path.is_empty())
    })
}

fn io_err(id: &str, path: &Path, source: std::io::Error) -> VolumeError {
    VolumeError::Io {
        id: id.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

impl VolumeMounts {
    /// An empty table.
    pub fn new() -> VolumeMounts {
        VolumeMounts::default()
    }

    /// Makes every persistent volume of `resources` visible in `sandbox` for `container`.
    /// On error nothing new stays attached.
    pub fn attach(
        &mut self,
        layout: &Layout,
        container: &str,
        sandbox: &Path,
        resources: &[v1::Resource],
    ) -> Result<(), VolumeError> {
        let mut done = Vec::new();
        let have = self.attached(container).to_vec();
        for r in volumes_with_paths(resources) {
            let already = volume_path(layout, r).is_ok_and(|source| {
                have.iter()
                    .chain(done.iter())
                    .any(|a: &Attached| a.source == source)
            });
            if already {
                // The same volume again (the executor's, or a second task's): one
                // attachment per container is enough.
                continue;
            }
            match attach_one(layout, sandbox, r) {
                Ok(a) => done.push(a),
                Err(e) => {
                    for a in &done {
                        detach(a);
                    }
                    return Err(e);
                }
            }
        }
        self.by_container
            .entry(container.to_string())
            .or_default()
            .extend(done);
        Ok(())
    }

    /// Records the volumes of a container that was already running before an agent
    /// restart (their mounts are still in place); missing attachments are redone.
    pub fn recover(
        &mut self,
        layout: &Layout,
        container: &str,
        sandbox: &Path,
        resources: &[v1::Resource],
    ) {
        for r in volumes_with_paths(resources) {
            let id = persistence_id(r);
            let known = (|| {
                let source = volume_path(layout, r).ok()?;
                let cp = &r.disk.as_ref()?.volume.as_ref()?.container_path;
                let target = sandbox_target(sandbox, cp, &id).ok()?;
                let kind = if mount::is_mount_point(&target) {
                    Attachment::Bind
                } else if std::fs::read_link(&target).is_ok_and(|t| t == source) {
                    Attachment::Symlink
                } else {
                    return None;
                };
                Some(Attached {
                    id: id.clone(),
                    source,
                    target,
                    kind,
                })
            })();
            let attached = match known {
                Some(a) => a,
                None => match attach_one(layout, sandbox, r) {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("re-attaching volume '{id}' of container {container}: {e}");
                        continue;
                    }
                },
            };
            self.by_container
                .entry(container.to_string())
                .or_default()
                .push(attached);
        }
    }

    /// The container ended: unmounts (or unlinks) its volumes.
    pub fn release(&mut self, container: &str) {
        for a in self.by_container.remove(container).unwrap_or_default() {
            detach(&a);
        }
    }

    /// The containers that have the volume at `source`.
    pub fn users(&self, source: &Path) -> Vec<String> {
        self.by_container
            .iter()
            .filter(|(_, v)| v.iter().any(|a| a.source == source))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// What `container` has attached.
    pub fn attached(&self, container: &str) -> &[Attached] {
        self.by_container
            .get(container)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Fails with [`VolumeError::InUse`] if a volume in `old` but not in `new` is attached
    /// to some container.
    pub fn check_removable(
        &self,
        layout: &Layout,
        old: &Resources,
        new: &Resources,
    ) -> Result<(), VolumeError> {
        let after = volume_paths(layout, new);
        for (path, (id, _)) in volume_paths(layout, old) {
            if after.contains_key(&path) {
                continue;
            }
            let users = self.users(&path);
            if !users.is_empty() {
                return Err(VolumeError::InUse {
                    id,
                    containers: users.join(", "),
                });
            }
        }
        Ok(())
    }
}

/// Unmounts every mount under `dir` (the agent's sandboxes) that no container in
/// `mounts` has: volumes of containers that ended while the agent was down.
pub fn unmount_stale(dir: &Path, mounts: &VolumeMounts) {
    let kept: Vec<&Path> = mounts
        .by_container
        .values()
        .flatten()
        .filter(|a| a.kind == Attachment::Bind)
        .map(|a| a.target.as_path())
        .collect();
    for target in mount::mount_points_under(dir) {
        if kept.contains(&target.as_path()) {
            continue;
        }
        match mount::unmount(&target) {
            Ok(()) => tracing::info!("unmounted stale volume mount '{}'", target.display()),
            Err(e) => tracing::warn!("unmounting stale '{}': {e}", target.display()),
        }
    }
}

fn attach_one(layout: &Layout, sandbox: &Path, r: &v1::Resource) -> Result<Attached, VolumeError> {
    let id = persistence_id(r);
    let source = volume_path(layout, r)?;
    let volume = r.disk.as_ref().and_then(|d| d.volume.as_ref());
    let container_path = volume.map(|v| v.container_path.as_str()).unwrap_or("");
    let read_only = volume.is_some_and(|v| v.mode() == v1::volume::Mode::Ro);
    let target = sandbox_target(sandbox, container_path, &id)?;
    if !source.is_dir() {
        // The volume was created but its folder is gone (removed by hand): make it again
        // rather than fail the task, as Mesos does on recovery.
        std::fs::create_dir_all(&source).map_err(|e| io_err(&id, &source, e))?;
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(&id, parent, e))?;
    }
    if !target.exists() {
        std::fs::create_dir(&target).map_err(|e| io_err(&id, &target, e))?;
    }
    match mount::bind(&source, &target, read_only) {
        Ok(()) => {
            tracing::info!(
                "mounted persistent volume '{id}' from '{}' at '{}'",
                source.display(),
                target.display()
            );
            Ok(Attached {
                id,
                source,
                target,
                kind: Attachment::Bind,
            })
        }
        Err(e) => {
            tracing::warn!(
                "cannot bind-mount persistent volume '{id}' at '{}' ({e}); using a symlink instead",
                target.display()
            );
            // Only an empty folder we may have just made is replaced by the link.
            std::fs::remove_dir(&target).map_err(|e| io_err(&id, &target, e))?;
            std::os::unix::fs::symlink(&source, &target).map_err(|e| io_err(&id, &target, e))?;
            Ok(Attached {
                id,
                source,
                target,
                kind: Attachment::Symlink,
            })
        }
    }
}

fn detach(a: &Attached) {
    match a.kind {
        Attachment::Bind => match mount::unmount(&a.target) {
            Ok(()) => tracing::info!(
                "unmounted persistent volume '{}' from '{}'",
                a.id,
                a.target.display()
            ),
            Err(e) => tracing::error!(
                "failed to unmount persistent volume '{}' at '{}': {e}",
                a.id,
                a.target.display()
            ),
        },
        Attachment::Symlink => {
            if let Err(e) = std::fs::remove_file(&a.target) {
                tracing::warn!("removing the link to volume '{}': {e}", a.id);
            }
        }
    }
}

#[cfg(test)]
mod tests;

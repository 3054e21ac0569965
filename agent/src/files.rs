//! Sandboxes over HTTP (`/files/browse|read|download|debug`, v1 `LIST_FILES` /
//! `READ_FILE`): a table of *virtual* paths, each attached to a real directory or file,
//! and the lookups that never leave an attached root.
//!
//! ```text
//!  request path ──longest attached prefix──▶ root (canonical at attach time)
//!       └─ rest of the path ──join──▶ canonicalize (symlinks, `..`) ──inside root?──▶ read
//!                                                                    └─ no ──▶ 400 inaccessible
//! ```
//!
//! Mesos's answers are kept: a path under no attachment (or missing) is `404`, a path
//! whose canonical form leaves its root (`..`, a symlink pointing outside) is `400`
//! ("... is inaccessible"), reading a directory is `400`. Query values are already
//! percent-decoded, so `%2e%2e` is `..` by the time it gets here.

pub mod http;
mod info;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use mesos_protos::v1;
use parking_lot::RwLock;

pub use info::{file_info, mode_string};

/// Why a files request failed; each maps to the HTTP status Mesos answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// A bad request (`400`): a path escaping its root, a directory read, bad numbers.
    #[error("{0}")]
    Invalid(String),
    /// Nothing attached there, or no such file (`404`).
    #[error("{0}")]
    NotFound(String),
    /// The caller may not see this path (`403`).
    #[error("{0}")]
    Unauthorized(String),
    /// The file exists but could not be read (`500`).
    #[error("{0}")]
    Unknown(String),
}

impl FilesError {
    /// The HTTP status Mesos answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            FilesError::Invalid(_) => 400,
            FilesError::NotFound(_) => 404,
            FilesError::Unauthorized(_) => 403,
            FilesError::Unknown(_) => 500,
        }
    }
}

/// The virtual path table. Cheap to clone; clones share the table.
#[derive(Debug, Clone, Default)]
pub struct Files {
    paths: Arc<RwLock<BTreeMap<String, PathBuf>>>,
}

/// A `file://` prefix is accepted and dropped, as Mesos does.
fn from_uri(path: &str) -> &str {
    path.strip_prefix("file://").unwrap_or(path)
}

/// The virtual path as stored: no trailing separators (but `/` stays `/`).
fn clean_virtual(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() && path.starts_with('/') {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// True if canonical `path` is `root` or below it (component-wise, so `/a/bc` is not
/// inside `/a/b`).
fn inside(path: &Path, root: &Path) -> bool {
    path.starts_with(root)
}

impl Files {
    /// An empty table.
    pub fn new() -> Files {
        Files::default()
    }

    /// Makes `real` (a directory or file, canonicalized now) visible at `virtual_path`;
    /// returns the canonical path attached.
    pub fn attach(&self, real: &Path, virtual_path: &str) -> Result<PathBuf, FilesError> {
        let canonical = std::fs::canonicalize(from_uri(&real.to_string_lossy()))
            .map_err(|e| FilesError::NotFound(format!("{}: {e}", real.display())))?;
        // Mesos checks readability at attach time; opening is the portable check.
        let readable = if canonical.is_dir() {
            std::fs::read_dir(&canonical).is_ok()
        } else {
            File::open(&canonical).is_ok()
        };
        if !readable {
            return Err(FilesError::Unauthorized(format!(
                "failed to access '{}': access denied",
                real.display()
            )));
        }
        self.paths
            .write()
            .insert(clean_virtual(from_uri(virtual_path)), canonical.clone());
        Ok(canonical)
    }

    /// Forgets `virtual_path`.
    pub fn detach(&self, virtual_path: &str) {
        self.paths
            .write()
            .remove(&clean_virtual(from_uri(virtual_path)));
    }

    /// Forgets `virtual_path` only if it still shows `real` (a newer run may have taken
    /// over a `latest` path).
    pub fn detach_if(&self, virtual_path: &str, real: &Path) {
        let key = clean_virtual(from_uri(virtual_path));
        let mut paths = self.paths.write();
        if paths.get(&key).is_some_and(|p| p == real) {
            paths.remove(&key);
        }
    }

    /// True if `virtual_path` is attached.
    pub fn is_attached(&self, virtual_path: &str) -> bool {
        self.paths
            .read()
            .contains_key(&clean_virtual(from_uri(virtual_path)))
    }

    /// Every attachment, virtual path to real path (`/files/debug`).
    pub fn attachments(&self) -> BTreeMap<String, PathBuf> {
        self.paths.read().clone()
    }

    /// The real, canonical path behind virtual `path`, never outside its root.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FilesError> {
        let path = from_uri(path);
        let not_found = || FilesError::NotFound(format!("'{path}' not found"));
        let cleaned = clean_virtual(path);
        let tokens: Vec<&str> = if cleaned == "/" {
            vec![""]
        } else {
            cleaned.split('/').collect()
        };
        let paths = self.paths.read();
        // Longest attached prefix wins; what follows it is looked up below the root.
        for split in (1..=tokens.len()).rev() {
            let prefix = match tokens[..split].join("/") {
                p if p.is_empty() => "/".to_string(),
                p => p,
            };
            let Some(root) = paths.get(&prefix) else {
                continue;
            };
            let suffix = &tokens[split..];
            if !root.is_dir() {
                // Asking for something below a file: nothing there.
                return if suffix.iter().all(|t| t.is_empty()) {
                    Ok(root.clone())
                } else {
                    Err(not_found())
                };
            }
            let mut joined = root.clone();
            for t in suffix.iter().filter(|t| !t.is_empty()) {
                let p = Path::new(t);
                if p.components()
                    .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
                {
                    return Err(FilesError::Invalid(format!("'{path}' is inaccessible")));
                }
                joined.push(p);
            }
            let real = match std::fs::canonicalize(&joined) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
                Err(e) => {
                    return Err(FilesError::Invalid(format!(
                        "Failed to determine canonical path of '{}': {e}",
                        joined.display()
                    )))
                }
            };
            if !inside(&real, root) {
                return Err(FilesError::Invalid(format!(
                    "'{}' is inaccessible",
                    joined.display()
                )));
            }
            return Ok(real);
        }
        Err(not_found())
    }

    /// The entries of the directory behind `path`, sorted by path; each entry's `path`
    /// is the virtual one. A file (not a directory) lists as empty, as in Mesos.
    pub fn browse(&self, path: &str) -> Result<Vec<v1::FileInfo>, FilesError> {
        let virtual_path = from_uri(path);
        let real = self.resolve(virtual_path)?;
        let mut out = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(&real) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let full = real.join(&name);
                // `stat`, not `lstat`: a link shows what it points at (reading it is
                // still checked against the root).
                let Ok(meta) = std::fs::metadata(&full) else {
                    tracing::warn!("found {} in a listing but stat failed", full.display());
                    continue;
                };
                let shown = format!("{}/{name}", virtual_path.trim_end_matches('/'));
                out.insert(full, file_info(&shown, &meta));
            }
        }
        Ok(out.into_values().collect())
    }

    /// Up to `length` bytes (at most 16 pages, as Mesos) of the file behind `path` from
    /// `offset`, with the file's size. `length: None` reads to the end (capped).
    pub fn read(
        &self,
        path: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<(u64, Vec<u8>), FilesError> {
        let real = self.resolve(path)?;
        if real.is_dir() {
            return Err(FilesError::Invalid("Cannot read a directory.\n".into()));
        }
        let open_error =
            |e: std::io::Error| format!("Failed to open file at '{}': {e}", real.display());
        let mut file = File::open(&real).map_err(|e| FilesError::Unknown(open_error(e)))?;
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| FilesError::Unknown(open_error(e)))?;
        if offset >= size {
            return Ok((size, Vec::new()));
        }
        let wanted = length.unwrap_or(size - offset);
        let cap = crate::sys::page_size().max(4096) * 16;
        let wanted = wanted.min(cap).min(size - offset);
        if wanted == 0 {
            return Ok((size, Vec::new()));
        }
        file.seek(SeekFrom::Start(offset)).map_err(|e| {
            FilesError::Unknown(format!("Failed to seek file at '{}': {e}", real.display()))
        })?;
        let mut data = Vec::with_capacity(wanted as usize);
        file.take(wanted)
            .read_to_end(&mut data)
            .map_err(|e| FilesError::Unknown(open_error(e)))?;
        Ok((size, data))
    }

    /// The real file behind `path` for a download (directories refused).
    pub fn download(&self, path: &str) -> Result<PathBuf, FilesError> {
        let real = self.resolve(path)?;
        if real.is_dir() {
            return Err(FilesError::Invalid("Cannot download a directory.\n".into()));
        }
        Ok(real)
    }
}

#[cfg(test)]
mod tests;

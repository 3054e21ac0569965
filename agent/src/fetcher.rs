//! The fetcher: puts a task's `CommandInfo.uris` into its sandbox before it starts.
//!
//! For each URI: find the source (a local path, `file://`, or a path relative to
//! `--frameworks_home`; `http(s)://` is not wired yet and is refused with a clear error),
//! copy it into the sandbox under its base name (or `output_file`), then either set the
//! executable bit (`executable`) or, when `extract` (the default) and the name is an
//! archive, unpack it into the sandbox with the system's `tar`/`gzip`/`unzip`, as Mesos's
//! fetcher does. With `cache`, the fetched bytes are kept under `--fetcher_cache_dir` and
//! later fetches of the same URI for the same user copy from there.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use mesos_protos::v1::command_info::Uri;

/// Errors fetching one URI; each names it.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URI (or `output_file`) is unusable.
    #[error("invalid uri '{uri}': {reason}")]
    Invalid {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// The scheme is not supported (yet).
    #[error("unsupported uri '{0}': only local paths and file:// are fetched so far")]
    Unsupported(String),
    /// Reading, copying or setting permissions failed.
    #[error("failed to fetch '{uri}': {source}")]
    Io {
        /// The URI.
        uri: String,
        /// The OS error.
        source: io::Error,
    },
    /// The extraction tool failed.
    #[error("failed to extract '{uri}' with {tool}: {message}")]
    Extract {
        /// The URI.
        uri: String,
        /// The tool run.
        tool: &'static str,
        /// Its stderr or exit status.
        message: String,
    },
}

/// Where the fetcher looks and caches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetcherConfig {
    /// `--frameworks_home`: base of relative URIs.
    pub frameworks_home: Option<PathBuf>,
    /// `--fetcher_cache_dir`.
    pub cache_dir: PathBuf,
}

/// The kinds of archive the fetcher unpacks, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// `.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tbz2`, `.tar.xz`, `.txz`: `tar -xf`.
    Tar,
    /// `.gz` (a single compressed file): `gzip -dc`.
    Gzip,
    /// `.zip`: `unzip -o`.
    Zip,
}

/// The archive kind of a file name, if any.
pub fn archive_kind(name: &str) -> Option<Archive> {
    const TAR: [&str; 7] = [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
    ];
    if TAR.iter().any(|s| name.ends_with(s)) {
        Some(Archive::Tar)
    } else if name.ends_with(".gz") {
        Some(Archive::Gzip)
    } else if name.ends_with(".zip") {
        Some(Archive::Zip)
    } else {
        None
    }
}

fn invalid(uri: &str, reason: impl Into<String>) -> FetchError {
    FetchError::Invalid {
        uri: uri.to_string(),
        reason: reason.into(),
    }
}

/// Resolves a URI to a local source path.
fn source_path(uri: &str, config: &FetcherConfig) -> Result<PathBuf, FetchError> {
    let lower = uri.to_ascii_lowercase();
    if lower.contains("://") && !lower.starts_with("file://") {
        return Err(FetchError::Unsupported(uri.to_string()));
    }
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    if path.is_empty() {
        return Err(invalid(uri, "empty path"));
    }
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    match &config.frameworks_home {
        Some(home) => Ok(home.join(p)),
        None => Err(invalid(uri, "a relative path needs --frameworks_home")),
    }
}

/// The name the fetched file gets in the sandbox: `output_file`, or the URI's base name.
/// It must stay inside the sandbox.
fn destination_name(uri: &Uri) -> Result<PathBuf, FetchError> {
    let name = match uri.output_file.as_deref() {
        Some(o) if !o.is_empty() => PathBuf::from(o),
        _ => {
            let trimmed = uri.value.trim_end_matches('/');
            let base = trimmed.rsplit('/').next().unwrap_or("");
            PathBuf::from(base)
        }
    };
    let safe = !name.as_os_str().is_empty()
        && name.components().all(|c| matches!(c, Component::Normal(_)));
    if !safe {
        return Err(invalid(
            &uri.value,
            format!("output name '{}' would leave the sandbox", name.display()),
        ));
    }
    Ok(name)
}

/// A stable 64-bit FNV-1a hash, naming cache entries the same way across runs.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain([0u8].iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn run_tool(
    uri: &str,
    tool: &'static str,
    cmd: &mut Command,
    stdout: Option<fs::File>,
) -> Result<(), FetchError> {
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    match stdout {
        Some(f) => cmd.stdout(f),
        None => cmd.stdout(Stdio::null()),
    };
    let out = cmd.output().map_err(|e| FetchError::Extract {
        uri: uri.into(),
        tool,
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(FetchError::Extract {
            uri: uri.into(),
            tool,
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}

fn extract(uri: &str, archive: Archive, file: &Path, sandbox: &Path) -> Result<(), FetchError> {
    match archive {
        Archive::Tar => run_tool(
            uri,
            "tar",
            Command::new("tar")
                .arg("-C")
                .arg(sandbox)
                .arg("-xf")
                .arg(file),
            None,
        ),
        Archive::Zip => run_tool(
            uri,
            "unzip",
            Command::new("unzip")
                .arg("-o")
                .arg("-d")
                .arg(sandbox)
                .arg(file),
            None,
        ),
        Archive::Gzip => {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let target = sandbox.join(name.trim_end_matches(".gz"));
            let out = fs::File::create(&target).map_err(|source| FetchError::Io {
                uri: uri.into(),
                source,
            })?;
            run_tool(
                uri,
                "gzip",
                Command::new("gzip").arg("-dc").arg(file),
                Some(out),
            )
        }
    }
}

/// Fetches every URI into `sandbox` for `user` (used for the cache key and ownership).
/// Returns the fetched files' paths in the sandbox.
pub fn fetch(
    uris: &[Uri],
    sandbox: &Path,
    user: Option<(u32, u32)>,
    config: &FetcherConfig,
) -> Result<Vec<PathBuf>, FetchError> {
    let mut fetched = Vec::with_capacity(uris.len());
    for uri in uris {
        fetched.push(fetch_one(uri, sandbox, user, config)?);
    }
    Ok(fetched)
}

fn fetch_one(
    uri: &Uri,
    sandbox: &Path,
    user: Option<(u32, u32)>,
    config: &FetcherConfig,
) -> Result<PathBuf, FetchError> {
    let value = uri.value.as_str();
    let io = |source: io::Error| FetchError::Io {
        uri: value.to_string(),
        source,
    };
    let name = destination_name(uri)?;
    let target = sandbox.join(&name);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let cached = if uri.cache.unwrap_or(false) {
        let uid = user.map(|(u, _)| u.to_string()).unwrap_or_default();
        let key = fnv1a(&[uid.as_bytes(), value.as_bytes()]);
        Some(config.cache_dir.join(format!("{key:016x}")))
    } else {
        None
    };
    match &cached {
        Some(entry) if entry.is_file() => {
            fs::copy(entry, &target).map_err(io)?;
        }
        _ => {
            let source = source_path(value, config)?;
            fs::copy(&source, &target).map_err(io)?;
            if let Some(entry) = &cached {
                // A failed cache write only costs a later re-fetch.
                let stored = fs::create_dir_all(&config.cache_dir)
                    .and_then(|_| fs::copy(&target, entry).map(|_| ()));
                if let Err(e) = stored {
                    tracing::warn!("could not cache '{value}': {e}");
                }
            }
        }
    }
    if uri.executable.unwrap_or(false) {
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).map_err(io)?;
    } else if uri.extract.unwrap_or(true) {
        let file_name = name.to_string_lossy();
        if let Some(kind) = archive_kind(&file_name) {
            extract(value, kind, &target, sandbox)?;
        }
    }
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&target, Some(uid), Some(gid)).map_err(io)?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests;

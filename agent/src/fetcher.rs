//! The fetcher: puts a task's `CommandInfo.uris` into its sandbox before it starts.
//!
//! For each URI: find the source (a local path, `file://`, a path relative to
//! `--frameworks_home`, or an `http://`/`https://` URL), put it into the sandbox under its
//! base name (or `output_file`), then either set the executable bit (`executable`) or,
//! when `extract` (the default) and the name is an archive, unpack it into the sandbox
//! (`.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz`, `.gz`, `.zip`), as
//! Mesos's fetcher does. With `cache`, the fetched bytes are kept under
//! `--fetcher_cache_dir` (at most `--fetcher_cache_size` bytes, least recently used out
//! first) and later fetches of the same URI for the same user copy from there.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use mesos_protos::v1::command_info::Uri;

mod cache;
mod extract;
mod http;

pub use cache::Cache;
pub use extract::{archive_kind, Archive, Compression};

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
    /// The scheme is not supported.
    #[error("unsupported uri '{0}': only local paths, file://, http:// and https:// are fetched")]
    Unsupported(String),
    /// Reading, copying or setting permissions failed.
    #[error("failed to fetch '{uri}': {source}")]
    Io {
        /// The URI.
        uri: String,
        /// The OS error.
        source: io::Error,
    },
    /// The HTTP(S) download failed (connection, TLS, or a non-2xx status).
    #[error("failed to download '{uri}': {reason}")]
    Http {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// Unpacking the archive failed.
    #[error("failed to extract '{uri}' ({tool}): {message}")]
    Extract {
        /// The URI.
        uri: String,
        /// The format being decoded (`tar`, `gzip`, `xz`, `zip`).
        tool: &'static str,
        /// What went wrong.
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
    /// `--fetcher_cache_size` in bytes.
    pub cache_size: u64,
    /// `--fetcher_stall_timeout`: how long connecting to an HTTP server may take.
    pub stall_timeout: Duration,
}

impl Default for FetcherConfig {
    /// Mesos's defaults: no frameworks home, `/tmp/mesos/fetch`, 2 GB, 1 minute.
    fn default() -> Self {
        FetcherConfig {
            frameworks_home: None,
            cache_dir: PathBuf::from("/tmp/mesos/fetch"),
            cache_size: 2 * 1024 * 1024 * 1024,
            stall_timeout: Duration::from_secs(60),
        }
    }
}

fn invalid(uri: &str, reason: impl Into<String>) -> FetchError {
    FetchError::Invalid {
        uri: uri.to_string(),
        reason: reason.into(),
    }
}

/// Resolves a non-HTTP URI to a local source path.
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

/// The name the fetched file gets in the sandbox: `output_file`, or the base name of the
/// URI's path (for URLs, without query or fragment). It must stay inside the sandbox.
fn destination_name(uri: &Uri) -> Result<PathBuf, FetchError> {
    let name = match uri.output_file.as_deref() {
        Some(o) if !o.is_empty() => PathBuf::from(o),
        _ => {
            let mut path = uri.value.as_str();
            if http::is_http(path) {
                path = path.split(['?', '#']).next().unwrap_or("");
                let after_scheme = path.split_once("://").map(|(_, r)| r).unwrap_or("");
                // "http://host" or "http://host/" has no file name.
                if !after_scheme.trim_end_matches('/').contains('/') {
                    path = "";
                }
            }
            let trimmed = path.trim_end_matches('/');
            PathBuf::from(trimmed.rsplit('/').next().unwrap_or(""))
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

/// Puts the bytes of `value` into a new file at `dest` (download or copy).
fn retrieve(value: &str, dest: &Path, config: &FetcherConfig) -> Result<(), FetchError> {
    if http::is_http(value) {
        http::download(value, dest, config.stall_timeout).map(|_| ())
    } else {
        let source = source_path(value, config)?;
        fs::copy(&source, dest)
            .map(|_| ())
            .map_err(|source| FetchError::Io {
                uri: value.to_string(),
                source,
            })
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

/// [`fetch`] on a thread of its own: the returned future resolves when every URI is in
/// the sandbox, so an actor can await it (or `defer` on it) instead of blocking its
/// thread for the length of a download.
pub fn fetch_in_background(
    uris: Vec<Uri>,
    sandbox: PathBuf,
    user: Option<(u32, u32)>,
    config: FetcherConfig,
) -> impl std::future::Future<Output = Result<Vec<PathBuf>, FetchError>> {
    let (tx, rx) = futures::channel::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("fetcher".into())
        .spawn(move || {
            let _ = tx.send(fetch(&uris, &sandbox, user, &config));
        });
    async move {
        if let Err(source) = spawned {
            return Err(FetchError::Io {
                uri: String::new(),
                source,
            });
        }
        rx.await.unwrap_or_else(|_| {
            Err(FetchError::Io {
                uri: String::new(),
                source: io::Error::other("the fetcher thread ended without an answer"),
            })
        })
    }
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
    if value.is_empty() {
        return Err(invalid(value, "empty uri"));
    }
    let name = destination_name(uri)?;
    let target = sandbox.join(&name);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    if uri.cache.unwrap_or(false) {
        fetch_through_cache(uri, &target, user, config)?;
    } else {
        retrieve(value, &target, config)?;
    }
    if uri.executable.unwrap_or(false) {
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).map_err(io)?;
    } else if uri.extract.unwrap_or(true) {
        if let Some(kind) = archive_kind(&name.to_string_lossy()) {
            extract::extract(value, kind, &target, sandbox)?;
        }
    }
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&target, Some(uid), Some(gid)).map_err(io)?;
    }
    Ok(target)
}

/// A cache hit copies the entry; a miss retrieves into the cache first (or straight
/// into the sandbox when the artifact is larger than the whole cache).
fn fetch_through_cache(
    uri: &Uri,
    target: &Path,
    user: Option<(u32, u32)>,
    config: &FetcherConfig,
) -> Result<(), FetchError> {
    let value = uri.value.as_str();
    let io = |source: io::Error| FetchError::Io {
        uri: value.to_string(),
        source,
    };
    let cache = Cache::new(&config.cache_dir, config.cache_size);
    let uid = user.map(|(u, _)| u.to_string()).unwrap_or_default();
    let entry = cache.entry(&uid, value);
    if entry.is_file() {
        // The entry may be evicted by another agent sharing the dir between the check
        // and the copy: then fall through to a fresh fetch.
        if fs::copy(&entry, target).is_ok() {
            if let Err(e) = cache.touch(&entry) {
                tracing::warn!("could not mark cache entry for '{value}' used: {e}");
            }
            return Ok(());
        }
    }
    let staged = cache.staging_path().map_err(io)?;
    let result = retrieve(value, &staged, config).and_then(|()| {
        if cache.admit(&staged, &entry).map_err(io)? {
            fs::copy(&entry, target).map(|_| ()).map_err(io)
        } else {
            tracing::info!(
                "'{value}' is larger than --fetcher_cache_size ({} bytes); not cached",
                config.cache_size
            );
            fs::rename(&staged, target)
                .or_else(|_| fs::copy(&staged, target).map(|_| ()))
                .map_err(io)
        }
    });
    let _ = fs::remove_file(&staged);
    result
}

#[cfg(test)]
mod tests;

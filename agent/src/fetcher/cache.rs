//! The fetcher cache under `--fetcher_cache_dir`, bounded by `--fetcher_cache_size`.
//!
//! Entries are files named by a hash of (user, URI). Recency is the entry's mtime,
//! refreshed on every hit, so least-recently-used entries go first when a new one needs
//! room, and the order survives an agent restart. An artifact larger than the whole
//! cache is fetched straight into the sandbox instead, as Mesos does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A cache directory and its byte budget.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    size: u64,
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

const ENTRY_PREFIX: &str = "entry-";

impl Cache {
    /// A cache in `dir` holding at most `size` bytes.
    pub fn new(dir: &Path, size: u64) -> Cache {
        Cache {
            dir: dir.to_path_buf(),
            size,
        }
    }

    /// The entry path for `uri` fetched as `user` (uid text; empty for the agent's user).
    pub fn entry(&self, user: &str, uri: &str) -> PathBuf {
        let key = fnv1a(&[user.as_bytes(), uri.as_bytes()]);
        self.dir.join(format!("{ENTRY_PREFIX}{key:016x}"))
    }

    /// A fresh path in the cache dir to download into before [`Cache::admit`].
    pub fn staging_path(&self) -> io::Result<PathBuf> {
        fs::create_dir_all(&self.dir)?;
        Ok(self.dir.join(format!("staging-{}", uuid::Uuid::new_v4())))
    }

    /// Marks `entry` as the most recently used: its mtime becomes just after the newest
    /// entry's (recency without reading the wall clock, which only the Clock may do).
    pub fn touch(&self, entry: &Path) -> io::Result<()> {
        let newest = self
            .entries()?
            .into_iter()
            .filter(|(p, _, _)| p != entry)
            .map(|(_, _, modified)| modified)
            .max();
        let own = fs::metadata(entry)?.modified()?;
        let stamp = match newest {
            Some(n) if n >= own => n + Duration::from_micros(1),
            _ => own,
        };
        fs::File::options()
            .append(true)
            .open(entry)?
            .set_modified(stamp)
    }

    /// Moves the staged file into the cache as `entry`, evicting least-recently-used
    /// entries until it fits. Returns `false` (leaving `staged` where it is) when the
    /// file is larger than the whole cache.
    pub fn admit(&self, staged: &Path, entry: &Path) -> io::Result<bool> {
        let len = fs::metadata(staged)?.len();
        if len > self.size {
            return Ok(false);
        }
        let mut entries = self.entries()?;
        entries.retain(|(p, _, _)| p != entry);
        entries.sort_by_key(|(_, _, modified)| *modified);
        let mut total: u64 = entries.iter().map(|(_, l, _)| *l).sum();
        for (path, l, _) in &entries {
            if total + len <= self.size {
                break;
            }
            match fs::remove_file(path) {
                Ok(()) => total -= l,
                // Another agent sharing the dir evicted it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => total -= l,
                Err(e) => return Err(e),
            }
        }
        fs::rename(staged, entry)?;
        self.touch(entry)?;
        Ok(true)
    }

    /// The cache's entries: (path, length, last use).
    pub fn entries(&self) -> io::Result<Vec<(PathBuf, u64, SystemTime)>> {
        let read = match fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for e in read.flatten() {
            if !e.file_name().to_string_lossy().starts_with(ENTRY_PREFIX) {
                continue;
            }
            if let Ok(meta) = e.metadata() {
                if meta.is_file() {
                    out.push((e.path(), meta.len(), meta.modified()?));
                }
            }
        }
        Ok(out)
    }
}

//! Durable checkpoints under `--work_dir/meta`.
//!
//! Whole-file checkpoints are written to a temporary file in the same folder, fsynced,
//! renamed over the target and the folder fsynced, so a crash leaves either the old or the
//! new content, never a mix. Logs (a task's status updates) are appended as
//! length-prefixed protobuf records, each fsynced before the caller acknowledges
//! anything; a torn last record (a crash mid-append) is dropped and truncated on read.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Records larger than this are treated as corruption rather than allocated.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// Errors reading or writing checkpoints; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file system refused.
    #[error("checkpoint i/o on '{path}': {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file holds something that is not the expected protobuf.
    #[error("corrupt checkpoint '{path}': {reason}")]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` durably and atomically (temp file, fsync, rename, fsync dir).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// Checkpoints one protobuf message to `path`.
pub fn write_message<M: prost::Message>(path: &Path, message: &M) -> Result<(), CheckpointError> {
    write_atomic(path, &message.encode_to_vec())
}

/// Reads a checkpointed protobuf message; `Ok(None)` if the file does not exist.
pub fn read_message<M: prost::Message + Default>(
    path: &Path,
) -> Result<Option<M>, CheckpointError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    M::decode(bytes.as_slice())
        .map(Some)
        .map_err(|e| CheckpointError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Checkpoints a small text value (a pid, a boot id).
pub fn write_text(path: &Path, text: &str) -> Result<(), CheckpointError> {
    write_atomic(path, text.as_bytes())
}

/// Reads a checkpointed text value, trimmed; `Ok(None)` if the file does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, CheckpointError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// An append-only log of length-prefixed protobuf records (4-byte little-endian length).
#[derive(Debug)]
pub struct RecordLog {
    path: PathBuf,
    file: File,
}

impl RecordLog {
    /// Opens (creating if needed) the log at `path` for appending.
    pub fn open(path: &Path) -> Result<RecordLog, CheckpointError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        if !existed {
            sync_dir(dir).map_err(io_err(dir))?;
        }
        Ok(RecordLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one record and fsyncs it.
    pub fn append<M: prost::Message>(&mut self, record: &M) -> Result<(), CheckpointError> {
        let body = record.encode_to_vec();
        let len = u32::try_from(body.len())
            .ok()
            .filter(|l| (*l as usize) <= MAX_RECORD_BYTES)
            .ok_or_else(|| CheckpointError::Corrupt {
                path: self.path.clone(),
                reason: format!("record of {} bytes is too large", body.len()),
            })?;
        let mut buf = Vec::with_capacity(4 + body.len());
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&body);
        self.file.write_all(&buf).map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What reading a log found.
#[derive(Debug)]
pub struct Records<M> {
    /// The complete records, in order.
    pub records: Vec<M>,
    /// True if a torn or undecodable tail was found and truncated away.
    pub truncated: bool,
}

/// Reads every complete record of the log at `path` (empty if it does not exist). A
/// partial or undecodable tail — what a crash during `append` leaves — is truncated off
/// the file so later appends follow the last good record.
pub fn read_records<M: prost::Message + Default>(
    path: &Path,
) -> Result<Records<M>, CheckpointError> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).map_err(io_err(path))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Records {
                records: Vec::new(),
                truncated: false,
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    }
    let mut records = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(len_bytes) = bytes.get(pos..pos + 4) else {
            break;
        };
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        if len > MAX_RECORD_BYTES {
            break;
        }
        let Some(body) = bytes.get(pos + 4..pos + 4 + len) else {
            break;
        };
        match M::decode(body) {
            Ok(m) => records.push(m),
            Err(_) => break,
        }
        pos += 4 + len;
    }
    let truncated = pos < bytes.len();
    if truncated {
        tracing::warn!(
            "truncating {} bytes of torn records at the end of '{}'",
            bytes.len() - pos,
            path.display()
        );
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        f.set_len(pos as u64).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
    }
    Ok(Records { records, truncated })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_protos::v1;

    fn info(host: &str) -> v1::AgentInfo {
        v1::AgentInfo {
            hostname: host.into(),
            ..Default::default()
        }
    }

    #[test]
    fn atomic_message_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/slave.info");
        assert!(read_message::<v1::AgentInfo>(&path).unwrap().is_none());
        write_message(&path, &info("h1")).unwrap();
        write_message(&path, &info("h2")).unwrap();
        let back: v1::AgentInfo = read_message(&path).unwrap().unwrap();
        assert_eq!(back.hostname, "h2");
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn corrupt_message_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slave.info");
        fs::write(&path, [0xff, 0xff, 0xff]).unwrap();
        let e = read_message::<v1::AgentInfo>(&path).unwrap_err();
        assert!(e.to_string().contains("slave.info"), "{e}");
    }

    #[test]
    fn text_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pids/forked.pid");
        assert_eq!(read_text(&path).unwrap(), None);
        write_text(&path, "1234\n").unwrap();
        assert_eq!(read_text(&path).unwrap().as_deref(), Some("1234"));
    }

    #[test]
    fn record_log_appends_and_survives_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t/task.updates");
        {
            let mut log = RecordLog::open(&path).unwrap();
            log.append(&info("one")).unwrap();
            log.append(&info("two")).unwrap();
        }
        // A crash mid-append: a length prefix promising more than is there.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[100, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let r: Records<v1::AgentInfo> = read_records(&path).unwrap();
        assert!(r.truncated);
        assert_eq!(
            r.records
                .iter()
                .map(|i| i.hostname.as_str())
                .collect::<Vec<_>>(),
            ["one", "two"]
        );
        // The tail is gone, so a new append lands right after the last good record.
        let mut log = RecordLog::open(&path).unwrap();
        log.append(&info("three")).unwrap();
        let r: Records<v1::AgentInfo> = read_records(&path).unwrap();
        assert!(!r.truncated);
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[2].hostname, "three");
    }

    #[test]
    fn huge_length_prefix_is_corruption_not_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("task.updates");
        fs::write(&path, [0xff, 0xff, 0xff, 0xff, 0]).unwrap();
        let r: Records<v1::AgentInfo> = read_records(&path).unwrap();
        assert!(r.records.is_empty() && r.truncated);
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
        let none: Records<v1::AgentInfo> = read_records(&dir.path().join("nope")).unwrap();
        assert!(none.records.is_empty() && !none.truncated);
    }
}

//! The embedded registry store under `--work_dir`: an append-only log of operation
//! batches plus a periodic snapshot.
//!
//! ```text
//! <work_dir>/registry/snapshot   one framed SnapshotRecord {seq, Registry}
//! <work_dir>/registry/log        framed BatchRecord {seq, ops[]}, appended, fsync per batch
//! ```
//! A batch is acknowledged only after its record is fsynced. When the log outgrows the
//! snapshot (and a floor), a new snapshot is written to a temp file, fsynced, renamed
//! over the old one and the folder fsynced; then the log restarts empty the same way.
//! Recovery loads the snapshot and replays the log batches with a higher `seq`; a torn
//! record at the tail (a write that never returned) is cut off.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use prost::Message;

use super::codec::{self, BatchRecord, SnapshotRecord};
use super::ops::{Operation, RegistryState};
use super::{RegistryStore, StoreError};

const LOG: &str = "log";
const SNAPSHOT: &str = "snapshot";

/// Durable registry store in a folder.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    log: Option<File>,
    seq: u64,
    log_bytes: u64,
    snapshot_bytes: u64,
    min_log_bytes_for_snapshot: u64,
}

impl FileStore {
    /// A store in `<work_dir>/registry` (created if missing).
    pub fn open(work_dir: &Path) -> Result<Self, StoreError> {
        Self::open_dir(&work_dir.join("registry"))
    }

    /// A store in exactly `dir`.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        Ok(FileStore {
            dir: dir.to_owned(),
            log: None,
            seq: 0,
            log_bytes: 0,
            snapshot_bytes: 0,
            min_log_bytes_for_snapshot: 1 << 20,
        })
    }

    /// Sets the log size below which no snapshot is taken (tests use small values).
    pub fn with_snapshot_floor(mut self, bytes: u64) -> Self {
        self.min_log_bytes_for_snapshot = bytes;
        self
    }

    /// The folder holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Size of the log in bytes (for metrics and tests).
    pub fn log_bytes(&self) -> u64 {
        self.log_bytes
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read_snapshot(&self) -> Result<(u64, RegistryState), StoreError> {
        let path = self.path(SNAPSHOT);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((0, RegistryState::default()))
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        // A snapshot is only ever renamed into place complete, so damage is real
        // corruption, not a torn write.
        let (payload, _) = codec::unframe(&bytes)
            .ok_or_else(|| StoreError::Corrupt(format!("{} fails its checksum", path.display())))?;
        let rec = SnapshotRecord::decode(payload)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
        Ok((
            rec.seq,
            RegistryState::from_proto(rec.registry.unwrap_or_default()),
        ))
    }

    fn write_atomically(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp = self.path(&format!("{name}.tmp"));
        let dst = self.path(name);
        let mut f = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| StoreError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
        drop(f);
        fs::rename(&tmp, &dst).map_err(|e| StoreError::io(&dst, e))?;
        self.sync_dir()
    }

    fn sync_dir(&self) -> Result<(), StoreError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(&self.dir, e))
    }

    fn open_log_for_append(&mut self) -> Result<(), StoreError> {
        let path = self.path(LOG);
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        self.log = Some(f);
        Ok(())
    }

    fn snapshot(&mut self, state: &RegistryState) -> Result<(), StoreError> {
        let rec = SnapshotRecord {
            seq: self.seq,
            registry: Some(state.to_proto()),
        };
        let mut bytes = Vec::new();
        codec::frame(&rec.encode_to_vec(), &mut bytes);
        self.write_atomically(SNAPSHOT, &bytes)?;
        self.snapshot_bytes = bytes.len() as u64;
        // Every batch in the log is now covered by the snapshot: start it afresh.
        self.log = None;
        self.write_atomically(LOG, &[])?;
        self.log_bytes = 0;
        self.open_log_for_append()
    }
}

impl RegistryStore for FileStore {
    fn recover(&mut self) -> Result<RegistryState, StoreError> {
        let (snap_seq, mut state) = self.read_snapshot()?;
        self.seq = snap_seq;
        let snap_path = self.path(SNAPSHOT);
        self.snapshot_bytes = fs::metadata(&snap_path).map(|m| m.len()).unwrap_or(0);

        let path = self.path(LOG);
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes)
                    .map_err(|e| StoreError::io(&path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        let mut pos = 0;
        while let Some((payload, used)) = codec::unframe(&bytes[pos..]) {
            let Ok(batch) = BatchRecord::decode(payload) else {
                break;
            };
            if batch.seq > self.seq {
                for rec in &batch.ops {
                    let op = rec.to_operation().ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown operation kind {}", rec.kind))
                    })?;
                    // Operations were applied successfully before they were logged,
                    // so a refusal here cannot change the state; ignore it.
                    let _ = op.apply(&mut state);
                }
                self.seq = batch.seq;
            }
            pos += used;
        }
        if pos < bytes.len() {
            // Cut the torn tail so new batches follow the last complete one.
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::io(&path, e))?;
            f.set_len(pos as u64)
                .map_err(|e| StoreError::io(&path, e))?;
            f.sync_all().map_err(|e| StoreError::io(&path, e))?;
        }
        self.log_bytes = pos as u64;
        self.open_log_for_append()?;
        Ok(state)
    }

    fn store(&mut self, ops: &[Operation], after: &RegistryState) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        if self.log.is_none() {
            self.open_log_for_append()?;
        }
        let seq = self.seq + 1;
        let bytes = codec::encode_batch(seq, ops);
        let path = self.path(LOG);
        let log = self
            .log
            .as_mut()
            .ok_or_else(|| StoreError::Corrupt("log not open".into()))?;
        log.write_all(&bytes)
            .map_err(|e| StoreError::io(&path, e))?;
        log.sync_data().map_err(|e| StoreError::io(&path, e))?;
        self.seq = seq;
        self.log_bytes += bytes.len() as u64;
        if self.log_bytes > self.min_log_bytes_for_snapshot.max(self.snapshot_bytes) {
            self.snapshot(after)?;
        }
        Ok(())
    }
}

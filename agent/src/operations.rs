//! Operations on the agent's default resources (RESERVE, UNRESERVE, CREATE, DESTROY,
//! GROW_VOLUME, SHRINK_VOLUME) and reliable delivery of their status updates.
//!
//! The master sends `ApplyOperationMessage`; the agent applies the operation to its
//! checkpointed resources, commits the new resources and the operation
//! ([`state::ResourceState`]) and only then answers with an `UpdateOperationStatusMessage`
//! (FINISHED, or FAILED with a message). That update sits in the operation's stream here
//! and is re-sent with a back-off of 10 s doubling up to 10 min until the master's
//! `AcknowledgeOperationStatusMessage` names its status uuid, across agent restarts
//! (each stream is logged to `operation.updates`) and master failover (streams pause
//! while disconnected and resume on re-registration) — the task status update scheme
//! of [`crate::status_update_manager`], keyed by operation uuid.
//!
//! ```text
//!  ApplyOperation ─▶ apply + [checkpoint state] ─▶ [log UPDATE] ─▶ pending ──head──▶ master
//!                                                                    ▲                 │
//!                          [log ACK] ◀── AcknowledgeOperationStatus(status uuid) ◀─────┘
//! ```
//!
//! Like the task manager, [`OperationUpdateManager`] reads no clock: callers pass the
//! current [`Time`] and re-arm a Clock timer from [`OperationUpdateManager::next_deadline`].

pub mod state;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::Time;
use mesos_protos::mesos::internal::{
    update_operation_status_record, UpdateOperationStatusMessage, UpdateOperationStatusRecord,
};
use mesos_protos::v1;
use mesos_protos::v1::OperationState;

use crate::checkpoint::{self, CheckpointError, RecordLog};
pub use crate::status_update_manager::{RETRY_INTERVAL_MAX, RETRY_INTERVAL_MIN};

/// True for the states after which an operation never changes again.
pub fn is_terminal_operation_state(state: OperationState) -> bool {
    matches!(
        state,
        OperationState::OperationFinished
            | OperationState::OperationFailed
            | OperationState::OperationError
            | OperationState::OperationDropped
            | OperationState::OperationGoneByOperator
    )
}

/// An operation or status uuid as text (hyphenated if it is 16 bytes).
pub fn uuid_text(uuid: &[u8]) -> String {
    uuid::Uuid::from_slice(uuid)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{uuid:02x?}"))
}

/// A fresh random uuid message.
pub fn new_uuid() -> v1::Uuid {
    v1::Uuid {
        value: uuid::Uuid::new_v4().as_bytes().to_vec(),
    }
}

/// Errors from the manager; none of them stops the agent.
#[derive(Debug, thiserror::Error)]
pub enum OperationUpdateError {
    /// The update lacks its operation uuid or status uuid.
    #[error("invalid operation status update: {0}")]
    Invalid(&'static str),
    /// An acknowledgement for an operation with no stream.
    #[error("no status update stream for operation {0}")]
    UnknownStream(String),
    /// An acknowledgement whose status uuid is not the one in flight.
    #[error("unexpected acknowledgement for operation {operation}: status uuid {received}, expecting {expected}")]
    UnexpectedAck {
        /// Operation uuid.
        operation: String,
        /// The status uuid acknowledged.
        received: String,
        /// The status uuid in flight (or `none`).
        expected: String,
    },
    /// Writing or reading the stream's log failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// What [`OperationUpdateManager::acknowledge`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationAck {
    /// Acknowledged before; nothing changed.
    Duplicate,
    /// The head was acknowledged.
    Acknowledged {
        /// The next update of the stream to send now, if any.
        next: Option<Box<UpdateOperationStatusMessage>>,
        /// True if the acknowledged update was terminal: the stream is gone.
        stream_closed: bool,
    },
}

/// A stream rebuilt from its log during recovery.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredOperationStream {
    /// Every update the log holds, in order.
    pub updates: Vec<UpdateOperationStatusMessage>,
    /// True if the terminal update was acknowledged: no stream was kept.
    pub terminated: bool,
}

#[derive(Debug)]
struct Stream {
    pending: VecDeque<UpdateOperationStatusMessage>,
    received: HashSet<Vec<u8>>,
    acknowledged: HashSet<Vec<u8>>,
    log: Option<RecordLog>,
    deadline: Option<Time>,
    backoff: Duration,
}

impl Stream {
    fn new(log: Option<RecordLog>) -> Stream {
        Stream {
            pending: VecDeque::new(),
            received: HashSet::new(),
            acknowledged: HashSet::new(),
            log,
            deadline: None,
            backoff: RETRY_INTERVAL_MIN,
        }
    }

    /// The head, stamped with the newest queued status, to send now; arms the retry.
    fn send_head(&mut self, now: Time, backoff: Duration) -> Option<UpdateOperationStatusMessage> {
        let mut head = self.pending.front()?.clone();
        head.latest_status = self.pending.back().map(|u| u.status.clone());
        self.backoff = backoff;
        self.deadline = Some(now + backoff);
        Some(head)
    }
}

fn status_uuid(update: &UpdateOperationStatusMessage) -> Option<Vec<u8>> {
    update
        .status
        .uuid
        .as_ref()
        .map(|u| u.value.clone())
        .filter(|v| !v.is_empty())
}

fn operation_key(update: &UpdateOperationStatusMessage) -> Option<Vec<u8>> {
    update
        .operation_uuid
        .as_ref()
        .map(|u| u.value.clone())
        .filter(|v| !v.is_empty())
}

/// The per-agent collection of operation status update streams, one per operation uuid.
#[derive(Debug)]
pub struct OperationUpdateManager {
    streams: BTreeMap<Vec<u8>, Stream>,
    paused: bool,
}

impl Default for OperationUpdateManager {
    fn default() -> Self {
        OperationUpdateManager::new()
    }
}

impl OperationUpdateManager {
    /// An empty manager, paused until the agent registers.
    pub fn new() -> OperationUpdateManager {
        OperationUpdateManager {
            streams: BTreeMap::new(),
            paused: true,
        }
    }

    /// Stops sending (the agent lost its master).
    pub fn pause(&mut self) {
        self.paused = true;
        for s in self.streams.values_mut() {
            s.deadline = None;
        }
    }

    /// Starts sending again: every stream's head goes out now, retries start at 10 s.
    pub fn resume(&mut self, now: Time) -> Vec<UpdateOperationStatusMessage> {
        self.paused = false;
        self.streams
            .values_mut()
            .filter_map(|s| s.send_head(now, RETRY_INTERVAL_MIN))
            .collect()
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Takes a new update; it is logged to `log` (when given and this update opens the
    /// stream) before this returns. Returns the update to send now, if the stream was
    /// idle and the manager is not paused; `Ok(None)` also for a duplicate.
    pub fn update(
        &mut self,
        update: UpdateOperationStatusMessage,
        log: Option<&Path>,
        now: Time,
    ) -> Result<Option<UpdateOperationStatusMessage>, OperationUpdateError> {
        let key = operation_key(&update)
            .ok_or(OperationUpdateError::Invalid("missing operation uuid"))?;
        let uuid =
            status_uuid(&update).ok_or(OperationUpdateError::Invalid("missing status uuid"))?;
        if !self.streams.contains_key(&key) {
            let log = log.map(RecordLog::open).transpose()?;
            self.streams.insert(key.clone(), Stream::new(log));
        }
        let paused = self.paused;
        let Some(stream) = self.streams.get_mut(&key) else {
            return Err(OperationUpdateError::UnknownStream(uuid_text(&key)));
        };
        if stream.acknowledged.contains(&uuid) || stream.received.contains(&uuid) {
            return Ok(None);
        }
        if let Some(log) = stream.log.as_mut() {
            log.append(&UpdateOperationStatusRecord {
                r#type: update_operation_status_record::Type::Update as i32,
                update: Some(update.clone()),
                uuid: None,
            })?;
        }
        stream.received.insert(uuid);
        stream.pending.push_back(update);
        Ok(if stream.pending.len() == 1 && !paused {
            stream.send_head(now, RETRY_INTERVAL_MIN)
        } else {
            None
        })
    }

    /// Handles the master's acknowledgement of `status_uuid` for an operation's stream.
    pub fn acknowledge(
        &mut self,
        operation_uuid: &[u8],
        status_uuid: &[u8],
        now: Time,
    ) -> Result<OperationAck, OperationUpdateError> {
        let paused = self.paused;
        let Some(stream) = self.streams.get_mut(operation_uuid) else {
            return Err(OperationUpdateError::UnknownStream(uuid_text(
                operation_uuid,
            )));
        };
        if stream.acknowledged.contains(status_uuid) {
            return Ok(OperationAck::Duplicate);
        }
        let head = stream.pending.front().and_then(status_uuid_of);
        if head.as_deref() != Some(status_uuid) {
            return Err(OperationUpdateError::UnexpectedAck {
                operation: uuid_text(operation_uuid),
                received: uuid_text(status_uuid),
                expected: head
                    .as_deref()
                    .map(uuid_text)
                    .unwrap_or_else(|| "none".into()),
            });
        }
        if let Some(log) = stream.log.as_mut() {
            log.append(&ack_record(status_uuid))?;
        }
        stream.acknowledged.insert(status_uuid.to_vec());
        stream.deadline = None;
        let acked = stream.pending.pop_front();
        if acked.is_some_and(|u| is_terminal_operation_state(u.status.state())) {
            self.streams.remove(operation_uuid);
            return Ok(OperationAck::Acknowledged {
                next: None,
                stream_closed: true,
            });
        }
        let next = if paused {
            None
        } else {
            stream.send_head(now, RETRY_INTERVAL_MIN).map(Box::new)
        };
        Ok(OperationAck::Acknowledged {
            next,
            stream_closed: false,
        })
    }

    /// The earliest time a head must be re-sent, if any is in flight.
    pub fn next_deadline(&self) -> Option<Time> {
        self.streams.values().filter_map(|s| s.deadline).min()
    }

    /// Re-sends every head whose retry time has come, doubling its back-off (at most
    /// 10 min).
    pub fn timeouts(&mut self, now: Time) -> Vec<UpdateOperationStatusMessage> {
        if self.paused {
            return Vec::new();
        }
        let mut out = Vec::new();
        for s in self.streams.values_mut() {
            if s.deadline.is_some_and(|d| d <= now) {
                let backoff = (s.backoff * 2).min(RETRY_INTERVAL_MAX);
                out.extend(s.send_head(now, backoff));
            }
        }
        out
    }

    /// The unacknowledged updates of an operation, oldest first.
    pub fn pending(&self, operation_uuid: &[u8]) -> Vec<UpdateOperationStatusMessage> {
        self.streams
            .get(operation_uuid)
            .map(|s| s.pending.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// True if the operation has a stream (some update is not yet acknowledged).
    pub fn has_stream(&self, operation_uuid: &[u8]) -> bool {
        self.streams.contains_key(operation_uuid)
    }

    /// Number of open streams.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Rebuilds an operation's stream from its log (agent restart). A stream whose
    /// terminal update was acknowledged is not kept. A stray ack is an error when
    /// `strict`, else logged and skipped.
    pub fn recover(
        &mut self,
        operation_uuid: &[u8],
        path: &Path,
        strict: bool,
    ) -> Result<RecoveredOperationStream, OperationUpdateError> {
        let records = checkpoint::read_records::<UpdateOperationStatusRecord>(path)?;
        let mut stream = Stream::new(None);
        let mut updates = Vec::new();
        let mut terminated = false;
        for record in records.records {
            match (record.r#type(), record.update, record.uuid) {
                (update_operation_status_record::Type::Update, Some(u), _) => {
                    if let Some(uuid) = status_uuid(&u) {
                        if stream.received.insert(uuid) {
                            stream.pending.push_back(u.clone());
                        }
                    }
                    updates.push(u);
                }
                (update_operation_status_record::Type::Ack, _, Some(uuid)) => {
                    let head = stream.pending.front().and_then(status_uuid_of);
                    if head.as_deref() != Some(uuid.value.as_slice()) {
                        let e = OperationUpdateError::UnexpectedAck {
                            operation: uuid_text(operation_uuid),
                            received: uuid_text(&uuid.value),
                            expected: head
                                .as_deref()
                                .map(uuid_text)
                                .unwrap_or_else(|| "none".into()),
                        };
                        if strict {
                            return Err(e);
                        }
                        tracing::warn!("skipping a record of {}: {e}", path.display());
                        continue;
                    }
                    if let Some(u) = stream.pending.pop_front() {
                        terminated |= is_terminal_operation_state(u.status.state());
                    }
                    stream.acknowledged.insert(uuid.value);
                }
                _ => {
                    let e = CheckpointError::Corrupt {
                        path: path.to_path_buf(),
                        reason: "a record with neither update nor uuid".into(),
                    };
                    if strict {
                        return Err(e.into());
                    }
                    tracing::warn!("{e}");
                }
            }
        }
        if !terminated && !stream.pending.is_empty() {
            stream.log = Some(RecordLog::open(path)?);
            self.streams.insert(operation_uuid.to_vec(), stream);
        }
        Ok(RecoveredOperationStream {
            updates,
            terminated,
        })
    }

    /// Path of the log a stream writes to, if it has one.
    pub fn log_path(&self, operation_uuid: &[u8]) -> Option<PathBuf> {
        self.streams
            .get(operation_uuid)
            .and_then(|s| s.log.as_ref())
            .map(|l| l.path().to_path_buf())
    }
}

fn status_uuid_of(u: &UpdateOperationStatusMessage) -> Option<Vec<u8>> {
    status_uuid(u)
}

fn ack_record(status_uuid: &[u8]) -> UpdateOperationStatusRecord {
    UpdateOperationStatusRecord {
        r#type: update_operation_status_record::Type::Ack as i32,
        update: None,
        uuid: Some(v1::Uuid {
            value: status_uuid.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests;

//! The task status update manager: reliable, ordered delivery of status updates to the
//! master.
//!
//! Each task has one stream. An update from an executor is checkpointed (if its framework
//! checkpoints) and queued; only the head of a stream is in flight. The head is sent, and
//! re-sent with a back-off of 10 s doubling up to 10 min, until the master forwards the
//! scheduler's acknowledgement for its uuid; then the next update goes out. Every
//! forwarded update carries `latest_state`, the newest state queued in its stream.
//!
//! ```text
//!  executor ──update──▶ [checkpoint UPDATE] ──▶ pending: u1 u2 u3 ──head──▶ master
//!                                                  ▲                         │
//!                        [checkpoint ACK] ◀── ack(u1.uuid) ◀─────────────────┘
//! ```
//!
//! The manager does no I/O other than its checkpoint files and reads no clock: callers
//! pass the current [`Time`] and get back the updates to send; [`next_deadline`] tells the
//! agent when to call [`timeouts`] again (through the Clock). That keeps it testable on a
//! paused Clock without an actor.
//!
//! [`next_deadline`]: StatusUpdateManager::next_deadline
//! [`timeouts`]: StatusUpdateManager::timeouts

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::Time;
use mesos_protos::mesos::internal::{status_update_record, StatusUpdate, StatusUpdateRecord};
use mesos_protos::v1::TaskState;

use crate::checkpoint::{self, CheckpointError, RecordLog};

/// First retry interval of an unacknowledged update.
pub const RETRY_INTERVAL_MIN: Duration = Duration::from_secs(10);
/// Longest retry interval.
pub const RETRY_INTERVAL_MAX: Duration = Duration::from_secs(600);

/// True for the states after which a task never changes again.
pub fn is_terminal_state(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

/// Identifies one task's stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Framework id value.
    pub framework: String,
    /// Task id value.
    pub task: String,
}

/// Errors from the manager; none of them stops the agent.
#[derive(Debug, thiserror::Error)]
pub enum StatusUpdateError {
    /// The update has no uuid (or the task/framework id is missing).
    #[error("invalid status update for task '{task}': {reason}")]
    Invalid {
        /// The task named by the update.
        task: String,
        /// What is missing.
        reason: &'static str,
    },
    /// An acknowledgement for a task with no stream.
    #[error("no status update stream for task '{task}' of framework '{framework}'")]
    UnknownStream {
        /// Framework id.
        framework: String,
        /// Task id.
        task: String,
    },
    /// An acknowledgement whose uuid is not the one in flight.
    #[error("unexpected acknowledgement for task '{task}': uuid {received}, expecting {expected}")]
    UnexpectedAck {
        /// Task id.
        task: String,
        /// The uuid acknowledged.
        received: String,
        /// The uuid in flight (or `none`).
        expected: String,
    },
    /// An update for a stream whose terminal update was already acknowledged.
    #[error("status update stream for task '{task}' is terminated")]
    Terminated {
        /// Task id.
        task: String,
    },
    /// Writing or reading the stream's log failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// What [`StatusUpdateManager::update`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// Already received or acknowledged; nothing changed (still ack it to the executor).
    Duplicate,
    /// Queued (and checkpointed); `forward` is the update to send now, if the stream was
    /// idle and the manager is not paused.
    Accepted {
        /// Send this to the master now.
        forward: Option<Box<StatusUpdate>>,
    },
}

/// What [`StatusUpdateManager::acknowledge`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AckOutcome {
    /// The uuid was acknowledged before; nothing changed.
    Duplicate,
    /// The head was acknowledged.
    Acknowledged {
        /// The next update of the stream to send now, if any.
        next: Option<Box<StatusUpdate>>,
        /// True if the acknowledged update was terminal and the stream is gone.
        stream_closed: bool,
    },
}

/// A stream rebuilt from its log during recovery.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredStream {
    /// Every update the log holds, acknowledged or not, in order (the task's history).
    pub updates: Vec<StatusUpdate>,
    /// True if the terminal update was acknowledged: no stream was kept.
    pub terminated: bool,
    /// True if a torn tail was dropped from the log.
    pub truncated: bool,
}

#[derive(Debug)]
struct Stream {
    pending: VecDeque<StatusUpdate>,
    received: HashSet<Vec<u8>>,
    acknowledged: HashSet<Vec<u8>>,
    log: Option<RecordLog>,
    /// When the head was (re)sent and must be retried, if it is in flight.
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

    /// The head, stamped with the newest queued state, to send now; arms the retry.
    fn send_head(&mut self, now: Time, backoff: Duration) -> Option<StatusUpdate> {
        let mut head = self.pending.front()?.clone();
        head.latest_state = self.pending.back().map(|u| u.status.state);
        self.backoff = backoff;
        self.deadline = Some(now + backoff);
        Some(head)
    }
}

/// The per-agent collection of task status update streams.
#[derive(Debug, Default)]
pub struct StatusUpdateManager {
    streams: HashMap<StreamKey, Stream>,
    paused: bool,
}

fn uuid_text(uuid: &[u8]) -> String {
    uuid::Uuid::from_slice(uuid)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{uuid:02x?}"))
}

fn key_of(update: &StatusUpdate) -> Result<StreamKey, StatusUpdateError> {
    let task = update.status.task_id.value.clone();
    if task.is_empty() {
        return Err(StatusUpdateError::Invalid {
            task,
            reason: "missing task id",
        });
    }
    if update.framework_id.value.is_empty() {
        return Err(StatusUpdateError::Invalid {
            task,
            reason: "missing framework id",
        });
    }
    Ok(StreamKey {
        framework: update.framework_id.value.clone(),
        task,
    })
}

fn record_update(update: &StatusUpdate) -> StatusUpdateRecord {
    StatusUpdateRecord {
        r#type: status_update_record::Type::Update as i32,
        update: Some(update.clone()),
        uuid: None,
    }
}

fn record_ack(uuid: &[u8]) -> StatusUpdateRecord {
    StatusUpdateRecord {
        r#type: status_update_record::Type::Ack as i32,
        update: None,
        uuid: Some(uuid.to_vec()),
    }
}

impl StatusUpdateManager {
    /// An empty manager, paused until the agent registers (as Mesos's starts).
    pub fn new() -> StatusUpdateManager {
        StatusUpdateManager {
            streams: HashMap::new(),
            paused: true,
        }
    }

    /// Stops sending (the agent lost its master); retries stop until [`Self::resume`].
    pub fn pause(&mut self) {
        self.paused = true;
        for s in self.streams.values_mut() {
            s.deadline = None;
        }
    }

    /// Starts sending again: every stream's head goes out now, retries start over at 10 s.
    pub fn resume(&mut self, now: Time) -> Vec<StatusUpdate> {
        self.paused = false;
        let mut keys: Vec<_> = self.streams.keys().cloned().collect();
        keys.sort();
        let mut out = Vec::new();
        for k in &keys {
            if let Some(u) = self
                .streams
                .get_mut(k)
                .and_then(|s| s.send_head(now, RETRY_INTERVAL_MIN))
            {
                out.push(u);
            }
        }
        out
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Takes a new update from an executor (or the agent itself). `log` is the stream's
    /// checkpoint file when the framework checkpoints; it is used only if this update
    /// opens the stream. The update is durable when this returns `Accepted`.
    pub fn update(
        &mut self,
        update: StatusUpdate,
        log: Option<&Path>,
        now: Time,
    ) -> Result<UpdateOutcome, StatusUpdateError> {
        let key = key_of(&update)?;
        let uuid = match update.uuid.as_deref() {
            Some(u) if !u.is_empty() => u.to_vec(),
            _ => {
                return Err(StatusUpdateError::Invalid {
                    task: key.task,
                    reason: "missing uuid",
                })
            }
        };
        if !self.streams.contains_key(&key) {
            let log = log.map(RecordLog::open).transpose()?;
            self.streams.insert(key.clone(), Stream::new(log));
        }
        let paused = self.paused;
        let Some(stream) = self.streams.get_mut(&key) else {
            return Err(StatusUpdateError::UnknownStream {
                framework: key.framework,
                task: key.task,
            });
        };
        if stream.acknowledged.contains(&uuid) || stream.received.contains(&uuid) {
            return Ok(UpdateOutcome::Duplicate);
        }
        if let Some(log) = stream.log.as_mut() {
            log.append(&record_update(&update))?;
        }
        stream.received.insert(uuid);
        stream.pending.push_back(update);
        let forward = if stream.pending.len() == 1 && !paused {
            stream.send_head(now, RETRY_INTERVAL_MIN).map(Box::new)
        } else {
            None
        };
        Ok(UpdateOutcome::Accepted { forward })
    }

    /// Handles the master's acknowledgement of `uuid` for a task's stream.
    pub fn acknowledge(
        &mut self,
        framework: &str,
        task: &str,
        uuid: &[u8],
        now: Time,
    ) -> Result<AckOutcome, StatusUpdateError> {
        let key = StreamKey {
            framework: framework.to_string(),
            task: task.to_string(),
        };
        let paused = self.paused;
        let Some(stream) = self.streams.get_mut(&key) else {
            return Err(StatusUpdateError::UnknownStream {
                framework: key.framework,
                task: key.task,
            });
        };
        if stream.acknowledged.contains(uuid) {
            return Ok(AckOutcome::Duplicate);
        }
        let head_uuid = stream.pending.front().and_then(|u| u.uuid.clone());
        if head_uuid.as_deref() != Some(uuid) {
            return Err(StatusUpdateError::UnexpectedAck {
                task: key.task,
                received: uuid_text(uuid),
                expected: head_uuid
                    .as_deref()
                    .map(uuid_text)
                    .unwrap_or_else(|| "none".into()),
            });
        }
        if let Some(log) = stream.log.as_mut() {
            log.append(&record_ack(uuid))?;
        }
        stream.acknowledged.insert(uuid.to_vec());
        stream.deadline = None;
        let acked = stream.pending.pop_front();
        let terminal = acked
            .as_ref()
            .is_some_and(|u| is_terminal_state(u.status.state()));
        if terminal {
            if !stream.pending.is_empty() {
                tracing::warn!(
                    "dropping {} updates queued after the terminal update of task {task}",
                    stream.pending.len()
                );
            }
            self.streams.remove(&key);
            return Ok(AckOutcome::Acknowledged {
                next: None,
                stream_closed: true,
            });
        }
        let next = if paused {
            None
        } else {
            stream.send_head(now, RETRY_INTERVAL_MIN).map(Box::new)
        };
        Ok(AckOutcome::Acknowledged {
            next,
            stream_closed: false,
        })
    }

    /// The earliest time a head must be re-sent, if any is in flight.
    pub fn next_deadline(&self) -> Option<Time> {
        self.streams.values().filter_map(|s| s.deadline).min()
    }

    /// Re-sends every head whose retry time has come, doubling its back-off (at most
    /// 10 min). Call at or after [`Self::next_deadline`].
    pub fn timeouts(&mut self, now: Time) -> Vec<StatusUpdate> {
        if self.paused {
            return Vec::new();
        }
        let mut due: Vec<_> = self
            .streams
            .iter()
            .filter(|(_, s)| s.deadline.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        due.sort();
        let mut out = Vec::new();
        for k in &due {
            if let Some(s) = self.streams.get_mut(k) {
                let backoff = (s.backoff * 2).min(RETRY_INTERVAL_MAX);
                out.extend(s.send_head(now, backoff));
            }
        }
        out
    }

    /// Drops every stream of a framework (it was removed or shut down).
    pub fn cleanup_framework(&mut self, framework: &str) {
        self.streams.retain(|k, _| k.framework != framework);
    }

    /// Drops one task's stream (its executor's run was removed).
    pub fn cleanup_task(&mut self, framework: &str, task: &str) {
        self.streams.remove(&StreamKey {
            framework: framework.into(),
            task: task.into(),
        });
    }

    /// The unacknowledged updates of a task, oldest first.
    pub fn pending(&self, framework: &str, task: &str) -> Vec<StatusUpdate> {
        self.streams
            .get(&StreamKey {
                framework: framework.into(),
                task: task.into(),
            })
            .map(|s| s.pending.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of open streams.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Rebuilds a task's stream from its log (agent restart). A stream whose terminal
    /// update was acknowledged is not kept. An ack that does not match the head (a log
    /// that is not ours) is an error when `strict`, else logged and skipped.
    pub fn recover(
        &mut self,
        framework: &str,
        task: &str,
        path: &Path,
        strict: bool,
    ) -> Result<RecoveredStream, StatusUpdateError> {
        let records = checkpoint::read_records::<StatusUpdateRecord>(path)?;
        let mut stream = Stream::new(None);
        let mut updates = Vec::new();
        let mut terminated = false;
        for record in records.records {
            match (record.r#type(), record.update, record.uuid) {
                (status_update_record::Type::Update, Some(u), _) => {
                    if let Some(uuid) = u.uuid.clone() {
                        if stream.received.insert(uuid) {
                            stream.pending.push_back(u.clone());
                        }
                    }
                    updates.push(u);
                }
                (status_update_record::Type::Ack, _, Some(uuid)) => {
                    let head = stream.pending.front().and_then(|u| u.uuid.as_deref());
                    if head != Some(uuid.as_slice()) {
                        let e = StatusUpdateError::UnexpectedAck {
                            task: task.to_string(),
                            received: uuid_text(&uuid),
                            expected: head.map(uuid_text).unwrap_or_else(|| "none".into()),
                        };
                        if strict {
                            return Err(e);
                        }
                        tracing::warn!(
                            "skipping a record while recovering {}: {e}",
                            path.display()
                        );
                        continue;
                    }
                    if let Some(u) = stream.pending.pop_front() {
                        terminated |= is_terminal_state(u.status.state());
                    }
                    stream.acknowledged.insert(uuid);
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
        if !terminated {
            stream.log = Some(RecordLog::open(path)?);
            self.streams.insert(
                StreamKey {
                    framework: framework.into(),
                    task: task.into(),
                },
                stream,
            );
        }
        Ok(RecoveredStream {
            updates,
            terminated,
            truncated: records.truncated,
        })
    }

    /// Path of the log a stream writes to, if it checkpoints.
    pub fn log_path(&self, framework: &str, task: &str) -> Option<PathBuf> {
        self.streams
            .get(&StreamKey {
                framework: framework.into(),
                task: task.into(),
            })
            .and_then(|s| s.log.as_ref())
            .map(|l| l.path().to_path_buf())
    }
}

#[cfg(test)]
mod tests;

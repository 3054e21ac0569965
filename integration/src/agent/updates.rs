//! Status update streams: one per task, head in flight, retried until acknowledged.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

use libprocess::{Context, TimerId};
use mesos_protos::mesos::internal;
use mesos_protos::v1;

use super::{is_terminal, task_state, Key, SimulatedAgent};

/// The updates of one task not yet acknowledged, oldest first.
#[derive(Debug, Default)]
pub(super) struct Stream {
    pending: VecDeque<internal::StatusUpdate>,
    retry: Option<TimerId>,
    backoff: Duration,
}

impl Stream {
    /// The update in flight.
    pub(super) fn head(&self) -> Option<&internal::StatusUpdate> {
        self.pending.front()
    }

    /// How many updates wait for an acknowledgement.
    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }
}

impl SimulatedAgent {
    /// Queues `status` on its task's stream; sends it at once if the stream was idle.
    pub(super) fn enqueue(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &str,
        executor_id: Option<v1::ExecutorId>,
        status: v1::TaskStatus,
    ) {
        let key = (framework_id.to_owned(), status.task_id.value.clone());
        let update = internal::StatusUpdate {
            framework_id: v1::FrameworkId {
                value: framework_id.to_owned(),
            },
            executor_id,
            slave_id: self.id.clone().map(|value| v1::AgentId { value }),
            timestamp: status.timestamp.unwrap_or_default(),
            uuid: status.uuid.clone(),
            status,
            latest_state: None,
        };
        let stream = self.streams.entry(key.clone()).or_default();
        stream.pending.push_back(update);
        if stream.pending.len() == 1 {
            stream.backoff = self.config.update_retry.unwrap_or_default();
            self.send_head(ctx, &key);
        }
    }

    /// Sends the head of `key`'s stream (with the newest state as `latest_state`) and arms
    /// its retry. Streams wait while the agent is not registered.
    fn send_head(&mut self, ctx: &mut Context<Self>, key: &Key) {
        if !self.registered {
            return;
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        let agent_id = self.id.clone();
        let retry = self.config.update_retry;
        let Some(stream) = self.streams.get_mut(key) else {
            return;
        };
        let Some(head) = stream.pending.front() else {
            return;
        };
        let mut update = head.clone();
        if update.slave_id.is_none() {
            update.slave_id = agent_id.map(|value| v1::AgentId { value });
        }
        if stream.pending.len() > 1 {
            update.latest_state = stream.pending.back().map(|u| u.status.state);
        }
        let uuid = update.uuid.clone();
        ctx.send(
            &master,
            internal::StatusUpdateMessage {
                update,
                pid: Some(ctx.self_pid().as_str().to_owned()),
            },
        );
        self.shared.updates_sent.fetch_add(1, Ordering::Relaxed);
        if let Some(first) = retry {
            if let Some(t) = stream.retry.take() {
                ctx.cancel_timer(t);
            }
            if stream.backoff.is_zero() {
                stream.backoff = first;
            }
            let wait = stream.backoff;
            stream.backoff = (wait * 2).min(self.config.update_retry_max);
            let key = key.clone();
            stream.retry = Some(ctx.delay(wait, move |a: &mut SimulatedAgent, ctx| {
                let due = a.streams.get_mut(&key).is_some_and(|s| {
                    s.retry = None;
                    s.head().map(|h| &h.uuid) == Some(&uuid)
                });
                if due {
                    a.send_head(ctx, &key);
                }
            }));
        }
    }

    /// After (re-)registration: every stream sends its head again, back-off reset.
    pub(super) fn resume_streams(&mut self, ctx: &mut Context<Self>) {
        let mut keys: Vec<Key> = self
            .streams
            .iter()
            .filter(|(_, s)| !s.pending.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        let first = self.config.update_retry.unwrap_or_default();
        for key in keys {
            if let Some(s) = self.streams.get_mut(&key) {
                if let Some(t) = s.retry.take() {
                    ctx.cancel_timer(t);
                }
                s.backoff = first;
            }
            self.send_head(ctx, &key);
        }
    }

    /// An acknowledgement: pops the head if it matches, then sends the next update; a
    /// terminal task whose stream is drained is forgotten.
    pub(super) fn acknowledged(
        &mut self,
        ctx: &mut Context<Self>,
        m: internal::StatusUpdateAcknowledgementMessage,
    ) {
        let key = (m.framework_id.value, m.task_id.value);
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if stream.head().and_then(|h| h.uuid.as_deref()) != Some(m.uuid.as_slice()) {
            // A duplicate or stale acknowledgement.
            return;
        }
        self.shared.acks.fetch_add(1, Ordering::Relaxed);
        stream.pending.pop_front();
        if let Some(t) = stream.retry.take() {
            ctx.cancel_timer(t);
        }
        if !stream.pending.is_empty() {
            stream.backoff = self.config.update_retry.unwrap_or_default();
            self.send_head(ctx, &key);
            return;
        }
        self.streams.remove(&key);
        let done = self
            .tasks
            .get(&key)
            .is_some_and(|e| is_terminal(task_state(e.task.state)));
        if done {
            self.tasks.remove(&key);
        }
    }
}

//! `POST /slave(1)/api/v1/executor` (also `/api/v1/executor` through the delegate): the
//! v1 executor API (reference §4).
//!
//! Checks, in order: method (405), `Content-Type` (400 missing / 415 other), body (400),
//! call type (400 / 501), agent registered (503), framework and executor known (400);
//! then SUBSCRIBE (`Accept`, 406) opens a RecordIO event stream starting with
//! SUBSCRIBED and a LAUNCH per queued task; UPDATE goes through the status update manager
//! (checkpointed first) and is ACKNOWLEDGED on the executor's stream; MESSAGE goes to the
//! master for the scheduler; HEARTBEAT is accepted.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures::channel::mpsc;
use futures::Stream;
use libprocess::{Context, Request, Response};
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::executor::{call, event, Call, Event};

use super::model::ExecutorState;
use super::Slave;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";
/// Largest call body accepted.
const MAX_CALL_BYTES: usize = 4 << 20;

fn text(status: u16, message: impl Into<String>) -> Response {
    Response::status(status)
        .with_body(message.into())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

/// Tells subscriptions apart (an executor that subscribes again replaces its stream).
static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);

/// The agent's end of one executor's subscription.
#[derive(Debug, Clone)]
pub struct EventSender {
    tx: mpsc::UnboundedSender<Bytes>,
    protobuf: bool,
    id: u64,
}

impl EventSender {
    fn new(tx: mpsc::UnboundedSender<Bytes>, protobuf: bool) -> EventSender {
        EventSender {
            tx,
            protobuf,
            id: NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Sends one event as a RecordIO record; false if the executor has gone away.
    pub fn send(&self, event: &Event) -> bool {
        let body = if self.protobuf {
            prost::Message::encode_to_vec(event)
        } else {
            mesos_protos::json::to_vec(event)
        };
        self.tx
            .unbounded_send(Bytes::from(mesos_protos::recordio::encode(&body)))
            .is_ok()
    }
}

/// The streaming body; dropping it (client gone) tells the agent.
struct EventBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl Stream for EventBody {
    type Item = Bytes;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Bytes>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

impl Drop for EventBody {
    fn drop(&mut self) {
        if let Some(f) = self.on_close.take() {
            f();
        }
    }
}

/// `Some(true)` protobuf, `Some(false)` JSON, `None` neither acceptable.
fn negotiate_accept(accept: Option<&str>) -> Option<bool> {
    let Some(accept) = accept else {
        return Some(false);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types
        .iter()
        .any(|t| *t == JSON || *t == "*/*" || *t == "application/*")
    {
        Some(false)
    } else if types.contains(&PROTOBUF) {
        Some(true)
    } else {
        None
    }
}

fn event(kind: event::Type) -> Event {
    Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

impl Slave {
    pub(super) fn executor_http(&mut self, ctx: &mut Context<Self>, req: Request) -> Response {
        if req.method != "POST" {
            return text(405, format!("Expecting 'POST', received '{}'", req.method));
        }
        let protobuf_in = match req.header("Content-Type") {
            None => return text(400, "Expecting 'Content-Type' to be present"),
            Some(JSON) => false,
            Some(PROTOBUF) => true,
            Some(other) => {
                return text(
                    415,
                    format!("Expecting 'Content-Type' of {JSON} or {PROTOBUF}, got '{other}'"),
                )
            }
        };
        if req.body.len() > MAX_CALL_BYTES {
            return text(413, "Request body too large");
        }
        let decoded = if protobuf_in {
            <Call as prost::Message>::decode(req.body.as_ref()).map_err(|e| e.to_string())
        } else {
            mesos_protos::json::from_slice::<Call>(&req.body).map_err(|e| e.to_string())
        };
        let call = match decoded {
            Ok(c) => c,
            Err(e) => return text(400, format!("Failed to parse body into Call: {e}")),
        };
        let Some(kind) = call.r#type else {
            return text(400, "Expecting 'type' to be present");
        };
        let kind = call::Type::try_from(kind).unwrap_or(call::Type::Unknown);
        if kind == call::Type::Unknown {
            return text(501, "Received an unknown call type");
        }
        if self.agent_id().is_none() {
            return text(503, "Agent has not registered yet");
        }
        let fid = call.framework_id.value.clone();
        let eid = call.executor_id.value.clone();
        let Some(fw) = self.frameworks.get(&fid) else {
            return text(400, format!("Framework {fid} cannot be found"));
        };
        let Some(exec) = fw.executors.get(&eid) else {
            return text(
                400,
                format!("Executor {eid} of framework {fid} cannot be found"),
            );
        };
        let subscribed = exec.events.is_some();
        match kind {
            call::Type::Subscribe => self.subscribe(ctx, &req, call),
            call::Type::Update if !subscribed => text(403, "Executor is not subscribed"),
            call::Type::Update => match call.update {
                Some(update) => self.executor_update(ctx, &fid, &eid, update),
                None => text(400, "Expecting 'update' to be present"),
            },
            call::Type::Message if !subscribed => text(403, "Executor is not subscribed"),
            call::Type::Message => match call.message {
                Some(m) => {
                    if let Some(agent) = self.info.id.clone() {
                        self.http.counters.valid_framework_messages += 1;
                        ctx.send(
                            &self.master,
                            internal::ExecutorToFrameworkMessage {
                                slave_id: agent,
                                framework_id: call.framework_id,
                                executor_id: call.executor_id,
                                data: m.data,
                            },
                        );
                    } else {
                        self.http.counters.invalid_framework_messages += 1;
                    }
                    Response::status(202)
                }
                None => text(400, "Expecting 'message' to be present"),
            },
            _ => Response::status(202),
        }
    }

    fn subscribe(&mut self, ctx: &mut Context<Self>, req: &Request, call: Call) -> Response {
        let Some(protobuf) = negotiate_accept(req.header("Accept")) else {
            return text(
                406,
                format!("Expecting 'Accept' to allow {JSON} or {PROTOBUF}"),
            );
        };
        let fid = call.framework_id.value.clone();
        let eid = call.executor_id.value.clone();
        let (tx, rx) = mpsc::unbounded();
        let sender = EventSender::new(tx, protobuf);
        let content_type = if protobuf { PROTOBUF } else { JSON };
        let Some(framework_info) = self.frameworks.get(&fid).map(|f| f.info.clone()) else {
            return text(400, format!("Framework {fid} cannot be found"));
        };
        let partition_aware = framework_info
            .capabilities
            .iter()
            .any(|c| c.r#type == Some(v1::framework_info::capability::Type::PartitionAware as i32));
        let agent_info = self.info.clone();
        let Some(exec) = self
            .frameworks
            .get_mut(&fid)
            .and_then(|f| f.executors.get_mut(&eid))
        else {
            return text(
                400,
                format!("Executor {eid} of framework {fid} cannot be found"),
            );
        };
        if exec.state == ExecutorState::Terminating {
            // As Mesos: the only event a terminating executor gets is SHUTDOWN, then the
            // stream ends.
            sender.send(&event(event::Type::Shutdown));
            drop(sender);
            let body = EventBody { rx, on_close: None };
            return Response::stream(body).with_header("Content-Type", content_type);
        }
        let recovering = exec.state == ExecutorState::Registering;
        let container = exec.container_id.clone();
        let executor_id = exec.info.executor_id.clone();
        let mut subscribed = event(event::Type::Subscribed);
        subscribed.subscribed = Some(event::Subscribed {
            executor_info: exec.info.clone(),
            framework_info,
            agent_info,
            container_id: Some(v1::ContainerId {
                value: container.clone(),
                ..Default::default()
            }),
        });
        sender.send(&subscribed);
        let subscribe = call.subscribe.unwrap_or_default();
        // Tasks the executor has, or gets now: the others still staging never reached it.
        let mut delivered: HashSet<String> = subscribe
            .unacknowledged_tasks
            .iter()
            .map(|t| t.task_id.value.clone())
            .collect();
        let known = delivered.clone();
        delivered.extend(exec.queued.iter().map(|t| t.task_id.value.clone()));
        super::launch::deliver_queued(exec, &sender, &known);
        exec.state = ExecutorState::Running;
        // Replacing the sender ends an earlier stream of this executor, if any.
        let subscription = sender.id;
        exec.events = Some(sender);
        // Updates the executor could not get acknowledged before a reconnect; some may be
        // checkpointed already (the manager drops duplicates but acknowledges them).
        for update in subscribe.unacknowledged_updates {
            self.executor_update(ctx, &fid, &eid, update);
        }
        let lost: Vec<v1::TaskId> = self
            .frameworks
            .get(&fid)
            .and_then(|f| f.executors.get(&eid))
            .map(|e| {
                e.tasks
                    .values()
                    .filter(|t| {
                        t.state() == v1::TaskState::TaskStaging
                            && !delivered.contains(&t.task_id.value)
                    })
                    .map(|t| t.task_id.clone())
                    .collect()
            })
            .unwrap_or_default();
        let state = if partition_aware {
            v1::TaskState::TaskDropped
        } else {
            v1::TaskState::TaskLost
        };
        for task in lost {
            tracing::info!("task {} never reached executor {eid}", task.value);
            self.agent_status_update(
                ctx,
                &fid,
                &executor_id,
                &task,
                state,
                v1::task_status::Reason::AgentRestarted,
                "Task launched during agent restart",
            );
        }
        if recovering {
            self.recovered_executor_gone(ctx);
        }
        let pid = ctx.pid();
        let (f, e, c) = (fid, eid, container);
        let body = EventBody {
            rx,
            on_close: Some(Box::new(move || {
                pid.dispatch_and_forget(move |s, _| {
                    s.executor_disconnected(&f, &e, &c, subscription)
                });
            })),
        };
        Response::stream(body).with_header("Content-Type", content_type)
    }

    /// The stream `subscription` ended; forgotten unless a newer one replaced it.
    fn executor_disconnected(&mut self, fid: &str, eid: &str, container: &str, subscription: u64) {
        if let Some(exec) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.executors.get_mut(eid))
            .filter(|e| e.container_id == container)
            .filter(|e| e.events.as_ref().is_some_and(|s| s.id == subscription))
        {
            tracing::info!("executor {eid} of framework {fid} closed its subscription");
            exec.events = None;
        }
    }

    fn executor_update(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        eid: &str,
        update: call::Update,
    ) -> Response {
        let mut status = update.status;
        let Some(uuid) = status.uuid.clone().filter(|u| u.len() == 16) else {
            return text(400, "Expecting 'uuid' to be a valid UUID");
        };
        if status.state() == v1::TaskState::TaskStaging {
            return text(400, "Received TASK_STAGING from executor");
        }
        if status.executor_id.as_ref().is_some_and(|e| e.value != eid) {
            return text(400, "'status.executor_id' does not match the executor");
        }
        let executor_id = v1::ExecutorId {
            value: eid.to_string(),
        };
        status.executor_id = Some(executor_id.clone());
        status.agent_id = self.info.id.clone();
        if status.source.is_none() {
            status.source = Some(v1::task_status::Source::Executor as i32);
        }
        let now = ctx.clock().now();
        if status.timestamp.is_none() {
            status.timestamp = Some(now.as_secs_f64());
        }
        let task_id = status.task_id.clone();
        let message = internal::StatusUpdate {
            framework_id: v1::FrameworkId {
                value: fid.to_string(),
            },
            executor_id: Some(executor_id),
            slave_id: self.info.id.clone(),
            status,
            timestamp: now.as_secs_f64(),
            uuid: Some(uuid.clone()),
            latest_state: None,
        };
        let log = self.update_log(fid, &task_id.value);
        if let Err(e) = self.status_update(ctx, message, log.as_deref()) {
            tracing::warn!("rejected an update from executor {eid}: {e}");
            return text(400, e.to_string());
        }
        // Durable (if checkpointing) and queued: the executor may forget it.
        if let Some(events) = self
            .frameworks
            .get(fid)
            .and_then(|f| f.executors.get(eid))
            .and_then(|e| e.events.as_ref())
        {
            let mut ack = event(event::Type::Acknowledged);
            ack.acknowledged = Some(event::Acknowledged { task_id, uuid });
            events.send(&ack);
        }
        Response::status(202)
    }

    /// Delivers KILL for a task its executor already has; false if it has no stream.
    pub(super) fn send_kill(
        &self,
        fid: &str,
        tid: &str,
        kill_policy: Option<v1::KillPolicy>,
    ) -> bool {
        let Some(exec) = self
            .frameworks
            .get(fid)
            .and_then(|f| f.executors.values().find(|e| e.tasks.contains_key(tid)))
        else {
            return false;
        };
        let Some(events) = &exec.events else {
            return false;
        };
        let mut kill = event(event::Type::Kill);
        kill.kill = Some(event::Kill {
            task_id: v1::TaskId {
                value: tid.to_string(),
            },
            kill_policy,
        });
        events.send(&kill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate_accept(None), Some(false));
        assert_eq!(negotiate_accept(Some("application/json")), Some(false));
        assert_eq!(negotiate_accept(Some("*/*")), Some(false));
        assert_eq!(negotiate_accept(Some(PROTOBUF)), Some(true));
        assert_eq!(negotiate_accept(Some("text/html")), None);
    }
}

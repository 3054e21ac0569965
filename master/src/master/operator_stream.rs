//! The operator event stream (`POST /api/v1` SUBSCRIBE): SUBSCRIBED with the full state,
//! then TASK_ADDED/UPDATED, AGENT_ADDED/REMOVED, FRAMEWORK_ADDED/UPDATED/REMOVED and
//! HEARTBEATs.

use libprocess::{Context, Response};
use mesos_protos::v1;
use mesos_protos::v1::master::{event, Event};

use super::frameworks::HEARTBEAT_INTERVAL;
use super::stream::EventStream;
use super::Master;
use crate::operator;

fn event(t: event::Type) -> Event {
    Event {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

impl Master {
    /// Opens an operator subscription (503 beyond `--max_operator_event_stream_subscribers`).
    pub(super) fn operator_subscribe(
        &mut self,
        ctx: &mut Context<Self>,
        protobuf: bool,
    ) -> Response {
        if self.operator_streams.len() >= self.flags.max_operator_event_stream_subscribers {
            return Response::status(503).with_body("Maximum number of subscribers reached");
        }
        let stream_id = uuid::Uuid::new_v4().to_string();
        let pid = ctx.pid();
        let id = stream_id.clone();
        let (stream, body) = EventStream::new(stream_id.clone(), protobuf, move || {
            pid.dispatch_and_forget(move |m: &mut Master, _ctx| {
                m.operator_streams.remove(&id);
            });
        });
        let mut e = event(event::Type::Subscribed);
        e.subscribed = Some(event::Subscribed {
            get_state: Some(operator::get_state(&self.state)),
            heartbeat_interval_seconds: Some(HEARTBEAT_INTERVAL.as_secs_f64()),
        });
        stream.send(&e);
        self.operator_streams.insert(stream_id.clone(), stream);
        self.schedule_operator_heartbeat(ctx, stream_id);
        let ct = if protobuf {
            "application/x-protobuf"
        } else {
            "application/json"
        };
        Response::stream(body).with_header("Content-Type", ct)
    }

    fn schedule_operator_heartbeat(&mut self, ctx: &mut Context<Self>, stream_id: String) {
        ctx.delay(HEARTBEAT_INTERVAL, move |m: &mut Master, ctx| {
            let alive = match m.operator_streams.get(&stream_id) {
                Some(s) => s.send(&event(event::Type::Heartbeat)),
                None => false,
            };
            if alive {
                m.schedule_operator_heartbeat(ctx, stream_id);
            } else {
                m.operator_streams.remove(&stream_id);
            }
        });
    }

    fn broadcast(&mut self, e: &Event) {
        self.operator_streams.retain(|_, s| s.send(e));
    }

    pub(super) fn operator_task_added(&mut self, fid: &str, tid: &str) {
        if self.operator_streams.is_empty() {
            return;
        }
        let Some(task) = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(tid))
        else {
            return;
        };
        let mut e = event(event::Type::TaskAdded);
        e.task_added = Some(event::TaskAdded { task: task.clone() });
        self.broadcast(&e);
    }

    pub(super) fn operator_task_updated(&mut self, fid: &str, status: &v1::TaskStatus, state: i32) {
        if self.operator_streams.is_empty() {
            return;
        }
        let mut e = event(event::Type::TaskUpdated);
        e.task_updated = Some(event::TaskUpdated {
            framework_id: v1::FrameworkId {
                value: fid.to_owned(),
            },
            status: status.clone(),
            state,
        });
        self.broadcast(&e);
    }

    pub(super) fn operator_agent_added(&mut self, agent_id: &str) {
        if self.operator_streams.is_empty() {
            return;
        }
        let Some(agent) = self.state.agents.registered.get(agent_id) else {
            return;
        };
        let mut e = event(event::Type::AgentAdded);
        e.agent_added = Some(event::AgentAdded {
            agent: operator::agent_entry(agent),
        });
        self.broadcast(&e);
    }

    pub(super) fn operator_agent_removed(&mut self, agent_id: &str) {
        if self.operator_streams.is_empty() {
            return;
        }
        let mut e = event(event::Type::AgentRemoved);
        e.agent_removed = Some(event::AgentRemoved {
            agent_id: v1::AgentId {
                value: agent_id.to_owned(),
            },
        });
        self.broadcast(&e);
    }

    pub(super) fn operator_framework_added(&mut self, fid: &str, updated: bool) {
        if self.operator_streams.is_empty() {
            return;
        }
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        let entry = operator::framework_entry(&self.state, fw, false);
        let e = if updated {
            let mut e = event(event::Type::FrameworkUpdated);
            e.framework_updated = Some(event::FrameworkUpdated { framework: entry });
            e
        } else {
            let mut e = event(event::Type::FrameworkAdded);
            e.framework_added = Some(event::FrameworkAdded { framework: entry });
            e
        };
        self.broadcast(&e);
    }

    pub(super) fn operator_framework_removed(&mut self, info: v1::FrameworkInfo) {
        if self.operator_streams.is_empty() {
            return;
        }
        let mut e = event(event::Type::FrameworkRemoved);
        e.framework_removed = Some(event::FrameworkRemoved {
            framework_info: info,
        });
        self.broadcast(&e);
    }
}

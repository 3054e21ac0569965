//! Frameworks: SUBSCRIBE, event streams and heartbeats, disconnection and the failover
//! timeout, removal.

use std::time::Duration;

use libprocess::{Context, Response};
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::scheduler::{call, event, Event};

use super::stream::EventStream;
use super::Master;
use crate::allocator::FrameworkConfig;
use crate::state::{framework::framework_roles, Connection, OfferEntry};

/// Mesos's fixed scheduler heartbeat interval.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

fn event(t: event::Type) -> Event {
    Event {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

/// The FrameworkInfo rules checked on SUBSCRIBE (the error goes to the scheduler as an
/// ERROR event).
#[allow(deprecated)]
pub fn validate_framework_info(
    info: &v1::FrameworkInfo,
    suppressed_roles: &[String],
    whitelist: Option<&[String]>,
) -> Result<(), String> {
    use v1::framework_info::capability::Type;
    let multi_role = crate::state::framework::has_capability(info, Type::MultiRole);
    if multi_role && info.role.is_some() {
        return Err(
            "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable".into(),
        );
    }
    if !multi_role && !info.roles.is_empty() {
        return Err(
            "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
                .into(),
        );
    }
    let roles = framework_roles(info);
    let mut seen = std::collections::HashSet::new();
    for role in &roles {
        mesos_protos::resources::validation::validate_role(role).map_err(|e| {
            format!(
                "'FrameworkInfo.roles' contains invalid role: {}",
                e.message()
            )
        })?;
        if !seen.insert(role) {
            return Err(format!(
                "'FrameworkInfo.roles' contains duplicate items: {role}"
            ));
        }
        if let Some(list) = whitelist {
            if role != "*" && !list.contains(role) {
                return Err(format!(
                    "Role '{role}' is not present in the master's --roles"
                ));
            }
        }
    }
    for role in suppressed_roles {
        if !roles.contains(role) {
            return Err(format!(
                "Suppressed role '{role}' is not contained in the list of roles"
            ));
        }
    }
    if let Some(t) = info.failover_timeout {
        if !t.is_finite() || t < 0.0 {
            return Err(format!("'FrameworkInfo.failover_timeout' is invalid: {t}"));
        }
    }
    if let Some(id) = &info.id {
        mesos_protos::validation::validate_id(&id.value)
            .map_err(|e| format!("'FrameworkInfo.id' is invalid: {}", e.0))?;
    }
    Ok(())
}

impl Master {
    /// Handles SUBSCRIBE: returns the streaming response (or an ERROR-then-close one).
    pub(super) fn subscribe(
        &mut self,
        ctx: &mut Context<Self>,
        subscribe: call::Subscribe,
        protobuf: bool,
    ) -> Response {
        let mut info = subscribe.framework_info;
        let suppressed = subscribe.suppressed_roles;
        let content_type = if protobuf {
            "application/x-protobuf"
        } else {
            "application/json"
        };
        let stream_id = uuid::Uuid::new_v4().to_string();
        let requested_id = info.id.clone().map(|i| i.value).filter(|v| !v.is_empty());
        let check = validate_framework_info(&info, &suppressed, self.flags.roles.as_deref())
            .and_then(|()| match &requested_id {
                Some(id) if self.state.completed_frameworks.iter().any(|f| &f.id == id) => {
                    Err("Framework has been removed".to_owned())
                }
                _ => Ok(()),
            });
        if let Err(message) = check {
            let (stream, body) = EventStream::new(stream_id.clone(), protobuf, || {});
            let mut e = event(event::Type::Error);
            e.error = Some(event::Error { message });
            stream.send(&e);
            drop(stream);
            return Response::stream(body)
                .with_header("Content-Type", content_type)
                .with_header("Mesos-Stream-Id", stream_id);
        }

        let now = Master::now(ctx);
        let resubscribed = requested_id
            .as_ref()
            .is_some_and(|id| self.state.frameworks.contains_key(id));
        let fid = match requested_id {
            Some(id) if self.state.frameworks.contains_key(&id) => {
                self.resubscribe(ctx, &id, info, &suppressed, now);
                id
            }
            other => {
                if let Some(id) = other {
                    info.id = Some(v1::FrameworkId { value: id });
                }
                let fid = self.state.add_framework(
                    info.clone(),
                    Connection::Http {
                        stream_id: stream_id.clone(),
                    },
                    now,
                );
                let config = FrameworkConfig::from_info(&info, &suppressed);
                if let Err(e) = self.allocator.add_framework(&fid, &config, &[], true) {
                    tracing::warn!(framework = %fid, error = %e, "allocator refused the framework");
                }
                fid
            }
        };
        if let Some(fw) = self.state.frameworks.get_mut(&fid) {
            fw.connection = Connection::Http {
                stream_id: stream_id.clone(),
            };
            fw.active = true;
            fw.suppressed_roles = suppressed.iter().cloned().collect();
        }
        *self.failover_epochs.entry(fid.clone()).or_default() += 1;
        self.operator_framework_added(&fid, resubscribed);

        let pid = ctx.pid();
        let (f2, s2) = (fid.clone(), stream_id.clone());
        let (stream, body) = EventStream::new(stream_id.clone(), protobuf, move || {
            pid.dispatch_and_forget(move |m: &mut Master, ctx| m.stream_closed(ctx, &f2, &s2));
        });
        let mut e = event(event::Type::Subscribed);
        e.subscribed = Some(event::Subscribed {
            framework_id: v1::FrameworkId { value: fid.clone() },
            heartbeat_interval_seconds: Some(HEARTBEAT_INTERVAL.as_secs_f64()),
            master_info: Some(self.state.info.clone()),
        });
        stream.send(&e);
        if let Some(old) = self.streams.insert(fid.clone(), stream) {
            let mut err = event(event::Type::Error);
            err.error = Some(event::Error {
                message: "Framework failed over".into(),
            });
            old.send(&err);
        }
        self.schedule_heartbeat(ctx, fid, stream_id.clone());
        Response::stream(body)
            .with_header("Content-Type", content_type)
            .with_header("Mesos-Stream-Id", stream_id)
    }

    fn resubscribe(
        &mut self,
        ctx: &mut Context<Self>,
        fid: &str,
        mut info: v1::FrameworkInfo,
        suppressed: &[String],
        now: f64,
    ) {
        let Some(fw) = self.state.frameworks.get_mut(fid) else {
            return;
        };
        // Mesos silently keeps the original user and checkpoint on re-subscription.
        info.user = fw.info.user.clone();
        info.checkpoint = fw.info.checkpoint;
        info.id = Some(v1::FrameworkId {
            value: fid.to_owned(),
        });
        let was_recovered = matches!(fw.connection, Connection::Recovered);
        fw.info = info.clone();
        fw.reregistered_time = Some(now);
        fw.unregistered_time = None;
        let config = FrameworkConfig::from_info(&info, suppressed);
        let _ = self.allocator.update_framework(fid, &config);
        let _ = self.allocator.activate_framework(fid);
        if was_recovered {
            for aid in self.framework_agents(fid) {
                if let Some(pid) = self.agent_links.get(&aid).map(|l| l.pid.clone()) {
                    ctx.send(
                        &pid,
                        internal::UpdateFrameworkMessage {
                            framework_id: v1::FrameworkId {
                                value: fid.to_owned(),
                            },
                            pid: None,
                            framework_info: Some(info.clone()),
                        },
                    );
                }
            }
        }
    }

    fn framework_agents(&self, fid: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .state
            .agents
            .registered
            .values()
            .filter(|a| a.tasks.contains_key(fid) || a.executors.contains_key(fid))
            .map(|a| a.id.clone())
            .collect();
        v.sort();
        v
    }

    fn schedule_heartbeat(&mut self, ctx: &mut Context<Self>, fid: String, stream_id: String) {
        ctx.delay(HEARTBEAT_INTERVAL, move |m: &mut Master, ctx| {
            let current = m
                .streams
                .get(&fid)
                .is_some_and(|s| s.stream_id == stream_id);
            if current {
                m.send_event(&fid, &event(event::Type::Heartbeat));
                m.schedule_heartbeat(ctx, fid, stream_id);
            }
        });
    }

    /// Sends an event to a framework's stream (dropped if it has none).
    pub(super) fn send_event(&mut self, fid: &str, e: &Event) {
        if let Some(s) = self.streams.get(fid) {
            if !s.send(e) {
                self.counters.dropped_messages += 1;
            }
        }
    }

    /// Forwards a status update to its framework as an UPDATE event.
    pub(super) fn forward_update(
        &mut self,
        _ctx: &mut Context<Self>,
        update: &internal::StatusUpdate,
    ) {
        let mut status = update.status.clone();
        if status.uuid.is_none() {
            status.uuid.clone_from(&update.uuid);
        }
        if status.agent_id.is_none() {
            status.agent_id.clone_from(&update.slave_id);
        }
        let mut e = event(event::Type::Update);
        e.update = Some(event::Update { status });
        self.send_event(&update.framework_id.value, &e);
    }

    /// Removes an outstanding offer, returns its resources and tells the framework.
    pub(super) fn rescind_offer(&mut self, offer_id: &str) {
        if let Ok(entry) = self.state.remove_offer(offer_id) {
            self.rescind_offer_event(&entry);
        }
    }

    /// For an offer already removed from the model: give its resources back to the
    /// allocator and send RESCIND.
    pub(super) fn rescind_offer_event(&mut self, entry: &OfferEntry) {
        let oid = entry.offer.id.value.clone();
        // A pending timeout finds the offer gone and does nothing.
        self.offer_timers.remove(&oid);
        let fid = entry.offer.framework_id.value.clone();
        // Without a refusal filter the allocator does not look at the time.
        let _ = self.allocator.recover_resources(
            &fid,
            &entry.offer.agent_id.value,
            &entry.resources,
            None,
            Duration::ZERO,
        );
        let mut e = event(event::Type::Rescind);
        e.rescind = Some(event::Rescind {
            offer_id: entry.offer.id.clone(),
        });
        self.send_event(&fid, &e);
    }

    /// The subscription's body was dropped: if it is still the current one, the
    /// framework is disconnected and its failover timer starts.
    pub(super) fn stream_closed(&mut self, ctx: &mut Context<Self>, fid: &str, stream_id: &str) {
        let current = self.state.frameworks.get(fid).is_some_and(|f| {
            f.connection
                == Connection::Http {
                    stream_id: stream_id.to_owned(),
                }
        });
        if !current {
            return;
        }
        self.streams.remove(fid);
        let now = Master::now(ctx);
        if let Ok(offers) = self.state.disconnect_framework(fid, now) {
            for o in &offers {
                let _ = self.allocator.recover_resources(
                    fid,
                    &o.offer.agent_id.value,
                    &o.resources,
                    None,
                    Master::now_duration(ctx),
                );
            }
        }
        let _ = self.allocator.deactivate_framework(fid);
        let epoch = {
            let e = self.failover_epochs.entry(fid.to_owned()).or_default();
            *e += 1;
            *e
        };
        let timeout = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.info.failover_timeout)
            .unwrap_or(0.0);
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        let fid = fid.to_owned();
        ctx.delay(timeout, move |m: &mut Master, ctx| {
            let still = m.failover_epochs.get(&fid) == Some(&epoch)
                && m.state
                    .frameworks
                    .get(&fid)
                    .is_some_and(|f| f.connection == Connection::Disconnected);
            if still {
                m.remove_framework(ctx, &fid);
            }
        });
    }

    /// Removes a framework: kills its tasks (agents are told to shut it down), returns
    /// its resources, closes its stream and moves it to the completed frameworks.
    pub(super) fn remove_framework(&mut self, ctx: &mut Context<Self>, fid: &str) {
        let now = Master::now(ctx);
        let info = self.state.frameworks.get(fid).map(|f| f.info.clone());
        let Ok(removed) = self.state.remove_framework(fid, now) else {
            return;
        };
        if let Some(info) = info {
            self.operator_framework_removed(info);
        }
        for u in &removed.updates {
            self.counters
                .task_entered(crate::status::task_state(u.status.state));
        }
        for aid in &removed.agents {
            if let Some(pid) = self.agent_links.get(aid).map(|l| l.pid.clone()) {
                ctx.send(
                    &pid,
                    internal::ShutdownFrameworkMessage {
                        framework_id: v1::FrameworkId {
                            value: fid.to_owned(),
                        },
                    },
                );
            }
        }
        for o in &removed.offers {
            self.offer_timers.remove(&o.offer.id.value);
        }
        let _ = self.allocator.remove_framework(fid);
        self.streams.remove(fid);
        self.failover_epochs.remove(fid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn framework_info_rules() {
        let ok = framework_info("fw", &[]);
        assert!(validate_framework_info(&ok, &[], None).is_ok());
        let mut multi = framework_info("fw", &[MULTI_ROLE]);
        multi.roles = vec!["a".into(), "b".into()];
        assert!(validate_framework_info(&multi, &["a".into()], None).is_ok());
        assert!(validate_framework_info(&multi, &["c".into()], None)
            .unwrap_err()
            .contains("Suppressed role 'c'"));
        #[allow(deprecated)]
        {
            let mut both = multi.clone();
            both.role = Some("a".into());
            assert!(validate_framework_info(&both, &[], None).is_err());
        }
        let mut plain_roles = framework_info("fw", &[]);
        plain_roles.roles = vec!["a".into()];
        assert!(validate_framework_info(&plain_roles, &[], None).is_err());
        let mut dup = multi.clone();
        dup.roles = vec!["a".into(), "a".into()];
        assert!(validate_framework_info(&dup, &[], None)
            .unwrap_err()
            .contains("duplicate"));
        let mut bad_role = multi.clone();
        bad_role.roles = vec!["a/..".into()];
        assert!(validate_framework_info(&bad_role, &[], None).is_err());
        assert!(
            validate_framework_info(&multi, &[], Some(&["a".to_owned()]))
                .unwrap_err()
                .contains("'b'")
        );
        let mut neg = ok.clone();
        neg.failover_timeout = Some(-1.0);
        assert!(validate_framework_info(&neg, &[], None).is_err());
    }
}

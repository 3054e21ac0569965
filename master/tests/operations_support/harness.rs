//! The fake agent and helpers of `tests/operations.rs`: an agent that speaks the internal
//! operation messages (applies operations with the master's algebra, answers with
//! retriable status updates, reports capabilities, checkpointed resources and operations),
//! a subscribed framework in role `web`, and resource builders.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cluster::*;
use libprocess::{Clock, Context, Handlers, Network, Process, Runtime, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use mesos_protos::v1;
use serde_json::{json, Value};
pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What the fake agent knows and saw; shared with the test.
#[derive(Default, Debug)]
pub struct AgentLog {
    pub id: Option<String>,
    pub total: Resources,
    pub applied: Vec<internal::ApplyOperationMessage>,
    pub acks: Vec<internal::AcknowledgeOperationStatusMessage>,
    /// Status updates sent and not yet acknowledged.
    pub unacked: Vec<internal::UpdateOperationStatusMessage>,
    /// Operations finished here, reported on re-registration.
    pub operations: Vec<v1::Operation>,
    /// Report no capabilities (an agent without RESOURCE_PROVIDER).
    pub legacy: bool,
    /// CheckpointResourcesMessages received.
    pub checkpoints: Vec<Vec<v1::Resource>>,
    /// Lose every ApplyOperationMessage (as if it never arrived).
    pub lose_operations: bool,
    /// Refuse every operation with OPERATION_FAILED (as the real agent does for a
    /// DESTROY of a volume a task uses).
    pub fail_operations: bool,
    /// ReconcileOperationsMessages received.
    pub reconciles: Vec<internal::ReconcileOperationsMessage>,
}

pub struct OpsAgent {
    pub master: Upid,
    pub info: v1::AgentInfo,
    pub reregister_as: Option<String>,
    pub log: Arc<Mutex<AgentLog>>,
}

pub fn capabilities() -> Vec<v1::agent_info::Capability> {
    use v1::agent_info::capability::Type;
    [
        Type::MultiRole,
        Type::HierarchicalRole,
        Type::ReservationRefinement,
        Type::ResourceProvider,
        Type::ResizeVolume,
        Type::AgentOperationFeedback,
    ]
    .into_iter()
    .map(|t| v1::agent_info::Capability {
        r#type: Some(t as i32),
    })
    .collect()
}

impl OpsAgent {
    pub fn checkpointed(&self) -> Vec<v1::Resource> {
        let log = self.log.lock().unwrap();
        log.total
            .filter(|r| r.is_dynamically_reserved() || r.is_persistent_volume())
            .to_vec()
    }

    pub fn send_update_slave(&self, ctx: &mut Context<Self>) {
        let log = self.log.lock().unwrap();
        let Some(id) = log.id.clone() else { return };
        ctx.send(
            &self.master,
            internal::UpdateSlaveMessage {
                slave_id: v1::AgentId { value: id },
                operations: Some(internal::update_slave_message::Operations {
                    operations: log.operations.clone(),
                }),
                resource_version_uuid: Some(v1::Uuid { value: vec![7; 16] }),
                ..Default::default()
            },
        );
    }
}

impl Process for OpsAgent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::SlaveRegisteredMessage>(|a, ctx, _, m| {
            a.log.lock().unwrap().id = Some(m.slave_id.value);
            a.send_update_slave(ctx);
        });
        h.on::<internal::SlaveReregisteredMessage>(|a, ctx, _, m| {
            a.log.lock().unwrap().id = Some(m.slave_id.value);
            a.send_update_slave(ctx);
        });
        h.on::<internal::PingSlaveMessage>(|_, ctx, from, _| {
            ctx.send(from, internal::PongSlaveMessage {});
        });
        h.on::<internal::ApplyOperationMessage>(|a, ctx, from, m| {
            let mut log = a.log.lock().unwrap();
            if log.lose_operations {
                return;
            }
            let outcome = if log.fail_operations {
                Err("refused by the test".to_string())
            } else {
                log.total
                    .apply(&m.operation_info)
                    .map_err(|e| e.to_string())
            };
            let (state, message) = match outcome {
                Ok(t) => {
                    log.total = t;
                    (v1::OperationState::OperationFinished, None)
                }
                Err(e) => (v1::OperationState::OperationFailed, Some(e)),
            };
            let status = v1::OperationStatus {
                operation_id: m.operation_info.id.clone(),
                state: state as i32,
                message,
                uuid: Some(v1::Uuid {
                    value: uuid::Uuid::new_v4().as_bytes().to_vec(),
                }),
                agent_id: log.id.clone().map(|value| v1::AgentId { value }),
                ..Default::default()
            };
            let update = internal::UpdateOperationStatusMessage {
                framework_id: m.framework_id.clone(),
                slave_id: log.id.clone().map(|value| v1::AgentId { value }),
                status: status.clone(),
                latest_status: Some(status.clone()),
                operation_uuid: Some(m.operation_uuid.clone()),
            };
            let agent_id = log.id.clone().map(|value| v1::AgentId { value });
            log.operations.push(v1::Operation {
                framework_id: m.framework_id.clone(),
                agent_id,
                info: m.operation_info.clone(),
                latest_status: status.clone(),
                statuses: vec![status],
                uuid: m.operation_uuid.clone(),
            });
            log.applied.push(m);
            log.unacked.push(update.clone());
            drop(log);
            ctx.send(from, update);
        });
        // The master asks about operations missing from UpdateSlaveMessage: the ones
        // unknown here are DROPPED (best effort, no status uuid), known ones need nothing.
        h.on::<internal::ReconcileOperationsMessage>(|a, ctx, from, m| {
            let mut log = a.log.lock().unwrap();
            let agent_id = log.id.clone().map(|value| v1::AgentId { value });
            for op in &m.operations {
                let known = log
                    .operations
                    .iter()
                    .any(|o| Some(&o.uuid) == op.operation_uuid.as_ref());
                if known {
                    continue;
                }
                ctx.send(
                    from,
                    internal::UpdateOperationStatusMessage {
                        framework_id: None,
                        slave_id: agent_id.clone(),
                        status: v1::OperationStatus {
                            state: v1::OperationState::OperationDropped as i32,
                            agent_id: agent_id.clone(),
                            ..Default::default()
                        },
                        latest_status: None,
                        operation_uuid: op.operation_uuid.clone(),
                    },
                );
            }
            log.reconciles.push(m);
        });
        h.on::<internal::CheckpointResourcesMessage>(|a, _, _, m| {
            a.log.lock().unwrap().checkpoints.push(m.resources);
        });
        h.on::<internal::AcknowledgeOperationStatusMessage>(|a, _, _, m| {
            let mut log = a.log.lock().unwrap();
            log.unacked.retain(|u| {
                u.status.uuid.as_ref() != Some(&m.status_uuid)
                    || u.operation_uuid.as_ref() != Some(&m.operation_uuid)
            });
            log.operations.retain(|o| o.uuid != m.operation_uuid);
            log.acks.push(m);
        });
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.link(&self.master);
        let capabilities = if self.log.lock().unwrap().legacy {
            Vec::new()
        } else {
            capabilities()
        };
        match &self.reregister_as {
            None => ctx.send(
                &self.master,
                internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some("1.8.0".into()),
                    agent_capabilities: capabilities.clone(),
                    ..Default::default()
                },
            ),
            Some(id) => {
                let mut info = self.info.clone();
                info.id = Some(v1::AgentId { value: id.clone() });
                ctx.send(
                    &self.master,
                    internal::ReregisterSlaveMessage {
                        slave: info,
                        version: Some("1.8.0".into()),
                        agent_capabilities: capabilities,
                        checkpointed_resources: self.checkpointed(),
                        ..Default::default()
                    },
                );
            }
        }
    }
}

pub struct Agent {
    pub runtime: Runtime,
    pub log: Arc<Mutex<AgentLog>>,
    pub pid: libprocess::Pid<OpsAgent>,
    pub master: Upid,
}

pub const AGENT_RESOURCES: &str = "cpus:4;mem:1024;disk:1000;ports:[31000-32000]";

impl Agent {
    pub fn start(net: &Network, clock: &Clock, master: &Upid, log: Arc<Mutex<AgentLog>>) -> Agent {
        let runtime = Runtime::builder()
            .network(net)
            .clock(clock.clone())
            .metrics_process(false)
            .start()
            .expect("agent runtime");
        let reregister_as = log.lock().unwrap().id.clone();
        let resources = mesos_protos::resources::from_string(AGENT_RESOURCES, "*").unwrap();
        {
            let mut l = log.lock().unwrap();
            if l.total.is_empty() {
                l.total = Resources::from(resources.clone());
            }
        }
        let agent = OpsAgent {
            master: master.clone(),
            info: v1::AgentInfo {
                hostname: "agent-host".into(),
                resources,
                port: Some(5051),
                ..Default::default()
            },
            reregister_as,
            log: log.clone(),
        };
        let pid = runtime.spawn("slave(1)", agent).expect("spawn agent");
        Agent {
            runtime,
            log,
            pid,
            master: master.clone(),
        }
    }

    pub fn id(&self) -> String {
        self.log.lock().unwrap().id.clone().expect("registered")
    }

    /// Re-sends every unacknowledged update, as the agent's retry timer would.
    pub fn retry(&self) {
        let master = self.master.clone();
        let log = self.log.clone();
        libprocess::block_on(self.pid.dispatch(move |_, ctx| {
            let pending = log.lock().unwrap().unacked.clone();
            for u in pending {
                ctx.send(&master, u);
            }
        }))
        .unwrap();
    }
}

pub struct Setup {
    pub _dir: tempfile::TempDir,
    pub net: Network,
    pub clock: Clock,
    pub master: TestMaster,
    pub agent: Agent,
}

pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let agent = Agent::start(&net, &clock, &master.upid(), Arc::default());
    clock.settle_blocking();
    assert!(agent.log.lock().unwrap().id.is_some(), "agent registered");
    Setup {
        _dir: dir,
        net,
        clock,
        master,
        agent,
    }
}

/// A subscribed framework in role `web` with principal `ops`.
pub struct Framework {
    pub sub: Subscription,
    pub id: String,
    pub stream: String,
}

pub fn subscribe(s: &Setup) -> Framework {
    let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
        "user": "root", "name": "ops", "roles": ["web"], "principal": "ops",
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "RESERVATION_REFINEMENT"}]
    }}});
    let mut sub = Subscription::open(s.master.addr(), &body);
    assert_eq!(sub.status, 200);
    let e = sub.next_of("SUBSCRIBED");
    let id = e["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let stream = sub.stream_id();
    Framework { sub, id, stream }
}

impl Framework {
    /// Advances the clock until an offer arrives; returns (offer id, agent id, offer).
    pub fn offer(&mut self, s: &Setup) -> (String, String, Value) {
        s.clock.advance(Duration::from_secs(6));
        s.clock.settle_blocking();
        let e = self.sub.next_of("OFFERS");
        let o = e["offers"]["offers"][0].clone();
        (
            o["id"]["value"].as_str().unwrap().to_owned(),
            o["agent_id"]["value"].as_str().unwrap().to_owned(),
            o,
        )
    }

    pub fn call(&self, s: &Setup, body: Value) {
        let r = call(s.master.addr(), &self.stream, &body);
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        s.clock.settle_blocking();
    }

    pub fn accept(&self, s: &Setup, offer_id: &str, operations: Value) {
        self.call(
            s,
            json!({"framework_id": {"value": self.id}, "type": "ACCEPT", "accept": {
                "offer_ids": [{"value": offer_id}], "operations": operations,
                "filters": {"refuse_seconds": 0}}}),
        );
    }

    pub fn ack(&self, s: &Setup, status: &Value) {
        self.call(
            s,
            json!({"framework_id": {"value": self.id}, "type": "ACKNOWLEDGE_OPERATION_STATUS",
                "acknowledge_operation_status": {
                    "agent_id": status["agent_id"],
                    "uuid": status["uuid"]["value"],
                    "operation_id": status["operation_id"]}}),
        );
    }

    pub fn reconcile(&self, s: &Setup, ops: Value) {
        self.call(
            s,
            json!({"framework_id": {"value": self.id}, "type": "RECONCILE_OPERATIONS",
                "reconcile_operations": {"operations": ops}}),
        );
    }

    pub fn next_status(&mut self) -> Value {
        self.sub.next_of("UPDATE_OPERATION_STATUS")["update_operation_status"]["status"].clone()
    }
}

pub fn scalar(name: &str, v: f64) -> Value {
    json!({"name": name, "type": "SCALAR", "scalar": {"value": v},
           "allocation_info": {"role": "web"}})
}

pub fn reserved(name: &str, v: f64) -> Value {
    let mut r = scalar(name, v);
    r["reservations"] = json!([{"type": "DYNAMIC", "role": "web", "principal": "ops"}]);
    r
}

pub fn volume(v: f64, id: &str) -> Value {
    let mut r = reserved("disk", v);
    r["disk"] = json!({"persistence": {"id": id, "principal": "ops"},
                       "volume": {"container_path": "data", "mode": "RW"}});
    r
}

pub fn state(s: &Setup) -> Value {
    http(s.master.addr(), "GET", "/state", &[], b"").json()
}

pub fn reserved_in_state(s: &Setup, name: &str) -> f64 {
    state(s)["slaves"][0]["reserved_resources"]["web"][name]
        .as_f64()
        .unwrap_or(0.0)
}

pub fn api(s: &Setup, body: Value) -> HttpResponse {
    http(
        s.master.addr(),
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

pub fn operator_reserved(name: &str, v: f64) -> Value {
    json!({"name": name, "type": "SCALAR", "scalar": {"value": v},
           "reservations": [{"type": "DYNAMIC", "role": "db", "principal": "admin"}]})
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

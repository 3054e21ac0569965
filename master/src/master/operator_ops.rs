//! Operator-made operations on an agent's free resources: the v1 calls
//! RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES, GROW_VOLUME,
//! SHRINK_VOLUME and the legacy `/reserve`, `/unreserve`, `/create-volumes`,
//! `/destroy-volumes` endpoints (form `slaveId=…&resources=<JSON>` or `volumes=<JSON>`).
//!
//! As in Mesos: `400` for a malformed or invalid request or an unknown agent; offers on
//! the agent are rescinded until its free resources cover what the operation consumes;
//! the allocator then checks the resources are still free (`409` if not) and the
//! operation goes to the agent (`202`).

use libprocess::http::percent_decode;
use libprocess::{Context, Reply, Request, Response, Routes};
use mesos_protos::resources::{resource_conversions, Resources};
use mesos_protos::v1;
use mesos_protos::v1::master::call::Type as CallType;
use mesos_protos::v1::offer::operation::{self as op, Type as OpType};

use super::operations::{allocator_operations, normalize_operation};
use super::Master;
use crate::validation::operation::{validate_operation, OperationContext};

fn plain(code: u16, msg: impl Into<String>) -> Response {
    Response::status(code)
        .with_body(msg.into())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

/// True for the operator calls this module answers.
pub(super) fn is_operation_call(t: CallType) -> bool {
    matches!(
        t,
        CallType::ReserveResources
            | CallType::UnreserveResources
            | CallType::CreateVolumes
            | CallType::DestroyVolumes
            | CallType::GrowVolume
            | CallType::ShrinkVolume
    )
}

fn operation(t: OpType) -> v1::offer::Operation {
    v1::offer::Operation {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

/// The agent id and offer operation an operator call asks for.
pub fn operation_of_call(
    call: &v1::master::Call,
) -> Result<(String, v1::offer::Operation), String> {
    let t = call
        .r#type
        .and_then(|t| CallType::try_from(t).ok())
        .unwrap_or(CallType::Unknown);
    let missing = |m: &str| format!("Expecting '{m}' to be present");
    match t {
        CallType::ReserveResources => {
            let c = call
                .reserve_resources
                .clone()
                .ok_or_else(|| missing("reserve_resources"))?;
            let mut o = operation(OpType::Reserve);
            o.reserve = Some(op::Reserve {
                resources: c.resources,
            });
            Ok((c.agent_id.value, o))
        }
        CallType::UnreserveResources => {
            let c = call
                .unreserve_resources
                .clone()
                .ok_or_else(|| missing("unreserve_resources"))?;
            let mut o = operation(OpType::Unreserve);
            o.unreserve = Some(op::Unreserve {
                resources: c.resources,
            });
            Ok((c.agent_id.value, o))
        }
        CallType::CreateVolumes => {
            let c = call
                .create_volumes
                .clone()
                .ok_or_else(|| missing("create_volumes"))?;
            let mut o = operation(OpType::Create);
            o.create = Some(op::Create { volumes: c.volumes });
            Ok((c.agent_id.value, o))
        }
        CallType::DestroyVolumes => {
            let c = call
                .destroy_volumes
                .clone()
                .ok_or_else(|| missing("destroy_volumes"))?;
            let mut o = operation(OpType::Destroy);
            o.destroy = Some(op::Destroy { volumes: c.volumes });
            Ok((c.agent_id.value, o))
        }
        CallType::GrowVolume => {
            let c = call
                .grow_volume
                .clone()
                .ok_or_else(|| missing("grow_volume"))?;
            let agent = c
                .agent_id
                .ok_or_else(|| missing("grow_volume.agent_id"))?
                .value;
            let mut o = operation(OpType::GrowVolume);
            o.grow_volume = Some(op::GrowVolume {
                volume: c.volume,
                addition: c.addition,
            });
            Ok((agent, o))
        }
        CallType::ShrinkVolume => {
            let c = call
                .shrink_volume
                .clone()
                .ok_or_else(|| missing("shrink_volume"))?;
            let agent = c
                .agent_id
                .ok_or_else(|| missing("shrink_volume.agent_id"))?
                .value;
            let mut o = operation(OpType::ShrinkVolume);
            o.shrink_volume = Some(op::ShrinkVolume {
                volume: c.volume,
                subtract: c.subtract,
            });
            Ok((agent, o))
        }
        other => Err(format!("{} is not an operation call", other.as_str_name())),
    }
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let k = k.replace('+', " ");
            let v = v.replace('+', " ");
            (
                percent_decode(&k).into_owned(),
                percent_decode(&v).into_owned(),
            )
        })
        .collect()
}

/// Parses a legacy request: `slaveId` and a JSON array under `key`.
fn legacy_request(req: &Request, key: &str) -> Result<(String, Vec<v1::Resource>), String> {
    let values = form(&req.body);
    let get = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let agent = get("slaveId").ok_or("Missing 'slaveId' query parameter in the request body")?;
    let text =
        get(key).ok_or_else(|| format!("Missing '{key}' query parameter in the request body"))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!("Error in parsing '{key}' query parameter in the request body: {e}")
    })?;
    let list = json.as_array().ok_or_else(|| {
        format!(
            "Error in parsing '{key}' query parameter in the request body: expecting a JSON array"
        )
    })?;
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let bytes = serde_json::to_vec(item).map_err(|e| e.to_string())?;
        let r: v1::Resource = mesos_protos::json::from_slice(&bytes).map_err(|e| {
            format!("Error in parsing '{key}' query parameter in the request body: {e}")
        })?;
        out.push(r);
    }
    Ok((agent, out))
}

impl Master {
    /// A v1 operator operation call (`/api/v1`).
    pub(super) fn operator_operation(
        &mut self,
        ctx: &mut Context<Self>,
        call: &v1::master::Call,
    ) -> Reply {
        match operation_of_call(call) {
            Ok((agent, op)) => self.operator_apply(ctx, agent, op),
            Err(e) => plain(400, e).into(),
        }
    }

    fn legacy_operation(&mut self, ctx: &mut Context<Self>, req: &Request, t: OpType) -> Reply {
        if let Some(r) = self.not_leader("/reserve") {
            return r.into();
        }
        let key = match t {
            OpType::Reserve | OpType::Unreserve => "resources",
            _ => "volumes",
        };
        let (agent, list) = match legacy_request(req, key) {
            Ok(x) => x,
            Err(e) => return plain(400, e).into(),
        };
        let mut o = operation(t);
        match t {
            OpType::Reserve => o.reserve = Some(op::Reserve { resources: list }),
            OpType::Unreserve => o.unreserve = Some(op::Unreserve { resources: list }),
            OpType::Create => o.create = Some(op::Create { volumes: list }),
            _ => o.destroy = Some(op::Destroy { volumes: list }),
        }
        self.operator_apply(ctx, agent, o)
    }

    /// Validates an operator operation, frees what it needs from outstanding offers and
    /// applies it through the allocator: `202`, `400` or `409`.
    fn operator_apply(
        &mut self,
        ctx: &mut Context<Self>,
        agent_id: String,
        mut o: v1::offer::Operation,
    ) -> Reply {
        let name = mesos_protos::resources::operation_type_name(o.r#type());
        let Some(agent) = self.state.agents.registered.get(&agent_id) else {
            return plain(400, "No agent found with specified ID").into();
        };
        normalize_operation(&mut o, None);
        let cx = OperationContext {
            agent,
            framework: None,
            principal: None,
        };
        if let Err(e) = validate_operation(&o, &cx) {
            return plain(
                400,
                format!("Invalid {name} operation on agent {agent_id}: {e}"),
            )
            .into();
        }
        let conversions = match resource_conversions(&o) {
            Ok(c) => c,
            Err(e) => return plain(400, e.to_string()).into(),
        };
        let mut required = Resources::new();
        for c in &conversions {
            required += &c.consumed;
        }
        // Rescind offers on the agent until its free resources cover the operation.
        let mut offers: Vec<String> = agent.offers.iter().cloned().collect();
        offers.sort();
        for oid in offers {
            let available = match self.state.agents.registered.get(&agent_id) {
                Some(a) => a.available(),
                None => break,
            };
            if available.contains(&required) {
                break;
            }
            self.rescind_offer(&oid);
        }
        let fut = self
            .allocator
            .update_available(&agent_id, &allocator_operations(&o));
        let me = ctx.pid();
        Reply::later(async move {
            match fut.await {
                Ok(()) => {
                    let applied = me
                        .dispatch(move |m: &mut Master, ctx| {
                            m.apply_operation(ctx, None, &agent_id, o)
                        })
                        .await;
                    match applied {
                        Ok(()) => Response::status(202),
                        Err(_) => plain(503, "master terminated"),
                    }
                }
                Err(e) => plain(409, e.to_string()),
            }
        })
    }
}

/// Registers the legacy endpoints.
pub(super) fn routes(r: &mut Routes<Master>) {
    r.post("reserve", |m, ctx, req| {
        m.legacy_operation(ctx, &req, OpType::Reserve)
    });
    r.post("unreserve", |m, ctx, req| {
        m.legacy_operation(ctx, &req, OpType::Unreserve)
    });
    r.post("create-volumes", |m, ctx, req| {
        m.legacy_operation(ctx, &req, OpType::Create)
    });
    r.post("destroy-volumes", |m, ctx, req| {
        m.legacy_operation(ctx, &req, OpType::Destroy)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let f = form(b"slaveId=a-S1&resources=%5B%7B%22name%22%3A+%22cpus%22%7D%5D");
        assert_eq!(f[0], ("slaveId".into(), "a-S1".into()));
        assert_eq!(f[1].1, "[{\"name\": \"cpus\"}]");
    }

    #[test]
    fn calls_map_to_operations() {
        let call = v1::master::Call {
            r#type: Some(CallType::CreateVolumes as i32),
            create_volumes: Some(v1::master::call::CreateVolumes {
                agent_id: v1::AgentId { value: "s".into() },
                volumes: vec![],
            }),
            ..Default::default()
        };
        let (agent, o) = operation_of_call(&call).unwrap();
        assert_eq!(agent, "s");
        assert_eq!(o.r#type(), OpType::Create);
        let bad = v1::master::Call {
            r#type: Some(CallType::ReserveResources as i32),
            ..Default::default()
        };
        assert!(operation_of_call(&bad)
            .unwrap_err()
            .contains("reserve_resources"));
    }
}

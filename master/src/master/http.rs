//! The master's HTTP routes. With the runtime's delegate set to `master`, `/state`
//! reaches the same handler as `/master/state`.

use libprocess::{Context, Reply, Request, Response, Routes};

use super::{Leadership, Master};
use crate::render::{self, RenderContext, TasksQuery};

fn json(body: Vec<u8>, req: &Request) -> Response {
    match req.query_param("jsonp") {
        Some(cb)
            if !cb.is_empty()
                && cb
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
        {
            let mut out = Vec::with_capacity(body.len() + cb.len() + 3);
            out.extend_from_slice(cb.as_bytes());
            out.push(b'(');
            out.extend_from_slice(&body);
            out.extend_from_slice(b");");
            Response::ok(out).with_header("Content-Type", "text/javascript")
        }
        _ => Response::ok(body).with_header("Content-Type", "application/json"),
    }
}

impl Master {
    fn render_ctx<'a>(&'a self, pid: &'a str) -> RenderContext<'a> {
        RenderContext {
            state: &self.state,
            flags: &self.flags,
            pid,
            leader: match self.leader.get() {
                Leadership::Leading => Some(&self.state.info),
                _ => None,
            },
        }
    }

    fn state_route(&mut self, ctx: &mut Context<Self>, req: Request) -> Response {
        let pid = ctx.self_pid().as_str().to_owned();
        json(render::state_json(&self.render_ctx(&pid)), &req)
    }

    fn state_summary_route(&mut self, ctx: &mut Context<Self>, req: Request) -> Response {
        let pid = ctx.self_pid().as_str().to_owned();
        json(render::state_summary_json(&self.render_ctx(&pid)), &req)
    }

    fn tasks_route(&mut self, req: Request) -> Response {
        let num = |k: &str| req.query_param(k).and_then(|v| v.parse::<usize>().ok());
        let q = TasksQuery {
            limit: num("limit"),
            offset: num("offset"),
            order: req.query_param("order"),
            framework_id: req.query_param("framework_id"),
            task_id: req.query_param("task_id"),
        };
        json(render::tasks_json(&self.state, &q), &req)
    }

    fn roles_route(&mut self, req: Request) -> Response {
        let mut weights: std::collections::BTreeMap<String, f64> =
            self.flags.weights.iter().cloned().collect();
        for (r, w) in &self.registrar.state().weights {
            weights.insert(r.clone(), *w);
        }
        let body = self.roles_with_reasons(render::roles_json(&self.state, &self.flags, &weights));
        json(body, &req)
    }

    fn operator_route(&mut self, ctx: &mut Context<Self>, req: Request) -> Reply {
        let plain = |code: u16, msg: String| {
            Response::status(code)
                .with_body(msg)
                .with_header("Content-Type", "text/plain; charset=utf-8")
        };
        if req.method != "POST" {
            return plain(
                405,
                format!("Expecting a 'POST' request, received '{}'", req.method),
            )
            .with_header("Allow", "POST")
            .into();
        }
        if let Some(r) = self.not_leader("/api/v1") {
            return r.into();
        }
        let protobuf_body = match req.header("Content-Type") {
            None => return plain(400, "Expecting 'Content-Type' to be present".into()).into(),
            Some("application/json") => false,
            Some("application/x-protobuf") => true,
            Some(other) => {
                return plain(
                    415,
                    format!("Expecting 'Content-Type' of application/json or application/x-protobuf, got '{other}'"),
                )
                .into()
            }
        };
        let Some(protobuf_out) = super::scheduler::negotiate_accept(req.header("Accept")) else {
            return plain(
                406,
                "Expecting 'Accept' to allow application/json or application/x-protobuf".into(),
            )
            .into();
        };
        let call: Result<mesos_protos::v1::master::Call, String> = if protobuf_body {
            mesos_protos::protobuf::decode(&req.body).map_err(|e| e.to_string())
        } else {
            mesos_protos::json::from_slice(&req.body).map_err(|e| e.to_string())
        };
        let call = match call {
            Ok(c) => c,
            Err(e) => {
                return plain(400, format!("Failed to parse body into Call protobuf: {e}")).into()
            }
        };
        use mesos_protos::v1::master::call::Type;
        match call.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::MarkAgentGone) => {
                let Some(id) = call.mark_agent_gone.map(|m| m.agent_id.value) else {
                    return plain(400, "Expecting 'mark_agent_gone' to be present".into()).into();
                };
                return self.mark_agent_gone(ctx, id);
            }
            Some(Type::Subscribe) => {
                return self.operator_subscribe(ctx, protobuf_out).into();
            }
            Some(t) if super::operator_ops::is_operation_call(t) => {
                return self.operator_operation(ctx, &call);
            }
            Some(Type::Teardown) => {
                let Some(fid) = call.teardown.map(|t| t.framework_id.value) else {
                    return plain(400, "Expecting 'teardown' to be present".into()).into();
                };
                if !self.state.frameworks.contains_key(&fid) {
                    return plain(400, "No framework found with specified ID".into()).into();
                }
                self.remove_framework(ctx, &fid);
                return Response::status(200).into();
            }
            _ => {}
        }
        if let Some(reply) = self.allocator_operator_call(ctx, &call, protobuf_out) {
            return reply;
        }
        let mut weights: std::collections::BTreeMap<String, f64> =
            self.flags.weights.iter().cloned().collect();
        for (r, w) in &self.registrar.state().weights {
            weights.insert(r.clone(), *w);
        }
        let metrics = ctx
            .metrics()
            .snapshot()
            .into_iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k, v)))
            .collect();
        let octx = crate::operator::OperatorContext {
            flags: &self.flags,
            weights,
            metrics,
        };
        match crate::operator::answer(&call, &self.state, &octx) {
            Ok(resp) => {
                if protobuf_out {
                    use prost::Message;
                    Response::ok(resp.encode_to_vec())
                        .with_header("Content-Type", "application/x-protobuf")
                } else {
                    Response::ok(mesos_protos::json::to_vec(&resp))
                        .with_header("Content-Type", "application/json")
                }
            }
            Err(crate::operator::OperatorError::BadRequest(m)) => plain(400, m),
            Err(crate::operator::OperatorError::NotImplemented(m)) => plain(501, m),
        }
        .into()
    }

    fn redirect_route(&mut self, ctx: &mut Context<Self>) -> Response {
        match self.leader.get() {
            Leadership::Leading => {
                let me = ctx.self_pid();
                let host = self
                    .state
                    .info
                    .hostname
                    .clone()
                    .unwrap_or_else(|| me.ip().to_string());
                Response::status(307).with_header("Location", format!("//{host}:{}", me.port()))
            }
            Leadership::Follower(addr) => {
                Response::status(307).with_header("Location", format!("//{addr}"))
            }
            Leadership::NoLeader => Response::status(503).with_body("No leader elected"),
        }
    }
}

/// Registers every route of the master.
pub(super) fn routes(r: &mut Routes<Master>) {
    r.any("api/v1/scheduler", |m, ctx, req| m.scheduler_http(ctx, req));
    r.any("api/v1", |m, ctx, req| m.operator_route(ctx, req));
    r.get("state", |m, ctx, req| m.state_route(ctx, req));
    r.get("state.json", |m, ctx, req| m.state_route(ctx, req));
    r.get("state-summary", |m, ctx, req| {
        m.state_summary_route(ctx, req)
    });
    r.get("frameworks", |m, _ctx, req| {
        let id = req.query_param("framework_id");
        json(render::frameworks_json(&m.state, id.as_deref()), &req)
    });
    r.get("slaves", |m, _ctx, req| {
        let id = req.query_param("slave_id");
        json(render::slaves_json(&m.state, id.as_deref()), &req)
    });
    r.get("tasks", |m, _ctx, req| m.tasks_route(req));
    r.get("roles", |m, _ctx, req| m.roles_route(req));
    r.any("quota", |m, ctx, req| m.quota_route(ctx, req));
    r.any("quota/*", |m, ctx, req| m.quota_route(ctx, req));
    r.any("weights", |m, ctx, req| m.weights_route(ctx, req));
    r.get("flags", |m, _ctx, req| {
        json(render::flags_json(&m.flags), &req)
    });
    r.get("version", |_m, _ctx, req| {
        json(render::version_json(), &req)
    });
    r.get("health", |_m, _ctx, _req| Response::status(200));
    r.get("redirect", |m, ctx, _req| m.redirect_route(ctx));
    super::operator_ops::routes(r);
}

//! `POST /api/v1/scheduler`: request checks with Mesos's status codes, then dispatch.
//!
//! Order of checks: method (405), leadership (307 / 503), `Content-Type` (400 / 415),
//! body (400), call shape (400 / 501), then SUBSCRIBE (stream-id header 400, `Accept`
//! 406) or, for other calls, framework known (400), subscribed over HTTP (403) and
//! `Mesos-Stream-Id` matching (400). Accepted calls answer `202`.

use libprocess::{Context, Request, Response};
use mesos_protos::v1::scheduler::{call::Type, Call};

use super::{Leadership, Master};
use crate::state::Connection;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";

fn text(status: u16, message: impl Into<String>) -> Response {
    Response::status(status)
        .with_body(message.into())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

/// Which encoding the client accepts for a stream: `Some(true)` protobuf, `Some(false)`
/// JSON (preferred, also for `*/*` or no header), `None` neither.
pub fn negotiate_accept(accept: Option<&str>) -> Option<bool> {
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

/// Checks the union member a call type needs; the error text is Mesos's.
pub fn validate_call_shape(call: &Call) -> Result<Type, (u16, String)> {
    let Some(t) = call.r#type else {
        return Err((400, "Expecting 'type' to be present".into()));
    };
    let t = Type::try_from(t).unwrap_or(Type::Unknown);
    let missing = |member: &str| Err((400, format!("Expecting '{member}' to be present")));
    if t == Type::Unknown {
        return Err((501, "Received an unknown call type".into()));
    }
    if t == Type::Subscribe {
        let Some(s) = &call.subscribe else {
            return missing("subscribe");
        };
        if let (Some(a), Some(b)) = (&call.framework_id, &s.framework_info.id) {
            if a != b {
                return Err((
                    400,
                    "'framework_id' differs from 'subscribe.framework_info.id'".into(),
                ));
            }
        }
        return Ok(t);
    }
    if call.framework_id.is_none() {
        return missing("framework_id");
    }
    let ok = match t {
        Type::Accept => call.accept.is_some(),
        Type::Decline => call.decline.is_some(),
        Type::AcceptInverseOffers => call.accept_inverse_offers.is_some(),
        Type::DeclineInverseOffers => call.decline_inverse_offers.is_some(),
        Type::Kill => call.kill.is_some(),
        Type::Shutdown => call.shutdown.is_some(),
        Type::Acknowledge => call.acknowledge.is_some(),
        Type::AcknowledgeOperationStatus => call.acknowledge_operation_status.is_some(),
        Type::Reconcile => call.reconcile.is_some(),
        Type::ReconcileOperations => call.reconcile_operations.is_some(),
        Type::Message => call.message.is_some(),
        Type::Request => call.request.is_some(),
        _ => true,
    };
    if !ok {
        let member = match t {
            Type::AcceptInverseOffers => "accept_inverse_offers",
            Type::DeclineInverseOffers => "decline_inverse_offers",
            Type::AcknowledgeOperationStatus => "acknowledge_operation_status",
            Type::ReconcileOperations => "reconcile_operations",
            other => match other {
                Type::Accept => "accept",
                Type::Decline => "decline",
                Type::Kill => "kill",
                Type::Shutdown => "shutdown",
                Type::Acknowledge => "acknowledge",
                Type::Reconcile => "reconcile",
                Type::Message => "message",
                _ => "request",
            },
        };
        return missing(member);
    }
    if t == Type::Acknowledge {
        let uuid = call.acknowledge.as_ref().map(|a| a.uuid.len()).unwrap_or(0);
        if uuid != 16 {
            return Err((400, "Not a valid UUID in 'acknowledge.uuid'".into()));
        }
    }
    if t == Type::AcknowledgeOperationStatus {
        let uuid = call
            .acknowledge_operation_status
            .as_ref()
            .map_or(0, |a| a.uuid.len());
        if uuid != 16 {
            return Err((
                400,
                "Not a valid UUID in 'acknowledge_operation_status.uuid'".into(),
            ));
        }
    }
    Ok(t)
}

impl Master {
    /// The leadership answer for non-leaders: 307 to the leader or 503.
    pub(super) fn not_leader(&self, path: &str) -> Option<Response> {
        match self.leader.get() {
            Leadership::Leading => None,
            Leadership::Follower(addr) => {
                Some(Response::status(307).with_header("Location", format!("//{addr}{path}")))
            }
            Leadership::NoLeader => Some(text(503, "No leader elected")),
        }
    }

    pub(super) fn scheduler_http(&mut self, ctx: &mut Context<Self>, req: Request) -> Response {
        if req.method != "POST" {
            return text(
                405,
                format!("Expecting a 'POST' request, received '{}'", req.method),
            )
            .with_header("Allow", "POST");
        }
        if let Some(r) = self.not_leader("/api/v1/scheduler") {
            return r;
        }
        let protobuf_body = match req.header("Content-Type") {
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
        let call: Call = if protobuf_body {
            match mesos_protos::protobuf::decode(&req.body) {
                Ok(c) => c,
                Err(e) => {
                    return text(400, format!("Failed to parse body into Call protobuf: {e}"))
                }
            }
        } else {
            match mesos_protos::json::from_slice(&req.body) {
                Ok(c) => c,
                Err(e) => {
                    return text(400, format!("Failed to parse body into Call protobuf: {e}"))
                }
            }
        };
        let t = match validate_call_shape(&call) {
            Ok(t) => t,
            Err((code, msg)) => {
                return text(code, format!("Failed to validate scheduler::Call: {msg}"))
            }
        };
        let stream_header = req.header("Mesos-Stream-Id").map(str::to_owned);
        if t == Type::Subscribe {
            if stream_header.is_some() {
                return text(
                    400,
                    "Subscribe calls should not include the 'Mesos-Stream-Id' header",
                );
            }
            let Some(protobuf) = negotiate_accept(req.header("Accept")) else {
                return text(
                    406,
                    format!("Expecting 'Accept' to allow {JSON} or {PROTOBUF}"),
                );
            };
            let Some(subscribe) = call.subscribe else {
                return text(400, "Expecting 'subscribe' to be present");
            };
            return self.subscribe(ctx, subscribe, protobuf);
        }

        let fid = call.framework_id.clone().unwrap_or_default().value;
        let Some(fw) = self.state.frameworks.get(&fid) else {
            return text(400, "Framework cannot be found");
        };
        let Connection::Http { stream_id } = &fw.connection else {
            return text(403, "Framework is not subscribed");
        };
        match stream_header {
            None => {
                return text(
                    400,
                    "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
                )
            }
            Some(s) if &s != stream_id => {
                return text(
                    400,
                    format!(
                        "The stream ID '{s}' included in this request didn't match the stream \
                         ID currently associated with framework ID {fid}"
                    ),
                )
            }
            Some(_) => {}
        }
        self.dispatch_call(ctx, &fid, t, call);
        Response::status(202)
    }

    fn dispatch_call(&mut self, ctx: &mut Context<Self>, fid: &str, t: Type, call: Call) {
        match t {
            Type::Teardown => self.remove_framework(ctx, fid),
            Type::Accept => {
                if let Some(a) = call.accept {
                    self.accept(ctx, fid, a);
                }
            }
            Type::Decline => {
                if let Some(d) = call.decline {
                    self.decline(ctx, fid, d);
                }
            }
            Type::Revive => {
                let roles = call.revive.map(|r| r.roles).unwrap_or_default();
                self.revive(fid, &roles);
            }
            Type::Suppress => {
                let roles = call.suppress.map(|r| r.roles).unwrap_or_default();
                self.suppress(fid, &roles);
            }
            Type::Kill => {
                if let Some(k) = call.kill {
                    self.kill(ctx, fid, k);
                }
            }
            Type::Shutdown => {
                if let Some(s) = call.shutdown {
                    self.shutdown_executor(ctx, fid, s);
                }
            }
            Type::Acknowledge => {
                if let Some(a) = call.acknowledge {
                    self.acknowledge(ctx, fid, a);
                }
            }
            Type::Reconcile => {
                if let Some(r) = call.reconcile {
                    self.reconcile_call(ctx, fid, r);
                }
            }
            Type::Message => {
                if let Some(m) = call.message {
                    self.framework_message(ctx, fid, m);
                }
            }
            Type::AcknowledgeOperationStatus => {
                if let Some(a) = call.acknowledge_operation_status {
                    self.acknowledge_operation_status(ctx, fid, a);
                }
            }
            Type::ReconcileOperations => {
                if let Some(r) = call.reconcile_operations {
                    self.reconcile_operations(fid, r);
                }
            }
            // The default allocator ignores requests; inverse offers are not produced
            // yet, so there is nothing to act on.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_protos::v1;
    use mesos_protos::v1::scheduler::call;

    #[test]
    fn accept_header_negotiation() {
        assert_eq!(negotiate_accept(None), Some(false));
        assert_eq!(negotiate_accept(Some("*/*")), Some(false));
        assert_eq!(negotiate_accept(Some("application/json")), Some(false));
        assert_eq!(negotiate_accept(Some("application/x-protobuf")), Some(true));
        assert_eq!(
            negotiate_accept(Some("application/x-protobuf, application/json;q=0.5")),
            Some(false)
        );
        assert_eq!(negotiate_accept(Some("text/html")), None);
    }

    #[test]
    fn call_shapes() {
        let mut c = Call::default();
        assert_eq!(validate_call_shape(&c).unwrap_err().0, 400);
        c.r#type = Some(Type::Unknown as i32);
        assert_eq!(validate_call_shape(&c).unwrap_err().0, 501);
        c.r#type = Some(Type::Subscribe as i32);
        assert!(validate_call_shape(&c)
            .unwrap_err()
            .1
            .contains("'subscribe'"));
        c.subscribe = Some(call::Subscribe {
            framework_info: v1::FrameworkInfo {
                id: Some(v1::FrameworkId { value: "a".into() }),
                ..Default::default()
            },
            ..Default::default()
        });
        assert_eq!(validate_call_shape(&c), Ok(Type::Subscribe));
        c.framework_id = Some(v1::FrameworkId { value: "b".into() });
        assert!(validate_call_shape(&c).unwrap_err().1.contains("differs"));

        let mut k = Call {
            r#type: Some(Type::Kill as i32),
            ..Default::default()
        };
        assert!(validate_call_shape(&k)
            .unwrap_err()
            .1
            .contains("'framework_id'"));
        k.framework_id = Some(v1::FrameworkId { value: "f".into() });
        assert!(validate_call_shape(&k).unwrap_err().1.contains("'kill'"));
        let mut ack = Call {
            r#type: Some(Type::Acknowledge as i32),
            framework_id: Some(v1::FrameworkId { value: "f".into() }),
            acknowledge: Some(call::Acknowledge {
                uuid: vec![1, 2, 3],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(validate_call_shape(&ack).unwrap_err().1.contains("UUID"));
        if let Some(a) = ack.acknowledge.as_mut() {
            a.uuid = vec![0; 16];
        }
        assert_eq!(validate_call_shape(&ack), Ok(Type::Acknowledge));
        let teardown = Call {
            r#type: Some(Type::Teardown as i32),
            framework_id: Some(v1::FrameworkId { value: "f".into() }),
            ..Default::default()
        };
        assert_eq!(validate_call_shape(&teardown), Ok(Type::Teardown));
    }
}

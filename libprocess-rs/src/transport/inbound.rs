//! Inbound HTTP: libprocess messages and per-process routes on one port.
//!
//! Answers to a message: `202` once it is in the mailbox (or dropped by a filter, or its name
//! is unknown to an existing process, as libprocess does), `404` if no such process, `400`
//! for a bad `Libprocess-From` or a body that does not decode, `413` for a body over the
//! configured maximum. Paths containing `/..` get `404`. Idle connections are kept open
//! (no keep-alive or first-request timer) because peers hold them as links.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use actix_rt::{Arbiter, ArbiterHandle};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::{KeepAlive, Method, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures::channel::mpsc::UnboundedReceiver;
use futures::channel::oneshot;
use futures::StreamExt;

use crate::http::{percent_decode, Body, Request, Response};
use crate::pid::Upid;
use crate::runtime::{Core, Inbound};

/// Builds the actix-web server for `core` on an already bound listener; the receiver yields
/// each worker thread's arbiter as the worker starts (processes run there too).
pub(crate) fn server(
    core: &Arc<Core>,
    listener: std::net::TcpListener,
    workers: usize,
) -> std::io::Result<(actix_web::dev::Server, UnboundedReceiver<ArbiterHandle>)> {
    let data = web::Data::from(core.clone());
    let max_body = core.max_body;
    let (arbiter_tx, arbiter_rx) = futures::channel::mpsc::unbounded();
    let server = HttpServer::new(move || {
        // Runs once on each worker thread as it starts.
        let _ = arbiter_tx.unbounded_send(Arbiter::current());
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .default_service(web::to(serve))
    })
    .workers(workers)
    .keep_alive(KeepAlive::Os)
    .client_request_timeout(Duration::ZERO)
    .disable_signals()
    .shutdown_timeout(0)
    .listen(listener)?
    .run();
    Ok((server, arbiter_rx))
}

const LIBPROCESS_FROM: HeaderName = HeaderName::from_static("libprocess-from");

fn is_message(req: &HttpRequest) -> bool {
    req.method() == Method::POST
        && (req.headers().contains_key(LIBPROCESS_FROM)
            || req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ua| ua.starts_with("libprocess/")))
}

thread_local! {
    // A peer connection carries one sender for thousands of messages in a row; parsing its
    // UPID once per run instead of once per message saves an allocation and an IP parse.
    static LAST_SENDER: RefCell<Option<Upid>> = const { RefCell::new(None) };
}

fn sender(req: &HttpRequest) -> Option<Upid> {
    let text = match req.headers().get(LIBPROCESS_FROM) {
        Some(v) => v.to_str().ok()?,
        None => req
            .headers()
            .get(header::USER_AGENT)?
            .to_str()
            .ok()?
            .strip_prefix("libprocess/")?,
    };
    let text = text.trim();
    LAST_SENDER.with(|last| {
        let mut last = last.borrow_mut();
        if let Some(upid) = last.as_ref().filter(|u| u.as_str() == text) {
            return Some(upid.clone());
        }
        let upid: Upid = text.parse().ok()?;
        // Only cache a canonical text form (a resolved hostname would never match again).
        if upid.as_str() == text {
            *last = Some(upid.clone());
        }
        Some(upid)
    })
}

async fn serve(req: HttpRequest, body: web::Bytes, core: web::Data<Core>) -> HttpResponse {
    let path = req.path();
    if path.contains("/..") {
        return HttpResponse::NotFound().finish();
    }
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let id = percent_decode(first);

    if is_message(&req) {
        let Some(from) = sender(&req) else {
            return HttpResponse::BadRequest().body("malformed sender upid");
        };
        let name = percent_decode(rest);
        if name.is_empty() {
            return HttpResponse::BadRequest().body("missing message name");
        }
        return match core.receive_encoded(from, &id, &name, &body) {
            Inbound::Accepted => HttpResponse::Accepted().finish(),
            Inbound::NoSuchProcess => HttpResponse::NotFound().finish(),
            Inbound::Malformed(e) => HttpResponse::BadRequest().body(e.to_string()),
        };
    }

    let (target, route) = if core.processes.contains_key(id.as_ref()) {
        (id.into_owned(), percent_decode(rest).into_owned())
    } else if let Some(delegate) = &core.delegate {
        (delegate.clone(), percent_decode(trimmed).into_owned())
    } else {
        return HttpResponse::NotFound().finish();
    };
    let request = Request {
        method: req.method().as_str().to_ascii_uppercase(),
        path: path.to_string(),
        route,
        query: req.query_string().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        peer: req.peer_addr(),
    };
    let (tx, rx) = oneshot::channel();
    if !core.http_to(&target, request, tx) {
        return HttpResponse::NotFound().finish();
    }
    match rx.await {
        Ok(resp) => into_actix(resp),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

fn into_actix(resp: Response) -> HttpResponse {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (k, v) in &resp.headers {
        builder.append_header((k.as_str(), v.as_str()));
    }
    match resp.body {
        Body::Full(bytes) => builder.body(bytes),
        Body::Stream(stream) => builder.streaming(stream.map(Ok::<_, std::convert::Infallible>)),
    }
}

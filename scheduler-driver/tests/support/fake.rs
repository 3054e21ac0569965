//! In-test fake master and agent speaking the v1 scheduler / executor HTTP APIs honestly:
//! exact content-type checks, RecordIO event streams (records deliberately split across
//! chunks), `Mesos-Stream-Id` issued and checked, `307` redirects, `503`s, `202`s.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc as fmpsc;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use libprocess::{Clock, Time};
use mesos_protos::v1::{executor, scheduler};
use mesos_protos::v1::{AgentInfo, ExecutorInfo, FrameworkId, FrameworkInfo};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

type Body = BoxBody<Bytes, Infallible>;
type Observer = Arc<dyn Fn(&Received) + Send + Sync>;

/// Which API the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Scheduler,
    Executor,
}

/// How the fake answers SUBSCRIBE.
#[derive(Clone, Debug)]
pub enum Mode {
    /// It is the leader (or the agent): serve.
    Serve,
    /// Not the leader: `307` with this `Location`.
    Redirect(String),
    /// The next `n` requests get `503`, then serve.
    Unavailable(u32),
    /// Every request gets this status and body (e.g. `401` with Mesos's text).
    Reject(u16, String),
    /// Requests are read and recorded but never answered.
    Hang,
}

/// A decoded call with what came with it.
#[derive(Debug, Clone)]
pub struct Received {
    pub scheduler: Option<scheduler::Call>,
    pub executor: Option<executor::Call>,
    pub content_type: String,
    pub accept: Option<String>,
    pub stream_id: Option<String>,
    pub authorization: Option<String>,
    /// Clock time at arrival.
    pub at: Time,
    /// Status the fake answered.
    pub status: u16,
}

impl Received {
    pub fn scheduler_type(&self) -> scheduler::call::Type {
        self.scheduler.as_ref().expect("a scheduler call").r#type()
    }
    pub fn executor_type(&self) -> executor::call::Type {
        self.executor.as_ref().expect("an executor call").r#type()
    }
}

struct Stream {
    id: String,
    json: bool,
    tx: fmpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>,
}

struct State {
    mode: Mode,
    stream: Option<Stream>,
    next_framework: u32,
    heartbeat_interval: f64,
    /// Evaluated when a call arrives; recorded in `Received`-side observers.
    observer: Option<Observer>,
}

struct Inner {
    api: Api,
    clock: Clock,
    state: Mutex<State>,
    calls: mpsc::UnboundedSender<Received>,
}

/// A fake master or agent on 127.0.0.1, port 0.
pub struct Fake {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    calls: mpsc::UnboundedReceiver<Received>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Fails the test instead of hanging forever if the driver never does what it should. This is
/// a safety net on a separate real-time clock, not a wait the tests rely on.
pub async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    let guard = Clock::new();
    match guard.timeout(Duration::from_secs(30), f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

fn full(status: StatusCode, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

impl Fake {
    pub async fn start(api: Api, clock: Clock) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            api,
            clock,
            state: Mutex::new(State {
                mode: Mode::Serve,
                stream: None,
                next_framework: 0,
                heartbeat_interval: 15.0,
                observer: None,
            }),
            calls: tx,
        });
        let srv = inner.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let inner = srv.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let inner = inner.clone();
                        async move { Ok::<_, Infallible>(handle(inner, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Fake {
            addr,
            inner,
            calls: rx,
            server,
        }
    }

    /// `host:port` of this fake.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.state.lock().mode = mode;
    }

    pub fn set_heartbeat_interval(&self, secs: f64) {
        self.inner.state.lock().heartbeat_interval = secs;
    }

    /// Runs `f` on every call as it arrives (before it is answered).
    pub fn observe(&self, f: impl Fn(&Received) + Send + Sync + 'static) {
        self.inner.state.lock().observer = Some(Arc::new(f));
    }

    /// The stream id of the live subscription.
    pub fn stream_id(&self) -> Option<String> {
        self.inner
            .state
            .lock()
            .stream
            .as_ref()
            .map(|s| s.id.clone())
    }

    /// The next call that reached the fake.
    pub async fn next_call(&mut self) -> Received {
        within("a call at the fake", self.calls.recv())
            .await
            .expect("fake closed")
    }

    /// Calls that already arrived, without waiting.
    pub fn drain_calls(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(r) = self.calls.try_recv() {
            out.push(r);
        }
        out
    }

    /// Pushes one event on the live stream, split across three chunks.
    pub fn send_bytes(&self, payload_json: Vec<u8>, payload_pb: Vec<u8>) {
        let st = self.inner.state.lock();
        let stream = st.stream.as_ref().expect("no live stream");
        let payload = if stream.json {
            payload_json
        } else {
            payload_pb
        };
        let record = mesos_protos::recordio::encode(&payload);
        let a = record.len() / 3;
        let b = 2 * record.len() / 3;
        for piece in [&record[..a], &record[a..b], &record[b..]] {
            if !piece.is_empty() {
                let _ = stream
                    .tx
                    .unbounded_send(Ok(Frame::data(Bytes::copy_from_slice(piece))));
            }
        }
    }

    pub fn send_scheduler_event(&self, event: &scheduler::Event) {
        self.send_bytes(
            mesos_protos::json::to_vec(event),
            prost::Message::encode_to_vec(event),
        );
    }

    pub fn send_executor_event(&self, event: &executor::Event) {
        self.send_bytes(
            mesos_protos::json::to_vec(event),
            prost::Message::encode_to_vec(event),
        );
    }

    /// Writes raw bytes on the live stream (e.g. half a record).
    pub fn send_raw(&self, bytes: &[u8]) {
        let st = self.inner.state.lock();
        let stream = st.stream.as_ref().expect("no live stream");
        let _ = stream
            .tx
            .unbounded_send(Ok(Frame::data(Bytes::copy_from_slice(bytes))));
    }

    /// Ends the live stream (a clean end of the chunked body).
    pub fn close_stream(&self) {
        self.inner.state.lock().stream = None;
    }
}

async fn handle(inner: Arc<Inner>, req: Request<Incoming>) -> Response<Body> {
    let path = match inner.api {
        Api::Scheduler => "/api/v1/scheduler",
        Api::Executor => "/api/v1/executor",
    };
    if req.uri().path() != path {
        return full(StatusCode::NOT_FOUND, "");
    }
    if req.method() != Method::POST {
        let mut r = full(StatusCode::METHOD_NOT_ALLOWED, "Expecting 'POST'");
        r.headers_mut()
            .insert("Allow", hyper::header::HeaderValue::from_static("POST"));
        return r;
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let Some(content_type) = header("content-type") else {
        return full(
            StatusCode::BAD_REQUEST,
            "Expecting 'Content-Type' to be present",
        );
    };
    let json = match content_type.as_str() {
        "application/json" => true,
        "application/x-protobuf" => false,
        other => {
            return full(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Expecting 'Content-Type' of application/json or application/x-protobuf, got {other}"),
            )
        }
    };
    let accept = header("accept");
    let stream_id = header("mesos-stream-id");
    let authorization = header("authorization");
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut received = Received {
        scheduler: None,
        executor: None,
        content_type: content_type.clone(),
        accept: accept.clone(),
        stream_id: stream_id.clone(),
        authorization,
        at: inner.clock.now(),
        status: 0,
    };
    let decoded = match inner.api {
        Api::Scheduler => {
            decode::<scheduler::Call>(json, &body).map(|c| received.scheduler = Some(c))
        }
        Api::Executor => decode::<executor::Call>(json, &body).map(|c| received.executor = Some(c)),
    };
    if let Err(e) = decoded {
        return full(
            StatusCode::BAD_REQUEST,
            &format!("Failed to parse body: {e}"),
        );
    }
    if matches!(inner.state.lock().mode, Mode::Hang) {
        let _ = inner.calls.send(received);
        return futures::future::pending().await;
    }
    let response = respond(&inner, &received, json, accept.as_deref());
    received.status = response.status().as_u16();
    let observer = inner.state.lock().observer.clone();
    if let Some(f) = observer {
        f(&received);
    }
    let _ = inner.calls.send(received);
    response
}

fn decode<M: prost::Message + prost::Name + Default>(json: bool, body: &[u8]) -> Result<M, String> {
    if json {
        mesos_protos::json::from_slice(body).map_err(|e| e.to_string())
    } else {
        mesos_protos::protobuf::decode(body).map_err(|e| e.to_string())
    }
}

fn respond(
    inner: &Inner,
    received: &Received,
    json_request: bool,
    accept: Option<&str>,
) -> Response<Body> {
    let mut st = inner.state.lock();
    match st.mode.clone() {
        Mode::Redirect(location) => {
            return Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header("Location", location)
                .body(Full::new(Bytes::new()).boxed())
                .unwrap();
        }
        Mode::Reject(status, body) => {
            return full(StatusCode::from_u16(status).unwrap(), &body);
        }
        Mode::Unavailable(n) if n > 0 => {
            st.mode = Mode::Unavailable(n - 1);
            return full(StatusCode::SERVICE_UNAVAILABLE, "No leader elected");
        }
        _ => {}
    }
    let is_subscribe = match inner.api {
        Api::Scheduler => received.scheduler_type() == scheduler::call::Type::Subscribe,
        Api::Executor => received.executor_type() == executor::call::Type::Subscribe,
    };
    if is_subscribe {
        if inner.api == Api::Scheduler && received.stream_id.is_some() {
            return full(
                StatusCode::BAD_REQUEST,
                "Expecting 'Mesos-Stream-Id' to be not present with SUBSCRIBE",
            );
        }
        // The stream's encoding follows Accept (absent or */* means JSON), as Mesos does.
        let json = match accept {
            None | Some("*/*") | Some("application/json") => true,
            Some("application/x-protobuf") => false,
            Some(_) => return full(StatusCode::NOT_ACCEPTABLE, "unacceptable Accept"),
        };
        let _ = json_request;
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = fmpsc::unbounded();
        let first = match inner.api {
            Api::Scheduler => {
                let call = received.scheduler.as_ref().unwrap();
                let info = &call.subscribe.as_ref().unwrap().framework_info;
                let framework_id = info.id.clone().unwrap_or_else(|| {
                    st.next_framework += 1;
                    FrameworkId {
                        value: format!("fake-master-{:04}", st.next_framework - 1),
                    }
                });
                let event = scheduler::Event {
                    r#type: Some(scheduler::event::Type::Subscribed as i32),
                    subscribed: Some(scheduler::event::Subscribed {
                        framework_id,
                        heartbeat_interval_seconds: Some(st.heartbeat_interval),
                        master_info: None,
                    }),
                    ..Default::default()
                };
                (
                    mesos_protos::json::to_vec(&event),
                    prost::Message::encode_to_vec(&event),
                )
            }
            Api::Executor => {
                let call = received.executor.as_ref().unwrap();
                let event = executor::Event {
                    r#type: Some(executor::event::Type::Subscribed as i32),
                    subscribed: Some(executor::event::Subscribed {
                        executor_info: ExecutorInfo {
                            executor_id: call.executor_id.clone(),
                            ..Default::default()
                        },
                        framework_info: FrameworkInfo {
                            user: "root".into(),
                            name: "fw".into(),
                            id: Some(call.framework_id.clone()),
                            ..Default::default()
                        },
                        agent_info: AgentInfo {
                            hostname: "localhost".into(),
                            ..Default::default()
                        },
                        container_id: None,
                    }),
                    ..Default::default()
                };
                (
                    mesos_protos::json::to_vec(&event),
                    prost::Message::encode_to_vec(&event),
                )
            }
        };
        let payload = if json { first.0 } else { first.1 };
        let _ = tx.unbounded_send(Ok(Frame::data(Bytes::from(
            mesos_protos::recordio::encode(&payload),
        ))));
        // A new subscription replaces (and closes) the previous stream.
        st.stream = Some(Stream {
            id: id.clone(),
            json,
            tx,
        });
        let mime = if json {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        let mut builder = Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", mime);
        if inner.api == Api::Scheduler {
            builder = builder.header("Mesos-Stream-Id", id);
        }
        return builder.body(BodyExt::boxed(StreamBody::new(rx))).unwrap();
    }
    let Some(stream) = st.stream.as_ref() else {
        return full(StatusCode::FORBIDDEN, "Framework is not subscribed");
    };
    match inner.api {
        Api::Scheduler => {
            if received.stream_id.as_deref() != Some(stream.id.as_str()) {
                return full(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "The stream ID '{}' included in this request didn't match the stream ID currently associated with framework ID",
                        received.stream_id.clone().unwrap_or_default()
                    ),
                );
            }
            if received.scheduler.as_ref().unwrap().framework_id.is_none() {
                return full(
                    StatusCode::BAD_REQUEST,
                    "Expecting 'framework_id' to be present",
                );
            }
        }
        Api::Executor => {
            if let Some(u) = &received.executor.as_ref().unwrap().update {
                let uuid_ok = u.status.uuid.as_ref().is_some_and(|b| b.len() == 16);
                if !uuid_ok {
                    return full(StatusCode::BAD_REQUEST, "Invalid UUID");
                }
            }
        }
    }
    full(StatusCode::ACCEPTED, "")
}

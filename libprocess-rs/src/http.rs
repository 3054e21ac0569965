//! HTTP requests and responses as processes see them (no actix types).
//!
//! A request that is not a libprocess message and whose first path segment names a process
//! (`/<id>/<route...>`) goes to that process's [`Routes`](crate::Routes); its handler runs on
//! the actor and returns a [`Reply`]: a response now, a future of one, or a response with a
//! streaming body fed from a channel (for RecordIO event streams). If the first segment names
//! no process, the runtime's *delegate* id is prefixed (`/state` → `/master/state`).

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

/// An HTTP request routed to a process.
#[derive(Debug, Clone)]
pub struct Request {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// The full request path as received, e.g. `/master/state`.
    pub path: String,
    /// The path below the process id, percent-decoded, e.g. `state` or `api/v1/scheduler`.
    pub route: String,
    /// The raw query string (after `?`), possibly empty.
    pub query: String,
    /// Headers in arrival order; names are lower-case.
    pub headers: Vec<(String, String)>,
    /// The whole request body.
    pub body: Bytes,
    /// The peer's socket address, if known.
    pub peer: Option<std::net::SocketAddr>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query string as percent-decoded `(key, value)` pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    percent_decode(&k.replace('+', " ")).into_owned(),
                    percent_decode(&v.replace('+', " ")).into_owned(),
                )
            })
            .collect()
    }

    /// The first value of query parameter `key`.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A streaming response body: chunks are written as they arrive; the stream ending ends it.
pub type BodyStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// A response body: complete, or streamed.
pub enum Body {
    /// The whole body.
    Full(Bytes),
    /// Chunks produced over time (chunked transfer encoding).
    Stream(BodyStream),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Stream(_) => write!(f, "Body::Stream"),
        }
    }
}

/// An HTTP response produced by a process.
#[derive(Debug)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A response with a status and an empty body.
    pub fn status(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Full(Bytes::new()),
        }
    }

    /// `200 OK` with a body.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Response::status(200).with_body(body)
    }

    /// `200 OK` with a JSON body and `Content-Type: application/json`.
    pub fn json(value: &serde_json::Value) -> Self {
        Response::ok(value.to_string()).with_header("Content-Type", "application/json")
    }

    /// `404 Not Found`.
    pub fn not_found() -> Self {
        Response::status(404)
    }

    /// `200 OK` whose body is fed by `stream` (one chunk per item).
    pub fn stream(stream: impl Stream<Item = Bytes> + Send + 'static) -> Self {
        Response {
            status: 200,
            headers: Vec::new(),
            body: Body::Stream(Box::pin(stream)),
        }
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Full(body.into());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// What a route handler returns: a response now, or a future of one (computed off-actor).
pub enum Reply {
    /// The response is ready.
    Now(Response),
    /// The response arrives later; the future runs outside the actor.
    Later(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl Reply {
    /// A reply computed by a future (use [`Context::defer`](crate::Context::defer) inside it
    /// only through channels: the future must not touch actor state).
    pub fn later(fut: impl Future<Output = Response> + Send + 'static) -> Self {
        Reply::Later(Box::pin(fut))
    }
}

impl From<Response> for Reply {
    fn from(r: Response) -> Self {
        Reply::Now(r)
    }
}

/// Percent-decodes `s` (invalid escapes are kept verbatim; invalid UTF-8 is replaced).
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Percent-encodes the bytes of a path segment that cannot appear raw in a request path.
pub(crate) fn percent_encode_segment(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(keep_raw) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for &b in s.as_bytes() {
        if keep_raw(b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
}

fn keep_raw(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
        )
}

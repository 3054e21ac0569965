//! The HTTP face of a runtime, driven by a raw TCP client: message answers (202/400/404/413),
//! per-process routes, the delegate, and `/metrics/snapshot`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use bincode::{Decode, Encode};
use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{
    bincode_message, block_on, Handlers, Process, Reply, Response, Routes, Runtime, Upid,
};

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Ping;
bincode_message!(Ping, "test.Ping");

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Note {
    text: String,
}
bincode_message!(Note, "test.Note");

/// Records pings and notes; serves a few routes.
struct Target {
    seen: mpsc::UnboundedSender<(Upid, String)>,
    hits: u64,
}

impl Process for Target {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>(|p, _, from, _| {
            let _ = p.seen.unbounded_send((from.clone(), "ping".into()));
        })
        .on::<Note>(|p, _, from, n| {
            let _ = p.seen.unbounded_send((from.clone(), n.text));
        });
    }

    fn routes(r: &mut Routes<Self>) {
        r.get("state", |p, ctx, req| {
            p.hits += 1;
            Response::json(&serde_json::json!({
                "pid": ctx.self_pid().to_string(),
                "hits": p.hits,
                "path": req.path,
                "q": req.query_param("x"),
            }))
        })
        .post("echo", |_, _, req| Response::ok(req.body))
        .get("later", |p, _, _| {
            let hits = p.hits;
            Reply::later(async move { Response::ok(format!("later {hits}")) })
        })
        .get("api/v1/stream", |_, _, _| {
            let chunks = futures::stream::iter(vec![
                bytes::Bytes::from_static(b"one;"),
                bytes::Bytes::from_static(b"two;"),
            ]);
            Response::stream(chunks).with_header("Content-Type", "text/plain")
        });
    }
}

fn target() -> (Target, mpsc::UnboundedReceiver<(Upid, String)>) {
    let (seen, rx) = mpsc::unbounded();
    (Target { seen, hits: 0 }, rx)
}

/// Sends one raw request (with `Connection: close`) and returns (status, headers+body text).
fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = head.replace('\n', "\r\n");
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text)
}

fn post(addr: SocketAddr, path: &str, from: &str, body: &[u8]) -> u16 {
    raw(
        addr,
        &format!("POST {path} HTTP/1.1\nHost: x\nLibprocess-From: {from}\n"),
        body,
    )
    .0
}

fn body_of(text: &str) -> &str {
    text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

#[test]
fn message_answers_202_404_400_413() {
    let rt = Runtime::builder().max_body_bytes(1024).start().unwrap();
    let (t, mut seen) = target();
    rt.spawn("target", t).unwrap();
    let addr = rt.address();
    let from = "peer@127.0.0.1:1";

    // The curl case: an empty body is a valid Ping.
    assert_eq!(post(addr, "/target/test.Ping", from, b""), 202);
    assert_eq!(
        block_on(seen.next()),
        Some((from.parse().unwrap(), "ping".to_string()))
    );
    // A bincode body for a known message.
    let note = libprocess::Message::encode(&Note { text: "hi".into() });
    assert_eq!(post(addr, "/target/test.Note", from, &note), 202);
    assert_eq!(block_on(seen.next()).unwrap().1, "hi");
    // The sender may also come from `User-Agent: libprocess/<upid>`.
    let (status, _) = raw(
        addr,
        "POST /target/test.Ping HTTP/1.1\nHost: x\nUser-Agent: libprocess/ua@127.0.0.1:2\n",
        b"",
    );
    assert_eq!(status, 202);
    assert_eq!(
        block_on(seen.next()).unwrap().0.to_string(),
        "ua@127.0.0.1:2"
    );

    assert_eq!(
        post(addr, "/nobody/test.Ping", from, b""),
        404,
        "no such process"
    );
    assert_eq!(
        post(addr, "/target/test.Ping", "not-a-upid", b""),
        400,
        "bad sender"
    );
    assert_eq!(
        post(addr, "/target/test.Note", from, &[0xff, 0xff, 0xff]),
        400,
        "bad body"
    );
    assert_eq!(
        post(addr, "/target/test.Ping", from, b"trailing"),
        400,
        "trailing bytes"
    );
    assert_eq!(
        post(addr, "/target/test.Note", from, &vec![1u8; 2000]),
        413,
        "too big"
    );
    // Unknown message names for an existing process are accepted and dropped.
    assert_eq!(post(addr, "/target/test.Unknown", from, b"xyz"), 202);
    assert_eq!(post(addr, "/target/../target/test.Ping", from, b""), 404);
    block_on(rt.shutdown());
}

#[test]
fn routes_delegate_and_metrics() {
    let rt = Runtime::builder().delegate("master").start().unwrap();
    let (t, _seen) = target();
    rt.spawn("master", t).unwrap();
    let addr = rt.address();

    let (status, text) = raw(addr, "GET /master/state?x=1 HTTP/1.1\nHost: x\n", b"");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(body_of(&text)).unwrap();
    assert_eq!(json["hits"], 1);
    assert_eq!(json["q"], "1");
    assert_eq!(json["pid"], format!("master@{addr}"));
    assert!(text
        .to_ascii_lowercase()
        .contains("content-type: application/json"));

    // `/state` reaches `/master/state` through the delegate.
    let (status, text) = raw(addr, "GET /state HTTP/1.1\nHost: x\n", b"");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(body_of(&text)).unwrap();
    assert_eq!(json["hits"], 2);
    assert_eq!(json["path"], "/state");

    let (status, text) = raw(addr, "POST /master/echo HTTP/1.1\nHost: x\n", b"hello");
    assert_eq!((status, body_of(&text)), (200, "hello"));
    let (status, text) = raw(addr, "GET /later HTTP/1.1\nHost: x\n", b"");
    assert_eq!((status, body_of(&text)), (200, "later 2"));
    let (status, text) = raw(addr, "GET /api/v1/stream HTTP/1.1\nHost: x\n", b"");
    assert_eq!(status, 200);
    assert!(text.contains("one;") && text.contains("two;"), "{text}");
    assert_eq!(
        raw(addr, "GET /master/nope HTTP/1.1\nHost: x\n", b"").0,
        404
    );
    assert_eq!(
        raw(addr, "GET /master/../state HTTP/1.1\nHost: x\n", b"").0,
        404
    );

    rt.metrics().counter("master/messages_received").add(3);
    rt.metrics().gauge("master/elected").set(1.0);
    rt.metrics()
        .timer("allocator/allocation_run_ms")
        .record(std::time::Duration::from_millis(2));
    let (status, text) = raw(addr, "GET /metrics/snapshot HTTP/1.1\nHost: x\n", b"");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(body_of(&text)).unwrap();
    assert_eq!(json["master/messages_received"], 3.0);
    assert_eq!(json["master/elected"], 1.0);
    assert_eq!(json["allocator/allocation_run_ms"], 2.0);
    assert_eq!(json["allocator/allocation_run_ms/count"], 1.0);
    assert_eq!(json["allocator/allocation_run_ms/p99"], 2.0);
    block_on(rt.shutdown());
}

#[test]
fn without_a_delegate_unknown_first_segments_are_404() {
    let rt = Runtime::start().unwrap();
    assert_eq!(
        raw(rt.address(), "GET /state HTTP/1.1\nHost: x\n", b"").0,
        404
    );
    block_on(rt.shutdown());
}

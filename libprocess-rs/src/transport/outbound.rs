//! Outbound messages: one persistent, pipelined connection per remote address.
//!
//! `send` formats the whole HTTP request on the caller's thread and pushes it onto the
//! peer's unbounded queue, so it never blocks. The peer's connection task writes queued
//! requests in batches of up to [`BATCH`] per write and keeps at most [`WINDOW`] unanswered,
//! reading the `202`s back (measured with `../shared/tools/transport-probe`: one request per
//! write caps near 150 k/s; 8–16 per write with ≤ 64 unanswered reaches ~450 k/s; hundreds
//! unanswered stalls actix-web). Responses are only flow control: delivery is best effort.
//!
//! When the connection breaks or cannot be made, its queue is dropped, the peer entry is
//! removed (the next send dials again), and every local process linked to a pid at that
//! address gets `exited` once.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

use crate::clock::Clock;
use crate::http::percent_encode_segment;
use crate::pid::Upid;
use crate::runtime::Core;

/// Most requests written per `write` call.
pub const BATCH: usize = 16;
/// Most requests left unanswered on one connection.
pub const WINDOW: usize = 64;

/// One remote address: its connection (if dialled) and the local links to pids there.
pub(crate) struct Peer {
    tx: Option<mpsc::UnboundedSender<Bytes>>,
    gen: u64,
    /// linkee → local linkers.
    pub(crate) links: HashMap<Upid, Vec<Upid>>,
}

fn encode_request(from: &Upid, to: &Upid, name: &str, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(96 + from.as_str().len() + name.len() + body.len());
    out.extend_from_slice(b"POST /");
    percent_encode_segment(to.id(), &mut out);
    out.push(b'/');
    percent_encode_segment(name, &mut out);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(to.address_str().as_bytes());
    out.extend_from_slice(b"\r\nLibprocess-From: ");
    out.extend_from_slice(from.as_str().as_bytes());
    // Writing into a Vec cannot fail.
    let _ = write!(out, "\r\nContent-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
    out.into()
}

impl Core {
    /// Queues an encoded message for the connection to `to`'s runtime.
    pub(crate) fn send_remote(&self, from: &Upid, to: &Upid, name: &str, body: &[u8]) {
        if self.closed.load(Ordering::Relaxed) {
            tracing::debug!(%from, %to, message = name, "runtime shut down; dropping a message");
            return;
        }
        let request = encode_request(from, to, name, body);
        let mut peers = self.peers.lock();
        // Counted until the peer answers (or the connection drops it), so `settle` also
        // waits for messages between runtimes sharing a clock.
        self.clock().work_started();
        if ensure_connection(self, &mut peers, to.address())
            .send(request)
            .is_err()
        {
            self.clock().work_done();
        }
    }
}

fn ensure_connection<'a>(
    core: &Core,
    peers: &'a mut HashMap<SocketAddr, Peer>,
    addr: SocketAddr,
) -> &'a mpsc::UnboundedSender<Bytes> {
    let peer = peers.entry(addr).or_insert_with(|| Peer {
        tx: None,
        gen: 0,
        links: HashMap::new(),
    });
    if peer.tx.is_none() {
        let (tx, rx) = mpsc::unbounded_channel();
        let gen = core.next_gen.fetch_add(1, Ordering::Relaxed);
        peer.gen = gen;
        let task = connection(core.me.clone(), core.clock().clone(), addr, gen, rx);
        if !core.worker().spawn(task) {
            // The runtime is stopping: the task (and its queue) is gone; sends will fail.
            tracing::debug!(peer = %addr, "runtime stopping; not dialling");
        }
        peer.tx = Some(tx);
    }
    peer.tx.as_ref().expect("set above")
}

/// Registers a link from local `linker` to remote `linkee`, dialling its runtime if needed.
pub(crate) fn link(core: &Core, linker: &Upid, linkee: &Upid, reconnect: bool, on_network: bool) {
    let addr = linkee.address();
    let mut peers = core.peers.lock();
    if reconnect {
        if let Some(old) = peers.remove(&addr) {
            // The old connection ends quietly (its generation is stale); its links move over.
            peers.insert(
                addr,
                Peer {
                    tx: None,
                    gen: 0,
                    links: old.links,
                },
            );
        }
    }
    if !on_network && !core.closed.load(Ordering::Relaxed) {
        ensure_connection(core, &mut peers, addr);
    }
    let peer = peers.entry(addr).or_insert_with(|| Peer {
        tx: None,
        gen: 0,
        links: HashMap::new(),
    });
    let list = peer.links.entry(linkee.clone()).or_default();
    if !list.contains(linker) {
        list.push(linker.clone());
    }
}

/// An in-memory network member at `addr` left: fire `exited` for links made over the network.
pub(crate) fn peer_gone(core: &Core, addr: SocketAddr) {
    let links = {
        let mut peers = core.peers.lock();
        match peers.get(&addr) {
            Some(p) if p.tx.is_none() => peers.remove(&addr).map(|p| p.links).unwrap_or_default(),
            _ => HashMap::new(),
        }
    };
    fire_exited(core, addr, links);
}

fn fire_exited(core: &Core, addr: SocketAddr, links: HashMap<Upid, Vec<Upid>>) {
    if links.is_empty() {
        return;
    }
    tracing::debug!(peer = %addr, "connection to peer lost; notifying linked processes");
    for (linkee, linkers) in links {
        for linker in linkers {
            core.deliver_exited(&linker, &linkee);
        }
    }
}

async fn connection(
    core: Weak<Core>,
    clock: Clock,
    addr: SocketAddr,
    gen: u64,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) {
    let unanswered = Arc::new(AtomicUsize::new(0));
    match pump(addr, &mut rx, &unanswered, &clock).await {
        Ok(()) => tracing::debug!(peer = %addr, "connection closed (replaced or shut down)"),
        Err(e) => tracing::debug!(peer = %addr, error = %e, "connection to peer failed"),
    }
    if let Some(core) = core.upgrade() {
        let links = {
            let mut peers = core.peers.lock();
            match peers.get(&addr) {
                Some(p) if p.gen == gen && p.tx.is_some() => {
                    peers.remove(&addr).map(|p| p.links).unwrap_or_default()
                }
                _ => HashMap::new(),
            }
        };
        fire_exited(&core, addr, links);
    }
    // The entry is gone, so nothing new arrives on this queue: drop what is left.
    rx.close();
    let mut dropped = unanswered.load(Ordering::SeqCst);
    while rx.try_recv().is_ok() {
        dropped += 1;
    }
    if dropped > 0 {
        tracing::debug!(peer = %addr, dropped, "dropping undelivered messages");
    }
    clock.work_done_n(dropped);
}

async fn pump(
    addr: SocketAddr,
    rx: &mut mpsc::UnboundedReceiver<Bytes>,
    unanswered: &AtomicUsize,
    clock: &Clock,
) -> std::io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let answered = Notify::new();

    let read = async {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        loop {
            if reader.read_buf(&mut buf).await? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "peer closed the connection",
                ));
            }
            // An unsolicited response (say, a server-side timeout) must not count as an
            // answer to a request we never wrote.
            let n = parse_responses(&mut buf)?.min(unanswered.load(Ordering::SeqCst));
            if n > 0 {
                unanswered.fetch_sub(n, Ordering::SeqCst);
                clock.work_done_n(n);
                answered.notify_one();
            }
        }
    };

    let write = async {
        let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            while unanswered.load(Ordering::SeqCst) >= WINDOW {
                answered.notified().await;
            }
            let Some(first) = rx.recv().await else {
                return Ok(());
            };
            out.clear();
            out.extend_from_slice(&first);
            let room = WINDOW
                .saturating_sub(unanswered.load(Ordering::SeqCst))
                .clamp(1, BATCH);
            let mut taken = 1;
            while taken < room {
                match rx.try_recv() {
                    Ok(m) => {
                        out.extend_from_slice(&m);
                        taken += 1;
                    }
                    Err(_) => break,
                }
            }
            unanswered.fetch_add(taken, Ordering::SeqCst);
            writer.write_all(&out).await?;
        }
    };

    tokio::select! {
        r = read => r,
        w = write => w,
    }
}

/// Consumes every complete response at the front of `buf`; returns how many.
fn parse_responses(buf: &mut BytesMut) -> std::io::Result<usize> {
    let mut count = 0;
    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("non-utf8 response head"))?;
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or("");
        if !status.starts_with("HTTP/1.") {
            return Err(bad("not an http response"));
        }
        let mut length = 0usize;
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().map_err(|_| bad("bad content-length"))?;
                } else if k.trim().eq_ignore_ascii_case("transfer-encoding") {
                    return Err(bad("chunked response to a message"));
                }
            }
        }
        if buf.len() < end + 4 + length {
            break;
        }
        if !status.contains(" 202") {
            tracing::debug!(status, "peer did not accept a message");
        }
        buf.advance(end + 4 + length);
        count += 1;
    }
    Ok(count)
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

//! An in-process cluster for the master's tests: a master runtime and fake agents on
//! one in-memory network and one paused Clock, plus a tiny blocking HTTP client.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{block_on, Clock, Context, Handlers, Network, Pid, Process, Runtime, Upid};
use mesos_master::flags::MasterFlags;
use mesos_master::master::{LeaderHandle, Leadership, Master, MasterOptions};
use mesos_protos::mesos::internal;
use mesos_protos::v1;

/// A master on its own runtime.
pub struct TestMaster {
    pub runtime: Runtime,
    pub pid: Pid<Master>,
    pub leader: LeaderHandle,
}

impl TestMaster {
    pub fn start(network: &Network, clock: &Clock, work_dir: &Path, extra: &[&str]) -> Self {
        let dir = format!("--work_dir={}", work_dir.display());
        let mut args: Vec<&str> = vec!["--port=0", dir.as_str()];
        args.extend_from_slice(extra);
        let flags = MasterFlags::load(args, []).expect("flags");
        let runtime = Runtime::builder()
            .network(network)
            .clock(clock.clone())
            .delegate("master")
            .start()
            .expect("runtime");
        let mut opts = MasterOptions::new(flags);
        let leader = LeaderHandle::new(Leadership::Leading);
        opts.leader = leader.clone();
        opts.master_id = Some("m1".into());
        let master = Master::new(opts, clock.now().as_secs_f64()).expect("master");
        let pid = runtime.spawn("master", master).expect("spawn");
        TestMaster {
            runtime,
            pid,
            leader,
        }
    }

    pub fn upid(&self) -> Upid {
        self.pid.upid().clone()
    }

    /// Runs `f` on the master and returns its result.
    pub fn with<R: Send + 'static>(&self, f: impl FnOnce(&mut Master) -> R + Send + 'static) -> R {
        block_on(self.pid.dispatch(move |m, _| f(m))).expect("master alive")
    }

    pub fn addr(&self) -> SocketAddr {
        self.runtime.address()
    }

    pub fn stop(self) {
        self.runtime.shutdown_blocking();
    }
}

/// What a fake agent saw.
#[derive(Debug, Clone)]
pub enum Seen {
    Registered(String),
    Reregistered(String),
    Ping,
    RunTask(Box<v1::TaskInfo>),
    Kill(String),
    Ack(String, Vec<u8>),
    Shutdown(String),
    ShutdownFramework(String),
}

/// An agent that speaks the registration protocol, answers pings while `answer_pings`
/// is set and reports TASK_RUNNING for every task it is given.
pub struct FakeAgent {
    pub master: Upid,
    pub info: v1::AgentInfo,
    pub reregister: Option<(String, Vec<v1::Task>, Vec<v1::FrameworkInfo>)>,
    pub answer_pings: Arc<AtomicBool>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub id: Option<String>,
}

impl Process for FakeAgent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::SlaveRegisteredMessage>(|a, _, _, m| {
            a.id = Some(m.slave_id.value.clone());
            a.seen
                .lock()
                .unwrap()
                .push(Seen::Registered(m.slave_id.value));
        });
        h.on::<internal::SlaveReregisteredMessage>(|a, _, _, m| {
            a.id = Some(m.slave_id.value.clone());
            a.seen
                .lock()
                .unwrap()
                .push(Seen::Reregistered(m.slave_id.value));
        });
        h.on::<internal::PingSlaveMessage>(|a, ctx, from, _| {
            a.seen.lock().unwrap().push(Seen::Ping);
            if a.answer_pings.load(Ordering::SeqCst) {
                ctx.send(from, internal::PongSlaveMessage {});
            }
        });
        h.on::<internal::RunTaskMessage>(|a, ctx, from, m| {
            a.seen
                .lock()
                .unwrap()
                .push(Seen::RunTask(Box::new(m.task.clone())));
            let fid = m.framework.id.clone().unwrap_or_default();
            let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
            let status = v1::TaskStatus {
                task_id: m.task.task_id.clone(),
                state: v1::TaskState::TaskRunning as i32,
                agent_id: Some(m.task.agent_id.clone()),
                source: Some(v1::task_status::Source::Executor as i32),
                uuid: Some(uuid.clone()),
                timestamp: Some(ctx.clock().now().as_secs_f64()),
                ..Default::default()
            };
            ctx.send(
                from,
                internal::StatusUpdateMessage {
                    update: internal::StatusUpdate {
                        framework_id: fid,
                        executor_id: None,
                        slave_id: Some(m.task.agent_id.clone()),
                        status,
                        timestamp: ctx.clock().now().as_secs_f64(),
                        uuid: Some(uuid),
                        latest_state: None,
                    },
                    pid: Some(ctx.self_pid().as_str().to_owned()),
                },
            );
            let _ = a;
        });
        h.on::<internal::KillTaskMessage>(|a, _, _, m| {
            a.seen.lock().unwrap().push(Seen::Kill(m.task_id.value));
        });
        h.on::<internal::StatusUpdateAcknowledgementMessage>(|a, _, _, m| {
            a.seen
                .lock()
                .unwrap()
                .push(Seen::Ack(m.task_id.value, m.uuid));
        });
        h.on::<internal::ShutdownMessage>(|a, _, _, m| {
            a.seen
                .lock()
                .unwrap()
                .push(Seen::Shutdown(m.message.unwrap_or_default()));
        });
        h.on::<internal::ShutdownFrameworkMessage>(|a, _, _, m| {
            a.seen
                .lock()
                .unwrap()
                .push(Seen::ShutdownFramework(m.framework_id.value));
        });
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.link(&self.master);
        match &self.reregister {
            None => ctx.send(
                &self.master,
                internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some("1.8.0".into()),
                    ..Default::default()
                },
            ),
            Some((id, tasks, frameworks)) => {
                let mut info = self.info.clone();
                info.id = Some(v1::AgentId { value: id.clone() });
                ctx.send(
                    &self.master,
                    internal::ReregisterSlaveMessage {
                        slave: info,
                        tasks: tasks.clone(),
                        frameworks: frameworks.clone(),
                        version: Some("1.8.0".into()),
                        ..Default::default()
                    },
                );
            }
        }
    }
}

/// A fake agent on its own runtime.
pub struct TestAgent {
    pub runtime: Runtime,
    pub answer_pings: Arc<AtomicBool>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestAgent {
    pub fn start(
        network: &Network,
        clock: &Clock,
        master: &Upid,
        resources: &str,
        reregister: Option<(String, Vec<v1::Task>, Vec<v1::FrameworkInfo>)>,
    ) -> Self {
        let runtime = Runtime::builder()
            .network(network)
            .clock(clock.clone())
            .metrics_process(false)
            .start()
            .expect("agent runtime");
        let answer_pings = Arc::new(AtomicBool::new(true));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let agent = FakeAgent {
            master: master.clone(),
            info: v1::AgentInfo {
                hostname: "agent-host".into(),
                resources: mesos_protos::resources::from_string(resources, "*").unwrap(),
                port: Some(5051),
                ..Default::default()
            },
            reregister,
            answer_pings: answer_pings.clone(),
            seen: seen.clone(),
            id: None,
        };
        runtime.spawn("slave(1)", agent).expect("spawn agent");
        TestAgent {
            runtime,
            answer_pings,
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn registered_id(&self) -> Option<String> {
        self.seen().into_iter().find_map(|s| match s {
            Seen::Registered(id) | Seen::Reregistered(id) => Some(id),
            _ => None,
        })
    }

    pub fn stop(self) {
        self.runtime.shutdown_blocking();
    }
}

/// A paused clock and a network.
pub fn world() -> (Network, Clock) {
    let clock = Clock::new();
    clock.pause();
    (Network::new(), clock)
}

/// Advances the clock in steps, settling after each, so chained timers fire in order.
pub fn advance(clock: &Clock, total: Duration, step: Duration) {
    let mut done = Duration::ZERO;
    while done < total {
        clock.advance(step);
        clock.settle_blocking();
        done += step;
    }
}

/// A minimal blocking HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

fn send_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    s
}

fn read_head(s: &mut TcpStream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_string();
            let rest = buf[pos + 4..].to_vec();
            let mut lines = head.split("\r\n");
            let status = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|c| c.parse().ok())
                .expect("status line");
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            return (status, headers, rest);
        }
        let n = s.read(&mut byte).expect("read head");
        assert!(n > 0, "connection closed before the response head");
        buf.extend_from_slice(&byte[..n]);
    }
}

/// Decodes HTTP chunked framing incrementally.
#[derive(Default)]
struct Chunked {
    buf: Vec<u8>,
    done: bool,
}

impl Chunked {
    fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let size_line = String::from_utf8_lossy(&self.buf[..pos]).to_string();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                .expect("chunk size");
            if size == 0 {
                self.done = true;
                break;
            }
            if self.buf.len() < pos + 2 + size + 2 {
                break;
            }
            out.extend_from_slice(&self.buf[pos + 2..pos + 2 + size]);
            self.buf.drain(..pos + 2 + size + 2);
        }
        out
    }
}

/// One request, whole response (Content-Length or chunked bodies).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut s = send_request(addr, method, path, headers, body);
    let (status, headers, rest) = read_head(&mut s);
    let lookup = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let body = if let Some(len) = lookup("content-length").and_then(|l| l.parse::<usize>().ok()) {
        let mut body = rest;
        let mut chunk = [0u8; 8192];
        while body.len() < len {
            let n = s.read(&mut chunk).expect("read body");
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body
    } else if lookup("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        let mut c = Chunked::default();
        let mut body = c.feed(&rest);
        let mut chunk = [0u8; 8192];
        while !c.done {
            let n = s.read(&mut chunk).expect("read chunk");
            if n == 0 {
                break;
            }
            body.extend(c.feed(&chunk[..n]));
        }
        body
    } else {
        rest
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A subscribed scheduler: the open stream and its id.
pub struct Subscription {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    stream: TcpStream,
    chunked: Chunked,
    records: mesos_protos::recordio::Decoder,
    pending: std::collections::VecDeque<serde_json::Value>,
}

impl Subscription {
    pub fn open(addr: SocketAddr, body: &serde_json::Value) -> Subscription {
        Self::open_path(addr, "/api/v1/scheduler", body)
    }

    pub fn open_path(addr: SocketAddr, path: &str, body: &serde_json::Value) -> Subscription {
        let bytes = body.to_string().into_bytes();
        let mut s = send_request(
            addr,
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            &bytes,
        );
        let (status, headers, rest) = read_head(&mut s);
        let mut sub = Subscription {
            status,
            headers,
            stream: s,
            chunked: Chunked::default(),
            records: mesos_protos::recordio::Decoder::new(),
            pending: Default::default(),
        };
        sub.absorb(&rest);
        sub
    }

    pub fn stream_id(&self) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Mesos-Stream-Id"))
            .map(|(_, v)| v.clone())
            .expect("Mesos-Stream-Id")
    }

    fn absorb(&mut self, data: &[u8]) {
        let payload = self.chunked.feed(data);
        for rec in self.records.feed(&payload).expect("recordio") {
            self.pending
                .push_back(serde_json::from_slice(&rec).expect("event json"));
        }
    }

    /// The next event (blocks on the socket for up to the read timeout).
    pub fn next(&mut self) -> Option<serde_json::Value> {
        let mut chunk = [0u8; 8192];
        while self.pending.is_empty() {
            if self.chunked.done {
                return None;
            }
            let n = self.stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            self.absorb(&chunk[..n]);
        }
        self.pending.pop_front()
    }

    /// The next event of `kind`, skipping heartbeats and others.
    pub fn next_of(&mut self, kind: &str) -> serde_json::Value {
        loop {
            let e = self
                .next()
                .unwrap_or_else(|| panic!("stream ended waiting for {kind}"));
            if e["type"] == kind {
                return e;
            }
        }
    }

    pub fn close(self) {
        drop(self.stream);
    }
}

/// POSTs a scheduler call with the stream id.
pub fn call(addr: SocketAddr, stream_id: &str, body: &serde_json::Value) -> HttpResponse {
    http(
        addr,
        "POST",
        "/api/v1/scheduler",
        &[
            ("Content-Type", "application/json"),
            ("Mesos-Stream-Id", stream_id),
        ],
        body.to_string().as_bytes(),
    )
}

//! The runtime: one address, its processes, its transport, its clock and filters.
//!
//! A [`Runtime`] owns a background thread running the actix system (the HTTP accept loop)
//! plus worker threads that serve HTTP and run the processes and outbound connections. Its handle is
//! `Clone + Send + Sync` and every asynchronous answer is a plain future, so it can be driven
//! from any context: a plain `#[test]` with [`block_on`](crate::block_on), or any executor.
//! Several runtimes can live in one OS process, each with its own address (and optionally a
//! shared [`Clock`] and in-memory [`Network`]).

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use actix_rt::{Arbiter, ArbiterHandle};
use dashmap::DashMap;
use futures::channel::oneshot;
use futures::StreamExt;
use parking_lot::Mutex;

use crate::clock::Clock;
use crate::dispatch::{AskError, Asker};
use crate::filter::Filters;
use crate::http::{Request, Response};
use crate::message::{DecodeError, Message};
use crate::metrics::Metrics;
use crate::pid::{IdGenerator, Upid};
use crate::process::{self, AnyMailbox, Handlers, Mailbox, Pid, Process, Routes};
use crate::transport::network::Network;
use crate::transport::outbound::Peer;
use crate::transport::{inbound, outbound};

/// The default largest message or request body accepted (4 MiB).
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// Why a runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Binding the listening socket failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime thread failed to start the server.
    #[error("runtime thread failed to start: {0}")]
    Start(String),
}

/// Why a process could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// A live process already has this id.
    #[error("a process with id {0:?} already exists")]
    Duplicate(String),
    /// The id is empty or contains `/`, `@` or whitespace.
    #[error("bad process id {0:?}")]
    BadId(String),
    /// The runtime is shutting down.
    #[error("runtime is shut down; cannot spawn {0:?}")]
    Shutdown(String),
}

/// Configures and starts a [`Runtime`].
#[derive(Clone)]
pub struct RuntimeBuilder {
    bind: SocketAddr,
    advertise_ip: Option<IpAddr>,
    clock: Option<Clock>,
    delegate: Option<String>,
    max_body: usize,
    network: Option<Network>,
    threads: usize,
    metrics_process: bool,
    seed: Option<u64>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            advertise_ip: None,
            clock: None,
            delegate: None,
            max_body: DEFAULT_MAX_BODY,
            network: None,
            threads: 1,
            metrics_process: true,
            seed: None,
        }
    }
}

impl RuntimeBuilder {
    /// Listens on `addr` (port 0 picks a free port). Default `127.0.0.1:0`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The IP written into UPIDs (needed when binding `0.0.0.0`; default: the bound IP,
    /// or `127.0.0.1` for an unspecified bind address).
    pub fn advertise_ip(mut self, ip: IpAddr) -> Self {
        self.advertise_ip = Some(ip);
        self
    }

    /// Shares `clock` (one virtual clock for several runtimes). Default: a new clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The process that receives HTTP requests whose first path segment names no process.
    pub fn delegate(mut self, id: impl Into<String>) -> Self {
        self.delegate = Some(id.into());
        self
    }

    /// The largest accepted request body; larger ones get `413`.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }

    /// Joins an in-memory network: messages to other members skip the sockets.
    pub fn network(mut self, network: &Network) -> Self {
        self.network = Some(network.clone());
        self
    }

    /// How many worker threads serve HTTP and run processes and connections (default 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// The seed for this runtime's randomness (visit orders, back-off jitter), so a
    /// paused-clock test replays exactly. Default: a random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether to spawn the built-in `metrics` process serving `/metrics/snapshot` (default on).
    pub fn metrics_process(mut self, on: bool) -> Self {
        self.metrics_process = on;
        self
    }

    /// Binds the socket, starts the runtime thread and returns once the server listens.
    pub fn start(self) -> Result<Runtime, RuntimeError> {
        let listener =
            std::net::TcpListener::bind(self.bind).map_err(|source| RuntimeError::Bind {
                addr: self.bind,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| RuntimeError::Bind {
            addr: self.bind,
            source,
        })?;
        let ip = self.advertise_ip.unwrap_or(if bound.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            bound.ip()
        });
        let addr = SocketAddr::new(ip, bound.port());
        let (tx, rx) = std::sync::mpsc::channel::<Result<Arc<Core>, String>>();
        let builder = self.clone();
        std::thread::Builder::new()
            .name(format!("libprocess-{}", addr.port()))
            .spawn(move || runtime_thread(builder, listener, addr, tx))
            .map_err(|e| RuntimeError::Start(e.to_string()))?;
        let core = rx
            .recv()
            .map_err(|e| RuntimeError::Start(e.to_string()))?
            .map_err(RuntimeError::Start)?;
        if let Some(net) = &core.network {
            net.join(addr, Arc::downgrade(&core));
        }
        tracing::info!(address = %addr, "libprocess runtime listening");
        let rt = Runtime { core };
        if self.metrics_process {
            let _ = rt.spawn("metrics", MetricsProcess);
        }
        Ok(rt)
    }
}

fn runtime_thread(
    b: RuntimeBuilder,
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tx: std::sync::mpsc::Sender<Result<Arc<Core>, String>>,
) {
    let system = actix_rt::System::new();
    let started = system.block_on(async move {
        let (done, _) = tokio::sync::watch::channel(false);
        let core = Arc::new_cyclic(|me| Core {
            me: me.clone(),
            addr,
            anonymous: Upid::new("", addr),
            seed: b.seed.unwrap_or_else(random_seed),
            clock: b.clock.clone().unwrap_or_default(),
            processes: DashMap::default(),
            ids: IdGenerator::new(),
            delegate: b.delegate.clone(),
            max_body: b.max_body,
            metrics: Metrics::new(),
            filters: Filters::default(),
            peers: Mutex::new(HashMap::new()),
            local_links: Mutex::new(HashMap::new()),
            network: b.network.clone(),
            workers: OnceLock::new(),
            next_worker: AtomicUsize::new(0),
            io: Arbiter::current(),
            closed: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            all_ended: tokio::sync::Notify::new(),
            done,
            server: Mutex::new(None),
            next_gen: AtomicU64::new(0),
        });
        let (server, workers) = match inbound::server(&core, listener, b.threads) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return None;
            }
        };
        *core.server.lock() = Some(server.handle());
        // The server starts its workers when first polled; wait for them before handing out
        // the runtime, since processes run on them.
        let (stopped_tx, stopped_rx) = oneshot::channel();
        actix_rt::spawn(async move {
            let _ = stopped_tx.send(server.await);
        });
        let workers: Vec<ArbiterHandle> = workers.take(b.threads).collect().await;
        if workers.len() < b.threads {
            let _ = tx.send(Err("http workers failed to start".to_string()));
            return Some(core);
        }
        let _ = core.workers.set(workers);
        let _ = tx.send(Ok(core.clone()));
        match stopped_rx.await {
            Ok(Err(e)) => tracing::error!(error = %e, "http server failed"),
            Err(_) => tracing::error!("http server task vanished"),
            Ok(Ok(())) => {}
        }
        Some(core)
    });
    // Dropping the system stops its arbiter; the worker arbiters stopped with the server,
    // closing the outbound connections, so peers see them go.
    drop(system);
    if let Some(core) = started {
        core.peers.lock().clear();
        core.done.send_replace(true);
    }
}

fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    // The std hasher's per-process random keys; no wall clock needed.
    std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
}

/// A fast multiply-rotate hash for process ids: the registry is read on every local send,
/// and SipHash's flood resistance buys little for ids chosen by our own peers.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// The shared state behind a runtime handle.
pub(crate) struct Core {
    pub(crate) me: Weak<Core>,
    pub(crate) addr: SocketAddr,
    anonymous: Upid,
    seed: u64,
    clock: Clock,
    pub(crate) processes: DashMap<Arc<str>, Arc<dyn AnyMailbox>, BuildHasherDefault<IdHasher>>,
    ids: IdGenerator,
    pub(crate) delegate: Option<String>,
    pub(crate) max_body: usize,
    metrics: Metrics,
    pub(crate) filters: Filters,
    pub(crate) peers: Mutex<HashMap<SocketAddr, Peer>>,
    local_links: Mutex<HashMap<String, Vec<Upid>>>,
    pub(crate) network: Option<Network>,
    /// The HTTP worker threads; processes and outbound connections run on them too, so a
    /// delivery from the server to a process wakes a task on the same thread.
    workers: OnceLock<Vec<ArbiterHandle>>,
    next_worker: AtomicUsize,
    pub(crate) io: ArbiterHandle,
    pub(crate) closed: AtomicBool,
    live: AtomicUsize,
    all_ended: tokio::sync::Notify,
    done: tokio::sync::watch::Sender<bool>,
    server: Mutex<Option<actix_web::dev::ServerHandle>>,
    pub(crate) next_gen: AtomicU64,
}

/// What became of a message that arrived over HTTP.
pub(crate) enum Inbound {
    Accepted,
    NoSuchProcess,
    Malformed(DecodeError),
}

impl Core {
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The next worker thread, round robin.
    pub(crate) fn worker(&self) -> &ArbiterHandle {
        match self.workers.get() {
            Some(w) if !w.is_empty() => {
                &w[self.next_worker.fetch_add(1, Ordering::Relaxed) % w.len()]
            }
            _ => &self.io,
        }
    }

    pub(crate) fn spawn_task(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if !self.io.spawn(fut) {
            tracing::debug!("runtime is shut down; dropping a deferred task");
        }
    }

    /// Sends a typed message: into a local mailbox, across the in-memory network, or encoded
    /// over HTTP.
    pub(crate) fn route<M: Message>(&self, from: &Upid, to: &Upid, msg: M) {
        tracing::trace!(%from, %to, message = %M::name(), "send");
        if to.address() == self.addr {
            self.deliver_local(from, to, Box::new(msg));
            return;
        }
        if let Some(peer) = self.network.as_ref().and_then(|n| n.get(to.address())) {
            peer.deliver_local(from, to, Box::new(msg));
            return;
        }
        let body = msg.encode();
        self.send_remote(from, to, &M::name(), &body);
    }

    /// Puts a decoded message into a local mailbox after the filters; false if not delivered.
    pub(crate) fn deliver_local(&self, from: &Upid, to: &Upid, body: Box<dyn Any + Send>) -> bool {
        let Some(mailbox) = self.processes.get(to.id()) else {
            tracing::debug!(%from, %to, "dropping a message for a process that does not exist");
            return false;
        };
        self.deliver_to(&**mailbox, from, to, body)
    }

    /// The mailbox of local process `id`, if it runs.
    pub(crate) fn lookup(&self, id: &str) -> Option<Arc<dyn AnyMailbox>> {
        self.processes.get(id).map(|m| m.value().clone())
    }

    /// Delivers into a known mailbox after the filters; false if not delivered.
    pub(crate) fn deliver_to(
        &self,
        mailbox: &dyn AnyMailbox,
        from: &Upid,
        to: &Upid,
        body: Box<dyn Any + Send>,
    ) -> bool {
        let name = || mailbox.name_of((*body).type_id());
        if self.filters.check_message(from, to, &*body, &name) {
            tracing::debug!(%from, %to, "message dropped by a filter");
            return false;
        }
        mailbox.deliver(from.clone(), body)
    }

    /// Decodes and delivers a message that arrived over HTTP.
    pub(crate) fn receive_encoded(
        &self,
        from: Upid,
        to_id: &str,
        name: &str,
        body: &[u8],
    ) -> Inbound {
        let Some(entry) = self.processes.get(to_id) else {
            return Inbound::NoSuchProcess;
        };
        match entry.decode(name, body) {
            None => {
                tracing::debug!(%from, to = to_id, message = name, "dropping a message with an unknown name");
                Inbound::Accepted
            }
            Some(Err(e)) => Inbound::Malformed(e),
            Some(Ok(msg)) => {
                if self.filters.is_active()
                    && self.filters.check_message(
                        &from,
                        &Upid::new(entry.key(), self.addr),
                        &*msg,
                        &|| Some(name.to_string()),
                    )
                {
                    tracing::debug!(%from, to = to_id, message = name, "message dropped by a filter");
                } else {
                    entry.deliver(from, msg);
                }
                Inbound::Accepted
            }
        }
    }

    /// Hands an HTTP request to process `id`; false if there is no such process.
    pub(crate) fn http_to(&self, id: &str, req: Request, reply: oneshot::Sender<Response>) -> bool {
        match self.processes.get(id) {
            Some(mb) => mb.http(req, reply),
            None => false,
        }
    }

    /// Tells local process `linker` that `about` went away (after the exited filters).
    pub(crate) fn deliver_exited(&self, linker: &Upid, about: &Upid) {
        if linker.address() != self.addr {
            return;
        }
        let Some(mb) = self.processes.get(linker.id()) else {
            return;
        };
        if self.filters.check_exited(about, linker) {
            tracing::debug!(to = %linker, exited = %about, "exited dropped by a filter");
            return;
        }
        tracing::debug!(to = %linker, exited = %about, "exited");
        mb.exited(about.clone());
    }

    pub(crate) fn link(&self, linker: &Upid, linkee: &Upid, reconnect: bool) {
        if linkee.address() == self.addr {
            let mut links = self.local_links.lock();
            if self.processes.contains_key(linkee.id()) {
                let list = links.entry(linkee.id().to_string()).or_default();
                if !list.contains(linker) {
                    list.push(linker.clone());
                }
                return;
            }
            drop(links);
            // Linking to a process that is already gone reports it at once, as libprocess does.
            self.deliver_exited(linker, linkee);
            return;
        }
        let on_network = self
            .network
            .as_ref()
            .is_some_and(|n| n.get(linkee.address()).is_some());
        outbound::link(self, linker, linkee, reconnect && !on_network, on_network);
    }

    pub(crate) fn unlink(&self, linker: &Upid, linkee: &Upid) {
        if linkee.address() == self.addr {
            if let Some(list) = self.local_links.lock().get_mut(linkee.id()) {
                list.retain(|l| l != linker);
            }
            return;
        }
        if let Some(peer) = self.peers.lock().get_mut(&linkee.address()) {
            if let Some(list) = peer.links.get_mut(linkee) {
                list.retain(|l| l != linker);
            }
        }
    }

    /// Called by a process's task when it has finished.
    pub(crate) fn process_ended(&self, upid: &Upid) {
        let linkers = {
            let mut links = self.local_links.lock();
            self.processes.remove(upid.id());
            links.remove(upid.id()).unwrap_or_default()
        };
        for l in &linkers {
            self.deliver_exited(l, upid);
        }
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.all_ended.notify_waiters();
        }
    }

    fn spawn<P: Process>(&self, id: String, p: P) -> Result<Pid<P>, SpawnError> {
        if id.is_empty() || id.contains(['/', '@']) || id.chars().any(char::is_whitespace) {
            return Err(SpawnError::BadId(id));
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(SpawnError::Shutdown(id));
        }
        let core = self
            .me
            .upgrade()
            .ok_or_else(|| SpawnError::Shutdown(id.clone()))?;
        let key: Arc<str> = id.as_str().into();
        let (pid, rx) = process::prepare::<P>(&core, Upid::new(&id, self.addr));
        match self.processes.entry(key) {
            dashmap::Entry::Occupied(_) => return Err(SpawnError::Duplicate(id)),
            dashmap::Entry::Vacant(v) => {
                v.insert(pid.mailbox().clone() as Arc<dyn AnyMailbox>);
            }
        }
        self.live.fetch_add(1, Ordering::SeqCst);
        self.clock.work_started();
        if !self.worker().spawn(process::run(core, p, pid.clone(), rx)) {
            self.processes.remove(id.as_str());
            self.live.fetch_sub(1, Ordering::SeqCst);
            self.clock.work_done();
            return Err(SpawnError::Shutdown(id));
        }
        if self.closed.load(Ordering::SeqCst) {
            pid.terminate();
        }
        Ok(pid)
    }

    async fn wait_all_ended(&self) {
        loop {
            let notified = self.all_ended.notified();
            futures::pin_mut!(notified);
            notified.as_mut().enable();
            if self.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A handle to a running runtime. Cheap to clone; usable from any thread or executor.
#[derive(Clone)]
pub struct Runtime {
    core: Arc<Core>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runtime({})", self.core.addr)
    }
}

impl Runtime {
    /// A builder with the defaults (`127.0.0.1:0`, a new clock, 4 MiB bodies).
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Starts a runtime with the defaults.
    pub fn start() -> Result<Runtime, RuntimeError> {
        RuntimeBuilder::default().start()
    }

    pub(crate) fn from_core(core: Arc<Core>) -> Self {
        Runtime { core }
    }

    /// The address peers reach this runtime at (the port is the bound one).
    pub fn address(&self) -> SocketAddr {
        self.core.addr
    }

    /// The anonymous sender UPID of this runtime (`@ip:port`).
    pub fn anonymous(&self) -> Upid {
        self.core.anonymous.clone()
    }

    /// The UPID process `id` has (or would have) on this runtime.
    pub fn upid(&self, id: &str) -> Upid {
        Upid::new(id, self.core.addr)
    }

    /// This runtime's clock.
    pub fn clock(&self) -> &Clock {
        self.core.clock()
    }

    /// The seed for this runtime's randomness (see [`RuntimeBuilder::seed`]).
    pub fn seed(&self) -> u64 {
        self.core.seed
    }

    /// This runtime's metrics registry.
    pub fn metrics(&self) -> &Metrics {
        self.core.metrics()
    }

    /// A fresh id in Mesos style: `prefix(1)`, `prefix(2)`, ...
    pub fn generate_id(&self, prefix: &str) -> String {
        self.core.ids.generate(prefix)
    }

    /// Starts `process` under `id` (see [`Runtime::generate_id`]).
    pub fn spawn<P: Process>(
        &self,
        id: impl Into<String>,
        process: P,
    ) -> Result<Pid<P>, SpawnError> {
        self.core.spawn(id.into(), process)
    }

    /// True while a process with this UPID runs on this runtime.
    pub fn is_alive(&self, pid: &Upid) -> bool {
        pid.address() == self.core.addr && self.core.processes.contains_key(pid.id())
    }

    /// A typed handle to a local process, if it runs and has type `P`.
    pub fn pid<P: Process>(&self, upid: &Upid) -> Option<Pid<P>> {
        if upid.address() != self.core.addr {
            return None;
        }
        let mb = self.core.processes.get(upid.id())?.clone();
        let mb = mb.as_any().downcast::<Mailbox<P>>().ok()?;
        Some(Pid::from_parts(upid.clone(), mb))
    }

    /// Terminates a local process (after its current event); false if there is none.
    pub fn terminate(&self, pid: &Upid) -> bool {
        if pid.address() != self.core.addr {
            return false;
        }
        match self.core.processes.get(pid.id()) {
            Some(mb) => {
                mb.terminate();
                true
            }
            None => false,
        }
    }

    /// Sends `msg` to `to` from this runtime's anonymous sender. Never blocks.
    pub fn send<M: Message>(&self, to: &Upid, msg: M) {
        self.core.route(&self.core.anonymous, to, msg);
    }

    /// Sends `msg` to `to` claiming sender `from`. Never blocks.
    pub fn send_from<M: Message>(&self, from: &Upid, to: &Upid, msg: M) {
        self.core.route(from, to, msg);
    }

    /// Runs `f` on the actor behind `pid`; see [`Pid::dispatch`].
    pub fn dispatch<P: Process, R: Send + 'static>(
        &self,
        pid: &Pid<P>,
        f: impl FnOnce(&mut P, &mut crate::Context<P>) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R, crate::DispatchError>> + Send + 'static {
        pid.dispatch(f)
    }

    /// Sends `req` to `to` from a temporary process and waits for the first `Resp` from `to`,
    /// at most `timeout` of clock time.
    pub fn ask<Req: Message, Resp: Message>(
        &self,
        to: &Upid,
        req: Req,
        timeout: Duration,
    ) -> impl Future<Output = Result<Resp, AskError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let asker = Asker::<Req, Resp> {
            to: to.clone(),
            request: Some(req),
            timeout,
            reply: Some(tx),
            timer: None,
        };
        let id = self.generate_id("__ask__");
        let spawned = self.spawn(id, asker).is_ok();
        let to = to.clone();
        async move {
            if !spawned {
                return Err(AskError::Shutdown(to));
            }
            rx.await.unwrap_or(Err(AskError::Shutdown(to)))
        }
    }

    /// This runtime's test filters.
    #[cfg(feature = "testing")]
    pub fn filters(&self) -> &Filters {
        &self.core.filters
    }

    /// The in-memory network this runtime joined, if any.
    pub fn network(&self) -> Option<&Network> {
        self.core.network.as_ref()
    }

    /// Shuts the runtime down: terminates every process (running `finalize`), stops the
    /// server and closes every connection (so peers linked to us get `exited`). Starts at
    /// once; the returned future completes when everything has stopped.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let core = self.core.clone();
        if !core.closed.swap(true, Ordering::SeqCst) {
            if let Some(net) = &core.network {
                net.leave(core.addr);
            }
            for entry in core.processes.iter() {
                entry.value().terminate();
            }
            let c = core.clone();
            let spawned = core.io.spawn(async move {
                c.wait_all_ended().await;
                let server = c.server.lock().take();
                if let Some(server) = server {
                    server.stop(false).await;
                }
            });
            if !spawned {
                core.done.send_replace(true);
            }
        }
        let mut done = core.done.subscribe();
        async move {
            let _ = done.wait_for(|d| *d).await;
        }
    }

    /// [`Runtime::shutdown`] for synchronous code.
    pub fn shutdown_blocking(&self) {
        futures::executor::block_on(self.shutdown());
    }
}

/// The built-in process serving `/metrics/snapshot`.
struct MetricsProcess;

impl Process for MetricsProcess {
    fn handlers(_h: &mut Handlers<Self>) {}

    fn routes(r: &mut Routes<Self>) {
        r.get("snapshot", |_, ctx, _| {
            Response::json(&serde_json::Value::Object(ctx.metrics().snapshot()))
        });
    }
}

//! Processes: actors with one handler table, HTTP routes and lifecycle hooks.
//!
//! A process owns its state and sees one event at a time (messages, dispatched closures,
//! `exited` notices, HTTP requests), in mailbox order. Its handlers are declared in one place,
//! [`Process::handlers`]: one handler per message type. A panic in any hook or handler is
//! caught, logged, and terminates that process only (its linkers get `exited`; `finalize` does
//! not run, since the state may be half-updated).

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::channel::oneshot;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::context::Context;
use crate::dispatch::DispatchError;
use crate::http::{Reply, Request, Response};
use crate::message::{DecodeError, Message};
use crate::pid::Upid;
use crate::runtime::Core;

/// An actor. Implement `handlers` (and optionally the hooks); spawn it with
/// [`Runtime::spawn`](crate::Runtime::spawn).
pub trait Process: Send + Sized + 'static {
    /// Declares this actor's message handlers: `h.on::<Ping>(|p, ctx, from, msg| ...)`.
    fn handlers(h: &mut Handlers<Self>);

    /// Declares this actor's HTTP routes: `r.get("state", |p, ctx, req| ...)`.
    fn routes(_r: &mut Routes<Self>) {}

    /// Runs once, before any event.
    fn initialize(&mut self, _ctx: &mut Context<Self>) {}

    /// Runs once when the process terminates normally (not after a panic).
    fn finalize(&mut self, _ctx: &mut Context<Self>) {}

    /// A linked process went away (see `Context::link`).
    fn exited(&mut self, _ctx: &mut Context<Self>, _pid: &Upid) {}
}

type HandlerFn<P> = Box<dyn Fn(&mut P, &mut Context<P>, &Upid, Box<dyn Any + Send>) + Send + Sync>;
type DecodeFn = fn(&[u8]) -> Result<Box<dyn Any + Send>, DecodeError>;
type RouteFn<P> = Box<dyn Fn(&mut P, &mut Context<P>, Request) -> Reply + Send + Sync>;

/// Hashes a `TypeId` by taking the bits it writes (they are already a hash).
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_ne_bytes(buf);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type TypeMap<V> = HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// One actor's message handler table, built once per spawn by [`Process::handlers`].
pub struct Handlers<P: Process> {
    by_type: TypeMap<(Cow<'static, str>, HandlerFn<P>)>,
    by_name: HashMap<Cow<'static, str>, DecodeFn>,
}

fn decode_boxed<M: Message>(bytes: &[u8]) -> Result<Box<dyn Any + Send>, DecodeError> {
    M::decode(bytes).map(|m| Box::new(m) as Box<dyn Any + Send>)
}

impl<P: Process> Handlers<P> {
    fn new() -> Self {
        Handlers {
            by_type: TypeMap::default(),
            by_name: HashMap::new(),
        }
    }

    /// Handles message type `M`; a second handler for the same type replaces the first.
    pub fn on<M: Message>(
        &mut self,
        f: impl Fn(&mut P, &mut Context<P>, &Upid, M) + Send + Sync + 'static,
    ) -> &mut Self {
        let handler: HandlerFn<P> = Box::new(move |p, ctx, from, body| {
            if let Ok(m) = body.downcast::<M>() {
                f(p, ctx, from, *m);
            }
        });
        self.by_type.insert(TypeId::of::<M>(), (M::name(), handler));
        self.by_name.insert(M::name(), decode_boxed::<M>);
        self
    }

    pub(crate) fn decode(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Option<Result<Box<dyn Any + Send>, DecodeError>> {
        self.by_name.get(name).map(|d| d(bytes))
    }
}

/// One actor's HTTP route table, built once per spawn by [`Process::routes`].
pub struct Routes<P: Process> {
    routes: HashMap<(String, String), RouteFn<P>>,
}

impl<P: Process> Routes<P> {
    fn new() -> Self {
        Routes {
            routes: HashMap::new(),
        }
    }

    /// Serves `method` (upper-case, or `*` for any) on `path` below the process id; a `path`
    /// ending in `/*` also serves every path below it.
    pub fn route<R: Into<Reply>>(
        &mut self,
        method: &str,
        path: &str,
        f: impl Fn(&mut P, &mut Context<P>, Request) -> R + Send + Sync + 'static,
    ) -> &mut Self {
        let path = path.trim_start_matches('/').to_string();
        self.routes.insert(
            (method.to_ascii_uppercase(), path),
            Box::new(move |p, ctx, req| f(p, ctx, req).into()),
        );
        self
    }

    /// Serves `GET path`.
    pub fn get<R: Into<Reply>>(
        &mut self,
        path: &str,
        f: impl Fn(&mut P, &mut Context<P>, Request) -> R + Send + Sync + 'static,
    ) -> &mut Self {
        self.route("GET", path, f)
    }

    /// Serves `POST path`.
    pub fn post<R: Into<Reply>>(
        &mut self,
        path: &str,
        f: impl Fn(&mut P, &mut Context<P>, Request) -> R + Send + Sync + 'static,
    ) -> &mut Self {
        self.route("POST", path, f)
    }

    /// Serves every method on `path`.
    pub fn any<R: Into<Reply>>(
        &mut self,
        path: &str,
        f: impl Fn(&mut P, &mut Context<P>, Request) -> R + Send + Sync + 'static,
    ) -> &mut Self {
        self.route("*", path, f)
    }

    fn find(&self, method: &str, path: &str) -> Option<&RouteFn<P>> {
        let path = path.trim_end_matches('/');
        let exact = |p: &str| {
            self.routes
                .get(&(method.to_string(), p.to_string()))
                .or_else(|| self.routes.get(&("*".to_string(), p.to_string())))
        };
        if let Some(r) = exact(path) {
            return Some(r);
        }
        // Opt-in prefix routes: `quota/*` serves `quota/<anything>` (longest prefix wins),
        // as libprocess serves `/quota/<role>` from its `/quota` route.
        let mut prefix = path;
        while let Some((head, _)) = prefix.rsplit_once('/') {
            if let Some(r) = exact(&format!("{head}/*")) {
                return Some(r);
            }
            prefix = head;
        }
        None
    }
}

/// A closure run on the actor (from `dispatch`, `defer` or `delay`).
pub(crate) type DispatchFn<P> = Box<dyn FnOnce(&mut P, &mut Context<P>) + Send>;

/// One entry in a process's mailbox.
pub(crate) enum Event<P: Process> {
    Message {
        from: Upid,
        body: Box<dyn Any + Send>,
    },
    Dispatch(DispatchFn<P>),
    Exited(Upid),
    // Boxed: a request is large and would make every event (and every mailbox slot) large.
    Http(Box<(Request, oneshot::Sender<Response>)>),
    Terminate,
}

/// The sending side of a process's mailbox plus its (immutable) tables.
pub(crate) struct Mailbox<P: Process> {
    tx: mpsc::UnboundedSender<Event<P>>,
    clock: Clock,
    terminating: AtomicBool,
    handlers: Handlers<P>,
    routes: Routes<P>,
}

impl<P: Process> Mailbox<P> {
    /// Enqueues an event, counting it as clock work; false if the process is gone.
    pub(crate) fn enqueue(&self, ev: Event<P>) -> bool {
        self.clock.work_started();
        if self.tx.send(ev).is_err() {
            self.clock.work_done();
            return false;
        }
        true
    }
}

/// The type-erased view of a mailbox that the runtime's registry holds.
pub(crate) trait AnyMailbox: Send + Sync {
    fn is_closed(&self) -> bool;
    fn name_of(&self, t: TypeId) -> Option<String>;
    fn deliver(&self, from: Upid, body: Box<dyn Any + Send>) -> bool;
    fn exited(&self, pid: Upid) -> bool;
    fn http(&self, req: Request, reply: oneshot::Sender<Response>) -> bool;
    fn terminate(&self);
    fn decode(&self, name: &str, bytes: &[u8]) -> Option<Result<Box<dyn Any + Send>, DecodeError>>;
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<P: Process> AnyMailbox for Mailbox<P> {
    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
    fn name_of(&self, t: TypeId) -> Option<String> {
        self.handlers.by_type.get(&t).map(|(n, _)| n.to_string())
    }
    fn deliver(&self, from: Upid, body: Box<dyn Any + Send>) -> bool {
        self.enqueue(Event::Message { from, body })
    }
    fn exited(&self, pid: Upid) -> bool {
        self.enqueue(Event::Exited(pid))
    }
    fn http(&self, req: Request, reply: oneshot::Sender<Response>) -> bool {
        self.enqueue(Event::Http(Box::new((req, reply))))
    }
    fn terminate(&self) {
        // Termination overtakes queued events (libprocess injects it at the front).
        self.terminating.store(true, Ordering::Release);
        self.enqueue(Event::Terminate);
    }
    fn decode(&self, name: &str, bytes: &[u8]) -> Option<Result<Box<dyn Any + Send>, DecodeError>> {
        self.handlers.decode(name, bytes)
    }
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// A typed handle to a spawned process: its UPID plus a direct line to its mailbox.
pub struct Pid<P: Process> {
    upid: Upid,
    mailbox: Arc<Mailbox<P>>,
}

impl<P: Process> Clone for Pid<P> {
    fn clone(&self) -> Self {
        Pid {
            upid: self.upid.clone(),
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<P: Process> std::fmt::Debug for Pid<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pid({})", self.upid)
    }
}

impl<P: Process> Pid<P> {
    /// The process's UPID.
    pub fn upid(&self) -> &Upid {
        &self.upid
    }

    /// Runs `f` on the actor; the future yields its result, or an error if the process
    /// terminated first. Works on any executor.
    pub fn dispatch<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut P, &mut Context<P>) -> R + Send + 'static,
    ) -> impl std::future::Future<Output = Result<R, DispatchError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = self
            .mailbox
            .enqueue(Event::Dispatch(Box::new(move |p, ctx| {
                let _ = tx.send(f(p, ctx));
            })));
        async move {
            if !queued {
                return Err(DispatchError::Terminated);
            }
            rx.await.map_err(|_| DispatchError::Terminated)
        }
    }

    /// Runs `f` on the actor without waiting for it; false if the process is gone.
    pub fn dispatch_and_forget(
        &self,
        f: impl FnOnce(&mut P, &mut Context<P>) + Send + 'static,
    ) -> bool {
        self.mailbox.enqueue(Event::Dispatch(Box::new(f)))
    }

    /// Asks the process to terminate (after the event it is handling, before queued ones).
    pub fn terminate(&self) {
        AnyMailbox::terminate(&*self.mailbox);
    }

    pub(crate) fn mailbox(&self) -> &Arc<Mailbox<P>> {
        &self.mailbox
    }

    pub(crate) fn from_parts(upid: Upid, mailbox: Arc<Mailbox<P>>) -> Self {
        Pid { upid, mailbox }
    }
}

/// Builds the mailbox and the task that runs process `p` as `upid`.
pub(crate) fn prepare<P: Process>(
    core: &Arc<Core>,
    upid: Upid,
) -> (Pid<P>, mpsc::UnboundedReceiver<Event<P>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut handlers = Handlers::new();
    P::handlers(&mut handlers);
    let mut routes = Routes::new();
    P::routes(&mut routes);
    let mailbox = Arc::new(Mailbox {
        tx,
        clock: core.clock().clone(),
        terminating: AtomicBool::new(false),
        handlers,
        routes,
    });
    (Pid::from_parts(upid, mailbox), rx)
}

/// The actor loop: initialize, then one event at a time until terminated.
pub(crate) async fn run<P: Process>(
    core: Arc<Core>,
    mut process: P,
    pid: Pid<P>,
    mut rx: mpsc::UnboundedReceiver<Event<P>>,
) {
    let clock = core.clock().clone();
    let mailbox = pid.mailbox().clone();
    let upid = pid.upid().clone();
    let mut ctx = Context::new(core.clone(), pid);
    // `spawn` counted the initialize step as work so `settle` waits for it.
    let mut panicked = catch_unwind(AssertUnwindSafe(|| process.initialize(&mut ctx))).is_err();
    clock.work_done();
    // Events are handled in runs of up to `RUN` before their work is marked done at once and
    // the task yields: fewer atomic operations on the shared settle counter per event.
    const RUN: usize = 128;
    while !panicked && !ctx.is_terminating() && !mailbox.terminating.load(Ordering::Acquire) {
        let Some(first) = rx.recv().await else { break };
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(ev) = next.take() {
            handled += 1;
            if mailbox.terminating.load(Ordering::Acquire) {
                break;
            }
            panicked = catch_unwind(AssertUnwindSafe(|| {
                handle(&mut process, &mut ctx, &mailbox, ev)
            }))
            .is_err();
            if panicked || ctx.is_terminating() || handled == RUN {
                break;
            }
            next = rx.try_recv().ok();
        }
        clock.work_done_n(handled);
    }
    if panicked {
        tracing::error!(pid = %upid, "process panicked in a handler; terminating it");
    } else if catch_unwind(AssertUnwindSafe(|| process.finalize(&mut ctx))).is_err() {
        tracing::error!(pid = %upid, "process panicked in finalize");
    }
    drop(process);
    core.process_ended(&upid);
    rx.close();
    let mut dropped = 0;
    while rx.try_recv().is_ok() {
        dropped += 1;
    }
    clock.work_done_n(dropped);
}

fn handle<P: Process>(p: &mut P, ctx: &mut Context<P>, mailbox: &Mailbox<P>, ev: Event<P>) {
    match ev {
        Event::Message { from, body } => {
            let t = (*body).type_id();
            match mailbox.handlers.by_type.get(&t) {
                Some((name, h)) => {
                    tracing::trace!(to = %ctx.self_pid(), %from, message = %name, "deliver");
                    h(p, ctx, &from, body)
                }
                None => {
                    tracing::debug!(to = %ctx.self_pid(), %from, "dropping a message with no handler")
                }
            }
        }
        Event::Dispatch(f) => f(p, ctx),
        Event::Exited(pid) => {
            tracing::debug!(to = %ctx.self_pid(), exited = %pid, "exited");
            p.exited(ctx, &pid)
        }
        Event::Http(boxed) => {
            let (req, reply) = *boxed;
            let route = match mailbox.routes.find(&req.method, &req.route) {
                Some(r) => r,
                None => {
                    let _ = reply.send(Response::not_found());
                    return;
                }
            };
            match route(p, ctx, req) {
                Reply::Now(resp) => {
                    let _ = reply.send(resp);
                }
                Reply::Later(fut) => {
                    tokio::spawn(async move {
                        let _ = reply.send(fut.await);
                    });
                }
            }
        }
        Event::Terminate => ctx.terminate(),
    }
}

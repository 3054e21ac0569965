//! The handle a process uses while it runs: send, link, delay, defer, terminate.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, TimerId};
use crate::message::Message;
use crate::metrics::Metrics;
use crate::pid::Upid;
use crate::process::{Event, Pid, Process};
use crate::runtime::{Core, Runtime};

/// What a running process can do besides touching its own state.
pub struct Context<P: Process> {
    core: Arc<Core>,
    pid: Pid<P>,
    terminating: bool,
}

impl<P: Process> Context<P> {
    pub(crate) fn new(core: Arc<Core>, pid: Pid<P>) -> Self {
        Context {
            core,
            pid,
            terminating: false,
        }
    }

    /// This process's UPID.
    pub fn self_pid(&self) -> &Upid {
        self.pid.upid()
    }

    /// A typed handle to this process (for dispatching to it later).
    pub fn pid(&self) -> Pid<P> {
        self.pid.clone()
    }

    /// Sends `msg` to `to` (local or remote) with this process as the sender. Never blocks.
    pub fn send<M: Message>(&self, to: &Upid, msg: M) {
        self.core.route(self.pid.upid(), to, msg);
    }

    /// Watches `pid`: `exited(pid)` fires when that local process terminates, or when the
    /// connection to a remote pid's runtime breaks or cannot be made.
    pub fn link(&self, pid: &Upid) {
        self.core.link(self.pid.upid(), pid, false);
    }

    /// Like [`Context::link`], but replaces any existing connection to the pid's runtime.
    pub fn link_reconnect(&self, pid: &Upid) {
        self.core.link(self.pid.upid(), pid, true);
    }

    /// Stops watching `pid`.
    pub fn unlink(&self, pid: &Upid) {
        self.core.unlink(self.pid.upid(), pid);
    }

    /// Runs `f` on this actor once `d` of clock time has passed; cancel with the returned id.
    pub fn delay(
        &self,
        d: Duration,
        f: impl FnOnce(&mut P, &mut Context<P>) + Send + 'static,
    ) -> TimerId {
        let mailbox = self.pid.mailbox().clone();
        self.core.clock().schedule(d, move || {
            mailbox.enqueue(Event::Dispatch(Box::new(f)));
        })
    }

    /// Cancels a timer made by [`Context::delay`]; false if it already fired.
    pub fn cancel_timer(&self, id: TimerId) -> bool {
        self.core.clock().cancel(id)
    }

    /// Runs `fut` off the actor, then runs `f` with its output back on this actor. This is how
    /// a handler does asynchronous work without touching its state from another task.
    pub fn defer<F>(
        &self,
        fut: F,
        f: impl FnOnce(&mut P, &mut Context<P>, F::Output) + Send + 'static,
    ) where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mailbox = self.pid.mailbox().clone();
        self.core.spawn_task(async move {
            let out = fut.await;
            mailbox.enqueue(Event::Dispatch(Box::new(move |p, ctx| f(p, ctx, out))));
        });
    }

    /// Terminates this process once the current handler returns.
    pub fn terminate(&mut self) {
        self.terminating = true;
    }

    pub(crate) fn is_terminating(&self) -> bool {
        self.terminating
    }

    /// The runtime hosting this process.
    pub fn runtime(&self) -> Runtime {
        Runtime::from_core(self.core.clone())
    }

    /// The runtime's clock.
    pub fn clock(&self) -> &Clock {
        self.core.clock()
    }

    /// The runtime's metrics registry.
    pub fn metrics(&self) -> &Metrics {
        self.core.metrics()
    }
}

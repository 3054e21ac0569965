//! The handle a process uses while it runs: send, link, delay, defer, terminate.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, TimerId};
use crate::message::Message;
use crate::metrics::Metrics;
use crate::pid::Upid;
use crate::process::{AnyMailbox, Event, Pid, Process};
use crate::runtime::{Core, Runtime};

/// What a running process can do besides touching its own state.
pub struct Context<P: Process> {
    core: Arc<Core>,
    pid: Pid<P>,
    terminating: bool,
    last_local: RefCell<Option<(Upid, Arc<dyn AnyMailbox>)>>,
}

impl<P: Process> Context<P> {
    pub(crate) fn new(core: Arc<Core>, pid: Pid<P>) -> Self {
        Context {
            core,
            pid,
            terminating: false,
            last_local: RefCell::new(None),
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
        if to.address() != self.core.addr {
            self.core.route(self.pid.upid(), to, msg);
            return;
        }
        // Handlers often send to the same local process many times in a row: remember its
        // mailbox instead of looking the id up in the registry each time.
        let mut cache = self.last_local.borrow_mut();
        let hit = matches!(&*cache, Some((pid, mb)) if pid == to && !mb.is_closed());
        if !hit {
            *cache = self.core.lookup(to.id()).map(|mb| (to.clone(), mb));
        }
        match &*cache {
            Some((_, mb)) => {
                tracing::trace!(from = %self.pid.upid(), %to, message = %M::name(), "send");
                self.core
                    .deliver_to(&**mb, self.pid.upid(), to, Box::new(msg));
            }
            None => {
                tracing::debug!(from = %self.pid.upid(), %to, "dropping a message for a process that does not exist");
            }
        }
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

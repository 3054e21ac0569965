//! Running code on an actor from outside (`dispatch`) and request/response (`ask`).
//!
//! `dispatch` enqueues a closure on the actor and returns a plain future of its result, so it
//! works from any executor (or `block_on`). `ask` spawns an anonymous temporary process that
//! sends the request and completes on the first reply of the expected type from the
//! addressee, or with [`AskError::Timeout`] once the Clock passes the deadline.

use std::time::Duration;

use futures::channel::oneshot;

use crate::clock::TimerId;
use crate::context::Context;
use crate::message::Message;
use crate::pid::Upid;
use crate::process::{Handlers, Process};

/// Why a dispatched closure produced no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The process terminated before running the closure.
    #[error("process terminated before the dispatch ran")]
    Terminated,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// No response arrived before the deadline.
    #[error("no response from {0} before the deadline")]
    Timeout(Upid),
    /// The runtime shut down (or the temporary process could not start).
    #[error("runtime shut down before {0} answered")]
    Shutdown(Upid),
}

/// The temporary process behind `ask`.
pub(crate) struct Asker<Req: Message, Resp: Message> {
    pub(crate) to: Upid,
    pub(crate) request: Option<Req>,
    pub(crate) timeout: Duration,
    pub(crate) reply: Option<oneshot::Sender<Result<Resp, AskError>>>,
    pub(crate) timer: Option<TimerId>,
}

impl<Req: Message, Resp: Message> Process for Asker<Req, Resp> {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Resp>(|p, ctx, from, resp| {
            if *from != p.to {
                return;
            }
            if let Some(tx) = p.reply.take() {
                let _ = tx.send(Ok(resp));
            }
            // Release the timer now rather than when it would have fired.
            if let Some(timer) = p.timer.take() {
                ctx.cancel_timer(timer);
            }
            ctx.terminate();
        });
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.timer = Some(ctx.delay(self.timeout, |p, ctx| {
            if let Some(tx) = p.reply.take() {
                let _ = tx.send(Err(AskError::Timeout(p.to.clone())));
            }
            ctx.terminate();
        }));
        if let Some(req) = self.request.take() {
            ctx.send(&self.to, req);
        }
    }
}

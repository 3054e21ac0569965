//! libprocess-rs: the actor runtime every other crate stands on.
//!
//! Everything is a process (an actor) with a UPID `id@ip:port`. Processes exchange typed
//! messages: locally by moving the value into the receiver's mailbox, remotely as
//! `POST /<id>/<MessageName>` with a `Libprocess-From` header and an encoded body, over one
//! persistent pipelined connection per peer runtime. Time comes only from the [`Clock`], which
//! tests pause, advance and `settle`; test filters await, observe or drop messages.
//!
//! One module per concept: [`pid`], [`message`], [`process`], [`context`], [`dispatch`],
//! [`clock`], [`transport`], [`http`], [`filter`], [`metrics`], [`runtime`]. The crate's
//! README states the runtime's semantics (ordering, delivery, exited, termination, panics).
//! actix and actix-web are the execution substrate; none of their types is public here.

pub mod clock;
pub mod context;
pub mod dispatch;
pub mod filter;
pub mod flags;
pub mod http;
pub mod message;
pub mod metrics;
pub mod pid;
pub mod process;
pub mod runtime;
pub mod transport;

pub use clock::{Clock, Elapsed, Sleep, Time, TimerId};
pub use context::Context;
pub use dispatch::{AskError, DispatchError};
pub use filter::{FilterId, Filters, PidMatch};
pub use http::{Body, Reply, Request, Response};
pub use message::{DecodeError, Message};
pub use metrics::{Counter, Gauge, Metrics, Timer};
pub use pid::{IdGenerator, Upid, UpidError};
pub use process::{Handlers, Pid, Process, Routes};
pub use runtime::{Runtime, RuntimeBuilder, RuntimeError, SpawnError, DEFAULT_MAX_BODY};
pub use transport::network::Network;

#[doc(hidden)]
pub use message::__private;

/// Runs a future to completion on the current thread (for plain `#[test]`s and examples).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    futures::executor::block_on(fut)
}

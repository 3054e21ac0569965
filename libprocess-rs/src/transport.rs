//! Moving messages between runtimes.
//!
//! - `inbound`: the HTTP server. `POST /<id>/<name>` with `Libprocess-From` (or
//!   `User-Agent: libprocess/<upid>`) is a message: decoded on the server thread with the
//!   target's handler table and enqueued before the `202` is written, so per-connection
//!   arrival order is delivery order. Anything else is an HTTP request for a process's routes.
//! - `outbound`: one persistent, pipelined TCP connection per remote address, written by a
//!   task that coalesces queued requests into few writes and keeps at most a window of them
//!   unanswered (flow control only: senders never wait).
//! - [`network`]: an optional in-memory shortcut between runtimes of one OS process.

pub(crate) mod inbound;
pub mod network;
pub(crate) mod outbound;

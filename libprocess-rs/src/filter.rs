//! Test filters: await, observe or drop messages and `exited` notices, per runtime.
//!
//! Filters act on the receiving runtime, just before an event enters a mailbox (for local
//! sends, in-memory network sends and HTTP deliveries alike). Each runtime has its own set,
//! so tests run in parallel. The public API is behind the `testing` cargo feature.
//!
//! Matching is by message type (`M`), sender and receiver; [`PidMatch::Any`] is the `_`
//! wildcard. Filters are checked in registration order; every matching filter acts: an
//! awaiting filter is satisfied (with a copy of the message, made by encoding and decoding
//! it) and retires; a dropping filter discards the event (once, or always).
#![cfg_attr(not(feature = "testing"), allow(dead_code))]

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::channel::oneshot;
use parking_lot::Mutex;

use crate::message::Message;
use crate::pid::Upid;

/// Matches a sender or receiver: any pid, or one pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidMatch {
    /// The `_` wildcard.
    Any,
    /// Exactly this pid.
    Pid(Upid),
}

impl PidMatch {
    fn matches(&self, pid: &Upid) -> bool {
        match self {
            PidMatch::Any => true,
            PidMatch::Pid(p) => p == pid,
        }
    }
}

impl From<&Upid> for PidMatch {
    fn from(p: &Upid) -> Self {
        PidMatch::Pid(p.clone())
    }
}

impl From<Upid> for PidMatch {
    fn from(p: Upid) -> Self {
        PidMatch::Pid(p)
    }
}

impl<P: crate::Process> From<&crate::Pid<P>> for PidMatch {
    fn from(p: &crate::Pid<P>) -> Self {
        PidMatch::Pid(p.upid().clone())
    }
}

/// Identifies an installed filter so it can be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FilterId(u64);

type Sink = Box<dyn FnMut(&Upid, &Upid, &(dyn Any + Send)) + Send>;

enum Kind {
    Message(TypeId),
    Named(String),
    Exited,
}

struct Entry {
    id: u64,
    kind: Kind,
    from: PidMatch,
    to: PidMatch,
    drop: bool,
    once: bool,
    sink: Option<Sink>,
}

/// One runtime's filters.
#[derive(Default)]
pub struct Filters {
    active: AtomicUsize,
    entries: Mutex<Vec<Entry>>,
    next: AtomicUsize,
}

fn copy_of<M: Message>(m: &M) -> Option<M> {
    M::decode(&m.encode()).ok()
}

impl Filters {
    fn install(
        &self,
        kind: Kind,
        from: PidMatch,
        to: PidMatch,
        drop: bool,
        once: bool,
        sink: Option<Sink>,
    ) -> FilterId {
        let id = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        let mut entries = self.entries.lock();
        entries.push(Entry {
            id,
            kind,
            from,
            to,
            drop,
            once,
            sink,
        });
        self.active.store(entries.len(), Ordering::Release);
        FilterId(id)
    }

    fn once_sink<M: Message>(tx: oneshot::Sender<M>) -> Sink {
        let mut tx = Some(tx);
        Box::new(move |_, _, any| {
            if let (Some(tx), Some(m)) = (tx.take(), any.downcast_ref::<M>().and_then(copy_of)) {
                let _ = tx.send(m);
            }
        })
    }

    /// A future of the next `M` from `from` to `to` (observed, still delivered).
    pub fn future_message<M: Message>(
        &self,
        from: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> oneshot::Receiver<M> {
        let (tx, rx) = oneshot::channel();
        let kind = Kind::Message(TypeId::of::<M>());
        self.install(
            kind,
            from.into(),
            to.into(),
            false,
            true,
            Some(Self::once_sink(tx)),
        );
        rx
    }

    /// Drops the next `M` from `from` to `to`; the future yields the dropped message.
    pub fn drop_message<M: Message>(
        &self,
        from: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> oneshot::Receiver<M> {
        let (tx, rx) = oneshot::channel();
        let kind = Kind::Message(TypeId::of::<M>());
        self.install(
            kind,
            from.into(),
            to.into(),
            true,
            true,
            Some(Self::once_sink(tx)),
        );
        rx
    }

    /// Drops every `M` from `from` to `to` until the filter is removed.
    pub fn drop_messages<M: Message>(
        &self,
        from: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> FilterId {
        self.install(
            Kind::Message(TypeId::of::<M>()),
            from.into(),
            to.into(),
            true,
            false,
            None,
        )
    }

    /// Drops the next message with wire name `name` (whatever its Rust type); the future
    /// yields the sender once it is dropped.
    pub fn drop_message_named(
        &self,
        name: &str,
        from: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> oneshot::Receiver<Upid> {
        let (tx, rx) = oneshot::channel();
        let kind = Kind::Named(name.to_string());
        self.install(
            kind,
            from.into(),
            to.into(),
            true,
            true,
            Some(exited_sink(tx)),
        );
        rx
    }

    /// Drops every message with wire name `name` until the filter is removed.
    pub fn drop_messages_named(
        &self,
        name: &str,
        from: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> FilterId {
        let kind = Kind::Named(name.to_string());
        self.install(kind, from.into(), to.into(), true, false, None)
    }

    /// Calls `f(from, to, &msg)` for every `M` from `from` to `to` (still delivered).
    pub fn observe<M: Message>(
        &self,
        from: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
        mut f: impl FnMut(&Upid, &Upid, &M) + Send + 'static,
    ) -> FilterId {
        let sink: Sink = Box::new(move |from, to, any| {
            if let Some(m) = any.downcast_ref::<M>() {
                f(from, to, m);
            }
        });
        let kind = Kind::Message(TypeId::of::<M>());
        self.install(kind, from.into(), to.into(), false, false, Some(sink))
    }

    /// A future that completes when `exited(about)` is delivered to `to`.
    pub fn future_exited(
        &self,
        about: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> oneshot::Receiver<Upid> {
        let (tx, rx) = oneshot::channel();
        self.install(
            Kind::Exited,
            about.into(),
            to.into(),
            false,
            true,
            Some(exited_sink(tx)),
        );
        rx
    }

    /// Drops the next `exited(about)` meant for `to`; the future completes when it is dropped.
    pub fn drop_exited(
        &self,
        about: impl Into<PidMatch>,
        to: impl Into<PidMatch>,
    ) -> oneshot::Receiver<Upid> {
        let (tx, rx) = oneshot::channel();
        self.install(
            Kind::Exited,
            about.into(),
            to.into(),
            true,
            true,
            Some(exited_sink(tx)),
        );
        rx
    }

    /// Removes one filter.
    pub fn remove(&self, id: FilterId) {
        let mut entries = self.entries.lock();
        entries.retain(|e| e.id != id.0);
        self.active.store(entries.len(), Ordering::Release);
    }

    /// Removes every filter.
    pub fn clear(&self) {
        let mut entries = self.entries.lock();
        entries.clear();
        self.active.store(0, Ordering::Release);
    }

    /// True if any filter is installed.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire) > 0
    }

    /// Runs the message filters; true if the message must be dropped. `name` gives the
    /// message's wire name (only asked for when a by-name filter is installed).
    pub(crate) fn check_message(
        &self,
        from: &Upid,
        to: &Upid,
        msg: &(dyn Any + Send),
        name: &dyn Fn() -> Option<String>,
    ) -> bool {
        if self.active.load(Ordering::Acquire) == 0 {
            return false;
        }
        let t = msg.type_id();
        let mut wire_name: Option<Option<String>> = None;
        self.check(
            |k| match k {
                Kind::Message(m) => *m == t,
                Kind::Named(n) => wire_name.get_or_insert_with(name).as_deref() == Some(n),
                Kind::Exited => false,
            },
            from,
            to,
            msg,
        )
    }

    /// Runs the exited filters; true if the notice must be dropped.
    pub(crate) fn check_exited(&self, about: &Upid, to: &Upid) -> bool {
        if self.active.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.check(|k| matches!(k, Kind::Exited), about, to, &about.clone())
    }

    fn check(
        &self,
        mut kind: impl FnMut(&Kind) -> bool,
        from: &Upid,
        to: &Upid,
        msg: &(dyn Any + Send),
    ) -> bool {
        let mut entries = self.entries.lock();
        let mut dropped = false;
        entries.retain_mut(|e| {
            if !kind(&e.kind) || !e.from.matches(from) || !e.to.matches(to) {
                return true;
            }
            if let Some(sink) = e.sink.as_mut() {
                sink(from, to, msg);
            }
            dropped |= e.drop;
            !e.once
        });
        self.active.store(entries.len(), Ordering::Release);
        dropped
    }
}

fn exited_sink(tx: oneshot::Sender<Upid>) -> Sink {
    let mut tx = Some(tx);
    Box::new(move |about, _, _| {
        if let Some(tx) = tx.take() {
            let _ = tx.send(about.clone());
        }
    })
}

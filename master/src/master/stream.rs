//! A framework's (or operator's) event stream: RecordIO records of `Event`s in JSON or
//! protobuf, pushed into an HTTP streaming response.
//!
//! The response body owns the receiving end; when the HTTP layer drops it (the client
//! went away, or the master dropped the sender and the body ended) it runs `on_close`,
//! which tells the master the subscription is gone.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc;

/// The sending side of one subscription.
#[derive(Debug, Clone)]
pub struct EventStream {
    /// The `Mesos-Stream-Id` given to the subscriber.
    pub stream_id: String,
    /// Whether records are protobuf (else JSON).
    pub protobuf: bool,
    tx: mpsc::UnboundedSender<Bytes>,
}

/// The response body of a subscription.
pub struct StreamBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl Stream for StreamBody {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        if let Some(f) = self.on_close.take() {
            f();
        }
    }
}

impl EventStream {
    /// A new stream with the given id; `on_close` runs once the body is dropped.
    pub fn new(
        stream_id: String,
        protobuf: bool,
        on_close: impl FnOnce() + Send + 'static,
    ) -> (EventStream, StreamBody) {
        let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
        (
            EventStream {
                stream_id,
                protobuf,
                tx,
            },
            StreamBody {
                rx,
                on_close: Some(Box::new(on_close)),
            },
        )
    }

    /// Sends one event as a RecordIO record; false if the subscriber went away.
    pub fn send<M: prost::Message + prost::Name>(&self, event: &M) -> bool {
        let payload = if self.protobuf {
            event.encode_to_vec()
        } else {
            mesos_protos::json::to_vec(event)
        };
        self.tx
            .send(Bytes::from(mesos_protos::recordio::encode(&payload)))
            .is_ok()
    }

    /// Whether the subscriber went away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use mesos_protos::v1::scheduler;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn events_are_recordio_framed_and_close_is_reported() {
        let closed = Arc::new(AtomicBool::new(false));
        let c = closed.clone();
        let (s, mut body) =
            EventStream::new("id".into(), false, move || c.store(true, Ordering::SeqCst));
        let ev = scheduler::Event {
            r#type: Some(scheduler::event::Type::Heartbeat as i32),
            ..Default::default()
        };
        assert!(s.send(&ev));
        let chunk = futures::executor::block_on(body.next()).unwrap();
        assert_eq!(&chunk[..], b"20\n{\"type\":\"HEARTBEAT\"}");
        drop(body);
        assert!(closed.load(Ordering::SeqCst));
        assert!(!s.send(&ev));
        assert!(s.is_closed());
    }
}

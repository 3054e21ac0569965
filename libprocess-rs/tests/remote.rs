//! Remote delivery between runtimes on different ports: round trips, ordering, exited.

use std::net::TcpListener;
use std::time::Duration;

use bincode::{Decode, Encode};
use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{bincode_message, block_on, Context, Handlers, Process, Runtime, Upid};

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Ping(u64);
bincode_message!(Ping, "test.Ping");

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Pong(u64);
bincode_message!(Pong, "test.Pong");

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Numbered {
    seq: u64,
    payload: Vec<u8>,
}
bincode_message!(Numbered, "test.Numbered");

struct Ponger;

impl Process for Ponger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>(|_, ctx, from, Ping(n)| ctx.send(from, Pong(n)));
    }
}

/// Forwards pongs, numbered messages and exited notices to the test.
struct Sink {
    pongs: mpsc::UnboundedSender<(Upid, u64)>,
    numbered: mpsc::UnboundedSender<u64>,
    exits: mpsc::UnboundedSender<Upid>,
}

impl Process for Sink {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Pong>(|p, _, from, Pong(n)| {
            let _ = p.pongs.unbounded_send((from.clone(), n));
        })
        .on::<Numbered>(|p, _, _, m| {
            let _ = p.numbered.unbounded_send(m.seq);
        });
    }
    fn exited(&mut self, _: &mut Context<Self>, pid: &Upid) {
        let _ = self.exits.unbounded_send(pid.clone());
    }
}

struct SinkRx {
    pongs: mpsc::UnboundedReceiver<(Upid, u64)>,
    numbered: mpsc::UnboundedReceiver<u64>,
    exits: mpsc::UnboundedReceiver<Upid>,
}

fn sink() -> (Sink, SinkRx) {
    let (pongs, p) = mpsc::unbounded();
    let (numbered, n) = mpsc::unbounded();
    let (exits, e) = mpsc::unbounded();
    (
        Sink {
            pongs,
            numbered,
            exits,
        },
        SinkRx {
            pongs: p,
            numbered: n,
            exits: e,
        },
    )
}

#[test]
fn remote_round_trip_between_two_runtimes() {
    let a = Runtime::start().unwrap();
    let b = Runtime::start().unwrap();
    assert_ne!(a.address(), b.address());
    let ponger = b.spawn("ponger", Ponger).unwrap();
    let (s, mut rx) = sink();
    let s = a.spawn("sink", s).unwrap();
    for n in 0..10 {
        a.send_from(s.upid(), ponger.upid(), Ping(n));
    }
    block_on(async {
        for n in 0..10 {
            assert_eq!(rx.pongs.next().await, Some((ponger.upid().clone(), n)));
        }
    });
    // Request/response across runtimes.
    let pong: Pong = block_on(a.ask(ponger.upid(), Ping(77), Duration::from_secs(30))).unwrap();
    assert_eq!(pong, Pong(77));
    block_on(a.shutdown());
    block_on(b.shutdown());
}

#[test]
fn ten_thousand_remote_messages_arrive_in_order() {
    let a = Runtime::start().unwrap();
    let b = Runtime::start().unwrap();
    let (s, mut rx) = sink();
    let s = b.spawn("sink", s).unwrap();
    let from = a.anonymous();
    for seq in 0..10_000u64 {
        a.send_from(
            &from,
            s.upid(),
            Numbered {
                seq,
                payload: vec![7; 100],
            },
        );
    }
    block_on(async {
        for seq in 0..10_000u64 {
            assert_eq!(rx.numbered.next().await, Some(seq));
        }
    });
    // Every message was answered, so nothing is in flight any more.
    a.clock().settle_blocking();
    block_on(a.shutdown());
    block_on(b.shutdown());
}

#[test]
fn exited_fires_when_the_peer_runtime_shuts_down() {
    let a = Runtime::start().unwrap();
    let b = Runtime::start().unwrap();
    let ponger = b.spawn("ponger", Ponger).unwrap();
    let (s, mut rx) = sink();
    let s = a.spawn("sink", s).unwrap();
    let target = ponger.upid().clone();
    block_on(s.dispatch(move |_, ctx| ctx.link(&target))).unwrap();
    // The link's connection is up once a message makes the round trip over it.
    a.send_from(s.upid(), ponger.upid(), Ping(1));
    assert_eq!(block_on(rx.pongs.next()), Some((ponger.upid().clone(), 1)));

    block_on(b.shutdown());
    assert_eq!(block_on(rx.exits.next()), Some(ponger.upid().clone()));
    block_on(a.shutdown());
}

#[test]
fn a_remote_process_terminating_does_not_fire_exited() {
    let a = Runtime::start().unwrap();
    let b = Runtime::start().unwrap();
    let ponger = b.spawn("ponger", Ponger).unwrap();
    let other = b.spawn("other", Ponger).unwrap();
    let (s, mut rx) = sink();
    let s = a.spawn("sink", s).unwrap();
    let (p1, p2) = (ponger.upid().clone(), other.upid().clone());
    block_on(s.dispatch(move |_, ctx| {
        ctx.link(&p1);
        ctx.link(&p2);
    }))
    .unwrap();
    a.send_from(s.upid(), ponger.upid(), Ping(1));
    assert_eq!(block_on(rx.pongs.next()), Some((ponger.upid().clone(), 1)));
    assert!(b.terminate(ponger.upid()));
    // Messages still flow to the live process on the same connection.
    a.send_from(s.upid(), other.upid(), Ping(2));
    assert_eq!(block_on(rx.pongs.next()), Some((other.upid().clone(), 2)));
    a.clock().settle_blocking();
    assert!(
        rx.exits.try_recv().is_err(),
        "no exited while the peer runtime lives"
    );
    // The peer runtime going away reports every linked pid at that address.
    block_on(b.shutdown());
    let mut exited = vec![
        block_on(rx.exits.next()).unwrap(),
        block_on(rx.exits.next()).unwrap(),
    ];
    exited.sort();
    let mut expected = vec![ponger.upid().clone(), other.upid().clone()];
    expected.sort();
    assert_eq!(exited, expected);
    block_on(a.shutdown());
}

#[test]
fn exited_fires_when_the_connect_fails() {
    // Take a free port, then close it so nothing listens there.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead: Upid = format!("ghost@127.0.0.1:{port}").parse().unwrap();
    let a = Runtime::start().unwrap();
    let (s, mut rx) = sink();
    let s = a.spawn("sink", s).unwrap();
    let target = dead.clone();
    block_on(s.dispatch(move |_, ctx| ctx.link(&target))).unwrap();
    assert_eq!(block_on(rx.exits.next()), Some(dead.clone()));

    // A plain send to a dead address is dropped (best effort) and is not counted forever.
    a.send_from(s.upid(), &dead, Ping(1));
    a.clock().settle_blocking();
    block_on(a.shutdown());
}

#[test]
fn link_reconnect_keeps_links_and_delivery_working() {
    let a = Runtime::start().unwrap();
    let b = Runtime::start().unwrap();
    let ponger = b.spawn("ponger", Ponger).unwrap();
    let (s, mut rx) = sink();
    let s = a.spawn("sink", s).unwrap();
    let target = ponger.upid().clone();
    block_on(s.dispatch(move |_, ctx| ctx.link(&target))).unwrap();
    a.send_from(s.upid(), ponger.upid(), Ping(1));
    assert_eq!(block_on(rx.pongs.next()), Some((ponger.upid().clone(), 1)));
    let target = ponger.upid().clone();
    block_on(s.dispatch(move |_, ctx| ctx.link_reconnect(&target))).unwrap();
    a.send_from(s.upid(), ponger.upid(), Ping(2));
    assert_eq!(block_on(rx.pongs.next()), Some((ponger.upid().clone(), 2)));
    a.clock().settle_blocking();
    assert!(
        rx.exits.try_recv().is_err(),
        "replacing the connection fires no exited"
    );
    block_on(b.shutdown());
    assert_eq!(block_on(rx.exits.next()), Some(ponger.upid().clone()));
    block_on(a.shutdown());
}

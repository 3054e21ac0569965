//! Local delivery: round trips, dispatch, defer, ask, termination, links and panics.

use std::time::Duration;

use bincode::{Decode, Encode};
use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{
    bincode_message, block_on, AskError, Context, DispatchError, Handlers, Process, Runtime, Upid,
};

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Ping(u64);
bincode_message!(Ping, "test.Ping");

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Pong(u64);
bincode_message!(Pong, "test.Pong");

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Boom;
bincode_message!(Boom, "test.Boom");

/// Answers every Ping with a Pong of the same number; panics on Boom.
struct Ponger;

impl Process for Ponger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>(|_, ctx, from, Ping(n)| ctx.send(from, Pong(n)))
            .on::<Boom>(|_, _, _, _| panic!("boom (expected by the test)"));
    }
}

/// Forwards every Pong and every exited notice to the test.
struct Recorder {
    pongs: mpsc::UnboundedSender<(Upid, u64)>,
    exits: mpsc::UnboundedSender<Upid>,
    link_to: Option<Upid>,
}

impl Process for Recorder {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Pong>(|p, _, from, Pong(n)| {
            let _ = p.pongs.unbounded_send((from.clone(), n));
        });
    }
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        if let Some(pid) = &self.link_to {
            ctx.link(pid);
        }
    }
    fn exited(&mut self, _ctx: &mut Context<Self>, pid: &Upid) {
        let _ = self.exits.unbounded_send(pid.clone());
    }
}

type Channels = (
    mpsc::UnboundedReceiver<(Upid, u64)>,
    mpsc::UnboundedReceiver<Upid>,
);

fn recorder(link_to: Option<Upid>) -> (Recorder, Channels) {
    let (pongs, prx) = mpsc::unbounded();
    let (exits, erx) = mpsc::unbounded();
    (
        Recorder {
            pongs,
            exits,
            link_to,
        },
        (prx, erx),
    )
}

#[test]
fn local_round_trip() {
    let rt = Runtime::start().unwrap();
    let ponger = rt.spawn("ponger", Ponger).unwrap();
    let (rec, (mut pongs, _)) = recorder(None);
    let rec = rt.spawn("recorder", rec).unwrap();
    for n in 0..100 {
        rt.send_from(rec.upid(), ponger.upid(), Ping(n));
    }
    block_on(async {
        for n in 0..100 {
            let (from, got) = pongs.next().await.unwrap();
            assert_eq!(from, *ponger.upid());
            assert_eq!(got, n, "local messages arrive in send order");
        }
    });
    block_on(rt.shutdown());
}

#[test]
fn dispatch_runs_on_the_actor_and_reports_termination() {
    struct Counter(u64);
    impl Process for Counter {
        fn handlers(h: &mut Handlers<Self>) {
            h.on::<Ping>(|c, _, _, Ping(n)| c.0 += n);
        }
    }
    let rt = Runtime::start().unwrap();
    let pid = rt.spawn("counter", Counter(0)).unwrap();
    rt.send(pid.upid(), Ping(5));
    rt.send(pid.upid(), Ping(7));
    assert_eq!(block_on(pid.dispatch(|c, _| c.0)), Ok(12));
    assert_eq!(
        block_on(rt.dispatch(&pid, |c, ctx| (c.0, ctx.self_pid().id().to_string())))
            .unwrap()
            .1,
        "counter"
    );
    assert_eq!(block_on(pid.dispatch(|_, ctx| ctx.terminate())), Ok(()));
    assert_eq!(
        block_on(pid.dispatch(|c, _| c.0)),
        Err(DispatchError::Terminated)
    );
    assert!(!rt.is_alive(pid.upid()));
    block_on(rt.shutdown());
}

#[test]
fn defer_runs_the_continuation_on_the_actor() {
    struct Holder(Vec<u64>);
    impl Process for Holder {
        fn handlers(_: &mut Handlers<Self>) {}
    }
    let rt = Runtime::start().unwrap();
    let pid = rt.spawn("holder", Holder(Vec::new())).unwrap();
    let (tx, rx) = futures::channel::oneshot::channel::<u64>();
    let (done_tx, done_rx) = futures::channel::oneshot::channel::<Vec<u64>>();
    block_on(pid.dispatch(move |_, ctx| {
        ctx.defer(async move { rx.await.unwrap_or(0) }, move |h, _, v| {
            h.0.push(v);
            let _ = done_tx.send(h.0.clone());
        });
    }))
    .unwrap();
    tx.send(42).unwrap();
    assert_eq!(block_on(done_rx).unwrap(), vec![42]);
    block_on(rt.shutdown());
}

#[test]
fn ask_gets_the_reply_or_times_out_on_the_clock() {
    let rt = Runtime::start().unwrap();
    let ponger = rt.spawn("ponger", Ponger).unwrap();
    let reply: Pong = block_on(rt.ask(ponger.upid(), Ping(9), Duration::from_secs(60))).unwrap();
    assert_eq!(reply, Pong(9));

    // Nobody answers: the deadline passes only when the paused clock is advanced.
    rt.clock().pause();
    let nobody = rt.upid("nobody");
    let pending = rt.ask::<Ping, Pong>(&nobody, Ping(1), Duration::from_secs(5));
    rt.clock().settle_blocking();
    rt.clock().advance(Duration::from_secs(5));
    assert_eq!(block_on(pending), Err(AskError::Timeout(nobody)));
    block_on(rt.shutdown());
}

#[test]
fn exited_fires_when_a_linked_local_process_terminates() {
    let rt = Runtime::start().unwrap();
    let ponger = rt.spawn("ponger", Ponger).unwrap();
    let (rec, (_, mut exits)) = recorder(Some(ponger.upid().clone()));
    let rec = rt.spawn("recorder", rec).unwrap();
    block_on(rec.dispatch(|_, _| ())).unwrap(); // initialize (and the link) has run
    assert!(rt.terminate(ponger.upid()));
    assert_eq!(block_on(exits.next()), Some(ponger.upid().clone()));

    // Linking to a process that no longer exists reports it at once.
    let gone = ponger.upid().clone();
    block_on(rec.dispatch(move |_, ctx| ctx.link(&gone))).unwrap();
    assert_eq!(block_on(exits.next()), Some(ponger.upid().clone()));
    block_on(rt.shutdown());
}

#[test]
fn a_panicking_handler_terminates_only_its_process() {
    let rt = Runtime::start().unwrap();
    let doomed = rt.spawn("doomed", Ponger).unwrap();
    let survivor = rt.spawn("survivor", Ponger).unwrap();
    let (rec, (mut pongs, mut exits)) = recorder(Some(doomed.upid().clone()));
    let rec = rt.spawn("recorder", rec).unwrap();
    block_on(rec.dispatch(|_, _| ())).unwrap();

    rt.send(doomed.upid(), Boom);
    assert_eq!(
        block_on(exits.next()),
        Some(doomed.upid().clone()),
        "linkers get exited"
    );
    assert!(!rt.is_alive(doomed.upid()));
    assert_eq!(
        block_on(doomed.dispatch(|_, _| ())),
        Err(DispatchError::Terminated)
    );

    rt.send_from(rec.upid(), survivor.upid(), Ping(3));
    assert_eq!(block_on(pongs.next()), Some((survivor.upid().clone(), 3)));
    block_on(rt.shutdown());
}

#[test]
fn spawn_rejects_duplicate_and_bad_ids() {
    let rt = Runtime::start().unwrap();
    rt.spawn("one", Ponger).unwrap();
    assert!(rt.spawn("one", Ponger).is_err());
    assert!(rt.spawn("a/b", Ponger).is_err());
    assert!(rt.spawn("", Ponger).is_err());
    let id = rt.generate_id("slave");
    assert_eq!(id, "slave(1)");
    assert_eq!(rt.spawn(id, Ponger).unwrap().upid().id(), "slave(1)");
    block_on(rt.shutdown());
    assert!(rt.spawn("late", Ponger).is_err());
}

#[test]
fn finalize_runs_on_shutdown() {
    struct Final(Option<futures::channel::oneshot::Sender<()>>);
    impl Process for Final {
        fn handlers(_: &mut Handlers<Self>) {}
        fn finalize(&mut self, _: &mut Context<Self>) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }
    let rt = Runtime::start().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel();
    rt.spawn("final", Final(Some(tx))).unwrap();
    block_on(rt.shutdown());
    assert_eq!(block_on(rx), Ok(()));
}

#[test]
fn a_runtime_keeps_its_seed() {
    let rt = Runtime::builder().seed(42).start().unwrap();
    assert_eq!(rt.seed(), 42);
    block_on(rt.shutdown());
}

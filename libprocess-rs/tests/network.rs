//! The in-memory network between runtimes of one process, and prost messages.

use bincode::{Decode, Encode};
use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{
    bincode_message, block_on, Clock, Context, Handlers, Message, Network, PidMatch, Process,
    Runtime, Upid,
};

/// A prost message as `mesos-protos` generates them (with `prost::Name`).
#[derive(Clone, PartialEq, prost::Message)]
struct RegisterSlaveMessage {
    #[prost(string, tag = "1")]
    version: String,
}

impl prost::Name for RegisterSlaveMessage {
    const NAME: &'static str = "RegisterSlaveMessage";
    const PACKAGE: &'static str = "mesos.internal";
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Ack(u64);
bincode_message!(Ack, "test.Ack");

struct Master(mpsc::UnboundedSender<(Upid, String)>);

impl Process for Master {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RegisterSlaveMessage>(|m, ctx, from, r| {
            let _ = m.0.unbounded_send((from.clone(), r.version));
            ctx.send(from, Ack(7));
        });
    }
}

struct Agent {
    acks: mpsc::UnboundedSender<u64>,
    exits: mpsc::UnboundedSender<Upid>,
}

impl Process for Agent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ack>(|a, _, _, Ack(n)| {
            let _ = a.acks.unbounded_send(n);
        });
    }
    fn exited(&mut self, _: &mut Context<Self>, pid: &Upid) {
        let _ = self.exits.unbounded_send(pid.clone());
    }
}

#[test]
fn prost_messages_have_their_full_name_and_round_trip() {
    assert_eq!(
        RegisterSlaveMessage::name(),
        "mesos.internal.RegisterSlaveMessage"
    );
    let m = RegisterSlaveMessage {
        version: "1.8.0".into(),
    };
    assert_eq!(RegisterSlaveMessage::decode(&m.encode()).unwrap(), m);
    assert!(RegisterSlaveMessage::decode(&[0xff]).is_err());
}

fn cluster(network: &Network, clock: &Clock) -> (Runtime, Runtime) {
    let start = || {
        Runtime::builder()
            .network(network)
            .clock(clock.clone())
            .start()
            .unwrap()
    };
    (start(), start())
}

#[test]
fn in_memory_network_delivers_in_order_and_reports_exited() {
    let network = Network::new();
    let clock = Clock::new();
    clock.pause();
    let (m_rt, a_rt) = cluster(&network, &clock);
    assert_eq!(network.members().len(), 2);
    let (tx, mut registrations) = mpsc::unbounded();
    let master = m_rt.spawn("master", Master(tx)).unwrap();
    let (acks, mut acks_rx) = mpsc::unbounded();
    let (exits, mut exits_rx) = mpsc::unbounded();
    let agent = a_rt.spawn("slave(1)", Agent { acks, exits }).unwrap();
    let target = master.upid().clone();
    block_on(agent.dispatch(move |_, ctx| ctx.link(&target))).unwrap();

    let seen = m_rt
        .filters()
        .future_message::<RegisterSlaveMessage>(PidMatch::Any, master.upid());
    for i in 0..100 {
        a_rt.send_from(
            agent.upid(),
            master.upid(),
            RegisterSlaveMessage {
                version: format!("{i}"),
            },
        );
    }
    clock.settle_blocking();
    assert_eq!(block_on(seen).unwrap().version, "0");
    for i in 0..100 {
        let (from, v) = block_on(registrations.next()).unwrap();
        assert_eq!((from, v), (agent.upid().clone(), format!("{i}")));
        assert_eq!(block_on(acks_rx.next()), Some(7));
    }

    block_on(m_rt.shutdown());
    assert_eq!(block_on(exits_rx.next()), Some(master.upid().clone()));
    assert_eq!(network.members(), vec![a_rt.address()]);
    block_on(a_rt.shutdown());
}

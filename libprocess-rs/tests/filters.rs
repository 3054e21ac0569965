//! Test filters: dropping and awaiting messages and exited notices, per runtime.

use std::time::Duration;

use bincode::{Decode, Encode};
use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{bincode_message, block_on, Context, Handlers, PidMatch, Process, Runtime, Upid};

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Register {
    name: String,
}
bincode_message!(Register, "test.Register");

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Registered(u32);
bincode_message!(Registered, "test.Registered");

/// Records every Register it receives.
struct Master(mpsc::UnboundedSender<String>);

impl Process for Master {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Register>(|m, ctx, from, r| {
            let _ = m.0.unbounded_send(r.name);
            ctx.send(from, Registered(1));
        });
    }
}

struct Agent(mpsc::UnboundedSender<Upid>);

impl Process for Agent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Registered>(|_, _, _, _| {});
    }
    fn exited(&mut self, _: &mut Context<Self>, pid: &Upid) {
        let _ = self.0.unbounded_send(pid.clone());
    }
}

#[test]
fn a_filter_drops_a_message_and_another_awaits_one() {
    let master_rt = Runtime::start().unwrap();
    let agent_rt = Runtime::start().unwrap();
    master_rt.clock().pause();
    let (tx, mut got) = mpsc::unbounded();
    let master = master_rt.spawn("master", Master(tx)).unwrap();
    let (etx, _exits) = mpsc::unbounded();
    let agent = agent_rt.spawn("slave(1)", Agent(etx)).unwrap();

    // Filters act at the receiving runtime: the master's drops the first Register.
    let dropped = master_rt
        .filters()
        .drop_message::<Register>(agent.upid(), PidMatch::Any);
    // The agent's runtime awaits the master's answer (observed, still delivered).
    let registered = agent_rt
        .filters()
        .future_message::<Registered>(master.upid(), agent.upid());

    agent_rt.send_from(
        agent.upid(),
        master.upid(),
        Register {
            name: "first".into(),
        },
    );
    assert_eq!(
        block_on(dropped).unwrap(),
        Register {
            name: "first".into()
        }
    );
    agent_rt.send_from(
        agent.upid(),
        master.upid(),
        Register {
            name: "second".into(),
        },
    );
    assert_eq!(block_on(registered).unwrap(), Registered(1));
    assert_eq!(
        block_on(got.next()).unwrap(),
        "second",
        "only the second reached the master"
    );
    master_rt.clock().settle_blocking();
    assert!(got.try_recv().is_err(), "the first Register was dropped");
    block_on(master_rt.shutdown());
    block_on(agent_rt.shutdown());
}

#[test]
fn drop_messages_and_observe_work_locally() {
    let rt = Runtime::start().unwrap();
    let (tx, mut got) = mpsc::unbounded();
    let master = rt.spawn("master", Master(tx)).unwrap();
    let (otx, mut observed) = mpsc::unbounded();
    rt.filters()
        .observe::<Register>(PidMatch::Any, master.upid(), move |from, _, r| {
            let _ = otx.unbounded_send((from.clone(), r.name.clone()));
        });
    let id = rt
        .filters()
        .drop_messages::<Register>(PidMatch::Any, master.upid());
    for i in 0..3 {
        rt.send(
            master.upid(),
            Register {
                name: format!("r{i}"),
            },
        );
    }
    rt.clock().settle_blocking();
    assert!(got.try_recv().is_err(), "every Register was dropped");
    for i in 0..3 {
        assert_eq!(block_on(observed.next()).unwrap().1, format!("r{i}"));
    }
    rt.filters().remove(id);
    rt.send(
        master.upid(),
        Register {
            name: "through".into(),
        },
    );
    assert_eq!(block_on(got.next()).unwrap(), "through");
    block_on(rt.shutdown());
}

#[test]
fn exited_can_be_awaited_and_dropped() {
    let rt = Runtime::start().unwrap();
    let (tx, _got) = mpsc::unbounded();
    let m1 = rt.spawn("m1", Master(tx.clone())).unwrap();
    let m2 = rt.spawn("m2", Master(tx)).unwrap();
    let (etx, mut exits) = mpsc::unbounded();
    let agent = rt.spawn("agent", Agent(etx)).unwrap();
    let (p1, p2) = (m1.upid().clone(), m2.upid().clone());
    block_on(agent.dispatch(move |_, ctx| {
        ctx.link(&p1);
        ctx.link(&p2);
    }))
    .unwrap();

    let dropped = rt.filters().drop_exited(m1.upid(), agent.upid());
    let awaited = rt.filters().future_exited(m2.upid(), PidMatch::Any);
    rt.terminate(m1.upid());
    assert_eq!(block_on(dropped).unwrap(), *m1.upid());
    rt.terminate(m2.upid());
    assert_eq!(block_on(awaited).unwrap(), *m2.upid());
    assert_eq!(
        block_on(exits.next()).unwrap(),
        *m2.upid(),
        "only m2's exited was delivered"
    );
    rt.clock().settle_blocking();
    assert!(exits.try_recv().is_err());
    let _ = Duration::ZERO;
    block_on(rt.shutdown());
}

#[test]
fn messages_can_be_dropped_by_wire_name() {
    let master_rt = Runtime::start().unwrap();
    let agent_rt = Runtime::start().unwrap();
    let (tx, mut got) = mpsc::unbounded();
    let master = master_rt.spawn("master", Master(tx)).unwrap();
    let (etx, _exits) = mpsc::unbounded();
    let agent = agent_rt.spawn("slave(1)", Agent(etx)).unwrap();

    // Remote (decoded from HTTP) and local deliveries both see the wire name.
    let dropped =
        master_rt
            .filters()
            .drop_message_named("test.Register", PidMatch::Any, master.upid());
    agent_rt.send_from(
        agent.upid(),
        master.upid(),
        Register {
            name: "remote".into(),
        },
    );
    assert_eq!(block_on(dropped).unwrap(), *agent.upid());
    let id = master_rt
        .filters()
        .drop_messages_named("test.Register", PidMatch::Any, PidMatch::Any);
    master_rt.send(
        master.upid(),
        Register {
            name: "local".into(),
        },
    );
    master_rt.clock().settle_blocking();
    assert!(got.try_recv().is_err(), "both Registers were dropped");
    master_rt.filters().remove(id);
    master_rt.send(
        master.upid(),
        Register {
            name: "through".into(),
        },
    );
    assert_eq!(block_on(got.next()).unwrap(), "through");
    block_on(master_rt.shutdown());
    block_on(agent_rt.shutdown());
}

//! The agent actor against a fake master (a libprocess actor in the test), on a paused
//! Clock: registration with back-off, re-registration after a restart, pings, the ping
//! watchdog, and reliable status updates.

use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::block_on;
use mesos_agent::slave::SlaveState;
use mesos_protos::mesos::internal;
use mesos_protos::v1;

#[path = "support/cluster.rs"]
mod support;
use support::*;

#[test]
fn registers_with_jittered_back_off_until_answered() {
    let mut c = cluster(false);
    let agent = c.start_agent("slave(1)");
    // The first attempt comes within --registration_backoff_factor (1 s).
    c.advance(Duration::from_secs(1));
    let first = c.drain();
    assert_eq!(first.len(), 1, "{first:?}");
    let Seen::Register(msg) = &first[0] else {
        panic!("{first:?}")
    };
    assert_eq!(msg.slave.hostname, "agent-host");
    assert!(msg.slave.id.is_none());
    assert_eq!(msg.version.as_deref(), Some("1.8.0"));
    // Unanswered, it retries within 2 s, then 4 s, ... capped at one minute.
    let mut windows = Vec::new();
    for max in [2u64, 4, 8, 16, 32, 60, 60] {
        c.advance(Duration::from_secs(max));
        let got = c.drain();
        assert!(!got.is_empty(), "no retry within {max}s");
        windows.push(got.len());
    }
    assert!(windows.iter().all(|n| *n <= 2), "{windows:?}");
    assert_eq!(c.state(&agent).0, SlaveState::Disconnected);
}

#[test]
fn registration_is_checkpointed_and_a_restarted_agent_reregisters_with_its_id() {
    let mut c = cluster(true);
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    let seen = c.drain();
    assert!(matches!(seen.as_slice(), [Seen::Register(_)]), "{seen:?}");
    assert_eq!(
        c.state(&agent),
        (SlaveState::Running, Some("m1-S0".to_string()))
    );
    let meta = c.work.path().join("work/meta/slaves");
    assert_eq!(
        std::fs::read_link(meta.join("latest")).unwrap(),
        std::path::PathBuf::from("m1-S0")
    );
    assert!(meta.join("m1-S0/slave.info").is_file());
    // No more attempts once registered.
    c.advance(Duration::from_secs(120));
    assert!(c.drain().iter().all(|s| !matches!(s, Seen::Register(_))));

    // "Restart": a new agent actor over the same work dir.
    c.rt.terminate(agent.upid());
    c.settle();
    let again = c.start_agent("slave(2)");
    c.advance(Duration::from_secs(1));
    let seen = c.drain();
    let Some(Seen::Reregister(msg)) = seen.first() else {
        panic!("{seen:?}")
    };
    assert_eq!(msg.slave.id.as_ref().unwrap().value, "m1-S0");
    assert_eq!(
        c.state(&again),
        (SlaveState::Running, Some("m1-S0".to_string()))
    );
}

#[test]
fn pongs_go_to_the_pinger_and_a_silent_master_triggers_reregistration() {
    let mut c = cluster_with(true, Some(30.0));
    let (otx, mut pongs) = mpsc::unbounded();
    let observer = c.rt.spawn("slave-observer(1)", Observer(otx)).unwrap();
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    c.drain();
    c.rt.send_from(
        observer.upid(),
        agent.upid(),
        internal::PingSlaveMessage { connected: true },
    );
    c.settle();
    match block_on(pongs.next()) {
        Some(Seen::Pong(from)) => assert_eq!(&from, agent.upid()),
        other => panic!("{other:?}"),
    }
    // The master set a 30 s ping timeout: 29 s after the last ping nothing happens...
    c.advance(Duration::from_secs(29));
    assert!(c.drain().is_empty());
    // ...after 30 s the agent gives up on it and re-registers (it has an id now).
    c.advance(Duration::from_secs(1));
    c.advance(Duration::from_secs(1));
    let seen = c.drain();
    assert!(
        seen.iter().any(|s| matches!(s, Seen::Reregister(_))),
        "{seen:?}"
    );
    assert_eq!(c.state(&agent).0, SlaveState::Running);
}

#[test]
fn status_updates_are_retried_until_acknowledged_in_order() {
    let mut c = cluster(true);
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    c.drain();
    let running = update("t1", v1::TaskState::TaskRunning);
    let finished = update("t1", v1::TaskState::TaskFinished);
    let (r, f) = (running.clone(), finished.clone());
    block_on(agent.dispatch(move |s, ctx| {
        s.status_update(ctx, r, None).unwrap();
        s.status_update(ctx, f, None).unwrap();
    }))
    .unwrap();
    c.settle();
    let seen = c.drain();
    let [Seen::Update(first)] = seen.as_slice() else {
        panic!("{seen:?}")
    };
    assert_eq!(first.update.uuid, running.uuid);
    assert_eq!(first.update.slave_id.as_ref().unwrap().value, "m1-S0");
    // Sent when it was alone in its stream.
    assert_eq!(
        first.update.latest_state,
        Some(v1::TaskState::TaskRunning as i32)
    );
    assert_eq!(first.pid.as_deref(), Some(agent.upid().as_str()));
    // The master "drops" it: no ack. It comes again after 10 s, then 20 s.
    // The retry also says the task has finished meanwhile.
    c.advance(Duration::from_secs(10));
    assert!(matches!(c.drain().as_slice(), [Seen::Update(u)]
        if u.update.uuid == running.uuid
            && u.update.latest_state == Some(v1::TaskState::TaskFinished as i32)));
    c.advance(Duration::from_secs(19));
    assert!(c.drain().is_empty());
    c.advance(Duration::from_secs(1));
    assert_eq!(c.drain().len(), 1);
    // An ack from someone other than the master is ignored.
    let ack = |u: &internal::StatusUpdate| internal::StatusUpdateAcknowledgementMessage {
        slave_id: v1::AgentId {
            value: "m1-S0".into(),
        },
        framework_id: u.framework_id.clone(),
        task_id: u.status.task_id.clone(),
        uuid: u.uuid.clone().unwrap(),
    };
    c.rt.send(agent.upid(), ack(&running));
    c.settle();
    assert!(c.drain().is_empty());
    // The master's ack releases the next update at once.
    c.rt.send_from(c.master.upid(), agent.upid(), ack(&running));
    c.settle();
    assert!(matches!(c.drain().as_slice(), [Seen::Update(u)] if u.update.uuid == finished.uuid));
    c.rt.send_from(c.master.upid(), agent.upid(), ack(&finished));
    c.settle();
    // Nothing is re-sent later (the ping watchdog meanwhile makes the agent re-register,
    // which resends only unacknowledged updates: none).
    c.advance(Duration::from_secs(600));
    let later = c.drain();
    assert!(
        !later.iter().any(|s| matches!(s, Seen::Update(_))),
        "{later:?}"
    );
    let pending = block_on(agent.dispatch(|s, _| s.pending_updates("fw", "t1"))).unwrap();
    assert!(pending.is_empty());
}

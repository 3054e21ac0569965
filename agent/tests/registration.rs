//! The agent actor against a fake master (a libprocess actor in the test), on a paused
//! Clock: registration with back-off, re-registration after a restart, pings, the ping
//! watchdog, and reliable status updates.

use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{block_on, Handlers, Pid, Process, Runtime, Upid};
use mesos_agent::flags::AgentFlags;
use mesos_agent::slave::{Slave, SlaveState};
use mesos_protos::mesos::internal;
use mesos_protos::v1;

/// What the fake master saw.
#[derive(Debug)]
enum Seen {
    Register(internal::RegisterSlaveMessage),
    Reregister(internal::ReregisterSlaveMessage),
    Update(internal::StatusUpdateMessage),
    Pong(Upid),
}

/// Answers registrations when `answer` is set; records everything.
struct FakeMaster {
    seen: mpsc::UnboundedSender<Seen>,
    answer: bool,
    /// `total_ping_timeout_seconds` to hand out; `None` leaves the agent's 75 s default.
    ping_timeout: Option<f64>,
}

impl Process for FakeMaster {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::RegisterSlaveMessage>(|m, ctx, from, msg| {
            let _ = m.seen.unbounded_send(Seen::Register(msg));
            if m.answer {
                ctx.send(
                    from,
                    internal::SlaveRegisteredMessage {
                        slave_id: v1::AgentId {
                            value: "m1-S0".into(),
                        },
                        connection: Some(internal::MasterSlaveConnection {
                            total_ping_timeout_seconds: m.ping_timeout,
                        }),
                    },
                );
            }
        })
        .on::<internal::ReregisterSlaveMessage>(|m, ctx, from, msg| {
            let id = msg.slave.id.clone().unwrap_or_default();
            let _ = m.seen.unbounded_send(Seen::Reregister(msg));
            if m.answer {
                ctx.send(
                    from,
                    internal::SlaveReregisteredMessage {
                        slave_id: id,
                        reconciliations: Vec::new(),
                        connection: None,
                    },
                );
            }
        })
        .on::<internal::StatusUpdateMessage>(|m, _, _, msg| {
            let _ = m.seen.unbounded_send(Seen::Update(msg));
        });
    }
}

/// Stands in for the master's `slave-observer`: sends pings, records pongs.
struct Observer(mpsc::UnboundedSender<Seen>);

impl Process for Observer {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::PongSlaveMessage>(|o, _, from, _| {
            let _ = o.0.unbounded_send(Seen::Pong(from.clone()));
        });
    }
}

struct Cluster {
    rt: Runtime,
    master: Pid<FakeMaster>,
    seen: mpsc::UnboundedReceiver<Seen>,
    work: tempfile::TempDir,
}

fn cluster(answer: bool) -> Cluster {
    cluster_with(answer, None)
}

fn cluster_with(answer: bool, ping_timeout: Option<f64>) -> Cluster {
    let rt = Runtime::start().unwrap();
    rt.clock().pause();
    let (tx, seen) = mpsc::unbounded();
    let master = rt
        .spawn(
            "master",
            FakeMaster {
                seen: tx,
                answer,
                ping_timeout,
            },
        )
        .unwrap();
    Cluster {
        rt,
        master,
        seen,
        work: tempfile::tempdir().unwrap(),
    }
}

fn agent_info() -> v1::AgentInfo {
    v1::AgentInfo {
        hostname: "agent-host".into(),
        port: Some(5051),
        resources: mesos_agent::resources::agent_resources(
            Some("cpus:2;mem:1024;disk:1024;ports:[31000-32000]"),
            "*",
            mesos_agent::resources::MachineInfo {
                cpus: 2,
                mem_bytes: 1 << 30,
                disk_bytes: 1 << 30,
            },
        )
        .unwrap(),
        ..Default::default()
    }
}

impl Cluster {
    fn flags(&self) -> AgentFlags {
        let args = vec![
            format!("--work_dir={}", self.work.path().join("work").display()),
            format!("--runtime_dir={}", self.work.path().join("run").display()),
        ];
        AgentFlags::load(&args, &Default::default()).unwrap()
    }

    fn start_agent(&self, id: &str) -> Pid<Slave> {
        let slave = Slave::new(self.flags(), agent_info(), self.master.upid().clone()).unwrap();
        let pid = self.rt.spawn(id, slave).unwrap();
        // Let `initialize` arm the first registration timer before time moves.
        self.settle();
        pid
    }

    fn settle(&self) {
        self.rt.clock().settle_blocking();
    }

    fn advance(&self, d: Duration) {
        self.rt.clock().advance(d);
        self.settle();
    }

    fn drain(&mut self) -> Vec<Seen> {
        let mut out = Vec::new();
        while let Ok(s) = self.seen.try_recv() {
            out.push(s);
        }
        out
    }

    fn state(&self, pid: &Pid<Slave>) -> (SlaveState, Option<String>) {
        block_on(pid.dispatch(|s, _| (s.state(), s.info().id.clone().map(|i| i.value)))).unwrap()
    }
}

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

fn update(task: &str, state: v1::TaskState) -> internal::StatusUpdate {
    let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    internal::StatusUpdate {
        framework_id: v1::FrameworkId { value: "fw".into() },
        executor_id: None,
        slave_id: None,
        status: v1::TaskStatus {
            task_id: v1::TaskId { value: task.into() },
            state: state as i32,
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp: 0.0,
        uuid: Some(uuid),
        latest_state: None,
    }
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

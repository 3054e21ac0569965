//! A fake master (a libprocess actor) and an agent built on a recording process fake,
//! on one runtime with a paused Clock. Shared by several test files, each of which uses
//! a different part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use libprocess::{block_on, Handlers, Pid, Process, Runtime, Upid};
use mesos_agent::containerizer::{MesosContainerizer, RecordingProcessOps};
use mesos_agent::flags::AgentFlags;
use mesos_agent::slave::{Slave, SlaveState};
use mesos_protos::mesos::internal;
use mesos_protos::v1;

/// What the fake master saw.
#[derive(Debug)]
pub enum Seen {
    Register(internal::RegisterSlaveMessage),
    Reregister(internal::ReregisterSlaveMessage),
    Update(internal::StatusUpdateMessage),
    Pong(Upid),
    Exited(internal::ExitedExecutorMessage),
}

/// Answers registrations when `answer` is set; records everything.
pub struct FakeMaster {
    pub seen: mpsc::UnboundedSender<Seen>,
    pub answer: bool,
    /// `total_ping_timeout_seconds` to hand out; `None` leaves the agent's 75 s default.
    pub ping_timeout: Option<f64>,
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
        })
        .on::<internal::ExitedExecutorMessage>(|m, _, _, msg| {
            let _ = m.seen.unbounded_send(Seen::Exited(msg));
        });
    }
}

/// Stands in for the master's `slave-observer`: sends pings, records pongs.
pub struct Observer(pub mpsc::UnboundedSender<Seen>);

impl Process for Observer {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::PongSlaveMessage>(|o, _, from, _| {
            let _ = o.0.unbounded_send(Seen::Pong(from.clone()));
        });
    }
}

pub struct Cluster {
    pub rt: Runtime,
    pub master: Pid<FakeMaster>,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    pub work: tempfile::TempDir,
    pub ops: RecordingProcessOps,
}

pub fn cluster(answer: bool) -> Cluster {
    cluster_with(answer, None)
}

pub fn cluster_with(answer: bool, ping_timeout: Option<f64>) -> Cluster {
    // The delegate lets `/api/v1/executor` reach `slave(1)`, as on a real agent.
    let rt = Runtime::builder().delegate("slave(1)").start().unwrap();
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
        ops: RecordingProcessOps::new(),
    }
}

pub fn agent_info() -> v1::AgentInfo {
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
    pub fn flags(&self) -> AgentFlags {
        self.flags_with("/opt/mesos/libexec")
    }

    pub fn flags_with(&self, launcher_dir: &str) -> AgentFlags {
        let args = vec![
            format!("--work_dir={}", self.work.path().join("work").display()),
            format!("--runtime_dir={}", self.work.path().join("run").display()),
            format!("--launcher_dir={launcher_dir}"),
        ];
        AgentFlags::load(&args, &Default::default()).unwrap()
    }

    pub fn start_agent(&self, id: &str) -> Pid<Slave> {
        let containerizer = Arc::new(MesosContainerizer::new(
            Arc::new(self.ops.clone()),
            self.work.path().join("run"),
            Vec::new(),
        ));
        let slave = Slave::new(
            self.flags(),
            agent_info(),
            self.master.upid().clone(),
            containerizer,
        )
        .unwrap();
        let pid = self.rt.spawn(id, slave).unwrap();
        // Let `initialize` arm the first registration timer before time moves.
        self.settle();
        pid
    }

    pub fn settle(&self) {
        self.rt.clock().settle_blocking();
    }

    pub fn advance(&self, d: Duration) {
        self.rt.clock().advance(d);
        self.settle();
    }

    pub fn drain(&mut self) -> Vec<Seen> {
        let mut out = Vec::new();
        while let Ok(s) = self.seen.try_recv() {
            out.push(s);
        }
        out
    }

    pub fn state(&self, pid: &Pid<Slave>) -> (SlaveState, Option<String>) {
        block_on(pid.dispatch(|s, _| (s.state(), s.info().id.clone().map(|i| i.value)))).unwrap()
    }
}

pub fn update(task: &str, state: v1::TaskState) -> internal::StatusUpdate {
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

impl Cluster {
    /// Collects what the master sees until `done` holds for it (work finishing off the
    /// actor threads, e.g. a process exit, needs a few rounds of settling).
    pub fn wait_for(&mut self, mut done: impl FnMut(&[Seen]) -> bool) -> Vec<Seen> {
        let mut all = Vec::new();
        for _ in 0..20_000 {
            self.settle();
            all.extend(self.drain());
            if done(&all) {
                return all;
            }
            std::thread::yield_now();
        }
        panic!("gave up waiting; saw {all:?}");
    }
}

/// A framework (checkpointing) and a command task for it.
pub fn run_task_message(task: &str, checkpoint: bool) -> internal::RunTaskMessage {
    internal::RunTaskMessage {
        framework: v1::FrameworkInfo {
            user: String::new(),
            name: "test".into(),
            id: Some(v1::FrameworkId { value: "fw".into() }),
            checkpoint: Some(checkpoint),
            ..Default::default()
        },
        task: v1::TaskInfo {
            name: task.into(),
            task_id: v1::TaskId { value: task.into() },
            agent_id: v1::AgentId {
                value: "m1-S0".into(),
            },
            command: Some(v1::CommandInfo {
                value: Some("echo hello".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

impl Cluster {
    /// An agent whose containerizer starts real processes, with the executors found in
    /// `launcher_dir` (the built binaries).
    pub fn start_real_agent(&self, id: &str, launcher_dir: &str) -> Pid<Slave> {
        let containerizer = Arc::new(MesosContainerizer::new(
            Arc::new(mesos_agent::containerizer::RealProcessOps),
            self.work.path().join("run"),
            Vec::new(),
        ));
        let mut env = std::collections::BTreeMap::new();
        env.insert("PATH".to_string(), "/usr/bin:/bin".to_string());
        let slave = Slave::new(
            self.flags_with(launcher_dir),
            agent_info(),
            self.master.upid().clone(),
            containerizer,
        )
        .unwrap()
        .with_environment(env);
        let pid = self.rt.spawn(id, slave).unwrap();
        self.settle();
        pid
    }

    /// Like [`Cluster::wait_for`], for work done by real processes: waits in real time
    /// (at most 60 s).
    pub fn wait_real(&mut self, mut done: impl FnMut(&[Seen]) -> bool) -> Vec<Seen> {
        let clock = libprocess::Clock::new();
        let mut all = Vec::new();
        for _ in 0..3000 {
            self.settle();
            all.extend(self.drain());
            if done(&all) {
                return all;
            }
            block_on(clock.sleep(Duration::from_millis(20)));
        }
        panic!("gave up waiting; saw {all:?}");
    }

    /// Acknowledges an update as the master would.
    pub fn ack(&self, agent: &Pid<Slave>, update: &internal::StatusUpdate) {
        self.rt.send_from(
            self.master.upid(),
            agent.upid(),
            internal::StatusUpdateAcknowledgementMessage {
                slave_id: v1::AgentId {
                    value: "m1-S0".into(),
                },
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: update.uuid.clone().unwrap_or_default(),
            },
        );
    }
}

/// The status updates among what the master saw.
pub fn updates_of(seen: &[Seen]) -> Vec<internal::StatusUpdate> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Update(u) => Some(u.update.clone()),
            _ => None,
        })
        .collect()
}

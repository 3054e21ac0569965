//! A fake master for operation tests: answers (re-)registrations, records what the agent
//! sends (registrations, `UpdateSlaveMessage`, operation and task status updates, executor
//! exits), and helpers to build operations and volumes. One runtime, paused Clock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use libprocess::{block_on, Handlers, Pid, Process, Runtime};
use mesos_agent::containerizer::{
    MesosContainerizer, ProcessOps, RealProcessOps, RecordingProcessOps,
};
use mesos_agent::flags::AgentFlags;
use mesos_agent::slave::Slave;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::offer::operation::Type as OpType;

/// What the fake master saw.
#[derive(Debug, Clone)]
pub enum Seen {
    Register(internal::RegisterSlaveMessage),
    Reregister(internal::ReregisterSlaveMessage),
    UpdateSlave(internal::UpdateSlaveMessage),
    Operation(internal::UpdateOperationStatusMessage),
    Task(internal::StatusUpdateMessage),
    Exited(internal::ExitedExecutorMessage),
}

/// The agent id the fake master hands out.
pub const AGENT_ID: &str = "m1-S0";

pub struct OpsMaster {
    seen: mpsc::UnboundedSender<Seen>,
}

impl Process for OpsMaster {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::RegisterSlaveMessage>(|m, ctx, from, msg| {
            let _ = m.seen.unbounded_send(Seen::Register(msg));
            ctx.send(
                from,
                internal::SlaveRegisteredMessage {
                    slave_id: v1::AgentId {
                        value: AGENT_ID.into(),
                    },
                    connection: None,
                },
            );
        })
        .on::<internal::ReregisterSlaveMessage>(|m, ctx, from, msg| {
            let id = msg.slave.id.clone().unwrap_or_default();
            let _ = m.seen.unbounded_send(Seen::Reregister(msg));
            ctx.send(
                from,
                internal::SlaveReregisteredMessage {
                    slave_id: id,
                    reconciliations: Vec::new(),
                    connection: None,
                },
            );
        })
        .on::<internal::UpdateSlaveMessage>(|m, _, _, msg| {
            let _ = m.seen.unbounded_send(Seen::UpdateSlave(msg));
        })
        .on::<internal::UpdateOperationStatusMessage>(|m, _, _, msg| {
            let _ = m.seen.unbounded_send(Seen::Operation(msg));
        })
        .on::<internal::StatusUpdateMessage>(|m, _, _, msg| {
            let _ = m.seen.unbounded_send(Seen::Task(msg));
        })
        .on::<internal::ExitedExecutorMessage>(|m, _, _, msg| {
            let _ = m.seen.unbounded_send(Seen::Exited(msg));
        });
    }
}

pub struct OpsCluster {
    pub rt: Runtime,
    pub master: Pid<OpsMaster>,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    pub work: tempfile::TempDir,
}

pub fn ops_cluster() -> OpsCluster {
    let rt = Runtime::builder().delegate("slave(1)").start().unwrap();
    rt.clock().pause();
    let (tx, seen) = mpsc::unbounded();
    let master = rt.spawn("master", OpsMaster { seen: tx }).unwrap();
    OpsCluster {
        rt,
        master,
        seen,
        work: tempfile::tempdir().unwrap(),
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

pub fn launcher_dir() -> String {
    Path::new(env!("CARGO_BIN_EXE_mesos-executor"))
        .parent()
        .unwrap()
        .display()
        .to_string()
}

impl OpsCluster {
    pub fn work_dir(&self) -> PathBuf {
        self.work.path().join("work")
    }

    fn flags(&self, launcher_dir: &str) -> AgentFlags {
        let args = vec![
            format!("--work_dir={}", self.work_dir().display()),
            format!("--runtime_dir={}", self.work.path().join("run").display()),
            format!("--launcher_dir={launcher_dir}"),
            // Registration advances the paused Clock; recovered executors must not time
            // out meanwhile (they re-subscribe in real time).
            "--executor_reregistration_timeout=10mins".to_string(),
        ];
        AgentFlags::load(&args, &Default::default()).unwrap()
    }

    fn start_with(&mut self, id: &str, ops: Arc<dyn ProcessOps>, launcher_dir: &str) -> Pid<Slave> {
        let containerizer = Arc::new(MesosContainerizer::new(
            ops,
            self.work.path().join("run"),
            Vec::new(),
        ));
        let mut env = std::collections::BTreeMap::new();
        env.insert("PATH".to_string(), "/usr/bin:/bin".to_string());
        let slave = Slave::new(
            self.flags(launcher_dir),
            agent_info(),
            self.master.upid().clone(),
            containerizer,
        )
        .unwrap()
        .with_environment(env);
        let pid = self.rt.spawn(id, slave).unwrap();
        self.settle();
        // Registration goes out within the 1 s back-off factor.
        self.advance(Duration::from_secs(2));
        pid
    }

    /// An agent with a recording (fake) containerizer, registered.
    pub fn start_agent(&mut self, id: &str) -> Pid<Slave> {
        self.start_with(
            id,
            Arc::new(RecordingProcessOps::new()),
            "/opt/mesos/libexec",
        )
    }

    /// An agent that runs real executors, registered.
    pub fn start_real_agent(&mut self, id: &str) -> Pid<Slave> {
        self.start_with(id, Arc::new(RealProcessOps), &launcher_dir())
    }

    /// Stops an agent actor ("restart" = stop, then start another over the same dirs).
    pub fn stop_agent(&self, agent: &Pid<Slave>) {
        self.rt.terminate(agent.upid());
        self.settle();
        // The name is freed asynchronously; a restart reuses it.
        for _ in 0..500 {
            if !self.rt.is_alive(agent.upid()) {
                return;
            }
            block_on(libprocess::Clock::new().sleep(Duration::from_millis(10)));
        }
        panic!("agent {} did not stop", agent.upid());
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

    /// Waits in real time (at most 60 s) until `done` holds for what the master saw.
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

    /// Moves the paused Clock on (registration back-off) until the agent is registered,
    /// waiting in real time for what real executors must do first (at most 60 s).
    pub fn wait_registered(&self, agent: &Pid<Slave>) {
        let clock = libprocess::Clock::new();
        for _ in 0..3000 {
            self.advance(Duration::from_millis(500));
            let state = block_on(agent.dispatch(|s, _| s.state())).unwrap();
            if state == mesos_agent::slave::SlaveState::Running {
                return;
            }
            block_on(clock.sleep(Duration::from_millis(20)));
        }
        panic!("the agent did not register");
    }

    pub fn send<M: libprocess::Message>(&self, agent: &Pid<Slave>, msg: M) {
        self.rt.send_from(self.master.upid(), agent.upid(), msg);
        self.settle();
    }

    /// Sends an operation as the master does; returns its operation uuid.
    pub fn apply(&self, agent: &Pid<Slave>, info: v1::offer::Operation) -> Vec<u8> {
        let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
        self.send(
            agent,
            internal::ApplyOperationMessage {
                framework_id: Some(v1::FrameworkId { value: "fw".into() }),
                operation_info: info,
                operation_uuid: v1::Uuid {
                    value: uuid.clone(),
                },
                resource_version_uuid: internal::ResourceVersionUuid {
                    resource_provider_id: None,
                    uuid: block_on(agent.dispatch(|s, _| s.resource_version().clone())).unwrap(),
                },
            },
        );
        uuid
    }

    /// Acknowledges an operation status update as the master does.
    pub fn ack(&self, agent: &Pid<Slave>, u: &internal::UpdateOperationStatusMessage) {
        self.send(
            agent,
            internal::AcknowledgeOperationStatusMessage {
                status_uuid: u.status.uuid.clone().unwrap(),
                operation_uuid: u.operation_uuid.clone().unwrap(),
                resource_provider_id: None,
            },
        );
    }

    pub fn total(&self, agent: &Pid<Slave>) -> mesos_protos::resources::Resources {
        let rs = block_on(agent.dispatch(|s, _| s.total_resources())).unwrap();
        mesos_protos::resources::Resources::from(rs)
    }

    pub fn operations(&self, agent: &Pid<Slave>) -> Vec<v1::Operation> {
        block_on(agent.dispatch(|s, _| s.operations())).unwrap()
    }

    /// The host folder of a volume of role `role`.
    pub fn volume_dir(&self, role: &str, id: &str) -> PathBuf {
        self.work_dir().join("volumes/roles").join(role).join(id)
    }
}

impl Drop for OpsCluster {
    /// A failed test may leave volume mounts in its sandboxes: unmount them before the
    /// temp dir is removed, so nothing stays mounted.
    fn drop(&mut self) {
        let dir = self.work.path().display().to_string();
        let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        for target in info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&dir))
        {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(target)
                .status();
        }
    }
}

/// The operation status updates among what the master saw.
pub fn op_updates(seen: &[Seen]) -> Vec<internal::UpdateOperationStatusMessage> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Operation(u) => Some(u.clone()),
            _ => None,
        })
        .collect()
}

/// The task status updates among what the master saw.
pub fn task_updates(seen: &[Seen]) -> Vec<internal::StatusUpdate> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Task(u) => Some(u.update.clone()),
            _ => None,
        })
        .collect()
}

fn dynamic(role: &str) -> v1::resource::ReservationInfo {
    v1::resource::ReservationInfo {
        r#type: Some(v1::resource::reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: Some("ops".into()),
        labels: None,
    }
}

/// `disk` of `mb`, dynamically reserved to `role` if given.
pub fn disk(mb: f64, role: Option<&str>) -> v1::Resource {
    v1::Resource {
        name: "disk".into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: mb }),
        reservations: role.map(dynamic).into_iter().collect(),
        ..Default::default()
    }
}

/// A persistent volume of `mb` reserved to `role`, shown to tasks at `container_path`.
pub fn volume(mb: f64, role: &str, id: &str, container_path: &str) -> v1::Resource {
    let mut r = disk(mb, Some(role));
    r.disk = Some(v1::resource::DiskInfo {
        persistence: Some(v1::resource::disk_info::Persistence {
            id: id.into(),
            principal: Some("ops".into()),
        }),
        volume: Some(v1::Volume {
            mode: v1::volume::Mode::Rw as i32,
            container_path: container_path.into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    r
}

pub fn operation(id: &str, t: OpType) -> v1::offer::Operation {
    v1::offer::Operation {
        r#type: Some(t as i32),
        id: Some(v1::OperationId { value: id.into() }),
        ..Default::default()
    }
}

pub fn reserve(id: &str, resources: Vec<v1::Resource>) -> v1::offer::Operation {
    v1::offer::Operation {
        reserve: Some(v1::offer::operation::Reserve { resources }),
        ..operation(id, OpType::Reserve)
    }
}

pub fn unreserve(id: &str, resources: Vec<v1::Resource>) -> v1::offer::Operation {
    v1::offer::Operation {
        unreserve: Some(v1::offer::operation::Unreserve { resources }),
        ..operation(id, OpType::Unreserve)
    }
}

pub fn create(id: &str, volumes: Vec<v1::Resource>) -> v1::offer::Operation {
    v1::offer::Operation {
        create: Some(v1::offer::operation::Create { volumes }),
        ..operation(id, OpType::Create)
    }
}

pub fn destroy(id: &str, volumes: Vec<v1::Resource>) -> v1::offer::Operation {
    v1::offer::Operation {
        destroy: Some(v1::offer::operation::Destroy { volumes }),
        ..operation(id, OpType::Destroy)
    }
}

/// A command task (checkpointing framework) whose resources include `volume`.
pub fn volume_task(task: &str, command: &str, volume: v1::Resource) -> internal::RunTaskMessage {
    internal::RunTaskMessage {
        framework: v1::FrameworkInfo {
            user: String::new(),
            name: "test".into(),
            id: Some(v1::FrameworkId { value: "fw".into() }),
            checkpoint: Some(true),
            ..Default::default()
        },
        task: v1::TaskInfo {
            name: task.into(),
            task_id: v1::TaskId { value: task.into() },
            agent_id: v1::AgentId {
                value: AGENT_ID.into(),
            },
            resources: vec![
                v1::Resource {
                    name: "cpus".into(),
                    r#type: v1::value::Type::Scalar as i32,
                    scalar: Some(v1::value::Scalar { value: 0.1 }),
                    ..Default::default()
                },
                volume,
            ],
            command: Some(v1::CommandInfo {
                value: Some(command.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

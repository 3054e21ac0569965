//! A blocking test framework on top of the `mesos-scheduler` client: subscribes to a
//! cluster's master over real HTTP and lets a plain `#[test]` wait for events.

#![allow(dead_code)]

use std::time::Duration;

use futures::StreamExt;
use libprocess::Clock;
use mesos_integration::Cluster;
use mesos_scheduler::scheduler::{connect, AckMode, Client, Config, DriverEvent, Events};
use mesos_scheduler::v1::scheduler::{event, Event};
use mesos_scheduler::v1::{
    executor_info, framework_info, offer, value, AgentId, CommandInfo, ExecutorId, ExecutorInfo,
    FrameworkInfo, Offer, Resource, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};

/// How long (real time) a test waits for one event before failing.
const EVENT_WAIT: Duration = Duration::from_secs(30);

pub struct TestFramework {
    pub rt: tokio::runtime::Runtime,
    pub client: Client,
    events: Events,
    real: Clock,
    pending: std::collections::VecDeque<Event>,
}

pub fn framework_info(name: &str, partition_aware: bool) -> FrameworkInfo {
    let capabilities = if partition_aware {
        vec![framework_info::Capability {
            r#type: Some(framework_info::capability::Type::PartitionAware as i32),
        }]
    } else {
        Vec::new()
    };
    FrameworkInfo {
        user: "root".into(),
        name: name.into(),
        failover_timeout: Some(3600.0),
        capabilities,
        ..Default::default()
    }
}

impl TestFramework {
    pub fn subscribe(cluster: &Cluster, info: FrameworkInfo) -> TestFramework {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio");
        let config = Config::new([cluster.master_url()], info)
            .with_clock(cluster.clock().clone())
            .with_ack_mode(AckMode::Explicit);
        let (client, events) = {
            let _g = rt.enter();
            connect(config).expect("connect")
        };
        let mut f = TestFramework {
            rt,
            client,
            events,
            real: Clock::new(),
            pending: Default::default(),
        };
        f.next_of(event::Type::Subscribed);
        f
    }

    /// The next event, HEARTBEATs included; panics after 30 s of real time.
    pub fn next(&mut self) -> Event {
        if let Some(e) = self.pending.pop_front() {
            return e;
        }
        let real = self.real.clone();
        let events = &mut self.events;
        let got = self
            .rt
            .block_on(async { real.timeout(EVENT_WAIT, events.next()).await });
        match got {
            Ok(Some(DriverEvent::Event(e))) => *e,
            Ok(Some(other)) => panic!("driver: {other:?}"),
            Ok(None) => panic!("driver stopped"),
            Err(_) => panic!("no event within {EVENT_WAIT:?}"),
        }
    }

    /// The next driver item, whatever it is (for reconnect tests).
    pub fn next_driver_event(&mut self) -> DriverEvent {
        let real = self.real.clone();
        let events = &mut self.events;
        self.rt
            .block_on(async { real.timeout(EVENT_WAIT, events.next()).await })
            .expect("a driver event in time")
            .expect("driver running")
    }

    /// Advances the clock by `total` one heartbeat interval (15 s) at a time, waiting for
    /// each HEARTBEAT so the driver's watchdog sees the master alive; other events are
    /// kept for later.
    pub fn advance_with_heartbeats(&mut self, cluster: &Cluster, total: Duration) {
        let step = Duration::from_secs(15);
        let mut done = Duration::ZERO;
        while done < total {
            cluster.advance(step, step);
            done += step;
            loop {
                let real = self.real.clone();
                let events = &mut self.events;
                let e = match self
                    .rt
                    .block_on(async { real.timeout(EVENT_WAIT, events.next()).await })
                {
                    Ok(Some(DriverEvent::Event(e))) => *e,
                    other => panic!("waiting for a heartbeat: {other:?}"),
                };
                if e.r#type() == event::Type::Heartbeat {
                    break;
                }
                self.pending.push_back(e);
            }
        }
    }

    /// After the master went away: waits for the driver to notice, advances the clock
    /// past its back-off and waits for SUBSCRIBED again.
    pub fn await_resubscribe(&mut self, cluster: &Cluster) -> Event {
        loop {
            match self.next_driver_event() {
                DriverEvent::Disconnected { retry_in, .. } => {
                    cluster.advance(retry_in, retry_in);
                }
                DriverEvent::Event(e) if e.r#type() == event::Type::Subscribed => return *e,
                DriverEvent::Event(e) => self.pending.push_back(*e),
                DriverEvent::Failed(e) => panic!("driver gave up: {e}"),
            }
        }
    }

    /// The next event of `kind`, skipping others.
    pub fn next_of(&mut self, kind: event::Type) -> Event {
        loop {
            let e = self.next();
            if e.r#type() == kind {
                return e;
            }
        }
    }

    /// The next UPDATE's status (acknowledged if `ack`).
    pub fn next_update(&mut self, ack: bool) -> TaskStatus {
        let e = self.next_of(event::Type::Update);
        let status = e.update.expect("update member").status;
        if ack {
            self.ack(&status);
        }
        status
    }

    pub fn ack(&self, status: &TaskStatus) {
        let c = self.client.clone();
        let s = status.clone();
        self.rt
            .block_on(async move { c.acknowledge_update(&s).await })
            .expect("acknowledge");
    }

    /// Advances the cluster's clock one allocation interval at a time until OFFERS come.
    pub fn await_offers(&mut self, cluster: &Cluster) -> Vec<Offer> {
        for _ in 0..10 {
            cluster.advance(Duration::from_secs(1), Duration::from_secs(1));
            let real = self.real.clone();
            let events = &mut self.events;
            let got = self.rt.block_on(async {
                real.timeout(Duration::from_millis(500), events.next())
                    .await
            });
            if let Ok(Some(DriverEvent::Event(e))) = got {
                if e.r#type() == event::Type::Offers {
                    return e.offers.expect("offers member").offers;
                }
            }
        }
        panic!("no offers after 10 allocation intervals");
    }

    /// Launches `tasks` (ids) of `cpus:0.1;mem:32` on `offer`.
    pub fn launch(&self, offer: &Offer, ids: &[&str]) {
        let tasks = ids.iter().map(|id| task(id, &offer.agent_id)).collect();
        let op = offer::Operation {
            r#type: Some(offer::operation::Type::Launch as i32),
            launch: Some(offer::operation::Launch { task_infos: tasks }),
            ..Default::default()
        };
        let c = self.client.clone();
        let oid = offer.id.clone();
        self.rt
            .block_on(async move { c.accept(vec![oid], vec![op], None).await })
            .expect("accept");
    }

    /// Launches `ids` as one task group in a DEFAULT executor `executor` on `offer`.
    pub fn launch_group(&self, offer: &Offer, executor: &str, ids: &[&str]) {
        let exec = ExecutorInfo {
            r#type: Some(executor_info::Type::Default as i32),
            executor_id: ExecutorId {
                value: executor.into(),
            },
            framework_id: self.client.framework_id(),
            resources: vec![
                scalar("cpus", 0.1),
                scalar("mem", 32.0),
                scalar("disk", 10.0),
            ],
            ..Default::default()
        };
        let tasks = ids
            .iter()
            .map(|id| {
                let mut t = task(id, &offer.agent_id);
                t.command = None;
                t
            })
            .collect();
        let op = offer::Operation {
            r#type: Some(offer::operation::Type::LaunchGroup as i32),
            launch_group: Some(offer::operation::LaunchGroup {
                executor: exec,
                task_group: TaskGroupInfo { tasks },
            }),
            ..Default::default()
        };
        let c = self.client.clone();
        let oid = offer.id.clone();
        self.rt
            .block_on(async move { c.accept(vec![oid], vec![op], None).await })
            .expect("accept");
    }

    pub fn shutdown_executor(&self, executor: &str, agent: &AgentId) {
        let c = self.client.clone();
        let e = ExecutorId {
            value: executor.into(),
        };
        let a = agent.clone();
        self.rt
            .block_on(async move { c.shutdown(e, a).await })
            .expect("shutdown");
    }

    pub fn kill(&self, task_id: &str, agent: &AgentId) {
        let c = self.client.clone();
        let t = TaskId {
            value: task_id.into(),
        };
        let a = agent.clone();
        self.rt
            .block_on(async move { c.kill(t, Some(a), None).await })
            .expect("kill");
    }

    pub fn reconcile_all(&self) {
        let c = self.client.clone();
        self.rt
            .block_on(async move { c.reconcile_all().await })
            .expect("reconcile");
    }

    pub fn stop(self) {
        self.client.stop();
        drop(self.events);
        self.rt.shutdown_background();
    }
}

fn scalar(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

pub fn task(id: &str, agent: &AgentId) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        agent_id: agent.clone(),
        resources: vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
        command: Some(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn state_of(s: &TaskStatus) -> TaskState {
    s.state()
}

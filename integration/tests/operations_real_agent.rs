//! Operations with feedback against the real agent (in-process, over the HTTP transport):
//! the `reserve_and_create` example end to end, and an agent restarted before the
//! framework acknowledged an operation update re-sends it (same uuid) after recovery,
//! with the volume folder and the reservation still there.

#[allow(dead_code)]
#[path = "../../scheduler-driver/examples/reserve_and_create.rs"]
mod reserve_and_create;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use libprocess::Clock;
use mesos_agent::flags::AgentFlags;
use mesos_agent::run::{RunningAgent, StartError, StartOptions};
use mesos_integration::{Cluster, Transport};
use mesos_scheduler::operations::{self as ops, OperationUpdate};
use mesos_scheduler::scheduler::{connect, AckMode, Client, Config, DriverEvent, Events};
use mesos_scheduler::v1::scheduler::{event, Event};
use mesos_scheduler::v1::{framework_info, Filters, FrameworkInfo, OperationState};

const RESOURCES: &str = "cpus:1;mem:256;disk:128";

fn master_cluster() -> Cluster {
    Cluster::builder()
        .paused(false)
        .transport(Transport::Http)
        .master_flag("--allocation_interval=50ms")
        .start()
        .unwrap()
}

fn try_start_agent(cluster: &Cluster, dir: &Path, port: u16) -> Result<RunningAgent, StartError> {
    let args: Vec<String> = vec![
        format!("--master={}", cluster.master_address()),
        format!("--port={port}"),
        "--ip=127.0.0.1".into(),
        "--hostname=agent-host".into(),
        "--registration_backoff_factor=10ms".into(),
        format!("--work_dir={}", dir.join("work").display()),
        format!("--runtime_dir={}", dir.join("run").display()),
        format!("--resources={RESOURCES}"),
    ];
    let flags = AgentFlags::load(&args, &BTreeMap::new()).expect("agent flags");
    mesos_agent::run::start(
        flags,
        BTreeMap::new(),
        StartOptions {
            clock: Some(cluster.clock().clone()),
            reap_orphans: false,
        },
    )
}

/// Starts the agent on a random fixed port (a restart must reuse it, so `--port=0` will
/// not do).
fn start_agent(cluster: &Cluster, dir: &Path) -> RunningAgent {
    for _ in 0..100 {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        match try_start_agent(cluster, dir, port) {
            Ok(agent) => return agent,
            Err(StartError::Runtime(e)) => eprintln!("port {port}: {e}; trying another"),
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no free port found");
}

#[test]
fn reserve_and_create_example_on_the_real_agent() {
    let cluster = master_cluster();
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&cluster, dir.path());
    let config = Config::new(
        [cluster.master_url()],
        reserve_and_create::framework_info("storage"),
    )
    .with_clock(cluster.clock().clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let summary = rt
        .block_on(Clock::new().timeout(
            Duration::from_secs(60),
            reserve_and_create::reserve_and_create(config, "storage", 64.0),
        ))
        .expect("the example finished within 60 s")
        .expect("the example ran");
    let finished: Vec<(&str, OperationState)> = summary
        .finished
        .iter()
        .map(|(id, s)| (id.as_str(), *s))
        .collect();
    assert_eq!(
        finished,
        [
            ("reserve-disk", OperationState::OperationFinished),
            ("create-volume", OperationState::OperationFinished),
            ("destroy-volume", OperationState::OperationFinished),
            ("unreserve-disk", OperationState::OperationFinished),
        ],
        "{summary:?}"
    );
    // DESTROY removed the volume's folder.
    let volume_dir = dir.path().join("work/volumes/roles/storage/example-volume");
    assert!(!volume_dir.exists());
    rt.shutdown_background();
    agent.runtime.shutdown_blocking();
}

struct Framework {
    rt: tokio::runtime::Runtime,
    client: Client,
    events: Events,
}

impl Framework {
    fn subscribe(cluster: &Cluster, info: FrameworkInfo) -> Framework {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = Config::new([cluster.master_url()], info)
            .with_clock(cluster.clock().clone())
            .with_ack_mode(AckMode::Explicit);
        let (client, events) = {
            let _g = rt.enter();
            connect(config).expect("connect")
        };
        Framework { rt, client, events }
    }

    /// The next event for which `pick` returns something, within 30 s of real time.
    fn wait<T>(&mut self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let real = Clock::new();
        let deadline = real.now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_since(real.now());
            assert!(!left.is_zero(), "no matching event within 30 s");
            let events = &mut self.events;
            let got = self
                .rt
                .block_on(async { real.timeout(left, events.next()).await });
            match got {
                Ok(Some(DriverEvent::Event(e))) => {
                    if let Some(t) = pick(&e) {
                        return t;
                    }
                }
                Ok(Some(DriverEvent::Disconnected { .. })) => {}
                other => panic!("waiting for an event: {other:?}"),
            }
        }
    }

    fn next_update(&mut self) -> OperationUpdate {
        self.wait(OperationUpdate::from_event)
    }
}

#[test]
fn agent_restart_before_acknowledgement_resends_the_status() {
    let cluster = master_cluster();
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&cluster, dir.path());
    let info = FrameworkInfo {
        user: "root".into(),
        name: "ops".into(),
        roles: vec!["db".into()],
        principal: Some("ops".into()),
        failover_timeout: Some(3600.0),
        capabilities: vec![framework_info::Capability {
            r#type: Some(framework_info::capability::Type::MultiRole as i32),
        }],
        ..Default::default()
    };
    let mut f = Framework::subscribe(&cluster, info);
    let offer = f.wait(|e| {
        (e.r#type() == event::Type::Offers)
            .then(|| e.offers.as_ref().map(|o| o.offers[0].clone()))
            .flatten()
    });
    let disk = ops::dynamically_reserved(&ops::scalar("disk", 100.0, "db"), "db", Some("ops"));
    let mut half = disk.clone();
    half.scalar.as_mut().unwrap().value = 50.0;
    let volume = ops::persistent_volume(&half, "keep", "data", Some("ops"));
    let c = f.client.clone();
    f.rt.block_on(async move {
        c.accept(
            vec![offer.id],
            vec![
                ops::reserve("reserve", vec![disk]),
                ops::create("create", vec![volume]),
            ],
            Some(Filters {
                refuse_seconds: Some(0.0),
            }),
        )
        .await
    })
    .unwrap();
    let reserve = f.next_update();
    assert_eq!(reserve.operation_id.as_deref(), Some("reserve"));
    assert_eq!(
        reserve.state,
        OperationState::OperationFinished,
        "{reserve:?}"
    );
    let create = f.next_update();
    assert_eq!(create.operation_id.as_deref(), Some("create"));
    assert_eq!(
        create.state,
        OperationState::OperationFinished,
        "{create:?}"
    );
    let c = f.client.clone();
    let status = reserve.status.clone();
    f.rt.block_on(async move { c.acknowledge_operation_update(&status).await })
        .unwrap();
    let volume_dir = dir.path().join("work/volumes/roles/db/keep");
    assert!(volume_dir.is_dir(), "CREATE made {}", volume_dir.display());

    // Restart the agent before CREATE's status is acknowledged.
    let port = agent.address.port();
    agent.runtime.shutdown_blocking();
    // Same port: the agent's info (and so its recovery) depends on it.
    let agent = try_start_agent(&cluster, dir.path(), port).expect("agent restarts");
    let again = f.next_update();
    assert_eq!(again.operation_id.as_deref(), Some("create"));
    assert_eq!(again.uuid, create.uuid, "the same status is re-sent");
    let c = f.client.clone();
    let status = again.status.clone();
    f.rt.block_on(async move { c.acknowledge_operation_update(&status).await })
        .unwrap();
    assert!(volume_dir.is_dir(), "the volume outlives the agent restart");
    // The master (which never restarted) still shows the reservation and the volume.
    let total = cluster
        .with_master_blocking(|m| {
            let a = m.state().agents.registered.values().next().unwrap();
            (
                a.total.reserved("db").disk(),
                a.total.persistent_volumes().disk(),
            )
        })
        .unwrap();
    assert_eq!(total, (Some(100), Some(50)));
    // Nothing is left to acknowledge: the master forgets both operations.
    let real = Clock::new();
    for _ in 0..200 {
        if cluster.with_master_blocking(|m| m.state().operations.len()) == Some(0) {
            break;
        }
        libprocess::block_on(real.sleep(Duration::from_millis(10)));
    }
    assert_eq!(
        cluster.with_master_blocking(|m| m.state().operations.len()),
        Some(0)
    );
    f.client.stop();
    f.rt.shutdown_background();
    agent.runtime.shutdown_blocking();
}

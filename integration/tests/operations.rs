//! Operations with feedback end to end: the `reserve_and_create` example against an
//! in-process cluster, an unacknowledged operation update retried by the (simulated)
//! agent and forwarded again, and reservations and volumes surviving a master restart
//! (the agent re-registers with its checkpointed resources; `/state` and `/roles` show
//! them).

#[allow(dead_code)]
#[path = "../../scheduler-driver/examples/reserve_and_create.rs"]
mod reserve_and_create;
#[path = "support/framework.rs"]
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use libprocess::Clock;
use mesos_integration::{AgentConfig, Cluster};
use mesos_protos::resources::Resources;
use mesos_scheduler::operations::{self as ops, OperationUpdate};
use mesos_scheduler::scheduler::Config;
use mesos_scheduler::v1::scheduler::event;
use mesos_scheduler::v1::{Offer, OperationState};
use support::TestFramework;

fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let pos = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
    let body = &buf[pos + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    serde_json::from_slice(&body).expect("json body")
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..pos]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = &b[pos + 2 + size + 2..];
    }
    out
}

#[test]
fn reserve_and_create_example_runs() {
    let cluster = Cluster::builder()
        .paused(false)
        .master_flag("--allocation_interval=50ms")
        .agents(
            1,
            AgentConfig::default().resources("cpus:1;mem:256;disk:128"),
        )
        .start()
        .unwrap();
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
    let real = Clock::new();
    let summary = rt
        .block_on(real.timeout(
            Duration::from_secs(60),
            reserve_and_create::reserve_and_create(config, "storage", 64.0),
        ))
        .expect("the example finished within 60 s")
        .expect("the example ran");
    let finished: Vec<&str> = summary.finished.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        finished,
        [
            "reserve-disk",
            "create-volume",
            "destroy-volume",
            "unreserve-disk"
        ],
        "{summary:?}"
    );
    assert!(summary
        .finished
        .iter()
        .all(|(_, s)| *s == OperationState::OperationFinished));
    assert_eq!(
        summary.reconciled,
        [
            (
                "unreserve-disk".to_string(),
                OperationState::OperationUnknown
            ),
            ("never-sent".to_string(), OperationState::OperationUnknown)
        ]
    );
    let agent = &cluster.agents()[0];
    // The last acknowledgement may still be on its way to the agent.
    for _ in 0..500 {
        if agent.stats().operation_acks == 4 {
            break;
        }
        libprocess::block_on(real.sleep(Duration::from_millis(10)));
    }
    let stats = agent.stats();
    assert_eq!(stats.operations_applied, 4);
    assert_eq!(stats.operation_acks, 4);
    let (total, checkpointed) = libprocess::block_on(agent.resources()).unwrap();
    assert_eq!(
        total,
        "cpus:1;mem:256;disk:128".parse::<Resources>().unwrap()
    );
    assert!(checkpointed.is_empty());
    rt.shutdown_background();
}

fn offer_with(f: &mut TestFramework, cluster: &Cluster, pred: impl Fn(&Offer) -> bool) -> Offer {
    for _ in 0..20 {
        for o in f.await_offers(cluster) {
            if pred(&o) {
                return o;
            }
            let c = f.client.clone();
            let id = o.id.clone();
            f.rt.block_on(async move {
                c.decline(
                    vec![id],
                    Some(mesos_scheduler::v1::Filters {
                        refuse_seconds: Some(0.0),
                    }),
                )
                .await
            })
            .unwrap();
        }
    }
    panic!("no matching offer");
}

fn next_operation_update(f: &mut TestFramework) -> OperationUpdate {
    let e = f.next_of(event::Type::UpdateOperationStatus);
    OperationUpdate::from_event(&e).expect("an operation update")
}

#[test]
fn unacknowledged_operation_update_is_retried_and_survives_master_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::builder()
        .work_dir(dir.path())
        .agents(
            1,
            AgentConfig::default()
                .resources("cpus:2;mem:512;disk:256")
                .update_retry(Some(Duration::from_secs(10))),
        )
        .start()
        .unwrap();
    cluster.settle();
    let mut info = support::framework_info("ops", false);
    info.roles = vec!["db".into()];
    info.principal = Some("ops".into());
    info.capabilities
        .push(mesos_scheduler::v1::framework_info::Capability {
            r#type: Some(mesos_scheduler::v1::framework_info::capability::Type::MultiRole as i32),
        });
    let mut f = TestFramework::subscribe(&cluster, info);
    let offer = offer_with(&mut f, &cluster, |_| true);
    let disk = ops::dynamically_reserved(&ops::scalar("disk", 200.0, "db"), "db", Some("ops"));
    let mut half = disk.clone();
    half.scalar.as_mut().unwrap().value = 100.0;
    let volume = ops::persistent_volume(&half, "keep", "data", Some("ops"));
    let c = f.client.clone();
    let (id, vol) = (offer.id.clone(), volume.clone());
    f.rt.block_on(async move {
        c.accept(
            vec![id],
            vec![
                ops::reserve("reserve", vec![disk]),
                ops::create("create", vec![vol]),
            ],
            Some(mesos_scheduler::v1::Filters {
                refuse_seconds: Some(0.0),
            }),
        )
        .await
    })
    .unwrap();
    let reserve = next_operation_update(&mut f);
    assert_eq!(reserve.operation_id.as_deref(), Some("reserve"));
    let first = next_operation_update(&mut f);
    assert_eq!(first.operation_id.as_deref(), Some("create"));
    assert_eq!(first.state, OperationState::OperationFinished);
    assert!(first.needs_acknowledgement());
    let c = f.client.clone();
    let status = reserve.status.clone();
    f.rt.block_on(async move { c.acknowledge_operation_update(&status).await })
        .unwrap();
    // CREATE is not acknowledged: after the agent's retry interval the same status
    // (same uuid) arrives again.
    cluster.advance(Duration::from_secs(11), Duration::from_secs(1));
    let again = next_operation_update(&mut f);
    assert_eq!(again.operation_id.as_deref(), Some("create"));
    assert_eq!(again.uuid, first.uuid);
    let agent = cluster.agents()[0].clone();
    assert_eq!(agent.stats().operation_acks, 1);

    // Master restart: reservations and the volume come back with the agent, and the
    // unacknowledged CREATE update is re-sent to the new master.
    cluster.restart_master().unwrap();
    cluster.settle();
    f.await_resubscribe(&cluster);
    cluster.advance(Duration::from_secs(1), Duration::from_secs(1));
    let addr = cluster.master_address();
    let state = get_json(addr, "/state");
    let slave = &state["slaves"][0];
    assert_eq!(slave["reserved_resources"]["db"]["disk"], 200.0, "{slave}");
    let slaves = get_json(addr, "/slaves");
    let has_volume = slaves["slaves"][0]["reserved_resources_full"]["db"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["disk"]["persistence"]["id"] == "keep");
    assert!(has_volume, "{slaves}");
    let roles = get_json(addr, "/roles");
    let db = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "db")
        .cloned()
        .expect("db in /roles");
    assert_eq!(db["reserved"]["disk"], 200.0);
    // The new master learnt the pending operation from the agent and forwards its update.
    cluster.advance(Duration::from_secs(20), Duration::from_secs(1));
    let after = next_operation_update(&mut f);
    assert_eq!(after.operation_id.as_deref(), Some("create"));
    assert_eq!(after.uuid, first.uuid);
    let c = f.client.clone();
    let status = after.status.clone();
    f.rt.block_on(async move { c.acknowledge_operation_update(&status).await })
        .unwrap();
    cluster.settle();
    assert_eq!(agent.stats().operation_acks, 2);
    // The volume is offered back to its role (the OFFERS event itself may have been
    // skipped above while waiting for the update, so look at the master's offers).
    cluster.advance(Duration::from_secs(2), Duration::from_secs(1));
    let offered = cluster.with_master_blocking(|m| {
        m.state().offers.values().any(|o| {
            o.resources.iter().any(|r| {
                r.disk()
                    .and_then(|d| d.persistence.as_ref())
                    .is_some_and(|p| p.id == "keep")
            })
        })
    });
    assert_eq!(
        offered,
        Some(true),
        "the volume is offered after the restart"
    );
    f.stop();
}

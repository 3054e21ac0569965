//! Starting a whole agent from flags (what `mesos agent` does) against a fake master.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::channel::mpsc;
use libprocess::{block_on, Clock, Handlers, Process, Runtime};
use mesos_agent::flags::AgentFlags;
use mesos_agent::run::{start, StartError, StartOptions};
use mesos_protos::mesos::internal;

struct Master(mpsc::UnboundedSender<internal::RegisterSlaveMessage>);

impl Process for Master {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<internal::RegisterSlaveMessage>(|m, _, _, msg| {
            let _ = m.0.unbounded_send(msg);
        });
    }
}

#[test]
fn an_agent_started_from_flags_registers_with_its_resources_and_port() {
    let master_rt = Runtime::start().unwrap();
    let (tx, mut rx) = mpsc::unbounded();
    master_rt.spawn("master", Master(tx)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = vec![
        format!("--master={}", master_rt.address()),
        "--port=0".to_string(),
        format!("--work_dir={}", dir.path().join("work").display()),
        format!("--runtime_dir={}", dir.path().join("run").display()),
        "--resources=cpus:4;mem:2048".to_string(),
        "--attributes=rack:r1".to_string(),
        "--hostname=test-host".to_string(),
    ];
    let flags = AgentFlags::load(&args, &BTreeMap::new()).unwrap();
    let agent = start(flags, BTreeMap::new(), StartOptions::default()).unwrap();
    assert_ne!(agent.address.port(), 0);
    let clock = Clock::new();
    let msg = block_on(clock.timeout(Duration::from_secs(30), futures::StreamExt::next(&mut rx)))
        .expect("the agent registers within 30 s")
        .unwrap();
    assert_eq!(msg.slave.hostname, "test-host");
    assert_eq!(msg.slave.port, Some(i32::from(agent.address.port())));
    assert_eq!(msg.slave.attributes[0].name, "rack");
    let names: Vec<_> = msg
        .slave
        .resources
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for n in ["cpus", "mem", "disk", "ports"] {
        assert!(names.contains(&n), "{names:?}");
    }
    block_on(agent.runtime.shutdown());
    block_on(master_rt.shutdown());
}

#[test]
fn bad_start_flags_are_errors() {
    let flags = AgentFlags::defaults();
    assert!(matches!(
        start(flags, BTreeMap::new(), StartOptions::default()),
        Err(StartError::NoMaster)
    ));
    let args = vec![
        "--master=127.0.0.1:5050".to_string(),
        "--ip=not-an-ip".to_string(),
    ];
    let flags = AgentFlags::load(&args, &BTreeMap::new()).unwrap();
    let e = start(flags, BTreeMap::new(), StartOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("not-an-ip"), "{e}");
}

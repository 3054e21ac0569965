//! The master's operation records kept in step with what the agent really has: operations
//! an agent's `UpdateSlaveMessage` does not list are reconciled with it (a late
//! re-registration does not drop a known one; a lost one comes back DROPPED once), and
//! operations that end FAILED or DROPPED are undone in the master's view of the agent,
//! in `/slaves` and `/roles`, and in the allocator (later offers). Fake agent of
//! `operations_support/harness.rs`.

#[path = "master_support/cluster.rs"]
mod cluster;
#[path = "operations_support/harness.rs"]
mod harness;

use cluster::*;
use harness::*;
use mesos_protos::mesos::internal;
use serde_json::{json, Value};

/// Sends, from the agent's pid, a duplicate re-registration (as a retried
/// ReregisterSlaveMessage would arrive late) and then an UpdateSlaveMessage the agent
/// wrote before it received the operation (no operations listed).
fn late_reregistration_and_stale_update(s: &Setup) {
    let master = s.agent.master.clone();
    let log = s.agent.log.clone();
    libprocess::block_on(s.agent.pid.dispatch(move |a: &mut OpsAgent, ctx| {
        let id = log.lock().unwrap().id.clone().unwrap();
        let mut info = a.info.clone();
        info.id = Some(mesos_protos::v1::AgentId { value: id.clone() });
        ctx.send(
            &master,
            internal::ReregisterSlaveMessage {
                slave: info,
                version: Some("1.8.0".into()),
                agent_capabilities: capabilities(),
                checkpointed_resources: a.checkpointed(),
                ..Default::default()
            },
        );
        ctx.send(
            &master,
            internal::UpdateSlaveMessage {
                slave_id: mesos_protos::v1::AgentId { value: id },
                operations: Some(internal::update_slave_message::Operations {
                    operations: Vec::new(),
                }),
                ..Default::default()
            },
        );
    }))
    .unwrap();
    s.clock.settle_blocking();
}

#[test]
fn a_stale_update_slave_after_a_late_reregistration_does_not_drop_a_known_operation() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, agent, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "r"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    let st = fw.next_status();
    assert_eq!(st["state"], "OPERATION_FINISHED");
    // The operation was sent before this re-registration.
    s.clock.advance(std::time::Duration::from_secs(1));
    late_reregistration_and_stale_update(&s);
    // The master asked the agent instead of dropping the operation; the agent knows it.
    let asked = s.agent.log.lock().unwrap().reconciles.clone();
    let applied_uuid = s.agent.log.lock().unwrap().applied[0]
        .operation_uuid
        .clone();
    assert!(
        asked.iter().any(|m| m.framework_id.is_none()
            && m.operations.len() == 1
            && m.operations[0].operation_uuid.as_ref() == Some(&applied_uuid)),
        "{asked:?}"
    );
    assert_eq!(s.master.with(|m| m.state().operations.len()), 1);
    assert_eq!(reserved_in_state(&s, "cpus"), 1.0);
    // No DROPPED was sent: the next operation event is the answer to this reconciliation.
    fw.reconcile(
        &s,
        json!([{"operation_id": {"value": "r"}, "agent_id": {"value": agent}}]),
    );
    let answer = fw.next_status();
    assert_eq!(answer["state"], "OPERATION_FINISHED", "{answer}");
    assert!(answer.get("uuid").is_none());
    // The FINISHED status can still be acknowledged through to the agent.
    fw.ack(&s, &st);
    assert_eq!(s.agent.log.lock().unwrap().acks.len(), 1);
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    s.master.stop();
}

#[test]
fn an_operation_the_agent_never_got_is_dropped_once_and_undone() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, agent, _) = fw.offer(&s);
    s.agent.log.lock().unwrap().lose_operations = true;
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "lost"},
                "reserve": {"resources": [reserved("cpus", 2.0)]}}]),
    );
    // Applied speculatively by the master.
    assert_eq!(reserved_in_state(&s, "cpus"), 2.0);
    s.clock.advance(std::time::Duration::from_secs(1));
    late_reregistration_and_stale_update(&s);
    let st = fw.next_status();
    assert_eq!(st["state"], "OPERATION_DROPPED", "{st}");
    assert_eq!(st["operation_id"]["value"], "lost");
    assert_eq!(st["agent_id"]["value"], agent.as_str());
    assert!(st.get("uuid").is_none(), "not to be acknowledged: {st}");
    // Forgotten, and the reservation the agent never made is gone from the master's
    // view, /roles and the allocator.
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    assert!(state(&s).get("operations").is_none());
    assert_eq!(reserved_in_state(&s, "cpus"), 0.0);
    let roles = http(s.master.addr(), "GET", "/roles", &[], b"").json();
    let web_reserved_cpus = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "web")
        .map_or(0.0, |r| r["reserved"]["cpus"].as_f64().unwrap_or(0.0));
    assert_eq!(web_reserved_cpus, 0.0, "{roles}");
    let (_, _, o) = fw.offer(&s);
    let resources = o["resources"].as_array().unwrap();
    assert!(
        resources
            .iter()
            .all(|r| r["reservations"].as_array().is_none_or(|v| v.is_empty())),
        "{o}"
    );
    let cpus: f64 = resources
        .iter()
        .filter(|r| r["name"] == "cpus")
        .map(|r| r["scalar"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(cpus, 4.0, "{o}");
    // Another report from the agent asks nothing more; reconciling now answers UNKNOWN,
    // so the DROPPED above was the only one forwarded (the agent answered DROPPED to
    // each question, one per UpdateSlaveMessage that missed the operation).
    let asked = s.agent.log.lock().unwrap().reconciles.len();
    assert!(asked >= 1);
    libprocess::block_on(
        s.agent
            .pid
            .dispatch(|a: &mut OpsAgent, ctx| a.send_update_slave(ctx)),
    )
    .unwrap();
    s.clock.settle_blocking();
    assert_eq!(s.agent.log.lock().unwrap().reconciles.len(), asked);
    fw.reconcile(
        &s,
        json!([{"operation_id": {"value": "lost"}, "agent_id": {"value": agent}}]),
    );
    assert_eq!(fw.next_status()["state"], "OPERATION_UNKNOWN");
    s.master.stop();
}

#[test]
fn a_failed_destroy_leaves_the_volume_in_the_master_and_in_offers() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([
            {"type": "RESERVE", "id": {"value": "res"},
             "reserve": {"resources": [reserved("disk", 300.0)]}},
            {"type": "CREATE", "id": {"value": "vol"},
             "create": {"volumes": [volume(100.0, "kept")]}}
        ]),
    );
    for _ in 0..2 {
        let st = fw.next_status();
        assert_eq!(st["state"], "OPERATION_FINISHED");
        fw.ack(&s, &st);
    }
    // The agent refuses the DESTROY (as the real one does for a volume in use).
    s.agent.log.lock().unwrap().fail_operations = true;
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "DESTROY", "id": {"value": "destroy"},
                "destroy": {"volumes": [volume(100.0, "kept")]}}]),
    );
    let st = fw.next_status();
    assert_eq!(st["operation_id"]["value"], "destroy");
    assert_eq!(st["state"], "OPERATION_FAILED", "{st}");
    fw.ack(&s, &st);
    // The master's view is the agent's again: the volume is there.
    let master_volumes = s.master.with(|m| {
        let mut v = m
            .state()
            .agents
            .registered
            .values()
            .next()
            .unwrap()
            .total
            .persistent_volumes();
        v.unallocate();
        v
    });
    assert_eq!(master_volumes.disk(), Some(100));
    let agent_total = s.agent.log.lock().unwrap().total.clone();
    let master_total = s.master.with(|m| {
        m.state()
            .agents
            .registered
            .values()
            .next()
            .unwrap()
            .total
            .clone()
    });
    assert_eq!(master_total, agent_total);
    assert_eq!(reserved_in_state(&s, "disk"), 300.0);
    let full = http(s.master.addr(), "GET", "/slaves", &[], b"").json();
    let listed = full["slaves"][0]["reserved_resources_full"]["web"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["disk"]["persistence"]["id"] == "kept" && r["scalar"]["value"] == 100.0);
    assert!(listed, "{full}");
    let roles = http(s.master.addr(), "GET", "/roles", &[], b"").json();
    let web = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "web")
        .cloned()
        .expect("web in /roles");
    assert_eq!(web["reserved"]["disk"], 300.0, "{roles}");
    // The allocator offers the volume again, next to the rest of the reservation.
    let (_, _, o) = fw.offer(&s);
    let disks: Vec<&Value> = o["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "disk" && r["reservations"][0]["role"] == "web")
        .collect();
    let volume_offered = disks
        .iter()
        .any(|r| r["disk"]["persistence"]["id"] == "kept" && r["scalar"]["value"] == 100.0);
    assert!(volume_offered, "{o}");
    let plain_reserved: f64 = disks
        .iter()
        .filter(|r| r.get("disk").is_none())
        .map(|r| r["scalar"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(plain_reserved, 200.0, "{o}");
    // A failed RESERVE is undone the same way.
    fw.accept(
        &s,
        o["id"]["value"].as_str().unwrap(),
        json!([{"type": "RESERVE", "id": {"value": "cpus"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    let st = fw.next_status();
    assert_eq!(st["state"], "OPERATION_FAILED", "{st}");
    assert_eq!(reserved_in_state(&s, "cpus"), 0.0);
    // And a failed GROW_VOLUME: the volume keeps its size, the addition stays plain.
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "GROW_VOLUME", "id": {"value": "grow"},
                "grow_volume": {"volume": volume(100.0, "kept"),
                                "addition": reserved("disk", 50.0)}}]),
    );
    let st = fw.next_status();
    assert_eq!(st["state"], "OPERATION_FAILED", "{st}");
    let master_total = s.master.with(|m| {
        m.state()
            .agents
            .registered
            .values()
            .next()
            .unwrap()
            .total
            .clone()
    });
    assert_eq!(master_total, s.agent.log.lock().unwrap().total.clone());
    let (_, _, o) = fw.offer(&s);
    let volume_offered = o["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["disk"]["persistence"]["id"] == "kept" && r["scalar"]["value"] == 100.0);
    assert!(volume_offered, "{o}");
    s.master.stop();
}

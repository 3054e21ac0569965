//! Offer operations with feedback against a real master over real HTTP, with a fake
//! agent that speaks the internal operation messages: RESERVE / UNRESERVE / CREATE /
//! DESTROY / GROW_VOLUME / SHRINK_VOLUME through ACCEPT, UPDATE_OPERATION_STATUS and
//! ACKNOWLEDGE_OPERATION_STATUS, retried updates, operations without id, invalid ones,
//! RECONCILE_OPERATIONS, GET_OPERATIONS, the operator endpoints and a master restart.

#[path = "master_support/cluster.rs"]
mod cluster;
#[path = "operations_support/harness.rs"]
mod harness;

use std::sync::{Arc, Mutex};

use base64::Engine;
use cluster::*;
use harness::*;
use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use serde_json::{json, Value};

#[test]
fn reserve_feedback_ack_and_state() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, agent, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "r1"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    // The agent got the operation without allocation info, with a uuid.
    let applied = s.agent.log.lock().unwrap().applied.clone();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].framework_id.as_ref().unwrap().value, fw.id);
    assert_eq!(applied[0].operation_uuid.value.len(), 16);
    assert!(applied[0]
        .operation_info
        .reserve
        .as_ref()
        .unwrap()
        .resources[0]
        .allocation_info
        .is_none());
    // No PENDING event: the first status is the agent's FINISHED, with a uuid to ack.
    let status = fw.next_status();
    assert_eq!(status["state"], "OPERATION_FINISHED");
    assert_eq!(status["operation_id"]["value"], "r1");
    assert_eq!(status["agent_id"]["value"], agent.as_str());
    assert!(status["uuid"]["value"].is_string());
    assert_eq!(reserved_in_state(&s, "cpus"), 1.0);
    // /state and GET_OPERATIONS list it until acknowledged.
    let listed = state(&s)["operations"].clone();
    assert_eq!(listed[0]["info"]["id"]["value"], "r1", "{listed}");
    assert_eq!(listed[0]["framework_id"]["value"], fw.id.as_str());
    let r = http(
        s.master.addr(),
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        br#"{"type":"GET_OPERATIONS"}"#,
    );
    assert_eq!(r.status, 200);
    let listed = r.json()["get_operations"]["operations"].clone();
    assert_eq!(listed[0]["info"]["id"]["value"], "r1");
    assert_eq!(listed[0]["latest_status"]["state"], "OPERATION_FINISHED");
    fw.ack(&s, &status);
    let acks = s.agent.log.lock().unwrap().acks.clone();
    assert_eq!(acks.len(), 1);
    assert_eq!(
        B64.encode(&acks[0].status_uuid.value),
        status["uuid"]["value"].as_str().unwrap()
    );
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    assert!(state(&s).get("operations").is_none());
    // The reserved cpus come back in the next offer, reserved to web.
    let (_, _, o) = fw.offer(&s);
    let reserved_cpus = o["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "cpus" && r["reservations"][0]["role"] == "web");
    assert!(reserved_cpus, "{o}");
    s.master.stop();
}

#[test]
fn volume_lifecycle_with_feedback() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([
            {"type": "RESERVE", "id": {"value": "res"},
             "reserve": {"resources": [reserved("disk", 500.0)]}},
            {"type": "CREATE", "id": {"value": "create"},
             "create": {"volumes": [volume(200.0, "v1")]}}
        ]),
    );
    for want in ["res", "create"] {
        let st = fw.next_status();
        assert_eq!(st["operation_id"]["value"], want);
        assert_eq!(st["state"], "OPERATION_FINISHED");
        fw.ack(&s, &st);
    }
    let vols = |s: &Setup| {
        let mut v = s.master.with(|m| {
            m.state()
                .agents
                .registered
                .values()
                .next()
                .unwrap()
                .total
                .persistent_volumes()
        });
        v.unallocate();
        v
    };
    assert_eq!(vols(&s).disk(), Some(200));
    // Grow by 100, shrink by 50, then destroy and unreserve: each finishes.
    let steps = [
        (
            "grow",
            json!({"type": "GROW_VOLUME", "id": {"value": "grow"},
            "grow_volume": {"volume": volume(200.0, "v1"), "addition": reserved("disk", 100.0)}}),
            300,
        ),
        (
            "shrink",
            json!({"type": "SHRINK_VOLUME", "id": {"value": "shrink"},
            "shrink_volume": {"volume": volume(300.0, "v1"), "subtract": {"value": 50.0}}}),
            250,
        ),
        (
            "destroy",
            json!({"type": "DESTROY", "id": {"value": "destroy"},
            "destroy": {"volumes": [volume(250.0, "v1")]}}),
            0,
        ),
        (
            "unreserve",
            json!({"type": "UNRESERVE", "id": {"value": "unreserve"},
            "unreserve": {"resources": [reserved("disk", 500.0)]}}),
            0,
        ),
    ];
    for (id, op, size) in steps {
        let (offer, _, _) = fw.offer(&s);
        fw.accept(&s, &offer, json!([op]));
        let st = fw.next_status();
        assert_eq!(st["operation_id"]["value"], id);
        assert_eq!(st["state"], "OPERATION_FINISHED", "{st}");
        fw.ack(&s, &st);
        assert_eq!(vols(&s).disk().unwrap_or(0), size, "after {id}");
    }
    assert_eq!(reserved_in_state(&s, "disk"), 0.0);
    // The agent's own total agrees with the master's.
    let agent_total = s.agent.log.lock().unwrap().total.clone();
    assert_eq!(
        agent_total,
        "cpus:4;mem:1024;disk:1000;ports:[31000-32000]"
            .parse()
            .unwrap()
    );
    s.master.stop();
}

#[test]
fn unacknowledged_update_is_forwarded_again() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "r"},
                "reserve": {"resources": [reserved("mem", 64.0)]}}]),
    );
    let first = fw.next_status();
    // The framework does not acknowledge; the agent's retry reaches it again.
    s.agent.retry();
    s.clock.settle_blocking();
    let again = fw.next_status();
    assert_eq!(again["uuid"], first["uuid"]);
    assert_eq!(again["state"], "OPERATION_FINISHED");
    assert!(s.agent.log.lock().unwrap().acks.is_empty());
    // The retry is not recorded twice.
    let statuses = s
        .master
        .with(|m| m.state().operations.iter().next().unwrap().statuses.len());
    assert_eq!(statuses, 1);
    fw.ack(&s, &again);
    assert_eq!(s.agent.log.lock().unwrap().acks.len(), 1);
    assert!(s.agent.log.lock().unwrap().unacked.is_empty());
    s.master.stop();
}

#[test]
fn operation_without_id_gets_no_events() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "reserve": {"resources": [reserved("cpus", 2.0)]}}]),
    );
    // The master acknowledged the agent's update itself and forgot the operation.
    assert_eq!(s.agent.log.lock().unwrap().acks.len(), 1);
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    assert_eq!(reserved_in_state(&s, "cpus"), 2.0);
    // The first operation event the framework sees is the answer to this reconcile.
    fw.reconcile(&s, json!([{"operation_id": {"value": "marker"}}]));
    let st = fw.next_status();
    assert_eq!(st["operation_id"]["value"], "marker");
    assert_eq!(st["state"], "OPERATION_UNKNOWN");
    assert!(st.get("uuid").is_none());
    s.master.stop();
}

#[test]
fn invalid_operations_answer_operation_error() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([
            // Not reserved at all.
            {"type": "RESERVE", "id": {"value": "bad1"},
             "reserve": {"resources": [scalar("cpus", 1.0)]}},
            // More than offered.
            {"type": "RESERVE", "id": {"value": "bad2"},
             "reserve": {"resources": [reserved("cpus", 64.0)]}},
            // A volume with an absolute container path.
            {"type": "CREATE", "id": {"value": "bad3"},
             "create": {"volumes": [{
                "name": "disk", "type": "SCALAR", "scalar": {"value": 1},
                "allocation_info": {"role": "web"},
                "reservations": [{"type": "DYNAMIC", "role": "web", "principal": "ops"}],
                "disk": {"persistence": {"id": "x", "principal": "ops"},
                         "volume": {"container_path": "/abs", "mode": "RW"}}}]}},
            // Destroying a volume that does not exist.
            {"type": "DESTROY", "id": {"value": "bad4"},
             "destroy": {"volumes": [volume(10.0, "nope")]}}
        ]),
    );
    let mut messages = Vec::new();
    for want in ["bad1", "bad2", "bad3", "bad4"] {
        let st = fw.next_status();
        assert_eq!(st["operation_id"]["value"], want);
        assert_eq!(st["state"], "OPERATION_ERROR");
        assert!(st.get("uuid").is_none(), "errors are not acknowledged");
        messages.push(st["message"].as_str().unwrap().to_owned());
    }
    assert!(
        messages[0].contains("is not dynamically reserved"),
        "{}",
        messages[0]
    );
    assert!(messages[1].contains("does not contain"), "{}", messages[1]);
    assert!(messages[2].contains("relative"), "{}", messages[2]);
    assert!(messages[3].contains("not found"), "{}", messages[3]);
    assert!(s.agent.log.lock().unwrap().applied.is_empty());
    s.master.stop();
}

#[test]
fn reconcile_operations_answers() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, agent, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "known"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    let done = fw.next_status();
    // Explicit: the known one answers its latest state (no uuid); others by agent.
    fw.reconcile(
        &s,
        json!([
            {"operation_id": {"value": "known"}, "agent_id": {"value": agent}},
            {"operation_id": {"value": "unknown"}, "agent_id": {"value": agent}},
            {"operation_id": {"value": "elsewhere"}, "agent_id": {"value": "no-such-agent"}}
        ]),
    );
    let got: Vec<Value> = (0..3).map(|_| fw.next_status()).collect();
    assert_eq!(got[0]["state"], "OPERATION_FINISHED");
    assert!(got[0].get("uuid").is_none());
    assert_eq!(got[1]["state"], "OPERATION_UNKNOWN");
    assert_eq!(got[2]["state"], "OPERATION_UNKNOWN");
    // Implicit: every operation of the framework.
    fw.reconcile(&s, json!([]));
    let st = fw.next_status();
    assert_eq!(st["operation_id"]["value"], "known");
    fw.ack(&s, &done);
    s.master.stop();
}

#[test]
fn operator_endpoints() {
    let s = setup();
    let agent = s.agent.id();
    // Unknown agent: 400. Invalid (not reserved): 400. Too much: 409.
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": "nope"}, "resources": [operator_reserved("cpus", 1.0)]}}),
    );
    assert_eq!(r.status, 400);
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}}),
    );
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent}, "resources": [operator_reserved("cpus", 100.0)]}}),
    );
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    // A framework holds an offer for everything: the operator's reserve rescinds it.
    let mut fw = subscribe(&s);
    let _ = fw.offer(&s);
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent},
        "resources": [operator_reserved("cpus", 1.0), operator_reserved("disk", 300.0)]}}),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    fw.sub.next_of("RESCIND");
    let st = state(&s);
    assert_eq!(st["slaves"][0]["reserved_resources"]["db"]["cpus"], 1.0);
    // The master acknowledged the agent's update (no framework to do it).
    assert_eq!(s.agent.log.lock().unwrap().acks.len(), 1);
    // Legacy /create-volumes and /destroy-volumes (form-encoded).
    let vol = json!([{"name": "disk", "type": "SCALAR", "scalar": {"value": 100},
        "reservations": [{"type": "DYNAMIC", "role": "db", "principal": "admin"}],
        "disk": {"persistence": {"id": "dbvol", "principal": "admin"},
                 "volume": {"container_path": "pg", "mode": "RW"}}}]);
    let form = |field: &str, v: &Value| {
        format!("slaveId={agent}&{field}={}", percent_encode(&v.to_string()))
    };
    let post = |path: &str, body: String| {
        http(
            s.master.addr(),
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    };
    let r = post("/create-volumes", form("volumes", &vol));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    let full = http(s.master.addr(), "GET", "/slaves", &[], b"").json();
    let has_volume = full["slaves"][0]["reserved_resources_full"]["db"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["disk"]["persistence"]["id"] == "dbvol");
    assert!(has_volume, "{full}");
    // Creating the same volume again: not valid (id in use).
    let r = post("/create-volumes", form("volumes", &vol));
    assert_eq!(r.status, 400);
    let r = post("/destroy-volumes", form("volumes", &vol));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    let r = post(
        "/unreserve",
        form("resources", &json!([operator_reserved("cpus", 1.0)])),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    let st = state(&s);
    assert!(st["slaves"][0]["reserved_resources"]["db"]["cpus"]
        .as_f64()
        .is_none_or(|c| c == 0.0));
    assert_eq!(st["slaves"][0]["reserved_resources"]["db"]["disk"], 300.0);
    let r = post("/reserve", "slaveId=x".into());
    assert_eq!(r.status, 400);
    s.master.stop();
}

#[test]
fn reservations_and_volumes_survive_a_master_restart() {
    let s = setup();
    let agent = s.agent.id();
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent}, "resources": [operator_reserved("disk", 400.0)]}}),
    );
    assert_eq!(r.status, 202);
    s.clock.settle_blocking();
    let mut vol = operator_reserved("disk", 150.0);
    vol["disk"] = json!({"persistence": {"id": "keep", "principal": "admin"},
                         "volume": {"container_path": "keep", "mode": "RW"}});
    let r = api(
        &s,
        json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": {"value": agent}, "volumes": [vol]}}),
    );
    assert_eq!(r.status, 202);
    s.clock.settle_blocking();
    // Restart the master on the same work dir; the agent re-registers with its
    // checkpointed resources.
    let Setup {
        _dir,
        net,
        clock,
        master,
        agent: old_agent,
    } = s;
    let log = old_agent.log.clone();
    master.stop();
    old_agent.runtime.shutdown_blocking();
    let master = TestMaster::start(&net, &clock, _dir.path(), &[]);
    let agent2 = Agent::start(&net, &clock, &master.upid(), log);
    clock.settle_blocking();
    assert_eq!(agent2.id(), agent);
    let st = http(master.addr(), "GET", "/state", &[], b"").json();
    let slave = &st["slaves"][0];
    assert_eq!(slave["id"], agent.as_str());
    assert_eq!(slave["reserved_resources"]["db"]["disk"], 400.0);
    let full = http(master.addr(), "GET", "/slaves", &[], b"").json();
    let volume = full["slaves"][0]["reserved_resources_full"]["db"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["disk"]["persistence"]["id"] == "keep")
        .cloned();
    assert_eq!(volume.unwrap()["scalar"]["value"], 150.0);
    let roles = http(master.addr(), "GET", "/roles", &[], b"").json();
    let db = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "db")
        .cloned()
        .expect("role db listed in /roles");
    assert_eq!(db["reserved"]["disk"], 400.0);
    master.stop();
    agent2.runtime.shutdown_blocking();
}

#[test]
fn acknowledgement_needs_a_valid_uuid() {
    let s = setup();
    let fw = subscribe(&s);
    let r = call(
        s.master.addr(),
        &fw.stream,
        &json!({"framework_id": {"value": fw.id}, "type": "ACKNOWLEDGE_OPERATION_STATUS",
            "acknowledge_operation_status": {"uuid": B64.encode(b"short"),
                "operation_id": {"value": "x"}}}),
    );
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("UUID"));
    s.master.stop();
}

#[test]
fn operations_of_a_gone_agent_reconcile_as_gone_by_operator() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, agent, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "r"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    let _unacked = fw.next_status();
    let r = api(
        &s,
        json!({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": agent}}}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    fw.reconcile(
        &s,
        json!([{"operation_id": {"value": "r"}, "agent_id": {"value": agent}}]),
    );
    let st = fw.next_status();
    assert_eq!(st["operation_id"]["value"], "r");
    assert_eq!(st["state"], "OPERATION_GONE_BY_OPERATOR");
    s.master.stop();
}

#[test]
fn operator_grow_and_shrink_volume() {
    let s = setup();
    let agent = s.agent.id();
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent}, "resources": [operator_reserved("disk", 500.0)]}}),
    );
    assert_eq!(r.status, 202);
    let mut vol = operator_reserved("disk", 100.0);
    vol["disk"] = json!({"persistence": {"id": "g", "principal": "admin"},
                         "volume": {"container_path": "g", "mode": "RW"}});
    let r = api(
        &s,
        json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": {"value": agent}, "volumes": [vol.clone()]}}),
    );
    assert_eq!(r.status, 202);
    s.clock.settle_blocking();
    let r = api(
        &s,
        json!({"type": "GROW_VOLUME", "grow_volume": {"agent_id": {"value": agent},
        "volume": vol, "addition": operator_reserved("disk", 50.0)}}),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    let size = |s: &Setup| {
        s.master.with(|m| {
            m.state()
                .agents
                .registered
                .values()
                .next()
                .unwrap()
                .total
                .persistent_volumes()
                .disk()
        })
    };
    assert_eq!(size(&s), Some(150));
    let mut grown = operator_reserved("disk", 150.0);
    grown["disk"] = json!({"persistence": {"id": "g", "principal": "admin"},
                           "volume": {"container_path": "g", "mode": "RW"}});
    let r = api(
        &s,
        json!({"type": "SHRINK_VOLUME", "shrink_volume": {"agent_id": {"value": agent},
        "volume": grown.clone(), "subtract": {"value": 120.0}}}),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    assert_eq!(size(&s), Some(30));
    // Shrinking by the whole size is invalid.
    let r = api(
        &s,
        json!({"type": "SHRINK_VOLUME", "shrink_volume": {"agent_id": {"value": agent},
        "volume": grown, "subtract": {"value": 150.0}}}),
    );
    assert_eq!(r.status, 400);
    // The agent applied all four and agrees.
    let agent_total = s.agent.log.lock().unwrap().total.clone();
    assert_eq!(agent_total.persistent_volumes().disk(), Some(30));
    assert_eq!(s.agent.log.lock().unwrap().applied.len(), 4);
    s.master.stop();
}

#[test]
fn updates_for_a_removed_framework_are_acknowledged_by_the_master() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "r"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    let _ = fw.next_status();
    assert!(s.agent.log.lock().unwrap().acks.is_empty());
    fw.call(
        &s,
        json!({"framework_id": {"value": fw.id}, "type": "TEARDOWN"}),
    );
    // The agent retries; with the framework gone the master acknowledges.
    s.agent.retry();
    s.clock.settle_blocking();
    assert_eq!(s.agent.log.lock().unwrap().acks.len(), 1);
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    s.master.stop();
}

#[test]
fn agents_without_resource_provider_get_checkpointed_resources() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let log = Arc::new(Mutex::new(AgentLog {
        legacy: true,
        ..Default::default()
    }));
    let agent = Agent::start(&net, &clock, &master.upid(), log);
    clock.settle_blocking();
    let s = Setup {
        _dir: dir,
        net,
        clock,
        master,
        agent,
    };
    // Operator RESERVE: the agent is sent its whole checkpointed resources instead.
    let r = api(
        &s,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": s.agent.id()}, "resources": [operator_reserved("cpus", 1.0)]}}),
    );
    assert_eq!(r.status, 202);
    s.clock.settle_blocking();
    let checkpoints = s.agent.log.lock().unwrap().checkpoints.clone();
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(
        Resources::from(checkpoints[0].clone())
            .reserved("db")
            .cpus(),
        Some(1.0)
    );
    assert!(s.agent.log.lock().unwrap().applied.is_empty());
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    // A framework asking for feedback on such an agent gets OPERATION_ERROR.
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "fb"},
                "reserve": {"resources": [reserved("mem", 1.0)]}}]),
    );
    let st = fw.next_status();
    assert_eq!(st["state"], "OPERATION_ERROR");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("RESOURCE_PROVIDER"),
        "{st}"
    );
    s.master.stop();
}

#[test]
fn destroy_of_a_volume_in_use_is_refused() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, agent, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([
            {"type": "RESERVE", "id": {"value": "res"},
             "reserve": {"resources": [reserved("disk", 100.0)]}},
            {"type": "CREATE", "id": {"value": "vol"},
             "create": {"volumes": [volume(100.0, "busy")]}}
        ]),
    );
    for _ in 0..2 {
        let st = fw.next_status();
        assert_eq!(st["state"], "OPERATION_FINISHED");
        fw.ack(&s, &st);
    }
    // A task uses the volume; DESTROY in the same ACCEPT, after the launch, is refused.
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([
            {"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "t", "task_id": {"value": "t"}, "agent_id": {"value": agent},
                "command": {"value": "sleep 1000"},
                "resources": [scalar("cpus", 0.1), scalar("mem", 32.0), volume(100.0, "busy")]
            }]}},
            {"type": "DESTROY", "id": {"value": "destroy"},
             "destroy": {"volumes": [volume(100.0, "busy")]}}
        ]),
    );
    let st = fw.next_status();
    assert_eq!(st["operation_id"]["value"], "destroy");
    assert_eq!(st["state"], "OPERATION_ERROR");
    assert_eq!(st["message"], "Persistent volumes in use");
    s.master.stop();
}

#[test]
fn a_lost_acknowledgement_is_made_good_on_the_next_retry() {
    let s = setup();
    let mut fw = subscribe(&s);
    let (offer, _, _) = fw.offer(&s);
    fw.accept(
        &s,
        &offer,
        json!([{"type": "RESERVE", "id": {"value": "r"},
                "reserve": {"resources": [reserved("cpus", 1.0)]}}]),
    );
    let st = fw.next_status();
    // The master's acknowledgement to the agent is lost in transit.
    let agent_pid = s.agent.pid.upid().clone();
    let dropped = s
        .agent
        .runtime
        .filters()
        .drop_message::<internal::AcknowledgeOperationStatusMessage>(s.master.upid(), agent_pid);
    fw.ack(&s, &st);
    assert!(libprocess::block_on(dropped).is_ok(), "the ack was dropped");
    assert!(s.agent.log.lock().unwrap().acks.is_empty());
    assert_eq!(s.master.with(|m| m.state().operations.len()), 0);
    // The agent retries; the master, done with the operation, acknowledges again.
    s.agent.retry();
    s.clock.settle_blocking();
    assert_eq!(s.agent.log.lock().unwrap().acks.len(), 1);
    assert!(s.agent.log.lock().unwrap().unacked.is_empty());
    s.master.stop();
}

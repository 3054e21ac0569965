//! Frameworks against a real master over real HTTP: SUBSCRIBE, offers, launch, updates,
//! acknowledgements, decline filters, kill, reconciliation, failover, status codes.

#[path = "master_support/cluster.rs"]
mod cluster;

use std::time::Duration;

use cluster::*;
use mesos_master::master::Leadership;
use serde_json::{json, Value};

fn subscribe_body(name: &str, extra: Value) -> Value {
    let mut info = json!({"user": "root", "name": name});
    if let (Some(obj), Some(more)) = (info.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}})
}

struct Setup {
    dir: tempfile::TempDir,
    clock: libprocess::Clock,
    master: TestMaster,
    agent: TestAgent,
}

fn setup(flags: &[&str]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), flags);
    let agent = TestAgent::start(
        &net,
        &clock,
        &master.upid(),
        "cpus:4;mem:1024;ports:[31000-32000]",
        None,
    );
    clock.settle_blocking();
    assert!(agent.registered_id().is_some());
    Setup {
        dir,
        clock,
        master,
        agent,
    }
}

fn offers_count(master: &TestMaster) -> usize {
    master.with(|m| m.state().offers.len())
}

#[test]
fn subscribe_offer_launch_update_acknowledge() {
    let s = setup(&[]);
    let mut sub = Subscription::open(s.master.addr(), &subscribe_body("fw", json!({})));
    assert_eq!(sub.status, 200);
    let ct = sub
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    assert_eq!(ct.as_deref(), Some("application/json"));
    let subscribed = sub.next_of("SUBSCRIBED");
    let fid = subscribed["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fid, "m1-0000");
    assert_eq!(
        subscribed["subscribed"]["heartbeat_interval_seconds"].as_f64(),
        Some(15.0)
    );
    let stream = sub.stream_id();

    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    let offers = sub.next_of("OFFERS");
    let offer = &offers["offers"]["offers"][0];
    assert_eq!(offer["framework_id"]["value"], fid.as_str());
    let agent_id = offer["agent_id"]["value"].as_str().unwrap().to_owned();
    let offer_id = offer["id"]["value"].as_str().unwrap().to_owned();
    assert!(offer_id.starts_with("m1-O"));

    let accept = json!({
        "framework_id": {"value": fid},
        "type": "ACCEPT",
        "accept": {
            "offer_ids": [{"value": offer_id}],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "t1",
                "task_id": {"value": "t1"},
                "agent_id": {"value": agent_id},
                "command": {"value": "sleep 100"},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 128}}
                ]
            }]}}],
            "filters": {"refuse_seconds": 0}
        }
    });
    let r = call(s.master.addr(), &stream, &accept);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    s.clock.settle_blocking();
    assert!(s
        .agent
        .seen()
        .iter()
        .any(|x| matches!(x, Seen::RunTask(t) if t.task_id.value == "t1")));

    let update = sub.next_of("UPDATE");
    let status = &update["update"]["status"];
    assert_eq!(status["state"], "TASK_RUNNING");
    assert_eq!(status["task_id"]["value"], "t1");
    let uuid = status["uuid"].as_str().unwrap().to_owned();

    let state = http(s.master.addr(), "GET", "/state", &[], b"").json();
    let task = &state["frameworks"][0]["tasks"][0];
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(
        state["slaves"][0]["used_resources"]["cpus"].as_f64(),
        Some(1.0)
    );

    let ack = json!({
        "framework_id": {"value": fid},
        "type": "ACKNOWLEDGE",
        "acknowledge": {"agent_id": {"value": agent_id}, "task_id": {"value": "t1"}, "uuid": uuid}
    });
    assert_eq!(call(s.master.addr(), &stream, &ack).status, 202);
    s.clock.settle_blocking();
    assert!(s
        .agent
        .seen()
        .iter()
        .any(|x| matches!(x, Seen::Ack(t, u) if t == "t1" && u.len() == 16)));

    // KILL reaches the agent; RECONCILE answers known and unknown tasks.
    let kill = json!({"framework_id": {"value": fid}, "type": "KILL", "kill": {"task_id": {"value": "t1"}}});
    assert_eq!(call(s.master.addr(), &stream, &kill).status, 202);
    s.clock.settle_blocking();
    assert!(s
        .agent
        .seen()
        .iter()
        .any(|x| matches!(x, Seen::Kill(t) if t == "t1")));

    let reconcile = json!({"framework_id": {"value": fid}, "type": "RECONCILE", "reconcile": {"tasks": [
        {"task_id": {"value": "t1"}},
        {"task_id": {"value": "ghost"}, "agent_id": {"value": agent_id}},
        {"task_id": {"value": "nowhere"}, "agent_id": {"value": "m1-S99"}}
    ]}});
    assert_eq!(call(s.master.addr(), &stream, &reconcile).status, 202);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let u = sub.next_of("UPDATE");
        let st = &u["update"]["status"];
        assert_eq!(st["reason"], "REASON_RECONCILIATION");
        assert!(st.get("uuid").is_none());
        answers.push((
            st["task_id"]["value"].as_str().unwrap().to_owned(),
            st["state"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        answers,
        vec![
            ("t1".to_owned(), "TASK_RUNNING".to_owned()),
            ("ghost".to_owned(), "TASK_LOST".to_owned()),
            ("nowhere".to_owned(), "TASK_LOST".to_owned()),
        ]
    );
    let implicit = json!({"framework_id": {"value": fid}, "type": "RECONCILE", "reconcile": {}});
    assert_eq!(call(s.master.addr(), &stream, &implicit).status, 202);
    let u = sub.next_of("UPDATE");
    assert_eq!(u["update"]["status"]["task_id"]["value"], "t1");
    sub.close();
    s.agent.stop();
    s.master.stop();
    drop(s.dir);
}

#[test]
fn declined_offers_are_filtered_for_refuse_seconds() {
    let s = setup(&[]);
    let mut sub = Subscription::open(
        s.master.addr(),
        &subscribe_body("fw", json!({"capabilities": [{"type": "PARTITION_AWARE"}]})),
    );
    let fid = sub.next_of("SUBSCRIBED")["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let stream = sub.stream_id();
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    let offers = sub.next_of("OFFERS");
    let offer_id = offers["offers"]["offers"][0]["id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let decline = json!({"framework_id": {"value": fid}, "type": "DECLINE", "decline": {
        "offer_ids": [{"value": offer_id}], "filters": {"refuse_seconds": 10.0}}});
    assert_eq!(call(s.master.addr(), &stream, &decline).status, 202);
    s.clock.settle_blocking();
    assert_eq!(offers_count(&s.master), 0);
    advance(&s.clock, Duration::from_secs(8), Duration::from_secs(1));
    assert_eq!(
        offers_count(&s.master),
        0,
        "re-offered within refuse_seconds"
    );
    advance(&s.clock, Duration::from_secs(4), Duration::from_secs(1));
    assert_eq!(
        offers_count(&s.master),
        1,
        "not re-offered after refuse_seconds"
    );
    let again = sub.next_of("OFFERS");
    assert_ne!(
        again["offers"]["offers"][0]["id"]["value"],
        offer_id.as_str()
    );

    // SUPPRESS stops offers; REVIVE brings them back.
    let oid = again["offers"]["offers"][0]["id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let suppress = json!({"framework_id": {"value": fid}, "type": "SUPPRESS", "suppress": {}});
    assert_eq!(call(s.master.addr(), &stream, &suppress).status, 202);
    let decline = json!({"framework_id": {"value": fid}, "type": "DECLINE", "decline": {
        "offer_ids": [{"value": oid}], "filters": {"refuse_seconds": 0}}});
    assert_eq!(call(s.master.addr(), &stream, &decline).status, 202);
    advance(&s.clock, Duration::from_secs(3), Duration::from_secs(1));
    assert_eq!(offers_count(&s.master), 0);
    let revive = json!({"framework_id": {"value": fid}, "type": "REVIVE", "revive": {}});
    assert_eq!(call(s.master.addr(), &stream, &revive).status, 202);
    advance(&s.clock, Duration::from_secs(2), Duration::from_secs(1));
    assert_eq!(offers_count(&s.master), 1);
    sub.close();
    s.agent.stop();
    s.master.stop();
}

#[test]
fn offer_timeout_rescinds() {
    let s = setup(&["--offer_timeout=5secs"]);
    let mut sub = Subscription::open(s.master.addr(), &subscribe_body("fw", json!({})));
    sub.next_of("SUBSCRIBED");
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    let offers = sub.next_of("OFFERS");
    let id = offers["offers"]["offers"][0]["id"]["value"].clone();
    advance(&s.clock, Duration::from_secs(5), Duration::from_secs(1));
    let rescind = sub.next_of("RESCIND");
    assert_eq!(rescind["rescind"]["offer_id"]["value"], id);
    sub.close();
    s.agent.stop();
    s.master.stop();
}

#[test]
fn teardown_kills_tasks_and_completes_the_framework() {
    let s = setup(&[]);
    let mut sub = Subscription::open(s.master.addr(), &subscribe_body("fw", json!({})));
    let fid = sub.next_of("SUBSCRIBED")["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let stream = sub.stream_id();
    let teardown = json!({"framework_id": {"value": fid}, "type": "TEARDOWN"});
    assert_eq!(call(s.master.addr(), &stream, &teardown).status, 202);
    s.clock.settle_blocking();
    let state = http(s.master.addr(), "GET", "/frameworks", &[], b"").json();
    assert!(state["frameworks"].as_array().unwrap().is_empty());
    assert_eq!(state["completed_frameworks"][0]["id"], fid.as_str());
    // The stream ends once the framework is gone.
    while sub.next().is_some() {}
    // Calls for a removed framework are refused.
    assert_eq!(call(s.master.addr(), &stream, &teardown).status, 400);
    s.agent.stop();
    s.master.stop();
}

#[test]
fn scheduler_endpoint_status_codes() {
    let s = setup(&[]);
    let addr = s.master.addr();
    let path = "/api/v1/scheduler";
    let sub_body = subscribe_body("fw", json!({})).to_string();

    let r = http(addr, "GET", path, &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
    assert_eq!(
        http(addr, "POST", path, &[], sub_body.as_bytes()).status,
        400
    );
    let r = http(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json; charset=utf-8")],
        sub_body.as_bytes(),
    );
    assert_eq!(r.status, 415);
    let json_ct = [("Content-Type", "application/json")];
    assert_eq!(http(addr, "POST", path, &json_ct, b"{not json").status, 400);
    assert_eq!(http(addr, "POST", path, &json_ct, b"{}").status, 400);
    assert_eq!(
        http(addr, "POST", path, &json_ct, br#"{"type":"UNKNOWN"}"#).status,
        501
    );
    let r = http(
        addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "text/html"),
        ],
        sub_body.as_bytes(),
    );
    assert_eq!(r.status, 406);
    let r = http(
        addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Mesos-Stream-Id", "x"),
        ],
        sub_body.as_bytes(),
    );
    assert_eq!(r.status, 400);
    let unknown = json!({"framework_id": {"value": "nope"}, "type": "REVIVE"});
    assert_eq!(call(addr, "x", &unknown).status, 400);

    let mut sub = Subscription::open(addr, &subscribe_body("fw", json!({})));
    let fid = sub.next_of("SUBSCRIBED")["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let revive = json!({"framework_id": {"value": fid}, "type": "REVIVE"});
    let r = http(addr, "POST", path, &json_ct, revive.to_string().as_bytes());
    assert_eq!(r.status, 400, "missing Mesos-Stream-Id");
    assert_eq!(call(addr, "wrong", &revive).status, 400);
    assert_eq!(call(addr, &sub.stream_id(), &revive).status, 202);

    // A protobuf SUBSCRIBE gets a protobuf stream.
    let pb = http_head_only(addr, &sub_body);
    assert_eq!(pb, Some("application/x-protobuf".to_owned()));

    // Not the leader: 307 to the leader, or 503 with none.
    s.master
        .leader
        .set(Leadership::Follower("leader.example:5050".into()));
    let r = http(addr, "POST", path, &json_ct, sub_body.as_bytes());
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("Location"),
        Some("//leader.example:5050/api/v1/scheduler")
    );
    s.master.leader.set(Leadership::NoLeader);
    assert_eq!(
        http(addr, "POST", path, &json_ct, sub_body.as_bytes()).status,
        503
    );
    assert_eq!(http(addr, "GET", "/redirect", &[], b"").status, 503);
    s.master.leader.set(Leadership::Leading);
    sub.close();
    s.agent.stop();
    s.master.stop();
}

/// Opens a protobuf SUBSCRIBE and returns the response Content-Type.
fn http_head_only(addr: std::net::SocketAddr, json_body: &str) -> Option<String> {
    use prost::Message;
    let call: mesos_protos::v1::scheduler::Call =
        mesos_protos::json::from_str(json_body).expect("call");
    let bytes = call.encode_to_vec();
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    use std::io::{Read, Write};
    let head = format!(
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nAccept: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(&bytes).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    text.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim().to_owned())
    })
}

#[test]
fn calls_for_a_framework_not_subscribed_over_http_get_403() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let info = mesos_protos::v1::FrameworkInfo {
        user: "root".into(),
        name: "old".into(),
        id: Some(mesos_protos::v1::FrameworkId {
            value: "old-0000".into(),
        }),
        ..Default::default()
    };
    let task = mesos_protos::v1::Task {
        name: "t".into(),
        task_id: mesos_protos::v1::TaskId { value: "t".into() },
        framework_id: mesos_protos::v1::FrameworkId {
            value: "old-0000".into(),
        },
        agent_id: mesos_protos::v1::AgentId {
            value: "old-S3".into(),
        },
        state: mesos_protos::v1::TaskState::TaskRunning as i32,
        resources: mesos_protos::resources::from_string("cpus:1;mem:32", "*").unwrap(),
        ..Default::default()
    };
    let agent = TestAgent::start(
        &net,
        &clock,
        &master.upid(),
        "cpus:4;mem:1024",
        Some(("old-S3".into(), vec![task], vec![info])),
    );
    clock.settle_blocking();
    assert_eq!(agent.registered_id().as_deref(), Some("old-S3"));
    let revive = json!({"framework_id": {"value": "old-0000"}, "type": "REVIVE"});
    assert_eq!(call(master.addr(), "any", &revive).status, 403);
    let state = http(master.addr(), "GET", "/state", &[], b"").json();
    assert_eq!(state["frameworks"][0]["recovered"], true);
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING");
    assert_eq!(state["frameworks"][0]["tasks"][0]["role"], "*");

    // The framework re-subscribes with its id and becomes active again.
    let mut sub = Subscription::open(
        master.addr(),
        &json!({"type": "SUBSCRIBE", "subscribe": {"framework_info":
            {"user": "root", "name": "old", "id": {"value": "old-0000"}}}}),
    );
    let ev = sub.next_of("SUBSCRIBED");
    assert_eq!(ev["subscribed"]["framework_id"]["value"], "old-0000");
    assert_eq!(call(master.addr(), &sub.stream_id(), &revive).status, 202);
    sub.close();
    agent.stop();
    master.stop();
}

#[test]
fn a_disconnected_framework_keeps_its_tasks_until_failover_timeout() {
    let s = setup(&[]);
    let mut sub = Subscription::open(
        s.master.addr(),
        &subscribe_body("fw", json!({"failover_timeout": 10.0})),
    );
    let fid = sub.next_of("SUBSCRIBED")["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let stream = sub.stream_id();
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    let offers = sub.next_of("OFFERS");
    let offer = &offers["offers"]["offers"][0];
    let accept = json!({"framework_id": {"value": fid}, "type": "ACCEPT", "accept": {
        "offer_ids": [{"value": offer["id"]["value"]}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": "t", "task_id": {"value": "t"}, "agent_id": offer["agent_id"],
            "command": {"value": "true"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}]}}]}});
    assert_eq!(call(s.master.addr(), &stream, &accept).status, 202);
    sub.next_of("UPDATE");
    sub.close();

    // The HTTP layer notices a closed stream when a heartbeat write fails: advance to
    // the next heartbeats and wait (bounded, without sleeping) for the master to see it.
    let f = fid.clone();
    let mut disconnected = false;
    for i in 0..2000 {
        if i % 200 == 0 {
            s.clock.advance(Duration::from_secs(15));
        }
        s.clock.settle_blocking();
        let f = f.clone();
        if s.master
            .with(move |m| !m.state().frameworks[&f].connected())
        {
            disconnected = true;
            break;
        }
        let _ = http(s.master.addr(), "GET", "/health", &[], b"");
    }
    assert!(disconnected, "the master never saw the stream close");
    advance(&s.clock, Duration::from_secs(9), Duration::from_secs(1));
    let f = fid.clone();
    let tasks = s
        .master
        .with(move |m| m.state().frameworks.get(&f).map(|fw| fw.tasks.len()));
    assert_eq!(tasks, Some(1), "tasks are kept during the failover timeout");
    advance(&s.clock, Duration::from_secs(2), Duration::from_secs(1));
    let f = fid.clone();
    let gone = s
        .master
        .with(move |m| !m.state().frameworks.contains_key(&f));
    assert!(gone, "framework removed after failover_timeout");
    assert!(s
        .agent
        .seen()
        .iter()
        .any(|x| matches!(x, Seen::ShutdownFramework(id) if *id == fid)));
    let state = http(s.master.addr(), "GET", "/state", &[], b"").json();
    assert_eq!(
        state["completed_frameworks"][0]["completed_tasks"][0]["state"],
        "TASK_KILLED"
    );
    s.agent.stop();
    s.master.stop();
}

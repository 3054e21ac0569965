//! Agents against a real master actor: registration, pings, unreachability, restart.

#[path = "master_support/cluster.rs"]
mod cluster;

use std::sync::atomic::Ordering;
use std::time::Duration;

use cluster::*;

#[test]
fn an_agent_registers_and_shows_in_state() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
    clock.settle_blocking();
    assert_eq!(agent.registered_id().as_deref(), Some("m1-S0"));
    let admitted = master.with(|m| m.registry().agents.keys().cloned().collect::<Vec<_>>());
    assert_eq!(admitted, vec!["m1-S0".to_owned()]);

    let state = http(master.addr(), "GET", "/state", &[], b"");
    assert_eq!(state.status, 200);
    let v = state.json();
    assert_eq!(v["slaves"][0]["id"], "m1-S0");
    assert_eq!(v["slaves"][0]["resources"]["cpus"].as_f64(), Some(4.0));
    assert_eq!(v["activated_slaves"].as_f64(), Some(1.0));
    let same = http(master.addr(), "GET", "/master/state", &[], b"");
    assert_eq!(same.json()["id"], v["id"]);
    assert_eq!(http(master.addr(), "GET", "/health", &[], b"").status, 200);
    let version = http(master.addr(), "GET", "/version", &[], b"").json();
    assert_eq!(version["version"], "1.8.0");
    agent.stop();
    master.stop();
}

#[test]
fn an_agent_that_stops_answering_pings_becomes_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
    clock.settle_blocking();
    let id = agent.registered_id().unwrap();

    // Answered pings keep it registered well past the 75 s window.
    advance(&clock, Duration::from_secs(150), Duration::from_secs(15));
    assert!(master.with(|m| m.state().agents.registered.len()) == 1);

    agent.answer_pings.store(false, Ordering::SeqCst);
    advance(&clock, Duration::from_secs(60), Duration::from_secs(15));
    assert!(
        master.with(|m| m.state().agents.registered.len()) == 1,
        "4 misses are tolerated"
    );
    advance(&clock, Duration::from_secs(30), Duration::from_secs(15));
    let (registered, unreachable) = master.with(move |m| {
        (
            m.state().agents.registered.len(),
            m.state().agents.unreachable.contains_key(&id),
        )
    });
    assert_eq!(registered, 0);
    assert!(unreachable);
    let reg = master.with(|m| m.registry().unreachable.len());
    assert_eq!(reg, 1);
    let pings = agent
        .seen()
        .iter()
        .filter(|s| matches!(s, Seen::Ping))
        .count();
    assert!(pings >= 10, "pings seen: {pings}");
    agent.stop();
    master.stop();
}

#[test]
fn a_restarted_master_recovers_admitted_agents_which_reregister() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let id = {
        let master = TestMaster::start(&net, &clock, dir.path(), &[]);
        let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
        clock.settle_blocking();
        let id = agent.registered_id().unwrap();
        agent.stop();
        master.stop();
        id
    };
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    clock.settle_blocking();
    let recovered = master.with(|m| {
        m.state()
            .agents
            .recovered
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    });
    assert_eq!(recovered, vec![id.clone()]);
    let state = http(master.addr(), "GET", "/state", &[], b"").json();
    assert_eq!(state["recovered_slaves"][0]["id"], id.as_str());

    let agent = TestAgent::start(
        &net,
        &clock,
        &master.upid(),
        "cpus:4;mem:1024",
        Some((id.clone(), Vec::new(), Vec::new())),
    );
    clock.settle_blocking();
    assert_eq!(agent.registered_id(), Some(id.clone()));
    let (registered, recovered) = master.with(|m| {
        (
            m.state()
                .agents
                .registered
                .keys()
                .cloned()
                .collect::<Vec<_>>(),
            m.state().agents.recovered.len(),
        )
    });
    assert_eq!(registered, vec![id]);
    assert_eq!(recovered, 0);
    agent.stop();
    master.stop();
}

#[test]
fn recovered_agents_that_do_not_return_become_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    {
        let master = TestMaster::start(&net, &clock, dir.path(), &[]);
        let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:1;mem:64", None);
        clock.settle_blocking();
        agent.stop();
        master.stop();
    }
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    clock.settle_blocking();
    advance(&clock, Duration::from_secs(601), Duration::from_secs(60));
    let (recovered, unreachable) = master.with(|m| {
        (
            m.state().agents.recovered.len(),
            m.state().agents.unreachable.len(),
        )
    });
    assert_eq!((recovered, unreachable), (0, 1));
    assert_eq!(master.with(|m| m.registry().unreachable.len()), 1);
    master.stop();
}

#[test]
fn metrics_snapshot_has_master_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
    clock.settle_blocking();
    advance(&clock, Duration::from_secs(1), Duration::from_secs(1));
    let r = http(master.addr(), "GET", "/metrics/snapshot", &[], b"");
    assert_eq!(r.status, 200);
    let v = r.json();
    let obj = v.as_object().expect("flat object");
    for k in [
        "master/uptime_secs",
        "master/elected",
        "master/slaves_active",
        "master/slaves_connected",
        "master/slaves_unreachable",
        "master/frameworks_active",
        "master/tasks_running",
        "master/tasks_lost",
        "master/cpus_total",
        "master/mem_used",
        "master/outstanding_offers",
        "master/slave_registrations",
        "registrar/queued_operations",
    ] {
        assert!(obj.get(k).is_some_and(|x| x.is_number()), "missing {k}");
    }
    assert!(obj.values().all(|x| x.is_number()));
    assert_eq!(v["master/slaves_active"].as_f64(), Some(1.0));
    assert_eq!(v["master/slave_registrations"].as_f64(), Some(1.0));
    assert_eq!(v["master/cpus_total"].as_f64(), Some(4.0));
    assert_eq!(v["master/elected"].as_f64(), Some(1.0));
    agent.stop();
    master.stop();
}

#[test]
fn operator_api_answers_get_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
    clock.settle_blocking();
    let json_ct = [("Content-Type", "application/json")];
    let r = http(
        master.addr(),
        "POST",
        "/api/v1",
        &json_ct,
        br#"{"type":"GET_AGENTS"}"#,
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["type"], "GET_AGENTS");
    assert_eq!(
        v["get_agents"]["agents"][0]["agent_info"]["id"]["value"],
        "m1-S0"
    );
    let r = http(
        master.addr(),
        "POST",
        "/api/v1",
        &json_ct,
        br#"{"type":"GET_STATE"}"#,
    );
    assert!(r.json()["get_state"]["get_agents"].is_object());
    let r = http(
        master.addr(),
        "POST",
        "/api/v1",
        &json_ct,
        br#"{"type":"GET_MASTER"}"#,
    );
    assert_eq!(r.json()["get_master"]["master_info"]["id"], "m1");
    assert_eq!(http(master.addr(), "GET", "/api/v1", &[], b"").status, 405);
    assert_eq!(
        http(
            master.addr(),
            "POST",
            "/api/v1",
            &[("Content-Type", "text/plain")],
            b"{}"
        )
        .status,
        415
    );
    assert_eq!(
        http(master.addr(), "POST", "/api/v1", &json_ct, b"nope").status,
        400
    );
    let r = http(
        master.addr(),
        "POST",
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/x-protobuf"),
        ],
        br#"{"type":"GET_HEALTH"}"#,
    );
    assert_eq!(r.header("Content-Type"), Some("application/x-protobuf"));
    let decoded: mesos_protos::v1::master::Response =
        mesos_protos::protobuf::decode(&r.body).expect("protobuf response");
    assert_eq!(decoded.get_health.map(|h| h.healthy), Some(true));
    agent.stop();
    master.stop();
}

#[test]
fn mark_agent_gone_and_registry_gc() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(
        &net,
        &clock,
        dir.path(),
        &[
            "--registry_max_agent_age=1hrs",
            "--registry_gc_interval=15mins",
        ],
    );
    let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
    clock.settle_blocking();
    let json_ct = [("Content-Type", "application/json")];
    let body = br#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"m1-S0"}}}"#;
    let r = http(master.addr(), "POST", "/api/v1", &json_ct, body);
    assert_eq!(r.status, 200);
    clock.settle_blocking();
    assert!(agent
        .seen()
        .iter()
        .any(|s| matches!(s, Seen::Shutdown(m) if m.contains("gone"))));
    let gone = master.with(|m| {
        (
            m.state().agents.gone.contains_key("m1-S0"),
            m.registry().gone.contains_key("m1-S0"),
            m.state().agents.registered.len(),
        )
    });
    assert_eq!(gone, (true, true, 0));
    // Idempotent, and unknown agents are 404.
    assert_eq!(
        http(master.addr(), "POST", "/api/v1", &json_ct, body).status,
        200
    );
    let unknown = br#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"x"}}}"#;
    assert_eq!(
        http(master.addr(), "POST", "/api/v1", &json_ct, unknown).status,
        404
    );
    // A gone agent that re-registers is told to shut down.
    let again = TestAgent::start(
        &net,
        &clock,
        &master.upid(),
        "cpus:4;mem:1024",
        Some(("m1-S0".into(), Vec::new(), Vec::new())),
    );
    clock.settle_blocking();
    assert!(again.seen().iter().any(|s| matches!(s, Seen::Shutdown(_))));
    // After max age, the registry GC forgets the entry.
    advance(
        &clock,
        Duration::from_secs(2 * 3600),
        Duration::from_secs(15 * 60),
    );
    let gone = master.with(|m| (m.state().agents.gone.len(), m.registry().gone.len()));
    assert_eq!(gone, (0, 0));
    again.stop();
    agent.stop();
    master.stop();
}

#[test]
fn operator_event_stream_reports_agents_and_frameworks() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let mut ops = Subscription::open_path(
        master.addr(),
        "/api/v1",
        &serde_json::json!({"type": "SUBSCRIBE"}),
    );
    assert_eq!(ops.status, 200);
    let first = ops.next_of("SUBSCRIBED");
    assert_eq!(
        first["subscribed"]["heartbeat_interval_seconds"].as_f64(),
        Some(15.0)
    );
    assert!(first["subscribed"]["get_state"].is_object());

    let agent = TestAgent::start(&net, &clock, &master.upid(), "cpus:4;mem:1024", None);
    clock.settle_blocking();
    let added = ops.next_of("AGENT_ADDED");
    assert_eq!(
        added["agent_added"]["agent"]["agent_info"]["id"]["value"],
        "m1-S0"
    );
    let mut sched = Subscription::open(
        master.addr(),
        &serde_json::json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "n"}}}),
    );
    sched.next_of("SUBSCRIBED");
    let fw = ops.next_of("FRAMEWORK_ADDED");
    assert_eq!(
        fw["framework_added"]["framework"]["framework_info"]["name"],
        "n"
    );
    advance(&clock, Duration::from_secs(15), Duration::from_secs(15));
    ops.next_of("HEARTBEAT");
    let state = http(master.addr(), "GET", "/metrics/snapshot", &[], b"").json();
    assert_eq!(
        state["master/operator_event_stream_subscribers"].as_f64(),
        Some(1.0)
    );
    sched.close();
    ops.close();
    agent.stop();
    master.stop();
}

//! Quota and weights over real HTTP: the v1 operator calls (SET_QUOTA, REMOVE_QUOTA,
//! GET_QUOTA, UPDATE_QUOTA, UPDATE_WEIGHTS, GET_WEIGHTS), the legacy `/quota` and
//! `/weights` endpoints, persistence across a master restart, and the "why no offer"
//! extension of `/roles` and GET_ROLES.

#[path = "master_support/cluster.rs"]
mod cluster;

use std::net::SocketAddr;
use std::time::Duration;

use cluster::*;
use serde_json::{json, Value};

fn operator(addr: SocketAddr, body: &Value) -> HttpResponse {
    http(
        addr,
        "POST",
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

fn body_text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

fn set_quota(role: &str, guarantee: &str, force: bool) -> Value {
    let guarantee: Vec<Value> = guarantee
        .split(';')
        .map(|kv| {
            let (name, v) = kv.split_once(':').unwrap();
            json!({"name": name, "type": "SCALAR", "scalar": {"value": v.parse::<f64>().unwrap()}})
        })
        .collect();
    json!({"type": "SET_QUOTA", "set_quota": {"quota_request": {
        "role": role, "guarantee": guarantee, "force": force}}})
}

fn get_quota(addr: SocketAddr) -> Value {
    let r = operator(addr, &json!({"type": "GET_QUOTA"}));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    r.json()
}

fn metric(master: &TestMaster, name: &str) -> Option<f64> {
    master
        .runtime
        .metrics()
        .snapshot()
        .get(name)
        .and_then(|v| v.as_f64())
}

struct Setup {
    _dir: tempfile::TempDir,
    clock: libprocess::Clock,
    master: TestMaster,
    agent: TestAgent,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let agent = TestAgent::start(
        &net,
        &clock,
        &master.upid(),
        "cpus:4;mem:1024;disk:1024",
        None,
    );
    clock.settle_blocking();
    assert!(agent.registered_id().is_some());
    Setup {
        _dir: dir,
        clock,
        master,
        agent,
    }
}

#[test]
fn set_get_and_remove_quota_keep_1_8_behaviour() {
    let s = setup();
    let addr = s.master.addr();

    // Nothing yet.
    let q = get_quota(addr);
    assert_eq!(q["type"], "GET_QUOTA");
    assert!(q["get_quota"]["status"]
        .get("infos")
        .is_none_or(|i| i.as_array().unwrap().is_empty()));

    // Validation: '*', nested roles, non-scalars, empty guarantees are 400.
    for bad in [
        set_quota("*", "cpus:1", false),
        set_quota("a/b", "cpus:1", false),
        json!({"type": "SET_QUOTA", "set_quota": {"quota_request": {"role": "r", "guarantee": []}}}),
        json!({"type": "SET_QUOTA", "set_quota": {"quota_request": {"role": "r", "guarantee": [
            {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 2}]}}]}}}),
        set_quota("r", "cpus:1;cpus:2", false),
    ] {
        let r = operator(addr, &bad);
        assert_eq!(r.status, 400, "{bad}: {}", body_text(&r));
    }

    // The capacity heuristic: more than the cluster has is 409 unless forced.
    let r = operator(addr, &set_quota("big", "cpus:5", false));
    assert_eq!(r.status, 409, "{}", body_text(&r));
    assert!(body_text(&r).contains("force"), "{}", body_text(&r));

    let r = operator(addr, &set_quota("r", "cpus:2;mem:256", false));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    // A second SET for the same role is refused.
    let r = operator(addr, &set_quota("r", "cpus:1", false));
    assert_eq!(r.status, 400, "{}", body_text(&r));
    // 2 + 3 > 4 cpus: refused, then forced.
    assert_eq!(
        operator(addr, &set_quota("big", "cpus:3", false)).status,
        409
    );
    assert_eq!(
        operator(addr, &set_quota("big", "cpus:3", true)).status,
        200
    );

    let q = get_quota(addr);
    let status = &q["get_quota"]["status"];
    let infos = status["infos"].as_array().unwrap();
    assert_eq!(infos.len(), 2);
    let r_info = infos.iter().find(|i| i["role"] == "r").unwrap();
    let cpus = r_info["guarantee"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "cpus")
        .unwrap();
    assert_eq!(cpus["scalar"]["value"], 2.0);
    // The 1.8 guarantee doubles as the limit in the 1.9 config view.
    let config = status["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == "r")
        .unwrap();
    assert_eq!(config["guarantees"]["cpus"]["value"], 2.0);
    assert_eq!(config["limits"]["mem"]["value"], 256.0);

    // Legacy GET /quota shows the same.
    let legacy = http(addr, "GET", "/quota", &[], b"");
    assert_eq!(legacy.status, 200);
    assert_eq!(legacy.json()["infos"].as_array().unwrap().len(), 2);

    // REMOVE_QUOTA, then again: 400 (no quota).
    let remove = json!({"type": "REMOVE_QUOTA", "remove_quota": {"role": "big"}});
    assert_eq!(operator(addr, &remove).status, 200);
    let r = operator(addr, &remove);
    assert_eq!(r.status, 400, "{}", body_text(&r));

    // Legacy POST /quota and DELETE /quota/<role>.
    let body = json!({"role": "legacy", "guarantee": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}]});
    let r = http(
        addr,
        "POST",
        "/quota",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(http(addr, "POST", "/quota", &[], b"{not json").status, 400);
    assert_eq!(
        http(addr, "DELETE", "/master/quota/legacy", &[], b"").status,
        200
    );
    assert_eq!(http(addr, "DELETE", "/quota/legacy", &[], b"").status, 400);
    assert_eq!(http(addr, "PUT", "/quota", &[], b"").status, 405);
    let roles: Vec<Value> = get_quota(addr)["get_quota"]["status"]["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].clone())
        .collect();
    assert_eq!(roles, vec![json!("r")]);

    // The allocator got the quota: its gauges show it after a cycle.
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    assert_eq!(
        metric(
            &s.master,
            "allocator/mesos/quota/roles/r/resources/cpus/guarantee"
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            &s.master,
            "allocator/mesos/quota/roles/big/resources/cpus/guarantee"
        ),
        None
    );
    s.agent.stop();
    s.master.stop();
}

#[test]
fn update_quota_in_the_1_9_form_checks_limits_and_consumption() {
    let s = setup();
    let addr = s.master.addr();
    let update = |force: bool, configs: Value| json!({"type": "UPDATE_QUOTA", "update_quota": {"force": force, "quota_configs": configs}});

    // Guarantee above limit, '*', duplicated roles: 400.
    for bad in [
        json!([{"role": "a", "guarantees": {"cpus": {"value": 3}}, "limits": {"cpus": {"value": 2}}}]),
        json!([{"role": "*", "limits": {"cpus": {"value": 2}}}]),
        json!([{"role": "a", "limits": {"cpus": {"value": 2}}},
               {"role": "a", "limits": {"cpus": {"value": 3}}}]),
        json!([{"role": "p", "limits": {"cpus": {"value": 1}}},
               {"role": "p/c", "limits": {"cpus": {"value": 2}}}]),
    ] {
        let r = operator(addr, &update(false, bad.clone()));
        assert_eq!(r.status, 400, "{bad}: {}", body_text(&r));
    }
    // Guarantees beyond the cluster: 400 unless forced.
    let over = json!([{"role": "g", "guarantees": {"cpus": {"value": 8}}}]);
    let r = operator(addr, &update(false, over.clone()));
    assert_eq!(r.status, 400);
    assert!(body_text(&r).contains("force"), "{}", body_text(&r));
    assert_eq!(operator(addr, &update(true, over)).status, 200);
    // An empty config removes the quota.
    assert_eq!(
        operator(addr, &update(false, json!([{"role": "g"}]))).status,
        200
    );

    // A framework in role "web" takes the whole agent as an offer.
    let mut sub = Subscription::open(
        addr,
        &json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "root", "name": "web", "roles": ["web"],
            "capabilities": [{"type": "MULTI_ROLE"}]}}}),
    );
    assert_eq!(sub.status, 200);
    sub.next_of("SUBSCRIBED");
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    sub.next_of("OFFERS");

    // A limit below what "web" already holds is refused unless forced...
    let low = json!([{"role": "web", "limits": {"cpus": {"value": 1}}}]);
    let r = operator(addr, &update(false, low.clone()));
    assert_eq!(r.status, 400, "{}", body_text(&r));
    assert!(body_text(&r).contains("consuming"), "{}", body_text(&r));
    let r = operator(addr, &update(true, low));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    // ...and forcing it rescinds the outstanding offer; the next offer keeps to the limit.
    let rescind = sub.next_of("RESCIND");
    assert!(rescind["rescind"]["offer_id"]["value"].is_string());
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    let offers = sub.next_of("OFFERS");
    let cpus: f64 = offers["offers"]["offers"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "cpus")
        .map(|r| r["scalar"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(cpus, 1.0);
    assert_eq!(
        metric(
            &s.master,
            "allocator/mesos/quota/roles/web/resources/cpus/limit"
        ),
        Some(1.0)
    );
    let configs = get_quota(addr)["get_quota"]["status"]["configs"].clone();
    assert_eq!(configs[0]["role"], "web");
    assert_eq!(configs[0]["limits"]["cpus"]["value"], 1.0);
    sub.close();
    s.agent.stop();
    s.master.stop();
}

#[test]
fn weights_over_the_operator_api_and_legacy_endpoint() {
    let s = setup();
    let addr = s.master.addr();
    let r = http(
        addr,
        "PUT",
        "/weights",
        &[("Content-Type", "application/json")],
        br#"[{"role":"a","weight":2.5},{"role":"b","weight":0.5}]"#,
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    for bad in [
        &br#"[{"role":"a","weight":0}]"#[..],
        br#"[{"role":"a","weight":-1}]"#,
        br#"[{"role":"..","weight":1}]"#,
        br#"[{"role":"a","weight":1},{"role":"a","weight":2}]"#,
        br#"{"role":"a"}"#,
    ] {
        let r = http(addr, "PUT", "/weights", &[], bad);
        assert_eq!(
            r.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(bad),
            body_text(&r)
        );
    }
    let got = http(addr, "GET", "/weights", &[], b"").json();
    assert_eq!(
        got,
        json!([{"role": "a", "weight": 2.5}, {"role": "b", "weight": 0.5}])
    );

    let update = json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [
        {"role": "b", "weight": 3.0}]}});
    assert_eq!(operator(addr, &update).status, 200);
    let bad = json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [
        {"role": "b", "weight": 0.0}]}});
    assert_eq!(operator(addr, &bad).status, 400);
    let r = operator(addr, &json!({"type": "GET_WEIGHTS"}));
    assert_eq!(r.status, 200);
    let infos = r.json()["get_weights"]["weight_infos"].clone();
    assert_eq!(
        infos,
        json!([{"role": "a", "weight": 2.5}, {"role": "b", "weight": 3.0}])
    );
    // `/roles` and GET_ROLES report the weights.
    let roles = http(addr, "GET", "/roles", &[], b"").json();
    let b = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "b")
        .unwrap()
        .clone();
    assert_eq!(b["weight"], 3.0);
    s.agent.stop();
    s.master.stop();
}

#[test]
fn quota_and_weights_survive_a_master_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (net, clock) = world();
    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let addr = master.addr();
    assert_eq!(operator(addr, &set_quota("r", "cpus:1", true)).status, 200);
    let update = json!({"type": "UPDATE_QUOTA", "update_quota": {"force": true, "quota_configs": [
        {"role": "s/t", "guarantees": {"mem": {"value": 64}}, "limits": {"mem": {"value": 128}}}]}});
    assert_eq!(operator(addr, &update).status, 200);
    let weights = json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [
        {"role": "r", "weight": 4.0}]}});
    assert_eq!(operator(addr, &weights).status, 200);
    master.stop();

    let master = TestMaster::start(&net, &clock, dir.path(), &[]);
    let addr = master.addr();
    let configs = get_quota(addr)["get_quota"]["status"]["configs"].clone();
    let mut roles: Vec<String> = configs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap().to_owned())
        .collect();
    roles.sort();
    assert_eq!(roles, ["r", "s/t"]);
    let got = http(addr, "GET", "/weights", &[], b"").json();
    assert_eq!(got, json!([{"role": "r", "weight": 4.0}]));
    // The recovered quota reached the new allocator.
    clock.advance(Duration::from_secs(1));
    clock.settle_blocking();
    assert_eq!(
        metric(
            &master,
            "allocator/mesos/quota/roles/r/resources/cpus/guarantee"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &master,
            "allocator/mesos/quota/roles/s/t/resources/mem/limit"
        ),
        Some(128.0)
    );
    // Recovered quota is still "already set" for SET_QUOTA.
    assert_eq!(operator(addr, &set_quota("r", "cpus:1", true)).status, 400);
    master.stop();
}

fn reasons_of(roles: &Value, role: &str) -> Value {
    roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == role)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn roles_tell_why_a_framework_got_no_offer() {
    let s = setup();
    let addr = s.master.addr();
    let mut sub = Subscription::open(
        addr,
        &json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "root", "name": "quiet", "role": "quiet"}}}),
    );
    let fid = sub.next_of("SUBSCRIBED")["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let stream = sub.stream_id();
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();
    let offers = sub.next_of("OFFERS");
    let oid = offers["offers"]["offers"][0]["id"]["value"].clone();
    // Suppress, then decline: the next cycles offer nothing, for a stated reason.
    let suppress = json!({"framework_id": {"value": fid}, "type": "SUPPRESS", "suppress": {}});
    assert_eq!(call(addr, &stream, &suppress).status, 202);
    let decline = json!({"framework_id": {"value": fid}, "type": "DECLINE", "decline": {
        "offer_ids": [{"value": oid}], "filters": {"refuse_seconds": 0}}});
    assert_eq!(call(addr, &stream, &decline).status, 202);
    s.clock.advance(Duration::from_secs(1));
    s.clock.settle_blocking();

    let roles = http(addr, "GET", "/roles", &[], b"").json();
    let quiet = reasons_of(&roles["roles"], "quiet");
    assert_eq!(quiet["no_offer_reason"], "suppressed", "{roles}");
    assert_eq!(
        quiet["no_offer_reasons"],
        json!([{"framework_id": fid, "reason": "suppressed"}])
    );
    let r = operator(addr, &json!({"type": "GET_ROLES"}));
    assert_eq!(r.status, 200);
    let v = r.json();
    let quiet = reasons_of(&v["get_roles"]["roles"], "quiet");
    assert_eq!(quiet["no_offer_reason"], "suppressed", "{v}");
    assert_eq!(quiet["frameworks"][0]["value"], fid.as_str());

    // Revive: offered again, and the reason is gone.
    let revive = json!({"framework_id": {"value": fid}, "type": "REVIVE", "revive": {}});
    assert_eq!(call(addr, &stream, &revive).status, 202);
    s.clock.settle_blocking();
    sub.next_of("OFFERS");
    let roles = http(addr, "GET", "/roles", &[], b"").json();
    let quiet = reasons_of(&roles["roles"], "quiet");
    assert!(quiet.get("no_offer_reason").is_none(), "{roles}");
    assert!(quiet.get("no_offer_reasons").is_none(), "{roles}");
    sub.close();
    s.agent.stop();
    s.master.stop();
}

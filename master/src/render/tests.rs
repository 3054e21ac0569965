use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::*;
use crate::state::MasterState;
use crate::testing::*;
use mesos_protos::v1::TaskState;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn assert_keys(v: &Value, required: &[&str], optional: &[&str]) {
    let got = keys(v);
    for k in required {
        assert!(got.contains(*k), "missing key {k} in {got:?}");
    }
    for k in &got {
        assert!(
            required.contains(&k.as_str()) || optional.contains(&k.as_str()),
            "unexpected key {k}"
        );
    }
}

fn is_number(v: &Value) -> bool {
    v.is_number()
}

fn populated() -> (MasterState, MasterFlags) {
    let flags = MasterFlags::load(["--cluster=test", "--work_dir=/tmp/m"], []).unwrap();
    let mut s = master_state();
    s.elected_time = Some(2.0);
    let aware = s.add_framework(framework_info("aware", &[PARTITION_AWARE]), http("a"), 1.0);
    let mut mr = framework_info("multi", &[MULTI_ROLE]);
    mr.roles = vec!["web".into()];
    mr.principal = Some("p".into());
    let multi = s.add_framework(mr, http("b"), 1.0);
    s.add_agent(agent(
        "m-S0",
        "cpus:4;mem:1024;disk:100;ports:[31000-32000]",
    ));
    s.add_agent(agent("m-S1", "cpus:4;mem:1024"));
    s.agents
        .recovered
        .insert("m-S9".into(), agent_info("old", "cpus:1"));
    s.add_task(
        &aware,
        &alloc_task("run", "m-S0", "cpus:1;mem:128"),
        Some("root".into()),
    )
    .unwrap();
    s.update_task(&agent_update(
        &aware,
        "m-S0",
        "run",
        TaskState::TaskRunning,
        b"u1",
    ))
    .unwrap();
    s.add_task(&aware, &alloc_task("done", "m-S0", "cpus:1;mem:128"), None)
        .unwrap();
    s.update_task(&agent_update(
        &aware,
        "m-S0",
        "done",
        TaskState::TaskFinished,
        b"u2",
    ))
    .unwrap();
    s.acknowledge(&aware, "done", b"u2").unwrap();
    s.add_task(&aware, &alloc_task("lost", "m-S1", "cpus:1;mem:128"), None)
        .unwrap();
    s.mark_agent_unreachable("m-S1", 9.0).unwrap();
    let mut t = alloc_task("e-task", "m-S0", "cpus:1;mem:128");
    t.command = None;
    let mut e = executor_info(&multi, "exec", "cpus:0.1;mem:32");
    e.resources = alloc_res("cpus:0.1;mem:32", "web");
    t.resources = alloc_res("cpus:1;mem:128", "web");
    t.executor = Some(e);
    s.add_task(&multi, &t, None).unwrap();
    let o = offer_entry(&mut s, &multi, "m-S0", "cpus:1;mem:100");
    s.add_offer(o).unwrap();
    let gone = s.add_framework(framework_info("gone", &[]), http("c"), 1.0);
    s.remove_framework(&gone, 3.0).unwrap();
    (s, flags)
}

fn render_state(s: &MasterState, flags: &MasterFlags) -> Value {
    let leader = s.info.clone();
    let ctx = RenderContext {
        state: s,
        flags,
        pid: "master@127.0.0.1:5050",
        leader: Some(&leader),
    };
    serde_json::from_slice(&state_json(&ctx)).expect("valid json")
}

const TASK_KEYS: &[&str] = &[
    "id",
    "name",
    "framework_id",
    "executor_id",
    "slave_id",
    "state",
    "resources",
    "role",
    "statuses",
];
const TASK_OPTIONAL: &[&str] = &["user", "labels", "discovery", "container", "health_check"];

const AGENT_KEYS: &[&str] = &[
    "id",
    "pid",
    "hostname",
    "port",
    "attributes",
    "registered_time",
    "resources",
    "used_resources",
    "offered_resources",
    "reserved_resources",
    "unreserved_resources",
    "active",
    "version",
    "capabilities",
];

const FRAMEWORK_KEYS: &[&str] = &[
    "id",
    "name",
    "used_resources",
    "offered_resources",
    "capabilities",
    "hostname",
    "webui_url",
    "active",
    "connected",
    "recovered",
    "user",
    "failover_timeout",
    "checkpoint",
    "registered_time",
    "unregistered_time",
    "resources",
    "tasks",
    "unreachable_tasks",
    "completed_tasks",
    "offers",
    "executors",
];

fn check_resources(v: &Value) {
    for k in ["cpus", "gpus", "mem", "disk"] {
        assert!(is_number(&v[k]), "resource {k} in {v}");
    }
    if let Some(p) = v.get("ports") {
        assert!(p.is_string());
    }
}

fn check_task(t: &Value) {
    assert_keys(t, TASK_KEYS, TASK_OPTIONAL);
    for k in [
        "id",
        "name",
        "framework_id",
        "executor_id",
        "slave_id",
        "state",
        "role",
    ] {
        assert!(t[k].is_string(), "task {k}");
    }
    check_resources(&t["resources"]);
    for s in t["statuses"].as_array().unwrap() {
        assert!(s["state"].is_string());
        assert!(is_number(&s["timestamp"]));
    }
}

#[test]
fn state_has_mesos_shape() {
    let (s, flags) = populated();
    let v = render_state(&s, &flags);
    assert_keys(
        &v,
        &[
            "version",
            "build_date",
            "build_time",
            "build_user",
            "start_time",
            "elected_time",
            "id",
            "pid",
            "hostname",
            "capabilities",
            "activated_slaves",
            "deactivated_slaves",
            "unreachable_slaves",
            "leader",
            "leader_info",
            "cluster",
            "flags",
            "slaves",
            "recovered_slaves",
            "frameworks",
            "completed_frameworks",
            "orphan_tasks",
            "unregistered_frameworks",
        ],
        &[
            "git_sha",
            "git_branch",
            "git_tag",
            "domain",
            "log_dir",
            "external_log_file",
        ],
    );
    assert_eq!(v["version"], "1.8.0");
    for k in [
        "start_time",
        "elected_time",
        "build_time",
        "activated_slaves",
        "unreachable_slaves",
    ] {
        assert!(is_number(&v[k]), "{k}");
    }
    assert_eq!(v["activated_slaves"].as_f64(), Some(1.0));
    assert_eq!(v["unreachable_slaves"].as_f64(), Some(1.0));
    assert_eq!(v["cluster"], "test");
    assert_eq!(v["flags"]["agent_ping_timeout"], "15secs");
    assert_eq!(v["flags"]["port"], "5050");
    assert_keys(
        &v["leader_info"],
        &["id", "pid", "port", "hostname"],
        &["domain"],
    );

    let slaves = v["slaves"].as_array().unwrap();
    assert_eq!(slaves.len(), 1);
    let a = &slaves[0];
    assert_keys(a, AGENT_KEYS, &["reregistered_time", "domain"]);
    for k in [
        "resources",
        "used_resources",
        "offered_resources",
        "unreserved_resources",
    ] {
        check_resources(&a[k]);
    }
    assert_eq!(a["resources"]["ports"], "[31000-32000]");
    assert_eq!(a["used_resources"]["cpus"].as_f64(), Some(2.1));
    assert_eq!(a["offered_resources"]["cpus"].as_f64(), Some(1.0));
    assert!(a["active"].is_boolean() && a["port"].is_number());
    assert_eq!(v["recovered_slaves"][0]["id"], "");

    let fws = v["frameworks"].as_array().unwrap();
    assert_eq!(fws.len(), 2);
    for f in fws {
        assert_keys(
            f,
            FRAMEWORK_KEYS,
            &[
                "role",
                "roles",
                "principal",
                "reregistered_time",
                "labels",
                "pid",
            ],
        );
        assert!(f.get("role").is_some() != f.get("roles").is_some());
        for k in ["active", "connected", "recovered", "checkpoint"] {
            assert!(f[k].is_boolean(), "{k}");
        }
        for k in ["failover_timeout", "registered_time", "unregistered_time"] {
            assert!(is_number(&f[k]), "{k}");
        }
        for list in ["tasks", "unreachable_tasks", "completed_tasks"] {
            for t in f[list].as_array().unwrap() {
                check_task(t);
            }
        }
    }
    let aware = fws.iter().find(|f| f["name"] == "aware").unwrap();
    assert_eq!(aware["role"], "*");
    assert_eq!(aware["capabilities"][0], "PARTITION_AWARE");
    assert_eq!(aware["tasks"][0]["state"], "TASK_RUNNING");
    assert_eq!(aware["tasks"][0]["user"], "root");
    assert_eq!(aware["completed_tasks"][0]["state"], "TASK_FINISHED");
    assert_eq!(aware["unreachable_tasks"][0]["state"], "TASK_UNREACHABLE");
    let multi = fws.iter().find(|f| f["name"] == "multi").unwrap();
    assert_eq!(multi["roles"][0], "web");
    assert_eq!(multi["tasks"][0]["role"], "web");
    assert_eq!(multi["used_resources"]["cpus"].as_f64(), Some(1.1));
    assert_eq!(multi["resources"]["cpus"].as_f64(), Some(2.1));
    let offer = &multi["offers"][0];
    assert_keys(
        offer,
        &[
            "id",
            "framework_id",
            "allocation_info",
            "slave_id",
            "resources",
        ],
        &[],
    );
    let exec = &multi["executors"][0];
    assert_keys(
        exec,
        &[
            "executor_id",
            "name",
            "framework_id",
            "command",
            "resources",
            "role",
            "slave_id",
        ],
        &["labels", "type"],
    );
    assert_eq!(exec["type"], "CUSTOM");
    assert_eq!(exec["command"]["argv"], serde_json::json!([]));

    let done = v["completed_frameworks"].as_array().unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["active"], false);
    assert!(v["orphan_tasks"].as_array().unwrap().is_empty());
}

#[test]
fn state_summary_has_counts_and_ids() {
    let (s, flags) = populated();
    let ctx = RenderContext {
        state: &s,
        flags: &flags,
        pid: "master@127.0.0.1:5050",
        leader: None,
    };
    let v: Value = serde_json::from_slice(&state_summary_json(&ctx)).unwrap();
    assert_keys(&v, &["hostname", "slaves", "frameworks"], &["cluster"]);
    let a = &v["slaves"][0];
    assert_eq!(a["TASK_RUNNING"], 1);
    assert_eq!(a["TASK_STAGING"], 1);
    assert_eq!(a["TASK_FINISHED"], 1);
    assert_eq!(a["framework_ids"].as_array().unwrap().len(), 2);
    let aware = v["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "aware")
        .unwrap();
    assert_eq!(aware["TASK_UNREACHABLE"], 1);
    assert_eq!(aware["slave_ids"], serde_json::json!(["m-S0"]));
    assert!(aware.get("tasks").is_none());
}

#[test]
fn tasks_endpoint_filters_sorts_and_pages() {
    let (s, _) = populated();
    let all: Value = serde_json::from_slice(&tasks_json(&s, &TasksQuery::default())).unwrap();
    assert_eq!(all["tasks"].as_array().unwrap().len(), 4);
    let one: Value = serde_json::from_slice(&tasks_json(
        &s,
        &TasksQuery {
            task_id: Some("run".into()),
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(one["tasks"].as_array().unwrap().len(), 1);
    check_task(&one["tasks"][0]);
    let page: Value = serde_json::from_slice(&tasks_json(
        &s,
        &TasksQuery {
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
}

#[test]
fn slaves_frameworks_roles_flags_version() {
    let (s, flags) = populated();
    let v: Value = serde_json::from_slice(&slaves_json(&s, None)).unwrap();
    let a = &v["slaves"][0];
    for k in [
        "reserved_resources_full",
        "unreserved_resources_full",
        "used_resources_full",
        "offered_resources_full",
    ] {
        assert!(a.get(k).is_some(), "{k}");
    }
    assert!(a["unreserved_resources_full"][0]["name"].is_string());
    assert_eq!(v["recovered_slaves"].as_array().unwrap().len(), 1);
    let none: Value = serde_json::from_slice(&slaves_json(&s, Some("nope"))).unwrap();
    assert!(none["slaves"].as_array().unwrap().is_empty());

    let f: Value = serde_json::from_slice(&frameworks_json(&s, None)).unwrap();
    assert_keys(
        &f,
        &[
            "frameworks",
            "completed_frameworks",
            "unregistered_frameworks",
        ],
        &[],
    );

    let mut weights = BTreeMap::new();
    weights.insert("web".to_owned(), 2.5);
    let r: Value = serde_json::from_slice(&roles_json(&s, &flags, &weights)).unwrap();
    let roles = r["roles"].as_array().unwrap();
    let web = roles.iter().find(|x| x["name"] == "web").unwrap();
    assert_keys(
        web,
        &["name", "weight", "resources", "frameworks"],
        &["quota"],
    );
    assert_eq!(web["weight"].as_f64(), Some(2.5));
    assert_eq!(web["resources"]["cpus"].as_f64(), Some(1.1));
    let star = roles.iter().find(|x| x["name"] == "*").unwrap();
    assert_eq!(star["weight"].as_f64(), Some(1.0));

    let fl: Value = serde_json::from_slice(&flags_json(&flags)).unwrap();
    assert_eq!(fl["flags"]["cluster"], "test");
    assert!(fl["flags"]
        .as_object()
        .unwrap()
        .values()
        .all(Value::is_string));

    let ver: Value = serde_json::from_slice(&version_json()).unwrap();
    let version = ver["version"].as_str().unwrap();
    assert!(version.split('.').all(|p| p.parse::<u32>().is_ok()));
}

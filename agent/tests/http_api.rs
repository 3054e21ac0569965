//! The agent's HTTP surface over real HTTP (reqwest) against an agent on port 0 with a
//! fake master: `/state` golden shape, `/metrics/snapshot` names and values kept by the
//! actor, `/health`, `/version`, `/flags`, and the v1 operator API in JSON and protobuf
//! with Mesos's status codes.

use std::collections::HashMap;
use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use libprocess::{block_on, Pid, Runtime};
use mesos_agent::containerizer::process_ops::OpCall;
use mesos_agent::containerizer::RecordingProcessOps;
use mesos_agent::slave::Slave;
use mesos_agent::sys::WaitStatus;
use mesos_protos::v1;
use mesos_protos::v1::agent::{call, response, Call};
use mesos_protos::v1::executor::event;
use mesos_scheduler::executor::{
    connect, Config, ExecutorClient, ExecutorEnv, ExecutorEvent, ExecutorEvents,
};
use mesos_scheduler::ContentType;
use serde_json::Value;

#[path = "support/cluster.rs"]
mod support;
use support::*;

/// Like the shared cluster, but `/metrics/snapshot` reaches `slave(1)` (as in
/// `mesos_agent::run::start`) instead of the runtime's built-in metrics process.
fn http_cluster() -> Cluster {
    let rt = Runtime::builder()
        .delegate("slave(1)")
        .metrics_process(false)
        .start()
        .unwrap();
    rt.clock().pause();
    let (tx, seen) = mpsc::unbounded();
    let master = rt
        .spawn(
            "master",
            FakeMaster {
                seen: tx,
                answer: true,
                ping_timeout: None,
            },
        )
        .unwrap();
    Cluster {
        rt,
        master,
        seen,
        work: tempfile::tempdir().unwrap(),
        ops: RecordingProcessOps::new(),
    }
}

fn registered() -> (Cluster, Pid<Slave>) {
    let c = http_cluster();
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    (c, agent)
}

fn base(c: &Cluster) -> String {
    format!("http://{}", c.rt.address())
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
}

struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Http {
    fn new(c: &Cluster) -> Http {
        Http {
            rt: tokio(),
            client: reqwest::Client::new(),
            base: base(c),
        }
    }

    fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let body = resp.bytes().await.unwrap().to_vec();
            Reply {
                status,
                content_type,
                body,
            }
        })
    }

    fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    fn post(&self, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let mut req = self.client.post(format!("{}/api/v1", self.base)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req)
    }

    fn call_json(&self, body: &str) -> Reply {
        self.post(
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body.as_bytes().to_vec(),
        )
    }

    fn call_protobuf(&self, call: &Call) -> v1::agent::Response {
        let r = self.post(
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Accept", "application/x-protobuf"),
            ],
            prost::Message::encode_to_vec(call),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.content_type, "application/x-protobuf");
        prost::Message::decode(r.body.as_slice()).unwrap()
    }
}

/// The executor of a running task, played by the project's executor library.
struct Executor {
    pid: i32,
    rt: tokio::runtime::Runtime,
    client: ExecutorClient,
    _events: ExecutorEvents,
}

async fn next_event(events: &mut ExecutorEvents) -> v1::executor::Event {
    let clock = libprocess::Clock::new();
    loop {
        match clock.timeout(Duration::from_secs(20), events.next()).await {
            Ok(Some(ExecutorEvent::Event(e))) if e.r#type() == event::Type::Heartbeat => {}
            Ok(Some(ExecutorEvent::Event(e))) => return *e,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// Launches command task `t1` (recording fake: no real process); an executor subscribes
/// over `/api/v1/executor`, takes the task and reports it RUNNING.
fn running_task(c: &Cluster, agent: &Pid<Slave>) -> Executor {
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", true));
    c.settle();
    let pid = c
        .ops
        .calls()
        .iter()
        .find_map(|call| match call {
            OpCall::Spawn(_, pid) => Some(*pid),
            _ => None,
        })
        .expect("an executor was spawned");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut env = HashMap::new();
    env.insert(
        "MESOS_AGENT_ENDPOINT".to_string(),
        c.rt.address().to_string(),
    );
    env.insert("MESOS_FRAMEWORK_ID".to_string(), "fw".to_string());
    env.insert("MESOS_EXECUTOR_ID".to_string(), "t1".to_string());
    env.insert("MESOS_CHECKPOINT".to_string(), "1".to_string());
    let env = ExecutorEnv::from_map(&env).unwrap();
    let (client, events) = rt.block_on(async {
        let (client, mut events) =
            connect(Config::new(env).with_content_type(ContentType::Json)).unwrap();
        assert_eq!(
            next_event(&mut events).await.r#type(),
            event::Type::Subscribed
        );
        assert_eq!(next_event(&mut events).await.r#type(), event::Type::Launch);
        client
            .update(v1::TaskStatus {
                task_id: v1::TaskId { value: "t1".into() },
                state: v1::TaskState::TaskRunning as i32,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            next_event(&mut events).await.r#type(),
            event::Type::Acknowledged
        );
        (client, events)
    });
    c.settle();
    Executor {
        pid,
        rt,
        client,
        _events: events,
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.client.stop();
    }
}

fn report(agent: &Pid<Slave>, task: &str, state: v1::TaskState) {
    let mut u = update(task, state);
    u.executor_id = Some(v1::ExecutorId { value: task.into() });
    u.status.executor_id = u.executor_id.clone();
    block_on(agent.dispatch(move |s, ctx| s.status_update(ctx, u, None)))
        .unwrap()
        .unwrap();
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts `v` has exactly `keys` (plus any of `optional`) with those JSON types.
fn shape(what: &str, v: &Value, keys: &[(&str, &str)], optional: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    for (k, t) in keys {
        let got = obj
            .get(*k)
            .unwrap_or_else(|| panic!("{what} lacks '{k}': {v}"));
        assert_eq!(kind(got), *t, "{what}.{k}: {got}");
    }
    for k in obj.keys() {
        assert!(
            keys.iter().any(|(n, _)| n == k) || optional.contains(&k.as_str()),
            "{what} has unexpected key '{k}'"
        );
    }
}

fn flat_resources(what: &str, v: &Value) {
    for k in ["cpus", "gpus", "mem", "disk"] {
        assert!(v[k].is_number(), "{what}.{k}: {v}");
    }
}

#[test]
fn state_has_mesos_shape() {
    let (c, agent) = registered();
    let _exec = running_task(&c, &agent);
    let http = Http::new(&c);
    let r = http.get("/state");
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    let s = r.json();
    shape(
        "state",
        &s,
        &[
            ("version", "string"),
            ("build_date", "string"),
            ("build_time", "number"),
            ("build_user", "string"),
            ("start_time", "number"),
            ("id", "string"),
            ("pid", "string"),
            ("hostname", "string"),
            ("capabilities", "array"),
            ("resources", "object"),
            ("reserved_resources", "object"),
            ("unreserved_resources", "object"),
            ("reserved_resources_full", "object"),
            ("unreserved_resources_full", "array"),
            ("reserved_resources_allocated", "object"),
            ("unreserved_resources_allocated", "object"),
            ("resource_providers", "array"),
            ("attributes", "object"),
            ("master_hostname", "string"),
            ("flags", "object"),
            ("frameworks", "array"),
            ("completed_frameworks", "array"),
        ],
        &[
            "domain",
            "log_dir",
            "external_log_file",
            "git_sha",
            "git_branch",
            "git_tag",
        ],
    );
    assert_eq!(s["version"], "1.8.0");
    assert_eq!(s["id"], "m1-S0");
    assert_eq!(s["hostname"], "agent-host");
    assert_eq!(s["pid"], format!("slave(1)@{}", c.rt.address()));
    assert!(s["start_time"].as_f64().unwrap() > 0.0);
    let caps = s["capabilities"].as_array().unwrap();
    assert!(caps.contains(&Value::from("MULTI_ROLE")), "{caps:?}");
    assert!(caps.iter().all(Value::is_string));
    flat_resources("resources", &s["resources"]);
    assert_eq!(s["resources"]["cpus"], 2.0);
    assert_eq!(s["resources"]["mem"], 1024.0);
    assert_eq!(s["resources"]["ports"], "[31000-32000]");
    assert_eq!(s["unreserved_resources_full"][0]["name"], "cpus");
    // The command executor's overhead is allocated.
    assert_eq!(s["unreserved_resources_allocated"]["cpus"], 0.1);
    assert_eq!(s["unreserved_resources_allocated"]["mem"], 32.0);
    assert!(s["flags"]["work_dir"]
        .as_str()
        .unwrap()
        .starts_with(c.work.path().to_str().unwrap()));

    let fw = &s["frameworks"][0];
    shape(
        "framework",
        fw,
        &[
            ("id", "string"),
            ("name", "string"),
            ("user", "string"),
            ("failover_timeout", "number"),
            ("checkpoint", "bool"),
            ("hostname", "string"),
            ("role", "string"),
            ("executors", "array"),
            ("completed_executors", "array"),
        ],
        &["principal", "roles"],
    );
    assert_eq!(fw["id"], "fw");
    assert_eq!(fw["checkpoint"], true);
    let ex = &fw["executors"][0];
    shape(
        "executor",
        ex,
        &[
            ("id", "string"),
            ("name", "string"),
            ("source", "string"),
            ("container", "string"),
            ("directory", "string"),
            ("resources", "object"),
            ("tasks", "array"),
            ("queued_tasks", "array"),
            ("completed_tasks", "array"),
        ],
        &["role", "labels", "type"],
    );
    assert_eq!(ex["id"], "t1");
    assert_eq!(ex["source"], "t1");
    assert!(ex["directory"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/runs/{}", ex["container"].as_str().unwrap())));
    assert_eq!(ex["resources"]["cpus"], 0.1);
    let task = &ex["tasks"][0];
    shape(
        "task",
        task,
        &[
            ("id", "string"),
            ("name", "string"),
            ("framework_id", "string"),
            ("executor_id", "string"),
            ("slave_id", "string"),
            ("state", "string"),
            ("resources", "object"),
            ("role", "string"),
            ("statuses", "array"),
        ],
        &["user", "labels", "discovery", "container", "health_check"],
    );
    assert_eq!(task["id"], "t1");
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["slave_id"], "m1-S0");
    flat_resources("task.resources", &task["resources"]);
    shape(
        "status",
        &task["statuses"][0],
        &[("state", "string"), ("timestamp", "number")],
        &["labels", "container_status", "healthy"],
    );

    // The delegate forms and jsonp.
    for path in ["/state.json", "/slave(1)/state"] {
        let other = http.get(path).json();
        assert_eq!(other["id"], s["id"], "{path}");
        assert_eq!(other["frameworks"][0]["executors"][0]["id"], "t1", "{path}");
    }
    let r = http.get("/state?jsonp=cb");
    assert_eq!(r.content_type, "text/javascript");
    assert!(r.text().starts_with("cb({") && r.text().ends_with("});"));
}

#[test]
fn completed_executors_move_to_completed_frameworks() {
    let (mut c, agent) = registered();
    let exec = running_task(&c, &agent);
    exec.rt
        .block_on(exec.client.update(v1::TaskStatus {
            task_id: v1::TaskId { value: "t1".into() },
            state: v1::TaskState::TaskFinished as i32,
            ..Default::default()
        }))
        .unwrap();
    c.settle();
    assert!(c.ops.exit(exec.pid, WaitStatus::Exited(0)));
    c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    let http = Http::new(&c);
    let s = http.get("/state").json();
    assert_eq!(s["frameworks"], Value::Array(vec![]), "{s}");
    let fw = &s["completed_frameworks"][0];
    assert_eq!(fw["id"], "fw");
    let ex = &fw["completed_executors"][0];
    assert_eq!(ex["id"], "t1");
    assert_eq!(ex["tasks"], Value::Array(vec![]));
    assert_eq!(ex["completed_tasks"][0]["state"], "TASK_FINISHED");
    assert_eq!(
        ex["completed_tasks"][0]["statuses"][1]["state"],
        "TASK_FINISHED"
    );

    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/tasks_finished"], 1.0);
    assert_eq!(m["slave/tasks_running"], 0.0);
    assert_eq!(m["slave/executors_terminated"], 1.0);
    assert_eq!(m["slave/executors_running"], 0.0);
    assert_eq!(m["slave/cpus_used"], 0.0);
    assert_eq!(m["slave/frameworks_active"], 0.0);

    let t = http.call_protobuf(&Call {
        r#type: Some(call::Type::GetTasks as i32),
        ..Default::default()
    });
    let tasks = t.get_tasks.unwrap();
    assert!(tasks.launched_tasks.is_empty());
    assert_eq!(tasks.completed_tasks.len(), 1);
    assert_eq!(
        tasks.completed_tasks[0].state(),
        v1::TaskState::TaskFinished
    );
    let e = http
        .call_protobuf(&Call {
            r#type: Some(call::Type::GetExecutors as i32),
            ..Default::default()
        })
        .get_executors
        .unwrap();
    assert!(e.executors.is_empty());
    assert_eq!(
        e.completed_executors[0].executor_info.executor_id.value,
        "t1"
    );
    let f = http
        .call_protobuf(&Call {
            r#type: Some(call::Type::GetFrameworks as i32),
            ..Default::default()
        })
        .get_frameworks
        .unwrap();
    assert!(f.frameworks.is_empty());
    assert_eq!(f.completed_frameworks.len(), 1);
}

#[test]
fn metrics_snapshot_follows_the_actor() {
    let c = http_cluster();
    let agent = c.start_agent("slave(1)");
    let http = Http::new(&c);
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/registered"], 0.0);
    c.advance(Duration::from_secs(1));
    let m = http.get("/metrics/snapshot").json();
    for name in [
        "slave/uptime_secs",
        "slave/registered",
        "slave/recovery_errors",
        "slave/frameworks_active",
        "slave/tasks_staging",
        "slave/tasks_starting",
        "slave/tasks_running",
        "slave/tasks_killing",
        "slave/tasks_finished",
        "slave/tasks_failed",
        "slave/tasks_killed",
        "slave/tasks_lost",
        "slave/tasks_gone",
        "slave/executors_registering",
        "slave/executors_running",
        "slave/executors_terminating",
        "slave/executors_terminated",
        "slave/executors_preempted",
        "slave/valid_status_updates",
        "slave/invalid_status_updates",
        "slave/valid_framework_messages",
        "slave/invalid_framework_messages",
        "slave/executor_directory_max_allowed_age_secs",
        "slave/container_launch_errors",
        "containerizer/mesos/container_destroy_errors",
        "system/cpus_total",
        "system/mem_total_bytes",
    ] {
        assert!(m[name].is_number(), "{name} missing: {m}");
    }
    for r in ["cpus", "gpus", "mem", "disk"] {
        for suffix in [
            "total",
            "used",
            "percent",
            "revocable_total",
            "revocable_used",
            "revocable_percent",
        ] {
            let name = format!("slave/{r}_{suffix}");
            assert!(m[&name].is_number(), "{name} missing");
        }
    }
    assert_eq!(m["slave/registered"], 1.0);
    assert_eq!(m["slave/uptime_secs"], 1.0);
    assert_eq!(m["slave/cpus_total"], 2.0);
    assert_eq!(m["slave/mem_total"], 1024.0);
    assert_eq!(m["slave/cpus_used"], 0.0);

    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", false));
    c.settle();
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/tasks_staging"], 1.0);
    assert_eq!(m["slave/executors_registering"], 1.0);
    assert_eq!(m["slave/frameworks_active"], 1.0);
    assert_eq!(m["slave/cpus_used"], 0.1);
    assert_eq!(m["slave/cpus_percent"], 0.05);
    assert_eq!(m["slave/mem_used"], 32.0);
    report(&agent, "t1", v1::TaskState::TaskRunning);
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/tasks_staging"], 0.0);
    assert_eq!(m["slave/tasks_running"], 1.0);
    assert_eq!(m["slave/valid_status_updates"], 1.0);
    report(&agent, "t1", v1::TaskState::TaskFailed);
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/tasks_running"], 0.0);
    assert_eq!(m["slave/tasks_failed"], 1.0);
    assert_eq!(m["slave/valid_status_updates"], 2.0);
    // A second terminal update is accepted but the task ended only once.
    report(&agent, "t1", v1::TaskState::TaskFinished);
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/valid_status_updates"], 3.0);
    assert_eq!(m["slave/tasks_failed"], 1.0);
    assert_eq!(m["slave/tasks_finished"], 0.0);
    // An update the manager refuses (no uuid) is invalid.
    let mut bad = update("t1", v1::TaskState::TaskRunning);
    bad.uuid = None;
    let refused =
        block_on(agent.dispatch(move |s, ctx| s.status_update(ctx, bad, None).is_err())).unwrap();
    assert!(refused);
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/invalid_status_updates"], 1.0);
    assert_eq!(m["slave/valid_status_updates"], 3.0);
    assert_eq!(m["slave/container_launch_errors"], 0.0);
    // A task whose executor cannot be launched (its URI cannot be fetched).
    let mut msg = run_task_message("t2", false);
    msg.task.command = Some(v1::CommandInfo {
        value: Some("true".into()),
        uris: vec![v1::command_info::Uri {
            value: c.work.path().join("no-such-file").display().to_string(),
            ..Default::default()
        }],
        ..Default::default()
    });
    c.rt.send_from(c.master.upid(), agent.upid(), msg);
    c.settle();
    let m = http.get("/metrics/snapshot").json();
    assert_eq!(m["slave/container_launch_errors"], 1.0);
    assert_eq!(m["slave/tasks_failed"], 2.0);
}

#[test]
fn health_version_flags() {
    let (c, _agent) = registered();
    let http = Http::new(&c);
    let h = http.get("/health");
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    let v = http.get("/version").json();
    assert_eq!(v["version"], "1.8.0");
    assert!(v["build_time"].is_number());
    assert!(v["build_user"].is_string());
    let f = http.get("/flags").json();
    assert!(f["flags"]["work_dir"].is_string());
    assert_eq!(f["flags"]["port"], "5051");
    for (k, v) in f["flags"].as_object().unwrap() {
        assert!(v.is_string(), "flag {k} is not text: {v}");
    }
    assert_eq!(http.get("/slave(1)/health").status, 200);
}

#[test]
fn operator_api_calls_in_json_and_protobuf() {
    let (c, agent) = registered();
    let exec = running_task(&c, &agent);
    let http = Http::new(&c);
    let r = http.call_json(r#"{"type":"GET_HEALTH"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.json(),
        serde_json::json!({"type":"GET_HEALTH","get_health":{"healthy":true}})
    );
    let v = http.call_json(r#"{"type":"GET_VERSION"}"#).json();
    assert_eq!(v["get_version"]["version_info"]["version"], "1.8.0");
    let f = http.call_json(r#"{"type":"GET_FLAGS"}"#).json();
    let flags = f["get_flags"]["flags"].as_array().unwrap();
    assert!(flags
        .iter()
        .any(|x| x["name"] == "work_dir" && x["value"].is_string()));
    // The executor's message to its framework counts as a valid framework message.
    exec.rt
        .block_on(exec.client.message(b"hi".to_vec()))
        .unwrap();
    c.settle();
    let m = http
        .call_json(r#"{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}}"#)
        .json();
    let metrics = m["get_metrics"]["metrics"].as_array().unwrap();
    assert!(metrics
        .iter()
        .any(|x| x["name"] == "slave/tasks_running" && x["value"] == 1.0));
    assert!(metrics
        .iter()
        .any(|x| x["name"] == "slave/valid_framework_messages" && x["value"] == 1.0));
    let a = http.call_json(r#"{"type":"GET_AGENT"}"#).json();
    assert_eq!(a["type"], "GET_AGENT");
    assert_eq!(a["get_agent"]["agent_info"]["id"]["value"], "m1-S0");
    assert_eq!(a["get_agent"]["agent_info"]["hostname"], "agent-host");

    let s = http.call_json(r#"{"type":"GET_STATE"}"#).json();
    assert_eq!(s["type"], "GET_STATE");
    let st = &s["get_state"];
    assert_eq!(
        st["get_tasks"]["launched_tasks"][0]["task_id"]["value"],
        "t1"
    );
    assert_eq!(
        st["get_tasks"]["launched_tasks"][0]["state"],
        "TASK_RUNNING"
    );
    assert_eq!(
        st["get_executors"]["executors"][0]["executor_info"]["executor_id"]["value"],
        "t1"
    );
    assert_eq!(
        st["get_frameworks"]["frameworks"][0]["framework_info"]["id"]["value"],
        "fw"
    );

    let proto = http.call_protobuf(&Call {
        r#type: Some(call::Type::GetContainers as i32),
        ..Default::default()
    });
    assert_eq!(proto.r#type(), response::Type::GetContainers);
    let containers = proto.get_containers.unwrap().containers;
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].executor_id.as_ref().unwrap().value, "t1");
    assert!(!containers[0].container_id.value.is_empty());

    let proto = http.call_protobuf(&Call {
        r#type: Some(call::Type::GetState as i32),
        ..Default::default()
    });
    let state = proto.get_state.unwrap();
    assert_eq!(state.get_tasks.unwrap().launched_tasks.len(), 1);
    assert_eq!(state.get_frameworks.unwrap().frameworks.len(), 1);
    let fws = http
        .call_protobuf(&Call {
            r#type: Some(call::Type::GetFrameworks as i32),
            ..Default::default()
        })
        .get_frameworks
        .unwrap();
    assert_eq!(fws.frameworks[0].framework_info.name, "test");

    // JSON in, protobuf out; `*/*` and no Accept give JSON.
    let r = http.post(
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/x-protobuf"),
        ],
        br#"{"type":"GET_HEALTH"}"#.to_vec(),
    );
    assert_eq!(r.content_type, "application/x-protobuf");
    let decoded: v1::agent::Response = prost::Message::decode(r.body.as_slice()).unwrap();
    assert!(decoded.get_health.unwrap().healthy);
    for accept in [None, Some("*/*")] {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = accept {
            headers.push(("Accept", a));
        }
        let r = http.post(&headers, br#"{"type":"GET_HEALTH"}"#.to_vec());
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/json");
    }
}

#[test]
fn operator_api_errors_are_mesos_status_codes() {
    let (c, _agent) = registered();
    let http = Http::new(&c);
    let json = ("Content-Type", "application/json");
    let r = http.send(http.client.get(format!("{}/api/v1", http.base)));
    assert_eq!(r.status, 405);
    assert_eq!(
        r.text(),
        "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."
    );
    let r = http.post(&[], br#"{"type":"GET_HEALTH"}"#.to_vec());
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Content-Type"), "{}", r.text());
    let r = http.post(
        &[("Content-Type", "application/json; charset=utf-8")],
        br#"{"type":"GET_HEALTH"}"#.to_vec(),
    );
    assert_eq!(r.status, 415);
    let r = http.post(
        &[json, ("Accept", "text/html")],
        br#"{"type":"GET_HEALTH"}"#.to_vec(),
    );
    assert_eq!(r.status, 406);
    let r = http.post(&[json], b"{not json".to_vec());
    assert_eq!(r.status, 400);
    let r = http.post(&[json], br#"{}"#.to_vec());
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Expecting 'type' to be present"));
    let r = http.call_json(r#"{"type":"GET_METRICS"}"#);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("'get_metrics'"));
    let r = http.call_json(r#"{"type":"UNKNOWN"}"#);
    assert_eq!(r.status, 501);
    let r = http
        .call_json(r#"{"type":"KILL_CONTAINER","kill_container":{"container_id":{"value":"x"}}}"#);
    assert_eq!(r.status, 501);
    let r = http.post(
        &[("Content-Type", "application/x-protobuf")],
        vec![0xff, 0xff, 0xff],
    );
    assert_eq!(r.status, 400);
}

#[test]
fn a_started_agent_serves_metrics_and_state_at_the_top_level() {
    let master_rt = Runtime::start().unwrap();
    let (tx, _seen) = mpsc::unbounded();
    master_rt
        .spawn(
            "master",
            FakeMaster {
                seen: tx,
                answer: true,
                ping_timeout: None,
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = vec![
        format!("--master={}", master_rt.address()),
        "--port=0".to_string(),
        format!("--work_dir={}", dir.path().join("work").display()),
        format!("--runtime_dir={}", dir.path().join("run").display()),
        "--resources=cpus:3;mem:512".to_string(),
        "--registration_backoff_factor=10ms".to_string(),
    ];
    let flags = mesos_agent::flags::AgentFlags::load(&args, &Default::default()).unwrap();
    let agent = mesos_agent::run::start(flags, Default::default(), Default::default()).unwrap();
    let http = Http {
        rt: tokio(),
        client: reqwest::Client::new(),
        base: format!("http://{}", agent.address),
    };
    let clock = libprocess::Clock::new();
    let mut registered = false;
    for _ in 0..600 {
        let m = http.get("/metrics/snapshot").json();
        assert_eq!(m["slave/cpus_total"], 3.0, "{m}");
        if m["slave/registered"] == 1.0 {
            registered = true;
            break;
        }
        block_on(clock.sleep(Duration::from_millis(50)));
    }
    assert!(registered, "the agent registers within 30 s");
    let s = http.get("/state").json();
    assert_eq!(s["id"], "m1-S0");
    assert_eq!(s["resources"]["cpus"], 3.0);
    assert_eq!(http.get("/health").status, 200);
    block_on(agent.runtime.shutdown());
    block_on(master_rt.shutdown());
}

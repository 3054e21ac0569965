//! The objects of the agent's `/state` in Mesos 1.8's hand-written shapes: flat
//! resources, tasks (launched and queued), executors and frameworks.

use std::collections::BTreeMap;

use mesos_protos::resources::{ResourceValue, Resources};
use mesos_protos::v1;
use serde_json::{json, Map, Value};

use super::{CompletedExecutor, CompletedFramework};
use crate::slave::model::{Executor, Framework};
use crate::status_update_manager::is_terminal_state;

/// Scalars every flat object shows.
const BASE: [&str; 4] = ["cpus", "gpus", "mem", "disk"];

/// Scalars are fixed-point with three decimals in Mesos; summing f64s can drift.
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Resources summed by name: `cpus`, `gpus`, `mem`, `disk` always present, ranges and
/// sets as text, revocable ones suffixed `_revocable`.
pub fn flat(resources: &Resources) -> Value {
    let mut scalars: BTreeMap<String, f64> = BTreeMap::new();
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut ranges: BTreeMap<String, mesos_protos::resources::Ranges> = BTreeMap::new();
    let mut sets: BTreeMap<String, mesos_protos::resources::Set> = BTreeMap::new();
    for r in resources.iter() {
        let name = if r.is_revocable() {
            format!("{}_revocable", r.name())
        } else {
            r.name().to_string()
        };
        match r.value() {
            ResourceValue::Scalar(s) => *scalars.entry(name).or_default() += s.as_f64(),
            ResourceValue::Ranges(x) => ranges.entry(name).or_default().add(x),
            ResourceValue::Set(x) => sets.entry(name).or_default().add(x),
        }
    }
    let mut out = Map::new();
    for b in BASE {
        out.insert(b.into(), json!(round3(scalars.remove(b).unwrap_or(0.0))));
    }
    for (k, v) in scalars {
        out.insert(k, json!(round3(v)));
    }
    for (k, v) in ranges {
        texts.insert(k, v.to_string());
    }
    for (k, v) in sets {
        texts.insert(k, v.to_string());
    }
    for (k, v) in texts {
        out.insert(k, Value::String(v));
    }
    Value::Object(out)
}

/// [`flat`] of protobuf resources.
pub fn flat_protos(resources: &[v1::Resource]) -> Value {
    flat(&Resources::from_resources(resources))
}

/// Resources in their protobuf JSON form (the `*_full` fields).
pub fn full(resources: &Resources) -> Value {
    let mut list = resources.to_vec();
    let _ = mesos_protos::resources::convert_resources_format(
        &mut list,
        mesos_protos::resources::ResourceFormat::Endpoint,
    );
    Value::Array(list.iter().map(mesos_protos::json::to_value).collect())
}

/// Attributes as `{name: number | text}`.
pub fn attributes(attrs: &[v1::Attribute]) -> Value {
    let mut out = Map::new();
    for a in attrs {
        let v = if let Some(s) = &a.scalar {
            json!(s.value)
        } else if let Some(r) = &a.ranges {
            json!(mesos_protos::resources::Ranges::from_proto(r).to_string())
        } else if let Some(s) = &a.set {
            json!(format!("{{{}}}", s.item.join(", ")))
        } else if let Some(t) = &a.text {
            json!(t.value)
        } else {
            json!("")
        };
        out.insert(a.name.clone(), v);
    }
    Value::Object(out)
}

fn allocation_role(resources: &[v1::Resource]) -> &str {
    resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.as_deref())
        .unwrap_or("")
}

fn task_state_name(state: i32) -> &'static str {
    v1::TaskState::try_from(state)
        .unwrap_or(v1::TaskState::TaskStaging)
        .as_str_name()
}

fn labels(l: &v1::Labels) -> Value {
    Value::Array(l.labels.iter().map(mesos_protos::json::to_value).collect())
}

fn status(s: &v1::TaskStatus) -> Value {
    let mut o = Map::new();
    o.insert("state".into(), json!(task_state_name(s.state)));
    o.insert("timestamp".into(), json!(s.timestamp.unwrap_or(0.0)));
    if let Some(l) = &s.labels {
        o.insert("labels".into(), labels(l));
    }
    if let Some(cs) = &s.container_status {
        o.insert("container_status".into(), mesos_protos::json::to_value(cs));
    }
    if let Some(h) = s.healthy {
        o.insert("healthy".into(), json!(h));
    }
    Value::Object(o)
}

/// A launched (or finished) task.
pub fn task(t: &v1::Task) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(t.task_id.value));
    o.insert("name".into(), json!(t.name));
    o.insert("framework_id".into(), json!(t.framework_id.value));
    o.insert(
        "executor_id".into(),
        json!(t.executor_id.as_ref().map_or("", |e| e.value.as_str())),
    );
    o.insert("slave_id".into(), json!(t.agent_id.value));
    o.insert("state".into(), json!(task_state_name(t.state)));
    o.insert("resources".into(), flat_protos(&t.resources));
    o.insert("role".into(), json!(allocation_role(&t.resources)));
    o.insert(
        "statuses".into(),
        Value::Array(t.statuses.iter().map(status).collect()),
    );
    if let Some(u) = &t.user {
        o.insert("user".into(), json!(u));
    }
    if let Some(l) = &t.labels {
        o.insert("labels".into(), labels(l));
    }
    if let Some(d) = &t.discovery {
        o.insert("discovery".into(), mesos_protos::json::to_value(d));
    }
    if let Some(c) = &t.container {
        o.insert("container".into(), mesos_protos::json::to_value(c));
    }
    if let Some(h) = &t.health_check {
        o.insert("health_check".into(), mesos_protos::json::to_value(h));
    }
    Value::Object(o)
}

fn command(c: &v1::CommandInfo) -> Value {
    let mut o = Map::new();
    if let Some(shell) = c.shell {
        o.insert("shell".into(), json!(shell));
    }
    if let Some(v) = &c.value {
        o.insert("value".into(), json!(v));
    }
    o.insert("argv".into(), json!(c.arguments));
    if let Some(env) = &c.environment {
        o.insert("environment".into(), mesos_protos::json::to_value(env));
    }
    o.insert(
        "uris".into(),
        Value::Array(
            c.uris
                .iter()
                .map(|u| json!({"value": u.value, "executable": u.executable.unwrap_or(false)}))
                .collect(),
        ),
    );
    Value::Object(o)
}

/// A task waiting for its executor (a `TaskInfo`).
pub fn queued_task(t: &v1::TaskInfo) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(t.task_id.value));
    o.insert("name".into(), json!(t.name));
    o.insert("slave_id".into(), json!(t.agent_id.value));
    o.insert("resources".into(), flat_protos(&t.resources));
    o.insert("role".into(), json!(allocation_role(&t.resources)));
    if let Some(c) = &t.command {
        o.insert("command".into(), command(c));
    }
    if let Some(e) = &t.executor {
        o.insert("executor_id".into(), json!(e.executor_id.value));
    }
    if let Some(d) = &t.discovery {
        o.insert("discovery".into(), mesos_protos::json::to_value(d));
    }
    Value::Object(o)
}

/// The ids of an executor's queued tasks.
fn queued_ids(e: &Executor) -> Vec<&str> {
    e.queued.iter().map(|t| t.task_id.value.as_str()).collect()
}

/// What an executor holds: its own resources plus its queued and live tasks'.
pub fn executor_allocated(e: &Executor) -> Resources {
    let mut r = Resources::from_resources(&e.info.resources);
    for t in e.tasks.values() {
        if !is_terminal_state(t.state()) {
            r += &Resources::from_resources(&t.resources);
        }
    }
    r
}

fn executor_common(
    o: &mut Map<String, Value>,
    info: &v1::ExecutorInfo,
    container: &str,
    directory: &std::path::Path,
) {
    o.insert("id".into(), json!(info.executor_id.value));
    o.insert("name".into(), json!(info.name.clone().unwrap_or_default()));
    #[allow(deprecated)]
    let source = info.source.clone().unwrap_or_default();
    o.insert("source".into(), json!(source));
    o.insert("container".into(), json!(container));
    o.insert("directory".into(), json!(directory.display().to_string()));
}

fn executor_tail(o: &mut Map<String, Value>, info: &v1::ExecutorInfo) {
    if !info.resources.is_empty() {
        o.insert("role".into(), json!(allocation_role(&info.resources)));
    }
    if let Some(l) = &info.labels {
        o.insert("labels".into(), labels(l));
    }
    if let Some(t) = info.r#type {
        let name = v1::executor_info::Type::try_from(t)
            .map(|t| t.as_str_name())
            .unwrap_or("UNKNOWN");
        o.insert("type".into(), json!(name));
    }
}

/// A live executor with its tasks (launched, queued, and terminal ones not yet gone).
pub fn executor(e: &Executor) -> Value {
    let mut o = Map::new();
    executor_common(&mut o, &e.info, &e.container_id, &e.sandbox);
    o.insert("resources".into(), flat(&executor_allocated(e)));
    executor_tail(&mut o, &e.info);
    let queued = queued_ids(e);
    let (done, live): (Vec<&v1::Task>, Vec<&v1::Task>) = e
        .tasks
        .values()
        .filter(|t| !queued.contains(&t.task_id.value.as_str()))
        .partition(|t| is_terminal_state(t.state()));
    o.insert("tasks".into(), live.into_iter().map(task).collect());
    o.insert(
        "queued_tasks".into(),
        e.queued.iter().map(queued_task).collect(),
    );
    o.insert(
        "completed_tasks".into(),
        done.into_iter().map(task).collect(),
    );
    Value::Object(o)
}

/// An executor that has terminated.
pub fn completed_executor(e: &CompletedExecutor) -> Value {
    let mut o = Map::new();
    executor_common(&mut o, &e.info, &e.container_id, &e.sandbox);
    o.insert("resources".into(), flat_protos(&e.info.resources));
    executor_tail(&mut o, &e.info);
    o.insert("tasks".into(), json!([]));
    o.insert("queued_tasks".into(), json!([]));
    o.insert("completed_tasks".into(), e.tasks.iter().map(task).collect());
    Value::Object(o)
}

fn multi_role(info: &v1::FrameworkInfo) -> bool {
    info.capabilities
        .iter()
        .any(|c| c.r#type == Some(v1::framework_info::capability::Type::MultiRole as i32))
}

fn framework_common(o: &mut Map<String, Value>, id: &str, info: &v1::FrameworkInfo) {
    o.insert("id".into(), json!(id));
    o.insert("name".into(), json!(info.name));
    o.insert("user".into(), json!(info.user));
    o.insert(
        "failover_timeout".into(),
        json!(info.failover_timeout.unwrap_or(0.0)),
    );
    o.insert("checkpoint".into(), json!(info.checkpoint.unwrap_or(false)));
    o.insert(
        "hostname".into(),
        json!(info.hostname.clone().unwrap_or_default()),
    );
    if let Some(p) = &info.principal {
        o.insert("principal".into(), json!(p));
    }
    if multi_role(info) {
        o.insert("roles".into(), json!(info.roles));
    } else {
        #[allow(deprecated)]
        let role = info.role.clone().unwrap_or_else(|| "*".to_string());
        o.insert("role".into(), json!(role));
    }
}

/// A framework with live executors, and the ones of its executors that have ended.
pub fn framework(id: &str, f: &Framework, completed: Option<&CompletedFramework>) -> Value {
    let mut o = Map::new();
    framework_common(&mut o, id, &f.info);
    o.insert(
        "executors".into(),
        f.executors.values().map(executor).collect(),
    );
    o.insert(
        "completed_executors".into(),
        completed
            .map(|c| c.executors.iter().map(completed_executor).collect())
            .unwrap_or_else(|| json!([])),
    );
    Value::Object(o)
}

/// A framework with no live executor left on this agent.
pub fn completed_framework(id: &str, c: &CompletedFramework) -> Value {
    let mut o = Map::new();
    framework_common(&mut o, id, &c.info);
    o.insert("executors".into(), json!([]));
    o.insert(
        "completed_executors".into(),
        c.executors.iter().map(completed_executor).collect(),
    );
    Value::Object(o)
}

//! `GET /state` (also `/state.json`, `/slave(1)/state`): the agent's hand-written JSON.

use std::collections::BTreeSet;

use mesos_protos::resources::Resources;
use serde_json::{json, Map, Value};

use super::render::{self, flat, full};
use super::{AgentView, BUILD_DATE, BUILD_TIME, BUILD_USER};
use crate::slave::VERSION;

/// The flags as `{name: text}` (every flag with a value, defaults included).
pub fn flags_object(view: &AgentView<'_>) -> Value {
    Value::Object(
        view.flags
            .values
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
            .collect(),
    )
}

/// Resources held by live executors and their tasks.
pub fn allocated(view: &AgentView<'_>) -> Resources {
    let mut r = Resources::new();
    for f in view.frameworks.values() {
        for e in f.executors.values() {
            r += &render::executor_allocated(e);
        }
    }
    r
}

fn by_role(resources: &Resources, each: impl Fn(&Resources) -> Value) -> Value {
    let reservations = resources.reservations();
    let roles: BTreeSet<&String> = reservations.keys().collect();
    Value::Object(
        roles
            .into_iter()
            .map(|role| (role.clone(), each(&reservations[role])))
            .collect(),
    )
}

/// The whole `/state` object; `pid` is the agent's UPID.
pub fn state_json(view: &AgentView<'_>, pid: &str) -> Value {
    let info = view.info;
    let total = view.total_resources.clone();
    let used = allocated(view);
    let mut o = Map::new();
    o.insert("version".into(), json!(VERSION));
    o.insert("build_date".into(), json!(BUILD_DATE));
    o.insert("build_time".into(), json!(BUILD_TIME));
    o.insert("build_user".into(), json!(BUILD_USER));
    o.insert(
        "start_time".into(),
        json!(view.http.start_time.map_or(0.0, |t| t.as_secs_f64())),
    );
    o.insert(
        "id".into(),
        json!(info.id.as_ref().map_or("", |i| i.value.as_str())),
    );
    o.insert("pid".into(), json!(pid));
    o.insert("hostname".into(), json!(info.hostname));
    o.insert("capabilities".into(), json!(view.capability_names()));
    if let Some(d) = &info.domain {
        o.insert("domain".into(), mesos_protos::json::to_value(d));
    }
    o.insert("resources".into(), flat(&total));
    o.insert("reserved_resources".into(), by_role(&total, flat));
    o.insert("unreserved_resources".into(), flat(&total.unreserved()));
    o.insert("reserved_resources_full".into(), by_role(&total, full));
    o.insert(
        "unreserved_resources_full".into(),
        full(&total.unreserved()),
    );
    o.insert("reserved_resources_allocated".into(), by_role(&used, flat));
    o.insert(
        "unreserved_resources_allocated".into(),
        flat(&used.unreserved()),
    );
    o.insert("resource_providers".into(), json!([]));
    o.insert("attributes".into(), render::attributes(&info.attributes));
    o.insert(
        "master_hostname".into(),
        json!(view.master.ip().to_string()),
    );
    o.insert("flags".into(), flags_object(view));
    let mut frameworks = Vec::new();
    let mut completed = Vec::new();
    for (id, f) in view.frameworks {
        let done = view.http.completed.get(id);
        if f.executors.is_empty() {
            if let Some(c) = done {
                completed.push(render::completed_framework(id, c));
            } else {
                frameworks.push(render::framework(id, f, None));
            }
        } else {
            frameworks.push(render::framework(id, f, done));
        }
    }
    for (id, c) in &view.http.completed {
        if !view.frameworks.contains_key(id) {
            completed.push(render::completed_framework(id, c));
        }
    }
    o.insert("frameworks".into(), Value::Array(frameworks));
    o.insert("completed_frameworks".into(), Value::Array(completed));
    Value::Object(o)
}

//! Writers for the objects the legacy endpoints share: tasks, executors, offers,
//! agents and frameworks, in Mesos 1.8's hand-written shapes.

use std::collections::HashMap;

use mesos_protos::resources::{convert_resources_format, ResourceFormat, Resources};
use mesos_protos::v1;

use super::resources::{write_flat, write_flat_protos, FlatResources};
use super::writer::JsonWriter;
use crate::state::{Agent, Framework, MasterState};
use crate::status::task_state;

/// Per-framework used and offered resources, summed over agents once per request.
#[derive(Debug, Default)]
pub struct FrameworkTotals {
    /// Used, by framework id.
    pub used: HashMap<String, FlatResources>,
    /// Offered, by framework id.
    pub offered: HashMap<String, FlatResources>,
}

impl FrameworkTotals {
    /// One pass over agents and offers.
    pub fn compute(state: &MasterState) -> Self {
        let mut t = FrameworkTotals::default();
        for agent in state.agents.registered.values() {
            for (fid, r) in &agent.used {
                add_to(&mut t.used, fid, r);
            }
        }
        for e in state.offers.values() {
            add_to(&mut t.offered, &e.offer.framework_id.value, &e.resources);
        }
        t
    }
}

/// Adds `r` to the sum for `fid`, cloning the id only the first time it is seen.
fn add_to(map: &mut HashMap<String, FlatResources>, fid: &str, r: &Resources) {
    match map.get_mut(fid) {
        Some(sum) => sum.add(r),
        None => {
            map.insert(fid.to_owned(), FlatResources::of(r));
        }
    }
}

fn write_labels(w: &mut JsonWriter, labels: &v1::Labels) {
    w.begin_array();
    for l in &labels.labels {
        w.raw(&mesos_protos::json::to_vec(l));
    }
    w.end_array();
}

fn allocation_role(resources: &[v1::Resource]) -> &str {
    resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.as_deref())
        .unwrap_or("")
}

/// Writes a task as `/state` and `/tasks` show it.
pub fn write_task(w: &mut JsonWriter, task: &v1::Task) {
    w.begin_object();
    w.field_str("id", &task.task_id.value);
    w.field_str("name", &task.name);
    w.field_str("framework_id", &task.framework_id.value);
    w.field_str(
        "executor_id",
        task.executor_id.as_ref().map_or("", |e| e.value.as_str()),
    );
    w.field_str("slave_id", &task.agent_id.value);
    w.field_str("state", task_state(task.state).as_str_name());
    w.key("resources");
    write_flat_protos(w, &task.resources);
    w.field_str("role", allocation_role(&task.resources));
    w.key("statuses").begin_array();
    for s in &task.statuses {
        write_status(w, s);
    }
    w.end_array();
    if let Some(user) = &task.user {
        w.field_str("user", user);
    }
    if let Some(labels) = &task.labels {
        w.key("labels");
        write_labels(w, labels);
    }
    if let Some(d) = &task.discovery {
        w.field_proto("discovery", d);
    }
    if let Some(c) = &task.container {
        w.field_proto("container", c);
    }
    if let Some(h) = &task.health_check {
        w.field_proto("health_check", h);
    }
    w.end_object();
}

fn write_status(w: &mut JsonWriter, s: &v1::TaskStatus) {
    w.begin_object();
    w.field_str("state", task_state(s.state).as_str_name());
    w.field_f64("timestamp", s.timestamp.unwrap_or(0.0));
    if let Some(labels) = &s.labels {
        w.key("labels");
        write_labels(w, labels);
    }
    if let Some(cs) = &s.container_status {
        w.key("container_status").begin_object();
        if let Some(id) = &cs.container_id {
            w.field_proto("container_id", id);
        }
        if !cs.network_infos.is_empty() {
            w.key("network_infos").begin_array();
            for n in &cs.network_infos {
                w.raw(&mesos_protos::json::to_vec(n));
            }
            w.end_array();
        }
        if let Some(cg) = &cs.cgroup_info {
            w.field_proto("cgroup_info", cg);
        }
        w.end_object();
    }
    if let Some(h) = s.healthy {
        w.field_bool("healthy", h);
    }
    w.end_object();
}

fn write_command(w: &mut JsonWriter, c: &v1::CommandInfo) {
    w.begin_object();
    if let Some(shell) = c.shell {
        w.field_bool("shell", shell);
    }
    if let Some(v) = &c.value {
        w.field_str("value", v);
    }
    w.key("argv").begin_array();
    for a in &c.arguments {
        w.string(a);
    }
    w.end_array();
    if let Some(env) = &c.environment {
        w.field_proto("environment", env);
    }
    w.key("uris").begin_array();
    for u in &c.uris {
        w.begin_object();
        w.field_str("value", &u.value);
        w.field_bool("executable", u.executable.unwrap_or(false));
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

/// Writes an executor (with the agent it runs on).
pub fn write_executor(w: &mut JsonWriter, e: &v1::ExecutorInfo, agent_id: &str) {
    w.begin_object();
    w.field_str("executor_id", &e.executor_id.value);
    w.field_str("name", e.name.as_deref().unwrap_or(""));
    w.field_str(
        "framework_id",
        e.framework_id.as_ref().map_or("", |f| f.value.as_str()),
    );
    w.key("command");
    write_command(w, &e.command.clone().unwrap_or_default());
    w.key("resources");
    write_flat(w, &Resources::from_resources(&e.resources));
    if !e.resources.is_empty() {
        w.field_str("role", allocation_role(&e.resources));
    }
    if let Some(labels) = &e.labels {
        w.key("labels");
        write_labels(w, labels);
    }
    if let Some(t) = e.r#type {
        let name = v1::executor_info::Type::try_from(t)
            .map(|t| t.as_str_name())
            .unwrap_or("UNKNOWN");
        w.field_str("type", name);
    }
    w.field_str("slave_id", agent_id);
    w.end_object();
}

/// Writes an outstanding offer.
pub fn write_offer(w: &mut JsonWriter, o: &v1::Offer, resources: &Resources) {
    w.begin_object();
    w.field_str("id", &o.id.value);
    w.field_str("framework_id", &o.framework_id.value);
    w.field_proto(
        "allocation_info",
        &o.allocation_info.clone().unwrap_or_default(),
    );
    w.field_str("slave_id", &o.agent_id.value);
    w.key("resources");
    write_flat(w, resources);
    w.end_object();
}

fn write_attributes(w: &mut JsonWriter, attrs: &[v1::Attribute]) {
    w.begin_object();
    for a in attrs {
        w.key(&a.name);
        if let Some(s) = &a.scalar {
            w.f64(s.value);
        } else if let Some(r) = &a.ranges {
            w.string(&mesos_protos::resources::Ranges::from_proto(r).to_string());
        } else if let Some(s) = &a.set {
            w.string(&format!("{{{}}}", s.item.join(", ")));
        } else if let Some(t) = &a.text {
            w.string(&t.value);
        } else {
            w.string("");
        }
    }
    w.end_object();
}

/// Writes the AgentInfo part of an agent object (`id, hostname, port, attributes, domain`).
pub fn write_agent_info_fields(w: &mut JsonWriter, info: &v1::AgentInfo) {
    w.field_str("id", info.id.as_ref().map_or("", |i| i.value.as_str()));
    w.field_str("hostname", &info.hostname);
    w.key("port").i64(i64::from(info.port.unwrap_or(5051)));
    w.key("attributes");
    write_attributes(w, &info.attributes);
    if let Some(d) = &info.domain {
        w.field_proto("domain", d);
    }
}

/// Writes a registered agent's fields (without the enclosing braces), as SlaveWriter.
pub fn write_agent_fields(w: &mut JsonWriter, agent: &Agent) {
    write_agent_info_fields(w, &agent.info);
    w.field_str("pid", &agent.pid);
    w.field_f64("registered_time", agent.registered_time);
    if let Some(t) = agent.reregistered_time {
        w.field_f64("reregistered_time", t);
    }
    w.key("resources");
    write_flat(w, &agent.total);
    let mut used = FlatResources::new();
    for r in agent.used.values() {
        used.add(r);
    }
    w.key("used_resources");
    used.write(w);
    w.key("offered_resources");
    write_flat(w, &agent.offered);
    let mut reservations: Vec<(String, Resources)> =
        agent.total.reservations().into_iter().collect();
    reservations.sort_by(|a, b| a.0.cmp(&b.0));
    w.key("reserved_resources").begin_object();
    for (role, r) in &reservations {
        w.key(role);
        write_flat(w, r);
    }
    w.end_object();
    w.key("unreserved_resources");
    write_flat(w, &agent.total.unreserved());
    w.field_bool("active", agent.active);
    w.field_str("version", &agent.version);
    w.key("capabilities").begin_array();
    for c in &agent.capabilities {
        let name = c
            .r#type
            .and_then(|t| v1::agent_info::capability::Type::try_from(t).ok())
            .map_or("UNKNOWN", |t| t.as_str_name());
        w.string(name);
    }
    w.end_array();
}

fn write_full_list(w: &mut JsonWriter, r: &Resources) {
    let mut list = r.to_vec();
    let _ = convert_resources_format(&mut list, ResourceFormat::Endpoint);
    w.begin_array();
    for res in &list {
        w.raw(&mesos_protos::json::to_vec(res));
    }
    w.end_array();
}

/// The extra `*_full` fields `/slaves` adds to each agent.
pub fn write_agent_full_fields(w: &mut JsonWriter, agent: &Agent) {
    let mut reservations: Vec<(String, Resources)> =
        agent.total.reservations().into_iter().collect();
    reservations.sort_by(|a, b| a.0.cmp(&b.0));
    w.key("reserved_resources_full").begin_object();
    for (role, r) in &reservations {
        w.key(role);
        write_full_list(w, r);
    }
    w.end_object();
    w.key("unreserved_resources_full");
    write_full_list(w, &agent.total.unreserved());
    w.key("used_resources_full");
    write_full_list(w, &agent.used_total());
    w.key("offered_resources_full");
    write_full_list(w, &agent.offered);
}

/// Writes the summary fields of a framework (id .. recovered).
pub fn write_framework_summary_fields(
    w: &mut JsonWriter,
    fw: &Framework,
    totals: &FrameworkTotals,
    completed: bool,
) {
    let empty = FlatResources::new();
    w.field_str("id", &fw.id);
    w.field_str("name", &fw.info.name);
    let used = if completed {
        &empty
    } else {
        totals.used.get(&fw.id).unwrap_or(&empty)
    };
    let offered = if completed {
        &empty
    } else {
        totals.offered.get(&fw.id).unwrap_or(&empty)
    };
    w.key("used_resources");
    used.write(w);
    w.key("offered_resources");
    offered.write(w);
    w.key("capabilities").begin_array();
    for c in &fw.info.capabilities {
        let name = c
            .r#type
            .and_then(|t| v1::framework_info::capability::Type::try_from(t).ok())
            .map_or("UNKNOWN", |t| t.as_str_name());
        w.string(name);
    }
    w.end_array();
    w.field_str("hostname", fw.info.hostname.as_deref().unwrap_or(""));
    w.field_str("webui_url", fw.info.webui_url.as_deref().unwrap_or(""));
    w.field_bool("active", fw.active && !completed);
    w.field_bool("connected", fw.connected() && !completed);
    w.field_bool(
        "recovered",
        matches!(fw.connection, crate::state::Connection::Recovered) && !completed,
    );
}

/// Writes a framework as `/state` and `/frameworks` show it (FullFrameworkWriter).
#[allow(deprecated)]
pub fn write_full_framework(
    w: &mut JsonWriter,
    fw: &Framework,
    totals: &FrameworkTotals,
    state: &MasterState,
    completed: bool,
) {
    w.begin_object();
    write_framework_summary_fields(w, fw, totals, completed);
    w.field_str("user", &fw.info.user);
    w.field_f64("failover_timeout", fw.info.failover_timeout.unwrap_or(0.0));
    w.field_bool("checkpoint", fw.info.checkpoint.unwrap_or(false));
    w.field_f64("registered_time", fw.registered_time);
    w.field_f64("unregistered_time", fw.unregistered_time.unwrap_or(0.0));
    if let Some(p) = &fw.info.principal {
        w.field_str("principal", p);
    }
    let mut both = FlatResources::new();
    if !completed {
        if let Some(u) = totals.used.get(&fw.id) {
            both.merge(u);
        }
        if let Some(o) = totals.offered.get(&fw.id) {
            both.merge(o);
        }
    }
    w.key("resources");
    both.write(w);
    if let Some(t) = fw.reregistered_time {
        w.field_f64("reregistered_time", t);
    }
    if fw.has_capability(v1::framework_info::capability::Type::MultiRole) {
        w.key("roles").begin_array();
        for r in &fw.info.roles {
            w.string(r);
        }
        w.end_array();
    } else {
        w.field_str("role", fw.info.role.as_deref().unwrap_or("*"));
    }
    let mut tasks: Vec<&v1::Task> = fw.tasks.values().collect();
    tasks.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
    w.key("tasks").begin_array();
    for t in tasks {
        write_task(w, t);
    }
    w.end_array();
    w.key("unreachable_tasks").begin_array();
    for t in fw.unreachable_tasks.values() {
        write_task(w, t);
    }
    w.end_array();
    w.key("completed_tasks").begin_array();
    for t in fw.completed_tasks.iter() {
        write_task(w, t);
    }
    w.end_array();
    let mut offers: Vec<&String> = fw.offers.iter().collect();
    offers.sort();
    w.key("offers").begin_array();
    for id in offers {
        if let Some(e) = state.offers.get(id) {
            write_offer(w, &e.offer, &e.resources);
        }
    }
    w.end_array();
    let mut agents: Vec<&String> = fw.executors.keys().collect();
    agents.sort();
    w.key("executors").begin_array();
    for aid in agents {
        let mut execs: Vec<&v1::ExecutorInfo> = fw.executors[aid].values().collect();
        execs.sort_by(|a, b| a.executor_id.value.cmp(&b.executor_id.value));
        for e in execs {
            write_executor(w, e, aid);
        }
    }
    w.end_array();
    if let Some(labels) = &fw.info.labels {
        w.key("labels");
        write_labels(w, labels);
    }
    w.end_object();
}

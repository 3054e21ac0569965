//! The legacy JSON endpoints (`/state`, `/state-summary`, `/frameworks`, `/slaves`,
//! `/tasks`, `/roles`, `/flags`, `/version`) rendered from the state model with Mesos
//! 1.8's hand-written shapes. Output is streamed into one buffer ([`JsonWriter`]).

pub mod objects;
pub mod resources;
pub mod writer;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesos_protos::v1;

use crate::flags::MasterFlags;
use crate::state::{Framework, MasterState};
use crate::status::task_state;
use objects::{
    write_agent_fields, write_agent_full_fields, write_agent_info_fields,
    write_framework_summary_fields, write_full_framework, write_task, FrameworkTotals,
};
use resources::FlatResources;
pub use writer::JsonWriter;

/// The Mesos version we implement (digits only: clients parse it as integers).
pub const MESOS_VERSION: &str = "1.8.0";
/// Reported build date.
pub const BUILD_DATE: &str = "2019-05-01 00:00:00";
/// Reported build time (seconds since the epoch).
pub const BUILD_TIME: f64 = 1_556_668_800.0;
/// Reported build user.
pub const BUILD_USER: &str = "mesos-rs";

/// What the renderers need besides the state model.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// The model.
    pub state: &'a MasterState,
    /// The flags (for `/flags` and `cluster`, `log_dir`).
    pub flags: &'a MasterFlags,
    /// This master's libprocess pid.
    pub pid: &'a str,
    /// The current leader, if known.
    pub leader: Option<&'a v1::MasterInfo>,
}

fn write_flags_object(w: &mut JsonWriter, flags: &MasterFlags) {
    w.begin_object();
    for (k, v) in flags.display_pairs() {
        w.field_str(k, v);
    }
    w.end_object();
}

fn write_master_info(w: &mut JsonWriter, info: &v1::MasterInfo) {
    w.begin_object();
    w.field_str("id", &info.id);
    w.field_str("pid", info.pid.as_deref().unwrap_or(""));
    w.field_u64("port", u64::from(info.port));
    w.field_str("hostname", info.hostname.as_deref().unwrap_or(""));
    if let Some(d) = &info.domain {
        w.field_proto("domain", d);
    }
    w.end_object();
}

fn sorted_frameworks(state: &MasterState) -> Vec<&Framework> {
    let mut v: Vec<&Framework> = state.frameworks.values().collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// `GET /state`.
pub fn state_json(ctx: &RenderContext<'_>) -> Vec<u8> {
    let s = ctx.state;
    let tasks: usize = s.frameworks.values().map(|f| f.tasks.len()).sum();
    let mut w = JsonWriter::with_capacity(4096 + s.agents.registered.len() * 1500 + tasks * 400);
    w.begin_object();
    w.field_str("version", MESOS_VERSION);
    w.field_str("build_date", BUILD_DATE);
    w.field_f64("build_time", BUILD_TIME);
    w.field_str("build_user", BUILD_USER);
    w.field_f64("start_time", s.start_time);
    if let Some(t) = s.elected_time {
        w.field_f64("elected_time", t);
    }
    w.field_str("id", &s.info.id);
    w.field_str("pid", ctx.pid);
    w.field_str("hostname", s.info.hostname.as_deref().unwrap_or(""));
    w.key("capabilities").begin_array();
    for c in &s.info.capabilities {
        let name = c
            .r#type
            .and_then(|t| v1::master_info::capability::Type::try_from(t).ok())
            .map_or("UNKNOWN", |t| t.as_str_name());
        w.string(name);
    }
    w.end_array();
    let active = s.agents.registered.values().filter(|a| a.active).count();
    w.field_f64("activated_slaves", active as f64);
    w.field_f64(
        "deactivated_slaves",
        (s.agents.registered.len() - active) as f64,
    );
    w.field_f64("unreachable_slaves", s.agents.unreachable.len() as f64);
    if let Some(d) = &s.info.domain {
        w.field_proto("domain", d);
    }
    if let Some(leader) = ctx.leader {
        w.field_str("leader", leader.pid.as_deref().unwrap_or(""));
        w.key("leader_info");
        write_master_info(&mut w, leader);
    }
    if let Some(c) = &ctx.flags.cluster {
        w.field_str("cluster", c);
    }
    if let Some(d) = ctx.flags.loaded.get("log_dir") {
        w.field_str("log_dir", d);
    }
    if let Some(f) = ctx.flags.loaded.get("external_log_file") {
        w.field_str("external_log_file", f);
    }
    w.key("flags");
    write_flags_object(&mut w, ctx.flags);

    let mut agents: Vec<_> = s.agents.registered.values().collect();
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    w.key("slaves").begin_array();
    for a in agents {
        w.begin_object();
        write_agent_fields(&mut w, a);
        w.end_object();
    }
    w.end_array();
    write_recovered(&mut w, s);

    let totals = FrameworkTotals::compute(s);
    w.key("frameworks").begin_array();
    for fw in sorted_frameworks(s) {
        write_full_framework(&mut w, fw, &totals, s, false);
    }
    w.end_array();
    w.key("completed_frameworks").begin_array();
    for fw in s.completed_frameworks.iter() {
        write_full_framework(&mut w, fw, &totals, s, true);
    }
    w.end_array();
    w.key("orphan_tasks").begin_array().end_array();
    w.key("unregistered_frameworks").begin_array().end_array();
    // Offer operations not yet finished with (as GET_OPERATIONS lists them); only
    // present while there are some.
    if !s.operations.is_empty() {
        w.key("operations").begin_array();
        for op in s.operations.iter() {
            w.raw(&mesos_protos::json::to_vec(op));
        }
        w.end_array();
    }
    w.end_object();
    w.into_bytes()
}

fn write_recovered(w: &mut JsonWriter, s: &MasterState) {
    let mut recovered: Vec<_> = s.agents.recovered.iter().collect();
    recovered.sort_by(|a, b| a.0.cmp(b.0));
    w.key("recovered_slaves").begin_array();
    for (_, info) in recovered {
        w.begin_object();
        write_agent_info_fields(w, info);
        w.end_object();
    }
    w.end_array();
}

/// `GET /frameworks` (optionally one `framework_id`).
pub fn frameworks_json(state: &MasterState, framework_id: Option<&str>) -> Vec<u8> {
    let totals = FrameworkTotals::compute(state);
    let pick = |id: &str| framework_id.is_none_or(|f| f == id);
    let mut w = JsonWriter::with_capacity(4096);
    w.begin_object();
    w.key("frameworks").begin_array();
    for fw in sorted_frameworks(state).into_iter().filter(|f| pick(&f.id)) {
        write_full_framework(&mut w, fw, &totals, state, false);
    }
    w.end_array();
    w.key("completed_frameworks").begin_array();
    for fw in state.completed_frameworks.iter().filter(|f| pick(&f.id)) {
        write_full_framework(&mut w, fw, &totals, state, true);
    }
    w.end_array();
    w.key("unregistered_frameworks").begin_array().end_array();
    w.end_object();
    w.into_bytes()
}

/// `GET /slaves` (optionally one `slave_id`).
pub fn slaves_json(state: &MasterState, agent_id: Option<&str>) -> Vec<u8> {
    let mut agents: Vec<_> = state
        .agents
        .registered
        .values()
        .filter(|a| agent_id.is_none_or(|id| id == a.id))
        .collect();
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    let mut w = JsonWriter::with_capacity(4096 + agents.len() * 2500);
    w.begin_object();
    w.key("slaves").begin_array();
    for a in agents {
        w.begin_object();
        write_agent_fields(&mut w, a);
        write_agent_full_fields(&mut w, a);
        w.end_object();
    }
    w.end_array();
    let mut recovered: Vec<_> = state
        .agents
        .recovered
        .iter()
        .filter(|(id, _)| agent_id.is_none_or(|x| x == id.as_str()))
        .collect();
    recovered.sort_by(|a, b| a.0.cmp(b.0));
    w.key("recovered_slaves").begin_array();
    for (_, info) in recovered {
        w.begin_object();
        write_agent_info_fields(&mut w, info);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.into_bytes()
}

/// Query options of `GET /tasks`.
#[derive(Debug, Clone, Default)]
pub struct TasksQuery {
    /// Page size (Mesos default 100).
    pub limit: Option<usize>,
    /// Page start.
    pub offset: Option<usize>,
    /// `asc` for ascending; anything else is descending.
    pub order: Option<String>,
    /// Only this framework.
    pub framework_id: Option<String>,
    /// Only this task id.
    pub task_id: Option<String>,
}

/// Mesos's default `/tasks` page size.
pub const TASK_LIMIT: usize = 100;

/// `GET /tasks`: active, unreachable and completed tasks of current and completed
/// frameworks, sorted by their first status's timestamp (descending by default).
pub fn tasks_json(state: &MasterState, q: &TasksQuery) -> Vec<u8> {
    let fw_ok = |f: &Framework| q.framework_id.as_deref().is_none_or(|id| id == f.id);
    let task_ok = |t: &v1::Task| q.task_id.as_deref().is_none_or(|id| id == t.task_id.value);
    let mut tasks: Vec<&v1::Task> = Vec::new();
    let frameworks = sorted_frameworks(state)
        .into_iter()
        .chain(state.completed_frameworks.iter());
    for f in frameworks.filter(|f| fw_ok(f)) {
        tasks.extend(f.tasks.values().filter(|t| task_ok(t)));
        tasks.extend(f.unreachable_tasks.values().filter(|t| task_ok(t)));
        tasks.extend(f.completed_tasks.iter().filter(|t| task_ok(t)));
    }
    let first_ts = |t: &v1::Task| t.statuses.first().map(|s| s.timestamp.unwrap_or(0.0));
    let asc = q.order.as_deref() == Some("asc");
    tasks.sort_by(|a, b| {
        let (x, y) = (first_ts(a), first_ts(b));
        // Tasks without statuses sort first when ascending and last when descending.
        let ord = match (x, y) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.total_cmp(&y),
        };
        if asc {
            ord
        } else {
            ord.reverse()
        }
    });
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(TASK_LIMIT);
    let mut w = JsonWriter::with_capacity(1024);
    w.begin_object();
    w.key("tasks").begin_array();
    for t in tasks.into_iter().skip(offset).take(limit) {
        write_task(&mut w, t);
    }
    w.end_array();
    w.end_object();
    w.into_bytes()
}

/// Task counts by state, as `/state-summary` reports them.
#[derive(Debug, Default, Clone, Copy)]
struct Counts([u64; 10]);

const SUMMARY_STATES: [(&str, v1::TaskState); 10] = [
    ("TASK_STAGING", v1::TaskState::TaskStaging),
    ("TASK_STARTING", v1::TaskState::TaskStarting),
    ("TASK_RUNNING", v1::TaskState::TaskRunning),
    ("TASK_KILLING", v1::TaskState::TaskKilling),
    ("TASK_FINISHED", v1::TaskState::TaskFinished),
    ("TASK_KILLED", v1::TaskState::TaskKilled),
    ("TASK_FAILED", v1::TaskState::TaskFailed),
    ("TASK_LOST", v1::TaskState::TaskLost),
    ("TASK_ERROR", v1::TaskState::TaskError),
    ("TASK_UNREACHABLE", v1::TaskState::TaskUnreachable),
];

impl Counts {
    fn add(&mut self, state: v1::TaskState) {
        if let Some(i) = SUMMARY_STATES.iter().position(|(_, s)| *s == state) {
            self.0[i] += 1;
        }
    }

    fn write(&self, w: &mut JsonWriter) {
        for (i, (name, _)) in SUMMARY_STATES.iter().enumerate() {
            w.field_u64(name, self.0[i]);
        }
    }
}

/// `GET /state-summary`: agents and frameworks with task counts, without tasks.
pub fn state_summary_json(ctx: &RenderContext<'_>) -> Vec<u8> {
    let s = ctx.state;
    let mut by_agent: HashMap<&str, Counts> = HashMap::new();
    let mut by_fw: HashMap<&str, Counts> = HashMap::new();
    let mut agent_fws: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut fw_agents: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for f in s.frameworks.values() {
        let all = f
            .tasks
            .values()
            .chain(f.unreachable_tasks.values())
            .chain(f.completed_tasks.iter());
        for t in all {
            let st = task_state(t.state);
            by_agent.entry(&t.agent_id.value).or_default().add(st);
            by_fw.entry(&f.id).or_default().add(st);
        }
        for t in f.tasks.values() {
            agent_fws
                .entry(&t.agent_id.value)
                .or_default()
                .insert(&f.id);
            fw_agents
                .entry(&f.id)
                .or_default()
                .insert(&t.agent_id.value);
        }
    }
    let totals = FrameworkTotals::compute(s);
    let mut w = JsonWriter::with_capacity(4096 + s.agents.registered.len() * 1200);
    w.begin_object();
    w.field_str("hostname", s.info.hostname.as_deref().unwrap_or(""));
    if let Some(c) = &ctx.flags.cluster {
        w.field_str("cluster", c);
    }
    let mut agents: Vec<_> = s.agents.registered.values().collect();
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    w.key("slaves").begin_array();
    for a in agents {
        w.begin_object();
        write_agent_fields(&mut w, a);
        by_agent
            .get(a.id.as_str())
            .copied()
            .unwrap_or_default()
            .write(&mut w);
        w.key("framework_ids").begin_array();
        for f in agent_fws.get(a.id.as_str()).into_iter().flatten() {
            w.string(f);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("frameworks").begin_array();
    for f in sorted_frameworks(s) {
        w.begin_object();
        write_framework_summary_fields(&mut w, f, &totals, false);
        by_fw
            .get(f.id.as_str())
            .copied()
            .unwrap_or_default()
            .write(&mut w);
        w.key("slave_ids").begin_array();
        for a in fw_agents.get(f.id.as_str()).into_iter().flatten() {
            w.string(a);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.into_bytes()
}

/// `GET /roles`: known roles (the `--roles` whitelist, or roles with frameworks or
/// weights), each with weight (default 1.0), resources allocated to it and frameworks.
pub fn roles_json(
    state: &MasterState,
    flags: &MasterFlags,
    weights: &BTreeMap<String, f64>,
) -> Vec<u8> {
    let mut roles: BTreeMap<String, (FlatResources, BTreeSet<String>)> = BTreeMap::new();
    match &flags.roles {
        Some(list) => {
            for r in list {
                roles.entry(r.clone()).or_default();
            }
        }
        None => {
            for f in state.frameworks.values() {
                for r in f.roles() {
                    roles.entry(r).or_default().1.insert(f.id.clone());
                }
            }
            for r in weights.keys() {
                roles.entry(r.clone()).or_default();
            }
        }
    }
    for f in state.frameworks.values() {
        for r in f.roles() {
            if let Some(entry) = roles.get_mut(&r) {
                entry.1.insert(f.id.clone());
            }
        }
    }
    // Reservations (and volumes) per role; such roles are listed even without frameworks.
    let mut reserved: BTreeMap<String, FlatResources> = BTreeMap::new();
    for agent in state.agents.registered.values() {
        for (role, rs) in agent.total.reservations() {
            reserved.entry(role).or_default().add(&rs);
        }
    }
    if flags.roles.is_none() {
        for role in reserved.keys() {
            roles.entry(role.clone()).or_default();
        }
    }
    for agent in state.agents.registered.values() {
        for r in agent.used.values() {
            for (role, rs) in r.allocations() {
                if let Some(entry) = roles.get_mut(&role) {
                    entry.0.add(&rs);
                }
            }
        }
    }
    for o in state.offers.values() {
        if let Some(entry) = roles.get_mut(&o.role) {
            entry.0.add(&o.resources);
        }
    }
    let mut w = JsonWriter::with_capacity(1024);
    w.begin_object();
    w.key("roles").begin_array();
    for (name, (res, fws)) in &roles {
        w.begin_object();
        w.field_str("name", name);
        w.field_f64("weight", weights.get(name).copied().unwrap_or(1.0));
        w.key("resources");
        res.write(&mut w);
        if let Some(r) = reserved.get(name) {
            w.key("reserved");
            r.write(&mut w);
        }
        w.key("frameworks").begin_array();
        for f in fws {
            w.string(f);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.into_bytes()
}

/// `GET /flags`: `{"flags": {name: value}}`.
pub fn flags_json(flags: &MasterFlags) -> Vec<u8> {
    let mut w = JsonWriter::with_capacity(4096);
    w.begin_object();
    w.key("flags");
    write_flags_object(&mut w, flags);
    w.end_object();
    w.into_bytes()
}

/// `GET /version`.
pub fn version_json() -> Vec<u8> {
    let mut w = JsonWriter::default();
    w.begin_object();
    w.field_str("version", MESOS_VERSION);
    w.field_str("build_date", BUILD_DATE);
    w.field_f64("build_time", BUILD_TIME);
    w.field_str("build_user", BUILD_USER);
    w.end_object();
    w.into_bytes()
}

#[cfg(test)]
mod tests;

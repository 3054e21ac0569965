//! Responses of the v1 operator API (`POST /api/v1`) built from the state model:
//! GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS, GET_STATE, GET_AGENTS,
//! GET_FRAMEWORKS, GET_EXECUTORS, GET_TASKS, GET_ROLES, GET_MASTER. Quota and weights
//! calls (GET_QUOTA, SET_QUOTA, REMOVE_QUOTA, UPDATE_QUOTA, GET_WEIGHTS, UPDATE_WEIGHTS)
//! and the JSON GET_ROLES with our why-no-offer fields are answered by the master actor
//! (`master/quota.rs`) before [`answer`] is asked.

use std::collections::BTreeMap;

use mesos_protos::resources::{convert_resources_format, ResourceFormat, Resources};
use mesos_protos::v1;
use mesos_protos::v1::master::{call, response, Response};

use crate::flags::MasterFlags;
use crate::render::{BUILD_DATE, BUILD_TIME, BUILD_USER, MESOS_VERSION};
use crate::state::{Connection, Framework, MasterState};
use crate::status::time_info;

/// Why a call cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// A malformed call (400).
    #[error("{0}")]
    BadRequest(String),
    /// A call type we do not serve (501).
    #[error("{0}")]
    NotImplemented(String),
}

fn resources(r: &Resources) -> Vec<v1::Resource> {
    let mut list = r.to_vec();
    let _ = convert_resources_format(&mut list, ResourceFormat::Endpoint);
    list
}

fn response(t: response::Type) -> Response {
    Response {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

/// One agent as GET_AGENTS and AGENT_ADDED show it.
pub fn agent_entry(a: &crate::state::Agent) -> response::get_agents::Agent {
    response::get_agents::Agent {
        agent_info: a.info.clone(),
        active: a.active,
        version: a.version.clone(),
        pid: Some(a.pid.clone()),
        registered_time: Some(time_info(a.registered_time)),
        reregistered_time: a.reregistered_time.map(time_info),
        total_resources: resources(&a.total),
        allocated_resources: resources(&a.used_total()),
        offered_resources: resources(&a.offered),
        capabilities: a.capabilities.clone(),
        ..Default::default()
    }
}

/// GET_AGENTS.
pub fn get_agents(state: &MasterState) -> response::GetAgents {
    let mut agents: Vec<_> = state.agents.registered.values().collect();
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    let mut recovered: Vec<_> = state.agents.recovered.iter().collect();
    recovered.sort_by(|a, b| a.0.cmp(b.0));
    response::GetAgents {
        agents: agents.into_iter().map(agent_entry).collect(),
        recovered_agents: recovered.into_iter().map(|(_, i)| i.clone()).collect(),
    }
}

/// The full state, as GET_STATE and the operator SUBSCRIBED event carry it.
pub fn get_state(state: &MasterState) -> response::GetState {
    response::GetState {
        get_tasks: Some(get_tasks(state)),
        get_executors: Some(get_executors(state)),
        get_frameworks: Some(get_frameworks(state)),
        get_agents: Some(get_agents(state)),
    }
}

/// One framework as GET_FRAMEWORKS and FRAMEWORK_ADDED/UPDATED show it.
pub fn framework_entry(
    state: &MasterState,
    f: &Framework,
    completed: bool,
) -> response::get_frameworks::Framework {
    let mut allocated = Resources::new();
    let mut offered = Resources::new();
    if !completed {
        for a in state.agents.registered.values() {
            if let Some(u) = a.used.get(&f.id) {
                allocated += u;
            }
        }
    }
    let mut offers: Vec<v1::Offer> = Vec::new();
    for id in &f.offers {
        if let Some(o) = state.offers.get(id) {
            offered += &o.resources;
            offers.push(o.offer.clone());
        }
    }
    offers.sort_by(|a, b| a.id.value.cmp(&b.id.value));
    response::get_frameworks::Framework {
        framework_info: f.info.clone(),
        active: f.active && !completed,
        connected: f.connected() && !completed,
        recovered: matches!(f.connection, Connection::Recovered) && !completed,
        registered_time: Some(time_info(f.registered_time)),
        reregistered_time: f.reregistered_time.map(time_info),
        unregistered_time: f.unregistered_time.map(time_info),
        offers,
        allocated_resources: resources(&allocated),
        offered_resources: resources(&offered),
        ..Default::default()
    }
}

/// GET_FRAMEWORKS.
pub fn get_frameworks(state: &MasterState) -> response::GetFrameworks {
    let mut fws: Vec<&Framework> = state.frameworks.values().collect();
    fws.sort_by(|a, b| a.id.cmp(&b.id));
    response::GetFrameworks {
        frameworks: fws
            .iter()
            .map(|f| framework_entry(state, f, false))
            .collect(),
        completed_frameworks: state
            .completed_frameworks
            .iter()
            .map(|f| framework_entry(state, f, true))
            .collect(),
        ..Default::default()
    }
}

/// GET_EXECUTORS.
pub fn get_executors(state: &MasterState) -> response::GetExecutors {
    let mut out = Vec::new();
    let mut fws: Vec<&Framework> = state.frameworks.values().collect();
    fws.sort_by(|a, b| a.id.cmp(&b.id));
    for f in fws {
        let by_agent: BTreeMap<_, _> = f.executors.iter().collect();
        for (aid, execs) in by_agent {
            let mut list: Vec<_> = execs.values().collect();
            list.sort_by(|a, b| a.executor_id.value.cmp(&b.executor_id.value));
            for e in list {
                out.push(response::get_executors::Executor {
                    executor_info: e.clone(),
                    agent_id: v1::AgentId { value: aid.clone() },
                });
            }
        }
    }
    response::GetExecutors {
        executors: out,
        ..Default::default()
    }
}

/// GET_TASKS.
pub fn get_tasks(state: &MasterState) -> response::GetTasks {
    let mut tasks = Vec::new();
    let mut unreachable = Vec::new();
    let mut completed = Vec::new();
    let mut fws: Vec<&Framework> = state.frameworks.values().collect();
    fws.sort_by(|a, b| a.id.cmp(&b.id));
    for f in fws.into_iter().chain(state.completed_frameworks.iter()) {
        let mut live: Vec<&v1::Task> = f.tasks.values().collect();
        live.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
        tasks.extend(live.into_iter().cloned());
        unreachable.extend(f.unreachable_tasks.values().cloned());
        completed.extend(f.completed_tasks.iter().cloned());
    }
    response::GetTasks {
        tasks,
        unreachable_tasks: unreachable,
        completed_tasks: completed,
        ..Default::default()
    }
}

/// GET_ROLES: known roles with weights, frameworks and allocated resources.
pub fn get_roles(state: &MasterState, weights: &BTreeMap<String, f64>) -> response::GetRoles {
    let mut roles: BTreeMap<String, (Vec<v1::FrameworkId>, Resources)> = BTreeMap::new();
    for r in weights.keys() {
        roles.entry(r.clone()).or_default();
    }
    let mut fws: Vec<&Framework> = state.frameworks.values().collect();
    fws.sort_by(|a, b| a.id.cmp(&b.id));
    for f in fws {
        for r in f.roles() {
            roles.entry(r).or_default().0.push(v1::FrameworkId {
                value: f.id.clone(),
            });
        }
    }
    for a in state.agents.registered.values() {
        for used in a.used.values() {
            for (role, r) in used.allocations() {
                if let Some(e) = roles.get_mut(&role) {
                    e.1 += &r;
                }
            }
        }
    }
    response::GetRoles {
        roles: roles
            .into_iter()
            .map(|(name, (frameworks, r))| v1::Role {
                weight: weights.get(&name).copied().unwrap_or(1.0),
                name,
                frameworks,
                resources: resources(&r),
            })
            .collect(),
    }
}

/// Inputs of [`answer`] besides the model.
#[derive(Debug, Clone)]
pub struct OperatorContext<'a> {
    /// The flags.
    pub flags: &'a MasterFlags,
    /// Role weights in force.
    pub weights: BTreeMap<String, f64>,
    /// Current metrics snapshot (`name → value`).
    pub metrics: Vec<(String, f64)>,
}

/// Answers a synchronous operator call.
pub fn answer(
    call: &v1::master::Call,
    state: &MasterState,
    ctx: &OperatorContext<'_>,
) -> Result<Response, OperatorError> {
    let Some(t) = call.r#type else {
        return Err(OperatorError::BadRequest(
            "Expecting 'type' to be present".into(),
        ));
    };
    let t = call::Type::try_from(t).unwrap_or(call::Type::Unknown);
    let mut r;
    match t {
        call::Type::GetHealth => {
            r = response(response::Type::GetHealth);
            r.get_health = Some(response::GetHealth { healthy: true });
        }
        call::Type::GetFlags => {
            r = response(response::Type::GetFlags);
            r.get_flags = Some(response::GetFlags {
                flags: ctx
                    .flags
                    .display_pairs()
                    .map(|(k, v)| v1::Flag {
                        name: k.to_owned(),
                        value: Some(v.to_owned()),
                    })
                    .collect(),
            });
        }
        call::Type::GetVersion => {
            r = response(response::Type::GetVersion);
            r.get_version = Some(response::GetVersion {
                version_info: v1::VersionInfo {
                    version: MESOS_VERSION.into(),
                    build_date: Some(BUILD_DATE.into()),
                    build_time: Some(BUILD_TIME),
                    build_user: Some(BUILD_USER.into()),
                    ..Default::default()
                },
            });
        }
        call::Type::GetMetrics => {
            r = response(response::Type::GetMetrics);
            r.get_metrics = Some(response::GetMetrics {
                metrics: ctx
                    .metrics
                    .iter()
                    .map(|(k, v)| v1::Metric {
                        name: k.clone(),
                        value: Some(*v),
                    })
                    .collect(),
            });
        }
        call::Type::GetState => {
            r = response(response::Type::GetState);
            r.get_state = Some(get_state(state));
        }
        call::Type::GetAgents => {
            r = response(response::Type::GetAgents);
            r.get_agents = Some(get_agents(state));
        }
        call::Type::GetFrameworks => {
            r = response(response::Type::GetFrameworks);
            r.get_frameworks = Some(get_frameworks(state));
        }
        call::Type::GetExecutors => {
            r = response(response::Type::GetExecutors);
            r.get_executors = Some(get_executors(state));
        }
        call::Type::GetTasks => {
            r = response(response::Type::GetTasks);
            r.get_tasks = Some(get_tasks(state));
        }
        call::Type::GetRoles => {
            r = response(response::Type::GetRoles);
            r.get_roles = Some(get_roles(state, &ctx.weights));
        }
        call::Type::GetOperations => {
            r = response(response::Type::GetOperations);
            r.get_operations = Some(crate::operations::get_operations(state));
        }
        call::Type::GetMaster => {
            r = response(response::Type::GetMaster);
            r.get_master = Some(response::GetMaster {
                master_info: Some(state.info.clone()),
                start_time: Some(state.start_time),
                elected_time: state.elected_time,
            });
        }
        other => {
            return Err(OperatorError::NotImplemented(format!(
                "Operator call {} is not implemented yet",
                other.as_str_name()
            )))
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn ask(t: call::Type, s: &MasterState, flags: &MasterFlags) -> serde_json::Value {
        let c = v1::master::Call {
            r#type: Some(t as i32),
            ..Default::default()
        };
        let ctx = OperatorContext {
            flags,
            weights: BTreeMap::new(),
            metrics: vec![("master/elected".into(), 1.0)],
        };
        mesos_protos::json::to_value(&answer(&c, s, &ctx).expect("answer"))
    }

    #[test]
    fn operator_calls_render_mesos_json() {
        let flags = MasterFlags::default();
        let mut s = master_state();
        let fid = s.add_framework(framework_info("fw", &[]), http("x"), 1.0);
        s.add_agent(agent("m-S0", "cpus:2;mem:100"));
        s.add_task(&fid, &alloc_task("t", "m-S0", "cpus:1;mem:10"), None)
            .unwrap();

        let v = ask(call::Type::GetHealth, &s, &flags);
        assert_eq!(v["type"], "GET_HEALTH");
        assert_eq!(v["get_health"]["healthy"], true);
        let v = ask(call::Type::GetVersion, &s, &flags);
        assert_eq!(v["get_version"]["version_info"]["version"], "1.8.0");
        let v = ask(call::Type::GetFlags, &s, &flags);
        assert!(v["get_flags"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "port" && f["value"] == "5050"));
        let v = ask(call::Type::GetState, &s, &flags);
        let st = &v["get_state"];
        assert_eq!(
            st["get_agents"]["agents"][0]["agent_info"]["id"]["value"],
            "m-S0"
        );
        assert_eq!(
            st["get_frameworks"]["frameworks"][0]["framework_info"]["name"],
            "fw"
        );
        assert_eq!(st["get_tasks"]["tasks"][0]["state"], "TASK_STAGING");
        let v = ask(call::Type::GetRoles, &s, &flags);
        assert_eq!(v["get_roles"]["roles"][0]["name"], "*");
        let v = ask(call::Type::GetMaster, &s, &flags);
        assert_eq!(v["get_master"]["master_info"]["id"], "m");
        let v = ask(call::Type::GetMetrics, &s, &flags);
        assert_eq!(v["get_metrics"]["metrics"][0]["name"], "master/elected");

        let c = v1::master::Call {
            r#type: Some(call::Type::GetMaintenanceStatus as i32),
            ..Default::default()
        };
        let ctx = OperatorContext {
            flags: &flags,
            weights: BTreeMap::new(),
            metrics: Vec::new(),
        };
        assert!(matches!(
            answer(&c, &s, &ctx),
            Err(OperatorError::NotImplemented(_))
        ));
        assert!(matches!(
            answer(&v1::master::Call::default(), &s, &ctx),
            Err(OperatorError::BadRequest(_))
        ));
    }
}

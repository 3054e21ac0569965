//! Answers to a framework's RECONCILE call, following Mesos 1.8 case by case.
//!
//! Implicit (no tasks named): the latest state of every task the master knows for the
//! framework. Explicit, per named task:
//! 1. known task → its latest state (`status_update_state` if set, else `state`);
//! 2. unknown task, its agent (or, with no agent named, any agent) still recovering
//!    after failover → no answer yet;
//! 3. unknown task on a registered agent → TASK_GONE;
//! 4. on an unreachable agent → TASK_UNREACHABLE with the time it was marked;
//! 5. on a gone agent → TASK_GONE_BY_OPERATOR;
//! 6. otherwise → TASK_UNKNOWN.
//!
//! Cases 3–6 become TASK_LOST for frameworks without PARTITION_AWARE. All answers are
//! master-generated (no uuid, reason RECONCILIATION).

use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;
use mesos_protos::v1::TaskState;

use crate::state::{Framework, MasterState};
use crate::status::{master_update, state_for_framework, task_state, MasterUpdate};

/// One task named in an explicit RECONCILE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileTask {
    /// The task id.
    pub task_id: String,
    /// The agent id, if the framework gave one.
    pub agent_id: Option<String>,
}

/// The updates to send for a RECONCILE of `tasks` (empty = implicit).
pub fn reconcile(
    state: &MasterState,
    framework: &Framework,
    tasks: &[ReconcileTask],
    now: f64,
) -> Vec<internal::StatusUpdate> {
    if tasks.is_empty() {
        let mut known: Vec<&v1::Task> = framework.tasks.values().collect();
        known.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
        return known
            .into_iter()
            .map(|t| latest(framework, t, now))
            .collect();
    }
    let aware = framework.partition_aware();
    let mut out = Vec::new();
    for t in tasks {
        if let Some(task) = framework.tasks.get(&t.task_id) {
            out.push(latest(framework, task, now));
            continue;
        }
        let agents = &state.agents;
        let agent = t.agent_id.as_deref();
        let recovering = match agent {
            Some(a) => agents.recovered.contains_key(a),
            None => !agents.recovered.is_empty(),
        };
        if recovering {
            continue;
        }
        let (state_, message, unreachable_time) = match agent {
            Some(a) if agents.registered.contains_key(a) => (
                TaskState::TaskGone,
                "Reconciliation: Task is unknown to the agent",
                None,
            ),
            Some(a) if agents.unreachable.contains_key(a) => (
                TaskState::TaskUnreachable,
                "Reconciliation: Task is unreachable",
                agents.unreachable.get(a).copied(),
            ),
            Some(a) if agents.gone.contains_key(a) => (
                TaskState::TaskGoneByOperator,
                "Reconciliation: Task is gone",
                None,
            ),
            _ => (
                TaskState::TaskUnknown,
                "Reconciliation: Task is unknown",
                None,
            ),
        };
        out.push(master_update(
            MasterUpdate {
                framework_id: &framework.id,
                agent_id: agent,
                task_id: &t.task_id,
                state: state_for_framework(state_, aware),
                reason: Reason::Reconciliation,
                message: message.to_owned(),
                executor_id: None,
                unreachable_time,
            },
            now,
        ));
    }
    out
}

fn latest(framework: &Framework, task: &v1::Task, now: f64) -> internal::StatusUpdate {
    let state = task_state(task.status_update_state.unwrap_or(task.state));
    let mut update = master_update(
        MasterUpdate {
            framework_id: &framework.id,
            agent_id: Some(&task.agent_id.value),
            task_id: &task.task_id.value,
            state,
            reason: Reason::Reconciliation,
            message: "Reconciliation: Latest task state".to_owned(),
            executor_id: task.executor_id.as_ref().map(|e| e.value.as_str()),
            unreachable_time: None,
        },
        now,
    );
    if let Some(last) = task.statuses.last() {
        update.status.healthy = last.healthy;
        update.status.check_status = last.check_status;
    }
    update.status.container_status = task
        .statuses
        .iter()
        .rev()
        .find_map(|s| s.container_status.clone());
    update
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn req(task: &str, agent: Option<&str>) -> ReconcileTask {
        ReconcileTask {
            task_id: task.into(),
            agent_id: agent.map(str::to_owned),
        }
    }

    fn states(updates: &[internal::StatusUpdate]) -> Vec<(String, TaskState)> {
        updates
            .iter()
            .map(|u| (u.status.task_id.value.clone(), task_state(u.status.state)))
            .collect()
    }

    fn setup(caps: &[v1::framework_info::capability::Type]) -> (MasterState, String) {
        let mut s = master_state();
        let fid = s.add_framework(framework_info("fw", caps), http("s"), 1.0);
        s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
        s.add_task(&fid, &task_info("t1", "m-S0", "cpus:1;mem:1"), None)
            .unwrap();
        s.add_task(&fid, &task_info("t2", "m-S0", "cpus:1;mem:1"), None)
            .unwrap();
        s.update_task(&agent_update(
            &fid,
            "m-S0",
            "t2",
            TaskState::TaskRunning,
            b"u",
        ))
        .unwrap();
        s.agents.unreachable.insert("m-S7".into(), 42.0);
        s.agents.gone.insert("m-S8".into(), 43.0);
        (s, fid)
    }

    #[test]
    fn implicit_reconciliation_reports_every_known_task() {
        let (s, fid) = setup(&[]);
        let out = reconcile(&s, &s.frameworks[&fid], &[], 5.0);
        assert_eq!(
            states(&out),
            vec![
                ("t1".into(), TaskState::TaskStaging),
                ("t2".into(), TaskState::TaskRunning)
            ]
        );
        for u in &out {
            assert_eq!(u.status.reason, Some(Reason::Reconciliation as i32));
            assert_eq!(
                u.status.message.as_deref(),
                Some("Reconciliation: Latest task state")
            );
            assert!(u.uuid.is_none() && u.status.uuid.is_none());
        }
    }

    #[test]
    fn explicit_answers_for_partition_aware_frameworks() {
        let (s, fid) = setup(&[PARTITION_AWARE]);
        let out = reconcile(
            &s,
            &s.frameworks[&fid],
            &[
                req("t2", None),
                req("x1", Some("m-S0")),
                req("x2", Some("m-S7")),
                req("x3", Some("m-S8")),
                req("x4", Some("m-S99")),
                req("x5", None),
            ],
            5.0,
        );
        assert_eq!(
            states(&out),
            vec![
                ("t2".into(), TaskState::TaskRunning),
                ("x1".into(), TaskState::TaskGone),
                ("x2".into(), TaskState::TaskUnreachable),
                ("x3".into(), TaskState::TaskGoneByOperator),
                ("x4".into(), TaskState::TaskUnknown),
                ("x5".into(), TaskState::TaskUnknown),
            ]
        );
        assert_eq!(
            out[2].status.unreachable_time.as_ref().unwrap().nanoseconds,
            42_000_000_000
        );
    }

    #[test]
    fn explicit_answers_are_lost_for_other_frameworks() {
        let (s, fid) = setup(&[]);
        let out = reconcile(
            &s,
            &s.frameworks[&fid],
            &[
                req("x1", Some("m-S0")),
                req("x2", Some("m-S7")),
                req("x3", Some("m-S8")),
                req("x4", None),
            ],
            5.0,
        );
        assert!(states(&out)
            .iter()
            .all(|(_, st)| *st == TaskState::TaskLost));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn recovering_agents_get_no_answer_yet() {
        let (mut s, fid) = setup(&[PARTITION_AWARE]);
        s.agents
            .recovered
            .insert("m-S5".into(), agent_info("h", "cpus:1"));
        let out = reconcile(
            &s,
            &s.frameworks[&fid],
            &[
                req("x1", Some("m-S5")),
                req("x2", None),
                req("x3", Some("m-S0")),
                req("t1", None),
            ],
            5.0,
        );
        assert_eq!(
            states(&out),
            vec![
                ("x3".into(), TaskState::TaskGone),
                ("t1".into(), TaskState::TaskStaging)
            ]
        );
    }
}

//! Task states and master-generated status updates.

use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::{Reason, Source};
use mesos_protos::v1::TaskState;

/// Whether a task state is terminal (no later state follows).
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

/// The state a framework is told: frameworks without PARTITION_AWARE see TASK_LOST
/// instead of DROPPED, UNREACHABLE, GONE, GONE_BY_OPERATOR and UNKNOWN.
pub fn state_for_framework(state: TaskState, partition_aware: bool) -> TaskState {
    if partition_aware {
        return state;
    }
    match state {
        TaskState::TaskDropped
        | TaskState::TaskUnreachable
        | TaskState::TaskGone
        | TaskState::TaskGoneByOperator
        | TaskState::TaskUnknown => TaskState::TaskLost,
        other => other,
    }
}

/// A task state from its wire number; unknown numbers read as TASK_UNKNOWN.
pub fn task_state(n: i32) -> TaskState {
    TaskState::try_from(n).unwrap_or(TaskState::TaskUnknown)
}

/// The parts of a status update the master generates itself.
#[derive(Debug, Clone)]
pub struct MasterUpdate<'a> {
    /// The framework the task belongs to.
    pub framework_id: &'a str,
    /// The agent, if known.
    pub agent_id: Option<&'a str>,
    /// The task.
    pub task_id: &'a str,
    /// The state reported.
    pub state: TaskState,
    /// Why.
    pub reason: Reason,
    /// Human-readable explanation.
    pub message: String,
    /// The executor, if known.
    pub executor_id: Option<&'a str>,
    /// When the agent became unreachable, for UNREACHABLE answers.
    pub unreachable_time: Option<f64>,
}

/// Builds a master-generated update: source MASTER, no uuid (must not be acknowledged).
pub fn master_update(u: MasterUpdate<'_>, now: f64) -> internal::StatusUpdate {
    let status = v1::TaskStatus {
        task_id: v1::TaskId {
            value: u.task_id.to_owned(),
        },
        state: u.state as i32,
        message: Some(u.message),
        agent_id: u.agent_id.map(|a| v1::AgentId {
            value: a.to_owned(),
        }),
        executor_id: u.executor_id.map(|e| v1::ExecutorId {
            value: e.to_owned(),
        }),
        timestamp: Some(now),
        source: Some(Source::Master as i32),
        reason: Some(u.reason as i32),
        unreachable_time: u.unreachable_time.map(time_info),
        ..Default::default()
    };
    internal::StatusUpdate {
        framework_id: v1::FrameworkId {
            value: u.framework_id.to_owned(),
        },
        executor_id: status.executor_id.clone(),
        slave_id: status.agent_id.clone(),
        status,
        timestamp: now,
        uuid: None,
        latest_state: None,
    }
}

/// Seconds since the epoch as a `TimeInfo`.
pub fn time_info(seconds: f64) -> v1::TimeInfo {
    v1::TimeInfo {
        nanoseconds: (seconds * 1e9) as i64,
    }
}

/// A `TimeInfo` as seconds since the epoch.
pub fn seconds(time: &v1::TimeInfo) -> f64 {
    time.nanoseconds as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_match_mesos() {
        let terminal = [
            TaskState::TaskFinished,
            TaskState::TaskFailed,
            TaskState::TaskKilled,
            TaskState::TaskError,
            TaskState::TaskLost,
            TaskState::TaskDropped,
            TaskState::TaskGone,
            TaskState::TaskGoneByOperator,
        ];
        for s in terminal {
            assert!(is_terminal(s), "{s:?}");
        }
        for s in [
            TaskState::TaskStaging,
            TaskState::TaskStarting,
            TaskState::TaskRunning,
            TaskState::TaskKilling,
            TaskState::TaskUnreachable,
            TaskState::TaskUnknown,
        ] {
            assert!(!is_terminal(s), "{s:?}");
        }
    }

    #[test]
    fn non_partition_aware_frameworks_see_lost() {
        for s in [
            TaskState::TaskDropped,
            TaskState::TaskUnreachable,
            TaskState::TaskGone,
            TaskState::TaskGoneByOperator,
            TaskState::TaskUnknown,
        ] {
            assert_eq!(state_for_framework(s, false), TaskState::TaskLost);
            assert_eq!(state_for_framework(s, true), s);
        }
        assert_eq!(
            state_for_framework(TaskState::TaskRunning, false),
            TaskState::TaskRunning
        );
    }

    #[test]
    fn master_updates_have_no_uuid_and_master_source() {
        let u = master_update(
            MasterUpdate {
                framework_id: "f",
                agent_id: Some("a"),
                task_id: "t",
                state: TaskState::TaskLost,
                reason: Reason::AgentRemoved,
                message: "gone".into(),
                executor_id: None,
                unreachable_time: Some(2.5),
            },
            10.0,
        );
        assert_eq!(u.uuid, None);
        assert_eq!(u.status.uuid, None);
        assert_eq!(u.status.source, Some(Source::Master as i32));
        assert_eq!(u.status.state, TaskState::TaskLost as i32);
        assert_eq!(u.status.timestamp, Some(10.0));
        assert_eq!(u.slave_id.unwrap().value, "a");
        assert_eq!(
            u.status.unreachable_time.unwrap().nanoseconds,
            2_500_000_000
        );
    }
}

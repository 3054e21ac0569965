//! Running tasks on the agent actor with a recording process fake: what is launched and
//! checkpointed, kills before the executor subscribes, registration timeouts, executor
//! crashes.

use std::time::Duration;

use libprocess::block_on;
use mesos_agent::containerizer::process_ops::OpCall;
use mesos_agent::slave::model::ExecutorState;
use mesos_agent::sys::WaitStatus;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;

#[path = "support/cluster.rs"]
mod support;
use support::*;

fn registered() -> (Cluster, libprocess::Pid<mesos_agent::slave::Slave>) {
    let mut c = cluster(true);
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    c.drain();
    (c, agent)
}

fn updates(seen: &[Seen]) -> Vec<&internal::StatusUpdate> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Update(u) => Some(&u.update),
            _ => None,
        })
        .collect()
}

fn spawned_pid(c: &Cluster) -> i32 {
    c.ops
        .calls()
        .iter()
        .find_map(|call| match call {
            OpCall::Spawn(_, pid) => Some(*pid),
            _ => None,
        })
        .expect("an executor was spawned")
}

#[test]
fn a_command_task_launches_the_command_executor_with_checkpoints() {
    let (c, agent) = registered();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", true));
    c.settle();
    let calls = c.ops.calls();
    let Some(OpCall::Spawn(argv, pid)) = calls.first() else {
        panic!("{calls:?}")
    };
    assert_eq!(
        argv,
        &[
            "/opt/mesos/libexec/mesos-executor".to_string(),
            "--launcher_dir=/opt/mesos/libexec".to_string()
        ]
    );
    let (state, container, sandbox, task_state) = block_on(agent.dispatch(|s, _| {
        let e = &s.frameworks()["fw"].executors["t1"];
        (
            e.state,
            e.container_id.clone(),
            e.sandbox.clone(),
            e.tasks["t1"].state(),
        )
    }))
    .unwrap();
    assert_eq!(state, ExecutorState::Registering);
    assert_eq!(task_state, v1::TaskState::TaskStaging);
    let work = c.work.path().join("work");
    assert_eq!(
        sandbox,
        work.join(format!(
            "slaves/m1-S0/frameworks/fw/executors/t1/runs/{container}"
        ))
    );
    assert!(sandbox.is_dir());
    assert_eq!(
        std::fs::read_link(sandbox.parent().unwrap().join("latest")).unwrap(),
        std::path::PathBuf::from(&container)
    );
    let meta = work.join("meta/slaves/m1-S0/frameworks/fw");
    assert!(meta.join("framework.info").is_file());
    assert!(meta.join("executors/t1/executor.info").is_file());
    let run = meta.join(format!("executors/t1/runs/{container}"));
    assert!(run.join("tasks/t1/task.info").is_file());
    assert_eq!(
        std::fs::read_to_string(run.join("pids/forked.pid")).unwrap(),
        pid.to_string()
    );
}

#[test]
fn a_kill_before_the_executor_subscribes_gives_task_killed_and_stops_the_executor() {
    let (mut c, agent) = registered();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", false));
    c.settle();
    let pid = spawned_pid(&c);
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId { value: "t1".into() },
            kill_policy: None,
        },
    );
    let seen = c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    let ups = updates(&seen);
    assert_eq!(ups.len(), 1, "{seen:?}");
    assert_eq!(ups[0].status.state(), v1::TaskState::TaskKilled);
    assert_eq!(ups[0].status.reason(), Reason::TaskKilledDuringLaunch);
    assert!(c.ops.calls().contains(&OpCall::Signal(pid, libc::SIGKILL)));
}

#[test]
fn an_executor_that_never_subscribes_is_destroyed_and_its_task_fails() {
    let (mut c, agent) = registered();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", false));
    c.settle();
    let pid = spawned_pid(&c);
    c.advance(Duration::from_secs(59));
    assert!(!c.ops.calls().contains(&OpCall::Signal(pid, libc::SIGKILL)));
    c.advance(Duration::from_secs(1));
    let seen = c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    let ups = updates(&seen);
    assert_eq!(ups.len(), 1, "{seen:?}");
    assert_eq!(ups[0].status.state(), v1::TaskState::TaskFailed);
    assert_eq!(ups[0].status.reason(), Reason::ExecutorRegistrationTimeout);
    assert_eq!(ups[0].status.source(), v1::task_status::Source::Agent);
}

#[test]
fn an_executor_crash_fails_its_tasks_with_a_reason() {
    let (mut c, agent) = registered();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", false));
    c.settle();
    let pid = spawned_pid(&c);
    assert!(c.ops.exit(pid, WaitStatus::Exited(1)));
    let seen = c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    let ups = updates(&seen);
    assert_eq!(ups.len(), 1, "{seen:?}");
    assert_eq!(ups[0].status.state(), v1::TaskState::TaskFailed);
    assert_eq!(ups[0].status.reason(), Reason::CommandExecutorFailed);
    assert!(ups[0]
        .status
        .message
        .as_deref()
        .unwrap()
        .contains("exited with status 1"));
    let exited = seen
        .iter()
        .find_map(|s| match s {
            Seen::Exited(e) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(exited.executor_id.value, "t1");
    assert_eq!(exited.status, 1 << 8);
    let left = block_on(agent.dispatch(|s, _| s.frameworks()["fw"].executors.len())).unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_custom_executor_crash_is_task_lost_unless_partition_aware() {
    for (aware, expected) in [
        (false, v1::TaskState::TaskLost),
        (true, v1::TaskState::TaskGone),
    ] {
        let (mut c, agent) = registered();
        let mut msg = run_task_message("t1", false);
        msg.task.executor = Some(v1::ExecutorInfo {
            executor_id: v1::ExecutorId {
                value: "custom".into(),
            },
            command: Some(v1::CommandInfo {
                value: Some("./my-executor".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        if aware {
            msg.framework
                .capabilities
                .push(v1::framework_info::Capability {
                    r#type: Some(v1::framework_info::capability::Type::PartitionAware as i32),
                });
        }
        c.rt.send_from(c.master.upid(), agent.upid(), msg);
        c.settle();
        let calls = c.ops.calls();
        let Some(OpCall::Spawn(argv, pid)) = calls.first() else {
            panic!("{calls:?}")
        };
        assert_eq!(argv[..2], ["/bin/sh".to_string(), "-c".to_string()]);
        assert!(c.ops.exit(*pid, WaitStatus::Signaled(9)));
        let seen = c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
        let ups = updates(&seen);
        assert_eq!(ups.len(), 1, "{seen:?}");
        assert_eq!(ups[0].status.state(), expected);
        assert_eq!(ups[0].status.reason(), Reason::ExecutorTerminated);
    }
}

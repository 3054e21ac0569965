//! Real tasks: the agent actor with the real containerizer starts the built
//! `mesos-executor`, which runs the task's command; the fake master acknowledges updates.

use std::path::Path;
use std::time::Duration;

use libprocess::{Clock, Pid};
use mesos_agent::slave::Slave;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::TaskState;

#[path = "support/cluster.rs"]
mod support;
use support::*;

fn launcher_dir() -> String {
    Path::new(env!("CARGO_BIN_EXE_mesos-executor"))
        .parent()
        .unwrap()
        .display()
        .to_string()
}

fn start() -> (Cluster, Pid<Slave>) {
    let mut c = cluster(true);
    let agent = c.start_real_agent("slave(1)", &launcher_dir());
    c.advance(Duration::from_secs(1));
    c.drain();
    (c, agent)
}

fn command_task(task: &str, command: &str) -> internal::RunTaskMessage {
    let mut msg = run_task_message(task, true);
    msg.task.command = Some(v1::CommandInfo {
        value: Some(command.into()),
        ..Default::default()
    });
    msg
}

/// Acknowledges every update as it comes until one is terminal; returns them all.
fn run_to_completion(c: &mut Cluster, agent: &Pid<Slave>) -> Vec<internal::StatusUpdate> {
    let mut all: Vec<internal::StatusUpdate> = Vec::new();
    loop {
        let seen = c.wait_real(|s| !updates_of(s).is_empty());
        for u in updates_of(&seen) {
            c.ack(agent, &u);
            all.push(u);
        }
        if all.last().is_some_and(|u| {
            mesos_agent::status_update_manager::is_terminal_state(u.status.state())
        }) {
            return all;
        }
    }
}

fn states(updates: &[internal::StatusUpdate]) -> Vec<TaskState> {
    updates.iter().map(|u| u.status.state()).collect()
}

fn sandbox(c: &Cluster, task: &str) -> std::path::PathBuf {
    c.work.path().join(format!(
        "work/slaves/m1-S0/frameworks/fw/executors/{task}/runs/latest"
    ))
}

#[test]
fn a_task_finishes_and_its_output_is_in_the_sandbox() {
    let (mut c, agent) = start();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        command_task("t1", "echo hello from $MESOS_EXECUTOR_ID"),
    );
    let ups = run_to_completion(&mut c, &agent);
    assert_eq!(
        states(&ups),
        [TaskState::TaskRunning, TaskState::TaskFinished]
    );
    assert_eq!(
        ups[1].status.message.as_deref(),
        Some("Command exited with status 0")
    );
    assert_eq!(ups[1].status.source(), v1::task_status::Source::Executor);
    let out = std::fs::read_to_string(sandbox(&c, "t1").join("stdout")).unwrap();
    assert!(out.contains("hello from t1"), "{out}");
    // The executor exits after its terminal update was acknowledged.
    let seen = c.wait_real(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    assert!(seen
        .iter()
        .any(|x| matches!(x, Seen::Exited(e) if e.status == 0)));
}

#[test]
fn a_failing_task_reports_its_exit_code() {
    let (mut c, agent) = start();
    c.rt.send_from(c.master.upid(), agent.upid(), command_task("t2", "exit 3"));
    let ups = run_to_completion(&mut c, &agent);
    assert_eq!(
        states(&ups),
        [TaskState::TaskRunning, TaskState::TaskFailed]
    );
    assert_eq!(
        ups[1].status.message.as_deref(),
        Some("Command exited with status 3")
    );
}

#[test]
fn kill_honours_the_grace_period() {
    let (mut c, agent) = start();
    // Ignores SIGTERM (and so does its child), so only the SIGKILL after the grace ends it.
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        command_task("t3", "trap '' TERM; sleep 60"),
    );
    let seen = c.wait_real(|s| !updates_of(s).is_empty());
    let running = updates_of(&seen);
    assert_eq!(states(&running), [TaskState::TaskRunning]);
    c.ack(&agent, &running[0]);
    let grace = Duration::from_millis(1500);
    let clock = Clock::new();
    let start = clock.now();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId { value: "t3".into() },
            kill_policy: Some(v1::KillPolicy {
                grace_period: Some(v1::DurationInfo {
                    nanoseconds: grace.as_nanos() as i64,
                }),
            }),
        },
    );
    let ups = run_to_completion(&mut c, &agent);
    let waited = clock.now() - start;
    assert_eq!(states(&ups), [TaskState::TaskKilled]);
    assert!(
        waited >= grace,
        "killed after {waited:?}, before the grace period"
    );
}

/// True once `pid` is gone or a zombie.
fn dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn an_executor_crash_fails_the_task_and_takes_the_task_process_with_it() {
    let (mut c, agent) = start();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        command_task("t4", "echo $$ > task.pid; exec sleep 60"),
    );
    let seen = c.wait_real(|s| !updates_of(s).is_empty());
    let running = updates_of(&seen);
    assert_eq!(states(&running), [TaskState::TaskRunning]);
    c.ack(&agent, &running[0]);
    let pid_file = sandbox(&c, "t4").join("task.pid");
    let clock = Clock::new();
    let mut task_pid = None;
    for _ in 0..1500 {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            task_pid = Some(p);
            break;
        }
        libprocess::block_on(clock.sleep(Duration::from_millis(20)));
    }
    let task_pid = task_pid.expect("the task wrote its pid");
    let meta = c
        .work
        .path()
        .join("work/meta/slaves/m1-S0/frameworks/fw/executors/t4/runs/latest/pids/forked.pid");
    let executor_pid: i32 = std::fs::read_to_string(meta)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    mesos_agent::sys::kill_process(executor_pid, libc::SIGKILL).unwrap();
    let ups = run_to_completion(&mut c, &agent);
    assert_eq!(states(&ups), [TaskState::TaskFailed]);
    assert_eq!(
        ups[0].status.reason(),
        v1::task_status::Reason::CommandExecutorFailed
    );
    assert_eq!(ups[0].status.source(), v1::task_status::Source::Agent);
    let mut gone = false;
    for _ in 0..1500 {
        if dead(task_pid) {
            gone = true;
            break;
        }
        libprocess::block_on(clock.sleep(Duration::from_millis(20)));
    }
    assert!(gone, "task process {task_pid} outlived its container");
}

#[test]
fn framework_shutdown_stops_its_executor_and_task() {
    let (mut c, agent) = start();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        command_task("t5", "exec sleep 60"),
    );
    let seen = c.wait_real(|s| !updates_of(s).is_empty());
    let running = updates_of(&seen);
    assert_eq!(states(&running), [TaskState::TaskRunning]);
    c.ack(&agent, &running[0]);
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::ShutdownFrameworkMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
        },
    );
    // The executor kills its task and exits; the agent reports the executor gone.
    let seen = c.wait_real(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    assert!(seen
        .iter()
        .any(|x| matches!(x, Seen::Exited(e) if e.executor_id.value == "t5")));
    let left = libprocess::block_on(agent.dispatch(|s, _| {
        s.frameworks()
            .get("fw")
            .map(|f| f.executors.len())
            .unwrap_or(0)
    }))
    .unwrap();
    assert_eq!(left, 0);
}

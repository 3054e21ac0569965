//! Custom executors with real processes: a framework's ExecutorInfo names its own
//! executor command, which the agent starts with Mesos's executor environment and which
//! gets LAUNCH for every task sent to that ExecutorID.
//!
//! The custom executor is `scheduler-driver/examples/command_executor.rs` (the project's
//! example custom executor), compiled into this test binary; the agent starts this binary
//! again with `--ignored --exact custom_executor_process`, which runs it.
//!
//! Also here: the command executor gives its task `MESOS_TASK_ID`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::Pid;
use mesos_agent::slave::Slave;
use mesos_agent::status_update_manager::is_terminal_state;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::TaskState;

#[path = "support/cluster.rs"]
mod support;
use support::*;

// Its `main` is replaced by `custom_executor_process` below.
#[allow(dead_code)]
#[path = "../../scheduler-driver/examples/command_executor.rs"]
mod example;

/// Not a test of its own: the entry point of the custom executor process that the other
/// tests make the agent start (this binary, run with `--ignored --exact` on this name).
#[test]
#[ignore = "the custom executor's process entry point; started by the agent in the other tests"]
fn custom_executor_process() {
    use mesos_scheduler::executor::{self, Config, ExecutorEnv};
    let env = ExecutorEnv::from_process_env().expect("started by the agent");
    let mut executor = example::CommandExecutor::new(env.sandbox.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(executor::run(Config::new(env), &mut executor))
        .expect("the executor driver ran to SHUTDOWN");
}

fn launcher_dir() -> String {
    PathBuf::from(env!("CARGO_BIN_EXE_mesos-executor"))
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

/// The framework's own executor: this test binary, running `custom_executor_process`.
fn custom_executor() -> v1::ExecutorInfo {
    let me = std::env::current_exe().unwrap().display().to_string();
    v1::ExecutorInfo {
        r#type: Some(v1::executor_info::Type::Custom as i32),
        executor_id: v1::ExecutorId {
            value: "custom".into(),
        },
        command: Some(v1::CommandInfo {
            value: Some(me.clone()),
            arguments: vec![
                me,
                "--ignored".into(),
                "--exact".into(),
                "custom_executor_process".into(),
                "--nocapture".into(),
            ],
            shell: Some(false),
            ..Default::default()
        }),
        shutdown_grace_period: Some(v1::DurationInfo {
            nanoseconds: 4_000_000_000,
        }),
        ..Default::default()
    }
}

fn task_for_custom_executor(task: &str, command: &str) -> internal::RunTaskMessage {
    let mut msg = run_task_message(task, true);
    msg.task.command = Some(v1::CommandInfo {
        value: Some(command.into()),
        ..Default::default()
    });
    msg.task.executor = Some(custom_executor());
    msg
}

/// Acknowledges updates until `task` has a terminal one; returns every update seen.
fn until_terminal(
    c: &mut Cluster,
    agent: &Pid<Slave>,
    task: &str,
    all: &mut BTreeMap<String, Vec<TaskState>>,
) {
    while !all
        .get(task)
        .and_then(|s| s.last())
        .is_some_and(|s| is_terminal_state(*s))
    {
        let seen = c.wait_real(|s| !updates_of(s).is_empty());
        for u in updates_of(&seen) {
            c.ack(agent, &u);
            assert_eq!(u.executor_id.as_ref().unwrap().value, "custom");
            all.entry(u.status.task_id.value.clone())
                .or_default()
                .push(u.status.state());
        }
    }
}

/// The scheduler's SHUTDOWN ends the executor cleanly (it would otherwise outlive the
/// test, retrying its subscription for the recovery timeout).
fn shut_down(c: &mut Cluster, agent: &Pid<Slave>) {
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::ShutdownExecutorMessage {
            framework_id: Some(v1::FrameworkId { value: "fw".into() }),
            executor_id: Some(v1::ExecutorId {
                value: "custom".into(),
            }),
        },
    );
    let seen = c.wait_real(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    assert!(
        seen.iter().any(|x| matches!(x,
            Seen::Exited(e) if e.executor_id.value == "custom" && e.status == 0)),
        "{seen:?}"
    );
}

fn sandbox(c: &Cluster) -> PathBuf {
    c.work
        .path()
        .join("work/slaves/m1-S0/frameworks/fw/executors/custom/runs/latest")
}

#[test]
fn a_custom_executor_runs_two_tasks_with_the_mesos_environment() {
    let (mut c, agent) = start();
    let mut states = BTreeMap::new();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        task_for_custom_executor("one", "echo task-one pid $PPID; env > one.env"),
    );
    until_terminal(&mut c, &agent, "one", &mut states);
    // The executor is subscribed by now: the second task goes straight to it.
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        task_for_custom_executor("two", "echo task-two pid $PPID"),
    );
    until_terminal(&mut c, &agent, "two", &mut states);
    for task in ["one", "two"] {
        assert_eq!(
            states[task],
            [TaskState::TaskRunning, TaskState::TaskFinished],
            "task {task}"
        );
    }
    // One executor ran both: one run folder, one process printing both tasks' output.
    let runs: Vec<_> = std::fs::read_dir(sandbox(&c).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "latest")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let stdout = std::fs::read_to_string(sandbox(&c).join("stdout")).unwrap();
    let pid_of = |task: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("task-{task} pid ")))
            .unwrap_or_else(|| panic!("no output of task {task} in {stdout}"))
            .to_string()
    };
    assert_eq!(pid_of("one"), pid_of("two"));
    // The environment Mesos gives an executor (the task inherits the executor's).
    let env: BTreeMap<String, String> = std::fs::read_to_string(sandbox(&c).join("one.env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dir = sandbox(&c).parent().unwrap().join(&runs[0]);
    assert_eq!(env["MESOS_FRAMEWORK_ID"], "fw");
    assert_eq!(env["MESOS_EXECUTOR_ID"], "custom");
    assert_eq!(env["MESOS_SLAVE_ID"], "m1-S0");
    assert_eq!(env["MESOS_DIRECTORY"], dir.display().to_string());
    assert_eq!(env["MESOS_SANDBOX"], dir.display().to_string());
    assert_eq!(env["MESOS_AGENT_ENDPOINT"], agent.upid().address_str());
    assert_eq!(env["MESOS_SLAVE_PID"], agent.upid().to_string());
    assert_eq!(env["MESOS_CHECKPOINT"], "1");
    assert_eq!(env["MESOS_RECOVERY_TIMEOUT"], "15mins");
    assert_eq!(env["MESOS_SUBSCRIPTION_BACKOFF_MAX"], "2secs");
    assert_eq!(env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"], "4secs");
    assert_eq!(env["MESOS_HTTP_COMMAND_EXECUTOR"], "0");
    assert_eq!(env["MESOS_TASK_ID"], "one");
    shut_down(&mut c, &agent);
}

#[test]
fn tasks_queued_before_the_custom_executor_subscribes_all_reach_it() {
    let (mut c, agent) = start();
    // Both arrive before the new executor process can subscribe: the agent queues them
    // and sends a LAUNCH for each on SUBSCRIBE.
    for (task, word) in [("q1", "first"), ("q2", "second")] {
        c.rt.send_from(
            c.master.upid(),
            agent.upid(),
            task_for_custom_executor(task, &format!("echo queued-{word} pid $PPID")),
        );
    }
    let mut states = BTreeMap::new();
    until_terminal(&mut c, &agent, "q1", &mut states);
    until_terminal(&mut c, &agent, "q2", &mut states);
    for task in ["q1", "q2"] {
        assert_eq!(
            states[task],
            [TaskState::TaskRunning, TaskState::TaskFinished],
            "task {task}"
        );
    }
    let stdout = std::fs::read_to_string(sandbox(&c).join("stdout")).unwrap();
    let pids: Vec<&str> = ["first", "second"]
        .iter()
        .map(|w| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("queued-{w} pid ")))
                .unwrap_or_else(|| panic!("no output of the {w} task in {stdout}"))
        })
        .collect();
    assert_eq!(pids[0], pids[1], "both tasks ran in one executor");
    shut_down(&mut c, &agent);
}

#[test]
fn the_command_executor_gives_its_task_mesos_task_id() {
    let (mut c, agent) = start();
    let mut msg = run_task_message("tid-42", false);
    msg.task.command = Some(v1::CommandInfo {
        value: Some("echo task id is $MESOS_TASK_ID".into()),
        ..Default::default()
    });
    c.rt.send_from(c.master.upid(), agent.upid(), msg);
    let mut states = BTreeMap::new();
    loop {
        let seen = c.wait_real(|s| !updates_of(s).is_empty());
        for u in updates_of(&seen) {
            c.ack(&agent, &u);
            states
                .entry(u.status.task_id.value.clone())
                .or_insert_with(Vec::new)
                .push(u.status.state());
        }
        if states
            .get("tid-42")
            .and_then(|s| s.last())
            .is_some_and(|s| is_terminal_state(*s))
        {
            break;
        }
    }
    assert_eq!(
        states["tid-42"],
        [TaskState::TaskRunning, TaskState::TaskFinished]
    );
    let out = std::fs::read_to_string(
        c.work
            .path()
            .join("work/slaves/m1-S0/frameworks/fw/executors/tid-42/runs/latest/stdout"),
    )
    .unwrap();
    assert!(out.contains("task id is tid-42"), "{out}");
}

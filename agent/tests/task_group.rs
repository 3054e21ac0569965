//! Task groups with real processes: the agent actor starts the built
//! `mesos-default-executor` for a RunTaskGroupMessage and it runs every task of the group
//! as its own process in `tasks/<task_id>`; the fake master acknowledges updates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::{Clock, Pid};
use mesos_agent::slave::Slave;
use mesos_agent::status_update_manager::is_terminal_state;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;
use mesos_protos::v1::TaskState;

#[path = "support/cluster.rs"]
mod support;
use support::*;

fn launcher_dir() -> String {
    Path::new(env!("CARGO_BIN_EXE_mesos-default-executor"))
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

fn grace(d: Duration) -> v1::KillPolicy {
    v1::KillPolicy {
        grace_period: Some(v1::DurationInfo {
            nanoseconds: d.as_nanos() as i64,
        }),
    }
}

/// A group of shell tasks `(id, command, kill policy)` for the DEFAULT executor `default`.
fn group(tasks: &[(&str, &str, Option<v1::KillPolicy>)]) -> internal::RunTaskGroupMessage {
    let framework = run_task_message("unused", true).framework;
    let resources = mesos_protos::resources::Resources::parse("cpus:0.1;mem:32", "*").unwrap();
    internal::RunTaskGroupMessage {
        framework,
        executor: v1::ExecutorInfo {
            r#type: Some(v1::executor_info::Type::Default as i32),
            executor_id: v1::ExecutorId {
                value: "default".into(),
            },
            framework_id: Some(v1::FrameworkId { value: "fw".into() }),
            resources: resources.to_vec(),
            ..Default::default()
        },
        task_group: v1::TaskGroupInfo {
            tasks: tasks
                .iter()
                .map(|(id, command, policy)| v1::TaskInfo {
                    name: id.to_string(),
                    task_id: v1::TaskId {
                        value: id.to_string(),
                    },
                    agent_id: v1::AgentId {
                        value: "m1-S0".into(),
                    },
                    command: Some(v1::CommandInfo {
                        value: Some(command.to_string()),
                        ..Default::default()
                    }),
                    kill_policy: *policy,
                    ..Default::default()
                })
                .collect(),
        },
        resource_version_uuids: Vec::new(),
        launch_executor: Some(true),
    }
}

/// What the master saw of a group, kept across waits.
#[derive(Default)]
struct Observed {
    /// Each task's updates, in order.
    by_task: BTreeMap<String, Vec<internal::StatusUpdate>>,
    /// Executor exits.
    exits: Vec<internal::ExitedExecutorMessage>,
}

impl Observed {
    /// Acknowledges updates as they come until `tasks` tasks have a terminal one.
    fn run_group(&mut self, c: &mut Cluster, agent: &Pid<Slave>, tasks: usize) {
        while self.terminal() < tasks {
            let seen = c.wait_real(|s| !s.is_empty());
            for s in seen {
                match s {
                    Seen::Update(u) => {
                        c.ack(agent, &u.update);
                        self.by_task
                            .entry(u.update.status.task_id.value.clone())
                            .or_default()
                            .push(u.update);
                    }
                    Seen::Exited(e) => self.exits.push(e),
                    _ => {}
                }
            }
        }
    }

    fn terminal(&self) -> usize {
        self.by_task
            .values()
            .filter(|ups| {
                ups.last()
                    .is_some_and(|u| is_terminal_state(u.status.state()))
            })
            .count()
    }

    /// Waits (in real time) for the executor's exit to reach the master; there must be
    /// exactly one.
    fn exited(&mut self, c: &mut Cluster) -> internal::ExitedExecutorMessage {
        if self.exits.is_empty() {
            let seen = c.wait_real(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
            self.exits.extend(seen.into_iter().filter_map(|s| match s {
                Seen::Exited(e) => Some(e),
                _ => None,
            }));
        }
        assert_eq!(self.exits.len(), 1, "one executor exit expected");
        self.exits[0].clone()
    }
}

fn run_group(
    c: &mut Cluster,
    agent: &Pid<Slave>,
    tasks: usize,
) -> (BTreeMap<String, Vec<internal::StatusUpdate>>, Observed) {
    let mut seen = Observed::default();
    seen.run_group(c, agent, tasks);
    (seen.by_task.clone(), seen)
}

fn states(updates: &[internal::StatusUpdate]) -> Vec<TaskState> {
    updates.iter().map(|u| u.status.state()).collect()
}

fn executor_dir(c: &Cluster) -> PathBuf {
    c.work
        .path()
        .join("work/slaves/m1-S0/frameworks/fw/executors/default/runs")
}

/// Prints the task's id and folder, and records its parent process (the executor).
const SAY_HELLO: &str = "echo hello from $MESOS_TASK_ID in $PWD; echo $PPID > ppid";

#[test]
fn a_group_of_three_runs_in_one_default_executor() {
    let (mut c, agent) = start();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        group(&[
            ("a", SAY_HELLO, None),
            ("b", SAY_HELLO, None),
            ("c", SAY_HELLO, None),
        ]),
    );
    let (by_task, mut seen) = run_group(&mut c, &agent, 3);
    assert_eq!(by_task.len(), 3);
    for (task, ups) in &by_task {
        assert_eq!(
            states(ups),
            [
                TaskState::TaskStarting,
                TaskState::TaskRunning,
                TaskState::TaskFinished
            ],
            "task {task}"
        );
        for u in ups {
            assert_eq!(u.status.source(), v1::task_status::Source::Executor);
            assert_eq!(u.executor_id.as_ref().unwrap().value, "default");
        }
        assert_eq!(
            ups[2].status.message.as_deref(),
            Some("Command exited with status 0")
        );
    }
    // One container: a single run of the executor, whose process is every task's parent.
    let runs: Vec<_> = std::fs::read_dir(executor_dir(&c))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "latest")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let sandbox = executor_dir(&c).join(&runs[0]);
    let executor_pid: i32 = std::fs::read_to_string(c.work.path().join(format!(
        "work/meta/slaves/m1-S0/frameworks/fw/executors/default/runs/{}/pids/forked.pid",
        runs[0]
    )))
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    for task in ["a", "b", "c"] {
        let dir = sandbox.join("tasks").join(task);
        let out = std::fs::read_to_string(dir.join("stdout")).unwrap();
        assert_eq!(
            out.trim(),
            format!("hello from {task} in {}", dir.display()),
            "task {task}"
        );
        let parent: i32 = std::fs::read_to_string(dir.join("ppid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(parent, executor_pid, "task {task} ran outside the executor");
    }
    // The executor ran the default executor binary, and exits once all is acknowledged.
    let stdout = std::fs::read_to_string(sandbox.join("stdout")).unwrap();
    assert!(stdout.contains("Started task a"), "{stdout}");
    let exited = seen.exited(&mut c);
    assert_eq!(exited.executor_id.value, "default");
    assert_eq!(exited.status, 0);
}

#[test]
fn one_failing_task_kills_the_rest_of_its_group() {
    let (mut c, agent) = start();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        group(&[
            ("long1", "exec sleep 60", None),
            ("long2", "exec sleep 60", None),
            ("bad", "sleep 0.2; exit 3", None),
        ]),
    );
    let (by_task, mut seen) = run_group(&mut c, &agent, 3);
    let bad = &by_task["bad"];
    assert_eq!(bad.last().unwrap().status.state(), TaskState::TaskFailed);
    assert_eq!(
        bad.last().unwrap().status.message.as_deref(),
        Some("Command exited with status 3")
    );
    for task in ["long1", "long2"] {
        let ups = &by_task[task];
        assert_eq!(
            states(ups),
            [
                TaskState::TaskStarting,
                TaskState::TaskRunning,
                TaskState::TaskKilled
            ],
            "task {task}"
        );
    }
    assert_eq!(seen.exited(&mut c).status, 0);
}

#[test]
fn killing_one_task_kills_the_group_after_the_grace_period() {
    let (mut c, agent) = start();
    let g = Duration::from_millis(1200);
    // `stubborn` ignores SIGTERM (so does its sleep), so only SIGKILL ends it.
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        group(&[
            ("stubborn", "trap '' TERM; sleep 60", Some(grace(g))),
            ("other", "exec sleep 60", None),
        ]),
    );
    let mut running = 0;
    while running < 2 {
        let seen = c.wait_real(|s| !updates_of(s).is_empty());
        for u in updates_of(&seen) {
            c.ack(&agent, &u);
            if u.status.state() == TaskState::TaskRunning {
                running += 1;
            }
        }
    }
    let clock = Clock::new();
    let start = clock.now();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId {
                value: "stubborn".into(),
            },
            kill_policy: None,
        },
    );
    let (by_task, mut seen) = run_group(&mut c, &agent, 2);
    let waited = clock.now() - start;
    assert_eq!(states(&by_task["stubborn"]), [TaskState::TaskKilled]);
    assert_eq!(states(&by_task["other"]), [TaskState::TaskKilled]);
    assert!(
        waited >= g,
        "the task's kill policy grace period was not honoured: killed after {waited:?}"
    );
    assert_eq!(seen.exited(&mut c).status, 0);
}

#[test]
fn a_kill_before_the_executor_subscribes_kills_the_whole_group() {
    let (mut c, agent) = start();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        group(&[("x", "exec sleep 60", None), ("y", "exec sleep 60", None)]),
    );
    // Delivered right behind the launch, long before a new process can subscribe.
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId { value: "y".into() },
            kill_policy: None,
        },
    );
    let (by_task, mut seen) = run_group(&mut c, &agent, 2);
    for task in ["x", "y"] {
        let ups = &by_task[task];
        assert_eq!(states(ups), [TaskState::TaskKilled], "task {task}");
        assert_eq!(ups[0].status.reason(), Reason::TaskKilledDuringLaunch);
        assert_eq!(ups[0].status.source(), v1::task_status::Source::Agent);
    }
    seen.exited(&mut c);
}

#[test]
fn a_group_without_the_default_executor_binary_fails_its_tasks() {
    let mut c = cluster(true);
    let empty = tempfile::tempdir().unwrap();
    let agent = c.start_real_agent("slave(1)", &empty.path().display().to_string());
    c.advance(Duration::from_secs(1));
    c.drain();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        group(&[("p", "true", None), ("q", "true", None)]),
    );
    let (by_task, _) = run_group(&mut c, &agent, 2);
    for task in ["p", "q"] {
        let u = &by_task[task][0];
        assert_eq!(u.status.state(), TaskState::TaskFailed);
        assert_eq!(u.status.reason(), Reason::ContainerLaunchFailed);
        assert!(u
            .status
            .message
            .as_deref()
            .unwrap()
            .contains("mesos-default-executor"));
    }
}

#[test]
fn shutdown_kills_every_task_within_the_executor_shutdown_grace_period() {
    let (mut c, agent) = start();
    let mut msg = group(&[
        // Its own kill policy asks for far more than the executor has on SHUTDOWN.
        (
            "stubborn",
            "trap '' TERM; sleep 60",
            Some(grace(Duration::from_secs(60))),
        ),
        ("plain", "exec sleep 60", None),
    ]);
    msg.executor.shutdown_grace_period = Some(v1::DurationInfo {
        nanoseconds: 2_000_000_000,
    });
    c.rt.send_from(c.master.upid(), agent.upid(), msg);
    let mut running = 0;
    while running < 2 {
        let seen = c.wait_real(|s| !updates_of(s).is_empty());
        for u in updates_of(&seen) {
            c.ack(&agent, &u);
            if u.status.state() == TaskState::TaskRunning {
                running += 1;
            }
        }
    }
    let clock = Clock::new();
    let start = clock.now();
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::ShutdownExecutorMessage {
            framework_id: Some(v1::FrameworkId { value: "fw".into() }),
            executor_id: Some(v1::ExecutorId {
                value: "default".into(),
            }),
        },
    );
    let (by_task, mut seen) = run_group(&mut c, &agent, 2);
    let waited = clock.now() - start;
    for task in ["stubborn", "plain"] {
        let ups = &by_task[task];
        assert_eq!(states(ups), [TaskState::TaskKilled], "task {task}");
        // Reported by the executor itself, not by the agent destroying the container.
        assert_eq!(ups[0].status.source(), v1::task_status::Source::Executor);
    }
    // Capped at the executor's share of its 2 s grace, not the task's 60 s.
    assert!(waited < Duration::from_secs(10), "took {waited:?}");
    assert_eq!(seen.exited(&mut c).status, 0);
}

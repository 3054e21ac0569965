//! Agent restarts with real executors (the built `mesos-executor`) and a fake master on its
//! own runtime: `--recover=reconnect` keeps running tasks (same processes) and delivers
//! their updates in order; executors that died or hang while the agent was down fail or
//! lose their tasks with Mesos's reasons; `--recover=cleanup` kills old executors and ends
//! the agent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::channel::mpsc;
use libprocess::{block_on, Clock, Pid, Runtime};
use mesos_agent::flags::AgentFlags;
use mesos_agent::run::{start, RunningAgent, StartError, StartOptions};
use mesos_agent::slave::{Slave, SlaveState};
use mesos_agent::sys;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::task_status::Reason;
use mesos_protos::v1::TaskState;

#[path = "support/cluster.rs"]
mod support;
use support::*;

/// The longest any single wait in these tests may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// A fake master on its own runtime and a work dir shared by every agent start.
struct Harness {
    master_rt: Runtime,
    master: Pid<FakeMaster>,
    seen: mpsc::UnboundedReceiver<Seen>,
    work: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let master_rt = Runtime::start().unwrap();
        let (tx, seen) = mpsc::unbounded();
        let master = master_rt
            .spawn(
                "master",
                FakeMaster {
                    seen: tx,
                    answer: true,
                    ping_timeout: None,
                },
            )
            .unwrap();
        Harness {
            master_rt,
            master,
            seen,
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts an agent on a port of its own: one below the kernel's ephemeral range, so
    /// that no `--port=0` listener of a test running in parallel can take it while the
    /// agent restarts (and talk to this test's executors).
    fn start_first_agent(&self) -> RunningAgent {
        for _ in 0..100 {
            let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
            match self.try_start_agent(port, &[]) {
                Ok(agent) => return agent,
                Err(StartError::Runtime(e)) => eprintln!("port {port}: {e}; trying another"),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no free port found");
    }

    /// Starts an agent on `port` with the built executors and `extra` flags.
    fn start_agent(&self, port: u16, extra: &[&str]) -> RunningAgent {
        self.try_start_agent(port, extra).unwrap()
    }

    fn try_start_agent(&self, port: u16, extra: &[&str]) -> Result<RunningAgent, StartError> {
        let launcher_dir = Path::new(env!("CARGO_BIN_EXE_mesos-executor"))
            .parent()
            .unwrap()
            .display()
            .to_string();
        let work = self.work.path();
        let mut args = vec![
            format!("--master={}", self.master_rt.address()),
            format!("--port={port}"),
            format!("--work_dir={}", work.join("work").display()),
            format!("--runtime_dir={}", work.join("run").display()),
            format!("--launcher_dir={launcher_dir}"),
            "--registration_backoff_factor=10ms".to_string(),
            "--executor_reregistration_timeout=20secs".to_string(),
            "--resources=cpus:2;mem:1024;disk:1024".to_string(),
            "--hostname=agent-host".to_string(),
        ];
        for flag in extra {
            let name = flag.split('=').next().unwrap_or_default();
            args.retain(|a| !a.starts_with(&format!("{name}=")));
            args.push(flag.to_string());
        }
        let flags = AgentFlags::load(&args, &BTreeMap::new()).unwrap();
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), "/usr/bin:/bin".to_string());
        start(flags, env, StartOptions::default())
    }

    /// The next thing the master sees for which `pick` holds (others are skipped).
    fn next_matching(&mut self, mut pick: impl FnMut(&Seen) -> bool) -> Seen {
        let clock = Clock::new();
        loop {
            let Ok(next) =
                block_on(clock.timeout(PATIENCE, futures::StreamExt::next(&mut self.seen)))
            else {
                panic!(
                    "the master heard nothing for 60 s; {}",
                    self.sandbox_files()
                );
            };
            let next = next.expect("the master's channel closed");
            if pick(&next) {
                return next;
            }
        }
    }

    fn next_update(&mut self) -> internal::StatusUpdate {
        match self.next_matching(|s| matches!(s, Seen::Update(_))) {
            Seen::Update(u) => u.update,
            _ => unreachable!(),
        }
    }

    fn next_reregistration(&mut self) -> internal::ReregisterSlaveMessage {
        match self.next_matching(|s| matches!(s, Seen::Reregister(_))) {
            Seen::Reregister(r) => r,
            _ => unreachable!(),
        }
    }

    /// Updates the master has seen so far and not yet taken.
    fn updates_so_far(&mut self) -> Vec<internal::StatusUpdate> {
        let mut out = Vec::new();
        while let Ok(s) = self.seen.try_recv() {
            if let Seen::Update(u) = s {
                out.push(u.update);
            }
        }
        out
    }

    /// Acknowledges an update as the master does for the scheduler.
    fn ack(&self, agent: &RunningAgent, u: &internal::StatusUpdate) {
        self.master_rt.send_from(
            self.master.upid(),
            agent.pid.upid(),
            internal::StatusUpdateAcknowledgementMessage {
                slave_id: u.slave_id.clone().unwrap_or_default(),
                framework_id: u.framework_id.clone(),
                task_id: u.status.task_id.clone(),
                uuid: u.uuid.clone().unwrap_or_default(),
            },
        );
    }

    /// Runs a command task `t1` of the checkpointing framework `fw`.
    fn run_task(&self, agent: &RunningAgent, command: &str) {
        let mut msg = run_task_message("t1", true);
        msg.task.command = Some(v1::CommandInfo {
            value: Some(command.into()),
            ..Default::default()
        });
        self.master_rt
            .send_from(self.master.upid(), agent.pid.upid(), msg);
    }

    /// The checkpointed run of executor `t1`.
    fn meta_run(&self) -> PathBuf {
        self.work
            .path()
            .join("work/meta/slaves/m1-S0/frameworks/fw/executors/t1/runs/latest")
    }

    fn sandbox(&self) -> PathBuf {
        self.work
            .path()
            .join("work/slaves/m1-S0/frameworks/fw/executors/t1/runs/latest")
    }

    /// The executor's output, for failure messages.
    fn sandbox_files(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.sandbox().join(f)).unwrap_or_default();
        format!(
            "executor stdout:\n{}\nexecutor stderr:\n{}",
            read("stdout"),
            read("stderr")
        )
    }

    /// The executor's pid, as the agent checkpointed it.
    fn executor_pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.meta_run().join("pids/forked.pid")).unwrap();
        text.trim().parse().unwrap()
    }

    /// The task's pid, as the command executor printed it.
    fn task_pid(&self) -> i32 {
        let out = wait_until("the task to start", || {
            std::fs::read_to_string(self.sandbox().join("stdout"))
                .ok()
                .filter(|o| o.contains("(pid "))
        });
        let rest = &out[out.find("(pid ").unwrap() + 5..];
        rest[..rest.find(')').unwrap()].parse().unwrap()
    }

    fn shutdown(self) {
        block_on(self.master_rt.shutdown());
    }
}

/// Polls `f` every 20 ms (real time) until it gives a value.
fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let clock = Clock::new();
    for _ in 0..(PATIENCE.as_millis() / 20) {
        if let Some(v) = f() {
            return v;
        }
        block_on(clock.sleep(Duration::from_millis(20)));
    }
    panic!("gave up waiting for {what}");
}

/// The unacknowledged updates of task `t1` in the agent's stream.
fn pending(agent: &RunningAgent) -> Vec<internal::StatusUpdate> {
    block_on(
        agent
            .pid
            .dispatch(|s: &mut Slave, _| s.pending_updates("fw", "t1")),
    )
    .unwrap()
}

fn stop(agent: RunningAgent) {
    block_on(agent.runtime.shutdown());
}

fn kill_all(pids: &[i32]) {
    for pid in pids {
        let _ = sys::kill_process_group(*pid, libc::SIGKILL);
        let _ = sys::kill_process(*pid, libc::SIGKILL);
    }
}

/// Kills these processes if the test fails (a stopped executor would never end).
struct KillIfPanicking(Vec<i32>);

impl Drop for KillIfPanicking {
    fn drop(&mut self) {
        if std::thread::panicking() {
            kill_all(&self.0);
        }
    }
}

/// Starts `command` as task `t1`, returns the agent once TASK_RUNNING has been seen (and
/// acknowledged and recorded by the agent when `ack`).
fn start_with_task(
    h: &mut Harness,
    command: &str,
    ack: bool,
) -> (RunningAgent, internal::StatusUpdate) {
    let agent = h.start_first_agent();
    h.next_matching(|s| matches!(s, Seen::Register(_)));
    // The master's answer and the task travel separately: wait for the first to land.
    wait_until("the agent to be registered", || {
        let state = block_on(agent.pid.dispatch(|s: &mut Slave, _| s.state())).unwrap();
        (state == SlaveState::Running).then_some(())
    });
    h.run_task(&agent, command);
    let running = h.next_update();
    assert_eq!(running.status.state(), TaskState::TaskRunning);
    if ack {
        h.ack(&agent, &running);
        wait_until("the agent to record the acknowledgement", || {
            pending(&agent).is_empty().then_some(())
        });
    }
    (agent, running)
}

#[test]
fn a_task_survives_an_agent_restart_and_its_update_is_delivered() {
    let mut h = Harness::new();
    let (first, running) = start_with_task(&mut h, "sleep 4; echo done", true);
    let port = first.address.port();
    let executor = h.executor_pid();
    let task = h.task_pid();

    stop(first);
    assert!(
        sys::process_exists(executor),
        "the executor outlives the agent"
    );
    assert!(sys::process_exists(task), "the task outlives the agent");
    let second = h.start_agent(port, &[]);
    let rereg = h.next_reregistration();
    assert_eq!(rereg.slave.id.as_ref().unwrap().value, "m1-S0");
    assert_eq!(rereg.tasks.len(), 1);
    assert_eq!(rereg.tasks[0].task_id.value, "t1");
    assert_eq!(rereg.tasks[0].state(), TaskState::TaskRunning);
    assert_eq!(rereg.frameworks.len(), 1);
    // Recovery waited for the executor: it is the same process, subscribed again.
    assert_eq!(h.executor_pid(), executor);
    assert!(sys::process_exists(executor));

    // The acknowledged TASK_RUNNING is not sent again; TASK_FINISHED comes next.
    let finished = h.next_update();
    assert_eq!(finished.status.state(), TaskState::TaskFinished);
    assert_ne!(finished.uuid, running.uuid);
    assert_eq!(finished.latest_state, Some(TaskState::TaskFinished as i32));
    h.ack(&second, &finished);
    wait_until("the agent to record the acknowledgement", || {
        pending(&second).is_empty().then_some(())
    });
    // Acknowledged to the executor too, which then exits.
    wait_until("the executor to exit", || {
        (!sys::process_exists(executor)).then_some(())
    });
    let out = std::fs::read_to_string(h.sandbox().join("stdout")).unwrap();
    assert!(out.contains("done"), "{out}");
    assert_eq!(out.matches("Starting task").count(), 1, "{out}");
    wait_until("the agent to forget the executor", || {
        let left = block_on(second.pid.dispatch(|s: &mut Slave, _| {
            s.frameworks()
                .values()
                .map(|f| f.executors.len())
                .sum::<usize>()
        }))
        .unwrap();
        (left == 0).then_some(())
    });
    assert!(
        h.updates_so_far().is_empty(),
        "no update after the terminal one"
    );
    stop(second);
    h.shutdown();
}

#[test]
fn unacknowledged_updates_are_sent_again_after_a_restart_in_order() {
    let mut h = Harness::new();
    let (first, running) = start_with_task(&mut h, "sleep 3", false);
    let port = first.address.port();
    stop(first);
    let second = h.start_agent(port, &[]);
    h.next_reregistration();

    // The checkpointed, unacknowledged TASK_RUNNING goes out again, same uuid.
    let again = h.next_update();
    assert_eq!(again.status.state(), TaskState::TaskRunning);
    assert_eq!(again.uuid, running.uuid);
    // TASK_FINISHED queues behind it and waits for its acknowledgement.
    let queued = wait_until("TASK_FINISHED to queue", || {
        let p = pending(&second);
        (p.len() == 2).then_some(p)
    });
    assert_eq!(queued[1].status.state(), TaskState::TaskFinished);
    assert!(
        h.updates_so_far()
            .iter()
            .all(|u| u.status.state() == TaskState::TaskRunning),
        "nothing overtakes the unacknowledged head"
    );
    h.ack(&second, &again);
    let finished = h.next_update();
    assert_eq!(finished.status.state(), TaskState::TaskFinished);
    assert_eq!(finished.uuid, queued[1].uuid);
    h.ack(&second, &finished);
    wait_until("the stream to drain", || {
        pending(&second).is_empty().then_some(())
    });
    stop(second);
    h.shutdown();
}

#[test]
fn an_executor_killed_while_the_agent_is_down_fails_its_task() {
    let mut h = Harness::new();
    let (first, _) = start_with_task(&mut h, "sleep 60", true);
    let port = first.address.port();
    let (executor, task) = (h.executor_pid(), h.task_pid());
    stop(first);
    kill_all(&[executor, task]);
    wait_until("the executor to die", || {
        (!sys::process_exists(executor)).then_some(())
    });

    let second = h.start_agent(port, &[]);
    let rereg = h.next_reregistration();
    assert!(
        rereg
            .tasks
            .iter()
            .all(|t| t.state() != TaskState::TaskRunning),
        "{:?}",
        rereg.tasks
    );
    let failed = h.next_update();
    assert_eq!(failed.status.task_id.value, "t1");
    assert_eq!(failed.status.state(), TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(Reason::ExecutorTerminated as i32)
    );
    assert_eq!(
        failed.status.source,
        Some(v1::task_status::Source::Agent as i32)
    );
    h.ack(&second, &failed);
    wait_until("the stream to drain", || {
        pending(&second).is_empty().then_some(())
    });
    stop(second);
    h.shutdown();
}

#[test]
fn an_executor_that_does_not_subscribe_again_is_destroyed_and_its_task_lost() {
    let mut h = Harness::new();
    let (first, _) = start_with_task(&mut h, "sleep 60", true);
    let port = first.address.port();
    let (executor, task) = (h.executor_pid(), h.task_pid());
    stop(first);
    // A hung executor: alive, but it will never subscribe.
    sys::kill_process(executor, libc::SIGSTOP).unwrap();
    let _guard = KillIfPanicking(vec![executor, task]);

    let second = h.start_agent(port, &["--executor_reregistration_timeout=1secs"]);
    let lost = h.next_update();
    assert_eq!(
        lost.status.state(),
        TaskState::TaskLost,
        "not partition-aware"
    );
    assert_eq!(
        lost.status.reason,
        Some(Reason::ExecutorReregistrationTimeout as i32)
    );
    assert_eq!(
        lost.status.message.as_deref(),
        Some("Executor did not reregister within 1secs")
    );
    wait_until("the executor and its task to be killed", || {
        (!sys::process_exists(executor) && !sys::process_exists(task)).then_some(())
    });
    h.ack(&second, &lost);
    wait_until("the stream to drain", || {
        pending(&second).is_empty().then_some(())
    });
    stop(second);
    h.shutdown();
}

#[test]
fn recover_cleanup_kills_old_executors_and_ends_the_agent() {
    let mut h = Harness::new();
    let (first, _) = start_with_task(&mut h, "sleep 60", true);
    let port = first.address.port();
    let (executor, task) = (h.executor_pid(), h.task_pid());
    stop(first);

    let cleanup = h.start_agent(
        port,
        &[
            "--recover=cleanup",
            "--executor_shutdown_grace_period=1secs",
        ],
    );
    wait_until("the cleanup agent to end", || {
        (!cleanup.runtime.is_alive(cleanup.pid.upid())).then_some(())
    });
    wait_until("the old executor and its task to be gone", || {
        (!sys::process_exists(executor) && !sys::process_exists(task)).then_some(())
    });
    let seen: Vec<Seen> = std::iter::from_fn(|| h.seen.try_recv().ok()).collect();
    assert!(
        !seen
            .iter()
            .any(|s| matches!(s, Seen::Register(_) | Seen::Reregister(_) | Seen::Update(_))),
        "a cleaning agent does not talk to the master: {seen:?}"
    );
    stop(cleanup);

    // The next (reconnecting) start delivers the task's terminal update.
    let next = h.start_agent(port, &[]);
    let rereg = h.next_reregistration();
    assert!(rereg
        .tasks
        .iter()
        .all(|t| t.state() != TaskState::TaskRunning));
    let failed = h.next_update();
    assert_eq!(failed.status.task_id.value, "t1");
    assert_eq!(failed.status.state(), TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(Reason::ExecutorTerminated as i32)
    );
    h.ack(&next, &failed);
    wait_until("the stream to drain", || {
        pending(&next).is_empty().then_some(())
    });
    stop(next);
    h.shutdown();
}

/// Raw executor API calls against an in-process agent (recording process fake), so a test
/// controls each subscription stream itself.
struct RawExecutor {
    tokio: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
}

impl RawExecutor {
    fn new(c: &Cluster) -> RawExecutor {
        RawExecutor {
            tokio: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
            url: format!("http://{}/api/v1/executor", c.rt.address()),
        }
    }

    fn call(kind: v1::executor::call::Type) -> v1::executor::Call {
        v1::executor::Call {
            framework_id: v1::FrameworkId { value: "fw".into() },
            executor_id: v1::ExecutorId { value: "t1".into() },
            r#type: Some(kind as i32),
            ..Default::default()
        }
    }

    fn post(&self, call: &v1::executor::Call) -> reqwest::Response {
        let req = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(mesos_protos::json::to_vec(call));
        self.tokio.block_on(req.send()).unwrap()
    }

    fn subscribe(&self, unacknowledged_tasks: Vec<v1::TaskInfo>) -> reqwest::Response {
        let mut call = Self::call(v1::executor::call::Type::Subscribe);
        call.subscribe = Some(v1::executor::call::Subscribe {
            unacknowledged_tasks,
            unacknowledged_updates: Vec::new(),
        });
        let r = self.post(&call);
        assert_eq!(r.status().as_u16(), 200);
        r
    }

    /// Events of a stream until `n` have arrived, or until it ends when `n` is `None`.
    fn events(&self, r: &mut reqwest::Response, n: Option<usize>) -> Vec<v1::executor::Event> {
        let mut decoder = mesos_protos::recordio::Decoder::new();
        let mut out = Vec::new();
        let clock = Clock::new();
        while n.is_none_or(|n| out.len() < n) {
            let chunk = self
                .tokio
                .block_on(clock.timeout(PATIENCE, r.chunk()))
                .expect("the event stream stalled")
                .unwrap();
            let Some(chunk) = chunk else {
                assert!(n.is_none(), "the stream ended after {out:?}");
                break;
            };
            for record in decoder.feed(&chunk).unwrap() {
                out.push(mesos_protos::json::from_slice(&record).unwrap());
            }
        }
        out
    }
}

fn in_process_agent_with_task() -> (Cluster, Pid<Slave>) {
    let mut c = cluster(true);
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    c.drain();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", false));
    c.settle();
    (c, agent)
}

/// An executor that subscribes again (a retried SUBSCRIBE, a new connection) replaces its
/// stream; the end of the old stream must not unsubscribe it.
#[test]
fn a_new_subscription_replaces_the_old_one_and_outlives_its_close() {
    let (mut c, _agent) = in_process_agent_with_task();
    let raw = RawExecutor::new(&c);
    let mut first = raw.subscribe(Vec::new());
    let got = raw.events(&mut first, Some(2));
    assert_eq!(got[0].r#type(), v1::executor::event::Type::Subscribed);
    let task = got[1].launch.clone().expect("LAUNCH").task;

    let mut second = raw.subscribe(vec![task]);
    assert_eq!(
        raw.events(&mut second, Some(1))[0].r#type(),
        v1::executor::event::Type::Subscribed
    );
    // The agent ended the first stream; its close reaches the agent.
    raw.events(&mut first, None);
    drop(first);
    block_on(Clock::new().sleep(Duration::from_millis(200)));
    c.settle();

    let mut update = RawExecutor::call(v1::executor::call::Type::Update);
    let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    update.update = Some(v1::executor::call::Update {
        status: v1::TaskStatus {
            task_id: v1::TaskId { value: "t1".into() },
            state: TaskState::TaskRunning as i32,
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
    });
    assert_eq!(raw.post(&update).status().as_u16(), 202, "still subscribed");
    let ack = raw.events(&mut second, Some(1)).remove(0);
    assert_eq!(ack.r#type(), v1::executor::event::Type::Acknowledged);
    assert_eq!(ack.acknowledged.unwrap().uuid, uuid);
    let seen = c.wait_for(|s| !updates_of(s).is_empty());
    assert_eq!(updates_of(&seen)[0].status.state(), TaskState::TaskRunning);
}

/// A task still staging that a re-subscribing executor does not list never reached it
/// (the agent died between checkpointing and delivering it): TASK_LOST for a framework
/// that is not partition-aware, REASON_AGENT_RESTARTED, as in Mesos.
#[test]
fn a_staging_task_the_executor_does_not_know_is_lost() {
    let (mut c, _agent) = in_process_agent_with_task();
    let raw = RawExecutor::new(&c);
    let mut first = raw.subscribe(Vec::new());
    assert_eq!(raw.events(&mut first, Some(2)).len(), 2);
    let mut second = raw.subscribe(Vec::new());
    raw.events(&mut second, Some(1));
    let seen = c.wait_for(|s| !updates_of(s).is_empty());
    let lost = &updates_of(&seen)[0];
    assert_eq!(lost.status.task_id.value, "t1");
    assert_eq!(lost.status.state(), TaskState::TaskLost);
    assert_eq!(lost.status.reason, Some(Reason::AgentRestarted as i32));
    assert_eq!(
        lost.status.source,
        Some(v1::task_status::Source::Agent as i32)
    );
}

//! The examples, run against a fake master that plays the cluster: it offers resources,
//! "runs" the launched tasks by sending RUNNING and FINISHED updates, and checks the acks.

#[path = "support/fake.rs"]
mod fake;

#[allow(dead_code)]
#[path = "../examples/launch_tasks.rs"]
mod launch_tasks;

use fake::{within, Api, Fake};
use libprocess::Clock;
use mesos_protos::v1::scheduler::{call, event, Event};
use mesos_protos::v1::{
    value, AgentId, FrameworkId, Offer, OfferId, Resource, TaskState, TaskStatus,
};
use mesos_scheduler::scheduler::Config;
use mesos_scheduler::ContentType;

fn scalar(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

fn update(task: &str, state: TaskState, n: u8) -> Event {
    Event {
        r#type: Some(event::Type::Update as i32),
        update: Some(event::Update {
            status: TaskStatus {
                task_id: mesos_protos::v1::TaskId { value: task.into() },
                state: state as i32,
                agent_id: Some(AgentId {
                    value: "agent-1".into(),
                }),
                uuid: Some(vec![n; 16]),
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

async fn launch_tasks_example(ct: ContentType) {
    let clock = Clock::new();
    clock.pause();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let config = Config::new([master.address()], launch_tasks::framework_info())
        .with_clock(clock.clone())
        .with_content_type(ct);
    let example = tokio::spawn(launch_tasks::launch_tasks(config, 3, "echo hi"));

    assert_eq!(
        master.next_call().await.scheduler_type(),
        call::Type::Subscribe
    );
    // Room for two tasks on the first agent and one on the second.
    let fid = FrameworkId {
        value: "fake-master-0000".into(),
    };
    let offers = [("o1", "agent-1", 0.25), ("o2", "agent-2", 1.0)]
        .into_iter()
        .map(|(id, agent, cpus)| Offer {
            id: OfferId { value: id.into() },
            framework_id: fid.clone(),
            agent_id: AgentId {
                value: agent.into(),
            },
            hostname: agent.into(),
            resources: vec![scalar("cpus", cpus), scalar("mem", 1024.0)],
            ..Default::default()
        })
        .collect();
    master.send_scheduler_event(&Event {
        r#type: Some(event::Type::Offers as i32),
        offers: Some(event::Offers { offers }),
        ..Default::default()
    });

    let mut launched = Vec::new();
    for offer in ["o1", "o2"] {
        let accept = master.next_call().await;
        assert_eq!(accept.scheduler_type(), call::Type::Accept);
        let accept = accept.scheduler.unwrap().accept.unwrap();
        assert_eq!(accept.offer_ids[0].value, offer);
        for op in accept.operations {
            for task in op.launch.unwrap().task_infos {
                assert_eq!(task.command.unwrap().value.as_deref(), Some("echo hi"));
                launched.push(task.task_id.value);
            }
        }
    }
    assert_eq!(launched, vec!["task-0", "task-1", "task-2"]);

    let mut n = 0u8;
    for task in &launched {
        for state in [TaskState::TaskRunning, TaskState::TaskFinished] {
            n += 1;
            master.send_scheduler_event(&update(task, state, n));
            let ack = master.next_call().await;
            assert_eq!(ack.scheduler_type(), call::Type::Acknowledge);
            let ack = ack.scheduler.unwrap().acknowledge.unwrap();
            assert_eq!(
                (ack.task_id.value.as_str(), ack.uuid),
                (task.as_str(), vec![n; 16])
            );
        }
    }
    let summary = within("the example to finish", example)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.finished, launched);
    assert!(summary.failed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_tasks_runs_to_finished_in_protobuf() {
    launch_tasks_example(ContentType::Protobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_tasks_runs_to_finished_in_json() {
    launch_tasks_example(ContentType::Json).await;
}

#[allow(dead_code)]
#[path = "../examples/command_executor.rs"]
mod command_executor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_executor_runs_a_real_shell_command() {
    use mesos_protos::v1::executor::{call as ecall, event as eevent, Event as EEvent};
    use mesos_protos::v1::{CommandInfo, TaskInfo};
    use mesos_scheduler::executor::{self, ExecutorEnv};

    let sandbox = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    clock.pause();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let env = ExecutorEnv::from_map(
        &[
            ("MESOS_AGENT_ENDPOINT", agent.address()),
            ("MESOS_FRAMEWORK_ID", "fw".to_string()),
            ("MESOS_EXECUTOR_ID", "ex".to_string()),
            ("MESOS_DIRECTORY", sandbox.path().display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
    .unwrap();
    let runner = tokio::spawn(async move {
        let mut ex = command_executor::CommandExecutor::new(env.sandbox.clone());
        executor::run(executor::Config::new(env).with_clock(clock), &mut ex).await
    });
    assert_eq!(
        agent.next_call().await.executor_type(),
        ecall::Type::Subscribe
    );
    for (id, cmd) in [("ok", "echo -n hi > out.txt"), ("bad", "exit 3")] {
        agent.send_executor_event(&EEvent {
            r#type: Some(eevent::Type::Launch as i32),
            launch: Some(eevent::Launch {
                task: TaskInfo {
                    name: id.into(),
                    task_id: mesos_protos::v1::TaskId { value: id.into() },
                    agent_id: AgentId { value: "a".into() },
                    command: Some(CommandInfo {
                        value: Some(cmd.into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            }),
            ..Default::default()
        });
    }
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = agent.next_call().await;
        let s = r.executor.unwrap().update.unwrap().status;
        seen.push((
            s.task_id.value.clone(),
            s.state(),
            s.message.unwrap_or_default(),
        ));
    }
    let last = |id: &str| seen.iter().rfind(|(t, _, _)| t == id).cloned().unwrap();
    assert_eq!(last("ok").1, TaskState::TaskFinished);
    assert_eq!(last("bad").1, TaskState::TaskFailed);
    assert!(last("bad").2.contains('3'), "{:?}", last("bad"));
    assert!(seen.contains(&("ok".into(), TaskState::TaskRunning, String::new())));
    // The command ran in the sandbox.
    assert_eq!(
        std::fs::read_to_string(sandbox.path().join("out.txt")).unwrap(),
        "hi"
    );
    agent.send_executor_event(&EEvent {
        r#type: Some(eevent::Type::Shutdown as i32),
        ..Default::default()
    });
    within("the executor to stop", runner)
        .await
        .unwrap()
        .unwrap();
}

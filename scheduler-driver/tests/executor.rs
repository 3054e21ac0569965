//! The executor library against a fake agent over real HTTP, on a paused clock.

#[path = "support/fake.rs"]
mod fake;

use std::collections::HashMap;
use std::time::Duration;

use fake::{within, Api, Fake, Mode};
use futures::StreamExt;
use libprocess::Clock;
use mesos_protos::v1::executor::{call, event, Event};
use mesos_protos::v1::{
    task_status, AgentId, CommandInfo, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos_scheduler::executor::{
    self, connect, Config, Executor, ExecutorClient, ExecutorEnv, ExecutorEvent, ExecutorEvents,
};
use mesos_scheduler::{ContentType, Error};

fn paused_clock() -> Clock {
    let clock = Clock::new();
    clock.pause();
    clock
}

fn env(agent: &Fake, extra: &[(&str, &str)]) -> ExecutorEnv {
    let mut map: HashMap<String, String> = [
        ("MESOS_AGENT_ENDPOINT", agent.address()),
        ("MESOS_FRAMEWORK_ID", "fw-1".to_string()),
        ("MESOS_EXECUTOR_ID", "ex-1".to_string()),
        ("MESOS_DIRECTORY", "/tmp/sandbox".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    ExecutorEnv::from_map(&map).unwrap()
}

const CHECKPOINTING: &[(&str, &str)] = &[
    ("MESOS_CHECKPOINT", "1"),
    ("MESOS_RECOVERY_TIMEOUT", "15mins"),
    ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
    ("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "tok-1"),
];

async fn next(events: &mut ExecutorEvents) -> ExecutorEvent {
    within("an executor event", events.next())
        .await
        .expect("executor event stream ended")
}

async fn next_event(events: &mut ExecutorEvents) -> Event {
    match next(events).await {
        ExecutorEvent::Event(e) => *e,
        other => panic!("expected an agent event, got {other:?}"),
    }
}

async fn expect_disconnect(events: &mut ExecutorEvents) -> (Error, Duration) {
    match next(events).await {
        ExecutorEvent::Disconnected { error, retry_in } => (error, retry_in),
        other => panic!("expected Disconnected, got {other:?}"),
    }
}

fn task(id: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        agent_id: AgentId {
            value: "agent-1".into(),
        },
        command: Some(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn launch(id: &str) -> Event {
    Event {
        r#type: Some(event::Type::Launch as i32),
        launch: Some(event::Launch { task: task(id) }),
        ..Default::default()
    }
}

fn acknowledged(id: &str, uuid: &[u8]) -> Event {
    Event {
        r#type: Some(event::Type::Acknowledged as i32),
        acknowledged: Some(event::Acknowledged {
            task_id: TaskId { value: id.into() },
            uuid: uuid.to_vec(),
        }),
        ..Default::default()
    }
}

fn status(id: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: TaskId { value: id.into() },
        state: state as i32,
        ..Default::default()
    }
}

async fn subscribe_update_ack_and_resend(ct: ContentType) {
    let clock = paused_clock();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let cfg = Config::new(env(&agent, CHECKPOINTING))
        .with_clock(clock.clone())
        .with_content_type(ct);
    let (client, mut events) = connect(cfg).unwrap();

    let sub = agent.next_call().await;
    assert_eq!(sub.executor_type(), call::Type::Subscribe);
    assert_eq!(sub.content_type, ct.mime());
    assert_eq!(sub.authorization.as_deref(), Some("Bearer tok-1"));
    let c = sub.executor.unwrap();
    assert_eq!(
        (c.framework_id.value.as_str(), c.executor_id.value.as_str()),
        ("fw-1", "ex-1")
    );
    let s = c.subscribe.unwrap();
    assert!(s.unacknowledged_tasks.is_empty() && s.unacknowledged_updates.is_empty());
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );
    assert!(client.is_subscribed());

    agent.send_executor_event(&launch("t1"));
    let e = next_event(&mut events).await;
    assert_eq!(e.launch.unwrap().task.task_id.value, "t1");
    assert_eq!(client.unacknowledged_tasks().len(), 1);

    let uuid = client
        .update(status("t1", TaskState::TaskRunning))
        .await
        .unwrap();
    assert_eq!(uuid.len(), 16);
    let r = agent.next_call().await;
    assert_eq!((r.executor_type(), r.status), (call::Type::Update, 202));
    let sent = r.executor.unwrap().update.unwrap().status;
    assert_eq!(sent.uuid.as_deref(), Some(uuid.as_slice()));
    assert_eq!(sent.executor_id.unwrap().value, "ex-1");
    assert_eq!(sent.source, Some(task_status::Source::Executor as i32));
    assert_eq!(sent.state, TaskState::TaskRunning as i32);

    // The agent goes away before acknowledging: both the update and the task are resent.
    agent.close_stream();
    let (error, retry_in) = expect_disconnect(&mut events).await;
    assert!(matches!(error, Error::StreamEnded { .. }), "{error}");
    assert!(!client.is_subscribed());
    // An update made while disconnected is queued, not lost.
    let queued = client
        .update(status("t1", TaskState::TaskFinished))
        .await
        .unwrap();
    clock.advance(retry_in);
    let r = agent.next_call().await;
    assert_eq!(r.executor_type(), call::Type::Subscribe);
    let s = r.executor.unwrap().subscribe.unwrap();
    let resent: Vec<Vec<u8>> = s
        .unacknowledged_updates
        .iter()
        .map(|u| u.status.uuid.clone().unwrap())
        .collect();
    assert_eq!(
        resent,
        vec![uuid.clone(), queued.clone()],
        "in the order sent"
    );
    assert_eq!(s.unacknowledged_tasks.len(), 1);
    assert_eq!(s.unacknowledged_tasks[0].task_id.value, "t1");
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );

    // Acknowledged updates (and their task) are forgotten.
    agent.send_executor_event(&acknowledged("t1", &uuid));
    agent.send_executor_event(&acknowledged("t1", &queued));
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Acknowledged
    );
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Acknowledged
    );
    assert!(client.unacknowledged_updates().is_empty());
    assert!(client.unacknowledged_tasks().is_empty());
    agent.close_stream();
    let (_, retry_in) = expect_disconnect(&mut events).await;
    clock.advance(retry_in);
    let s = agent.next_call().await.executor.unwrap().subscribe.unwrap();
    assert!(s.unacknowledged_tasks.is_empty());
    assert!(s.unacknowledged_updates.is_empty());

    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );
    client.message(b"to the scheduler".to_vec()).await.unwrap();
    let r = agent.next_call().await;
    assert_eq!((r.executor_type(), r.status), (call::Type::Message, 202));
    assert_eq!(
        r.executor.unwrap().message.unwrap().data,
        b"to the scheduler"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_subscribe_update_ack_and_resend() {
    subscribe_update_ack_and_resend(ContentType::Protobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_subscribe_update_ack_and_resend() {
    subscribe_update_ack_and_resend(ContentType::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_checkpointing_a_lost_agent_ends_the_executor() {
    let clock = paused_clock();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let cfg = Config::new(env(&agent, &[("MESOS_CHECKPOINT", "0")])).with_clock(clock.clone());
    let (_client, mut events) = connect(cfg).unwrap();
    agent.next_call().await;
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );
    agent.close_stream();
    match next(&mut events).await {
        ExecutorEvent::Failed(Error::NotCheckpointing) => {}
        other => panic!("expected Failed(NotCheckpointing), got {other:?}"),
    }
    assert!(within("the end of events", events.next()).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_the_recovery_timeout() {
    let clock = paused_clock();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let extra = [
        ("MESOS_CHECKPOINT", "1"),
        ("MESOS_RECOVERY_TIMEOUT", "5secs"),
        ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
    ];
    let cfg = Config::new(env(&agent, &extra)).with_clock(clock.clone());
    let (_client, mut events) = connect(cfg).unwrap();
    agent.next_call().await;
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );
    agent.set_mode(Mode::Unavailable(u32::MAX));
    agent.close_stream();
    let start = clock.now();
    let mut delays = Vec::new();
    loop {
        match next(&mut events).await {
            ExecutorEvent::Disconnected { retry_in, .. } => {
                delays.push(retry_in.as_millis());
                clock.advance(retry_in);
                let r = agent.next_call().await;
                assert_eq!((r.executor_type(), r.status), (call::Type::Subscribe, 503));
            }
            ExecutorEvent::Failed(Error::RecoveryTimeout { timeout }) => {
                assert_eq!(timeout, Duration::from_secs(5));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // 250 ms doubling, capped by MESOS_SUBSCRIPTION_BACKOFF_MAX, within the 5 s window.
    assert_eq!(delays, vec![250, 500, 1000, 2000]);
    assert!(clock.now().saturating_since(start) <= Duration::from_secs(5));
}

/// Runs each task to TASK_FINISHED and stops on SHUTDOWN.
#[derive(Default)]
struct Finisher {
    launched: Vec<String>,
    acknowledged: usize,
}

impl Executor for Finisher {
    async fn launch(&mut self, client: &ExecutorClient, task: TaskInfo) {
        self.launched.push(task.task_id.value.clone());
        for state in [TaskState::TaskRunning, TaskState::TaskFinished] {
            client
                .update(status(&task.task_id.value, state))
                .await
                .unwrap();
        }
    }

    async fn launch_group(&mut self, client: &ExecutorClient, group: TaskGroupInfo) {
        for task in group.tasks {
            self.launch(client, task).await;
        }
    }

    async fn acknowledged(&mut self, _client: &ExecutorClient, _task: TaskId, _uuid: Vec<u8>) {
        self.acknowledged += 1;
    }

    async fn shutdown(&mut self, client: &ExecutorClient) {
        client.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_trait_runs_tasks_until_shutdown() {
    let clock = paused_clock();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let cfg = Config::new(env(&agent, CHECKPOINTING)).with_clock(clock.clone());
    let runner = tokio::spawn(async move {
        let mut finisher = Finisher::default();
        let result = executor::run(cfg, &mut finisher).await;
        (finisher, result)
    });
    assert_eq!(
        agent.next_call().await.executor_type(),
        call::Type::Subscribe
    );
    let group = Event {
        r#type: Some(event::Type::LaunchGroup as i32),
        launch_group: Some(event::LaunchGroup {
            task_group: TaskGroupInfo {
                tasks: vec![task("g1"), task("g2")],
            },
        }),
        ..Default::default()
    };
    agent.send_executor_event(&group);
    let mut updates = Vec::new();
    for _ in 0..4 {
        let r = agent.next_call().await;
        assert_eq!(r.executor_type(), call::Type::Update);
        let s = r.executor.unwrap().update.unwrap().status;
        updates.push((s.task_id.value.clone(), s.state));
        agent.send_executor_event(&acknowledged(&s.task_id.value, s.uuid.as_ref().unwrap()));
    }
    let running = TaskState::TaskRunning as i32;
    let finished = TaskState::TaskFinished as i32;
    assert_eq!(
        updates,
        vec![
            ("g1".to_string(), running),
            ("g1".to_string(), finished),
            ("g2".to_string(), running),
            ("g2".to_string(), finished)
        ]
    );
    agent.send_executor_event(&Event {
        r#type: Some(event::Type::Shutdown as i32),
        ..Default::default()
    });
    let (finisher, result) = within("the executor to stop", runner).await.unwrap();
    result.unwrap();
    assert_eq!(finisher.launched, vec!["g1", "g2"]);
    assert_eq!(finisher.acknowledged, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_the_agent_rejects_is_returned_and_not_resent() {
    let clock = paused_clock();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let cfg = Config::new(env(&agent, CHECKPOINTING)).with_clock(clock.clone());
    let (client, mut events) = connect(cfg).unwrap();
    agent.next_call().await;
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );
    agent.set_mode(Mode::Reject(
        400,
        "Received TASK_STAGING from executor".into(),
    ));
    let err = client
        .update(status("t1", TaskState::TaskStaging))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("TASK_STAGING"), "{err}");
    assert!(client.unacknowledged_updates().is_empty());
    assert_eq!(agent.next_call().await.status, 400);

    agent.set_mode(Mode::Serve);
    agent.close_stream();
    let (_, retry_in) = expect_disconnect(&mut events).await;
    clock.advance(retry_in);
    let s = agent.next_call().await.executor.unwrap().subscribe.unwrap();
    assert!(s.unacknowledged_updates.is_empty());
}

/// An agent that restarted answers `404` until its agent process is up and `403` to an
/// UPDATE from an executor it does not count as subscribed: the executor keeps retrying
/// SUBSCRIBE and keeps the update for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarting_agent_gets_the_refused_update_with_the_next_subscribe() {
    let clock = paused_clock();
    let mut agent = Fake::start(Api::Executor, clock.clone()).await;
    let cfg = Config::new(env(&agent, CHECKPOINTING)).with_clock(clock.clone());
    let (client, mut events) = connect(cfg).unwrap();
    agent.next_call().await;
    assert_eq!(
        next_event(&mut events).await.r#type(),
        event::Type::Subscribed
    );
    agent.set_mode(Mode::Reject(403, "Executor is not subscribed".into()));
    let uuid = client
        .update(status("t1", TaskState::TaskFinished))
        .await
        .expect("a 403 keeps the update");
    assert_eq!(agent.next_call().await.status, 403);
    assert_eq!(client.unacknowledged_updates().len(), 1);

    agent.set_mode(Mode::Reject(404, "Not Found".into()));
    agent.close_stream();
    let (_, retry_in) = expect_disconnect(&mut events).await;
    clock.advance(retry_in);
    let r = agent.next_call().await;
    assert_eq!((r.executor_type(), r.status), (call::Type::Subscribe, 404));
    let (error, retry_in) = expect_disconnect(&mut events).await;
    assert_eq!(error.status(), Some(404));

    agent.set_mode(Mode::Serve);
    clock.advance(retry_in);
    let r = agent.next_call().await;
    assert_eq!((r.executor_type(), r.status), (call::Type::Subscribe, 200));
    let s = r.executor.unwrap().subscribe.unwrap();
    assert_eq!(s.unacknowledged_updates.len(), 1);
    assert_eq!(
        s.unacknowledged_updates[0].status.uuid.as_deref(),
        Some(uuid.as_slice())
    );
}

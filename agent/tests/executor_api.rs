//! The v1 executor API over real HTTP, driven by the project's executor library
//! (`mesos_scheduler::executor`), against the agent actor with a recording process fake.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libprocess::Clock;
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use mesos_protos::v1::executor::event;
use mesos_scheduler::executor::{
    connect, Config, ExecutorClient, ExecutorEnv, ExecutorEvent, ExecutorEvents,
};
use mesos_scheduler::ContentType;

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

fn executor_env(c: &Cluster, executor: &str) -> ExecutorEnv {
    let mut env = HashMap::new();
    env.insert(
        "MESOS_AGENT_ENDPOINT".to_string(),
        c.rt.address().to_string(),
    );
    env.insert("MESOS_FRAMEWORK_ID".to_string(), "fw".to_string());
    env.insert("MESOS_EXECUTOR_ID".to_string(), executor.to_string());
    env.insert("MESOS_CHECKPOINT".to_string(), "0".to_string());
    ExecutorEnv::from_map(&env).unwrap()
}

async fn next_event(events: &mut ExecutorEvents) -> v1::executor::Event {
    let clock = Clock::new();
    loop {
        match clock.timeout(Duration::from_secs(20), events.next()).await {
            Ok(Some(ExecutorEvent::Event(e))) => {
                if e.r#type() == event::Type::Heartbeat {
                    continue;
                }
                return *e;
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

fn status(task: &str, state: v1::TaskState) -> v1::TaskStatus {
    v1::TaskStatus {
        task_id: v1::TaskId { value: task.into() },
        state: state as i32,
        ..Default::default()
    }
}

fn updates(seen: &[Seen]) -> Vec<&internal::StatusUpdate> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Update(u) => Some(&u.update),
            _ => None,
        })
        .collect()
}

#[test]
fn an_executor_subscribes_gets_its_task_and_its_updates_reach_the_master_in_order() {
    let (mut c, agent) = registered();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", true));
    c.settle();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let env = executor_env(&c, "t1");
    let (client, mut events): (ExecutorClient, ExecutorEvents) = tokio_rt.block_on(async {
        let (client, mut events) =
            connect(Config::new(env).with_content_type(ContentType::Json)).unwrap();
        let subscribed = next_event(&mut events).await;
        assert_eq!(subscribed.r#type(), event::Type::Subscribed);
        let s = subscribed.subscribed.unwrap();
        assert_eq!(s.executor_info.executor_id.value, "t1");
        assert_eq!(s.agent_info.id.unwrap().value, "m1-S0");
        assert!(!s.container_id.unwrap().value.is_empty());
        let launch = next_event(&mut events).await;
        assert_eq!(launch.r#type(), event::Type::Launch);
        assert_eq!(launch.launch.unwrap().task.task_id.value, "t1");
        (client, events)
    });
    // RUNNING, acknowledged by the agent at once.
    let running_uuid = tokio_rt.block_on(async {
        let uuid = client
            .update(status("t1", v1::TaskState::TaskRunning))
            .await
            .unwrap();
        let ack = next_event(&mut events).await;
        assert_eq!(ack.r#type(), event::Type::Acknowledged);
        assert_eq!(ack.acknowledged.unwrap().uuid, uuid);
        uuid
    });
    let seen = c.wait_for(|s| !updates(s).is_empty());
    let ups = updates(&seen);
    assert_eq!(ups[0].uuid.as_deref(), Some(running_uuid.as_slice()));
    assert_eq!(ups[0].status.state(), v1::TaskState::TaskRunning);
    assert_eq!(ups[0].status.source(), v1::task_status::Source::Executor);
    assert_eq!(ups[0].executor_id.as_ref().unwrap().value, "t1");
    // The update was checkpointed before the ack (the framework checkpoints).
    let meta = c
        .work
        .path()
        .join("work/meta/slaves/m1-S0/frameworks/fw/executors/t1/runs/latest");
    assert!(meta.join("tasks/t1/task.updates").metadata().unwrap().len() > 0);

    // The scheduler kills the task: the executor gets KILL and reports TASK_KILLED, which
    // waits behind the unacknowledged RUNNING.
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId { value: "t1".into() },
            kill_policy: None,
        },
    );
    c.settle();
    let killed_uuid = tokio_rt.block_on(async {
        let kill = next_event(&mut events).await;
        assert_eq!(kill.r#type(), event::Type::Kill);
        assert_eq!(kill.kill.unwrap().task_id.value, "t1");
        let uuid = client
            .update(status("t1", v1::TaskState::TaskKilled))
            .await
            .unwrap();
        assert_eq!(
            next_event(&mut events).await.r#type(),
            event::Type::Acknowledged
        );
        uuid
    });
    c.settle();
    assert!(updates(&c.drain()).is_empty());
    c.rt.send_from(
        c.master.upid(),
        agent.upid(),
        internal::StatusUpdateAcknowledgementMessage {
            slave_id: v1::AgentId {
                value: "m1-S0".into(),
            },
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId { value: "t1".into() },
            uuid: running_uuid,
        },
    );
    let seen = c.wait_for(|s| !updates(s).is_empty());
    let ups = updates(&seen);
    assert_eq!(ups[0].uuid.as_deref(), Some(killed_uuid.as_slice()));
    assert_eq!(ups[0].status.state(), v1::TaskState::TaskKilled);
    client.stop();
    drop(events);
}

#[test]
fn bad_executor_calls_get_mesos_status_codes() {
    let (c, agent) = registered();
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", false));
    c.settle();
    let url = format!("http://{}/api/v1/executor", c.rt.address());
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let post = |ct: Option<&str>, body: &str| {
        let url = url.clone();
        let ct = ct.map(str::to_string);
        let body = body.to_string();
        tokio_rt.block_on(async move {
            let client = reqwest::Client::new();
            let mut req = client.post(&url).body(body);
            if let Some(ct) = ct {
                req = req.header("Content-Type", ct);
            }
            req.send().await.unwrap().status().as_u16()
        })
    };
    let json = Some("application/json");
    assert_eq!(post(None, "{}"), 400);
    assert_eq!(post(Some("text/plain"), "{}"), 415);
    assert_eq!(post(json, "not json"), 400);
    let call = |fw: &str, ex: &str, t: &str| {
        format!(
            r#"{{"framework_id":{{"value":"{fw}"}},"executor_id":{{"value":"{ex}"}},"type":"{t}"}}"#
        )
    };
    assert_eq!(post(json, &call("nope", "t1", "HEARTBEAT")), 400);
    assert_eq!(post(json, &call("fw", "nope", "HEARTBEAT")), 400);
    assert_eq!(post(json, &call("fw", "t1", "HEARTBEAT")), 202);
    // UPDATE before SUBSCRIBE.
    assert_eq!(post(json, &call("fw", "t1", "UPDATE")), 403);
}

//! The scheduler driver against a fake master over real HTTP, on a paused clock.

#[path = "support/fake.rs"]
mod fake;

use std::sync::Arc;
use std::time::Duration;

use fake::{within, Api, Fake, Mode};
use futures::StreamExt;
use libprocess::Clock;
use mesos_protos::v1::scheduler::{call, event, Event};
use mesos_protos::v1::{
    offer, AgentId, ExecutorId, Filters, FrameworkId, FrameworkInfo, Offer, OfferId, OperationId,
    OperationStatus, TaskId, TaskState, TaskStatus, Uuid,
};
use mesos_scheduler::scheduler::{
    self, connect, AckMode, Client, Config, DriverEvent, Events, Scheduler,
};
use mesos_scheduler::{ContentType, Error};
use parking_lot::Mutex;

fn framework() -> FrameworkInfo {
    FrameworkInfo {
        user: "root".into(),
        name: "driver-test".into(),
        ..Default::default()
    }
}

fn paused_clock() -> Clock {
    let clock = Clock::new();
    clock.pause();
    clock
}

fn config(masters: &[&Fake], clock: &Clock, ct: ContentType) -> Config {
    Config::new(masters.iter().map(|m| m.address()), framework())
        .with_clock(clock.clone())
        .with_content_type(ct)
}

async fn next(events: &mut Events) -> DriverEvent {
    within("a driver event", events.next())
        .await
        .expect("driver event stream ended")
}

async fn next_event(events: &mut Events) -> Event {
    match next(events).await {
        DriverEvent::Event(e) => *e,
        other => panic!("expected a master event, got {other:?}"),
    }
}

async fn subscribed(events: &mut Events) -> FrameworkId {
    let e = next_event(events).await;
    assert_eq!(e.r#type(), event::Type::Subscribed, "{e:?}");
    e.subscribed.unwrap().framework_id
}

fn offer(id: &str, framework_id: &FrameworkId) -> Offer {
    Offer {
        id: OfferId { value: id.into() },
        framework_id: framework_id.clone(),
        agent_id: AgentId {
            value: "agent-1".into(),
        },
        hostname: "localhost".into(),
        ..Default::default()
    }
}

fn offers_event(offers: Vec<Offer>) -> Event {
    Event {
        r#type: Some(event::Type::Offers as i32),
        offers: Some(event::Offers { offers }),
        ..Default::default()
    }
}

fn update_event(task: &str, uuid: Option<Vec<u8>>) -> Event {
    Event {
        r#type: Some(event::Type::Update as i32),
        update: Some(event::Update {
            status: TaskStatus {
                task_id: TaskId { value: task.into() },
                state: TaskState::TaskRunning as i32,
                agent_id: Some(AgentId {
                    value: "agent-1".into(),
                }),
                uuid,
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

fn simple_event(kind: event::Type) -> Event {
    Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

async fn subscribe_offers_and_every_call(ct: ContentType) {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let mut cfg = config(&[&master], &clock, ct).with_basic_auth("fw-principal", "s3cret");
    cfg.suppressed_roles = vec!["batch".into()];
    let (client, mut events) = connect(cfg).unwrap();

    let sub = master.next_call().await;
    assert_eq!(sub.scheduler_type(), call::Type::Subscribe);
    assert_eq!(sub.content_type, ct.mime());
    assert_eq!(sub.accept.as_deref(), Some(ct.mime()));
    assert_eq!(sub.stream_id, None, "SUBSCRIBE must not carry a stream id");
    // base64("fw-principal:s3cret")
    let basic = Some("Basic ZnctcHJpbmNpcGFsOnMzY3JldA==".to_string());
    assert_eq!(sub.authorization, basic);
    let info = &sub
        .scheduler
        .as_ref()
        .unwrap()
        .subscribe
        .as_ref()
        .unwrap()
        .framework_info;
    assert_eq!(info.name, "driver-test");
    assert_eq!(info.id, None);

    let fid = subscribed(&mut events).await;
    assert_eq!(fid.value, "fake-master-0000");
    assert!(client.is_subscribed());
    assert_eq!(client.framework_id(), Some(fid.clone()));
    let stream_id = master.stream_id().unwrap();
    assert_eq!(client.stream_id(), Some(stream_id.clone()));

    master.send_scheduler_event(&offers_event(vec![offer("o1", &fid), offer("o2", &fid)]));
    let e = next_event(&mut events).await;
    assert_eq!(e.r#type(), event::Type::Offers);
    let ids: Vec<String> = e
        .offers
        .unwrap()
        .offers
        .into_iter()
        .map(|o| o.id.value)
        .collect();
    assert_eq!(ids, vec!["o1", "o2"]);

    let agent = AgentId {
        value: "agent-1".into(),
    };
    let task = TaskId { value: "t1".into() };
    let launch = offer::Operation {
        r#type: Some(offer::operation::Type::Launch as i32),
        launch: Some(offer::operation::Launch { task_infos: vec![] }),
        ..Default::default()
    };
    let refuse = Some(Filters {
        refuse_seconds: Some(30.0),
    });
    client
        .accept(vec![OfferId { value: "o1".into() }], vec![launch], refuse)
        .await
        .unwrap();
    client
        .decline(vec![OfferId { value: "o2".into() }], refuse)
        .await
        .unwrap();
    client.revive(vec!["dev".into()]).await.unwrap();
    client.suppress(vec!["dev".into()]).await.unwrap();
    client
        .kill(task.clone(), Some(agent.clone()), None)
        .await
        .unwrap();
    client
        .shutdown(ExecutorId { value: "e1".into() }, agent.clone())
        .await
        .unwrap();
    client
        .acknowledge(agent.clone(), task.clone(), vec![7; 16])
        .await
        .unwrap();
    let op_status = OperationStatus {
        operation_id: Some(OperationId {
            value: "op1".into(),
        }),
        uuid: Some(Uuid { value: vec![9; 16] }),
        agent_id: Some(agent.clone()),
        ..Default::default()
    };
    assert!(client
        .acknowledge_operation_update(&op_status)
        .await
        .unwrap());
    client
        .reconcile(vec![(task.clone(), Some(agent.clone()))])
        .await
        .unwrap();
    client.reconcile_all().await.unwrap();
    client.reconcile_operations(vec![]).await.unwrap();
    client
        .message(
            agent.clone(),
            ExecutorId { value: "e1".into() },
            b"hi".to_vec(),
        )
        .await
        .unwrap();
    client.request(vec![]).await.unwrap();
    client.teardown().await.unwrap();

    let expected = [
        call::Type::Accept,
        call::Type::Decline,
        call::Type::Revive,
        call::Type::Suppress,
        call::Type::Kill,
        call::Type::Shutdown,
        call::Type::Acknowledge,
        call::Type::AcknowledgeOperationStatus,
        call::Type::Reconcile,
        call::Type::Reconcile,
        call::Type::ReconcileOperations,
        call::Type::Message,
        call::Type::Request,
        call::Type::Teardown,
    ];
    for kind in expected {
        let r = master.next_call().await;
        assert_eq!(r.scheduler_type(), kind);
        assert_eq!(r.status, 202, "{kind:?} was refused");
        assert_eq!(r.content_type, ct.mime());
        assert_eq!(r.stream_id.as_deref(), Some(stream_id.as_str()), "{kind:?}");
        assert_eq!(r.authorization, basic, "{kind:?}");
        let c = r.scheduler.unwrap();
        assert_eq!(c.framework_id.as_ref(), Some(&fid));
        match kind {
            call::Type::Accept => {
                let a = c.accept.unwrap();
                assert_eq!(a.offer_ids[0].value, "o1");
                assert_eq!(a.operations.len(), 1);
                assert_eq!(a.filters.unwrap().refuse_seconds, Some(30.0));
            }
            call::Type::Decline => {
                assert_eq!(
                    c.decline.unwrap().filters.unwrap().refuse_seconds,
                    Some(30.0)
                )
            }
            call::Type::Revive => assert_eq!(c.revive.unwrap().roles, vec!["dev"]),
            call::Type::Suppress => assert_eq!(c.suppress.unwrap().roles, vec!["dev"]),
            call::Type::Acknowledge => assert_eq!(c.acknowledge.unwrap().uuid, vec![7; 16]),
            call::Type::AcknowledgeOperationStatus => {
                let a = c.acknowledge_operation_status.unwrap();
                assert_eq!(a.uuid, vec![9; 16]);
                assert_eq!(a.operation_id.value, "op1");
            }
            call::Type::Message => assert_eq!(c.message.unwrap().data, b"hi"),
            _ => {}
        }
    }
    // TEARDOWN also stops the driver: the event stream ends.
    assert!(within("the end of events", events.next()).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_subscribe_offers_and_every_call() {
    subscribe_offers_and_every_call(ContentType::Protobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_subscribe_offers_and_every_call() {
    subscribe_offers_and_every_call(ContentType::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_redirect_to_the_leader() {
    let clock = paused_clock();
    let mut follower = Fake::start(Api::Scheduler, clock.clone()).await;
    let mut leader = Fake::start(Api::Scheduler, clock.clone()).await;
    follower.set_mode(Mode::Redirect(format!(
        "//{}/api/v1/scheduler",
        leader.address()
    )));
    let (client, mut events) =
        connect(config(&[&follower], &clock, ContentType::Protobuf)).unwrap();

    let r = follower.next_call().await;
    assert_eq!((r.scheduler_type(), r.status), (call::Type::Subscribe, 307));
    let r = leader.next_call().await;
    assert_eq!((r.scheduler_type(), r.status), (call::Type::Subscribe, 200));
    subscribed(&mut events).await;
    assert_eq!(
        client.leader().unwrap().as_str(),
        format!("http://{}/api/v1/scheduler", leader.address())
    );

    client.revive(vec![]).await.unwrap();
    let r = leader.next_call().await;
    assert_eq!(r.scheduler_type(), call::Type::Revive);
    assert_eq!(r.stream_id, leader.stream_id());
    assert!(
        follower.drain_calls().is_empty(),
        "calls must go to the leader"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_503_with_capped_exponential_backoff_on_the_clock() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    master.set_mode(Mode::Unavailable(4));
    let cfg = config(&[&master], &clock, ContentType::Json)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(3));
    let (client, mut events) = connect(cfg).unwrap();
    let t0 = clock.now();

    let mut delays = Vec::new();
    let mut arrivals = Vec::new();
    for _ in 0..4 {
        let r = master.next_call().await;
        assert_eq!((r.scheduler_type(), r.status), (call::Type::Subscribe, 503));
        arrivals.push(r.at.saturating_since(t0).as_secs());
        match next(&mut events).await {
            DriverEvent::Disconnected { error, retry_in } => {
                assert_eq!(error.status(), Some(503), "{error}");
                assert!(error.to_string().contains("No leader elected"), "{error}");
                delays.push(retry_in.as_secs());
                assert!(matches!(
                    client.revive(vec![]).await,
                    Err(Error::NotSubscribed { .. })
                ));
                clock.advance(retry_in);
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
    }
    assert_eq!(delays, vec![1, 2, 3, 3], "doubling, capped at 3 s");
    // Each attempt happened exactly when the virtual clock allowed it.
    assert_eq!(arrivals, vec![0, 1, 3, 6]);
    let r = master.next_call().await;
    assert_eq!((r.scheduler_type(), r.status), (call::Type::Subscribe, 200));
    assert_eq!(r.at.saturating_since(t0).as_secs(), 9);
    subscribed(&mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_stream_breaks_with_the_same_framework_id() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let (client, mut events) = connect(config(&[&master], &clock, ContentType::Protobuf)).unwrap();
    master.next_call().await;
    let fid = subscribed(&mut events).await;
    let first_stream = master.stream_id().unwrap();

    master.close_stream();
    match next(&mut events).await {
        DriverEvent::Disconnected { error, retry_in } => {
            assert!(matches!(error, Error::StreamEnded { .. }), "{error}");
            assert_eq!(retry_in, Duration::from_secs(1));
            clock.advance(retry_in);
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let r = master.next_call().await;
    assert_eq!(r.scheduler_type(), call::Type::Subscribe);
    let c = r.scheduler.unwrap();
    assert_eq!(c.framework_id.as_ref(), Some(&fid));
    assert_eq!(c.subscribe.unwrap().framework_info.id.as_ref(), Some(&fid));
    assert_eq!(subscribed(&mut events).await, fid);

    let second_stream = master.stream_id().unwrap();
    assert_ne!(first_stream, second_stream);
    client.suppress(vec![]).await.unwrap();
    let r = master.next_call().await;
    assert_eq!(r.stream_id.as_deref(), Some(second_stream.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_watchdog_declares_a_silent_master_lost() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    master.set_heartbeat_interval(1.0);
    let (_client, mut events) = connect(config(&[&master], &clock, ContentType::Json)).unwrap();
    master.next_call().await;
    let fid = subscribed(&mut events).await;

    // Heartbeats inside the 5 s window keep the subscription alive, across 8 s in total.
    for _ in 0..2 {
        clock.advance(Duration::from_secs(4));
        master.send_scheduler_event(&simple_event(event::Type::Heartbeat));
        let e = next_event(&mut events).await;
        assert_eq!(e.r#type(), event::Type::Heartbeat);
    }
    clock.advance(Duration::from_secs(5));
    match next(&mut events).await {
        DriverEvent::Disconnected { error, retry_in } => {
            match error {
                Error::HeartbeatTimeout { silence, .. } => {
                    assert_eq!(silence, Duration::from_secs(5))
                }
                other => panic!("expected a heartbeat timeout, got {other}"),
            }
            clock.advance(retry_in);
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let r = master.next_call().await;
    assert_eq!(r.scheduler_type(), call::Type::Subscribe);
    assert_eq!(r.scheduler.unwrap().framework_id, Some(fid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_event_ends_the_driver_and_call_errors_carry_the_body() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let (client, mut events) = connect(config(&[&master], &clock, ContentType::Protobuf)).unwrap();
    master.next_call().await;
    subscribed(&mut events).await;

    master.set_mode(Mode::Unavailable(1));
    let err = client.revive(vec![]).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    match &err {
        Error::Status { body, .. } => assert_eq!(body, "No leader elected"),
        other => panic!("expected a status error, got {other}"),
    }

    let mut error = simple_event(event::Type::Error);
    error.error = Some(event::Error {
        message: "Framework has been removed".into(),
    });
    master.send_scheduler_event(&error);
    assert_eq!(next_event(&mut events).await.r#type(), event::Type::Error);
    match next(&mut events).await {
        DriverEvent::Failed(Error::Mesos { message }) => {
            assert_eq!(message, "Framework has been removed")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(within("the end of events", events.next()).await.is_none());
    assert!(!client.is_subscribed());
}

/// Records what the callbacks saw; `acked_after_callback` is filled by the fake master.
#[derive(Default)]
struct Recorder {
    finished_updates: Arc<Mutex<Vec<String>>>,
    offers: Vec<String>,
    rescinded: Vec<String>,
    explicit_ack_of: Option<String>,
}

impl Scheduler for Recorder {
    async fn offers(&mut self, client: &Client, offers: Vec<Offer>) {
        let ids: Vec<OfferId> = offers.iter().map(|o| o.id.clone()).collect();
        self.offers.extend(ids.iter().map(|i| i.value.clone()));
        client.decline(ids, None).await.unwrap();
    }

    async fn rescind(&mut self, _client: &Client, offer_id: OfferId) {
        self.rescinded.push(offer_id.value);
    }

    async fn update(&mut self, client: &Client, status: &TaskStatus) {
        // Yield so an acknowledgement sent too early would overtake the callback.
        tokio::task::yield_now().await;
        if self.explicit_ack_of.as_deref() == Some(status.task_id.value.as_str()) {
            client.acknowledge_update(status).await.unwrap();
        }
        self.finished_updates
            .lock()
            .push(status.task_id.value.clone());
    }

    async fn heartbeat(&mut self, client: &Client) {
        // The test uses a heartbeat as "stop now".
        client.stop();
    }
}

async fn run_recorder(ack_mode: AckMode, recorder: Recorder) -> (Recorder, Vec<(String, bool)>) {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let finished = recorder.finished_updates.clone();
    let acks: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let seen = acks.clone();
    master.observe(move |r| {
        if let Some(a) = r.scheduler.as_ref().and_then(|c| c.acknowledge.as_ref()) {
            let done = finished.lock().contains(&a.task_id.value);
            seen.lock().push((a.task_id.value.clone(), done));
        }
    });
    let cfg = config(&[&master], &clock, ContentType::Json).with_ack_mode(ack_mode);
    let (client, events) = connect(cfg).unwrap();
    let runner = tokio::spawn(async move {
        let mut recorder = recorder;
        let result = scheduler::run_with(&client, events, &mut recorder, ack_mode).await;
        (recorder, result)
    });
    master.next_call().await;
    // Wait until SUBSCRIBED was processed: the offers callback declines, which we see.
    let fid = FrameworkId {
        value: "fake-master-0000".into(),
    };
    master.send_scheduler_event(&offers_event(vec![offer("o1", &fid)]));
    assert_eq!(
        master.next_call().await.scheduler_type(),
        call::Type::Decline
    );
    let mut rescind = simple_event(event::Type::Rescind);
    rescind.rescind = Some(event::Rescind {
        offer_id: OfferId { value: "o1".into() },
    });
    master.send_scheduler_event(&rescind);
    master.send_scheduler_event(&update_event("master-generated", None));
    master.send_scheduler_event(&update_event("t1", Some(vec![1; 16])));
    master.send_scheduler_event(&update_event("t2", Some(vec![2; 16])));
    let ack = master.next_call().await;
    assert_eq!(ack.scheduler_type(), call::Type::Acknowledge);
    master.send_scheduler_event(&simple_event(event::Type::Heartbeat));
    let (recorder, result) = within("the runner to stop", runner).await.unwrap();
    result.unwrap();
    let acks = acks.lock().clone();
    (recorder, acks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_acks_follow_the_callback_and_skip_updates_without_uuid() {
    let (recorder, acks) = run_recorder(AckMode::Implicit, Recorder::default()).await;
    assert_eq!(recorder.offers, vec!["o1"]);
    assert_eq!(recorder.rescinded, vec!["o1"]);
    assert_eq!(
        *recorder.finished_updates.lock(),
        vec!["master-generated", "t1", "t2"]
    );
    // The update without a uuid was not acknowledged; each ack came after its callback.
    assert_eq!(
        acks,
        vec![("t1".to_string(), true), ("t2".to_string(), true)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_mode_sends_only_the_frameworks_own_acks() {
    let recorder = Recorder {
        explicit_ack_of: Some("t2".into()),
        ..Recorder::default()
    };
    let (recorder, acks) = run_recorder(AckMode::Explicit, recorder).await;
    assert_eq!(
        *recorder.finished_updates.lock(),
        vec!["master-generated", "t1", "t2"]
    );
    // Only t2's ack (sent by the callback itself, so before it finished) reached the master.
    assert_eq!(acks, vec![("t2".to_string(), false)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_master_is_skipped_for_the_next_in_the_list() {
    let clock = paused_clock();
    // A port nobody listens on: bind, note it, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap().to_string();
    drop(dead);
    let mut live = Fake::start(Api::Scheduler, clock.clone()).await;
    let cfg = Config::new([dead_addr, live.address()], framework()).with_clock(clock.clone());
    let (client, mut events) = connect(cfg).unwrap();
    match next(&mut events).await {
        DriverEvent::Disconnected { error, retry_in } => {
            assert!(matches!(error, Error::Transport { .. }), "{error}");
            clock.advance(retry_in);
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(
        live.next_call().await.scheduler_type(),
        call::Type::Subscribe
    );
    subscribed(&mut events).await;
    assert_eq!(
        client.leader().unwrap().as_str(),
        format!("http://{}/api/v1/scheduler", live.address())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_subscribe_is_final_and_carries_the_status_and_body() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    master.set_mode(Mode::Reject(
        401,
        "Unauthorized: missing credentials".into(),
    ));
    let (_client, mut events) = connect(config(&[&master], &clock, ContentType::Json)).unwrap();
    assert_eq!(master.next_call().await.status, 401);
    match next(&mut events).await {
        DriverEvent::Failed(Error::Status { status, body, .. }) => {
            assert_eq!(status, 401);
            assert_eq!(body, "Unauthorized: missing credentials");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(within("the end of events", events.next()).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_never_answers_subscribe_times_out_on_the_clock() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    master.set_mode(Mode::Hang);
    let (_client, mut events) = connect(config(&[&master], &clock, ContentType::Protobuf)).unwrap();
    master.next_call().await;
    clock.advance(Duration::from_secs(15));
    match next(&mut events).await {
        DriverEvent::Disconnected { error, retry_in } => {
            assert!(matches!(error, Error::SubscribeTimeout { .. }), "{error}");
            master.set_mode(Mode::Serve);
            clock.advance(retry_in);
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let r = master.next_call().await;
    assert_eq!((r.scheduler_type(), r.status), (call::Type::Subscribe, 200));
    subscribed(&mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_inside_a_record_is_a_lost_connection() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let (_client, mut events) = connect(config(&[&master], &clock, ContentType::Json)).unwrap();
    master.next_call().await;
    let fid = subscribed(&mut events).await;
    master.send_raw(b"120\n{\"type\":\"OFF");
    master.close_stream();
    match next(&mut events).await {
        DriverEvent::Disconnected { error, retry_in } => {
            assert!(matches!(error, Error::RecordIo(_)), "{error}");
            clock.advance(retry_in);
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let r = master.next_call().await;
    assert_eq!(r.scheduler.unwrap().framework_id, Some(fid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_events_arrive_complete_and_in_order() {
    let clock = paused_clock();
    let mut master = Fake::start(Api::Scheduler, clock.clone()).await;
    let (_client, mut events) = connect(config(&[&master], &clock, ContentType::Protobuf)).unwrap();
    master.next_call().await;
    subscribed(&mut events).await;
    // More than the driver's event buffer, each record split across three chunks.
    for i in 0..600 {
        master.send_scheduler_event(&update_event(&format!("t{i}"), None));
    }
    for i in 0..600 {
        let e = next_event(&mut events).await;
        assert_eq!(e.update.unwrap().status.task_id.value, format!("t{i}"));
    }
}

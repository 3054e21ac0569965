//! The executor's connection task and the handle for UPDATE and MESSAGE calls.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use libprocess::Time;
use mesos_protos::v1::executor::{call, event, Call, Event};
use mesos_protos::v1::{task_status, ExecutorId, FrameworkId, TaskInfo, TaskStatus};
use parking_lot::Mutex;
use reqwest::{StatusCode, Url};
use tokio::sync::{mpsc, watch};

use super::{Config, ExecutorEvent};
use crate::backoff::Backoff;
use crate::error::Error;
use crate::transport::{self, EventReader, Transport};

/// Path of the executor API on an agent.
const EXECUTOR_PATH: &str = "/api/v1/executor";

/// Events buffered between the connection task and a slow consumer.
const EVENT_BUFFER: usize = 256;

#[derive(Default)]
struct State {
    subscribed: bool,
    /// Sent but not yet ACKNOWLEDGED by the agent, in the order they were sent.
    updates: Vec<call::Update>,
    /// Launched tasks none of whose updates has been acknowledged yet.
    tasks: Vec<TaskInfo>,
}

struct Shared {
    transport: Transport,
    url: Url,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    clock: libprocess::Clock,
    state: Mutex<State>,
    shutdown: watch::Sender<bool>,
}

/// The executor driver's stream of [`ExecutorEvent`]s; dropping it stops the driver.
pub struct ExecutorEvents {
    rx: mpsc::Receiver<ExecutorEvent>,
}

impl Stream for ExecutorEvents {
    type Item = ExecutorEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ExecutorEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// Sends UPDATE and MESSAGE calls to the agent. Cheap to clone.
#[derive(Clone)]
pub struct ExecutorClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ExecutorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorClient")
            .field("agent", &self.shared.url.as_str())
            .field("executor_id", &self.shared.executor_id.value)
            .field("subscribed", &self.shared.state.lock().subscribed)
            .finish()
    }
}

/// Starts the executor driver (needs a tokio runtime).
pub fn connect(config: Config) -> Result<(ExecutorClient, ExecutorEvents), Error> {
    let url = transport::endpoint_url(&config.env.agent_endpoint, EXECUTOR_PATH)?;
    let authorization = config
        .env
        .authentication_token
        .as_ref()
        .map(|t| format!("Bearer {t}"));
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        transport: Transport::new(config.content_type, authorization),
        url,
        framework_id: config.env.framework_id.clone(),
        executor_id: config.env.executor_id.clone(),
        clock: config.clock.clone(),
        state: Mutex::new(State::default()),
        shutdown,
    });
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    tokio::spawn(run_task(shared.clone(), config, tx));
    Ok((ExecutorClient { shared }, ExecutorEvents { rx }))
}

impl ExecutorClient {
    /// The framework this executor belongs to.
    pub fn framework_id(&self) -> &FrameworkId {
        &self.shared.framework_id
    }

    /// This executor's id.
    pub fn executor_id(&self) -> &ExecutorId {
        &self.shared.executor_id
    }

    /// True between SUBSCRIBED and the end of that stream.
    pub fn is_subscribed(&self) -> bool {
        self.shared.state.lock().subscribed
    }

    /// Updates sent but not yet acknowledged by the agent (resent on re-subscribe).
    pub fn unacknowledged_updates(&self) -> Vec<call::Update> {
        self.shared.state.lock().updates.clone()
    }

    /// Launched tasks with no acknowledged update yet (resent on re-subscribe).
    pub fn unacknowledged_tasks(&self) -> Vec<TaskInfo> {
        self.shared.state.lock().tasks.clone()
    }

    /// Stops the driver; the event stream ends. Idempotent.
    pub fn stop(&self) {
        self.shared.shutdown.send_replace(true);
    }

    fn call_of(&self, kind: call::Type) -> Call {
        Call {
            executor_id: self.shared.executor_id.clone(),
            framework_id: self.shared.framework_id.clone(),
            r#type: Some(kind as i32),
            ..Call::default()
        }
    }

    /// Sends a status UPDATE with a fresh uuid (returned), filling in `executor_id`, `source`
    /// and `timestamp` when unset. The update is kept until the agent ACKNOWLEDGES it; if the
    /// agent is unreachable now (or answers `403`, not subscribed) it goes out with the next
    /// SUBSCRIBE. An agent that rejects it otherwise (4xx) gets it dropped and the error
    /// returned.
    pub async fn update(&self, mut status: TaskStatus) -> Result<Vec<u8>, Error> {
        let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
        status.uuid = Some(uuid.clone());
        if status.executor_id.is_none() {
            status.executor_id = Some(self.shared.executor_id.clone());
        }
        if status.source.is_none() {
            status.source = Some(task_status::Source::Executor as i32);
        }
        if status.timestamp.is_none() {
            status.timestamp = Some(self.shared.clock.now().as_secs_f64());
        }
        let update = call::Update { status };
        let subscribed = {
            let mut st = self.shared.state.lock();
            st.updates.push(update.clone());
            st.subscribed
        };
        if !subscribed {
            return Ok(uuid);
        }
        let mut c = self.call_of(call::Type::Update);
        c.update = Some(update);
        match self
            .shared
            .transport
            .post_call(&self.shared.url, &c, None)
            .await
        {
            Ok(()) => Ok(uuid),
            // `403`: the agent no longer counts us as subscribed (it restarted, or closed
            // our stream); the update goes out again with the next SUBSCRIBE.
            Err(e) if e.is_retryable() || e.status() == Some(403) => {
                tracing::debug!(error = %e, "update kept for the next subscription");
                Ok(uuid)
            }
            Err(e) => {
                self.shared
                    .state
                    .lock()
                    .updates
                    .retain(|u| u.status.uuid.as_deref() != Some(uuid.as_slice()));
                Err(e)
            }
        }
    }

    /// Sends a MESSAGE to the scheduler (unreliable: fails if not subscribed).
    pub async fn message(&self, data: Vec<u8>) -> Result<(), Error> {
        if !self.is_subscribed() {
            return Err(Error::NotSubscribed { call: "MESSAGE" });
        }
        let mut c = self.call_of(call::Type::Message);
        c.message = Some(call::Message { data });
        self.shared
            .transport
            .post_call(&self.shared.url, &c, None)
            .await
    }

    fn subscribe_call(&self) -> Call {
        let st = self.shared.state.lock();
        let mut c = self.call_of(call::Type::Subscribe);
        c.subscribe = Some(call::Subscribe {
            unacknowledged_tasks: st.tasks.clone(),
            unacknowledged_updates: st.updates.clone(),
        });
        c
    }

    /// Bookkeeping before an event is handed to the executor.
    fn record(&self, event: &Event) {
        let mut st = self.shared.state.lock();
        match event.r#type() {
            event::Type::Subscribed => st.subscribed = true,
            event::Type::Launch => {
                if let Some(l) = &event.launch {
                    st.tasks.push(l.task.clone());
                }
            }
            event::Type::LaunchGroup => {
                if let Some(l) = &event.launch_group {
                    st.tasks.extend(l.task_group.tasks.iter().cloned());
                }
            }
            event::Type::Acknowledged => {
                if let Some(a) = &event.acknowledged {
                    st.updates
                        .retain(|u| u.status.uuid.as_deref() != Some(a.uuid.as_slice()));
                    st.tasks.retain(|t| t.task_id != a.task_id);
                }
            }
            _ => {}
        }
    }
}

async fn run_task(shared: Arc<Shared>, config: Config, tx: mpsc::Sender<ExecutorEvent>) {
    let client = ExecutorClient {
        shared: shared.clone(),
    };
    let mut shutdown = shared.shutdown.subscribe();
    let outcome = tokio::select! {
        e = connection_loop(&client, &config, &tx) => Some(e),
        _ = shutdown.wait_for(|stop| *stop) => None,
        _ = tx.closed() => None,
    };
    shared.state.lock().subscribed = false;
    if let Some(error) = outcome {
        if !matches!(error, Error::Stopped) {
            tracing::warn!(%error, "executor driver stopped");
            let _ = tx.send(ExecutorEvent::Failed(error)).await;
        }
    }
}

async fn connection_loop(
    client: &ExecutorClient,
    config: &Config,
    tx: &mpsc::Sender<ExecutorEvent>,
) -> Error {
    let shared = &client.shared;
    let clock = &config.clock;
    let recovery_timeout = config.env.recovery_timeout;
    let mut backoff = Backoff::new(config.backoff_min, config.env.subscription_backoff_max);
    // The recovery window counts from the first attempt, and from each disconnection.
    let mut since: Time = clock.now();
    loop {
        let error = match subscribe(client, config).await {
            Err(e) => e,
            Ok(mut reader) => {
                backoff.reset();
                let e = loop {
                    match reader.next().await {
                        Ok(event) => {
                            client.record(&event);
                            if tx
                                .send(ExecutorEvent::Event(Box::new(event)))
                                .await
                                .is_err()
                            {
                                return Error::Stopped;
                            }
                        }
                        Err(e) => break e,
                    }
                };
                let was_subscribed = std::mem::take(&mut shared.state.lock().subscribed);
                since = clock.now();
                if was_subscribed && !config.env.checkpoint {
                    tracing::warn!(error = %e, "agent connection lost and checkpointing is off");
                    return Error::NotCheckpointing;
                }
                e
            }
        };
        shared.state.lock().subscribed = false;
        // A `404` comes from an agent whose runtime listens but whose agent process is
        // not up yet (e.g. just restarted): worth retrying, as Mesos's library does.
        if !error.is_retryable() && error.status() != Some(404) {
            return error;
        }
        let retry_in = backoff.next_delay();
        if clock.now().saturating_since(since) + retry_in > recovery_timeout {
            tracing::warn!(%error, "giving up on the agent");
            return Error::RecoveryTimeout {
                timeout: recovery_timeout,
            };
        }
        let sleep = clock.sleep(retry_in);
        if tx
            .send(ExecutorEvent::Disconnected { error, retry_in })
            .await
            .is_err()
        {
            return Error::Stopped;
        }
        sleep.await;
    }
}

async fn subscribe(client: &ExecutorClient, config: &Config) -> Result<EventReader<Event>, Error> {
    let shared = &client.shared;
    let call = client.subscribe_call();
    let timeout = config.subscribe_timeout;
    let response = config
        .clock
        .timeout(timeout, shared.transport.post(&shared.url, &call, None))
        .await
        .map_err(|_| Error::SubscribeTimeout {
            url: shared.url.to_string(),
            timeout,
        })??;
    if response.status() != StatusCode::OK {
        return Err(transport::status_error(&shared.url, response).await);
    }
    Ok(EventReader::new(
        response,
        config.content_type,
        shared.url.clone(),
        config.max_event_size,
        "mesos.v1.executor.Event",
    ))
}

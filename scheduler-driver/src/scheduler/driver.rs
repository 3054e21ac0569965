//! The connection task: leader discovery, SUBSCRIBE, the event stream, heartbeat watchdog and
//! reconnects.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use mesos_protos::v1::scheduler::{call, event, Call, Event};
use mesos_protos::v1::FrameworkId;
use parking_lot::Mutex;
use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};
use tokio::sync::{mpsc, watch};

use super::{Client, Config, DriverEvent};
use crate::backoff::Backoff;
use crate::error::Error;
use crate::transport::{self, EventReader, Transport, STREAM_ID_HEADER};

/// Path of the scheduler API on a master.
const SCHEDULER_PATH: &str = "/api/v1/scheduler";

/// Events buffered between the connection task and a slow consumer.
const EVENT_BUFFER: usize = 256;

/// What calls need from the live subscription.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The master whose stream is live.
    pub(crate) leader: Option<Url>,
    /// Its `Mesos-Stream-Id`.
    pub(crate) stream_id: Option<String>,
    /// Assigned by SUBSCRIBED (kept across reconnects).
    pub(crate) framework_id: Option<FrameworkId>,
    /// True between SUBSCRIBED and the stream's end.
    pub(crate) subscribed: bool,
}

/// State shared by the connection task and every [`Client`].
pub(crate) struct Shared {
    pub(crate) transport: Transport,
    pub(crate) state: Mutex<State>,
    pub(crate) shutdown: watch::Sender<bool>,
}

/// The driver's stream of [`DriverEvent`]s; dropping it stops the driver.
pub struct Events {
    rx: mpsc::Receiver<DriverEvent>,
}

impl Stream for Events {
    type Item = DriverEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<DriverEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// Starts the driver (needs a tokio runtime). Fails only on an unusable master list.
pub fn connect(config: Config) -> Result<(Client, Events), Error> {
    if config.masters.is_empty() {
        return Err(Error::InvalidUrl {
            url: String::new(),
            reason: "no master address given".into(),
        });
    }
    let masters = config
        .masters
        .iter()
        .map(|m| transport::endpoint_url(m, SCHEDULER_PATH))
        .collect::<Result<Vec<_>, _>>()?;
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        transport: Transport::new(config.content_type, config.authorization.clone()),
        state: Mutex::new(State {
            framework_id: config.framework_info.id.clone(),
            ..State::default()
        }),
        shutdown,
    });
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let task = Task {
        shared: shared.clone(),
        config,
        masters,
        tx,
    };
    tokio::spawn(task.run());
    Ok((Client::new(shared), Events { rx }))
}

struct Task {
    shared: Arc<Shared>,
    config: Config,
    masters: Vec<Url>,
    tx: mpsc::Sender<DriverEvent>,
}

enum Attempt {
    Redirect(Url),
    Stream(EventReader<Event>),
    Failed(Error),
}

enum StreamEnd {
    /// Reconnect.
    Lost(Error),
    /// Give up (ERROR event).
    Terminal(Error),
    /// The consumer went away.
    Closed,
}

impl Task {
    async fn run(mut self) {
        let mut shutdown = self.shared.shutdown.subscribe();
        let tx = self.tx.clone();
        let outcome = tokio::select! {
            e = self.connection_loop() => Some(e),
            _ = shutdown.wait_for(|stop| *stop) => None,
            _ = tx.closed() => None,
        };
        {
            let mut st = self.shared.state.lock();
            st.stream_id = None;
            st.subscribed = false;
        }
        if let Some(error) = outcome {
            if !matches!(error, Error::Stopped) {
                tracing::warn!(%error, "scheduler driver stopped");
                let _ = tx.send(DriverEvent::Failed(error)).await;
            }
        }
    }

    async fn connection_loop(&mut self) -> Error {
        let mut backoff = Backoff::new(self.config.backoff_min, self.config.backoff_max);
        let mut rotation = 0usize;
        let mut target: Option<Url> = None;
        let mut redirects = 0u32;
        loop {
            let url = target.take().unwrap_or_else(|| {
                let u = self.masters[rotation % self.masters.len()].clone();
                rotation += 1;
                u
            });
            let error = match self.subscribe(&url).await {
                Attempt::Redirect(location) if redirects < self.config.max_redirects => {
                    redirects += 1;
                    tracing::debug!(from = %url, to = %location, "following leader redirect");
                    target = Some(location);
                    continue;
                }
                Attempt::Redirect(_) => Error::Redirect {
                    url: url.to_string(),
                    reason: format!("more than {} redirects in a row", self.config.max_redirects),
                },
                Attempt::Failed(e) => e,
                Attempt::Stream(reader) => match self.read_stream(&url, reader, &mut backoff).await
                {
                    StreamEnd::Lost(e) => {
                        // The master we were subscribed to is the best first guess.
                        target = Some(url.clone());
                        e
                    }
                    StreamEnd::Terminal(e) => return e,
                    StreamEnd::Closed => return Error::Stopped,
                },
            };
            redirects = 0;
            {
                let mut st = self.shared.state.lock();
                st.stream_id = None;
                st.subscribed = false;
            }
            if !error.is_retryable() {
                return error;
            }
            let retry_in = backoff.next_delay();
            // Start the timer before reporting, so a paused-clock test that advances after
            // seeing the report always releases it.
            let sleep = self.config.clock.sleep(retry_in);
            tracing::info!(%error, ?retry_in, "scheduler subscription lost; retrying");
            if self
                .tx
                .send(DriverEvent::Disconnected { error, retry_in })
                .await
                .is_err()
            {
                return Error::Stopped;
            }
            sleep.await;
        }
    }

    fn subscribe_call(&self) -> Call {
        let framework_id = self.shared.state.lock().framework_id.clone();
        let mut framework_info = self.config.framework_info.clone();
        if framework_id.is_some() {
            framework_info.id = framework_id.clone();
        }
        Call {
            framework_id,
            r#type: Some(call::Type::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info,
                suppressed_roles: self.config.suppressed_roles.clone(),
            }),
            ..Call::default()
        }
    }

    async fn subscribe(&self, url: &Url) -> Attempt {
        let call = self.subscribe_call();
        let timeout = self.config.subscribe_timeout;
        let sent = self
            .config
            .clock
            .timeout(timeout, self.shared.transport.post(url, &call, None))
            .await;
        let response = match sent {
            Err(_) => {
                return Attempt::Failed(Error::SubscribeTimeout {
                    url: url.to_string(),
                    timeout,
                })
            }
            Ok(Err(e)) => return Attempt::Failed(e),
            Ok(Ok(r)) => r,
        };
        match response.status() {
            StatusCode::OK => {}
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                return match location {
                    Some(l) => match transport::resolve_location(url, &l) {
                        Ok(u) => Attempt::Redirect(u),
                        Err(e) => Attempt::Failed(e),
                    },
                    None => Attempt::Failed(Error::Redirect {
                        url: url.to_string(),
                        reason: "no Location header".into(),
                    }),
                };
            }
            _ => return Attempt::Failed(transport::status_error(url, response).await),
        }
        let stream_id = response
            .headers()
            .get(STREAM_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .map(str::to_string);
        let Some(stream_id) = stream_id else {
            return Attempt::Failed(Error::MissingStreamId {
                url: url.to_string(),
            });
        };
        {
            let mut st = self.shared.state.lock();
            st.leader = Some(url.clone());
            st.stream_id = Some(stream_id);
        }
        Attempt::Stream(EventReader::new(
            response,
            self.shared.transport.content_type,
            url.clone(),
            self.config.max_event_size,
            "mesos.v1.scheduler.Event",
        ))
    }

    async fn read_stream(
        &mut self,
        url: &Url,
        mut reader: EventReader<Event>,
        backoff: &mut Backoff,
    ) -> StreamEnd {
        let clock = self.config.clock.clone();
        let mut period = self.config.watchdog_period(None);
        let mut watchdog = clock.sleep(period);
        loop {
            let next = tokio::select! {
                biased;
                _ = &mut watchdog => {
                    return StreamEnd::Lost(Error::HeartbeatTimeout { url: url.to_string(), silence: period });
                }
                next = reader.next() => next,
            };
            let event = match next {
                Ok(e) => e,
                Err(e) => return StreamEnd::Lost(e),
            };
            let mut terminal = None;
            match event.r#type() {
                event::Type::Subscribed => {
                    if let Some(s) = &event.subscribed {
                        let mut st = self.shared.state.lock();
                        st.framework_id = Some(s.framework_id.clone());
                        st.subscribed = true;
                        drop(st);
                        self.config.framework_info.id = Some(s.framework_id.clone());
                        period = self.config.watchdog_period(s.heartbeat_interval_seconds);
                        backoff.reset();
                    }
                }
                event::Type::Error => {
                    let message = event
                        .error
                        .as_ref()
                        .map(|e| e.message.clone())
                        .unwrap_or_default();
                    terminal = Some(Error::Mesos { message });
                }
                _ => {}
            }
            // Re-arm before delivering, so the consumer always sees a running watchdog.
            watchdog = clock.sleep(period);
            if self
                .tx
                .send(DriverEvent::Event(Box::new(event)))
                .await
                .is_err()
            {
                return StreamEnd::Closed;
            }
            if let Some(e) = terminal {
                return StreamEnd::Terminal(e);
            }
        }
    }
}

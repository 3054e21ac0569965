//! Client of the v1 scheduler HTTP API (reference §2).
//!
//! [`connect`] starts a background task that finds the leading master (following `307`
//! redirects, retrying `503`), SUBSCRIBEs, reads the RecordIO event stream and reconnects with
//! capped exponential back-off when the stream breaks or goes silent (no event, HEARTBEAT
//! included, for `missed_heartbeats` × `heartbeat_interval_seconds`). Re-subscriptions carry the
//! framework id the master assigned. It returns a [`Client`] (cloneable; one method per call of
//! §2.4, each sent as its own request with the current `Mesos-Stream-Id`) and an [`Events`]
//! stream of [`DriverEvent`]s.
//!
//! On top, [`run`] drives a [`Scheduler`] callback implementation and acknowledges status
//! updates implicitly (after the callback returns) unless [`AckMode::Explicit`] is chosen.

mod client;
mod driver;
mod runner;

use std::time::Duration;

use libprocess::Clock;
use mesos_protos::v1::scheduler::Event;
use mesos_protos::v1::FrameworkInfo;

use crate::error::Error;
use crate::transport::ContentType;

pub use client::Client;
pub use driver::{connect, Events};
pub use runner::{run, run_with, Scheduler};

/// Master heartbeat interval assumed until SUBSCRIBED says otherwise (reference §2.3).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// Who acknowledges status updates that carry a `uuid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// [`run`] acknowledges each UPDATE / UPDATE_OPERATION_STATUS with a uuid once the
    /// callback has returned.
    #[default]
    Implicit,
    /// The framework acknowledges itself ([`Client::acknowledge_update`]).
    Explicit,
}

/// What the scheduler driver reports.
#[derive(Debug)]
pub enum DriverEvent {
    /// An event from the master, HEARTBEAT included.
    Event(Box<Event>),
    /// The subscription (or an attempt to make one) failed; the driver tries again after
    /// `retry_in` of clock time (the timer is already running when this is delivered).
    Disconnected {
        /// Why.
        error: Error,
        /// Back-off before the next SUBSCRIBE.
        retry_in: Duration,
    },
    /// The driver gave up for good (an ERROR event, or a non-retryable answer such as `400`
    /// or `401` to SUBSCRIBE); the stream ends after this.
    Failed(Error),
}

/// Settings of the scheduler driver.
#[derive(Debug, Clone)]
pub struct Config {
    /// Master addresses (`host:port`, `http://host:port` or a full endpoint URL), tried in turn.
    pub masters: Vec<String>,
    /// Sent on SUBSCRIBE; its `id` is filled in from SUBSCRIBED for re-subscriptions.
    pub framework_info: FrameworkInfo,
    /// Roles that start suppressed (`Call.Subscribe.suppressed_roles`).
    pub suppressed_roles: Vec<String>,
    /// Encoding of calls and events.
    pub content_type: ContentType,
    /// Source of time for back-off, watchdog and timeouts.
    pub clock: Clock,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// Missed heartbeats after which the connection is considered lost.
    pub missed_heartbeats: u32,
    /// How long a SUBSCRIBE may wait for its response headers.
    pub subscribe_timeout: Duration,
    /// Redirects followed in a row before backing off.
    pub max_redirects: u32,
    /// Largest event accepted, in bytes.
    pub max_event_size: usize,
    /// Implicit or explicit acknowledgements (used by [`run`]).
    pub ack_mode: AckMode,
    /// A full `Authorization` header value (e.g. `Basic …`) for masters that authenticate
    /// HTTP frameworks.
    pub authorization: Option<String>,
}

impl Config {
    /// Defaults: protobuf, back-off 1 s doubling to 15 s, 5 missed heartbeats, implicit acks,
    /// a fresh real-time clock.
    pub fn new<I, S>(masters: I, framework_info: FrameworkInfo) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Config {
            masters: masters.into_iter().map(Into::into).collect(),
            framework_info,
            suppressed_roles: Vec::new(),
            content_type: ContentType::default(),
            clock: Clock::new(),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15),
            missed_heartbeats: 5,
            subscribe_timeout: Duration::from_secs(15),
            max_redirects: 5,
            max_event_size: mesos_protos::recordio::DEFAULT_MAX_RECORD_SIZE,
            ack_mode: AckMode::default(),
            authorization: None,
        }
    }

    /// Uses `clock` (e.g. a paused one in tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `content_type` for calls and events.
    pub fn with_content_type(mut self, content_type: ContentType) -> Self {
        self.content_type = content_type;
        self
    }

    /// Chooses who acknowledges updates.
    pub fn with_ack_mode(mut self, ack_mode: AckMode) -> Self {
        self.ack_mode = ack_mode;
        self
    }

    /// Authenticates with HTTP Basic credentials (masters run with
    /// `--authenticate_http_frameworks`).
    pub fn with_basic_auth(mut self, principal: &str, secret: &str) -> Self {
        use base64::Engine as _;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{secret}"));
        self.authorization = Some(format!("Basic {token}"));
        self
    }

    /// Sets the reconnect back-off range.
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// The watchdog period for a heartbeat interval (seconds, as SUBSCRIBED reports it).
    pub(crate) fn watchdog_period(&self, interval_secs: Option<f64>) -> Duration {
        let interval = interval_secs
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL);
        interval.saturating_mul(self.missed_heartbeats.max(1))
    }
}

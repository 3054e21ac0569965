//! Client of the v1 executor HTTP API (reference §4), for executors the agent launches.
//!
//! [`ExecutorEnv`] reads what the agent puts in the executor's environment (from an explicit
//! map, so tests never touch the process environment). [`connect`] SUBSCRIBEs to
//! `http://<MESOS_AGENT_ENDPOINT>/api/v1/executor`, reads the event stream and, when the
//! connection breaks, re-subscribes with back-off (at most `MESOS_SUBSCRIPTION_BACKOFF_MAX`)
//! for up to `MESOS_RECOVERY_TIMEOUT` if the framework checkpoints (otherwise it gives up, as
//! the executor should exit). Updates sent with [`ExecutorClient::update`] get a fresh uuid and
//! are kept until the agent ACKNOWLEDGES them; unacknowledged updates and tasks are resent in
//! every re-SUBSCRIBE. [`run`] drives an [`Executor`] callback implementation.

mod driver;
mod env;
mod runner;

use std::time::Duration;

use libprocess::Clock;
use mesos_protos::v1::executor::Event;

use crate::error::Error;
use crate::transport::ContentType;

pub use driver::{connect, ExecutorClient, ExecutorEvents};
pub use env::{parse_duration, ExecutorEnv};
pub use runner::{run, run_with, Executor};

/// What the executor driver reports.
#[derive(Debug)]
pub enum ExecutorEvent {
    /// An event from the agent, HEARTBEAT included.
    Event(Box<Event>),
    /// The subscription (or an attempt) failed; retried after `retry_in` of clock time (the
    /// timer is already running when this is delivered).
    Disconnected {
        /// Why.
        error: Error,
        /// Back-off before the next SUBSCRIBE.
        retry_in: Duration,
    },
    /// The driver gave up (recovery timeout, no checkpointing, or a non-retryable answer);
    /// the stream ends after this.
    Failed(Error),
}

/// Settings of the executor driver.
#[derive(Debug, Clone)]
pub struct Config {
    /// What the agent told us through the environment.
    pub env: ExecutorEnv,
    /// Encoding of calls and events.
    pub content_type: ContentType,
    /// Source of time for back-off and the recovery timeout.
    pub clock: Clock,
    /// First re-subscribe delay (doubling up to `env.subscription_backoff_max`).
    pub backoff_min: Duration,
    /// How long a SUBSCRIBE may wait for its response headers.
    pub subscribe_timeout: Duration,
    /// Largest event accepted, in bytes.
    pub max_event_size: usize,
}

impl Config {
    /// Protobuf, a fresh real-time clock, back-off from 250 ms.
    pub fn new(env: ExecutorEnv) -> Self {
        Config {
            env,
            content_type: ContentType::default(),
            clock: Clock::new(),
            backoff_min: Duration::from_millis(250),
            subscribe_timeout: Duration::from_secs(15),
            max_event_size: mesos_protos::recordio::DEFAULT_MAX_RECORD_SIZE,
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
}

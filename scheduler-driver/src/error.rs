//! Errors of the scheduler and executor libraries.

use std::time::Duration;

use mesos_protos::recordio::RecordIoError;

/// Everything that can go wrong talking to a master or an agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP request could not be sent or its response body could not be read.
    #[error("http request to {url} failed: {source}")]
    Transport {
        /// Where the request went.
        url: String,
        /// The client's complaint.
        #[source]
        source: reqwest::Error,
    },
    /// The peer answered with an unexpected status; `body` is Mesos's error text.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// Where the request went.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The response body (Mesos puts its error message there).
        body: String,
    },
    /// A call was made while no subscription is live (before SUBSCRIBED or while reconnecting).
    #[error("cannot send {call}: not subscribed")]
    NotSubscribed {
        /// The call's type name.
        call: &'static str,
    },
    /// A master or agent address could not be turned into an endpoint URL.
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl {
        /// The address as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// A `307` without a usable `Location`, or too many redirects in a row.
    #[error("bad redirect from {url}: {reason}")]
    Redirect {
        /// The master that redirected.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The SUBSCRIBE response lacks a valid `Mesos-Stream-Id`.
    #[error("subscribe response from {url} has no valid Mesos-Stream-Id header")]
    MissingStreamId {
        /// The master.
        url: String,
    },
    /// The event stream is not valid RecordIO.
    #[error("malformed event stream: {0}")]
    RecordIo(#[from] RecordIoError),
    /// An event or call could not be decoded in the negotiated content type.
    #[error("cannot decode {what} as {content_type}: {reason}")]
    Decode {
        /// The message type.
        what: &'static str,
        /// `application/json` or `application/x-protobuf`.
        content_type: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// The subscription stream ended (the peer closed it).
    #[error("event stream from {url} ended")]
    StreamEnded {
        /// The peer.
        url: String,
    },
    /// No event (not even a HEARTBEAT) arrived within the watchdog period.
    #[error("no event from {url} for {silence:?}: connection considered lost")]
    HeartbeatTimeout {
        /// The peer.
        url: String,
        /// How long it stayed silent.
        silence: Duration,
    },
    /// The peer did not answer SUBSCRIBE in time.
    #[error("no answer to subscribe from {url} within {timeout:?}")]
    SubscribeTimeout {
        /// The peer.
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// Mesos sent an ERROR event: the subscription is over for good.
    #[error("mesos reported an error: {message}")]
    Mesos {
        /// The ERROR event's message.
        message: String,
    },
    /// The executor could not re-subscribe within its recovery timeout.
    #[error("could not re-subscribe to the agent within the recovery timeout of {timeout:?}")]
    RecoveryTimeout {
        /// `MESOS_RECOVERY_TIMEOUT`.
        timeout: Duration,
    },
    /// The connection to the agent broke and the framework does not checkpoint, so the
    /// executor must not wait for the agent to come back.
    #[error("disconnected from the agent and checkpointing is off")]
    NotCheckpointing,
    /// An environment variable the executor needs is missing or malformed.
    #[error("environment variable {name}: {reason}")]
    Environment {
        /// The variable.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The driver was stopped or its event stream dropped.
    #[error("driver stopped")]
    Stopped,
}

impl Error {
    /// The HTTP status the peer answered, if the error is a status error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for errors where trying again later can help (network, 5xx, lost streams).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Status { status, .. } => *status >= 500,
            Error::Transport { .. }
            | Error::StreamEnded { .. }
            | Error::HeartbeatTimeout { .. }
            | Error::SubscribeTimeout { .. }
            | Error::RecordIo(_)
            | Error::Decode { .. }
            | Error::Redirect { .. }
            | Error::MissingStreamId { .. } => true,
            _ => false,
        }
    }
}

//! What framework authors link: an async client of the Mesos v1 scheduler HTTP API
//! ([`scheduler`]) and of the v1 executor HTTP API ([`executor`]).
//!
//! Both speak only the public HTTP APIs (reference §2 and §4): one long-lived `SUBSCRIBE`
//! request whose response is a RecordIO stream of events, and every other call as its own
//! short `POST`. Time (back-off, heartbeat watchdog, recovery timeout) flows through a
//! [`libprocess::Clock`] so tests can pause and advance it.
//!
//! The README (included below) has the data-flow picture and a usage example.
#![doc = include_str!("../README.md")]

mod backoff;
mod error;
pub mod executor;
pub mod operations;
pub mod scheduler;
mod transport;

pub use backoff::Backoff;
pub use error::Error;
pub use libprocess::Clock;
pub use mesos_protos::v1;
pub use transport::ContentType;

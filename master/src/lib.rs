//! The Mesos master: frameworks, agents, offers, registrar and HTTP APIs.

pub mod flags;

//! The Mesos master: frameworks, agents, offers, registrar and HTTP APIs.

pub mod allocator;
pub mod flags;
pub mod state;
pub mod status;
#[doc(hidden)]
pub mod testing;

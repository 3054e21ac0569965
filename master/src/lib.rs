//! The Mesos master: frameworks, agents, offers, registrar and HTTP APIs.

pub mod allocator;
pub mod flags;
pub mod master;
pub mod metrics;
pub mod offers;
pub mod operations;
pub mod operator;
pub mod reconcile;
pub mod registrar;
pub mod render;
pub mod state;
pub mod status;
#[doc(hidden)]
pub mod testing;
pub mod validation;

//! Validation of what frameworks ask the master to do, with Mesos 1.8's rules and texts
//! (`src/master/validation.cpp`): offers named by ACCEPT/DECLINE, tasks and task groups
//! in LAUNCH/LAUNCH_GROUP, executors. Pure functions over the state model; the first
//! failing rule wins, in Mesos's order.

pub mod offer;
pub mod operation;
pub mod resource;
pub mod task;

pub use offer::validate_offers;
pub use task::{validate_task, validate_task_group};

/// A validation failure; the text is Mesos's and is what frameworks see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// An error from any text.
    pub fn new(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }

    /// Prefixes the message with context.
    pub fn context(self, prefix: &str) -> Self {
        Invalid(format!("{prefix}{}", self.0))
    }
}

/// Shorthand for validation results.
pub type Result<T = ()> = std::result::Result<T, Invalid>;

#[cfg(test)]
mod tests;

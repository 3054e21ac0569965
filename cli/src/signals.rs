//! Waiting for SIGINT or SIGTERM, registered before the components start so an
//! early signal is not lost.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// The registered SIGINT and SIGTERM streams.
pub struct Shutdown {
    int: Signal,
    term: Signal,
}

impl Shutdown {
    /// Registers the handlers (must run inside a tokio runtime).
    pub fn register() -> std::io::Result<Shutdown> {
        Ok(Shutdown {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the first of the two signals and returns its name.
    pub async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

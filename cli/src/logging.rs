//! Log output: `tracing` to stderr, filtered by `RUST_LOG` from the collected
//! environment (default `info` for the daemons, `warn` for the client commands, whose
//! output is their printed results), colours only on a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::Env;

/// Installs the global subscriber; a bad `RUST_LOG` falls back to `default` with a
/// warning.
pub fn init(env: &Env, default: &str) {
    let spec = env.get("RUST_LOG").map(String::as_str).unwrap_or(default);
    let (filter, bad) = match EnvFilter::try_new(spec) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new(default), Some(e)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    if let Some(e) = bad {
        tracing::warn!("ignoring RUST_LOG '{spec}': {e}");
    }
}

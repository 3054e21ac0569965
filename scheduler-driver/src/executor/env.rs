//! The environment the agent gives an executor (reference §4 table).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use mesos_protos::v1::{AgentId, ExecutorId, FrameworkId};

use crate::error::Error;

/// Default `MESOS_RECOVERY_TIMEOUT` (agent `--recovery_timeout`).
pub const DEFAULT_RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Default `MESOS_SUBSCRIPTION_BACKOFF_MAX` (agent `--executor_reregistration_timeout`).
pub const DEFAULT_SUBSCRIPTION_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Default `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// What an executor learns from the variables the agent sets.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorEnv {
    /// `MESOS_AGENT_ENDPOINT`: `ip:port` of the agent.
    pub agent_endpoint: String,
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: FrameworkId,
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: ExecutorId,
    /// `MESOS_SLAVE_ID`, when set.
    pub agent_id: Option<AgentId>,
    /// `MESOS_DIRECTORY`: the sandbox on the host.
    pub directory: Option<PathBuf>,
    /// `MESOS_SANDBOX`: the sandbox as seen inside the container.
    pub sandbox: Option<PathBuf>,
    /// `MESOS_CHECKPOINT` is `1`: the framework checkpoints, so reconnecting makes sense.
    pub checkpoint: bool,
    /// `MESOS_RECOVERY_TIMEOUT`: how long to keep trying to re-subscribe.
    pub recovery_timeout: Duration,
    /// `MESOS_SUBSCRIPTION_BACKOFF_MAX`: the largest delay between re-subscribe attempts.
    pub subscription_backoff_max: Duration,
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`: time between SHUTDOWN and being killed.
    pub shutdown_grace_period: Duration,
    /// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`: sent as `Authorization: Bearer …`.
    pub authentication_token: Option<String>,
    /// `MESOS_HTTP_COMMAND_EXECUTOR` is `1`.
    pub http_command_executor: bool,
}

fn required(env: &HashMap<String, String>, name: &str) -> Result<String, Error> {
    match env.get(name) {
        Some(v) if !v.is_empty() => Ok(v.clone()),
        _ => Err(Error::Environment {
            name: name.to_string(),
            reason: "missing".into(),
        }),
    }
}

fn flag(env: &HashMap<String, String>, name: &str) -> Result<bool, Error> {
    match env.get(name).map(String::as_str) {
        None | Some("") | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(Error::Environment {
            name: name.to_string(),
            reason: format!("expected 1/0 or true/false, got {other:?}"),
        }),
    }
}

fn duration(
    env: &HashMap<String, String>,
    name: &str,
    default: Duration,
) -> Result<Duration, Error> {
    match env.get(name) {
        None => Ok(default),
        Some(v) => parse_duration(v).map_err(|reason| Error::Environment {
            name: name.to_string(),
            reason,
        }),
    }
}

/// Parses a stout duration such as `15mins`, `2secs`, `500ms` or `1.5hrs`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration {text:?} has no unit"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("duration {text:?} does not start with a number"))?;
    let scale = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "secs" => 1.0,
        "mins" => 60.0,
        "hrs" => 3600.0,
        "days" => 86_400.0,
        "weeks" => 604_800.0,
        _ => return Err(format!("duration {text:?} has unknown unit {unit:?}")),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("duration {text:?}: {e}"))
}

impl ExecutorEnv {
    /// Reads the variables from an explicit map.
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, Error> {
        let checkpoint = flag(env, "MESOS_CHECKPOINT")?;
        Ok(ExecutorEnv {
            agent_endpoint: required(env, "MESOS_AGENT_ENDPOINT")?,
            framework_id: FrameworkId {
                value: required(env, "MESOS_FRAMEWORK_ID")?,
            },
            executor_id: ExecutorId {
                value: required(env, "MESOS_EXECUTOR_ID")?,
            },
            agent_id: env
                .get("MESOS_SLAVE_ID")
                .filter(|v| !v.is_empty())
                .map(|v| AgentId { value: v.clone() }),
            directory: env.get("MESOS_DIRECTORY").map(PathBuf::from),
            sandbox: env
                .get("MESOS_SANDBOX")
                .or_else(|| env.get("MESOS_DIRECTORY"))
                .map(PathBuf::from),
            checkpoint,
            recovery_timeout: duration(env, "MESOS_RECOVERY_TIMEOUT", DEFAULT_RECOVERY_TIMEOUT)?,
            subscription_backoff_max: duration(
                env,
                "MESOS_SUBSCRIPTION_BACKOFF_MAX",
                DEFAULT_SUBSCRIPTION_BACKOFF_MAX,
            )?,
            shutdown_grace_period: duration(
                env,
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                DEFAULT_SHUTDOWN_GRACE_PERIOD,
            )?,
            authentication_token: env
                .get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
                .filter(|v| !v.is_empty())
                .cloned(),
            http_command_executor: flag(env, "MESOS_HTTP_COMMAND_EXECUTOR")?,
        })
    }

    /// Reads the variables from this process's environment (what a real executor does).
    pub fn from_process_env() -> Result<Self, Error> {
        Self::from_map(&std::env::vars().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn stout_durations() {
        assert_eq!(parse_duration("15mins"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2secs"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5hrs"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10parsecs").is_err());
        assert!(parse_duration("secs").is_err());
    }

    #[test]
    fn reads_what_the_agent_sets() {
        let env = ExecutorEnv::from_map(&map(&[
            ("MESOS_AGENT_ENDPOINT", "127.0.0.1:5051"),
            ("MESOS_FRAMEWORK_ID", "fw-1"),
            ("MESOS_EXECUTOR_ID", "ex-1"),
            ("MESOS_SLAVE_ID", "agent-1"),
            ("MESOS_DIRECTORY", "/tmp/sandbox"),
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "15mins"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "10secs"),
        ]))
        .unwrap();
        assert_eq!(env.agent_endpoint, "127.0.0.1:5051");
        assert_eq!(env.framework_id.value, "fw-1");
        assert_eq!(env.executor_id.value, "ex-1");
        assert_eq!(env.agent_id.unwrap().value, "agent-1");
        assert!(env.checkpoint);
        assert_eq!(env.recovery_timeout, Duration::from_secs(900));
        assert_eq!(env.subscription_backoff_max, Duration::from_secs(2));
        assert_eq!(env.shutdown_grace_period, Duration::from_secs(10));
        // Without an image the sandbox is the host directory.
        assert_eq!(env.sandbox, Some(PathBuf::from("/tmp/sandbox")));
    }

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let err = ExecutorEnv::from_map(&map(&[("MESOS_FRAMEWORK_ID", "f")])).unwrap_err();
        assert!(err.to_string().contains("MESOS_AGENT_ENDPOINT"), "{err}");
        let err = ExecutorEnv::from_map(&map(&[
            ("MESOS_AGENT_ENDPOINT", "h:1"),
            ("MESOS_FRAMEWORK_ID", "f"),
            ("MESOS_EXECUTOR_ID", "e"),
            ("MESOS_RECOVERY_TIMEOUT", "soon"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("MESOS_RECOVERY_TIMEOUT"), "{err}");
        let defaults = ExecutorEnv::from_map(&map(&[
            ("MESOS_AGENT_ENDPOINT", "h:1"),
            ("MESOS_FRAMEWORK_ID", "f"),
            ("MESOS_EXECUTOR_ID", "e"),
        ]))
        .unwrap();
        assert!(!defaults.checkpoint);
        assert_eq!(defaults.recovery_timeout, DEFAULT_RECOVERY_TIMEOUT);
        assert_eq!(
            defaults.subscription_backoff_max,
            DEFAULT_SUBSCRIPTION_BACKOFF_MAX
        );
    }
}

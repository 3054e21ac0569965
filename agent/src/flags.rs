//! Agent flags with Mesos 1.8's names and defaults.
//!
//! Flags load from an explicit argument list and an explicit `MESOS_*` environment map
//! (tests never touch the process environment). [`AgentFlags::values`] keeps the effective
//! text of every flag for `/flags` and `GET_FLAGS`.

pub mod parse;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use parse::FlagError;
use parse::{parse_bool, parse_bytes, parse_duration, Kind, Spec};

macro_rules! spec {
    ($name:literal, $kind:ident) => {
        Spec {
            name: $name,
            kind: Kind::$kind,
            default: None,
        }
    };
    ($name:literal, $kind:ident, $default:literal) => {
        Spec {
            name: $name,
            kind: Kind::$kind,
            default: Some($default),
        }
    };
}

/// Every agent flag we accept, with Mesos's default where it has one.
pub const AGENT_FLAGS: &[Spec] = &[
    spec!("master", Text),
    spec!("ip", Text),
    spec!("port", Port, "5051"),
    spec!("advertise_ip", Text),
    spec!("advertise_port", Port),
    spec!("hostname", Text),
    spec!("hostname_lookup", Bool, "true"),
    spec!("work_dir", Text, "/var/lib/mesos"),
    spec!("runtime_dir", Text, "/var/run/mesos"),
    spec!("resources", Text),
    spec!("attributes", Text),
    spec!("default_role", Text, "*"),
    spec!("isolation", Text, "posix/cpu,posix/mem"),
    spec!("launcher", Text, "posix"),
    spec!("launcher_dir", Text),
    spec!("containerizers", Text, "mesos"),
    spec!("recover", Text, "reconnect"),
    spec!("strict", Bool, "true"),
    spec!("recovery_timeout", Duration, "15mins"),
    spec!("reconfiguration_policy", Text, "equal"),
    spec!("executor_registration_timeout", Duration, "1mins"),
    spec!("executor_reregistration_timeout", Duration, "2secs"),
    spec!("executor_reregistration_retry_interval", Duration),
    spec!("executor_shutdown_grace_period", Duration, "5secs"),
    spec!("executor_environment_variables", Text),
    spec!("registration_backoff_factor", Duration, "1secs"),
    spec!("authentication_backoff_factor", Duration, "1secs"),
    spec!("http_command_executor", Bool, "false"),
    spec!("http_heartbeat_interval", Duration, "30secs"),
    spec!("http_executor_domain_sockets", Bool, "false"),
    spec!("domain_socket_location", Text),
    spec!("switch_user", Bool, "true"),
    spec!("sandbox_directory", Text, "/mnt/mesos/sandbox"),
    spec!("frameworks_home", Text),
    spec!("gc_delay", Duration, "1weeks"),
    spec!("gc_disk_headroom", Float, "0.1"),
    spec!("disk_watch_interval", Duration, "1mins"),
    spec!("container_disk_watch_interval", Duration, "15secs"),
    spec!("enforce_container_disk_quota", Bool, "false"),
    spec!("max_completed_executors_per_framework", Unsigned, "150"),
    spec!("oversubscribed_resources_interval", Duration, "15secs"),
    spec!("fetcher_cache_size", Bytes, "2GB"),
    spec!("fetcher_cache_dir", Text, "/tmp/mesos/fetch"),
    spec!("fetcher_stall_timeout", Duration, "1mins"),
    spec!("image_providers", Text),
    spec!("image_provisioner_backend", Text),
    spec!("docker_store_dir", Text, "/tmp/mesos/store/docker"),
    spec!("cgroups_root", Text, "mesos"),
    spec!("cgroups_hierarchy", Text, "/sys/fs/cgroup"),
    spec!("credential", Text),
    spec!("authenticatee", Text, "crammd5"),
    spec!("authenticate_http_executors", Bool, "false"),
    spec!("authenticate_http_readonly", Bool, "false"),
    spec!("authenticate_http_readwrite", Bool, "false"),
    spec!("jwt_secret_key", Text),
    spec!("zk_session_timeout", Duration, "10secs"),
    spec!("logging_level", Text, "INFO"),
    spec!("log_dir", Text),
    spec!("modules", Text),
    spec!("hooks", Text),
];

/// What `--recover` asks for after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverMode {
    /// Reconnect with the executors that survived.
    Reconnect,
    /// Kill surviving executors and start clean.
    Cleanup,
}

/// The agent's effective configuration.
#[derive(Debug, Clone)]
pub struct AgentFlags {
    /// `--master`: `host:port` (or `zk://…`, `file://…`) of the master.
    pub master: Option<String>,
    /// `--ip`: address to listen on.
    pub ip: Option<String>,
    /// `--port`: port to listen on; 0 picks a free one.
    pub port: u16,
    /// `--advertise_ip`.
    pub advertise_ip: Option<String>,
    /// `--advertise_port`.
    pub advertise_port: Option<u16>,
    /// `--hostname`: reported to the master instead of the detected name.
    pub hostname: Option<String>,
    /// `--work_dir`: sandboxes and checkpoints.
    pub work_dir: PathBuf,
    /// `--runtime_dir`: state that need not survive a reboot (container pids).
    pub runtime_dir: PathBuf,
    /// `--resources`: text or JSON; names it gives override detection.
    pub resources: Option<String>,
    /// `--attributes`: `name:value;...`.
    pub attributes: Option<String>,
    /// `--default_role`: role of resources given without one.
    pub default_role: String,
    /// `--isolation`: isolator names, in order.
    pub isolation: Vec<String>,
    /// `--launcher`: `posix` or `linux`.
    pub launcher: String,
    /// `--launcher_dir`: where the executor and helper binaries are.
    pub launcher_dir: Option<PathBuf>,
    /// `--recover`.
    pub recover: RecoverMode,
    /// `--strict`: recovery errors are fatal.
    pub strict: bool,
    /// `--recovery_timeout`: how long executors may wait for a restarted agent.
    pub recovery_timeout: Duration,
    /// `--executor_registration_timeout`.
    pub executor_registration_timeout: Duration,
    /// `--executor_reregistration_timeout`.
    pub executor_reregistration_timeout: Duration,
    /// `--executor_shutdown_grace_period`.
    pub executor_shutdown_grace_period: Duration,
    /// `--executor_environment_variables`: replaces the inherited environment.
    pub executor_environment_variables: Option<BTreeMap<String, String>>,
    /// `--registration_backoff_factor`.
    pub registration_backoff_factor: Duration,
    /// `--http_command_executor`.
    pub http_command_executor: bool,
    /// `--http_heartbeat_interval`.
    pub http_heartbeat_interval: Duration,
    /// `--switch_user`: run tasks as the framework's/task's user.
    pub switch_user: bool,
    /// `--sandbox_directory`: sandbox path inside a container with an image.
    pub sandbox_directory: PathBuf,
    /// `--gc_delay`.
    pub gc_delay: Duration,
    /// `--fetcher_cache_size` in bytes.
    pub fetcher_cache_size: u64,
    /// `--fetcher_cache_dir`.
    pub fetcher_cache_dir: PathBuf,
    /// `--max_completed_executors_per_framework`.
    pub max_completed_executors_per_framework: u64,
    /// Every flag's effective text (defaults included), for `/flags`.
    pub values: BTreeMap<&'static str, String>,
}

/// Errors turning loaded flag text into an [`AgentFlags`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentFlagsError {
    /// The generic loader refused a flag.
    #[error(transparent)]
    Flag(#[from] FlagError),
    /// A flag whose value parses but is not allowed.
    #[error("invalid value '{value}' for flag '{flag}': {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
}

impl AgentFlags {
    /// Loads the agent's flags from `args` (without the program name) and `env`.
    pub fn load(
        args: &[String],
        env: &BTreeMap<String, String>,
    ) -> Result<AgentFlags, AgentFlagsError> {
        let values = parse::load(AGENT_FLAGS, "MESOS_", args, env)?;
        Self::from_values(values)
    }

    /// The flags with their defaults only (for tests and `mesos local`).
    pub fn defaults() -> AgentFlags {
        Self::load(&[], &BTreeMap::new()).unwrap_or_else(|_| unreachable!("defaults parse"))
    }

    fn from_values(values: BTreeMap<&'static str, String>) -> Result<AgentFlags, AgentFlagsError> {
        let text = |n: &str| values.get(n).cloned();
        // The loader has checked every value against its kind, so these conversions only
        // fail for a flag missing from the table, which the defaults test catches.
        let dur = |n: &'static str| -> Result<Duration, AgentFlagsError> {
            let v = text(n).unwrap_or_default();
            parse_duration(&v).map_err(|reason| invalid(n, &v, reason))
        };
        let boolean = |n: &'static str| -> Result<bool, AgentFlagsError> {
            let v = text(n).unwrap_or_default();
            parse_bool(&v).map_err(|reason| invalid(n, &v, reason))
        };
        let port = |n: &'static str| -> Result<Option<u16>, AgentFlagsError> {
            text(n)
                .map(|v| v.parse::<u16>().map_err(|e| invalid(n, &v, e.to_string())))
                .transpose()
        };
        let recover = match text("recover").as_deref() {
            Some("reconnect") => RecoverMode::Reconnect,
            Some("cleanup") => RecoverMode::Cleanup,
            other => {
                return Err(invalid(
                    "recover",
                    other.unwrap_or(""),
                    "expecting 'reconnect' or 'cleanup'".into(),
                ))
            }
        };
        let isolation: Vec<String> = text("isolation")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let launcher = text("launcher").unwrap_or_default();
        if launcher != "posix" && launcher != "linux" {
            return Err(invalid(
                "launcher",
                &launcher,
                "expecting 'posix' or 'linux'".into(),
            ));
        }
        let executor_environment_variables = match text("executor_environment_variables") {
            None => None,
            Some(v) => Some(
                parse_env_object(&v)
                    .map_err(|reason| invalid("executor_environment_variables", &v, reason))?,
            ),
        };
        let cache = text("fetcher_cache_size").unwrap_or_default();
        let max_completed = text("max_completed_executors_per_framework").unwrap_or_default();
        Ok(AgentFlags {
            master: text("master"),
            ip: text("ip"),
            port: port("port")?.unwrap_or(5051),
            advertise_ip: text("advertise_ip"),
            advertise_port: port("advertise_port")?,
            hostname: text("hostname"),
            work_dir: text("work_dir").unwrap_or_default().into(),
            runtime_dir: text("runtime_dir").unwrap_or_default().into(),
            resources: text("resources"),
            attributes: text("attributes"),
            default_role: text("default_role").unwrap_or_else(|| "*".into()),
            isolation,
            launcher,
            launcher_dir: text("launcher_dir").map(PathBuf::from),
            recover,
            strict: boolean("strict")?,
            recovery_timeout: dur("recovery_timeout")?,
            executor_registration_timeout: dur("executor_registration_timeout")?,
            executor_reregistration_timeout: dur("executor_reregistration_timeout")?,
            executor_shutdown_grace_period: dur("executor_shutdown_grace_period")?,
            executor_environment_variables,
            registration_backoff_factor: dur("registration_backoff_factor")?,
            http_command_executor: boolean("http_command_executor")?,
            http_heartbeat_interval: dur("http_heartbeat_interval")?,
            switch_user: boolean("switch_user")?,
            sandbox_directory: text("sandbox_directory").unwrap_or_default().into(),
            gc_delay: dur("gc_delay")?,
            fetcher_cache_size: parse_bytes(&cache)
                .map_err(|r| invalid("fetcher_cache_size", &cache, r))?,
            fetcher_cache_dir: text("fetcher_cache_dir").unwrap_or_default().into(),
            max_completed_executors_per_framework: max_completed.parse().map_err(
                |e: std::num::ParseIntError| {
                    invalid(
                        "max_completed_executors_per_framework",
                        &max_completed,
                        e.to_string(),
                    )
                },
            )?,
            values,
        })
    }
}

fn invalid(flag: &'static str, value: &str, reason: String) -> AgentFlagsError {
    AgentFlagsError::Invalid {
        flag,
        value: value.to_string(),
        reason,
    }
}

/// Parses `--executor_environment_variables`: a JSON object of string values.
fn parse_env_object(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = value else {
        return Err("expecting a JSON object".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(format!("value of '{k}' is not a string: {other}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mesos_defaults() {
        let f = AgentFlags::defaults();
        assert_eq!(f.port, 5051);
        assert_eq!(f.master, None);
        assert_eq!(f.work_dir, PathBuf::from("/var/lib/mesos"));
        assert_eq!(f.runtime_dir, PathBuf::from("/var/run/mesos"));
        assert_eq!(f.isolation, vec!["posix/cpu", "posix/mem"]);
        assert_eq!(f.recover, RecoverMode::Reconnect);
        assert_eq!(f.executor_registration_timeout, Duration::from_secs(60));
        assert_eq!(f.executor_shutdown_grace_period, Duration::from_secs(5));
        assert_eq!(f.registration_backoff_factor, Duration::from_secs(1));
        assert_eq!(f.recovery_timeout, Duration::from_secs(900));
        assert_eq!(f.default_role, "*");
        assert_eq!(f.fetcher_cache_size, 2 << 30);
        assert!(f.strict);
        assert_eq!(f.values["gc_delay"], "1weeks");
        // Every defaulted flag appears in `values`.
        for spec in AGENT_FLAGS {
            if let Some(d) = spec.default {
                assert_eq!(f.values[spec.name], d, "{}", spec.name);
            }
        }
    }

    #[test]
    fn args_and_env() {
        let mut env = BTreeMap::new();
        env.insert("MESOS_MASTER".into(), "10.0.0.1:5050".into());
        env.insert("MESOS_RECOVER".into(), "cleanup".into());
        let f = AgentFlags::load(
            &args(&[
                "--port=0",
                "--work_dir=/tmp/w",
                "--isolation=posix/cpu",
                "--executor_environment_variables={\"PATH\":\"/bin\"}",
            ]),
            &env,
        )
        .unwrap();
        assert_eq!(f.port, 0);
        assert_eq!(f.master.as_deref(), Some("10.0.0.1:5050"));
        assert_eq!(f.recover, RecoverMode::Cleanup);
        assert_eq!(f.work_dir, PathBuf::from("/tmp/w"));
        assert_eq!(f.isolation, vec!["posix/cpu"]);
        assert_eq!(
            f.executor_environment_variables.unwrap()["PATH"],
            "/bin".to_string()
        );
    }

    #[test]
    fn rejects_bad_values() {
        let env = BTreeMap::new();
        for bad in [
            "--recover=maybe",
            "--launcher=docker",
            "--executor_environment_variables=[1]",
            "--executor_environment_variables={\"A\":1}",
            "--executor_registration_timeout=soon",
            "--port=-1",
        ] {
            let e = AgentFlags::load(&args(&[bad]), &env).unwrap_err();
            let value = bad.split_once('=').unwrap().1;
            assert!(e.to_string().contains(value), "{bad}: {e}");
        }
    }
}

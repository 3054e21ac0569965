//! The master's flags: Mesos 1.8's names, aliases and defaults.
//!
//! Loaded from an explicit argument list plus an explicit environment map (`MESOS_*`), so
//! tests never touch the process environment. The generic machinery (stout durations and
//! byte sizes, precedence, errors) is in [`parse`].

pub use libprocess::flags as parse;

use std::time::Duration;

use mesos_protos::resources::{parse_min_allocatable_resources, ResourceQuantities};

pub use parse::{FlagError, FlagKind, FlagSpec, LoadedFlags};

use FlagKind::{Bool, Duration as Dur, Port, Text, Unsigned};

/// The prefix of environment variables that set flags.
pub const ENV_PREFIX: &str = "MESOS_";

/// The smallest `--agent_reregister_timeout` Mesos accepts.
pub const MIN_AGENT_REREGISTER_TIMEOUT: Duration = Duration::from_secs(600);

const fn spec(
    name: &'static str,
    kind: FlagKind,
    default: Option<&'static str>,
    help: &'static str,
) -> FlagSpec {
    FlagSpec {
        name,
        aliases: &[],
        kind,
        default,
        help,
    }
}

const fn alias(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: FlagKind,
    default: Option<&'static str>,
    help: &'static str,
) -> FlagSpec {
    FlagSpec {
        name,
        aliases,
        kind,
        default,
        help,
    }
}

/// Every master flag we know, with Mesos's defaults.
pub const MASTER_FLAGS: &[FlagSpec] = &[
    spec("version", Bool, Some("false"), "print the version and exit"),
    spec("ip", Text, None, "IP address to listen on"),
    spec("port", Port, Some("5050"), "port to listen on"),
    spec(
        "advertise_ip",
        Text,
        None,
        "IP address advertised to reach this master",
    ),
    spec(
        "advertise_port",
        Port,
        None,
        "port advertised to reach this master",
    ),
    spec("hostname", Text, None, "hostname the master advertises"),
    spec(
        "hostname_lookup",
        Bool,
        Some("true"),
        "whether to look up the hostname by DNS",
    ),
    spec(
        "work_dir",
        Text,
        Some("/var/lib/mesos"),
        "where the registry is kept",
    ),
    spec("cluster", Text, None, "human readable cluster name"),
    spec("zk", Text, None, "ZooKeeper URL for leader election"),
    spec(
        "zk_session_timeout",
        Dur,
        Some("10secs"),
        "ZooKeeper session timeout",
    ),
    spec("quorum", Unsigned, None, "replicated log quorum size"),
    spec(
        "log_auto_initialize",
        Bool,
        Some("true"),
        "initialize the replicated log automatically",
    ),
    spec(
        "registry",
        Text,
        Some("replicated_log"),
        "registry store: replicated_log or in_memory",
    ),
    spec(
        "registry_fetch_timeout",
        Dur,
        Some("1mins"),
        "registry fetch timeout",
    ),
    spec(
        "registry_store_timeout",
        Dur,
        Some("20secs"),
        "registry store timeout",
    ),
    spec(
        "registry_strict",
        Bool,
        Some("false"),
        "reject agents unknown to the registry",
    ),
    spec(
        "registry_gc_interval",
        Dur,
        Some("15mins"),
        "how often unreachable/gone entries are pruned",
    ),
    spec(
        "registry_max_agent_age",
        Dur,
        Some("2weeks"),
        "age after which unreachable/gone agents are pruned",
    ),
    spec(
        "registry_max_agent_count",
        Unsigned,
        Some("102400"),
        "most unreachable/gone agents kept",
    ),
    alias(
        "agent_ping_timeout",
        &["slave_ping_timeout"],
        Dur,
        Some("15secs"),
        "interval between agent pings",
    ),
    alias(
        "max_agent_ping_timeouts",
        &["max_slave_ping_timeouts"],
        Unsigned,
        Some("5"),
        "missed pings before an agent is unreachable",
    ),
    alias(
        "agent_reregister_timeout",
        &["slave_reregister_timeout"],
        Dur,
        Some("10mins"),
        "time for agents to re-register after failover",
    ),
    alias(
        "agent_removal_rate_limit",
        &["slave_removal_rate_limit"],
        Text,
        None,
        "rate of unhealthy agent removals, e.g. 1/10mins",
    ),
    alias(
        "recovery_agent_removal_limit",
        &["recovery_slave_removal_limit"],
        Text,
        Some("100%"),
        "share of agents that may be removed after failover",
    ),
    spec(
        "offer_timeout",
        Dur,
        None,
        "how long an offer stays outstanding before rescinding",
    ),
    spec(
        "allocation_interval",
        Dur,
        Some("1secs"),
        "time between allocation cycles",
    ),
    spec("allocator", Text, Some("hierarchical"), "allocator to use"),
    spec(
        "min_allocatable_resources",
        Text,
        Some("cpus:0.01|mem:32"),
        "smallest resources worth offering",
    ),
    spec(
        "user_sorter",
        Text,
        Some("drf"),
        "role sorter: drf or random",
    ),
    spec(
        "framework_sorter",
        Text,
        Some("drf"),
        "framework sorter: drf or random",
    ),
    spec(
        "fair_sharing_excluded_resource_names",
        Text,
        None,
        "resources excluded from fair sharing",
    ),
    spec(
        "filter_gpu_resources",
        Bool,
        Some("true"),
        "offer GPU agents only to GPU-aware frameworks",
    ),
    spec(
        "max_completed_frameworks",
        Unsigned,
        Some("50"),
        "completed frameworks kept in memory",
    ),
    spec(
        "max_completed_tasks_per_framework",
        Unsigned,
        Some("1000"),
        "completed tasks kept per framework",
    ),
    spec(
        "max_unreachable_tasks_per_framework",
        Unsigned,
        Some("1000"),
        "unreachable tasks kept per framework",
    ),
    spec(
        "max_operator_event_stream_subscribers",
        Unsigned,
        Some("1000"),
        "operator SUBSCRIBE stream limit",
    ),
    spec(
        "roles",
        Text,
        None,
        "comma-separated whitelist of roles (deprecated)",
    ),
    spec("weights", Text, None, "role weights, e.g. role1=2,role2=3"),
    spec("rate_limits", Text, None, "framework rate limits (JSON)"),
    alias(
        "authenticate_frameworks",
        &["authenticate"],
        Bool,
        Some("false"),
        "require framework authentication",
    ),
    alias(
        "authenticate_agents",
        &["authenticate_slaves"],
        Bool,
        Some("false"),
        "require agent authentication",
    ),
    spec(
        "authenticate_http_readonly",
        Bool,
        Some("false"),
        "authenticate read-only HTTP endpoints",
    ),
    spec(
        "authenticate_http_readwrite",
        Bool,
        Some("false"),
        "authenticate read-write HTTP endpoints",
    ),
    spec(
        "authenticate_http_frameworks",
        Bool,
        Some("false"),
        "authenticate HTTP frameworks",
    ),
    spec(
        "authenticators",
        Text,
        Some("crammd5"),
        "framework/agent authenticator",
    ),
    spec(
        "authentication_v0_timeout",
        Dur,
        Some("15secs"),
        "v0 authentication timeout",
    ),
    spec(
        "http_authenticators",
        Text,
        Some("basic"),
        "HTTP authenticators",
    ),
    spec(
        "http_framework_authenticators",
        Text,
        None,
        "HTTP framework authenticators",
    ),
    spec("credentials", Text, None, "path to the credentials file"),
    spec("acls", Text, None, "access control lists (JSON)"),
    spec("authorizers", Text, Some("local"), "authorizer"),
    spec(
        "publish_per_framework_metrics",
        Bool,
        Some("true"),
        "publish metrics per framework",
    ),
    spec(
        "require_agent_domain",
        Bool,
        Some("false"),
        "reject agents without a domain",
    ),
    spec("domain", Text, None, "fault domain of this master (JSON)"),
    spec(
        "webui_dir",
        Text,
        Some("/usr/share/mesos/webui"),
        "web UI files",
    ),
    spec("log_dir", Text, None, "where log files go"),
    spec(
        "external_log_file",
        Text,
        None,
        "externally managed log file",
    ),
    spec("logging_level", Text, Some("INFO"), "log level"),
    spec("quiet", Bool, Some("false"), "disable logging to stderr"),
    spec(
        "logbufsecs",
        Unsigned,
        Some("0"),
        "seconds to buffer log messages",
    ),
    spec(
        "initialize_driver_logging",
        Bool,
        Some("true"),
        "initialize logging in drivers",
    ),
    spec("modules", Text, None, "modules (JSON)"),
    spec("modules_dir", Text, None, "module manifest directory"),
    spec("hooks", Text, None, "hooks to load"),
    spec("whitelist", Text, None, "agent whitelist file (deprecated)"),
    spec(
        "max_executors_per_agent",
        Unsigned,
        None,
        "executor limit per agent",
    ),
    spec(
        "offer_constraints_re2_max_mem",
        Text,
        None,
        "unused before 1.11",
    ),
];

/// The master's typed configuration.
#[derive(Debug, Clone)]
pub struct MasterFlags {
    /// IP address to listen on (`--ip`).
    pub ip: Option<String>,
    /// Port to listen on (`--port`, 5050).
    pub port: u16,
    /// Advertised IP (`--advertise_ip`).
    pub advertise_ip: Option<String>,
    /// Advertised port (`--advertise_port`).
    pub advertise_port: Option<u16>,
    /// Hostname to advertise (`--hostname`).
    pub hostname: Option<String>,
    /// Whether to resolve the hostname (`--hostname_lookup`).
    pub hostname_lookup: bool,
    /// Registry folder (`--work_dir`).
    pub work_dir: String,
    /// Cluster name (`--cluster`).
    pub cluster: Option<String>,
    /// ZooKeeper URL (`--zk`).
    pub zk: Option<String>,
    /// ZooKeeper session timeout.
    pub zk_session_timeout: Duration,
    /// `replicated_log` (durable, under `--work_dir`) or `in_memory`.
    pub registry: String,
    /// Registry fetch timeout.
    pub registry_fetch_timeout: Duration,
    /// Registry store timeout.
    pub registry_store_timeout: Duration,
    /// Reject agents the registry does not know.
    pub registry_strict: bool,
    /// GC period for unreachable/gone entries.
    pub registry_gc_interval: Duration,
    /// Age after which unreachable/gone entries are pruned.
    pub registry_max_agent_age: Duration,
    /// Most unreachable/gone entries kept.
    pub registry_max_agent_count: u64,
    /// Interval between pings (`--agent_ping_timeout`, 15 s).
    pub agent_ping_timeout: Duration,
    /// Missed pings before an agent is unreachable (5).
    pub max_agent_ping_timeouts: u64,
    /// Re-registration window after failover (10 min, at least 10 min).
    pub agent_reregister_timeout: Duration,
    /// Removal rate limit text, e.g. `1/10mins`.
    pub agent_removal_rate_limit: Option<String>,
    /// Share of agents that may be removed after failover (`100%`).
    pub recovery_agent_removal_limit: String,
    /// Offer lifetime before rescinding (`--offer_timeout`).
    pub offer_timeout: Option<Duration>,
    /// Allocation cycle period (1 s).
    pub allocation_interval: Duration,
    /// Minimum allocatable resources: alternatives, each a set of quantities.
    pub min_allocatable_resources: Vec<ResourceQuantities>,
    /// Role sorter name.
    pub user_sorter: String,
    /// Framework sorter name.
    pub framework_sorter: String,
    /// Completed frameworks kept (50).
    pub max_completed_frameworks: usize,
    /// Completed tasks kept per framework (1000).
    pub max_completed_tasks_per_framework: usize,
    /// Unreachable tasks kept per framework (1000).
    pub max_unreachable_tasks_per_framework: usize,
    /// Operator event stream subscriber limit (1000).
    pub max_operator_event_stream_subscribers: usize,
    /// Role whitelist (`--roles`), if any.
    pub roles: Option<Vec<String>>,
    /// Role weights (`--weights`).
    pub weights: Vec<(String, f64)>,
    /// Require framework authentication.
    pub authenticate_frameworks: bool,
    /// Require agent authentication.
    pub authenticate_agents: bool,
    /// Authenticate read-only HTTP endpoints.
    pub authenticate_http_readonly: bool,
    /// Authenticate read-write HTTP endpoints.
    pub authenticate_http_readwrite: bool,
    /// Authenticate HTTP frameworks.
    pub authenticate_http_frameworks: bool,
    /// Publish per-framework metrics.
    pub publish_per_framework_metrics: bool,
    /// Require agents to have a domain.
    pub require_agent_domain: bool,
    /// Everything as loaded, for `/flags` and GET_FLAGS.
    pub loaded: LoadedFlags,
}

impl Default for MasterFlags {
    fn default() -> Self {
        // The defaults in the table are all valid, so this cannot fail.
        match MasterFlags::load([], []) {
            Ok(flags) => flags,
            Err(e) => unreachable!("master flag defaults are invalid: {e}"),
        }
    }
}

impl MasterFlags {
    /// Loads the master flags from command-line words and `MESOS_*` environment entries.
    pub fn load<'a, I, E>(args: I, env: E) -> Result<MasterFlags, FlagError>
    where
        I: IntoIterator<Item = &'a str>,
        E: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let l = parse::load(MASTER_FLAGS, args, env, ENV_PREFIX)?;
        MasterFlags::from_loaded(l)
    }

    fn from_loaded(l: LoadedFlags) -> Result<MasterFlags, FlagError> {
        let dur = |n: &str| -> Result<Duration, FlagError> {
            l.duration(n)?.ok_or_else(|| FlagError::Required(n.into()))
        };
        let uint = |n: &str| -> Result<u64, FlagError> {
            l.unsigned(n)?.ok_or_else(|| FlagError::Required(n.into()))
        };
        let text = |n: &str| -> Result<String, FlagError> {
            l.text(n).ok_or_else(|| FlagError::Required(n.into()))
        };
        let bad = |flag: &str, reason: String| FlagError::Invalid {
            flag: flag.into(),
            value: l.get(flag).unwrap_or("").into(),
            reason,
        };

        let registry = text("registry")?;
        if registry != "replicated_log" && registry != "in_memory" {
            return Err(bad(
                "registry",
                "expected 'replicated_log' or 'in_memory'".into(),
            ));
        }
        let agent_reregister_timeout = dur("agent_reregister_timeout")?;
        if agent_reregister_timeout < MIN_AGENT_REREGISTER_TIMEOUT {
            return Err(bad(
                "agent_reregister_timeout",
                "expected a value of at least 10mins".into(),
            ));
        }
        let max_agent_ping_timeouts = uint("max_agent_ping_timeouts")?;
        if max_agent_ping_timeouts < 1 {
            return Err(bad("max_agent_ping_timeouts", "expected at least 1".into()));
        }
        let agent_ping_timeout = dur("agent_ping_timeout")?;
        if agent_ping_timeout.is_zero() {
            return Err(bad(
                "agent_ping_timeout",
                "expected a positive duration".into(),
            ));
        }
        let allocation_interval = dur("allocation_interval")?;
        if allocation_interval.is_zero() {
            return Err(bad(
                "allocation_interval",
                "expected a positive duration".into(),
            ));
        }
        let offer_timeout = l.duration("offer_timeout")?;
        if offer_timeout.is_some_and(|d| d.is_zero()) {
            return Err(bad("offer_timeout", "expected a positive duration".into()));
        }
        let min_allocatable_resources =
            parse_min_allocatable_resources(&text("min_allocatable_resources")?)
                .map_err(|e| bad("min_allocatable_resources", e.message()))?;
        for sorter in ["user_sorter", "framework_sorter"] {
            let v = text(sorter)?;
            if v != "drf" && v != "random" {
                return Err(bad(sorter, "expected 'drf' or 'random'".into()));
            }
        }
        let roles = match l.get("roles") {
            None => None,
            Some(v) => Some(parse_roles(v).map_err(|r| bad("roles", r))?),
        };
        let weights = match l.get("weights") {
            None => Vec::new(),
            Some(v) => parse_weights(v).map_err(|r| bad("weights", r))?,
        };
        let usize_of = |n: &str| -> Result<usize, FlagError> {
            usize::try_from(uint(n)?).map_err(|_| bad(n, "value is too large".into()))
        };

        Ok(MasterFlags {
            ip: l.text("ip"),
            port: l.port("port")?.unwrap_or(5050),
            advertise_ip: l.text("advertise_ip"),
            advertise_port: l.port("advertise_port")?,
            hostname: l.text("hostname"),
            hostname_lookup: l.bool("hostname_lookup")?,
            work_dir: text("work_dir")?,
            cluster: l.text("cluster"),
            zk: l.text("zk"),
            zk_session_timeout: dur("zk_session_timeout")?,
            registry,
            registry_fetch_timeout: dur("registry_fetch_timeout")?,
            registry_store_timeout: dur("registry_store_timeout")?,
            registry_strict: l.bool("registry_strict")?,
            registry_gc_interval: dur("registry_gc_interval")?,
            registry_max_agent_age: dur("registry_max_agent_age")?,
            registry_max_agent_count: uint("registry_max_agent_count")?,
            agent_ping_timeout,
            max_agent_ping_timeouts,
            agent_reregister_timeout,
            agent_removal_rate_limit: l.text("agent_removal_rate_limit"),
            recovery_agent_removal_limit: text("recovery_agent_removal_limit")?,
            offer_timeout,
            allocation_interval,
            min_allocatable_resources,
            user_sorter: text("user_sorter")?,
            framework_sorter: text("framework_sorter")?,
            max_completed_frameworks: usize_of("max_completed_frameworks")?,
            max_completed_tasks_per_framework: usize_of("max_completed_tasks_per_framework")?,
            max_unreachable_tasks_per_framework: usize_of("max_unreachable_tasks_per_framework")?,
            max_operator_event_stream_subscribers: usize_of(
                "max_operator_event_stream_subscribers",
            )?,
            roles,
            weights,
            authenticate_frameworks: l.bool("authenticate_frameworks")?,
            authenticate_agents: l.bool("authenticate_agents")?,
            authenticate_http_readonly: l.bool("authenticate_http_readonly")?,
            authenticate_http_readwrite: l.bool("authenticate_http_readwrite")?,
            authenticate_http_frameworks: l.bool("authenticate_http_frameworks")?,
            publish_per_framework_metrics: l.bool("publish_per_framework_metrics")?,
            require_agent_domain: l.bool("require_agent_domain")?,
            loaded: l,
        })
    }

    /// The ping deadline an agent is told about: timeout × allowed misses (75 s default).
    pub fn total_ping_timeout(&self) -> Duration {
        self.agent_ping_timeout
            .saturating_mul(u32::try_from(self.max_agent_ping_timeouts).unwrap_or(u32::MAX))
    }

    /// `(name, value)` of every flag that has a value, sorted by name, as `/flags` shows.
    pub fn display_pairs(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.loaded.iter()
    }
}

/// Parses `--roles`: comma-separated role names, each valid under Mesos's rules.
pub fn parse_roles(text: &str) -> Result<Vec<String>, String> {
    let mut roles = Vec::new();
    for role in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        mesos_protos::resources::validation::validate_role(role)
            .map_err(|e| format!("invalid role '{role}': {e}"))?;
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    Ok(roles)
}

/// Parses `--weights`: `role=weight` pairs separated by commas; weights must be positive.
pub fn parse_weights(text: &str) -> Result<Vec<(String, f64)>, String> {
    let mut weights: Vec<(String, f64)> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (role, weight) = pair
            .split_once('=')
            .ok_or_else(|| format!("'{pair}' is not of the form role=weight"))?;
        mesos_protos::resources::validation::validate_role(role)
            .map_err(|e| format!("invalid role '{role}': {e}"))?;
        let weight = parse::parse_float(weight)
            .map_err(|_| format!("weight '{weight}' of role '{role}' is not a number"))?;
        if weight <= 0.0 {
            return Err(format!("weight {weight} of role '{role}' must be positive"));
        }
        match weights.iter_mut().find(|(r, _)| r == role) {
            Some(entry) => entry.1 = weight,
            None => weights.push((role.to_owned(), weight)),
        }
    }
    Ok(weights)
}

#[cfg(test)]
mod tests;

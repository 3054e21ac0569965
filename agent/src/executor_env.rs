//! The environment an executor starts with (reference §4): the agent's own environment, or
//! `--executor_environment_variables` instead of it, then the `MESOS_*` variables the
//! executor API needs, then the variables of the executor's `CommandInfo`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mesos_protos::v1;

/// Everything the executor environment is computed from.
#[derive(Debug, Clone)]
pub struct ExecutorEnv<'a> {
    /// The executor being launched.
    pub executor: &'a v1::ExecutorInfo,
    /// Its framework's id.
    pub framework_id: &'a str,
    /// This agent's id.
    pub agent_id: &'a str,
    /// `ip:port` of the agent's HTTP endpoint.
    pub agent_endpoint: &'a str,
    /// The agent's UPID text (`slave(1)@ip:port`).
    pub agent_pid: &'a str,
    /// Sandbox path on the host.
    pub sandbox: &'a Path,
    /// Sandbox path inside the container, when it has its own root file system.
    pub container_sandbox: Option<&'a Path>,
    /// Whether the framework checkpoints.
    pub checkpoint: bool,
    /// `--recovery_timeout`.
    pub recovery_timeout: Duration,
    /// `--executor_reregistration_timeout` (the executor's subscription back-off cap).
    pub subscription_backoff_max: Duration,
    /// `--executor_shutdown_grace_period` (used if the ExecutorInfo has none).
    pub shutdown_grace_period: Duration,
    /// `--http_command_executor`.
    pub http_command_executor: bool,
    /// The agent's environment (inherited unless `executor_environment_variables`).
    pub agent_environment: &'a BTreeMap<String, String>,
    /// `--executor_environment_variables`.
    pub executor_environment_variables: Option<&'a BTreeMap<String, String>>,
}

/// Renders a duration as stout does (`5secs`, `15mins`, `1.5secs`), the form executors
/// parse back.
pub fn format_duration(d: Duration) -> String {
    const UNITS: [(&str, u128); 8] = [
        ("weeks", 7 * 86_400_000_000_000),
        ("days", 86_400_000_000_000),
        ("hrs", 3_600_000_000_000),
        ("mins", 60_000_000_000),
        ("secs", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let nanos = d.as_nanos();
    for (name, per) in UNITS {
        if nanos >= per {
            return format!("{}{name}", nanos as f64 / per as f64);
        }
    }
    "0ns".to_string()
}

/// The grace period an executor gets between SHUTDOWN and being killed.
pub fn shutdown_grace_period(executor: &v1::ExecutorInfo, default: Duration) -> Duration {
    match &executor.shutdown_grace_period {
        Some(d) if d.nanoseconds >= 0 => Duration::from_nanos(d.nanoseconds as u64),
        _ => default,
    }
}

/// Computes the executor's environment.
pub fn executor_environment(env: &ExecutorEnv<'_>) -> BTreeMap<String, String> {
    let mut out = match env.executor_environment_variables {
        Some(vars) => vars.clone(),
        None => env.agent_environment.clone(),
    };
    // A nested agent's own flags must not configure the executor's libraries.
    if env.executor_environment_variables.is_none() {
        out.retain(|k, _| !k.starts_with("MESOS_") && !k.starts_with("LIBPROCESS_"));
    }
    let mut set = |k: &str, v: String| {
        out.insert(k.to_string(), v);
    };
    set("MESOS_FRAMEWORK_ID", env.framework_id.to_string());
    set("MESOS_EXECUTOR_ID", env.executor.executor_id.value.clone());
    set("MESOS_SLAVE_ID", env.agent_id.to_string());
    set("MESOS_AGENT_ENDPOINT", env.agent_endpoint.to_string());
    set("MESOS_SLAVE_PID", env.agent_pid.to_string());
    set("MESOS_DIRECTORY", env.sandbox.display().to_string());
    set(
        "MESOS_SANDBOX",
        env.container_sandbox
            .unwrap_or(env.sandbox)
            .display()
            .to_string(),
    );
    set(
        "MESOS_CHECKPOINT",
        if env.checkpoint { "1" } else { "0" }.to_string(),
    );
    if env.checkpoint {
        set(
            "MESOS_RECOVERY_TIMEOUT",
            format_duration(env.recovery_timeout),
        );
        set(
            "MESOS_SUBSCRIPTION_BACKOFF_MAX",
            format_duration(env.subscription_backoff_max),
        );
    }
    set(
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
        format_duration(shutdown_grace_period(
            env.executor,
            env.shutdown_grace_period,
        )),
    );
    set(
        "MESOS_HTTP_COMMAND_EXECUTOR",
        if env.http_command_executor { "1" } else { "0" }.to_string(),
    );
    set("LIBPROCESS_PORT", "0".to_string());
    if let Some(ip) = env.agent_environment.get("LIBPROCESS_IP") {
        set("LIBPROCESS_IP", ip.clone());
    }
    if let Some(vars) = env
        .executor
        .command
        .as_ref()
        .and_then(|c| c.environment.as_ref())
    {
        for var in &vars.variables {
            // Secrets need a secret resolver, which this agent does not have yet.
            if let Some(value) = &var.value {
                out.insert(var.name.clone(), value.clone());
            }
        }
    }
    out
}

/// Variables of the executor API that a task must not see (the executor's credentials).
const EXECUTOR_ONLY: &[&str] = &["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"];

/// The environment of a task process an executor starts: the executor's own environment
/// (minus its credentials), `MESOS_SANDBOX` pointing at the task's sandbox, `MESOS_TASK_ID`,
/// then the variables of the task's `CommandInfo` (which win).
pub fn task_environment(
    executor_env: impl IntoIterator<Item = (String, String)>,
    task: &v1::TaskInfo,
    task_sandbox: &Path,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = executor_env
        .into_iter()
        .filter(|(k, _)| !EXECUTOR_ONLY.contains(&k.as_str()))
        .collect();
    out.insert(
        "MESOS_SANDBOX".to_string(),
        task_sandbox.display().to_string(),
    );
    out.insert("MESOS_TASK_ID".to_string(), task.task_id.value.clone());
    if let Some(vars) = task.command.as_ref().and_then(|c| c.environment.as_ref()) {
        for var in &vars.variables {
            // Secrets need a secret resolver, which this agent does not have yet.
            if let Some(value) = &var.value {
                out.insert(var.name.clone(), value.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executor() -> v1::ExecutorInfo {
        v1::ExecutorInfo {
            executor_id: v1::ExecutorId { value: "ex".into() },
            command: Some(v1::CommandInfo {
                environment: Some(v1::Environment {
                    variables: vec![v1::environment::Variable {
                        name: "FOO".into(),
                        value: Some("bar".into()),
                        ..Default::default()
                    }],
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn base<'a>(
        ex: &'a v1::ExecutorInfo,
        agent_env: &'a BTreeMap<String, String>,
    ) -> ExecutorEnv<'a> {
        ExecutorEnv {
            executor: ex,
            framework_id: "fw",
            agent_id: "ag-S0",
            agent_endpoint: "10.0.0.2:5051",
            agent_pid: "slave(1)@10.0.0.2:5051",
            sandbox: Path::new("/w/sandbox"),
            container_sandbox: None,
            checkpoint: true,
            recovery_timeout: Duration::from_secs(900),
            subscription_backoff_max: Duration::from_secs(2),
            shutdown_grace_period: Duration::from_secs(5),
            http_command_executor: false,
            agent_environment: agent_env,
            executor_environment_variables: None,
        }
    }

    #[test]
    fn mesos_variables() {
        let ex = executor();
        let mut agent_env = BTreeMap::new();
        agent_env.insert("PATH".to_string(), "/usr/bin".to_string());
        agent_env.insert("MESOS_WORK_DIR".to_string(), "/w".to_string());
        agent_env.insert("LIBPROCESS_IP".to_string(), "10.0.0.2".to_string());
        let env = executor_environment(&base(&ex, &agent_env));
        assert_eq!(env["PATH"], "/usr/bin");
        assert!(!env.contains_key("MESOS_WORK_DIR"));
        assert_eq!(env["MESOS_FRAMEWORK_ID"], "fw");
        assert_eq!(env["MESOS_EXECUTOR_ID"], "ex");
        assert_eq!(env["MESOS_SLAVE_ID"], "ag-S0");
        assert_eq!(env["MESOS_AGENT_ENDPOINT"], "10.0.0.2:5051");
        assert_eq!(env["MESOS_SLAVE_PID"], "slave(1)@10.0.0.2:5051");
        assert_eq!(env["MESOS_DIRECTORY"], "/w/sandbox");
        assert_eq!(env["MESOS_SANDBOX"], "/w/sandbox");
        assert_eq!(env["MESOS_CHECKPOINT"], "1");
        assert_eq!(env["MESOS_RECOVERY_TIMEOUT"], "15mins");
        assert_eq!(env["MESOS_SUBSCRIPTION_BACKOFF_MAX"], "2secs");
        assert_eq!(env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"], "5secs");
        assert_eq!(env["MESOS_HTTP_COMMAND_EXECUTOR"], "0");
        assert_eq!(env["LIBPROCESS_PORT"], "0");
        assert_eq!(env["LIBPROCESS_IP"], "10.0.0.2");
        assert_eq!(env["FOO"], "bar");
    }

    #[test]
    fn flag_replaces_inherited_environment_and_grace_period_from_executor() {
        let mut ex = executor();
        ex.shutdown_grace_period = Some(v1::DurationInfo {
            nanoseconds: 1_500_000_000,
        });
        let mut agent_env = BTreeMap::new();
        agent_env.insert("PATH".to_string(), "/usr/bin".to_string());
        let mut vars = BTreeMap::new();
        vars.insert("PATH".to_string(), "/bin".to_string());
        let mut input = base(&ex, &agent_env);
        input.executor_environment_variables = Some(&vars);
        input.checkpoint = false;
        input.container_sandbox = Some(Path::new("/mnt/mesos/sandbox"));
        let env = executor_environment(&input);
        assert_eq!(env["PATH"], "/bin");
        assert_eq!(env["MESOS_CHECKPOINT"], "0");
        assert!(!env.contains_key("MESOS_RECOVERY_TIMEOUT"));
        assert_eq!(env["MESOS_SANDBOX"], "/mnt/mesos/sandbox");
        assert_eq!(env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"], "1.5secs");
    }

    #[test]
    fn durations_render_like_stout() {
        assert_eq!(format_duration(Duration::from_secs(60)), "1mins");
        assert_eq!(format_duration(Duration::from_millis(10)), "10ms");
        assert_eq!(format_duration(Duration::from_secs(7 * 86400)), "1weeks");
        assert_eq!(format_duration(Duration::ZERO), "0ns");
        assert_eq!(
            crate::flags::parse::parse_duration(&format_duration(Duration::from_millis(1500)))
                .unwrap(),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn task_environment_adds_task_id_and_sandbox_and_hides_the_token() {
        let task = v1::TaskInfo {
            task_id: v1::TaskId { value: "t7".into() },
            command: Some(v1::CommandInfo {
                environment: Some(v1::Environment {
                    variables: vec![v1::environment::Variable {
                        name: "MESOS_SANDBOX".into(),
                        value: Some("/custom".into()),
                        ..Default::default()
                    }],
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let inherited = vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("MESOS_SANDBOX".to_string(), "/exec".to_string()),
            (
                "MESOS_EXECUTOR_AUTHENTICATION_TOKEN".to_string(),
                "secret".to_string(),
            ),
        ];
        let env = task_environment(inherited.clone(), &task, Path::new("/exec/tasks/t7"));
        assert_eq!(env["PATH"], "/bin");
        assert_eq!(env["MESOS_TASK_ID"], "t7");
        // The task's own variables win over what the executor computed.
        assert_eq!(env["MESOS_SANDBOX"], "/custom");
        assert!(!env.contains_key("MESOS_EXECUTOR_AUTHENTICATION_TOKEN"));
        let plain = v1::TaskInfo {
            task_id: v1::TaskId { value: "t8".into() },
            ..Default::default()
        };
        let env = task_environment(inherited, &plain, Path::new("/exec/tasks/t8"));
        assert_eq!(env["MESOS_SANDBOX"], "/exec/tasks/t8");
        assert_eq!(env["MESOS_TASK_ID"], "t8");
    }
}

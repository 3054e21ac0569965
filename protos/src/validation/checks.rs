//! Health checks, general checks and their reported statuses.

use super::{validate_command_info, ValidationError};
use crate::v1;

fn non_negative(value: Option<f64>, name: &str) -> Result<(), ValidationError> {
    match value {
        Some(v) if v < 0.0 => Err(ValidationError(format!(
            "Expecting '{name}' to be non-negative"
        ))),
        _ => Ok(()),
    }
}

/// What a command check lacking `value` must contain, by its `shell` flag.
fn command_kind(command: &v1::CommandInfo) -> &'static str {
    if command.shell() {
        "'shell command'"
    } else {
        "'executable path'"
    }
}

/// Validates a `HealthCheck`: a known type with its member, a sane HTTP scheme and path,
/// and non-negative timings.
pub fn validate_health_check(check: &v1::HealthCheck) -> Result<(), ValidationError> {
    use v1::health_check::Type;
    let Some(raw) = check.r#type else {
        return Err(ValidationError::new("HealthCheck must specify 'type'"));
    };
    match Type::try_from(raw).unwrap_or(Type::Unknown) {
        Type::Command => {
            let Some(command) = &check.command else {
                return Err(ValidationError::new(
                    "Expecting 'command' to be set for COMMAND health check",
                ));
            };
            if command.value.is_none() {
                return Err(ValidationError(format!(
                    "Command health check must contain {}",
                    command_kind(command)
                )));
            }
            validate_command_info(command).map_err(|e| {
                ValidationError(format!("Health check's `CommandInfo` is invalid: {e}"))
            })?;
        }
        Type::Http => {
            let Some(http) = &check.http else {
                return Err(ValidationError::new(
                    "Expecting 'http' to be set for HTTP health check",
                ));
            };
            if let Some(scheme) = http.scheme.as_deref() {
                if scheme != "http" && scheme != "https" {
                    return Err(ValidationError(format!(
                        "Unsupported HTTP health check scheme: '{scheme}'"
                    )));
                }
            }
            if let Some(path) = http.path.as_deref() {
                if !path.starts_with('/') {
                    return Err(ValidationError(format!(
                        "The path '{path}' of HTTP health check must start with '/'"
                    )));
                }
            }
        }
        Type::Tcp => {
            if check.tcp.is_none() {
                return Err(ValidationError::new(
                    "Expecting 'tcp' to be set for TCP health check",
                ));
            }
        }
        Type::Unknown => {
            return Err(ValidationError::new(
                "'UNKNOWN' is not a valid health check type",
            ))
        }
    }
    non_negative(check.delay_seconds, "delay_seconds")?;
    non_negative(check.grace_period_seconds, "grace_period_seconds")?;
    non_negative(check.interval_seconds, "interval_seconds")?;
    non_negative(check.timeout_seconds, "timeout_seconds")
}

/// Validates a `CheckInfo` (the general, non-killing check).
pub fn validate_check_info(check: &v1::CheckInfo) -> Result<(), ValidationError> {
    use v1::check_info::Type;
    let Some(raw) = check.r#type else {
        return Err(ValidationError::new("CheckInfo must specify 'type'"));
    };
    match Type::try_from(raw).unwrap_or(Type::Unknown) {
        Type::Command => {
            let Some(command) = &check.command else {
                return Err(ValidationError::new(
                    "Expecting 'command' to be set for COMMAND check",
                ));
            };
            let command = &command.command;
            if command.value.is_none() {
                return Err(ValidationError(format!(
                    "Command check must contain {}",
                    command_kind(command)
                )));
            }
            validate_command_info(command)
                .map_err(|e| ValidationError(format!("Check's `CommandInfo` is invalid: {e}")))?;
        }
        Type::Http => {
            let Some(http) = &check.http else {
                return Err(ValidationError::new(
                    "Expecting 'http' to be set for HTTP check",
                ));
            };
            if let Some(path) = http.path.as_deref() {
                if !path.starts_with('/') {
                    return Err(ValidationError(format!(
                        "The path '{path}' of HTTP check must start with '/'"
                    )));
                }
            }
        }
        Type::Tcp => {
            if check.tcp.is_none() {
                return Err(ValidationError::new(
                    "Expecting 'tcp' to be set for TCP check",
                ));
            }
        }
        Type::Unknown => return Err(ValidationError::new("'UNKNOWN' is not a valid check type")),
    }
    non_negative(check.delay_seconds, "delay_seconds")?;
    non_negative(check.interval_seconds, "interval_seconds")?;
    non_negative(check.timeout_seconds, "timeout_seconds")
}

/// Validates a `CheckStatusInfo` as reported by an executor.
pub fn validate_check_status_info(status: &v1::CheckStatusInfo) -> Result<(), ValidationError> {
    use v1::check_info::Type;
    let Some(raw) = status.r#type else {
        return Err(ValidationError::new("CheckStatusInfo must specify 'type'"));
    };
    let (present, kind) = match Type::try_from(raw).unwrap_or(Type::Unknown) {
        Type::Command => (status.command.is_some(), "command"),
        Type::Http => (status.http.is_some(), "http"),
        Type::Tcp => (status.tcp.is_some(), "tcp"),
        Type::Unknown => {
            return Err(ValidationError::new(
                "'UNKNOWN' is not a valid check's status type",
            ))
        }
    };
    if present {
        Ok(())
    } else {
        Err(ValidationError(format!(
            "Expecting '{kind}' to be set for {} check's status",
            kind.to_ascii_uppercase()
        )))
    }
}

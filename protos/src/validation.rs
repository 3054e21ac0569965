//! Validation shared by master and agent, with Mesos's error texts (from Mesos's
//! `common/validation`). Resource validation lives with the `Resources` algebra.

mod checks;
mod executor;

use crate::v1;

pub use checks::{validate_check_info, validate_check_status_info, validate_health_check};
pub use executor::validate_executor_call;

/// A validation failure; the message is the text Mesos reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Longest allowed ID, in bytes (Linux `NAME_MAX`: IDs become directory names).
pub const MAX_ID_LENGTH: usize = 255;

/// Validates a task, executor, agent or framework ID value.
///
/// Rejects the empty string, values longer than [`MAX_ID_LENGTH`] bytes, `.` and `..`, and
/// values containing ASCII control characters or a path separator (`/` or `\`).
pub fn validate_id(id: &str) -> Result<(), ValidationError> {
    if id.is_empty() {
        return Err(ValidationError::new("ID must not be empty"));
    }
    if id.len() > MAX_ID_LENGTH {
        return Err(ValidationError(format!(
            "ID must not be greater than {MAX_ID_LENGTH} characters"
        )));
    }
    if id == "." || id == ".." {
        return Err(ValidationError(format!("'{id}' is disallowed")));
    }
    if id
        .bytes()
        .any(|b| b.is_ascii_control() || b == b'/' || b == b'\\')
    {
        return Err(ValidationError(format!(
            "'{id}' contains invalid characters"
        )));
    }
    Ok(())
}

/// Validates a `Secret`: its `reference` / `value` members must match its type.
pub fn validate_secret(secret: &v1::Secret) -> Result<(), ValidationError> {
    use v1::secret::Type;
    match secret.r#type() {
        Type::Reference => {
            let Some(reference) = &secret.reference else {
                return Err(ValidationError::new(
                    "Secret of type REFERENCE must have the 'reference' field set",
                ));
            };
            if secret.value.is_some() {
                return Err(ValidationError(format!(
                    "Secret '{}' of type REFERENCE must not have the 'value' field set",
                    reference.name
                )));
            }
        }
        Type::Value => {
            if secret.value.is_none() {
                return Err(ValidationError::new(
                    "Secret of type VALUE must have the 'value' field set",
                ));
            }
            if secret.reference.is_some() {
                return Err(ValidationError::new(
                    "Secret of type VALUE must not have the 'reference' field set",
                ));
            }
        }
        Type::Unknown => {}
    }
    Ok(())
}

/// Validates a `Volume`: exactly one origin, and a `source` whose member matches its type.
pub fn validate_volume(volume: &v1::Volume) -> Result<(), ValidationError> {
    use v1::volume::source::Type;
    let origins = usize::from(volume.host_path.is_some())
        + usize::from(volume.image.is_some())
        + usize::from(volume.source.is_some());
    if origins != 1 {
        return Err(ValidationError::new(
            "Only one of them should be set: 'host_path', 'image' and 'source'",
        ));
    }
    if let Some(source) = &volume.source {
        let (present, name, kind) = match source.r#type() {
            Type::DockerVolume => (
                source.docker_volume.is_some(),
                "docker_volume",
                "DOCKER_VOLUME",
            ),
            Type::HostPath => (source.host_path.is_some(), "host_path", "HOST_PATH"),
            Type::SandboxPath => (
                source.sandbox_path.is_some(),
                "sandbox_path",
                "SANDBOX_PATH",
            ),
            Type::Secret => (source.secret.is_some(), "secret", "SECRET"),
            Type::Unknown => return Err(ValidationError::new("'source.type' is unknown")),
        };
        if !present {
            return Err(ValidationError(format!(
                "'source.{name}' is not set for {kind} volume"
            )));
        }
    }
    Ok(())
}

/// Validates the variables of an `Environment`: each carries exactly the member its type
/// asks for, and secret values cannot hold NUL bytes.
pub fn validate_environment(environment: &v1::Environment) -> Result<(), ValidationError> {
    use v1::environment::variable::Type;
    for variable in &environment.variables {
        let name = &variable.name;
        // An unset type reads as VALUE, the field's declared default.
        match variable.r#type() {
            Type::Secret => {
                let Some(secret) = &variable.secret else {
                    return Err(ValidationError(format!(
                        "Environment variable '{name}' of type 'SECRET' must have a secret set"
                    )));
                };
                if variable.value.is_some() {
                    return Err(ValidationError(format!(
                        "Environment variable '{name}' of type 'SECRET' must not have a value set"
                    )));
                }
                if let Err(e) = validate_secret(secret) {
                    return Err(ValidationError(format!(
                        "Environment variable '{name}' specifies an invalid secret: {e}"
                    )));
                }
                if secret.value.as_ref().is_some_and(|v| v.data.contains(&0)) {
                    return Err(ValidationError(format!(
                        "Environment variable '{name}' specifies a secret containing null \
                         bytes, which is not allowed in the environment"
                    )));
                }
            }
            Type::Value => {
                if variable.value.is_none() {
                    return Err(ValidationError(format!(
                        "Environment variable '{name}' of type 'VALUE' must have a value set"
                    )));
                }
                if variable.secret.is_some() {
                    return Err(ValidationError(format!(
                        "Environment variable '{name}' of type 'VALUE' must not have a secret set"
                    )));
                }
            }
            Type::Unknown => {
                return Err(ValidationError::new(
                    "Environment variable of type 'UNKNOWN' is not allowed",
                ))
            }
        }
    }
    Ok(())
}

/// Validates a `CommandInfo` (today: its environment).
pub fn validate_command_info(command: &v1::CommandInfo) -> Result<(), ValidationError> {
    match &command.environment {
        Some(environment) => validate_environment(environment),
        None => Ok(()),
    }
}

/// Validates a `ContainerInfo`: its volumes, and for DOCKER a `docker` member without a
/// `name` parameter (the Docker containerizer names containers itself).
pub fn validate_container_info(container: &v1::ContainerInfo) -> Result<(), ValidationError> {
    for volume in &container.volumes {
        validate_volume(volume).map_err(|e| ValidationError(format!("Invalid volume: {e}")))?;
    }
    if container.r#type == v1::container_info::Type::Docker as i32 {
        let Some(docker) = &container.docker else {
            return Err(ValidationError::new(
                "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo",
            ));
        };
        if docker.parameters.iter().any(|p| p.key == "name") {
            return Err(ValidationError::new(
                "Parameter in DockerInfo must not be 'name'",
            ));
        }
    }
    Ok(())
}

/// Validates a scalar given as input (quantities, weights): finite, normal or zero, and
/// not negative.
pub fn validate_input_scalar_value(value: f64) -> Result<(), ValidationError> {
    use std::num::FpCategory;
    match value.classify() {
        FpCategory::Infinite => Err(ValidationError::new("Infinite values not supported")),
        FpCategory::Nan => Err(ValidationError::new("NaN not supported")),
        FpCategory::Subnormal => Err(ValidationError::new("Subnormal values not supported")),
        FpCategory::Zero => Ok(()),
        FpCategory::Normal if value < 0.0 => {
            Err(ValidationError::new("Negative values not supported"))
        }
        FpCategory::Normal => Ok(()),
    }
}

/// Validates `OfferFilters`: every alternative of `min_allocatable_resources` names at
/// least one quantity, and each quantity is a valid input scalar.
pub fn validate_offer_filters(filters: &v1::OfferFilters) -> Result<(), ValidationError> {
    let Some(min) = &filters.min_allocatable_resources else {
        return Ok(());
    };
    for alternative in &min.quantities {
        if alternative.quantities.is_empty() {
            return Err(ValidationError::new(
                "Resource quantities must contain at least one quantity",
            ));
        }
        // Sorted so the first error reported does not depend on hash order.
        let mut entries: Vec<_> = alternative.quantities.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (name, scalar) in entries {
            validate_input_scalar_value(scalar.value).map_err(|e| {
                ValidationError(format!("Invalid resource quantity for '{name}': {e}"))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

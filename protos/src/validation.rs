//! Validation shared by master and agent, with Mesos's error texts (from Mesos's
//! `common/validation`). Resource validation lives with the `Resources` algebra.

use crate::v1;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rules() {
        assert_eq!(
            validate_id(""),
            Err(ValidationError::new("ID must not be empty"))
        );
        assert_eq!(
            validate_id(&"a".repeat(256)),
            Err(ValidationError::new(
                "ID must not be greater than 255 characters"
            ))
        );
        assert!(validate_id(&"a".repeat(255)).is_ok());
        assert_eq!(
            validate_id("."),
            Err(ValidationError::new("'.' is disallowed"))
        );
        assert_eq!(
            validate_id(".."),
            Err(ValidationError::new("'..' is disallowed"))
        );
        for bad in ["a/b", "a\\b", "a\nb", "tab\there", "nul\0", "del\u{7f}"] {
            assert_eq!(
                validate_id(bad),
                Err(ValidationError(format!(
                    "'{bad}' contains invalid characters"
                ))),
                "{bad:?}"
            );
        }
        // Mesos allows spaces, dots inside a name and non-ASCII text.
        for good in ["my task", "a.b", "...", "tâche-1", "4f7c-0000-S2"] {
            assert!(validate_id(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn secret_members_match_type() {
        use v1::secret::{Reference, Type, Value};
        let reference = Some(Reference {
            name: "db".into(),
            key: None,
        });
        let value = Some(Value {
            data: b"pw".to_vec(),
        });
        let secret = |t: Type, r: Option<Reference>, v: Option<Value>| v1::Secret {
            r#type: Some(t as i32),
            reference: r,
            value: v,
        };
        assert!(validate_secret(&secret(Type::Reference, reference.clone(), None)).is_ok());
        assert!(validate_secret(&secret(Type::Value, None, value.clone())).is_ok());
        assert_eq!(
            validate_secret(&secret(Type::Reference, None, None))
                .unwrap_err()
                .0,
            "Secret of type REFERENCE must have the 'reference' field set"
        );
        assert_eq!(
            validate_secret(&secret(Type::Reference, reference.clone(), value.clone()))
                .unwrap_err()
                .0,
            "Secret 'db' of type REFERENCE must not have the 'value' field set"
        );
        assert_eq!(
            validate_secret(&secret(Type::Value, None, None))
                .unwrap_err()
                .0,
            "Secret of type VALUE must have the 'value' field set"
        );
        assert_eq!(
            validate_secret(&secret(Type::Value, reference, value))
                .unwrap_err()
                .0,
            "Secret of type VALUE must not have the 'reference' field set"
        );
    }

    #[test]
    fn volume_origin_and_source() {
        use v1::volume::{source, Mode, Source};
        let base = v1::Volume {
            mode: Mode::Rw as i32,
            container_path: "data".into(),
            ..Default::default()
        };
        assert_eq!(
            validate_volume(&base).unwrap_err().0,
            "Only one of them should be set: 'host_path', 'image' and 'source'"
        );
        let host = v1::Volume {
            host_path: Some("/tmp".into()),
            ..base.clone()
        };
        assert!(validate_volume(&host).is_ok());
        let both = v1::Volume {
            source: Some(Source::default()),
            ..host
        };
        assert!(validate_volume(&both).is_err());
        let sandbox = |member: bool| v1::Volume {
            source: Some(Source {
                r#type: Some(source::Type::SandboxPath as i32),
                sandbox_path: member.then(|| source::SandboxPath {
                    r#type: Some(source::sandbox_path::Type::Self_ as i32),
                    path: "x".into(),
                }),
                ..Default::default()
            }),
            ..base.clone()
        };
        assert!(validate_volume(&sandbox(true)).is_ok());
        assert_eq!(
            validate_volume(&sandbox(false)).unwrap_err().0,
            "'source.sandbox_path' is not set for SANDBOX_PATH volume"
        );
        let unknown = v1::Volume {
            source: Some(Source::default()),
            ..base
        };
        assert_eq!(
            validate_volume(&unknown).unwrap_err().0,
            "'source.type' is unknown"
        );
    }
}

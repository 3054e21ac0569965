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

fn variable(name: &str, t: v1::environment::variable::Type) -> v1::environment::Variable {
    v1::environment::Variable {
        name: name.into(),
        r#type: Some(t as i32),
        ..Default::default()
    }
}

#[test]
fn environment_variables_match_their_type() {
    use v1::environment::variable::Type;
    let env = |vars: Vec<v1::environment::Variable>| v1::Environment { variables: vars };
    let secret_value = |data: &[u8]| v1::Secret {
        r#type: Some(v1::secret::Type::Value as i32),
        value: Some(v1::secret::Value {
            data: data.to_vec(),
        }),
        reference: None,
    };

    let mut ok = variable("A", Type::Value);
    ok.value = Some("1".into());
    assert!(validate_environment(&env(vec![ok.clone()])).is_ok());
    // No type at all reads as VALUE (the declared default).
    let untyped = v1::environment::Variable {
        r#type: None,
        ..ok.clone()
    };
    assert!(validate_environment(&env(vec![untyped])).is_ok());

    assert_eq!(
        validate_environment(&env(vec![variable("A", Type::Value)]))
            .unwrap_err()
            .0,
        "Environment variable 'A' of type 'VALUE' must have a value set"
    );
    let mut both = ok.clone();
    both.secret = Some(secret_value(b"x"));
    assert_eq!(
        validate_environment(&env(vec![both])).unwrap_err().0,
        "Environment variable 'A' of type 'VALUE' must not have a secret set"
    );
    assert_eq!(
        validate_environment(&env(vec![variable("S", Type::Secret)]))
            .unwrap_err()
            .0,
        "Environment variable 'S' of type 'SECRET' must have a secret set"
    );
    let mut nul = variable("S", Type::Secret);
    nul.secret = Some(secret_value(b"a\0b"));
    assert_eq!(
        validate_environment(&env(vec![nul])).unwrap_err().0,
        "Environment variable 'S' specifies a secret containing null bytes, which is not \
         allowed in the environment"
    );
    let mut bad_secret = variable("S", Type::Secret);
    bad_secret.secret = Some(v1::Secret {
        r#type: Some(v1::secret::Type::Value as i32),
        ..Default::default()
    });
    assert_eq!(
        validate_environment(&env(vec![bad_secret])).unwrap_err().0,
        "Environment variable 'S' specifies an invalid secret: Secret of type VALUE must \
         have the 'value' field set"
    );
    assert_eq!(
        validate_environment(&env(vec![ok, variable("U", Type::Unknown)]))
            .unwrap_err()
            .0,
        "Environment variable of type 'UNKNOWN' is not allowed"
    );
}

#[test]
fn container_info_rules() {
    use v1::container_info::{DockerInfo, Type};
    let docker = v1::ContainerInfo {
        r#type: Type::Docker as i32,
        ..Default::default()
    };
    assert_eq!(
        validate_container_info(&docker).unwrap_err().0,
        "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo"
    );
    let named = v1::ContainerInfo {
        docker: Some(DockerInfo {
            image: "redis".into(),
            parameters: vec![v1::Parameter {
                key: "name".into(),
                value: "x".into(),
            }],
            ..Default::default()
        }),
        ..docker.clone()
    };
    assert_eq!(
        validate_container_info(&named).unwrap_err().0,
        "Parameter in DockerInfo must not be 'name'"
    );
    let bad_volume = v1::ContainerInfo {
        r#type: Type::Mesos as i32,
        volumes: vec![v1::Volume {
            container_path: "x".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        validate_container_info(&bad_volume).unwrap_err().0,
        "Invalid volume: Only one of them should be set: 'host_path', 'image' and 'source'"
    );
    let mesos = v1::ContainerInfo {
        r#type: Type::Mesos as i32,
        ..Default::default()
    };
    assert!(validate_container_info(&mesos).is_ok());
}

#[test]
fn health_checks() {
    use v1::health_check::{HttpCheckInfo, Type};
    let typed = |t: Type| v1::HealthCheck {
        r#type: Some(t as i32),
        ..Default::default()
    };
    assert_eq!(
        validate_health_check(&v1::HealthCheck::default())
            .unwrap_err()
            .0,
        "HealthCheck must specify 'type'"
    );
    assert_eq!(
        validate_health_check(&typed(Type::Unknown)).unwrap_err().0,
        "'UNKNOWN' is not a valid health check type"
    );
    assert_eq!(
        validate_health_check(&typed(Type::Tcp)).unwrap_err().0,
        "Expecting 'tcp' to be set for TCP health check"
    );
    let mut command = typed(Type::Command);
    command.command = Some(v1::CommandInfo::default());
    assert_eq!(
        validate_health_check(&command).unwrap_err().0,
        "Command health check must contain 'shell command'"
    );
    command.command = Some(v1::CommandInfo {
        shell: Some(false),
        ..Default::default()
    });
    assert_eq!(
        validate_health_check(&command).unwrap_err().0,
        "Command health check must contain 'executable path'"
    );
    let mut http = typed(Type::Http);
    http.http = Some(HttpCheckInfo {
        port: 80,
        scheme: Some("ftp".into()),
        ..Default::default()
    });
    assert_eq!(
        validate_health_check(&http).unwrap_err().0,
        "Unsupported HTTP health check scheme: 'ftp'"
    );
    http.http = Some(HttpCheckInfo {
        port: 80,
        path: Some("health".into()),
        ..Default::default()
    });
    assert_eq!(
        validate_health_check(&http).unwrap_err().0,
        "The path 'health' of HTTP health check must start with '/'"
    );
    http.http = Some(HttpCheckInfo {
        port: 80,
        scheme: Some("https".into()),
        path: Some("/health".into()),
        ..Default::default()
    });
    assert!(validate_health_check(&http).is_ok());
    http.interval_seconds = Some(-1.0);
    assert_eq!(
        validate_health_check(&http).unwrap_err().0,
        "Expecting 'interval_seconds' to be non-negative"
    );
}

#[test]
fn checks_and_check_statuses() {
    use v1::check_info::{Http, Type};
    let check = |t: Type| v1::CheckInfo {
        r#type: Some(t as i32),
        ..Default::default()
    };
    assert_eq!(
        validate_check_info(&v1::CheckInfo::default())
            .unwrap_err()
            .0,
        "CheckInfo must specify 'type'"
    );
    assert_eq!(
        validate_check_info(&check(Type::Command)).unwrap_err().0,
        "Expecting 'command' to be set for COMMAND check"
    );
    let mut http = check(Type::Http);
    http.http = Some(Http {
        port: 8080,
        path: Some("x".into()),
    });
    assert_eq!(
        validate_check_info(&http).unwrap_err().0,
        "The path 'x' of HTTP check must start with '/'"
    );
    let mut tcp = check(Type::Tcp);
    tcp.tcp = Some(v1::check_info::Tcp { port: 1 });
    tcp.timeout_seconds = Some(-0.5);
    assert_eq!(
        validate_check_info(&tcp).unwrap_err().0,
        "Expecting 'timeout_seconds' to be non-negative"
    );

    let status = |t: Type| v1::CheckStatusInfo {
        r#type: Some(t as i32),
        ..Default::default()
    };
    assert_eq!(
        validate_check_status_info(&status(Type::Http))
            .unwrap_err()
            .0,
        "Expecting 'http' to be set for HTTP check's status"
    );
    assert_eq!(
        validate_check_status_info(&status(Type::Unknown))
            .unwrap_err()
            .0,
        "'UNKNOWN' is not a valid check's status type"
    );
    let mut ok = status(Type::Tcp);
    ok.tcp = Some(v1::check_status_info::Tcp {
        succeeded: Some(true),
    });
    assert!(validate_check_status_info(&ok).is_ok());
}

#[test]
fn executor_update_calls() {
    use crate::mesos::v1::executor::{call, Call};
    let uuid = vec![
        0xde, 0xad, 0xbe, 0xef, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1,
    ];
    let status = v1::TaskStatus {
        task_id: v1::TaskId { value: "t".into() },
        state: v1::TaskState::TaskRunning as i32,
        source: Some(v1::task_status::Source::Executor as i32),
        executor_id: Some(v1::ExecutorId { value: "e".into() }),
        uuid: Some(uuid),
        ..Default::default()
    };
    let update = |status: v1::TaskStatus| Call {
        executor_id: v1::ExecutorId { value: "e".into() },
        framework_id: v1::FrameworkId { value: "f".into() },
        r#type: Some(call::Type::Update as i32),
        update: Some(call::Update { status }),
        ..Default::default()
    };
    assert!(validate_executor_call(&update(status.clone())).is_ok());

    let mut no_type = update(status.clone());
    no_type.r#type = None;
    assert_eq!(
        validate_executor_call(&no_type).unwrap_err().0,
        "Expecting 'type' to be present"
    );
    let mut bad_uuid = status.clone();
    bad_uuid.uuid = Some(vec![0; 16]); // version nibble 0
    assert_eq!(
        validate_executor_call(&update(bad_uuid)).unwrap_err().0,
        "Not a valid UUID"
    );
    let mut other = status.clone();
    other.executor_id = Some(v1::ExecutorId { value: "x".into() });
    assert_eq!(
        validate_executor_call(&update(other)).unwrap_err().0,
        "ExecutorID in Call: e does not match ExecutorID in TaskStatus: x"
    );
    let mut from_agent = status.clone();
    from_agent.source = Some(v1::task_status::Source::Agent as i32);
    assert_eq!(
        validate_executor_call(&update(from_agent)).unwrap_err().0,
        "Received Call from executor e of framework f with invalid source, expecting \
         'SOURCE_EXECUTOR'"
    );
    let mut staging = status;
    staging.state = v1::TaskState::TaskStaging as i32;
    assert_eq!(
        validate_executor_call(&update(staging)).unwrap_err().0,
        "Received TASK_STAGING from executor e of framework f which is not allowed"
    );
}

#[test]
fn scalars_and_offer_filters() {
    use v1::offer_filters::{MinAllocatableResources, ResourceQuantities};
    assert!(validate_input_scalar_value(0.0).is_ok());
    assert!(validate_input_scalar_value(1.5).is_ok());
    for (v, text) in [
        (f64::INFINITY, "Infinite values not supported"),
        (f64::NAN, "NaN not supported"),
        (f64::MIN_POSITIVE / 2.0, "Subnormal values not supported"),
        (-1.0, "Negative values not supported"),
    ] {
        assert_eq!(validate_input_scalar_value(v).unwrap_err().0, text);
    }
    let filters = |alternatives: Vec<Vec<(&str, f64)>>| v1::OfferFilters {
        min_allocatable_resources: Some(MinAllocatableResources {
            quantities: alternatives
                .into_iter()
                .map(|q| ResourceQuantities {
                    quantities: q
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v1::value::Scalar { value: v }))
                        .collect(),
                })
                .collect(),
        }),
    };
    assert!(validate_offer_filters(&filters(vec![vec![("cpus", 1.0)]])).is_ok());
    assert_eq!(
        validate_offer_filters(&filters(vec![vec![("cpus", 1.0)], vec![]]))
            .unwrap_err()
            .0,
        "Resource quantities must contain at least one quantity"
    );
    assert_eq!(
        validate_offer_filters(&filters(vec![vec![("mem", -2.0)]]))
            .unwrap_err()
            .0,
        "Invalid resource quantity for 'mem': Negative values not supported"
    );
}

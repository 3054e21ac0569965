//! Spot-checks of the compiled `.proto` schemas against Mesos 1.8 interface facts taken from the
//! wire reference (`mesos-reference.md` §2–§6, §9.2): field numbers, enum values, explicit
//! defaults and deprecation markers. A transcription slip in a `.proto` file fails here.

use std::collections::BTreeMap;

use mesos_protos::mesos::internal;
use mesos_protos::mesos::v1::{self, executor, master, quota, scheduler};
use prost::Message;
use prost_reflect::{DescriptorPool, MessageDescriptor};

fn pool() -> DescriptorPool {
    DescriptorPool::decode(
        include_bytes!(concat!(env!("OUT_DIR"), "/file_descriptor_set.bin")).as_ref(),
    )
    .expect("descriptor set decodes")
}

fn message(pool: &DescriptorPool, name: &str) -> MessageDescriptor {
    pool.get_message_by_name(name)
        .unwrap_or_else(|| panic!("message {name} missing"))
}

/// Asserts `(field name, number)` pairs of one message.
fn assert_fields(pool: &DescriptorPool, name: &str, expected: &[(&str, u32)]) {
    let m = message(pool, name);
    for (field, number) in expected {
        let f = m
            .get_field_by_name(field)
            .unwrap_or_else(|| panic!("{name}.{field} missing"));
        assert_eq!(f.number(), *number, "{name}.{field}");
    }
}

/// Asserts that an enum has exactly the given `(value name, number)` pairs.
fn assert_enum_exact(pool: &DescriptorPool, name: &str, expected: &[(&str, i32)]) {
    let e = pool
        .get_enum_by_name(name)
        .unwrap_or_else(|| panic!("enum {name} missing"));
    let actual: BTreeMap<String, i32> = e
        .values()
        .map(|v| (v.name().to_string(), v.number()))
        .collect();
    let wanted: BTreeMap<String, i32> = expected.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    assert_eq!(actual, wanted, "enum {name}");
}

/// Returns the top-level field numbers (and wire types) of an encoded message, in order.
fn tags(mut bytes: &[u8]) -> Vec<(u32, u8)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (b, rest) = bytes.split_first().expect("truncated varint");
            *bytes = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        value
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let wire = (key & 7) as u8;
        out.push(((key >> 3) as u32, wire));
        match wire {
            0 => {
                varint(&mut bytes);
            }
            1 => bytes = &bytes[8..],
            2 => {
                let len = varint(&mut bytes) as usize;
                bytes = &bytes[len..];
            }
            5 => bytes = &bytes[4..],
            other => panic!("unexpected wire type {other}"),
        }
    }
    out
}

fn field_numbers(bytes: &[u8]) -> Vec<u32> {
    tags(bytes).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn task_state_values() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.TaskState",
        &[
            ("TASK_STAGING", 6),
            ("TASK_STARTING", 0),
            ("TASK_RUNNING", 1),
            ("TASK_KILLING", 8),
            ("TASK_FINISHED", 2),
            ("TASK_FAILED", 3),
            ("TASK_KILLED", 4),
            ("TASK_ERROR", 7),
            ("TASK_LOST", 5),
            ("TASK_DROPPED", 9),
            ("TASK_UNREACHABLE", 10),
            ("TASK_GONE", 11),
            ("TASK_GONE_BY_OPERATOR", 12),
            ("TASK_UNKNOWN", 13),
        ],
    );
    assert_eq!(v1::TaskState::TaskStaging as i32, 6);
    assert_eq!(v1::TaskState::TaskUnknown as i32, 13);
}

#[test]
fn operation_state_and_operation_types() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.OperationState",
        &[
            ("OPERATION_UNSUPPORTED", 0),
            ("OPERATION_PENDING", 1),
            ("OPERATION_FINISHED", 2),
            ("OPERATION_FAILED", 3),
            ("OPERATION_ERROR", 4),
            ("OPERATION_DROPPED", 5),
            ("OPERATION_UNREACHABLE", 6),
            ("OPERATION_GONE_BY_OPERATOR", 7),
            ("OPERATION_RECOVERING", 8),
            ("OPERATION_UNKNOWN", 9),
        ],
    );
    assert_enum_exact(
        &p,
        "mesos.v1.Offer.Operation.Type",
        &[
            ("UNKNOWN", 0),
            ("LAUNCH", 1),
            ("LAUNCH_GROUP", 6),
            ("RESERVE", 2),
            ("UNRESERVE", 3),
            ("CREATE", 4),
            ("DESTROY", 5),
            ("GROW_VOLUME", 11),
            ("SHRINK_VOLUME", 12),
            ("CREATE_DISK", 13),
            ("DESTROY_DISK", 14),
        ],
    );
    assert_fields(
        &p,
        "mesos.v1.Offer.Operation",
        &[("type", 1), ("id", 12), ("launch", 2), ("reserve", 3)],
    );
    assert_fields(
        &p,
        "mesos.v1.OperationStatus",
        &[
            ("operation_id", 1),
            ("state", 2),
            ("message", 3),
            ("converted_resources", 4),
            ("uuid", 5),
            ("agent_id", 6),
            ("resource_provider_id", 7),
        ],
    );
}

#[test]
fn task_status_reasons_and_sources() {
    let p = pool();
    let reason = p
        .get_enum_by_name("mesos.v1.TaskStatus.Reason")
        .expect("Reason");
    // Every reason the reference lists for 1.8 (REASON_AGENT_DRAINING is 1.9 and absent).
    for name in [
        "REASON_COMMAND_EXECUTOR_FAILED",
        "REASON_CONTAINER_LAUNCH_FAILED",
        "REASON_CONTAINER_LIMITATION",
        "REASON_CONTAINER_LIMITATION_DISK",
        "REASON_CONTAINER_LIMITATION_MEMORY",
        "REASON_CONTAINER_PREEMPTED",
        "REASON_CONTAINER_UPDATE_FAILED",
        "REASON_MAX_COMPLETION_TIME_REACHED",
        "REASON_EXECUTOR_REGISTRATION_TIMEOUT",
        "REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
        "REASON_EXECUTOR_TERMINATED",
        "REASON_EXECUTOR_UNREGISTERED",
        "REASON_FRAMEWORK_REMOVED",
        "REASON_GC_ERROR",
        "REASON_INVALID_FRAMEWORKID",
        "REASON_INVALID_OFFERS",
        "REASON_IO_SWITCHBOARD_EXITED",
        "REASON_MASTER_DISCONNECTED",
        "REASON_RECONCILIATION",
        "REASON_RESOURCES_UNKNOWN",
        "REASON_AGENT_DISCONNECTED",
        "REASON_AGENT_REMOVED",
        "REASON_AGENT_REMOVED_BY_OPERATOR",
        "REASON_AGENT_REREGISTERED",
        "REASON_AGENT_RESTARTED",
        "REASON_AGENT_UNKNOWN",
        "REASON_TASK_KILLED_DURING_LAUNCH",
        "REASON_TASK_CHECK_STATUS_UPDATED",
        "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
        "REASON_TASK_GROUP_INVALID",
        "REASON_TASK_GROUP_UNAUTHORIZED",
        "REASON_TASK_INVALID",
        "REASON_TASK_UNAUTHORIZED",
        "REASON_TASK_UNKNOWN",
    ] {
        assert!(reason.get_value_by_name(name).is_some(), "missing {name}");
    }
    assert!(reason.get_value_by_name("REASON_AGENT_DRAINING").is_none());
    // Values shared with v0 (SLAVE_* there) keep their numbers.
    assert_eq!(
        v1::task_status::Reason::AgentDisconnected as i32,
        10,
        "REASON_AGENT_DISCONNECTED"
    );
    assert_eq!(v1::task_status::Reason::AgentRemoved as i32, 11);
    assert_eq!(v1::task_status::Reason::Reconciliation as i32, 9);
    assert_enum_exact(
        &p,
        "mesos.v1.TaskStatus.Source",
        &[
            ("SOURCE_MASTER", 0),
            ("SOURCE_AGENT", 1),
            ("SOURCE_EXECUTOR", 2),
        ],
    );
    assert_fields(
        &p,
        "mesos.v1.TaskStatus",
        &[
            ("task_id", 1),
            ("state", 2),
            ("message", 4),
            ("agent_id", 5),
            ("timestamp", 6),
            ("executor_id", 7),
            ("healthy", 8),
            ("source", 9),
            ("reason", 10),
            ("uuid", 11),
        ],
    );
}

#[test]
fn scheduler_call_types_and_members() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.scheduler.Call.Type",
        &[
            ("UNKNOWN", 0),
            ("SUBSCRIBE", 1),
            ("TEARDOWN", 2),
            ("ACCEPT", 3),
            ("DECLINE", 4),
            ("ACCEPT_INVERSE_OFFERS", 13),
            ("DECLINE_INVERSE_OFFERS", 14),
            ("REVIVE", 5),
            ("KILL", 6),
            ("SHUTDOWN", 7),
            ("ACKNOWLEDGE", 8),
            ("ACKNOWLEDGE_OPERATION_STATUS", 15),
            ("RECONCILE", 9),
            ("RECONCILE_OPERATIONS", 16),
            ("MESSAGE", 10),
            ("REQUEST", 11),
            ("SUPPRESS", 12),
        ],
    );
    assert_fields(
        &p,
        "mesos.v1.scheduler.Call",
        &[
            ("framework_id", 1),
            ("type", 2),
            ("subscribe", 3),
            ("accept", 4),
            ("decline", 5),
            ("accept_inverse_offers", 13),
            ("decline_inverse_offers", 14),
            ("revive", 15),
            ("kill", 6),
            ("shutdown", 7),
            ("acknowledge", 8),
            ("acknowledge_operation_status", 17),
            ("reconcile", 9),
            ("reconcile_operations", 18),
            ("message", 10),
            ("request", 11),
            ("suppress", 16),
        ],
    );
    // UPDATE_FRAMEWORK is Mesos 1.9; this schema is 1.8.
    assert!(message(&p, "mesos.v1.scheduler.Call")
        .get_field_by_name("update_framework")
        .is_none());
}

#[test]
fn scheduler_event_types_and_members() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.scheduler.Event.Type",
        &[
            ("UNKNOWN", 0),
            ("SUBSCRIBED", 1),
            ("OFFERS", 2),
            ("INVERSE_OFFERS", 9),
            ("RESCIND", 3),
            ("RESCIND_INVERSE_OFFER", 10),
            ("UPDATE", 4),
            ("UPDATE_OPERATION_STATUS", 11),
            ("MESSAGE", 5),
            ("FAILURE", 6),
            ("ERROR", 7),
            ("HEARTBEAT", 8),
        ],
    );
    assert_fields(
        &p,
        "mesos.v1.scheduler.Event",
        &[
            ("type", 1),
            ("subscribed", 2),
            ("offers", 3),
            ("inverse_offers", 9),
            ("rescind", 4),
            ("rescind_inverse_offer", 10),
            ("update", 5),
            ("update_operation_status", 11),
            ("message", 6),
            ("failure", 7),
            ("error", 8),
        ],
    );
}

#[test]
fn scheduler_accept_call_encodes_with_mesos_tags() {
    let call = scheduler::Call {
        framework_id: Some(v1::FrameworkId { value: "fw".into() }),
        r#type: Some(scheduler::call::Type::Accept as i32),
        accept: Some(scheduler::call::Accept {
            offer_ids: vec![v1::OfferId { value: "o".into() }],
            operations: vec![v1::offer::Operation {
                r#type: Some(v1::offer::operation::Type::Launch as i32),
                id: Some(v1::OperationId { value: "op".into() }),
                ..Default::default()
            }],
            filters: Some(v1::Filters {
                refuse_seconds: Some(10.0),
            }),
        }),
        ..Default::default()
    };
    let bytes = call.encode_to_vec();
    assert_eq!(field_numbers(&bytes), [1, 2, 4]);
    // framework_id = 1 (LEN "fw" wrapped in FrameworkID.value = 1), then type = 2 (varint 3).
    assert_eq!(
        &bytes[..8],
        &[0x0a, 0x04, 0x0a, 0x02, b'f', b'w', 0x10, 0x03]
    );
    let decoded = scheduler::Call::decode(bytes.as_slice()).expect("decodes");
    let accept = decoded.accept.expect("accept");
    let op_bytes = accept.operations[0].encode_to_vec();
    assert_eq!(
        field_numbers(&op_bytes),
        [1, 12],
        "Offer.Operation type=1, id=12"
    );
    assert_eq!(
        field_numbers(&accept.filters.expect("filters").encode_to_vec()),
        [1]
    );
}

#[test]
fn task_status_encodes_like_mesos() {
    let status = v1::TaskStatus {
        task_id: v1::TaskId { value: "t".into() },
        state: v1::TaskState::TaskRunning as i32,
        uuid: Some(vec![0xab; 16]),
        ..Default::default()
    };
    let bytes = status.encode_to_vec();
    // task_id = 1 {value = 1 "t"}, state = 2 (RUNNING = 1), uuid = 11 (bytes).
    assert_eq!(&bytes[..7], &[0x0a, 0x03, 0x0a, 0x01, b't', 0x10, 0x01]);
    assert_eq!(&bytes[7..9], &[0x5a, 0x10]);
    let event = scheduler::Event {
        r#type: Some(scheduler::event::Type::Update as i32),
        update: Some(scheduler::event::Update { status }),
        ..Default::default()
    };
    let bytes = event.encode_to_vec();
    assert_eq!(field_numbers(&bytes), [1, 5]);
    assert_eq!(
        scheduler::Event::decode(bytes.as_slice()).expect("decodes"),
        event
    );
}

#[test]
fn container_id_nests_recursively() {
    let id = v1::ContainerId {
        value: "child".into(),
        parent: Some(Box::new(v1::ContainerId {
            value: "parent".into(),
            parent: None,
        })),
    };
    let bytes = id.encode_to_vec();
    assert_eq!(field_numbers(&bytes), [1, 2]);
    assert_eq!(
        v1::ContainerId::decode(bytes.as_slice()).expect("decodes"),
        id
    );
}

#[test]
fn explicit_defaults_the_json_layer_emits() {
    let p = pool();
    // (message, field, default as written in the descriptor, deprecated?)
    let cases = [
        ("mesos.v1.FrameworkInfo", "failover_timeout", "0", false),
        ("mesos.v1.FrameworkInfo", "checkpoint", "false", false),
        ("mesos.v1.FrameworkInfo", "role", "*", true),
        ("mesos.v1.CommandInfo", "shell", "true", false),
        ("mesos.v1.CommandInfo.URI", "extract", "true", false),
        ("mesos.v1.Filters", "refuse_seconds", "5", false),
        ("mesos.v1.MasterInfo", "port", "5050", false),
        ("mesos.v1.AgentInfo", "port", "5051", false),
        ("mesos.v1.Environment.Variable", "type", "VALUE", false),
        (
            "mesos.v1.ContainerInfo.DockerInfo",
            "network",
            "HOST",
            false,
        ),
        (
            "mesos.v1.ContainerInfo.DockerInfo",
            "privileged",
            "false",
            false,
        ),
        ("mesos.v1.Resource", "role", "*", true),
    ];
    for (msg, field, default, deprecated) in cases {
        let m = message(&p, msg);
        let f = m
            .get_field_by_name(field)
            .unwrap_or_else(|| panic!("{msg}.{field} missing"));
        let proto = f.field_descriptor_proto();
        assert_eq!(
            proto.default_value.as_deref(),
            Some(default),
            "{msg}.{field} default"
        );
        let is_deprecated = proto.options.as_ref().and_then(|o| o.deprecated) == Some(true);
        assert_eq!(is_deprecated, deprecated, "{msg}.{field} deprecated");
    }
    // The prost getters see the same defaults.
    assert_eq!(v1::Filters::default().refuse_seconds(), 5.0);
    assert!(v1::CommandInfo::default().shell());
    assert_eq!(v1::MasterInfo::default().port, 5050);
    assert_eq!(v1::AgentInfo::default().port(), 5051);
    assert_eq!(
        v1::container_info::DockerInfo::default().network(),
        v1::container_info::docker_info::Network::Host
    );
}

#[test]
fn framework_info_fields_and_capabilities() {
    let p = pool();
    assert_fields(
        &p,
        "mesos.v1.FrameworkInfo",
        &[
            ("user", 1),
            ("name", 2),
            ("id", 3),
            ("failover_timeout", 4),
            ("checkpoint", 5),
            ("role", 6),
            ("roles", 12),
            ("hostname", 7),
            ("principal", 8),
            ("webui_url", 9),
            ("capabilities", 10),
            ("labels", 11),
            ("offer_filters", 13),
        ],
    );
    let f = message(&p, "mesos.v1.FrameworkInfo")
        .get_field_by_name("offer_filters")
        .expect("offer_filters");
    assert!(f.is_map(), "offer_filters is a map");
    let caps = p
        .get_enum_by_name("mesos.v1.FrameworkInfo.Capability.Type")
        .expect("capability types");
    for name in [
        "UNKNOWN",
        "REVOCABLE_RESOURCES",
        "TASK_KILLING_STATE",
        "GPU_RESOURCES",
        "SHARED_RESOURCES",
        "PARTITION_AWARE",
        "MULTI_ROLE",
        "RESERVATION_REFINEMENT",
        "REGION_AWARE",
    ] {
        assert!(caps.get_value_by_name(name).is_some(), "missing {name}");
    }
}

#[test]
fn executor_api_types() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.executor.Call.Type",
        &[
            ("UNKNOWN", 0),
            ("SUBSCRIBE", 1),
            ("UPDATE", 2),
            ("MESSAGE", 3),
            ("HEARTBEAT", 4),
        ],
    );
    assert_enum_exact(
        &p,
        "mesos.v1.executor.Event.Type",
        &[
            ("UNKNOWN", 0),
            ("SUBSCRIBED", 1),
            ("LAUNCH", 2),
            ("LAUNCH_GROUP", 8),
            ("KILL", 3),
            ("ACKNOWLEDGED", 4),
            ("MESSAGE", 5),
            ("ERROR", 6),
            ("SHUTDOWN", 7),
            ("HEARTBEAT", 9),
        ],
    );
    let call = executor::Call {
        executor_id: v1::ExecutorId { value: "e".into() },
        framework_id: v1::FrameworkId { value: "f".into() },
        r#type: Some(executor::call::Type::Heartbeat as i32),
        ..Default::default()
    };
    assert_eq!(field_numbers(&call.encode_to_vec()), [1, 2, 3]);
}

#[test]
fn master_operator_call_types() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.master.Call.Type",
        &[
            ("UNKNOWN", 0),
            ("GET_HEALTH", 1),
            ("GET_FLAGS", 2),
            ("GET_VERSION", 3),
            ("GET_METRICS", 4),
            ("GET_LOGGING_LEVEL", 5),
            ("SET_LOGGING_LEVEL", 6),
            ("LIST_FILES", 7),
            ("READ_FILE", 8),
            ("GET_STATE", 9),
            ("GET_AGENTS", 10),
            ("GET_FRAMEWORKS", 11),
            ("GET_EXECUTORS", 12),
            ("GET_OPERATIONS", 33),
            ("GET_TASKS", 13),
            ("GET_ROLES", 14),
            ("GET_WEIGHTS", 15),
            ("UPDATE_WEIGHTS", 16),
            ("GET_MASTER", 17),
            ("SUBSCRIBE", 18),
            ("RESERVE_RESOURCES", 19),
            ("UNRESERVE_RESOURCES", 20),
            ("CREATE_VOLUMES", 21),
            ("DESTROY_VOLUMES", 22),
            ("GROW_VOLUME", 34),
            ("SHRINK_VOLUME", 35),
            ("GET_MAINTENANCE_STATUS", 23),
            ("GET_MAINTENANCE_SCHEDULE", 24),
            ("UPDATE_MAINTENANCE_SCHEDULE", 25),
            ("START_MAINTENANCE", 26),
            ("STOP_MAINTENANCE", 27),
            ("GET_QUOTA", 28),
            ("UPDATE_QUOTA", 36),
            ("SET_QUOTA", 29),
            ("REMOVE_QUOTA", 30),
            ("TEARDOWN", 31),
            ("MARK_AGENT_GONE", 32),
        ],
    );
    // UPDATE_QUOTA in its 1.9 form: {force, quota_configs[]{role, guarantees{}, limits{}}}.
    assert_fields(
        &p,
        "mesos.v1.master.Call.UpdateQuota",
        &[("force", 1), ("quota_configs", 2)],
    );
    assert_fields(
        &p,
        "mesos.v1.quota.QuotaConfig",
        &[("role", 1), ("guarantees", 2), ("limits", 3)],
    );
    assert_fields(
        &p,
        "mesos.v1.quota.QuotaStatus",
        &[("infos", 1), ("configs", 2)],
    );
    let mut config = quota::QuotaConfig {
        role: "dev".into(),
        ..Default::default()
    };
    config
        .guarantees
        .insert("cpus".into(), v1::value::Scalar { value: 1.0 });
    config
        .limits
        .insert("mem".into(), v1::value::Scalar { value: 64.0 });
    let call = master::Call {
        r#type: Some(master::call::Type::UpdateQuota as i32),
        update_quota: Some(master::call::UpdateQuota {
            force: Some(true),
            quota_configs: vec![config.clone()],
        }),
        ..Default::default()
    };
    let bytes = call.encode_to_vec();
    assert_eq!(field_numbers(&bytes), [1, 20]);
    assert_eq!(field_numbers(&config.encode_to_vec()), [1, 2, 3]);
    assert_eq!(
        master::Call::decode(bytes.as_slice()).expect("decodes"),
        call
    );
}

#[test]
fn master_event_types() {
    let p = pool();
    let e = p
        .get_enum_by_name("mesos.v1.master.Event.Type")
        .expect("Event.Type");
    for name in [
        "SUBSCRIBED",
        "TASK_ADDED",
        "TASK_UPDATED",
        "AGENT_ADDED",
        "AGENT_REMOVED",
        "FRAMEWORK_ADDED",
        "FRAMEWORK_UPDATED",
        "FRAMEWORK_REMOVED",
        "HEARTBEAT",
    ] {
        assert!(e.get_value_by_name(name).is_some(), "missing {name}");
    }
}

#[test]
fn agent_operator_call_types() {
    let p = pool();
    assert_enum_exact(
        &p,
        "mesos.v1.agent.Call.Type",
        &[
            ("UNKNOWN", 0),
            ("GET_HEALTH", 1),
            ("GET_FLAGS", 2),
            ("GET_VERSION", 3),
            ("GET_METRICS", 4),
            ("GET_LOGGING_LEVEL", 5),
            ("SET_LOGGING_LEVEL", 6),
            ("LIST_FILES", 7),
            ("READ_FILE", 8),
            ("GET_STATE", 9),
            ("GET_CONTAINERS", 10),
            ("GET_FRAMEWORKS", 11),
            ("GET_EXECUTORS", 12),
            ("GET_OPERATIONS", 31),
            ("GET_TASKS", 13),
            ("GET_AGENT", 20),
            ("GET_RESOURCE_PROVIDERS", 26),
            ("LAUNCH_NESTED_CONTAINER", 14),
            ("WAIT_NESTED_CONTAINER", 15),
            ("KILL_NESTED_CONTAINER", 16),
            ("REMOVE_NESTED_CONTAINER", 21),
            ("LAUNCH_NESTED_CONTAINER_SESSION", 17),
            ("ATTACH_CONTAINER_INPUT", 18),
            ("ATTACH_CONTAINER_OUTPUT", 19),
            ("LAUNCH_CONTAINER", 22),
            ("WAIT_CONTAINER", 23),
            ("KILL_CONTAINER", 24),
            ("REMOVE_CONTAINER", 25),
            ("ADD_RESOURCE_PROVIDER_CONFIG", 27),
            ("UPDATE_RESOURCE_PROVIDER_CONFIG", 28),
            ("REMOVE_RESOURCE_PROVIDER_CONFIG", 29),
            ("MARK_RESOURCE_PROVIDER_GONE", 32),
            ("PRUNE_IMAGES", 30),
        ],
    );
    for (name, values) in [
        ("mesos.v1.agent.ProcessIO.Type", &["DATA", "CONTROL"][..]),
        (
            "mesos.v1.agent.ProcessIO.Data.Type",
            &["STDIN", "STDOUT", "STDERR"][..],
        ),
        (
            "mesos.v1.agent.ProcessIO.Control.Type",
            &["TTY_INFO", "HEARTBEAT"][..],
        ),
    ] {
        let e = p.get_enum_by_name(name).unwrap_or_else(|| panic!("{name}"));
        for v in values {
            assert!(e.get_value_by_name(v).is_some(), "{name}.{v}");
        }
    }
}

#[test]
fn internal_messages_use_v1_types_with_mesos_numbers() {
    let p = pool();
    for name in [
        "RegisterSlaveMessage",
        "SlaveRegisteredMessage",
        "ReregisterSlaveMessage",
        "SlaveReregisteredMessage",
        "UnregisterSlaveMessage",
        "UpdateSlaveMessage",
        "PingSlaveMessage",
        "PongSlaveMessage",
        "RunTaskMessage",
        "RunTaskGroupMessage",
        "KillTaskMessage",
        "StatusUpdateMessage",
        "StatusUpdateAcknowledgementMessage",
        "ApplyOperationMessage",
        "CheckpointResourcesMessage",
        "UpdateOperationStatusMessage",
        "AcknowledgeOperationStatusMessage",
        "ReconcileOperationsMessage",
        "ReconcileTasksMessage",
        "ShutdownFrameworkMessage",
        "ShutdownExecutorMessage",
        "UpdateFrameworkMessage",
        "FrameworkToExecutorMessage",
        "ExecutorToFrameworkMessage",
        "ExitedExecutorMessage",
        "ShutdownMessage",
        "LostSlaveMessage",
        "RegisterExecutorMessage",
        "ExecutorRegisteredMessage",
        "ReregisterExecutorMessage",
        "ExecutorReregisteredMessage",
        "ReconnectExecutorMessage",
    ] {
        message(&p, &format!("mesos.internal.{name}"));
    }
    let register = message(&p, "mesos.internal.RegisterSlaveMessage");
    let slave = register.get_field_by_name("slave").expect("slave");
    assert_eq!(slave.number(), 1);
    match slave.kind() {
        prost_reflect::Kind::Message(m) => assert_eq!(m.full_name(), "mesos.v1.AgentInfo"),
        other => panic!("unexpected kind {other:?}"),
    }
    assert_fields(
        &p,
        "mesos.internal.StatusUpdate",
        &[
            ("framework_id", 1),
            ("executor_id", 2),
            ("slave_id", 3),
            ("status", 4),
            ("timestamp", 5),
            ("uuid", 6),
            ("latest_state", 7),
        ],
    );
    assert_fields(
        &p,
        "mesos.internal.StatusUpdateMessage",
        &[("update", 1), ("pid", 2)],
    );
    assert_fields(&p, "mesos.internal.PingSlaveMessage", &[("connected", 1)]);
    assert_fields(
        &p,
        "mesos.internal.MasterSlaveConnection",
        &[("total_ping_timeout_seconds", 1)],
    );

    let ping = internal::PingSlaveMessage { connected: true };
    assert_eq!(ping.encode_to_vec(), [0x08, 0x01]);
    let registered = internal::SlaveRegisteredMessage {
        slave_id: v1::AgentId { value: "S1".into() },
        connection: Some(internal::MasterSlaveConnection {
            total_ping_timeout_seconds: Some(75.0),
        }),
    };
    let bytes = registered.encode_to_vec();
    assert_eq!(
        internal::SlaveRegisteredMessage::decode(bytes.as_slice()).expect("decodes"),
        registered
    );
}

#[test]
fn registry_fields() {
    let p = pool();
    assert_fields(
        &p,
        "mesos.internal.Registry",
        &[
            ("master", 1),
            ("slaves", 2),
            ("machines", 3),
            ("schedules", 4),
            ("quotas", 5),
            ("weights", 6),
            ("unreachable", 7),
            ("gone", 8),
            ("resource_provider_registry", 9),
            ("minimum_capabilities", 10),
            ("quota_configs", 11),
        ],
    );
    assert_enum_exact(
        &p,
        "mesos.v1.MachineInfo.Mode",
        &[("UP", 1), ("DRAINING", 2), ("DOWN", 3)],
    );
}

#[test]
fn core_api_messages_are_registered_under_mesos_names() {
    // A cheap guard that every generated type is registered under its Mesos full name.
    let p = pool();
    let count = p.all_messages().count();
    assert!(count > 300, "only {count} messages compiled");
    for name in [
        "mesos.v1.scheduler.Call",
        "mesos.v1.scheduler.Event",
        "mesos.v1.scheduler.Response",
        "mesos.v1.executor.Call",
        "mesos.v1.executor.Event",
        "mesos.v1.master.Call",
        "mesos.v1.master.Response",
        "mesos.v1.master.Event",
        "mesos.v1.agent.Call",
        "mesos.v1.agent.Response",
        "mesos.v1.agent.ProcessIO",
        "mesos.v1.maintenance.Schedule",
        "mesos.v1.allocator.InverseOfferStatus",
        "mesos.seccomp.ContainerSeccompProfile",
        "mesos.v1.resource_provider.Call",
        "mesos.v1.resource_provider.Event",
        "mesos.internal.ResourceProviderCallMessage",
        "mesos.resource_provider.registry.Registry",
    ] {
        message(&p, name);
    }
    assert_eq!(
        <scheduler::Call as prost::Name>::full_name(),
        "mesos.v1.scheduler.Call"
    );
}

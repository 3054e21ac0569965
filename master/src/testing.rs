//! Builders for tests (unit tests here, and other crates' tests): protos with the
//! fields the master needs, from short descriptions.

#![allow(missing_docs)]

use mesos_protos::mesos::internal;
use mesos_protos::resources::{self, Resources};
use mesos_protos::v1;
use mesos_protos::v1::framework_info::capability::Type as Capability;

use crate::state::{Agent, Connection, Limits, MasterState, OfferEntry};

/// The PARTITION_AWARE capability.
pub const PARTITION_AWARE: Capability = Capability::PartitionAware;
/// The MULTI_ROLE capability.
pub const MULTI_ROLE: Capability = Capability::MultiRole;

/// Resources from Mesos's text form; panics on a typo in a test.
pub fn res(text: &str) -> Vec<v1::Resource> {
    resources::from_string(text, "*").expect("test resources parse")
}

pub fn master_info(id: &str) -> v1::MasterInfo {
    v1::MasterInfo {
        id: id.into(),
        ip: 0x0100_007f,
        port: 5050,
        pid: Some("master@127.0.0.1:5050".into()),
        hostname: Some("localhost".into()),
        version: Some("1.8.0".into()),
        ..Default::default()
    }
}

pub fn master_state() -> MasterState {
    MasterState::new(master_info("m"), Limits::default(), 0.0)
}

pub fn http(stream: &str) -> Connection {
    Connection::Http {
        stream_id: stream.into(),
    }
}

pub fn framework_info(name: &str, caps: &[Capability]) -> v1::FrameworkInfo {
    v1::FrameworkInfo {
        user: "root".into(),
        name: name.into(),
        capabilities: caps
            .iter()
            .map(|c| v1::framework_info::Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        ..Default::default()
    }
}

pub fn agent_info(hostname: &str, resources: &str) -> v1::AgentInfo {
    v1::AgentInfo {
        hostname: hostname.into(),
        resources: res(resources),
        port: Some(5051),
        ..Default::default()
    }
}

pub fn agent(id: &str, resources: &str) -> Agent {
    Agent::new(
        id.into(),
        agent_info(&format!("host-{id}"), resources),
        "slave(1)@10.0.0.1:5051".into(),
        "1.8.0".into(),
        Vec::new(),
        &[],
        1.0,
    )
}

pub fn task_info(id: &str, agent_id: &str, resources: &str) -> v1::TaskInfo {
    v1::TaskInfo {
        name: id.into(),
        task_id: v1::TaskId { value: id.into() },
        agent_id: v1::AgentId {
            value: agent_id.into(),
        },
        resources: res(resources),
        command: Some(v1::CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn executor_info(framework_id: &str, id: &str, resources: &str) -> v1::ExecutorInfo {
    v1::ExecutorInfo {
        executor_id: v1::ExecutorId { value: id.into() },
        framework_id: Some(v1::FrameworkId {
            value: framework_id.into(),
        }),
        resources: res(resources),
        command: Some(v1::CommandInfo {
            value: Some("exec".into()),
            ..Default::default()
        }),
        r#type: Some(v1::executor_info::Type::Custom as i32),
        ..Default::default()
    }
}

/// An update as an agent sends it (with a uuid).
pub fn agent_update(
    framework_id: &str,
    agent_id: &str,
    task_id: &str,
    state: v1::TaskState,
    uuid: &[u8],
) -> internal::StatusUpdate {
    internal::StatusUpdate {
        framework_id: v1::FrameworkId {
            value: framework_id.into(),
        },
        executor_id: None,
        slave_id: Some(v1::AgentId {
            value: agent_id.into(),
        }),
        status: v1::TaskStatus {
            task_id: v1::TaskId {
                value: task_id.into(),
            },
            state: state as i32,
            uuid: Some(uuid.to_vec()),
            source: Some(v1::task_status::Source::Executor as i32),
            ..Default::default()
        },
        timestamp: 1.0,
        uuid: Some(uuid.to_vec()),
        latest_state: None,
    }
}

/// An offer of `resources` (allocated to `*`) on an agent for a framework.
pub fn offer_entry(
    state: &mut MasterState,
    framework_id: &str,
    agent_id: &str,
    resources: &str,
) -> OfferEntry {
    let mut r = Resources::from_resources(&res(resources));
    r.allocate("*");
    let offer = v1::Offer {
        id: v1::OfferId {
            value: state.ids.offer(),
        },
        framework_id: v1::FrameworkId {
            value: framework_id.into(),
        },
        agent_id: v1::AgentId {
            value: agent_id.into(),
        },
        hostname: "host".into(),
        resources: r.to_vec(),
        allocation_info: Some(v1::resource::AllocationInfo {
            role: Some("*".into()),
        }),
        ..Default::default()
    };
    OfferEntry {
        offer,
        resources: r,
        role: "*".into(),
        created: 1.0,
    }
}

/// Resources from text, allocated to `role` (as offered resources are).
pub fn alloc_res(text: &str, role: &str) -> Vec<v1::Resource> {
    let mut r = Resources::from_resources(&res(text));
    r.allocate(role);
    r.to_vec()
}

/// A task whose resources are allocated to `*`, as the master normalises them.
pub fn alloc_task(id: &str, agent_id: &str, resources: &str) -> v1::TaskInfo {
    let mut t = task_info(id, agent_id, resources);
    t.resources = alloc_res(resources, "*");
    t
}

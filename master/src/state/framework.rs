//! What the master knows about one framework.

use std::collections::{HashMap, HashSet};

use mesos_protos::v1;
use mesos_protos::v1::framework_info::capability::Type as Capability;

use super::bounded::{BoundedMap, BoundedQueue};
use super::Limits;

/// How a framework is attached to this master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Subscribed over `/api/v1/scheduler`; calls must carry this stream id.
    Http {
        /// The `Mesos-Stream-Id` of the current subscription.
        stream_id: String,
    },
    /// Was subscribed; the stream broke and the failover timer runs.
    Disconnected,
    /// Known only from agents re-registering after a master failover.
    Recovered,
}

/// One framework: its info, connection, tasks, offers and executors.
#[derive(Debug, Clone)]
pub struct Framework {
    /// The framework id.
    pub id: String,
    /// The latest FrameworkInfo (with `id` set).
    pub info: v1::FrameworkInfo,
    /// How the scheduler is attached.
    pub connection: Connection,
    /// Whether it gets offers (false while disconnected).
    pub active: bool,
    /// When it first subscribed (seconds since the epoch).
    pub registered_time: f64,
    /// When it last re-subscribed.
    pub reregistered_time: Option<f64>,
    /// When it was disconnected or removed.
    pub unregistered_time: Option<f64>,
    /// Tasks not yet removed (non-terminal, or terminal but unacknowledged), by task id.
    pub tasks: HashMap<String, v1::Task>,
    /// Tasks on agents that became unreachable, newest last.
    pub unreachable_tasks: BoundedMap<String, v1::Task>,
    /// Tasks that reached an acknowledged terminal state, newest last.
    pub completed_tasks: BoundedQueue<v1::Task>,
    /// Outstanding offer ids.
    pub offers: HashSet<String>,
    /// Executors by agent id, then executor id.
    pub executors: HashMap<String, HashMap<String, v1::ExecutorInfo>>,
    /// Roles whose offers are suppressed.
    pub suppressed_roles: HashSet<String>,
}

impl Framework {
    /// A framework with no tasks, attached as given.
    pub fn new(
        id: String,
        mut info: v1::FrameworkInfo,
        connection: Connection,
        now: f64,
        limits: &Limits,
    ) -> Self {
        info.id = Some(v1::FrameworkId { value: id.clone() });
        let active = matches!(connection, Connection::Http { .. });
        Framework {
            id,
            info,
            connection,
            active,
            registered_time: now,
            reregistered_time: None,
            unregistered_time: None,
            tasks: HashMap::new(),
            unreachable_tasks: BoundedMap::new(limits.max_unreachable_tasks_per_framework),
            completed_tasks: BoundedQueue::new(limits.max_completed_tasks_per_framework),
            offers: HashSet::new(),
            executors: HashMap::new(),
            suppressed_roles: HashSet::new(),
        }
    }

    /// Whether the scheduler is attached by a live stream.
    pub fn connected(&self) -> bool {
        matches!(self.connection, Connection::Http { .. })
    }

    /// Whether FrameworkInfo declares `capability`.
    pub fn has_capability(&self, capability: Capability) -> bool {
        has_capability(&self.info, capability)
    }

    /// Whether the framework understands DROPPED/UNREACHABLE/GONE/UNKNOWN.
    pub fn partition_aware(&self) -> bool {
        self.has_capability(Capability::PartitionAware)
    }

    /// The framework's roles (MULTI_ROLE `roles`, else the single `role`, default `*`).
    pub fn roles(&self) -> Vec<String> {
        framework_roles(&self.info)
    }

    /// Whether an executor is known on an agent.
    pub fn has_executor(&self, agent_id: &str, executor_id: &str) -> bool {
        self.executors
            .get(agent_id)
            .is_some_and(|m| m.contains_key(executor_id))
    }
}

/// Whether a FrameworkInfo declares `capability`.
pub fn has_capability(info: &v1::FrameworkInfo, capability: Capability) -> bool {
    info.capabilities
        .iter()
        .any(|c| c.r#type == Some(capability as i32))
}

/// The roles of a FrameworkInfo as Mesos reads them.
#[allow(deprecated)]
pub fn framework_roles(info: &v1::FrameworkInfo) -> Vec<String> {
    if has_capability(info, Capability::MultiRole) {
        info.roles.clone()
    } else {
        vec![info.role.clone().unwrap_or_else(|| "*".to_owned())]
    }
}

//! What the master knows about one registered agent.

use std::collections::{HashMap, HashSet};

use mesos_protos::resources::Resources;
use mesos_protos::v1;

/// A registered (connected or disconnected) agent.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The agent id.
    pub id: String,
    /// The AgentInfo (with `id` set).
    pub info: v1::AgentInfo,
    /// The agent's libprocess pid (`slave(1)@ip:port`).
    pub pid: String,
    /// The agent's Mesos version string.
    pub version: String,
    /// Agent capabilities as reported.
    pub capabilities: Vec<v1::agent_info::Capability>,
    /// When it registered (seconds since the epoch).
    pub registered_time: f64,
    /// When it last re-registered.
    pub reregistered_time: Option<f64>,
    /// Whether the link to the agent is up.
    pub connected: bool,
    /// Whether its resources are offered (false when deactivated or disconnected).
    pub active: bool,
    /// Total resources (AgentInfo resources plus checkpointed reservations/volumes).
    pub total: Resources,
    /// Resources used by tasks and executors, per framework.
    pub used: HashMap<String, Resources>,
    /// Resources in outstanding offers.
    pub offered: Resources,
    /// Task ids per framework id (the tasks themselves live in the framework).
    pub tasks: HashMap<String, HashSet<String>>,
    /// Executors per framework id, then executor id.
    pub executors: HashMap<String, HashMap<String, v1::ExecutorInfo>>,
    /// Outstanding offers on this agent.
    pub offers: HashSet<String>,
}

impl Agent {
    /// A connected, active agent with no tasks.
    pub fn new(
        id: String,
        mut info: v1::AgentInfo,
        pid: String,
        version: String,
        capabilities: Vec<v1::agent_info::Capability>,
        checkpointed: &[v1::Resource],
        now: f64,
    ) -> Self {
        info.id = Some(v1::AgentId { value: id.clone() });
        let total = total_resources(&info.resources, checkpointed);
        Agent {
            id,
            info,
            pid,
            version,
            capabilities,
            registered_time: now,
            reregistered_time: None,
            connected: true,
            active: true,
            total,
            used: HashMap::new(),
            offered: Resources::new(),
            tasks: HashMap::new(),
            executors: HashMap::new(),
            offers: HashSet::new(),
        }
    }

    /// The sum of resources used by all frameworks on this agent.
    pub fn used_total(&self) -> Resources {
        let mut sum = Resources::new();
        for r in self.used.values() {
            sum += r;
        }
        sum
    }

    /// Resources neither used nor offered (allocation roles ignored, as the total
    /// is unallocated).
    pub fn available(&self) -> Resources {
        let mut taken = self.offered.clone();
        for r in self.used.values() {
            taken += r;
        }
        taken.unallocate();
        let mut free = self.total.clone();
        free -= &taken;
        free
    }

    /// Whether an executor is known here.
    pub fn has_executor(&self, framework_id: &str, executor_id: &str) -> bool {
        self.executors
            .get(framework_id)
            .is_some_and(|m| m.contains_key(executor_id))
    }

    /// Adds resources to what a framework uses here.
    pub fn add_used(&mut self, framework_id: &str, resources: &Resources) {
        *self.used.entry(framework_id.to_owned()).or_default() += resources;
    }

    /// Returns resources a framework used here.
    pub fn recover_used(&mut self, framework_id: &str, resources: &Resources) {
        if let Some(used) = self.used.get_mut(framework_id) {
            *used -= resources;
            if used.is_empty() {
                self.used.remove(framework_id);
            }
        }
    }

    /// Number of tasks known on this agent.
    pub fn task_count(&self) -> usize {
        self.tasks.values().map(HashSet::len).sum()
    }
}

/// An agent's total: its declared resources with checkpointed reservations and volumes
/// carved out of the unreserved pool, as Mesos does on registration.
pub fn total_resources(declared: &[v1::Resource], checkpointed: &[v1::Resource]) -> Resources {
    let declared = Resources::from_resources(declared);
    if checkpointed.is_empty() {
        return declared;
    }
    let checkpointed = Resources::from_resources(checkpointed);
    let mut total = declared.unreserved();
    total -= &checkpointed.to_unreserved();
    total += &declared.reserved_any();
    total += &checkpointed;
    total
}

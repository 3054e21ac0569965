//! The allocator: Mesos's hierarchical DRF policy as a pure library.
//!
//! No actors, no I/O and no clock: every method is a plain `&mut self` call and time is
//! an argument, so a thin actor can wrap it and tests can drive it step by step.
//!
//! ```text
//!  master ──add/remove/update framework & agent, recover, suppress/revive, quota, weights──▶
//!         HierarchicalAllocator
//!           ├─ RoleTree     roles a/b/c, weights, quota; quantities summed up the tree
//!           ├─ role sorter  (DRF or random) over roles; one framework sorter per role
//!           ├─ agents       total / free / allocated-per-framework `Resources` (per agent only)
//!           └─ filters      refused (framework, role, agent) sets until they expire
//!  allocate(now) ──▶ stage 1: roles below their quota guarantee, up to it
//!                    stage 2: everyone by DRF, within limits, leaving headroom for guarantees
//!                ──▶ Vec<Allocation> (framework, agent, role, resources) → offers
//! ```
//!
//! Cluster-wide figures are dense [`quantities::Quantities`] vectors; `Resources` of
//! different agents are never added together.

pub mod actor;
mod cycle;
mod filters;
mod fxhash;
mod lifecycle;
mod offer_cache;
mod operations;
pub mod quantities;
mod report;
pub mod rng;
pub mod roles;
pub mod sorter;
mod state;

use std::collections::HashMap;
use std::time::Duration;

use mesos_protos::resources::Resources;
use mesos_protos::v1;

pub use report::{AllocatorMetrics, NoOfferReason, QuotaMetrics};
pub use state::HierarchicalAllocator;

/// Errors from allocator calls; messages are lower case and name the bad value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocatorError {
    /// More distinct resource names than a quantity vector has slots.
    #[error("too many distinct resource names (limit 16): {0:?}")]
    TooManyResourceNames(String),
    /// Quantities text that does not parse.
    #[error("bad resource quantities {0:?}")]
    BadQuantities(String),
    /// A role name that breaks Mesos's rules.
    #[error("invalid role {0:?}: {1}")]
    InvalidRole(String, String),
    /// A sorter name other than `drf` or `random`.
    #[error("unknown sorter {0:?} (expected drf or random)")]
    UnknownSorter(String),
    /// A weight that is not a positive finite number.
    #[error("invalid weight {1} for role {0:?}")]
    InvalidWeight(String, f64),
    /// The framework is not known.
    #[error("unknown framework {0:?}")]
    UnknownFramework(String),
    /// The framework is already known.
    #[error("framework {0:?} already added")]
    DuplicateFramework(String),
    /// The agent is not known.
    #[error("unknown agent {0:?}")]
    UnknownAgent(String),
    /// The agent is already known.
    #[error("agent {0:?} already added")]
    DuplicateAgent(String),
    /// Resources that are not allocated to the framework on the agent.
    #[error(
        "resources {resources} are not allocated to framework {framework:?} on agent {agent:?}"
    )]
    NotAllocated {
        /// The framework.
        framework: String,
        /// The agent.
        agent: String,
        /// The missing resources.
        resources: String,
    },
    /// Resources that are not available (free) on the agent.
    #[error("resources {resources} are not available on agent {agent:?}")]
    NotAvailable {
        /// The agent.
        agent: String,
        /// The missing resources.
        resources: String,
    },
    /// An operation the allocator cannot apply.
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
}

/// Framework capabilities the allocator looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `MULTI_ROLE`.
    pub multi_role: bool,
    /// `REVOCABLE_RESOURCES`: may be offered revocable resources.
    pub revocable_resources: bool,
    /// `GPU_RESOURCES`: may be offered agents with GPUs.
    pub gpu_resources: bool,
    /// `SHARED_RESOURCES`: may be offered shared persistent volumes.
    pub shared_resources: bool,
    /// `REGION_AWARE`: may be offered agents in other regions.
    pub region_aware: bool,
}

/// Minimum allocatable resources: alternatives (OR) of quantities (AND).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MinAllocatable(pub Vec<Vec<(String, f64)>>);

impl MinAllocatable {
    /// Parses Mesos's flag syntax: `cpus:0.01|mem:32` (empty text = no minimum).
    pub fn parse(text: &str) -> Result<MinAllocatable, AllocatorError> {
        let mut alternatives = Vec::new();
        for alt in text.split('|').map(str::trim).filter(|a| !a.is_empty()) {
            let mut items = Vec::new();
            for part in alt.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let (name, value) = part
                    .split_once(':')
                    .ok_or_else(|| AllocatorError::BadQuantities(text.to_string()))?;
                let v: f64 = value
                    .trim()
                    .parse()
                    .map_err(|_| AllocatorError::BadQuantities(text.to_string()))?;
                if !v.is_finite() || v < 0.0 || name.trim().is_empty() {
                    return Err(AllocatorError::BadQuantities(text.to_string()));
                }
                items.push((name.trim().to_string(), v));
            }
            alternatives.push(items);
        }
        Ok(MinAllocatable(alternatives))
    }

    /// Mesos's default, `cpus:0.01|mem:32`.
    pub fn mesos_default() -> MinAllocatable {
        MinAllocatable(vec![
            vec![("cpus".to_string(), 0.01)],
            vec![("mem".to_string(), 32.0)],
        ])
    }
}

/// What the allocator needs to know about a framework.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameworkConfig {
    /// Roles the framework subscribes to.
    pub roles: Vec<String>,
    /// Capabilities.
    pub capabilities: Capabilities,
    /// Roles for which the framework wants no offers.
    pub suppressed_roles: Vec<String>,
    /// Per-role override of `--min_allocatable_resources` (`FrameworkInfo.offer_filters`);
    /// an empty list disables the minimum for that role.
    pub min_allocatable: HashMap<String, MinAllocatable>,
}

impl FrameworkConfig {
    /// A framework in the given roles with no special capabilities.
    pub fn with_roles<S: AsRef<str>>(roles: &[S]) -> Self {
        FrameworkConfig {
            roles: roles.iter().map(|r| r.as_ref().to_string()).collect(),
            capabilities: Capabilities {
                multi_role: roles.len() > 1,
                ..Capabilities::default()
            },
            ..FrameworkConfig::default()
        }
    }

    /// Reads roles, capabilities and `offer_filters` from a `FrameworkInfo`.
    #[allow(deprecated)]
    pub fn from_info(info: &v1::FrameworkInfo, suppressed_roles: &[String]) -> Self {
        use v1::framework_info::capability::Type;
        let mut caps = Capabilities::default();
        for c in &info.capabilities {
            match c.r#type.and_then(|t| Type::try_from(t).ok()) {
                Some(Type::MultiRole) => caps.multi_role = true,
                Some(Type::RevocableResources) => caps.revocable_resources = true,
                Some(Type::GpuResources) => caps.gpu_resources = true,
                Some(Type::SharedResources) => caps.shared_resources = true,
                Some(Type::RegionAware) => caps.region_aware = true,
                _ => {}
            }
        }
        let roles = if caps.multi_role {
            info.roles.clone()
        } else {
            vec![info.role.clone().unwrap_or_else(|| "*".to_string())]
        };
        let mut min_allocatable = HashMap::new();
        for (role, filters) in &info.offer_filters {
            if let Some(m) = &filters.min_allocatable_resources {
                let alts = m
                    .quantities
                    .iter()
                    .map(|q| {
                        let mut items: Vec<(String, f64)> = q
                            .quantities
                            .iter()
                            .map(|(n, s)| (n.clone(), s.value))
                            .collect();
                        items.sort_by(|a, b| a.0.cmp(&b.0));
                        items
                    })
                    .collect();
                min_allocatable.insert(role.clone(), MinAllocatable(alts));
            }
        }
        FrameworkConfig {
            roles,
            capabilities: caps,
            suppressed_roles: suppressed_roles.to_vec(),
            min_allocatable,
        }
    }
}

/// What the allocator needs to know about an agent.
#[derive(Clone, Debug, Default)]
pub struct AgentConfig {
    /// The agent's total resources (with reservations; without allocation info).
    pub total: Resources,
    /// The agent's fault-domain region, if any (for `REGION_AWARE`).
    pub region: Option<String>,
}

/// An operation applied to resources by `update_allocation` / `update_available`.
#[derive(Clone, Debug)]
pub enum Operation {
    /// Resources carrying one more reservation than the resources they come from.
    Reserve(Resources),
    /// Reserved resources whose innermost reservation is dropped.
    Unreserve(Resources),
    /// Persistent volumes created from disk resources.
    Create(Resources),
    /// Persistent volumes turned back into plain disk.
    Destroy(Resources),
}

/// Resources the allocator hands to one framework, on one agent, for one role.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// Framework id.
    pub framework_id: String,
    /// Agent id.
    pub agent_id: String,
    /// The role the resources are allocated to (set as `allocation_info` on them).
    pub role: String,
    /// The resources, carrying `allocation_info.role`.
    pub resources: Resources,
}

/// Allocator settings (master flags).
#[derive(Clone, Debug)]
pub struct AllocatorOptions {
    /// `--role_sorter`.
    pub role_sorter: sorter::SorterKind,
    /// `--framework_sorter`.
    pub framework_sorter: sorter::SorterKind,
    /// `--fair_sharing_excluded_resource_names`.
    pub fair_sharing_excluded_resource_names: Vec<String>,
    /// `--min_allocatable_resources` (default `cpus:0.01|mem:32`).
    pub min_allocatable_resources: MinAllocatable,
    /// `--filter_gpu_resources` (default true): GPU agents only to `GPU_RESOURCES` frameworks.
    pub filter_gpu_resources: bool,
    /// `--allocation_interval`; filters last at least this long (as in Mesos).
    pub allocation_interval: Duration,
    /// The master's region; agents elsewhere go only to `REGION_AWARE` frameworks.
    pub region: Option<String>,
    /// Seed for agent visit order and the random sorter (replays exactly).
    pub seed: u64,
}

impl Default for AllocatorOptions {
    fn default() -> Self {
        AllocatorOptions {
            role_sorter: sorter::SorterKind::Drf,
            framework_sorter: sorter::SorterKind::Drf,
            fair_sharing_excluded_resource_names: Vec::new(),
            min_allocatable_resources: MinAllocatable::mesos_default(),
            filter_gpu_resources: true,
            allocation_interval: Duration::from_secs(1),
            region: None,
            seed: 0x5EED,
        }
    }
}

/// Default `refuse_seconds` of a decline.
pub const DEFAULT_REFUSE: Duration = Duration::from_secs(5);
/// Longest refusal Mesos accepts (365 days).
pub const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Turns a `Filters.refuse_seconds` value into a filter duration the way Mesos does:
/// negative or invalid ⇒ the 5 s default, above 365 days ⇒ 365 days, 0 ⇒ no filter.
pub fn refuse_duration(refuse_seconds: f64) -> Duration {
    if refuse_seconds.is_nan() || refuse_seconds < 0.0 {
        return DEFAULT_REFUSE;
    }
    if refuse_seconds > MAX_REFUSE.as_secs_f64() {
        return MAX_REFUSE;
    }
    Duration::try_from_secs_f64(refuse_seconds).unwrap_or(DEFAULT_REFUSE)
}

//! What the operator sees: why a framework got no offer in the last cycle, and the
//! figures the actor exports as `allocator/mesos/...` metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use super::state::HierarchicalAllocator;

/// Why a (framework, role) received nothing in the last allocation cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoOfferReason {
    /// The framework is inactive (disconnected or deactivated).
    FrameworkInactive,
    /// The framework suppressed offers for the role.
    Suppressed,
    /// Everything that could be offered was covered by the framework's decline filters.
    Filtered,
    /// What was left was below the minimum allocatable resources.
    BelowMinimum,
    /// The role (or an ancestor) reached its quota limit.
    LimitReached,
    /// Resources were held back as headroom for other roles' unmet guarantees.
    HeadroomHeld,
    /// No agent had anything left for the role.
    NoCapacity,
    /// The agents with resources need a capability the framework lacks (GPU, region,
    /// revocable or shared resources).
    CapabilityMissing,
}

impl NoOfferReason {
    /// Which reason explains most when a framework met several across agents.
    pub(crate) fn rank(self) -> u8 {
        match self {
            NoOfferReason::NoCapacity => 0,
            NoOfferReason::CapabilityMissing => 1,
            NoOfferReason::BelowMinimum => 2,
            NoOfferReason::Filtered => 3,
            NoOfferReason::HeadroomHeld => 4,
            NoOfferReason::LimitReached => 5,
            NoOfferReason::Suppressed => 6,
            NoOfferReason::FrameworkInactive => 7,
        }
    }

    /// A short snake-case name for APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            NoOfferReason::FrameworkInactive => "framework_inactive",
            NoOfferReason::Suppressed => "suppressed",
            NoOfferReason::Filtered => "filtered",
            NoOfferReason::BelowMinimum => "below_min_allocatable",
            NoOfferReason::LimitReached => "quota_limit_reached",
            NoOfferReason::HeadroomHeld => "headroom_held_for_guarantees",
            NoOfferReason::NoCapacity => "no_capacity",
            NoOfferReason::CapabilityMissing => "capability_missing",
        }
    }
}

/// Quota figures of one role.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaMetrics {
    /// Offered or allocated quantities counting toward quota, by resource name.
    pub offered_or_allocated: BTreeMap<String, f64>,
    /// Guarantees, by resource name.
    pub guarantee: BTreeMap<String, f64>,
    /// Limits, by resource name.
    pub limit: BTreeMap<String, f64>,
}

/// The figures the allocator actor exports.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AllocatorMetrics {
    /// `allocator/mesos/allocation_runs`.
    pub allocation_runs: u64,
    /// `allocator/mesos/allocation_run_ms` (last run, as measured by the caller).
    pub last_allocation_run: Option<Duration>,
    /// `allocator/mesos/roles/<role>/shares/dominant`.
    pub dominant_shares: BTreeMap<String, f64>,
    /// `allocator/mesos/quota/roles/<role>/resources/<name>/...`.
    pub quota: BTreeMap<String, QuotaMetrics>,
    /// `allocator/mesos/resources/<name>/total`.
    pub resources_total: BTreeMap<String, f64>,
    /// `allocator/mesos/resources/<name>/offered_or_allocated`.
    pub resources_offered_or_allocated: BTreeMap<String, f64>,
    /// `allocator/mesos/offer_filters/roles/<role>/active`.
    pub offer_filters_active: BTreeMap<String, usize>,
}

impl HierarchicalAllocator {
    /// Records the reasons for (framework, role) pairs that got nothing. A full cycle
    /// recomputes all of them; an event-driven pass only clears pairs it served.
    pub(crate) fn settle_reasons(&mut self, full: bool) {
        let served = std::mem::take(&mut self.served);
        if !full {
            for key in &served {
                self.reasons.remove(key);
            }
            self.served = served;
            return;
        }
        let mut reasons = std::mem::take(&mut self.reasons);
        reasons.clear();
        for (idx, f) in self.frameworks.iter().enumerate() {
            let Some(f) = f else { continue };
            if !f.known {
                continue;
            }
            for role in &f.roles {
                let Some(id) = self.roles.get(role) else {
                    continue;
                };
                if served.contains(&(idx, id)) {
                    continue;
                }
                let reason = if !f.active {
                    NoOfferReason::FrameworkInactive
                } else if f.suppressed.contains(role) {
                    NoOfferReason::Suppressed
                } else if let Some(r) = self.cycle_reasons.get(&(idx, id)) {
                    *r
                } else if self.filtered_roles.contains(&id) {
                    NoOfferReason::Filtered
                } else if self.role_at_limit(id) {
                    NoOfferReason::LimitReached
                } else {
                    NoOfferReason::NoCapacity
                };
                reasons.insert((idx, id), reason);
            }
        }
        self.reasons = reasons;
        self.served = served;
    }

    fn role_at_limit(&self, id: usize) -> bool {
        self.saturated(id)
            || self.roles.path_up(id).any(|r| {
                let n = self.roles.node(r);
                n.quota.limited != 0 && !n.quota.room(&n.consumed()).any_positive()
            })
    }

    /// Why `framework_id` got nothing for `role` in the last cycle (`None` if it got an
    /// offer, or is unknown).
    pub fn no_offer_reason(&self, framework_id: &str, role: &str) -> Option<NoOfferReason> {
        let fw = *self.fw_index.get(framework_id)?;
        let role = self.roles.get(role)?;
        self.reasons.get(&(fw, role)).copied()
    }

    /// All (framework, role, reason) triples from the last cycle, sorted.
    pub fn no_offer_reasons(&self) -> Vec<(String, String, NoOfferReason)> {
        let mut v: Vec<_> = self
            .reasons
            .iter()
            .filter_map(|((f, r), why)| {
                let fw = self.frameworks.get(*f)?.as_ref()?;
                Some((fw.id.clone(), self.roles.name_of(*r)?.to_string(), *why))
            })
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    }

    /// Stores the duration of the last run as measured by the caller's clock.
    pub fn record_run_duration(&mut self, took: Duration) {
        self.last_run = Some(took);
    }

    /// Number of allocation passes run.
    pub fn allocation_runs(&self) -> u64 {
        self.runs
    }

    /// The allocator's metrics at `now` (decline filters as of the last cycle, which
    /// sweeps expired ones).
    pub fn metrics(&self, _now: Duration) -> AllocatorMetrics {
        let render = |q: &super::quantities::Quantities| -> BTreeMap<String, f64> {
            self.names.render(q).into_iter().collect()
        };
        let mut m = AllocatorMetrics {
            allocation_runs: self.runs,
            last_allocation_run: self.last_run,
            resources_total: render(&self.total.all),
            resources_offered_or_allocated: render(&self.allocated_q),
            offer_filters_active: self.filter_counts().into_iter().collect(),
            ..AllocatorMetrics::default()
        };
        for (id, n) in self.roles.iter() {
            if self.fw_sorters.contains_key(&id) {
                let share = n
                    .allocated
                    .dominant_share(&self.total.all, self.names.share_mask());
                m.dominant_shares.insert(n.name.clone(), share);
            }
            if !n.quota.is_default() {
                let mut limit = BTreeMap::new();
                for slot in 0..self.names.len() {
                    if n.quota.limited & (1 << slot) != 0 {
                        limit.insert(
                            self.names.name(slot).to_string(),
                            n.quota.limits.get(slot) as f64 / 1000.0,
                        );
                    }
                }
                m.quota.insert(
                    n.name.clone(),
                    QuotaMetrics {
                        offered_or_allocated: render(&n.consumed()),
                        guarantee: render(&n.quota.guarantees),
                        limit,
                    },
                );
            }
        }
        m
    }

    /// The weighted dominant share of `role` (0 for unknown roles).
    pub fn role_share(&self, role: &str) -> f64 {
        self.roles
            .get(role)
            .map_or(0.0, |id| self.role_sorter.share(id))
    }

    /// Quantity of `name` offered or allocated to `role`'s subtree.
    pub fn role_allocated(&self, role: &str, name: &str) -> f64 {
        match (self.roles.get(role), self.names.get(name)) {
            (Some(id), Some(slot)) => self.roles.node(id).allocated.get(slot) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// Quota consumption of `role` for `name` (reservations plus unreserved allocations).
    pub fn role_consumed(&self, role: &str, name: &str) -> f64 {
        match (self.roles.get(role), self.names.get(name)) {
            (Some(id), Some(slot)) => self.roles.consumed(id).get(slot) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// What `framework_id` holds on `agent_id` (offered or allocated).
    pub fn allocation_of(
        &self,
        framework_id: &str,
        agent_id: &str,
    ) -> Option<mesos_protos::resources::Resources> {
        let fw = *self.fw_index.get(framework_id)?;
        let agent = *self.agent_index.get(agent_id)?;
        Some(self.held(agent, fw))
    }

    /// What is free (neither offered nor allocated) on `agent_id`.
    pub fn available_of(&self, agent_id: &str) -> Option<mesos_protos::resources::Resources> {
        let agent = *self.agent_index.get(agent_id)?;
        Some(self.agent(agent).free.clone())
    }

    /// The total of `agent_id`.
    pub fn total_of(&self, agent_id: &str) -> Option<mesos_protos::resources::Resources> {
        let agent = *self.agent_index.get(agent_id)?;
        Some(self.agent(agent).total.clone())
    }
}

//! Frameworks and agents coming and going, suppress/revive, quota, weights, pause.

use crate::allocator::fxhash::{FxHashMap, FxHashSet};

use mesos_protos::resources::{ResourceLimits, ResourceQuantities, Resources};

use super::filters::AgentFilters;
use super::quantities::{NameKind, Quantities};
use super::roles::{validate_role, Quota, RoleId};
use super::sorter::Sorter;
use super::state::{
    min_quantities, Agent, AgentIdx, Framework, FwIdx, HierarchicalAllocator, Split,
};
use super::{AgentConfig, AllocatorError, FrameworkConfig};

impl HierarchicalAllocator {
    fn resolve_min(
        &mut self,
        config: &FrameworkConfig,
    ) -> Result<FxHashMap<String, Vec<Quantities>>, AllocatorError> {
        let mut out = FxHashMap::default();
        for (role, m) in &config.min_allocatable {
            let mut alts = Vec::new();
            for alt in &m.0 {
                alts.push(min_quantities(&mut self.names, alt)?);
            }
            out.insert(role.clone(), alts);
        }
        Ok(out)
    }

    fn validate_config(config: &FrameworkConfig) -> Result<(), AllocatorError> {
        for r in config.roles.iter().chain(config.suppressed_roles.iter()) {
            validate_role(r)?;
        }
        Ok(())
    }

    fn slot_for_framework(&mut self, id: &str) -> FwIdx {
        if let Some(i) = self.fw_index.get(id) {
            return *i;
        }
        let f = Framework {
            id: id.to_string(),
            roles: Vec::new(),
            caps: Default::default(),
            active: false,
            known: false,
            suppressed: FxHashSet::default(),
            min_alloc: FxHashMap::default(),
            tracked: FxHashSet::default(),
            filter_agents: FxHashSet::default(),
        };
        let idx = if let Some(i) = self.fw_free_slots.pop() {
            self.frameworks[i] = Some(f);
            i
        } else {
            self.frameworks.push(Some(f));
            self.frameworks.len() - 1
        };
        self.fw_index.insert(id.to_string(), idx);
        idx
    }

    /// Adds a framework; `used` lists resources (with allocation info) it already holds on
    /// agents the allocator knows (unknown agents are skipped, as Mesos does).
    pub fn add_framework(
        &mut self,
        id: &str,
        config: &FrameworkConfig,
        used: &[(String, Resources)],
        active: bool,
    ) -> Result<(), AllocatorError> {
        Self::validate_config(config)?;
        if self.fw_index.get(id).is_some_and(|i| self.fw(*i).known) {
            return Err(AllocatorError::DuplicateFramework(id.to_string()));
        }
        let min_alloc = self.resolve_min(config)?;
        let idx = self.slot_for_framework(id);
        {
            let f = self.fw_mut(idx);
            f.known = true;
            f.active = active;
            f.roles = config.roles.clone();
            f.caps = config.capabilities;
            f.suppressed = config.suppressed_roles.iter().cloned().collect();
            f.min_alloc = min_alloc;
        }
        for role in &config.roles {
            self.ensure_tracked(idx, role);
            self.refresh_framework_activity(idx, role);
        }
        for (agent_id, res) in used {
            let Some(agent) = self.agent_index.get(agent_id).copied() else {
                continue;
            };
            self.track_used(agent, idx, res);
        }
        Ok(())
    }

    /// Tracks resources a framework already uses on an agent (no availability check: the
    /// agent reported them).
    fn track_used(&mut self, agent: AgentIdx, fw: FwIdx, res: &Resources) {
        let fallback = self
            .fw(fw)
            .roles
            .first()
            .cloned()
            .unwrap_or_else(|| "*".to_string());
        let mut by_role = res.allocations();
        let unallocated = res.filter(|e| e.allocation_role().is_none());
        if !unallocated.is_empty() {
            let mut u = unallocated;
            u.allocate(&fallback);
            *by_role.entry(fallback).or_default() += &u;
        }
        let mut roles: Vec<_> = by_role.into_iter().collect();
        roles.sort_by(|a, b| a.0.cmp(&b.0));
        for (role, r) in roles {
            if validate_role(&role).is_err() {
                continue;
            }
            self.track_allocation(agent, fw, &role, &r);
        }
    }

    /// Removes a framework: everything it holds returns to the agents, its filters go.
    pub fn remove_framework(&mut self, id: &str) -> Result<(), AllocatorError> {
        let idx = self.fw_idx(id)?;
        self.clear_filters(idx, None);
        // Agents are scanned rather than indexed per framework: keeping a per-framework set
        // current cost every offer and decline a hash update; removal is rare.
        let agents: Vec<AgentIdx> = (0..self.agents.len())
            .filter(|a| {
                self.agents[*a]
                    .as_ref()
                    .is_some_and(|x| x.allocated.iter().any(|(f, _)| *f == idx))
            })
            .collect();
        for agent in agents {
            let held = self
                .agent(agent)
                .allocated
                .iter()
                .find(|(f, _)| *f == idx)
                .map(|(_, r)| r.clone());
            if let Some(held) = held {
                for (role, r) in sorted_allocations(&held) {
                    self.untrack_allocation(agent, idx, &role, &r);
                }
            }
        }
        self.fw_mut(idx).roles.clear();
        let tracked: Vec<String> = self.fw(idx).tracked.iter().cloned().collect();
        for role in tracked {
            self.maybe_untrack(idx, &role);
        }
        self.fw_index.remove(id);
        self.frameworks[idx] = None;
        self.fw_free_slots.push(idx);
        self.reasons.retain(|(f, _), _| *f != idx);
        Ok(())
    }

    /// Puts the framework back into the orders of its (unsuppressed) roles.
    pub fn activate_framework(&mut self, id: &str) -> Result<(), AllocatorError> {
        let idx = self.fw_idx(id)?;
        self.fw_mut(idx).active = true;
        for role in self.fw(idx).roles.clone() {
            self.refresh_framework_activity(idx, &role);
        }
        Ok(())
    }

    /// Takes the framework out of all orders and drops its filters (as Mesos does).
    pub fn deactivate_framework(&mut self, id: &str) -> Result<(), AllocatorError> {
        let idx = self.fw_idx(id)?;
        self.fw_mut(idx).active = false;
        for role in self.fw(idx).roles.clone() {
            self.refresh_framework_activity(idx, &role);
        }
        self.clear_filters(idx, None);
        Ok(())
    }

    /// Applies a new configuration (roles, capabilities, suppressed roles, minimums).
    /// Roles leaving the suppressed set are revived (their filters cleared).
    pub fn update_framework(
        &mut self,
        id: &str,
        config: &FrameworkConfig,
    ) -> Result<(), AllocatorError> {
        Self::validate_config(config)?;
        let idx = self.fw_idx(id)?;
        let min_alloc = self.resolve_min(config)?;
        let old_roles = self.fw(idx).roles.clone();
        let old_suppressed = self.fw(idx).suppressed.clone();
        let new_suppressed: FxHashSet<String> = config.suppressed_roles.iter().cloned().collect();
        {
            let f = self.fw_mut(idx);
            f.roles = config.roles.clone();
            f.caps = config.capabilities;
            f.suppressed = new_suppressed.clone();
            f.min_alloc = min_alloc;
        }
        let revived: Vec<RoleId> = old_suppressed
            .difference(&new_suppressed)
            .filter_map(|r| self.roles.get(r))
            .collect();
        if !revived.is_empty() {
            self.clear_filters(idx, Some(&revived));
        }
        for role in &config.roles {
            self.ensure_tracked(idx, role);
        }
        let mut touched: Vec<String> = old_roles;
        touched.extend(config.roles.iter().cloned());
        touched.sort();
        touched.dedup();
        for role in &touched {
            self.refresh_framework_activity(idx, role);
            if !config.roles.contains(role) {
                if let Some(r) = self.roles.get(role) {
                    self.clear_filters(idx, Some(&[r]));
                }
                self.maybe_untrack(idx, role);
            }
        }
        Ok(())
    }

    /// Stops offers to the framework for `roles` (all its roles when empty).
    pub fn suppress_offers(&mut self, id: &str, roles: &[String]) -> Result<(), AllocatorError> {
        let idx = self.fw_idx(id)?;
        let roles = if roles.is_empty() {
            self.fw(idx).roles.clone()
        } else {
            roles.to_vec()
        };
        for role in &roles {
            validate_role(role)?;
        }
        for role in roles {
            self.fw_mut(idx).suppressed.insert(role.clone());
            self.refresh_framework_activity(idx, &role);
        }
        Ok(())
    }

    /// Resumes offers for `roles` (all its roles when empty) and clears their filters.
    pub fn revive_offers(&mut self, id: &str, roles: &[String]) -> Result<(), AllocatorError> {
        let idx = self.fw_idx(id)?;
        let roles = if roles.is_empty() {
            self.fw(idx).roles.clone()
        } else {
            roles.to_vec()
        };
        for role in &roles {
            validate_role(role)?;
        }
        let ids: Vec<RoleId> = roles.iter().filter_map(|r| self.roles.get(r)).collect();
        self.clear_filters(idx, Some(&ids));
        for role in roles {
            self.fw_mut(idx).suppressed.remove(&role);
            self.refresh_framework_activity(idx, &role);
        }
        Ok(())
    }

    /// Adds an agent with its total and what frameworks already use on it (resources with
    /// allocation info; frameworks not yet added are tracked as inactive placeholders).
    pub fn add_agent(
        &mut self,
        id: &str,
        config: &AgentConfig,
        used: &[(String, Resources)],
    ) -> Result<(), AllocatorError> {
        if self.agent_index.contains_key(id) {
            return Err(AllocatorError::DuplicateAgent(id.to_string()));
        }
        self.intern_all(&config.total)?;
        let total = {
            let mut t = config.total.clone();
            t.unallocate();
            t
        };
        let split = self.split(&total);
        let reservations = self.reservations_of(&total);
        let has_gpus = self.names.get("gpus").is_some_and(|s| split.all.get(s) > 0);
        let remote = match (&self.opts.region, &config.region) {
            (Some(mine), Some(theirs)) => mine != theirs,
            _ => false,
        };
        let agent = Agent {
            id: id.to_string(),
            free: total.clone(),
            total,
            allocated: Vec::new(),
            active: true,
            remote,
            has_gpus,
            total_split: split,
            free_split: Split::default(),
            reservations: reservations.clone(),
            free_version: 0,
            filters: AgentFilters::default(),
            skip_cache: FxHashMap::default(),
            offer_cache: None,
        };
        let idx = if let Some(i) = self.agent_free_slots.pop() {
            self.agents[i] = Some(agent);
            i
        } else {
            self.agents.push(Some(agent));
            self.agents.len() - 1
        };
        self.agent_index.insert(id.to_string(), idx);
        self.add_total(&split, true);
        self.refresh_free(idx);
        self.account_reservations(&reservations, true);
        for (fw_id, res) in used {
            let fw = self.slot_for_framework(fw_id);
            self.track_used(idx, fw, res);
        }
        Ok(())
    }

    fn add_total(&mut self, split: &Split, plus: bool) {
        let zero = Split::default();
        if plus {
            self.adjust_total(&zero, split);
        } else {
            self.adjust_total(split, &zero);
        }
    }

    /// Cluster totals lose `minus` and gain `plus`; sorters see the new pool once.
    pub(crate) fn adjust_total(&mut self, minus: &Split, plus: &Split) {
        let before_unres = self.total.unreserved;
        let t = &mut self.total;
        t.all.sub(&minus.all);
        t.all.add(&plus.all);
        t.unreserved.sub(&minus.unreserved);
        t.unreserved.add(&plus.unreserved);
        t.reserved.sub(&minus.reserved);
        t.reserved.add(&plus.reserved);
        t.revocable.sub(&minus.revocable);
        t.revocable.add(&plus.revocable);
        t.has_revocable = t.revocable.any_positive();
        let total = self.total.all;
        self.role_sorter.set_total(&total);
        self.quota_sorter.set_total(&total);
        // Framework sorters pick the new total up lazily (`set_total` before each walk).
        let names_changed = (0..self.names.len())
            .any(|s| (before_unres.get(s) > 0) != (self.total.unreserved.get(s) > 0));
        if names_changed {
            let ids: Vec<RoleId> = self.fw_sorters.keys().copied().collect();
            for id in ids {
                self.refresh_role(id);
            }
        }
    }

    /// Removes an agent and everything allocated on it.
    pub fn remove_agent(&mut self, id: &str) -> Result<(), AllocatorError> {
        let idx = self.agent_idx(id)?;
        let held: Vec<(FwIdx, Resources)> = self.agent(idx).allocated.clone();
        for (fw, res) in held {
            for (role, r) in sorted_allocations(&res) {
                self.untrack_allocation(idx, fw, &role, &r);
            }
        }
        let (split, reservations) = {
            let a = self.agent(idx);
            (a.total_split, a.reservations.clone())
        };
        self.account_reservations(&reservations, false);
        let free_unres = self.agent(idx).free_split.unreserved;
        self.free_unreserved.sub(&free_unres);
        for f in self.frameworks.iter_mut().flatten() {
            f.filter_agents.remove(&idx);
        }
        let gone: Vec<(RoleId, usize)> = self
            .agent(idx)
            .filters
            .by_key
            .iter()
            .map(|((_, role), list)| (*role, list.len()))
            .collect();
        for (role, n) in gone {
            let c = self.live_filters.entry(role).or_default();
            *c = c.saturating_sub(n);
            if *c == 0 {
                self.live_filters.remove(&role);
            }
        }
        self.agents[idx] = None;
        self.agent_free_slots.push(idx);
        self.agent_index.remove(id);
        self.add_total(&split, false);
        Ok(())
    }

    /// Replaces an agent's total (e.g. new revocable estimates); allocations stay.
    pub fn update_agent(&mut self, id: &str, config: &AgentConfig) -> Result<(), AllocatorError> {
        let idx = self.agent_idx(id)?;
        self.intern_all(&config.total)?;
        let mut total = config.total.clone();
        total.unallocate();
        let split = self.split(&total);
        let reservations = self.reservations_of(&total);
        let (old_split, old_res) = {
            let a = self.agent(idx);
            (a.total_split, a.reservations.clone())
        };
        self.account_reservations(&old_res, false);
        self.add_total(&old_split, false);
        let remote = match (&self.opts.region, &config.region) {
            (Some(mine), Some(theirs)) => mine != theirs,
            _ => false,
        };
        let has_gpus = self.names.get("gpus").is_some_and(|s| split.all.get(s) > 0);
        {
            let a = self.agent_mut(idx);
            let mut free = total.clone();
            for (_, r) in &a.allocated {
                let mut plain = r.filter(|e| !e.is_shared());
                plain.unallocate();
                free -= &plain;
            }
            a.free = free;
            a.total = total;
            a.total_split = split;
            a.reservations = reservations.clone();
            a.remote = remote;
            a.has_gpus = has_gpus;
        }
        self.add_total(&split, true);
        self.account_reservations(&reservations, true);
        self.refresh_free(idx);
        Ok(())
    }

    /// Includes the agent in allocation passes again.
    pub fn activate_agent(&mut self, id: &str) -> Result<(), AllocatorError> {
        let idx = self.agent_idx(id)?;
        self.agent_mut(idx).active = true;
        Ok(())
    }

    /// Leaves the agent out of allocation passes (its allocations stay).
    pub fn deactivate_agent(&mut self, id: &str) -> Result<(), AllocatorError> {
        let idx = self.agent_idx(id)?;
        self.agent_mut(idx).active = false;
        Ok(())
    }

    /// Sets a role's quota in the 1.9 form (guarantees and limits). Empty guarantees and
    /// no limits restore the default (no quota).
    pub fn update_quota(
        &mut self,
        role: &str,
        guarantees: &ResourceQuantities,
        limits: &ResourceLimits,
    ) -> Result<(), AllocatorError> {
        validate_role(role)?;
        let mut quota = Quota::default();
        for (name, amount) in guarantees.iter() {
            let slot = self.names.intern(name, NameKind::Scalar)?;
            quota.guarantees.add_at(slot, amount.millis());
        }
        for (name, amount) in limits.iter() {
            let slot = self.names.intern(name, NameKind::Scalar)?;
            quota.limits.set(slot, amount.millis());
            quota.limited |= 1 << slot;
        }
        self.set_quota(role, quota);
        Ok(())
    }

    /// 1.8 `SET_QUOTA`: the guarantee also acts as the limit.
    pub fn set_quota(&mut self, role: &str, quota: Quota) {
        self.roles.set_quota(role, quota);
        if let Some(id) = self.roles.get(role) {
            self.refresh_role_path(id);
            self.gc_role(id);
        }
    }

    /// 1.8 `SET_QUOTA` from quantities text (`cpus:4;mem:4096`).
    pub fn set_quota_guarantee(
        &mut self,
        role: &str,
        guarantees: &str,
    ) -> Result<(), AllocatorError> {
        validate_role(role)?;
        let q = self.names.parse(guarantees)?;
        self.set_quota(role, Quota::guarantee_as_limit(q));
        Ok(())
    }

    /// 1.8 `REMOVE_QUOTA`.
    pub fn remove_quota(&mut self, role: &str) -> Result<(), AllocatorError> {
        validate_role(role)?;
        self.set_quota(role, Quota::default());
        Ok(())
    }

    /// Sets role weights (`UPDATE_WEIGHTS`); every weight must be positive and finite.
    pub fn update_weights(&mut self, weights: &[(String, f64)]) -> Result<(), AllocatorError> {
        for (role, w) in weights {
            validate_role(role)?;
            if !w.is_finite() || *w <= 0.0 {
                return Err(AllocatorError::InvalidWeight(role.clone(), *w));
            }
        }
        for (role, w) in weights {
            self.role_sorter.update_weight(role, *w);
            self.weights.insert(role.clone(), *w);
        }
        Ok(())
    }

    /// The weight of `role` (1.0 unless set).
    pub fn weight(&self, role: &str) -> f64 {
        self.weights.get(role).copied().unwrap_or(1.0)
    }

    /// Stops allocation passes until `resume` (they return nothing meanwhile).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes allocation passes.
    pub fn resume(&mut self) {
        self.paused = false;
    }
}

/// A framework's resources on one agent grouped by allocation role, in role order.
pub(crate) fn sorted_allocations(res: &Resources) -> Vec<(String, Resources)> {
    let mut v: Vec<(String, Resources)> = res.allocations().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

//! One allocation pass.
//!
//! Agents are visited in a seeded random order, twice:
//! 1. roles whose quota guarantee is not yet met (in DRF order among them) get their
//!    reservations plus unreserved resources up to the unmet guarantee, and may go beyond
//!    it up to their limits only out of surplus headroom;
//! 2. every role in hierarchical DRF order, each framework of a role in DRF order, gets the
//!    agent's remaining resources allocatable to the role, shrunk to the role's limits (and
//!    its ancestors' limits: Mesos checked only the role's own) and to what leaves enough
//!    unreserved headroom for other roles' unmet guarantees.
//!
//! A candidate must pass the minimum-allocatable check and not be covered by a decline
//! filter. Walks resume after allocations rather than re-sorting (see `sorter`), agents
//! with nothing free are skipped, and a (agent, role) walk that found every framework
//! filtered is remembered until the agent's free resources, its filters or the role's
//! frameworks change.

use crate::allocator::fxhash::FxHashMap;
use std::time::Duration;

use mesos_protos::resources::{ResourceValue, Resources, Scalar};

use super::offer_cache::Take;
use super::quantities::Quantities;
use super::report::NoOfferReason;
use super::roles::RoleId;
use super::sorter::{SortCursor, Sorter};
use super::state::{AgentIdx, FwIdx, HierarchicalAllocator, Split};
use super::Allocation;

/// Figures that change as a pass hands resources out.
struct Pass {
    now: Duration,
    required: Quantities,
    available: Quantities,
    out: Vec<Allocation>,
    index: FxHashMap<(FwIdx, AgentIdx, RoleId), usize>,
    shared_offered: FxHashMap<AgentIdx, Resources>,
    roles_cursor: SortCursor,
    frameworks_cursor: SortCursor,
    in_quota_stage: bool,
}

/// What considering one (agent, role, framework) led to.
enum Outcome {
    /// Resources were allocated.
    Allocated,
    /// Nothing left on the agent for this role: stop walking its frameworks.
    NothingLeft,
    /// This framework gets nothing here, for this reason.
    Skip(NoOfferReason),
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Quota,
    Fair,
}

impl HierarchicalAllocator {
    /// Runs one allocation pass over all active agents at time `now`.
    pub fn allocate(&mut self, now: Duration) -> Vec<Allocation> {
        self.run_pass(now, None)
    }

    /// Runs an event-driven pass over the given agents only (unknown ids are ignored).
    pub fn allocate_agents(&mut self, now: Duration, agent_ids: &[String]) -> Vec<Allocation> {
        let idxs: Vec<AgentIdx> = agent_ids
            .iter()
            .filter_map(|id| self.agent_index.get(id).copied())
            .collect();
        self.run_pass(now, Some(idxs))
    }

    fn run_pass(&mut self, now: Duration, only: Option<Vec<AgentIdx>>) -> Vec<Allocation> {
        self.expire_filters(now);
        if self.paused {
            return Vec::new();
        }
        self.runs += 1;
        let full = only.is_none();
        self.served.clear();
        self.cycle_reasons.clear();
        self.filtered_roles.clear();
        // The full pass reuses one buffer: a fresh 10k-entry vector costs page faults.
        let mut agents: Vec<AgentIdx> = match only {
            Some(v) => v,
            None => {
                let mut v = std::mem::take(&mut self.pass_agents);
                v.clear();
                v.extend(0..self.agents.len());
                v
            }
        };
        agents.retain(|a| self.agents[*a].as_ref().is_some_and(|x| x.active));
        self.rng.shuffle(&mut agents);
        let total = self.total.all;
        self.role_sorter.set_total(&total);
        self.quota_sorter.set_total(&total);
        let mut pass = Pass {
            now,
            required: self.required_headroom(),
            available: self.free_unreserved,
            out: Vec::new(),
            index: FxHashMap::default(),
            shared_offered: FxHashMap::default(),
            roles_cursor: SortCursor::new(),
            frameworks_cursor: SortCursor::new(),
            in_quota_stage: false,
        };
        if self.quota_sorter.active_count() > 0 {
            pass.in_quota_stage = true;
            for &agent in &agents {
                self.quota_stage_agent(&mut pass, agent);
            }
            pass.in_quota_stage = false;
            self.rng.shuffle(&mut agents);
        }
        pass.out.reserve(agents.len());
        for &agent in &agents {
            self.fair_stage_agent(&mut pass, agent);
        }
        self.settle_reasons(full);
        if full {
            self.pass_agents = agents;
        }
        pass.out
    }

    /// Sum over top-level roles of their unmet guarantees.
    fn required_headroom(&self) -> Quantities {
        let mut required = Quantities::ZERO;
        for id in self.roles.top_level() {
            let n = self.roles.node(id);
            if !n.quota.guarantees.is_zero() {
                required.add(&n.quota.guarantees.minus_floor(&n.consumed()));
            }
        }
        required
    }

    fn top_unmet(&self, role: RoleId) -> Option<(RoleId, Quantities)> {
        let top = self.roles.path_up(role).last()?;
        let n = self.roles.node(top);
        (!n.quota.guarantees.is_zero())
            .then(|| (top, n.quota.guarantees.minus_floor(&n.consumed())))
    }

    fn quota_stage_agent(&mut self, pass: &mut Pass, agent: AgentIdx) {
        if self.agent(agent).free.is_empty() {
            return;
        }
        let mut roles = std::mem::take(&mut pass.roles_cursor);
        roles.reset();
        while let Some(role) = self.quota_sorter.next(&mut roles) {
            if self.agent(agent).free.is_empty() {
                break;
            }
            let node = self.roles.node(role);
            if node
                .quota
                .guarantees
                .minus_floor(&node.consumed())
                .is_zero()
            {
                continue;
            }
            self.walk_frameworks(pass, agent, role, Stage::Quota);
        }
        pass.roles_cursor = roles;
    }

    fn fair_stage_agent(&mut self, pass: &mut Pass, agent: AgentIdx) {
        if self.agent(agent).free.is_empty() {
            return;
        }
        let mut roles = std::mem::take(&mut pass.roles_cursor);
        roles.reset();
        while let Some(role) = self.role_sorter.next(&mut roles) {
            if self.agent(agent).free.is_empty() {
                break;
            }
            self.walk_frameworks(pass, agent, role, Stage::Fair);
        }
        pass.roles_cursor = roles;
    }

    /// Offers the agent to the frameworks of `role` in order.
    fn walk_frameworks(&mut self, pass: &mut Pass, agent: AgentIdx, role: RoleId, stage: Stage) {
        let total = self.total.all;
        let Some(rf) = self.fw_sorters.get_mut(&role) else {
            return;
        };
        rf.sorter.set_total(&total);
        let generation = rf.generation;
        let key = {
            let a = self.agent(agent);
            (generation, a.free_version, a.filters.version)
        };
        if stage == Stage::Fair && self.agent(agent).skip_cache.get(&role) == Some(&key) {
            self.filtered_roles.insert(role);
            return;
        }
        let mut cursor = std::mem::take(&mut pass.frameworks_cursor);
        cursor.reset();
        let mut visited = 0usize;
        let mut all_filtered = true;
        while let Some(fw) = self
            .fw_sorters
            .get_mut(&role)
            .and_then(|rf| rf.sorter.next(&mut cursor))
        {
            visited += 1;
            match self.consider(pass, agent, role, fw, stage) {
                Outcome::Allocated => {
                    all_filtered = false;
                    self.served.insert((fw, role));
                }
                Outcome::NothingLeft => {
                    all_filtered = false;
                    break;
                }
                Outcome::Skip(reason) => {
                    if reason != NoOfferReason::Filtered {
                        all_filtered = false;
                    }
                    let e = self.cycle_reasons.entry((fw, role)).or_insert(reason);
                    if reason.rank() > e.rank() {
                        *e = reason;
                    }
                }
            }
        }
        pass.frameworks_cursor = cursor;
        if stage == Stage::Fair && all_filtered && visited > 0 {
            self.agent_mut(agent).skip_cache.insert(role, key);
        }
    }

    /// Decides what `fw` gets from `agent` for `role`, and allocates it.
    fn consider(
        &mut self,
        pass: &mut Pass,
        agent: AgentIdx,
        role: RoleId,
        fw: FwIdx,
        stage: Stage,
    ) -> Outcome {
        let a = self.agent(agent);
        if a.free.is_empty() {
            return Outcome::NothingLeft;
        }
        let f = self.fw(fw);
        if (self.opts.filter_gpu_resources && a.has_gpus && !f.caps.gpu_resources)
            || (a.remote && !f.caps.region_aware)
        {
            return Outcome::Skip(NoOfferReason::CapabilityMissing);
        }
        let fs = a.free_split;
        let simple_agent = !fs.has_reserved && !fs.has_revocable && !fs.has_shared;
        let limited = self
            .roles
            .path_up(role)
            .any(|r| self.roles.node(r).quota.limited != 0);
        if simple_agent && !limited && stage == Stage::Fair && pass.required.is_zero() {
            // The common case: the whole free part of the agent, nothing to shape.
            if !self.allocatable(fw, role, &fs.all) {
                return Outcome::Skip(NoOfferReason::BelowMinimum);
            }
            if a.filters
                .filters(fw, role, &a.free, &fs.all, pass.now, Some(a.free_version))
            {
                return Outcome::Skip(NoOfferReason::Filtered);
            }
            self.grant(pass, agent, fw, role, Take::Whole, &fs);
            return Outcome::Allocated;
        }
        let role_name = self.roles.node(role).shared_name.clone();
        let mut available = if simple_agent {
            a.free.clone()
        } else {
            a.free.allocatable_to(&role_name)
        };
        if fs.has_shared {
            if let Some(done) = pass.shared_offered.get(&agent) {
                available -= done;
            }
        }
        if available.is_empty() {
            return Outcome::NothingLeft;
        }
        let available_split = if simple_agent {
            fs
        } else {
            self.split(&available)
        };
        if !self.allocatable(fw, role, &available_split.all) {
            return Outcome::Skip(NoOfferReason::BelowMinimum);
        }
        if (fs.has_revocable && !f.caps.revocable_resources)
            || (fs.has_shared && !f.caps.shared_resources)
        {
            let (rev, shared) = (f.caps.revocable_resources, f.caps.shared_resources);
            available =
                available.filter(|e| (rev || !e.is_revocable()) && (shared || !e.is_shared()));
            if available.is_empty() {
                return Outcome::Skip(NoOfferReason::CapabilityMissing);
            }
        }
        let Some((offer, split, shrink_reason)) = self.shape(pass, &available, role, stage) else {
            return Outcome::Skip(NoOfferReason::NoCapacity);
        };
        if offer.is_empty() {
            return Outcome::Skip(shrink_reason.unwrap_or(NoOfferReason::NoCapacity));
        }
        if !self.allocatable(fw, role, &split.all) {
            return Outcome::Skip(shrink_reason.unwrap_or(NoOfferReason::BelowMinimum));
        }
        let a = self.agent(agent);
        if a.filters
            .filters(fw, role, &offer, &split.all, pass.now, None)
        {
            return Outcome::Skip(NoOfferReason::Filtered);
        }
        self.grant(pass, agent, fw, role, Take::Part(offer), &split);
        Outcome::Allocated
    }

    /// Allocates `offer` (no allocation info yet) and adds it to the pass's output.
    fn grant(
        &mut self,
        pass: &mut Pass,
        agent: AgentIdx,
        fw: FwIdx,
        role: RoleId,
        offer: Take,
        split: &Split,
    ) {
        let before = self.top_unmet(role);
        let allocated = self.track_owned(agent, fw, role, offer, split);
        if let Some((top, unmet_before)) = before {
            let n = self.roles.node(top);
            let unmet_after = n.quota.guarantees.minus_floor(&n.consumed());
            pass.required.sub(&unmet_before);
            pass.required.add(&unmet_after);
        }
        pass.available.sub(&split.unreserved);
        if split.has_shared {
            let mut s = allocated.filter(|e| e.is_shared());
            s.unallocate();
            *pass.shared_offered.entry(agent).or_default() += &s;
        }
        // Only stage 1 and stage 2 together can hand the same (framework, agent, role) two
        // pieces; a walk visits each role and framework once per agent.
        let key = (fw, agent, role);
        let existing = if pass.index.is_empty() {
            None
        } else {
            pass.index.get(&key).copied()
        };
        match existing {
            Some(i) => pass.out[i].resources += &allocated,
            None => {
                if pass.in_quota_stage {
                    pass.index.insert(key, pass.out.len());
                }
                pass.out.push(Allocation {
                    framework_id: self.fw(fw).id.clone(),
                    agent_id: self.agent(agent).id.clone(),
                    role: self.roles.node(role).name.clone(),
                    resources: allocated,
                });
            }
        }
    }

    /// Applies guarantees, limits and headroom to a candidate. Returns the offer, its
    /// split, and the reason if shrinking took something away.
    fn shape(
        &self,
        pass: &Pass,
        available: &Resources,
        role: RoleId,
        stage: Stage,
    ) -> Option<(Resources, Split, Option<NoOfferReason>)> {
        // Unreserved non-revocable scalars are what quota and headroom govern.
        let quota_part = available.filter(|e| {
            e.is_unreserved() && !e.is_revocable() && matches!(e.value(), ResourceValue::Scalar(_))
        });
        let fixed = available.filter(|e| {
            !(e.is_unreserved()
                && !e.is_revocable()
                && matches!(e.value(), ResourceValue::Scalar(_)))
        });
        let fixed = match stage {
            // Stage 1 offers only the role's own reservations, like Mesos.
            Stage::Quota => {
                let name = &self.roles.node(role).name;
                fixed.filter(|e| e.is_unreserved() || e.reservation_role() == Some(name.as_str()))
            }
            Stage::Fair => fixed,
        };
        let quota_q = self.split(&quota_part).unreserved;
        let room = self.roles.limit_room(role);
        let surplus = pass.available.minus_floor(&pass.required);
        let mut reason = None;
        let (guaranteed, target) = match stage {
            Stage::Quota => {
                let n = self.roles.node(role);
                let unmet = n.quota.guarantees.minus_floor(&n.consumed()).min(&room);
                let g = self.shrink(&quota_part, &unmet);
                let gq = self.split(&g).unreserved;
                if g.is_empty() {
                    return None;
                }
                let mut rest_room = room;
                rest_room.sub_floor(&gq);
                let mut target = rest_room;
                if pass.required.any_positive() {
                    target = target.min(&surplus);
                }
                (g, target)
            }
            Stage::Fair => {
                let mut target = room;
                if !room.contains(&quota_q) {
                    reason = Some(NoOfferReason::LimitReached);
                }
                if pass.required.any_positive() {
                    if !surplus.contains(&quota_q) && room.contains(&quota_q) {
                        reason = Some(NoOfferReason::HeadroomHeld);
                    }
                    target = target.min(&surplus);
                }
                (Resources::new(), target)
            }
        };
        let mut remaining = quota_part;
        if !guaranteed.is_empty() {
            remaining -= &guaranteed;
        }
        let extra = if self.split(&remaining).unreserved.min(&target)
            == self.split(&remaining).unreserved
        {
            remaining
        } else {
            self.shrink(&remaining, &target)
        };
        let mut offer = fixed;
        offer += &guaranteed;
        offer += &extra;
        let split = self.split(&offer);
        Some((offer, split, reason))
    }

    /// The entries of `r` that fit in `target`, scalar entries cut down where allowed
    /// (persistent volumes and MOUNT/BLOCK disks are taken whole or not at all).
    fn shrink(&self, r: &Resources, target: &Quantities) -> Resources {
        let mut left = *target;
        let mut out = Resources::new();
        for e in r.iter() {
            let Some(slot) = self.names.get(e.name()) else {
                continue;
            };
            let have = e.value().quantity().millis();
            let room = left.get(slot);
            if room <= 0 {
                continue;
            }
            let mut p = e.to_proto();
            if have <= room {
                left.add_at(slot, -have);
                out.add_resource(&p);
                continue;
            }
            let whole_only = e.is_persistent_volume()
                || e.disk()
                    .and_then(|d| d.source.as_ref())
                    .is_some_and(|s| s.r#type == 2 || s.r#type == 3);
            if whole_only || !matches!(e.value(), ResourceValue::Scalar(_)) {
                continue;
            }
            if let Some(s) = p.scalar.as_mut() {
                s.value = Scalar::from_millis(room).as_f64();
            }
            left.set(slot, 0);
            out.add_resource(&p);
        }
        out
    }

    /// Does `q` meet the minimum that applies to `fw` in `role`?
    fn allocatable(&self, fw: FwIdx, role: RoleId, q: &Quantities) -> bool {
        if q.is_zero() {
            return false;
        }
        let f = self.fw(fw);
        let mins = if f.min_alloc.is_empty() {
            &self.global_min
        } else {
            self.min_for(fw, &self.roles.node(role).name)
        };
        mins.is_empty() || mins.iter().any(|m| q.contains(m))
    }
}

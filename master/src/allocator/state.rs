//! The allocator's state and the bookkeeping every call shares: tracking allocations in
//! agents, roles and sorters, and keeping each role's place in the sorters current.

use std::collections::BinaryHeap;

use crate::allocator::fxhash::{FxHashMap, FxHashSet};
use std::time::Duration;

use mesos_protos::resources::{ResourceValue, Resources};

use super::filters::{AgentFilters, Expiry};
use super::offer_cache::{OfferCache, Take};
use super::quantities::{NameKind, Quantities, ResourceNames};
use super::report::NoOfferReason;
use super::rng::SeededRng;
use super::roles::{RoleId, RoleTree};
use super::sorter::{new_sorter, DrfSorter, Sorter};
use super::{AllocatorError, AllocatorOptions, Capabilities};

pub(crate) type FwIdx = usize;
pub(crate) type AgentIdx = usize;

/// Quantities of a `Resources`, split the ways the allocator needs them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Split {
    /// Everything (scalars and counted ranges/sets).
    pub all: Quantities,
    /// Unreserved, non-revocable scalars (what quota and headroom count).
    pub unreserved: Quantities,
    /// Reserved scalars.
    pub reserved: Quantities,
    /// Revocable scalars.
    pub revocable: Quantities,
    pub has_reserved: bool,
    pub has_revocable: bool,
    pub has_shared: bool,
}

/// One agent: its resources (never added to another agent's) and derived figures.
#[derive(Debug)]
pub(crate) struct Agent {
    pub id: String,
    pub total: Resources,
    /// `total` minus everything offered or allocated (shared resources are never used up).
    pub free: Resources,
    pub allocated: Vec<(FwIdx, Resources)>,
    pub active: bool,
    pub remote: bool,
    pub has_gpus: bool,
    pub total_split: Split,
    pub free_split: Split,
    /// Reservations in `total`, per role: (role, scalar quantities, objects).
    pub reservations: Vec<(String, Quantities, usize)>,
    pub free_version: u64,
    pub filters: AgentFilters,
    /// (role) → the state under which a full walk of the role's frameworks found only
    /// filtered ones: (role generation, free version, filter version).
    pub skip_cache: FxHashMap<RoleId, (u64, u64, u64)>,
    /// The last offer made here (see `offer_cache`).
    pub offer_cache: Option<OfferCache>,
}

/// One framework as the allocator sees it.
#[derive(Debug)]
pub(crate) struct Framework {
    pub id: String,
    pub roles: Vec<String>,
    pub caps: Capabilities,
    pub active: bool,
    pub known: bool,
    pub suppressed: FxHashSet<String>,
    /// Per-role minimum override; an empty list means no minimum.
    pub min_alloc: FxHashMap<String, Vec<Quantities>>,
    /// Roles whose framework sorter holds this framework (subscribed or allocated).
    pub tracked: FxHashSet<String>,
    /// Agents where it has decline filters.
    pub filter_agents: FxHashSet<AgentIdx>,
}

/// A role's framework sorter and a generation bumped on membership changes.
pub(crate) struct RoleFrameworks {
    pub sorter: Box<dyn Sorter>,
    pub generation: u64,
}

/// Mesos's hierarchical DRF allocator, without the actor.
pub struct HierarchicalAllocator {
    pub(crate) opts: AllocatorOptions,
    pub(crate) names: ResourceNames,
    pub(crate) roles: RoleTree,
    pub(crate) role_sorter: Box<dyn Sorter>,
    pub(crate) quota_sorter: DrfSorter,
    pub(crate) in_quota_sorter: FxHashSet<RoleId>,
    pub(crate) fw_sorters: FxHashMap<RoleId, RoleFrameworks>,
    pub(crate) agents: Vec<Option<Agent>>,
    pub(crate) agent_free_slots: Vec<AgentIdx>,
    pub(crate) agent_index: FxHashMap<String, AgentIdx>,
    pub(crate) frameworks: Vec<Option<Framework>>,
    pub(crate) fw_free_slots: Vec<FwIdx>,
    pub(crate) fw_index: FxHashMap<String, FwIdx>,
    /// Sum of agent totals.
    pub(crate) total: Split,
    /// Sum of agents' free unreserved non-revocable scalars (the headroom pool).
    pub(crate) free_unreserved: Quantities,
    /// Everything offered or allocated.
    pub(crate) allocated_q: Quantities,
    pub(crate) global_min: Vec<Quantities>,
    pub(crate) expiries: BinaryHeap<Expiry>,
    pub(crate) filter_seq: u64,
    pub(crate) rng: SeededRng,
    pub(crate) paused: bool,
    pub(crate) runs: u64,
    pub(crate) last_run: Option<Duration>,
    pub(crate) weights: FxHashMap<String, f64>,
    pub(crate) generation_seq: u64,
    pub(crate) reasons: FxHashMap<(FwIdx, RoleId), NoOfferReason>,
    pub(crate) served: FxHashSet<(FwIdx, RoleId)>,
    pub(crate) cycle_reasons: FxHashMap<(FwIdx, RoleId), NoOfferReason>,
    pub(crate) filtered_roles: FxHashSet<RoleId>,
    /// Filters installed and not yet swept, per role (kept as filters come and go, so the
    /// `offer_filters/roles/<role>/active` metric costs O(roles), not O(filters)).
    pub(crate) live_filters: FxHashMap<RoleId, usize>,
    /// The visit-order buffer of full passes, kept between them.
    pub(crate) pass_agents: Vec<AgentIdx>,
}

impl HierarchicalAllocator {
    /// An allocator with the given master flags.
    pub fn new(opts: AllocatorOptions) -> Result<Self, AllocatorError> {
        let mut names = ResourceNames::new();
        names.set_fair_sharing_excluded(&opts.fair_sharing_excluded_resource_names)?;
        let mut global_min = Vec::new();
        for alt in &opts.min_allocatable_resources.0 {
            global_min.push(min_quantities(&mut names, alt)?);
        }
        let mask = names.share_mask();
        Ok(HierarchicalAllocator {
            role_sorter: new_sorter(opts.role_sorter, mask, opts.seed ^ 0xA5A5),
            quota_sorter: DrfSorter::new(mask),
            in_quota_sorter: FxHashSet::default(),
            fw_sorters: FxHashMap::default(),
            roles: RoleTree::new(),
            names,
            agents: Vec::new(),
            agent_free_slots: Vec::new(),
            agent_index: FxHashMap::default(),
            frameworks: Vec::new(),
            fw_free_slots: Vec::new(),
            fw_index: FxHashMap::default(),
            total: Split::default(),
            free_unreserved: Quantities::ZERO,
            allocated_q: Quantities::ZERO,
            global_min,
            expiries: BinaryHeap::new(),
            filter_seq: 0,
            rng: SeededRng::new(opts.seed),
            paused: false,
            runs: 0,
            last_run: None,
            weights: FxHashMap::default(),
            generation_seq: 0,
            reasons: FxHashMap::default(),
            served: FxHashSet::default(),
            cycle_reasons: FxHashMap::default(),
            filtered_roles: FxHashSet::default(),
            live_filters: FxHashMap::default(),
            pass_agents: Vec::new(),
            opts,
        })
    }

    pub(crate) fn agent(&self, idx: AgentIdx) -> &Agent {
        self.agents[idx].as_ref().expect("live agent index")
    }

    pub(crate) fn agent_mut(&mut self, idx: AgentIdx) -> &mut Agent {
        self.agents[idx].as_mut().expect("live agent index")
    }

    pub(crate) fn fw(&self, idx: FwIdx) -> &Framework {
        self.frameworks[idx].as_ref().expect("live framework index")
    }

    pub(crate) fn fw_mut(&mut self, idx: FwIdx) -> &mut Framework {
        self.frameworks[idx].as_mut().expect("live framework index")
    }

    pub(crate) fn agent_idx(&self, id: &str) -> Result<AgentIdx, AllocatorError> {
        self.agent_index
            .get(id)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownAgent(id.to_string()))
    }

    pub(crate) fn fw_idx(&self, id: &str) -> Result<FwIdx, AllocatorError> {
        self.fw_index
            .get(id)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownFramework(id.to_string()))
    }

    pub(crate) fn next_generation(&mut self) -> u64 {
        self.generation_seq += 1;
        self.generation_seq
    }

    /// Interns every name in `r` (agents bring new names; everything else is a subset).
    pub(crate) fn intern_all(&mut self, r: &Resources) -> Result<(), AllocatorError> {
        for e in r.iter() {
            let kind = match e.value() {
                ResourceValue::Scalar(_) => NameKind::Scalar,
                _ => NameKind::Counted,
            };
            self.names.intern(e.name(), kind)?;
        }
        let mask = self.names.share_mask();
        self.role_sorter.set_share_mask(mask);
        self.quota_sorter.set_share_mask(mask);
        for rf in self.fw_sorters.values_mut() {
            rf.sorter.set_share_mask(mask);
        }
        Ok(())
    }

    /// Splits `r` into the quantity vectors the allocator keeps.
    pub(crate) fn split(&self, r: &Resources) -> Split {
        let mut s = Split::default();
        for e in r.iter() {
            let Some(slot) = self.names.get(e.name()) else {
                continue;
            };
            let millis = e.value().quantity().millis();
            s.all.add_at(slot, millis);
            let scalar = matches!(e.value(), ResourceValue::Scalar(_));
            let reserved = !e.is_unreserved();
            s.has_reserved |= reserved;
            s.has_revocable |= e.is_revocable();
            s.has_shared |= e.is_shared();
            if scalar {
                if reserved {
                    s.reserved.add_at(slot, millis);
                }
                if e.is_revocable() {
                    s.revocable.add_at(slot, millis);
                } else if !reserved {
                    s.unreserved.add_at(slot, millis);
                }
            }
        }
        s
    }

    /// Reservations in `r` per role: (role, scalar quantities, number of objects).
    pub(crate) fn reservations_of(&self, r: &Resources) -> Vec<(String, Quantities, usize)> {
        let mut out: Vec<(String, Quantities, usize)> = Vec::new();
        for e in r.iter() {
            let Some(role) = e.reservation_role() else {
                continue;
            };
            let mut q = Quantities::ZERO;
            if let (ResourceValue::Scalar(s), Some(slot)) = (e.value(), self.names.get(e.name())) {
                q.add_at(slot, s.millis());
            }
            match out.iter_mut().find(|(r, _, _)| r == role) {
                Some(entry) => {
                    entry.1.add(&q);
                    entry.2 += 1;
                }
                None => out.push((role.to_string(), q, 1)),
            }
        }
        out
    }

    /// Adds (`plus`) or removes reservations from the role tree.
    pub(crate) fn account_reservations(&mut self, res: &[(String, Quantities, usize)], plus: bool) {
        for (role, q, count) in res {
            let id = self.roles.ensure(role);
            let (q, count) = (*q, *count);
            self.roles.update_up(id, |n| {
                if plus {
                    n.reserved.add(&q);
                    n.reservation_count += count;
                } else {
                    n.reserved.sub(&q);
                    n.reservation_count = n.reservation_count.saturating_sub(count);
                }
            });
            let own = self.roles.own_reservations_mut(id);
            if plus {
                *own += count;
            } else {
                *own = own.saturating_sub(count);
            }
            self.refresh_role_path(id);
            if !plus {
                self.gc_role(id);
            }
        }
    }

    /// Recomputes an agent's free resources and cached figures after `free` changed.
    pub(crate) fn refresh_free(&mut self, idx: AgentIdx) {
        let split = {
            let a = self.agent(idx);
            self.split(&a.free)
        };
        let a = self.agents[idx].as_mut().expect("live agent index");
        self.free_unreserved.sub(&a.free_split.unreserved);
        a.free_split = split;
        a.free_version += 1;
        self.free_unreserved.add(&split.unreserved);
    }

    /// Records `res` (carrying allocation info for `role`) as offered to `fw` on `agent`.
    pub(crate) fn track_allocation(
        &mut self,
        agent: AgentIdx,
        fw: FwIdx,
        role: &str,
        res: &Resources,
    ) {
        let mut plain = res.clone();
        plain.unallocate();
        let split = self.split(&plain);
        self.track_plain(agent, fw, role, &plain, &split);
    }

    /// Records `plain` (no allocation info) as offered to `fw` on `agent` for `role`;
    /// returns the resources as allocated (with allocation info).
    pub(crate) fn track_plain(
        &mut self,
        agent: AgentIdx,
        fw: FwIdx,
        role: &str,
        plain: &Resources,
        split: &Split,
    ) -> Resources {
        self.ensure_tracked(fw, role);
        let id = self.roles.ensure(role);
        self.track_owned(agent, fw, id, Take::Part(plain.clone()), split)
    }

    /// `track_plain` for a framework already tracked in role `id` (the allocation cycle's
    /// path: no name lookups, no extra copies; `Take::Whole` hands out all of `free`).
    pub(crate) fn track_owned(
        &mut self,
        agent: AgentIdx,
        fw: FwIdx,
        id: RoleId,
        take: Take,
        split: &Split,
    ) -> Resources {
        let name = self.roles.node(id).shared_name.clone();
        let allocated = self
            .agent_mut(agent)
            .hand_out(fw, &name, take, split.has_shared);
        self.refresh_free(agent);
        self.account_allocation_id(fw, id, split, true);
        allocated
    }

    /// Reverses `track_allocation` for `res` (which must be allocated); returns `res`
    /// without allocation info, and its split.
    pub(crate) fn untrack_allocation(
        &mut self,
        agent: AgentIdx,
        fw: FwIdx,
        role: &str,
        res: &Resources,
    ) -> (Resources, Split) {
        let has_shared = res.iter().any(|e| e.is_shared());
        let (plain, refilled) = self.agent_mut(agent).take_back(fw, res, has_shared);
        let split = self.split(&plain);
        self.refresh_free(agent);
        if refilled {
            self.agent_mut(agent).mark_free_is_plain();
        }
        self.account_allocation(fw, role, &split, false);
        self.maybe_untrack(fw, role);
        (plain, split)
    }

    /// Updates role tree and sorters for an allocation change of `split` to `fw` in `role`.
    pub(crate) fn account_allocation(&mut self, fw: FwIdx, role: &str, split: &Split, plus: bool) {
        let id = self.roles.ensure(role);
        self.account_allocation_id(fw, id, split, plus);
    }

    /// `account_allocation` by role id.
    pub(crate) fn account_allocation_id(
        &mut self,
        fw: FwIdx,
        id: RoleId,
        split: &Split,
        plus: bool,
    ) {
        let s = *split;
        self.roles.update_up(id, |n| {
            if plus {
                n.allocated.add(&s.all);
                n.allocated_unreserved.add(&s.unreserved);
                n.allocated_reserved.add(&s.reserved);
            } else {
                n.allocated.sub(&s.all);
                n.allocated_unreserved.sub(&s.unreserved);
                n.allocated_reserved.sub(&s.reserved);
            }
        });
        if plus {
            self.allocated_q.add(&s.all);
            self.role_sorter.allocated(id, &s.all);
        } else {
            self.allocated_q.sub(&s.all);
            self.role_sorter.unallocated(id, &s.all);
        }
        if let Some(rf) = self.fw_sorters.get_mut(&id) {
            if plus {
                rf.sorter.allocated(fw, &s.all);
            } else {
                rf.sorter.unallocated(fw, &s.all);
            }
        }
        if !self.in_quota_sorter.is_empty() {
            let path: Vec<RoleId> = self.roles.path_up(id).collect();
            for r in &path {
                if self.in_quota_sorter.contains(r) {
                    if plus {
                        self.quota_sorter.allocated(*r, &s.all);
                    } else {
                        self.quota_sorter.unallocated(*r, &s.all);
                    }
                }
            }
        }
        self.refresh_role_path(id);
    }

    /// Puts `fw` into `role`'s framework sorter (and the role into the role sorter).
    pub(crate) fn ensure_tracked(&mut self, fw: FwIdx, role: &str) {
        if self.fw(fw).tracked.contains(role) {
            return;
        }
        let id = self.roles.ensure(role);
        self.roles.add_frameworks(id, 1);
        if !self.fw_sorters.contains_key(&id) {
            let kind = self.opts.framework_sorter;
            let mask = self.names.share_mask();
            let seed = self.rng.next_u64();
            let mut sorter = new_sorter(kind, mask, seed);
            sorter.set_total(&self.total.all);
            self.fw_sorters.insert(
                id,
                RoleFrameworks {
                    sorter,
                    generation: 0,
                },
            );
            self.role_sorter.add(id, role);
            let alloc = self.roles.node(id).allocated;
            // Allocations of descendants already sit on their own sorter nodes; only the
            // role's own share is new to the role sorter.
            let own = self.own_allocation(id, alloc);
            self.role_sorter.allocated(id, &own);
        }
        let gen = self.next_generation();
        let rf = self.fw_sorters.get_mut(&id).expect("just ensured");
        rf.sorter.add(fw, &format!("f{fw}"));
        rf.generation = gen;
        self.fw_mut(fw).tracked.insert(role.to_string());
        self.refresh_framework_activity(fw, role);
    }

    /// The part of a role's subtree allocation that belongs to the role itself.
    fn own_allocation(&self, id: RoleId, mut subtree: Quantities) -> Quantities {
        for c in &self.roles.node(id).children {
            subtree.sub(&self.roles.node(*c).allocated);
        }
        subtree
    }

    /// Removes `fw` from `role`'s sorter once it neither subscribes to nor holds anything in it.
    pub(crate) fn maybe_untrack(&mut self, fw: FwIdx, role: &str) {
        let f = self.fw(fw);
        if !f.tracked.contains(role) || f.roles.iter().any(|r| r == role) {
            return;
        }
        let Some(id) = self.roles.get(role) else {
            return;
        };
        let holds = self
            .fw_sorters
            .get(&id)
            .and_then(|rf| rf.sorter.allocation(fw))
            .is_some_and(|q| !q.is_zero());
        if holds {
            return;
        }
        self.clear_filters(fw, Some(&[id]));
        self.fw_mut(fw).tracked.remove(role);
        self.roles.add_frameworks(id, -1);
        let gen = self.next_generation();
        let mut empty = false;
        if let Some(rf) = self.fw_sorters.get_mut(&id) {
            rf.sorter.remove(fw);
            rf.generation = gen;
            empty = rf.sorter.count() == 0;
        }
        if empty {
            self.fw_sorters.remove(&id);
            self.role_sorter.remove(id);
        }
        self.refresh_role_path(id);
        self.gc_role(id);
    }

    /// Whether `fw` should be in `role`'s order (active, subscribed, not suppressed).
    pub(crate) fn refresh_framework_activity(&mut self, fw: FwIdx, role: &str) {
        let Some(id) = self.roles.get(role) else {
            return;
        };
        let f = self.fw(fw);
        let want = f.active && f.roles.iter().any(|r| r == role) && !f.suppressed.contains(role);
        let gen = self.next_generation();
        if let Some(rf) = self.fw_sorters.get_mut(&id) {
            if want {
                rf.sorter.activate(fw);
            } else {
                rf.sorter.deactivate(fw);
            }
            rf.generation = gen;
        }
        self.refresh_role(id);
    }

    /// Refreshes `id` and its ancestors after their figures changed.
    pub(crate) fn refresh_role_path(&mut self, id: RoleId) {
        let mut cur = Some(id);
        while let Some(r) = cur {
            self.refresh_role(r);
            cur = self.roles.node(r).parent;
        }
    }

    /// Sets whether `id` is in the role order (has active frameworks and is not at its
    /// limits) and in the quota order (has active frameworks and an unmet guarantee).
    pub(crate) fn refresh_role(&mut self, id: RoleId) {
        let has_active = self
            .fw_sorters
            .get(&id)
            .is_some_and(|rf| rf.sorter.active_count() > 0);
        if self.fw_sorters.contains_key(&id) {
            if has_active && !self.saturated(id) {
                self.role_sorter.activate(id);
            } else {
                self.role_sorter.deactivate(id);
            }
        }
        let node = self.roles.node(id);
        let guarantees = node.quota.guarantees;
        if guarantees.is_zero() {
            if self.in_quota_sorter.remove(&id) {
                self.quota_sorter.remove(id);
            }
            return;
        }
        if !self.in_quota_sorter.contains(&id) {
            self.quota_sorter.add(id, &id.to_string());
            let alloc = node.allocated;
            self.quota_sorter.allocated(id, &alloc);
            self.in_quota_sorter.insert(id);
        }
        let unmet = guarantees
            .minus_floor(&self.roles.consumed(id))
            .any_positive();
        if has_active && unmet {
            self.quota_sorter.activate(id);
        } else {
            self.quota_sorter.deactivate(id);
        }
    }

    /// True if the role's own limits leave no room for any unreserved scalar the cluster
    /// has and no reservation could reach it (then walks can skip it entirely).
    pub(crate) fn saturated(&self, id: RoleId) -> bool {
        let node = self.roles.node(id);
        if node.quota.limited == 0 || node.reservation_count > 0 || self.total.has_revocable {
            return false;
        }
        if self
            .roles
            .path_up(id)
            .any(|r| self.roles.node(r).own_reservation_count > 0)
        {
            return false;
        }
        let room = node.quota.room(&node.consumed());
        let mask = self.names.scalar_mask();
        (0..self.names.len()).all(|slot| {
            mask & (1 << slot) == 0 || self.total.unreserved.get(slot) <= 0 || room.get(slot) <= 0
        })
    }

    /// Drops `id` (and idle ancestors) from the tree once nothing refers to it. Stale
    /// per-agent skip caches need no cleanup: generations are never reused.
    pub(crate) fn gc_role(&mut self, id: RoleId) {
        if self.fw_sorters.contains_key(&id) {
            return;
        }
        let n = self.roles.node(id);
        if n.quota.is_default() && self.in_quota_sorter.remove(&id) {
            self.quota_sorter.remove(id);
        }
        self.roles.gc(id);
    }

    /// The minimum-allocatable alternatives that apply to `fw` in `role`.
    pub(crate) fn min_for(&self, fw: FwIdx, role: &str) -> &[Quantities] {
        match self.fw(fw).min_alloc.get(role) {
            Some(v) => v,
            None => &self.global_min,
        }
    }
}

/// Converts one `--min_allocatable_resources` alternative into quantities.
pub(crate) fn min_quantities(
    names: &mut ResourceNames,
    alt: &[(String, f64)],
) -> Result<Quantities, AllocatorError> {
    let mut q = Quantities::ZERO;
    for (name, value) in alt {
        let kind = if name == "ports" {
            NameKind::Counted
        } else {
            NameKind::Scalar
        };
        let slot = names.intern(name, kind)?;
        q.add_at(slot, (value * 1000.0).round() as i64);
    }
    Ok(q)
}

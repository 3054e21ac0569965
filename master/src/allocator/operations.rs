//! Resources coming back (`recover_resources`) and operations that reshape resources
//! in place (`update_allocation` for allocated ones, `update_available` for free ones).

use std::time::Duration;

use mesos_protos::resources::Resources;

use super::lifecycle::sorted_allocations;
use super::state::{AgentIdx, FwIdx, HierarchicalAllocator};
use super::{refuse_duration, AllocatorError, Operation};

impl HierarchicalAllocator {
    /// Returns resources offered or allocated to a framework on an agent (declined,
    /// rescinded, unused or finished). With `refuse_seconds`, a filter withholds the same
    /// resources from that framework and role on that agent for that long (Mesos's rules:
    /// negative or invalid ⇒ 5 s, capped at 365 days, 0 ⇒ none; never shorter than one
    /// allocation interval). Unknown frameworks or agents are ignored, as in Mesos.
    pub fn recover_resources(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        resources: &Resources,
        refuse_seconds: Option<f64>,
        now: Duration,
    ) -> Result<(), AllocatorError> {
        let (Some(&fw), Some(&agent)) = (
            self.fw_index.get(framework_id),
            self.agent_index.get(agent_id),
        ) else {
            return Ok(());
        };
        if resources.is_empty() {
            return Ok(());
        }
        let groups = self.group_by_role(fw, resources);
        let empty = Resources::new();
        let held = self
            .agent(agent)
            .allocated
            .iter()
            .find(|(f, _)| *f == fw)
            .map_or(&empty, |(_, r)| r);
        for (_, r) in &groups {
            if !held.contains(r) {
                return Err(AllocatorError::NotAllocated {
                    framework: framework_id.to_string(),
                    agent: agent_id.to_string(),
                    resources: r.to_string(),
                });
            }
        }
        let timeout = refuse_seconds.map(refuse_duration);
        for (role, r) in groups {
            let (refused, split) = self.untrack_allocation(agent, fw, &role, &r);
            if let Some(t) = timeout {
                if t > Duration::ZERO && self.fw(fw).known {
                    let t = t.max(self.opts.allocation_interval);
                    let role_id = self.roles.ensure(&role);
                    self.add_filter(agent, fw, role_id, refused, split.all, now + t);
                }
            }
        }
        Ok(())
    }

    /// Resources of `fw` on `agent` (empty if none).
    pub(crate) fn held(&self, agent: AgentIdx, fw: FwIdx) -> Resources {
        self.agent(agent)
            .allocated
            .iter()
            .find(|(f, _)| *f == fw)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }

    /// Groups resources by allocation role; entries without one belong to the framework's
    /// first role (non-MULTI_ROLE frameworks have exactly one).
    fn group_by_role(&self, fw: FwIdx, resources: &Resources) -> Vec<(String, Resources)> {
        // Usually everything carries one role: no regrouping needed.
        let first = resources.iter().next().and_then(|e| e.allocation_role());
        if let Some(role) = first {
            if resources.iter().all(|e| e.allocation_role() == Some(role)) {
                return vec![(role.to_string(), resources.clone())];
            }
        }
        let mut groups = sorted_allocations(resources);
        let bare = resources.filter(|e| e.allocation_role().is_none());
        if !bare.is_empty() {
            let role = self
                .fw(fw)
                .roles
                .first()
                .cloned()
                .unwrap_or_else(|| "*".to_string());
            let mut b = bare;
            b.allocate(&role);
            match groups.iter_mut().find(|(r, _)| *r == role) {
                Some((_, r)) => *r += &b,
                None => groups.push((role, b)),
            }
        }
        groups
    }

    /// Applies operations (RESERVE, UNRESERVE, CREATE, DESTROY) to resources allocated to a
    /// framework on an agent; the agent's total changes with them. All or nothing.
    pub fn update_allocation(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        operations: &[Operation],
    ) -> Result<(), AllocatorError> {
        let fw = self.fw_idx(framework_id)?;
        let agent = self.agent_idx(agent_id)?;
        // Validate everything against a scratch copy first, so a failure changes nothing.
        let mut held = self.held(agent, fw);
        let mut steps = Vec::with_capacity(operations.len());
        for op in operations {
            let (consumed, converted) = op_conversion(op)?;
            if !held.contains(&consumed) {
                return Err(AllocatorError::NotAllocated {
                    framework: framework_id.to_string(),
                    agent: agent_id.to_string(),
                    resources: consumed.to_string(),
                });
            }
            held -= &consumed;
            held += &converted;
            steps.push((consumed, converted));
        }
        for (consumed, converted) in steps {
            for (role, c) in sorted_allocations(&consumed) {
                let split = self.split(&c);
                self.account_allocation(fw, &role, &split, false);
            }
            for (role, v) in sorted_allocations(&converted) {
                self.ensure_tracked(fw, &role);
                let split = self.split(&v);
                self.account_allocation(fw, &role, &split, true);
            }
            let mut c = consumed;
            c.unallocate();
            let mut v = converted;
            v.unallocate();
            self.change_total(agent, &c, &v);
        }
        let a = self.agent_mut(agent);
        a.end_loan(fw);
        if let Some(pos) = a.allocated.iter().position(|(f, _)| *f == fw) {
            a.allocated[pos].1 = held;
        }
        Ok(())
    }

    /// Applies operations to an agent's free resources (operator reservations and volumes).
    pub fn update_available(
        &mut self,
        agent_id: &str,
        operations: &[Operation],
    ) -> Result<(), AllocatorError> {
        let agent = self.agent_idx(agent_id)?;
        let mut free = self.agent(agent).free.clone();
        let mut steps = Vec::with_capacity(operations.len());
        for op in operations {
            let (mut consumed, mut converted) = op_conversion(op)?;
            consumed.unallocate();
            converted.unallocate();
            if !free.contains(&consumed) {
                return Err(AllocatorError::NotAvailable {
                    agent: agent_id.to_string(),
                    resources: consumed.to_string(),
                });
            }
            free -= &consumed;
            free += &converted;
            steps.push((consumed, converted));
        }
        for (c, v) in steps {
            self.change_total(agent, &c, &v);
        }
        self.agent_mut(agent).free = free;
        self.refresh_free(agent);
        Ok(())
    }

    /// Replaces `consumed` by `converted` in an agent's total, keeping cluster totals and
    /// the role tree's reservation figures in step.
    fn change_total(&mut self, agent: AgentIdx, consumed: &Resources, converted: &Resources) {
        let cs = self.split(consumed);
        let vs = self.split(converted);
        let cr = self.reservations_of(consumed);
        let vr = self.reservations_of(converted);
        {
            let a = self.agent_mut(agent);
            a.total -= consumed;
            a.total += converted;
            let t = &mut a.total_split;
            t.all.sub(&cs.all);
            t.all.add(&vs.all);
            t.unreserved.sub(&cs.unreserved);
            t.unreserved.add(&vs.unreserved);
            t.reserved.sub(&cs.reserved);
            t.reserved.add(&vs.reserved);
            t.revocable.sub(&cs.revocable);
            t.revocable.add(&vs.revocable);
            t.has_reserved |= vs.has_reserved;
            for (role, q, n) in &cr {
                if let Some(e) = a.reservations.iter_mut().find(|(r, _, _)| r == role) {
                    e.1.sub(q);
                    e.2 = e.2.saturating_sub(*n);
                }
            }
            for (role, q, n) in &vr {
                match a.reservations.iter_mut().find(|(r, _, _)| r == role) {
                    Some(e) => {
                        e.1.add(q);
                        e.2 += n;
                    }
                    None => a.reservations.push((role.clone(), *q, *n)),
                }
            }
            a.reservations.retain(|(_, _, n)| *n > 0);
        }
        self.adjust_total(&cs, &vs);
        self.account_reservations(&vr, true);
        self.account_reservations(&cr, false);
    }
}

/// What an operation consumes and what it produces.
fn op_conversion(op: &Operation) -> Result<(Resources, Resources), AllocatorError> {
    let bad = |e: mesos_protos::resources::ResourcesError| {
        AllocatorError::InvalidOperation(e.to_string())
    };
    match op {
        Operation::Reserve(r) => Ok((r.pop_reservation().map_err(bad)?, r.clone())),
        Operation::Unreserve(r) => Ok((r.clone(), r.pop_reservation().map_err(bad)?)),
        Operation::Create(v) => Ok((strip_volumes(v)?, v.clone())),
        Operation::Destroy(v) => Ok((v.clone(), strip_volumes(v)?)),
    }
}

/// The plain disk a persistent volume is made from (persistence and volume removed).
fn strip_volumes(v: &Resources) -> Result<Resources, AllocatorError> {
    let mut out = Resources::new();
    for e in v.iter() {
        if !e.is_persistent_volume() {
            return Err(AllocatorError::InvalidOperation(format!(
                "{} is not a persistent volume",
                e.name()
            )));
        }
        let mut p = e.to_proto();
        if let Some(d) = p.disk.as_mut() {
            d.persistence = None;
            d.volume = None;
            if d.source.is_none() {
                p.disk = None;
            }
        }
        if p.shared.is_some() {
            p.shared = None;
        }
        out.add_resource(&p);
    }
    Ok(out)
}

//! The role tree: hierarchical roles `a/b/c`, their weights and quota, and per-role
//! quantities aggregated up the tree (a parent's figures include its whole subtree).

use crate::allocator::fxhash::FxHashMap;

use super::quantities::Quantities;
use super::AllocatorError;

/// Index of a role inside the [`RoleTree`].
pub type RoleId = usize;

/// Checks a role name against Mesos's rules (`*`, or `/`-separated components).
pub fn validate_role(role: &str) -> Result<(), AllocatorError> {
    let bad = |why: &str| {
        Err(AllocatorError::InvalidRole(
            role.to_string(),
            why.to_string(),
        ))
    };
    if role == "*" {
        return Ok(());
    }
    if role.is_empty() {
        return bad("empty role");
    }
    if role.starts_with('/') || role.ends_with('/') {
        return bad("role may not begin or end with '/'");
    }
    if role.contains("//") {
        return bad("role may not contain '//'");
    }
    for component in role.split('/') {
        if component == "." || component == ".." || component == "*" {
            return bad("component may not be '.', '..' or '*'");
        }
        if component.starts_with('-') {
            return bad("component may not start with '-'");
        }
        if component
            .chars()
            .any(|c| c.is_whitespace() || c == '\\' || c.is_control())
        {
            return bad("component may not contain whitespace, backslash or control characters");
        }
    }
    Ok(())
}

/// The ancestors of `role` from the nearest (`a/b` for `a/b/c`) to the top-level one.
pub fn ancestors(role: &str) -> impl Iterator<Item = &str> {
    let mut end = role.len();
    std::iter::from_fn(move || {
        let idx = role[..end].rfind('/')?;
        end = idx;
        Some(&role[..idx])
    })
}

/// True if `role` is `ancestor` or lies below it.
pub fn is_in_subtree(role: &str, ancestor: &str) -> bool {
    role == ancestor
        || (role.len() > ancestor.len()
            && role.starts_with(ancestor)
            && role.as_bytes()[ancestor.len()] == b'/')
}

/// Quota of one role: guaranteed and maximum quantities (scalars only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Resources held back for the role until it consumes them.
    pub guarantees: Quantities,
    /// Upper bounds; only slots set in `limited` are bounded.
    pub limits: Quantities,
    /// Bit per slot that has a limit.
    pub limited: u32,
}

impl Quota {
    /// The 1.8 `SET_QUOTA` form: the guarantee doubles as the limit.
    pub fn guarantee_as_limit(guarantees: Quantities) -> Quota {
        let mut limited = 0;
        for (slot, _) in guarantees.iter() {
            limited |= 1 << slot;
        }
        Quota {
            guarantees,
            limits: guarantees,
            limited,
        }
    }

    /// True for the default quota (no guarantee, no limit).
    pub fn is_default(&self) -> bool {
        self.guarantees.is_zero() && self.limited == 0
    }

    /// Room left under the limits given `consumed` (`i64::MAX` where unlimited).
    pub fn room(&self, consumed: &Quantities) -> Quantities {
        let mut room = Quantities::ZERO;
        for slot in 0..super::quantities::MAX_RESOURCE_NAMES {
            if self.limited & (1 << slot) != 0 {
                room.set(slot, (self.limits.get(slot) - consumed.get(slot)).max(0));
            } else {
                room.set(slot, i64::MAX / 4);
            }
        }
        room
    }
}

/// One role and its subtree's figures.
#[derive(Clone, Debug)]
pub struct RoleNode {
    /// Full role name (`a/b`).
    pub name: String,
    /// The same name, cheap to hand out.
    pub shared_name: std::sync::Arc<str>,
    /// Parent role, `None` for top-level roles.
    pub parent: Option<RoleId>,
    /// Direct children.
    pub children: Vec<RoleId>,
    /// Number of frameworks subscribed to exactly this role.
    pub frameworks: usize,
    /// Quota configured for this role.
    pub quota: Quota,
    /// Offered or allocated quantities of the subtree (all resources).
    pub allocated: Quantities,
    /// Offered or allocated unreserved non-revocable quantities of the subtree.
    pub allocated_unreserved: Quantities,
    /// Reserved quantities of the subtree on all agents, offered or not.
    pub reserved: Quantities,
    /// Offered or allocated reserved quantities of the subtree.
    pub allocated_reserved: Quantities,
    /// Reservation objects of the subtree, so non-scalar reservations keep a role alive.
    pub reservation_count: usize,
    /// Reservation objects made to exactly this role.
    pub own_reservation_count: usize,
}

impl RoleNode {
    /// Quota consumption: reservations plus offered or allocated unreserved resources.
    pub fn consumed(&self) -> Quantities {
        let mut c = self.reserved;
        c.add(&self.allocated_unreserved);
        c
    }
}

/// All roles that are in use (frameworks, allocations, reservations or quota).
#[derive(Clone, Debug, Default)]
pub struct RoleTree {
    nodes: Vec<Option<RoleNode>>,
    free: Vec<RoleId>,
    by_name: FxHashMap<String, RoleId>,
    quotas: FxHashMap<String, Quota>,
    /// Bumped whenever a role is added or removed (lets callers cache role lists).
    pub generation: u64,
}

impl RoleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, if tracked.
    #[inline]
    pub fn get(&self, name: &str) -> Option<RoleId> {
        self.by_name.get(name).copied()
    }

    /// The node of `id` (panics on a stale id: ids come from this tree).
    #[inline]
    pub fn node(&self, id: RoleId) -> &RoleNode {
        self.nodes[id].as_ref().expect("live role id")
    }

    fn node_mut(&mut self, id: RoleId) -> &mut RoleNode {
        self.nodes[id].as_mut().expect("live role id")
    }

    /// The name of `id`, if it is still tracked.
    pub fn name_of(&self, id: RoleId) -> Option<&str> {
        self.nodes.get(id)?.as_ref().map(|n| n.name.as_str())
    }

    /// Iterates all tracked roles.
    pub fn iter(&self) -> impl Iterator<Item = (RoleId, &RoleNode)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
    }

    /// Top-level roles.
    pub fn top_level(&self) -> impl Iterator<Item = RoleId> + '_ {
        self.iter()
            .filter(|(_, n)| n.parent.is_none())
            .map(|(i, _)| i)
    }

    /// Configured quotas by role name (including roles not currently tracked).
    pub fn quotas(&self) -> &FxHashMap<String, Quota> {
        &self.quotas
    }

    /// The quota of `name` (default when none is set).
    pub fn quota_of(&self, name: &str) -> Quota {
        self.quotas.get(name).copied().unwrap_or_default()
    }

    /// Tracks `name` (and its ancestors), returning its id. The name must be valid.
    pub fn ensure(&mut self, name: &str) -> RoleId {
        if let Some(id) = self.by_name.get(name) {
            return *id;
        }
        let parent = name.rfind('/').map(|i| self.ensure(&name[..i]));
        let node = RoleNode {
            name: name.to_string(),
            shared_name: std::sync::Arc::from(name),
            parent,
            children: Vec::new(),
            frameworks: 0,
            quota: self.quota_of(name),
            allocated: Quantities::ZERO,
            allocated_unreserved: Quantities::ZERO,
            reserved: Quantities::ZERO,
            allocated_reserved: Quantities::ZERO,
            reservation_count: 0,
            own_reservation_count: 0,
        };
        let id = if let Some(id) = self.free.pop() {
            self.nodes[id] = Some(node);
            id
        } else {
            self.nodes.push(Some(node));
            self.nodes.len() - 1
        };
        if let Some(p) = parent {
            self.node_mut(p).children.push(id);
        }
        self.by_name.insert(name.to_string(), id);
        self.generation += 1;
        id
    }

    /// Stops tracking `id` and then its ancestors while they hold nothing.
    pub fn gc(&mut self, id: RoleId) {
        let mut cur = Some(id);
        while let Some(id) = cur {
            let n = self.node(id);
            let idle = n.frameworks == 0
                && n.children.is_empty()
                && n.reservation_count == 0
                && n.own_reservation_count == 0
                && n.allocated.is_zero()
                && n.reserved.is_zero()
                && n.quota.is_default();
            if !idle {
                return;
            }
            let parent = n.parent;
            let name = n.name.clone();
            if let Some(p) = parent {
                self.node_mut(p).children.retain(|c| *c != id);
            }
            self.by_name.remove(&name);
            self.nodes[id] = None;
            self.free.push(id);
            self.generation += 1;
            cur = parent;
        }
    }

    /// `id` and its ancestors, nearest first.
    pub fn path_up(&self, id: RoleId) -> impl Iterator<Item = RoleId> + '_ {
        let mut cur = Some(id);
        std::iter::from_fn(move || {
            let id = cur?;
            cur = self.node(id).parent;
            Some(id)
        })
    }

    /// Applies `f` to `id` and every ancestor.
    pub fn update_up(&mut self, id: RoleId, mut f: impl FnMut(&mut RoleNode)) {
        let mut cur = Some(id);
        while let Some(i) = cur {
            let n = self.node_mut(i);
            f(n);
            cur = n.parent;
        }
    }

    /// The number of reservation objects made to exactly `id`.
    pub fn own_reservations_mut(&mut self, id: RoleId) -> &mut usize {
        &mut self.node_mut(id).own_reservation_count
    }

    /// Changes the framework count of `id`.
    pub fn add_frameworks(&mut self, id: RoleId, delta: isize) {
        let n = self.node_mut(id);
        n.frameworks = (n.frameworks as isize + delta).max(0) as usize;
    }

    /// Sets the quota of `name`; the role is tracked while its quota is not default.
    pub fn set_quota(&mut self, name: &str, quota: Quota) {
        if quota.is_default() {
            self.quotas.remove(name);
        } else {
            self.quotas.insert(name.to_string(), quota);
        }
        if quota.is_default() {
            if let Some(id) = self.get(name) {
                self.node_mut(id).quota = quota;
                self.gc(id);
            }
        } else {
            let id = self.ensure(name);
            self.node_mut(id).quota = quota;
        }
    }

    /// Quota consumption of `id`'s subtree.
    pub fn consumed(&self, id: RoleId) -> Quantities {
        self.node(id).consumed()
    }

    /// Room under the limits of `id` and all its ancestors.
    pub fn limit_room(&self, id: RoleId) -> Quantities {
        let mut room = Quota::default().room(&Quantities::ZERO);
        for r in self.path_up(id) {
            let n = self.node(r);
            if n.quota.limited != 0 {
                room = room.min(&n.quota.room(&n.consumed()));
            }
        }
        room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        for ok in ["*", "a", "a/b", "a/b/c", "dev-1", "a.b", "a/.x"] {
            assert!(validate_role(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a/*", "-a", "a/-b", "a b",
            "a\\b", "a\u{7}",
        ] {
            assert!(validate_role(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ancestors_and_subtrees() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a/b", "a"]);
        assert_eq!(ancestors("a").count(), 0);
        assert!(is_in_subtree("a/b", "a"));
        assert!(is_in_subtree("a", "a"));
        assert!(!is_in_subtree("ab", "a"));
        assert!(!is_in_subtree("a", "a/b"));
    }

    #[test]
    fn tree_tracks_and_forgets() {
        let mut t = RoleTree::new();
        let c = t.ensure("a/b/c");
        let a = t.get("a").unwrap();
        assert_eq!(t.node(c).parent, t.get("a/b"));
        t.add_frameworks(c, 1);
        let mut q = Quantities::ZERO;
        q.set(0, 1000);
        t.update_up(c, |n| n.allocated.add(&q));
        assert_eq!(t.node(a).allocated.get(0), 1000);
        t.add_frameworks(c, -1);
        t.gc(c);
        assert!(t.get("a/b/c").is_some(), "allocation keeps it");
        t.update_up(c, |n| n.allocated.sub(&q));
        t.gc(c);
        assert!(t.get("a").is_none());
    }

    #[test]
    fn limits_apply_from_ancestors() {
        let mut t = RoleTree::new();
        let mut g = Quantities::ZERO;
        g.set(0, 4000);
        t.set_quota("a", Quota::guarantee_as_limit(g));
        let ab = t.ensure("a/b");
        let mut used = Quantities::ZERO;
        used.set(0, 3000);
        t.update_up(ab, |n| n.allocated_unreserved.add(&used));
        assert_eq!(t.limit_room(ab).get(0), 1000);
        assert!(t.limit_room(ab).get(1) > 1 << 40);
    }
}

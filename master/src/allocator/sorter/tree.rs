//! The client tree both sorters share: path components as nodes, clients as leaves,
//! allocations summed up the tree, and (for DRF) each node's active children kept ordered
//! by weighted dominant share so a walk never has to sort.
//!
//! A path that is both a client and a parent (role `a` beside `a/b`) holds its client in a
//! virtual leaf child, so `a`'s own allocation competes with `a/b` under `a`.

use std::collections::BTreeSet;

use crate::allocator::fxhash::FxHashMap;

use super::ClientId;
use crate::allocator::quantities::Quantities;

/// `(share bits, insertion sequence, node)`: non-negative doubles order like their bits.
pub(crate) type OrderKey = (u64, u64, usize);

#[derive(Debug)]
pub(crate) struct Node {
    pub path: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub client: Option<ClientId>,
    pub is_virtual: bool,
    pub active_leaves: usize,
    pub allocation: Quantities,
    pub weight: f64,
    pub seq: u64,
    pub key: Option<(u64, u64)>,
    pub ordered: BTreeSet<OrderKey>,
    pub seen: u64,
}

impl Node {
    fn new(path: String, parent: Option<usize>, weight: f64, seq: u64) -> Node {
        Node {
            path,
            parent,
            children: Vec::new(),
            client: None,
            is_virtual: false,
            active_leaves: 0,
            allocation: Quantities::ZERO,
            weight,
            seq,
            key: None,
            ordered: BTreeSet::new(),
            seen: 0,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Tree {
    pub nodes: Vec<Option<Node>>,
    free: Vec<usize>,
    by_path: FxHashMap<String, usize>,
    /// Client → leaf node. A map, not a vector: client ids are global framework indices,
    /// and one small sorter per role must not hold a slot for every framework.
    pub leaf_of: FxHashMap<ClientId, usize>,
    weights: FxHashMap<String, f64>,
    pub total: Quantities,
    pub mask: u32,
    pub keep_order: bool,
    seq: u64,
    pub count: usize,
    pub cursor_ids: u64,
    /// Set when the total changed: orders are rebuilt at the next walk, not per change.
    pub dirty: bool,
}

pub(crate) const ROOT: usize = 0;

impl Tree {
    pub fn new(mask: u32, keep_order: bool) -> Tree {
        Tree {
            nodes: vec![Some(Node::new(String::new(), None, 1.0, 0))],
            free: Vec::new(),
            by_path: FxHashMap::default(),
            leaf_of: FxHashMap::default(),
            weights: FxHashMap::default(),
            total: Quantities::ZERO,
            mask,
            keep_order,
            seq: 1,
            count: 0,
            cursor_ids: 0,
            dirty: false,
        }
    }

    #[inline]
    pub fn n(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("live sorter node")
    }

    #[inline]
    fn m(&mut self, i: usize) -> &mut Node {
        self.nodes[i].as_mut().expect("live sorter node")
    }

    #[inline]
    pub fn leaf(&self, client: ClientId) -> Option<usize> {
        self.leaf_of.get(&client).copied()
    }

    fn alloc_node(&mut self, path: String, parent: usize, is_virtual: bool) -> usize {
        let weight = if is_virtual {
            1.0
        } else {
            self.weights.get(&path).copied().unwrap_or(1.0)
        };
        self.seq += 1;
        let mut node = Node::new(path.clone(), Some(parent), weight, self.seq);
        node.is_virtual = is_virtual;
        let idx = if let Some(i) = self.free.pop() {
            self.nodes[i] = Some(node);
            i
        } else {
            self.nodes.push(Some(node));
            self.nodes.len() - 1
        };
        self.m(parent).children.push(idx);
        if !is_virtual {
            self.by_path.insert(path, idx);
        }
        idx
    }

    /// Moves the client held by `idx` into a new virtual child so `idx` can have children.
    fn push_client_down(&mut self, idx: usize) {
        let Some(client) = self.n(idx).client else {
            return;
        };
        let path = format!("{}/.", self.n(idx).path);
        let v = self.alloc_node(path, idx, true);
        let (alloc, active) = {
            let n = self.m(idx);
            n.client = None;
            (n.allocation, n.active_leaves)
        };
        {
            let vn = self.m(v);
            vn.client = Some(client);
            vn.allocation = alloc;
            vn.active_leaves = active;
        }
        self.leaf_of.insert(client, v);
        self.reposition(v);
    }

    pub fn add(&mut self, client: ClientId, path: &str) {
        if self.leaf(client).is_some() {
            return;
        }
        let mut parent = ROOT;
        let mut end = 0;
        let comps: Vec<&str> = path.split('/').collect();
        for (i, comp) in comps.iter().enumerate() {
            end += comp.len() + usize::from(i > 0);
            let prefix = &path[..end];
            let last = i + 1 == comps.len();
            match self.by_path.get(prefix).copied() {
                Some(idx) if !last => {
                    self.push_client_down(idx);
                    parent = idx;
                }
                Some(idx) => {
                    // The path exists as a parent of other clients: hold this one virtually.
                    self.push_client_down(idx);
                    let v = self.alloc_node(format!("{prefix}/."), idx, true);
                    self.m(v).client = Some(client);
                    self.set_leaf(client, v);
                }
                None => {
                    let idx = self.alloc_node(prefix.to_string(), parent, false);
                    if last {
                        self.m(idx).client = Some(client);
                        self.set_leaf(client, idx);
                    }
                    parent = idx;
                }
            }
        }
        self.count += 1;
    }

    fn set_leaf(&mut self, client: ClientId, idx: usize) {
        self.leaf_of.insert(client, idx);
    }

    pub fn remove(&mut self, client: ClientId) {
        let Some(leaf) = self.leaf(client) else {
            return;
        };
        self.deactivate(client);
        let alloc = self.n(leaf).allocation;
        self.add_allocation(leaf, &alloc, false);
        self.leaf_of.remove(&client);
        self.count -= 1;
        let mut cur = leaf;
        loop {
            let parent = self.n(cur).parent;
            let is_virtual = self.n(cur).is_virtual;
            let path = self.n(cur).path.clone();
            if let Some(k) = self.n(cur).key {
                let p = parent.expect("keyed nodes have parents");
                self.m(p).ordered.remove(&(k.0, k.1, cur));
            }
            if let Some(p) = parent {
                self.m(p).children.retain(|c| *c != cur);
            }
            if !is_virtual {
                self.by_path.remove(&path);
            }
            self.nodes[cur] = None;
            self.free.push(cur);
            match parent {
                Some(p)
                    if p != ROOT && self.n(p).children.is_empty() && self.n(p).client.is_none() =>
                {
                    cur = p;
                }
                _ => break,
            }
        }
    }

    pub fn set_active(&mut self, client: ClientId, active: bool) {
        let Some(leaf) = self.leaf(client) else {
            return;
        };
        let is_active = self.n(leaf).active_leaves > 0;
        if is_active == active {
            return;
        }
        let mut cur = Some(leaf);
        while let Some(i) = cur {
            if i == ROOT {
                let n = self.m(i);
                if active {
                    n.active_leaves += 1;
                } else {
                    n.active_leaves -= 1;
                }
                break;
            }
            {
                let n = self.m(i);
                if active {
                    n.active_leaves += 1;
                } else {
                    n.active_leaves -= 1;
                }
            }
            self.reposition(i);
            cur = self.n(i).parent;
        }
    }

    pub fn deactivate(&mut self, client: ClientId) {
        self.set_active(client, false);
    }

    pub fn is_active(&self, client: ClientId) -> bool {
        self.leaf(client)
            .is_some_and(|l| self.n(l).active_leaves > 0)
    }

    /// Adds (`plus`) or removes `q` on `leaf` and all its ancestors, keeping order.
    pub fn add_allocation(&mut self, leaf: usize, q: &Quantities, plus: bool) {
        let mut cur = Some(leaf);
        while let Some(i) = cur {
            {
                let n = self.m(i);
                if plus {
                    n.allocation.add(q);
                } else {
                    n.allocation.sub(q);
                }
            }
            if i == ROOT {
                break;
            }
            self.reposition(i);
            cur = self.n(i).parent;
        }
    }

    pub fn share_of(&self, i: usize) -> f64 {
        let n = self.n(i);
        let w = if n.weight > 0.0 {
            n.weight
        } else {
            f64::MIN_POSITIVE
        };
        n.allocation.dominant_share(&self.total, self.mask) / w
    }

    /// Re-inserts `i` into its parent's ordered set under its current share.
    fn reposition(&mut self, i: usize) {
        if !self.keep_order || self.dirty {
            return;
        }
        let Some(parent) = self.n(i).parent else {
            return;
        };
        if let Some(k) = self.m(i).key.take() {
            self.m(parent).ordered.remove(&(k.0, k.1, i));
        }
        if self.n(i).active_leaves > 0 {
            let share = self.share_of(i).max(0.0);
            let k = (share.to_bits(), self.n(i).seq);
            self.m(parent).ordered.insert((k.0, k.1, i));
            self.m(i).key = Some(k);
        }
    }

    pub fn update_weight(&mut self, path: &str, weight: f64) {
        self.weights.insert(path.to_string(), weight);
        if let Some(i) = self.by_path.get(path).copied() {
            self.m(i).weight = weight;
            self.reposition(i);
        }
    }

    pub fn set_total(&mut self, total: &Quantities) {
        if self.total == *total {
            return;
        }
        self.total = *total;
        self.dirty = self.keep_order;
    }

    pub fn set_mask(&mut self, mask: u32) {
        if self.mask != mask {
            self.mask = mask;
            self.dirty = self.keep_order;
        }
    }

    /// Rebuilds every level's order if the total or mask changed since the last walk.
    pub fn rebuild_order(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        for n in self.nodes.iter_mut().flatten() {
            n.ordered.clear();
            n.key = None;
        }
        for i in 0..self.nodes.len() {
            if i != ROOT && self.nodes[i].is_some() {
                self.reposition(i);
            }
        }
    }
}

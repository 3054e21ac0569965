//! Hierarchical weighted DRF: at each level, active children in ascending order of
//! (dominant share / weight), ties broken by insertion order; a parent's share covers its
//! subtree. Orders are maintained on every allocation change (O(depth · log n)), so a walk
//! costs only the clients it visits.

use std::ops::Bound;

use super::tree::{Tree, ROOT};
use super::{ClientId, SortCursor, Sorter};
use crate::allocator::quantities::Quantities;

/// The dominant resource fairness sorter (`--role_sorter=drf`, the default).
#[derive(Debug)]
pub struct DrfSorter {
    tree: Tree,
}

impl DrfSorter {
    /// A sorter counting the quantity slots set in `share_mask`.
    pub fn new(share_mask: u32) -> Self {
        DrfSorter {
            tree: Tree::new(share_mask, true),
        }
    }
}

impl Sorter for DrfSorter {
    forward_to_tree!();

    fn next(&mut self, cursor: &mut SortCursor) -> Option<ClientId> {
        if !cursor.started {
            self.tree.rebuild_order();
            cursor.started = true;
            self.tree.cursor_ids += 1;
            cursor.id = self.tree.cursor_ids;
            cursor.stack.clear();
            cursor.stack.push((ROOT, None));
        }
        loop {
            let (node, last) = *cursor.stack.last()?;
            let ordered = &self.tree.n(node).ordered;
            let next = match last {
                None => ordered.iter().next().copied(),
                Some(k) => ordered
                    .range((Bound::Excluded(k), Bound::Unbounded))
                    .next()
                    .copied(),
            };
            let Some(key) = next else {
                cursor.stack.pop();
                continue;
            };
            if let Some(top) = cursor.stack.last_mut() {
                top.1 = Some(key);
            }
            let child = key.2;
            let n = self.tree.n(child);
            if let Some(client) = n.client {
                if n.seen == cursor.id {
                    continue;
                }
                if let Some(m) = self.tree.nodes[child].as_mut() {
                    m.seen = cursor.id;
                }
                return Some(client);
            }
            cursor.stack.push((child, None));
        }
    }

    fn share(&self, client: ClientId) -> f64 {
        self.tree
            .leaf(client)
            .map_or(0.0, |l| self.tree.share_of(l))
    }

    fn contains(&self, client: ClientId) -> bool {
        self.tree.leaf(client).is_some()
    }

    fn count(&self) -> usize {
        self.tree.count
    }

    fn active_count(&self) -> usize {
        self.tree.n(ROOT).active_leaves
    }
}

//! Weighted random order: at each level of the tree, active children are shuffled with
//! probability proportional to their weight (each walk draws a fresh order from the
//! seeded generator, so runs replay exactly).

use super::tree::{Tree, ROOT};
use super::{ClientId, SortCursor, Sorter};
use crate::allocator::quantities::Quantities;
use crate::allocator::rng::SeededRng;

/// The random sorter (`--role_sorter=random`).
#[derive(Debug)]
pub struct RandomSorter {
    tree: Tree,
    rng: SeededRng,
}

impl RandomSorter {
    /// A sorter drawing its orders from `seed`.
    pub fn new(share_mask: u32, seed: u64) -> Self {
        RandomSorter {
            tree: Tree::new(share_mask, false),
            rng: SeededRng::new(seed),
        }
    }

    fn fill(&mut self, node: usize, out: &mut Vec<ClientId>) {
        // Efraimidis–Spirakis: sorting by u^(1/w) descending is a weighted shuffle.
        let mut keyed: Vec<(f64, usize)> = self
            .tree
            .n(node)
            .children
            .iter()
            .copied()
            .filter(|c| self.tree.n(*c).active_leaves > 0)
            .map(|c| (c, self.tree.n(c).weight.max(f64::MIN_POSITIVE)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(c, w)| (self.rng.next_unit().ln() / w, c))
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, c) in keyed {
            match self.tree.n(c).client {
                Some(client) => out.push(client),
                None => self.fill(c, out),
            }
        }
    }
}

impl Sorter for RandomSorter {
    forward_to_tree!();

    fn next(&mut self, cursor: &mut SortCursor) -> Option<ClientId> {
        if !cursor.started {
            cursor.started = true;
            cursor.pos = 0;
            let mut out = std::mem::take(&mut cursor.snapshot);
            out.clear();
            self.fill(ROOT, &mut out);
            cursor.snapshot = out;
        }
        while cursor.pos < cursor.snapshot.len() {
            let c = cursor.snapshot[cursor.pos];
            cursor.pos += 1;
            if self.tree.is_active(c) {
                return Some(c);
            }
        }
        None
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

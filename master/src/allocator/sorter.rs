//! The sorter interface: decides in which order clients (roles, or the frameworks of one
//! role) are offered resources. Synchronous and small, like Mesos's; two policies:
//! [`DrfSorter`] (hierarchical weighted dominant-resource fairness) and [`RandomSorter`]
//! (weighted random, seeded).
//!
//! Sorters count only quantities; the allocator keeps the per-agent `Resources`.
//! Iteration goes through a [`SortCursor`] so the allocator can allocate while it walks
//! the order without the sorter re-sorting everything: the DRF sorter keeps every level
//! ordered incrementally and the cursor resumes after the last client it returned.

/// The bookkeeping every sorter does the same way: it forwards to its `tree` field
/// (membership, activation, weights, allocations, totals). Only the order differs.
macro_rules! forward_to_tree {
    () => {
        fn add(&mut self, client: ClientId, path: &str) {
            self.tree.add(client, path);
        }

        fn remove(&mut self, client: ClientId) {
            self.tree.remove(client);
        }

        fn activate(&mut self, client: ClientId) {
            self.tree.set_active(client, true);
        }

        fn deactivate(&mut self, client: ClientId) {
            self.tree.set_active(client, false);
        }

        fn update_weight(&mut self, path: &str, weight: f64) {
            self.tree.update_weight(path, weight);
        }

        fn allocated(&mut self, client: ClientId, q: &Quantities) {
            if let Some(leaf) = self.tree.leaf(client) {
                self.tree.add_allocation(leaf, q, true);
            }
        }

        fn unallocated(&mut self, client: ClientId, q: &Quantities) {
            if let Some(leaf) = self.tree.leaf(client) {
                self.tree.add_allocation(leaf, q, false);
            }
        }

        fn allocation(&self, client: ClientId) -> Option<&Quantities> {
            self.tree.leaf(client).map(|l| &self.tree.n(l).allocation)
        }

        fn set_total(&mut self, total: &Quantities) {
            self.tree.set_total(total);
        }

        fn set_share_mask(&mut self, mask: u32) {
            self.tree.set_mask(mask);
        }
    };
}

mod drf;
mod random;
mod tree;

pub use drf::DrfSorter;
pub use random::RandomSorter;

use super::quantities::Quantities;

/// A caller-chosen dense id for a client (the allocator uses role ids and framework ids).
pub type ClientId = usize;

/// One level of a DRF walk: the node and the last child key returned under it.
pub(crate) type WalkLevel = (usize, Option<(u64, u64, usize)>);

/// Position of a walk over a sorter's order; create one per walk with [`SortCursor::new`].
#[derive(Clone, Debug, Default)]
pub struct SortCursor {
    pub(crate) started: bool,
    pub(crate) id: u64,
    pub(crate) stack: Vec<WalkLevel>,
    pub(crate) snapshot: Vec<ClientId>,
    pub(crate) pos: usize,
}

impl SortCursor {
    /// A cursor at the start of the order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rewinds to the start (the next walk sees the order as it is then).
    pub fn reset(&mut self) {
        self.started = false;
        self.stack.clear();
        self.snapshot.clear();
        self.pos = 0;
    }
}

/// Which sorter policy to use (`--role_sorter`, `--framework_sorter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SorterKind {
    /// Weighted dominant resource fairness (`drf`, the default).
    #[default]
    Drf,
    /// Weighted random order (`random`).
    Random,
}

impl std::str::FromStr for SorterKind {
    type Err = super::AllocatorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "drf" => Ok(SorterKind::Drf),
            "random" => Ok(SorterKind::Random),
            other => Err(super::AllocatorError::UnknownSorter(other.to_string())),
        }
    }
}

/// Orders clients for allocation. Every method is a plain synchronous call.
pub trait Sorter: Send {
    /// Adds an inactive client at `path` (`a/b` for roles; any key without `/` for frameworks).
    fn add(&mut self, client: ClientId, path: &str);
    /// Removes a client (its allocation leaves its ancestors' figures too).
    fn remove(&mut self, client: ClientId);
    /// Puts the client into the order (no-op if active).
    fn activate(&mut self, client: ClientId);
    /// Takes the client out of the order, keeping its allocation (no-op if inactive).
    fn deactivate(&mut self, client: ClientId);
    /// Sets the weight of `path` (default 1.0); applies to clients added later too.
    fn update_weight(&mut self, path: &str, weight: f64);
    /// Records that `q` was offered or allocated to the client.
    fn allocated(&mut self, client: ClientId, q: &Quantities);
    /// Records that `q` came back from the client.
    fn unallocated(&mut self, client: ClientId, q: &Quantities);
    /// The client's offered-or-allocated quantities.
    fn allocation(&self, client: ClientId) -> Option<&Quantities>;
    /// Sets the pool shares are computed against (cheap when unchanged).
    fn set_total(&mut self, total: &Quantities);
    /// Sets which quantity slots count toward shares.
    fn set_share_mask(&mut self, mask: u32);
    /// The next active client in order, or `None` when the walk is over. Each client is
    /// returned at most once per walk even if allocations reorder clients meanwhile.
    fn next(&mut self, cursor: &mut SortCursor) -> Option<ClientId>;
    /// The client's weighted dominant share (what DRF sorts by).
    fn share(&self, client: ClientId) -> f64;
    /// True if the client was added (active or not).
    fn contains(&self, client: ClientId) -> bool;
    /// Number of clients, active or not.
    fn count(&self) -> usize;
    /// Number of active clients.
    fn active_count(&self) -> usize;

    /// All active clients in order (a fresh walk).
    fn sort(&mut self) -> Vec<ClientId> {
        let mut cursor = SortCursor::new();
        let mut out = Vec::new();
        while let Some(c) = self.next(&mut cursor) {
            out.push(c);
        }
        out
    }
}

/// Builds a sorter of the given kind; `seed` drives the random sorter.
pub fn new_sorter(kind: SorterKind, share_mask: u32, seed: u64) -> Box<dyn Sorter> {
    match kind {
        SorterKind::Drf => Box::new(DrfSorter::new(share_mask)),
        SorterKind::Random => Box::new(RandomSorter::new(share_mask, seed)),
    }
}

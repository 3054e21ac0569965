//! Refused-offer ("decline") filters: after a framework declines resources of an agent for
//! a role, later candidates from that agent that are a subset of what it refused are
//! withheld from it until the filter expires. Filters live with their agent so a walk
//! looks them up per agent; expiries sit in one min-heap swept at the start of a cycle.

use crate::allocator::fxhash::FxHashMap;
use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mesos_protos::resources::Resources;

use super::quantities::Quantities;
use super::roles::RoleId;
use super::state::{AgentIdx, FwIdx, HierarchicalAllocator};

/// One refused set.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    pub refused: Arc<Resources>,
    pub refused_q: Quantities,
    pub expires: Duration,
    pub seq: u64,
}

/// The filters on one agent, by (framework, role).
#[derive(Debug, Default)]
pub(crate) struct AgentFilters {
    pub by_key: FxHashMap<(FwIdx, RoleId), Vec<Filter>>,
    /// One bit per key of `by_key`, hashed into 64: a clear bit means no filter for that
    /// (framework, role), known without touching the map's table (a cache miss per agent).
    pub mask: u64,
    /// Bumped whenever a filter goes away (so cached "all filtered" results are redone).
    pub version: u64,
    /// The last refused set, shared by later filters refusing the same resources (every
    /// framework declining a whole agent refuses the same set).
    pub last_refused: Option<Arc<Resources>>,
    /// (free version, refused set's address, whether it contains the free set). The
    /// address is only compared while the set is alive: a filter holding it is being read.
    pub contains_memo: std::cell::Cell<Option<(u64, usize, bool)>>,
}

impl AgentFilters {
    /// True if a live filter of (`fw`, `role`) covers `candidate`. `free_version`: the
    /// candidate is the agent's whole free set at that version, so whether a refused set
    /// contains it is remembered (every framework declining the agent refused the same
    /// shared set, and a walk asks once per framework).
    pub fn filters(
        &self,
        fw: FwIdx,
        role: RoleId,
        candidate: &Resources,
        candidate_q: &Quantities,
        now: Duration,
        free_version: Option<u64>,
    ) -> bool {
        if self.mask & key_bit(fw, role) == 0 {
            return false;
        }
        let Some(list) = self.by_key.get(&(fw, role)) else {
            return false;
        };
        list.iter().any(|f| {
            if f.expires <= now || !f.refused_q.contains(candidate_q) {
                return false;
            }
            let Some(version) = free_version else {
                return f.refused.contains(candidate);
            };
            let ptr = Arc::as_ptr(&f.refused) as usize;
            match self.contains_memo.get() {
                Some((v, p, known)) if v == version && p == ptr => known,
                _ => {
                    let known = f.refused.contains(candidate);
                    self.contains_memo.set(Some((version, ptr, known)));
                    known
                }
            }
        })
    }

    /// True if (`fw`, `role`) has any filter here.
    #[cfg(test)]
    pub fn has_any(&self, fw: FwIdx, role: RoleId) -> bool {
        self.mask & key_bit(fw, role) != 0 && self.by_key.contains_key(&(fw, role))
    }

    /// Recomputes `mask` after keys left `by_key`.
    pub fn refresh_mask(&mut self) {
        self.mask = self
            .by_key
            .keys()
            .fold(0, |m, (fw, role)| m | key_bit(*fw, *role));
    }
}

/// The `AgentFilters::mask` bit of a (framework, role) key.
#[inline]
pub(crate) fn key_bit(fw: FwIdx, role: RoleId) -> u64 {
    let h = (fw as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((role as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    1 << (h >> 58)
}

/// Adds `delta` to the live-filter count of `role`, dropping roles that reach zero.
fn count_filters(counts: &mut FxHashMap<RoleId, usize>, role: RoleId, delta: isize) {
    let n = counts.entry(role).or_default();
    *n = n.saturating_add_signed(delta);
    if *n == 0 {
        counts.remove(&role);
    }
}

/// A heap entry: when a filter expires (earliest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expiry {
    pub at: Duration,
    pub seq: u64,
    pub agent: AgentIdx,
    pub fw: FwIdx,
    pub role: RoleId,
}

impl Ord for Expiry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap and the earliest expiry must come out first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Expiry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl HierarchicalAllocator {
    /// Installs a filter refusing `refused` (without allocation info) until `expires`.
    pub(crate) fn add_filter(
        &mut self,
        agent: AgentIdx,
        fw: FwIdx,
        role: RoleId,
        refused: Resources,
        refused_q: Quantities,
        expires: Duration,
    ) {
        self.filter_seq += 1;
        let seq = self.filter_seq;
        let filters = &mut self.agent_mut(agent).filters;
        let refused = match &filters.last_refused {
            Some(last) if **last == refused => last.clone(),
            _ => {
                let r = Arc::new(refused);
                filters.last_refused = Some(r.clone());
                r
            }
        };
        filters.mask |= key_bit(fw, role);
        filters.contains_memo.set(None);
        filters.by_key.entry((fw, role)).or_default().push(Filter {
            refused,
            refused_q,
            expires,
            seq,
        });
        self.fw_mut(fw).filter_agents.insert(agent);
        count_filters(&mut self.live_filters, role, 1);
        self.expiries.push(Expiry {
            at: expires,
            seq,
            agent,
            fw,
            role,
        });
    }

    /// Removes filters whose time has come.
    pub(crate) fn expire_filters(&mut self, now: Duration) {
        while let Some(top) = self.expiries.peek().copied() {
            if top.at > now {
                break;
            }
            self.expiries.pop();
            let Some(Some(a)) = self.agents.get_mut(top.agent) else {
                continue;
            };
            let mut removed = false;
            let mut emptied = false;
            if let Some(list) = a.filters.by_key.get_mut(&(top.fw, top.role)) {
                let before = list.len();
                list.retain(|f| f.seq != top.seq);
                removed = list.len() != before;
                emptied = list.is_empty();
            }
            if emptied {
                a.filters.by_key.remove(&(top.fw, top.role));
                a.filters.refresh_mask();
                a.filters.contains_memo.set(None);
            }
            if removed {
                count_filters(&mut self.live_filters, top.role, -1);
                a.filters.version += 1;
                let still = a.filters.by_key.keys().any(|(f, _)| *f == top.fw);
                if !still {
                    if let Some(Some(f)) = self.frameworks.get_mut(top.fw) {
                        f.filter_agents.remove(&top.agent);
                    }
                }
            }
        }
    }

    /// Removes the filters of `fw` for the given roles (all roles when `None`).
    pub(crate) fn clear_filters(&mut self, fw: FwIdx, roles: Option<&[RoleId]>) {
        let agents: Vec<AgentIdx> = self.fw(fw).filter_agents.iter().copied().collect();
        for agent in agents {
            let Some(Some(a)) = self.agents.get_mut(agent) else {
                continue;
            };
            let before = a.filters.by_key.len();
            let counts = &mut self.live_filters;
            a.filters.by_key.retain(|(f, r), list| {
                let keep = *f != fw || roles.is_some_and(|rs| !rs.contains(r));
                if !keep {
                    count_filters(counts, *r, -(list.len() as isize));
                }
                keep
            });
            if a.filters.by_key.len() != before {
                a.filters.version += 1;
                a.filters.refresh_mask();
                a.filters.contains_memo.set(None);
            }
            if !a.filters.by_key.keys().any(|(f, _)| *f == fw) {
                self.fw_mut(fw).filter_agents.remove(&agent);
            }
        }
    }

    /// Active filters per role name (for the `offer_filters/roles/<role>/active` metric):
    /// filters not yet swept, i.e. live at the last cycle (each cycle sweeps expired ones).
    pub(crate) fn filter_counts(&self) -> FxHashMap<String, usize> {
        self.live_filters
            .iter()
            .filter_map(|(role, n)| Some((self.roles.name_of(*role)?.to_string(), *n)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(expires: u64) -> Filter {
        Filter {
            refused: Arc::new(Resources::new()),
            refused_q: Quantities::ZERO,
            expires: Duration::from_secs(expires),
            seq: expires,
        }
    }

    #[test]
    fn mask_tracks_the_keys() {
        let mut f = AgentFilters::default();
        assert!(!f.has_any(1, 0));
        for fw in 0..200 {
            f.mask |= key_bit(fw, fw % 3);
            f.by_key.insert((fw, fw % 3), vec![filter(10)]);
        }
        for fw in 0..200 {
            assert!(f.has_any(fw, fw % 3), "framework {fw}");
            assert!(!f.has_any(fw, fw % 3 + 3), "framework {fw} in another role");
        }
        f.by_key.retain(|(fw, _), _| *fw == 7);
        f.refresh_mask();
        assert_eq!(f.mask, key_bit(7, 1));
        assert!(f.has_any(7, 1));
        assert!(!f.has_any(8, 2));
        f.by_key.clear();
        f.refresh_mask();
        assert_eq!(f.mask, 0);
    }

    #[test]
    fn containment_is_remembered_per_free_version_and_refused_set() {
        let refused = Arc::new(Resources::parse("cpus:4;mem:64", "*").unwrap());
        let small = Resources::parse("cpus:1", "*").unwrap();
        let big = Resources::parse("cpus:8", "*").unwrap();
        let mut f = AgentFilters::default();
        for fw in [1, 2] {
            f.mask |= key_bit(fw, 0);
            let mut one = filter(10);
            one.refused = refused.clone();
            f.by_key.insert((fw, 0), vec![one]);
        }
        let now = Duration::from_secs(1);
        assert!(f.filters(1, 0, &small, &Quantities::ZERO, now, Some(5)));
        assert_eq!(
            f.contains_memo.get(),
            Some((5, Arc::as_ptr(&refused) as usize, true))
        );
        // Same version and set: the remembered answer (even for other resources, which
        // at one free version cannot happen).
        assert!(f.filters(2, 0, &big, &Quantities::ZERO, now, Some(5)));
        // A new free version is checked again.
        assert!(!f.filters(2, 0, &big, &Quantities::ZERO, now, Some(6)));
        // Without a version nothing is remembered or trusted.
        assert!(f.filters(2, 0, &small, &Quantities::ZERO, now, None));
        assert_eq!(
            f.contains_memo.get(),
            Some((6, Arc::as_ptr(&refused) as usize, false))
        );
        // Expired filters and unknown keys never filter.
        assert!(!f.filters(
            1,
            0,
            &small,
            &Quantities::ZERO,
            Duration::from_secs(10),
            None
        ));
        assert!(!f.filters(3, 0, &small, &Quantities::ZERO, now, None));
    }

    #[test]
    fn key_bits_spread_over_the_word() {
        let bits = (0..1000).fold(0u64, |m, fw| m | key_bit(fw, 0));
        assert_eq!(bits.count_ones(), 64);
    }
}

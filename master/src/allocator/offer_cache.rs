//! Per-agent memory of the last offer, for the offer → decline → offer loop.
//!
//! An agent whose offers are declined is offered the same resources to the same role
//! again and again. Converting between the plain form (in `free`) and the allocated form
//! (carrying `allocation_info`) builds new resource metadata, and comparing two
//! `Resources` walks every entry, so the agent remembers the last pair and when `free`
//! is known to equal the remembered plain form (`plain_at`, tied to `free_version`):
//! then handing out the whole agent needs no comparison and no conversion.
//!
//! The allocated form is *lent* to the framework that received it when that framework
//! held nothing else on the agent (moved into `allocated`, not copied), and taken back
//! when exactly that entry comes back; any other change to the entry ends the loan.
//! A copy of the plain form taken out of `free` is kept (`spare`) to refill `free`
//! without allocating when the offer comes back whole.

use std::sync::Arc;

use mesos_protos::resources::Resources;

use super::state::{Agent, FwIdx};

/// The last offer made on one agent.
#[derive(Debug)]
pub(crate) struct OfferCache {
    /// The role it was made to.
    pub role: Arc<str>,
    /// The offer without allocation info.
    pub plain: Resources,
    /// `plain` allocated to `role`; `None` while lent (then `lent_to` holds it untouched).
    pub allocated: Option<Resources>,
    /// The framework whose `allocated` entry is exactly the allocated form.
    pub lent_to: Option<FwIdx>,
    /// The agent's `free_version` at which `free` equalled `plain`, entry for entry.
    pub plain_at: Option<u64>,
    /// A copy of `plain` taken out of `free`, reused to refill it.
    pub spare: Option<Resources>,
}

/// What leaves an agent's free resources.
pub(crate) enum Take {
    /// All of `free`.
    Whole,
    /// These resources (no allocation info), a part of `free`.
    Part(Resources),
}

impl Agent {
    /// Moves `take` out of `free` into `fw`'s allocation for role `role`, and returns a
    /// copy of what was allocated (with allocation info) for the offer. `shared`: the
    /// resources hold shared ones, which stay in `free` (they are never used up).
    pub(crate) fn hand_out(
        &mut self,
        fw: FwIdx,
        role: &Arc<str>,
        take: Take,
        shared: bool,
    ) -> Resources {
        let known = self
            .offer_cache
            .as_ref()
            .is_some_and(|c| c.plain_at == Some(self.free_version));
        let (plain, whole) = match take {
            Take::Whole => (std::mem::take(&mut self.free), true),
            Take::Part(p) => {
                if shared {
                    self.free -= &p.filter(|e| !e.is_shared());
                } else {
                    self.free -= &p;
                }
                (p, false)
            }
        };
        let hit = match &self.offer_cache {
            Some(c) if Arc::ptr_eq(&c.role, role) => (whole && known) || c.plain == plain,
            _ => false,
        };
        let cache = match (&mut self.offer_cache, hit) {
            (Some(c), true) => {
                if whole && known {
                    c.spare = Some(plain);
                }
                c
            }
            (slot, _) => {
                let mut allocated = plain.clone();
                allocated.allocate(role);
                slot.insert(OfferCache {
                    role: role.clone(),
                    plain,
                    allocated: Some(allocated),
                    lent_to: None,
                    plain_at: None,
                    spare: None,
                })
            }
        };
        cache.plain_at = None;
        if cache.allocated.is_none() {
            // On loan: the borrower's entry is untouched, so it is the allocated form.
            let lent = cache
                .lent_to
                .take()
                .and_then(|f| self.allocated.iter().find(|(x, _)| *x == f));
            let restored = match lent {
                Some((_, r)) => r.clone(),
                None => {
                    let mut r = cache.plain.clone();
                    r.allocate(role);
                    r
                }
            };
            cache.allocated = Some(restored);
        }
        let Some(form) = cache.allocated.as_ref() else {
            unreachable!("the allocated form was restored above");
        };
        let out = form.clone();
        match self.allocated.iter_mut().find(|(f, _)| *f == fw) {
            Some((_, r)) => *r += form,
            None => {
                if let Some(form) = cache.allocated.take() {
                    self.allocated.push((fw, form));
                    cache.lent_to = Some(fw);
                }
            }
        }
        out
    }

    /// Takes `res` (allocated to `fw`, with allocation info) back into `free`. Returns
    /// the resources without allocation info, and whether `free` now equals the cached
    /// plain form entry for entry (the caller records that against the new
    /// `free_version`).
    pub(crate) fn take_back(
        &mut self,
        fw: FwIdx,
        res: &Resources,
        shared: bool,
    ) -> (Resources, bool) {
        let mut known = false;
        let mut returned_whole = false;
        if let Some(c) = self.offer_cache.as_mut() {
            c.plain_at = None;
            if c.lent_to == Some(fw) {
                c.lent_to = None;
                if let Some(pos) = self.allocated.iter().position(|(f, _)| *f == fw) {
                    if self.allocated[pos].1 == *res {
                        let (_, form) = self.allocated.swap_remove(pos);
                        c.allocated = Some(form);
                        returned_whole = true;
                        known = true;
                    } else {
                        // Only part comes back: the loan ends before the entry changes.
                        c.allocated = Some(self.allocated[pos].1.clone());
                    }
                }
            }
            if !known {
                known = c.allocated.as_ref() == Some(res);
            }
        }
        let plain = match (&self.offer_cache, known) {
            (Some(c), true) => c.plain.clone(),
            _ => {
                let mut p = res.clone();
                p.unallocate();
                p
            }
        };
        if !returned_whole {
            if let Some(pos) = self.allocated.iter().position(|(f, _)| *f == fw) {
                self.allocated[pos].1 -= res;
                if self.allocated[pos].1.is_empty() {
                    self.allocated.swap_remove(pos);
                }
            }
        }
        let refill = known && !shared && self.free.is_empty();
        if shared {
            self.free += &plain.filter(|e| !e.is_shared());
        } else if refill {
            let spare = self.offer_cache.as_mut().and_then(|c| c.spare.take());
            self.free = spare.unwrap_or_else(|| plain.clone());
        } else {
            self.free += &plain;
        }
        (plain, refill)
    }

    /// Ends a loan of the allocated form to `fw` before its entry is changed elsewhere.
    pub(crate) fn end_loan(&mut self, fw: FwIdx) {
        let Some(c) = self.offer_cache.as_mut() else {
            return;
        };
        if c.lent_to != Some(fw) {
            return;
        }
        c.lent_to = None;
        c.allocated = self
            .allocated
            .iter()
            .find(|(f, _)| *f == fw)
            .map(|(_, r)| r.clone());
    }

    /// Notes that `free` equals the cached plain form at the current `free_version`.
    pub(crate) fn mark_free_is_plain(&mut self) {
        let version = self.free_version;
        if let Some(c) = self.offer_cache.as_mut() {
            c.plain_at = Some(version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::filters::AgentFilters;
    use crate::allocator::fxhash::FxHashMap;
    use crate::allocator::state::Split;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn agent(total: &str) -> Agent {
        let total = res(total);
        Agent {
            id: "a".to_string(),
            free: total.clone(),
            total,
            allocated: Vec::new(),
            active: true,
            remote: false,
            has_gpus: false,
            total_split: Split::default(),
            free_split: Split::default(),
            reservations: Vec::new(),
            free_version: 0,
            filters: AgentFilters::default(),
            skip_cache: FxHashMap::default(),
            offer_cache: None,
        }
    }

    fn allocated(text: &str, role: &str) -> Resources {
        let mut r = res(text);
        r.allocate(role);
        r
    }

    fn held(a: &Agent, fw: FwIdx) -> Option<Resources> {
        a.allocated
            .iter()
            .find(|(f, _)| *f == fw)
            .map(|(_, r)| r.clone())
    }

    const TOTAL: &str = "cpus:4;mem:1024;ports:[31000-31009,31020-31029]";

    #[test]
    fn whole_agent_round_trip_lends_and_takes_back() {
        let role: Arc<str> = Arc::from("*");
        let mut a = agent(TOTAL);
        for round in 0..3 {
            let out = a.hand_out(7, &role, Take::Whole, false);
            assert_eq!(out, allocated(TOTAL, "*"), "round {round}");
            assert!(a.free.is_empty());
            assert_eq!(held(&a, 7), Some(allocated(TOTAL, "*")));
            let c = a.offer_cache.as_ref().unwrap();
            assert_eq!(c.lent_to, Some(7));
            assert!(c.allocated.is_none());
            a.free_version += 1;
            let (plain, refilled) = a.take_back(7, &out, false);
            assert_eq!(plain, res(TOTAL));
            assert!(refilled);
            assert_eq!(a.free, res(TOTAL));
            assert!(held(&a, 7).is_none());
            a.free_version += 1;
            a.mark_free_is_plain();
            let c = a.offer_cache.as_ref().unwrap();
            assert_eq!(c.plain_at, Some(a.free_version));
            assert_eq!(c.allocated, Some(allocated(TOTAL, "*")));
            assert!(c.lent_to.is_none());
        }
    }

    #[test]
    fn a_second_framework_gets_a_copy_of_the_lent_form() {
        let role: Arc<str> = Arc::from("*");
        let mut a = agent(TOTAL);
        let first = a.hand_out(1, &role, Take::Part(res("cpus:1")), false);
        assert_eq!(first, allocated("cpus:1", "*"));
        a.free_version += 1;
        let second = a.hand_out(2, &role, Take::Part(res("cpus:1")), false);
        assert_eq!(second, allocated("cpus:1", "*"));
        assert_eq!(held(&a, 1), Some(allocated("cpus:1", "*")));
        assert_eq!(held(&a, 2), Some(allocated("cpus:1", "*")));
        assert_eq!(
            a.free,
            res("cpus:2;mem:1024;ports:[31000-31009,31020-31029]")
        );
    }

    #[test]
    fn adding_to_a_lent_entry_ends_the_loan() {
        let role: Arc<str> = Arc::from("*");
        let mut a = agent(TOTAL);
        a.hand_out(1, &role, Take::Part(res("cpus:1")), false);
        a.free_version += 1;
        a.hand_out(1, &role, Take::Part(res("cpus:1")), false);
        assert_eq!(held(&a, 1), Some(allocated("cpus:2", "*")));
        let c = a.offer_cache.as_ref().unwrap();
        assert!(c.lent_to.is_none());
        assert_eq!(c.allocated, Some(allocated("cpus:1", "*")));
        // Taking back part of it leaves the rest allocated.
        let (plain, refilled) = a.take_back(1, &allocated("cpus:1", "*"), false);
        assert_eq!(plain, res("cpus:1"));
        assert!(!refilled, "free was not empty");
        assert_eq!(held(&a, 1), Some(allocated("cpus:1", "*")));
        assert_eq!(
            a.free,
            res("cpus:3;mem:1024;ports:[31000-31009,31020-31029]")
        );
    }

    #[test]
    fn partial_return_of_a_lent_entry_keeps_the_form() {
        let role: Arc<str> = Arc::from("*");
        let mut a = agent(TOTAL);
        let out = a.hand_out(3, &role, Take::Whole, false);
        assert_eq!(out, allocated(TOTAL, "*"));
        let (plain, refilled) = a.take_back(3, &allocated("mem:24", "*"), false);
        assert_eq!(plain, res("mem:24"));
        assert!(!refilled);
        assert_eq!(
            held(&a, 3),
            Some(allocated(
                "cpus:4;mem:1000;ports:[31000-31009,31020-31029]",
                "*"
            ))
        );
        let c = a.offer_cache.as_ref().unwrap();
        assert!(c.lent_to.is_none());
        assert_eq!(c.allocated, Some(allocated(TOTAL, "*")));
        assert_eq!(a.free, res("mem:24"));
    }

    #[test]
    fn a_different_role_or_content_misses() {
        let star: Arc<str> = Arc::from("*");
        let other: Arc<str> = Arc::from("other");
        let mut a = agent(TOTAL);
        let out = a.hand_out(1, &star, Take::Whole, false);
        a.free_version += 1;
        let (_, refilled) = a.take_back(1, &out, false);
        assert!(refilled);
        a.free_version += 1;
        a.mark_free_is_plain();
        let out = a.hand_out(1, &other, Take::Whole, false);
        assert_eq!(out, allocated(TOTAL, "other"));
        assert_eq!(held(&a, 1), Some(allocated(TOTAL, "other")));
        // A stale mark (free changed since) is not trusted: the content is compared.
        a.free_version += 1;
        let (_, refilled) = a.take_back(1, &out, false);
        assert!(refilled);
        a.free_version += 1;
        a.mark_free_is_plain();
        a.free -= &res("cpus:1");
        a.free_version += 1;
        let out = a.hand_out(2, &other, Take::Whole, false);
        assert_eq!(
            out,
            allocated("cpus:3;mem:1024;ports:[31000-31009,31020-31029]", "other")
        );
    }

    #[test]
    fn end_loan_restores_the_form_before_a_change() {
        let role: Arc<str> = Arc::from("*");
        let mut a = agent(TOTAL);
        a.hand_out(5, &role, Take::Whole, false);
        a.end_loan(5);
        let c = a.offer_cache.as_ref().unwrap();
        assert!(c.lent_to.is_none());
        assert_eq!(c.allocated, Some(allocated(TOTAL, "*")));
        a.end_loan(5);
        assert!(a.offer_cache.as_ref().unwrap().allocated.is_some());
    }
}

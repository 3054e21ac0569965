//! Dense resource quantity vectors.
//!
//! Cluster-wide figures (totals, per-role allocations, quota, headroom) are kept as a
//! fixed-size array of milli-units indexed by an interned resource-name slot. Adding two
//! of them is a loop over 16 integers, and they never mix up ranges of different agents,
//! which is why the allocator never adds up the `Resources` of different agents.

use crate::allocator::fxhash::FxHashMap;
use std::fmt;

use super::AllocatorError;

/// How many distinct resource names one allocator can account for.
pub const MAX_RESOURCE_NAMES: usize = 16;

/// Index of an interned resource name inside a [`Quantities`] vector.
pub type Slot = usize;

/// Quantities per resource name in milli-units (ports and set items count as 1000 each).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Quantities([i64; MAX_RESOURCE_NAMES]);

impl Quantities {
    /// All zero.
    pub const ZERO: Quantities = Quantities([0; MAX_RESOURCE_NAMES]);

    /// The value at `slot` in milli-units.
    #[inline]
    pub fn get(&self, slot: Slot) -> i64 {
        self.0[slot]
    }

    /// Sets the value at `slot` in milli-units.
    #[inline]
    pub fn set(&mut self, slot: Slot, millis: i64) {
        self.0[slot] = millis;
    }

    /// Adds milli-units at `slot`.
    #[inline]
    pub fn add_at(&mut self, slot: Slot, millis: i64) {
        self.0[slot] += millis;
    }

    /// True if every value is zero.
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// True if some value is positive.
    #[inline]
    pub fn any_positive(&self) -> bool {
        self.0.iter().any(|v| *v > 0)
    }

    /// True if every value of `self` is at least the value of `other`.
    #[inline]
    pub fn contains(&self, other: &Quantities) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| a >= b)
    }

    /// Element-wise sum.
    #[inline]
    pub fn add(&mut self, other: &Quantities) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    /// Element-wise difference (may go negative).
    #[inline]
    pub fn sub(&mut self, other: &Quantities) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a -= b;
        }
    }

    /// Element-wise difference clamped at zero (Mesos's `ResourceQuantities -`).
    #[inline]
    pub fn sub_floor(&mut self, other: &Quantities) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = (*a - b).max(0);
        }
    }

    /// `self - other`, clamped at zero.
    #[inline]
    pub fn minus_floor(&self, other: &Quantities) -> Quantities {
        let mut r = *self;
        r.sub_floor(other);
        r
    }

    /// Element-wise minimum.
    #[inline]
    pub fn min(&self, other: &Quantities) -> Quantities {
        let mut r = *self;
        for (a, b) in r.0.iter_mut().zip(other.0.iter()) {
            *a = (*a).min(*b);
        }
        r
    }

    /// Non-zero entries as `(slot, millis)`.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, i64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, v)| (i, *v))
    }

    /// The dominant share of `self` against `total`, over the slots set in `mask`.
    pub fn dominant_share(&self, total: &Quantities, mask: u32) -> f64 {
        let mut share = 0.0f64;
        for slot in 0..MAX_RESOURCE_NAMES {
            if mask & (1 << slot) == 0 {
                continue;
            }
            let t = total.0[slot];
            if t > 0 {
                let s = self.0[slot].max(0) as f64 / t as f64;
                if s > share {
                    share = s;
                }
            }
        }
        share
    }
}

impl fmt::Debug for Quantities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// How a named resource is measured; decides whether it counts toward shares and quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A scalar (cpus, mem, disk, gpus, ...).
    Scalar,
    /// Ranges or a set, counted by elements (ports).
    Counted,
}

/// Interns resource names into [`Quantities`] slots.
#[derive(Clone, Debug)]
pub struct ResourceNames {
    names: Vec<String>,
    kinds: Vec<NameKind>,
    index: FxHashMap<String, Slot>,
    excluded: u32,
}

impl Default for ResourceNames {
    fn default() -> Self {
        let mut n = ResourceNames {
            names: Vec::new(),
            kinds: Vec::new(),
            index: FxHashMap::default(),
            excluded: 0,
        };
        for name in ["cpus", "mem", "disk", "gpus"] {
            let _ = n.intern(name, NameKind::Scalar);
        }
        let _ = n.intern("ports", NameKind::Counted);
        n
    }
}

impl ResourceNames {
    /// Pre-interns `cpus`, `mem`, `disk`, `gpus` and `ports`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot for `name`, interning it when new.
    pub fn intern(&mut self, name: &str, kind: NameKind) -> Result<Slot, AllocatorError> {
        if let Some(slot) = self.index.get(name) {
            return Ok(*slot);
        }
        if self.names.len() >= MAX_RESOURCE_NAMES {
            return Err(AllocatorError::TooManyResourceNames(name.to_string()));
        }
        let slot = self.names.len();
        self.names.push(name.to_string());
        self.kinds.push(kind);
        self.index.insert(name.to_string(), slot);
        Ok(slot)
    }

    /// The slot for `name`, if interned.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Slot> {
        // At most 16 short names: a scan beats hashing the name.
        self.names.iter().position(|n| n == name)
    }

    /// The name at `slot`.
    pub fn name(&self, slot: Slot) -> &str {
        &self.names[slot]
    }

    /// Number of interned names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True if nothing is interned (never, after `new`).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Marks names excluded from fair-share computation (`--fair_sharing_excluded_resource_names`).
    pub fn set_fair_sharing_excluded(&mut self, names: &[String]) -> Result<(), AllocatorError> {
        self.excluded = 0;
        for n in names {
            let slot = self.intern(n, NameKind::Scalar)?;
            self.excluded |= 1 << slot;
        }
        Ok(())
    }

    /// Slots that count toward dominant shares: scalars not excluded.
    pub fn share_mask(&self) -> u32 {
        let mut mask = 0u32;
        for (slot, kind) in self.kinds.iter().enumerate() {
            if *kind == NameKind::Scalar {
                mask |= 1 << slot;
            }
        }
        mask & !self.excluded
    }

    /// Slots holding scalars (quota, headroom and limits consider only these).
    pub fn scalar_mask(&self) -> u32 {
        let mut mask = 0u32;
        for (slot, kind) in self.kinds.iter().enumerate() {
            if *kind == NameKind::Scalar {
                mask |= 1 << slot;
            }
        }
        mask
    }

    /// Renders quantities as `name:value` pairs (for metrics and messages).
    pub fn render(&self, q: &Quantities) -> Vec<(String, f64)> {
        q.iter()
            .map(|(slot, v)| (self.names[slot].clone(), v as f64 / 1000.0))
            .collect()
    }

    /// Parses `name:value;name:value` into quantities (scalars only, as quota uses).
    pub fn parse(&mut self, text: &str) -> Result<Quantities, AllocatorError> {
        let mut q = Quantities::ZERO;
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once(':')
                .ok_or_else(|| AllocatorError::BadQuantities(text.to_string()))?;
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| AllocatorError::BadQuantities(text.to_string()))?;
            if !v.is_finite() || v < 0.0 {
                return Err(AllocatorError::BadQuantities(text.to_string()));
            }
            let kind = if name.trim() == "ports" {
                NameKind::Counted
            } else {
                NameKind::Scalar
            };
            let slot = self.intern(name.trim(), kind)?;
            q.add_at(slot, (v * 1000.0).round() as i64);
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_contains() {
        let mut names = ResourceNames::new();
        let a = names.parse("cpus:2;mem:1024").unwrap();
        let b = names.parse("cpus:1;mem:2048").unwrap();
        let mut c = a;
        c.add(&b);
        assert_eq!(c.get(0), 3000);
        assert!(c.contains(&a) && c.contains(&b));
        assert!(!a.contains(&b));
        assert_eq!(a.minus_floor(&b).get(1), 0);
        assert_eq!(a.minus_floor(&b).get(0), 1000);
    }

    #[test]
    fn dominant_share_respects_exclusions() {
        let mut names = ResourceNames::new();
        let total = names.parse("cpus:10;mem:100;gpus:1").unwrap();
        let alloc = names.parse("cpus:1;mem:50;gpus:1").unwrap();
        assert_eq!(alloc.dominant_share(&total, names.share_mask()), 1.0);
        names
            .set_fair_sharing_excluded(&["gpus".to_string()])
            .unwrap();
        assert_eq!(alloc.dominant_share(&total, names.share_mask()), 0.5);
    }

    #[test]
    fn too_many_names_is_an_error() {
        let mut names = ResourceNames::new();
        for i in 0..(MAX_RESOURCE_NAMES - names.len()) {
            names.intern(&format!("r{i}"), NameKind::Scalar).unwrap();
        }
        assert!(matches!(
            names.intern("one-more", NameKind::Scalar),
            Err(AllocatorError::TooManyResourceNames(n)) if n == "one-more"
        ));
    }
}

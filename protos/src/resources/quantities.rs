//! `ResourceQuantities` and `ResourceLimits`: name → fixed-point amount, with no
//! reservations, disks or agents attached. The allocator keeps role and cluster totals as
//! these (summing `Resources` of different agents would merge what must stay apart).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::Arc;

use super::text::parse_value;
use super::value::{ResourceValue, Scalar};
use super::{Resources, ResourcesError};
use crate::v1;

/// Amounts by name, sorted by name, zero amounts dropped. Ranges and sets count their
/// values/items (so `ports:[1-10]` is 10 ports).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceQuantities {
    items: Vec<(Arc<str>, Scalar)>,
}

impl ResourceQuantities {
    /// Empty.
    pub const fn new() -> Self {
        ResourceQuantities { items: Vec::new() }
    }

    /// Sums every entry of `resources` by name (scalars by value, ranges and sets by count).
    pub fn from_resources(resources: &Resources) -> Self {
        let mut q = ResourceQuantities::new();
        for e in &resources.entries {
            q.add_arc(&e.meta.name, e.value.quantity());
        }
        q
    }

    /// Sums only the scalar entries of `resources` by name.
    pub fn from_scalar_resources(resources: &Resources) -> Self {
        let mut q = ResourceQuantities::new();
        for e in &resources.entries {
            if let ResourceValue::Scalar(s) = e.value {
                q.add_arc(&e.meta.name, s);
            }
        }
        q
    }

    /// Parses `cpus:1;mem:32` (scalars only; zero amounts are dropped).
    pub fn parse(text: &str) -> Result<Self, ResourcesError> {
        Ok(ResourceQuantities {
            items: parse_pairs(text, "quantity")?
                .into_iter()
                .filter(|(_, s)| !s.is_zero())
                .collect(),
        })
    }

    /// The amount for `name` (zero if absent).
    pub fn get(&self, name: &str) -> Scalar {
        self.find(name).map_or(Scalar::ZERO, |i| self.items[i].1)
    }

    /// Iterates `(name, amount)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> + '_ {
        self.items.iter().map(|(n, s)| (&**n, *s))
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if no name has a positive amount.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `amount` (ignored unless positive) to `name`.
    pub fn add(&mut self, name: &str, amount: Scalar) {
        if amount.millis() <= 0 {
            return;
        }
        match self.items.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) => self.items[i].1 = self.items[i].1.saturating_add(amount),
            Err(i) => self.items.insert(i, (Arc::from(name), amount)),
        }
    }

    fn add_arc(&mut self, name: &Arc<str>, amount: Scalar) {
        if amount.millis() <= 0 {
            return;
        }
        match self.items.binary_search_by(|(n, _)| (**n).cmp(&**name)) {
            Ok(i) => self.items[i].1 = self.items[i].1.saturating_add(amount),
            Err(i) => self.items.insert(i, (name.clone(), amount)),
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.items.binary_search_by(|(n, _)| (**n).cmp(name)).ok()
    }

    /// True if every amount of `other` is at most the amount here.
    pub fn contains(&self, other: &ResourceQuantities) -> bool {
        let mut i = 0;
        for (name, need) in &other.items {
            while i < self.items.len() && *self.items[i].0 < **name {
                i += 1;
            }
            if i >= self.items.len() || *self.items[i].0 != **name || self.items[i].1 < *need {
                return false;
            }
        }
        true
    }

    /// Per-name minimum (names missing on either side are dropped).
    pub fn min(&self, other: &ResourceQuantities) -> ResourceQuantities {
        ResourceQuantities {
            items: self
                .items
                .iter()
                .filter_map(|(n, a)| {
                    other
                        .find(n)
                        .map(|j| (n.clone(), (*a).min(other.items[j].1)))
                })
                .collect(),
        }
    }

    /// Scalar `Resource`s, one per name, unreserved.
    pub fn to_resources(&self) -> Vec<v1::Resource> {
        self.items
            .iter()
            .map(|(n, s)| v1::Resource {
                name: n.to_string(),
                r#type: v1::value::Type::Scalar as i32,
                scalar: Some(v1::value::Scalar { value: s.as_f64() }),
                ..Default::default()
            })
            .collect()
    }
}

impl Resources {
    /// Amounts by name (scalars by value, ranges and sets by count).
    pub fn quantities(&self) -> ResourceQuantities {
        ResourceQuantities::from_resources(self)
    }

    /// Amounts by name of the scalar entries only.
    pub fn scalar_quantities(&self) -> ResourceQuantities {
        ResourceQuantities::from_scalar_resources(self)
    }
}

impl AddAssign<&ResourceQuantities> for ResourceQuantities {
    fn add_assign(&mut self, rhs: &ResourceQuantities) {
        for (n, s) in &rhs.items {
            self.add_arc(n, *s);
        }
    }
}

/// Amounts that would go to zero or below are removed.
impl SubAssign<&ResourceQuantities> for ResourceQuantities {
    fn sub_assign(&mut self, rhs: &ResourceQuantities) {
        for (n, s) in &rhs.items {
            if let Some(i) = self.find(n) {
                if self.items[i].1 <= *s {
                    self.items.remove(i);
                } else {
                    self.items[i].1 = self.items[i].1.saturating_sub(*s);
                }
            }
        }
    }
}

impl Add<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;
    fn add(self, rhs: &ResourceQuantities) -> ResourceQuantities {
        let mut out = self.clone();
        out += rhs;
        out
    }
}

impl Sub<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;
    fn sub(self, rhs: &ResourceQuantities) -> ResourceQuantities {
        let mut out = self.clone();
        out -= rhs;
        out
    }
}

impl fmt::Display for ResourceQuantities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_pairs(f, &self.items)
    }
}

/// Upper bounds by name; a name without a limit is unlimited, and zero limits are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceLimits {
    items: Vec<(Arc<str>, Scalar)>,
}

impl ResourceLimits {
    /// No limits.
    pub const fn new() -> Self {
        ResourceLimits { items: Vec::new() }
    }

    /// Parses `cpus:1;mem:32` (scalars only; zero is a real limit).
    pub fn parse(text: &str) -> Result<Self, ResourcesError> {
        Ok(ResourceLimits {
            items: parse_pairs(text, "limit")?,
        })
    }

    /// Sets the limit for `name`.
    pub fn set(&mut self, name: &str, limit: Scalar) {
        match self.items.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) => self.items[i].1 = limit,
            Err(i) => self.items.insert(i, (Arc::from(name), limit)),
        }
    }

    /// The limit for `name`, `None` meaning unlimited.
    pub fn get(&self, name: &str) -> Option<Scalar> {
        self.items
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| self.items[i].1)
    }

    /// Iterates `(name, limit)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> + '_ {
        self.items.iter().map(|(n, s)| (&**n, *s))
    }

    /// True if no limit is set.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True if these limits are at least as loose as `other` for every name.
    pub fn contains(&self, other: &ResourceLimits) -> bool {
        self.items
            .iter()
            .all(|(n, mine)| other.get(n).is_some_and(|theirs| theirs <= *mine))
    }

    /// True if `quantities` fit within these limits.
    pub fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        self.items
            .iter()
            .all(|(n, limit)| quantities.get(n) <= *limit)
    }
}

impl fmt::Display for ResourceLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_pairs(f, &self.items)
    }
}

fn fmt_pairs(f: &mut fmt::Formatter<'_>, items: &[(Arc<str>, Scalar)]) -> fmt::Result {
    if items.is_empty() {
        return f.write_str("{}");
    }
    for (i, (n, s)) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{n}:{s}")?;
    }
    Ok(())
}

/// Parses `name:scalar;...` into sorted, summed pairs; `what` is "quantity" or "limit"
/// for Mesos's error texts.
fn parse_pairs(text: &str, what: &str) -> Result<Vec<(Arc<str>, Scalar)>, ResourcesError> {
    let mut items: Vec<(Arc<str>, Scalar)> = Vec::new();
    for token in text.split(';').filter(|t| !t.is_empty()) {
        let pair: Vec<&str> = token.split(':').filter(|t| !t.is_empty()).collect();
        if pair.len() != 2 {
            return Err(ResourcesError::Parse(format!(
                "Failed to parse '{token}': missing or extra ':'"
            )));
        }
        let value = parse_value(pair[1]).map_err(|e| {
            ResourcesError::Parse(format!(
                "Failed to parse '{}' to {what}: {}",
                pair[1],
                e.message()
            ))
        })?;
        let Some(scalar) = value
            .scalar
            .filter(|_| value.r#type() == v1::value::Type::Scalar)
        else {
            return Err(ResourcesError::Parse(format!(
                "Failed to parse '{}' to {what}: only scalar values are allowed",
                pair[1]
            )));
        };
        if scalar.value < 0.0 {
            return Err(ResourcesError::Parse(format!(
                "Failed to parse '{}' to {what}: negative values are not allowed",
                pair[1]
            )));
        }
        let name = pair[0].trim();
        let amount = Scalar::from_f64(scalar.value);
        match items.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(_) if what == "limit" => {
                return Err(ResourcesError::Parse(format!(
                    "Failed to parse '{}' to limit: duplicate names are not allowed",
                    pair[1]
                )))
            }
            Ok(i) => items[i].1 = items[i].1.saturating_add(amount),
            Err(i) => items.insert(i, (Arc::from(name), amount)),
        }
    }
    Ok(items)
}

/// Parses `--min_allocatable_resources` (`cpus:0.01|mem:32`): `|`-separated alternatives,
/// each a set of quantities that must all be available.
pub fn parse_min_allocatable_resources(
    text: &str,
) -> Result<Vec<ResourceQuantities>, ResourcesError> {
    text.split('|')
        .filter(|t| !t.is_empty())
        .map(|alt| {
            ResourceQuantities::parse(alt).map_err(|e| {
                ResourcesError::Parse(format!(
                    "Error parsing min_allocatable_resources '{text}': {}",
                    e.message()
                ))
            })
        })
        .collect()
}

impl Resources {
    /// The largest part of these resources within `target` (Mesos's `shrinkResources` for
    /// quantities): names without a target are dropped, scalars are cut down to what is
    /// left of their target, indivisible entries (persistent volumes, MOUNT/BLOCK disks)
    /// are kept whole or dropped, and ranges/sets are kept whole if their count fits.
    /// Entries are visited in order; shuffle beforehand if fairness needs it.
    pub fn shrink_to_quantities(&self, target: &ResourceQuantities) -> Resources {
        let mut left = target.clone();
        let mut out = Resources::new();
        for e in &self.entries {
            let budget = left.get(&e.meta.name);
            if budget.is_zero() {
                continue;
            }
            if let Some(kept) = shrink_entry(e, budget) {
                let mut used = ResourceQuantities::new();
                used.add_arc(&kept.meta.name, kept.value.quantity());
                left -= &used;
                out.add_entry(kept);
            }
        }
        out
    }

    /// The largest part of these resources within `limits` (Mesos's `shrinkResources` for
    /// limits): names without a limit are kept whole, the rest as in
    /// [`Resources::shrink_to_quantities`].
    pub fn shrink_to_limits(&self, limits: &ResourceLimits) -> Resources {
        let mut left = limits.clone();
        let mut out = Resources::new();
        for e in &self.entries {
            let Some(budget) = left.get(&e.meta.name) else {
                out.add_entry(e.clone());
                continue;
            };
            if let Some(kept) = shrink_entry(e, budget) {
                let used = kept.value.quantity();
                left.set(&e.meta.name, budget.saturating_sub(used).max(Scalar::ZERO));
                out.add_entry(kept);
            }
        }
        out
    }
}

/// `e` cut down to at most `budget`, or `None` if no part of it fits.
fn shrink_entry(e: &super::entry::Entry, budget: Scalar) -> Option<super::entry::Entry> {
    if budget.millis() <= 0 {
        return None;
    }
    if e.value.quantity() <= budget {
        return Some(e.clone());
    }
    match e.value {
        ResourceValue::Scalar(_) if !e.meta.exclusive && !e.meta.shared => {
            let mut cut = e.clone();
            cut.value = ResourceValue::Scalar(budget);
            Some(cut)
        }
        _ => None,
    }
}

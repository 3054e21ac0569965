//! The `Resources` algebra with Mesos's semantics.
//!
//! A `Resources` is a small vector of entries, each an `Arc`-shared description of the
//! kind of resource (name, type, reservation stack, allocation role, disk, revocable,
//! shared, provider) plus a compact value (fixed-point scalar, coalesced ranges or a sorted
//! set). Entries of the same kind are merged on `+` unless Mesos keeps them apart
//! (persistent volumes, MOUNT/BLOCK disks, RAW disks with an id; shared resources are
//! counted instead). `-` never goes negative: an entry that would be emptied or go below
//! zero is removed. Conversion to `v1::Resource` happens only at the boundaries, always
//! in post-refinement form (`reservations[]`); see [`convert_resource_format`] for the
//! pre-refinement wire form.
//!
//! For the allocator: keep one `Resources` per agent (total, allocated per framework/role)
//! and keep cluster or role totals as [`ResourceQuantities`] (`Resources::quantities()` /
//! `scalar_quantities()`), never as a `Resources` summed over agents, which would merge
//! ranges and volumes that must stay apart. `--min_allocatable_resources` parses with
//! [`parse_min_allocatable_resources`] and is checked with
//! [`Resources::contains_quantities`].

// `Resource.role` is deprecated in the schema but is the pre-refinement wire format,
// which this module must read and write.
#![allow(deprecated)]

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use crate::v1;

mod apply;
mod convert;
mod entry;
mod filters;
mod parse;
mod quantities;
pub mod text;
pub mod validation;
mod value;

pub use apply::{
    operation_resources_mut, operation_type_name, resource_conversions, strip_volume,
    unallocated_operation, ApplyError, ResourceConversion,
};
pub use convert::{convert_resource_format, convert_resources_format, ResourceFormat};
pub use filters::{
    is_dynamically_reserved, is_persistent_volume, is_unreserved, reservation_role, ResourceRef,
};
pub use parse::{from_json, from_string, resources_to_json};
pub use quantities::{parse_min_allocatable_resources, ResourceLimits, ResourceQuantities};
pub use value::{Range, Ranges, ResourceValue, Scalar, Set};

use entry::Entry;

/// Errors from parsing, validating or converting resources. Messages are Mesos's texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourcesError {
    /// A resource (or role) broke one of Mesos's validation rules.
    #[error("{0}")]
    Invalid(String),
    /// The text form could not be parsed.
    #[error("{0}")]
    Parse(String),
    /// The JSON form could not be parsed.
    #[error("Some JSON resources were not formatted properly: {0}")]
    Json(String),
    /// A pre-refinement form was asked for a resource with refined reservations.
    #[error("Cannot downgrade resources containing refined reservations")]
    RefinedReservations,
    /// `pop_reservation` on resources that are not reserved.
    #[error("cannot pop a reservation from unreserved resource '{0}'")]
    NotReserved(String),
}

impl ResourcesError {
    /// The bare message (without the JSON prefix).
    pub fn message(&self) -> String {
        match self {
            ResourcesError::Invalid(m) | ResourcesError::Parse(m) | ResourcesError::Json(m) => {
                m.clone()
            }
            other => other.to_string(),
        }
    }
}

/// A set of resources with Mesos's `+`, `-` and `contains`.
#[derive(Clone, Default)]
pub struct Resources {
    entries: Vec<Entry>,
}

impl Resources {
    /// No resources.
    pub const fn new() -> Self {
        Resources {
            entries: Vec::new(),
        }
    }

    /// True if there is nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of distinct entries (not a quantity).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Builds from protobuf resources in either reservation format; like Mesos, invalid
    /// and empty resources are silently dropped (use [`Resources::try_from_resources`] to
    /// reject them).
    pub fn from_resources<'a, I: IntoIterator<Item = &'a v1::Resource>>(resources: I) -> Self {
        let mut out = Resources::new();
        for r in resources {
            out.add_resource(r);
        }
        out
    }

    /// Builds from protobuf resources, failing on the first invalid one (Mesos's text).
    pub fn try_from_resources(resources: &[v1::Resource]) -> Result<Self, ResourcesError> {
        validation::validate_resources(resources)?;
        Ok(Self::from_resources(resources))
    }

    /// The post-refinement protobuf form, one `Resource` per entry.
    pub fn to_vec(&self) -> Vec<v1::Resource> {
        self.entries.iter().map(Entry::to_proto).collect()
    }

    /// Adds one protobuf resource (either format); invalid resources are ignored.
    pub fn add_resource(&mut self, r: &v1::Resource) {
        if let Some(e) = Self::entry_of(r) {
            self.add_entry(e);
        }
    }

    /// Subtracts one protobuf resource (either format); invalid resources are ignored.
    pub fn subtract_resource(&mut self, r: &v1::Resource) {
        if let Some(e) = Self::entry_of(r) {
            self.subtract_entry(&e);
        }
    }

    /// True if `r` is valid and contained.
    pub fn contains_resource(&self, r: &v1::Resource) -> bool {
        Self::entry_of(r).is_some_and(|e| self.entries.iter().any(|s| s.contains(&e)))
    }

    /// How many copies of `r` are held: the shared count for shared resources, else 0 or 1
    /// (exact match of the whole resource, value included).
    pub fn count(&self, r: &v1::Resource) -> usize {
        let Some(e) = Self::entry_of(r) else { return 0 };
        self.entries
            .iter()
            .find(|s| entry::meta_eq(&s.meta, &e.meta) && s.value == e.value)
            .map_or(0, |s| {
                if s.meta.shared {
                    usize::try_from(s.shared_count).unwrap_or(0)
                } else {
                    1
                }
            })
    }

    /// Mesos's `contains`: every entry of `that` is within an entry of `self`, counting
    /// persistent volumes individually.
    pub fn contains(&self, that: &Resources) -> bool {
        if !that.entries.iter().any(|e| e.meta.is_persistent_volume()) {
            return that
                .entries
                .iter()
                .all(|e| self.entries.iter().any(|s| s.contains(e)));
        }
        let mut remaining = self.clone();
        for e in &that.entries {
            if !remaining.entries.iter().any(|s| s.contains(e)) {
                return false;
            }
            if e.meta.is_persistent_volume() {
                remaining.subtract_entry(e);
            }
        }
        true
    }

    /// True if, for every name in `quantities`, the scalar total (or the number of range
    /// values / set items) of that name here is at least the quantity.
    pub fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        quantities.iter().all(|(name, need)| {
            let have = self
                .entries
                .iter()
                .filter(|e| &*e.meta.name == name)
                .fold(Scalar::ZERO, |acc, e| {
                    acc.saturating_add(e.value.quantity())
                });
            have >= need
        })
    }

    pub(crate) fn entry_of(r: &v1::Resource) -> Option<Entry> {
        validation::validate_resource(r).ok()?;
        let e = if r.role.is_some() || r.reservation.is_some() {
            let mut post = r.clone();
            // Validated above, so this conversion cannot fail.
            convert_resource_format(&mut post, ResourceFormat::PostReservationRefinement).ok()?;
            Entry::from_proto(&post)
        } else {
            Entry::from_proto(r)
        };
        (!e.is_empty()).then_some(e)
    }

    pub(crate) fn add_entry(&mut self, e: Entry) {
        if e.is_empty() {
            return;
        }
        match self.entries.iter_mut().find(|s| s.addable(&e)) {
            Some(s) => s.add(&e),
            None => self.entries.push(e),
        }
    }

    fn add_entry_ref(&mut self, e: &Entry) {
        if e.is_empty() {
            return;
        }
        match self.entries.iter_mut().find(|s| s.addable(e)) {
            Some(s) => s.add(e),
            None => self.entries.push(e.clone()),
        }
    }

    pub(crate) fn subtract_entry(&mut self, e: &Entry) {
        if e.is_empty() {
            return;
        }
        if let Some(i) = self.entries.iter().position(|s| s.subtractable(e)) {
            if self.entries[i].subtract(e) {
                self.entries.remove(i);
            }
        }
    }
}

impl Resources {
    /// `self + rhs` building each merged value once (rather than cloning, then merging).
    /// Relies on both sides being merged: each `rhs` entry merges into at most one entry
    /// of `self`, and `rhs` entries never merge with each other.
    fn sum(&self, rhs: &Resources) -> Resources {
        if rhs.entries.len() > 64 {
            let mut out = self.clone();
            out += rhs;
            return out;
        }
        let mut used = 0u64;
        let mut entries = Vec::with_capacity(self.entries.len() + rhs.entries.len());
        for e in &self.entries {
            let hit = rhs
                .entries
                .iter()
                .enumerate()
                .find(|(j, x)| used & (1 << j) == 0 && e.addable(x));
            match hit {
                Some((j, x)) => {
                    used |= 1 << j;
                    entries.push(e.sum(x));
                }
                None => entries.push(e.clone()),
            }
        }
        for (j, x) in rhs.entries.iter().enumerate() {
            if used & (1 << j) == 0 {
                entries.push(x.clone());
            }
        }
        Resources { entries }
    }

    /// `self - rhs` computing each remaining value once. Each `rhs` entry is taken from at
    /// most one entry of `self` (identical exclusive entries are interchangeable, so
    /// matching from either side gives Mesos's result).
    fn difference(&self, rhs: &Resources) -> Resources {
        if rhs.entries.len() > 64 {
            let mut out = self.clone();
            out -= rhs;
            return out;
        }
        let mut used = 0u64;
        let mut entries = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let hit = rhs
                .entries
                .iter()
                .enumerate()
                .find(|(j, x)| used & (1 << j) == 0 && e.subtractable(x));
            match hit {
                Some((j, x)) => {
                    used |= 1 << j;
                    entries.extend(e.difference(x));
                }
                None => entries.push(e.clone()),
            }
        }
        Resources { entries }
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Resources({self})")
    }
}

/// Mesos's rendering: `cpus:4; mem(reservations: [(STATIC,r)]):1024; ports:[1-2]`, `{}`
/// when empty; shared resources carry their count as `<n>`.
impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("{}");
        }
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", text::DisplayResource(&e.to_proto()))?;
            if e.meta.shared {
                write!(f, "<{}>", e.shared_count)?;
            }
        }
        Ok(())
    }
}

/// Equal if each contains the other (Mesos's definition).
impl PartialEq for Resources {
    fn eq(&self, other: &Self) -> bool {
        self.contains(other) && other.contains(self)
    }
}

impl Eq for Resources {}

impl AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, rhs: &Resources) {
        for e in &rhs.entries {
            self.add_entry_ref(e);
        }
    }
}

impl AddAssign<Resources> for Resources {
    fn add_assign(&mut self, rhs: Resources) {
        for e in rhs.entries {
            self.add_entry(e);
        }
    }
}

impl SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, rhs: &Resources) {
        for e in &rhs.entries {
            self.subtract_entry(e);
        }
    }
}

impl SubAssign<Resources> for Resources {
    fn sub_assign(&mut self, rhs: Resources) {
        *self -= &rhs;
    }
}

impl AddAssign<&v1::Resource> for Resources {
    fn add_assign(&mut self, rhs: &v1::Resource) {
        self.add_resource(rhs);
    }
}

impl SubAssign<&v1::Resource> for Resources {
    fn sub_assign(&mut self, rhs: &v1::Resource) {
        self.subtract_resource(rhs);
    }
}

impl Add<&Resources> for &Resources {
    type Output = Resources;
    fn add(self, rhs: &Resources) -> Resources {
        self.sum(rhs)
    }
}

impl Add<&Resources> for Resources {
    type Output = Resources;
    fn add(mut self, rhs: &Resources) -> Resources {
        self += rhs;
        self
    }
}

impl Add<Resources> for Resources {
    type Output = Resources;
    fn add(mut self, rhs: Resources) -> Resources {
        self += rhs;
        self
    }
}

impl Sub<&Resources> for &Resources {
    type Output = Resources;
    fn sub(self, rhs: &Resources) -> Resources {
        self.difference(rhs)
    }
}

impl Sub<&Resources> for Resources {
    type Output = Resources;
    fn sub(mut self, rhs: &Resources) -> Resources {
        self -= rhs;
        self
    }
}

impl Sub<Resources> for Resources {
    type Output = Resources;
    fn sub(mut self, rhs: Resources) -> Resources {
        self -= &rhs;
        self
    }
}

impl From<&v1::Resource> for Resources {
    fn from(r: &v1::Resource) -> Self {
        Self::from_resources([r])
    }
}

impl From<&[v1::Resource]> for Resources {
    fn from(rs: &[v1::Resource]) -> Self {
        Self::from_resources(rs)
    }
}

impl From<Vec<v1::Resource>> for Resources {
    fn from(rs: Vec<v1::Resource>) -> Self {
        Self::from_resources(&rs)
    }
}

impl FromIterator<v1::Resource> for Resources {
    fn from_iter<I: IntoIterator<Item = v1::Resource>>(iter: I) -> Self {
        let mut out = Resources::new();
        for r in iter {
            out.add_resource(&r);
        }
        out
    }
}

impl From<&Resources> for Vec<v1::Resource> {
    fn from(r: &Resources) -> Self {
        r.to_vec()
    }
}

impl From<Resources> for Vec<v1::Resource> {
    fn from(r: Resources) -> Self {
        r.to_vec()
    }
}

impl std::str::FromStr for Resources {
    type Err = ResourcesError;
    /// Parses Mesos's text or JSON form with default role `*`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Resources::parse(s, "*")
    }
}

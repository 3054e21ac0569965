//! One entry of a `Resources`: shared metadata (what kind of resource it is) plus a value.
//!
//! Entries of the same kind are merged when Mesos would merge them. The metadata lives
//! behind an `Arc` so that copies of a `Resources` and the results of `+`/`-` share it,
//! and comparing two entries' metadata is usually a pointer comparison; when the pointers
//! differ a precomputed hash rejects most unequal pairs before the field-by-field check.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use super::value::{Ranges, ResourceValue, Scalar, Set};
use crate::v1;
use crate::v1::resource::{disk_info, reservation_info, AllocationInfo, DiskInfo, ReservationInfo};

/// Everything about a resource except its amount, in post-refinement form.
#[derive(Debug)]
pub(crate) struct Meta {
    pub name: Arc<str>,
    pub vtype: v1::value::Type,
    pub allocation_info: Option<AllocationInfo>,
    pub reservations: Vec<ReservationInfo>,
    pub disk: Option<DiskInfo>,
    pub revocable: bool,
    pub shared: bool,
    pub provider_id: Option<String>,
    /// Covers only fields compared exactly, so equal metadata always hashes equal.
    hash: u64,
    /// Two entries with equal metadata may still not be merged (persistent volumes,
    /// MOUNT/BLOCK disks, RAW disks with an id): they are taken or given back whole.
    pub exclusive: bool,
}

impl Meta {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: Arc<str>,
        vtype: v1::value::Type,
        allocation_info: Option<AllocationInfo>,
        reservations: Vec<ReservationInfo>,
        disk: Option<DiskInfo>,
        revocable: bool,
        shared: bool,
        provider_id: Option<String>,
    ) -> Meta {
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        (vtype as i32).hash(&mut h);
        allocation_info
            .as_ref()
            .map(|a| a.role.as_deref())
            .hash(&mut h);
        reservations.len().hash(&mut h);
        for r in &reservations {
            r.role().hash(&mut h);
            r.r#type().hash(&mut h);
        }
        disk.as_ref()
            .map(|d| d.persistence.as_ref().map(|p| p.id.as_str()))
            .hash(&mut h);
        (revocable, shared).hash(&mut h);
        provider_id.hash(&mut h);
        let exclusive = disk.as_ref().is_some_and(|d| {
            d.persistence.is_some()
                || d.source.as_ref().is_some_and(|s| match s.r#type() {
                    disk_info::source::Type::Mount | disk_info::source::Type::Block => true,
                    disk_info::source::Type::Raw => s.id.is_some(),
                    _ => false,
                })
        });
        Meta {
            name,
            vtype,
            allocation_info,
            reservations,
            disk,
            revocable,
            shared,
            provider_id,
            hash: h.finish(),
            exclusive,
        }
    }

    /// A copy with different reservations / allocation (for the RESERVE and allocate paths).
    pub fn with(
        &self,
        allocation_info: Option<AllocationInfo>,
        reservations: Vec<ReservationInfo>,
    ) -> Meta {
        Meta::new(
            self.name.clone(),
            self.vtype,
            allocation_info,
            reservations,
            self.disk.clone(),
            self.revocable,
            self.shared,
            self.provider_id.clone(),
        )
    }

    /// The role of the innermost reservation, if reserved.
    pub fn reservation_role(&self) -> Option<&str> {
        self.reservations.last().map(|r| r.role())
    }

    pub fn is_persistent_volume(&self) -> bool {
        self.disk.as_ref().is_some_and(|d| d.persistence.is_some())
    }
}

/// Mesos's notion of "same kind of resource" (ignores `DiskInfo.volume`, the persistence
/// principal and the order of labels).
pub(crate) fn meta_eq(a: &Arc<Meta>, b: &Arc<Meta>) -> bool {
    if Arc::ptr_eq(a, b) {
        return true;
    }
    a.hash == b.hash
        && a.name == b.name
        && a.vtype == b.vtype
        && a.revocable == b.revocable
        && a.shared == b.shared
        && a.allocation_info == b.allocation_info
        && a.provider_id == b.provider_id
        && a.reservations.len() == b.reservations.len()
        && a.reservations
            .iter()
            .zip(&b.reservations)
            .all(|(x, y)| reservation_eq(x, y))
        && match (&a.disk, &b.disk) {
            (None, None) => true,
            (Some(x), Some(y)) => disk_eq(x, y),
            _ => false,
        }
}

/// Reservation equality as Mesos defines it (unset type/role equal their defaults).
pub(crate) fn reservation_eq(a: &ReservationInfo, b: &ReservationInfo) -> bool {
    a.r#type() == b.r#type()
        && a.role() == b.role()
        && a.principal == b.principal
        && match (&a.labels, &b.labels) {
            (None, None) => true,
            (Some(x), Some(y)) => labels_eq(x, y),
            _ => false,
        }
}

/// Labels are equal regardless of order (a label's missing value equals "").
pub(crate) fn labels_eq(a: &v1::Labels, b: &v1::Labels) -> bool {
    if a.labels == b.labels {
        return true;
    }
    a.labels.len() == b.labels.len()
        && a.labels.iter().all(|x| {
            b.labels
                .iter()
                .any(|y| x.key == y.key && x.value() == y.value())
        })
}

fn disk_eq(a: &DiskInfo, b: &DiskInfo) -> bool {
    let persistence_eq = match (&a.persistence, &b.persistence) {
        (None, None) => true,
        (Some(x), Some(y)) => x.id == y.id,
        _ => false,
    };
    persistence_eq
        && match (&a.source, &b.source) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                x.r#type == y.r#type
                    && x.path == y.path
                    && x.mount == y.mount
                    && x.vendor == y.vendor
                    && x.id == y.id
                    && x.profile == y.profile
                    && match (&x.metadata, &y.metadata) {
                        (None, None) => true,
                        (Some(p), Some(q)) => labels_eq(p, q),
                        _ => false,
                    }
            }
            _ => false,
        }
}

/// One resource: its kind, its amount and, for shared resources, how many copies.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub meta: Arc<Meta>,
    pub value: ResourceValue,
    /// Number of copies of a shared resource (always 1 for non-shared ones).
    pub shared_count: i64,
}

impl Entry {
    pub fn is_empty(&self) -> bool {
        (self.meta.shared && self.shared_count <= 0) || self.value.is_empty()
    }

    /// Can `other` be merged into `self` as one entry?
    #[inline]
    pub fn addable(&self, other: &Entry) -> bool {
        if !meta_eq(&self.meta, &other.meta) {
            return false;
        }
        if self.meta.shared {
            return self.value == other.value;
        }
        !self.meta.exclusive
    }

    /// Can `other` be taken out of `self`?
    #[inline]
    pub fn subtractable(&self, other: &Entry) -> bool {
        if !meta_eq(&self.meta, &other.meta) {
            return false;
        }
        if self.meta.shared || self.meta.exclusive {
            return self.value == other.value;
        }
        true
    }

    /// Is `other` part of `self`?
    #[inline]
    pub fn contains(&self, other: &Entry) -> bool {
        if !self.subtractable(other) {
            return false;
        }
        if self.meta.shared {
            return self.shared_count >= other.shared_count;
        }
        self.value.contains(&other.value)
    }

    /// Merges an addable entry.
    pub fn add(&mut self, other: &Entry) {
        if self.meta.shared {
            self.shared_count += other.shared_count;
        } else {
            self.value.add(&other.value);
        }
    }

    /// Removes a subtractable entry; returns true if nothing (or less than nothing) is left.
    pub fn subtract(&mut self, other: &Entry) -> bool {
        if self.meta.shared {
            self.shared_count -= other.shared_count;
            self.shared_count <= 0
        } else {
            self.value.subtract(&other.value)
        }
    }

    /// `self + other` for an addable entry, as a new entry.
    pub fn sum(&self, other: &Entry) -> Entry {
        if self.meta.shared {
            Entry {
                meta: self.meta.clone(),
                value: self.value.clone(),
                shared_count: self.shared_count + other.shared_count,
            }
        } else {
            Entry {
                meta: self.meta.clone(),
                value: self.value.sum(&other.value),
                shared_count: self.shared_count,
            }
        }
    }

    /// `self - other` for a subtractable entry; `None` if nothing is left.
    pub fn difference(&self, other: &Entry) -> Option<Entry> {
        if self.meta.shared {
            let count = self.shared_count - other.shared_count;
            return (count > 0).then(|| Entry {
                meta: self.meta.clone(),
                value: self.value.clone(),
                shared_count: count,
            });
        }
        self.value.difference(&other.value).map(|value| Entry {
            meta: self.meta.clone(),
            value,
            shared_count: self.shared_count,
        })
    }

    /// Builds an entry from a resource already validated and in post-refinement form.
    pub fn from_proto(r: &v1::Resource) -> Entry {
        let vtype = r.r#type();
        let value = match vtype {
            v1::value::Type::Ranges => ResourceValue::Ranges(
                r.ranges
                    .as_ref()
                    .map(Ranges::from_proto)
                    .unwrap_or_default(),
            ),
            v1::value::Type::Set => ResourceValue::Set(
                r.set
                    .as_ref()
                    .map(|s| Set::from_items(s.item.iter().cloned()))
                    .unwrap_or_default(),
            ),
            _ => {
                ResourceValue::Scalar(Scalar::from_f64(r.scalar.as_ref().map_or(0.0, |s| s.value)))
            }
        };
        let meta = Meta::new(
            Arc::from(r.name.as_str()),
            vtype,
            r.allocation_info.clone(),
            r.reservations.clone(),
            r.disk.clone(),
            r.revocable.is_some(),
            r.shared.is_some(),
            r.provider_id.as_ref().map(|p| p.value.clone()),
        );
        Entry {
            meta: Arc::new(meta),
            value,
            shared_count: 1,
        }
    }

    /// The post-refinement protobuf form.
    pub fn to_proto(&self) -> v1::Resource {
        let m = &*self.meta;
        let mut r = v1::Resource {
            name: m.name.to_string(),
            r#type: m.vtype as i32,
            allocation_info: m.allocation_info.clone(),
            reservations: m.reservations.clone(),
            disk: m.disk.clone(),
            revocable: m.revocable.then_some(v1::resource::RevocableInfo {}),
            shared: m.shared.then_some(v1::resource::SharedInfo {}),
            provider_id: m
                .provider_id
                .as_ref()
                .map(|v| v1::ResourceProviderId { value: v.clone() }),
            ..Default::default()
        };
        match &self.value {
            ResourceValue::Scalar(s) => {
                r.scalar = Some(v1::value::Scalar { value: s.as_f64() });
            }
            ResourceValue::Ranges(x) => r.ranges = Some(x.to_proto()),
            ResourceValue::Set(x) => r.set = Some(x.to_proto()),
        }
        r
    }
}

/// Whether a reservation is dynamic (the innermost layer decides).
pub(crate) fn is_dynamic(meta: &Meta) -> bool {
    meta.reservations
        .last()
        .is_some_and(|r| r.r#type() == reservation_info::Type::Dynamic)
}

//! Read-only views, filters, getters, reservations and allocation of `Resources`.

use std::collections::HashMap;
use std::sync::Arc;

use super::entry::{is_dynamic, Entry, Meta};
use super::validation::is_strict_subrole_of;
use super::value::{Ranges, ResourceValue, Scalar, Set};
use super::{validation, Resources, ResourcesError};
use crate::v1;
use crate::v1::resource::{AllocationInfo, DiskInfo, ReservationInfo};

/// A borrowed view of one entry of a `Resources`.
#[derive(Clone, Copy)]
pub struct ResourceRef<'a>(&'a Entry);

impl<'a> ResourceRef<'a> {
    /// Resource name (`cpus`, `mem`, ...).
    pub fn name(&self) -> &'a str {
        &self.0.meta.name
    }
    /// The amount.
    pub fn value(&self) -> &'a ResourceValue {
        &self.0.value
    }
    /// The reservation stack (empty = unreserved); the last layer is the current one.
    pub fn reservations(&self) -> &'a [ReservationInfo] {
        &self.0.meta.reservations
    }
    /// The role of the innermost reservation, if reserved.
    pub fn reservation_role(&self) -> Option<&'a str> {
        self.0.meta.reservation_role()
    }
    /// True if not reserved.
    pub fn is_unreserved(&self) -> bool {
        self.0.meta.reservations.is_empty()
    }
    /// True if reserved and the innermost reservation is dynamic.
    pub fn is_dynamically_reserved(&self) -> bool {
        is_dynamic(&self.0.meta)
    }
    /// True if reserved with more than one layer.
    pub fn has_refined_reservations(&self) -> bool {
        self.0.meta.reservations.len() > 1
    }
    /// The role this resource is allocated (offered) to, if any.
    pub fn allocation_role(&self) -> Option<&'a str> {
        self.0
            .meta
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.as_deref())
    }
    /// True for revocable resources.
    pub fn is_revocable(&self) -> bool {
        self.0.meta.revocable
    }
    /// True for shared resources.
    pub fn is_shared(&self) -> bool {
        self.0.meta.shared
    }
    /// Copies held of a shared resource (1 for non-shared).
    pub fn shared_count(&self) -> i64 {
        self.0.shared_count
    }
    /// True for persistent volumes.
    pub fn is_persistent_volume(&self) -> bool {
        self.0.meta.is_persistent_volume()
    }
    /// Disk details, if any.
    pub fn disk(&self) -> Option<&'a DiskInfo> {
        self.0.meta.disk.as_ref()
    }
    /// Resource provider id, if any.
    pub fn provider_id(&self) -> Option<&'a str> {
        self.0.meta.provider_id.as_deref()
    }
    /// True if it may be offered to `role` (unreserved, or reserved to `role` or an
    /// ancestor of it).
    pub fn is_allocatable_to(&self, role: &str) -> bool {
        match self.reservation_role() {
            None => true,
            Some(r) => r == role || is_strict_subrole_of(role, r),
        }
    }
    /// The post-refinement protobuf form.
    pub fn to_proto(&self) -> v1::Resource {
        self.0.to_proto()
    }
}

impl Resources {
    /// Iterates over the entries.
    pub fn iter(&self) -> impl Iterator<Item = ResourceRef<'_>> + '_ {
        self.entries.iter().map(ResourceRef)
    }

    /// The entries for which `pred` holds (entries are already merged, so no re-merge).
    pub fn filter(&self, mut pred: impl FnMut(ResourceRef<'_>) -> bool) -> Resources {
        Resources {
            entries: self
                .entries
                .iter()
                .filter(|e| pred(ResourceRef(e)))
                .cloned()
                .collect(),
        }
    }

    /// Resources reserved to exactly `role` (innermost reservation).
    pub fn reserved(&self, role: &str) -> Resources {
        self.filter(|r| r.reservation_role() == Some(role))
    }

    /// All reserved resources.
    pub fn reserved_any(&self) -> Resources {
        self.filter(|r| !r.is_unreserved())
    }

    /// Unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(|r| r.is_unreserved())
    }

    /// Resources that may be offered to `role`: unreserved, or reserved to `role` or one
    /// of its ancestors.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|r| r.is_allocatable_to(role))
    }

    /// Persistent volumes.
    pub fn persistent_volumes(&self) -> Resources {
        self.filter(|r| r.is_persistent_volume())
    }

    /// Revocable resources.
    pub fn revocable(&self) -> Resources {
        self.filter(|r| r.is_revocable())
    }

    /// Non-revocable resources.
    pub fn non_revocable(&self) -> Resources {
        self.filter(|r| !r.is_revocable())
    }

    /// Shared resources.
    pub fn shared(&self) -> Resources {
        self.filter(|r| r.is_shared())
    }

    /// Non-shared resources.
    pub fn non_shared(&self) -> Resources {
        self.filter(|r| !r.is_shared())
    }

    /// Scalar resources only.
    pub fn scalars(&self) -> Resources {
        self.filter(|r| matches!(r.value(), ResourceValue::Scalar(_)))
    }

    /// Resources with this name.
    pub fn named(&self, name: &str) -> Resources {
        self.filter(|r| r.name() == name)
    }

    /// The distinct names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .iter()
            .map(|e| e.meta.name.to_string())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Reserved resources grouped by reservation role.
    pub fn reservations(&self) -> HashMap<String, Resources> {
        let mut out: HashMap<String, Resources> = HashMap::new();
        for e in &self.entries {
            if let Some(role) = e.meta.reservation_role() {
                out.entry(role.to_string())
                    .or_default()
                    .add_entry(e.clone());
            }
        }
        out
    }

    /// Resources grouped by allocation role (unallocated ones are skipped).
    pub fn allocations(&self) -> HashMap<String, Resources> {
        let mut out: HashMap<String, Resources> = HashMap::new();
        for e in &self.entries {
            if let Some(role) = e
                .meta
                .allocation_info
                .as_ref()
                .and_then(|a| a.role.as_ref())
            {
                out.entry(role.clone()).or_default().add_entry(e.clone());
            }
        }
        out
    }

    /// Total of the scalar resources called `name`, if any.
    pub fn get_scalar(&self, name: &str) -> Option<Scalar> {
        let mut found = None;
        for e in &self.entries {
            if let (true, ResourceValue::Scalar(s)) = (&*e.meta.name == name, &e.value) {
                found = Some(found.unwrap_or(Scalar::ZERO).saturating_add(*s));
            }
        }
        found
    }

    /// Union of the ranges resources called `name`, if any.
    pub fn get_ranges(&self, name: &str) -> Option<Ranges> {
        let mut found: Option<Ranges> = None;
        for e in &self.entries {
            if let (true, ResourceValue::Ranges(r)) = (&*e.meta.name == name, &e.value) {
                found.get_or_insert_with(Ranges::new).add(r);
            }
        }
        found
    }

    /// Union of the set resources called `name`, if any.
    pub fn get_set(&self, name: &str) -> Option<Set> {
        let mut found: Option<Set> = None;
        for e in &self.entries {
            if let (true, ResourceValue::Set(s)) = (&*e.meta.name == name, &e.value) {
                found.get_or_insert_with(Set::new).add(s);
            }
        }
        found
    }

    /// Total `cpus`.
    pub fn cpus(&self) -> Option<f64> {
        self.get_scalar("cpus").map(Scalar::as_f64)
    }

    /// Total `gpus`.
    pub fn gpus(&self) -> Option<f64> {
        self.get_scalar("gpus").map(Scalar::as_f64)
    }

    /// Total `mem` in whole megabytes (truncated, as Mesos does).
    pub fn mem(&self) -> Option<u64> {
        self.get_scalar("mem").map(|s| s.as_f64() as u64)
    }

    /// Total `disk` in whole megabytes (truncated, as Mesos does).
    pub fn disk(&self) -> Option<u64> {
        self.get_scalar("disk").map(|s| s.as_f64() as u64)
    }

    /// All `ports`.
    pub fn ports(&self) -> Option<Ranges> {
        self.get_ranges("ports")
    }

    /// Sets the allocation role of every entry (entries made equal by this are merged).
    pub fn allocate(&mut self, role: &str) {
        let info = Some(AllocationInfo {
            role: Some(role.to_string()),
        });
        self.remap(|m| {
            (m.allocation_info != info).then(|| m.with(info.clone(), m.reservations.clone()))
        });
    }

    /// Clears the allocation role of every entry.
    pub fn unallocate(&mut self) {
        self.remap(|m| {
            m.allocation_info
                .is_some()
                .then(|| m.with(None, m.reservations.clone()))
        });
    }

    /// Adds a reservation layer to every entry (RESERVE). The result must stay valid:
    /// a refinement must be DYNAMIC and name a strict sub-role of the current role.
    pub fn push_reservation(
        &self,
        reservation: &ReservationInfo,
    ) -> Result<Resources, ResourcesError> {
        let mut out = Resources::new();
        for e in &self.entries {
            let mut stack = e.meta.reservations.clone();
            stack.push(reservation.clone());
            let meta = e.meta.with(e.meta.allocation_info.clone(), stack);
            let entry = Entry {
                meta: Arc::new(meta),
                value: e.value.clone(),
                shared_count: e.shared_count,
            };
            validation::validate_resource(&entry.to_proto())?;
            out.add_entry(entry);
        }
        Ok(out)
    }

    /// Removes the innermost reservation layer of every entry (UNRESERVE). Fails if any
    /// entry is unreserved.
    pub fn pop_reservation(&self) -> Result<Resources, ResourcesError> {
        let mut out = Resources::new();
        for e in &self.entries {
            if e.meta.reservations.is_empty() {
                return Err(ResourcesError::NotReserved(e.meta.name.to_string()));
            }
            let mut stack = e.meta.reservations.clone();
            stack.pop();
            out.add_entry(Entry {
                meta: Arc::new(e.meta.with(e.meta.allocation_info.clone(), stack)),
                value: e.value.clone(),
                shared_count: e.shared_count,
            });
        }
        Ok(out)
    }

    /// The same resources with every reservation removed.
    pub fn to_unreserved(&self) -> Resources {
        let mut out = Resources::new();
        for e in &self.entries {
            if e.meta.reservations.is_empty() {
                out.add_entry(e.clone());
            } else {
                out.add_entry(Entry {
                    meta: Arc::new(e.meta.with(e.meta.allocation_info.clone(), Vec::new())),
                    value: e.value.clone(),
                    shared_count: e.shared_count,
                });
            }
        }
        out
    }

    /// Scalars only, stripped of everything but name and amount (Mesos's
    /// `createStrippedScalarQuantity`).
    pub fn stripped_scalars(&self) -> Resources {
        let mut out = Resources::new();
        for e in &self.entries {
            if let ResourceValue::Scalar(s) = e.value {
                let meta = Meta::new(
                    e.meta.name.clone(),
                    v1::value::Type::Scalar,
                    None,
                    Vec::new(),
                    None,
                    false,
                    false,
                    None,
                );
                out.add_entry(Entry {
                    meta: Arc::new(meta),
                    value: ResourceValue::Scalar(s),
                    shared_count: 1,
                });
            }
        }
        out
    }

    /// Rebuilds entries whose metadata `f` changes, re-merging the result.
    fn remap(&mut self, f: impl Fn(&Meta) -> Option<Meta>) {
        if !self.entries.iter().any(|e| f(&e.meta).is_some()) {
            return;
        }
        let old = std::mem::take(&mut self.entries);
        for mut e in old {
            if let Some(m) = f(&e.meta) {
                e.meta = Arc::new(m);
            }
            self.add_entry(e);
        }
    }
}

/// The role a protobuf resource is reserved to (innermost layer; either format).
pub fn reservation_role(r: &v1::Resource) -> Option<&str> {
    match r.reservations.last() {
        Some(layer) => Some(layer.role()),
        None => r.role.as_deref().filter(|role| *role != "*"),
    }
}

/// True if a protobuf resource is unreserved (either format).
pub fn is_unreserved(r: &v1::Resource) -> bool {
    reservation_role(r).is_none()
}

/// True if a protobuf resource is dynamically reserved (either format).
pub fn is_dynamically_reserved(r: &v1::Resource) -> bool {
    match r.reservations.last() {
        Some(layer) => layer.r#type() == v1::resource::reservation_info::Type::Dynamic,
        None => r.reservation.is_some() && !is_unreserved(r),
    }
}

/// True if a protobuf resource is a persistent volume.
pub fn is_persistent_volume(r: &v1::Resource) -> bool {
    r.disk.as_ref().is_some_and(|d| d.persistence.is_some())
}

//! Applying offer operations to resources (Mesos's `getResourceConversions` and
//! `Resources::apply`).
//!
//! Every non-launch operation is a list of [`ResourceConversion`]s: resources it takes
//! (`consumed`) and what it gives back in their place (`converted`). Applying a list
//! checks each `consumed` is present before swapping it, so a failure leaves the input
//! untouched, and the totals of cpus/gpus/mem/disk/ports never change. The master applies
//! operations to offered resources and to its agent view, the allocator to its totals and
//! the agent to its checkpointed resources: one implementation keeps them in step.

use super::text::DisplayResource;
use super::{validation, Resources};
use crate::v1;
use crate::v1::offer::operation::Type as OpType;

/// Why an operation cannot be applied; texts follow Mesos's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The operation itself is malformed (wrong member, bad resources).
    #[error("Invalid {kind} Operation: {message}")]
    Invalid {
        /// `RESERVE`, `UNRESERVE`, `CREATE`, ...
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The operation type has no resource conversion here (`UNKNOWN`, `CREATE_DISK`, ...).
    #[error("Unsupported operation type {0}")]
    Unsupported(String),
    /// The resources do not hold what the operation consumes.
    #[error("{have} does not contain {need}")]
    NotContained {
        /// The resources the operation was applied to.
        have: String,
        /// What it needed.
        need: String,
    },
    /// A shared persistent volume still has copies in use.
    #[error("Persistent volume {0} cannot be removed due to additional shared copies")]
    SharedCopies(String),
}

/// What one step of an operation takes and gives back.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceConversion {
    /// Resources the step removes.
    pub consumed: Resources,
    /// Resources the step adds in their place.
    pub converted: Resources,
    /// A persistent volume that must be gone after the step (DESTROY of a shared volume
    /// with other copies still held is refused).
    pub must_vanish: Option<Resources>,
}

impl ResourceConversion {
    /// A conversion without a post-condition.
    pub fn new(consumed: Resources, converted: Resources) -> Self {
        ResourceConversion {
            consumed,
            converted,
            must_vanish: None,
        }
    }
}

fn invalid<T>(kind: &'static str, message: impl Into<String>) -> Result<T, ApplyError> {
    Err(ApplyError::Invalid {
        kind,
        message: message.into(),
    })
}

/// The disk a volume is made from: persistence and volume removed (the whole `disk` when
/// it has no source), never shared.
pub fn strip_volume(volume: &v1::Resource) -> v1::Resource {
    let mut stripped = volume.clone();
    let has_source = stripped.disk.as_ref().is_some_and(|d| d.source.is_some());
    if has_source {
        if let Some(d) = stripped.disk.as_mut() {
            d.persistence = None;
            d.volume = None;
        }
    } else {
        stripped.disk = None;
    }
    stripped.shared = None;
    stripped
}

/// The name Mesos prints for an operation type.
pub fn operation_type_name(t: OpType) -> &'static str {
    match t {
        OpType::Unknown => "UNKNOWN",
        OpType::Launch => "LAUNCH",
        OpType::LaunchGroup => "LAUNCH_GROUP",
        OpType::Reserve => "RESERVE",
        OpType::Unreserve => "UNRESERVE",
        OpType::Create => "CREATE",
        OpType::Destroy => "DESTROY",
        OpType::GrowVolume => "GROW_VOLUME",
        OpType::ShrinkVolume => "SHRINK_VOLUME",
        OpType::CreateDisk => "CREATE_DISK",
        OpType::DestroyDisk => "DESTROY_DISK",
    }
}

fn scalar_of(r: &v1::Resource) -> f64 {
    r.scalar.as_ref().map_or(0.0, |s| s.value)
}

/// The conversions an operation makes (empty for LAUNCH and LAUNCH_GROUP, which do not
/// reshape resources).
pub fn resource_conversions(
    op: &v1::offer::Operation,
) -> Result<Vec<ResourceConversion>, ApplyError> {
    let mut out = Vec::new();
    match op.r#type() {
        OpType::Launch | OpType::LaunchGroup => {}
        OpType::Reserve => {
            const K: &str = "RESERVE";
            let Some(reserve) = &op.reserve else {
                return invalid(K, "missing 'reserve'");
            };
            if let Err(e) = validation::validate_resources(&reserve.resources) {
                return invalid(K, e.message());
            }
            for r in &reserve.resources {
                let reserved = Resources::from(r);
                // Only one layer is pushed at a time: what is consumed is `r` minus its
                // innermost reservation.
                let consumed = reserved
                    .pop_reservation()
                    .or_else(|_| invalid(K, format!("{} is not reserved", DisplayResource(r))))?;
                out.push(ResourceConversion::new(consumed, reserved));
            }
        }
        OpType::Unreserve => {
            const K: &str = "UNRESERVE";
            let Some(unreserve) = &op.unreserve else {
                return invalid(K, "missing 'unreserve'");
            };
            if let Err(e) = validation::validate_resources(&unreserve.resources) {
                return invalid(K, e.message());
            }
            for r in &unreserve.resources {
                let reserved = Resources::from(r);
                let converted = reserved
                    .pop_reservation()
                    .or_else(|_| invalid(K, format!("{} is not reserved", DisplayResource(r))))?;
                out.push(ResourceConversion::new(reserved, converted));
            }
        }
        OpType::Create => {
            const K: &str = "CREATE";
            let Some(create) = &op.create else {
                return invalid(K, "missing 'create'");
            };
            if let Err(e) = validation::validate_resources(&create.volumes) {
                return invalid(K, e.message());
            }
            for v in &create.volumes {
                check_volume(K, v)?;
                out.push(ResourceConversion::new(
                    Resources::from(&strip_volume(v)),
                    Resources::from(v),
                ));
            }
        }
        OpType::Destroy => {
            const K: &str = "DESTROY";
            let Some(destroy) = &op.destroy else {
                return invalid(K, "missing 'destroy'");
            };
            if let Err(e) = validation::validate_resources(&destroy.volumes) {
                return invalid(K, e.message());
            }
            for v in &destroy.volumes {
                check_volume(K, v)?;
                let volume = Resources::from(v);
                out.push(ResourceConversion {
                    consumed: volume.clone(),
                    converted: Resources::from(&strip_volume(v)),
                    must_vanish: Some(volume),
                });
            }
        }
        OpType::GrowVolume => {
            const K: &str = "GROW_VOLUME";
            let Some(grow) = &op.grow_volume else {
                return invalid(K, "missing 'grow_volume'");
            };
            let (volume, addition) = (&grow.volume, &grow.addition);
            if let Err(e) = validation::validate_resources(&[volume.clone(), addition.clone()]) {
                return invalid(K, e.message());
            }
            check_volume(K, volume)?;
            if addition.scalar.is_none() || scalar_of(addition) <= 0.0 {
                return invalid(K, "addition must be a positive scalar");
            }
            let mut grown = volume.clone();
            grown.scalar = Some(v1::value::Scalar {
                value: (super::Scalar::from_f64(scalar_of(volume))
                    .saturating_add(super::Scalar::from_f64(scalar_of(addition))))
                .as_f64(),
            });
            let mut consumed = Resources::from(volume);
            consumed.add_resource(addition);
            out.push(ResourceConversion::new(consumed, Resources::from(&grown)));
        }
        OpType::ShrinkVolume => {
            const K: &str = "SHRINK_VOLUME";
            let Some(shrink) = &op.shrink_volume else {
                return invalid(K, "missing 'shrink_volume'");
            };
            let volume = &shrink.volume;
            if let Err(e) = validation::validate_resources(std::slice::from_ref(volume)) {
                return invalid(K, e.message());
            }
            check_volume(K, volume)?;
            let have = super::Scalar::from_f64(scalar_of(volume));
            let sub = super::Scalar::from_f64(shrink.subtract.value);
            if sub <= super::Scalar::ZERO || sub >= have {
                return invalid(
                    K,
                    format!(
                        "subtract {} must be positive and less than the volume size {}",
                        sub, have
                    ),
                );
            }
            let mut shrunk = volume.clone();
            shrunk.scalar = Some(v1::value::Scalar {
                value: have.saturating_sub(sub).as_f64(),
            });
            let mut freed = strip_volume(volume);
            freed.scalar = Some(v1::value::Scalar {
                value: sub.as_f64(),
            });
            let mut converted = Resources::from(&shrunk);
            converted.add_resource(&freed);
            out.push(ResourceConversion::new(Resources::from(volume), converted));
        }
        other @ (OpType::Unknown | OpType::CreateDisk | OpType::DestroyDisk) => {
            return Err(ApplyError::Unsupported(
                operation_type_name(other).to_string(),
            ));
        }
    }
    Ok(out)
}

/// The resources a non-launch operation names (RESERVE/UNRESERVE resources, CREATE/DESTROY
/// volumes, GROW/SHRINK volume and addition), mutably: for format conversion and for
/// setting or clearing `allocation_info`.
pub fn operation_resources_mut(op: &mut v1::offer::Operation) -> Vec<&mut v1::Resource> {
    let mut out: Vec<&mut v1::Resource> = Vec::new();
    if let Some(r) = op.reserve.as_mut() {
        out.extend(r.resources.iter_mut());
    }
    if let Some(r) = op.unreserve.as_mut() {
        out.extend(r.resources.iter_mut());
    }
    if let Some(c) = op.create.as_mut() {
        out.extend(c.volumes.iter_mut());
    }
    if let Some(d) = op.destroy.as_mut() {
        out.extend(d.volumes.iter_mut());
    }
    if let Some(g) = op.grow_volume.as_mut() {
        out.push(&mut g.volume);
        out.push(&mut g.addition);
    }
    if let Some(s) = op.shrink_volume.as_mut() {
        out.push(&mut s.volume);
    }
    out
}

/// The operation with `allocation_info` removed from every resource it names: the form
/// that applies to an agent's (unallocated) total.
pub fn unallocated_operation(op: &v1::offer::Operation) -> v1::offer::Operation {
    let mut out = op.clone();
    for r in operation_resources_mut(&mut out) {
        r.allocation_info = None;
    }
    out
}

fn check_volume(kind: &'static str, v: &v1::Resource) -> Result<(), ApplyError> {
    match &v.disk {
        None => invalid(kind, "Missing 'disk'"),
        Some(d) if d.persistence.is_none() => invalid(kind, "Missing 'persistence'"),
        Some(_) => Ok(()),
    }
}

impl Resources {
    /// Applies one conversion: `consumed` must be held.
    pub fn apply_conversion(&self, c: &ResourceConversion) -> Result<Resources, ApplyError> {
        if !self.contains(&c.consumed) {
            return Err(ApplyError::NotContained {
                have: self.to_string(),
                need: c.consumed.to_string(),
            });
        }
        let mut out = self - &c.consumed;
        out += &c.converted;
        if let Some(v) = &c.must_vanish {
            if !v.is_empty() && out.contains(v) {
                return Err(ApplyError::SharedCopies(v.to_string()));
            }
        }
        Ok(out)
    }

    /// Applies conversions in order, all or nothing.
    pub fn apply_conversions(&self, cs: &[ResourceConversion]) -> Result<Resources, ApplyError> {
        let mut out = self.clone();
        for c in cs {
            out = out.apply_conversion(c)?;
        }
        Ok(out)
    }

    /// Applies an offer operation (LAUNCH and LAUNCH_GROUP leave resources unchanged).
    pub fn apply(&self, op: &v1::offer::Operation) -> Result<Resources, ApplyError> {
        self.apply_conversions(&resource_conversions(op)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_keeps_source() {
        let mut v = v1::Resource {
            name: "disk".into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value: 1.0 }),
            shared: Some(v1::resource::SharedInfo {}),
            disk: Some(v1::resource::DiskInfo {
                persistence: Some(v1::resource::disk_info::Persistence {
                    id: "id".into(),
                    principal: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = strip_volume(&v);
        assert!(s.disk.is_none() && s.shared.is_none());
        v.disk.as_mut().unwrap().source = Some(v1::resource::disk_info::Source {
            r#type: v1::resource::disk_info::source::Type::Path as i32,
            ..Default::default()
        });
        let s = strip_volume(&v);
        let d = s.disk.unwrap();
        assert!(d.persistence.is_none() && d.source.is_some());
    }
}

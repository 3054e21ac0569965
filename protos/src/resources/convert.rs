//! Pre-refinement ↔ post-refinement reservation formats (reference §3.3).
//!
//! Frameworks without `RESERVATION_REFINEMENT` see `role` (+ `reservation` for dynamic
//! reservations); everything inside uses `reservations[]`. The endpoint format (used by
//! `/state` and friends) carries both.

use super::ResourcesError;
use crate::v1;
use crate::v1::resource::{reservation_info, ReservationInfo};

/// Which reservation fields a `Resource` carries on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceFormat {
    /// `role` (`*` = unreserved) and, for dynamic reservations, `reservation`.
    PreReservationRefinement,
    /// `reservations[]` only (what `Resources` holds).
    PostReservationRefinement,
    /// Both: `reservations[]` plus `role`/`reservation` where a single layer allows it.
    Endpoint,
}

/// Converts one resource between formats in place. Converting a resource with refined
/// reservations (more than one layer) to the pre-refinement format fails.
pub fn convert_resource_format(
    r: &mut v1::Resource,
    format: ResourceFormat,
) -> Result<(), ResourcesError> {
    match format {
        ResourceFormat::PreReservationRefinement | ResourceFormat::Endpoint => {
            // Start from the post-refinement fields so that a mixed input is normalized.
            if r.reservations.is_empty() && (r.role.is_some() || r.reservation.is_some()) {
                convert_resource_format(r, ResourceFormat::PostReservationRefinement)?;
            }
            r.role = None;
            r.reservation = None;
            match r.reservations.len() {
                0 => r.role = Some("*".to_string()),
                1 => {
                    let only = &r.reservations[0];
                    if only.r#type() == reservation_info::Type::Dynamic {
                        r.reservation = Some(ReservationInfo {
                            principal: only.principal.clone(),
                            labels: only.labels.clone(),
                            ..Default::default()
                        });
                    }
                    r.role = Some(only.role().to_string());
                    if format == ResourceFormat::PreReservationRefinement {
                        r.reservations.clear();
                    }
                }
                _ => {
                    if format == ResourceFormat::PreReservationRefinement {
                        return Err(ResourcesError::RefinedReservations);
                    }
                }
            }
        }
        ResourceFormat::PostReservationRefinement => {
            if !r.reservations.is_empty() {
                r.role = None;
                r.reservation = None;
                return Ok(());
            }
            let role = r.role.take().unwrap_or_else(|| "*".to_string());
            let pre = r.reservation.take();
            if role == "*" {
                return Ok(());
            }
            // A pre-refinement `reservation` (even an empty one) marks a dynamic reservation.
            let dynamic = pre.is_some();
            let mut layer = pre.unwrap_or_default();
            layer.r#type = Some(if dynamic {
                reservation_info::Type::Dynamic as i32
            } else {
                reservation_info::Type::Static as i32
            });
            layer.role = Some(role);
            r.reservations.push(layer);
        }
    }
    Ok(())
}

/// Converts every resource; stops at the first failure.
pub fn convert_resources_format(
    rs: &mut [v1::Resource],
    format: ResourceFormat,
) -> Result<(), ResourcesError> {
    rs.iter_mut()
        .try_for_each(|r| convert_resource_format(r, format))
}

//! Offer operations with feedback (Mesos 1.8): builders for RESERVE, UNRESERVE, CREATE,
//! DESTROY, GROW_VOLUME and SHRINK_VOLUME that carry an operation `id`, helpers that turn
//! offered resources into reservations and persistent volumes, and [`OperationUpdate`],
//! a typed view of an `UPDATE_OPERATION_STATUS` event.
//!
//! ```text
//!  ACCEPT [reserve("r1", …), create("v1", …)]  ──▶ master ──▶ agent
//!  UPDATE_OPERATION_STATUS {r1 FINISHED, uuid} ◀── master ◀── agent
//!  Client::acknowledge_operation_update(status) ──▶ master ──▶ agent
//! ```
//! Only operations with an `id` get events; the master answers an invalid one at once with
//! OPERATION_ERROR (no uuid, nothing to acknowledge). [`crate::scheduler::Client`] has the
//! calls: `acknowledge_operation_status`, `acknowledge_operation_update` and
//! `reconcile_operations` (answers arrive as events without uuid).

use mesos_protos::v1;
use mesos_protos::v1::offer::operation::{self as op, Type as OpType};
use mesos_protos::v1::resource::{disk_info, reservation_info, DiskInfo, ReservationInfo};
use mesos_protos::v1::scheduler::{event, Event};
use mesos_protos::v1::{OperationState, OperationStatus};

/// True for states after which an operation changes no more.
pub fn is_terminal(state: OperationState) -> bool {
    matches!(
        state,
        OperationState::OperationFinished
            | OperationState::OperationFailed
            | OperationState::OperationError
            | OperationState::OperationDropped
            | OperationState::OperationGoneByOperator
    )
}

/// A typed `UPDATE_OPERATION_STATUS` event.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationUpdate {
    /// The id the framework gave the operation (absent only in odd master answers).
    pub operation_id: Option<String>,
    /// The new state.
    pub state: OperationState,
    /// Why (set for ERROR, FAILED and most master-made answers).
    pub message: Option<String>,
    /// The agent the operation is on, if known.
    pub agent_id: Option<String>,
    /// The status uuid: present iff the update must be acknowledged.
    pub uuid: Option<Vec<u8>>,
    /// The whole status, for [`crate::scheduler::Client::acknowledge_operation_update`].
    pub status: OperationStatus,
}

impl OperationUpdate {
    /// Reads an `UPDATE_OPERATION_STATUS` event (`None` for any other event).
    pub fn from_event(e: &Event) -> Option<OperationUpdate> {
        if e.r#type != Some(event::Type::UpdateOperationStatus as i32) {
            return None;
        }
        e.update_operation_status
            .as_ref()
            .map(|u| OperationUpdate::from_status(&u.status))
    }

    /// The typed view of a status.
    pub fn from_status(status: &OperationStatus) -> OperationUpdate {
        OperationUpdate {
            operation_id: status.operation_id.as_ref().map(|i| i.value.clone()),
            state: status.state(),
            message: status.message.clone(),
            agent_id: status.agent_id.as_ref().map(|a| a.value.clone()),
            uuid: status.uuid.as_ref().map(|u| u.value.clone()),
            status: status.clone(),
        }
    }

    /// True if the operation will not change any more.
    pub fn is_terminal(&self) -> bool {
        is_terminal(self.state)
    }

    /// True if the framework must acknowledge this update (it carries a uuid).
    pub fn needs_acknowledgement(&self) -> bool {
        self.uuid.is_some()
    }
}

fn with_id(t: OpType, id: &str) -> v1::offer::Operation {
    v1::offer::Operation {
        r#type: Some(t as i32),
        id: Some(v1::OperationId { value: id.into() }),
        ..Default::default()
    }
}

/// RESERVE `resources` (each already carrying its new reservation layer), asking for
/// feedback under `id`.
pub fn reserve(id: &str, resources: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = with_id(OpType::Reserve, id);
    o.reserve = Some(op::Reserve { resources });
    o
}

/// UNRESERVE `resources` (as offered, reservation included).
pub fn unreserve(id: &str, resources: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = with_id(OpType::Unreserve, id);
    o.unreserve = Some(op::Unreserve { resources });
    o
}

/// CREATE persistent `volumes` (see [`persistent_volume`]).
pub fn create(id: &str, volumes: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = with_id(OpType::Create, id);
    o.create = Some(op::Create { volumes });
    o
}

/// DESTROY persistent `volumes` (as offered).
pub fn destroy(id: &str, volumes: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = with_id(OpType::Destroy, id);
    o.destroy = Some(op::Destroy { volumes });
    o
}

/// GROW_VOLUME: adds `addition` (reserved disk like the volume's) to `volume`.
pub fn grow_volume(id: &str, volume: v1::Resource, addition: v1::Resource) -> v1::offer::Operation {
    let mut o = with_id(OpType::GrowVolume, id);
    o.grow_volume = Some(op::GrowVolume { volume, addition });
    o
}

/// SHRINK_VOLUME: takes `subtract` (MB) off `volume`.
pub fn shrink_volume(id: &str, volume: v1::Resource, subtract: f64) -> v1::offer::Operation {
    let mut o = with_id(OpType::ShrinkVolume, id);
    o.shrink_volume = Some(op::ShrinkVolume {
        volume,
        subtract: v1::value::Scalar { value: subtract },
    });
    o
}

/// `resource` with a DYNAMIC reservation for `role` pushed on top (post-refinement form;
/// `allocation_info` is kept, as MULTI_ROLE frameworks must echo it). A resource in the
/// pre-refinement form (`role`, `reservation`) is converted first.
#[allow(deprecated)]
pub fn dynamically_reserved(
    resource: &v1::Resource,
    role: &str,
    principal: Option<&str>,
) -> v1::Resource {
    let mut r = resource.clone();
    let mut one = vec![r.clone()];
    if mesos_protos::resources::convert_resources_format(
        &mut one,
        mesos_protos::resources::ResourceFormat::PostReservationRefinement,
    )
    .is_ok()
    {
        r = one.pop().unwrap_or(r);
    }
    r.reservations.push(ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: principal.map(Into::into),
        labels: None,
    });
    r
}

/// A persistent volume made of the reserved `disk` resource: `id` unique per role on the
/// agent, mounted read-write at the relative `container_path` of tasks that use it.
pub fn persistent_volume(
    disk: &v1::Resource,
    id: &str,
    container_path: &str,
    principal: Option<&str>,
) -> v1::Resource {
    let mut v = disk.clone();
    let mut info = v.disk.take().unwrap_or_default();
    info.persistence = Some(disk_info::Persistence {
        id: id.into(),
        principal: principal.map(Into::into),
    });
    info.volume = Some(v1::Volume {
        container_path: container_path.into(),
        mode: v1::volume::Mode::Rw as i32,
        ..Default::default()
    });
    v.disk = Some(DiskInfo { ..info });
    v
}

/// A scalar resource as offered to `role` (for building operations in tests and examples).
pub fn scalar(name: &str, amount: f64, role: &str) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: amount }),
        allocation_info: Some(v1::resource::AllocationInfo {
            role: Some(role.into()),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_carry_ids_and_resources() {
        let disk = dynamically_reserved(&scalar("disk", 100.0, "web"), "web", Some("p"));
        assert_eq!(disk.reservations.len(), 1);
        assert_eq!(disk.reservations[0].role(), "web");
        assert_eq!(disk.allocation_info.as_ref().unwrap().role(), "web");
        let vol = persistent_volume(&disk, "v", "data", Some("p"));
        let d = vol.disk.as_ref().unwrap();
        assert_eq!(d.persistence.as_ref().unwrap().id, "v");
        assert_eq!(d.volume.as_ref().unwrap().container_path, "data");
        let ops = [
            reserve("a", vec![disk.clone()]),
            create("b", vec![vol.clone()]),
            destroy("c", vec![vol.clone()]),
            unreserve("d", vec![disk.clone()]),
            grow_volume("e", vol.clone(), disk.clone()),
            shrink_volume("f", vol, 1.0),
        ];
        let ids: Vec<&str> = ops
            .iter()
            .map(|o| o.id.as_ref().unwrap().value.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e", "f"]);
        // The master accepts what the builders make (the same algebra applies them).
        let total = mesos_protos::resources::Resources::from(&scalar("disk", 100.0, "web"));
        let reserved = total.apply(&ops[0]).unwrap();
        let with_volume = reserved.apply(&ops[1]).unwrap();
        assert_eq!(with_volume.persistent_volumes().disk(), Some(100));
    }

    #[test]
    fn typed_update() {
        let e = Event {
            r#type: Some(event::Type::UpdateOperationStatus as i32),
            update_operation_status: Some(event::UpdateOperationStatus {
                status: OperationStatus {
                    operation_id: Some(v1::OperationId { value: "x".into() }),
                    state: OperationState::OperationError as i32,
                    message: Some("bad".into()),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        let u = OperationUpdate::from_event(&e).unwrap();
        assert_eq!(u.operation_id.as_deref(), Some("x"));
        assert!(u.is_terminal() && !u.needs_acknowledgement());
        assert!(OperationUpdate::from_event(&Event::default()).is_none());
    }
}

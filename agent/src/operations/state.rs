//! The agent's checkpointed resources and operations.
//!
//! `meta/resources/resources_and_operations.state` holds Mesos's `ResourceState` (the
//! resources that need checkpointing — dynamic reservations and persistent volumes — and
//! the operations whose terminal status is not yet acknowledged) and is the commit point
//! of an operation. `meta/resources/resources.info` holds the resources whose volume
//! folders were last brought in line (length-prefixed `Resource` records, as Mesos
//! writes them); when the two differ after a crash, recovery finishes the sync.

use std::path::Path;

use mesos_protos::resources::{
    convert_resources_format, strip_volume, ResourceFormat, ResourceRef, Resources,
};
use mesos_protos::v1;

use crate::checkpoint::{self, CheckpointError};
use crate::paths::Layout;

/// Mesos's `mesos.internal.slave.ResourceState` (field numbers as in Mesos).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceState {
    /// Operations on agent default resources whose terminal status is unacknowledged.
    #[prost(message, repeated, tag = "1")]
    pub operations: Vec<v1::Operation>,
    /// The checkpointed resources (dynamic reservations and persistent volumes).
    #[prost(message, repeated, tag = "2")]
    pub resources: Vec<v1::Resource>,
}

/// True for resources the agent must checkpoint: dynamic reservations and persistent
/// volumes on its default resources.
pub fn needs_checkpointing(r: ResourceRef<'_>) -> bool {
    (r.is_dynamically_reserved() || r.is_persistent_volume()) && r.provider_id().is_none()
}

/// Resources from the wire in either reservation format, as `Resources`.
pub fn from_wire(resources: &[v1::Resource]) -> Result<Resources, String> {
    let mut rs = resources.to_vec();
    convert_resources_format(&mut rs, ResourceFormat::PostReservationRefinement)
        .map_err(|e| e.to_string())?;
    Ok(Resources::from(rs))
}

/// The agent's total: its `--resources` with each checkpointed resource put in place of
/// the plain resource it was made from (Mesos's `applyCheckpointedResources`).
pub fn apply_checkpointed(flag: &Resources, checkpointed: &Resources) -> Result<Resources, String> {
    let mut total = flag.clone();
    for r in checkpointed.iter() {
        let resource = r.to_proto();
        if r.provider_id().is_some() {
            return Err(format!(
                "checkpointed resource {} belongs to a resource provider",
                Resources::from(&resource)
            ));
        }
        let mut stripped = strip_volume(&resource);
        if r.is_dynamically_reserved() {
            stripped.reservations.pop();
        }
        let stripped = Resources::from(&stripped);
        if !total.contains(&stripped) {
            return Err(format!(
                "incompatible agent resources: {total} does not contain {stripped} (checkpointed {})",
                Resources::from(&resource)
            ));
        }
        total -= &stripped;
        total += &Resources::from(&resource);
    }
    Ok(total)
}

/// Reads the checkpointed state: the state file, else (an agent that only ever got
/// `CheckpointResourcesMessage` from an older layout) `resources.info`.
pub fn read_state(layout: &Layout) -> Result<Option<ResourceState>, CheckpointError> {
    if let Some(s) = checkpoint::read_message::<ResourceState>(&layout.resource_state_file())? {
        return Ok(Some(s));
    }
    Ok(read_resources_info(layout)?.map(|resources| ResourceState {
        operations: Vec::new(),
        resources,
    }))
}

/// Commits the state (atomic write).
pub fn write_state(layout: &Layout, state: &ResourceState) -> Result<(), CheckpointError> {
    checkpoint::write_message(&layout.resource_state_file(), state)
}

/// The resources whose volume folders were last synced, if recorded.
pub fn read_resources_info(layout: &Layout) -> Result<Option<Vec<v1::Resource>>, CheckpointError> {
    let path = layout.resources_info_file();
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(
        checkpoint::read_records::<v1::Resource>(&path)?.records,
    ))
}

/// Records `resources` as synced: written to `resources.target`, then renamed over
/// `resources.info`.
pub fn write_resources_info(
    layout: &Layout,
    resources: &[v1::Resource],
) -> Result<(), CheckpointError> {
    let mut bytes = Vec::new();
    for r in resources {
        let body = prost::Message::encode_to_vec(r);
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
    }
    let target = layout.resources_target_file();
    checkpoint::write_atomic(&target, &bytes)?;
    let info = layout.resources_info_file();
    std::fs::rename(&target, &info).map_err(|source| CheckpointError::Io { path: info, source })
}

/// Removes an operation's stream folder (its terminal update was acknowledged).
pub fn remove_operation_dir(updates_file: &Path) {
    if let Some(dir) = updates_file.parent() {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("removing '{}': {e}", dir.display());
            }
        }
    }
}

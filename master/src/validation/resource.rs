//! Rules on resource lists used by tasks and executors.

use std::collections::{HashMap, HashSet};

use mesos_protos::resources::{self, Resources};
use mesos_protos::v1;

use super::{Invalid, Result};

/// Mesos's general resource validation (`resource::validate`).
pub fn validate(list: &[v1::Resource]) -> Result {
    resources::validation::validate_resources(list)
        .map_err(|e| Invalid::new(format!("Invalid resources: {}", e.message())))
}

/// Persistence ids must be unique per reservation role.
pub fn unique_persistence_ids(r: &Resources) -> Result {
    let mut seen: HashMap<String, HashSet<String>> = HashMap::new();
    for entry in r.iter().filter(|e| e.is_persistent_volume()) {
        let role = entry.reservation_role().unwrap_or("*").to_owned();
        let id = entry
            .disk()
            .and_then(|d| d.persistence.as_ref())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        if !seen.entry(role).or_default().insert(id.clone()) {
            return Err(Invalid::new(format!("Persistence ID '{id}' is not unique")));
        }
    }
    Ok(())
}

/// All resources must carry the same `allocation_info.role`.
pub fn allocated_to_single_role(r: &Resources) -> Result {
    let mut role: Option<&str> = None;
    for entry in r.iter() {
        let Some(this) = entry.allocation_role() else {
            return Err(Invalid::new("The resources are not allocated to a role"));
        };
        match role {
            None => role = Some(this),
            Some(first) if first != this => {
                return Err(Invalid::new(format!(
                    "The resources have multiple allocation roles ('{this}' and '{first}') \
                     but only one allocation role is allowed"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A resource name may not be used both revocable and non-revocable.
pub fn revocable_and_non_revocable(r: &Resources) -> Result {
    let mut revocable: HashMap<&str, (bool, bool)> = HashMap::new();
    for entry in r.iter() {
        let flags = revocable.entry(entry.name()).or_default();
        if entry.is_revocable() {
            flags.0 = true;
        } else {
            flags.1 = true;
        }
    }
    let mut names: Vec<_> = revocable
        .into_iter()
        .filter(|(_, (rev, non))| *rev && *non)
        .map(|(n, _)| n)
        .collect();
    names.sort_unstable();
    match names.first() {
        Some(name) => Err(Invalid::new(format!(
            "Cannot use both revocable and non-revocable '{name}' at the same time"
        ))),
        None => Ok(()),
    }
}

/// Whether ranges or sets of the two lists overlap (a port used by task and executor).
pub fn overlapping_ranges_or_sets(a: &Resources, b: &Resources) -> bool {
    for name in a.names() {
        if let (Some(x), Some(y)) = (a.get_ranges(&name), b.get_ranges(&name)) {
            if x.intersects(&y) {
                return true;
            }
        }
        if let (Some(x), Some(y)) = (a.get_set(&name), b.get_set(&name)) {
            if x.items().iter().any(|i| y.items().contains(i)) {
                return true;
            }
        }
    }
    false
}

/// Mesos's text form of a resource list, for error messages.
pub fn describe(r: &Resources) -> String {
    r.to_string()
}

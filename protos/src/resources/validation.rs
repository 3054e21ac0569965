//! Validation of single resources, lists of resources and role names, with Mesos's error
//! texts (frameworks and operators see them in HTTP answers, so they match Mesos's).

use super::text::DisplayResource;
use super::ResourcesError;
use crate::v1;
use crate::v1::resource::{disk_info, reservation_info};

/// Characters a role component may not contain (whitespace, backslash, control chars).
fn invalid_role_char(c: char) -> bool {
    c.is_whitespace() || c == '\\' || c.is_control()
}

/// Checks a role name (`*`, or `/`-separated components) as Mesos does.
pub fn validate_role(role: &str) -> Result<(), ResourcesError> {
    let err = |m: String| Err(ResourcesError::Invalid(m));
    if role == "*" {
        return Ok(());
    }
    if role.starts_with('/') {
        return err(format!("Role '{role}' cannot start with a slash"));
    }
    if role.ends_with('/') {
        return err(format!("Role '{role}' cannot end with a slash"));
    }
    if role.contains("//") {
        return err(format!("Role '{role}' cannot contain two adjacent slashes"));
    }
    if role.is_empty() {
        return err("Role names cannot be the empty string".to_string());
    }
    for component in role.split('/') {
        match component {
            "." => return err(format!("Role '{role}' cannot include '.' as a component")),
            ".." => return err(format!("Role '{role}' cannot include '..' as a component")),
            "*" => return err(format!("Role '{role}' cannot include '*' as a component")),
            _ => {}
        }
        if component.starts_with('-') {
            return err(format!(
                "Role component '{component}' is invalid because it starts with a dash"
            ));
        }
        if component.chars().any(invalid_role_char) {
            return err(format!(
                "Role component '{component}' is invalid because it contains backspace or whitespace"
            ));
        }
    }
    Ok(())
}

/// True if `child` is strictly below `parent` in the role tree (`a/b` below `a`).
pub fn is_strict_subrole_of(child: &str, parent: &str) -> bool {
    child.len() > parent.len() + 1
        && child.starts_with(parent)
        && child.as_bytes()[parent.len()] == b'/'
}

/// Checks a scalar given by a user (no infinities, NaN, subnormals or negatives).
pub fn validate_input_scalar_value(value: f64) -> Result<(), ResourcesError> {
    let msg = if value.is_infinite() {
        "Infinite values not supported"
    } else if value.is_nan() {
        "NaN not supported"
    } else if value.is_subnormal() {
        "Subnormal values not supported"
    } else if value < 0.0 {
        "Negative values not supported"
    } else {
        return Ok(());
    };
    Err(ResourcesError::Invalid(msg.to_string()))
}

/// Validates one resource in either reservation format (Mesos's `Resources::validate`).
pub fn validate_resource(resource: &v1::Resource) -> Result<(), ResourcesError> {
    validate_value(resource)?;
    validate_disk(resource)?;
    validate_reservations(resource)?;
    if resource.shared.is_some() {
        if resource.name != "disk" {
            return invalid(format!("Resource {} cannot be shared", resource.name));
        }
        if resource
            .disk
            .as_ref()
            .is_none_or(|d| d.persistence.is_none())
        {
            return invalid("Only persistent volumes can be shared");
        }
    }
    Ok(())
}

/// Validates every resource; the error names the first bad one.
pub fn validate_resources(resources: &[v1::Resource]) -> Result<(), ResourcesError> {
    for r in resources {
        if let Err(e) = validate_resource(r) {
            return invalid(format!(
                "Resource '{}' is invalid: {}",
                DisplayResource(r),
                e.message()
            ));
        }
    }
    Ok(())
}

/// Extra rules for resources given on a command line (`--resources`).
pub fn validate_command_line_resources(resources: &[v1::Resource]) -> Result<(), ResourcesError> {
    let mut seen: Vec<(&str, i32)> = Vec::new();
    for r in resources {
        if r.disk.as_ref().is_some_and(|d| d.persistence.is_some()) {
            return invalid("Persistent volumes cannot be specified at the command line");
        }
        if r.revocable.is_some() {
            return invalid(
                "Revocable resources cannot be specified at the command line; do not include a \
                 'revocable' key in the resources JSON",
            );
        }
        if r.reservations
            .last()
            .is_some_and(|x| x.r#type() == reservation_info::Type::Dynamic)
        {
            return invalid(
                "Dynamic reservations cannot be specified at the command line; do not include a \
                 reservation with DYNAMIC type in the resources JSON",
            );
        }
        match seen.iter().find(|(n, _)| *n == r.name) {
            Some((_, t)) if *t != r.r#type => {
                return invalid(format!(
                    "Resources with the same name ('{}') but different types are not allowed",
                    r.name
                ));
            }
            Some(_) => {}
            None => seen.push((&r.name, r.r#type)),
        }
    }
    Ok(())
}

fn invalid<T>(m: impl Into<String>) -> Result<T, ResourcesError> {
    Err(ResourcesError::Invalid(m.into()))
}

fn validate_value(r: &v1::Resource) -> Result<(), ResourcesError> {
    if r.name.is_empty() {
        return invalid("Empty resource name");
    }
    let Ok(vtype) = v1::value::Type::try_from(r.r#type) else {
        return invalid("Invalid resource type");
    };
    let (sc, rg, st) = (r.scalar.is_some(), r.ranges.is_some(), r.set.is_some());
    match vtype {
        v1::value::Type::Scalar => {
            if !sc || rg || st {
                return invalid("Invalid scalar resource");
            }
            if r.scalar.as_ref().is_some_and(|s| s.value < 0.0) {
                return invalid("Invalid scalar resource: value < 0");
            }
        }
        v1::value::Type::Ranges => {
            if sc || !rg || st {
                return invalid("Invalid ranges resource");
            }
            let ranges = &r.ranges.as_ref().map_or(&[][..], |x| &x.range[..]);
            for (i, a) in ranges.iter().enumerate() {
                if a.begin > a.end {
                    return invalid("Invalid ranges resource: begin > end");
                }
                for b in &ranges[i + 1..] {
                    // Mesos's pairwise check: `b` starting inside `a`.
                    if a.begin <= b.begin && b.begin <= a.end {
                        return invalid("Invalid ranges resource: overlapping ranges");
                    }
                }
            }
            // Mesos's check is one-sided (a later range starting inside an earlier one);
            // the mirror case passes validation there and is merged, and so it is here.
        }
        v1::value::Type::Set => {
            if sc || rg || !st {
                return invalid("Invalid set resource");
            }
            let items = &r.set.as_ref().map_or(&[][..], |x| &x.item[..]);
            let mut sorted: Vec<&String> = items.iter().collect();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return invalid("Invalid set resource: duplicated elements");
            }
        }
        v1::value::Type::Text => return invalid("Unsupported resource type"),
    }
    Ok(())
}

fn validate_disk(r: &v1::Resource) -> Result<(), ResourcesError> {
    let Some(disk) = &r.disk else { return Ok(()) };
    if r.name != "disk" {
        return invalid(format!(
            "DiskInfo should not be set for {} resource",
            r.name
        ));
    }
    if let Some(source) = &disk.source {
        use disk_info::source::Type;
        match Type::try_from(source.r#type).unwrap_or(Type::Unknown) {
            Type::Path | Type::Mount => {}
            t @ (Type::Block | Type::Raw) => {
                if source.mount.is_some() {
                    return invalid(format!(
                        "Mount should not be set for {} disk source",
                        t.as_str_name()
                    ));
                }
                if source.path.is_some() {
                    return invalid(format!(
                        "Path should not be set for {} disk source",
                        t.as_str_name()
                    ));
                }
            }
            Type::Unknown => {
                return invalid(format!(
                    "Unsupported 'DiskInfo.Source.Type' in '{}'",
                    super::text::DisplaySource(source)
                ));
            }
        }
    }
    Ok(())
}

fn validate_reservations(r: &v1::Resource) -> Result<(), ResourcesError> {
    if r.reservations.is_empty() {
        // Pre-refinement format.
        validate_role(r.role())?;
        if let Some(res) = &r.reservation {
            if res.r#type.is_some() {
                return invalid(
                    "'Resource.ReservationInfo.type' must not be set for the \
                     'Resource.reservation' field",
                );
            }
            if res.role.is_some() {
                return invalid(
                    "'Resource.ReservationInfo.role' must not be set for the \
                     'Resource.reservation' field",
                );
            }
            if r.role() == "*" {
                return invalid("Invalid reservation: role \"*\" cannot be dynamically reserved");
            }
        }
        return Ok(());
    }

    for res in &r.reservations {
        if res.r#type.is_none() {
            return invalid(
                "Invalid reservation: 'Resource.ReservationInfo.type' field must be set.",
            );
        }
        if res.role.is_none() {
            return invalid(
                "Invalid reservation: 'Resource.ReservationInfo.role' field must be set.",
            );
        }
        validate_role(res.role())?;
        if res.role() == "*" {
            return invalid("Invalid reservation: role \"*\" cannot be reserved");
        }
    }
    let mut ancestor = r.reservations[0].role();
    for res in &r.reservations[1..] {
        if res.r#type() == reservation_info::Type::Static {
            return invalid("Invalid refined reservation: A refined reservation cannot be STATIC");
        }
        let descendant = res.role();
        if !is_strict_subrole_of(descendant, ancestor) {
            return invalid(format!(
                "Invalid refined reservation: role '{descendant}' is not a refinement of '{ancestor}'"
            ));
        }
        ancestor = descendant;
    }

    if r.reservations.len() == 1 {
        let only = &r.reservations[0];
        if let Some(role) = &r.role {
            if role != only.role() {
                return invalid(format!(
                    "Invalid resource format: 'Resource.role' field with '{role}' does not match \
                     the role '{}' in 'Resource.reservations'",
                    only.role()
                ));
            }
        }
        match only.r#type() {
            reservation_info::Type::Static => {
                if r.reservation.is_some() {
                    return invalid(
                        "Invalid resource format: 'Resource.reservation' must not be set if the \
                         single reservation in 'Resource.reservations' is STATIC",
                    );
                }
            }
            reservation_info::Type::Dynamic => {
                if r.role.is_some() != r.reservation.is_some() {
                    return invalid(
                        "Invalid resource format: 'Resource.role' and 'Resource.reservation' \
                         must either be both set or both not set if the single reservation in \
                         'Resource.reservations' is DYNAMIC",
                    );
                }
                if let Some(pre) = &r.reservation {
                    if pre.principal() != only.principal() {
                        return invalid(format!(
                            "Invalid resource format: 'Resource.reservation.principal' field \
                             with '{}' does not match the principal '{}' in \
                             'Resource.reservations'",
                            pre.principal(),
                            only.principal()
                        ));
                    }
                    let empty = v1::Labels::default();
                    let (a, b) = (
                        pre.labels.as_ref().unwrap_or(&empty),
                        only.labels.as_ref().unwrap_or(&empty),
                    );
                    if !super::entry::labels_eq(a, b) {
                        return invalid(format!(
                            "Invalid resource format: 'Resource.reservation.labels' field with \
                             '{}' does not match the labels '{}' in 'Resource.reservations'",
                            super::text::DisplayLabels(a),
                            super::text::DisplayLabels(b)
                        ));
                    }
                }
            }
            reservation_info::Type::Unknown => {
                return invalid("Unsupported 'Resource.ReservationInfo.Type'");
            }
        }
    } else {
        if r.role.is_some() {
            return invalid(
                "Invalid resource format: 'Resource.role' must not be set if there is more than \
                 one reservation in 'Resource.reservations'",
            );
        }
        if r.reservation.is_some() {
            return invalid(
                "Invalid resource format: 'Resource.reservation' must not be set if there is \
                 more than one reservation in 'Resource.reservations'",
            );
        }
    }
    Ok(())
}

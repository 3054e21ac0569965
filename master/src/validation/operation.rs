//! Validation of the non-launch offer operations (RESERVE, UNRESERVE, CREATE, DESTROY,
//! GROW_VOLUME, SHRINK_VOLUME), from a framework's ACCEPT or an operator call, following
//! Mesos 1.8's `validation::operation` rules. Operations must already be in
//! post-refinement form; framework operations carry `allocation_info`.

use mesos_protos::resources::{self, Resources};
use mesos_protos::v1;
use mesos_protos::v1::agent_info::capability::Type as AgentCapability;
use mesos_protos::v1::framework_info::capability::Type as FrameworkCapability;
use mesos_protos::v1::offer::operation::Type as OpType;

use super::resource;
use super::{Invalid, Result};
use crate::state::{Agent, Framework};

/// Who asks and where: what operation validation looks at.
#[derive(Clone, Copy)]
pub struct OperationContext<'a> {
    /// The agent the operation is for.
    pub agent: &'a Agent,
    /// The framework, for ACCEPT (`None` for operator calls).
    pub framework: Option<&'a Framework>,
    /// The principal asking (the framework's or the operator's), if any.
    pub principal: Option<&'a str>,
}

fn agent_has(agent: &Agent, c: AgentCapability) -> bool {
    agent
        .capabilities
        .iter()
        .any(|x| x.r#type == Some(c as i32))
}

fn show(r: &v1::Resource) -> String {
    resources::text::DisplayResource(r).to_string()
}

/// Validates one operation; the first failing rule's text is returned.
pub fn validate_operation(op: &v1::offer::Operation, cx: &OperationContext<'_>) -> Result {
    match op.r#type() {
        OpType::Reserve => {
            let Some(r) = &op.reserve else {
                return Err(Invalid::new("Expecting 'reserve' to be present"));
            };
            validate_reserve(&r.resources, cx)
        }
        OpType::Unreserve => {
            let Some(u) = &op.unreserve else {
                return Err(Invalid::new("Expecting 'unreserve' to be present"));
            };
            validate_unreserve(&u.resources, cx)
        }
        OpType::Create => {
            let Some(c) = &op.create else {
                return Err(Invalid::new("Expecting 'create' to be present"));
            };
            validate_create(&c.volumes, cx)
        }
        OpType::Destroy => {
            let Some(d) = &op.destroy else {
                return Err(Invalid::new("Expecting 'destroy' to be present"));
            };
            validate_destroy(&d.volumes, cx)
        }
        OpType::GrowVolume => {
            let Some(g) = &op.grow_volume else {
                return Err(Invalid::new("Expecting 'grow_volume' to be present"));
            };
            validate_grow(g, cx)
        }
        OpType::ShrinkVolume => {
            let Some(s) = &op.shrink_volume else {
                return Err(Invalid::new("Expecting 'shrink_volume' to be present"));
            };
            validate_shrink(s, cx)
        }
        other => Err(Invalid::new(format!(
            "Operation type {} is not supported on agent default resources",
            resources::operation_type_name(other)
        ))),
    }
}

/// Rules on disk details every listed resource follows (Mesos's `validateDiskInfo`, as
/// part of `resource::validate`): volumes only on reserved disk, valid persistence ids,
/// and (ours) a relative `container_path`.
fn validate_resources(list: &[v1::Resource]) -> Result {
    resource::validate(list)?;
    for r in list {
        let Some(p) = r.disk.as_ref().and_then(|d| d.persistence.as_ref()) else {
            continue;
        };
        let bad = |m: String| {
            Err(Invalid::new(format!(
                "Invalid resources: Invalid DiskInfo: {m}"
            )))
        };
        if resources::is_unreserved(r) {
            return bad("Persistent volumes cannot be created from unreserved resources.".into());
        }
        if p.id.is_empty()
            || p.id == "."
            || p.id == ".."
            || p.id.contains('/')
            || p.id.contains('\0')
        {
            return bad(format!(
                "Invalid persistence ID for persistent volume: '{}' is not a valid ID",
                p.id
            ));
        }
        let path = r
            .disk
            .as_ref()
            .and_then(|d| d.volume.as_ref())
            .map(|v| v.container_path.as_str());
        if let Some(path) = path {
            if path.is_empty() || path.starts_with('/') {
                return bad(format!(
                    "Container path '{path}' of persistent volume must be a relative path"
                ));
            }
        }
    }
    Ok(())
}

/// Every listed resource is a persistent volume (Mesos's `validatePersistentVolume`).
fn persistent_volumes(list: &[v1::Resource]) -> Result {
    for v in list {
        let Some(disk) = &v.disk else {
            return Err(Invalid::new(format!(
                "Resource {} does not have DiskInfo",
                show(v)
            )));
        };
        if disk.persistence.is_none() {
            return Err(Invalid::new("'persistence' is not set in DiskInfo"));
        }
        let Some(volume) = &disk.volume else {
            return Err(Invalid::new(
                "Expecting 'volume' to be set for persistent volume",
            ));
        };
        if volume.mode() == v1::volume::Mode::Ro {
            return Err(Invalid::new("Read-only persistent volume not supported"));
        }
    }
    Ok(())
}

/// Framework operations use resources allocated to one role.
fn single_allocation_role(list: &[v1::Resource], what: &str) -> Result {
    let mut role: Option<&str> = None;
    for r in list {
        let Some(this) = r.allocation_info.as_ref().and_then(|a| a.role.as_deref()) else {
            return Err(Invalid::new(format!(
                "Invalid {what} resources: The resources are not allocated to a role"
            )));
        };
        match role {
            None => role = Some(this),
            Some(first) if first != this => {
                return Err(Invalid::new(format!(
                    "Invalid {what} resources: The resources have multiple allocation roles \
                     ('{this}' and '{first}') but only one allocation role is allowed"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn roles_text(fw: &Framework) -> String {
    fw.roles().join(",")
}

fn validate_reserve(list: &[v1::Resource], cx: &OperationContext<'_>) -> Result {
    validate_resources(list)?;
    for r in list {
        if !resources::is_dynamically_reserved(r) {
            return Err(Invalid::new(format!(
                "Resource {} is not dynamically reserved",
                show(r)
            )));
        }
        let reserve_role = resources::reservation_role(r).unwrap_or("*");
        if !agent_has(cx.agent, AgentCapability::HierarchicalRole) && reserve_role.contains('/') {
            return Err(Invalid::new(format!(
                "Resource {} with reservation for hierarchical role '{reserve_role}' cannot be \
                 reserved on an agent without HIERARCHICAL_ROLE capability",
                show(r)
            )));
        }
        if r.reservations.len() > 1 && !agent_has(cx.agent, AgentCapability::ReservationRefinement)
        {
            return Err(Invalid::new(format!(
                "Resource {} with reservation refinement cannot be reserved on an agent without \
                 RESERVATION_REFINEMENT capability",
                show(r)
            )));
        }
        if let Some(p) = cx.principal {
            match r.reservations.last().and_then(|l| l.principal.as_deref()) {
                None => {
                    return Err(Invalid::new(format!(
                        "A reserve operation was attempted by principal '{p}', but there is a \
                         reserved resource in the request with no principal set"
                    )))
                }
                Some(q) if q != p => {
                    return Err(Invalid::new(format!(
                        "A reserve operation was attempted by authenticated principal '{p}', \
                         which does not match a reserved resource in the request with \
                         principal '{q}'"
                    )))
                }
                Some(_) => {}
            }
        }
        let alloc = r.allocation_info.as_ref().and_then(|a| a.role.as_deref());
        match cx.framework {
            Some(fw) => {
                let Some(alloc) = alloc else {
                    return Err(Invalid::new(format!(
                        "A reserve operation was attempted on unallocated resource {}, but \
                         frameworks can only perform reservations on allocated resources",
                        show(r)
                    )));
                };
                if alloc != reserve_role {
                    return Err(Invalid::new(format!(
                        "A reserve operation was attempted for a resource with role \
                         '{reserve_role}', but the resource was allocated to role '{alloc}'"
                    )));
                }
                if !fw.roles().iter().any(|x| x == alloc) {
                    return Err(Invalid::new(format!(
                        "A reserve operation was attempted for a resource allocated to role \
                         '{alloc}', but the framework only has roles '{}'",
                        roles_text(fw)
                    )));
                }
            }
            None => {
                if alloc.is_some() || r.allocation_info.is_some() {
                    return Err(Invalid::new(
                        "A reserve operation was attempted with an allocated resource, but the \
                         operator API only allows reservations to be made to unallocated \
                         resources",
                    ));
                }
            }
        }
    }
    if cx.framework.is_some() {
        single_allocation_role(list, "reservation")?;
    }
    Ok(())
}

fn validate_unreserve(list: &[v1::Resource], _cx: &OperationContext<'_>) -> Result {
    validate_resources(list)?;
    for r in list {
        if !resources::is_dynamically_reserved(r) {
            return Err(Invalid::new(format!(
                "Resource {} is not dynamically reserved",
                show(r)
            )));
        }
        if resources::is_persistent_volume(r) {
            return Err(Invalid::new(format!(
                "A dynamically reserved persistent volume {} cannot be unreserved directly. \
                 Please destroy the persistent volume first then unreserve the resource",
                show(r)
            )));
        }
    }
    Ok(())
}

fn validate_create(volumes: &[v1::Resource], cx: &OperationContext<'_>) -> Result {
    validate_resources(volumes)?;
    persistent_volumes(volumes).map_err(|e| e.context("Not a persistent volume: "))?;
    // Persistence ids are unique per role on the agent, counting existing volumes.
    let mut all = cx.agent.total.persistent_volumes();
    all.unallocate();
    let mut new = Resources::from_resources(volumes);
    new.unallocate();
    resource::unique_persistence_ids(&(all + new))?;
    for v in volumes {
        if let Some(fw) = cx.framework {
            if v.shared.is_some() && !fw.has_capability(FrameworkCapability::SharedResources) {
                return Err(Invalid::new(format!(
                    "Create volume operation for '{}' has been attempted by framework '{}' with \
                     no SHARED_RESOURCES capability",
                    show(v),
                    fw.id
                )));
            }
        }
        let role = resources::reservation_role(v).unwrap_or("*");
        if !agent_has(cx.agent, AgentCapability::HierarchicalRole) && role.contains('/') {
            return Err(Invalid::new(format!(
                "Volume {} with reservation for hierarchical role '{role}' cannot be created on \
                 an agent without HIERARCHICAL_ROLE capability",
                show(v)
            )));
        }
        if v.reservations.len() > 1 && !agent_has(cx.agent, AgentCapability::ReservationRefinement)
        {
            return Err(Invalid::new(format!(
                "Volume {} with reservation refinement cannot be created on an agent without \
                 RESERVATION_REFINEMENT capability",
                show(v)
            )));
        }
        if let Some(p) = cx.principal {
            let theirs = v
                .disk
                .as_ref()
                .and_then(|d| d.persistence.as_ref())
                .and_then(|x| x.principal.as_deref());
            match theirs {
                None => {
                    return Err(Invalid::new(format!(
                        "Create volume operation attempted by principal '{p}', but there is a \
                         volume in the operation with no principal set in 'disk.persistence'"
                    )))
                }
                Some(q) if q != p => {
                    return Err(Invalid::new(format!(
                        "Create volume operation attempted by authenticated principal '{p}', \
                         which does not match a volume in the operation with principal '{q}' \
                         set in 'disk.persistence'"
                    )))
                }
                Some(_) => {}
            }
        }
    }
    if cx.framework.is_some() {
        single_allocation_role(volumes, "volume")?;
    }
    Ok(())
}

/// Resources of all tasks and executors on the agent, without allocation info.
fn used_on_agent(agent: &Agent) -> Resources {
    let mut used = agent.used_total();
    used.unallocate();
    used
}

fn validate_destroy(volumes: &[v1::Resource], cx: &OperationContext<'_>) -> Result {
    validate_resources(volumes)?;
    persistent_volumes(volumes).map_err(|e| e.context("Not a persistent volume: "))?;
    let mut wanted = Resources::from_resources(volumes);
    wanted.unallocate();
    for v in wanted.iter() {
        if !cx.agent.total.contains_resource(&v.to_proto()) {
            return Err(Invalid::new("Persistent volumes not found"));
        }
    }
    let used = used_on_agent(cx.agent);
    for v in wanted.iter() {
        if used.contains_resource(&v.to_proto()) {
            return Err(Invalid::new("Persistent volumes in use"));
        }
    }
    Ok(())
}

fn validate_grow(g: &v1::offer::operation::GrowVolume, cx: &OperationContext<'_>) -> Result {
    resources::validation::validate_resource(&g.volume).map_err(|e| {
        Invalid::new(format!(
            "Invalid resource in the 'GrowVolume.volume' field: {}",
            e.message()
        ))
    })?;
    resources::validation::validate_resource(&g.addition).map_err(|e| {
        Invalid::new(format!(
            "Invalid resource in the 'GrowVolume.addition' field: {}",
            e.message()
        ))
    })?;
    let addition = mesos_protos::resources::Scalar::from_f64(
        g.addition.scalar.as_ref().map_or(0.0, |s| s.value),
    );
    if addition <= mesos_protos::resources::Scalar::ZERO {
        return Err(Invalid::new(
            "The size of 'GrowVolume.addition' field must be greater than zero",
        ));
    }
    if g.volume.provider_id.is_some() {
        return Err(Invalid::new(
            "Growing a volume from a resource provider is not supported",
        ));
    }
    persistent_volumes(std::slice::from_ref(&g.volume))
        .map_err(|e| e.context("Invalid persistent volume in the 'GrowVolume.volume' field: "))?;
    if g.volume.shared.is_some() {
        return Err(Invalid::new(
            "Growing a shared persistent volume is not supported",
        ));
    }
    let merged =
        Resources::from(&resources::strip_volume(&g.volume)) + Resources::from(&g.addition);
    if merged.len() != 1 {
        return Err(Invalid::new(
            "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields",
        ));
    }
    if !agent_has(cx.agent, AgentCapability::ResizeVolume) {
        return Err(Invalid::new(format!(
            "Volume {} cannot be grown on an agent without RESIZE_VOLUME capability",
            show(&g.volume)
        )));
    }
    Ok(())
}

fn validate_shrink(s: &v1::offer::operation::ShrinkVolume, cx: &OperationContext<'_>) -> Result {
    use mesos_protos::resources::Scalar;
    resources::validation::validate_resource(&s.volume).map_err(|e| {
        Invalid::new(format!(
            "Invalid resource in the 'ShrinkVolume.volume' field: {}",
            e.message()
        ))
    })?;
    let subtract = Scalar::from_f64(s.subtract.value);
    if subtract <= Scalar::ZERO {
        return Err(Invalid::new(
            "Value of 'ShrinkVolume.subtract' must be greater than zero",
        ));
    }
    let size = Scalar::from_f64(s.volume.scalar.as_ref().map_or(0.0, |x| x.value));
    if size <= subtract {
        return Err(Invalid::new(
            "Value of 'ShrinkVolume.subtract' must be smaller than the size of \
             'ShrinkVolume.volume'",
        ));
    }
    if s.volume.provider_id.is_some() {
        return Err(Invalid::new(
            "Shrinking a volume from a resource provider is not supported",
        ));
    }
    let mounted = s
        .volume
        .disk
        .as_ref()
        .and_then(|d| d.source.as_ref())
        .is_some_and(|src| src.r#type() == v1::resource::disk_info::source::Type::Mount);
    if mounted {
        return Err(Invalid::new(
            "Shrinking a volume on a MOUNT disk is not supported",
        ));
    }
    persistent_volumes(std::slice::from_ref(&s.volume))
        .map_err(|e| e.context("Invalid persistent volume in the 'ShrinkVolume.volume' field: "))?;
    if s.volume.shared.is_some() {
        return Err(Invalid::new(
            "Shrinking a shared persistent volume is not supported",
        ));
    }
    if !agent_has(cx.agent, AgentCapability::ResizeVolume) {
        return Err(Invalid::new(format!(
            "Volume {} cannot be shrunk on an agent without RESIZE_VOLUME capability",
            show(&s.volume)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Connection, Limits};
    use mesos_protos::v1::offer::operation as op;
    use mesos_protos::v1::resource::{disk_info, AllocationInfo};

    fn agent(caps: &[AgentCapability]) -> Agent {
        let mut a = crate::testing::agent("s1", "cpus:4;mem:1024;disk:1000");
        a.capabilities = caps
            .iter()
            .map(|c| v1::agent_info::Capability {
                r#type: Some(*c as i32),
            })
            .collect();
        a
    }

    fn framework(principal: Option<&str>) -> Framework {
        let mut info = crate::testing::framework_info(
            "f",
            &[
                FrameworkCapability::MultiRole,
                FrameworkCapability::ReservationRefinement,
            ],
        );
        info.roles = vec!["web".into()];
        info.principal = principal.map(Into::into);
        Framework::new(
            "f".into(),
            info,
            Connection::Http {
                stream_id: "x".into(),
            },
            0.0,
            &Limits::default(),
        )
    }

    fn res(name: &str, v: f64, layers: &[(&str, Option<&str>)]) -> v1::Resource {
        v1::Resource {
            name: name.into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value: v }),
            allocation_info: Some(AllocationInfo {
                role: Some("web".into()),
            }),
            reservations: layers
                .iter()
                .map(|(role, principal)| v1::resource::ReservationInfo {
                    r#type: Some(v1::resource::reservation_info::Type::Dynamic as i32),
                    role: Some((*role).into()),
                    principal: principal.map(Into::into),
                    labels: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn volume(v: f64, id: &str, path: &str) -> v1::Resource {
        let mut r = res("disk", v, &[("web", Some("p"))]);
        r.disk = Some(v1::resource::DiskInfo {
            persistence: Some(disk_info::Persistence {
                id: id.into(),
                principal: Some("p".into()),
            }),
            volume: Some(v1::Volume {
                container_path: path.into(),
                mode: v1::volume::Mode::Rw as i32,
                ..Default::default()
            }),
            ..Default::default()
        });
        r
    }

    fn reserve(rs: Vec<v1::Resource>) -> v1::offer::Operation {
        v1::offer::Operation {
            r#type: Some(OpType::Reserve as i32),
            reserve: Some(op::Reserve { resources: rs }),
            ..Default::default()
        }
    }

    fn check(op: &v1::offer::Operation, a: &Agent, f: Option<&Framework>) -> Result {
        let principal = f.and_then(|f| f.info.principal.as_deref());
        validate_operation(
            op,
            &OperationContext {
                agent: a,
                framework: f,
                principal,
            },
        )
    }

    fn err(r: Result) -> String {
        r.expect_err("invalid").0
    }

    #[test]
    fn reserve_rules() {
        let a = agent(&[
            AgentCapability::ReservationRefinement,
            AgentCapability::HierarchicalRole,
        ]);
        let fw = framework(Some("p"));
        assert!(check(
            &reserve(vec![res("cpus", 1.0, &[("web", Some("p"))])]),
            &a,
            Some(&fw)
        )
        .is_ok());
        let e = err(check(&reserve(vec![res("cpus", 1.0, &[])]), &a, Some(&fw)));
        assert!(e.contains("is not dynamically reserved"), "{e}");
        let e = err(check(
            &reserve(vec![res("cpus", 1.0, &[("web", Some("q"))])]),
            &a,
            Some(&fw),
        ));
        assert!(e.contains("principal 'q'"), "{e}");
        let e = err(check(
            &reserve(vec![res("cpus", 1.0, &[("web", None)])]),
            &a,
            Some(&fw),
        ));
        assert!(e.contains("no principal"), "{e}");
        let e = err(check(
            &reserve(vec![res("cpus", 1.0, &[("db", Some("p"))])]),
            &a,
            Some(&fw),
        ));
        assert!(e.contains("allocated to role 'web'"), "{e}");
        // Refinement needs the agent capability.
        let refined = res("cpus", 1.0, &[("web", Some("p")), ("web/a", Some("p"))]);
        assert!(check(&reserve(vec![refined.clone()]), &a, Some(&fw))
            .is_err_and(|e| e.0.contains("allocated to role")));
        let bare = agent(&[AgentCapability::HierarchicalRole]);
        let mut r = refined;
        r.allocation_info = None;
        let e = err(check(&reserve(vec![r]), &bare, None));
        assert!(e.contains("RESERVATION_REFINEMENT"), "{e}");
        // Operators (no framework, no principal) only need valid reserved resources.
        let mut r = res("cpus", 1.0, &[("db", Some("admin"))]);
        r.allocation_info = None;
        assert!(check(&reserve(vec![r]), &bare, None).is_ok());
    }

    #[test]
    fn unreserve_create_destroy_rules() {
        let mut a = agent(&[]);
        let fw = framework(Some("p"));
        let unreserve_volume = v1::offer::Operation {
            r#type: Some(OpType::Unreserve as i32),
            unreserve: Some(op::Unreserve {
                resources: vec![volume(1.0, "v", "d")],
            }),
            ..Default::default()
        };
        let e = err(check(&unreserve_volume, &a, Some(&fw)));
        assert!(e.contains("cannot be unreserved"), "{e}");
        let create = |v: v1::Resource| v1::offer::Operation {
            r#type: Some(OpType::Create as i32),
            create: Some(op::Create { volumes: vec![v] }),
            ..Default::default()
        };
        assert!(check(&create(volume(10.0, "v", "data")), &a, Some(&fw)).is_ok());
        let e = err(check(&create(volume(10.0, "v", "/abs")), &a, Some(&fw)));
        assert!(e.contains("relative"), "{e}");
        let e = err(check(&create(volume(10.0, "a/b", "d")), &a, Some(&fw)));
        assert!(e.contains("not a valid ID"), "{e}");
        let mut unreserved = volume(10.0, "v", "d");
        unreserved.reservations.clear();
        let e = err(check(&create(unreserved), &a, Some(&fw)));
        assert!(e.contains("unreserved resources"), "{e}");
        // An id in use on the agent for the same role.
        let mut existing = volume(10.0, "v", "d");
        existing.allocation_info = None;
        a.total += &existing;
        let e = err(check(&create(volume(5.0, "v", "other")), &a, Some(&fw)));
        assert!(e.contains("is not unique"), "{e}");
        // DESTROY: must exist, must not be used by a task.
        let destroy = |v: v1::Resource| v1::offer::Operation {
            r#type: Some(OpType::Destroy as i32),
            destroy: Some(op::Destroy { volumes: vec![v] }),
            ..Default::default()
        };
        assert!(check(&destroy(volume(10.0, "v", "d")), &a, Some(&fw)).is_ok());
        let e = err(check(&destroy(volume(10.0, "w", "d")), &a, Some(&fw)));
        assert!(e.contains("not found"), "{e}");
        a.add_used("f", &Resources::from(&volume(10.0, "v", "d")));
        let e = err(check(&destroy(volume(10.0, "v", "d")), &a, Some(&fw)));
        assert!(e.contains("in use"), "{e}");
    }

    #[test]
    fn resize_rules() {
        let a = agent(&[AgentCapability::ResizeVolume]);
        let fw = framework(Some("p"));
        let grow = |add: v1::Resource| v1::offer::Operation {
            r#type: Some(OpType::GrowVolume as i32),
            grow_volume: Some(op::GrowVolume {
                volume: volume(10.0, "v", "d"),
                addition: add,
            }),
            ..Default::default()
        };
        assert!(check(
            &grow(res("disk", 5.0, &[("web", Some("p"))])),
            &a,
            Some(&fw)
        )
        .is_ok());
        let e = err(check(&grow(res("disk", 5.0, &[])), &a, Some(&fw)));
        assert!(e.contains("Incompatible"), "{e}");
        let e = err(check(
            &grow(res("disk", 5.0, &[("web", Some("p"))])),
            &agent(&[]),
            Some(&fw),
        ));
        assert!(e.contains("RESIZE_VOLUME"), "{e}");
        let shrink = |by: f64| v1::offer::Operation {
            r#type: Some(OpType::ShrinkVolume as i32),
            shrink_volume: Some(op::ShrinkVolume {
                volume: volume(10.0, "v", "d"),
                subtract: v1::value::Scalar { value: by },
            }),
            ..Default::default()
        };
        assert!(check(&shrink(4.0), &a, Some(&fw)).is_ok());
        assert!(err(check(&shrink(10.0), &a, Some(&fw))).contains("must be smaller"));
        assert!(err(check(&shrink(0.0), &a, Some(&fw))).contains("greater than zero"));
        let launch = v1::offer::Operation {
            r#type: Some(OpType::CreateDisk as i32),
            ..Default::default()
        };
        assert!(err(check(&launch, &a, Some(&fw))).contains("not supported"));
    }
}

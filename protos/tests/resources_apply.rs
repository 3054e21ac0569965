//! `Resources::apply` for RESERVE (with refinement), UNRESERVE, CREATE, DESTROY,
//! GROW_VOLUME and SHRINK_VOLUME: results, Mesos's errors, and properties (an operation
//! followed by its inverse gives the input back; quantities never change).

use mesos_protos::resources::{ApplyError, ResourceQuantities, Resources};
use mesos_protos::v1;
use mesos_protos::v1::offer::operation::{self as op, Type as OpType};
use mesos_protos::v1::offer::Operation;
use mesos_protos::v1::resource::{disk_info, reservation_info, DiskInfo, ReservationInfo};
use proptest::prelude::*;

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value }),
        ..Default::default()
    }
}

fn dynamic(role: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: Some("ops".into()),
        labels: None,
    }
}

fn stat(role: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(reservation_info::Type::Static as i32),
        role: Some(role.into()),
        ..Default::default()
    }
}

fn reserved(mut r: v1::Resource, stack: &[ReservationInfo]) -> v1::Resource {
    r.reservations = stack.to_vec();
    r
}

fn volume(mut disk: v1::Resource, id: &str, path: &str) -> v1::Resource {
    disk.disk = Some(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: id.into(),
            principal: Some("ops".into()),
        }),
        volume: Some(v1::Volume {
            container_path: path.into(),
            mode: v1::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        ..Default::default()
    });
    disk
}

fn reserve(rs: Vec<v1::Resource>) -> Operation {
    Operation {
        r#type: Some(OpType::Reserve as i32),
        reserve: Some(op::Reserve { resources: rs }),
        ..Default::default()
    }
}

fn unreserve(rs: Vec<v1::Resource>) -> Operation {
    Operation {
        r#type: Some(OpType::Unreserve as i32),
        unreserve: Some(op::Unreserve { resources: rs }),
        ..Default::default()
    }
}

fn create(vs: Vec<v1::Resource>) -> Operation {
    Operation {
        r#type: Some(OpType::Create as i32),
        create: Some(op::Create { volumes: vs }),
        ..Default::default()
    }
}

fn destroy(vs: Vec<v1::Resource>) -> Operation {
    Operation {
        r#type: Some(OpType::Destroy as i32),
        destroy: Some(op::Destroy { volumes: vs }),
        ..Default::default()
    }
}

fn grow(v: v1::Resource, addition: v1::Resource) -> Operation {
    Operation {
        r#type: Some(OpType::GrowVolume as i32),
        grow_volume: Some(op::GrowVolume {
            volume: v,
            addition,
        }),
        ..Default::default()
    }
}

fn shrink(v: v1::Resource, by: f64) -> Operation {
    Operation {
        r#type: Some(OpType::ShrinkVolume as i32),
        shrink_volume: Some(op::ShrinkVolume {
            volume: v,
            subtract: v1::value::Scalar { value: by },
        }),
        ..Default::default()
    }
}

fn agent() -> Resources {
    "cpus:8;mem:4096;disk:10000;ports:[31000-32000]"
        .parse()
        .unwrap()
}

#[test]
fn reserve_and_unreserve() {
    let total = agent();
    let r = reserved(scalar("cpus", 2.0), &[dynamic("web")]);
    let after = total.apply(&reserve(vec![r.clone()])).unwrap();
    assert_eq!(after.reserved("web"), Resources::from(&r));
    assert_eq!(after.unreserved().cpus(), Some(6.0));
    assert_eq!(after.quantities(), total.quantities());
    let back = after.apply(&unreserve(vec![r])).unwrap();
    assert_eq!(back, total);
}

#[test]
fn reserve_refines_an_existing_reservation() {
    let base = reserved(scalar("mem", 1024.0), &[stat("web")]);
    let total = Resources::from(&base) + &"cpus:1".parse::<Resources>().unwrap();
    let refined = reserved(scalar("mem", 512.0), &[stat("web"), dynamic("web/a")]);
    let after = total.apply(&reserve(vec![refined.clone()])).unwrap();
    assert_eq!(after.reserved("web/a"), Resources::from(&refined));
    assert_eq!(after.reserved("web").mem(), Some(512));
    // Unreserve pops just the refinement.
    let back = after.apply(&unreserve(vec![refined])).unwrap();
    assert_eq!(back, total);
}

#[test]
fn reserve_errors() {
    let total = agent();
    // An unreserved resource in RESERVE.
    let e = total
        .apply(&reserve(vec![scalar("cpus", 1.0)]))
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ApplyError::Invalid {
                kind: "RESERVE",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().starts_with("Invalid RESERVE Operation: "));
    // A refinement that is not a sub-role.
    let bad = reserved(scalar("mem", 1.0), &[stat("web"), dynamic("db")]);
    let e = total.apply(&reserve(vec![bad])).unwrap_err();
    assert!(e.to_string().contains("Invalid RESERVE Operation"), "{e}");
    // More than the agent has.
    let big = reserved(scalar("cpus", 9.0), &[dynamic("web")]);
    let e = total.apply(&reserve(vec![big])).unwrap_err();
    assert!(matches!(e, ApplyError::NotContained { .. }), "{e}");
    assert!(e.to_string().contains("does not contain"), "{e}");
    // Unreserving unreserved resources.
    let e = total
        .apply(&unreserve(vec![scalar("cpus", 1.0)]))
        .unwrap_err();
    assert!(e.to_string().contains("Invalid UNRESERVE Operation"), "{e}");
    // Unreserving what is not reserved here.
    let e = total
        .apply(&unreserve(vec![reserved(
            scalar("cpus", 1.0),
            &[dynamic("web")],
        )]))
        .unwrap_err();
    assert!(matches!(e, ApplyError::NotContained { .. }), "{e}");
}

#[test]
fn create_destroy_volume() {
    let disk = reserved(scalar("disk", 1000.0), &[dynamic("web")]);
    let total = agent().apply(&reserve(vec![disk.clone()])).unwrap();
    let v = volume(
        reserved(scalar("disk", 600.0), &[dynamic("web")]),
        "v1",
        "data",
    );
    let after = total.apply(&create(vec![v.clone()])).unwrap();
    assert_eq!(after.persistent_volumes(), Resources::from(&v));
    assert_eq!(after.quantities(), total.quantities());
    // Same id twice cannot be created from what is left (400 of disk).
    let e = after.apply(&create(vec![v.clone()])).unwrap_err();
    assert!(matches!(e, ApplyError::NotContained { .. }), "{e}");
    let back = after.apply(&destroy(vec![v.clone()])).unwrap();
    assert_eq!(back, total);
    // Destroying it again: it no longer exists.
    let e = back.apply(&destroy(vec![v])).unwrap_err();
    assert!(matches!(e, ApplyError::NotContained { .. }), "{e}");
}

#[test]
fn create_and_destroy_need_persistence() {
    let total = agent();
    let e = total
        .apply(&create(vec![reserved(
            scalar("disk", 1.0),
            &[dynamic("a")],
        )]))
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid CREATE Operation: Missing 'disk'");
    let e = total
        .apply(&destroy(vec![reserved(
            scalar("disk", 1.0),
            &[dynamic("a")],
        )]))
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid DESTROY Operation: Missing 'disk'");
    let mut no_persistence = reserved(scalar("disk", 1.0), &[dynamic("a")]);
    no_persistence.disk = Some(DiskInfo::default());
    let e = total.apply(&create(vec![no_persistence])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid CREATE Operation: Missing 'persistence'"
    );
}

#[test]
fn destroy_refuses_a_shared_volume_with_other_copies() {
    let disk = reserved(scalar("disk", 100.0), &[dynamic("web")]);
    let mut v = volume(disk.clone(), "s", "data");
    v.shared = Some(v1::resource::SharedInfo {});
    let total = Resources::from(&disk)
        .apply(&create(vec![v.clone()]))
        .unwrap();
    // Two copies held (e.g. one used by a task): destroying one copy is refused.
    let two = &total + &Resources::from(&v);
    let e = two.apply(&destroy(vec![v.clone()])).unwrap_err();
    assert!(matches!(e, ApplyError::SharedCopies(_)), "{e}");
    assert_eq!(
        total.apply(&destroy(vec![v])).unwrap(),
        Resources::from(&disk)
    );
}

#[test]
fn grow_and_shrink() {
    let disk = reserved(scalar("disk", 1000.0), &[dynamic("web")]);
    let total = Resources::from(&disk);
    let v = volume(reserved(scalar("disk", 400.0), &[dynamic("web")]), "v", "d");
    let with_volume = total.apply(&create(vec![v.clone()])).unwrap();
    let addition = reserved(scalar("disk", 100.0), &[dynamic("web")]);
    let grown = with_volume.apply(&grow(v.clone(), addition)).unwrap();
    let mut big = v.clone();
    big.scalar = Some(v1::value::Scalar { value: 500.0 });
    assert_eq!(grown.persistent_volumes(), Resources::from(&big));
    assert_eq!(grown.quantities(), total.quantities());
    let shrunk = grown.apply(&shrink(big.clone(), 100.0)).unwrap();
    assert_eq!(shrunk, with_volume);
    // Shrinking by the whole size or more is invalid.
    let e = shrunk.apply(&shrink(v.clone(), 400.0)).unwrap_err();
    assert!(
        e.to_string().starts_with("Invalid SHRINK_VOLUME Operation"),
        "{e}"
    );
    // Growing beyond what is free.
    let e = with_volume
        .apply(&grow(v, reserved(scalar("disk", 601.0), &[dynamic("web")])))
        .unwrap_err();
    assert!(matches!(e, ApplyError::NotContained { .. }), "{e}");
}

#[test]
fn launch_changes_nothing_and_unknown_is_unsupported() {
    let total = agent();
    let launch = Operation {
        r#type: Some(OpType::Launch as i32),
        launch: Some(op::Launch { task_infos: vec![] }),
        ..Default::default()
    };
    assert_eq!(total.apply(&launch).unwrap(), total);
    let e = total.apply(&Operation::default()).unwrap_err();
    assert_eq!(e, ApplyError::Unsupported("UNKNOWN".into()));
    let e = total
        .apply(&Operation {
            r#type: Some(OpType::Reserve as i32),
            ..Default::default()
        })
        .unwrap_err();
    assert!(e.to_string().contains("Invalid RESERVE Operation"));
}

#[test]
fn operations_apply_in_order_and_all_or_nothing() {
    let total = agent();
    let disk = reserved(scalar("disk", 500.0), &[dynamic("web")]);
    let v = volume(disk.clone(), "v", "data");
    let mut cs = mesos_protos::resources::resource_conversions(&reserve(vec![disk])).unwrap();
    cs.extend(mesos_protos::resources::resource_conversions(&create(vec![v.clone()])).unwrap());
    let after = total.apply_conversions(&cs).unwrap();
    assert_eq!(after.persistent_volumes(), Resources::from(&v));
    // Reversed order fails (no reserved disk to build the volume from yet).
    cs.reverse();
    assert!(total.apply_conversions(&cs).is_err());
}

fn quantities_of(r: &Resources) -> ResourceQuantities {
    r.quantities()
}

proptest! {
    /// RESERVE then UNRESERVE of any part of the unreserved cpus/mem/disk gives back the
    /// input; quantities are unchanged throughout.
    #[test]
    fn reserve_unreserve_roundtrip(
        cpus in 1u32..8000, mem in 1u32..4096, disk in 1u32..10000,
        role in prop::sample::select(vec!["a", "b", "a/b", "web"]),
    ) {
        let total = agent();
        let rs = vec![
            reserved(scalar("cpus", f64::from(cpus) / 1000.0), &[dynamic(role)]),
            reserved(scalar("mem", f64::from(mem)), &[dynamic(role)]),
            reserved(scalar("disk", f64::from(disk)), &[dynamic(role)]),
        ];
        let after = total.apply(&reserve(rs.clone())).unwrap();
        prop_assert_eq!(quantities_of(&after), quantities_of(&total));
        prop_assert_eq!(after.reserved(role), Resources::from(rs.clone()));
        let back = after.apply(&unreserve(rs)).unwrap();
        prop_assert_eq!(back, total);
    }

    /// CREATE then DESTROY, and GROW then SHRINK by the same amount, are inverses; a
    /// failing operation is reported as an error, never as a changed total.
    #[test]
    fn volume_roundtrips(size in 1u32..1000, extra in 1u32..2000, by in 1u32..1000) {
        let disk = reserved(scalar("disk", 1000.0), &[dynamic("r")]);
        let total = Resources::from(&disk) + &"cpus:1".parse::<Resources>().unwrap();
        let v = volume(reserved(scalar("disk", f64::from(size)), &[dynamic("r")]), "v", "p");
        let with_volume = total.apply(&create(vec![v.clone()])).unwrap();
        prop_assert_eq!(with_volume.apply(&destroy(vec![v.clone()])).unwrap(), total.clone());
        let addition = reserved(scalar("disk", f64::from(extra)), &[dynamic("r")]);
        match with_volume.apply(&grow(v.clone(), addition)) {
            Ok(grown) => {
                prop_assert!(size + extra <= 1000);
                prop_assert_eq!(quantities_of(&grown), quantities_of(&total));
                let mut big = v.clone();
                big.scalar = Some(v1::value::Scalar { value: f64::from(size + extra) });
                prop_assert_eq!(grown.apply(&shrink(big, f64::from(extra))).unwrap(), with_volume.clone());
            }
            Err(e) => {
                prop_assert!(size + extra > 1000);
                let not_contained = matches!(e, ApplyError::NotContained { .. });
                prop_assert!(not_contained);
            }
        }
        match with_volume.apply(&shrink(v, f64::from(by))) {
            Ok(s) => {
                prop_assert!(by < size);
                prop_assert_eq!(quantities_of(&s), quantities_of(&total));
                prop_assert_eq!(s.persistent_volumes().disk(), Some(u64::from(size - by)));
            }
            Err(e) => {
                prop_assert!(by >= size);
                let is_invalid = matches!(e, ApplyError::Invalid { .. });
                prop_assert!(is_invalid);
            }
        }
    }
}

#[test]
fn unallocated_operation_applies_to_an_agent_total() {
    let total = agent();
    let mut r = reserved(scalar("cpus", 1.0), &[dynamic("web")]);
    r.allocation_info = Some(v1::resource::AllocationInfo {
        role: Some("web".into()),
    });
    let op = reserve(vec![r]);
    assert!(
        total.apply(&op).is_err(),
        "allocated resources are not in the total"
    );
    let bare = mesos_protos::resources::unallocated_operation(&op);
    let after = total.apply(&bare).unwrap();
    assert_eq!(after.reserved("web").cpus(), Some(1.0));
    let mut g = grow(scalar("disk", 1.0), scalar("disk", 2.0));
    assert_eq!(
        mesos_protos::resources::operation_resources_mut(&mut g).len(),
        2
    );
}

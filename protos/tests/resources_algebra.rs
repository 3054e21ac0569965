//! Unit tests of the Resources algebra: scalars, ranges, sets, reservations, refinement,
//! allocation, persistent volumes, shared and revocable resources, filters.

use mesos_protos::resources::{
    convert_resource_format, ResourceFormat, ResourceQuantities, Resources, ResourcesError, Scalar,
};
use mesos_protos::v1;
use mesos_protos::v1::resource::{
    disk_info, reservation_info, AllocationInfo, DiskInfo, ReservationInfo, SharedInfo,
};

fn r(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap_or_else(|e| panic!("parsing {text}: {e}"))
}

fn scalar(name: &str, v: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: v }),
        ..Default::default()
    }
}

fn dynamic(role: &str, principal: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: Some(principal.into()),
        labels: None,
    }
}

fn volume(id: &str, size: f64, role: &str) -> v1::Resource {
    let mut d = scalar("disk", size);
    d.reservations.push(dynamic(role, "p"));
    d.disk = Some(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: id.into(),
            principal: Some("p".into()),
        }),
        volume: Some(v1::Volume {
            mode: v1::volume::Mode::Rw as i32,
            container_path: "data".into(),
            ..Default::default()
        }),
        source: None,
    });
    d
}

#[test]
fn scalars_add_subtract_with_fixed_point() {
    let a = r("cpus:0.1;mem:1024");
    let b = r("cpus:0.2;mem:512");
    let sum = &a + &b;
    assert_eq!(sum.get_scalar("cpus"), Some(Scalar::from_millis(300)));
    assert_eq!(sum.cpus(), Some(0.3));
    assert_eq!(sum.mem(), Some(1536));
    assert_eq!(&sum - &b, a);
    // 0.0001 rounds to zero and is dropped entirely.
    assert!(Resources::from(&scalar("cpus", 0.0001)).is_empty());
    // Sub-milli differences vanish: 0.1 + 0.2 is exactly 0.3.
    assert!(r("cpus:0.3").contains(&(&r("cpus:0.1") + &r("cpus:0.2"))));
}

#[test]
fn subtraction_never_goes_negative() {
    let a = r("cpus:1;mem:100;ports:[1-10];zones:{a,b}");
    let big = r("cpus:5;mem:50;ports:[5-20];zones:{b,c}");
    let d = &a - &big;
    assert_eq!(d.get_scalar("cpus"), None);
    assert_eq!(d.mem(), Some(50));
    assert_eq!(d.ports().unwrap().to_string(), "[1-4]");
    assert_eq!(d.get_set("zones").unwrap().items(), ["a"]);
}

#[test]
fn ranges_merge_and_split() {
    let a = r("ports:[31000-31010,31020-31030]");
    let b = r("ports:[31011-31019]");
    let sum = &a + &b;
    assert_eq!(sum.ports().unwrap().to_string(), "[31000-31030]");
    let split = &sum - &r("ports:[31005-31005]");
    assert_eq!(
        split.ports().unwrap().to_string(),
        "[31000-31004, 31006-31030]"
    );
    assert!(sum.contains(&r("ports:[31000-31030]")));
    assert!(!split.contains(&r("ports:[31004-31006]")));
    assert_eq!(split.quantities().get("ports"), Scalar::from_units(30));
}

#[test]
fn reservations_are_kept_apart_and_filtered() {
    let all = r("cpus:8;mem:1024;cpus(web):2;cpus(web/a):1;mem(db):64");
    assert_eq!(all.len(), 5);
    assert_eq!(all.cpus(), Some(11.0));
    assert_eq!(all.unreserved(), r("cpus:8;mem:1024"));
    assert_eq!(all.reserved("web"), r("cpus(web):2"));
    assert_eq!(all.reserved_any().len(), 3);
    // Reserved to web is allocatable to web and to its descendants, not to db.
    assert_eq!(all.allocatable_to("web/a/b").cpus(), Some(11.0));
    assert_eq!(all.allocatable_to("web").cpus(), Some(10.0));
    assert_eq!(all.allocatable_to("db").mem(), Some(1088));
    assert_eq!(all.allocatable_to("webx").cpus(), Some(8.0));
    let by_role = all.reservations();
    assert_eq!(by_role.len(), 3);
    assert_eq!(by_role["web/a"], r("cpus(web/a):1"));
    // Static cpus(web) and unreserved cpus are different kinds: subtracting one leaves the other.
    assert_eq!(
        (&all - &r("cpus:8")).get_scalar("cpus"),
        Some(Scalar::from_units(3))
    );
}

#[test]
fn reserve_and_unreserve_with_refinement() {
    let unreserved = r("cpus:4;mem:256");
    let reserved = unreserved.push_reservation(&dynamic("eng", "ops")).unwrap();
    assert!(reserved.iter().all(|x| x.reservation_role() == Some("eng")));
    assert!(reserved.iter().all(|x| x.is_dynamically_reserved()));
    // Refine to a child role.
    let refined = reserved
        .push_reservation(&dynamic("eng/ml", "ops"))
        .unwrap();
    assert!(refined.iter().all(|x| x.has_refined_reservations()));
    assert_eq!(refined.reserved("eng/ml").cpus(), Some(4.0));
    assert!(refined.reserved("eng").is_empty());
    // A refinement must descend from the current role.
    let err = reserved.push_reservation(&dynamic("ops", "x")).unwrap_err();
    assert_eq!(
        err,
        ResourcesError::Invalid(
            "Invalid refined reservation: role 'ops' is not a refinement of 'eng'".into()
        )
    );
    // A refinement cannot be STATIC.
    let mut st = dynamic("eng/x", "x");
    st.r#type = Some(reservation_info::Type::Static as i32);
    assert!(reserved.push_reservation(&st).is_err());
    // Pop back down.
    assert_eq!(refined.pop_reservation().unwrap(), reserved);
    assert_eq!(reserved.pop_reservation().unwrap(), unreserved);
    assert!(unreserved.pop_reservation().is_err());
    assert_eq!(refined.to_unreserved(), unreserved);
}

#[test]
fn allocation_info_separates_and_merges() {
    let mut a = r("cpus:1");
    a.allocate("web");
    let b = r("cpus:1");
    let both = &a + &b;
    assert_eq!(both.len(), 2, "allocated and unallocated do not merge");
    assert!(!both.contains(&r("cpus:2")));
    let mut c = both.clone();
    c.allocate("web");
    assert_eq!(c.len(), 1);
    assert_eq!(c.cpus(), Some(2.0));
    assert_eq!(c.allocations()["web"].cpus(), Some(2.0));
    c.unallocate();
    assert_eq!(c, r("cpus:2"));
    let proto = a.to_vec();
    assert_eq!(
        proto[0].allocation_info,
        Some(AllocationInfo {
            role: Some("web".into())
        })
    );
}

#[test]
fn persistent_volumes_are_not_merged() {
    let v1_ = volume("v1", 100.0, "db");
    let v2_ = volume("v2", 100.0, "db");
    let mut rs = Resources::from_resources([&v1_, &v2_]);
    rs += &Resources::from(&v1_);
    // Same id twice stays two entries: volumes are never added together.
    assert_eq!(rs.len(), 3);
    assert_eq!(rs.persistent_volumes().len(), 3);
    // Subtracting a partial volume is a no-op; the whole volume removes one copy.
    let mut partial = v1_.clone();
    partial.scalar = Some(v1::value::Scalar { value: 50.0 });
    assert_eq!(&rs - &Resources::from(&partial), rs);
    let less = &rs - &Resources::from(&v1_);
    assert_eq!(less.len(), 2);
    // contains counts volumes one by one.
    let two = Resources::from_resources([&v1_, &v1_]);
    assert!(rs.contains(&two));
    assert!(!less.contains(&two));
    assert!(less.contains_resource(&v1_));
    assert!(!less.contains_resource(&partial));
}

#[test]
fn shared_resources_are_counted() {
    let mut pv = volume("s", 10.0, "db");
    pv.shared = Some(SharedInfo {});
    let one = Resources::from(&pv);
    let two = &one + &one;
    assert_eq!(two.len(), 1);
    assert_eq!(two.count(&pv), 2);
    assert!(two.contains(&one));
    assert!(!one.contains(&two));
    assert_eq!(&two - &one, one);
    assert!((&one - &two).is_empty());
    assert_eq!(two.shared().len(), 1);
    assert!(two.non_shared().is_empty());
    assert!(two.to_string().ends_with("<2>"), "{two}");
    // Only persistent volumes may be shared.
    let mut cpus = scalar("cpus", 1.0);
    cpus.shared = Some(SharedInfo {});
    assert!(Resources::from(&cpus).is_empty());
}

#[test]
fn revocable_resources_are_separate() {
    let mut rev = scalar("cpus", 2.0);
    rev.revocable = Some(v1::resource::RevocableInfo {});
    let mut rs = r("cpus:4");
    rs += &rev;
    assert_eq!(rs.len(), 2);
    assert_eq!(rs.revocable().cpus(), Some(2.0));
    assert_eq!(rs.non_revocable().cpus(), Some(4.0));
    assert!(!rs.contains(&r("cpus:6")));
}

#[test]
fn mount_disks_are_exclusive() {
    let mut m = scalar("disk", 1000.0);
    m.disk = Some(DiskInfo {
        source: Some(disk_info::Source {
            r#type: disk_info::source::Type::Mount as i32,
            mount: Some(disk_info::source::Mount {
                root: Some("/mnt/a".into()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let rs = Resources::from(&m);
    let mut half = m.clone();
    half.scalar = Some(v1::value::Scalar { value: 500.0 });
    assert!(!rs.contains_resource(&half));
    assert_eq!(&rs - &Resources::from(&half), rs);
    assert!((&rs - &rs).is_empty());
    assert_eq!((&rs + &rs).len(), 2);
}

#[test]
#[allow(deprecated)] // `Resource.role` is the pre-refinement wire field under test.
fn pre_and_post_refinement_formats() {
    // Pre-refinement static and dynamic reservations are read into the stack.
    let mut pre_static = scalar("cpus", 1.0);
    pre_static.role = Some("web".into());
    let mut pre_dynamic = scalar("mem", 64.0);
    pre_dynamic.role = Some("web".into());
    pre_dynamic.reservation = Some(ReservationInfo {
        principal: Some("p".into()),
        ..Default::default()
    });
    let rs = Resources::from_resources([&pre_static, &pre_dynamic]);
    let post = rs.to_vec();
    assert_eq!(
        post[0].reservations[0].r#type(),
        reservation_info::Type::Static
    );
    assert_eq!(
        post[1].reservations[0].r#type(),
        reservation_info::Type::Dynamic
    );
    assert!(post
        .iter()
        .all(|x| x.role.is_none() && x.reservation.is_none()));

    // And back out for old frameworks.
    let mut down = post[1].clone();
    convert_resource_format(&mut down, ResourceFormat::PreReservationRefinement).unwrap();
    assert_eq!(down, pre_dynamic);
    let mut unres = scalar("cpus", 1.0);
    convert_resource_format(&mut unres, ResourceFormat::PreReservationRefinement).unwrap();
    assert_eq!(unres.role.as_deref(), Some("*"));
    use mesos_protos::resources::{is_dynamically_reserved, is_unreserved, reservation_role};
    assert_eq!(reservation_role(&pre_dynamic), Some("web"));
    assert_eq!(reservation_role(&post[1]), Some("web"));
    assert!(is_dynamically_reserved(&pre_dynamic) && is_dynamically_reserved(&post[1]));
    assert!(!is_dynamically_reserved(&pre_static) && !is_dynamically_reserved(&post[0]));
    assert!(is_unreserved(&unres) && is_unreserved(&scalar("cpus", 1.0)));
    let mut endpoint = post[1].clone();
    convert_resource_format(&mut endpoint, ResourceFormat::Endpoint).unwrap();
    assert_eq!(endpoint.reservations.len(), 1);
    assert_eq!(endpoint.role.as_deref(), Some("web"));

    let refined = rs
        .reserved("web")
        .push_reservation(&dynamic("web/x", "p"))
        .unwrap()
        .to_vec();
    let mut refined0 = refined[0].clone();
    assert_eq!(
        convert_resource_format(&mut refined0, ResourceFormat::PreReservationRefinement),
        Err(ResourcesError::RefinedReservations)
    );
}

#[test]
fn display_matches_mesos() {
    let mut rs = r("cpus:4;mem(web):1024.5;ports:[1-2,4-5]");
    assert_eq!(
        rs.to_string(),
        "cpus:4; mem(reservations: [(STATIC,web)]):1024.5; ports:[1-2, 4-5]"
    );
    rs.allocate("web");
    assert!(rs.to_string().starts_with("cpus(allocated: web):4"));
    let pv = Resources::from(&volume("v1", 10.0, "db"));
    assert_eq!(
        pv.to_string(),
        "disk(reservations: [(DYNAMIC,db,p)])[v1:data]:10"
    );
    assert_eq!(Resources::new().to_string(), "{}");
}

#[test]
fn quantities_and_min_allocatable() {
    let rs = r("cpus:4;mem:1024;cpus(web):2;ports:[1-10];disk:0.5");
    let q = rs.quantities();
    assert_eq!(q.to_string(), "cpus:6; disk:0.5; mem:1024; ports:10");
    assert_eq!(rs.scalar_quantities().get("ports"), Scalar::ZERO);
    let alts =
        mesos_protos::resources::parse_min_allocatable_resources("cpus:0.01|mem:32").unwrap();
    assert_eq!(alts.len(), 2);
    assert!(alts.iter().all(|a| rs.contains_quantities(a)));
    assert!(q.contains(&alts[0]));
    assert!(!r("mem:16").contains_quantities(&alts[1]));
    assert!(rs.contains_quantities(&ResourceQuantities::parse("ports:10").unwrap()));
    assert!(!rs.contains_quantities(&ResourceQuantities::parse("ports:11").unwrap()));
    let diff = &q - &ResourceQuantities::parse("cpus:10;mem:24").unwrap();
    assert_eq!(diff.to_string(), "disk:0.5; mem:1000; ports:10");
    assert_eq!(q.min(&diff).to_string(), "disk:0.5; mem:1000; ports:10");
    assert_eq!(
        mesos_protos::resources::parse_min_allocatable_resources("cpus:x").unwrap_err().to_string(),
        "Error parsing min_allocatable_resources 'cpus:x': Failed to parse 'x' to quantity: only scalar values are allowed"
    );
}

#[test]
fn shrink_to_quantities_and_limits() {
    let rs = r("cpus:4;mem:1024;cpus(web):2;ports:[1-10]");
    let target = ResourceQuantities::parse("cpus:5;mem:100;ports:20").unwrap();
    let shrunk = rs.shrink_to_quantities(&target);
    assert_eq!(shrunk, r("cpus:4;cpus(web):1;mem:100;ports:[1-10]"));
    let small_ports = ResourceQuantities::parse("ports:5").unwrap();
    assert!(
        rs.shrink_to_quantities(&small_ports).is_empty(),
        "ranges are not split"
    );
    let limits = mesos_protos::resources::ResourceLimits::parse("cpus:1").unwrap();
    assert_eq!(
        rs.shrink_to_limits(&limits),
        r("cpus:1;mem:1024;ports:[1-10]")
    );
    // Persistent volumes are indivisible.
    let pv = Resources::from(&volume("v", 100.0, "db"));
    let disk50 = ResourceQuantities::parse("disk:50").unwrap();
    assert!(pv.shrink_to_quantities(&disk50).is_empty());
    let disk100 = ResourceQuantities::parse("disk:100").unwrap();
    assert_eq!(pv.shrink_to_quantities(&disk100), pv);
}

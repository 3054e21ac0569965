//! Property tests of the Resources algebra: `(a + b) - b == a` for disjoint ranges/sets,
//! `a.contains(a)`, `a + b` contains both, subtraction never goes negative, and the text
//! and JSON forms round-trip. Ranges and sets are also checked against a naive model.

use std::collections::BTreeSet;

use mesos_protos::resources::{
    from_json, resources_to_json, Ranges, ResourceValue, Resources, Scalar, Set,
};
use mesos_protos::v1;
use mesos_protos::v1::resource::{disk_info, reservation_info, DiskInfo, ReservationInfo};
use proptest::prelude::*;

/// Which half of the value space a generator draws from, so that `a` and `b` built from
/// different sides have disjoint ranges, set items and volume ids.
#[derive(Clone, Copy)]
enum Side {
    A,
    B,
}

fn reservation_stack() -> impl Strategy<Value = Vec<ReservationInfo>> {
    let stat = |role: &str| ReservationInfo {
        r#type: Some(reservation_info::Type::Static as i32),
        role: Some(role.into()),
        ..Default::default()
    };
    let dynamic = |role: &str| ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: Some("ops".into()),
        labels: Some(v1::Labels {
            labels: vec![v1::Label {
                key: "k".into(),
                value: Some("v".into()),
            }],
        }),
    };
    prop_oneof![
        3 => Just(vec![]),
        1 => Just(vec![stat("web")]),
        1 => Just(vec![stat("db")]),
        1 => Just(vec![dynamic("web")]),
        1 => Just(vec![stat("web"), dynamic("web/a")]),
    ]
}

fn scalar_value() -> impl Strategy<Value = f64> {
    (1i64..100_000).prop_map(|m| m as f64 / 1000.0)
}

fn ranges_value(side: Side) -> impl Strategy<Value = v1::value::Ranges> {
    let base = match side {
        Side::A => 0u64,
        Side::B => 10_000,
    };
    prop::collection::btree_set(0u64..200, 1..6).prop_map(move |starts| {
        // Non-overlapping ranges of width 1..=5 from distinct starts spaced by 10.
        v1::value::Ranges {
            range: starts
                .into_iter()
                .map(|s| v1::value::Range {
                    begin: base + s * 10,
                    end: base + s * 10 + (s % 5),
                })
                .collect(),
        }
    })
}

fn set_value(side: Side) -> impl Strategy<Value = Vec<String>> {
    let prefix = match side {
        Side::A => "a",
        Side::B => "b",
    };
    prop::collection::btree_set(0u8..20, 1..5)
        .prop_map(move |s| s.into_iter().map(|i| format!("{prefix}{i}")).collect())
}

/// One valid post-refinement resource; `plain` limits it to what the text form can say.
fn resource(side: Side, plain: bool) -> impl Strategy<Value = v1::Resource> {
    let kind = 0u8..if plain { 4 } else { 6 };
    (
        kind,
        scalar_value(),
        ranges_value(side),
        set_value(side),
        reservation_stack(),
        any::<bool>(),
        0u8..4,
    )
        .prop_map(move |(kind, s, rg, st, mut stack, flag, vol)| {
            if plain {
                // Text form: unreserved or a single static reservation.
                stack.retain(|r| r.r#type() == reservation_info::Type::Static);
                stack.truncate(1);
            }
            let scalar = |name: &str| v1::Resource {
                name: name.into(),
                r#type: v1::value::Type::Scalar as i32,
                scalar: Some(v1::value::Scalar { value: s }),
                reservations: stack.clone(),
                ..Default::default()
            };
            match kind {
                0 => scalar("cpus"),
                1 => scalar("mem"),
                2 => v1::Resource {
                    name: "ports".into(),
                    r#type: v1::value::Type::Ranges as i32,
                    ranges: Some(rg),
                    reservations: stack,
                    ..Default::default()
                },
                3 => v1::Resource {
                    name: "zones".into(),
                    r#type: v1::value::Type::Set as i32,
                    set: Some(v1::value::Set { item: st }),
                    reservations: stack,
                    ..Default::default()
                },
                4 => {
                    let mut r = scalar("cpus");
                    r.revocable = flag.then_some(v1::resource::RevocableInfo {});
                    r.allocation_info = Some(v1::resource::AllocationInfo {
                        role: Some("web".into()),
                    });
                    r
                }
                _ => {
                    // A persistent volume (must be reserved).
                    let mut r = scalar("disk");
                    r.reservations = vec![ReservationInfo {
                        r#type: Some(reservation_info::Type::Dynamic as i32),
                        role: Some("db".into()),
                        principal: Some("ops".into()),
                        labels: None,
                    }];
                    let side_tag = match side {
                        Side::A => "a",
                        Side::B => "b",
                    };
                    r.disk = Some(DiskInfo {
                        persistence: Some(disk_info::Persistence {
                            id: format!("{side_tag}-vol-{vol}"),
                            principal: Some("ops".into()),
                        }),
                        volume: Some(v1::Volume {
                            mode: v1::volume::Mode::Rw as i32,
                            container_path: "data".into(),
                            ..Default::default()
                        }),
                        source: None,
                    });
                    r
                }
            }
        })
}

fn resources(side: Side, plain: bool) -> impl Strategy<Value = Resources> {
    prop::collection::vec(resource(side, plain), 0..8).prop_map(Resources::from)
}

/// Every entry is strictly positive.
fn all_positive(r: &Resources) -> bool {
    r.iter().all(|e| match e.value() {
        ResourceValue::Scalar(s) => s.millis() > 0,
        ResourceValue::Ranges(x) => !x.is_empty(),
        ResourceValue::Set(x) => !x.is_empty(),
    })
}

proptest! {
    #[test]
    fn contains_itself(a in resources(Side::A, false)) {
        prop_assert!(a.contains(&a));
        prop_assert_eq!(&a, &a.clone());
        prop_assert!((&a - &a).is_empty());
    }

    #[test]
    fn sum_contains_both_and_commutes(a in resources(Side::A, false), b in resources(Side::B, false)) {
        let sum = &a + &b;
        prop_assert!(sum.contains(&a), "{} does not contain {}", sum, a);
        prop_assert!(sum.contains(&b), "{} does not contain {}", sum, b);
        prop_assert_eq!(&sum, &(&b + &a));
    }

    #[test]
    fn sum_contains_both_even_when_overlapping(a in resources(Side::A, false), b in resources(Side::A, false)) {
        let sum = &a + &b;
        prop_assert!(sum.contains(&a));
        prop_assert!(sum.contains(&b));
    }

    #[test]
    fn operators_match_in_place_forms(a in resources(Side::A, false), b in resources(Side::A, false)) {
        let mut sum = a.clone();
        sum += &b;
        prop_assert_eq!(&(&a + &b), &sum);
        prop_assert_eq!((&a + &b).len(), sum.len());
        let mut diff = a.clone();
        diff -= &b;
        prop_assert_eq!(&(&a - &b), &diff);
        prop_assert_eq!((&a - &b).len(), diff.len());
    }

    #[test]
    fn add_then_subtract_is_identity(a in resources(Side::A, false), b in resources(Side::B, false)) {
        let back = &(&a + &b) - &b;
        prop_assert_eq!(&back, &a, "(a + b) - b = {} but a = {}", back, a);
    }

    #[test]
    fn subtraction_never_goes_negative(a in resources(Side::A, false), b in resources(Side::A, false)) {
        let d = &a - &b;
        prop_assert!(all_positive(&d), "{}", d);
        prop_assert!(a.contains(&d));
        prop_assert!(a.quantities().contains(&d.quantities()));
        let mut in_place = a.clone();
        in_place -= &b;
        prop_assert_eq!(in_place, d);
    }

    #[test]
    fn text_round_trip(a in resources(Side::A, true)) {
        let text = a.to_text().expect("plain resources have a text form");
        let back = Resources::parse(&text, "*").expect("own text parses");
        prop_assert_eq!(&back, &a, "text {}", text);
    }

    #[test]
    fn json_round_trip(a in resources(Side::A, false)) {
        let json = resources_to_json(&a.to_vec());
        let back = Resources::from(from_json(&json, "*").expect("own json parses"));
        prop_assert_eq!(&back, &a, "json {}", json);
    }

    #[test]
    fn protobuf_round_trip(a in resources(Side::A, false)) {
        prop_assert_eq!(Resources::from(a.to_vec()), a);
    }

    #[test]
    fn ranges_match_a_naive_model(
        x in prop::collection::vec((0u64..60, 0u64..6), 0..8),
        y in prop::collection::vec((0u64..60, 0u64..6), 0..8),
    ) {
        let model = |v: &[(u64, u64)]| -> BTreeSet<u64> {
            v.iter().flat_map(|&(b, w)| b..=b + w).collect()
        };
        let build = |v: &[(u64, u64)]| Ranges::from_pairs(v.iter().map(|&(b, w)| (b, b + w)));
        let to_set = |r: &Ranges| -> BTreeSet<u64> {
            r.ranges().iter().flat_map(|r| r.begin..=r.end).collect()
        };
        let (mx, my) = (model(&x), model(&y));
        let (rx, ry) = (build(&x), build(&y));
        prop_assert_eq!(to_set(&rx), mx.clone());
        // Coalesced: no two ranges touch.
        prop_assert!(rx.ranges().windows(2).all(|w| w[0].end + 1 < w[1].begin));
        let mut sum = rx.clone();
        sum.add(&ry);
        prop_assert_eq!(to_set(&sum), mx.union(&my).copied().collect::<BTreeSet<_>>());
        prop_assert!(sum.ranges().windows(2).all(|w| w[0].end + 1 < w[1].begin));
        let mut diff = rx.clone();
        diff.subtract(&ry);
        prop_assert_eq!(to_set(&diff), mx.difference(&my).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(rx.contains(&ry), my.is_subset(&mx));
        prop_assert_eq!(rx.intersects(&ry), !mx.is_disjoint(&my));
        prop_assert_eq!(rx.count(), mx.len() as u64);
    }

    #[test]
    fn sets_match_a_naive_model(
        x in prop::collection::vec(0u8..10, 0..8),
        y in prop::collection::vec(0u8..10, 0..8),
    ) {
        let mx: BTreeSet<String> = x.iter().map(|i| i.to_string()).collect();
        let my: BTreeSet<String> = y.iter().map(|i| i.to_string()).collect();
        let sx = Set::from_items(mx.iter().cloned());
        let sy = Set::from_items(my.iter().cloned());
        let mut sum = sx.clone();
        sum.add(&sy);
        prop_assert_eq!(sum.items().to_vec(), mx.union(&my).cloned().collect::<Vec<_>>());
        let mut diff = sx.clone();
        diff.subtract(&sy);
        prop_assert_eq!(diff.items().to_vec(), mx.difference(&my).cloned().collect::<Vec<_>>());
        prop_assert_eq!(sx.contains(&sy), my.is_subset(&mx));
    }

    #[test]
    fn scalars_are_fixed_point(x in 0i64..10_000_000, y in 0i64..10_000_000) {
        let (a, b) = (x as f64 / 1000.0, y as f64 / 1000.0);
        prop_assert_eq!(Scalar::from_f64(a).millis(), x);
        let mut rs = Resources::parse(&format!("cpus:{a}"), "*").unwrap_or_default();
        rs += &Resources::parse(&format!("cpus:{b}"), "*").unwrap_or_default();
        let expect = (x + y > 0).then(|| Scalar::from_millis(x + y));
        prop_assert_eq!(rs.get_scalar("cpus"), expect);
    }
}

//! Quota: guarantees first, headroom held back for unmet guarantees, limits never exceeded.

#[path = "allocator_support/helpers.rs"]
mod helpers;

use helpers::*;
use mesos_master::allocator::NoOfferReason;
use mesos_protos::resources::{ResourceLimits, ResourceQuantities};

#[test]
fn guarantees_are_met_before_non_quota_roles() {
    let mut a = allocator();
    for i in 0..10 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    // The non-quota role comes first and would win every DRF tie.
    add_framework(&mut a, "greedy", &["aaa"]);
    add_framework(&mut a, "q", &["quota"]);
    a.update_quota(
        "quota",
        &ResourceQuantities::parse("cpus:6").unwrap(),
        &ResourceLimits::default(),
    )
    .unwrap();
    let out = a.allocate(secs(0.0));
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "quota"), 6.0);
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "aaa"), 4.0);
}

#[test]
fn headroom_is_held_back_for_roles_without_frameworks() {
    let mut a = allocator();
    for i in 0..10 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    a.set_quota_guarantee("reserved-for-later", "cpus:4;mem:400")
        .unwrap();
    add_framework(&mut a, "f", &["other"]);
    let out = a.allocate(secs(0.0));
    assert_eq!(scalar_sum(&out, "cpus", |_| true), 6.0, "4 cpus held back");
    assert_eq!(a.no_offer_reason("f", "other"), None, "it did get offers");
    // A second pass cannot take the held-back headroom either.
    assert!(a.allocate(secs(1.0)).is_empty());
    assert_eq!(
        a.no_offer_reason("f", "other"),
        Some(NoOfferReason::HeadroomHeld)
    );
    // Removing the quota releases it.
    a.remove_quota("reserved-for-later").unwrap();
    assert_eq!(scalar_sum(&a.allocate(secs(2.0)), "cpus", |_| true), 4.0);
}

#[test]
fn limits_are_never_exceeded() {
    let mut a = allocator();
    for i in 0..10 {
        add_agent(&mut a, &format!("a{i}"), "cpus:2;mem:200");
    }
    add_framework(&mut a, "f", &["capped"]);
    a.update_quota(
        "capped",
        &ResourceQuantities::default(),
        &ResourceLimits::parse("cpus:5").unwrap(),
    )
    .unwrap();
    let out = a.allocate(secs(0.0));
    assert_eq!(
        scalar_sum(&out, "cpus", |_| true),
        5.0,
        "one agent split to fit"
    );
    assert!(a.allocate(secs(1.0)).is_empty());
    assert_eq!(
        a.no_offer_reason("f", "capped"),
        Some(NoOfferReason::LimitReached)
    );
    assert!(a.role_consumed("capped", "cpus") <= 5.0);
    // Giving some back lets it take exactly that much again.
    let x = out
        .iter()
        .find(|x| x.resources.get_scalar("cpus").unwrap().as_f64() == 2.0)
        .unwrap();
    a.recover_resources("f", &x.agent_id, &x.resources, None, secs(1.0))
        .unwrap();
    assert_eq!(scalar_sum(&a.allocate(secs(2.0)), "cpus", |_| true), 2.0);
    assert_eq!(a.role_consumed("capped", "cpus"), 5.0);
}

#[test]
fn parent_limits_bind_children() {
    let mut a = allocator();
    for i in 0..10 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut a, "x", &["team/x"]);
    add_framework(&mut a, "y", &["team/y"]);
    a.update_quota(
        "team",
        &ResourceQuantities::default(),
        &ResourceLimits::parse("cpus:3").unwrap(),
    )
    .unwrap();
    let out = a.allocate(secs(0.0));
    assert_eq!(scalar_sum(&out, "cpus", |_| true), 3.0);
    assert_eq!(a.role_consumed("team", "cpus"), 3.0);
}

#[test]
fn guarantee_set_the_1_8_way_also_limits() {
    let mut a = allocator();
    for i in 0..10 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut a, "f", &["q"]);
    a.set_quota_guarantee("q", "cpus:3;mem:300").unwrap();
    let out = a.allocate(secs(0.0));
    assert_eq!(scalar_sum(&out, "cpus", |_| true), 3.0);
    assert_eq!(a.role_consumed("q", "cpus"), 3.0);
}

#[test]
fn reservations_count_toward_quota_consumption() {
    let mut a = allocator();
    add_agent(&mut a, "r1", "cpus(q):2;mem(q):200");
    for i in 0..5 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut a, "f", &["q"]);
    a.set_quota_guarantee("q", "cpus:3;mem:300").unwrap();
    let out = a.allocate(secs(0.0));
    // 2 reserved cpus already count; only 1 unreserved more.
    assert_eq!(scalar_sum(&out, "cpus", |_| true), 3.0);
    assert_eq!(a.role_consumed("q", "cpus"), 3.0);
}

#[test]
fn stage_one_splits_agents_between_small_guarantees() {
    // The LargeAndSmallQuota shape in miniature: 2 small roles per agent, large ones
    // spanning two agents.
    let mut a = allocator();
    let (small, large) = (10, 2);
    let agents = small / 5 + large * 5;
    for i in 0..agents {
        add_agent(&mut a, &format!("a{i}"), "cpus:2;mem:2048;disk:2048");
    }
    for i in 0..small {
        let role = format!("small{i}");
        add_framework(&mut a, &format!("fs{i}"), &[role.as_str()]);
        a.set_quota_guarantee(&role, "cpus:1;mem:1024;disk:1024")
            .unwrap();
    }
    for i in 0..large {
        let role = format!("large{i}");
        add_framework(&mut a, &format!("fl{i}"), &[role.as_str()]);
        a.set_quota_guarantee(&role, "cpus:4;mem:4096;disk:4096")
            .unwrap();
    }
    let out = a.allocate(secs(0.0));
    for i in 0..small {
        assert_eq!(a.role_consumed(&format!("small{i}"), "cpus"), 1.0);
    }
    for i in 0..large {
        assert_eq!(a.role_consumed(&format!("large{i}"), "cpus"), 4.0);
    }
    assert!(!out.is_empty());
    assert!(
        a.allocate(secs(1.0)).is_empty(),
        "second cycle has nothing to do"
    );
}

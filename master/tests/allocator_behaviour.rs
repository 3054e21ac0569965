//! Allocation behaviour with time passed in: fairness, weights, hierarchy, reservations,
//! filters, suppress/revive, minimum allocatable resources and capabilities.

#[path = "allocator_support/helpers.rs"]
mod helpers;

use helpers::*;
use mesos_master::allocator::sorter::SorterKind;
use mesos_master::allocator::{
    AgentConfig, Capabilities, FrameworkConfig, MinAllocatable, NoOfferReason,
};

#[test]
fn one_framework_gets_the_whole_agent_and_offers_count_until_recovered() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:4;mem:1024;ports:[31000-31010]");
    add_framework(&mut a, "f1", &["*"]);
    let out = a.allocate(secs(1.0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].framework_id, "f1");
    assert_eq!(out[0].role, "*");
    let mut plain = out[0].resources.clone();
    plain.unallocate();
    assert_eq!(plain, res("cpus:4;mem:1024;ports:[31000-31010]"));
    assert!(out[0]
        .resources
        .iter()
        .all(|r| r.allocation_role() == Some("*")));
    assert!(
        a.allocate(secs(2.0)).is_empty(),
        "offered resources stay allocated"
    );
    assert_eq!(
        a.no_offer_reason("f1", "*"),
        Some(NoOfferReason::NoCapacity)
    );
    a.recover_resources("f1", "a1", &out[0].resources, Some(0.0), secs(2.0))
        .unwrap();
    let again = a.allocate(secs(3.0));
    assert_eq!(again.len(), 1, "refuse_seconds 0 installs no filter");
    assert_eq!(a.allocation_runs(), 3);
}

#[test]
fn drf_shares_converge_between_roles() {
    let mut a = allocator();
    for i in 0..40 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut a, "f1", &["r1"]);
    add_framework(&mut a, "f2", &["r2"]);
    let out = a.allocate(secs(1.0));
    let r1 = scalar_sum(&out, "cpus", |x| x.role == "r1");
    let r2 = scalar_sum(&out, "cpus", |x| x.role == "r2");
    assert_eq!(r1 + r2, 40.0);
    assert_eq!(r1, r2, "equal weights: equal dominant shares");
    assert!((a.role_share("r1") - 0.5).abs() < 1e-9);
}

#[test]
fn drf_shares_converge_when_one_role_starts_ahead() {
    let mut a = allocator();
    for i in 0..20 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut a, "f1", &["r1"]);
    let first = a.allocate(secs(1.0));
    assert_eq!(first.len(), 20);
    // r1 gives back half; the newcomer r2 should get all of it (its share is lower).
    add_framework(&mut a, "f2", &["r2"]);
    for x in first.iter().take(10) {
        a.recover_resources("f1", &x.agent_id, &x.resources, None, secs(1.0))
            .unwrap();
    }
    let second = a.allocate(secs(2.0));
    assert_eq!(scalar_sum(&second, "cpus", |x| x.role == "r2"), 10.0);
    assert_eq!(a.role_allocated("r1", "cpus"), 10.0);
    assert_eq!(a.role_allocated("r2", "cpus"), 10.0);
}

#[test]
fn weights_give_proportional_shares() {
    let mut a = allocator();
    for i in 0..40 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    a.update_weights(&[("heavy".to_string(), 3.0)]).unwrap();
    add_framework(&mut a, "f1", &["heavy"]);
    add_framework(&mut a, "f2", &["light"]);
    let out = a.allocate(secs(1.0));
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "heavy"), 30.0);
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "light"), 10.0);
    assert!(a.update_weights(&[("x".to_string(), 0.0)]).is_err());
    assert!(a.update_weights(&[("x".to_string(), f64::NAN)]).is_err());
    assert!(a.update_weights(&[("/bad".to_string(), 1.0)]).is_err());
}

#[test]
fn hierarchical_roles_share_at_each_level() {
    let mut a = allocator();
    for i in 0..40 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut a, "fx", &["a/x"]);
    add_framework(&mut a, "fy", &["a/y"]);
    add_framework(&mut a, "fb", &["b"]);
    let out = a.allocate(secs(1.0));
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "b"), 20.0);
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "a/x"), 10.0);
    assert_eq!(scalar_sum(&out, "cpus", |x| x.role == "a/y"), 10.0);
    assert_eq!(
        a.role_allocated("a", "cpus"),
        20.0,
        "a parent's figures include its subtree"
    );
}

#[test]
fn frameworks_within_a_role_share_by_drf() {
    let mut a = allocator();
    for i in 0..30 {
        add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
    }
    for f in ["f1", "f2", "f3"] {
        add_framework(&mut a, f, &["*"]);
    }
    let out = a.allocate(secs(1.0));
    for f in ["f1", "f2", "f3"] {
        assert_eq!(
            scalar_sum(&out, "cpus", |x| x.framework_id == f),
            10.0,
            "{f}"
        );
    }
}

#[test]
fn reservations_go_only_to_their_role_subtree() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus(dev):4;mem(dev):400;cpus:1;mem:100");
    add_framework(&mut a, "other", &["ops"]);
    let out = a.allocate(secs(1.0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].role, "ops");
    assert!(
        out[0].resources.iter().all(|r| r.is_unreserved()),
        "ops sees only unreserved"
    );
    add_framework(&mut a, "child", &["dev/team"]);
    let out = a.allocate(secs(2.0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].framework_id, "child");
    assert_eq!(out[0].resources.get_scalar("cpus").unwrap().as_f64(), 4.0);
    assert!(out[0]
        .resources
        .iter()
        .all(|r| r.reservation_role() == Some("dev")));
    // Reservations count toward the role's quota consumption.
    assert_eq!(a.role_consumed("dev", "cpus"), 4.0);
}

#[test]
fn refined_reservations_reach_only_the_refined_role() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:8;mem:800");
    add_framework(&mut a, "f", &["eng"]);
    let out = a.allocate(secs(1.0));
    // Reserve half of what was offered for eng/ml via a refinement... first a reservation
    // to `eng`, then a refinement to `eng/ml`, both through update_allocation.
    let reserve = {
        let mut r = res("cpus(eng):4;mem(eng):400");
        r.allocate("eng");
        r
    };
    a.update_allocation(
        "f",
        "a1",
        &[mesos_master::allocator::Operation::Reserve(reserve.clone())],
    )
    .unwrap();
    assert_eq!(a.role_consumed("eng", "cpus"), 8.0);
    a.recover_resources(
        "f",
        "a1",
        &a.allocation_of("f", "a1").unwrap(),
        None,
        secs(1.0),
    )
    .unwrap();
    a.remove_framework("f").unwrap();
    add_framework(&mut a, "outsider", &["web"]);
    add_framework(&mut a, "parent", &["eng"]);
    let out2 = a.allocate(secs(2.0));
    assert!(!out.is_empty());
    let web: Vec<_> = out2.iter().filter(|x| x.role == "web").collect();
    assert!(web
        .iter()
        .all(|x| x.resources.iter().all(|r| r.is_unreserved())));
    let eng: f64 = scalar_sum(&out2, "cpus", |x| x.role == "eng");
    assert!(eng >= 4.0, "eng got its reservation ({eng})");
}

#[test]
fn decline_filters_expire_after_refuse_seconds() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:2;mem:200");
    add_framework(&mut a, "f1", &["*"]);
    let out = a.allocate(secs(0.0));
    decline_all(&mut a, &out, Some(10.0), secs(0.0));
    assert!(a.allocate(secs(5.0)).is_empty());
    assert_eq!(a.no_offer_reason("f1", "*"), Some(NoOfferReason::Filtered));
    assert_eq!(a.metrics(secs(5.0)).offer_filters_active.get("*"), Some(&1));
    assert!(a.allocate(secs(9.999)).is_empty());
    let out = a.allocate(secs(10.0));
    assert_eq!(out.len(), 1, "filter gone after 10 s");
    assert_eq!(a.metrics(secs(10.0)).offer_filters_active.get("*"), None);
    // Negative refuse_seconds means the 5 s default.
    decline_all(&mut a, &out, Some(-3.0), secs(10.0));
    assert!(a.allocate(secs(14.9)).is_empty());
    assert_eq!(a.allocate(secs(15.0)).len(), 1);
}

#[test]
fn filters_only_cover_subsets_of_what_was_refused() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:2;mem:200");
    add_framework(&mut a, "f1", &["*"]);
    let out = a.allocate(secs(0.0));
    // Decline only part; keep the rest allocated.
    let part = {
        let mut r = res("cpus:1;mem:100");
        r.allocate("*");
        r
    };
    a.recover_resources("f1", "a1", &part, Some(100.0), secs(0.0))
        .unwrap();
    assert!(
        a.allocate(secs(1.0)).is_empty(),
        "the declined part is filtered"
    );
    // Now the rest comes back too: the candidate (everything) is not a subset of the
    // refused part, so it is offered.
    let rest = a.allocation_of("f1", "a1").unwrap();
    a.recover_resources("f1", "a1", &rest, None, secs(1.0))
        .unwrap();
    let again = a.allocate(secs(2.0));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].resources.get_scalar("cpus").unwrap().as_f64(), 2.0);
    drop(out);
}

#[test]
fn filters_are_per_framework_and_role() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:2;mem:200");
    add_framework(&mut a, "f1", &["*"]);
    add_framework(&mut a, "f2", &["*"]);
    let out = a.allocate(secs(0.0));
    assert_eq!(out.len(), 1);
    let first = out[0].framework_id.clone();
    decline_all(&mut a, &out, Some(1000.0), secs(0.0));
    let out = a.allocate(secs(1.0));
    assert_eq!(out.len(), 1);
    assert_ne!(out[0].framework_id, first, "the other framework gets it");
}

#[test]
fn suppress_stops_offers_and_revive_clears_filters() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:2;mem:200");
    add_framework(&mut a, "f1", &["*"]);
    a.suppress_offers("f1", &[]).unwrap();
    assert!(a.allocate(secs(0.0)).is_empty());
    assert_eq!(
        a.no_offer_reason("f1", "*"),
        Some(NoOfferReason::Suppressed)
    );
    a.revive_offers("f1", &[]).unwrap();
    let out = a.allocate(secs(1.0));
    assert_eq!(out.len(), 1);
    decline_all(&mut a, &out, Some(3600.0), secs(1.0));
    assert!(a.allocate(secs(2.0)).is_empty(), "filtered");
    a.revive_offers("f1", &["*".to_string()]).unwrap();
    assert_eq!(a.allocate(secs(3.0)).len(), 1, "revive cleared the filter");
}

#[test]
fn suppression_is_per_role_for_multi_role_frameworks() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:1;mem:100");
    add_agent(&mut a, "a2", "cpus:1;mem:100");
    add_framework(&mut a, "f", &["r1", "r2"]);
    a.suppress_offers("f", &["r1".to_string()]).unwrap();
    let out = a.allocate(secs(0.0));
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|x| x.role == "r2"));
    assert_eq!(
        a.no_offer_reason("f", "r1"),
        Some(NoOfferReason::Suppressed)
    );
    // update_framework moving r1 out of the suppressed set revives it.
    let mut cfg = FrameworkConfig::with_roles(&["r1", "r2"]);
    cfg.suppressed_roles = vec!["r2".to_string()];
    a.update_framework("f", &cfg).unwrap();
    decline_all(&mut a, &out, None, secs(0.0));
    let out = a.allocate(secs(1.0));
    assert!(out.iter().all(|x| x.role == "r1") && out.len() == 2);
}

#[test]
fn minimum_allocatable_resources_global_and_per_framework() {
    let mut a = allocator();
    add_agent(&mut a, "tiny", "cpus:0.005;mem:16");
    add_agent(&mut a, "small", "cpus:1;mem:100");
    add_framework(&mut a, "f1", &["*"]);
    let out = a.allocate(secs(0.0));
    assert_eq!(out.len(), 1, "cpus:0.005;mem:16 is below cpus:0.01|mem:32");
    assert_eq!(out[0].agent_id, "small");
    assert_eq!(a.no_offer_reason("f1", "*"), None, "it got an offer");

    // A framework whose minimum is cpus:2 gets neither agent.
    let mut b = allocator();
    add_agent(&mut b, "tiny", "cpus:0.005;mem:16");
    add_agent(&mut b, "small", "cpus:1;mem:100");
    let mut cfg = FrameworkConfig::with_roles(&["*"]);
    cfg.min_allocatable
        .insert("*".to_string(), MinAllocatable::parse("cpus:2").unwrap());
    b.add_framework("big", &cfg, &[], true).unwrap();
    assert!(b.allocate(secs(0.0)).is_empty());
    assert_eq!(
        b.no_offer_reason("big", "*"),
        Some(NoOfferReason::BelowMinimum)
    );

    // An empty list disables the minimum: even the tiny agent is offered.
    let mut cfg = FrameworkConfig::with_roles(&["*"]);
    cfg.min_allocatable
        .insert("*".to_string(), MinAllocatable::default());
    b.update_framework("big", &cfg).unwrap();
    assert_eq!(b.allocate(secs(1.0)).len(), 2);

    // A global flag of cpus:2 also withholds the small agent.
    let mut c = allocator_with(|o| {
        o.min_allocatable_resources = MinAllocatable::parse("cpus:2|mem:1000").unwrap()
    });
    add_agent(&mut c, "small", "cpus:1;mem:100");
    add_framework(&mut c, "f", &["*"]);
    assert!(c.allocate(secs(0.0)).is_empty());
}

#[test]
fn revocable_and_gpu_resources_need_capabilities() {
    let mut a = allocator();
    let mut rev = res("cpus:2;mem:200");
    let mut revocable = res("cpus:8");
    let mut p = revocable.to_vec();
    for r in &mut p {
        r.revocable = Some(Default::default());
    }
    revocable = mesos_protos::resources::Resources::from_resources(&p);
    rev += &revocable;
    a.add_agent(
        "a1",
        &AgentConfig {
            total: rev,
            region: None,
        },
        &[],
    )
    .unwrap();
    add_agent(&mut a, "gpu", "cpus:2;mem:200;gpus:1");
    add_framework(&mut a, "plain", &["*"]);
    let out = a.allocate(secs(0.0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].agent_id, "a1");
    assert!(out[0].resources.iter().all(|r| !r.is_revocable()));
    assert_eq!(out[0].resources.get_scalar("cpus").unwrap().as_f64(), 2.0);

    let mut cfg = FrameworkConfig::with_roles(&["*"]);
    cfg.capabilities = Capabilities {
        revocable_resources: true,
        gpu_resources: true,
        ..Capabilities::default()
    };
    a.add_framework("capable", &cfg, &[], true).unwrap();
    let out = a.allocate(secs(1.0));
    let got: f64 = scalar_sum(&out, "cpus", |x| x.framework_id == "capable");
    assert_eq!(got, 10.0, "revocable cpus on a1 plus the GPU agent's cpus");
    assert!(out.iter().any(|x| x.agent_id == "gpu"));
}

#[test]
fn remote_region_agents_only_to_region_aware_frameworks() {
    let mut a = allocator_with(|o| o.region = Some("east".to_string()));
    a.add_agent(
        "far",
        &AgentConfig {
            total: res("cpus:1;mem:100"),
            region: Some("west".to_string()),
        },
        &[],
    )
    .unwrap();
    add_framework(&mut a, "local", &["*"]);
    assert!(a.allocate(secs(0.0)).is_empty());
    assert_eq!(
        a.no_offer_reason("local", "*"),
        Some(NoOfferReason::CapabilityMissing)
    );
    let mut cfg = FrameworkConfig::with_roles(&["*"]);
    cfg.capabilities.region_aware = true;
    a.add_framework("aware", &cfg, &[], true).unwrap();
    assert_eq!(a.allocate(secs(1.0))[0].framework_id, "aware");
}

#[test]
fn inactive_frameworks_and_agents_get_and_give_nothing() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:1;mem:100");
    add_framework(&mut a, "f", &["*"]);
    a.deactivate_framework("f").unwrap();
    assert!(a.allocate(secs(0.0)).is_empty());
    assert_eq!(
        a.no_offer_reason("f", "*"),
        Some(NoOfferReason::FrameworkInactive)
    );
    a.activate_framework("f").unwrap();
    a.deactivate_agent("a1").unwrap();
    assert!(a.allocate(secs(1.0)).is_empty());
    a.activate_agent("a1").unwrap();
    assert_eq!(a.allocate(secs(2.0)).len(), 1);
}

#[test]
fn pause_and_resume() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:1;mem:100");
    add_framework(&mut a, "f", &["*"]);
    a.pause();
    assert!(a.allocate(secs(0.0)).is_empty());
    a.resume();
    assert_eq!(a.allocate(secs(1.0)).len(), 1);
}

#[test]
fn event_driven_pass_covers_only_given_agents() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:1;mem:100");
    add_agent(&mut a, "a2", "cpus:1;mem:100");
    add_framework(&mut a, "f", &["*"]);
    let out = a.allocate_agents(secs(0.0), &["a2".to_string(), "nope".to_string()]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].agent_id, "a2");
}

#[test]
fn removing_frameworks_and_agents_returns_resources() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:2;mem:200");
    add_framework(&mut a, "f1", &["r"]);
    assert_eq!(a.allocate(secs(0.0)).len(), 1);
    assert_eq!(a.role_allocated("r", "cpus"), 2.0);
    a.remove_framework("f1").unwrap();
    assert_eq!(a.role_allocated("r", "cpus"), 0.0);
    assert_eq!(a.available_of("a1").unwrap(), res("cpus:2;mem:200"));
    add_framework(&mut a, "f2", &["r"]);
    assert_eq!(a.allocate(secs(1.0)).len(), 1);
    a.remove_agent("a1").unwrap();
    assert_eq!(a.role_allocated("r", "cpus"), 0.0);
    assert!(a.allocate(secs(2.0)).is_empty());
    assert_eq!(a.metrics(secs(2.0)).resources_total.get("cpus"), None);
}

#[test]
fn agents_added_with_used_resources_account_for_them() {
    let mut a = allocator();
    add_framework(&mut a, "f1", &["r"]);
    let mut used = res("cpus:3;mem:300");
    used.allocate("r");
    a.add_agent(
        "a1",
        &AgentConfig {
            total: res("cpus:4;mem:400"),
            region: None,
        },
        &[("f1".to_string(), used)],
    )
    .unwrap();
    assert_eq!(a.role_allocated("r", "cpus"), 3.0);
    let out = a.allocate(secs(0.0));
    assert_eq!(out[0].resources.get_scalar("cpus").unwrap().as_f64(), 1.0);
    assert!(
        a.add_agent("a1", &AgentConfig::default(), &[]).is_err(),
        "duplicate agent"
    );
}

#[test]
fn recover_and_operations_validate_their_input() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:2;mem:200");
    add_framework(&mut a, "f", &["r"]);
    let mut not_held = res("cpus:1");
    not_held.allocate("r");
    assert!(a
        .recover_resources("f", "a1", &not_held, None, secs(0.0))
        .is_err());
    // Unknown framework or agent: ignored, like Mesos.
    assert!(a
        .recover_resources("ghost", "a1", &not_held, None, secs(0.0))
        .is_ok());
    use mesos_master::allocator::Operation;
    let mut reserve = res("cpus(r):1");
    reserve.allocate("r");
    assert!(
        a.update_allocation("f", "a1", &[Operation::Reserve(reserve.clone())])
            .is_err(),
        "nothing allocated yet"
    );
    let before = a.total_of("a1").unwrap();
    assert!(
        a.update_available("a1", &[Operation::Reserve(res("cpus(r):5"))])
            .is_err(),
        "only 2 cpus free"
    );
    assert_eq!(
        a.total_of("a1").unwrap(),
        before,
        "failed operations change nothing"
    );
    a.update_available("a1", &[Operation::Reserve(res("cpus(r):1"))])
        .unwrap();
    assert_eq!(a.role_consumed("r", "cpus"), 1.0);
    a.update_available("a1", &[Operation::Unreserve(res("cpus(r):1"))])
        .unwrap();
    assert_eq!(a.role_consumed("r", "cpus"), 0.0);
    assert_eq!(a.total_of("a1").unwrap(), res("cpus:2;mem:200"));
}

#[test]
fn reserve_and_unreserve_allocated_resources() {
    use mesos_master::allocator::Operation;
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:4;mem:400");
    add_framework(&mut a, "f", &["r"]);
    a.allocate(secs(0.0));
    let mut reserve = res("cpus(r):2;mem(r):100");
    reserve.allocate("r");
    a.update_allocation("f", "a1", &[Operation::Reserve(reserve.clone())])
        .unwrap();
    let held = a.allocation_of("f", "a1").unwrap();
    assert!(held.contains(&reserve));
    assert_eq!(
        a.role_consumed("r", "cpus"),
        4.0,
        "reservations plus unreserved"
    );
    a.update_allocation("f", "a1", &[Operation::Unreserve(reserve)])
        .unwrap();
    let mut plain = a.allocation_of("f", "a1").unwrap();
    plain.unallocate();
    assert_eq!(plain, res("cpus:4;mem:400"));
    assert_eq!(a.total_of("a1").unwrap(), res("cpus:4;mem:400"));
}

#[test]
fn the_random_sorter_replays_from_the_seed() {
    let run = |seed: u64| {
        let mut a = allocator_with(|o| {
            o.role_sorter = SorterKind::Random;
            o.framework_sorter = SorterKind::Random;
            o.seed = seed;
        });
        for i in 0..20 {
            add_agent(&mut a, &format!("a{i}"), "cpus:1;mem:100");
        }
        for r in 0..5 {
            add_framework(&mut a, &format!("f{r}"), &[&format!("r{r}")]);
        }
        a.allocate(secs(0.0))
            .into_iter()
            .map(|x| (x.framework_id, x.agent_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(1));
    assert_eq!(run(1).len(), 20);
    assert_ne!(run(1), run(2), "a different seed, a different order");
}

#[test]
fn metrics_report_totals_shares_and_quota() {
    let mut a = allocator();
    add_agent(&mut a, "a1", "cpus:4;mem:400");
    add_framework(&mut a, "f", &["r"]);
    a.set_quota_guarantee("r", "cpus:2").unwrap();
    a.allocate(secs(0.0));
    a.record_run_duration(secs(0.002));
    let m = a.metrics(secs(0.0));
    assert_eq!(m.allocation_runs, 1);
    assert_eq!(m.last_allocation_run, Some(secs(0.002)));
    assert_eq!(m.resources_total.get("cpus"), Some(&4.0));
    assert_eq!(m.resources_offered_or_allocated.get("cpus"), Some(&2.0));
    let q = m.quota.get("r").unwrap();
    assert_eq!(q.guarantee.get("cpus"), Some(&2.0));
    assert_eq!(q.limit.get("cpus"), Some(&2.0));
    assert_eq!(q.offered_or_allocated.get("cpus"), Some(&2.0));
    // The limit covers cpus only, so all the memory went along: mem is dominant.
    assert_eq!(m.resources_offered_or_allocated.get("mem"), Some(&400.0));
    assert!((m.dominant_shares["r"] - 1.0).abs() < 1e-9);
}

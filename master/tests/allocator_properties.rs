//! Property tests: random clusters and random event sequences must never offer anything
//! twice or beyond an agent's free resources, never push a role past its quota limit,
//! and never let a reservation leave its role's subtree.

#[path = "allocator_support/helpers.rs"]
mod helpers;

use std::collections::HashMap;

use helpers::*;
use mesos_master::allocator::sorter::SorterKind;
use mesos_master::allocator::{Allocation, FrameworkConfig, HierarchicalAllocator};
use mesos_protos::resources::{ResourceLimits, ResourceQuantities, Resources};
use proptest::prelude::*;

const ROLES: [&str; 6] = ["a", "a/b", "a/c", "d", "d/e", "*"];

#[derive(Clone, Debug)]
enum Event {
    Cycle,
    DeclineSome { seed: usize, refuse: f64 },
    Suppress { fw: usize },
    Revive { fw: usize },
    Advance { secs: f64 },
}

#[derive(Clone, Debug)]
struct Scenario {
    drf: bool,
    agents: Vec<(u32, u32, Option<usize>, u32)>,
    frameworks: Vec<Vec<usize>>,
    limits: Vec<(usize, u32)>,
    guarantees: Vec<(usize, u32)>,
    events: Vec<Event>,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => Just(Event::Cycle),
        3 => (any::<usize>(), prop_oneof![Just(0.0), Just(2.0), Just(1000.0)])
            .prop_map(|(seed, refuse)| Event::DeclineSome { seed, refuse }),
        1 => (0usize..6).prop_map(|fw| Event::Suppress { fw }),
        1 => (0usize..6).prop_map(|fw| Event::Revive { fw }),
        2 => (1u32..5).prop_map(|s| Event::Advance { secs: s as f64 }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        any::<bool>(),
        prop::collection::vec(
            (1u32..8, 1u32..8, prop::option::of(0usize..5), 0u32..4),
            1..8,
        ),
        prop::collection::vec(prop::collection::vec(0usize..6, 1..3), 1..6),
        prop::collection::vec((0usize..5, 1u32..10), 0..3),
        prop::collection::vec((0usize..5, 1u32..6), 0..3),
        prop::collection::vec(event(), 1..25),
    )
        .prop_map(
            |(drf, agents, frameworks, limits, guarantees, events)| Scenario {
                drf,
                agents,
                frameworks,
                limits,
                guarantees,
                events,
            },
        )
}

fn build(s: &Scenario) -> HierarchicalAllocator {
    let kind = if s.drf {
        SorterKind::Drf
    } else {
        SorterKind::Random
    };
    let mut a = allocator_with(|o| {
        o.role_sorter = kind;
        o.framework_sorter = kind;
    });
    for (i, (cpus, mem, reserved_role, reserved_cpus)) in s.agents.iter().enumerate() {
        let mut text = format!(
            "cpus:{cpus};mem:{}00;ports:[{}-{}]",
            mem,
            1000,
            1000 + cpus * 3
        );
        if let Some(r) = reserved_role {
            if *reserved_cpus > 0 {
                text.push_str(&format!(";cpus({}):{reserved_cpus}", ROLES[*r]));
            }
        }
        add_agent(&mut a, &format!("ag{i}"), &text);
    }
    for (role, limit) in &s.limits {
        a.update_quota(
            ROLES[*role],
            &ResourceQuantities::default(),
            &ResourceLimits::parse(&format!("cpus:{limit}")).unwrap(),
        )
        .unwrap();
    }
    for (role, g) in &s.guarantees {
        let g = ResourceQuantities::parse(&format!("cpus:{g}")).unwrap();
        // Keep guarantees within limits (Mesos rejects a guarantee above the limit).
        let limit = s
            .limits
            .iter()
            .rev()
            .find(|(r, _)| r == role)
            .map(|(_, l)| ResourceLimits::parse(&format!("cpus:{l}")).unwrap())
            .unwrap_or_default();
        let g = if limit.contains_quantities(&g) {
            g
        } else {
            ResourceQuantities::default()
        };
        a.update_quota(ROLES[*role], &g, &limit).unwrap();
    }
    for (i, roles) in s.frameworks.iter().enumerate() {
        let mut names: Vec<&str> = roles.iter().map(|r| ROLES[*r]).collect();
        names.sort();
        names.dedup();
        a.add_framework(
            &format!("fw{i}"),
            &FrameworkConfig::with_roles(&names),
            &[],
            true,
        )
        .unwrap();
    }
    a
}

fn limits_of(s: &Scenario) -> HashMap<&'static str, f64> {
    let mut m = HashMap::new();
    for (role, limit) in &s.limits {
        m.insert(ROLES[*role], *limit as f64);
    }
    m
}

fn is_in_subtree(role: &str, ancestor: &str) -> bool {
    role == ancestor || role.starts_with(&format!("{ancestor}/"))
}

fn check_cycle(
    a: &HierarchicalAllocator,
    agents: usize,
    free_before: &HashMap<String, Resources>,
    out: &[Allocation],
) -> Result<(), TestCaseError> {
    // Nothing offered twice and nothing beyond the agent's free resources: the sum of
    // all of one agent's offers in a cycle fits in what was free before it.
    let mut per_agent: HashMap<&str, Resources> = HashMap::new();
    for x in out {
        let mut plain = x.resources.clone();
        plain.unallocate();
        *per_agent.entry(x.agent_id.as_str()).or_default() += &plain;
        // A reservation never leaves its role subtree.
        for r in x.resources.iter() {
            prop_assert_eq!(r.allocation_role(), Some(x.role.as_str()));
            if let Some(owner) = r.reservation_role() {
                prop_assert!(
                    is_in_subtree(&x.role, owner),
                    "{} offered to {}",
                    owner,
                    x.role
                );
            }
        }
    }
    for (agent, offered) in per_agent {
        prop_assert!(
            free_before[agent].contains(&offered),
            "agent {agent}: {offered} not within {}",
            free_before[agent]
        );
    }
    // Free plus everything allocated is the agent's total.
    for i in 0..agents {
        let id = format!("ag{i}");
        let free = a.available_of(&id).unwrap();
        let total = a.total_of(&id).unwrap();
        prop_assert!(total.contains(&free));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn allocation_invariants_hold(s in scenario()) {
        let mut a = build(&s);
        let limits = limits_of(&s);
        let mut now = 0.0f64;
        let mut outstanding: Vec<Allocation> = Vec::new();
        let mut events = s.events.clone();
        events.push(Event::Cycle);
        for ev in events {
            match ev {
                Event::Cycle => {
                    let free_before: HashMap<String, Resources> = (0..s.agents.len())
                        .map(|i| { let id = format!("ag{i}"); let f = a.available_of(&id).unwrap(); (id, f) })
                        .collect();
                    let consumed_before: HashMap<&str, f64> = limits.keys().map(|r| (*r, a.role_consumed(r, "cpus"))).collect();
                    let out = a.allocate(secs(now));
                    check_cycle(&a, s.agents.len(), &free_before, &out)?;
                    // Limits hold: a role at or under its limit never goes over it.
                    for (role, limit) in &limits {
                        let after = a.role_consumed(role, "cpus");
                        if consumed_before[role] <= *limit + 1e-9 {
                            prop_assert!(after <= *limit + 1e-9, "{role}: {after} > limit {limit}");
                        }
                    }
                    outstanding.extend(out);
                }
                Event::DeclineSome { seed, refuse } => {
                    if !outstanding.is_empty() {
                        let n = seed % (outstanding.len() + 1);
                        for x in outstanding.drain(..n) {
                            a.recover_resources(&x.framework_id, &x.agent_id, &x.resources, Some(refuse), secs(now)).unwrap();
                        }
                    }
                }
                Event::Suppress { fw } => {
                    let _ = a.suppress_offers(&format!("fw{fw}"), &[]);
                }
                Event::Revive { fw } => {
                    let _ = a.revive_offers(&format!("fw{fw}"), &[]);
                }
                Event::Advance { secs } => now += secs,
            }
        }
    }
}

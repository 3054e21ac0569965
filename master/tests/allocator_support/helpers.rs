//! Shared helpers for the allocator tests.
#![allow(dead_code)]

use std::time::Duration;

use mesos_master::allocator::{
    AgentConfig, Allocation, AllocatorOptions, FrameworkConfig, HierarchicalAllocator,
};
use mesos_protos::resources::Resources;

/// Parses Mesos's resource text (default role `*`).
pub fn res(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

/// Seconds as a `Duration` (the caller's clock).
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// An allocator with default flags and a fixed seed.
pub fn allocator() -> HierarchicalAllocator {
    HierarchicalAllocator::new(AllocatorOptions::default()).unwrap()
}

/// An allocator with custom flags.
pub fn allocator_with(f: impl FnOnce(&mut AllocatorOptions)) -> HierarchicalAllocator {
    let mut o = AllocatorOptions::default();
    f(&mut o);
    HierarchicalAllocator::new(o).unwrap()
}

/// Adds an agent with the given resources text.
pub fn add_agent(a: &mut HierarchicalAllocator, id: &str, text: &str) {
    a.add_agent(
        id,
        &AgentConfig {
            total: res(text),
            region: None,
        },
        &[],
    )
    .unwrap();
}

/// Adds an active framework in the given roles.
pub fn add_framework(a: &mut HierarchicalAllocator, id: &str, roles: &[&str]) {
    a.add_framework(id, &FrameworkConfig::with_roles(roles), &[], true)
        .unwrap();
}

/// Sum of a scalar over allocations matching a predicate.
pub fn scalar_sum(allocs: &[Allocation], name: &str, pred: impl Fn(&Allocation) -> bool) -> f64 {
    allocs
        .iter()
        .filter(|a| pred(a))
        .map(|a| a.resources.get_scalar(name).map_or(0.0, |s| s.as_f64()))
        .sum()
}

/// Declines every allocation with the given `refuse_seconds`.
pub fn decline_all(
    a: &mut HierarchicalAllocator,
    allocs: &[Allocation],
    refuse: Option<f64>,
    now: Duration,
) {
    for x in allocs {
        a.recover_resources(&x.framework_id, &x.agent_id, &x.resources, refuse, now)
            .unwrap();
    }
}

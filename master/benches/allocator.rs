//! Allocator benchmarks in the shapes of Mesos's own allocator benchmarks (reference §7.6):
//! DeclineOffers, LargeAndSmallQuota and UpdateAllocation (RESERVE on an agent holding
//! 800 resource objects). Each measures allocator calls only, with time passed in.
//!
//! Run: `CARGO_TARGET_DIR=... cargo bench -p mesos-master --bench allocator`
//! (a name filter after `--` picks one case, e.g. `-- DeclineOffers/10000x1000`).
//!
//! Times are the CPU time of the benchmarking thread (`CLOCK_THREAD_CPUTIME_ID`),
//! not wall time: the shared 2-core machine these run on is often loaded far beyond its
//! cores, and wall time then mostly measures waiting for a core. The allocator is
//! single-threaded, so its CPU time is what a cycle costs.

// Benchmarks measure real elapsed time, which the workspace bans elsewhere.
#![allow(clippy::disallowed_methods)]
// One `clock_gettime` call reads this thread's CPU clock; std has no safe equivalent.
#![allow(unsafe_code)]

/// The allocator the `mesos` binary runs with (see cli/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use mesos_master::allocator::{
    AgentConfig, Allocation, AllocatorOptions, FrameworkConfig, HierarchicalAllocator, Operation,
};
use mesos_protos::resources::Resources;
use mesos_protos::v1;

/// CPU time consumed by this thread so far.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn res(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

/// The DeclineOffers cluster after `rounds` cycles in which every offer was declined
/// with a practically infinite filter.
fn decline_offers_cluster(
    agents: usize,
    frameworks: usize,
    rounds: usize,
) -> (HierarchicalAllocator, Duration) {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default()).unwrap();
    for f in 0..frameworks {
        a.add_framework(
            &format!("framework-{f}"),
            &FrameworkConfig::with_roles(&["*"]),
            &[],
            true,
        )
        .unwrap();
    }
    let total = res("cpus:24;mem:4096;disk:4096;ports:[31000-32000]");
    // 16 tasks' worth: cpus:16;mem:2014;disk:1024 plus 16 port sub-ranges.
    let ports: Vec<String> = (0..16)
        .map(|i| format!("{}-{}", 31000 + i * 60, 31000 + i * 60 + 9))
        .collect();
    let mut used = res(&format!(
        "cpus:16;mem:2014;disk:1024;ports:[{}]",
        ports.join(",")
    ));
    used.allocate("*");
    for i in 0..agents {
        a.add_agent(
            &format!("agent-{i}"),
            &AgentConfig {
                total: total.clone(),
                region: None,
            },
            &[(format!("framework-{}", i % frameworks), used.clone())],
        )
        .unwrap();
    }
    let mut now = Duration::ZERO;
    for _ in 0..rounds {
        now += Duration::from_secs(1);
        let out = a.allocate(now);
        decline(&mut a, &out, Some(i32::MAX as f64), now);
    }
    (a, now)
}

fn decline(a: &mut HierarchicalAllocator, out: &[Allocation], refuse: Option<f64>, now: Duration) {
    for x in out {
        a.recover_resources(&x.framework_id, &x.agent_id, &x.resources, refuse, now)
            .unwrap();
    }
}

/// One cycle at a fixed filter state: after timing, the offers go back without a filter.
fn time_cycles(
    a: &mut HierarchicalAllocator,
    now: &mut Duration,
    iters: u64,
    offers: &mut usize,
) -> Duration {
    let mut took = Duration::ZERO;
    for _ in 0..iters {
        *now += Duration::from_secs(1);
        let start = cpu_now();
        let out = a.allocate(*now);
        took += cpu_now() - start;
        *offers = out.len();
        decline(a, &out, None, *now);
        black_box(out);
    }
    took
}

fn decline_offers(c: &mut Criterion) {
    let mut group = c.benchmark_group("DeclineOffers");
    group.sampling_mode(SamplingMode::Flat);
    for (agents, frameworks, rounds) in [
        (10_000, 1_000, 1),
        (10_000, 1_000, 50),
        (20_000, 2_000, 1),
        (20_000, 2_000, 25),
        (1_000, 100, 150),
    ] {
        let name = format!("{agents}x{frameworks}/round{rounds}");
        // Built on first use so a name filter skips the setup of other cases.
        let mut state: Option<(HierarchicalAllocator, Duration)> = None;
        let mut offers = 0;
        let mut setup = Duration::ZERO;
        group.bench_function(&name, |b| {
            let (a, now) = state.get_or_insert_with(|| {
                let start = Instant::now();
                let s = decline_offers_cluster(agents, frameworks, rounds);
                setup = start.elapsed();
                s
            });
            b.iter_custom(|iters| time_cycles(a, now, iters, &mut offers))
        });
        if state.is_some() {
            eprintln!(
                "DeclineOffers/{name}: {offers} offers per cycle, up to {rounds} filters per agent, setup {setup:?}"
            );
        }
    }
    group.finish();
}

/// The LargeAndSmallQuota cluster: `small` roles with quota cpus:1;mem:1024;disk:1024,
/// `large` roles with cpus:4;mem:4096;disk:4096 (1.8 SET_QUOTA: guarantee = limit), one
/// framework per role, small/5 + large*5 agents of cpus:2;mem:2048;disk:2048.
fn quota_cluster(small: usize, large: usize, with_frameworks: bool) -> HierarchicalAllocator {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default()).unwrap();
    let agents = small / 5 + large * 5;
    let total = res("cpus:2;mem:2048;disk:2048");
    for i in 0..agents {
        a.add_agent(
            &format!("agent-{i}"),
            &AgentConfig {
                total: total.clone(),
                region: None,
            },
            &[],
        )
        .unwrap();
    }
    for i in 0..small {
        a.set_quota_guarantee(&format!("smallQuotaRole{i}"), "cpus:1;mem:1024;disk:1024")
            .unwrap();
    }
    for i in 0..large {
        a.set_quota_guarantee(&format!("largeQuotaRole{i}"), "cpus:4;mem:4096;disk:4096")
            .unwrap();
    }
    if with_frameworks {
        add_quota_frameworks(&mut a, small, large);
    }
    a
}

fn add_quota_frameworks(a: &mut HierarchicalAllocator, small: usize, large: usize) {
    for i in 0..small {
        let role = format!("smallQuotaRole{i}");
        a.add_framework(
            &format!("framework_small_{i}"),
            &FrameworkConfig::with_roles(&[role]),
            &[],
            true,
        )
        .unwrap();
    }
    for i in 0..large {
        let role = format!("largeQuotaRole{i}");
        a.add_framework(
            &format!("framework_large_{i}"),
            &FrameworkConfig::with_roles(&[role]),
            &[],
            true,
        )
        .unwrap();
    }
}

fn large_and_small_quota(c: &mut Criterion) {
    let mut group = c.benchmark_group("LargeAndSmallQuota");
    group.sampling_mode(SamplingMode::Flat);
    let (small, large) = (2500, 500);
    let mut made = 0;
    group.bench_function("3000agents/first_cycle", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let mut a = quota_cluster(small, large, true);
                let start = cpu_now();
                let out = a.allocate(Duration::from_secs(1));
                took += cpu_now() - start;
                made = out.len();
                black_box(out);
            }
            took
        })
    });
    if made > 0 {
        eprintln!("LargeAndSmallQuota first cycle: made {made} allocations");
    }
    let mut state: Option<(HierarchicalAllocator, Duration)> = None;
    group.bench_function("3000agents/second_cycle", |b| {
        let (a, now) = state.get_or_insert_with(|| {
            let mut a = quota_cluster(small, large, true);
            black_box(a.allocate(Duration::from_secs(1)));
            (a, Duration::from_secs(1))
        });
        b.iter_custom(|iters| {
            let start = cpu_now();
            for _ in 0..iters {
                *now += Duration::from_secs(1);
                let out = a.allocate(*now);
                assert!(out.is_empty());
            }
            cpu_now() - start
        })
    });
    group.bench_function("3000agents/add_3000_frameworks", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let mut a = quota_cluster(small, large, false);
                let start = cpu_now();
                add_quota_frameworks(&mut a, small, large);
                took += cpu_now() - start;
                black_box(&a);
            }
            took
        })
    });
    group.finish();
}

/// One agent with `roles` roles, each holding one dynamic reservation (cpus, mem, disk,
/// one port range) with a distinct 36-character label, allocated to one framework per
/// role: 4 × roles resource objects.
fn reservation_agent(roles: usize) -> (HierarchicalAllocator, Resources) {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default()).unwrap();
    let mut total = Resources::new();
    let mut used = Vec::new();
    let mut first = None;
    for r in 0..roles {
        let role = format!("role-{r:0>31}");
        let mut held = Resources::new();
        for (i, name) in ["cpus", "mem", "disk", "ports"].iter().enumerate() {
            let mut p = if *name == "ports" {
                res(&format!("ports:[{}-{}]", 2 * (i + 1), 2 * (i + 1)))
            } else {
                res(&format!("{name}:100"))
            }
            .to_vec()
            .remove(0);
            p.reservations = vec![v1::resource::ReservationInfo {
                r#type: Some(v1::resource::reservation_info::Type::Dynamic as i32),
                role: Some(role.clone()),
                labels: Some(v1::Labels {
                    labels: vec![v1::Label {
                        key: "Label".to_string(),
                        value: Some(format!("{:0>36}", r * 4 + i)),
                    }],
                }),
                ..Default::default()
            }];
            total.add_resource(&p);
            p.allocation_info = Some(v1::resource::AllocationInfo {
                role: Some(role.clone()),
            });
            held.add_resource(&p);
        }
        let fw = format!("framework-{r}");
        a.add_framework(
            &fw,
            &FrameworkConfig::with_roles(std::slice::from_ref(&role)),
            &[],
            true,
        )
        .unwrap();
        if first.is_none() {
            first = Some(held.clone());
        }
        used.push((fw, held));
    }
    a.add_agent(
        "agent",
        &AgentConfig {
            total,
            region: None,
        },
        &used,
    )
    .unwrap();
    (a, first.unwrap())
}

fn update_allocation(c: &mut Criterion) {
    let mut group = c.benchmark_group("UpdateAllocation");
    group.sampling_mode(SamplingMode::Flat);
    let (mut a, reserved) = reservation_agent(200);
    let objects = a.total_of("agent").unwrap().len();
    let reserve = Operation::Reserve(reserved.clone());
    let unreserve = Operation::Unreserve(reserved.clone());
    group.bench_function("800objects/20_reserve", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..20 {
                    a.update_allocation("framework-0", "agent", std::slice::from_ref(&unreserve))
                        .unwrap();
                    let start = cpu_now();
                    a.update_allocation("framework-0", "agent", std::slice::from_ref(&reserve))
                        .unwrap();
                    took += cpu_now() - start;
                }
            }
            took
        })
    });
    eprintln!("UpdateAllocation: agent holds {objects} resource objects");
    group.finish();
}

/// What the allocator actor adds to each batch cycle: the metrics it exports (one walk over
/// all decline filters) and the "why no offer" snapshot it hands the master.
fn actor_report(c: &mut Criterion) {
    let mut group = c.benchmark_group("ActorReport");
    group.sampling_mode(SamplingMode::Flat);
    for (agents, frameworks, rounds) in [(10_000, 1_000, 50), (20_000, 2_000, 25)] {
        let name = format!("{agents}x{frameworks}/round{rounds}");
        let mut state: Option<(HierarchicalAllocator, Duration)> = None;
        group.bench_function(&name, |b| {
            let (a, now) =
                state.get_or_insert_with(|| decline_offers_cluster(agents, frameworks, rounds));
            b.iter_custom(|iters| {
                let start = cpu_now();
                for _ in 0..iters {
                    black_box(a.metrics(*now));
                    black_box(a.no_offer_reasons());
                }
                cpu_now() - start
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = update_allocation, large_and_small_quota, decline_offers, actor_report
}
criterion_main!(benches);

//! Resources add / subtract / contains on an agent-sized set (cpus, mem, disk, a ports
//! range with several sub-ranges, a few reservations). Anchor: Mesos's Resources filter
//! micro-benchmarks, 1.4–11 µs per operation.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mesos_protos::resources::Resources;
use mesos_protos::v1;
use mesos_protos::v1::resource::{reservation_info, ReservationInfo};

fn agent() -> Resources {
    let mut total = Resources::parse(
        "cpus:24;mem:4096;disk:4096;\
         ports:[31000-31099,31200-31299,31400-31499,31600-31699,31800-32000];\
         cpus(web):4;mem(web):1024",
        "*",
    )
    .expect("valid agent resources");
    // A dynamic reservation with a principal and a label.
    let dynamic = Resources::parse("cpus:2;mem:512", "*")
        .expect("valid")
        .push_reservation(&ReservationInfo {
            r#type: Some(reservation_info::Type::Dynamic as i32),
            role: Some("db".into()),
            principal: Some("ops".into()),
            labels: Some(v1::Labels {
                labels: vec![v1::Label {
                    key: "owner".into(),
                    value: Some("team-db".into()),
                }],
            }),
        })
        .expect("valid reservation");
    total += &dynamic;
    total
}

fn task() -> Resources {
    // Built separately so that metadata pointers differ from the agent's (the usual case).
    Resources::parse(
        "cpus:1;mem:128;disk:64;ports:[31001-31001,31205-31206];cpus(web):1",
        "*",
    )
    .expect("valid task resources")
}

fn bench(c: &mut Criterion) {
    let agent = agent();
    let task = task();
    let used = &agent - &task;
    assert!(agent.contains(&task));
    let mut g = c.benchmark_group("resources_agent");
    g.bench_function("add", |b| b.iter(|| black_box(&used) + black_box(&task)));
    g.bench_function("subtract", |b| {
        b.iter(|| black_box(&agent) - black_box(&task))
    });
    g.bench_function("contains", |b| {
        b.iter(|| black_box(&agent).contains(black_box(&task)))
    });
    g.bench_function("add_assign_subtract_assign", |b| {
        let mut acc = agent.clone();
        b.iter(|| {
            acc -= black_box(&task);
            acc += black_box(&task);
        })
    });
    // The common case inside the master: the task's resources were carved out of the
    // agent's, so their metadata is the same `Arc` and compares by pointer.
    // `agent - used` keeps the agent's entries (and so its metadata pointers).
    let carved_task = &agent - &used;
    assert_eq!(carved_task, task);
    g.bench_function("add_shared_meta", |b| {
        b.iter(|| black_box(&used) + black_box(&carved_task))
    });
    g.bench_function("subtract_shared_meta", |b| {
        b.iter(|| black_box(&agent) - black_box(&carved_task))
    });
    g.bench_function("contains_shared_meta", |b| {
        b.iter(|| black_box(&agent).contains(black_box(&carved_task)))
    });
    g.bench_function("quantities", |b| b.iter(|| black_box(&agent).quantities()));
    g.bench_function("allocatable_to", |b| {
        b.iter(|| black_box(&agent).allocatable_to("web"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

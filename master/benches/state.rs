//! `/state` rendering at scale: 10k agents, 100 frameworks, 100k running tasks
//! (issue 4's benchmark shape). Run: `cargo bench -p mesos-master --bench state`.

use criterion::{criterion_group, criterion_main, Criterion};
use mesos_master::flags::MasterFlags;
use mesos_master::render::{state_json, state_summary_json, RenderContext};
use mesos_master::state::{MasterState, OfferEntry};
use mesos_master::testing::*;
use mesos_protos::v1::TaskState;

fn cluster(agents: usize, frameworks: usize, tasks_per_agent: usize) -> MasterState {
    let mut s = master_state();
    let fids: Vec<String> = (0..frameworks)
        .map(|i| s.add_framework(framework_info(&format!("fw{i}"), &[]), http("s"), 1.0))
        .collect();
    for a in 0..agents {
        let aid = format!("m-S{a}");
        s.add_agent(agent(
            &aid,
            "cpus:32;mem:65536;disk:100000;ports:[31000-32000]",
        ));
        for t in 0..tasks_per_agent {
            let fid = &fids[(a * tasks_per_agent + t) % frameworks];
            let tid = format!("task-{a}-{t}");
            let mut task = alloc_task(&tid, &aid, "cpus:0.5;mem:256;ports:[31000-31000]");
            task.resources = alloc_res(
                &format!("cpus:0.5;mem:256;ports:[{p}-{p}]", p = 31000 + t),
                "*",
            );
            s.add_task(fid, &task, Some("root".into())).unwrap();
            let u = agent_update(fid, &aid, &tid, TaskState::TaskRunning, b"0123456789abcdef");
            s.update_task(&u).unwrap();
        }
    }
    let _: Option<OfferEntry> = None;
    s
}

fn bench(c: &mut Criterion) {
    let flags = MasterFlags::default();
    let s = cluster(10_000, 100, 10);
    let ctx = RenderContext {
        state: &s,
        flags: &flags,
        pid: "master@127.0.0.1:5050",
        leader: Some(&s.info),
    };
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    g.bench_function("state_10k_agents_100k_tasks", |b| {
        b.iter(|| state_json(&ctx).len())
    });
    g.bench_function("state_summary_10k_agents_100k_tasks", |b| {
        b.iter(|| state_summary_json(&ctx).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

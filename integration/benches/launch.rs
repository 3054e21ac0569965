//! Master launch throughput and `/state` at scale (issue 4), on an in-process cluster:
//! the real master, N simulated agents (1,000 per runtime, in-memory network) and
//! M = 100 frameworks using the `mesos-scheduler` client over real HTTP (protobuf).
//!
//! * `launch/agents=N`: one round = every framework ACCEPTs every offer it holds (one
//!   ACCEPT per offer, K tasks of `cpus:0.01;mem:1` each, `refuse_seconds: 0`); timed from
//!   the first ACCEPT sent until the last TASK_RUNNING arrived at its framework. N·K
//!   launches per round (K = 10 at 1k agents, 1 at 10k agents: 10k launches either way).
//!   Waiting for the next round's offers is not timed.
//! * `state/agents=10000,tasks=100000`: `GET /state`, whole body read, after ten untimed
//!   rounds put 100k running tasks on the 10k agents.
//!
//! The master runs with Mesos's default `--allocation_interval` (1 s).
//! Nobody acknowledges in the timed path; the agents send each update once
//! (`update_retry: None`) so unacknowledged updates cause no resends.
//!
//! Run: `cargo bench -p mesos-integration --bench launch` (`LAUNCH_BENCH_AGENTS=1000`
//! runs only the 1k-agent case). Figures go to BENCHMARKS.md (`## master`).

// Benchmarks read real time (Instant::now) and wait in real time; the Clock is not paused.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use futures::StreamExt;
use mesos_integration::{AgentConfig, Cluster, TaskScript};
use mesos_scheduler::scheduler::{connect, AckMode, Client, Config, DriverEvent};
use mesos_scheduler::v1::scheduler::event;
use mesos_scheduler::v1::{
    offer, value, CommandInfo, Filters, FrameworkInfo, Offer, Resource, TaskId, TaskInfo, TaskState,
};
use parking_lot::Mutex;

const FRAMEWORKS: usize = 100;
const AGENTS_PER_RUNTIME: usize = 1000;

struct Framework {
    client: Client,
    offers: Arc<Mutex<Vec<Offer>>>,
}

struct Bench {
    cluster: Cluster,
    rt: tokio::runtime::Runtime,
    frameworks: Vec<Framework>,
    offered: Arc<AtomicUsize>,
    running: Arc<AtomicU64>,
    agents: usize,
    next_task: u64,
    /// Launches, wall time and process CPU time of every timed round.
    totals: (u64, Duration, Duration),
}

fn scalar(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

/// CPU time (user + system, all threads) this process has used, from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) in clock ticks; 100 per second on Linux.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

impl Bench {
    fn new(agents: usize) -> Bench {
        let setup = Instant::now();
        let cluster = Cluster::builder()
            .paused(false)
            .master_threads(2)
            .agents_per_runtime(AGENTS_PER_RUNTIME)
            .agents(
                agents,
                AgentConfig::default()
                    .resources("cpus:64;mem:262144")
                    .script(TaskScript::run_forever())
                    .update_retry(None),
            )
            .start()
            .expect("cluster");
        wait_until("agents to register", Duration::from_secs(300), || {
            cluster.agents().iter().all(|a| a.is_registered())
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio");
        let offered = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicU64::new(0));
        let mut frameworks = Vec::new();
        for i in 0..FRAMEWORKS {
            let info = FrameworkInfo {
                user: "root".into(),
                name: format!("bench-{i}"),
                ..Default::default()
            };
            let config = Config::new([cluster.master_url()], info)
                .with_clock(cluster.clock().clone())
                .with_ack_mode(AckMode::Explicit);
            let _g = rt.enter();
            let (client, mut events) = connect(config).expect("connect");
            let offers = Arc::new(Mutex::new(Vec::new()));
            let (o, n, r) = (offers.clone(), offered.clone(), running.clone());
            rt.spawn(async move {
                while let Some(item) = events.next().await {
                    let DriverEvent::Event(e) = item else {
                        continue;
                    };
                    match e.r#type() {
                        event::Type::Offers => {
                            let got = e.offers.map(|o| o.offers).unwrap_or_default();
                            n.fetch_add(got.len(), Ordering::SeqCst);
                            o.lock().extend(got);
                        }
                        event::Type::Update => {
                            let running = e
                                .update
                                .is_some_and(|u| u.status.state() == TaskState::TaskRunning);
                            if running {
                                r.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        _ => {}
                    }
                }
            });
            frameworks.push(Framework { client, offers });
        }
        eprintln!(
            "setup: {agents} agents registered, {FRAMEWORKS} frameworks subscribed in {:.1?}",
            setup.elapsed()
        );
        Bench {
            cluster,
            rt,
            frameworks,
            offered,
            running,
            agents,
            next_task: 0,
            totals: (0, Duration::ZERO, Duration::ZERO),
        }
    }

    /// One round: waits (untimed) until every agent is offered, then launches
    /// `per_agent` tasks on each and returns the time until all are RUNNING.
    fn round(&mut self, per_agent: usize) -> Duration {
        let agents = self.agents;
        let offered = self.offered.clone();
        wait_until("offers of every agent", Duration::from_secs(120), || {
            offered.load(Ordering::SeqCst) >= agents
        });
        let target = self.running.load(Ordering::SeqCst) + (agents * per_agent) as u64;
        let mut batches = Vec::new();
        let mut taken = 0;
        for f in &self.frameworks {
            let offers: Vec<Offer> = std::mem::take(&mut *f.offers.lock());
            taken += offers.len();
            let mut accepts = Vec::new();
            for o in offers {
                let tasks: Vec<TaskInfo> = (0..per_agent)
                    .map(|_| {
                        self.next_task += 1;
                        let id = format!("t{}", self.next_task);
                        TaskInfo {
                            name: id.clone(),
                            task_id: TaskId { value: id },
                            agent_id: o.agent_id.clone(),
                            resources: vec![scalar("cpus", 0.01), scalar("mem", 1.0)],
                            command: Some(CommandInfo {
                                value: Some("true".into()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }
                    })
                    .collect();
                accepts.push((o.id, tasks));
            }
            batches.push((f.client.clone(), accepts));
        }
        self.offered.fetch_sub(taken, Ordering::SeqCst);
        let launched = (taken * per_agent) as u64;
        let target = target.min(self.running.load(Ordering::SeqCst) + launched);
        let cpu = cpu_time();
        let start = Instant::now();
        for (client, accepts) in batches {
            // Each framework sends its ACCEPTs one after another, as one scheduler would.
            self.rt.spawn(async move {
                for (oid, tasks) in accepts {
                    let op = offer::Operation {
                        r#type: Some(offer::operation::Type::Launch as i32),
                        launch: Some(offer::operation::Launch { task_infos: tasks }),
                        ..Default::default()
                    };
                    let filters = Filters {
                        refuse_seconds: Some(0.0),
                    };
                    if let Err(e) = client.accept(vec![oid], vec![op], Some(filters)).await {
                        eprintln!("accept failed: {e}");
                    }
                }
            });
        }
        let running = self.running.clone();
        wait_until(
            "TASK_RUNNING of every launch",
            Duration::from_secs(300),
            || running.load(Ordering::SeqCst) >= target,
        );
        let wall = start.elapsed();
        self.totals.0 += launched;
        self.totals.1 += wall;
        self.totals.2 += cpu_time().saturating_sub(cpu);
        wall
    }

    fn state(&self) -> (Duration, usize) {
        let url = format!("{}/state", self.cluster.master_url());
        let http = reqwest::Client::new();
        let start = Instant::now();
        let body = self
            .rt
            .block_on(async { http.get(&url).send().await?.bytes().await })
            .expect("GET /state");
        (start.elapsed(), body.len())
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1))
        .configure_from_args();
    let sizes: Vec<usize> = std::env::var("LAUNCH_BENCH_AGENTS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    for agents in sizes {
        let per_agent = (10_000 / agents).max(1);
        let mut bench = Bench::new(agents);
        if agents == 10_000 {
            // Ten untimed rounds: 100k running tasks, then /state.
            let mut total = Duration::ZERO;
            for _ in 0..10 {
                total += bench.round(1);
            }
            eprintln!(
                "setup: 100k launches in {total:.2?} ({:.0}/s)",
                100_000.0 / total.as_secs_f64()
            );
            let (_, _, cpu) = bench.totals;
            eprintln!(
                "setup: {:.0} launches per CPU-second",
                100_000.0 / cpu.as_secs_f64().max(1e-9)
            );
            bench.totals = (0, Duration::ZERO, Duration::ZERO);
            let (_, bytes) = bench.state();
            eprintln!("/state body: {bytes} bytes");
            let mut g = c.benchmark_group("state");
            g.bench_function("agents=10000,tasks=100000", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| bench.state().0).sum())
            });
            g.finish();
            let cpu = cpu_time();
            let wall: Duration = (0..3).map(|_| bench.state().0).sum();
            eprintln!(
                "/state: {:.1?} wall, {:.1?} process CPU per request (mean of 3)",
                wall / 3,
                cpu_time().saturating_sub(cpu) / 3
            );
        }
        let mut g = c.benchmark_group("launch");
        g.throughput(Throughput::Elements((agents * per_agent) as u64));
        g.bench_function(BenchmarkId::new("agents", agents), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| bench.round(per_agent)).sum())
        });
        g.finish();
        let (n, wall, cpu) = bench.totals;
        eprintln!(
            "agents={agents}: {n} launches in {wall:.2?} wall ({:.0}/s), {cpu:.2?} process CPU ({:.0} per CPU-second)",
            n as f64 / wall.as_secs_f64(),
            n as f64 / cpu.as_secs_f64().max(1e-9),
        );
        for f in &bench.frameworks {
            f.client.stop();
        }
        bench.cluster.shutdown();
    }
    c.final_summary();
}

//! Real launches on one real agent (issue 5, must-show 4): the `mesos` binary runs
//! `mesos local` (the real master and one real agent with
//! `--resources=cpus:64;mem:65536;disk:65536`), and a framework built on `mesos-scheduler`
//! launches 1,000 command tasks (`true`, `cpus:0.01;mem:8` each) as offers allow. Each
//! task gets its own command executor process (`mesos-executor`, charged 0.1 cpus and
//! 32 MB as Mesos does), so the scheduler packs offers by task + executor and at most
//! `64 / 0.11` = 581 tasks run at once.
//!
//! Reported: the time from the first ACCEPT sent to the last TASK_FINISHED received,
//! and the ACCEPT-to-TASK_RUNNING latency (p50, p99, max) over all tasks. The framework
//! acknowledges every update (the agent holds a task's next update until the previous
//! one is acknowledged, as Mesos does).
//!
//! Run: `cargo bench -p mesos-integration --bench real_launch` (`REAL_LAUNCH_TASKS=N`
//! changes the count, `REAL_LAUNCH_RUNS=K` repeats on the same cluster). Builds the
//! `mesos` and `mesos-executor` binaries in release mode first. Figures go to
//! BENCHMARKS.md (`## agent: real launches`).

// Benchmarks read real time (Instant::now) and wait in real time; the Clock is not paused.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mesos_scheduler::scheduler::{connect, AckMode, Config, DriverEvent};
use mesos_scheduler::v1::scheduler::event;
use mesos_scheduler::v1::{
    offer, value, CommandInfo, Filters, FrameworkInfo, Offer, Resource, TaskId, TaskInfo, TaskState,
};

const TASK_CPUS: f64 = 0.01;
const TASK_MEM: f64 = 8.0;
const EXECUTOR_CPUS: f64 = 0.1;
const EXECUTOR_MEM: f64 = 32.0;
const AGENT_RESOURCES: &str = "cpus:64;mem:65536;disk:65536";

fn scalar(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

fn offered(o: &Offer, name: &str) -> f64 {
    o.resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum()
}

/// Builds `bin` of `package` in release mode; returns its path.
fn build(package: &str, bin: &str) -> std::path::PathBuf {
    let run = escargot::CargoBuild::new()
        .package(package)
        .bin(bin)
        .release()
        .run()
        .unwrap_or_else(|e| panic!("building {bin}: {e}"));
    run.path().to_path_buf()
}

/// `mesos local` with one agent; returns the child and the master's `ip:port`.
fn start_cluster(
    mesos: &std::path::Path,
    launcher: &std::path::Path,
    dir: &std::path::Path,
) -> (Child, String) {
    let mut child = Command::new(mesos)
        .args([
            "local",
            "--num_slaves=1",
            "--port=0",
            &format!("--resources={AGENT_RESOURCES}"),
            &format!("--work_dir={}", dir.display()),
            &format!("--launcher_dir={}", launcher.display()),
        ])
        // Per-task info lines would cost the cluster time: warnings, plus the address line.
        .env("RUST_LOG", "warn,mesos=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting mesos local");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("cluster: {line}");
            }
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let mut master = None;
    while start.elapsed() < Duration::from_secs(60) {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            break;
        };
        if let Some(rest) = line.split("mesos master listening on http://").nth(1) {
            master = rest.split_whitespace().next().map(str::to_string);
        }
        if line.contains("local cluster: master at") {
            break;
        }
    }
    let master = master.expect("the master's address in the log");
    // Keep draining so the cluster never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, master)
}

/// One run's figures.
struct RunResult {
    total: Duration,
    to_running: Vec<Duration>,
    failed: usize,
}

/// CPU time of process `pid` itself and of its reaped children (the executors and
/// their tasks), from `/proc/<pid>/stat` (utime + stime, cutime + cstime; 100 ticks/s).
fn cpu_time(pid: u32) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = |a: usize, b: usize| (a..b).map(|i| f.get(i).copied().unwrap_or(0)).sum::<u64>();
    (
        Duration::from_millis(ticks(11, 13) * 10),
        Duration::from_millis(ticks(13, 15) * 10),
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Subscribes a framework and runs `tasks` tasks to a terminal state.
async fn run_batch(master: &str, tasks: usize, run: usize) -> RunResult {
    let info = FrameworkInfo {
        user: "root".into(),
        name: format!("real-launch-bench-{run}"),
        ..Default::default()
    };
    let config = Config::new([format!("http://{master}")], info).with_ack_mode(AckMode::Explicit);
    let (client, mut events) = connect(config).expect("connect");
    let mut next = 0usize;
    let mut running = 0usize; // launched, not yet terminal
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let mut to_running = Vec::with_capacity(tasks);
    let mut finished = 0usize;
    let mut failed = 0usize;
    let mut first_accept: Option<Instant> = None;
    let limit = (64.0 / (TASK_CPUS + EXECUTOR_CPUS)).floor() as usize;
    let deadline = Instant::now() + Duration::from_secs(600);
    while finished + failed < tasks {
        let item = tokio::time::timeout_at(deadline.into(), events.next())
            .await
            .expect("the batch did not finish within 10 minutes")
            .expect("event stream ended");
        let DriverEvent::Event(e) = item else {
            continue;
        };
        match e.r#type() {
            event::Type::Offers => {
                for o in e.offers.map(|o| o.offers).unwrap_or_default() {
                    let mut cpus = offered(&o, "cpus");
                    let mut mem = offered(&o, "mem");
                    let mut batch = Vec::new();
                    while next < tasks
                        && running < limit
                        && cpus >= TASK_CPUS + EXECUTOR_CPUS - 1e-9
                        && mem >= TASK_MEM + EXECUTOR_MEM
                    {
                        let id = format!("r{run}-t{next}");
                        next += 1;
                        running += 1;
                        cpus -= TASK_CPUS + EXECUTOR_CPUS;
                        mem -= TASK_MEM + EXECUTOR_MEM;
                        batch.push(TaskInfo {
                            name: id.clone(),
                            task_id: TaskId { value: id },
                            agent_id: o.agent_id.clone(),
                            resources: vec![scalar("cpus", TASK_CPUS), scalar("mem", TASK_MEM)],
                            command: Some(CommandInfo {
                                value: Some("true".into()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        });
                    }
                    let filters = Some(Filters {
                        refuse_seconds: Some(0.0),
                    });
                    let c = client.clone();
                    if batch.is_empty() {
                        tokio::spawn(async move { c.decline(vec![o.id], filters).await });
                        continue;
                    }
                    let now = Instant::now();
                    first_accept.get_or_insert(now);
                    for t in &batch {
                        sent_at.insert(t.task_id.value.clone(), now);
                    }
                    let op = offer::Operation {
                        r#type: Some(offer::operation::Type::Launch as i32),
                        launch: Some(offer::operation::Launch { task_infos: batch }),
                        ..Default::default()
                    };
                    tokio::spawn(async move {
                        if let Err(err) = c.accept(vec![o.id], vec![op], filters).await {
                            eprintln!("accept failed: {err}");
                        }
                    });
                }
            }
            event::Type::Update => {
                let Some(u) = e.update else { continue };
                let status = u.status;
                let id = status.task_id.value.clone();
                match status.state() {
                    TaskState::TaskRunning => {
                        if let Some(t) = sent_at.get(&id) {
                            to_running.push(t.elapsed());
                        }
                    }
                    TaskState::TaskFinished => {
                        finished += 1;
                        running -= 1;
                    }
                    TaskState::TaskStaging | TaskState::TaskStarting => {}
                    other => {
                        eprintln!("{id}: {other:?} {:?}", status.message);
                        failed += 1;
                        running -= 1;
                    }
                }
                let c = client.clone();
                tokio::spawn(async move {
                    if let Err(err) = c.acknowledge_update(&status).await {
                        eprintln!("acknowledge failed: {err}");
                    }
                });
            }
            _ => {}
        }
    }
    let total = first_accept.map(|t| t.elapsed()).unwrap_or_default();
    let _ = client.teardown().await;
    client.stop();
    to_running.sort();
    RunResult {
        total,
        to_running,
        failed,
    }
}

fn main() {
    let tasks: usize = std::env::var("REAL_LAUNCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let runs: usize = std::env::var("REAL_LAUNCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mesos = build("mesos-cli", "mesos");
    let executor = build("mesos-agent", "mesos-executor");
    let launcher = executor.parent().expect("a folder").to_path_buf();
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut cluster, master) = start_cluster(&mesos, &launcher, dir.path());
    eprintln!("cluster: master at {master}, agent {AGENT_RESOURCES}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    for run in 0..runs {
        let load = load_average();
        let cpu = cpu_time(cluster.id());
        let r = rt.block_on(run_batch(&master, tasks, run));
        let after = cpu_time(cluster.id());
        let (own, children) = (after.0.saturating_sub(cpu.0), after.1.saturating_sub(cpu.1));
        let n = r.to_running.len();
        println!(
            "real_launch/tasks={tasks} run {run}: all terminal in {:.2?} ({:.0} tasks/s), \
             {} failed; accept-to-RUNNING p50 {:.1?} p99 {:.1?} max {:.1?} (n={n}); \
             CPU: master + agent {own:.2?}, executors + tasks {children:.2?}; \
             load average {load}",
            r.total,
            tasks as f64 / r.total.as_secs_f64().max(1e-9),
            r.failed,
            percentile(&r.to_running, 0.50),
            percentile(&r.to_running, 0.99),
            r.to_running.last().copied().unwrap_or_default(),
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &cluster.id().to_string()])
        .status();
    let _ = cluster.wait();
}

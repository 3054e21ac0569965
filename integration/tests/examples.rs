//! The scheduler-driver examples run against an in-process cluster (real clock, real
//! HTTP between the example and the master, simulated agents).

#[allow(dead_code)]
#[path = "../../scheduler-driver/examples/launch_tasks.rs"]
mod launch_tasks;

use std::time::Duration;

use libprocess::Clock;
use mesos_integration::{AgentConfig, Cluster, TaskScript};
use mesos_scheduler::scheduler::Config;
use mesos_scheduler::ContentType;

fn run_launch_tasks(content_type: ContentType) {
    let cluster = Cluster::builder()
        .paused(false)
        .master_flag("--allocation_interval=50ms")
        .agents(
            2,
            AgentConfig::default()
                .resources("cpus:0.25;mem:1024")
                .script(TaskScript::finish_after(Duration::from_millis(100))),
        )
        .start()
        .unwrap();
    let config = Config::new([cluster.master_url()], launch_tasks::framework_info())
        .with_clock(cluster.clock().clone())
        .with_content_type(content_type);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Two tasks fit on each agent: five tasks need a second round of offers.
    let real = Clock::new();
    let summary = rt
        .block_on(real.timeout(
            Duration::from_secs(60),
            launch_tasks::launch_tasks(config, 5, "echo hi"),
        ))
        .expect("the example finished within 60 s")
        .expect("the example ran");
    let mut finished = summary.finished.clone();
    finished.sort();
    assert_eq!(
        finished,
        ["task-0", "task-1", "task-2", "task-3", "task-4"],
        "{summary:?}"
    );
    assert!(summary.failed.is_empty());
    let launched: u64 = cluster
        .agents()
        .iter()
        .map(|a| a.stats().tasks_launched)
        .sum();
    assert_eq!(launched, 5);
    // The example acknowledged RUNNING and FINISHED of every task.
    // The last ACKNOWLEDGE may still be on its way from the master to the agent.
    let acks = || -> u64 { cluster.agents().iter().map(|a| a.stats().acks).sum() };
    for _ in 0..500 {
        if acks() == 10 {
            break;
        }
        libprocess::block_on(real.sleep(Duration::from_millis(10)));
    }
    assert_eq!(acks(), 10);
    rt.shutdown_background();
}

#[test]
fn launch_tasks_example_over_protobuf() {
    run_launch_tasks(ContentType::Protobuf);
}

#[test]
fn launch_tasks_example_over_json() {
    run_launch_tasks(ContentType::Json);
}

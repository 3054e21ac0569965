//! End-to-end tests on an in-process cluster (paused clock): a `mesos-scheduler` client
//! over real HTTP, the real master, simulated agents over the in-memory network (or HTTP).

#[path = "support/framework.rs"]
mod framework;

use std::time::Duration;

use framework::{framework_info, TestFramework};
use mesos_integration::{AgentConfig, Cluster, TaskScript, Transport};
use mesos_scheduler::v1::task_status::Reason;
use mesos_scheduler::v1::TaskState;

fn small_agent() -> AgentConfig {
    AgentConfig::default().resources("cpus:2;mem:1024")
}

#[test]
fn agents_register_over_either_transport_and_answer_pings() {
    for transport in [Transport::InMemory, Transport::Http] {
        let cluster = Cluster::builder()
            .transport(transport)
            .agents(3, small_agent())
            .start()
            .unwrap();
        cluster.settle();
        let mut ids: Vec<String> = cluster
            .agents()
            .iter()
            .map(|a| a.agent_id().expect("registered"))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "{transport:?}: distinct ids {ids:?}");
        // Well past 5 ping timeouts: answered pings keep every agent registered.
        cluster.advance(Duration::from_secs(120), Duration::from_secs(15));
        for a in cluster.agents() {
            assert!(a.is_registered());
            assert!(a.stats().pings >= 7, "{transport:?}: {:?}", a.stats());
            assert_eq!(a.stats().registrations, 1);
        }
        let registered = cluster
            .with_master_blocking(|m| m.state().agents.registered.len())
            .unwrap();
        assert_eq!(registered, 3);
    }
}

#[test]
fn a_framework_launches_gets_running_then_finished_and_acks_drain_the_agent() {
    let cluster = Cluster::builder()
        .agent(small_agent().script(TaskScript::finish_after(Duration::from_secs(10))))
        .start()
        .unwrap();
    cluster.settle();
    let agent = cluster.agents()[0].clone();
    let mut fw = TestFramework::subscribe(&cluster, framework_info("e2e", false));
    let offers = fw.await_offers(&cluster);
    assert_eq!(offers.len(), 1);
    assert_eq!(Some(offers[0].agent_id.value.clone()), agent.agent_id());
    fw.launch(&offers[0], &["t1", "t2"]);

    let mut running = vec![
        fw.next_update(true).task_id.value,
        fw.next_update(true).task_id.value,
    ];
    running.sort();
    assert_eq!(running, ["t1", "t2"]);
    cluster.settle();
    let tasks = agent.tasks_blocking();
    assert_eq!(tasks.len(), 2);
    assert!(tasks
        .iter()
        .all(|t| t.state == TaskState::TaskRunning && t.unacknowledged == 0));

    cluster.advance(Duration::from_secs(10), Duration::from_secs(5));
    for _ in 0..2 {
        let s = fw.next_update(true);
        assert_eq!(s.state(), TaskState::TaskFinished, "{s:?}");
    }
    cluster.settle();
    // Terminal and acknowledged: the agent forgot them; the master completed them.
    assert!(agent.tasks_blocking().is_empty());
    assert_eq!(agent.stats().acks, 4);
    assert_eq!(agent.stats().updates_sent, 4, "no retries were needed");
    let completed = cluster
        .with_master_blocking(|m| {
            m.state()
                .frameworks
                .values()
                .map(|f| f.completed_tasks.len())
                .sum::<usize>()
        })
        .unwrap();
    assert_eq!(completed, 2);
    fw.stop();
}

#[test]
fn unacknowledged_updates_are_retried_with_backoff_and_kill_reports_killed() {
    let cluster = Cluster::builder().agent(small_agent()).start().unwrap();
    cluster.settle();
    let agent = cluster.agents()[0].clone();
    let mut fw = TestFramework::subscribe(&cluster, framework_info("retry", false));
    let offers = fw.await_offers(&cluster);
    fw.launch(&offers[0], &["t1"]);
    let first = fw.next_update(false);
    assert_eq!(first.state(), TaskState::TaskRunning);
    assert_eq!(agent.stats().updates_sent, 1);

    // 10 s, then 20 s: the same update (same uuid) again each time.
    cluster.advance(Duration::from_secs(10), Duration::from_secs(10));
    let again = fw.next_update(false);
    assert_eq!(again.uuid, first.uuid);
    cluster.advance(Duration::from_secs(10), Duration::from_secs(10));
    assert_eq!(agent.stats().updates_sent, 2, "second retry waits 20 s");
    cluster.advance(Duration::from_secs(10), Duration::from_secs(10));
    assert_eq!(agent.stats().updates_sent, 3);
    let third = fw.next_update(true);
    assert_eq!(third.uuid, first.uuid);
    cluster.settle();
    assert_eq!(agent.tasks_blocking()[0].unacknowledged, 0);

    fw.kill("t1", &first.agent_id.clone().unwrap());
    let killed = fw.next_update(true);
    assert_eq!(killed.state(), TaskState::TaskKilled);
    assert_eq!(killed.task_id.value, "t1");
    cluster.settle();
    assert_eq!(agent.stats().kills, 1);
    assert!(agent.tasks_blocking().is_empty());
    fw.stop();
}

#[test]
fn a_restarted_master_gets_agents_back_with_their_tasks() {
    let mut cluster = Cluster::builder().agents(2, small_agent()).start().unwrap();
    cluster.settle();
    let mut fw = TestFramework::subscribe(&cluster, framework_info("restart", false));
    let fid = fw.client.framework_id().unwrap().value;
    let mut launched = 0;
    while launched < 2 {
        for o in fw.await_offers(&cluster) {
            let id = format!("t{launched}");
            fw.launch(&o, &[id.as_str()]);
            launched += 1;
        }
    }
    for _ in 0..2 {
        assert_eq!(fw.next_update(true).state(), TaskState::TaskRunning);
    }
    cluster.settle();
    let before: Vec<String> = cluster
        .agents()
        .iter()
        .map(|a| a.agent_id().unwrap())
        .collect();

    cluster.restart_master().unwrap();
    cluster.settle();
    let (recovered_agents, frameworks, tasks) = cluster
        .with_master_blocking(move |m| {
            let s = m.state();
            let mut agents: Vec<String> = s.agents.registered.keys().cloned().collect();
            agents.sort();
            let tasks: Vec<(String, i32)> = s
                .frameworks
                .get(&fid)
                .map(|f| {
                    let mut t: Vec<_> = f
                        .tasks
                        .iter()
                        .map(|(id, t)| (id.clone(), t.state))
                        .collect();
                    t.sort();
                    t
                })
                .unwrap_or_default();
            (agents, s.frameworks.len(), tasks)
        })
        .unwrap();
    let mut expected = before.clone();
    expected.sort();
    assert_eq!(recovered_agents, expected, "same ids, from the registry");
    assert_eq!(
        frameworks, 1,
        "the framework came back with the agents' report"
    );
    assert_eq!(
        tasks,
        vec![
            ("t0".to_owned(), TaskState::TaskRunning as i32),
            ("t1".to_owned(), TaskState::TaskRunning as i32)
        ]
    );
    for a in cluster.agents() {
        assert_eq!(a.stats().reregistrations, 1);
        assert_eq!(a.stats().registrations, 1);
    }

    // The scheduler reconnects to the restarted master (same address) and reconciles.
    fw.await_resubscribe(&cluster);
    fw.reconcile_all();
    let mut states = [fw.next_update(false), fw.next_update(false)];
    states.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
    assert!(states.iter().all(|s| s.state() == TaskState::TaskRunning));
    assert_eq!(states[0].reason(), Reason::Reconciliation);
    fw.stop();
}

#[test]
fn an_agent_that_stops_answering_pings_loses_its_tasks() {
    for partition_aware in [false, true] {
        let cluster = Cluster::builder().agent(small_agent()).start().unwrap();
        cluster.settle();
        let agent = cluster.agents()[0].clone();
        let mut fw = TestFramework::subscribe(&cluster, framework_info("pings", partition_aware));
        let offers = fw.await_offers(&cluster);
        fw.launch(&offers[0], &["t1"]);
        assert_eq!(fw.next_update(true).state(), TaskState::TaskRunning);

        agent.answer_pings(false);
        fw.advance_with_heartbeats(&cluster, Duration::from_secs(90));
        let s = fw.next_update(true);
        let expected = if partition_aware {
            TaskState::TaskUnreachable
        } else {
            TaskState::TaskLost
        };
        assert_eq!(s.state(), expected, "{s:?}");
        assert_eq!(s.task_id.value, "t1");
        assert_eq!(s.reason(), Reason::AgentRemoved);
        let unreachable = cluster
            .with_master_blocking(|m| m.state().agents.unreachable.len())
            .unwrap();
        assert_eq!(unreachable, 1);
        fw.stop();
    }
}

#[test]
fn a_task_group_runs_in_one_executor_and_shutting_it_down_kills_both() {
    let cluster = Cluster::builder()
        .agent(AgentConfig::default().resources("cpus:2;mem:1024;disk:1024"))
        .start()
        .unwrap();
    cluster.settle();
    let agent = cluster.agents()[0].clone();
    let mut fw = TestFramework::subscribe(&cluster, framework_info("group", false));
    let offers = fw.await_offers(&cluster);
    fw.launch_group(&offers[0], "e1", &["g1", "g2"]);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let s = fw.next_update(true);
        assert_eq!(s.state(), TaskState::TaskRunning, "{s:?}");
        assert_eq!(s.executor_id.as_ref().map(|e| e.value.as_str()), Some("e1"));
        seen.push(s.task_id.value);
    }
    seen.sort();
    assert_eq!(seen, ["g1", "g2"]);
    assert_eq!(agent.stats().tasks_launched, 2);

    fw.shutdown_executor("e1", &offers[0].agent_id);
    for _ in 0..2 {
        let s = fw.next_update(true);
        assert_eq!(s.state(), TaskState::TaskKilled, "{s:?}");
    }
    cluster.settle();
    assert!(agent.tasks_blocking().is_empty());
    fw.stop();
}

#[test]
fn a_failing_script_reports_task_failed_with_its_message() {
    let cluster = Cluster::builder()
        .agent(small_agent().script(TaskScript::fail("exit status 1")))
        .start()
        .unwrap();
    cluster.settle();
    let agent = cluster.agents()[0].clone();
    let mut fw = TestFramework::subscribe(&cluster, framework_info("fail", false));
    let offers = fw.await_offers(&cluster);
    fw.launch(&offers[0], &["t1"]);
    let s = fw.next_update(true);
    assert_eq!(s.state(), TaskState::TaskFailed, "{s:?}");
    assert_eq!(s.message.as_deref(), Some("exit status 1"));
    assert_eq!(s.reason(), Reason::CommandExecutorFailed);
    cluster.settle();
    assert!(agent.tasks_blocking().is_empty());
    // The task's resources went back: the next offer has the whole agent again.
    let again = fw.await_offers(&cluster);
    let cpus: f64 = again[0]
        .resources
        .iter()
        .filter(|r| r.name == "cpus")
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum();
    assert!((cpus - 2.0).abs() < 1e-9, "cpus offered again: {cpus}");
    fw.stop();
}
